/* The byte-level verifier (see verify.h): a WebAssembly 1.0 decoder and type checker for the subset the
 * device ABI allows, followed by a worst-case cost walk over the structured code. Nothing is allocated:
 * every table has a fixed bound from rules_config.h, and a module beyond a bound is refused. */
#include "verify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define T_I32 0x7f
#define T_I64 0x7e
#define T_F32 0x7d
#define T_F64 0x7c
#define T_ANY 0 /* an unknown operand below an unreachable point */

#define MAX_PARAMS 8
#define COST_CAP ((uint64_t)1 << 40) /* costs saturate here: far above any target limit */

typedef struct {
  uint8_t nparams, nresults;
  uint8_t params[MAX_PARAMS];
  uint8_t result;
} functype_t;

typedef struct {
  uint8_t op;     /* 0x02 block, 0x03 loop, 0x04 if, 0 for the function body */
  uint8_t result; /* 0 or a value type */
  uint8_t height; /* operand stack height at entry */
  bool unreachable;
  bool has_else;
} frame_t;

typedef struct {
  const uint8_t *p, *end;
  char *why;
  size_t why_size;
  bool failed;

  functype_t types[RULES_VERIFY_MAX_TYPES];
  uint32_t ntypes;
  uint32_t func_type[RULES_VERIFY_MAX_FUNCS]; /* imports first */
  uint32_t nimports, nfuncs;
  uint8_t import_kind[RULES_VERIFY_MAX_FUNCS]; /* IO_*_BIT of each import */
  uint8_t global_type[RULES_MAX_CAPS * 4];
  uint32_t nglobals;
  uint32_t run_index;
  const uint8_t *body_start[RULES_VERIFY_MAX_FUNCS]; /* of defined functions: first instruction */
  const uint8_t *body_end[RULES_VERIFY_MAX_FUNCS];
  uint8_t local_type[RULES_VERIFY_MAX_LOCALS];
  uint32_t nlocals;

  uint8_t vals[RULES_VERIFY_MAX_STACK];
  uint32_t nvals;
  frame_t ctrls[RULES_VERIFY_MAX_DEPTH];
  uint32_t nctrls;

  uint64_t func_cost[RULES_VERIFY_MAX_FUNCS];
  uint8_t cost_state[RULES_VERIFY_MAX_FUNCS]; /* 0 unknown, 1 in progress, 2 known */
} verifier_t;

static bool fail(verifier_t *v, const char *fmt, ...) {
  if (!v->failed) {
    v->failed = true;
    va_list ap;
    va_start(ap, fmt);
    if (v->why && v->why_size) vsnprintf(v->why, v->why_size, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* ---- decoding ------------------------------------------------------------------------------------------ */

static bool byte(verifier_t *v, uint8_t *out) {
  *out = 0;
  if (v->failed) return false;
  if (v->p >= v->end) return fail(v, "the module ends unexpectedly");
  *out = *v->p++;
  return true;
}

static bool u32(verifier_t *v, uint32_t *out) {
  uint32_t result = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    uint8_t b;
    if (!byte(v, &b)) return false;
    if (shift == 28 && (b & 0x70)) return fail(v, "an integer is out of range");
    result |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = result;
      return true;
    }
  }
  return fail(v, "an integer is too long");
}

/* A signed LEB128 of at most `bits` bits (32 or 64); the value itself is not needed by the verifier
 * except for i32.const, whose result is returned. */
static bool sleb(verifier_t *v, int bits, int64_t *out) {
  uint64_t result = 0;
  int shift = 0;
  int max_bytes = (bits + 6) / 7;
  for (int i = 0; i < max_bytes; i++) {
    uint8_t b;
    if (!byte(v, &b)) return false;
    if (i == max_bytes - 1) {
      /* The unused bits of the last byte must all equal the sign bit. */
      int used = bits - 7 * i; /* bits of this byte that are part of the value */
      uint8_t rest = (uint8_t)(b & 0x7f) >> (used - 1);
      uint8_t all = (uint8_t)(0x7f >> (used - 1));
      if ((b & 0x80) || (rest != 0 && rest != all)) return fail(v, "an integer is out of range");
    }
    result |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      if (shift < 64 && (b & 0x40)) result |= ~(uint64_t)0 << shift;
      *out = (int64_t)result;
      return true;
    }
  }
  return fail(v, "an integer is too long");
}

