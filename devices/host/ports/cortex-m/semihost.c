/* Emulation only (RULES_BOARD_QEMU): slot storage kept in a file on the machine running QEMU, through Arm
 * semihosting, so an emulated board keeps its rules when QEMU is killed (a power cut) and started again. The
 * RAM region stays the copy the core reads; every write and erase is written through to the file. Enabled
 * only when the runner puts "SEMI" in the emulator options word (semihosting calls fault without -semihosting). */
#include <string.h>

#include "cortex_m.h"
#include "rules_host.h"

#ifdef RULES_BOARD_QEMU

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0A
#define SYS_FLEN 0x0C
#define SYS_GET_CMDLINE 0x15
#define MODE_READ_WRITE_BINARY 3 /* "r+b" */
#define MODE_CREATE_BINARY 7     /* "w+b" */

static int semihost(int op, void *arg) {
  register int r0 __asm("r0") = op;
  register void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static int file = -1;
static const uint8_t *mirror;

static int file_open(const char *path, int mode) {
  uint32_t block[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
  return semihost(SYS_OPEN, block);
}

static int file_put(uint32_t off, const uint8_t *buf, size_t len) {
  uint32_t seek[2] = {(uint32_t)file, off};
  if (semihost(SYS_SEEK, seek) != 0) return RULES_EIO;
  uint32_t write[3] = {(uint32_t)file, (uint32_t)(uintptr_t)buf, (uint32_t)len};
  return semihost(SYS_WRITE, write) == 0 ? RULES_OK : RULES_EIO;
}

/* Opens (or creates, erased) the file named on QEMU's -semihosting-config arg= and loads it into `region`. */
int semihost_storage_open(uint8_t *region, uint32_t size) {
  extern const uint8_t __keys_area[];
  if (memcmp(__keys_area + EMULATOR_OPTIONS_OFFSET, "SEMI", 4) != 0) return 0;
  static char path[160];
  uint32_t cmdline[2] = {(uint32_t)(uintptr_t)path, sizeof path - 1};
  if (semihost(SYS_GET_CMDLINE, cmdline) != 0 || cmdline[1] == 0) return RULES_EIO;
  path[cmdline[1] < sizeof path ? cmdline[1] : sizeof path - 1] = '\0';
  mirror = region;
  memset(region, 0xFF, size);
  file = file_open(path, MODE_READ_WRITE_BINARY);
  if (file >= 0) {
    uint32_t flen[1] = {(uint32_t)file};
    int length = semihost(SYS_FLEN, flen);
    uint32_t read[3] = {(uint32_t)file, (uint32_t)(uintptr_t)region, (uint32_t)(length > 0 && (uint32_t)length < size ? (uint32_t)length : size)};
    if (length > 0) semihost(SYS_READ, read);
    return 1;
  }
  file = file_open(path, MODE_CREATE_BINARY);
  if (file < 0) return RULES_EIO;
  return file_put(0, region, size) == RULES_OK ? 1 : RULES_EIO;
}

int semihost_storage_sync(uint32_t off, size_t len) { return file < 0 ? RULES_OK : file_put(off, mirror + off, len); }

#endif
