/* The host: rule table, install/remove with anti-rollback and the atomic slot commit, the scheduler with
 * trap isolation, and the SMP server (groups 0 and 64) on top of the framing layer. */
#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "cbor.h"
#include "mbedtls/sha256.h"
#include "image.h"
#include "rules_host.h"
#include "runtime.h"
#include "smp.h"
#include "smp_frame.h"
#include "store.h"
#include "verify.h"

typedef struct rule_entry {
  bool present; /* a rule is installed in this pair */
  bool removed; /* the pair holds only a removed rule's name and version: its anti-rollback floor */
  store_record_t record;
  rule_instance_t *inst; /* NULL when it could not be started */
  int state;
  char last_error[RULES_ERROR_TEXT_BYTES];
  uint32_t start_ms, next_due, ticks, assumptions_failed, saturated_before;
} rule_entry_t;

struct rules_host {
  bool open;
  const rules_hal_t *hal;
  const rules_target_t *target;
  const rules_key_t *keys;
  size_t key_count;
  store_t store;
  IM3Environment env;
  rule_entry_t rules[RULES_MAX_RULES];
  rule_instance_t pool[RULES_MAX_RULES + 1]; /* one spare: a new version loads before the old one is freed */
  bool pool_used[RULES_MAX_RULES + 1];
  smp_server_t smp;
  uint8_t scratch[16 + RULES_MAX_BUNDLE_BYTES]; /* the signed message; also stored payloads read back */
};

static rules_host_t HOSTS[RULES_MAX_HOSTS];

const char *rules_strerror(int err) {
  switch (err) {
    case RULES_OK: return "ok";
    case RULES_EINVAL: return "invalid argument";
    case RULES_ENOMEM: return "out of memory";
    case RULES_EIO: return "I/O error";
    case RULES_EMALFORMED: return "malformed";
    case RULES_EFORMAT: return "format";
    case RULES_EUNKNOWNKEY: return "unknown_key";
    case RULES_ESIGNATURE: return "bad_signature";
    case RULES_EABI: return "wrong_abi";
    case RULES_ETARGET: return "wrong_target";
    case RULES_EMISMATCH: return "artifact_mismatch";
    case RULES_ETOOBIG: return "too_big";
    case RULES_EROLLBACK: return "downgrade";
    case RULES_EVERIFY: return "unverifiable";
    case RULES_ENOSPACE: return "no space";
    case RULES_ENOENT: return "no such rule";
    case RULES_ECONFIG: return "configuration";
    case RULES_ETRAP: return "trap";
    default: return "unknown error";
  }
}

static rule_instance_t *take_instance(rules_host_t *h) {
  for (size_t i = 0; i < RULES_MAX_RULES + 1; i++) {
    if (!h->pool_used[i]) {
      h->pool_used[i] = true;
      return &h->pool[i];
    }
  }
  return NULL;
}

static void give_instance(rules_host_t *h, rule_instance_t *inst) {
  if (!inst) return;
  runtime_free(inst);
  h->pool_used[inst - h->pool] = false;
}

static void set_why(char *why, size_t size, const char *text) {
  if (why && size) snprintf(why, size, "%s", text);
}

/* ---- checks ------------------------------------------------------------------------------------------- */

static bool target_has_channel(const rules_target_t *t, uint32_t channel) {
  for (size_t i = 0; i < t->channel_count; i++) {
    if (t->channels[i].channel == channel) return true;
  }
  return false;
}

/* The manifest against this host's target (device-abi.md §4.1): capabilities within the board. */
static int check_capabilities(const rules_target_t *t, const rules_manifest_t *m, char *why, size_t size) {
  const uint32_t *lists[2] = {m->gpio_in, m->gpio_out};
  const uint8_t counts[2] = {m->n_gpio_in, m->n_gpio_out};
  for (int l = 0; l < 2; l++) {
    for (uint8_t i = 0; i < counts[l]; i++) {
      if (lists[l][i] < t->gpio_min || lists[l][i] > t->gpio_max) {
        if (why) snprintf(why, size, "GPIO pin %lu is not on %s (pins %lu..%lu)", (unsigned long)lists[l][i], t->name,
                          (unsigned long)t->gpio_min, (unsigned long)t->gpio_max);
        return RULES_EVERIFY;
      }
    }
  }
  for (uint8_t i = 0; i < m->n_sensor; i++) {
    if (!target_has_channel(t, m->sensor[i])) {
      if (why) snprintf(why, size, "sensor channel %lu is not on %s", (unsigned long)m->sensor[i], t->name);
      return RULES_EVERIFY;
    }
  }
  if (m->period_ms == 0) {
    set_why(why, size, "periodMs must be positive");
    return RULES_EVERIFY;
  }
  return RULES_OK;
}

