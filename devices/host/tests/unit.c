/* The device host's C tests, run by tests/device-host.test.ts. `rules-host-tests unit` runs the unit tests
 * and prints TAP ("ok N name" / "not ok N name: why"); `rules-host-tests bundle ...` prints the verdict the
 * host gives one bundle file, for the shared bundle vectors; `rules-host-tests sha256 FILE...` prints each file's
 * SHA-256 as the host computes it. Bundles here are signed with Monocypher. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cbor.h"
#include "mbedtls/sha256.h"
#include "monocypher-ed25519.h"
#include "rules_host.h"
#include "smp.h"
#include "smp_frame.h"
#include "store.h"
#include "verify.h"

/* ---- a board in RAM --------------------------------------------------------------------------------- */

#define FLASH_BYTES (2u * RULES_MAX_RULES * RULES_SLOT_BYTES)

typedef struct ram_board {
  uint8_t flash[FLASH_BYTES];
  long ops_left; /* >0: the flash operation that brings this to 0 is torn, and later ones fail */
  bool dead;
  uint32_t now;
  int32_t gpio[128];
  int gpio_writes;
  int32_t sensor[16];
  uint8_t tx[8192];
  size_t tx_len;
  const uint8_t *rx;
  size_t rx_len;
} ram_board_t;

static size_t rb_uart_read(void *ctx, uint8_t *buf, size_t cap) {
  ram_board_t *b = ctx;
  size_t n = b->rx_len < cap ? b->rx_len : cap;
  memcpy(buf, b->rx, n);
  b->rx += n;
  b->rx_len -= n;
  return n;
}
static int rb_uart_write(void *ctx, const uint8_t *buf, size_t len) {
  ram_board_t *b = ctx;
  if (b->tx_len + len > sizeof b->tx) b->tx_len = 0;
  memcpy(b->tx + b->tx_len, buf, len);
  b->tx_len += len;
  return 0;
}
static int rb_gpio_read(void *ctx, uint32_t pin, int32_t *level) {
  ram_board_t *b = ctx;
  if (pin >= 128) return RULES_EINVAL;
  *level = b->gpio[pin];
  return 0;
}
static int rb_gpio_write(void *ctx, uint32_t pin, int32_t level) {
  ram_board_t *b = ctx;
  if (pin >= 128) return RULES_EINVAL;
  b->gpio[pin] = level;
  b->gpio_writes++;
  return 0;
}
static int rb_sensor_read(void *ctx, uint32_t channel, int32_t *value) {
  ram_board_t *b = ctx;
  if (channel >= 16) return RULES_EINVAL;
  *value = b->sensor[channel];
  return 0;
}
/* A torn operation changes only part of its range, like a write cut by power loss. */
static size_t rb_allowed(ram_board_t *b, size_t len) {
  if (b->dead) return 0;
  if (b->ops_left > 0 && --b->ops_left == 0) {
    b->dead = true;
    return len / 2;
  }
  return len;
}
static int rb_flash_read(void *ctx, uint32_t off, void *buf, size_t len) {
  ram_board_t *b = ctx;
  if (off + len > FLASH_BYTES) return RULES_EINVAL;
  memcpy(buf, b->flash + off, len);
  return 0;
}
static int rb_flash_write(void *ctx, uint32_t off, const void *buf, size_t len) {
  ram_board_t *b = ctx;
  if (off + len > FLASH_BYTES || off % 4 || len % 4) return RULES_EINVAL;
  size_t n = rb_allowed(b, len);
  for (size_t i = 0; i < n; i++) b->flash[off + i] &= ((const uint8_t *)buf)[i]; /* NOR: bits only clear */
  return n == len ? 0 : RULES_EIO;
}
static int rb_flash_erase(void *ctx, uint32_t off, size_t len) {
  ram_board_t *b = ctx;
  if (off + len > FLASH_BYTES || off % 512 || len % 512) return RULES_EINVAL;
  size_t n = rb_allowed(b, len);
  memset(b->flash + off, 0xff, n);
  return n == len ? 0 : RULES_EIO;
}
static uint32_t rb_millis(void *ctx) { return ((ram_board_t *)ctx)->now; }

static ram_board_t board;
static rules_hal_t hal;
static const rules_channel_t STM32_CHANNELS[] = {{0, -40000, 125000}, {1, 0, 3300}, {2, 0, 3300}};
static rules_target_t target = {"stm32", 0, 79, STM32_CHANNELS, 3, 160, 8, 1000, 32, 10, 0};
static uint8_t secret[64], public_key[32];
static rules_key_t keys[1];

static void board_init(void) {
  memset(&board, 0, sizeof board);
  memset(board.flash, 0xff, sizeof board.flash);
  hal = (rules_hal_t){.ctx = &board, .uart_read = rb_uart_read, .uart_write = rb_uart_write, .gpio_read = rb_gpio_read,
                      .gpio_write = rb_gpio_write, .sensor_read = rb_sensor_read, .flash_size = FLASH_BYTES,
                      .flash_erase_size = 512, .flash_write_align = 4, .flash_read = rb_flash_read,
                      .flash_write = rb_flash_write, .flash_erase = rb_flash_erase, .millis = rb_millis};
}

static rules_host_t *open_host(void) {
  rules_host_config_t config = {.hal = &hal, .target = &target, .trusted_keys = keys, .trusted_key_count = 1};
  rules_host_t *h = NULL;
  int rc = rules_host_open(&config, &h);
  return rc == RULES_OK ? h : NULL;
}

/* ---- bundles made here -------------------------------------------------------------------------------- */

typedef struct rule_spec {
  const char *name;
  uint32_t version;
  const uint8_t *wasm;
  size_t wasm_len;
  uint32_t gpio_out[2];
  uint8_t n_out;
  uint32_t sensor[2];
  uint8_t n_sensor;
  int32_t min, max;
  const char *imports[3];
  uint8_t n_imports;
  uint32_t state_slots, max_instructions;
  int64_t rollback; /* 0: none */
  const char *target;
  bool wrong_sha256; /* the manifest's sha256 is not the artifact's (one bit off) */
} rule_spec_t;

