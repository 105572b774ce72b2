/* The device host firmware of every Cortex-M port: fills the HAL from the board's functions, reads the
 * trusted keys from the provisioning area, opens the portable core and polls it forever. GPIO changes
 * go out on the events link as JSON lines (the virtual board's --json format); under emulation
 * (RULES_BOARD_QEMU) that link also takes scripted inputs, "sensor CH V" and "gpio PIN V", since QEMU models
 * no sensors and no input pins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex_m.h"
#include "rules_host.h"

extern const rules_target_t rules_port_target; /* generated from targets/<name>.json by the build */
extern size_t heap_high_water(void);

/* ---- the events link ---- */

static void events_print(const char *line) { board_events_write((const uint8_t *)line, strlen(line)); }

#define PIN_WORDS 4u /* pins 0..127 */
static uint32_t pins_known[PIN_WORDS], pins_high[PIN_WORDS];

static void report_gpio(uint32_t pin, int32_t level) {
  if (pin >= 32u * PIN_WORDS) return;
  uint32_t bit = 1u << (pin % 32u), word = pin / 32u;
  int was_high = (pins_high[word] & bit) != 0;
  if ((pins_known[word] & bit) && was_high == (level != 0)) return;
  pins_known[word] |= bit;
  if (level) {
    pins_high[word] |= bit;
  } else {
    pins_high[word] &= ~bit;
  }
  char line[64];
  snprintf(line, sizeof line, "{\"event\":\"gpio\",\"pin\":%lu,\"level\":%d,\"ms\":%lu}\n", (unsigned long)pin,
           level ? 1 : 0, (unsigned long)systick_millis());
  events_print(line);
}

#ifdef RULES_BOARD_QEMU
#define SCRIPTED_MAX 128u
static int32_t scripted_sensor[SCRIPTED_MAX], scripted_input[SCRIPTED_MAX];
static uint8_t sensor_is_scripted[SCRIPTED_MAX], input_is_scripted[SCRIPTED_MAX];
#endif

static uint32_t stack_bytes_used(void);
static void print_state(const char *event);

/* One command line from the events link; unknown lines are answered with an error, never acted on. */
static void events_command(char *line) {
  char reply[96];
  long target, value;
  if (strcmp(line, "status") == 0) {
    print_state("status");
    return;
  }
  if (strcmp(line, "stats") == 0) {
    snprintf(reply, sizeof reply, "{\"event\":\"stats\",\"heap\":%lu,\"stack\":%lu}\n",
             (unsigned long)heap_high_water(), (unsigned long)stack_bytes_used());
    events_print(reply);
    return;
  }
#ifdef RULES_BOARD_QEMU
  /* "sensor 1 2500" or "sensor 1=2500", as the virtual board takes them (strtol, not sscanf: 5 KB less flash). */
  int sensor = strncmp(line, "sensor ", 7) == 0;
  int input = strncmp(line, "gpio ", 5) == 0;
  if (sensor || input) {
    char *end;
    target = strtol(line + (sensor ? 7 : 5), &end, 10);
    int separated = *end == ' ' || *end == '=';
    char *number = end + 1;
    value = strtol(number, &end, 10);
    if (separated && end != number && *end == '\0' && target >= 0 && target < (long)SCRIPTED_MAX) {
      (sensor ? scripted_sensor : scripted_input)[target] = (int32_t)value;
      (sensor ? sensor_is_scripted : input_is_scripted)[target] = 1;
      snprintf(reply, sizeof reply, "{\"event\":\"set\",\"%s\":%ld,\"value\":%ld}\n", sensor ? "sensor" : "gpio",
               target, value);
      events_print(reply);
      return;
    }
  }
#else
  (void)target, (void)value;
#endif
  events_print("{\"event\":\"error\",\"message\":\"unknown command\"}\n");
}

static void events_poll(void) {
  static char line[48];
  static size_t used;
  uint8_t bytes[16];
  size_t n;
  while ((n = board_events_read(bytes, sizeof bytes)) > 0) {
    for (size_t i = 0; i < n; i++) {
      char c = (char)bytes[i];
      if (c == '\n' || c == '\r') {
        line[used < sizeof line ? used : sizeof line - 1] = '\0';
        if (used > 0 && used < sizeof line) events_command(line);
        used = 0;
      } else if (used < sizeof line) {
        line[used++] = c;
      } else {
        used = sizeof line; /* too long: dropped whole at its newline */
      }
    }
  }
}

/* ---- the HAL ---- */

static size_t hal_uart_read(void *ctx, uint8_t *buf, size_t cap) { (void)ctx; return board_smp_read(buf, cap); }

static int hal_uart_write(void *ctx, const uint8_t *buf, size_t len) {
  (void)ctx;
  board_smp_write(buf, len);
  return RULES_OK;
}

static int hal_gpio_read(void *ctx, uint32_t pin, int32_t *level) {
  (void)ctx;
#ifdef RULES_BOARD_QEMU
  if (pin < SCRIPTED_MAX && input_is_scripted[pin]) {
    *level = scripted_input[pin] != 0;
    return RULES_OK;
  }
#endif
  return board_gpio_read(pin, level);
}

static int hal_gpio_write(void *ctx, uint32_t pin, int32_t level) {
  (void)ctx;
  int err = board_gpio_write(pin, level);
  if (err == RULES_OK) report_gpio(pin, level);
  return err;
}

