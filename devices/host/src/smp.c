/* SMP protocol and commands (see smp.h and docs/smp.md). Every request gets exactly one response with the
 * request's group, sequence and command; errors in both the v1 ({rc, rsn}) and v2 ({err: {group, rc}}) forms. */
#include "smp.h"

#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "cbor.h"

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

/* An error response: {rc, rsn} for SMP v1 and {err: {group, rc}, rsn} for v2 (rsn only when given). */
static void send_error(smp_server_t *s, const request_t *rq, unsigned rc, const char *reason) {
  cbor_writer_t w;
  begin(s, &w);
  bool has_reason = reason && reason[0];
  cbor_put_map(&w, has_reason ? 2 : 1);
  if (rq->version >= 1) {
    cbor_put_text(&w, "err");
    cbor_put_map(&w, 2);
    cbor_put_text(&w, "group");
    cbor_put_uint(&w, rq->group);
    cbor_put_text(&w, "rc");
    cbor_put_uint(&w, rc);
  } else {
    cbor_put_text(&w, "rc");
    cbor_put_uint(&w, rc);
  }
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
        send_error(s, rq, SMP_RC_EINVAL, "echo needs {d: text}");
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
        send_error(s, rq, SMP_RC_ENOTSUP, "this board cannot reset itself");
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
  send_error(s, rq, SMP_RC_ENOTSUP, NULL);
}

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
    case RULES_ENOSPACE: return 11;
    case RULES_ENOENT: return 12;
    case RULES_EIO: return 13;
    case RULES_ENOMEM: return 14;
    default: return 15;
  }
}

static void put_status(cbor_writer_t *w, const rules_status_t *st, bool full) {
  cbor_put_map(w, full ? 9 : 4);
  cbor_put_text(w, "name");
  cbor_put_text(w, st->name);
  cbor_put_text(w, "version");
  cbor_put_uint(w, st->version);
  cbor_put_text(w, "sha256");
  cbor_put_bytes(w, st->sha256, 32);
  cbor_put_text(w, "state");
  cbor_put_text(w, state_name(st->state));
  if (!full) return;
  cbor_put_text(w, "error");
  cbor_put_text(w, st->last_error);
  cbor_put_text(w, "ticks");
  cbor_put_uint(w, st->ticks);
  cbor_put_text(w, "saturated");
  cbor_put_uint(w, st->saturated);
  cbor_put_text(w, "assumptions");
  cbor_put_uint(w, st->assumptions_failed);
  cbor_put_text(w, "failed");
  cbor_put_bool(w, st->state != RULES_STATE_RUNNING);
}

