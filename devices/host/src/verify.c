/* The module verifier (see verify.h and device-abi.md §4.5), a port of contract/verify.ts: the same passes in the
 * same order, so both refuse a module with the same code. Static tables only: nothing is allocated. */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define T_I32 0x7f
#define T_I64 0x7e
#define T_F32 0x7d
#define T_F64 0x7c
#define T_UNKNOWN 0

#define MAX_TYPES 64
#define MAX_PARAMS 16
#define MAX_IMPORTS 16
#define MAX_GLOBALS 256
#define MAX_SECTIONS 32
#define COST_CEILING 0xffffffffu

typedef struct { uint8_t nparams, nresults; uint8_t params[MAX_PARAMS]; uint8_t results[2]; } functype_t;
typedef struct { uint32_t mod, mod_len, name, name_len; uint8_t kind; uint32_t type; } import_t;
typedef struct { uint8_t type, mutable_, init_op; } global_t;
typedef struct { uint8_t code; uint32_t offset; int32_t imm; uint32_t end; } instr_t;
typedef struct { int32_t counter; uint32_t step_at, back_edge_at, trips; } counted_loop_t;
typedef struct {
  uint8_t code, result; /* result: 0 none, or a value type */
  uint32_t height;
  bool unreachable;
  uint32_t cost, then_cost, offset;
  counted_loop_t loop;
} frame_t;

static struct verifier {
  const uint8_t *bytes;
  size_t len;
  bool floating_point;
  uint32_t limit;
  char *why;
  size_t why_size;
  verify_result_t *out;
  bool refused;

  uint8_t section_ids[MAX_SECTIONS];
  uint32_t section_offsets[MAX_SECTIONS];
  uint32_t nsections;
  functype_t types[MAX_TYPES];
  uint32_t ntypes;
  import_t imports[MAX_IMPORTS];
  uint32_t nimports, nfunc_imports;
  uint32_t func_types[VERIFY_MAX_FUNCTIONS]; /* defined functions' type indices */
  uint32_t nfuncs;                           /* defined functions */
  global_t globals[MAX_GLOBALS];
  uint32_t nglobals;
  uint32_t nexports;
  bool run_named, run_is_func;
  uint32_t run_index;
  uint32_t code_offsets[VERIFY_MAX_FUNCTIONS], code_sizes[VERIFY_MAX_FUNCTIONS];
  uint32_t ncodes;
  bool have_code;

  instr_t instrs[RULES_VERIFY_MAX_INSTRUCTIONS];
  uint32_t ninstrs;
  uint32_t body_first[VERIFY_MAX_FUNCTIONS], body_count[VERIFY_MAX_FUNCTIONS];
  uint32_t costs[VERIFY_MAX_FUNCTIONS];
  uint8_t state[VERIFY_MAX_FUNCTIONS];
  uint32_t order[VERIFY_MAX_FUNCTIONS], norder;

  uint8_t vals[VERIFY_MAX_STACK + 1];
  uint32_t nvals;
  frame_t frames[VERIFY_MAX_DEPTH + 1];
  uint32_t nframes;
  uint32_t open_loops;
  uint8_t locals[VERIFY_MAX_LOCALS];
  uint32_t nlocals, nparams;
} V;

