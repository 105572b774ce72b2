/* N-API binding over wasm3 v0.5.0: class Wasm3Rule loads one rule module into its own wasm3 environment and
 * runtime (so rules are isolated) and runs ticks with the io in C: io.gr/io.sr read a buffer JS fills before the
 * tick, io.gw writes a buffer JS applies after it, with the capability checks and saturation done here. A batch
 * runs many ticks in one call from a table of prepared inputs, recording what each tick did. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "wasm3.h"
/* Internal headers: rule globals are never exported, so they are read by index from M3Module.globals; and `run` is
 * entered directly (call_run), as m3_CallV does. */
#include "m3_env.h"
#include "m3_exec_defs.h"

/* ---- settings (override with -D in binding.gyp) ---------------------------------------------------------- */

#ifndef RULES_WASM3_STACK_BYTES
#define RULES_WASM3_STACK_BYTES (64 * 1024) /* wasm3 value stack per rule; rules use a few dozen slots */
#endif

#ifndef RULES_MAX_MODULE_BYTES
#define RULES_MAX_MODULE_BYTES (1024 * 1024) /* only bounds the private copy; target caps are far smaller */
#endif

#ifndef RULES_MAX_GLOBALS
#define RULES_MAX_GLOBALS 256 /* globals restored after a trap; more are refused at load */
#endif

#ifndef RULES_MAX_IO
#define RULES_MAX_IO 1024 /* declared pins or channels of each kind; profiles have far fewer */
#endif

#ifndef RULES_IO_LOOKUP
#define RULES_IO_LOOKUP 128 /* pins and channels below this are found through a table, others by a scan */
#endif

#ifndef RULES_ERROR_TEXT_BYTES
#define RULES_ERROR_TEXT_BYTES 512
#endif

/* The interface between this file and engine/native-addon.ts: raised whenever it changes, so that a binding built
 * from older sources is refused with a clear message instead of failing on its first call. */
#define RULES_BINDING_VERSION 2

/* ---- error codes, set as err.code on everything this binding throws --------------------------------------- */

#define ERR_INVALID_ARG "ERR_WASM3_INVALID_ARG"
#define ERR_LOAD "ERR_WASM3_LOAD"
#define ERR_TRAP "ERR_WASM3_TRAP"
#define ERR_CLOSED "ERR_WASM3_CLOSED"
#define ERR_BUSY "ERR_WASM3_BUSY"
#define ERR_GLOBAL "ERR_WASM3_GLOBAL"
#define ERR_INTERNAL "ERR_WASM3_INTERNAL"

/* Our own trap, returned from the io functions so wasm3 unwinds the call like any other trap; why it was raised
 * goes to JS as err.hostTrap and err.hostValue (a HostTrap and the pin, the channel or the channel's index). */
static const char TRAP_HOST_CALL_FAILED[] = "[trap] host function failed";

typedef enum {
  HOST_TRAP_NONE = 0,
  HOST_TRAP_GR_UNDECLARED = 1, /* hostValue: the pin */
  HOST_TRAP_GW_UNDECLARED = 2, /* hostValue: the pin */
  HOST_TRAP_SR_UNDECLARED = 3, /* hostValue: the channel */
  HOST_TRAP_SR_NOT_A_NUMBER = 4, /* hostValue: the channel's index in the frame */
} HostTrap;

/* In `written`: the output pin was not written this tick. */
#define NOT_WRITTEN (-1)

/* ---- the io imports of device ABI v1 ---------------------------------------------------------------------- */

typedef enum { IO_GR, IO_GW, IO_SR, IO_COUNT } IoImport;

static const char IO_MODULE[] = "io";

static const struct {
  const char *field;
  const char *signature; /* wasm3 notation: results, then (parameters) */
} IO_IMPORTS[IO_COUNT] = {
    [IO_GR] = {"gr", "i(i)"},
    [IO_GW] = {"gw", "v(ii)"},
    [IO_SR] = {"sr", "i(i)"},
};

/* ---- one loaded rule -------------------------------------------------------------------------------------- */

/* What the manifest declares, copied at construction, and the buffers shared with JS (engine/tick-frame.ts):
 * readings = input levels (0/1) in gpio_in order, then raw sensor readings in sensor order, filled by JS before
 * each tick; written = per gpio_out pin NOT_WRITTEN or the last level of this tick; saturations = counts per
 * channel. The typed arrays stay alive through references, and their non-resizable buffers never move. */
typedef struct Frame {
  uint32_t numInputs, numOutputs, numChannels;
  int32_t *inputs, *outputs, *channels; /* one allocation, with min and max */
  double *min, *max;
  double *readings;
  int32_t *written;
  double *saturations;
  int32_t *control; /* [0]: now, set by JS before the tick; [1]: what `run` returned; [2]: a batch's negative results */
  uint64_t *countedAt; /* per channel, the serial of the tick whose saturation was last counted (no clearing per tick) */
  /* Index in inputs/outputs/channels by pin or channel number (-1: not declared), for numbers below RULES_IO_LOOKUP. */
  int16_t inputAt[RULES_IO_LOOKUP], outputAt[RULES_IO_LOOKUP], channelAt[RULES_IO_LOOKUP];
  napi_ref shared[4];
} Frame;

