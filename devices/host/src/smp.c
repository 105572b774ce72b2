/* SMP protocol and commands (see smp.h and docs/smp.md). Every request gets exactly one response with the
 * request's group, sequence and command; errors in both the v1 ({rc, rsn}) and v2 ({err: {group, rc}}) forms. */
#include "smp.h"

#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "cbor.h"
#include "image.h"

void smp_server_init(smp_server_t *s, rules_host_t *host) {
  memset(s, 0, sizeof *s);
  s->host = host;
  smp_deframer_init(&s->rx);
}

static int uart_emit(void *ctx, const uint8_t *bytes, size_t len) {
  const rules_hal_t *hal = ctx;
  return hal->uart_write(hal->ctx, bytes, len);
}

typedef struct request {
  uint8_t op, flags, version, seq, id;
  uint16_t group;
  const uint8_t *payload;
  size_t payload_len;
} request_t;

/* Starts a response: the CBOR writer's output goes after the header, filled in by send(). */
static void begin(smp_server_t *s, cbor_writer_t *w) {
  cbor_writer_init(w, s->response + SMP_HEADER_BYTES, sizeof s->response - SMP_HEADER_BYTES);
}

static void send(smp_server_t *s, const request_t *rq, cbor_writer_t *w) {
  if (w->overflow) { /* cannot happen with the sizes used; answer something well-formed anyway */
    begin(s, w);
    cbor_put_map(w, 1);
    cbor_put_text(w, "rc");
    cbor_put_uint(w, SMP_RC_EMSGSIZE);
  }
  size_t len = (size_t)(w->p - (s->response + SMP_HEADER_BYTES));
  uint8_t *h = s->response;
  h[0] = (uint8_t)((rq->version & 3) << 3 | (rq->op + 1));
  h[1] = 0;
  h[2] = (uint8_t)(len >> 8);
  h[3] = (uint8_t)len;
  h[4] = (uint8_t)(rq->group >> 8);
  h[5] = (uint8_t)rq->group;
  h[6] = rq->seq;
  h[7] = rq->id;
  const rules_hal_t *hal = rules_host_hal(s->host);
  smp_frame_packet(s->response, SMP_HEADER_BYTES + len, uart_emit, (void *)hal);
}

/* SMP's own errors: {rc, rsn} (rsn only when given). */
static void send_rc(smp_server_t *s, const request_t *rq, unsigned rc, const char *reason) {
  cbor_writer_t w;
  begin(s, &w);
  bool has_reason = reason && reason[0];
  cbor_put_map(&w, has_reason ? 2 : 1);
  cbor_put_text(&w, "rc");
  cbor_put_uint(&w, rc);
  if (has_reason) {
    cbor_put_text(&w, "rsn");
    cbor_put_text(&w, reason);
  }
  send(s, rq, &w);
}

/* A group's own errors: {err: {group, rc}, rsn}. */
static void send_group_error(smp_server_t *s, const request_t *rq, unsigned rc, const char *reason) {
  cbor_writer_t w;
  begin(s, &w);
  bool has_reason = reason && reason[0];
  cbor_put_map(&w, has_reason ? 2 : 1);
  cbor_put_text(&w, "err");
  cbor_put_map(&w, 2);
  cbor_put_text(&w, "group");
  cbor_put_uint(&w, rq->group);
  cbor_put_text(&w, "rc");
  cbor_put_uint(&w, rc);
  if (has_reason) {
    cbor_put_text(&w, "rsn");
    cbor_put_text(&w, reason);
  }
  send(s, rq, &w);
}

