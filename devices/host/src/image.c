/* Firmware images for SMP group 1 (see image.h): MCUboot's image format and swap-with-revert's bookkeeping,
 * over the HAL's image banks. Built only with RULES_IMAGE_GROUP 1. */
#include "image.h"

#if RULES_IMAGE_GROUP

#include <stdio.h>
#include <string.h>

#include "mbedtls/sha256.h"

#define TLV_INFO_MAGIC 0x6907u
#define TLV_PROT_INFO_MAGIC 0x6908u
#define TLV_SHA256 0x10u
static const uint8_t STATE_MAGIC[4] = {'I', 'M', 'G', 'S'};
#define STATE_BYTES 8

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int image_state_load(const rules_hal_t *hal, image_state_t *st) {
  const rules_image_hal_t *img = hal->image;
  uint8_t b[STATE_BYTES];
  st->primary = IMAGE_BUILTIN, st->secondary = IMAGE_EMPTY, st->flags = 0;
  int rc = img->state_load(hal->ctx, b, sizeof b);
  if (rc == RULES_ENOENT) return RULES_OK; /* never stored: the board runs what it was built with */
  if (rc) return rc;
  if (memcmp(b, STATE_MAGIC, 4) != 0) return RULES_EIO;
  bool ok = (b[4] <= 1 || b[4] == IMAGE_BUILTIN) && (b[5] <= 1 || b[5] == IMAGE_BUILTIN || b[5] == IMAGE_EMPTY) && b[4] != b[5];
  if (!ok) return RULES_EIO;
  st->primary = b[4], st->secondary = b[5], st->flags = b[6] & (IMAGE_PENDING | IMAGE_PERMANENT | IMAGE_UNCONFIRMED);
  return RULES_OK;
}

int image_state_store(const rules_hal_t *hal, const image_state_t *st) {
  uint8_t b[STATE_BYTES] = {0};
  memcpy(b, STATE_MAGIC, 4);
  b[4] = st->primary, b[5] = st->secondary, b[6] = st->flags;
  return hal->image->state_store(hal->ctx, b, sizeof b);
}

unsigned image_upload_bank(const image_state_t *st) { return st->primary == 1 ? 0u : 1u; }

const char *image_header_problem(const uint8_t *d, size_t len, uint32_t total) {
  if (len < IMAGE_HEADER_BYTES || get32(d) != IMAGE_MAGIC) return "not an MCUboot image (no header magic 0x96f3b83d)";
  uint32_t hdr = get16(d + 8), prot = get16(d + 10), body = get32(d + 12);
  if (hdr < IMAGE_HEADER_BYTES) return "not an MCUboot image (its header size is under 32 bytes)";
  if ((uint64_t)hdr + body + prot + 4 > total) return "not a whole MCUboot image (its sizes go past the end of the upload)";
  return NULL;
}

int image_bank_sha256(const rules_hal_t *hal, unsigned bank, uint32_t len, uint8_t out[32]) {
  mbedtls_sha256_context ctx;
  mbedtls_sha256_init(&ctx);
  int rc = mbedtls_sha256_starts_ret(&ctx, 0) ? RULES_EIO : RULES_OK;
  uint8_t chunk[256];
  for (uint32_t done = 0; !rc && done < len;) {
    uint32_t n = len - done < sizeof chunk ? len - done : (uint32_t)sizeof chunk;
    rc = hal->image->bank_read(hal->ctx, bank, done, chunk, n);
    if (!rc && mbedtls_sha256_update_ret(&ctx, chunk, n)) rc = RULES_EIO;
    done += n;
  }
  if (!rc && mbedtls_sha256_finish_ret(&ctx, out)) rc = RULES_EIO;
  mbedtls_sha256_free(&ctx);
  return rc;
}

/* A bank's image, if whole: the header's sizes fit the bank, and the SHA-256 TLV equals the hash of header,
 * body and protected TLVs (what MCUboot checks before it boots an image). */
