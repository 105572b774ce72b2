/* libFuzzer target: the SMP serial deframer on any byte stream, then the CBOR reader on every packet it
 * completes, as the server would read the payload. */
#include <stddef.h>
#include <stdint.h>

#include "cbor.h"
#include "smp_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static smp_deframer_t d;
  smp_deframer_init(&d);
  for (size_t i = 0; i < size; i++) {
    size_t body = smp_deframer_push(&d, data[i]);
    if (body >= 8) {
      cbor_reader_t r;
      cbor_reader_init(&r, d.packet + 2 + 8, body - 8);
      (void)cbor_skip(&r);
    }
  }
  return 0;
}
