/* A minimal CBOR reader and writer (see cbor.h). Indefinite lengths, tags and floats are refused by the
 * typed reads and by cbor_skip, which passes over false, true and null only. Heads must be shortest-form. */
#include "cbor.h"

#include <string.h>

void cbor_reader_init(cbor_reader_t *r, const uint8_t *data, size_t len) {
  r->p = data;
  r->end = data + len;
  r->bad = false;
}

int cbor_peek(const cbor_reader_t *r) {
  if (r->bad || r->p >= r->end) return -1;
  return r->p[0] >> 5;
}

bool cbor_at_end(const cbor_reader_t *r) { return !r->bad && r->p == r->end; }

static bool fail(cbor_reader_t *r) {
  r->bad = true;
  return false;
}

/* Reads an item's head: its major type and argument. Refuses indefinite lengths and reserved values. */
static bool read_head(cbor_reader_t *r, int *major, uint64_t *arg) {
  if (r->bad || r->p >= r->end) return fail(r);
  uint8_t initial = *r->p++;
  *major = initial >> 5;
  uint8_t info = initial & 0x1f;
  if (info < 24) {
    *arg = info;
    return true;
  }
  size_t n;
  switch (info) {
    case 24: n = 1; break;
    case 25: n = 2; break;
    case 26: n = 4; break;
    case 27: n = 8; break;
    default: return fail(r); /* 28-30 reserved, 31 indefinite */
  }
  if ((size_t)(r->end - r->p) < n) return fail(r);
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | *r->p++;
  /* Deterministic encoding (RFC 8949 §4.2.1): the shortest head only. */
  static const uint64_t SHORTEST[4] = {24, 0x100, 0x10000, 0x100000000u};
  if (v < SHORTEST[info - 24] && *major != CBOR_SIMPLE) return fail(r);
  *arg = v;
  return true;
}

bool cbor_read_uint(cbor_reader_t *r, uint64_t *out) {
  int major;
  uint64_t arg;
  if (!read_head(r, &major, &arg) || major != CBOR_UINT) return fail(r);
  *out = arg;
  return true;
}

bool cbor_read_int(cbor_reader_t *r, int64_t *out) {
  int major;
  uint64_t arg;
  if (!read_head(r, &major, &arg) || (major != CBOR_UINT && major != CBOR_NINT) || arg > (uint64_t)INT64_MAX) {
    return fail(r);
  }
  *out = major == CBOR_UINT ? (int64_t)arg : -1 - (int64_t)arg;
  return true;
}

static bool read_string(cbor_reader_t *r, int want, const uint8_t **data, size_t *len) {
  int major;
  uint64_t arg;
  if (!read_head(r, &major, &arg) || major != want || arg > (uint64_t)(r->end - r->p)) return fail(r);
  *data = r->p;
  *len = (size_t)arg;
  r->p += arg;
  return true;
}

bool cbor_read_bytes(cbor_reader_t *r, const uint8_t **data, size_t *len) { return read_string(r, CBOR_BYTES, data, len); }

bool cbor_read_text(cbor_reader_t *r, const char **text, size_t *len) {
  const uint8_t *data;
  if (!read_string(r, CBOR_TEXT, &data, len)) return false;
  *text = (const char *)data;
  return true;
}

bool cbor_read_bool(cbor_reader_t *r, bool *out) {
  int major;
  uint64_t arg;
  if (!read_head(r, &major, &arg) || major != CBOR_SIMPLE || (arg != 20 && arg != 21)) return fail(r);
  *out = arg == 21;
  return true;
}

static bool read_count(cbor_reader_t *r, int want, size_t *count) {
  int major;
  uint64_t arg;
  /* Every element takes at least one byte, so a count beyond the remaining bytes is malformed. */
  if (!read_head(r, &major, &arg) || major != want || arg > (uint64_t)(r->end - r->p)) return fail(r);
  *count = (size_t)arg;
  return true;
}

bool cbor_read_array(cbor_reader_t *r, size_t *count) { return read_count(r, CBOR_ARRAY, count); }
bool cbor_read_map(cbor_reader_t *r, size_t *count) { return read_count(r, CBOR_MAP, count); }