typedef struct Rule {
  uint8_t *wasm; /* our copy: wasm3 keeps pointers into it for the module's whole life */
  uint32_t wasmSize;
  Frame frame;

  IM3Environment environment;
  IM3Runtime runtime;
  IM3Module module; /* owned by runtime once loaded */
  IM3Function run;

  /* The current tick's inputs (levels in gpio_in order, then readings in sensor order) and where its writes go: the
   * frame's buffers for a live tick, a row of the batch's tables for a batched one. */
  const double *in;
  int32_t *out;
  uint8_t *saturatedOut; /* a batch's per-tick saturation marks, or NULL */
  uint64_t tickSerial; /* counts ticks from 1; 64 bits never wrap */

  HostTrap hostTrap; /* why the current tick trapped in an io function */
  int32_t hostValue;
  bool running;
  bool closed;
  int owners; /* see finalize_rule */
  int64_t savedGlobals[RULES_MAX_GLOBALS]; /* the globals before the current tick, put back if it traps */
} Rule;

static void free_instance(Rule *rule) {
  if (rule->runtime) {
    m3_FreeRuntime(rule->runtime); /* frees the loaded module too */
  } else if (rule->module) {
    m3_FreeModule(rule->module);
  }
  if (rule->environment) m3_FreeEnvironment(rule->environment);
  rule->runtime = NULL;
  rule->module = NULL;
  rule->environment = NULL;
  rule->run = NULL;
}

static void free_rule(napi_env env, Rule *rule) {
  free_instance(rule);
  for (int i = 0; i < 4; i++) {
    if (rule->frame.shared[i]) napi_delete_reference(env, rule->frame.shared[i]);
    rule->frame.shared[i] = NULL;
  }
  free(rule->frame.inputs);
  memset(&rule->frame, 0, sizeof rule->frame);
  free(rule->wasm);
  rule->wasm = NULL;
  rule->closed = true;
}

/* The Rule is owned by its JS object and by the object's `handle` (which may be kept apart from it): the first
 * finalizer frees wasm3's memory, the last frees the Rule itself. */
static void finalize_rule(napi_env env, void *data, void *hint) {
  (void)hint;
  Rule *rule = data;
  if (!rule->closed) free_rule(env, rule);
  if (--rule->owners == 0) free(rule);
}

/* ---- the io functions: the hot path, no JS -------------------------------------------------------------- */

static int32_t slot_i32(const uint64_t *slot) { return *(const int32_t *)slot; }

/* Where `value` is in a declared list: through its table when small (every profile's pins and channels are), else
 * by a scan; -1 when it is not declared. */
static inline int32_t index_of(const int16_t *table, const int32_t *list, uint32_t count, int32_t value) {
  if ((uint32_t)value < RULES_IO_LOOKUP) return table[value];
  for (uint32_t i = 0; i < count; i++) {
    if (list[i] == value) return (int32_t)i;
  }
  return -1;
}

static void fill_lookup(int16_t *table, const int32_t *list, uint32_t count) {
  for (uint32_t v = 0; v < RULES_IO_LOOKUP; v++) table[v] = -1;
  for (uint32_t i = count; i-- > 0;) { /* backwards, so the first of duplicates wins, as in the scan */
    if ((uint32_t)list[i] < RULES_IO_LOOKUP) table[list[i]] = (int16_t)i;
  }
}

static const void *host_trap(Rule *rule, HostTrap why, int32_t value) {
  rule->hostTrap = why;
  rule->hostValue = value;
  return TRAP_HOST_CALL_FAILED;
}

/* Raw wasm3 calls: results come first on the slot stack, then arguments, one 64-bit slot each. */
static const void *io_gr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)runtime, (void)mem;
  Rule *rule = ctx->userdata;
  int32_t pin = slot_i32(&sp[1]);
  int32_t i = index_of(rule->frame.inputAt, rule->frame.inputs, rule->frame.numInputs, pin);
  if (i < 0) return host_trap(rule, HOST_TRAP_GR_UNDECLARED, pin);
  double level = rule->in[i];
  *(int32_t *)&sp[0] = level != 0 && level == level; /* as JS truthiness: NaN reads as 0 */
  return m3Err_none;
}

static const void *io_gw(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)runtime, (void)mem;
  Rule *rule = ctx->userdata;
  int32_t pin = slot_i32(&sp[0]);
  int32_t k = index_of(rule->frame.outputAt, rule->frame.outputs, rule->frame.numOutputs, pin);
  if (k < 0) return host_trap(rule, HOST_TRAP_GW_UNDECLARED, pin);
  rule->out[k] = slot_i32(&sp[1]) != 0; /* buffered: applied by JS when run returns, or recorded by a batch */
  return m3Err_none;
}