/* Everything before anti-rollback: signature, body, ABI, target, artifact, size. */
static int check_bundle(rules_host_t *h, const uint8_t *bytes, size_t len, bundle_t *b, char *why, size_t size) {
  int rc = bundle_parse_envelope(bytes, len, b, why, size);
  if (!rc) rc = bundle_check_signature(b, h->keys, h->key_count, h->scratch, sizeof h->scratch, why, size);
  if (!rc) rc = bundle_parse_body(b, why, size);
  if (rc) return rc;
  const rules_manifest_t *m = &b->manifest;
  if (m->abi != 1) {
    if (why) snprintf(why, size, "the rule is built for device ABI %lu; this device runs ABI 1", (unsigned long)m->abi);
    return RULES_EABI;
  }
  if (strcmp(m->target, h->target->name) != 0) {
    if (why) snprintf(why, size, "the rule is built for %s; this device is %s", m->target, h->target->name);
    return RULES_ETARGET;
  }
  if (m->size != b->wasm_len) {
    set_why(why, size, "the artifact does not match the manifest's size");
    return RULES_EMISMATCH;
  }
  uint8_t digest[32];
  if (mbedtls_sha256_ret(b->wasm, b->wasm_len, digest, 0) != 0) {
    set_why(why, size, "the artifact's SHA-256 could not be computed");
    return RULES_EMISMATCH;
  }
  if (memcmp(digest, m->sha256, sizeof digest) != 0) {
    if (why) {
      snprintf(why, size, "the artifact's SHA-256 %02x%02x%02x%02x... is not the manifest's sha256 %02x%02x%02x%02x...", digest[0],
               digest[1], digest[2], digest[3], m->sha256[0], m->sha256[1], m->sha256[2], m->sha256[3]);
    }
    return RULES_EMISMATCH;
  }
  if (b->wasm_len > h->target->max_artifact_bytes || b->wasm_len > RULES_MAX_ARTIFACT_BYTES) {
    uint32_t limit = h->target->max_artifact_bytes < RULES_MAX_ARTIFACT_BYTES ? h->target->max_artifact_bytes : RULES_MAX_ARTIFACT_BYTES;
    if (why) snprintf(why, size, "the artifact has %u bytes; this device allows %lu", (unsigned)b->wasm_len, (unsigned long)limit);
    return RULES_ETOOBIG;
  }
  return RULES_OK;
}

/* The module: the verifier of device-abi.md §4.5, then what §4.1 asks of the module against its manifest. */
static int check_module(rules_host_t *h, const bundle_t *b, char *why, size_t size) {
  const rules_manifest_t *m = &b->manifest;
  int rc = check_capabilities(h->target, m, why, size);
  if (rc) return rc;
  verify_result_t v;
  if (verify_module(b->wasm, b->wasm_len, m->max_instructions, h->target->max_instructions_per_tick, h->target->floating_point != 0,
                    &v, why, size) != RULES_OK) {
    return RULES_EVERIFY;
  }
  static const char *const NAMES[3] = {"io.gr", "io.gw", "io.sr"};
  const uint8_t caps[3] = {m->n_gpio_in, m->n_gpio_out, m->n_sensor};
  static const char *const CAPS[3] = {"gpio_in", "gpio_out", "sensor"};
  for (int i = 0; i < 3; i++) {
    if (!(v.imports & (1u << i))) continue;
    if (!(m->imports & (1u << i))) {
      if (why) snprintf(why, size, "the module imports %s, which its manifest does not list", NAMES[i]);
      return RULES_EVERIFY;
    }
    if (caps[i] == 0) {
      if (why) snprintf(why, size, "the module imports %s but its manifest declares no %s capability", NAMES[i], CAPS[i]);
      return RULES_EVERIFY;
    }
  }
  if (v.globals != m->state_slots || v.globals > h->target->max_state_slots) {
    if (why) snprintf(why, size, "the module has %u globals; its manifest says stateSlots %u and the target allows %u", (unsigned)v.globals,
                      (unsigned)m->state_slots, (unsigned)h->target->max_state_slots);
    return RULES_EVERIFY;
  }
  return RULES_OK;
}

static rule_entry_t *find_rule(rules_host_t *h, const char *name) {
  for (size_t i = 0; i < RULES_MAX_RULES; i++) {
    if (h->rules[i].present && strcmp(h->rules[i].record.name, name) == 0) return &h->rules[i];
  }
  return NULL;
}

