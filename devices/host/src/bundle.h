/* Signed rule bundles (docs/bundle.md) as a device reads them: the envelope {v, kid, sig, body}, the
 * signature over "rules-bundle-v1\0" || body with Monocypher's Ed25519, and the body's manifest and wasm. */
#ifndef RULES_BUNDLE_H
#define RULES_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_host.h"

#define BUNDLE_FORMAT 1
#define BUNDLE_KID_BYTES 8
#define BUNDLE_SIG_BYTES 64
#define BUNDLE_TARGET_MAX 31

#define IO_GR_BIT 1u
#define IO_GW_BIT 2u
#define IO_SR_BIT 4u

typedef struct rules_manifest {
  char rule[RULES_NAME_MAX + 1];
  char target[BUNDLE_TARGET_MAX + 1];
  uint32_t version, abi, size, period_ms, state_slots, max_instructions;
  uint8_t sha256[32];
  uint8_t imports; /* IO_*_BIT */
  uint8_t n_sensor, n_gpio_in, n_gpio_out;
  uint32_t sensor[RULES_MAX_CAPS];
  uint32_t gpio_in[RULES_MAX_CAPS];
  uint32_t gpio_out[RULES_MAX_CAPS];
  int32_t range_min[RULES_MAX_CAPS]; /* parallel to sensor[] */
  int32_t range_max[RULES_MAX_CAPS];
} rules_manifest_t;

typedef struct bundle {
  const uint8_t *kid;
  const uint8_t *sig;
  const uint8_t *body;
  size_t body_len;
  const uint8_t *wasm;
  size_t wasm_len;
  bool has_rollback;
  uint32_t rollback;
  rules_manifest_t manifest;
} bundle_t;

/* Each returns RULES_OK or the RULES_E* reason, with a one-line explanation in why. */
int bundle_parse_envelope(const uint8_t *bytes, size_t len, bundle_t *out, char *why, size_t why_size);
/* Finds the key by id and checks the signature; `scratch` must hold 16 + body_len bytes. */
int bundle_check_signature(const bundle_t *b, const rules_key_t *keys, size_t key_count, uint8_t *scratch,
                           size_t scratch_size, char *why, size_t why_size);
int bundle_parse_body(bundle_t *b, char *why, size_t why_size);

#endif /* RULES_BUNDLE_H */
