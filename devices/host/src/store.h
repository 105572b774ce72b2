/* Slot storage: two slots per rule pair in the HAL's flash region, and an atomic commit. A record is a
 * 64-byte header (magic, sequence, rule name, version, length, a BLAKE2b digest of header and payload)
 * written after its payload; the newest whole record of a pair wins, so power loss at any point leaves
 * the previous record or the new one. */
#ifndef RULES_STORE_H
#define RULES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_host.h"

#define STORE_HEADER_BYTES 128
#define STORE_FLAG_REMOVED 1u

typedef struct store_record {
  bool valid;
  uint8_t slot;  /* 0 or 1 within the pair */
  uint8_t flags; /* STORE_FLAG_* */
  uint32_t seq;
  uint32_t version;
  uint32_t length; /* payload bytes */
  char name[RULES_NAME_MAX + 1];
} store_record_t;

typedef struct store {
  const rules_hal_t *hal;
  uint32_t slot_bytes; /* RULES_SLOT_BYTES rounded up to the erase size */
} store_t;

int store_init(store_t *s, const rules_hal_t *hal);
/* The newest whole record of pair `pair`, or one with valid == false when it has none. */
int store_newest(const store_t *s, unsigned pair, store_record_t *out);
int store_read_payload(const store_t *s, unsigned pair, const store_record_t *rec, uint8_t *buf, size_t cap);
/* Commits a new record into the pair's other slot: erase, payload, header. `newest` is the pair's
 * current newest record (valid == false for an empty pair). */
int store_commit(const store_t *s, unsigned pair, const store_record_t *newest, const char *name, uint32_t version,
                 uint8_t flags, const uint8_t *payload, size_t len);
/* The largest payload a slot holds. */
size_t store_capacity(const store_t *s);

#endif /* RULES_STORE_H */
