/* SMP serial framing (Zephyr's mcumgr serial transport): packets split into frames of at most 127 bytes,
 * each a marker (0x06 0x09 first, 0x04 0x14 after), base64 text and '\n'; inside, a 2-byte big-endian
 * length, the body and a CRC-16/XMODEM of the body. Knows bytes only, nothing of SMP headers. */
#ifndef RULES_SMP_FRAME_H
#define RULES_SMP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_config.h"

#define SMP_FRAME_MAX 127
/* Base64 characters per frame: 127 - 2 (marker) - 1 (newline), a multiple of 4. */
#define SMP_FRAME_TEXT_MAX 124

uint16_t smp_crc16(const uint8_t *data, size_t len, uint16_t crc);

typedef struct smp_deframer {
  uint8_t packet[RULES_SMP_MTU + 4]; /* length, body, CRC */
  size_t got;      /* decoded bytes in packet */
  uint8_t quad[4]; /* base64 characters not yet decoded */
  uint8_t quad_len;
  uint8_t pads;     /* '=' seen: the packet's text is over */
  uint8_t state;    /* SMP_RX_* */
  uint16_t line;    /* characters in the current frame line */
  bool in_packet;   /* a start frame was seen and the packet is not complete */
  uint32_t dropped; /* packets dropped as malformed (bad base64, length, CRC, overflow) */
} smp_deframer_t;

void smp_deframer_init(smp_deframer_t *d);

/* Feeds one received byte. Returns the body's length when this byte completed a packet with a good CRC
 * (the body is then at d->packet + 2 until the next call), otherwise 0. */
size_t smp_deframer_push(smp_deframer_t *d, uint8_t byte);

typedef int (*smp_emit_fn)(void *ctx, const uint8_t *bytes, size_t len);

/* Frames one packet body and hands each frame to emit. Returns 0, or emit's first nonzero result. */
int smp_frame_packet(const uint8_t *body, size_t len, smp_emit_fn emit, void *ctx);

#endif /* RULES_SMP_FRAME_H */
