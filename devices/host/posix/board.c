/* The virtual board: the portable core on POSIX, with a pseudo-terminal for its serial port, a file for its
 * flash (written with pwrite + fdatasync, so the slot commit's order holds across a kill), GPIO and sensors
 * set from the command line and from stdin, and every GPIO output change printed as it happens. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "mbedtls/sha256.h"
#include "rules_host.h"

#define MAX_PINS 256
#define MAX_CHANNELS 64
#define MAX_KEYS 8
#define FLASH_ERASE_BYTES 1024
#define FLASH_WRITE_ALIGN 4

typedef struct board {
  int master, slave;
  int flash;
  uint32_t flash_size;
  int32_t gpio[MAX_PINS];
  bool driven[MAX_PINS]; /* an output has been written at least once */
  int32_t sensor[MAX_CHANNELS];
  bool json;
  bool reset_requested;
  long crash_after; /* RULES_BOARD_CRASH_AFTER: die in the middle of the N-th flash operation (tests) */
  struct timespec boot;
} board_t;

static board_t board;
static char link_path[4096];

static void cleanup(void) {
  if (link_path[0]) unlink(link_path);
}

static void on_signal(int sig) {
  (void)sig;
  cleanup();
  _exit(0);
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "rules-board: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  cleanup();
  exit(2);
}

static uint32_t ms_since_boot(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint32_t)((now.tv_sec - board.boot.tv_sec) * 1000 + (now.tv_nsec - board.boot.tv_nsec) / 1000000);
}

/* ---- the HAL ------------------------------------------------------------------------------------------ */

static size_t uart_read(void *ctx, uint8_t *buf, size_t cap) {
  board_t *b = ctx;
  ssize_t n = read(b->master, buf, cap);
  return n > 0 ? (size_t)n : 0;
}