/* The pair that holds a removed rule of this name, whose version is still the floor. */
static rule_entry_t *find_removed(rules_host_t *h, const char *name) {
  for (size_t i = 0; i < RULES_MAX_RULES; i++) {
    if (h->rules[i].removed && strcmp(h->rules[i].record.name, name) == 0) return &h->rules[i];
  }
  return NULL;
}

static void start_rule(rules_host_t *h, rule_entry_t *e, rule_instance_t *inst) {
  e->inst = inst;
  e->state = RULES_STATE_RUNNING;
  e->last_error[0] = 0;
  e->start_ms = h->hal->millis(h->hal->ctx);
  e->next_due = e->start_ms;
  e->ticks = 0;
  e->assumptions_failed = 0;
  e->saturated_before = 0;
}

/* ---- install and remove ------------------------------------------------------------------------------- */

/* True when the pair's stored payload is byte for byte this bundle (the same SHA-256, without one). */
static bool already_installed(rules_host_t *h, const rule_entry_t *e, const uint8_t *bytes, size_t len) {
  if (!e || e->record.length != len) return false;
  uint8_t chunk[64];
  const rules_hal_t *hal = h->hal;
  uint32_t off = (uint32_t)((size_t)(e - h->rules) * 2u + e->record.slot) * h->store.slot_bytes + STORE_HEADER_BYTES;
  for (size_t done = 0; done < len;) {
    size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
    if (hal->flash_read(hal->ctx, off + (uint32_t)done, chunk, n) != 0 || memcmp(chunk, bytes + done, n) != 0) return false;
    done += n;
  }
  return true;
}

int rules_host_install(rules_host_t *h, const uint8_t *bytes, size_t len, char *why, size_t why_size) {
  if (!h || !bytes) return RULES_EINVAL;
  if (len > RULES_MAX_BUNDLE_BYTES || len > store_capacity(&h->store)) {
    if (why) snprintf(why, why_size, "the bundle has %u bytes; this device stores at most %u", (unsigned)len,
                      (unsigned)(RULES_MAX_BUNDLE_BYTES < store_capacity(&h->store) ? RULES_MAX_BUNDLE_BYTES : store_capacity(&h->store)));
    return RULES_ETOOBIG;
  }
  bundle_t b;
  int rc = check_bundle(h, bytes, len, &b, why, why_size);
  if (rc) return rc;
  const rules_manifest_t *m = &b.manifest;
  rule_entry_t *e = find_rule(h, m->rule);
  if (already_installed(h, e, bytes, len)) return RULES_OK; /* idempotent: the same bundle installs once */
  rule_entry_t *floor = e ? e : find_removed(h, m->rule);
  if (floor && m->version <= floor->record.version && !(b.has_rollback && b.rollback == floor->record.version)) {
    if (why) snprintf(why, why_size, "version %lu of %s is not newer than the %s version %lu", (unsigned long)m->version,
                      m->rule, e ? "installed" : "last removed", (unsigned long)floor->record.version);
    return RULES_EROLLBACK;
  }
  rc = check_module(h, &b, why, why_size);
  if (rc) return rc;

  /* The rule's own pair (live or removed), else an empty one, else one holding another name's floor. */
  unsigned pair = RULES_MAX_RULES;
  if (floor) pair = (unsigned)(floor - h->rules);
  for (unsigned i = 0; i < RULES_MAX_RULES && pair == RULES_MAX_RULES; i++) {
    if (!h->rules[i].present && !h->rules[i].removed) pair = i;
  }
  for (unsigned i = 0; i < RULES_MAX_RULES && pair == RULES_MAX_RULES; i++) {
    if (h->rules[i].removed) pair = i;
  }
  if (pair == RULES_MAX_RULES) {
    if (why) snprintf(why, why_size, "this device holds at most %u rules; remove one first", (unsigned)RULES_MAX_RULES);
    return RULES_ENOSPACE;
  }
  /* Load the new version before anything is stored, so a rule wasm3 cannot load is never committed. */
  rule_instance_t *inst = take_instance(h);
  if (!inst) return RULES_ENOMEM;
  rc = runtime_load(inst, h->env, b.wasm, b.wasm_len, m, h->hal, why, why_size);
  if (rc) {
    give_instance(h, inst);
    return rc;
  }
  store_record_t newest;
  rc = store_newest(&h->store, pair, &newest);
  if (!rc) rc = store_commit(&h->store, pair, &newest, m->rule, m->version, 0, bytes, len);
  if (!rc) rc = store_newest(&h->store, pair, &newest);
  if (rc) {
    give_instance(h, inst);
    set_why(why, why_size, "writing the rule to flash failed; the previous version is kept");
    return rc;
  }
  rule_entry_t *target = &h->rules[pair];
  give_instance(h, target->inst);
  target->present = true;
  target->removed = false;
  target->record = newest;
  start_rule(h, target, inst);
  return RULES_OK;
}