/* Finds `key` in the request's top-level map and leaves the reader at its value. */
static bool find_key(const request_t *rq, const char *key, cbor_reader_t *r) {
  cbor_reader_init(r, rq->payload, rq->payload_len);
  size_t n;
  if (!cbor_read_map(r, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    const char *k;
    size_t kn;
    if (!cbor_read_text(r, &k, &kn)) return false;
    if (cbor_text_is(k, kn, key)) return true;
    if (!cbor_skip(r)) return false;
  }
  return false;
}

static bool payload_is_map(const request_t *rq) {
  cbor_reader_t r;
  cbor_reader_init(&r, rq->payload, rq->payload_len);
  return cbor_skip(&r) && cbor_at_end(&r) && rq->payload_len > 0 && (rq->payload[0] >> 5) == CBOR_MAP;
}

/* ---- group 0: OS ------------------------------------------------------------------------------------- */

static void os_group(smp_server_t *s, const request_t *rq) {
  cbor_writer_t w;
  cbor_reader_t r;
  switch (rq->id) {
    case 0: { /* echo: {d: text} -> {r: text} */
      const char *text;
      size_t len;
      if (rq->op != SMP_OP_WRITE || !find_key(rq, "d", &r) || !cbor_read_text(&r, &text, &len)) {
        send_rc(s, rq, SMP_RC_EINVAL, "echo needs {d: text}");
        return;
      }
      begin(s, &w);
      cbor_put_map(&w, 1);
      cbor_put_text(&w, "r");
      cbor_put_textn(&w, text, len);
      send(s, rq, &w);
      return;
    }
    case 5: { /* reset: answered first, then done */
      if (rq->op != SMP_OP_WRITE) break;
      const rules_hal_t *hal = rules_host_hal(s->host);
      if (!hal->reset) {
        send_rc(s, rq, SMP_RC_ENOTSUP, "this board cannot reset itself");
        return;
      }
      begin(s, &w);
      cbor_put_map(&w, 0);
      send(s, rq, &w);
      s->reset_pending = true;
      return;
    }
    case 6: /* mcumgr parameters: the largest packet this server takes, and how many at once */
      if (rq->op != SMP_OP_READ) break;
      begin(s, &w);
      cbor_put_map(&w, 2);
      cbor_put_text(&w, "buf_size");
      cbor_put_uint(&w, RULES_SMP_MTU);
      cbor_put_text(&w, "buf_count");
      cbor_put_uint(&w, 1);
      send(s, rq, &w);
      return;
    default:
      break;
  }
  send_rc(s, rq, SMP_RC_ENOTSUP, NULL);
}

/* ---- group 1: image management (mcumgr's img_mgmt, MCUboot's swap with revert) ------------------------- */

#if RULES_IMAGE_GROUP
static void put_image(cbor_writer_t *w, unsigned slot, const image_info_t *info, bool pending, bool confirmed, bool active,
                      bool permanent) {
  cbor_put_map(w, 9);
  cbor_put_text(w, "image");
  cbor_put_uint(w, 0);
  cbor_put_text(w, "slot");
  cbor_put_uint(w, slot);
  cbor_put_text(w, "version");
  cbor_put_text(w, info->version);
  cbor_put_text(w, "hash");
  cbor_put_bytes(w, info->hash, 32);
  cbor_put_text(w, "bootable");
  cbor_put_bool(w, true);
  cbor_put_text(w, "pending");
  cbor_put_bool(w, pending);
  cbor_put_text(w, "confirmed");
  cbor_put_bool(w, confirmed);
  cbor_put_text(w, "active");
  cbor_put_bool(w, active);
  cbor_put_text(w, "permanent");
  cbor_put_bool(w, permanent);
}

/* {images: [slot 0, slot 1 if it holds a whole image]} */
static void send_images(smp_server_t *s, const request_t *rq, const rules_hal_t *hal, const image_state_t *st) {
  image_info_t primary, secondary;
  if (image_slot_info(hal, st, 0, &primary) || image_slot_info(hal, st, 1, &secondary)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "cannot read the image slots");
    return;
  }
  cbor_writer_t w;
  begin(s, &w);
  cbor_put_map(&w, 1);
  cbor_put_text(&w, "images");
  cbor_put_array(&w, (primary.present ? 1u : 0u) + (secondary.present ? 1u : 0u));
  bool unconfirmed = (st->flags & IMAGE_UNCONFIRMED) != 0;
  if (primary.present) put_image(&w, 0, &primary, false, !unconfirmed, true, false);
  /* After a test swap the secondary holds the image to revert to: MCUboot shows it as the confirmed one. */
  if (secondary.present) {
    put_image(&w, 1, &secondary, (st->flags & IMAGE_PENDING) != 0, unconfirmed, false, (st->flags & IMAGE_PERMANENT) != 0);
  }
  send(s, rq, &w);
}