static int uart_write(void *ctx, const uint8_t *buf, size_t len) {
  board_t *b = ctx;
  while (len > 0) {
    ssize_t n = write(b->master, buf, len);
    if (n < 0 && errno == EAGAIN) {
      /* Nobody reads the other end: wait a little, then drop the rest like a UART without flow control. */
      struct pollfd p = {.fd = b->master, .events = POLLOUT};
      if (poll(&p, 1, 200) <= 0) return 0;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return RULES_EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static int gpio_read(void *ctx, uint32_t pin, int32_t *level) {
  board_t *b = ctx;
  if (pin >= MAX_PINS) return RULES_EINVAL;
  *level = b->gpio[pin] != 0;
  return 0;
}

static int gpio_write(void *ctx, uint32_t pin, int32_t level) {
  board_t *b = ctx;
  if (pin >= MAX_PINS) return RULES_EINVAL;
  level = level != 0;
  if (b->driven[pin] && b->gpio[pin] == level) return 0;
  b->driven[pin] = true;
  b->gpio[pin] = level;
  if (b->json) printf("{\"event\":\"gpio\",\"pin\":%u,\"level\":%d,\"ms\":%u}\n", (unsigned)pin, (int)level, (unsigned)ms_since_boot());
  else printf("gpio %u = %d\n", (unsigned)pin, (int)level);
  fflush(stdout);
  return 0;
}

static int sensor_read(void *ctx, uint32_t channel, int32_t *value) {
  board_t *b = ctx;
  if (channel >= MAX_CHANNELS) return RULES_EINVAL;
  *value = b->sensor[channel];
  return 0;
}

/* Crash injection for the crash-safety test: the N-th flash operation writes only part of its bytes, then
 * the process dies as if the power had gone. */
static size_t crash_point(size_t len) {
  if (board.crash_after <= 0) return len;
  if (--board.crash_after > 0) return len;
  return len / 2;
}

static void crash_now(void) {
  fprintf(stderr, "rules-board: simulated power loss\n");
  _exit(99);
}

static int flash_read(void *ctx, uint32_t off, void *buf, size_t len) {
  board_t *b = ctx;
  if ((uint64_t)off + len > b->flash_size) return RULES_EINVAL;
  return pread(b->flash, buf, len, off) == (ssize_t)len ? 0 : RULES_EIO;
}

static int flash_program(board_t *b, uint32_t off, const void *buf, size_t len) {
  size_t n = crash_point(len);
  if (pwrite(b->flash, buf, n, off) != (ssize_t)n) return RULES_EIO;
  if (fdatasync(b->flash) != 0) return RULES_EIO;
  if (n != len) crash_now();
  return 0;
}

static int flash_write(void *ctx, uint32_t off, const void *buf, size_t len) {
  board_t *b = ctx;
  if ((uint64_t)off + len > b->flash_size || off % FLASH_WRITE_ALIGN || len % FLASH_WRITE_ALIGN) return RULES_EINVAL;
  return flash_program(b, off, buf, len);
}

static int flash_erase(void *ctx, uint32_t off, size_t len) {
  board_t *b = ctx;
  if ((uint64_t)off + len > b->flash_size || off % FLASH_ERASE_BYTES || len % FLASH_ERASE_BYTES) return RULES_EINVAL;
  static uint8_t ones[FLASH_ERASE_BYTES];
  memset(ones, 0xff, sizeof ones);
  for (size_t done = 0; done < len; done += sizeof ones) {
    int rc = flash_program(b, off + (uint32_t)done, ones, sizeof ones);
    if (rc) return rc;
  }
  return 0;
}

static uint32_t millis(void *ctx) {
  (void)ctx;
  return ms_since_boot();
}

static void reset(void *ctx) {
  board_t *b = ctx;
  b->reset_requested = true;
}

/* ---- firmware image slots (SMP group 1) ----------------------------------------------------------------
 * Two files in the state folder are MCUboot's two slot banks, and a third the image state; an upload is
 * written to them for real. What cannot be real is the swap itself: this executable cannot replace itself,
 * so after a "swap" it keeps running its own code and only reports the swapped image (docs/devices.md). */

#define IMAGE_BANK_BYTES (128u * 1024u)

static char state_folder[4096];

static void bank_path(unsigned bank, char *out, size_t cap) { snprintf(out, cap, "%s/image-%u.bin", state_folder, bank); }

static int image_bank_read(void *ctx, unsigned bank, uint32_t off, void *buf, size_t len) {
  (void)ctx;
  char path[4200];
  bank_path(bank, path, sizeof path);
  memset(buf, 0xff, len); /* an erased bank reads as 0xff, like flash */
  if ((uint64_t)off + len > IMAGE_BANK_BYTES) return RULES_EINVAL;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return errno == ENOENT ? RULES_OK : RULES_EIO;
  ssize_t n = pread(fd, buf, len, off);
  close(fd);
  return n < 0 ? RULES_EIO : RULES_OK;
}

static int image_bank_write(void *ctx, unsigned bank, uint32_t off, const void *buf, size_t len) {
  (void)ctx;
  char path[4200];
  bank_path(bank, path, sizeof path);
  if ((uint64_t)off + len > IMAGE_BANK_BYTES) return RULES_EINVAL;
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) return RULES_EIO;
  bool ok = pwrite(fd, buf, len, off) == (ssize_t)len && fdatasync(fd) == 0;
  close(fd);
  return ok ? RULES_OK : RULES_EIO;
}

static int image_bank_erase(void *ctx, unsigned bank) {
  (void)ctx;
  char path[4200];
  bank_path(bank, path, sizeof path);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return RULES_EIO;
  bool ok = fdatasync(fd) == 0;
  close(fd);
  return ok ? RULES_OK : RULES_EIO;
}

static int image_state_load_file(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  char path[4200];
  snprintf(path, sizeof path, "%s/image-state", state_folder);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return errno == ENOENT ? RULES_ENOENT : RULES_EIO;
  ssize_t n = read(fd, buf, len);
  close(fd);
  return n == (ssize_t)len ? RULES_OK : RULES_EIO;
}

/* Written beside, flushed, renamed over, and the folder flushed: the old record or the new one, whole. */
static int image_state_store_file(void *ctx, const uint8_t *buf, size_t len) {
  (void)ctx;
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/image-state", state_folder);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return RULES_EIO;
  bool ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, path) != 0) return RULES_EIO;
  int dir = open(state_folder, O_RDONLY);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return RULES_OK;
}

/* The built-in image's hash: the SHA-256 of this executable. */
static void hash_of_self(uint8_t out[32]) {
  memset(out, 0, 32);
  int fd = open("/proc/self/exe", O_RDONLY);
  if (fd < 0) return;
  mbedtls_sha256_context c;
  mbedtls_sha256_init(&c);
  mbedtls_sha256_starts_ret(&c, 0);
  uint8_t buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) mbedtls_sha256_update_ret(&c, buf, (size_t)n);
  mbedtls_sha256_finish_ret(&c, out);
  mbedtls_sha256_free(&c);
  close(fd);
}

