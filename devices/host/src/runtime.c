/* Runs one rule on wasm3 (see runtime.h). Every import call is checked against the manifest before the
 * board is touched; a failed check or a HAL failure traps the rule through wasm3's normal unwinding. */
#include "runtime.h"

#include <stdio.h>
#include <string.h>

static const char TRAP_CAPABILITY[] = "[trap] capability violation";
static const char TRAP_HAL[] = "[trap] board I/O failed";
static const char TRAP_WRITES[] = "[trap] too many GPIO writes in one tick";

static bool listed(const uint32_t *list, uint8_t n, uint32_t v, size_t *at) {
  for (uint8_t i = 0; i < n; i++) {
    if (list[i] == v) {
      if (at) *at = i;
      return true;
    }
  }
  return false;
}

static const void *violation(rule_instance_t *r, const char *what, int32_t which, const char *import, const char *cap) {
  snprintf(r->trap, sizeof r->trap, "rule used %s %ld through %s, which its manifest does not declare in %s", what,
           (long)which, import, cap);
  return TRAP_CAPABILITY;
}

static const void *io_gr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)ctx, (void)mem;
  rule_instance_t *r = m3_GetUserData(runtime);
  int32_t pin = *(int32_t *)&sp[1];
  if (pin < 0 || !listed(r->manifest.gpio_in, r->manifest.n_gpio_in, (uint32_t)pin, NULL)) {
    return violation(r, "GPIO input pin", pin, "io.gr", "gpio_in");
  }
  int32_t level = 0;
  if (r->hal->gpio_read(r->hal->ctx, (uint32_t)pin, &level) != 0) {
    snprintf(r->trap, sizeof r->trap, "reading GPIO input pin %ld failed", (long)pin);
    return TRAP_HAL;
  }
  *(int32_t *)&sp[0] = level != 0;
  return m3Err_none;
}

static const void *io_gw(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)ctx, (void)mem;
  rule_instance_t *r = m3_GetUserData(runtime);
  int32_t pin = *(int32_t *)&sp[0];
  int32_t level = *(int32_t *)&sp[1] != 0;
  if (pin < 0 || !listed(r->manifest.gpio_out, r->manifest.n_gpio_out, (uint32_t)pin, NULL)) {
    return violation(r, "GPIO output pin", pin, "io.gw", "gpio_out");
  }
  size_t at;
  if (listed(r->pending_pin, r->pending, (uint32_t)pin, &at)) {
    r->pending_level[at] = level; /* the last write of a tick wins */
  } else {
    if (r->pending >= RULES_MAX_CAPS) {
      snprintf(r->trap, sizeof r->trap, "too many GPIO writes in one tick");
      return TRAP_WRITES;
    }
    r->pending_pin[r->pending] = (uint32_t)pin;
    r->pending_level[r->pending] = level;
    r->pending++;
  }
  return m3Err_none;
}

static const void *io_sr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)ctx, (void)mem;
  rule_instance_t *r = m3_GetUserData(runtime);
  int32_t channel = *(int32_t *)&sp[1];
  size_t at;
  if (channel < 0 || !listed(r->manifest.sensor, r->manifest.n_sensor, (uint32_t)channel, &at)) {
    return violation(r, "sensor channel", channel, "io.sr", "sensor");
  }
  int32_t value = 0;
  if (r->hal->sensor_read(r->hal->ctx, (uint32_t)channel, &value) != 0) {
    snprintf(r->trap, sizeof r->trap, "reading sensor channel %ld failed", (long)channel);
    return TRAP_HAL;
  }
  /* The compiler's proofs rely on readings within the range: saturate, and count it. */
  if (value < r->manifest.range_min[at] || value > r->manifest.range_max[at]) {
    value = value < r->manifest.range_min[at] ? r->manifest.range_min[at] : r->manifest.range_max[at];
    r->saturated++;
    r->channel_saturated[at]++;
  }
  *(int32_t *)&sp[0] = value;
  return m3Err_none;
}

