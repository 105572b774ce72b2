/* The byte-level module verifier of device-abi.md §4 item 4: checks a rule artifact from its bytes alone
 * (WebAssembly 1.0 within the ABI's subset, type-checked; canonical counted loops; the worst-case
 * instruction count per tick within the manifest's and the target's limit) and the manifest against it. */
#ifndef RULES_VERIFY_H
#define RULES_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "rules_host.h"

/* Returns RULES_OK, or RULES_EVERIFY with the first reason in why. On success *cost (if not NULL) holds
 * the worst-case number of instructions one call of run executes. */
int verify_module(const uint8_t *wasm, size_t len, const rules_manifest_t *manifest, const rules_target_t *target,
                  uint64_t *cost, char *why, size_t why_size);

#endif /* RULES_VERIFY_H */