static rules_image_hal_t image_hal = {
    .bank_bytes = IMAGE_BANK_BYTES, .builtin_version = RULES_HOST_VERSION, .bank_read = image_bank_read,
    .bank_write = image_bank_write, .bank_erase = image_bank_erase, .state_load = image_state_load_file,
    .state_store = image_state_store_file};

/* ---- options ------------------------------------------------------------------------------------------ */

static const char USAGE[] =
    "usage: rules-board --link PATH --trust KID:KEY [--trust KID:KEY]... --target NAME --gpio MIN:MAX\n"
    "                   --channel CH:MIN:MAX... --max-artifact N --max-state N --max-instructions N\n"
    "                   --max-loop-trips N --min-period N [--float] [--state DIR] [--sensor CH=V]...\n"
    "                   [--gpio-in PIN=V]... [--json]\n"
    "stdin, one command a line: `sensor CH V`, `gpio PIN V` (an input level), `status`, `quit`\n";

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool parse_hex(const char *text, uint8_t *out, size_t n) {
  if (strlen(text) != 2 * n) return false;
  for (size_t i = 0; i < n; i++) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

static long number(const char *text, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end) die("%s: `%s` is not a number", what, text);
  return v;
}

static void set_pair(const char *text, int32_t *table, size_t size, const char *what) {
  const char *eq = strchr(text, '=');
  if (!eq) die("%s needs CH=V, not `%s`", what, text);
  char left[32];
  size_t n = (size_t)(eq - text);
  if (n == 0 || n >= sizeof left) die("%s needs CH=V, not `%s`", what, text);
  memcpy(left, text, n);
  left[n] = 0;
  long index = number(left, what);
  if (index < 0 || (size_t)index >= size) die("%s: %ld is out of range", what, index);
  table[index] = (int32_t)number(eq + 1, what);
}

static void print_status(rules_host_t *host) {
  size_t n = rules_host_rule_count(host);
  for (size_t i = 0; i < n; i++) {
    rules_status_t st;
    if (rules_host_rule_status(host, i, &st) != RULES_OK) continue;
    const char *state = st.state == RULES_STATE_RUNNING ? "running" : st.state == RULES_STATE_DISABLED ? "disabled" : "failed";
    if (board.json) {
      printf("{\"event\":\"status\",\"rule\":\"%s\",\"version\":%u,\"state\":\"%s\",\"ticks\":%u,\"saturated\":%u,"
             "\"assumptionsFailed\":%u,\"error\":\"", st.name, (unsigned)st.version, state, (unsigned)st.ticks,
             (unsigned)st.saturated, (unsigned)st.assumptions_failed);
      for (const char *c = st.last_error; *c; c++) {
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if ((unsigned char)*c >= 0x20) putchar(*c);
      }
      printf("\"}\n");
    } else {
      printf("rule %s v%u %s ticks=%u saturated=%u assumptions_failed=%u%s%s\n", st.name, (unsigned)st.version, state,
             (unsigned)st.ticks, (unsigned)st.saturated, (unsigned)st.assumptions_failed, st.last_error[0] ? " error=" : "",
             st.last_error);
    }
  }
  if (board.json) printf("{\"event\":\"status-end\",\"rules\":%u}\n", (unsigned)n);
  else printf("%u rules\n", (unsigned)n);
  fflush(stdout);
}

/* One stdin command; returns false on quit or end of input. */
static bool control(rules_host_t *host, char *line) {
  char cmd[16];
  long a, b;
  if (sscanf(line, "%15s", cmd) != 1) return true;
  if (strcmp(cmd, "quit") == 0) return false;
  if (strcmp(cmd, "status") == 0) {
    print_status(host);
  } else if (strcmp(cmd, "sensor") == 0 && sscanf(line, "%*s %ld %ld", &a, &b) == 2 && a >= 0 && a < MAX_CHANNELS) {
    board.sensor[a] = (int32_t)b;
  } else if (strcmp(cmd, "gpio") == 0 && sscanf(line, "%*s %ld %ld", &a, &b) == 2 && a >= 0 && a < MAX_PINS) {
    board.gpio[a] = b != 0;
  } else {
    fprintf(stderr, "rules-board: unknown command `%s` (sensor CH V, gpio PIN V, status, quit)\n", line);
  }
  return true;
}

