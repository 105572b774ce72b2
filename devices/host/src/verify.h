/* The module verifier of device-abi.md §4.5, the same algorithm as contract/verify.ts: from a rule's bytes alone,
 * WebAssembly 1.0 within the ABI's subset, type-checked; canonical counted loops only; the worst-case number of
 * instructions per tick (the bound) within the manifest's claim, itself within the target's limit. */
#ifndef RULES_VERIFY_H
#define RULES_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_host.h"

/* The sizes of §4.5 ("size" refusals); this host's table of instructions is RULES_VERIFY_MAX_INSTRUCTIONS. */
#define VERIFY_MAX_LOCALS 256
#define VERIFY_MAX_STACK 256
#define VERIFY_MAX_DEPTH 64
#define VERIFY_MAX_FUNCTIONS 256

typedef struct verify_result {
  const char *code;  /* NULL when accepted, else the refusal code of §4.5 ("loop-form", ...) */
  uint32_t bound;    /* the worst-case instructions per tick, when computed */
  int32_t function;  /* the function the refusal is about, or -1 */
  int32_t offset;    /* the byte offset in the module, or -1 */
  uint8_t imports;   /* IO_*_BIT of the io functions the module imports */
  uint32_t globals;  /* the globals it defines */
} verify_result_t;

#define VERIFY_IO_GR 1u
#define VERIFY_IO_GW 2u
#define VERIFY_IO_SR 4u

/* Returns RULES_OK (accepted) or RULES_EVERIFY, with the code in out->code and a reason in why. */
int verify_module(const uint8_t *wasm, size_t len, uint32_t claim, uint32_t limit, bool floating_point,
                  verify_result_t *out, char *why, size_t why_size);

#endif /* RULES_VERIFY_H */