/* A reading truncated and saturated to the manifest's range; a saturation counts once per tick and channel. */
static const void *io_sr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)runtime, (void)mem;
  Rule *rule = ctx->userdata;
  Frame *frame = &rule->frame;
  int32_t channel = slot_i32(&sp[1]);
  int32_t k = index_of(frame->channelAt, frame->channels, frame->numChannels, channel);
  if (k < 0) return host_trap(rule, HOST_TRAP_SR_UNDECLARED, channel);
  double reading = rule->in[frame->numInputs + (uint32_t)k];
  /* Within the (integer) range, truncating cannot leave it: the common case, without the NaN and range work. */
  if (reading >= frame->min[k] && reading <= frame->max[k]) {
    *(int32_t *)&sp[0] = (int32_t)reading;
    return m3Err_none;
  }
  if (isnan(reading)) return host_trap(rule, HOST_TRAP_SR_NOT_A_NUMBER, k);
  double value = trunc(reading);
  if (value < frame->min[k] || value > frame->max[k]) {
    value = value < frame->min[k] ? frame->min[k] : frame->max[k];
    if (frame->countedAt[k] != rule->tickSerial) {
      frame->countedAt[k] = rule->tickSerial;
      frame->saturations[k] += 1;
      if (rule->saturatedOut) rule->saturatedOut[k] = 1;
    }
  }
  *(int32_t *)&sp[0] = (int32_t)value;
  return m3Err_none;
}

static const M3RawCall IO_TRAMPOLINES[IO_COUNT] = {[IO_GR] = io_gr, [IO_GW] = io_gw, [IO_SR] = io_sr};

/* ---- instantiation ---------------------------------------------------------------------------------------- */

/* Appends wasm3's detailed message for the last error, when it has one, to its result string. */
static void describe_m3_error(Rule *rule, M3Result result, char *out, size_t size) {
  M3ErrorInfo info;
  memset(&info, 0, sizeof info);
  if (rule->runtime) m3_GetErrorInfo(rule->runtime, &info);
  if (info.result == result && info.message && info.message[0]) {
    snprintf(out, size, "%s: %s", result, info.message);
  } else {
    snprintf(out, size, "%s", result);
  }
}

static bool link_imports(Rule *rule, char *detail, size_t size) {
  IM3Module module = rule->module;
  for (uint32_t i = 0; i < module->numFunctions; i++) {
    M3Function *function = &module->functions[i];
    const char *moduleName = function->import.moduleUtf8;
    const char *field = function->import.fieldUtf8;
    if (!moduleName || !field) continue;

    int which = -1;
    for (int k = 0; k < IO_COUNT; k++) {
      if (strcmp(moduleName, IO_MODULE) == 0 && strcmp(field, IO_IMPORTS[k].field) == 0) which = k;
    }
    if (which < 0) {
      snprintf(detail, size, "the module imports %s.%s, which this host does not provide", moduleName, field);
      return false;
    }
    M3Result result = m3_LinkRawFunctionEx(module, IO_MODULE, field, IO_IMPORTS[which].signature,
                                           IO_TRAMPOLINES[which], rule);
    if (result) {
      snprintf(detail, size, "cannot link io.%s (expected type %s): %s", field, IO_IMPORTS[which].signature, result);
      return false;
    }
  }
  return true;
}

/* Builds a fresh environment, runtime and module from the kept bytes; on failure leaves nothing allocated. */
static bool instantiate(Rule *rule, char *detail, size_t size) {
  M3Result result = m3Err_none;
  rule->environment = m3_NewEnvironment();
  if (rule->environment) rule->runtime = m3_NewRuntime(rule->environment, RULES_WASM3_STACK_BYTES, rule);
  if (!rule->environment || !rule->runtime) {
    snprintf(detail, size, "%s", m3Err_mallocFailed);
    free_instance(rule);
    return false;
  }

  IM3Module module = NULL;
  result = m3_ParseModule(rule->environment, &module, rule->wasm, rule->wasmSize);
  if (result) {
    describe_m3_error(rule, result, detail, size);
    free_instance(rule);
    return false;
  }
  result = m3_LoadModule(rule->runtime, module);
  if (result) {
    describe_m3_error(rule, result, detail, size);
    m3_FreeModule(module); /* a module that failed to load still belongs to us */
    free_instance(rule);
    return false;
  }
  rule->module = module;

  if (!link_imports(rule, detail, size)) {
    free_instance(rule);
    return false;
  }
  /* Compile everything now so a compile error shows at load time, not at the first tick. */
  result = m3_CompileModule(module);
  if (!result) result = m3_FindFunction(&rule->run, rule->runtime, "run");
  if (!result && !rule->run->compiled) result = m3Err_missingCompiledCode; /* call_run enters the compiled code */
  if (result) {
    describe_m3_error(rule, result, detail, size);
    free_instance(rule);
    return false;
  }
  if (module->numGlobals > RULES_MAX_GLOBALS) {
    snprintf(detail, size, "the module has %u globals; this host keeps at most %d", module->numGlobals, RULES_MAX_GLOBALS);
    free_instance(rule);
    return false;
  }
  if (m3_GetArgCount(rule->run) != 1 || m3_GetRetCount(rule->run) != 1 || m3_GetArgType(rule->run, 0) != c_m3Type_i32 ||
      m3_GetRetType(rule->run, 0) != c_m3Type_i32) {
    snprintf(detail, size, "the export run must have type (i32) -> i32");
    free_instance(rule);
    return false;
  }
  return true;
}