static bool refuse(const char *code, int32_t fn, int32_t offset, const char *fmt, ...) {
  if (V.refused) return false;
  V.refused = true;
  V.out->code = code;
  V.out->function = fn;
  V.out->offset = offset;
  if (V.why && V.why_size) {
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(V.why, V.why_size, "%s: ", code);
    if (n > 0 && (size_t)n < V.why_size) vsnprintf(V.why + n, V.why_size - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* ---- a bounded reader --------------------------------------------------------------------------------- */

typedef struct { uint32_t pos, end; int32_t fn; } reader_t;

static bool rd_byte(reader_t *r, uint8_t *out) {
  *out = 0;
  if (V.refused) return false;
  if (r->pos >= r->end) return refuse("malformed", r->fn, (int32_t)r->pos, "the module ends in the middle of an item at offset 0x%x", (unsigned)r->pos);
  *out = V.bytes[r->pos++];
  return true;
}

static bool rd_u32(reader_t *r, uint32_t *out) {
  uint64_t result = 0;
  *out = 0;
  uint32_t start = r->pos;
  for (int shift = 0; shift < 35; shift += 7) {
    uint8_t b;
    if (!rd_byte(r, &b)) return false;
    result |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (result > 0xffffffffu) break;
      *out = (uint32_t)result;
      return true;
    }
  }
  return refuse("malformed", r->fn, (int32_t)start, "the LEB128 at offset 0x%x is not a valid 32-bit integer", (unsigned)start);
}

/* A signed LEB128 of at most `bits` bits (32, 33 or 64), its value clamped to int64. */
static bool rd_signed(reader_t *r, int bits, int64_t *out) {
  uint32_t start = r->pos;
  int max_bytes = (bits + 6) / 7;
  uint64_t result = 0;
  int shift = 0;
  *out = 0;
  for (int i = 0; i < max_bytes; i++) {
    uint8_t b;
    if (!rd_byte(r, &b)) return false;
    if (shift < 64) result |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      if (shift < 64 && (b & 0x40)) result |= ~(uint64_t)0 << shift;
      int64_t v = (int64_t)result;
      if (bits < 64) {
        int64_t lo = -((int64_t)1 << (bits - 1)), hi = ((int64_t)1 << (bits - 1)) - 1;
        if (v < lo || v > hi) break;
      } else if (i == max_bytes - 1) {
        uint8_t rest = (uint8_t)((b & 0x7f) >> 0);
        if (rest != 0x00 && rest != 0x7f) break;
      }
      *out = v;
      return true;
    }
  }
  return refuse("malformed", r->fn, (int32_t)start, "the constant at offset 0x%x does not fit in %d bits", (unsigned)start, bits);
}

static bool rd_skip(reader_t *r, uint32_t n) {
  if (V.refused) return false;
  if (n > r->end - r->pos) return refuse("malformed", r->fn, (int32_t)r->pos, "an item at offset 0x%x runs past its end", (unsigned)r->pos);
  r->pos += n;
  return true;
}

static bool rd_name(reader_t *r, uint32_t *at, uint32_t *len) {
  if (!rd_u32(r, len)) return false;
  *at = r->pos;
  return rd_skip(r, *len);
}

static bool known_valtype(uint8_t t) { return t == T_I32 || t == T_I64 || t == T_F32 || t == T_F64 || t == 0x7b || t == 0x70 || t == 0x6f; }

static bool rd_valtype(reader_t *r, uint8_t *out) {
  uint32_t at = r->pos;
  if (!rd_byte(r, out)) return false;
  if (!known_valtype(*out)) return refuse("malformed", r->fn, (int32_t)at, "unknown value type 0x%x at offset 0x%x", *out, (unsigned)at);
  return true;
}

static bool rd_limits(reader_t *r) {
  uint8_t flags;
  uint32_t v;
  if (!rd_byte(r, &flags)) return false;
  if (flags > 3) return refuse("malformed", -1, (int32_t)r->pos, "unsupported limits flags 0x%x", flags);
  if (!rd_u32(r, &v)) return false;
  return !(flags & 1) || rd_u32(r, &v);
}

/* ---- pass 1: the binary parses (malformed) --------------------------------------------------------------- */

static bool mvp_valtype(uint8_t t) { return t == T_I32 || t == T_I64 || t == T_F32 || t == T_F64; }

static bool is_non_mvp_opcode(uint8_t c) {
  return (c >= 0x06 && c <= 0x0a) || (c >= 0x12 && c <= 0x15) || c == 0x18 || c == 0x19 || c == 0x1c || c == 0x1f ||
         c == 0x25 || c == 0x26 || (c >= 0xc0 && c <= 0xc4) || (c >= 0xd0 && c <= 0xd2) || c == 0xfb || c == 0xfd ||
         c == 0xfe || c == 0xfc;
}

/* Scans a body's instructions as a WebAssembly parser does; stops quietly at the first post-1.0 feature. */
static bool scan_instructions(reader_t *r, bool *non_mvp) {
  uint32_t depth = 1, x;
  int64_t s;
  *non_mvp = false;
  while (depth > 0) {
    uint8_t op, b;
    if (!rd_byte(r, &op)) return false;
    if (op == 0xfc) {
      *non_mvp = true;
      return rd_u32(r, &x);
    }
    if (is_non_mvp_opcode(op)) {
      *non_mvp = true;
      return true;
    }
    switch (op) {
      case 0x02: case 0x03: case 0x04: {
        uint32_t at = r->pos;
        if (!rd_byte(r, &b)) return false;
        if (b != 0x40 && !mvp_valtype(b)) {
          *non_mvp = true;
          if (known_valtype(b)) return true;
          r->pos = at;
          return rd_signed(r, 33, &s);
        }
        depth++;
        break;
      }
      case 0x0b: depth--; break;
      case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
        if (!rd_u32(r, &x)) return false;
        break;
      case 0x0e: {
        uint32_t n;
        if (!rd_u32(r, &n)) return false;
        for (uint64_t i = 0; i <= n; i++) if (!rd_u32(r, &x)) return false;
        break;
      }
      case 0x11:
        if (!rd_u32(r, &x) || !rd_byte(r, &b)) return false;
        if (b != 0) { *non_mvp = true; return true; }
        break;
      case 0x3f: case 0x40:
        if (!rd_byte(r, &b)) return false;
        if (b != 0) { *non_mvp = true; return true; }
        break;
      case 0x41: if (!rd_signed(r, 32, &s)) return false; break;
      case 0x42: if (!rd_signed(r, 64, &s)) return false; break;
      case 0x43: if (!rd_skip(r, 4)) return false; break;
      case 0x44: if (!rd_skip(r, 8)) return false; break;
      default:
        if (op >= 0x28 && op <= 0x3e) {
          if (!rd_u32(r, &x) || !rd_u32(r, &x)) return false;
        } else if (!(op <= 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || (op >= 0x45 && op <= 0xbf))) {
          return refuse("malformed", r->fn, (int32_t)(r->pos - 1), "unknown opcode 0x%x at offset 0x%x", op, (unsigned)(r->pos - 1));
        }
    }
  }
  return true;
}

static int section_order(uint8_t id) {
  static const int ORDER[14] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return ORDER[id];
}

static bool parse_section(uint8_t id, reader_t *r) {
  uint32_t n, x;
  uint8_t b;
  switch (id) {
    case 0: {
      uint32_t at, len;
      if (!rd_name(r, &at, &len)) return false;
      r->pos = r->end;
      return true;
    }
    case 1:
      if (!rd_u32(r, &n)) return false;
      for (uint32_t i = 0; i < n; i++) {
        uint8_t form;
        uint32_t np, nr;
        functype_t *t = i < MAX_TYPES ? &V.types[i] : NULL;
        if (!rd_byte(r, &form)) return false;
        if (form != 0x60) return refuse("malformed", -1, (int32_t)(r->pos - 1), "type %u is not a function type", (unsigned)i);
        if (!rd_u32(r, &np)) return false;
        for (uint32_t k = 0; k < np; k++) {
          if (!rd_valtype(r, &b)) return false;
          if (t && k < MAX_PARAMS) t->params[k] = b;
        }
        if (!rd_u32(r, &nr)) return false;
        for (uint32_t k = 0; k < nr; k++) {
          if (!rd_valtype(r, &b)) return false;
          if (t && k < 2) t->results[k] = b;
        }
        if (t) {
          if (np > MAX_PARAMS) return refuse("size", -1, -1, "type %u has %u parameters; this host reads at most %u", (unsigned)i, (unsigned)np, MAX_PARAMS);
          t->nparams = (uint8_t)np;
          t->nresults = (uint8_t)(nr > 2 ? 2 : nr);
        }
      }
      if (n > MAX_TYPES) return refuse("size", -1, -1, "the module has %u types; this host reads at most %u", (unsigned)n, MAX_TYPES);
      V.ntypes = n;
      return true;
    case 2:
      if (!rd_u32(r, &n)) return false;
      for (uint32_t i = 0; i < n; i++) {
        import_t imp;
        memset(&imp, 0, sizeof imp);
        if (!rd_name(r, &imp.mod, &imp.mod_len) || !rd_name(r, &imp.name, &imp.name_len) || !rd_byte(r, &imp.kind)) return false;
        switch (imp.kind) {
          case 0: if (!rd_u32(r, &imp.type)) return false; V.nfunc_imports++; break;
          case 1: if (!rd_byte(r, &b) || !rd_limits(r)) return false; break;
          case 2: if (!rd_limits(r)) return false; break;
          case 3:
            if (!rd_valtype(r, &b) || !rd_byte(r, &b)) return false;
            if (b > 1) return refuse("malformed", -1, (int32_t)r->pos, "global import %u has invalid mutability", (unsigned)i);
            break;
          default: return refuse("malformed", -1, (int32_t)r->pos, "import %u has unsupported kind %u", (unsigned)i, imp.kind);
        }
        if (i < MAX_IMPORTS) V.imports[i] = imp;
      }
      V.nimports = n;
      return true;
    case 3:
      if (!rd_u32(r, &n)) return false;
      for (uint32_t i = 0; i < n; i++) {
        if (!rd_u32(r, &x)) return false;
        if (i < VERIFY_MAX_FUNCTIONS) V.func_types[i] = x;
      }
      V.nfuncs = n;
      return true;
    case 6:
      if (!rd_u32(r, &n)) return false;
      for (uint32_t i = 0; i < n; i++) {
        global_t g;
        uint8_t op, end;
        int64_t s;
        if (!rd_valtype(r, &g.type) || !rd_byte(r, &g.mutable_)) return false;
        if (g.mutable_ > 1) return refuse("malformed", -1, (int32_t)r->pos, "global %u has invalid mutability", (unsigned)i);
        uint32_t at = r->pos;
        if (!rd_byte(r, &op)) return false;
        switch (op) {
          case 0x41: if (!rd_signed(r, 32, &s)) return false; break;
          case 0x42: if (!rd_signed(r, 64, &s)) return false; break;
          case 0x43: if (!rd_skip(r, 4)) return false; break;
          case 0x44: if (!rd_skip(r, 8)) return false; break;
          case 0x23: if (!rd_u32(r, &x)) return false; break;
          default: return refuse("malformed", -1, (int32_t)at, "global %u's initializer is not one constant or global.get", (unsigned)i);
        }
        if (!rd_byte(r, &end)) return false;
        if (end != 0x0b) return refuse("malformed", -1, (int32_t)at, "global %u's initializer has more than one instruction", (unsigned)i);
        g.init_op = op;
        if (i < MAX_GLOBALS) V.globals[i] = g;
      }
      if (n > MAX_GLOBALS) return refuse("size", -1, -1, "the module has %u globals; this host reads at most %u", (unsigned)n, MAX_GLOBALS);
      V.nglobals = n;
      return true;
    case 7:
      if (!rd_u32(r, &n)) return false;
      for (uint32_t i = 0; i < n; i++) {
        uint32_t at, len, index;
        uint8_t kind;
        if (!rd_name(r, &at, &len) || !rd_byte(r, &kind)) return false;
        if (kind > 3) return refuse("malformed", -1, (int32_t)r->pos, "export %u has unsupported kind %u", (unsigned)i, kind);
        if (!rd_u32(r, &index)) return false;
        if (i == 0) {
          V.run_named = len == 3 && memcmp(V.bytes + at, "run", 3) == 0;
          V.run_is_func = kind == 0;
          V.run_index = index;
        }
      }
      V.nexports = n;
      return true;
    case 10:
      if (!rd_u32(r, &n)) return false;
      if (n != V.nfuncs) return refuse("malformed", -1, (int32_t)r->pos, "the code section has %u bodies for %u functions", (unsigned)n, (unsigned)V.nfuncs);
      for (uint32_t i = 0; i < n; i++) {
        uint32_t size, groups, total = 0;
        uint32_t offset = r->pos;
        if (!rd_u32(r, &size)) return false;
        uint32_t start = r->pos;
        if (!rd_skip(r, size)) return false;
        if (i < VERIFY_MAX_FUNCTIONS) {
          V.code_offsets[i] = offset;
          V.code_sizes[i] = size;
        }
        reader_t body = {start, start + size, (int32_t)(V.nfunc_imports + i)};
        if (!rd_u32(&body, &groups)) return false;
        bool non_mvp = false;
        for (uint32_t g = 0; g < groups; g++) {
          uint32_t count;
          if (!rd_u32(&body, &count)) return false;
          total += count;
          if (total > 50000) return refuse("malformed", body.fn, -1, "code body %u declares more than 50000 locals", (unsigned)i);
          if (!rd_valtype(&body, &b)) return false;
          if (!mvp_valtype(b)) non_mvp = true;
        }
        if (!non_mvp) {
          if (!scan_instructions(&body, &non_mvp)) return false;
          if (!non_mvp && body.pos != body.end) {
            return refuse("malformed", body.fn, (int32_t)body.pos, "code body %u continues after its final end", (unsigned)i);
          }
        }
      }
      V.ncodes = n;
      V.have_code = true;
      return true;
    default: /* tables, memories, start, elements, data, data count, tags: the shape check refuses them */
      r->pos = r->end;
      return true;
  }
}

static bool parse_module(void) {
  if (V.len < 8) return refuse("malformed", -1, -1, "the module is %u bytes; even an empty module has 8", (unsigned)V.len);
  if (memcmp(V.bytes, "\0asm", 4) != 0) return refuse("malformed", -1, 0, "the module does not start with \\0asm");
  if (memcmp(V.bytes + 4, "\1\0\0\0", 4) != 0) return refuse("malformed", -1, 4, "the module is not WebAssembly 1.0");
  reader_t top = {8, (uint32_t)V.len, -1};
  int last = 0;
  while (top.pos < top.end) {
    uint32_t offset = top.pos, size;
    uint8_t id;
    if (!rd_byte(&top, &id)) return false;
    if (id > 13) return refuse("malformed", -1, (int32_t)offset, "unknown section id %u at offset 0x%x", id, (unsigned)offset);
    if (!rd_u32(&top, &size)) return false;
    uint32_t payload = top.pos;
    if (!rd_skip(&top, size)) return false;
    if (id != 0) {
      if (section_order(id) <= last) return refuse("malformed", -1, (int32_t)offset, "section %u at offset 0x%x is out of order or repeated", id, (unsigned)offset);
      last = section_order(id);
    }
    if (V.nsections < MAX_SECTIONS) {
      V.section_ids[V.nsections] = id;
      V.section_offsets[V.nsections] = offset;
    }
    V.nsections++;
    reader_t r = {payload, payload + size, -1};
    if (!parse_section(id, &r)) return false;
    if (r.pos != r.end) return refuse("malformed", -1, (int32_t)offset, "section %u at offset 0x%x has unread bytes", id, (unsigned)offset);
  }
  if (V.nfuncs > 0 && !V.have_code) return refuse("malformed", -1, -1, "the module declares functions but has no code section");
  return true;
}

/* ---- pass 2: the module's shape ------------------------------------------------------------------------ */

static bool value_type(uint8_t t, int32_t fn, const char *what, unsigned index) {
  if (t != T_I32 && t != T_F32) return refuse("types", fn, -1, "%s %u has a value of type 0x%x; rules use only i32 and f32", what, index, t);
  if (t == T_F32 && !V.floating_point) return refuse("float", fn, -1, "%s %u has type f32, and this target has no floating point", what, index);
  return true;
}

static bool type_is(uint32_t index, uint8_t nparams, uint8_t p0, uint8_t p1, uint8_t nresults, uint8_t r0) {
  if (index >= V.ntypes) return false;
  const functype_t *t = &V.types[index];
  return t->nparams == nparams && (nparams < 1 || t->params[0] == p0) && (nparams < 2 || t->params[1] == p1) &&
         t->nresults == nresults && (nresults < 1 || t->results[0] == r0);
}

static bool check_shape(void) {
  for (uint32_t i = 0; i < V.nsections && i < MAX_SECTIONS; i++) {
    uint8_t id = V.section_ids[i];
    if (id == 0) return refuse("shape", -1, (int32_t)V.section_offsets[i], "the module has a custom section; rules carry none");
    if (id == 4 || id == 5 || id == 8 || id == 9 || id == 11 || id >= 12) {
      return refuse("shape", -1, (int32_t)V.section_offsets[i], "the module has a section %u; rules have no memory, table, segments or start function", id);
    }
  }
  for (uint32_t i = 0; i < V.ntypes; i++) {
    const functype_t *t = &V.types[i];
    if (t->nresults > 1) return refuse("types", -1, -1, "type %u returns more than one value", (unsigned)i);
    for (uint8_t k = 0; k < t->nparams; k++) if (!value_type(t->params[k], -1, "type", i)) return false;
    for (uint8_t k = 0; k < t->nresults; k++) if (!value_type(t->results[k], -1, "type", i)) return false;
  }
  uint8_t seen = 0;
  for (uint32_t i = 0; i < V.nimports && i < MAX_IMPORTS; i++) {
    const import_t *imp = &V.imports[i];
    uint8_t bit = 0;
    if (imp->mod_len == 2 && memcmp(V.bytes + imp->mod, "io", 2) == 0 && imp->name_len == 2) {
      const uint8_t *f = V.bytes + imp->name;
      bit = f[0] == 'g' && f[1] == 'r' ? VERIFY_IO_GR : f[0] == 'g' && f[1] == 'w' ? VERIFY_IO_GW : f[0] == 's' && f[1] == 'r' ? VERIFY_IO_SR : 0;
    }
    if (imp->kind != 0 || !bit) return refuse("import", -1, -1, "import %u is not one of the functions io.gr, io.gw, io.sr", (unsigned)i);
    if (seen & bit) return refuse("import", -1, -1, "import %u repeats an io function", (unsigned)i);
    seen |= bit;
    bool ok = bit == VERIFY_IO_GW ? type_is(imp->type, 2, T_I32, T_I32, 0, 0) : type_is(imp->type, 1, T_I32, 0, 1, T_I32);
    if (!ok) return refuse("import", -1, -1, "import %u has the wrong type for its io function", (unsigned)i);
  }
  V.out->imports = seen;
  for (uint32_t i = 0; i < V.nglobals; i++) {
    const global_t *g = &V.globals[i];
    if (!g->mutable_) return refuse("global", -1, -1, "global %u is immutable; rule state is mutable i32 or f32 globals", (unsigned)i);
    if (!value_type(g->type, -1, "global", i)) return false;
    if (g->init_op != (g->type == T_I32 ? 0x41 : 0x43)) return refuse("global", -1, -1, "global %u is not initialized with a constant of its type", (unsigned)i);
  }
  V.out->globals = V.nglobals;
  for (uint32_t i = 0; i < V.nfuncs && i < VERIFY_MAX_FUNCTIONS; i++) {
    if (V.func_types[i] >= V.ntypes) return refuse("types", (int32_t)(V.nfunc_imports + i), -1, "function %u has a type that does not exist", (unsigned)(V.nfunc_imports + i));
  }
  if (V.nfuncs > VERIFY_MAX_FUNCTIONS) return refuse("size", -1, -1, "the module defines more than %u functions", VERIFY_MAX_FUNCTIONS);
  if (V.nexports != 1 || !V.run_named || !V.run_is_func) return refuse("export", -1, -1, "a rule exports exactly the function \"run\"");
  if (V.run_index < V.nfunc_imports || V.run_index >= V.nfunc_imports + V.nfuncs) {
    return refuse("export", -1, -1, "\"run\" is function %u, which the module does not define", (unsigned)V.run_index);
  }
  if (!type_is(V.func_types[V.run_index - V.nfunc_imports], 1, T_I32, 0, 1, T_I32)) return refuse("export", -1, -1, "\"run\" must have type (i32) -> i32");
  return true;
}

/* ---- pass 3: decoding bodies (types, size, float, opcode, malformed) ---------------------------------------- */

/* The ABI's opcodes: 0 not in the subset; else 1 + the immediate kind. Plain instructions carry their types. */
enum { IMM_NONE = 1, IMM_BLOCK, IMM_U32, IMM_LABELS, IMM_I32, IMM_F32 };

static uint8_t imm_kind(uint8_t c) {
  switch (c) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: return IMM_NONE;
    case 0x02: case 0x03: case 0x04: return IMM_BLOCK;
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: return IMM_U32;
    case 0x0e: return IMM_LABELS;
    case 0x41: return IMM_I32;
    case 0x43: return IMM_F32;
    default: break;
  }
  if (c == 0x45 || (c >= 0x46 && c <= 0x4f) || (c >= 0x5b && c <= 0x60) || (c >= 0x67 && c <= 0x78) || (c >= 0x8b && c <= 0x98) ||
      c == 0xa8 || c == 0xa9 || c == 0xb2 || c == 0xb3 || c == 0xbc || c == 0xbe) {
    return IMM_NONE;
  }
  return 0;
}