static void hex_of(const uint8_t *bytes, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static void put_u32_list(cbor_writer_t *w, const uint32_t *v, uint8_t n) {
  cbor_put_array(w, n);
  for (uint8_t i = 0; i < n; i++) cbor_put_uint(w, v[i]);
}

/* Body keys in deterministic order: wasm, manifest, rollback; manifest keys shorter first. */
static size_t make_bundle(const rule_spec_t *r, uint8_t *out, size_t cap) {
  static uint8_t body[2048];
  cbor_writer_t w;
  cbor_writer_init(&w, body, sizeof body);
  cbor_put_map(&w, r->rollback ? 3 : 2);
  cbor_put_text(&w, "wasm");
  cbor_put_bytes(&w, r->wasm, r->wasm_len);
  cbor_put_text(&w, "manifest");
  cbor_put_map(&w, 15);
  cbor_put_text(&w, "abi"); cbor_put_uint(&w, 1);
  cbor_put_text(&w, "rule"); cbor_put_text(&w, r->name);
  cbor_put_text(&w, "size"); cbor_put_uint(&w, r->wasm_len);
  cbor_put_text(&w, "ranges");
  cbor_put_array(&w, r->n_sensor);
  for (uint8_t i = 0; i < r->n_sensor; i++) {
    cbor_put_map(&w, 3);
    cbor_put_text(&w, "max"); cbor_put_int(&w, r->max);
    cbor_put_text(&w, "min"); cbor_put_int(&w, r->min);
    cbor_put_text(&w, "channel"); cbor_put_uint(&w, r->sensor[i]);
  }
  static const char HEX64[] = "0000000000000000000000000000000000000000000000000000000000000000";
  uint8_t digest[32];
  char sha_hex[65];
  mbedtls_sha256_ret(r->wasm, r->wasm_len, digest, 0);
  if (r->wrong_sha256) digest[31] ^= 1;
  hex_of(digest, 32, sha_hex);
  cbor_put_text(&w, "sha256"); cbor_put_text(&w, sha_hex);
  cbor_put_text(&w, "target"); cbor_put_text(&w, r->target ? r->target : "stm32");
  cbor_put_text(&w, "imports");
  cbor_put_array(&w, r->n_imports);
  for (uint8_t i = 0; i < r->n_imports; i++) cbor_put_text(&w, r->imports[i]);
  cbor_put_text(&w, "version"); cbor_put_uint(&w, r->version);
  cbor_put_text(&w, "compiler");
  cbor_put_map(&w, 2);
  cbor_put_text(&w, "name"); cbor_put_text(&w, "rules");
  cbor_put_text(&w, "version"); cbor_put_text(&w, "0.1.0");
  cbor_put_text(&w, "periodMs"); cbor_put_uint(&w, 100);
  cbor_put_text(&w, "stateSlots"); cbor_put_uint(&w, r->state_slots);
  cbor_put_text(&w, "description"); cbor_put_text(&w, "");
  cbor_put_text(&w, "capabilities");
  cbor_put_map(&w, 3);
  cbor_put_text(&w, "sensor"); put_u32_list(&w, r->sensor, r->n_sensor);
  cbor_put_text(&w, "gpio_in"); put_u32_list(&w, NULL, 0);
  cbor_put_text(&w, "gpio_out"); put_u32_list(&w, r->gpio_out, r->n_out);
  cbor_put_text(&w, "sourceSha256"); cbor_put_text(&w, HEX64);
  cbor_put_text(&w, "maxInstructionsPerTick"); cbor_put_uint(&w, r->max_instructions ? r->max_instructions : 100);
  if (r->rollback) {
    cbor_put_text(&w, "rollback");
    cbor_put_uint(&w, (uint64_t)r->rollback);
  }
  size_t body_len = (size_t)(w.p - body);
  static uint8_t message[2100];
  memcpy(message, "rules-bundle-v1", 16);
  memcpy(message + 16, body, body_len);
  uint8_t sig[64];
  crypto_ed25519_sign(sig, secret, message, 16 + body_len);
  cbor_writer_init(&w, out, cap);
  cbor_put_map(&w, 4);
  cbor_put_text(&w, "v"); cbor_put_uint(&w, 1);
  cbor_put_text(&w, "kid"); cbor_put_bytes(&w, keys[0].id, 8);
  cbor_put_text(&w, "sig"); cbor_put_bytes(&w, sig, 64);
  cbor_put_text(&w, "body"); cbor_put_bytes(&w, body, body_len);
  return w.overflow ? 0 : (size_t)(w.p - out);
}

/* Hand-assembled modules. Types: 0 (i32)->i32, 1 (i32,i32)->(). Imports io.gw (type 1) [and io.sr]. */
/* run: gw(17, 1); return 0 */
static const uint8_t WASM_ON[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                               /* header */
    0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00, /* types */
    0x02, 0x09, 0x01, 0x02, 'i', 'o', 0x02, 'g', 'w', 0x00, 0x01,                 /* import io.gw */
    0x03, 0x02, 0x01, 0x00,                                                       /* func 1: type 0 */
    0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x01,                            /* export run */
    0x0a, 0x0c, 0x01, 0x0a, 0x00, 0x41, 0x11, 0x41, 0x01, 0x10, 0x00, 0x41, 0x00, 0x0b};
/* run: gw(17, 1); unreachable */
static const uint8_t WASM_TRAP_AFTER_WRITE[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00,
    0x02, 0x09, 0x01, 0x02, 'i', 'o', 0x02, 'g', 'w', 0x00, 0x01,
    0x03, 0x02, 0x01, 0x00,
    0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x01,
    0x0a, 0x0b, 0x01, 0x09, 0x00, 0x41, 0x11, 0x41, 0x01, 0x10, 0x00, 0x00, 0x0b};
/* run: gw(5, 1); return 0 -- pin 5 is not declared */
static const uint8_t WASM_UNDECLARED_PIN[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00,
    0x02, 0x09, 0x01, 0x02, 'i', 'o', 0x02, 'g', 'w', 0x00, 0x01,
    0x03, 0x02, 0x01, 0x00,
    0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x01,
    0x0a, 0x0c, 0x01, 0x0a, 0x00, 0x41, 0x05, 0x41, 0x01, 0x10, 0x00, 0x41, 0x00, 0x0b};
/* run: gw(18, sr(0) > 100); return -1 (an assumption failed) -- imports io.sr (type 0) then io.gw */
static const uint8_t WASM_SENSOR[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00,
    0x02, 0x11, 0x02, 0x02, 'i', 'o', 0x02, 's', 'r', 0x00, 0x00, 0x02, 'i', 'o', 0x02, 'g', 'w', 0x00, 0x01,
    0x03, 0x02, 0x01, 0x00,
    0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x02,
    0x0a, 0x12, 0x01, 0x10, 0x00, 0x41, 0x12, 0x41, 0x00, 0x10, 0x00, 0x41, 0xe4, 0x00, 0x4a, 0x10, 0x01, 0x41, 0x7f, 0x0b};
/* run: loop br 0 end; return 0 -- never returns */
static const uint8_t WASM_SPIN[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,
    0x03, 0x02, 0x01, 0x00,
    0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00,
    0x0a, 0x0b, 0x01, 0x09, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x41, 0x00, 0x0b};

static rule_spec_t spec_on(const char *name, uint32_t version) {
  rule_spec_t r;
  memset(&r, 0, sizeof r);
  r.name = name;
  r.version = version;
  r.wasm = WASM_ON;
  r.wasm_len = sizeof WASM_ON;
  r.gpio_out[0] = 17;
  r.n_out = 1;
  r.imports[0] = "io.gw";
  r.n_imports = 1;
  r.max_instructions = 10;
  return r;
}

static uint8_t *read_file(const char *path, size_t *len);

/* ---- the test runner ---------------------------------------------------------------------------------- */

static int test_number, failures;
static char failure[512];

static bool fail_with(const char *fmt, ...) {
  if (failure[0]) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(failure, sizeof failure, fmt, ap);
  va_end(ap);
  return false;
}

#define CHECK(cond, ...) do { if (!(cond)) { fail_with("%s:%d: %s", __FILE__, __LINE__, #cond); return; } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
  if (a_ != b_) { fail_with("%s:%d: %s == %lld, expected %lld", __FILE__, __LINE__, #a, a_, b_); return; } } while (0)

static void run_test(const char *name, void (*fn)(void)) {
  failure[0] = 0;
  board_init();
  fn();
  test_number++;
  if (failure[0]) {
    failures++;
    printf("not ok %d %s\n# %s\n", test_number, name, failure);
  } else {
    printf("ok %d %s\n", test_number, name);
  }
  fflush(stdout);
}

/* ---- CBOR --------------------------------------------------------------------------------------------- */

static void test_cbor_round_trip(void) {
  uint8_t buf[128];
  cbor_writer_t w;
  cbor_writer_init(&w, buf, sizeof buf);
  cbor_put_map(&w, 3);
  cbor_put_text(&w, "a"); cbor_put_int(&w, -100000);
  cbor_put_text(&w, "bb"); cbor_put_bytes(&w, (const uint8_t *)"xyz", 3);
  cbor_put_text(&w, "ccc"); cbor_put_uint(&w, 0x1234567890ull);
  CHECK(!w.overflow);
  cbor_reader_t r;
  cbor_reader_init(&r, buf, (size_t)(w.p - buf));
  size_t n, len;
  const char *t;
  const uint8_t *b;
  int64_t i;
  uint64_t u;
  CHECK(cbor_read_map(&r, &n) && n == 3);
  CHECK(cbor_read_text(&r, &t, &len) && cbor_text_is(t, len, "a"));
  CHECK(cbor_read_int(&r, &i) && i == -100000);
  CHECK(cbor_read_text(&r, &t, &len) && cbor_text_is(t, len, "bb"));
  CHECK(cbor_read_bytes(&r, &b, &len) && len == 3 && memcmp(b, "xyz", 3) == 0);
  CHECK(cbor_read_text(&r, &t, &len));
  CHECK(cbor_read_uint(&r, &u) && u == 0x1234567890ull);
  CHECK(cbor_at_end(&r));
  CHECK(!cbor_read_uint(&r, &u)); /* past the end */
}

static void test_cbor_refuses_non_deterministic_and_malformed(void) {
  static const uint8_t long_head[] = {0x18, 0x05};        /* 5 in two bytes */
  static const uint8_t indefinite[] = {0x9f, 0x01, 0xff}; /* [_ 1] */
  static const uint8_t tagged[] = {0xc1, 0x01};
  static const uint8_t float16[] = {0xf9, 0x3c, 0x00};
  static const uint8_t too_long[] = {0x45, 0x01};         /* 5-byte string, 1 byte given */
  static const uint8_t deep[] = {0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x00};
  const struct { const uint8_t *p; size_t n; } cases[] = {{long_head, 2}, {indefinite, 3}, {tagged, 2}, {float16, 3},
                                                          {too_long, 2}, {deep, sizeof deep}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    cbor_reader_t r;
    cbor_reader_init(&r, cases[k].p, cases[k].n);
    if (cbor_skip(&r)) {
      fail_with("case %u was accepted", (unsigned)k);
      return;
    }
  }
  CHECK(cbor_key_follows("v", 1, "kid", 3) && !cbor_key_follows("sig", 3, "kid", 3) && !cbor_key_follows("a", 1, "a", 1));
}

/* ---- framing ------------------------------------------------------------------------------------------ */

static uint8_t framed[4096];
static size_t framed_len;
static int collect(void *ctx, const uint8_t *bytes, size_t len) {
  (void)ctx;
  if (len > 127) return -1; /* a frame over the limit */
  memcpy(framed + framed_len, bytes, len);
  framed_len += len;
  return 0;
}

static void test_framing_round_trip_over_many_frames(void) {
  static uint8_t body[400];
  for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)(i * 7 + 3);
  static smp_deframer_t d;
  for (size_t len = 8; len <= sizeof body; len += 37) {
    framed_len = 0;
    CHECK_EQ(smp_frame_packet(body, len, collect, NULL), 0);
    CHECK(framed[0] == 0x06 && framed[1] == 0x09);
    smp_deframer_init(&d);
    size_t got = 0;
    for (size_t i = 0; i < framed_len; i++) {
      size_t n = smp_deframer_push(&d, framed[i]);
      if (n) {
        CHECK(i == framed_len - 1);
        got = n;
      }
    }
    CHECK_EQ(got, len);
    CHECK(memcmp(d.packet + 2, body, len) == 0);
  }
}

static void test_framing_drops_corruption_and_resynchronises(void) {
  static const uint8_t body[] = {2, 0, 0, 1, 0, 0, 1, 0, 0xa0};
  static smp_deframer_t d;
  framed_len = 0;
  smp_frame_packet(body, sizeof body, collect, NULL);
  size_t one = framed_len;
  /* console noise, a corrupted copy, then a good copy */
  static uint8_t stream[512];
  size_t n = 0;
  memcpy(stream + n, "boot log line\n", 14), n += 14;
  memcpy(stream + n, framed, one), n += one;
  stream[n - 5] ^= 0x01; /* a flipped bit in the base64 text: the CRC fails */
  memcpy(stream + n, framed, one), n += one;
  smp_deframer_init(&d);
  int packets = 0;
  for (size_t i = 0; i < n; i++) packets += smp_deframer_push(&d, stream[i]) == sizeof body;
  CHECK_EQ(packets, 1);
  CHECK_EQ(d.dropped, 1);
  CHECK_EQ(smp_crc16((const uint8_t *)"123456789", 9, 0), 0x31c3); /* CRC-16/XMODEM check value */
}

/* ---- slot storage ------------------------------------------------------------------------------------- */

static void test_store_commit_alternates_slots(void) {
  store_t s;
  CHECK_EQ(store_init(&s, &hal), RULES_OK);
  store_record_t rec;
  CHECK_EQ(store_newest(&s, 1, &rec), RULES_OK);
  CHECK(!rec.valid);
  static const uint8_t a[] = "first payload", b[] = "second payload, longer";
  CHECK_EQ(store_commit(&s, 1, &rec, "fan", 1, 0, a, sizeof a), RULES_OK);
  CHECK_EQ(store_newest(&s, 1, &rec), RULES_OK);
  CHECK(rec.valid && rec.version == 1 && rec.slot == 0 && strcmp(rec.name, "fan") == 0);
  CHECK_EQ(store_commit(&s, 1, &rec, "fan", 2, 0, b, sizeof b), RULES_OK);
  CHECK_EQ(store_newest(&s, 1, &rec), RULES_OK);
  CHECK(rec.valid && rec.version == 2 && rec.slot == 1 && rec.length == sizeof b);
  uint8_t back[64];
  CHECK_EQ(store_read_payload(&s, 1, &rec, back, sizeof back), RULES_OK);
  CHECK(memcmp(back, b, sizeof b) == 0);
  store_record_t other;
  CHECK_EQ(store_newest(&s, 0, &other), RULES_OK);
  CHECK(!other.valid);
}

/* Power loss in the middle of every flash operation of a commit leaves the old record or the new one. */
static void test_store_power_loss_at_every_operation(void) {
  static uint8_t payload_old[300], payload_new[700];
  memset(payload_old, 0x11, sizeof payload_old);
  memset(payload_new, 0x22, sizeof payload_new);
  int saw_old = 0, saw_new = 0;
  for (long cut = 1; cut < 64; cut++) {
    board_init();
    store_t s;
    store_init(&s, &hal);
    store_record_t rec;
    store_newest(&s, 0, &rec);
    store_commit(&s, 0, &rec, "r", 1, 0, payload_old, sizeof payload_old);
    store_newest(&s, 0, &rec);
    board.ops_left = cut;
    int rc = store_commit(&s, 0, &rec, "r", 2, 0, payload_new, sizeof payload_new);
    bool torn = board.dead;
    board.dead = false;
    board.ops_left = 0;
    store_record_t after;
    CHECK_EQ(store_newest(&s, 0, &after), RULES_OK);
    CHECK(after.valid);
    static uint8_t back[1024];
    CHECK_EQ(store_read_payload(&s, 0, &after, back, sizeof back), RULES_OK);
    if (after.version == 1) {
      CHECK(torn && rc != RULES_OK);
      CHECK(after.length == sizeof payload_old && memcmp(back, payload_old, sizeof payload_old) == 0);
      saw_old++;
    } else {
      CHECK_EQ(after.version, 2);
      CHECK(after.length == sizeof payload_new && memcmp(back, payload_new, sizeof payload_new) == 0);
      saw_new++;
      if (!torn) break; /* the commit finished before the cut: every later cut is the same */
    }
  }
  CHECK(saw_old > 3 && saw_new > 0);
}

/* ---- the host ----------------------------------------------------------------------------------------- */

static uint8_t bundle_buf[2048];

static int install(rules_host_t *h, const rule_spec_t *r, char *why) {
  size_t n = make_bundle(r, bundle_buf, sizeof bundle_buf);
  return rules_host_install(h, bundle_buf, n, why, 128);
}

static void tick(rules_host_t *h, uint32_t ms) {
  board.now += ms;
  rules_host_poll(h);
}

static bool status_of(rules_host_t *h, const char *name, rules_status_t *st) {
  for (size_t i = 0; i < rules_host_rule_count(h); i++) {
    if (rules_host_rule_status(h, i, st) == RULES_OK && strcmp(st->name, name) == 0) return true;
  }
  return false;
}

static void test_install_runs_and_persists(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  char why[128] = "";
  rule_spec_t r = spec_on("fan", 1);
  CHECK_EQ(install(h, &r, why), RULES_OK);
  tick(h, 0);
  CHECK_EQ(board.gpio[17], 1);
  rules_status_t st;
  CHECK(status_of(h, "fan", &st) && st.state == RULES_STATE_RUNNING && st.ticks == 1 && st.version == 1);
  rules_host_close(h);
  /* A reboot finds it in flash, verifies it again and runs it. */
  board.gpio[17] = 0;
  h = open_host();
  CHECK(h);
  CHECK_EQ(rules_host_rule_count(h), 1);
  tick(h, 0);
  CHECK_EQ(board.gpio[17], 1);
  rules_host_close(h);
}

static void test_refusals_name_their_reason(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  char why[128];
  rule_spec_t r = spec_on("fan", 2);
  CHECK_EQ(install(h, &r, why), RULES_OK);
  r.version = 2;
  r.wasm = WASM_UNDECLARED_PIN; /* same version, other bytes */
  CHECK_EQ(install(h, &r, why), RULES_EROLLBACK);
  CHECK(strstr(why, "not newer") != NULL);
  r.version = 1;
  r.rollback = 2; /* a signed rollback from the installed version */
  CHECK_EQ(install(h, &r, why), RULES_OK);
  r = spec_on("fan", 5);
  r.target = "nrf5340";
  CHECK_EQ(install(h, &r, why), RULES_ETARGET);
  r = spec_on("spin", 1);
  r.wasm = WASM_SPIN;
  r.wasm_len = sizeof WASM_SPIN;
  r.n_imports = 0;
  CHECK_EQ(install(h, &r, why), RULES_EVERIFY);
  r = spec_on("fan", 9);
  size_t n = make_bundle(&r, bundle_buf, sizeof bundle_buf);
  bundle_buf[n - 3] ^= 0x40; /* a bit of the body */
  CHECK_EQ(rules_host_install(h, bundle_buf, n, why, sizeof why), RULES_ESIGNATURE);
  bundle_buf[n - 3] ^= 0x40;
  bundle_buf[10] ^= 1; /* a bit of the key id */
  CHECK_EQ(rules_host_install(h, bundle_buf, n, why, sizeof why), RULES_EUNKNOWNKEY);
  rules_status_t st;
  CHECK(status_of(h, "fan", &st) && st.version == 1);
  CHECK_EQ(rules_host_rule_count(h), 1);
  rules_host_close(h);
}

/* FIPS 180-2's examples and the million-'a' message: the SHA-256 the host links is the standard one. */
static void test_sha256_known_answers(void) {
  static const struct { const char *message; size_t repeat; const char *digest; } KATS[] = {
      {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (size_t k = 0; k < sizeof KATS / sizeof KATS[0]; k++) {
    mbedtls_sha256_context ctx;
    uint8_t digest[32];
    char hex[65];
    mbedtls_sha256_init(&ctx);
    CHECK_EQ(mbedtls_sha256_starts_ret(&ctx, 0), 0);
    for (size_t i = 0; i < KATS[k].repeat; i++) {
      CHECK_EQ(mbedtls_sha256_update_ret(&ctx, (const uint8_t *)KATS[k].message, strlen(KATS[k].message)), 0);
    }
    CHECK_EQ(mbedtls_sha256_finish_ret(&ctx, digest), 0);
    mbedtls_sha256_free(&ctx);
    hex_of(digest, 32, hex);
    if (strcmp(hex, KATS[k].digest) != 0) {
      fail_with("SHA-256 of KAT %u is %s, expected %s", (unsigned)k, hex, KATS[k].digest);
      return;
    }
  }
}

/* A trusted key provisioned with an id that is not its own stops the host from starting. */
static void test_wrong_key_id_refused_at_open(void) {
  rules_key_t saved = keys[0];
  keys[0].id[7] ^= 1;
  rules_host_config_t config = {.hal = &hal, .target = &target, .trusted_keys = keys, .trusted_key_count = 1};
  rules_host_t *h = NULL;
  int rc = rules_host_open(&config, &h);
  keys[0] = saved;
  CHECK_EQ(rc, RULES_ECONFIG);
  CHECK(h == NULL);
  h = open_host();
  CHECK(h);
  rules_host_close(h);
}

/* A bundle signed by a trusted key whose manifest states another artifact's SHA-256 (one bit off) is refused
 * with artifact_mismatch, and the running rule, with its computed hash, is untouched; so at boot from flash. */
static void test_artifact_sha256_mismatch_refused(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  char why[128] = "";
  rule_spec_t r = spec_on("fan", 1);
  CHECK_EQ(install(h, &r, why), RULES_OK);
  rules_status_t st;
  uint8_t expected[32];
  mbedtls_sha256_ret(WASM_ON, sizeof WASM_ON, expected, 0);
  CHECK(status_of(h, "fan", &st) && memcmp(st.sha256, expected, 32) == 0);
  r = spec_on("fan", 2);
  r.wasm = WASM_SENSOR;
  r.wasm_len = sizeof WASM_SENSOR;
  r.wrong_sha256 = true;
  CHECK_EQ(install(h, &r, why), RULES_EMISMATCH);
  CHECK(strstr(why, "SHA-256") != NULL && strstr(why, "sha256") != NULL);
  CHECK(strcmp(rules_strerror(RULES_EMISMATCH), "artifact_mismatch") == 0);
  CHECK(status_of(h, "fan", &st) && st.version == 1 && memcmp(st.sha256, expected, 32) == 0);
  rules_host_close(h);
  /* The same bundle stored by a host that did not check (straight into slot storage) fails at boot. */
  board_init();
  store_t s;
  store_init(&s, &hal);
  store_record_t rec;
  store_newest(&s, 0, &rec);
  r = spec_on("fan", 3);
  r.wrong_sha256 = true;
  size_t n = make_bundle(&r, bundle_buf, sizeof bundle_buf);
  CHECK_EQ(store_commit(&s, 0, &rec, "fan", 3, 0, bundle_buf, n), RULES_OK);
  h = open_host();
  CHECK(h);
  CHECK(status_of(h, "fan", &st) && st.state == RULES_STATE_FAILED && strstr(st.last_error, "sha256") != NULL);
  tick(h, 0);
  CHECK_EQ(board.gpio[17], 0);
  rules_host_close(h);
}

static void test_idempotent_and_remove(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  char why[128];
  rule_spec_t r = spec_on("fan", 3);
  CHECK_EQ(install(h, &r, why), RULES_OK);
  CHECK_EQ(install(h, &r, why), RULES_OK); /* the same bundle twice installs once */
  CHECK_EQ(rules_host_remove(h, "fan"), RULES_OK);
  CHECK_EQ(rules_host_rule_count(h), 0);
  CHECK_EQ(rules_host_remove(h, "fan"), RULES_ENOENT);
  rules_host_close(h);
  h = open_host();
  CHECK_EQ(rules_host_rule_count(h), 0); /* removal is committed */
  r.version = 1;                          /* and keeps the version as the floor (docs/bundle.md §4) */
  CHECK_EQ(install(h, &r, why), RULES_EROLLBACK);
  CHECK(strstr(why, "last removed version 3") != NULL);
  r.version = 4;
  CHECK_EQ(install(h, &r, why), RULES_OK);
  rules_host_close(h);
}

static void test_trap_has_no_effect_and_isolates(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  char why[128];
  rule_spec_t bad = spec_on("bad", 1);
  bad.wasm = WASM_TRAP_AFTER_WRITE;
  bad.wasm_len = sizeof WASM_TRAP_AFTER_WRITE;
  CHECK_EQ(install(h, &bad, why), RULES_OK);
  rule_spec_t good = spec_on("good", 1);
  good.wasm = WASM_SENSOR;
  good.wasm_len = sizeof WASM_SENSOR;
  good.gpio_out[0] = 18;
  good.sensor[0] = 0;
  good.n_sensor = 1;
  good.min = 0;
  good.max = 50;
  good.imports[0] = "io.gw";
  good.imports[1] = "io.sr";
  good.n_imports = 2;
  CHECK_EQ(install(h, &good, why), RULES_OK);
  board.sensor[0] = 1000; /* above the rule's range: saturated to 50, so sr(0) > 100 is false */
  tick(h, 0);
  tick(h, 100);
  tick(h, 100);
  CHECK_EQ(board.gpio[17], 0); /* the trapping tick's write never happened */
  rules_status_t st;
  CHECK(status_of(h, "bad", &st) && st.state == RULES_STATE_DISABLED && strstr(st.last_error, "trap") != NULL);
  CHECK_EQ(st.ticks, 1);
  CHECK(status_of(h, "good", &st) && st.state == RULES_STATE_RUNNING);
  CHECK_EQ(st.ticks, 3);
  CHECK_EQ(st.saturated, 3);
  CHECK_EQ(st.assumptions_failed, 3);
  CHECK_EQ(board.gpio[18], 0);
  rules_host_close(h);
}

static void test_undeclared_pin_traps(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  char why[128];
  rule_spec_t r = spec_on("sneaky", 1);
  r.wasm = WASM_UNDECLARED_PIN;
  r.wasm_len = sizeof WASM_UNDECLARED_PIN;
  CHECK_EQ(install(h, &r, why), RULES_OK);
  tick(h, 0);
  CHECK_EQ(board.gpio_writes, 0);
  rules_status_t st;
  CHECK(status_of(h, "sneaky", &st) && st.state == RULES_STATE_DISABLED);
  CHECK(strstr(st.last_error, "pin 5") != NULL);
  rules_host_close(h);
}

/* Power loss at every flash operation of an install, with a host reboot after each: old or new, whole. */
static void test_install_power_loss_then_reboot(void) {
  int old_seen = 0, new_seen = 0;
  for (long cut = 1; cut < 40; cut++) {
    board_init();
    rules_host_t *h = open_host();
    CHECK(h);
    char why[128];
    rule_spec_t r = spec_on("fan", 1);
    CHECK_EQ(install(h, &r, why), RULES_OK);
    r = spec_on("fan", 2);
    r.wasm = WASM_SENSOR;
    r.wasm_len = sizeof WASM_SENSOR;
    r.gpio_out[0] = 18;
    r.sensor[0] = 0;
    r.n_sensor = 1;
    r.max = 100;
    r.imports[0] = "io.gw";
    r.imports[1] = "io.sr";
    r.n_imports = 2;
    board.ops_left = cut;
    int rc = install(h, &r, why);
    bool torn = board.dead;
    rules_host_close(h);
    board.dead = false;
    board.ops_left = 0;
    h = open_host();
    CHECK(h);
    rules_status_t st;
    CHECK(status_of(h, "fan", &st));
    CHECK_EQ(st.state, RULES_STATE_RUNNING);
    if (st.version == 1) {
      CHECK(rc != RULES_OK);
      old_seen++;
    } else {
      CHECK_EQ(st.version, 2);
      new_seen++;
    }
    rules_host_close(h);
    if (!torn) break;
  }
  CHECK(old_seen > 0 && new_seen > 0);
}

/* The SMP server, fed framed requests: echo and an install in chunks with an out-of-order resend. */
static size_t smp_request(uint8_t *out, uint8_t op, uint16_t group, uint8_t id, const uint8_t *payload, size_t len) {
  static uint8_t pkt[600];
  pkt[0] = op, pkt[1] = 0, pkt[2] = (uint8_t)(len >> 8), pkt[3] = (uint8_t)len;
  pkt[4] = (uint8_t)(group >> 8), pkt[5] = (uint8_t)group, pkt[6] = 7, pkt[7] = id;
  memcpy(pkt + 8, payload, len);
  framed_len = 0;
  smp_frame_packet(pkt, 8 + len, collect, NULL);
  memcpy(out, framed, framed_len);
  return framed_len;
}

/* Decodes the first response the board sent since the last call and returns its CBOR payload length. */
static size_t smp_response(uint8_t *payload) {
  static smp_deframer_t d;
  smp_deframer_init(&d);
  size_t got = 0;
  for (size_t i = 0; i < board.tx_len && !got; i++) got = smp_deframer_push(&d, board.tx[i]);
  board.tx_len = 0;
  if (got < 8) return 0;
  memcpy(payload, d.packet + 2 + 8, got - 8);
  return got - 8;
}

static bool response_uint(const uint8_t *p, size_t n, const char *key, uint64_t *out) {
  cbor_reader_t r;
  cbor_reader_init(&r, p, n);
  size_t count;
  if (!cbor_read_map(&r, &count)) return false;
  for (size_t i = 0; i < count; i++) {
    const char *k;
    size_t kn;
    if (!cbor_read_text(&r, &k, &kn)) return false;
    if (cbor_text_is(k, kn, key)) return cbor_read_uint(&r, out);
    if (!cbor_skip(&r)) return false;
  }
  return false;
}

static void test_smp_echo_and_chunked_install(void) {
  rules_host_t *h = open_host();
  CHECK(h);
  static uint8_t wire[4096], payload[600], rsp[600];
  cbor_writer_t w;
  cbor_writer_init(&w, payload, sizeof payload);
  cbor_put_map(&w, 1);
  cbor_put_text(&w, "d");
  cbor_put_text(&w, "ping");
  board.rx = wire;
  board.rx_len = smp_request(wire, SMP_OP_WRITE, 0, 0, payload, (size_t)(w.p - payload));
  rules_host_poll(h);
  size_t n = smp_response(rsp);
  CHECK_EQ(n, 8);
  CHECK(memcmp(rsp, "\xa1\x61r\x64ping", 8) == 0);

  rule_spec_t r = spec_on("fan", 1);
  size_t total = make_bundle(&r, bundle_buf, sizeof bundle_buf);
  uint64_t off = 0, resent = 0;
  int requests = 0;
  while (off < total && requests < 40) {
    size_t chunk = total - off < 100 ? total - off : 100;
    uint64_t send_off = off;
    if (requests == 2 && !resent) send_off = resent = off + 100; /* a chunk from the future: the device says where to resume */
    cbor_writer_init(&w, payload, sizeof payload);
    cbor_put_map(&w, send_off == 0 ? 4 : 2);
    cbor_put_text(&w, "off"); cbor_put_uint(&w, send_off);
    cbor_put_text(&w, "data"); cbor_put_bytes(&w, bundle_buf + send_off, send_off + chunk <= total ? chunk : 0);
    if (send_off == 0) {
      cbor_put_text(&w, "len"); cbor_put_uint(&w, total);
      cbor_put_text(&w, "sha"); cbor_put_bytes(&w, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
    }
    board.rx = wire;
    board.rx_len = smp_request(wire, SMP_OP_WRITE, 64, 0, payload, (size_t)(w.p - payload));
    rules_host_poll(h);
    n = smp_response(rsp);
    CHECK(n > 0);
    CHECK(rsp[0] == 0xa1 || rsp[0] == 0xa5); /* {off} while uploading, the rule summary and off at the end */
    CHECK(response_uint(rsp, n, "off", &off));
    requests++;
  }
  CHECK_EQ(off, total);
  CHECK(resent != 0);
  CHECK_EQ(rules_host_rule_count(h), 1);
  board.now += 1;
  rules_host_poll(h);
  CHECK_EQ(board.gpio[17], 1);
  rules_host_close(h);
}

/* ---- the verifier, on hand-made modules --------------------------------------------------------------- */

static void test_verifier_refuses_what_the_abi_forbids(void) {
  char why[160];
  verify_result_t v;
  CHECK_EQ(verify_module(WASM_ON, sizeof WASM_ON, 10, 1000, false, &v, why, sizeof why), RULES_OK);
  CHECK_EQ(v.bound, 4); /* i32.const, i32.const, call, i32.const; nothing for end */
  CHECK_EQ(v.imports, VERIFY_IO_GW);
  CHECK_EQ(verify_module(WASM_ON, sizeof WASM_ON, 3, 1000, false, &v, why, sizeof why), RULES_EVERIFY);
  CHECK(strcmp(v.code, "over-claim") == 0);
  CHECK_EQ(verify_module(WASM_ON, sizeof WASM_ON, 2000, 1000, false, &v, why, sizeof why), RULES_EVERIFY);
  CHECK(strcmp(v.code, "claim") == 0);
  CHECK_EQ(verify_module(WASM_SPIN, sizeof WASM_SPIN, 100, 1000, false, &v, why, sizeof why), RULES_EVERIFY);
  CHECK(strcmp(v.code, "loop-form") == 0);
  uint8_t copy[sizeof WASM_ON];
  memcpy(copy, WASM_ON, sizeof copy);
  copy[sizeof copy - 3] = 0x42; /* an i64.const: outside the ABI's subset */
  CHECK_EQ(verify_module(copy, sizeof copy, 10, 1000, false, &v, why, sizeof why), RULES_EVERIFY);
  CHECK(strcmp(v.code, "opcode") == 0);
  copy[sizeof copy - 3] = 0x43; /* an f32.const where run returns i32, on a float target: a type error */
  CHECK_EQ(verify_module(copy, sizeof copy - 1, 10, 1000, true, &v, why, sizeof why), RULES_EVERIFY);
  for (size_t cut = 0; cut < sizeof WASM_ON; cut++) { /* every truncation is refused, none crashes */
    if (verify_module(WASM_ON, cut, 10, 1000, false, &v, why, sizeof why) == RULES_OK) {
      fail_with("the module cut at %u bytes was accepted", (unsigned)cut);
      return;
    }
  }
}

/* verify --claim N --limit N --float yes|no FILE.wasm: prints "accept BOUND" or "refuse CODE FUNCTION BOUND". */
static int verify_main(int argc, char **argv) {
  uint32_t claim = 0, limit = 0;
  bool fp = false;
  const char *file = NULL;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--claim") == 0 && i + 1 < argc) claim = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) limit = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--float") == 0 && i + 1 < argc) fp = strcmp(argv[++i], "yes") == 0;
    else file = argv[i];
  }
  size_t len;
  uint8_t *data = file ? read_file(file, &len) : NULL;
  if (!data) return 2;
  char why[256];
  verify_result_t v;
  if (verify_module(data, len, claim, limit, fp, &v, why, sizeof why) == RULES_OK) printf("accept %u\n", (unsigned)v.bound);
  else printf("refuse %s %d %u %s\n", v.code, (int)v.function, (unsigned)v.bound, why);
  return 0;
}

/* ---- bundle verdicts for the shared vectors ------------------------------------------------------------- */

static const char *verdict_name(int rc) {
  switch (rc) {
    case RULES_OK: return "accept";
    case RULES_EMALFORMED: return "malformed";
    case RULES_EFORMAT: return "format";
    case RULES_EUNKNOWNKEY: return "unknown_key";
    case RULES_ESIGNATURE: return "bad_signature";
    case RULES_EABI: return "wrong_abi";
    case RULES_ETARGET: return "wrong_target";
    case RULES_EMISMATCH: return "artifact_mismatch";
    case RULES_ETOOBIG: return "too_big";
    case RULES_EROLLBACK: return "downgrade";
    case RULES_EVERIFY: return "unverifiable";
    default: return rules_strerror(rc);
  }
}

static bool hex(const char *s, uint8_t *out, size_t n) {
  if (strlen(s) != 2 * n) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return false;
    out[i] = (uint8_t)v;
  }
  return true;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static uint8_t data[1 << 16];
  *len = fread(data, 1, sizeof data, f);
  fclose(f);
  return data;
}

/* bundle --trust KID:KEY --max-artifact N [--installed NAME=VERSION]... [--flip] FILE
 * Prints the verdict; with --flip, flips every bit of the file in turn and prints how many were accepted. */
static int bundle_main(int argc, char **argv) {
  const char *file = NULL;
  const char *installed[8];
  int n_installed = 0;
  bool flip = false;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--trust") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      char kid[17];
      if (strlen(v) != 16 + 1 + 64 || v[16] != ':') return 2;
      memcpy(kid, v, 16);
      kid[16] = 0;
      if (!hex(kid, keys[0].id, 8) || !hex(v + 17, keys[0].key, 32)) return 2;
    } else if (strcmp(argv[i], "--max-artifact") == 0 && i + 1 < argc) {
      target.max_artifact_bytes = (uint32_t)atoi(argv[++i]);
    } else if (strcmp(argv[i], "--installed") == 0 && i + 1 < argc && n_installed < 8) {
      installed[n_installed++] = argv[++i];
    } else if (strcmp(argv[i], "--flip") == 0) {
      flip = true;
    } else {
      file = argv[i];
    }
  }
  size_t len;
  uint8_t *data = file ? read_file(file, &len) : NULL;
  if (!data) {
    fprintf(stderr, "cannot read the bundle\n");
    return 2;
  }
  board_init();
  /* The installed versions: records committed straight to slot storage, as a device that ran them has. */
  store_t s;
  store_init(&s, &hal);
  for (int i = 0; i < n_installed; i++) {
    char name[64];
    const char *eq = strchr(installed[i], '=');
    if (!eq || (size_t)(eq - installed[i]) >= sizeof name) return 2;
    memcpy(name, installed[i], (size_t)(eq - installed[i]));
    name[eq - installed[i]] = 0;
    store_record_t rec;
    store_newest(&s, (unsigned)i, &rec);
    store_commit(&s, (unsigned)i, &rec, name, (uint32_t)atoi(eq + 1), 0, (const uint8_t *)"x", 1);
  }
  rules_host_t *h = open_host();
  if (!h) return 2;
  char why[128] = "";
  if (!flip) {
    int rc = rules_host_install(h, data, len, why, sizeof why);
    printf("%s %s\n", verdict_name(rc), why);
    rules_host_close(h);
    return 0;
  }
  unsigned accepted = 0, tried = 0;
  static uint8_t copy[1 << 16];
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, data, len);
      copy[i] ^= (uint8_t)(1u << bit);
      tried++;
      if (rules_host_install(h, copy, len, why, sizeof why) == RULES_OK) {
        accepted++;
        rules_host_close(h);
        board_init();
        h = open_host();
      }
    }
  }
  printf("flipped %u accepted %u\n", tried, accepted);
  rules_host_close(h);
  return 0;
}

