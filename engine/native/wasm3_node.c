/* N-API binding over wasm3 v0.5.0: class Wasm3Rule loads one rule module into its own wasm3 environment and
 * runtime (so rules are isolated), links io.gr/io.gw/io.sr to JS handlers, calls `run`, and reads its globals. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "wasm3.h"
/* Internal header: rule globals are never exported, so they are read by index from M3Module.globals. */
#include "m3_env.h"

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

#ifndef RULES_ERROR_TEXT_BYTES
#define RULES_ERROR_TEXT_BYTES 512
#endif

/* ---- error codes, set as err.code on everything this binding throws --------------------------------------- */

#define ERR_INVALID_ARG "ERR_WASM3_INVALID_ARG"
#define ERR_LOAD "ERR_WASM3_LOAD"
#define ERR_TRAP "ERR_WASM3_TRAP"
#define ERR_CLOSED "ERR_WASM3_CLOSED"
#define ERR_BUSY "ERR_WASM3_BUSY"
#define ERR_GLOBAL "ERR_WASM3_GLOBAL"
#define ERR_INTERNAL "ERR_WASM3_INTERNAL"

/* Our own traps, returned from the import trampolines so wasm3 unwinds the call like any other trap. */
static const char TRAP_HOST_CALL_FAILED[] = "[trap] host function failed";
static const char TRAP_HOST_RESULT_NOT_INT[] = "[trap] host function returned a non-number";
static const char TRAP_HOST_UNAVAILABLE[] = "[trap] host function called outside run()";

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

typedef struct Rule {
  uint8_t *wasm; /* our copy: wasm3 keeps pointers into it for the module's whole life */
  uint32_t wasmSize;
  napi_ref handlers[IO_COUNT];

  IM3Environment environment;
  IM3Runtime runtime;
  IM3Module module; /* owned by runtime once loaded */
  IM3Function run;

  /* Valid only while run() executes: the trampolines call back into JS through it. */
  napi_env callEnv;
  napi_value hostError;
  bool running;
  bool closed;
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
  for (int i = 0; i < IO_COUNT; i++) {
    if (rule->handlers[i]) napi_delete_reference(env, rule->handlers[i]);
    rule->handlers[i] = NULL;
  }
  free(rule->wasm);
  rule->wasm = NULL;
  rule->closed = true;
}

static void finalize_rule(napi_env env, void *data, void *hint) {
  (void)hint;
  Rule *rule = data;
  free_rule(env, rule);
  free(rule);
}

/* ---- import trampolines ----------------------------------------------------------------------------------- */

static int32_t slot_i32(const uint64_t *slot) { return *(const int32_t *)slot; }

/* Calls the JS handler; a throw becomes a trap and the thrown value is kept for run() to report. */
static const void *call_handler(IM3Runtime runtime, IoImport which, uint32_t argc, const int32_t *args, int32_t *result) {
  Rule *rule = m3_GetUserData(runtime);
  napi_env env = rule ? rule->callEnv : NULL;
  if (!env || !rule->handlers[which]) return TRAP_HOST_UNAVAILABLE;

  napi_escapable_handle_scope scope;
  if (napi_open_escapable_handle_scope(env, &scope) != napi_ok) return TRAP_HOST_CALL_FAILED;

  const void *trap = NULL;
  napi_value handler, receiver, argv[2], returned;
  bool ready = napi_get_reference_value(env, rule->handlers[which], &handler) == napi_ok && handler != NULL &&
               napi_get_undefined(env, &receiver) == napi_ok;
  for (uint32_t i = 0; ready && i < argc; i++) ready = napi_create_int32(env, args[i], &argv[i]) == napi_ok;

  if (!ready || napi_call_function(env, receiver, handler, argc, argv, &returned) != napi_ok) {
    trap = TRAP_HOST_CALL_FAILED;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value thrown;
      if (napi_get_and_clear_last_exception(env, &thrown) == napi_ok) {
        napi_escape_handle(env, scope, thrown, &rule->hostError);
      }
    }
  } else if (result) {
    napi_valuetype type;
    if (napi_typeof(env, returned, &type) != napi_ok || type != napi_number ||
        napi_get_value_int32(env, returned, result) != napi_ok) {
      trap = TRAP_HOST_RESULT_NOT_INT;
    }
  }
  napi_close_escapable_handle_scope(env, scope);
  return trap;
}

/* Raw wasm3 calls: results come first on the slot stack, then arguments, one 64-bit slot each. */
static const void *io_gr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)ctx, (void)mem;
  int32_t args[1] = {slot_i32(&sp[1])};
  int32_t level = 0;
  const void *trap = call_handler(runtime, IO_GR, 1, args, &level);
  if (!trap) *(int32_t *)&sp[0] = level;
  return trap;
}

static const void *io_gw(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)ctx, (void)mem;
  int32_t args[2] = {slot_i32(&sp[0]), slot_i32(&sp[1])};
  return call_handler(runtime, IO_GW, 2, args, NULL);
}