static bool skip(cbor_reader_t *r, int depth) {
  int major;
  uint64_t arg;
  uint8_t initial = r->p < r->end ? *r->p : 0;
  if (depth > CBOR_MAX_NESTING || !read_head(r, &major, &arg)) return fail(r);
  switch (major) {
    case CBOR_UINT:
    case CBOR_NINT:
      return true;
    case CBOR_BYTES:
    case CBOR_TEXT:
      if (arg > (uint64_t)(r->end - r->p)) return fail(r);
      r->p += arg;
      return true;
    case CBOR_ARRAY:
    case CBOR_MAP: {
      if (arg > (uint64_t)(r->end - r->p)) return fail(r);
      uint64_t items = major == CBOR_MAP ? arg * 2 : arg;
      for (uint64_t i = 0; i < items; i++) {
        if (!skip(r, depth + 1)) return false;
      }
      return true;
    }
    case CBOR_TAG:
      return fail(r); /* bundles and SMP payloads never carry tags */
    default: /* only false, true and null: no floats, no undefined */
      if (initial != 0xf4 && initial != 0xf5 && initial != 0xf6) return fail(r);
      return true;
  }
}

bool cbor_skip(cbor_reader_t *r) { return skip(r, 0); }

bool cbor_key_follows(const char *prev, size_t prev_len, const char *key, size_t key_len) {
  if (!prev) return true;
  if (key_len != prev_len) return key_len > prev_len;
  return memcmp(key, prev, key_len) > 0;
}

bool cbor_text_is(const char *text, size_t len, const char *s) {
  return strlen(s) == len && memcmp(text, s, len) == 0;
}

/* ---- writer ---------------------------------------------------------------------------------------------- */

void cbor_writer_init(cbor_writer_t *w, uint8_t *buf, size_t cap) {
  w->p = buf;
  w->end = buf + cap;
  w->overflow = false;
}

static void put_raw(cbor_writer_t *w, const void *data, size_t len) {
  if (w->overflow || (size_t)(w->end - w->p) < len) {
    w->overflow = true;
    return;
  }
  if (len) memcpy(w->p, data, len);
  w->p += len;
}

/* The shortest head for the argument, as deterministic encoding requires. */
static void put_head(cbor_writer_t *w, int major, uint64_t arg) {
  uint8_t head[9];
  size_t n;
  uint8_t m = (uint8_t)(major << 5);
  if (arg < 24) {
    head[0] = (uint8_t)(m | arg);
    n = 1;
  } else if (arg <= 0xff) {
    head[0] = m | 24;
    head[1] = (uint8_t)arg;
    n = 2;
  } else if (arg <= 0xffff) {
    head[0] = m | 25;
    head[1] = (uint8_t)(arg >> 8);
    head[2] = (uint8_t)arg;
    n = 3;
  } else if (arg <= 0xffffffffu) {
    head[0] = m | 26;
    for (int i = 0; i < 4; i++) head[1 + i] = (uint8_t)(arg >> (24 - 8 * i));
    n = 5;
  } else {
    head[0] = m | 27;
    for (int i = 0; i < 8; i++) head[1 + i] = (uint8_t)(arg >> (56 - 8 * i));
    n = 9;
  }
  put_raw(w, head, n);
}

void cbor_put_uint(cbor_writer_t *w, uint64_t v) { put_head(w, CBOR_UINT, v); }

void cbor_put_int(cbor_writer_t *w, int64_t v) {
  if (v >= 0) put_head(w, CBOR_UINT, (uint64_t)v);
  else put_head(w, CBOR_NINT, (uint64_t)(-1 - v));
}

void cbor_put_bytes(cbor_writer_t *w, const uint8_t *data, size_t len) {
  put_head(w, CBOR_BYTES, len);
  put_raw(w, data, len);
}

void cbor_put_textn(cbor_writer_t *w, const char *text, size_t len) {
  put_head(w, CBOR_TEXT, len);
  put_raw(w, text, len);
}

void cbor_put_text(cbor_writer_t *w, const char *text) { cbor_put_textn(w, text, strlen(text)); }

void cbor_put_bool(cbor_writer_t *w, bool v) {
  uint8_t b = v ? 0xf5 : 0xf4;
  put_raw(w, &b, 1);
}

void cbor_put_array(cbor_writer_t *w, size_t count) { put_head(w, CBOR_ARRAY, count); }
void cbor_put_map(cbor_writer_t *w, size_t count) { put_head(w, CBOR_MAP, count); }