/* ---- JS glue ---------------------------------------------------------------------------------------------- */

#define NAPI_OK_OR_THROW(env, call)                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      bool pending_ = false;                                                         \
      napi_is_exception_pending((env), &pending_);                                   \
      if (!pending_) napi_throw_error((env), ERR_INTERNAL, "N-API call failed: " #call); \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static Rule *this_rule(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  Rule *rule = NULL;
  if (napi_unwrap(env, self, (void **)&rule) != napi_ok || !rule) {
    napi_throw_error(env, ERR_INVALID_ARG, "not a Wasm3Rule");
    return NULL;
  }
  return rule;
}

/* Refuses use after close() and reentrant use from inside a host handler (it would reuse the wasm3 stack). */
static bool rule_usable(napi_env env, Rule *rule) {
  if (rule->closed) {
    napi_throw_error(env, ERR_CLOSED, "the rule has been closed");
    return false;
  }
  if (rule->running) {
    napi_throw_error(env, ERR_BUSY, "the rule is running; a host handler cannot call back into it");
    return false;
  }
  return true;
}

/* frame[name] as a typed array of `type`; with `length` >= 0 it must have that many elements. */
static bool frame_array(napi_env env, napi_value frame, const char *name, napi_typedarray_type type, int64_t length,
                        napi_value *array, void **data, size_t *count) {
  bool isTypedArray = false;
  napi_typedarray_type actual;
  char message[160];
  if (napi_get_named_property(env, frame, name, array) != napi_ok) return false;
  if (napi_is_typedarray(env, *array, &isTypedArray) != napi_ok || !isTypedArray ||
      napi_get_typedarray_info(env, *array, &actual, count, data, NULL, NULL) != napi_ok || actual != type ||
      (length >= 0 && *count != (size_t)length) || *count > 2 * RULES_MAX_IO) {
    snprintf(message, sizeof message, "frame.%s must be a typed array of the frame's layout (engine/tick-frame.ts)", name);
    napi_throw_error(env, ERR_INVALID_ARG, message);
    return false;
  }
  return true;
}

/* Copies the declared pins, channels and ranges, and keeps the shared buffers of a TickFrame. */
static bool read_frame(napi_env env, napi_value object, Frame *frame) {
  napi_valuetype type;
  if (napi_typeof(env, object, &type) != napi_ok || type != napi_object) {
    napi_throw_error(env, ERR_INVALID_ARG, "the second argument must be the rule's TickFrame");
    return false;
  }
  napi_value array;
  void *inputs, *outputs, *channels, *min, *max, *readings, *written, *saturations;
  size_t nIn, nOut, nCh, n;
  if (!frame_array(env, object, "inputs", napi_int32_array, -1, &array, &inputs, &nIn) ||
      !frame_array(env, object, "outputs", napi_int32_array, -1, &array, &outputs, &nOut) ||
      !frame_array(env, object, "channels", napi_int32_array, -1, &array, &channels, &nCh) ||
      !frame_array(env, object, "min", napi_float64_array, (int64_t)nCh, &array, &min, &n) ||
      !frame_array(env, object, "max", napi_float64_array, (int64_t)nCh, &array, &max, &n)) {
    return false;
  }
  if (nIn > RULES_MAX_IO || nOut > RULES_MAX_IO || nCh > RULES_MAX_IO) {
    napi_throw_error(env, ERR_INVALID_ARG, "the frame declares more pins or channels than RULES_MAX_IO");
    return false;
  }
  /* One allocation: the three lists, min and max, and the per-channel serials of counted saturations. */
  size_t ints = nIn + nOut + nCh;
  uint8_t *block = calloc(1, ints * sizeof(int32_t) + 2 * nCh * sizeof(double) + nCh * sizeof(uint64_t) + 8);
  if (!block) {
    napi_throw_error(env, ERR_INTERNAL, m3Err_mallocFailed);
    return false;
  }
  frame->numInputs = (uint32_t)nIn;
  frame->numOutputs = (uint32_t)nOut;
  frame->numChannels = (uint32_t)nCh;
  frame->inputs = (int32_t *)block;
  frame->outputs = frame->inputs + nIn;
  frame->channels = frame->outputs + nOut;
  frame->min = (double *)(block + ((ints * sizeof(int32_t) + 7) & ~(size_t)7));
  frame->max = frame->min + nCh;
  frame->countedAt = (uint64_t *)(frame->max + nCh);
  memcpy(frame->inputs, inputs, nIn * sizeof(int32_t));
  memcpy(frame->outputs, outputs, nOut * sizeof(int32_t));
  memcpy(frame->channels, channels, nCh * sizeof(int32_t));
  memcpy(frame->min, min, nCh * sizeof(double));
  memcpy(frame->max, max, nCh * sizeof(double));
  fill_lookup(frame->inputAt, frame->inputs, (uint32_t)nIn);
  fill_lookup(frame->outputAt, frame->outputs, (uint32_t)nOut);
  fill_lookup(frame->channelAt, frame->channels, (uint32_t)nCh);

  napi_value shared[4];
  void *control;
  if (!frame_array(env, object, "readings", napi_float64_array, (int64_t)(nIn + nCh), &shared[0], &readings, &n) ||
      !frame_array(env, object, "written", napi_int32_array, (int64_t)nOut, &shared[1], &written, &n) ||
      !frame_array(env, object, "saturations", napi_float64_array, (int64_t)nCh, &shared[2], &saturations, &n) ||
      !frame_array(env, object, "control", napi_int32_array, 3, &shared[3], &control, &n)) {
    return false;
  }
  frame->readings = readings;
  frame->written = written;
  frame->saturations = saturations;
  frame->control = control;
  for (int i = 0; i < 4; i++) {
    if (napi_create_reference(env, shared[i], 1, &frame->shared[i]) != napi_ok) return false;
  }
  return true;
}