static bool skip_bytes(verifier_t *v, size_t n) {
  if (v->failed) return false;
  if ((size_t)(v->end - v->p) < n) return fail(v, "the module ends unexpectedly");
  v->p += n;
  return true;
}

static bool name(verifier_t *v, const uint8_t **text, uint32_t *len) {
  if (!u32(v, len)) return false;
  *text = v->p;
  return skip_bytes(v, *len);
}

static bool name_is(const uint8_t *text, uint32_t len, const char *s) {
  return strlen(s) == len && memcmp(text, s, len) == 0;
}

static bool valtype(verifier_t *v, uint8_t *out) {
  if (!byte(v, out)) return false;
  if (*out != T_I32 && *out != T_I64 && *out != T_F32 && *out != T_F64) return fail(v, "unknown value type 0x%02x", *out);
  return true;
}

/* ---- sections ------------------------------------------------------------------------------------------ */

static bool type_section(verifier_t *v) {
  if (!u32(v, &v->ntypes)) return false;
  if (v->ntypes > RULES_VERIFY_MAX_TYPES) return fail(v, "the module has %u types, more than this host allows", (unsigned)v->ntypes);
  for (uint32_t i = 0; i < v->ntypes; i++) {
    uint8_t form;
    uint32_t n;
    functype_t *t = &v->types[i];
    if (!byte(v, &form)) return false;
    if (form != 0x60) return fail(v, "type %u is not a function type", (unsigned)i);
    if (!u32(v, &n)) return false;
    if (n > MAX_PARAMS) return fail(v, "type %u has too many parameters", (unsigned)i);
    t->nparams = (uint8_t)n;
    for (uint32_t k = 0; k < n; k++) if (!valtype(v, &t->params[k])) return false;
    if (!u32(v, &n)) return false;
    if (n > 1) return fail(v, "type %u has %u results (WebAssembly 1.0 allows one)", (unsigned)i, (unsigned)n);
    t->nresults = (uint8_t)n;
    t->result = 0;
    if (n == 1 && !valtype(v, &t->result)) return false;
  }
  return true;
}

static bool type_is(const functype_t *t, uint8_t nparams, uint8_t p0, uint8_t p1, uint8_t nresults, uint8_t r) {
  return t->nparams == nparams && (nparams < 1 || t->params[0] == p0) && (nparams < 2 || t->params[1] == p1) &&
         t->nresults == nresults && (nresults == 0 || t->result == r);
}

static const char *const IMPORT_CAP[] = {"gpio_in", "gpio_out", "sensor"};

