/* The few system calls newlib-nano needs on bare metal: a heap that ends below the stack, and
 * everything else refused (the host prints nothing through stdio). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

extern uint8_t _heap_start[], _heap_end[];
static uint8_t *heap_top = _heap_start;

void *_sbrk(ptrdiff_t increment) {
  if (increment < 0 || (size_t)(_heap_end - heap_top) < (size_t)increment) {
    errno = ENOMEM;
    return (void *)-1;
  }
  uint8_t *previous = heap_top;
  heap_top += increment;
  return previous;
}

/* How much of the heap has ever been handed to malloc (reported at boot and by the bench). */
size_t heap_high_water(void) { return (size_t)(heap_top - _heap_start); }

int _write(int fd, const void *buf, size_t len) { (void)fd; (void)buf; (void)len; errno = ENOSYS; return -1; }
int _read(int fd, void *buf, size_t len) { (void)fd; (void)buf; (void)len; errno = ENOSYS; return -1; }
int _close(int fd) { (void)fd; errno = EBADF; return -1; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; errno = ESPIPE; return -1; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
int _getpid(void) { return 1; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
__attribute__((noreturn)) void _exit(int status) { (void)status; for (;;) { } }
