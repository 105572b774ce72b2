/* Reads and authenticates bundles. Nothing in the body is read before its signature is checked. */
#include "bundle.h"

#include <stdio.h>
#include <string.h>

#include "cbor.h"
#include "monocypher-ed25519.h"

static const uint8_t SIGNATURE_DOMAIN[16] = "rules-bundle-v1"; /* 15 characters and the terminating 0 */

static int refuse(int err, char *why, size_t size, const char *text) {
  if (why && size) snprintf(why, size, "%s", text);
  return err;
}

/* Every format-1 bundle starts with these 92 bytes, kid and sig aside (docs/bundle.md §2). */
static const uint8_t LAYOUT[92] = {
    0xa4, 0x61, 'v', 0x01, 0x63, 'k', 'i', 'd', 0x48, [17] = 0x63, 's', 'i', 'g', 0x58, 0x40,
    [87] = 0x64, 'b', 'o', 'd', 'y'};
#define KID_AT 9
#define SIG_AT 23
#define BODY_HEAD_AT 92

/* A map whose "v" is an unsigned integer other than 1 is a newer format, whatever else it holds. */
static bool other_format(const uint8_t *bytes, size_t len, uint64_t *v) {
  cbor_reader_t r;
  cbor_reader_init(&r, bytes, len);
  size_t n;
  if (!cbor_read_map(&r, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    const char *key;
    size_t key_len;
    if (!cbor_read_text(&r, &key, &key_len)) return false;
    if (cbor_text_is(key, key_len, "v") && cbor_peek(&r) == CBOR_UINT) return cbor_read_uint(&r, v) && *v != BUNDLE_FORMAT;
    if (!cbor_skip(&r)) return false;
  }
  return false;
}

int bundle_parse_envelope(const uint8_t *bytes, size_t len, bundle_t *out, char *why, size_t why_size) {
  memset(out, 0, sizeof *out);
  uint64_t v;
  if (other_format(bytes, len, &v)) {
    char text[64];
    snprintf(text, sizeof text, "bundle format %lu is not supported (this device reads format 1)", (unsigned long)v);
    return refuse(RULES_EFORMAT, why, why_size, text);
  }
  bool ok = len > BODY_HEAD_AT;
  for (size_t i = 0; ok && i < BODY_HEAD_AT; i++) {
    bool variable = (i >= KID_AT && i < KID_AT + BUNDLE_KID_BYTES) || (i >= SIG_AT && i < SIG_AT + BUNDLE_SIG_BYTES);
    if (!variable && bytes[i] != LAYOUT[i]) ok = false;
  }
  if (ok) {
    cbor_reader_t r;
    cbor_reader_init(&r, bytes + BODY_HEAD_AT, len - BODY_HEAD_AT);
    const uint8_t *body;
    size_t body_len;
    ok = cbor_read_bytes(&r, &body, &body_len) && cbor_at_end(&r); /* shortest head; the body ends the bundle */
    out->body = body;
    out->body_len = body_len;
  }
  if (!ok) return refuse(RULES_EMALFORMED, why, why_size, "the bundle must be {v: 1, kid: 8 bytes, sig: 64 bytes, body: bytes} in deterministic CBOR");
  out->kid = bytes + KID_AT;
  out->sig = bytes + SIG_AT;
  return RULES_OK;
}

int bundle_check_signature(const bundle_t *b, const rules_key_t *keys, size_t key_count, uint8_t *scratch,
                           size_t scratch_size, char *why, size_t why_size) {
  const rules_key_t *key = NULL;
  for (size_t i = 0; i < key_count && !key; i++) {
    if (memcmp(keys[i].id, b->kid, BUNDLE_KID_BYTES) == 0) key = &keys[i];
  }
  if (!key) {
    char text[96];
    int n = snprintf(text, sizeof text, "signed by key ");
    for (int i = 0; i < BUNDLE_KID_BYTES; i++) n += snprintf(text + n, sizeof text - (size_t)n, "%02x", b->kid[i]);
    snprintf(text + n, sizeof text - (size_t)n, ", which this device does not trust");
    return refuse(RULES_EUNKNOWNKEY, why, why_size, text);
  }
  if (scratch_size < sizeof SIGNATURE_DOMAIN + b->body_len) return refuse(RULES_ETOOBIG, why, why_size, "the bundle is too big");
  memcpy(scratch, SIGNATURE_DOMAIN, sizeof SIGNATURE_DOMAIN);
  memcpy(scratch + sizeof SIGNATURE_DOMAIN, b->body, b->body_len);
  if (crypto_ed25519_check(b->sig, key->key, scratch, sizeof SIGNATURE_DOMAIN + b->body_len) != 0) {
    return refuse(RULES_ESIGNATURE, why, why_size,
                  "the signature does not match: the bundle was changed or signed by another key");
  }
  return RULES_OK;
}

/* ---- the body and its manifest ------------------------------------------------------------------------- */

static bool read_u32(cbor_reader_t *r, uint32_t *out) {
  uint64_t v;
  if (!cbor_read_uint(r, &v) || v > 0xffffffffu) return r->bad = true, false;
  *out = (uint32_t)v;
  return true;
}

static bool read_i32(cbor_reader_t *r, int32_t *out) {
  int64_t v;
  if (!cbor_read_int(r, &v) || v < INT32_MIN || v > INT32_MAX) return r->bad = true, false;
  *out = (int32_t)v;
  return true;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static bool read_sha(cbor_reader_t *r, uint8_t out[32]) {
  const char *t;
  size_t n;
  if (!cbor_read_text(r, &t, &n) || n != 64) return r->bad = true, false;
  for (size_t i = 0; i < 32; i++) {
    int hi = hex_digit(t[2 * i]), lo = hex_digit(t[2 * i + 1]);
    if (hi < 0 || lo < 0) return r->bad = true, false;
    if (out) out[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

static bool read_name(cbor_reader_t *r, char *out, size_t cap) {
  const char *t;
  size_t n;
  if (!cbor_read_text(r, &t, &n) || n == 0 || n >= cap) return r->bad = true, false;
  memcpy(out, t, n);
  out[n] = 0;
  return true;
}

/* A sorted list without duplicates of at most RULES_MAX_CAPS unsigned ints. */
static bool read_list(cbor_reader_t *r, uint32_t *out, uint8_t *count) {
  size_t n;
  if (!cbor_read_array(r, &n) || n > RULES_MAX_CAPS) return r->bad = true, false;
  for (size_t i = 0; i < n; i++) {
    if (!read_u32(r, &out[i]) || (i > 0 && out[i] <= out[i - 1])) return r->bad = true, false;
  }
  *count = (uint8_t)n;
  return true;
}

static bool read_capabilities(cbor_reader_t *r, rules_manifest_t *m) {
  size_t n;
  if (!cbor_read_map(r, &n)) return false;
  unsigned seen = 0;
  const char *prev = NULL;
  size_t prev_len = 0;
  for (size_t i = 0; i < n && !r->bad; i++) {
    const char *k;
    size_t kn;
    if (!cbor_read_text(r, &k, &kn) || !cbor_key_follows(prev, prev_len, k, kn)) return r->bad = true, false;
    prev = k, prev_len = kn;
    if (cbor_text_is(k, kn, "sensor") && !(seen & 1)) seen |= 1, read_list(r, m->sensor, &m->n_sensor);
    else if (cbor_text_is(k, kn, "gpio_in") && !(seen & 2)) seen |= 2, read_list(r, m->gpio_in, &m->n_gpio_in);
    else if (cbor_text_is(k, kn, "gpio_out") && !(seen & 4)) seen |= 4, read_list(r, m->gpio_out, &m->n_gpio_out);
    else r->bad = true;
  }
  return !r->bad && seen == 7;
}

/* {channel, min, max} entries; matched against the sensor capabilities once both are read. */
static bool read_ranges(cbor_reader_t *r, rules_manifest_t *m, uint32_t *range_channel, uint8_t *n_ranges) {
  size_t n;
  if (!cbor_read_array(r, &n) || n > RULES_MAX_CAPS) return r->bad = true, false;
  for (size_t i = 0; i < n && !r->bad; i++) {
    size_t fields;
    if (!cbor_read_map(r, &fields)) return false;
    unsigned seen = 0;
    uint32_t channel = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (size_t f = 0; f < fields && !r->bad; f++) {
      const char *k;
      size_t kn;
      if (!cbor_read_text(r, &k, &kn) || !cbor_key_follows(prev, prev_len, k, kn)) return r->bad = true, false;
      prev = k, prev_len = kn;
      if (cbor_text_is(k, kn, "channel") && !(seen & 1)) seen |= 1, read_u32(r, &channel);
      else if (cbor_text_is(k, kn, "min") && !(seen & 2)) seen |= 2, read_i32(r, &m->range_min[i]);
      else if (cbor_text_is(k, kn, "max") && !(seen & 4)) seen |= 4, read_i32(r, &m->range_max[i]);
      else r->bad = true;
    }
    if (r->bad || seen != 7 || m->range_min[i] > m->range_max[i]) return r->bad = true, false;
    range_channel[i] = channel;
  }
  *n_ranges = (uint8_t)n;
  return true;
}

static bool is_identifier(const char *s, cbor_reader_t *r) {
  for (size_t i = 0; s[i]; i++) {
    char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return r->bad = true, false;
  }
  return true;
}

static bool read_compiler(cbor_reader_t *r) {
  size_t n;
  const char *k, *t;
  size_t kn, tn;
  unsigned seen = 0;
  if (!cbor_read_map(r, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    if (!cbor_read_text(r, &k, &kn)) return false;
    if (cbor_text_is(k, kn, "name") && !(seen & 1)) seen |= 1, cbor_read_text(r, &t, &tn);
    else if (cbor_text_is(k, kn, "version") && !(seen & 2)) seen |= 2, cbor_read_text(r, &t, &tn);
    else return r->bad = true, false;
  }
  return !r->bad && seen == 3;
}

static bool read_imports(cbor_reader_t *r, uint8_t *bits) {
  size_t n;
  if (!cbor_read_array(r, &n)) return false;
  *bits = 0;
  for (size_t i = 0; i < n; i++) {
    const char *t;
    size_t tn;
    if (!cbor_read_text(r, &t, &tn)) return false;
    uint8_t bit = cbor_text_is(t, tn, "io.gr") ? IO_GR_BIT : cbor_text_is(t, tn, "io.gw") ? IO_GW_BIT
                : cbor_text_is(t, tn, "io.sr") ? IO_SR_BIT : 0;
    if (!bit || (*bits & bit)) return r->bad = true, false;
    *bits |= bit;
  }
  return true;
}

enum {
  M_RULE = 1u << 0, M_VERSION = 1u << 1, M_TARGET = 1u << 2, M_ABI = 1u << 3, M_SIZE = 1u << 4, M_SHA = 1u << 5,
  M_IMPORTS = 1u << 6, M_CAPS = 1u << 7, M_RANGES = 1u << 8, M_PERIOD = 1u << 9, M_SLOTS = 1u << 10,
  M_MAXI = 1u << 11, M_DESC = 1u << 12, M_SRC = 1u << 13, M_COMPILER = 1u << 14,
  M_ALL = (1u << 15) - 1
};

static bool read_manifest(cbor_reader_t *r, rules_manifest_t *m, const char **problem) {
  uint32_t range_channel[RULES_MAX_CAPS];
  uint8_t n_ranges = 0;
  size_t n;
  *problem = "the manifest is not a map";
  if (!cbor_read_map(r, &n)) return false;
  unsigned seen = 0;
  const char *prev = NULL;
  size_t prev_len = 0;
  for (size_t i = 0; i < n && !r->bad; i++) {
    const char *k;
    size_t kn;
    if (!cbor_read_text(r, &k, &kn)) break;
    if (!cbor_key_follows(prev, prev_len, k, kn)) {
      *problem = "its keys are not in deterministic order";
      return r->bad = true, false;
    }
    prev = k, prev_len = kn;
    unsigned bit = 0;
    const char *t;
    size_t tn;
#define FIELD(NAME, BIT, READ) else if (cbor_text_is(k, kn, NAME)) { bit = BIT; *problem = "`" NAME "` is malformed"; (void)(READ); }
    if (0) {}
    FIELD("rule", M_RULE, read_name(r, m->rule, sizeof m->rule) && is_identifier(m->rule, r))
    FIELD("description", M_DESC, cbor_read_text(r, &t, &tn))
    FIELD("version", M_VERSION, read_u32(r, &m->version))
    FIELD("target", M_TARGET, read_name(r, m->target, sizeof m->target))
    FIELD("abi", M_ABI, read_u32(r, &m->abi))
    FIELD("size", M_SIZE, read_u32(r, &m->size))
    FIELD("sha256", M_SHA, read_sha(r, m->sha256))
    FIELD("imports", M_IMPORTS, read_imports(r, &m->imports))
    FIELD("capabilities", M_CAPS, read_capabilities(r, m))
    FIELD("ranges", M_RANGES, read_ranges(r, m, range_channel, &n_ranges))
    FIELD("periodMs", M_PERIOD, read_u32(r, &m->period_ms))
    FIELD("stateSlots", M_SLOTS, read_u32(r, &m->state_slots))
    FIELD("maxInstructionsPerTick", M_MAXI, read_u32(r, &m->max_instructions))
    FIELD("sourceSha256", M_SRC, read_sha(r, NULL))
    FIELD("compiler", M_COMPILER, read_compiler(r))
    else { *problem = "the manifest has an unreadable entry"; cbor_skip(r); }
#undef FIELD
    if (bit & seen) {
      *problem = "the manifest repeats a key";
      return false;
    }
    seen |= bit;
  }
  if (r->bad) return false;
  if (seen != M_ALL) {
    *problem = "the manifest lacks a required field";
    return false;
  }
  if (m->version < 1) {
    *problem = "`version` must be at least 1";
    return false;
  }
  bool ranges_match = n_ranges == m->n_sensor;
  for (uint8_t i = 0; ranges_match && i < n_ranges; i++) ranges_match = range_channel[i] == m->sensor[i];
  if (!ranges_match) {
    *problem = "`ranges` must have one entry per sensor capability, in the same order";
    return false;
  }
  return true;
}

int bundle_parse_body(bundle_t *b, char *why, size_t why_size) {
  cbor_reader_t r;
  cbor_reader_init(&r, b->body, b->body_len);
  size_t n;
  if (!cbor_read_map(&r, &n)) return refuse(RULES_EMALFORMED, why, why_size, "the body is not a CBOR map");
  bool have_manifest = false;
  const char *problem = "the body must be {manifest, wasm, rollback?}";
  const char *prev = NULL;
  size_t prev_len = 0;
  for (size_t i = 0; i < n && !r.bad; i++) {
    const char *k;
    size_t kn;
    if (!cbor_read_text(&r, &k, &kn) || !cbor_key_follows(prev, prev_len, k, kn)) {
      r.bad = true;
      break;
    }
    prev = k, prev_len = kn;
    if (cbor_text_is(k, kn, "manifest") && !have_manifest) {
      have_manifest = read_manifest(&r, &b->manifest, &problem);
      if (!have_manifest) r.bad = true;
    } else if (cbor_text_is(k, kn, "wasm") && !b->wasm) {
      const uint8_t *data;
      if (cbor_read_bytes(&r, &data, &b->wasm_len)) b->wasm = data;
    } else if (cbor_text_is(k, kn, "rollback") && !b->has_rollback) {
      b->has_rollback = read_u32(&r, &b->rollback) && b->rollback >= 1;
      if (!b->has_rollback) r.bad = true;
    } else {
      r.bad = true;
    }
  }
  if (!cbor_at_end(&r) || !have_manifest || !b->wasm) {
    char text[96];
    snprintf(text, sizeof text, "the manifest is malformed: %s", problem);
    return refuse(RULES_EMALFORMED, why, why_size, have_manifest || r.bad ? text : "the body must be {manifest, wasm, rollback?}");
  }
  return RULES_OK;
}
