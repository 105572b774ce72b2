/* The rules device host: runs signed, verified rules (device ABI v1) on wasm3 and serves SMP over a
 * serial link to install, list, remove and report them. The one public header of the portable core. */
#ifndef RULES_HOST_H
#define RULES_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "rules_config.h"
#include "rules_hal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors: every function returns RULES_OK or one of these ------------------------------------------ */

#define RULES_OK 0
#define RULES_EINVAL -1      /* a bad argument, or a pin or channel the board does not have */
#define RULES_ENOMEM -2      /* out of memory (wasm3's allocations, or a fixed table is full) */
#define RULES_EIO -3         /* the HAL reported a hardware failure */
/* Why a bundle is refused, in the order they are checked (docs/bundle.md; SMP group 64 rc 1..10). */
#define RULES_EMALFORMED -4  /* the bundle, its body or its manifest does not parse */
#define RULES_EFORMAT -5     /* a bundle format this host does not support */
#define RULES_EUNKNOWNKEY -6 /* signed by a key this host does not trust */
#define RULES_ESIGNATURE -7  /* the signature does not match the body */
#define RULES_EABI -8        /* built for another device ABI */
#define RULES_ETARGET -9     /* built for another target */
#define RULES_EMISMATCH -10  /* the artifact does not match the manifest */
#define RULES_ETOOBIG -11    /* larger than the target or this build allows */
#define RULES_EROLLBACK -12  /* the version is not newer than the installed one */
#define RULES_EVERIFY -13    /* the module fails the byte-level verifier or the manifest checks */
/* Other failures. */
#define RULES_ENOSPACE -14   /* every rule pair in slot storage is taken */
#define RULES_ENOENT -15     /* no such rule */
#define RULES_ECONFIG -16    /* the HAL or target description cannot work with this build's settings */
#define RULES_ETRAP -17      /* a rule trapped */

/* A short English name for an error code ("signature", "rollback", ...). */
const char *rules_strerror(int err);

/* ---- the target this host is (the data of targets/<name>.json that a device needs) ----------------------- */

typedef struct rules_channel {
  uint32_t channel;
  int32_t min, max; /* the profile's range for this channel */
} rules_channel_t;

typedef struct rules_target {
  const char *name; /* "stm32", "nrf5340", "rpi": bundles for another target are refused */
  uint32_t gpio_min, gpio_max;
  const rules_channel_t *channels;
  size_t channel_count;
  uint32_t max_artifact_bytes;
  uint32_t max_state_slots;
  uint32_t max_instructions_per_tick;
  uint32_t max_loop_trips;
  uint32_t min_period_ms;
  int floating_point; /* nonzero: f32 globals and instructions are allowed */
} rules_target_t;

/* ---- the host --------------------------------------------------------------------------------------- */

/* A trusted Ed25519 public key and its id (the first 8 bytes of the SHA-256 of the 32 key bytes, as
 * docs/bundle.md defines it; provisioned with the key, and checked by rules_host_open: RULES_ECONFIG if wrong). */
typedef struct rules_key {
  uint8_t id[8];
  uint8_t key[32];
} rules_key_t;

typedef struct rules_host rules_host_t; /* opaque; up to RULES_MAX_HOSTS exist at once, in static storage */

typedef struct rules_host_config {
  const rules_hal_t *hal;          /* kept by pointer: must outlive the host */
  const rules_target_t *target;    /* kept by pointer: must outlive the host */
  const rules_key_t *trusted_keys; /* bundles signed by none of them are refused */
  size_t trusted_key_count;
} rules_host_config_t;

/* Opens a host: checks each trusted key's id, reads slot storage, re-verifies and starts every rule committed
 * there (the newest whole record of each). *out is set only on RULES_OK. */
int rules_host_open(const rules_host_config_t *config, rules_host_t **out);

/* Stops every rule and frees the host (slot storage is left as it is). */
void rules_host_close(rules_host_t *host);

/* Does all work that is due: reads and answers SMP frames from the UART, then calls every rule whose
 * time has come. Returns the milliseconds until a rule is next due (at most RULES_IDLE_POLL_MS), so a
 * port may sleep that long or until a UART byte arrives. */
uint32_t rules_host_poll(rules_host_t *host);

/* Installs a bundle (the bytes an SMP install uploads): checks the signature, target, anti-rollback,
 * manifest and module, commits it atomically to slot storage, then replaces the running version.
 * On failure nothing changes, and `why` (if not NULL) holds a one-line reason. */
int rules_host_install(rules_host_t *host, const uint8_t *bundle, size_t len, char *why, size_t why_size);

/* Removes a rule: stops it and commits its removal. Its version stays the anti-rollback floor for its name
 * while slot storage has room (a pair holding only a removed rule's floor is reused last). */
int rules_host_remove(rules_host_t *host, const char *rule_name);

/* ---- status ----------------------------------------------------------------------------------------- */

#define RULES_STATE_RUNNING 0  /* called on its period */
#define RULES_STATE_DISABLED 1 /* stopped after a trap or a time-budget overrun; reinstall to restart */
#define RULES_STATE_FAILED 2   /* stored but could not be started (e.g. out of memory) */

typedef struct rules_status {
  char name[RULES_NAME_MAX + 1];
  uint32_t version;
  uint8_t sha256[32]; /* the artifact's SHA-256, computed at install (a manifest stating another is refused) */
  int state;          /* RULES_STATE_* */
  char last_error[RULES_ERROR_TEXT_BYTES];
  uint32_t ticks;               /* calls of run */
  uint32_t saturated;           /* sensor readings saturated to the manifest's ranges, all channels */
  uint8_t channels;             /* declared sensor channels: */
  uint32_t channel[RULES_MAX_CAPS];       /* each channel... */
  uint32_t channel_saturated[RULES_MAX_CAPS]; /* ...and its readings saturated */
  uint32_t assumptions_failed;  /* ticks where run returned a negative value */
} rules_status_t;

/* The number of installed rules, and the status of the i-th (0 <= i < count), in slot order. */
size_t rules_host_rule_count(const rules_host_t *host);
int rules_host_rule_status(const rules_host_t *host, size_t index, rules_status_t *out);

#ifdef __cplusplus
}
#endif

#endif /* RULES_HOST_H */