int main(int argc, char **argv) {
  static rules_key_t keys[MAX_KEYS];
  static rules_channel_t channels[MAX_CHANNELS];
  size_t key_count = 0, channel_count = 0;
  rules_target_t target;
  memset(&target, 0, sizeof target);
  const char *link = NULL, *state_dir = ".";
  bool have_gpio = false;
  clock_gettime(CLOCK_MONOTONIC, &board.boot);

  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--json") == 0) { board.json = true; continue; }
    if (strcmp(opt, "--float") == 0) { target.floating_point = 1; continue; }
    if (strcmp(opt, "--help") == 0) { fputs(USAGE, stdout); return 0; }
    if (i + 1 >= argc) die("%s needs a value\n%s", opt, USAGE);
    const char *val = argv[++i];
    if (strcmp(opt, "--link") == 0) link = val;
    else if (strcmp(opt, "--state") == 0) state_dir = val;
    else if (strcmp(opt, "--target") == 0) target.name = val;
    else if (strcmp(opt, "--sensor") == 0) set_pair(val, board.sensor, MAX_CHANNELS, "--sensor");
    else if (strcmp(opt, "--gpio-in") == 0) set_pair(val, board.gpio, MAX_PINS, "--gpio-in");
    else if (strcmp(opt, "--max-artifact") == 0) target.max_artifact_bytes = (uint32_t)number(val, opt);
    else if (strcmp(opt, "--max-state") == 0) target.max_state_slots = (uint32_t)number(val, opt);
    else if (strcmp(opt, "--max-instructions") == 0) target.max_instructions_per_tick = (uint32_t)number(val, opt);
    else if (strcmp(opt, "--max-loop-trips") == 0) target.max_loop_trips = (uint32_t)number(val, opt);
    else if (strcmp(opt, "--min-period") == 0) target.min_period_ms = (uint32_t)number(val, opt);
    else if (strcmp(opt, "--gpio") == 0) {
      unsigned lo, hi;
      if (sscanf(val, "%u:%u", &lo, &hi) != 2 || lo > hi || hi >= MAX_PINS) die("--gpio needs MIN:MAX below %d", MAX_PINS);
      target.gpio_min = lo, target.gpio_max = hi, have_gpio = true;
    } else if (strcmp(opt, "--channel") == 0) {
      unsigned ch;
      long lo, hi;
      if (channel_count >= MAX_CHANNELS || sscanf(val, "%u:%ld:%ld", &ch, &lo, &hi) != 3) die("--channel needs CH:MIN:MAX");
      channels[channel_count++] = (rules_channel_t){ch, (int32_t)lo, (int32_t)hi};
    } else if (strcmp(opt, "--trust") == 0) {
      const char *colon = strchr(val, ':');
      char kid[17];
      if (key_count >= MAX_KEYS || !colon || colon - val != 16) die("--trust needs KID:KEY in hex (8 and 32 bytes)");
      memcpy(kid, val, 16);
      kid[16] = 0;
      if (!parse_hex(kid, keys[key_count].id, 8) || !parse_hex(colon + 1, keys[key_count].key, 32)) {
        die("--trust needs KID:KEY in hex (8 and 32 bytes)");
      }
      key_count++;
    } else {
      die("unknown option %s\n%s", opt, USAGE);
    }
  }
  if (!link || !target.name || !have_gpio || key_count == 0) die("--link, --target, --gpio and --trust are required\n%s", USAGE);
  target.channels = channels;
  target.channel_count = channel_count;
  const char *crash = getenv("RULES_BOARD_CRASH_AFTER");
  if (crash) board.crash_after = number(crash, "RULES_BOARD_CRASH_AFTER");

  /* Flash: one file, sized for the slots, erased (0xff) when new. */
  board.flash_size = 2u * RULES_MAX_RULES * ((RULES_SLOT_BYTES + FLASH_ERASE_BYTES - 1) / FLASH_ERASE_BYTES * FLASH_ERASE_BYTES);
  char flash_path[4096];
  snprintf(flash_path, sizeof flash_path, "%s/flash.bin", state_dir);
  mkdir(state_dir, 0755);
  board.flash = open(flash_path, O_RDWR | O_CREAT, 0644);
  if (board.flash < 0) die("cannot open %s: %s", flash_path, strerror(errno));
  struct stat st;
  fstat(board.flash, &st);
  if ((uint64_t)st.st_size < board.flash_size) {
    static uint8_t ones[FLASH_ERASE_BYTES];
    memset(ones, 0xff, sizeof ones);
    for (off_t off = st.st_size / FLASH_ERASE_BYTES * FLASH_ERASE_BYTES; off < (off_t)board.flash_size; off += FLASH_ERASE_BYTES) {
      if (pwrite(board.flash, ones, FLASH_ERASE_BYTES, off) != FLASH_ERASE_BYTES) die("cannot write %s", flash_path);
    }
    fdatasync(board.flash);
  }

  /* Serial: a pseudo-terminal in raw mode, reached through the --link symlink. */
  if (openpty(&board.master, &board.slave, NULL, NULL, NULL) != 0) die("openpty failed: %s", strerror(errno));
  struct termios tio;
  tcgetattr(board.slave, &tio);
  cfmakeraw(&tio);
  tcsetattr(board.slave, TCSANOW, &tio);
  fcntl(board.master, F_SETFL, fcntl(board.master, F_GETFL) | O_NONBLOCK);
  const char *pts = ttyname(board.slave);
  if (!pts) die("no name for the pseudo-terminal");
  struct stat existing;
  if (lstat(link, &existing) == 0) {
    if (!S_ISLNK(existing.st_mode)) die("%s exists and is not a symlink: choose another --link path", link);
    unlink(link); /* a stale link from an earlier board */
  }
  if (symlink(pts, link) != 0) die("cannot create the link %s: %s", link, strerror(errno));
  snprintf(link_path, sizeof link_path, "%s", link);
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  signal(SIGPIPE, SIG_IGN);

  rules_hal_t hal = {
      .ctx = &board, .uart_read = uart_read, .uart_write = uart_write, .gpio_read = gpio_read, .gpio_write = gpio_write,
      .sensor_read = sensor_read, .flash_size = board.flash_size, .flash_erase_size = FLASH_ERASE_BYTES,
      .flash_write_align = FLASH_WRITE_ALIGN, .flash_read = flash_read, .flash_write = flash_write,
      .flash_erase = flash_erase, .millis = millis, .reset = reset, .image = &image_hal};
  snprintf(state_folder, sizeof state_folder, "%s", state_dir);
  hash_of_self(image_hal.builtin_hash);
  rules_host_config_t config = {.hal = &hal, .target = &target, .trusted_keys = keys, .trusted_key_count = key_count};
  rules_host_t *host;
  int rc = rules_host_open(&config, &host);
  if (rc) die("cannot start the host: %s", rules_strerror(rc));

  if (board.json) printf("{\"event\":\"ready\",\"link\":\"%s\",\"pty\":\"%s\",\"target\":\"%s\",\"rules\":%u}\n", link, pts, target.name,
                         (unsigned)rules_host_rule_count(host));
  else printf("board %s: serial on %s (%s), %u rules installed\n", target.name, link, pts, (unsigned)rules_host_rule_count(host));
  fflush(stdout);

  char line[256];
  size_t line_len = 0;
  bool stdin_open = true;
  for (;;) {
    uint32_t wait = rules_host_poll(host);
    if (board.reset_requested) {
      board.reset_requested = false;
      rules_host_close(host);
      rc = rules_host_open(&config, &host);
      if (rc) die("cannot restart the host: %s", rules_strerror(rc));
      if (board.json) printf("{\"event\":\"reset\",\"rules\":%u}\n", (unsigned)rules_host_rule_count(host));
      else printf("board reset: %u rules installed\n", (unsigned)rules_host_rule_count(host));
      fflush(stdout);
      continue;
    }
    struct pollfd fds[2] = {{.fd = board.master, .events = POLLIN}, {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
    if (poll(fds, 2, (int)wait) < 0 && errno != EINTR) die("poll failed: %s", strerror(errno));
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char c;
      ssize_t n = read(0, &c, 1);
      if (n <= 0) {
        stdin_open = false; /* stdin closed: keep running, like a board without a console */
      } else if (c == '\n' || line_len == sizeof line - 1) {
        line[line_len] = 0;
        line_len = 0;
        if (!control(host, line)) break;
      } else {
        line[line_len++] = c;
      }
    }
  }
  rules_host_close(host);
  return 0;
}