int rules_host_remove(rules_host_t *h, const char *name) {
  if (!h || !name) return RULES_EINVAL;
  rule_entry_t *e = find_rule(h, name);
  if (!e) return RULES_ENOENT;
  unsigned pair = (unsigned)(e - h->rules);
  store_record_t newest;
  int rc = store_newest(&h->store, pair, &newest);
  if (!rc) rc = store_commit(&h->store, pair, &newest, name, e->record.version, STORE_FLAG_REMOVED, NULL, 0);
  if (rc) return rc;
  give_instance(h, e->inst);
  memset(e, 0, sizeof *e);
  e->removed = true;
  store_newest(&h->store, pair, &e->record);
  return RULES_OK;
}

/* ---- open and close ----------------------------------------------------------------------------------- */

/* Starts the rule a pair's newest record holds, re-verifying it from flash as if it had just arrived. */
static void boot_pair(rules_host_t *h, unsigned pair) {
  rule_entry_t *e = &h->rules[pair];
  memset(e, 0, sizeof *e);
  store_record_t rec;
  if (store_newest(&h->store, pair, &rec) != RULES_OK || !rec.valid) return;
  if (rec.flags & STORE_FLAG_REMOVED) {
    e->removed = true;
    e->record = rec;
    return;
  }
  e->present = true;
  e->record = rec;
  e->state = RULES_STATE_FAILED;
  static uint8_t payload[RULES_MAX_BUNDLE_BYTES];
  char why[RULES_ERROR_TEXT_BYTES];
  if (rec.length > sizeof payload || store_read_payload(&h->store, pair, &rec, payload, sizeof payload) != RULES_OK) {
    snprintf(e->last_error, sizeof e->last_error, "its stored bundle cannot be read");
    return;
  }
  bundle_t b;
  int rc = check_bundle(h, payload, rec.length, &b, why, sizeof why);
  if (!rc) rc = check_module(h, &b, why, sizeof why);
  if (!rc && strcmp(b.manifest.rule, rec.name) != 0) rc = RULES_EMALFORMED, snprintf(why, sizeof why, "the record's name does not match its bundle");
  rule_instance_t *inst = NULL;
  if (!rc) {
    inst = take_instance(h);
    rc = inst ? runtime_load(inst, h->env, b.wasm, b.wasm_len, &b.manifest, h->hal, why, sizeof why) : RULES_ENOMEM;
  }
  if (rc) {
    give_instance(h, inst);
    snprintf(e->last_error, sizeof e->last_error, "not started: %s", why);
    return;
  }
  start_rule(h, e, inst);
}

int rules_host_open(const rules_host_config_t *config, rules_host_t **out) {
  if (!config || !out || !config->hal || !config->target) return RULES_EINVAL;
  const rules_hal_t *hal = config->hal;
  if (!hal->uart_read || !hal->uart_write || !hal->gpio_read || !hal->gpio_write || !hal->sensor_read || !hal->flash_read ||
      !hal->flash_write || !hal->flash_erase || !hal->millis || (config->trusted_key_count && !config->trusted_keys)) {
    return RULES_EINVAL;
  }
  /* A key provisioned with another key's id would make every bundle it signs unknown_key: refuse to start instead. */
  for (size_t i = 0; i < config->trusted_key_count; i++) {
    uint8_t digest[32];
    if (mbedtls_sha256_ret(config->trusted_keys[i].key, sizeof config->trusted_keys[i].key, digest, 0) != 0 ||
        memcmp(digest, config->trusted_keys[i].id, sizeof config->trusted_keys[i].id) != 0) {
      return RULES_ECONFIG;
    }
  }
#if RULES_IMAGE_GROUP
  /* MCUboot's part at boot: a tested image is swapped in, an unconfirmed one reverted. A failure here leaves
   * the image state as it was; the rules start regardless. */
  if (hal->image) (void)image_boot(hal);
#endif
  rules_host_t *h = NULL;
  for (size_t i = 0; i < RULES_MAX_HOSTS && !h; i++) {
    if (!HOSTS[i].open) h = &HOSTS[i];
  }
  if (!h) return RULES_ENOMEM;
  memset(h, 0, sizeof *h);
  h->hal = hal;
  h->target = config->target;
  h->keys = config->trusted_keys;
  h->key_count = config->trusted_key_count;
  int rc = store_init(&h->store, hal);
  if (rc) return rc;
  h->env = m3_NewEnvironment();
  if (!h->env) return RULES_ENOMEM;
  h->open = true;
  smp_server_init(&h->smp, h);
  for (unsigned pair = 0; pair < RULES_MAX_RULES; pair++) boot_pair(h, pair);
  *out = h;
  return RULES_OK;
}