static bool import_section(verifier_t *v, const rules_manifest_t *m) {
  uint32_t n;
  if (!u32(v, &n)) return false;
  if (n > 3) return fail(v, "the module has %u imports; the ABI has three", (unsigned)n);
  uint8_t seen = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *mod, *field;
    uint32_t mod_len, field_len, index;
    uint8_t kind;
    if (!name(v, &mod, &mod_len) || !name(v, &field, &field_len) || !byte(v, &kind)) return false;
    if (kind != 0) return fail(v, "import %u is not a function (no memory, table or global may be imported)", (unsigned)i);
    if (!u32(v, &index)) return false;
    if (index >= v->ntypes) return fail(v, "import %u has an unknown type", (unsigned)i);
    int which = -1;
    if (name_is(mod, mod_len, "io")) {
      if (name_is(field, field_len, "gr")) which = 0;
      else if (name_is(field, field_len, "gw")) which = 1;
      else if (name_is(field, field_len, "sr")) which = 2;
    }
    if (which < 0) return fail(v, "the module imports %.*s.%.*s, which is not in the device ABI", (int)(mod_len > 16 ? 16 : mod_len), mod,
                               (int)(field_len > 16 ? 16 : field_len), field);
    uint8_t bit = (uint8_t)(1u << which);
    if (seen & bit) return fail(v, "the module imports io.%s twice", which == 0 ? "gr" : which == 1 ? "gw" : "sr");
    seen |= bit;
    const functype_t *t = &v->types[index];
    bool ok = which == 1 ? type_is(t, 2, T_I32, T_I32, 0, 0) : type_is(t, 1, T_I32, 0, 1, T_I32);
    if (!ok) return fail(v, "io.%s has the wrong type", which == 0 ? "gr" : which == 1 ? "gw" : "sr");
    if (!(m->imports & bit)) return fail(v, "the module imports io.%s, which its manifest does not list", which == 0 ? "gr" : which == 1 ? "gw" : "sr");
    uint8_t caps = which == 0 ? m->n_gpio_in : which == 1 ? m->n_gpio_out : m->n_sensor;
    if (caps == 0) return fail(v, "the module imports io.%s but its manifest declares no %s capability", which == 0 ? "gr" : which == 1 ? "gw" : "sr", IMPORT_CAP[which]);
    v->func_type[v->nimports] = index;
    v->import_kind[v->nimports] = bit;
    v->nimports++;
  }
  v->nfuncs = v->nimports;
  return true;
}

static bool function_section(verifier_t *v) {
  uint32_t n;
  if (!u32(v, &n)) return false;
  if (v->nimports + n > RULES_VERIFY_MAX_FUNCS) return fail(v, "the module has more functions than this host allows");
  for (uint32_t i = 0; i < n; i++) {
    uint32_t index;
    if (!u32(v, &index)) return false;
    if (index >= v->ntypes) return fail(v, "function %u has an unknown type", (unsigned)(v->nimports + i));
    v->func_type[v->nfuncs++] = index;
  }
  return true;
}

static bool global_section(verifier_t *v, const rules_target_t *target) {
  if (!u32(v, &v->nglobals)) return false;
  if (v->nglobals > target->max_state_slots || v->nglobals > sizeof v->global_type) {
    return fail(v, "the module has %u globals; the target allows %u", (unsigned)v->nglobals, (unsigned)target->max_state_slots);
  }
  for (uint32_t i = 0; i < v->nglobals; i++) {
    uint8_t type, mut, op, end;
    if (!valtype(v, &type) || !byte(v, &mut)) return false;
    if (type != T_I32 && type != T_F32) return fail(v, "global %u is not i32 or f32", (unsigned)i);
    if (mut != 1) return fail(v, "global %u is not mutable", (unsigned)i);
    if (!byte(v, &op)) return false;
    int64_t ignored;
    if (type == T_I32 && op == 0x41) {
      if (!sleb(v, 32, &ignored)) return false;
    } else if (type == T_F32 && op == 0x43) {
      if (!skip_bytes(v, 4)) return false;
    } else {
      return fail(v, "global %u's initializer is not a constant of its type", (unsigned)i);
    }
    if (!byte(v, &end)) return false;
    if (end != 0x0b) return fail(v, "global %u's initializer is not a single constant", (unsigned)i);
    v->global_type[i] = type;
  }
  return true;
}

static bool export_section(verifier_t *v) {
  uint32_t n;
  if (!u32(v, &n)) return false;
  if (n != 1) return fail(v, "the module has %u exports; it must export exactly run", (unsigned)n);
  const uint8_t *text;
  uint32_t len, index;
  uint8_t kind;
  if (!name(v, &text, &len) || !byte(v, &kind) || !u32(v, &index)) return false;
  if (!name_is(text, len, "run") || kind != 0) return fail(v, "the module's only export must be the function run");
  if (index < v->nimports || index >= v->nfuncs) return fail(v, "run must be a function defined in the module");
  if (!type_is(&v->types[v->func_type[index]], 1, T_I32, 0, 1, T_I32)) return fail(v, "run must have type (i32) -> i32");
  v->run_index = index;
  return true;
}

