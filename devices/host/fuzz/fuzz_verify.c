/* libFuzzer target: the byte-level module verifier on any bytes, against a manifest that grants every import,
 * so the fuzzer reaches the type checker and the cost walk. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rules_channel_t CHANNELS[] = {{0, -40000, 125000}};
static const rules_target_t TARGET = {"fuzz", 0, 79, CHANNELS, 1, 4096, 64, 100000, 256, 1, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rules_manifest_t m;
  memset(&m, 0, sizeof m);
  m.imports = IO_GR_BIT | IO_GW_BIT | IO_SR_BIT;
  m.n_gpio_in = m.n_gpio_out = m.n_sensor = 1;
  m.max_instructions = 100000;
  m.state_slots = size > 0 ? data[0] % 4 : 0;
  char why[128];
  uint64_t cost;
  (void)verify_module(data, size, &m, &TARGET, &cost, why, sizeof why);
  return 0;
}