/* For plain instructions: operands popped (up to two, first pushed first) and the one result. */
static void plain_types(uint8_t c, uint8_t *a, uint8_t *b, uint8_t *r) {
  *a = *b = *r = 0;
  if (c == 0x41) *r = T_I32;
  else if (c == 0x43) *r = T_F32;
  else if (c == 0x45) *a = T_I32, *r = T_I32;
  else if (c >= 0x46 && c <= 0x4f) *a = *b = T_I32, *r = T_I32;
  else if (c >= 0x5b && c <= 0x60) *a = *b = T_F32, *r = T_I32;
  else if (c >= 0x67 && c <= 0x69) *a = T_I32, *r = T_I32;
  else if (c >= 0x6a && c <= 0x78) *a = *b = T_I32, *r = T_I32;
  else if (c >= 0x8b && c <= 0x91) *a = T_F32, *r = T_F32;
  else if (c >= 0x92 && c <= 0x98) *a = *b = T_F32, *r = T_F32;
  else if (c == 0xa8 || c == 0xa9) *a = T_F32, *r = T_I32;
  else if (c == 0xb2 || c == 0xb3) *a = T_I32, *r = T_F32;
  else if (c == 0xbc) *a = T_F32, *r = T_I32;
  else if (c == 0xbe) *a = T_I32, *r = T_F32;
}