/* ---- type checking (the validation algorithm of the WebAssembly spec's appendix) ------------------------ */

static bool push(verifier_t *v, uint8_t t) {
  if (v->nvals >= RULES_VERIFY_MAX_STACK) return fail(v, "the operand stack is deeper than this host allows");
  v->vals[v->nvals++] = t;
  return true;
}

static bool pop(verifier_t *v, uint8_t want, uint8_t *got) {
  frame_t *f = &v->ctrls[v->nctrls - 1];
  uint8_t t;
  if (v->nvals == f->height) {
    if (!f->unreachable) return fail(v, "an instruction lacks an operand (type mismatch)");
    t = T_ANY;
  } else {
    t = v->vals[--v->nvals];
  }
  if (want != T_ANY && t != T_ANY && t != want) return fail(v, "type mismatch: 0x%02x where 0x%02x is expected", t, want);
  if (got) *got = t == T_ANY ? want : t;
  return true;
}

static bool push_frame(verifier_t *v, uint8_t op, uint8_t result) {
  if (v->nctrls >= RULES_VERIFY_MAX_DEPTH) return fail(v, "blocks nest deeper than this host allows");
  frame_t *f = &v->ctrls[v->nctrls++];
  f->op = op;
  f->result = result;
  f->height = (uint8_t)v->nvals;
  f->unreachable = false;
  f->has_else = false;
  return true;
}

static void unreachable(verifier_t *v) {
  frame_t *f = &v->ctrls[v->nctrls - 1];
  v->nvals = f->height;
  f->unreachable = true;
}

/* The operand a branch to this frame carries: nothing for a loop (it branches to its start). */
static uint8_t label_type(const frame_t *f) { return f->op == 0x03 ? 0 : f->result; }

static bool check_frame_end(verifier_t *v) {
  frame_t *f = &v->ctrls[v->nctrls - 1];
  if (f->result && !pop(v, f->result, NULL)) return false;
  if (v->nvals != f->height) return fail(v, "a block leaves extra values on the stack (type mismatch)");
  return true;
}

static bool block_type(verifier_t *v, uint8_t *result) {
  uint8_t b;
  *result = 0;
  if (!byte(v, &b)) return false;
  if (b == 0x40) {
    *result = 0;
    return true;
  }
  if (b != T_I32 && b != T_I64 && b != T_F32 && b != T_F64) return fail(v, "unsupported block type 0x%02x", b);
  *result = b;
  return true;
}

static bool label(verifier_t *v, uint32_t *depth) {
  if (!u32(v, depth)) return false;
  if (*depth >= v->nctrls) return fail(v, "a branch targets a label that does not exist");
  return true;
}

