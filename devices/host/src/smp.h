/* The SMP server: reads frames from the HAL's UART, parses SMP headers and CBOR payloads, and serves
 * group 0 (OS: echo, reset, mcumgr parameters), group 1 (image management, when built with RULES_IMAGE_GROUP)
 * and group 64 (rules: install, list, remove, status). */
#ifndef RULES_SMP_H
#define RULES_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_host.h"
#include "smp_frame.h"

#define SMP_HEADER_BYTES 8
#define SMP_OP_READ 0
#define SMP_OP_READ_RSP 1
#define SMP_OP_WRITE 2
#define SMP_OP_WRITE_RSP 3

#define SMP_GROUP_OS 0
#define SMP_GROUP_IMAGE 1
#define SMP_GROUP_RULES 64

/* mcumgr's generic result codes (MGMT_ERR_*). */
#define SMP_RC_OK 0
#define SMP_RC_EUNKNOWN 1
#define SMP_RC_ENOMEM 2
#define SMP_RC_EINVAL 3
#define SMP_RC_ENOENT 5
#define SMP_RC_EBADSTATE 6
#define SMP_RC_EMSGSIZE 7
#define SMP_RC_ENOTSUP 8
#define SMP_RC_ECORRUPT 9

typedef struct smp_server {
  rules_host_t *host;
  smp_deframer_t rx;
  uint8_t response[RULES_SMP_MTU];
  /* The bundle being uploaded (group 64 install): kept across requests so a client can resume. */
  uint8_t upload[RULES_MAX_BUNDLE_BYTES];
  uint32_t upload_len;  /* the total announced with off 0; 0: no upload */
  uint32_t upload_off;  /* bytes received so far */
  uint8_t upload_sha[32];
  uint8_t upload_sha_len;
  bool upload_done; /* the last upload's outcome is kept until the next one starts */
  uint8_t outcome[160];
  size_t outcome_len;
  bool reset_pending;
#if RULES_IMAGE_GROUP
  /* The firmware image being uploaded (group 1): written to the secondary bank as it comes, kept in RAM
   * only as far as needed to resume (like mcumgr's img_mgmt). */
  uint32_t image_len, image_off;
  uint8_t image_sha[32];
  uint8_t image_bank;
  bool image_done; /* the last upload finished and matched: a repeated chunk gets {off: len} again */
#endif
} smp_server_t;

void smp_server_init(smp_server_t *s, rules_host_t *host);
/* Reads what the UART has, answers every complete request. */
void smp_server_poll(smp_server_t *s);
/* Handles one request packet (header + CBOR) and writes the framed response to the UART (for tests and
 * fuzzing, which feed packets without framing). */
void smp_server_handle(smp_server_t *s, const uint8_t *packet, size_t len);

/* From host.c: what the server needs beyond the public API. */
const rules_hal_t *rules_host_hal(const rules_host_t *h);
const rules_target_t *rules_host_target(const rules_host_t *h);
const rules_key_t *rules_host_keys(const rules_host_t *h, size_t *count);

#endif /* RULES_SMP_H */