static const char *opcode_outside(uint8_t c) {
  if (is_non_mvp_opcode(c)) return "is not WebAssembly 1.0; rules use the ABI's subset of it";
  if (c == 0x11) return "is call_indirect (rules have no table)";
  if (c >= 0x28 && c <= 0x40) return "is a memory instruction (rules have no linear memory)";
  if (c == 0x42 || c == 0x44) return "is an i64 or f64 constant (rules use only i32 and f32)";
  return "is an i64 or f64 instruction, or not WebAssembly 1.0 (rules use only i32 and f32)";
}

static bool decode_body(uint32_t index) {
  int32_t fn = (int32_t)(V.nfunc_imports + index);
  reader_t r = {V.code_offsets[index], (uint32_t)V.len, fn};
  uint32_t size, groups, x;
  uint8_t b;
  rd_u32(&r, &size);
  r.end = r.pos + size;
  const functype_t *t = &V.types[V.func_types[index]];
  uint32_t nlocals = t->nparams;
  if (!rd_u32(&r, &groups)) return false;
  for (uint32_t g = 0; g < groups; g++) {
    uint32_t count;
    if (!rd_u32(&r, &count)) return false;
    uint32_t at = r.pos;
    if (!rd_byte(&r, &b)) return false;
    if (!mvp_valtype(b)) return refuse("types", fn, (int32_t)at, "function %d: a local has type byte 0x%x; rules use only i32 and f32", fn, b);
    if ((uint64_t)nlocals + count > VERIFY_MAX_LOCALS) return refuse("size", fn, (int32_t)at, "function %d has more than %u locals", fn, VERIFY_MAX_LOCALS);
    if (b != T_I32 && b != T_F32) return refuse("types", fn, (int32_t)at, "function %d: a local has type 0x%x; rules use only i32 and f32", fn, b);
    if (b == T_F32 && !V.floating_point) return refuse("float", fn, (int32_t)at, "function %d: a local has type f32, and this target has no floating point", fn);
    nlocals += count;
  }
  V.body_first[index] = V.ninstrs;
  uint32_t open[VERIFY_MAX_DEPTH + 2], nopen = 0, depth = 1;
  while (depth > 0) {
    if (r.pos >= r.end) return refuse("malformed", fn, (int32_t)r.pos, "function %d: the body ends before its final end", fn);
    uint32_t offset = r.pos;
    uint8_t c;
    rd_byte(&r, &c);
    uint8_t kind = imm_kind(c);
    if (!kind) return refuse("opcode", fn, (int32_t)offset, "function %d, offset 0x%x: opcode 0x%x %s", fn, (unsigned)offset, c, opcode_outside(c));
    if (V.ninstrs >= RULES_VERIFY_MAX_INSTRUCTIONS) return refuse("size", fn, (int32_t)offset, "the module has more than %u instructions", RULES_VERIFY_MAX_INSTRUCTIONS);
    instr_t *ins = &V.instrs[V.ninstrs];
    ins->code = c;
    ins->offset = offset;
    ins->imm = 0;
    ins->end = 0;
    int64_t s;
    switch (kind) {
      case IMM_BLOCK: if (!rd_byte(&r, &b)) return false; ins->imm = b; break;
      case IMM_U32: if (!rd_u32(&r, &x)) return false; ins->imm = (int32_t)x; break;
      case IMM_LABELS: {
        uint32_t n;
        ins->imm = (int32_t)r.pos; /* the labels are read again from here when needed */
        if (!rd_u32(&r, &n)) return false;
        if (n > size) return refuse("malformed", fn, (int32_t)offset, "function %d: br_table lists %u targets", fn, (unsigned)n);
        for (uint32_t i = 0; i <= n; i++) if (!rd_u32(&r, &x)) return false;
        break;
      }
      case IMM_I32: if (!rd_signed(&r, 32, &s)) return false; ins->imm = (int32_t)s; break;
      case IMM_F32: if (!rd_skip(&r, 4)) return false; break;
      default: break;
    }
    uint8_t pa, pb, pr;
    plain_types(c, &pa, &pb, &pr);
    if ((pa == T_F32 || pb == T_F32 || pr == T_F32) && !V.floating_point) {
      return refuse("float", fn, (int32_t)offset, "function %d, offset 0x%x: opcode 0x%x needs floating point, which this target lacks", fn, (unsigned)offset, c);
    }
    uint32_t here = V.ninstrs++;
    if (c == 0x02 || c == 0x03 || c == 0x04) {
      depth++;
      if (nopen < VERIFY_MAX_DEPTH + 2) open[nopen++] = here;
    } else if (c == 0x0b) {
      depth--;
      if (nopen > 0) V.instrs[open[--nopen]].end = here - V.body_first[index]; /* body-relative, like every index the checker uses */
    }
  }
  if (r.pos != r.end) return refuse("malformed", fn, (int32_t)r.pos, "function %d: bytes follow the body's final end", fn);
  V.body_count[index] = V.ninstrs - V.body_first[index];
  return true;
}

