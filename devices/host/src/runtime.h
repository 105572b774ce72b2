/* One rule on wasm3: its own runtime, the io imports linked to the HAL with the run-time checks of
 * device-abi.md §5 (capabilities, saturation to ranges), and atomic ticks (writes applied on return). */
#ifndef RULES_RUNTIME_H
#define RULES_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "rules_host.h"
#include "wasm3.h"

#ifndef RULES_MAX_ARTIFACT_BYTES
#define RULES_MAX_ARTIFACT_BYTES 256
#endif

typedef struct rule_instance {
  bool loaded;
  IM3Runtime runtime;
  IM3Module module; /* owned by runtime once loaded */
  IM3Function run;
  uint8_t wasm[RULES_MAX_ARTIFACT_BYTES]; /* wasm3 keeps pointers into the module's bytes */
  size_t wasm_len;
  rules_manifest_t manifest;
  const rules_hal_t *hal;
  /* This tick's GPIO writes, applied together when run returns. */
  uint32_t pending_pin[RULES_MAX_CAPS];
  int32_t pending_level[RULES_MAX_CAPS];
  uint8_t pending;
  uint32_t saturated;
  uint32_t channel_saturated[RULES_MAX_CAPS]; /* parallel to manifest.sensor */
  char trap[RULES_ERROR_TEXT_BYTES]; /* why an import trapped */
} rule_instance_t;

int runtime_load(rule_instance_t *inst, IM3Environment env, const uint8_t *wasm, size_t len, const rules_manifest_t *m,
                 const rules_hal_t *hal, char *why, size_t why_size);
/* One call of run(now_ms). RULES_OK with *next set, or RULES_ETRAP with the reason in why (nothing applied). */
int runtime_tick(rule_instance_t *inst, uint32_t now_ms, int32_t *next, char *why, size_t why_size);
void runtime_free(rule_instance_t *inst);

#endif /* RULES_RUNTIME_H */