static const void *io_sr(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem) {
  (void)ctx, (void)mem;
  int32_t args[1] = {slot_i32(&sp[1])};
  int32_t reading = 0;
  const void *trap = call_handler(runtime, IO_SR, 1, args, &reading);
  if (!trap) *(int32_t *)&sp[0] = reading;
  return trap;
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
    if (!rule->handlers[which]) {
      snprintf(detail, size, "the module imports io.%s but no handler for it was given", field);
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

static bool get_handler(napi_env env, napi_value handlers, IoImport which, napi_ref *out) {
  *out = NULL;
  napi_valuetype type;
  if (napi_typeof(env, handlers, &type) != napi_ok) return false;
  if (type == napi_undefined || type == napi_null) return true;
  if (type != napi_object) {
    napi_throw_error(env, ERR_INVALID_ARG, "handlers must be an object of functions {gr, gw, sr}");
    return false;
  }
  napi_value handler;
  if (napi_get_named_property(env, handlers, IO_IMPORTS[which].field, &handler) != napi_ok) return false;
  if (napi_typeof(env, handler, &type) != napi_ok) return false;
  if (type == napi_undefined) return true;
  if (type != napi_function) {
    char message[64];
    snprintf(message, sizeof message, "handler %s must be a function", IO_IMPORTS[which].field);
    napi_throw_error(env, ERR_INVALID_ARG, message);
    return false;
  }
  return napi_create_reference(env, handler, 1, out) == napi_ok;
}

/* new Wasm3Rule(bytes: Uint8Array, handlers: { gr?, gw?, sr? }) */
static napi_value Rule_construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  NAPI_OK_OR_THROW(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));

  bool isTypedArray = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &isTypedArray) != napi_ok || !isTypedArray) {
    napi_throw_error(env, ERR_INVALID_ARG, "the module bytes must be a Uint8Array");
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

  napi_value handlers;
  if (argc >= 2) {
    handlers = argv[1];
  } else {
    napi_get_undefined(env, &handlers);
  }
  for (int i = 0; i < IO_COUNT; i++) {
    if (!get_handler(env, handlers, (IoImport)i, &rule->handlers[i])) {
      finalize_rule(env, rule, NULL);
      return NULL;
    }
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
  return self;
}

static void throw_trap(napi_env env, Rule *rule, M3Result result) {
  char message[RULES_ERROR_TEXT_BYTES];
  describe_m3_error(rule, result, message, sizeof message);
  napi_value code, text, error;
  if (napi_create_string_utf8(env, ERR_TRAP, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, ERR_TRAP, message);
    return;
  }
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "wasm3Message", text);
  if (rule->hostError) napi_set_named_property(env, error, "hostError", rule->hostError);
  napi_throw(env, error);
}

/* Rule state is a handful of globals (the target caps them), so a copy per tick is cheap. */
static void save_globals(Rule *rule) {
  IM3Module module = rule->module;
  uint32_t n = module->numGlobals < RULES_MAX_GLOBALS ? module->numGlobals : RULES_MAX_GLOBALS;
  for (uint32_t i = 0; i < n; i++) rule->savedGlobals[i] = module->globals[i].intValue;
}

static void restore_globals(Rule *rule) {
  IM3Module module = rule->module;
  uint32_t n = module->numGlobals < RULES_MAX_GLOBALS ? module->numGlobals : RULES_MAX_GLOBALS;
  for (uint32_t i = 0; i < n; i++) module->globals[i].intValue = rule->savedGlobals[i];
}

/* run(nowMs: number): number — calls the rule's `run` with now wrapped to int32, returns its i32 result. */
static napi_value Rule_run(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Rule *rule = this_rule(env, info, &argc, argv);
  if (!rule || !rule_usable(env, rule)) return NULL;
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number) {
    napi_throw_error(env, ERR_INVALID_ARG, "run(nowMs) needs a number");
    return NULL;
  }
  int32_t now = 0;
  NAPI_OK_OR_THROW(env, napi_get_value_int32(env, argv[0], &now));

  rule->callEnv = env;
  rule->hostError = NULL;
  rule->running = true;
  save_globals(rule);
  M3Result result = m3_CallV(rule->run, now);
  int32_t next = 0;
  if (!result) result = m3_GetResultsV(rule->run, &next);
  rule->running = false;
  rule->callEnv = NULL;

  if (result) {
    restore_globals(rule); /* a tick that traps has no effect */
    throw_trap(env, rule, result);
    rule->hostError = NULL;
    return NULL;
  }
  napi_value out;
  NAPI_OK_OR_THROW(env, napi_create_int32(env, next, &out));
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

/* Context-aware: no per-process state, so the addon loads in worker threads and several contexts. */
NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"run", NULL, Rule_run, NULL, NULL, NULL, napi_default_method, NULL},
      {"getGlobal", NULL, Rule_getGlobal, NULL, NULL, NULL, napi_default_method, NULL},
      {"reset", NULL, Rule_reset, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, Rule_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"globalCount", NULL, NULL, Rule_globalCount, NULL, NULL, napi_enumerable, NULL},
      {"closed", NULL, NULL, Rule_closed, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value ruleClass, version, codes;
  if (napi_define_class(env, "Wasm3Rule", NAPI_AUTO_LENGTH, Rule_construct, NULL, sizeof methods / sizeof methods[0],
                        methods, &ruleClass) != napi_ok ||
      napi_create_string_utf8(env, M3_VERSION, NAPI_AUTO_LENGTH, &version) != napi_ok ||
      (codes = error_codes(env)) == NULL) {
    return NULL;
  }
  napi_property_descriptor exported[] = {
      {"Wasm3Rule", NULL, NULL, NULL, NULL, ruleClass, napi_enumerable, NULL},
      {"wasm3Version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
      {"errorCodes", NULL, NULL, NULL, NULL, codes, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported) != napi_ok) return NULL;
  return exports;
}