/* ---- pass 4: call graph ----------------------------------------------------------------------------------- */

static bool callees_first(void) {
  uint32_t total = V.nfunc_imports + V.nfuncs;
  static uint32_t stack_fn[VERIFY_MAX_FUNCTIONS], stack_i[VERIFY_MAX_FUNCTIONS];
  memset(V.state, 0, sizeof V.state);
  V.norder = 0;
  for (uint32_t root = 0; root < V.nfuncs; root++) {
    if (V.state[root]) continue;
    uint32_t sp = 0;
    stack_fn[sp] = root, stack_i[sp] = 0, sp++;
    V.state[root] = 1;
    while (sp > 0) {
      uint32_t f = stack_fn[sp - 1];
      const instr_t *body = &V.instrs[V.body_first[f]];
      bool pushed = false;
      while (stack_i[sp - 1] < V.body_count[f]) {
        const instr_t *ins = &body[stack_i[sp - 1]++];
        if (ins->code != 0x10) continue;
        uint32_t callee = (uint32_t)ins->imm;
        int32_t fn = (int32_t)(V.nfunc_imports + f);
        if (callee >= total) return refuse("type", fn, (int32_t)ins->offset, "function %d, offset 0x%x: call %u: there is no such function", fn, (unsigned)ins->offset, (unsigned)callee);
        if (callee < V.nfunc_imports) continue;
        uint32_t d = callee - V.nfunc_imports;
        if (V.state[d] == 1) return refuse("recursion", fn, (int32_t)ins->offset, "function %d, offset 0x%x: the call to function %u is recursive", fn, (unsigned)ins->offset, (unsigned)callee);
        if (!V.state[d]) {
          V.state[d] = 1;
          stack_fn[sp] = d, stack_i[sp] = 0, sp++;
          pushed = true;
          break;
        }
      }
      if (!pushed) {
        V.state[f] = 2;
        V.order[V.norder++] = f;
        sp--;
      }
    }
  }
  return true;
}