static napi_value Rule_tick(napi_env env, napi_callback_info info);

/* new Wasm3Rule(bytes: Uint8Array, frame: TickFrame) */
static napi_value Rule_construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  NAPI_OK_OR_THROW(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));

  bool isTypedArray = false;
  if (argc < 2 || napi_is_typedarray(env, argv[0], &isTypedArray) != napi_ok || !isTypedArray) {
    napi_throw_error(env, ERR_INVALID_ARG, "new Wasm3Rule(bytes, frame) needs the module bytes as a Uint8Array and a TickFrame");
    return NULL;
  }
  napi_typedarray_type arrayType;
  size_t length;
  void *data;
  NAPI_OK_OR_THROW(env, napi_get_typedarray_info(env, argv[0], &arrayType, &length, &data, NULL, NULL));
  if (arrayType != napi_uint8_array || length == 0 || length > RULES_MAX_MODULE_BYTES) {
    napi_throw_error(env, ERR_INVALID_ARG, "the module bytes must be a non-empty Uint8Array of at most 1 MiB");
    return NULL;
  }

  Rule *rule = calloc(1, sizeof *rule);
  if (rule) rule->wasm = malloc(length);
  if (!rule || !rule->wasm) {
    free(rule);
    napi_throw_error(env, ERR_INTERNAL, m3Err_mallocFailed);
    return NULL;
  }
  memcpy(rule->wasm, data, length);
  rule->wasmSize = (uint32_t)length;
  rule->owners = 1;

  if (!read_frame(env, argv[1], &rule->frame)) {
    finalize_rule(env, rule, NULL);
    return NULL;
  }

  char detail[RULES_ERROR_TEXT_BYTES];
  if (!instantiate(rule, detail, sizeof detail)) {
    finalize_rule(env, rule, NULL);
    napi_throw_error(env, ERR_LOAD, detail);
    return NULL;
  }
  if (napi_wrap(env, self, rule, finalize_rule, NULL, NULL) != napi_ok) {
    finalize_rule(env, rule, NULL);
    napi_throw_error(env, ERR_INTERNAL, "cannot attach the rule to its object");
    return NULL;
  }
  rule->in = rule->frame.readings;
  rule->out = rule->frame.written;
  /* The hot path skips napi_unwrap: the module-level tick(handle) takes this External, which co-owns the Rule. One
   * module-level function keeps V8's call site monomorphic whatever the number of rules: a function per rule (with
   * the Rule as its data) was measured ~10 ns slower per tick with 18 rules loaded, as V8 then calls it generically. */
  napi_value handle;
  if (napi_create_external(env, rule, finalize_rule, NULL, &handle) != napi_ok) return NULL;
  rule->owners++;
  if (napi_set_named_property(env, self, "handle", handle) != napi_ok) return NULL;
  return self;
}

/* Throws the trap as an Error with code ERR_TRAP; a batch adds how many ticks it completed before it. */
static void throw_trap(napi_env env, Rule *rule, M3Result result, int64_t completed) {
  char message[RULES_ERROR_TEXT_BYTES];
  describe_m3_error(rule, result, message, sizeof message);
  napi_value code, text, error, why, value;
  if (napi_create_string_utf8(env, ERR_TRAP, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, ERR_TRAP, message);
    return;
  }
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "wasm3Message", text);
  if (result == TRAP_HOST_CALL_FAILED && rule->hostTrap != HOST_TRAP_NONE &&
      napi_create_int32(env, (int32_t)rule->hostTrap, &why) == napi_ok &&
      napi_create_int32(env, rule->hostValue, &value) == napi_ok) {
    napi_set_named_property(env, error, "hostTrap", why);
    napi_set_named_property(env, error, "hostValue", value);
  }
  if (completed >= 0 && napi_create_int64(env, completed, &value) == napi_ok) {
    napi_set_named_property(env, error, "completed", value);
  }
  napi_throw(env, error);
}

/* Rule state is a handful of globals (the target caps them), so a copy per tick is cheap. */
static void save_globals(Rule *rule) {
  /* In locals: built without strict aliasing, the compiler would reload them after every store otherwise. */
  const M3Global *globals = rule->module->globals;
  const uint32_t count = rule->module->numGlobals;
  int64_t *saved = rule->savedGlobals;
  for (uint32_t i = 0; i < count; i++) saved[i] = globals[i].intValue;
}

static void restore_globals(Rule *rule) {
  IM3Module module = rule->module;
  for (uint32_t i = 0; i < module->numGlobals; i++) module->globals[i].intValue = rule->savedGlobals[i];
}