static void image_state_write(smp_server_t *s, const request_t *rq, const rules_hal_t *hal, image_state_t *st) {
  cbor_reader_t r;
  bool confirm = false;
  const uint8_t *hash = NULL;
  size_t hash_len = 0;
  if (find_key(rq, "confirm", &r) && !cbor_read_bool(&r, &confirm)) {
    send_rc(s, rq, SMP_RC_EINVAL, "confirm must be true or false");
    return;
  }
  if (find_key(rq, "hash", &r) && (!cbor_read_bytes(&r, &hash, &hash_len) || hash_len != 32)) {
    send_rc(s, rq, SMP_RC_EINVAL, "hash must be 32 bytes");
    return;
  }
  image_info_t primary, secondary;
  if (image_slot_info(hal, st, 0, &primary) || image_slot_info(hal, st, 1, &secondary)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "cannot read the image slots");
    return;
  }
  bool is_primary = hash && primary.present && memcmp(hash, primary.hash, 32) == 0;
  bool is_secondary = hash && secondary.present && memcmp(hash, secondary.hash, 32) == 0;
  if (!hash && !confirm) {
    send_rc(s, rq, SMP_RC_EINVAL, "give the hash of the image to test, or confirm");
    return;
  }
  if (!hash || is_primary) {
    if (!confirm) {
      send_rc(s, rq, SMP_RC_EINVAL, "that image runs already: confirm it instead");
      return;
    }
    st->flags &= (uint8_t)~IMAGE_UNCONFIRMED; /* the running image stays */
  } else if (is_secondary) {
    if (st->flags & IMAGE_UNCONFIRMED) {
      send_rc(s, rq, SMP_RC_EBADSTATE, "the board runs a test image: confirm it, or reset to go back, first");
      return;
    }
    st->flags = (uint8_t)(IMAGE_PENDING | (confirm ? IMAGE_PERMANENT : 0));
  } else {
    send_rc(s, rq, SMP_RC_ENOENT, "no image in the slots has that hash");
    return;
  }
  if (image_state_store(hal, st)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "storing the image state failed");
    return;
  }
  send_images(s, rq, hal, st);
}

static void answer_image_off(smp_server_t *s, const request_t *rq, uint32_t off, bool last) {
  cbor_writer_t w;
  begin(s, &w);
  cbor_put_map(&w, last ? 2 : 1);
  cbor_put_text(&w, "off");
  cbor_put_uint(&w, off);
  if (last) {
    cbor_put_text(&w, "match");
    cbor_put_bool(&w, true);
  }
  send(s, rq, &w);
}

/* Drops a finished upload that must not boot: the secondary slot is emptied. */
static void image_discard(smp_server_t *s, const rules_hal_t *hal, image_state_t *st) {
  hal->image->bank_erase(hal->ctx, s->image_bank);
  st->secondary = IMAGE_EMPTY;
  image_state_store(hal, st);
  s->image_len = 0;
}

