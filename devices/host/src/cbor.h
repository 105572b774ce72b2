/* A minimal CBOR (RFC 8949) reader and writer: what SMP payloads and bundles need, definite lengths only.
 * The reader never reads past its end and refuses anything malformed; the writer never writes past its end. */
#ifndef RULES_CBOR_H
#define RULES_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CBOR_UINT 0
#define CBOR_NINT 1
#define CBOR_BYTES 2
#define CBOR_TEXT 3
#define CBOR_ARRAY 4
#define CBOR_MAP 5
#define CBOR_TAG 6
#define CBOR_SIMPLE 7

/* How deep cbor_skip follows nested arrays and maps before it refuses the input. */
#define CBOR_MAX_NESTING 8

typedef struct cbor_reader {
  const uint8_t *p;
  const uint8_t *end;
  bool bad; /* set on the first malformed or unexpected item; every later read fails */
} cbor_reader_t;

void cbor_reader_init(cbor_reader_t *r, const uint8_t *data, size_t len);
/* The major type of the next item, or -1 at the end or after an error. */
int cbor_peek(const cbor_reader_t *r);
bool cbor_at_end(const cbor_reader_t *r);
/* Each reads one item of the named kind, or sets r->bad and returns false. */
bool cbor_read_uint(cbor_reader_t *r, uint64_t *out);
bool cbor_read_int(cbor_reader_t *r, int64_t *out); /* major 0 or 1, within int64 */
bool cbor_read_bytes(cbor_reader_t *r, const uint8_t **data, size_t *len);
bool cbor_read_text(cbor_reader_t *r, const char **text, size_t *len);
bool cbor_read_bool(cbor_reader_t *r, bool *out);
bool cbor_read_array(cbor_reader_t *r, size_t *count);
bool cbor_read_map(cbor_reader_t *r, size_t *count);
/* Skips one whole item, nested ones included. */
bool cbor_skip(cbor_reader_t *r);
/* Deterministic map order for text keys shorter than 256 bytes: shorter first, then bytewise. False
 * also for a repeated key. `prev` NULL: the first key. */
bool cbor_key_follows(const char *prev, size_t prev_len, const char *key, size_t key_len);
/* True when `text` (len bytes) equals the C string `s`. */
bool cbor_text_is(const char *text, size_t len, const char *s);

typedef struct cbor_writer {
  uint8_t *p;
  uint8_t *end;
  bool overflow; /* set when something did not fit; the output is then incomplete */
} cbor_writer_t;

void cbor_writer_init(cbor_writer_t *w, uint8_t *buf, size_t cap);
void cbor_put_uint(cbor_writer_t *w, uint64_t v);
void cbor_put_int(cbor_writer_t *w, int64_t v);
void cbor_put_bytes(cbor_writer_t *w, const uint8_t *data, size_t len);
void cbor_put_text(cbor_writer_t *w, const char *text);
void cbor_put_textn(cbor_writer_t *w, const char *text, size_t len);
void cbor_put_bool(cbor_writer_t *w, bool v);
void cbor_put_array(cbor_writer_t *w, size_t count);
void cbor_put_map(cbor_writer_t *w, size_t count);

#endif /* RULES_CBOR_H */
