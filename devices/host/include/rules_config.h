/* Every build-time setting of the device host, each with a default a port may override with -D or by
 * providing rules_config_port.h (found on the include path when RULES_CONFIG_PORT is defined). */
#ifndef RULES_CONFIG_H
#define RULES_CONFIG_H

#ifdef RULES_CONFIG_PORT
#include "rules_config_port.h"
#endif

/* Hosts that may be open at once (the core keeps them in static storage). */
#ifndef RULES_MAX_HOSTS
#define RULES_MAX_HOSTS 1
#endif

/* Rules installed at once; slot storage holds two slots for each. */
#ifndef RULES_MAX_RULES
#define RULES_MAX_RULES 4
#endif

/* Bytes reserved for one slot (rounded up to the HAL's erase size): a record header and a bundle. */
#ifndef RULES_SLOT_BYTES
#define RULES_SLOT_BYTES 2048
#endif

/* The largest bundle accepted over SMP (the upload buffer, in RAM). */
#ifndef RULES_MAX_BUNDLE_BYTES
#define RULES_MAX_BUNDLE_BYTES 1536
#endif

/* The longest rule name kept, in bytes. */
#ifndef RULES_NAME_MAX
#define RULES_NAME_MAX 31
#endif

/* Pins or channels per capability list, and channels with a range, per rule. */
#ifndef RULES_MAX_CAPS
#define RULES_MAX_CAPS 16
#endif

/* Bytes of a rule's last error text. */
#ifndef RULES_ERROR_TEXT_BYTES
#define RULES_ERROR_TEXT_BYTES 96
#endif

/* wasm3's value stack per rule, in bytes; a rule uses a few dozen slots. */
#ifndef RULES_WASM3_STACK_BYTES
#define RULES_WASM3_STACK_BYTES 1024
#endif

/* A tick that runs longer than this is an overrun: the rule is disabled (device-abi.md §6). */
#ifndef RULES_TICK_BUDGET_MS
#define RULES_TICK_BUDGET_MS 50
#endif

/* The longest rules_host_poll asks the port to sleep when no rule is due. */
#ifndef RULES_IDLE_POLL_MS
#define RULES_IDLE_POLL_MS 100
#endif

/* The firmware name and version SMP `info` reports. */
#ifndef RULES_HOST_NAME
#define RULES_HOST_NAME "rules device host 0.1.0"
#endif

/* The firmware version SMP group 1 reports for the built-in image (MCUboot's major.minor.revision). */
#ifndef RULES_HOST_VERSION
#define RULES_HOST_VERSION "0.1.0"
#endif

/* SMP group 1 (image management, for updating the firmware through MCUboot): 1 builds it, for ports whose HAL
 * provides rules_image_hal_t (the virtual board); 0 leaves it out, and group 1 answers rc 8 (the Cortex-M
 * ports, where MCUboot's own serial recovery serves group 1). */
#ifndef RULES_IMAGE_GROUP
#define RULES_IMAGE_GROUP 0
#endif

/* SMP: the largest request and response packet body (header + CBOR), in bytes. */
#ifndef RULES_SMP_MTU
#define RULES_SMP_MTU 512
#endif

/* The module verifier's table of decoded instructions (device-abi.md §4.5 fixes its other sizes): a module
 * has at most as many instructions as bytes, and artifacts are under 256 bytes on every target. */
#ifndef RULES_VERIFY_MAX_INSTRUCTIONS
#define RULES_VERIFY_MAX_INSTRUCTIONS 512
#endif

#endif /* RULES_CONFIG_H */