/* Whether the CPU has AVX, read once when the addon loads (a property of the machine, not of a context). */
static bool cpuHasAvx = false;

/* Node's JIT code and glibc's string functions use AVX and can leave the upper halves of the vector registers dirty
 * when they call in here. wasm3 and this file are built for baseline x86-64, and each of their SSE instructions then
 * waits on those halves: a rule doing float arithmetic ran 1.6x slower inside Node than in the bench's C host. Clearing
 * them first (VZEROUPPER, as compilers emit on leaving AVX code) costs a cycle. */
static inline void clean_vector_state(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpuHasAvx) __asm__ volatile("vzeroupper");
#endif
}

/* What m3_CallV(run, now) and m3_GetResultsV(run, next) do for run's type, (i32) -> i32, which instantiate() checked:
 * the argument in the stack slot after the one result, wasm3's entry into compiled code (m3_exec.h's Call: yield,
 * then the function's first operation), the result in slot 0. Without the two va_list walks over the type, which
 * cost about as much per tick as a small rule's own code. */
static inline M3Result call_run(Rule *rule, int32_t now, int32_t *next) {
  IM3Runtime runtime = rule->runtime;
  uint64_t *stack = (uint64_t *)runtime->stack; /* 8 bytes per value at the call boundary, as in m3_CallV */
  *(int32_t *)&stack[1] = now;
  M3Result result = m3_Yield();
  if (!result) {
    pc_t pc = rule->run->compiled;
    result = (M3Result)((IM3Operation)(*pc))(pc + 1, (m3stack_t)stack, runtime->memory.mallocated, d_m3OpDefaultArgs);
  }
  runtime->lastCalled = result ? NULL : rule->run; /* as m3_CallV leaves it, for wasm3's own result getters */
  if (!result) *next = *(int32_t *)&stack[0];
  return result;
}

/* One atomic call of `run` on rule->in, its writes in rule->out: a trap puts the globals back and leaves no writes. */
static inline M3Result tick_once(Rule *rule, int32_t now, int32_t *next) {
  uint32_t outputs = rule->frame.numOutputs;
  for (uint32_t k = 0; k < outputs; k++) rule->out[k] = NOT_WRITTEN;
  rule->tickSerial++;
  rule->hostTrap = HOST_TRAP_NONE;
  save_globals(rule);
  M3Result result = call_run(rule, now, next);
  if (result) {
    restore_globals(rule); /* a tick that traps has no effect */
    for (uint32_t k = 0; k < outputs; k++) rule->out[k] = NOT_WRITTEN;
  }
  return result;
}

/* tick(handle): one tick of the rule whose `handle` this is, with what JS put in its frame: calls `run(control[0])`,
 * leaves its i32 result in control[1] and the writes in frame.written; a trap puts the globals back, clears the
 * writes and throws. Nothing else crosses the boundary: every N-API call costs time on the hot path. */
