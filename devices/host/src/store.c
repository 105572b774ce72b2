/* Slot storage with an atomic commit (see store.h). Only the slot not holding the newest record is ever
 * erased or written, and its header, which makes it the newest, is the last thing written. */
#include "store.h"

#include <string.h>

#include "monocypher.h"

static const uint8_t MAGIC[4] = {'R', 'U', 'L', 'E'};
#define STORE_FORMAT 1
#define DIGEST_BYTES 16
#define DIGEST_OFFSET (STORE_HEADER_BYTES - DIGEST_BYTES)

/* Header layout (little-endian): magic[4] format flags reserved[2] seq[4] version[4] length[4] name[33], zeros, digest[16] at the end. */
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int store_init(store_t *s, const rules_hal_t *hal) {
  s->hal = hal;
  uint32_t erase = hal->flash_erase_size ? hal->flash_erase_size : 1;
  uint32_t align = hal->flash_write_align ? hal->flash_write_align : 1;
  if (align > STORE_HEADER_BYTES || (align & (align - 1)) != 0) return RULES_ECONFIG;
  s->slot_bytes = (RULES_SLOT_BYTES + erase - 1) / erase * erase;
  if (s->slot_bytes % align != 0) return RULES_ECONFIG;
  if ((uint64_t)s->slot_bytes * 2u * RULES_MAX_RULES > hal->flash_size) return RULES_ECONFIG;
  return RULES_OK;
}

size_t store_capacity(const store_t *s) { return s->slot_bytes - STORE_HEADER_BYTES; }

static uint32_t slot_offset(const store_t *s, unsigned pair, unsigned slot) {
  return (uint32_t)(pair * 2u + slot) * s->slot_bytes;
}

/* BLAKE2b over the header (digest excluded) and the payload, read back from flash in small pieces. */
static int digest_of(const store_t *s, uint32_t off, const uint8_t *header, uint32_t length, uint8_t out[DIGEST_BYTES]) {
  crypto_blake2b_ctx ctx;
  crypto_blake2b_init(&ctx, DIGEST_BYTES);
  crypto_blake2b_update(&ctx, header, DIGEST_OFFSET);
  uint8_t chunk[64];
  for (uint32_t done = 0; done < length;) {
    uint32_t n = length - done < sizeof chunk ? length - done : (uint32_t)sizeof chunk;
    int rc = s->hal->flash_read(s->hal->ctx, off + STORE_HEADER_BYTES + done, chunk, n);
    if (rc) return rc;
    crypto_blake2b_update(&ctx, chunk, n);
    done += n;
  }
  crypto_blake2b_final(&ctx, out);
  return RULES_OK;
}

static int read_record(const store_t *s, unsigned pair, unsigned slot, store_record_t *rec) {
  memset(rec, 0, sizeof *rec);
  uint8_t h[STORE_HEADER_BYTES];
  uint32_t off = slot_offset(s, pair, slot);
  int rc = s->hal->flash_read(s->hal->ctx, off, h, sizeof h);
  if (rc) return rc;
  if (memcmp(h, MAGIC, 4) != 0 || h[4] != STORE_FORMAT) return RULES_OK;
  uint32_t length = get32(h + 16);
  if (length > store_capacity(s) || h[20 + RULES_NAME_MAX] != 0 || h[20] == 0) return RULES_OK;
  uint8_t digest[DIGEST_BYTES];
  rc = digest_of(s, off, h, length, digest);
  if (rc) return rc;
  if (crypto_verify16(digest, h + DIGEST_OFFSET) != 0) return RULES_OK; /* torn write: not a record */
  rec->valid = true;
  rec->slot = (uint8_t)slot;
  rec->flags = h[5];
  rec->seq = get32(h + 8);
  rec->version = get32(h + 12);
  rec->length = length;
  memcpy(rec->name, h + 20, RULES_NAME_MAX + 1);
  return RULES_OK;
}

int store_newest(const store_t *s, unsigned pair, store_record_t *out) {
  store_record_t a, b;
  int rc = read_record(s, pair, 0, &a);
  if (!rc) rc = read_record(s, pair, 1, &b);
  if (rc) return rc;
  if (a.valid && b.valid) *out = a.seq > b.seq ? a : b;
  else *out = a.valid ? a : b;
  return RULES_OK;
}

int store_read_payload(const store_t *s, unsigned pair, const store_record_t *rec, uint8_t *buf, size_t cap) {
  if (!rec->valid || rec->length > cap) return RULES_EINVAL;
  return s->hal->flash_read(s->hal->ctx, slot_offset(s, pair, rec->slot) + STORE_HEADER_BYTES, buf, rec->length);
}

int store_commit(const store_t *s, unsigned pair, const store_record_t *newest, const char *name, uint32_t version,
                 uint8_t flags, const uint8_t *payload, size_t len) {
  size_t name_len = strlen(name);
  if (len > store_capacity(s) || name_len == 0 || name_len > RULES_NAME_MAX) return RULES_ETOOBIG;
  unsigned slot = newest->valid ? 1u - newest->slot : 0u;
  uint32_t off = slot_offset(s, pair, slot);
  const rules_hal_t *hal = s->hal;
  uint32_t align = hal->flash_write_align ? hal->flash_write_align : 1;

  int rc = hal->flash_erase(hal->ctx, off, s->slot_bytes);
  if (rc) return rc;
  /* The payload, in aligned pieces; the last one padded with the erased value. */
  uint8_t chunk[STORE_HEADER_BYTES];
  for (size_t done = 0; done < len;) {
    size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
    memset(chunk, 0xff, sizeof chunk);
    memcpy(chunk, payload + done, n);
    size_t padded = (n + align - 1) / align * align;
    rc = hal->flash_write(hal->ctx, off + STORE_HEADER_BYTES + (uint32_t)done, chunk, padded);
    if (rc) return rc;
    done += n;
  }
  uint8_t h[STORE_HEADER_BYTES];
  memset(h, 0, sizeof h);
  memcpy(h, MAGIC, 4);
  h[4] = STORE_FORMAT;
  h[5] = flags;
  put32(h + 8, newest->valid ? newest->seq + 1 : 1);
  put32(h + 12, version);
  put32(h + 16, (uint32_t)len);
  memcpy(h + 20, name, name_len);
  /* The digest is computed from what flash now holds, so a payload that did not program is caught here. */
  rc = digest_of(s, off, h, (uint32_t)len, h + DIGEST_OFFSET);
  if (rc) return rc;
  {
    crypto_blake2b_ctx ctx;
    uint8_t intended[DIGEST_BYTES];
    crypto_blake2b_init(&ctx, DIGEST_BYTES);
    crypto_blake2b_update(&ctx, h, DIGEST_OFFSET);
    crypto_blake2b_update(&ctx, payload, len);
    crypto_blake2b_final(&ctx, intended);
    if (crypto_verify16(intended, h + DIGEST_OFFSET) != 0) return RULES_EIO; /* flash did not take the payload */
  }
  rc = hal->flash_write(hal->ctx, off, h, sizeof h);
  if (rc) return rc;
  store_record_t check;
  rc = read_record(s, pair, slot, &check);
  if (rc) return rc;
  return check.valid ? RULES_OK : RULES_EIO;
}
