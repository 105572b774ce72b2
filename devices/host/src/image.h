/* Firmware images for SMP group 1, as MCUboot and mcumgr's img_mgmt keep them: the MCUboot image format
 * (header, hash TLV), the primary and secondary slots over the HAL's two banks, and swap-with-revert's
 * bookkeeping (test, confirm, revert), applied at every start as MCUboot applies it at boot. */
#ifndef RULES_IMAGE_H
#define RULES_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_host.h"

#define IMAGE_MAGIC 0x96f3b83du
#define IMAGE_HEADER_BYTES 32
#define IMAGE_VERSION_TEXT 24

/* Where a slot's image lives: a bank, the firmware the board was built with, or nothing. */
#define IMAGE_BUILTIN 0xffu
#define IMAGE_EMPTY 0xfeu

#define IMAGE_PENDING 1u     /* the secondary boots next, as a test */
#define IMAGE_PERMANENT 2u   /* ...and stays without a confirm */
#define IMAGE_UNCONFIRMED 4u /* the primary is a test image: the next start reverts unless it is confirmed */

typedef struct image_state {
  uint8_t primary, secondary; /* a bank (0, 1), IMAGE_BUILTIN or IMAGE_EMPTY */
  uint8_t flags;              /* IMAGE_PENDING | IMAGE_PERMANENT | IMAGE_UNCONFIRMED */
} image_state_t;

typedef struct image_info {
  bool present; /* the slot holds a whole image whose hash TLV matches its contents */
  char version[IMAGE_VERSION_TEXT];
  uint8_t hash[32];
} image_info_t;

int image_state_load(const rules_hal_t *hal, image_state_t *st);
int image_state_store(const rules_hal_t *hal, const image_state_t *st);

/* What MCUboot does at boot: a pending secondary is swapped in (unconfirmed unless permanent); an unconfirmed
 * primary is swapped back out (revert). Returns RULES_OK when nothing had to change, too. */
int image_boot(const rules_hal_t *hal);

/* The image in slot 0 (primary) or 1 (secondary). */
int image_slot_info(const rules_hal_t *hal, const image_state_t *st, unsigned slot, image_info_t *out);

/* The bank an upload writes: the one the primary does not use. */
unsigned image_upload_bank(const image_state_t *st);

/* Checks the first bytes of an upload of `total` bytes: an MCUboot header whose sizes fit. NULL when it is
 * one, else why not. */
const char *image_header_problem(const uint8_t *data, size_t len, uint32_t total);

/* SHA-256 of the first `len` bytes of a bank. */
int image_bank_sha256(const rules_hal_t *hal, unsigned bank, uint32_t len, uint8_t out[32]);

#endif /* RULES_IMAGE_H */