static int hal_sensor_read(void *ctx, uint32_t channel, int32_t *value) {
  (void)ctx;
#ifdef RULES_BOARD_QEMU
  if (channel < SCRIPTED_MAX && sensor_is_scripted[channel]) {
    *value = scripted_sensor[channel];
    return RULES_OK;
  }
#endif
  return board_sensor_read(channel, value);
}

static uint8_t *storage;
static uint32_t storage_size;

static int hal_flash_read(void *ctx, uint32_t off, void *buf, size_t len) {
  (void)ctx;
  if (off > storage_size || len > storage_size - off) return RULES_EINVAL;
  memcpy(buf, storage + off, len);
  return RULES_OK;
}

static int hal_flash_write(void *ctx, uint32_t off, const void *buf, size_t len) {
  (void)ctx;
  if (off > storage_size || len > storage_size - off) return RULES_EINVAL;
  int err = board_storage_write(off, buf, len);
#ifdef RULES_BOARD_QEMU
  if (err == RULES_OK) err = semihost_storage_sync(off, len);
#endif
  return err;
}

static int hal_flash_erase(void *ctx, uint32_t off, size_t len) {
  (void)ctx;
  if (off > storage_size || len > storage_size - off) return RULES_EINVAL;
  int err = board_storage_erase(off, len);
#ifdef RULES_BOARD_QEMU
  if (err == RULES_OK) err = semihost_storage_sync(off, len);
#endif
  return err;
}

static uint32_t hal_millis(void *ctx) { (void)ctx; return systick_millis(); }

static void hal_reset(void *ctx) { (void)ctx; system_reset(); }

/* ---- trusted keys: the provisioning area holds "RKEY", a little-endian count, then rules_key_t[count] ---- */

#define MAX_TRUSTED_KEYS 8u
static rules_key_t trusted_keys[MAX_TRUSTED_KEYS];

static size_t load_trusted_keys(void) {
  const uint8_t *area = board_trusted_keys_area();
  if (memcmp(area, "RKEY", 4) != 0) return 0;
  uint32_t count = (uint32_t)area[4] | (uint32_t)area[5] << 8 | (uint32_t)area[6] << 16 | (uint32_t)area[7] << 24;
  if (count > MAX_TRUSTED_KEYS) count = MAX_TRUSTED_KEYS;
  memcpy(trusted_keys, area + 8, count * sizeof(rules_key_t));
  return count;
}

/* ---- stack use: painted at boot, measured by the stats command ---- */

extern uint32_t _heap_end[], _estack[];
#define STACK_PAINT 0xA5A5A5A5u

static void paint_stack(void) {
  uint32_t *here;
  __asm volatile("mov %0, sp" : "=r"(here));
  for (uint32_t *p = _heap_end; p < here - 16; p++) *p = STACK_PAINT;
}

static uint32_t stack_bytes_used(void) {
  uint32_t *p = _heap_end;
  while (p < _estack && *p == STACK_PAINT) p++;
  return (uint32_t)((uintptr_t)_estack - (uintptr_t)p);
}

static rules_host_t *host;
static int open_status;
static int storage_file; /* 1: written through to a file (emulation), 0: RAM, < 0: the file failed */
static size_t key_count;

/* The boot line, and the same on request ("status"): the board, its target, its keys and rules. */
static void print_state(const char *event) {
  char line[176];
  snprintf(line, sizeof line,
           "{\"event\":\"%s\",\"board\":\"%s\",\"target\":\"%s\",\"keys\":%u,\"rules\":%u,\"storage\":\"%s\",\"status\":\"%s\"}\n", event,
           board_name, rules_port_target.name, (unsigned)key_count, host ? (unsigned)rules_host_rule_count(host) : 0u,
           storage_file == 1 ? "file" : storage_file == 0 ? "ram" : "file failed", open_status == RULES_OK ? "ok" : rules_strerror(open_status));
  events_print(line);
}

int main(void) {
  paint_stack();
  board_init();
  static rules_hal_t hal = {
      .ctx = NULL,
      .uart_read = hal_uart_read,
      .uart_write = hal_uart_write,
      .gpio_read = hal_gpio_read,
      .gpio_write = hal_gpio_write,
      .sensor_read = hal_sensor_read,
      .flash_read = hal_flash_read,
      .flash_write = hal_flash_write,
      .flash_erase = hal_flash_erase,
      .millis = hal_millis,
      .reset = hal_reset,
  };
  storage = board_storage(&hal.flash_size, &hal.flash_erase_size, &hal.flash_write_align);
  storage_size = hal.flash_size;
#ifdef RULES_BOARD_QEMU
  storage_file = semihost_storage_open(storage, storage_size);
#endif
  key_count = load_trusted_keys();
  rules_host_config_t config = {
      .hal = &hal, .target = &rules_port_target, .trusted_keys = trusted_keys, .trusted_key_count = key_count};
  open_status = rules_host_open(&config, &host);
  print_state("boot");
  for (;;) {
    uint32_t idle_ms = host ? rules_host_poll(host) : RULES_IDLE_POLL_MS;
    events_poll();
    if (idle_ms > 0) wait_for_interrupt(); /* SysTick wakes the core every millisecond at the latest */
  }
}
