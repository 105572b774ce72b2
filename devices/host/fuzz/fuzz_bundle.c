/* libFuzzer target: the bundle envelope and body parsers (with the manifest and the CBOR reader under them) on
 * any bytes. The signature check is skipped so the fuzzer reaches the body parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bundle_t b;
  char why[96];
  if (bundle_parse_envelope(data, size, &b, why, sizeof why) == RULES_OK) (void)bundle_parse_body(&b, why, sizeof why);
  /* The same bytes as a body, so body and manifest parsing are reached without a valid envelope. */
  bundle_t body;
  memset(&body, 0, sizeof body);
  body.body = data;
  body.body_len = size;
  (void)bundle_parse_body(&body, why, sizeof why);
  return 0;
}