static napi_value Rule_tick(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value handle;
  Rule *rule = NULL;
  if (napi_get_cb_info(env, info, &argc, &handle, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_external(env, handle, (void **)&rule) != napi_ok || !rule) {
    napi_throw_error(env, ERR_INVALID_ARG, "tick(handle) needs a Wasm3Rule's handle");
    return NULL;
  }
  if (rule->closed || rule->running) {
    rule_usable(env, rule);
    return NULL;
  }
  int32_t *control = rule->frame.control;
  int32_t next = 0;
  clean_vector_state();
  rule->running = true;
  M3Result result = tick_once(rule, control[0], &next);
  rule->running = false;
  if (result) {
    throw_trap(env, rule, result, -1);
    return NULL;
  }
  control[1] = next;
  return NULL;
}

/* ECMAScript's ToInt32, as `now | 0` in JS: the batch takes `now` as a double. */
static int32_t to_int32(double x) {
  if (x >= -2147483648.0 && x <= 2147483647.0) return (int32_t)x;
  if (!isfinite(x)) return 0;
  double m = fmod(trunc(x), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (int32_t)(uint32_t)m;
}

/* An optional argument: a typed array of `type` with at least `need` elements, or null/undefined (then *data NULL). */
static bool batch_array(napi_env env, napi_value value, const char *name, napi_typedarray_type type, uint64_t need,
                        bool optional, void **data) {
  napi_valuetype kind;
  *data = NULL;
  if (napi_typeof(env, value, &kind) != napi_ok) return false;
  if (optional && (kind == napi_null || kind == napi_undefined)) return true;
  bool isTypedArray = false;
  napi_typedarray_type actual;
  size_t length = 0;
  if (napi_is_typedarray(env, value, &isTypedArray) != napi_ok || !isTypedArray ||
      napi_get_typedarray_info(env, value, &actual, &length, data, NULL, NULL) != napi_ok || actual != type ||
      (uint64_t)length < need) {
    char message[160];
    snprintf(message, sizeof message, "runBatch: %s must be a typed array of the batch's layout with room for every tick (engine/tick-batch.ts)", name);
    napi_throw_error(env, ERR_INVALID_ARG, message);
    *data = NULL;
    return false;
  }
  return true;
}

/* runBatch(inputs: Float64Array, count: number, returned: Int32Array, written: Int32Array,
 *          globals: Float64Array | null, saturated: Uint8Array | null): number
 * Runs `count` ticks in one call, each exactly like tick() (atomic, the same checks, saturation and counts), from
 * prepared rows: inputs row t = [now, input levels in gpio_in order, readings in sensor order]. Records per tick
 * what `run` returned, the writes (row t of `written`, in gpio_out order), optionally every global after the tick
 * and the channels whose reading was saturated; control[2] = how many of them returned a negative value. Returns
 * `count`; a trap stops the batch at that tick, with its effects undone and the earlier ticks kept, and throws like
 * tick() with err.completed = the ticks before it. A `now` that is not finite throws a TypeError before any tick. */
static napi_value Rule_runBatch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  Rule *rule = this_rule(env, info, &argc, argv);
  if (!rule || !rule_usable(env, rule)) return NULL;
  uint32_t count = 0;
  napi_valuetype kind;
  if (argc < 6 || napi_typeof(env, argv[1], &kind) != napi_ok || kind != napi_number ||
      napi_get_value_uint32(env, argv[1], &count) != napi_ok) {
    napi_throw_error(env, ERR_INVALID_ARG, "runBatch(inputs, count, returned, written, globals, saturated) needs six arguments");
    return NULL;
  }
  Frame *frame = &rule->frame;
  const uint64_t width = 1 + (uint64_t)frame->numInputs + frame->numChannels;
  const uint32_t numGlobals = rule->module->numGlobals;
  void *inputs, *returned, *written, *globals, *saturated;
  if (!batch_array(env, argv[0], "inputs", napi_float64_array, count * width, false, &inputs) ||
      !batch_array(env, argv[2], "returned", napi_int32_array, count, false, &returned) ||
      !batch_array(env, argv[3], "written", napi_int32_array, (uint64_t)count * frame->numOutputs, false, &written) ||
      !batch_array(env, argv[4], "globals", napi_float64_array, (uint64_t)count * numGlobals, true, &globals) ||
      !batch_array(env, argv[5], "saturated", napi_uint8_array, (uint64_t)count * frame->numChannels, true, &saturated)) {
    return NULL;
  }
  const double *row = inputs;
  for (uint32_t t = 0; t < count; t++, row += width) {
    if (!isfinite(row[0])) {
      char message[160];
      snprintf(message, sizeof message, "runBatch: tick %u needs a finite number of milliseconds as now, not %g", t, row[0]);
      napi_throw_type_error(env, ERR_INVALID_ARG, message);
      return NULL;
    }
  }
  row = inputs;
  clean_vector_state();
  int32_t *results = returned;
  int32_t failures = 0; /* ticks that returned a negative value: a `requires` assumption did not hold */
  M3Result result = m3Err_none;
  uint32_t t = 0;
  rule->running = true;
  for (; t < count; t++, row += width) {
    rule->in = row + 1;
    rule->out = (int32_t *)written + (size_t)t * frame->numOutputs;
    if (saturated) {
      rule->saturatedOut = (uint8_t *)saturated + (size_t)t * frame->numChannels;
      memset(rule->saturatedOut, 0, frame->numChannels);
    }
    int32_t next = 0;
    result = tick_once(rule, to_int32(row[0]), &next);
    if (result) break;
    results[t] = next;
    failures += next < 0;
    if (globals) {
      double *after = (double *)globals + (size_t)t * numGlobals;
      const M3Global *g = rule->module->globals;
      for (uint32_t i = 0; i < numGlobals; i++) {
        after[i] = g[i].type == c_m3Type_f32 ? (double)g[i].f32Value
                 : g[i].type == c_m3Type_f64 ? g[i].f64Value
                 : g[i].type == c_m3Type_i64 ? (double)g[i].intValue
                 : (double)(int32_t)g[i].intValue;
      }
    }
  }
  rule->running = false;
  rule->in = frame->readings;
  rule->out = frame->written;
  rule->saturatedOut = NULL;
  frame->control[2] = failures;
  if (result) {
    throw_trap(env, rule, result, t);
    return NULL;
  }
  napi_value out;
  NAPI_OK_OR_THROW(env, napi_create_uint32(env, t, &out));
  return out;
}

/* getGlobal(index: number): number — the module's global `index` (imports included, none in a valid rule). */
static napi_value Rule_getGlobal(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Rule *rule = this_rule(env, info, &argc, argv);
  if (!rule || !rule_usable(env, rule)) return NULL;
  uint32_t index = 0;
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number ||
      napi_get_value_uint32(env, argv[0], &index) != napi_ok) {
    napi_throw_error(env, ERR_INVALID_ARG, "getGlobal(index) needs a number");
    return NULL;
  }
  if (index >= rule->module->numGlobals) {
    char message[96];
    snprintf(message, sizeof message, "global %u does not exist; the module has %u", index, rule->module->numGlobals);
    napi_throw_error(env, ERR_GLOBAL, message);
    return NULL;
  }
  M3TaggedValue value;
  M3Result result = m3_GetGlobal(&rule->module->globals[index], &value);
  if (result) {
    napi_throw_error(env, ERR_GLOBAL, result);
    return NULL;
  }
  napi_value out;
  switch (value.type) {
    case c_m3Type_i32: NAPI_OK_OR_THROW(env, napi_create_int32(env, (int32_t)value.value.i32, &out)); break;
    case c_m3Type_f32: NAPI_OK_OR_THROW(env, napi_create_double(env, value.value.f32, &out)); break;
    case c_m3Type_f64: NAPI_OK_OR_THROW(env, napi_create_double(env, value.value.f64, &out)); break;
    case c_m3Type_i64: NAPI_OK_OR_THROW(env, napi_create_bigint_int64(env, (int64_t)value.value.i64, &out)); break;
    default: napi_throw_error(env, ERR_GLOBAL, m3Err_invalidTypeId); return NULL;
  }
  return out;
}