void rules_host_close(rules_host_t *h) {
  if (!h || !h->open) return;
  for (size_t i = 0; i < RULES_MAX_RULES; i++) give_instance(h, h->rules[i].inst);
  m3_FreeEnvironment(h->env);
  memset(h, 0, sizeof *h);
}

/* ---- running ------------------------------------------------------------------------------------------ */

static void disable(rule_entry_t *e, const char *fmt, const char *detail) {
  e->state = RULES_STATE_DISABLED;
  snprintf(e->last_error, sizeof e->last_error, fmt, detail);
}

static uint32_t run_due_rules(rules_host_t *h) {
  uint32_t wait = RULES_IDLE_POLL_MS;
  for (size_t i = 0; i < RULES_MAX_RULES; i++) {
    rule_entry_t *e = &h->rules[i];
    if (!e->present || e->state != RULES_STATE_RUNNING || !e->inst) continue;
    uint32_t now = h->hal->millis(h->hal->ctx);
    int32_t until = (int32_t)(e->next_due - now);
    if (until > 0) {
      if ((uint32_t)until < wait) wait = (uint32_t)until;
      continue;
    }
    char why[RULES_ERROR_TEXT_BYTES];
    int32_t next = 0;
    uint32_t started = now;
    int rc = runtime_tick(e->inst, now - e->start_ms, &next, why, sizeof why);
    uint32_t took = h->hal->millis(h->hal->ctx) - started;
    e->ticks++;
    if (rc) {
      disable(e, "trapped: %s", why);
      continue;
    }
    if (took > RULES_TICK_BUDGET_MS) {
      disable(e, "%s", "overran its time budget");
      continue;
    }
    uint32_t period = e->inst->manifest.period_ms;
    uint32_t delay;
    if (next < 0) {
      e->assumptions_failed++;
      delay = period;
    } else if (next == 0) {
      delay = period;
    } else {
      delay = (uint32_t)next < h->target->min_period_ms ? h->target->min_period_ms : (uint32_t)next;
    }
    e->next_due = started + delay;
    if (delay < wait) wait = delay;
  }
  return wait;
}

uint32_t rules_host_poll(rules_host_t *h) {
  if (!h || !h->open) return RULES_IDLE_POLL_MS;
  smp_server_poll(&h->smp);
  return run_due_rules(h);
}

/* ---- status ------------------------------------------------------------------------------------------- */

size_t rules_host_rule_count(const rules_host_t *h) {
  size_t n = 0;
  for (size_t i = 0; h && i < RULES_MAX_RULES; i++) n += h->rules[i].present;
  return n;
}

int rules_host_rule_status(const rules_host_t *h, size_t index, rules_status_t *out) {
  if (!h || !out) return RULES_EINVAL;
  for (size_t i = 0; i < RULES_MAX_RULES; i++) {
    const rule_entry_t *e = &h->rules[i];
    if (!e->present) continue;
    if (index-- != 0) continue;
    memset(out, 0, sizeof *out);
    memcpy(out->name, e->record.name, sizeof out->name);
    out->version = e->record.version;
    if (e->inst) memcpy(out->sha256, e->inst->manifest.sha256, 32);
    out->state = e->state;
    memcpy(out->last_error, e->last_error, sizeof out->last_error);
    out->ticks = e->ticks;
    out->saturated = e->inst ? e->inst->saturated : 0;
    if (e->inst) {
      out->channels = e->inst->manifest.n_sensor;
      for (uint8_t c = 0; c < out->channels; c++) {
        out->channel[c] = e->inst->manifest.sensor[c];
        out->channel_saturated[c] = e->inst->channel_saturated[c];
      }
    }
    out->assumptions_failed = e->assumptions_failed;
    return RULES_OK;
  }
  return RULES_ENOENT;
}

/* ---- what the SMP server needs from the host ---------------------------------------------------------- */

const rules_hal_t *rules_host_hal(const rules_host_t *h) { return h->hal; }
const rules_target_t *rules_host_target(const rules_host_t *h) { return h->target; }
const rules_key_t *rules_host_keys(const rules_host_t *h, size_t *count) {
  *count = h->key_count;
  return h->keys;
}
