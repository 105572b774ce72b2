/* SMP serial framing: a byte-at-a-time deframer that resynchronises on the next start marker after any
 * error, and a framer that splits a packet into 127-byte frames. */
#include "smp_frame.h"

#include <string.h>

enum { SMP_RX_IDLE, SMP_RX_MARK_START, SMP_RX_MARK_CONT, SMP_RX_LINE, SMP_RX_SKIP };

uint16_t smp_crc16(const uint8_t *data, size_t len, uint16_t crc) {
  for (size_t i = 0; i < len; i++) {
    crc ^= (uint16_t)(data[i] << 8);
    for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

void smp_deframer_init(smp_deframer_t *d) { memset(d, 0, sizeof *d); }

static int b64_value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static void drop(smp_deframer_t *d) {
  if (d->in_packet) d->dropped++;
  d->in_packet = false;
  d->got = 0;
  d->quad_len = 0;
  d->pads = 0;
}

static void start_packet(smp_deframer_t *d) {
  drop(d); /* a new start marker abandons an unfinished packet: the client is retrying */
  d->in_packet = true;
}

/* The declared packet size (length field + body + CRC), once the length is known; else 0. */
static size_t expected(const smp_deframer_t *d) {
  if (d->got < 2) return 0;
  return 2 + (((size_t)d->packet[0] << 8) | d->packet[1]);
}

static bool append(smp_deframer_t *d, const uint8_t *bytes, size_t n) {
  if (d->got + n > sizeof d->packet) return false;
  memcpy(d->packet + d->got, bytes, n);
  d->got += n;
  size_t want = expected(d);
  /* The length counts body + CRC: at least a CRC and an 8-byte SMP header, at most the buffer. */
  if (want && (want < 2 + 8 + 2 || want > sizeof d->packet)) return false;
  return true;
}

/* Decodes a completed quad; returns false when the text is not valid base64 or overflows the packet. */
static bool decode_quad(smp_deframer_t *d) {
  int v[4];
  int pads = 0;
  for (int i = 0; i < 4; i++) {
    if (d->quad[i] == '=') {
      if (i < 2) return false;
      pads++;
      v[i] = 0;
    } else {
      if (pads) return false;
      v[i] = b64_value(d->quad[i]);
      if (v[i] < 0) return false;
    }
  }
  uint32_t bits = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
  uint8_t out[3] = {(uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits};
  d->quad_len = 0;
  d->pads = (uint8_t)pads;
  return append(d, out, (size_t)(3 - pads));
}

/* Called at the end of each frame line: is the packet complete and intact? */
static size_t finish_line(smp_deframer_t *d) {
  size_t want = expected(d);
  if (!want || d->got < want) {
    if (d->pads) drop(d); /* the text ended but the packet did not */
    return 0;
  }
  if (d->got > want || d->quad_len != 0) {
    drop(d);
    return 0;
  }
  size_t body = want - 4;
  uint16_t crc = smp_crc16(d->packet + 2, body, 0);
  uint16_t sent = (uint16_t)((d->packet[want - 2] << 8) | d->packet[want - 1]);
  d->in_packet = false;
  d->got = 0;
  d->pads = 0;
  if (crc != sent) {
    d->dropped++;
    return 0;
  }
  return body;
}

size_t smp_deframer_push(smp_deframer_t *d, uint8_t byte) {
  switch (d->state) {
    case SMP_RX_IDLE:
      if (byte == 0x06) d->state = SMP_RX_MARK_START;
      else if (byte == 0x04) d->state = SMP_RX_MARK_CONT;
      else if (byte != '\n') d->state = SMP_RX_SKIP; /* console text: ignore up to the end of the line */
      return 0;
    case SMP_RX_MARK_START:
      if (byte == 0x09) {
        start_packet(d);
        d->state = SMP_RX_LINE;
        d->line = 0;
      } else {
        d->state = byte == '\n' ? SMP_RX_IDLE : SMP_RX_SKIP;
      }
      return 0;
    case SMP_RX_MARK_CONT:
      if (byte == 0x14 && d->in_packet) {
        d->state = SMP_RX_LINE;
        d->line = 0;
      } else {
        if (byte == 0x14) drop(d);
        d->state = byte == '\n' ? SMP_RX_IDLE : SMP_RX_SKIP;
      }
      return 0;
    case SMP_RX_SKIP:
      if (byte == '\n') d->state = SMP_RX_IDLE;
      return 0;
    default: /* SMP_RX_LINE */
      break;
  }
  if (byte == '\n') {
    d->state = SMP_RX_IDLE;
    if (!d->in_packet) return 0;
    return finish_line(d);
  }
  if (byte == '\r') return 0;
  if (!d->in_packet) return 0;
  if (++d->line > SMP_FRAME_TEXT_MAX || d->pads) {
    drop(d);
    d->state = SMP_RX_SKIP;
    return 0;
  }
  d->quad[d->quad_len++] = byte;
  if (d->quad_len == 4 && !decode_quad(d)) {
    drop(d);
    d->state = SMP_RX_SKIP;
  }
  return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The i-th byte of the packet's wire form: length, body, CRC. */
static uint8_t packet_byte(const uint8_t *body, size_t len, uint16_t crc, size_t i) {
  size_t total = len + 2;
  if (i == 0) return (uint8_t)(total >> 8);
  if (i == 1) return (uint8_t)total;
  if (i < 2 + len) return body[i - 2];
  return i == 2 + len ? (uint8_t)(crc >> 8) : (uint8_t)crc;
}

int smp_frame_packet(const uint8_t *body, size_t len, smp_emit_fn emit, void *ctx) {
  uint16_t crc = smp_crc16(body, len, 0);
  size_t raw = len + 4;
  uint8_t frame[SMP_FRAME_MAX];
  size_t pos = 0; /* raw bytes encoded so far */
  bool first = true;
  while (pos < raw) {
    size_t n = 0;
    frame[n++] = first ? 0x06 : 0x04;
    frame[n++] = first ? 0x09 : 0x14;
    while (pos < raw && n + 4 <= 2 + SMP_FRAME_TEXT_MAX) {
      size_t take = raw - pos < 3 ? raw - pos : 3;
      uint32_t bits = 0;
      for (size_t k = 0; k < 3; k++) bits = (bits << 8) | (k < take ? packet_byte(body, len, crc, pos + k) : 0);
      frame[n++] = (uint8_t)B64[(bits >> 18) & 63];
      frame[n++] = (uint8_t)B64[(bits >> 12) & 63];
      frame[n++] = take > 1 ? (uint8_t)B64[(bits >> 6) & 63] : '=';
      frame[n++] = take > 2 ? (uint8_t)B64[bits & 63] : '=';
      pos += take;
    }
    frame[n++] = '\n';
    int rc = emit(ctx, frame, n);
    if (rc) return rc;
    first = false;
  }
  return 0;
}