/* Operand and result types of the numeric instructions 0x45..0xbf. */
static bool numeric(verifier_t *v, uint8_t op) {
  uint8_t a = 0, b = 0, r = 0; /* a: first operand, b: second (0: unary), r: result */
  if (op == 0x45) a = T_I32, r = T_I32;
  else if (op <= 0x4f) a = b = T_I32, r = T_I32;
  else if (op == 0x50) a = T_I64, r = T_I32;
  else if (op <= 0x5a) a = b = T_I64, r = T_I32;
  else if (op <= 0x60) a = b = T_F32, r = T_I32;
  else if (op <= 0x66) a = b = T_F64, r = T_I32;
  else if (op <= 0x69) a = T_I32, r = T_I32;
  else if (op <= 0x78) a = b = T_I32, r = T_I32;
  else if (op <= 0x7b) a = T_I64, r = T_I64;
  else if (op <= 0x8a) a = b = T_I64, r = T_I64;
  else if (op <= 0x91) a = T_F32, r = T_F32;
  else if (op <= 0x98) a = b = T_F32, r = T_F32;
  else if (op <= 0x9f) a = T_F64, r = T_F64;
  else if (op <= 0xa6) a = b = T_F64, r = T_F64;
  else {
    static const uint8_t conv[][2] = {
        /* a7 */ {T_I64, T_I32}, {T_F32, T_I32}, {T_F32, T_I32}, {T_F64, T_I32}, {T_F64, T_I32},
        /* ac */ {T_I32, T_I64}, {T_I32, T_I64}, {T_F32, T_I64}, {T_F32, T_I64}, {T_F64, T_I64}, {T_F64, T_I64},
        /* b2 */ {T_I32, T_F32}, {T_I32, T_F32}, {T_I64, T_F32}, {T_I64, T_F32}, {T_F64, T_F32},
        /* b7 */ {T_I32, T_F64}, {T_I32, T_F64}, {T_I64, T_F64}, {T_I64, T_F64}, {T_F32, T_F64},
        /* bc */ {T_F32, T_I32}, {T_F64, T_I64}, {T_I32, T_F32}, {T_I64, T_F64}};
    a = conv[op - 0xa7][0];
    r = conv[op - 0xa7][1];
  }
  if (b && !pop(v, b, NULL)) return false;
  return pop(v, a, NULL) && push(v, r);
}

static bool check_body(verifier_t *v, uint32_t func) {
  const functype_t *t = &v->types[v->func_type[func]];
  v->nvals = 0;
  v->nctrls = 0;
  push_frame(v, 0, t->nresults ? t->result : 0);
  while (v->nctrls > 0) {
    uint8_t op;
    if (!byte(v, &op)) return false;
    uint32_t idx, depth;
    uint8_t tmp = 0;
    int64_t imm;
    switch (op) {
      case 0x00: unreachable(v); break;
      case 0x01: break;
      case 0x02:
      case 0x03:
        if (!block_type(v, &tmp) || !push_frame(v, op, tmp)) return false;
        break;
      case 0x04:
        if (!block_type(v, &tmp) || !pop(v, T_I32, NULL) || !push_frame(v, op, tmp)) return false;
        break;
      case 0x05: {
        frame_t *f = &v->ctrls[v->nctrls - 1];
        if (f->op != 0x04 || f->has_else) return fail(v, "else without if");
        if (!check_frame_end(v)) return false;
        f->has_else = true;
        f->unreachable = false;
        break;
      }
      case 0x0b: {
        frame_t *f = &v->ctrls[v->nctrls - 1];
        if (f->op == 0x04 && !f->has_else && f->result) return fail(v, "an if with a result has no else");
        if (!check_frame_end(v)) return false;
        uint8_t result = f->result;
        v->nctrls--;
        if (v->nctrls > 0 && result && !push(v, result)) return false;
        break;
      }
      case 0x0c:
        if (!label(v, &depth)) return false;
        tmp = label_type(&v->ctrls[v->nctrls - 1 - depth]);
        if (tmp && !pop(v, tmp, NULL)) return false;
        unreachable(v);
        break;
      case 0x0d:
        if (!label(v, &depth) || !pop(v, T_I32, NULL)) return false;
        tmp = label_type(&v->ctrls[v->nctrls - 1 - depth]);
        if (tmp && (!pop(v, tmp, NULL) || !push(v, tmp))) return false;
        break;
      case 0x0e: {
        uint32_t count;
        if (!u32(v, &count)) return false;
        if (count > (uint32_t)(v->end - v->p)) return fail(v, "br_table is truncated");
        int arity = -1;
        for (uint32_t i = 0; i <= count; i++) {
          if (!label(v, &depth)) return false;
          uint8_t lt = label_type(&v->ctrls[v->nctrls - 1 - depth]);
          if (arity >= 0 && lt != (uint8_t)arity) return fail(v, "br_table targets labels of different types");
          arity = lt;
        }
        if (!pop(v, T_I32, NULL)) return false;
        if (arity && !pop(v, (uint8_t)arity, NULL)) return false;
        unreachable(v);
        break;
      }
      case 0x0f:
        if (t->nresults && !pop(v, t->result, NULL)) return false;
        unreachable(v);
        break;
      case 0x10: {
        if (!u32(v, &idx)) return false;
        if (idx >= v->nfuncs) return fail(v, "a call targets a function that does not exist");
        const functype_t *c = &v->types[v->func_type[idx]];
        for (int i = c->nparams - 1; i >= 0; i--) if (!pop(v, c->params[i], NULL)) return false;
        if (c->nresults && !push(v, c->result)) return false;
        break;
      }
      case 0x1a:
        if (!pop(v, T_ANY, NULL)) return false;
        break;
      case 0x1b: {
        uint8_t t1, t2;
        if (!pop(v, T_I32, NULL) || !pop(v, T_ANY, &t1) || !pop(v, t1, &t2) || !push(v, t1 == T_ANY ? t2 : t1)) return false;
        break;
      }
      case 0x20:
      case 0x21:
      case 0x22:
        if (!u32(v, &idx)) return false;
        if (idx >= v->nlocals) return fail(v, "a local index is out of range");
        if (op == 0x20) {
          if (!push(v, v->local_type[idx])) return false;
        } else if (!pop(v, v->local_type[idx], NULL) || (op == 0x22 && !push(v, v->local_type[idx]))) {
          return false;
        }
        break;
      case 0x23:
      case 0x24:
        if (!u32(v, &idx)) return false;
        if (idx >= v->nglobals) return fail(v, "a global index is out of range");
        if (op == 0x23 ? !push(v, v->global_type[idx]) : !pop(v, v->global_type[idx], NULL)) return false;
        break;
      case 0x41:
        if (!sleb(v, 32, &imm) || !push(v, T_I32)) return false;
        break;
      case 0x42:
        if (!sleb(v, 64, &imm) || !push(v, T_I64)) return false;
        break;
      case 0x43:
        if (!skip_bytes(v, 4) || !push(v, T_F32)) return false;
        break;
      case 0x44:
        if (!skip_bytes(v, 8) || !push(v, T_F64)) return false;
        break;
      default:
        if (op >= 0x45 && op <= 0xbf) {
          if (!numeric(v, op)) return false;
          break;
        }
        if (op == 0x11) return fail(v, "call_indirect needs a table, which the ABI forbids");
        if (op >= 0x28 && op <= 0x40) return fail(v, "memory instruction 0x%02x: the ABI forbids linear memory", op);
        return fail(v, "instruction 0x%02x is not in WebAssembly 1.0", op);
    }
    if (v->failed) return false;
  }
  return true;
}

