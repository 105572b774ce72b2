/* libFuzzer target: the SMP server (groups 0, 1 and 64: echo, image state and upload, install chunks, list,
 * remove, status, info) on any
 * sequence of request packets, against a host with a board in RAM. The input is split into packets, each
 * prefixed by one length byte. Bundles cannot be forged, so wasm3 is linked but never reached. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mbedtls/sha256.h"
#include "rules_host.h"
#include "smp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLASH_BYTES (2u * RULES_MAX_RULES * RULES_SLOT_BYTES)
static uint8_t flash[FLASH_BYTES];

static size_t uart_read(void *ctx, uint8_t *buf, size_t cap) { (void)ctx, (void)buf, (void)cap; return 0; }
static int uart_write(void *ctx, const uint8_t *buf, size_t len) { (void)ctx, (void)buf, (void)len; return 0; }
static int gpio_read(void *ctx, uint32_t pin, int32_t *level) { (void)ctx, (void)pin; *level = 0; return 0; }
static int gpio_write(void *ctx, uint32_t pin, int32_t level) { (void)ctx, (void)pin, (void)level; return 0; }
static int sensor_read(void *ctx, uint32_t channel, int32_t *value) { (void)ctx, (void)channel; *value = 0; return 0; }
static int flash_read(void *ctx, uint32_t off, void *buf, size_t len) {
  (void)ctx;
  if (off + len > FLASH_BYTES) return RULES_EINVAL;
  memcpy(buf, flash + off, len);
  return 0;
}
static int flash_write(void *ctx, uint32_t off, const void *buf, size_t len) {
  (void)ctx;
  if (off + len > FLASH_BYTES) return RULES_EINVAL;
  memcpy(flash + off, buf, len);
  return 0;
}
static int flash_erase(void *ctx, uint32_t off, size_t len) {
  (void)ctx;
  if (off + len > FLASH_BYTES) return RULES_EINVAL;
  memset(flash + off, 0xff, len);
  return 0;
}
static uint32_t millis(void *ctx) { (void)ctx; return 0; }

/* Group 1's image banks and state record, in RAM; small, so an upload can fill a bank within one input. */
#define BANK_BYTES 2048u
static uint8_t banks[2][BANK_BYTES];
static uint8_t image_state[8];
static bool image_state_stored;
static int bank_read(void *ctx, unsigned bank, uint32_t off, void *buf, size_t len) {
  (void)ctx;
  if (bank > 1 || (uint64_t)off + len > BANK_BYTES) return RULES_EINVAL;
  memcpy(buf, banks[bank] + off, len);
  return 0;
}
static int bank_write(void *ctx, unsigned bank, uint32_t off, const void *buf, size_t len) {
  (void)ctx;
  if (bank > 1 || (uint64_t)off + len > BANK_BYTES) return RULES_EINVAL;
  memcpy(banks[bank] + off, buf, len);
  return 0;
}
static int bank_erase(void *ctx, unsigned bank) {
  (void)ctx;
  if (bank > 1) return RULES_EINVAL;
  memset(banks[bank], 0xff, BANK_BYTES);
  return 0;
}
static int state_load(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  if (!image_state_stored) return RULES_ENOENT;
  if (len != sizeof image_state) return RULES_EIO;
  memcpy(buf, image_state, len);
  return 0;
}
static int state_store(void *ctx, const uint8_t *buf, size_t len) {
  (void)ctx;
  if (len != sizeof image_state) return RULES_EIO;
  memcpy(image_state, buf, len);
  image_state_stored = true;
  return 0;
}
static const rules_image_hal_t IMAGE_HAL = {BANK_BYTES, "0.1.0", {0}, bank_read, bank_write, bank_erase, state_load, state_store};
static void reset(void *ctx) { (void)ctx; }

static const rules_channel_t CHANNELS[] = {{0, -40000, 125000}};
static const rules_target_t TARGET = {"stm32", 0, 79, CHANNELS, 1, 160, 8, 1000, 32, 10, 0};
static rules_key_t KEYS[1]; /* the all-zero key, with its id computed at the first input (the host checks it) */
static const rules_hal_t HAL = {NULL, uart_read, uart_write, gpio_read, gpio_write, sensor_read, FLASH_BYTES, 512, 4,
                                flash_read, flash_write, flash_erase, millis, reset, &IMAGE_HAL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static rules_host_t *host;
  static smp_server_t server;
  if (!host) {
    memset(flash, 0xff, sizeof flash);
    uint8_t digest[32];
    if (mbedtls_sha256_ret(KEYS[0].key, sizeof KEYS[0].key, digest, 0) != 0) return 0;
    memcpy(KEYS[0].id, digest, sizeof KEYS[0].id);
    rules_host_config_t config = {&HAL, &TARGET, KEYS, 1};
    if (rules_host_open(&config, &host) != RULES_OK) __builtin_trap(); /* a fuzzer that cannot start the host tests nothing */
  }
  smp_server_init(&server, host); /* a fresh upload state per input */
  /* Each input starts from empty image banks (an input may leave an image pending; the host is not reopened). */
  memset(banks, 0xff, sizeof banks);
  image_state_stored = false;
  size_t at = 0;
  while (at < size) {
    size_t len = data[at++];
    if (len > size - at) len = size - at;
    smp_server_handle(&server, data + at, len);
    at += len;
  }
  return 0;
}