static napi_value Rule_globalCount(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Rule *rule = this_rule(env, info, &argc, NULL);
  if (!rule || !rule_usable(env, rule)) return NULL;
  napi_value out;
  NAPI_OK_OR_THROW(env, napi_create_uint32(env, rule->module->numGlobals, &out));
  return out;
}

/* reset(): throws the instance away and loads the kept bytes again, so every global is back at its initializer. */
static napi_value Rule_reset(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Rule *rule = this_rule(env, info, &argc, NULL);
  if (!rule || !rule_usable(env, rule)) return NULL;
  free_instance(rule);
  char detail[RULES_ERROR_TEXT_BYTES];
  if (!instantiate(rule, detail, sizeof detail)) {
    free_rule(env, rule);
    napi_throw_error(env, ERR_LOAD, detail);
    return NULL;
  }
  return NULL;
}

/* close(): frees wasm3's memory now instead of at garbage collection; later calls are no-ops. */
static napi_value Rule_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Rule *rule = this_rule(env, info, &argc, NULL);
  if (!rule) return NULL;
  if (rule->running) {
    napi_throw_error(env, ERR_BUSY, "the rule is running; a host handler cannot close it");
    return NULL;
  }
  if (!rule->closed) free_rule(env, rule);
  return NULL;
}

static napi_value Rule_closed(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Rule *rule = this_rule(env, info, &argc, NULL);
  if (!rule) return NULL;
  napi_value out;
  NAPI_OK_OR_THROW(env, napi_get_boolean(env, rule->closed, &out));
  return out;
}

static napi_value error_codes(napi_env env) {
  static const char *const codes[][2] = {
      {"invalidArgument", ERR_INVALID_ARG}, {"load", ERR_LOAD},     {"trap", ERR_TRAP},
      {"closed", ERR_CLOSED},               {"busy", ERR_BUSY},     {"global", ERR_GLOBAL},
      {"internal", ERR_INTERNAL},
  };
  napi_value object, value;
  if (napi_create_object(env, &object) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    if (napi_create_string_utf8(env, codes[i][1], NAPI_AUTO_LENGTH, &value) != napi_ok ||
        napi_set_named_property(env, object, codes[i][0], value) != napi_ok) {
      return NULL;
    }
  }
  return object;
}

/* Context-aware: no per-context state in globals (cpuHasAvx, set here, is the machine's and the same for every
 * context), so the addon loads in worker threads and several contexts. */
NAPI_MODULE_INIT() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  cpuHasAvx = __builtin_cpu_supports("avx");
#endif
  napi_property_descriptor methods[] = {
      {"getGlobal", NULL, Rule_getGlobal, NULL, NULL, NULL, napi_default_method, NULL},
      {"runBatch", NULL, Rule_runBatch, NULL, NULL, NULL, napi_default_method, NULL},
      {"reset", NULL, Rule_reset, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, Rule_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"globalCount", NULL, NULL, Rule_globalCount, NULL, NULL, napi_enumerable, NULL},
      {"closed", NULL, NULL, Rule_closed, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value ruleClass, version, codes, tick, interfaceVersion;
  if (napi_define_class(env, "Wasm3Rule", NAPI_AUTO_LENGTH, Rule_construct, NULL, sizeof methods / sizeof methods[0],
                        methods, &ruleClass) != napi_ok ||
      napi_create_string_utf8(env, M3_VERSION, NAPI_AUTO_LENGTH, &version) != napi_ok ||
      napi_create_int32(env, RULES_BINDING_VERSION, &interfaceVersion) != napi_ok ||
      napi_create_function(env, "tick", NAPI_AUTO_LENGTH, Rule_tick, NULL, &tick) != napi_ok ||
      (codes = error_codes(env)) == NULL) {
    return NULL;
  }
  napi_property_descriptor exported[] = {
      {"Wasm3Rule", NULL, NULL, NULL, NULL, ruleClass, napi_enumerable, NULL},
      {"wasm3Version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
      {"tick", NULL, NULL, NULL, NULL, tick, napi_enumerable, NULL},
      {"bindingVersion", NULL, NULL, NULL, NULL, interfaceVersion, napi_enumerable, NULL},
      {"errorCodes", NULL, NULL, NULL, NULL, codes, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported) != napi_ok) return NULL;
  return exports;
}
