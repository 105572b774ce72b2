/* The bench's "limit": the least a host can do to run a rule on wasm3, built by bench/c-host.ts with cc from the
 * same wasm3 sources and flags as the engine's binding. It loads an artifact, links io.gr/io.gw/io.sr to C
 * functions reading static arrays (no checks, no saturation), and times ticks: per tick it copies one row of
 * prepared inputs into those arrays and calls `run`, as a device's main loop would.
 *
 *   c-host ARTIFACT.wasm INPUTS.bin PERIOD_MS ROUNDS TICKS CHECK_TICKS
 *
 * INPUTS.bin, little-endian int32: nInputs, nChannels, nRows, the input pins, the channels, then nRows rows of
 * nInputs levels and nChannels readings. Prints "NS_PER_TICK CHECKSUM": the mean of the best of ROUNDS rounds of
 * TICKS ticks, and a checksum of CHECK_TICKS ticks on a fresh instance (results and writes), which the bench
 * compares with the engine's on the same inputs so both are known to run the same thing. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasm3.h"

#define MAX_PIN 4096

static int32_t gpioLevel[MAX_PIN];
static int32_t sensorReading[MAX_PIN];
static int32_t written[MAX_PIN]; /* -1: not written this tick */

static const void *io_gr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)runtime, (void)ctx, (void)mem;
  *(int32_t *)&sp[0] = gpioLevel[*(uint32_t *)&sp[1] % MAX_PIN];
  return m3Err_none;
}

static const void *io_gw(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)runtime, (void)ctx, (void)mem;
  written[*(uint32_t *)&sp[0] % MAX_PIN] = *(int32_t *)&sp[1] != 0;
  return m3Err_none;
}

static const void *io_sr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)runtime, (void)ctx, (void)mem;
  *(int32_t *)&sp[0] = sensorReading[*(uint32_t *)&sp[1] % MAX_PIN];
  return m3Err_none;
}

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "c-host: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) fail("cannot open", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
  if (!bytes || fread(bytes, 1, (size_t)n, f) != (size_t)n) fail("cannot read", path);
  fclose(f);
  *size = (size_t)n;
  return bytes;
}

typedef struct {
  IM3Environment env;
  IM3Runtime runtime;
  IM3Function run;
} Instance;

static Instance load(uint8_t *wasm, size_t size) {
  Instance in;
  IM3Module module;
  in.env = m3_NewEnvironment();
  in.runtime = m3_NewRuntime(in.env, 64 * 1024, NULL);
  M3Result r = m3_ParseModule(in.env, &module, wasm, (uint32_t)size);
  if (!r) r = m3_LoadModule(in.runtime, module);
  /* A rule imports only what it uses; linking an absent import is not an error worth stopping for. */
  if (!r) {
    M3Result l;
    if ((l = m3_LinkRawFunction(module, "io", "gr", "i(i)", io_gr)) && l != m3Err_functionLookupFailed) r = l;
    if ((l = m3_LinkRawFunction(module, "io", "gw", "v(ii)", io_gw)) && l != m3Err_functionLookupFailed) r = l;
    if ((l = m3_LinkRawFunction(module, "io", "sr", "i(i)", io_sr)) && l != m3Err_functionLookupFailed) r = l;
  }
  if (!r) r = m3_CompileModule(module);
  if (!r) r = m3_FindFunction(&in.run, in.runtime, "run");
  if (r) fail("cannot load the artifact", r);
  return in;
}

static void unload(Instance *in) {
  m3_FreeRuntime(in->runtime);
  m3_FreeEnvironment(in->env);
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 7) fail("usage: c-host ARTIFACT.wasm INPUTS.bin PERIOD_MS ROUNDS TICKS CHECK_TICKS", NULL);
  size_t wasmSize, inputSize;
  uint8_t *wasm = read_file(argv[1], &wasmSize);
  int32_t *inputs = (int32_t *)read_file(argv[2], &inputSize);
  int32_t period = atoi(argv[3]);
  long rounds = atol(argv[4]), ticks = atol(argv[5]), checkTicks = atol(argv[6]);
  int32_t nIn = inputs[0], nCh = inputs[1], nRows = inputs[2];
  const int32_t *pins = inputs + 3, *channels = pins + nIn, *rows = channels + nCh;
  int32_t width = nIn + nCh;
  if ((size_t)(3 + width + (size_t)nRows * width) * 4 != inputSize) fail("INPUTS.bin has the wrong size", argv[2]);

  /* The checksum: every result and every pin written, weighted by the tick, on a fresh instance. */
  Instance in = load(wasm, wasmSize);
  int64_t checksum = 0;
  for (long t = 0; t < checkTicks; t++) {
    const int32_t *row = rows + (t % nRows) * width;
    for (int32_t i = 0; i < nIn; i++) gpioLevel[pins[i]] = row[i];
    for (int32_t k = 0; k < nCh; k++) sensorReading[channels[k]] = row[nIn + k];
    memset(written, 0xff, sizeof written);
    int32_t result = 0;
    M3Result r = m3_CallV(in.run, (int32_t)((t + 1) * period));
    if (!r) r = m3_GetResultsV(in.run, &result);
    if (r) fail("the rule trapped", r);
    checksum += (int64_t)result * (t + 1);
    for (int32_t pin = 0; pin < MAX_PIN; pin++) {
      if (written[pin] >= 0) checksum += (int64_t)(pin * 2 + written[pin] + 1) * (t + 1);
    }
  }
  unload(&in);

  in = load(wasm, wasmSize);
  double best = 1e30;
  int64_t sink = 0;
  int32_t now = 0;
  for (long round = 0; round < rounds; round++) {
    double start = seconds();
    for (long t = 0; t < ticks; t++) {
      const int32_t *row = rows + (t % nRows) * width;
      for (int32_t i = 0; i < nIn; i++) gpioLevel[pins[i]] = row[i];
      for (int32_t k = 0; k < nCh; k++) sensorReading[channels[k]] = row[nIn + k];
      int32_t result = 0;
      now += period;
      M3Result r = m3_CallV(in.run, now);
      if (!r) r = m3_GetResultsV(in.run, &result);
      if (r) fail("the rule trapped", r);
      sink += result;
    }
    double ns = (seconds() - start) * 1e9 / (double)ticks;
    if (ns < best) best = ns;
  }
  unload(&in);
  printf("%.1f %lld\n", best, (long long)checksum);
  return sink == 0x7fffffffffffffffLL; /* keeps the results alive; never true */
}