static void image_upload(smp_server_t *s, const request_t *rq, const rules_hal_t *hal, image_state_t *st) {
  cbor_reader_t r;
  uint64_t off, len = 0, image = 0;
  const uint8_t *data, *sha = NULL;
  size_t data_len, sha_len = 0;
  char why[96];
  if (rq->op != SMP_OP_WRITE || !find_key(rq, "off", &r) || !cbor_read_uint(&r, &off) || !find_key(rq, "data", &r) ||
      !cbor_read_bytes(&r, &data, &data_len)) {
    send_rc(s, rq, SMP_RC_EINVAL, "upload needs {off, data}, and len and sha with off 0");
    return;
  }
  if (find_key(rq, "image", &r) && (!cbor_read_uint(&r, &image) || image != 0)) {
    send_rc(s, rq, SMP_RC_EINVAL, "this board has one image (image 0)");
    return;
  }
  if (off == 0) {
    if (!find_key(rq, "len", &r) || !cbor_read_uint(&r, &len) || len == 0 || !find_key(rq, "sha", &r) ||
        !cbor_read_bytes(&r, &sha, &sha_len) || sha_len != 32) {
      send_rc(s, rq, SMP_RC_EINVAL, "the first chunk (off 0) must give len and a 32-byte sha");
      return;
    }
    if (s->image_len == len && memcmp(s->image_sha, sha, 32) == 0) { /* the client resumes: tell it where */
      answer_image_off(s, rq, s->image_done ? s->image_len : s->image_off, s->image_done);
      return;
    }
    if (len > hal->image->bank_bytes) {
      snprintf(why, sizeof why, "the image has %lu bytes; the slot holds %lu", (unsigned long)len,
               (unsigned long)hal->image->bank_bytes);
      send_rc(s, rq, SMP_RC_ENOMEM, why);
      return;
    }
    if (st->flags & IMAGE_UNCONFIRMED) {
      send_rc(s, rq, SMP_RC_EBADSTATE, "the board runs a test image: confirm it, or reset to go back, first");
      return;
    }
    const char *problem = image_header_problem(data, data_len, (uint32_t)len);
    if (problem) {
      send_rc(s, rq, SMP_RC_EINVAL, problem);
      return;
    }
    /* A new upload: the secondary slot is emptied first, so a cut upload never looks like an image. */
    s->image_len = 0;
    s->image_bank = (uint8_t)image_upload_bank(st);
    st->secondary = IMAGE_EMPTY;
    st->flags &= (uint8_t)~(IMAGE_PENDING | IMAGE_PERMANENT);
    if (image_state_store(hal, st) || hal->image->bank_erase(hal->ctx, s->image_bank)) {
      send_rc(s, rq, SMP_RC_EUNKNOWN, "erasing the secondary slot failed");
      return;
    }
    s->image_len = (uint32_t)len;
    s->image_off = 0;
    s->image_done = false;
    memcpy(s->image_sha, sha, 32);
  } else if (s->image_len > 0 && s->image_done) {
    answer_image_off(s, rq, s->image_len, true); /* a repeated chunk of a finished upload */
    return;
  }
  if (s->image_len == 0) {
    send_rc(s, rq, SMP_RC_EBADSTATE, "no upload in progress: start with off 0");
    return;
  }
  if (off != s->image_off) {
    answer_image_off(s, rq, s->image_off, false); /* a repeated or early chunk */
    return;
  }
  if (off + data_len > s->image_len) {
    send_rc(s, rq, SMP_RC_EINVAL, "the chunk goes past len");
    return;
  }
  if (data_len && hal->image->bank_write(hal->ctx, s->image_bank, (uint32_t)off, data, data_len)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "writing the secondary slot failed");
    return;
  }
  s->image_off += (uint32_t)data_len;
  if (s->image_off < s->image_len) {
    answer_image_off(s, rq, s->image_off, false);
    return;
  }
  /* The whole upload: it must be what the client announced, and an image MCUboot would boot. */
  uint8_t digest[32];
  if (image_bank_sha256(hal, s->image_bank, s->image_len, digest)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "reading the secondary slot failed");
    return;
  }
  if (memcmp(digest, s->image_sha, 32) != 0) {
    image_discard(s, hal, st);
    send_rc(s, rq, SMP_RC_ECORRUPT, "the uploaded bytes do not have the SHA-256 the first chunk announced");
    return;
  }
  image_state_t candidate = *st;
  candidate.secondary = s->image_bank;
  image_info_t info;
  if (image_slot_info(hal, &candidate, 1, &info) || !info.present) {
    image_discard(s, hal, st);
    send_rc(s, rq, SMP_RC_ECORRUPT, "the image's SHA-256 TLV does not match its header and body");
    return;
  }
  *st = candidate;
  if (image_state_store(hal, st)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "storing the image state failed");
    return;
  }
  s->image_done = true;
  answer_image_off(s, rq, s->image_len, true);
}

static void image_group(smp_server_t *s, const request_t *rq) {
  const rules_hal_t *hal = rules_host_hal(s->host);
  if (!hal->image) {
    send_rc(s, rq, SMP_RC_ENOTSUP, "this board has no image slots");
    return;
  }
  image_state_t st;
  if (image_state_load(hal, &st)) {
    send_rc(s, rq, SMP_RC_EUNKNOWN, "cannot read the image state");
    return;
  }
  if (rq->id == 0 && rq->op == SMP_OP_READ) send_images(s, rq, hal, &st);
  else if (rq->id == 0) image_state_write(s, rq, hal, &st);
  else if (rq->id == 1) image_upload(s, rq, hal, &st);
  else send_rc(s, rq, SMP_RC_ENOTSUP, NULL);
}
#endif

/* ---- group 64: rules ---------------------------------------------------------------------------------- */

static const char *state_name(int state) {
  return state == RULES_STATE_RUNNING ? "running" : state == RULES_STATE_DISABLED ? "disabled" : "failed";
}