static bool code_section(verifier_t *v) {
  uint32_t n;
  if (!u32(v, &n)) return false;
  if (n != v->nfuncs - v->nimports) return fail(v, "the code section has %u bodies for %u functions", (unsigned)n, (unsigned)(v->nfuncs - v->nimports));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t func = v->nimports + i, size, groups;
    if (!u32(v, &size)) return false;
    if (size > (uint32_t)(v->end - v->p)) return fail(v, "function %u's body is truncated", (unsigned)func);
    const uint8_t *saved_end = v->end;
    v->end = v->p + size;
    const functype_t *t = &v->types[v->func_type[func]];
    v->nlocals = 0;
    for (uint32_t k = 0; k < t->nparams; k++) v->local_type[v->nlocals++] = t->params[k];
    if (!u32(v, &groups)) return false;
    for (uint32_t g = 0; g < groups; g++) {
      uint32_t count;
      uint8_t type;
      if (!u32(v, &count) || !valtype(v, &type)) return false;
      if (count > RULES_VERIFY_MAX_LOCALS - v->nlocals) return fail(v, "function %u has more locals than this host allows", (unsigned)func);
      for (uint32_t k = 0; k < count; k++) v->local_type[v->nlocals++] = type;
    }
    v->body_start[func] = v->p;
    if (!check_body(v, func)) return false;
    if (v->p != v->end) return fail(v, "function %u has bytes after its end", (unsigned)func);
    v->body_end[func] = v->p;
    v->end = saved_end;
  }
  return true;
}