/* ---- pass 5: type checking, loops and cost ---------------------------------------------------------------- */

static uint32_t sat_add(uint32_t a, uint32_t b) { return (uint64_t)a + b > COST_CEILING ? COST_CEILING : a + b; }
static uint32_t sat_mul(uint32_t a, uint32_t b) { return (uint64_t)a * b > COST_CEILING ? COST_CEILING : a * b; }

static bool relop_holds(uint8_t op, int32_t a, int32_t b) {
  uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
  switch (op) {
    case 0x46: return a == b;
    case 0x47: return a != b;
    case 0x48: return a < b;
    case 0x49: return ua < ub;
    case 0x4a: return a > b;
    case 0x4b: return ua > ub;
    case 0x4c: return a <= b;
    case 0x4d: return ua <= ub;
    case 0x4e: return a >= b;
    default: return ua >= ub;
  }
}

/* The canonical counted loop (device-abi.md §4.5) opened at instruction `at` (indices within the body). */
static bool counted_loop(const instr_t *instrs, uint32_t at, bool inside_loop, int32_t fn, counted_loop_t *out) {
  const instr_t *loop = &instrs[at];
  uint32_t end = loop->end;
  const instr_t *back = &instrs[end - 1];
  if (back->code != 0x0d || back->imm != 0) {
    return refuse("loop-form", fn, (int32_t)back->offset, "function %d, loop at offset 0x%x: its last instruction must be its only way back, br_if 0", fn, (unsigned)loop->offset);
  }
  int64_t i = (int64_t)end - 2;
  uint8_t relop = 0;
  int32_t bound = 0;
  if (i - 1 > (int64_t)at && instrs[i].code >= 0x46 && instrs[i].code <= 0x4f && instrs[i - 1].code == 0x41) {
    relop = instrs[i].code;
    bound = instrs[i - 1].imm;
    i -= 2;
  }
  const instr_t *tested = &instrs[i];
  if (i <= (int64_t)at || (tested->code != 0x20 && tested->code != 0x22)) {
    return refuse("loop-form", fn, (int32_t)tested->offset, "function %d, loop at offset 0x%x: the back edge must test the counter", fn, (unsigned)loop->offset);
  }
  int32_t counter = tested->imm;
  int64_t step_at = -1;
  int depth = 0;
  for (uint32_t k = at + 1; k < end; k++) {
    const instr_t *x = &instrs[k];
    if (x->code == 0x02 || x->code == 0x03 || x->code == 0x04) depth++;
    else if (x->code == 0x0b) depth--;
    else if ((x->code == 0x21 || x->code == 0x22) && x->imm == counter) {
      bool is_step = x->code == 0x22 && depth == 0 && k >= at + 4 && instrs[k - 3].code == 0x20 && instrs[k - 3].imm == counter &&
                     instrs[k - 2].code == 0x41 && (instrs[k - 1].code == 0x6a || instrs[k - 1].code == 0x6b);
      if (!is_step || step_at >= 0) {
        return refuse("loop-form", fn, (int32_t)x->offset, "function %d, loop at offset 0x%x: offset 0x%x writes the counter (local %d) %s", fn,
                      (unsigned)loop->offset, (unsigned)x->offset, counter, step_at >= 0 ? "a second time" : "in a way that is not the step");
      }
      step_at = k;
    }
  }
  if (step_at < 0 || (tested->code == 0x22 && step_at != i)) {
    return refuse("loop-form", fn, (int32_t)loop->offset, "function %d, loop at offset 0x%x: the loop has no step at its own level", fn, (unsigned)loop->offset);
  }
  int32_t start;
  if (at >= 2 && instrs[at - 1].code == 0x21 && instrs[at - 1].imm == counter && instrs[at - 2].code == 0x41) {
    start = instrs[at - 2].imm;
  } else {
    bool written_before = false;
    for (uint32_t k = 0; k < at; k++) written_before |= (instrs[k].code == 0x21 || instrs[k].code == 0x22) && instrs[k].imm == counter;
    if ((uint32_t)counter < V.nparams || inside_loop || written_before) {
      return refuse("loop-form", fn, (int32_t)loop->offset, "function %d, loop at offset 0x%x: the counter (local %d) has no known start", fn, (unsigned)loop->offset, counter);
    }
    start = 0;
  }
  int32_t s = instrs[step_at - 2].imm;
  uint32_t delta = instrs[step_at - 1].code == 0x6a ? (uint32_t)s : (uint32_t)0 - (uint32_t)s;
  uint32_t c = (uint32_t)start;
  for (uint32_t k = 1; k <= V.limit; k++) {
    c += delta;
    bool holds = relop ? relop_holds(relop, (int32_t)c, bound) : c != 0;
    if (!holds) {
      out->counter = counter;
      out->step_at = (uint32_t)step_at;
      out->back_edge_at = end - 1;
      out->trips = k;
      return true;
    }
  }
  return refuse("loop-bound", fn, (int32_t)loop->offset, "function %d, loop at offset 0x%x: the counter does not end the loop within %u trips", fn, (unsigned)loop->offset, (unsigned)V.limit);
}