/* sha256 FILE...: each file's SHA-256 as the host computes it (mbedtls_sha256_ret), one hex line per file. */
static int sha256_main(int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    size_t len;
    uint8_t *data = read_file(argv[i], &len);
    if (!data) {
      fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    uint8_t digest[32];
    char hex[65];
    if (mbedtls_sha256_ret(data, len, digest, 0) != 0) return 1;
    hex_of(digest, 32, hex);
    printf("%s\n", hex);
  }
  return 0;
}

int main(int argc, char **argv) {
  /* A fixed test key: never trusted anywhere else. */
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i * 13 + 1);
  crypto_ed25519_key_pair(secret, public_key, seed);
  memcpy(keys[0].key, public_key, 32);
  uint8_t key_digest[32];
  mbedtls_sha256_ret(public_key, 32, key_digest, 0);
  memcpy(keys[0].id, key_digest, 8); /* the key id of docs/bundle.md */
  if (argc >= 2 && strcmp(argv[1], "bundle") == 0) return bundle_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "verify") == 0) return verify_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "sha256") == 0) return sha256_main(argc, argv);
  if (argc < 2 || strcmp(argv[1], "unit") != 0) {
    fprintf(stderr, "usage: rules-host-tests unit | bundle --trust KID:KEY [--max-artifact N] [--installed NAME=V]... [--flip] FILE | sha256 FILE...\n");
    return 2;
  }
  run_test("cbor: values round-trip through the writer and the reader", test_cbor_round_trip);
  run_test("cbor: non-shortest heads, indefinite lengths, tags, floats, truncation and deep nesting are refused", test_cbor_refuses_non_deterministic_and_malformed);
  run_test("framing: packets of every size round-trip through 127-byte frames", test_framing_round_trip_over_many_frames);
  run_test("framing: a corrupted packet is dropped and the next one is read", test_framing_drops_corruption_and_resynchronises);
  run_test("store: commits alternate between the two slots of a pair", test_store_commit_alternates_slots);
  run_test("store: power loss in any flash operation leaves the old or the new record, whole", test_store_power_loss_at_every_operation);
  run_test("host: an installed rule runs, persists and runs again after a reboot", test_install_runs_and_persists);
  run_test("host: rollback, target, verifier, signature and key refusals; signed rollback accepted", test_refusals_name_their_reason);
  run_test("sha256: FIPS 180-2 known answers through the SHA-256 the host links", test_sha256_known_answers);
  run_test("host: a trusted key provisioned with another id stops the host from starting", test_wrong_key_id_refused_at_open);
  run_test("host: a trusted bundle whose manifest sha256 is not its artifact's is refused (artifact_mismatch), at install and at boot", test_artifact_sha256_mismatch_refused);
  run_test("host: the same bundle twice installs once; remove is committed and keeps the version floor", test_idempotent_and_remove);
  run_test("host: a trapping tick has no effect, disables only its rule; saturation and failed assumptions counted", test_trap_has_no_effect_and_isolates);
  run_test("host: a write to an undeclared pin traps before the board is touched", test_undeclared_pin_traps);
  run_test("host: power loss at any flash operation of an install leaves the old or the new rule after a reboot", test_install_power_loss_then_reboot);
  run_test("smp: echo, and an install in chunks that resumes from the offset the device reports", test_smp_echo_and_chunked_install);
  run_test("verifier: instruction count, manifest imports, type errors and truncations", test_verifier_refuses_what_the_abi_forbids);
  printf("1..%d\n", test_number);
  return failures ? 1 : 0;
}