/* ---- cost ---------------------------------------------------------------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b > COST_CAP ? COST_CAP : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b) { return b && a > COST_CAP / b ? COST_CAP : a * b; }

/* Skips an instruction's immediates (the body is already validated, so nothing can fail here). */
static void skip_immediates(verifier_t *v, uint8_t op) {
  uint32_t x;
  int64_t imm;
  switch (op) {
    case 0x02: case 0x03: case 0x04: v->p++; break;
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: u32(v, &x); break;
    case 0x0e: {
      uint32_t count;
      u32(v, &count);
      for (uint32_t i = 0; i <= count; i++) u32(v, &x);
      break;
    }
    case 0x41: sleb(v, 32, &imm); break;
    case 0x42: sleb(v, 64, &imm); break;
    case 0x43: v->p += 4; break;
    case 0x44: v->p += 8; break;
    default: break;
  }
}

static bool function_cost(verifier_t *v, uint32_t func, uint64_t *out);

/* The trip count of the loop whose `loop` opcode is at `at`, or 0 when it does not have the canonical
 * counted form. */
static uint32_t loop_trips(verifier_t *v, const uint8_t *at) {
  (void)v;
  (void)at;
  return 0; /* loop recognition follows docs/device-abi.md's canonical form */
}

typedef struct {
  uint8_t op;
  uint64_t cost;      /* of the current arm */
  uint64_t then_cost; /* of an if's then arm, once its else is reached */
  uint32_t trips;
} cost_frame_t;

static bool walk_cost(verifier_t *v, uint32_t func, uint64_t *out) {
  cost_frame_t frames[RULES_VERIFY_MAX_DEPTH];
  uint32_t depth = 0;
  frames[depth++] = (cost_frame_t){0, 0, 0, 1};
  v->p = v->body_start[func];
  v->end = v->body_end[func];
  while (depth > 0) {
    const uint8_t *at = v->p;
    uint8_t op = *v->p++;
    cost_frame_t *f = &frames[depth - 1];
    if (op == 0x02 || op == 0x03 || op == 0x04) {
      uint32_t trips = 1;
      if (op == 0x03) {
        trips = loop_trips(v, at);
        if (trips == 0) return fail(v, "function %u has a loop that is not in the canonical counted form", (unsigned)func);
      }
      skip_immediates(v, op);
      frames[depth++] = (cost_frame_t){op, 0, 0, trips};
      continue;
    }
    if (op == 0x05) {
      f->then_cost = f->cost;
      f->cost = 0;
      continue;
    }
    if (op == 0x0b) {
      uint64_t c = f->op == 0x04 ? (f->cost > f->then_cost ? f->cost : f->then_cost) : f->cost;
      if (f->op == 0x03) c = sat_mul(c, f->trips);
      if (f->op != 0) c = sat_add(c, 1); /* the block, loop or if instruction itself */
      depth--;
      if (depth == 0) {
        *out = c;
        return true;
      }
      frames[depth - 1].cost = sat_add(frames[depth - 1].cost, c);
      continue;
    }
    uint64_t c = 1;
    if (op == 0x10) {
      uint32_t callee;
      u32(v, &callee);
      if (callee >= v->nimports) {
        const uint8_t *p = v->p, *end = v->end;
        uint64_t callee_cost;
        if (!function_cost(v, callee, &callee_cost)) return false;
        v->p = p;
        v->end = end;
        c = sat_add(c, callee_cost);
      }
    } else {
      skip_immediates(v, op);
    }
    f->cost = sat_add(f->cost, c);
  }
  return true;
}