static int32_t cur_fn;
static const instr_t *cur;

static bool type_fail(const char *what) {
  return refuse("type", cur_fn, (int32_t)cur->offset, "function %d, offset 0x%x, opcode 0x%x: %s", cur_fn, (unsigned)cur->offset, cur->code, what);
}

static bool push(uint8_t t) {
  V.vals[V.nvals++] = t;
  if (V.nvals > VERIFY_MAX_STACK) return refuse("size", cur_fn, (int32_t)cur->offset, "function %d, offset 0x%x: the operand stack grows past %u values", cur_fn, (unsigned)cur->offset, VERIFY_MAX_STACK);
  return true;
}

static bool pop(uint8_t expect, uint8_t *got) {
  frame_t *f = &V.frames[V.nframes - 1];
  uint8_t actual;
  if (V.nvals == f->height) {
    if (!f->unreachable) return type_fail("the stack is empty where an operand is expected");
    actual = expect;
  } else {
    actual = V.vals[--V.nvals];
  }
  if (expect && actual != T_UNKNOWN && actual != expect) return type_fail("an operand has the wrong type");
  if (got) *got = actual;
  return true;
}

static void set_unreachable(void) {
  frame_t *f = &V.frames[V.nframes - 1];
  V.nvals = f->height;
  f->unreachable = true;
}

static uint8_t label_type(const frame_t *f) { return f->code == 0x03 ? 0 : f->result; }

static bool target(uint32_t depth, uint32_t index, frame_t **out) {
  if (depth >= V.nframes) return type_fail("a branch targets a block that does not exist");
  frame_t *f = &V.frames[V.nframes - 1 - depth];
  if (f->code == 0x03 && f->loop.back_edge_at != index) {
    return refuse("loop-form", cur_fn, (int32_t)cur->offset, "function %d, offset 0x%x: a branch jumps back to the loop at offset 0x%x; a counted loop has one way back",
                  cur_fn, (unsigned)cur->offset, (unsigned)f->offset);
  }
  *out = f;
  return true;
}

