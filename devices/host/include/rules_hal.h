/* The board glue the portable device host needs, and nothing more: UART bytes in and out, GPIO, sensor
 * readings, slot storage in flash, a millisecond clock and a reset. A port fills one rules_hal_t. */
#ifndef RULES_HAL_H
#define RULES_HAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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
} rules_hal_t;

#ifdef __cplusplus
}
#endif

#endif /* RULES_HAL_H */