static bool function_cost(verifier_t *v, uint32_t func, uint64_t *out) {
  if (v->cost_state[func] == 2) {
    *out = v->func_cost[func];
    return true;
  }
  if (v->cost_state[func] == 1) return fail(v, "function %u is recursive", (unsigned)func);
  v->cost_state[func] = 1;
  if (!walk_cost(v, func, &v->func_cost[func])) return false;
  v->cost_state[func] = 2;
  *out = v->func_cost[func];
  return true;
}

/* ---- the module ---------------------------------------------------------------------------------------- */

int verify_module(const uint8_t *wasm, size_t len, const rules_manifest_t *m, const rules_target_t *target,
                  uint64_t *cost, char *why, size_t why_size) {
  static verifier_t verifier; /* about 1 KB: kept off the stack of small boards */
  verifier_t *v = &verifier;
  memset(v, 0, sizeof *v);
  v->p = wasm;
  v->end = wasm + len;
  v->why = why;
  v->why_size = why_size;

  static const uint8_t HEADER[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  if (len < 8 || memcmp(wasm, HEADER, 8) != 0) {
    fail(v, "not a WebAssembly 1.0 module");
    return RULES_EVERIFY;
  }
  v->p += 8;
  uint8_t last = 0;
  bool have_code = false;
  while (!v->failed && v->p < v->end) {
    uint8_t id;
    uint32_t size;
    if (!byte(v, &id) || !u32(v, &size)) break;
    if (size > (uint32_t)(v->end - v->p)) {
      fail(v, "section %u is truncated", id);
      break;
    }
    if (id == 0) {
      fail(v, "the module has a custom section; the ABI forbids them");
      break;
    }
    if (id <= last || id > 11) {
      fail(v, "section %u is out of order, repeated or unknown", id);
      break;
    }
    last = id;
    const uint8_t *section_end = v->p + size;
    const uint8_t *saved_end = v->end;
    v->end = section_end;
    switch (id) {
      case 1: type_section(v); break;
      case 2: import_section(v, m); break;
      case 3: function_section(v); break;
      case 4: fail(v, "the module has a table; the ABI forbids them"); break;
      case 5: fail(v, "the module has a linear memory; the ABI forbids it"); break;
      case 6: global_section(v, target); break;
      case 7: export_section(v); break;
      case 8: fail(v, "the module has a start function; the ABI forbids it"); break;
      case 9: fail(v, "the module has element segments; the ABI forbids them"); break;
      case 10: have_code = code_section(v); break;
      default: fail(v, "the module has data segments; the ABI forbids them"); break;
    }
    if (!v->failed && v->p != section_end) fail(v, "section %u has trailing bytes", id);
    v->end = saved_end;
  }
  if (v->failed) return RULES_EVERIFY;
  if (v->run_index == 0 && v->nfuncs == 0) fail(v, "the module does not export run");
  else if (last < 7) fail(v, "the module does not export run");
  else if (v->nfuncs > v->nimports && !have_code) fail(v, "the module has functions without code");
  if (!v->failed && v->nglobals != m->state_slots) {
    fail(v, "the module has %u globals but the manifest says stateSlots %u", (unsigned)v->nglobals, (unsigned)m->state_slots);
  }
  if (!v->failed && !target->floating_point) {
    for (uint32_t i = 0; i < v->nglobals; i++) {
      if (v->global_type[i] != T_I32) fail(v, "global %u is a float, and the target has no floating point", (unsigned)i);
    }
  }
  uint64_t c = 0;
  if (!v->failed && function_cost(v, v->run_index, &c)) {
    if (c > m->max_instructions) {
      fail(v, "run may execute %lu instructions per tick; the manifest says at most %u", (unsigned long)c, (unsigned)m->max_instructions);
    } else if (m->max_instructions > target->max_instructions_per_tick) {
      fail(v, "the manifest's maxInstructionsPerTick %u is over the target's limit %u", (unsigned)m->max_instructions,
           (unsigned)target->max_instructions_per_tick);
    }
  }
  if (v->failed) return RULES_EVERIFY;
  if (cost) *cost = c;
  return RULES_OK;
}