static void describe(IM3Runtime runtime, M3Result result, const char *detail, char *why, size_t size) {
  M3ErrorInfo info;
  memset(&info, 0, sizeof info);
  if (runtime) m3_GetErrorInfo(runtime, &info);
  if (detail && detail[0]) snprintf(why, size, "%s", detail);
  else if (info.result == result && info.message && info.message[0]) snprintf(why, size, "%s: %s", result, info.message);
  else snprintf(why, size, "%s", result);
}

void runtime_free(rule_instance_t *inst) {
  if (inst->runtime) m3_FreeRuntime(inst->runtime); /* frees the loaded module too */
  else if (inst->module) m3_FreeModule(inst->module);
  inst->runtime = NULL;
  inst->module = NULL;
  inst->run = NULL;
  inst->loaded = false;
}

int runtime_load(rule_instance_t *inst, IM3Environment env, const uint8_t *wasm, size_t len, const rules_manifest_t *m,
                 const rules_hal_t *hal, char *why, size_t why_size) {
  memset(inst, 0, sizeof *inst);
  if (len > sizeof inst->wasm) {
    snprintf(why, why_size, "the artifact has %u bytes; this build keeps at most %u", (unsigned)len, (unsigned)sizeof inst->wasm);
    return RULES_ETOOBIG;
  }
  memcpy(inst->wasm, wasm, len);
  inst->wasm_len = len;
  inst->manifest = *m;
  inst->hal = hal;
  inst->runtime = m3_NewRuntime(env, RULES_WASM3_STACK_BYTES, inst);
  if (!inst->runtime) {
    snprintf(why, why_size, "out of memory for the rule's runtime");
    return RULES_ENOMEM;
  }
  M3Result result = m3_ParseModule(env, &inst->module, inst->wasm, (uint32_t)len);
  if (!result) {
    result = m3_LoadModule(inst->runtime, inst->module);
    if (result) {
      m3_FreeModule(inst->module); /* a module that failed to load still belongs to us */
    }
  }
  if (result) {
    inst->module = NULL;
    describe(inst->runtime, result, NULL, why, why_size);
    runtime_free(inst);
    return RULES_EVERIFY;
  }
  /* Only the io imports the module has are linked; the verifier already refused any other import. */
  static const struct { const char *field, *sig; M3RawCall fn; } IO[] = {
      {"gr", "i(i)", io_gr}, {"gw", "v(ii)", io_gw}, {"sr", "i(i)", io_sr}};
  for (size_t i = 0; i < 3; i++) {
    if (!(m->imports & (1u << i))) continue;
    result = m3_LinkRawFunction(inst->module, "io", IO[i].field, IO[i].sig, IO[i].fn);
    if (result && result != m3Err_functionLookupFailed) break;
    result = m3Err_none;
  }
  if (!result) result = m3_CompileModule(inst->module);
  if (!result) result = m3_FindFunction(&inst->run, inst->runtime, "run");
  if (result) {
    describe(inst->runtime, result, NULL, why, why_size);
    runtime_free(inst);
    return RULES_EVERIFY;
  }
  inst->loaded = true;
  return RULES_OK;
}

int runtime_tick(rule_instance_t *inst, uint32_t now_ms, int32_t *next, char *why, size_t why_size) {
  inst->pending = 0;
  inst->trap[0] = 0;
  M3Result result = m3_CallV(inst->run, (int32_t)now_ms);
  int32_t returned = 0;
  if (!result) result = m3_GetResultsV(inst->run, &returned);
  if (result) {
    inst->pending = 0; /* a tick that traps has no effect */
    describe(inst->runtime, result, inst->trap, why, why_size);
    return RULES_ETRAP;
  }
  for (uint8_t i = 0; i < inst->pending; i++) {
    if (inst->hal->gpio_write(inst->hal->ctx, inst->pending_pin[i], inst->pending_level[i]) != 0) {
      snprintf(why, why_size, "driving GPIO output pin %lu failed", (unsigned long)inst->pending_pin[i]);
      inst->pending = 0;
      return RULES_ETRAP;
    }
  }
  inst->pending = 0;
  *next = returned;
  return RULES_OK;
}