static int bank_info(const rules_hal_t *hal, unsigned bank, image_info_t *out) {
  const rules_image_hal_t *img = hal->image;
  uint8_t h[IMAGE_HEADER_BYTES];
  int rc = img->bank_read(hal->ctx, bank, 0, h, sizeof h);
  if (rc) return rc;
  if (image_header_problem(h, sizeof h, img->bank_bytes)) return RULES_OK;
  uint32_t hashed = get16(h + 8) + get32(h + 12) + get16(h + 10);
  uint8_t info[4];
  rc = img->bank_read(hal->ctx, bank, hashed, info, sizeof info);
  if (rc) return rc;
  uint32_t tlv_end = hashed + get16(info + 2);
  if (get16(info) != TLV_INFO_MAGIC || tlv_end > img->bank_bytes) return RULES_OK;
  uint8_t digest[32], tlv[4 + 32];
  bool found = false;
  for (uint32_t at = hashed + 4; at + 4 <= tlv_end;) {
    rc = img->bank_read(hal->ctx, bank, at, tlv, 4);
    if (rc) return rc;
    uint16_t type = get16(tlv), n = get16(tlv + 2);
    if (type == TLV_SHA256 && n == 32 && at + 4 + 32 <= tlv_end) {
      rc = img->bank_read(hal->ctx, bank, at + 4, tlv + 4, 32);
      if (rc) return rc;
      found = true;
      break;
    }
    at += 4u + n;
  }
  if (!found) return RULES_OK;
  rc = image_bank_sha256(hal, bank, hashed, digest);
  if (rc) return rc;
  if (memcmp(digest, tlv + 4, 32) != 0) return RULES_OK;
  out->present = true;
  memcpy(out->hash, digest, 32);
  uint32_t build = get32(h + 24);
  if (build) snprintf(out->version, sizeof out->version, "%u.%u.%u.%lu", h[20], h[21], get16(h + 22), (unsigned long)build);
  else snprintf(out->version, sizeof out->version, "%u.%u.%u", h[20], h[21], get16(h + 22));
  return RULES_OK;
}

int image_slot_info(const rules_hal_t *hal, const image_state_t *st, unsigned slot, image_info_t *out) {
  memset(out, 0, sizeof *out);
  uint8_t where = slot == 0 ? st->primary : st->secondary;
  if (where == IMAGE_EMPTY) return RULES_OK;
  if (where == IMAGE_BUILTIN) {
    out->present = true;
    snprintf(out->version, sizeof out->version, "%s", hal->image->builtin_version);
    memcpy(out->hash, hal->image->builtin_hash, 32);
    return RULES_OK;
  }
  return bank_info(hal, where, out);
}

int image_boot(const rules_hal_t *hal) {
  image_state_t st;
  int rc = image_state_load(hal, &st);
  if (rc) return rc;
  image_state_t next = st;
  if (st.flags & IMAGE_PENDING) {
    image_info_t info;
    rc = image_slot_info(hal, &st, 1, &info);
    if (rc) return rc;
    if (info.present) { /* swap: the tested image runs, the old one waits in the secondary slot to revert to */
      next.primary = st.secondary, next.secondary = st.primary;
      next.flags = (st.flags & IMAGE_PERMANENT) ? 0 : IMAGE_UNCONFIRMED;
    } else {
      next.flags = 0; /* MCUboot does not boot a broken image: the request is dropped */
    }
  } else if (st.flags & IMAGE_UNCONFIRMED) { /* the test image was not confirmed: revert */
    next.primary = st.secondary, next.secondary = st.primary, next.flags = 0;
  }
  if (memcmp(&next, &st, sizeof st) == 0) return RULES_OK;
  return image_state_store(hal, &next);
}

#else
typedef int image_group_left_out_t; /* ISO C wants a translation unit to declare something */
#endif