/* The bundle-refusal codes of docs/bundle.md §3 (1..10), then the group's own (docs/smp.md). */
static unsigned rules_rc(int err) {
  switch (err) {
    case RULES_EMALFORMED: return 1;
    case RULES_EFORMAT: return 2;
    case RULES_EUNKNOWNKEY: return 3;
    case RULES_ESIGNATURE: return 4;
    case RULES_EABI: return 5;
    case RULES_ETARGET: return 6;
    case RULES_EMISMATCH: return 7;
    case RULES_ETOOBIG: return 8;
    case RULES_EROLLBACK: return 9;
    case RULES_EVERIFY: return 10;
    case RULES_ENOSPACE: return 12;
    case RULES_ENOENT: return 13;
    default: return 14; /* storage: writing flash failed (RULES_EIO), or the host could not take the rule */
  }
}

/* A rule summary (docs/smp.md §5), or a rule status with `full`. */
static void put_status(cbor_writer_t *w, const rules_status_t *st, bool full, bool with_off, uint32_t off) {
  bool has_err = full && st->last_error[0];
  cbor_put_map(w, 4 + (with_off ? 1 : 0) + (full ? 3 : 0) + (has_err ? 1 : 0));
  if (with_off) {
    cbor_put_text(w, "off");
    cbor_put_uint(w, off);
  }
  cbor_put_text(w, "name");
  cbor_put_text(w, st->name);
  cbor_put_text(w, "version");
  cbor_put_uint(w, st->version);
  cbor_put_text(w, "sha256");
  cbor_put_bytes(w, st->sha256, 32);
  cbor_put_text(w, "state");
  cbor_put_text(w, state_name(st->state));
  if (!full) return;
  if (has_err) {
    cbor_put_text(w, "err");
    cbor_put_text(w, st->last_error);
  }
  cbor_put_text(w, "ticks");
  cbor_put_uint(w, st->ticks);
  cbor_put_text(w, "sat");
  cbor_put_array(w, st->channels);
  for (uint8_t i = 0; i < st->channels; i++) {
    cbor_put_array(w, 2);
    cbor_put_uint(w, st->channel[i]);
    cbor_put_uint(w, st->channel_saturated[i]);
  }
  cbor_put_text(w, "asf");
  cbor_put_uint(w, st->assumptions_failed);
}

static bool find_status(smp_server_t *s, const char *name, rules_status_t *st) {
  for (size_t i = 0; i < rules_host_rule_count(s->host); i++) {
    if (rules_host_rule_status(s->host, i, st) == RULES_OK && strcmp(st->name, name) == 0) return true;
  }
  return false;
}

static void answer_off(smp_server_t *s, const request_t *rq, uint32_t off) {
  cbor_writer_t w;
  begin(s, &w);
  cbor_put_map(&w, 1);
  cbor_put_text(&w, "off");
  cbor_put_uint(&w, off);
  send(s, rq, &w);
}

/* Sends a response and keeps its payload as the upload's outcome, for a repeated last chunk. */
static void send_outcome(smp_server_t *s, const request_t *rq, cbor_writer_t *w) {
  size_t len = (size_t)(w->p - (s->response + SMP_HEADER_BYTES));
  if (!w->overflow && len <= sizeof s->outcome) {
    memcpy(s->outcome, s->response + SMP_HEADER_BYTES, len);
    s->outcome_len = len;
  }
  send(s, rq, w);
}

static void finish_upload(smp_server_t *s, const request_t *rq) {
  char why[RULES_ERROR_TEXT_BYTES];
  why[0] = 0;
  int rc = rules_host_install(s->host, s->upload, s->upload_len, why, sizeof why);
  s->upload_done = true;
  cbor_writer_t w;
  begin(s, &w);
  if (rc) {
    cbor_put_map(&w, 2);
    cbor_put_text(&w, "err");
    cbor_put_map(&w, 2);
    cbor_put_text(&w, "group");
    cbor_put_uint(&w, SMP_GROUP_RULES);
    cbor_put_text(&w, "rc");
    cbor_put_uint(&w, rules_rc(rc));
    cbor_put_text(&w, "rsn");
    cbor_put_text(&w, why[0] ? why : rules_strerror(rc));
    send_outcome(s, rq, &w);
    return;
  }
  /* What runs now. */
  bundle_t b;
  char ignored[8];
  rules_status_t st;
  memset(&st, 0, sizeof st);
  if (bundle_parse_envelope(s->upload, s->upload_len, &b, ignored, sizeof ignored) == RULES_OK &&
      bundle_parse_body(&b, ignored, sizeof ignored) == RULES_OK) {
    find_status(s, b.manifest.rule, &st);
  }
  put_status(&w, &st, false, true, s->upload_len);
  send_outcome(s, rq, &w);
}