static void install(smp_server_t *s, const request_t *rq) {
  cbor_reader_t r;
  uint64_t off, len = 0;
  const uint8_t *data, *sha = NULL;
  size_t data_len, sha_len = 0;
  if (rq->op != SMP_OP_WRITE || !payload_is_map(rq) || !find_key(rq, "off", &r) || !cbor_read_uint(&r, &off) ||
      !find_key(rq, "data", &r) || !cbor_read_bytes(&r, &data, &data_len)) {
    send_error(s, rq, SMP_RC_EINVAL, "install needs {off, data} (and len with off 0)");
    return;
  }
  if (off == 0) {
    if (!find_key(rq, "len", &r) || !cbor_read_uint(&r, &len) || len == 0) {
      send_error(s, rq, SMP_RC_EINVAL, "the first chunk (off 0) must give len");
      return;
    }
    if (find_key(rq, "sha", &r) && (!cbor_read_bytes(&r, &sha, &sha_len) || sha_len > sizeof s->upload_sha)) {
      send_error(s, rq, SMP_RC_EINVAL, "sha must be at most 32 bytes");
      return;
    }
    if (len > sizeof s->upload) {
      char why[64];
      snprintf(why, sizeof why, "the bundle has %lu bytes; this device takes at most %u", (unsigned long)len,
               (unsigned)sizeof s->upload);
      send_error(s, rq, rules_rc(RULES_ETOOBIG), why);
      return;
    }
    /* The same upload announced again (same len and sha) resumes where it was; anything else restarts. */
    bool same = s->upload_len == len && sha_len > 0 && sha_len == s->upload_sha_len && memcmp(sha, s->upload_sha, sha_len) == 0;
    if (!same || data_len > 0) {
      s->upload_len = (uint32_t)len;
      s->upload_off = 0;
      s->upload_sha_len = (uint8_t)sha_len;
      if (sha_len) memcpy(s->upload_sha, sha, sha_len);
    }
  }
  cbor_writer_t w;
  if (s->upload_len == 0) {
    send_error(s, rq, SMP_RC_EBADSTATE, "no upload in progress: start with off 0");
    return;
  }
  if (off != s->upload_off || off + data_len > s->upload_len) {
    /* Out of order (a lost or repeated chunk): tell the client where to resume. */
    begin(s, &w);
    cbor_put_map(&w, 1);
    cbor_put_text(&w, "off");
    cbor_put_uint(&w, s->upload_off);
    send(s, rq, &w);
    return;
  }
  memcpy(s->upload + off, data, data_len);
  s->upload_off += (uint32_t)data_len;
  if (s->upload_off < s->upload_len) {
    begin(s, &w);
    cbor_put_map(&w, 1);
    cbor_put_text(&w, "off");
    cbor_put_uint(&w, s->upload_off);
    send(s, rq, &w);
    return;
  }
  char why[RULES_ERROR_TEXT_BYTES];
  why[0] = 0;
  int rc = rules_host_install(s->host, s->upload, s->upload_len, why, sizeof why);
  uint32_t total = s->upload_len;
  s->upload_len = 0;
  s->upload_off = 0;
  if (rc) {
    send_error(s, rq, rules_rc(rc), why);
    return;
  }
  /* What runs now: the status of the installed rule. */
  bundle_t b;
  char ignored[8];
  rules_status_t st;
  memset(&st, 0, sizeof st);
  if (bundle_parse_envelope(s->upload, total, &b, ignored, sizeof ignored) == RULES_OK &&
      bundle_parse_body(&b, ignored, sizeof ignored) == RULES_OK) {
    for (size_t i = 0; i < rules_host_rule_count(s->host); i++) {
      if (rules_host_rule_status(s->host, i, &st) == RULES_OK && strcmp(st.name, b.manifest.rule) == 0) break;
    }
  }
  begin(s, &w);
  cbor_put_map(&w, 2);
  cbor_put_text(&w, "off");
  cbor_put_uint(&w, total);
  cbor_put_text(&w, "rule");
  put_status(&w, &st, false);
  send(s, rq, &w);
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
        if (rules_host_rule_status(s->host, i, &st) == RULES_OK) put_status(&w, &st, false);
      }
      send(s, rq, &w);
      return;
    }
    case 2: { /* remove */
      if (rq->op != SMP_OP_WRITE) break;
      if (!read_name_arg(rq, name, sizeof name)) {
        send_error(s, rq, SMP_RC_EINVAL, "remove needs {name}");
        return;
      }
      int rc = rules_host_remove(s->host, name);
      if (rc) {
        send_error(s, rq, rules_rc(rc), rc == RULES_ENOENT ? "no rule of that name is installed" : rules_strerror(rc));
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
        send_error(s, rq, SMP_RC_EINVAL, "status needs {name}");
        return;
      }
      for (size_t i = 0; i < rules_host_rule_count(s->host); i++) {
        if (rules_host_rule_status(s->host, i, &st) == RULES_OK && strcmp(st.name, name) == 0) {
          begin(s, &w);
          put_status(&w, &st, true);
          send(s, rq, &w);
          return;
        }
      }
      send_error(s, rq, rules_rc(RULES_ENOENT), "no rule of that name is installed");
      return;
    }
    default:
      break;
  }
  send_error(s, rq, SMP_RC_ENOTSUP, NULL);
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
    send_error(s, &rq, SMP_RC_EINVAL, "the payload must be one CBOR map of the header's length");
    return;
  }
  if (rq.group == SMP_GROUP_OS) os_group(s, &rq);
  else if (rq.group == SMP_GROUP_RULES) rules_group(s, &rq);
  else send_error(s, &rq, SMP_RC_ENOTSUP, NULL);
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
