/* libFuzzer target: the byte-level module verifier on any bytes, with a claim and floating point taken from its
 * first bytes, so the fuzzer reaches the type checker, the loop rules and the cost walk. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[128];
  verify_result_t v;
  uint32_t claim = size > 0 ? data[0] * 40u : 0;
  (void)verify_module(data, size, claim, 10000, size > 1 && (data[1] & 1), &v, why, sizeof why);
  return 0;
}