static void install(smp_server_t *s, const request_t *rq) {
  cbor_reader_t r;
  uint64_t off, len = 0;
  const uint8_t *data, *sha = NULL;
  size_t data_len, sha_len = 0;
  if (rq->op != SMP_OP_WRITE || !find_key(rq, "off", &r) || !cbor_read_uint(&r, &off) || !find_key(rq, "data", &r) ||
      !cbor_read_bytes(&r, &data, &data_len)) {
    send_rc(s, rq, SMP_RC_EINVAL, "install needs {off, data}, and len and sha with off 0");
    return;
  }
  if (off == 0) {
    if (!find_key(rq, "len", &r) || !cbor_read_uint(&r, &len) || len == 0 || !find_key(rq, "sha", &r) ||
        !cbor_read_bytes(&r, &sha, &sha_len) || sha_len == 0 || sha_len > sizeof s->upload_sha) {
      send_rc(s, rq, SMP_RC_EINVAL, "the first chunk (off 0) must give len and sha");
      return;
    }
    if (len > sizeof s->upload) {
      char why[80];
      snprintf(why, sizeof why, "the bundle has %lu bytes; this device takes at most %u", (unsigned long)len,
               (unsigned)sizeof s->upload);
      send_group_error(s, rq, rules_rc(RULES_ETOOBIG), why);
      return;
    }
    bool same = !s->upload_done && s->upload_len == len && sha_len == s->upload_sha_len &&
                memcmp(sha, s->upload_sha, sha_len) == 0;
    if (same) { /* the client resumes: tell it where */
      answer_off(s, rq, s->upload_off);
      return;
    }
    s->upload_len = (uint32_t)len;
    s->upload_off = 0;
    s->upload_done = false;
    s->upload_sha_len = (uint8_t)sha_len;
    memcpy(s->upload_sha, sha, sha_len);
  } else if (s->upload_done && s->upload_len > 0) {
    /* A repeated chunk of a finished upload: the same answer again. */
    cbor_writer_t w;
    begin(s, &w);
    if (s->outcome_len <= (size_t)(w.end - w.p)) {
      memcpy(w.p, s->outcome, s->outcome_len);
      w.p += s->outcome_len;
    }
    send(s, rq, &w);
    return;
  }
  if (s->upload_len == 0 || s->upload_done) {
    send_group_error(s, rq, 11, "no upload in progress: start with off 0");
    return;
  }
  if (off != s->upload_off) {
    answer_off(s, rq, s->upload_off); /* a repeated or early chunk */
    return;
  }
  if (off + data_len > s->upload_len) {
    send_group_error(s, rq, 11, "the chunk goes past len");
    return;
  }
  memcpy(s->upload + off, data, data_len);
  s->upload_off += (uint32_t)data_len;
  if (s->upload_off < s->upload_len) {
    answer_off(s, rq, s->upload_off);
    return;
  }
  finish_upload(s, rq);
}

static bool read_name_arg(const request_t *rq, char *out, size_t cap) {
  cbor_reader_t r;
  const char *text;
  size_t len;
  if (!find_key(rq, "name", &r) || !cbor_read_text(&r, &text, &len) || len == 0 || len >= cap) return false;
  memcpy(out, text, len);
  out[len] = 0;
  return true;
}