static bool check_function(uint32_t index, uint32_t *cost) {
  const functype_t *t = &V.types[V.func_types[index]];
  cur_fn = (int32_t)(V.nfunc_imports + index);
  const instr_t *instrs = &V.instrs[V.body_first[index]];
  uint32_t n = V.body_count[index];
  /* The locals again: parameters, then the declared groups (already checked while decoding). */
  V.nparams = t->nparams;
  V.nlocals = 0;
  for (uint8_t k = 0; k < t->nparams; k++) V.locals[V.nlocals++] = t->params[k];
  {
    reader_t r = {V.code_offsets[index], (uint32_t)V.len, cur_fn};
    uint32_t size, groups, count;
    uint8_t b;
    rd_u32(&r, &size);
    rd_u32(&r, &groups);
    for (uint32_t g = 0; g < groups; g++) {
      rd_u32(&r, &count);
      rd_byte(&r, &b);
      for (uint32_t k = 0; k < count; k++) V.locals[V.nlocals++] = b;
    }
  }
  V.nvals = 0;
  V.nframes = 0;
  V.open_loops = 0;
  frame_t *root = &V.frames[V.nframes++];
  memset(root, 0, sizeof *root);
  root->code = 0x02;
  root->result = t->nresults ? t->results[0] : 0;
  for (uint32_t i = 0; i < n; i++) {
    const instr_t *ins = &instrs[i];
    cur = ins;
    frame_t *frame = &V.frames[V.nframes - 1];
    uint8_t c = ins->code, ty;
    frame->cost = sat_add(frame->cost, (c == 0x05 || c == 0x0b) ? 0 : 1);
    uint8_t pa, pb, pr;
    plain_types(c, &pa, &pb, &pr);
    if (c == 0x01 || pa || pr) {
      if ((pb && !pop(pb, NULL)) || (pa && !pop(pa, NULL)) || (pr && !push(pr))) return false;
      continue;
    }
    frame_t *tf;
    switch (c) {
      case 0x00: set_unreachable(); break;
      case 0x02: case 0x03: case 0x04: {
        uint8_t bt = (uint8_t)ins->imm, result = 0;
        if (bt == T_I32) result = T_I32;
        else if (bt == T_F32) {
          if (!V.floating_point) return refuse("float", cur_fn, (int32_t)ins->offset, "function %d, offset 0x%x: a block of type f32 needs floating point", cur_fn, (unsigned)ins->offset);
          result = T_F32;
        } else if (bt != 0x40) {
          return refuse("type", cur_fn, (int32_t)ins->offset, "function %d, offset 0x%x: block type 0x%x is not none, i32 or f32", cur_fn, (unsigned)ins->offset, bt);
        }
        if (c == 0x04 && !pop(T_I32, NULL)) return false;
        if (V.nframes >= VERIFY_MAX_DEPTH) return refuse("size", cur_fn, (int32_t)ins->offset, "function %d, offset 0x%x: blocks nest deeper than %u", cur_fn, (unsigned)ins->offset, VERIFY_MAX_DEPTH);
        frame_t f;
        memset(&f, 0, sizeof f);
        f.code = c;
        f.result = result;
        f.height = V.nvals;
        f.offset = ins->offset;
        if (c == 0x03) {
          if (!counted_loop(instrs, i, V.open_loops > 0, cur_fn, &f.loop)) return false;
          V.open_loops++;
        }
        V.frames[V.nframes++] = f;
        break;
      }
      case 0x05:
        if (frame->code != 0x04) return type_fail("else without a matching if");
        if (frame->result && !pop(frame->result, NULL)) return false;
        if (V.nvals != frame->height) return type_fail("values remain on the stack at the end of the then arm");
        frame->code = 0x05;
        frame->unreachable = false;
        frame->then_cost = frame->cost;
        frame->cost = 0;
        break;
      case 0x0b: {
        if (frame->result && !pop(frame->result, NULL)) return false;
        if (V.nvals != frame->height) return type_fail("values remain on the stack at the end of the block");
        if (frame->code == 0x04 && frame->result) return type_fail("an if with a result needs an else arm");
        frame_t done = *frame;
        V.nframes--;
        uint32_t c2;
        if (done.code == 0x04 || done.code == 0x05) c2 = done.then_cost > done.cost ? done.then_cost : done.cost;
        else if (done.code == 0x03) c2 = sat_mul(done.loop.trips, done.cost), V.open_loops--;
        else c2 = done.cost;
        if (V.nframes == 0) {
          if (i != n - 1) return refuse("malformed", cur_fn, (int32_t)ins->offset, "function %d: the body goes on after its final end", cur_fn);
          *cost = c2;
          return true;
        }
        frame_t *parent = &V.frames[V.nframes - 1];
        parent->cost = sat_add(parent->cost, c2);
        if (done.result && !push(done.result)) return false;
        break;
      }
      case 0x0c:
        if (!target((uint32_t)ins->imm, i, &tf)) return false;
        ty = label_type(tf);
        if (ty && !pop(ty, NULL)) return false;
        set_unreachable();
        break;
      case 0x0d:
        if (!pop(T_I32, NULL) || !target((uint32_t)ins->imm, i, &tf)) return false;
        ty = label_type(tf);
        if (ty && (!pop(ty, NULL) || !push(ty))) return false;
        break;
      case 0x0e: {
        if (!pop(T_I32, NULL)) return false;
        reader_t r = {(uint32_t)ins->imm, (uint32_t)V.len, cur_fn};
        uint32_t count, label, labels[64];
        rd_u32(&r, &count);
        /* The default label is last; every other must take the same values. */
        uint32_t kept = 0, last = 0;
        for (uint32_t k = 0; k <= count; k++) {
          rd_u32(&r, &label);
          if (k < count && kept < 64) labels[kept++] = label;
          last = label;
        }
        if (!target(last, i, &tf)) return false;
        uint8_t expected = label_type(tf);
        r.pos = (uint32_t)ins->imm;
        rd_u32(&r, &count);
        for (uint32_t k = 0; k < count; k++) {
          rd_u32(&r, &label);
          if (!target(label, i, &tf)) return false;
          if (label_type(tf) != expected) return type_fail("br_table targets expect different values");
        }
        (void)labels;
        if (expected && !pop(expected, NULL)) return false;
        set_unreachable();
        break;
      }
      case 0x0f:
        if (t->nresults && !pop(t->results[0], NULL)) return false;
        set_unreachable();
        break;
      case 0x10: {
        uint32_t callee = (uint32_t)ins->imm;
        uint32_t type_index = callee < V.nfunc_imports ? 0 : V.func_types[callee - V.nfunc_imports];
        if (callee < V.nfunc_imports) {
          /* imports: their types by position among the function imports */
          uint32_t k = 0;
          for (uint32_t m = 0; m < V.nimports && m < MAX_IMPORTS; m++) {
            if (V.imports[m].kind != 0) continue;
            if (k++ == callee) type_index = V.imports[m].type;
          }
        }
        const functype_t *ct = &V.types[type_index];
        for (int k = ct->nparams - 1; k >= 0; k--) if (!pop(ct->params[k], NULL)) return false;
        if (ct->nresults && !push(ct->results[0])) return false;
        if (callee >= V.nfunc_imports) frame->cost = sat_add(frame->cost, V.costs[callee - V.nfunc_imports]);
        break;
      }
      case 0x1a:
        if (!pop(0, NULL)) return false;
        break;
      case 0x1b: {
        uint8_t a, b;
        if (!pop(T_I32, NULL) || !pop(0, &a) || !pop(a == T_UNKNOWN ? 0 : a, &b) || !push(a == T_UNKNOWN ? b : a)) return false;
        break;
      }
      case 0x20: case 0x21: case 0x22: {
        if ((uint32_t)ins->imm >= V.nlocals) return type_fail("there is no such local");
        uint8_t lt = V.locals[ins->imm];
        if (c == 0x20) {
          if (!push(lt)) return false;
        } else if (!pop(lt, NULL) || (c == 0x22 && !push(lt))) {
          return false;
        }
        break;
      }
      case 0x23: case 0x24: {
        if ((uint32_t)ins->imm >= V.nglobals) return type_fail("there is no such global");
        uint8_t gt = V.globals[ins->imm].type;
        if (c == 0x23 ? !push(gt) : !pop(gt, NULL)) return false;
        break;
      }
      default:
        return type_fail("unexpected instruction");
    }
  }
  return refuse("malformed", cur_fn, -1, "function %d: the body has no final end", cur_fn);
}

/* ---- the module ---------------------------------------------------------------------------------------- */

int verify_module(const uint8_t *wasm, size_t len, uint32_t claim, uint32_t limit, bool floating_point,
                  verify_result_t *out, char *why, size_t why_size) {
  memset(&V, 0, sizeof V);
  memset(out, 0, sizeof *out);
  out->function = out->offset = -1;
  V.bytes = wasm;
  V.len = len;
  V.limit = limit;
  V.floating_point = floating_point;
  V.why = why;
  V.why_size = why_size;
  V.out = out;
  if (why && why_size) why[0] = 0;
  bool ok = true;
  if (claim > limit) ok = refuse("claim", -1, -1, "the manifest claims up to %u instructions per tick; the target allows at most %u", (unsigned)claim, (unsigned)limit);
  ok = ok && parse_module() && check_shape();
  for (uint32_t i = 0; ok && i < V.nfuncs; i++) ok = decode_body(i);
  ok = ok && callees_first();
  for (uint32_t k = 0; ok && k < V.norder; k++) ok = check_function(V.order[k], &V.costs[V.order[k]]);
  if (!ok) return RULES_EVERIFY;
  out->bound = V.costs[V.run_index - V.nfunc_imports];
  if (out->bound > claim) {
    refuse("over-claim", -1, -1, "one tick may execute %u instructions, more than the %u the manifest claims", (unsigned)out->bound, (unsigned)claim);
    return RULES_EVERIFY;
  }
  return RULES_OK;
}
