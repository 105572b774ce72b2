/* The board glue the portable device host needs, and nothing more: UART bytes in and out, GPIO, sensor
 * readings, slot storage in flash, a millisecond clock and a reset. A port fills one rules_hal_t. */
#ifndef RULES_HAL_H
#define RULES_HAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Firmware image slots for SMP group 1 (mcumgr image management, MCUboot's swap with revert), for a port
 * that opts in (built with RULES_IMAGE_GROUP 1). Two banks of `bank_bytes` each hold an uploaded image;
 * the core keeps which bank is the primary slot (the running firmware) and which the secondary in a small
 * state record. The firmware the board was built with lives in neither bank: the core reports it with
 * `builtin_version` and `builtin_hash`. Functions return RULES_OK or a negative RULES_E* code. */
typedef struct rules_image_hal {
  uint32_t bank_bytes;
  const char *builtin_version; /* "major.minor.revision[.build]" */
  uint8_t builtin_hash[32];    /* the built-in firmware's SHA-256 */
  /* Bank 0 or 1: read any range; write any range (durable when it returns); erase a whole bank. */
  int (*bank_read)(void *ctx, unsigned bank, uint32_t off, void *buf, size_t len);
  int (*bank_write)(void *ctx, unsigned bank, uint32_t off, const void *buf, size_t len);
  int (*bank_erase)(void *ctx, unsigned bank);
  /* The state record: state_load answers RULES_ENOENT when none was ever stored; state_store replaces
   * it atomically (power loss leaves the old record or the new one, whole). */
  int (*state_load)(void *ctx, uint8_t *buf, size_t len);
  int (*state_store)(void *ctx, const uint8_t *buf, size_t len);
} rules_image_hal_t;

/* Every function returns RULES_OK (0) on success or a negative RULES_E* code from rules_host.h
 * (RULES_EIO for a hardware failure, RULES_EINVAL for a pin or channel the board does not have).
 * `ctx` is rules_hal_t.ctx, passed back untouched. The core calls the HAL from one thread only
 * (the one that calls rules_host_poll), never from an interrupt. */
typedef struct rules_hal {
  void *ctx;

  /* UART (the SMP serial link). uart_read never blocks: it copies up to `cap` received bytes into
   * `buf` and returns how many (0 when none are waiting). uart_write sends all `len` bytes and may
   * block until they are queued. */
  size_t (*uart_read)(void *ctx, uint8_t *buf, size_t cap);
  int (*uart_write)(void *ctx, const uint8_t *buf, size_t len);

  /* GPIO. gpio_read stores 0 or 1 in *level; gpio_write drives `pin` low for 0, high for 1.
   * Pin numbers are the target profile's (e.g. stm32: port x 16 + pin). */
  int (*gpio_read)(void *ctx, uint32_t pin, int32_t *level);
  int (*gpio_write)(void *ctx, uint32_t pin, int32_t level);

  /* One reading of sensor `channel` in the channel's fixed-point unit (the target profile's: e.g.
   * milli-degrees Celsius, millivolts). The core saturates it to the rule's range afterwards. */
  int (*sensor_read)(void *ctx, uint32_t channel, int32_t *value);

  /* Slot storage: a flash region of `flash_size` bytes, addressed from 0, that the core owns.
   * flash_erase sets [off, off+len) to 0xFF; off and len are multiples of flash_erase_size.
   * flash_write programs erased bytes; off and len are multiples of flash_write_align (a power of
   * two, at most 64). A write or erase interrupted by power loss may leave its range in any state;
   * the core's commit protocol relies on nothing else. */
  uint32_t flash_size;
  uint32_t flash_erase_size;
  uint32_t flash_write_align;
  int (*flash_read)(void *ctx, uint32_t off, void *buf, size_t len);
  int (*flash_write)(void *ctx, uint32_t off, const void *buf, size_t len);
  int (*flash_erase)(void *ctx, uint32_t off, size_t len);

  /* Milliseconds since boot; wraps around at 2^32 (the core only uses differences). */
  uint32_t (*millis)(void *ctx);

  /* Resets the board (SMP os reset). Called after the response has been written. May be NULL: the
   * reset command then answers "not supported". */
  void (*reset)(void *ctx);

  /* Firmware image slots (SMP group 1), or NULL: group 1 then answers "not supported" (rc 8). Used only
   * by builds with RULES_IMAGE_GROUP 1. */
  const rules_image_hal_t *image;
} rules_hal_t;

#ifdef __cplusplus
}
#endif

#endif /* RULES_HAL_H */