static void rules_group(smp_server_t *s, const request_t *rq) {
  cbor_writer_t w;
  char name[RULES_NAME_MAX + 1];
  rules_status_t st;
  switch (rq->id) {
    case 0:
      install(s, rq);
      return;
    case 1: { /* list */
      if (rq->op != SMP_OP_READ) break;
      size_t n = rules_host_rule_count(s->host);
      begin(s, &w);
      cbor_put_map(&w, 1);
      cbor_put_text(&w, "rules");
      cbor_put_array(&w, n);
      for (size_t i = 0; i < n; i++) {
        if (rules_host_rule_status(s->host, i, &st) == RULES_OK) put_status(&w, &st, false, false, 0);
      }
      send(s, rq, &w);
      return;
    }
    case 2: { /* remove */
      if (rq->op != SMP_OP_WRITE) break;
      if (!read_name_arg(rq, name, sizeof name)) {
        send_rc(s, rq, SMP_RC_EINVAL, "remove needs {name}");
        return;
      }
      int rc = rules_host_remove(s->host, name);
      if (rc) {
        send_group_error(s, rq, rules_rc(rc), rc == RULES_ENOENT ? "no rule of that name is installed" : rules_strerror(rc));
        return;
      }
      begin(s, &w);
      cbor_put_map(&w, 0);
      send(s, rq, &w);
      return;
    }
    case 3: { /* status */
      if (rq->op != SMP_OP_READ) break;
      if (!read_name_arg(rq, name, sizeof name)) {
        send_rc(s, rq, SMP_RC_EINVAL, "status needs {name}");
        return;
      }
      if (!find_status(s, name, &st)) {
        send_group_error(s, rq, rules_rc(RULES_ENOENT), "no rule of that name is installed");
        return;
      }
      begin(s, &w);
      put_status(&w, &st, true, false, 0);
      send(s, rq, &w);
      return;
    }
    case 4: { /* info */
      if (rq->op != SMP_OP_READ) break;
      const rules_target_t *t = rules_host_target(s->host);
      size_t key_count;
      const rules_key_t *keys = rules_host_keys(s->host, &key_count);
      begin(s, &w);
      cbor_put_map(&w, 7);
      cbor_put_text(&w, "target");
      cbor_put_text(&w, t->name);
      cbor_put_text(&w, "abi");
      cbor_put_uint(&w, 1);
      cbor_put_text(&w, "mtu");
      cbor_put_uint(&w, RULES_SMP_MTU);
      cbor_put_text(&w, "maxBundle");
      cbor_put_uint(&w, sizeof s->upload);
      cbor_put_text(&w, "maxRules");
      cbor_put_uint(&w, RULES_MAX_RULES);
      cbor_put_text(&w, "host");
      cbor_put_text(&w, RULES_HOST_NAME);
      cbor_put_text(&w, "keys");
      cbor_put_array(&w, key_count);
      for (size_t i = 0; i < key_count; i++) cbor_put_bytes(&w, keys[i].id, 8);
      send(s, rq, &w);
      return;
    }
    default:
      break;
  }
  send_rc(s, rq, SMP_RC_ENOTSUP, NULL);
}

/* ---- packets ------------------------------------------------------------------------------------------ */

void smp_server_handle(smp_server_t *s, const uint8_t *packet, size_t len) {
  if (len < SMP_HEADER_BYTES) return; /* not even a header: nothing to answer to */
  request_t rq;
  rq.op = packet[0] & 7;
  rq.version = (packet[0] >> 3) & 3;
  rq.flags = packet[1];
  uint16_t data_len = (uint16_t)(packet[2] << 8 | packet[3]);
  rq.group = (uint16_t)(packet[4] << 8 | packet[5]);
  rq.seq = packet[6];
  rq.id = packet[7];
  rq.payload = packet + SMP_HEADER_BYTES;
  rq.payload_len = len - SMP_HEADER_BYTES;
  if (rq.op != SMP_OP_READ && rq.op != SMP_OP_WRITE) return; /* responses are not answered */
  if (rq.version > 1) rq.version = 1;
  if (data_len != rq.payload_len || !payload_is_map(&rq)) {
    send_rc(s, &rq, SMP_RC_EINVAL, "the payload must be one CBOR map of the header's length");
    return;
  }
  if (rq.group == SMP_GROUP_OS) os_group(s, &rq);
  else if (rq.group == SMP_GROUP_RULES) rules_group(s, &rq);
#if RULES_IMAGE_GROUP
  else if (rq.group == SMP_GROUP_IMAGE) image_group(s, &rq);
#endif
  else send_rc(s, &rq, SMP_RC_ENOTSUP, NULL);
}

void smp_server_poll(smp_server_t *s) {
  const rules_hal_t *hal = rules_host_hal(s->host);
  uint8_t buf[64];
  size_t n;
  while ((n = hal->uart_read(hal->ctx, buf, sizeof buf)) > 0) {
    for (size_t i = 0; i < n; i++) {
      size_t body = smp_deframer_push(&s->rx, buf[i]);
      if (body) smp_server_handle(s, s->rx.packet + 2, body);
      if (s->reset_pending) {
        s->reset_pending = false;
        hal->reset(hal->ctx);
        return;
      }
    }
  }
}
