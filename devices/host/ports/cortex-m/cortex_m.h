/* What the Cortex-M ports share: core registers (SysTick, SCB, NVIC), the millisecond clock, and the
 * small board interface each port implements for the shared firmware main (firmware.c). */
#ifndef RULES_CORTEX_M_H
#define RULES_CORTEX_M_H

#include <stddef.h>
#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System control space, identical on ARMv7-M and ARMv8-M Mainline. */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_CPACR REG32(0xE000ED88u)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_IPR_BYTE(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (irq)))

static inline void nvic_enable_irq(unsigned irq) {
  NVIC_IPR_BYTE(irq) = 0x80; /* below SysTick (priority 0), so the clock never waits for a UART */
  NVIC_ISER(irq / 32u) = 1u << (irq % 32u);
}

static inline uint32_t irq_save(void) {
  uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}

static inline void irq_restore(uint32_t primask) { __asm volatile("msr primask, %0" ::"r"(primask) : "memory"); }

static inline void wait_for_interrupt(void) { __asm volatile("dsb\n wfi" ::: "memory"); }

/* ---- the millisecond clock (systick.c) ---- */
void systick_start(uint32_t core_clock_hz);
uint32_t systick_millis(void);

/* ---- what each board provides (stm32f4/board.c, m33/board.c) ---- */

/* Brings up clocks, the SMP UART, the events UART, GPIO and sensors. */
void board_init(void);
/* The SMP link: non-blocking read of received bytes, blocking write. */
size_t board_smp_read(uint8_t *buf, size_t cap);
void board_smp_write(const uint8_t *buf, size_t len);
/* The events link (GPIO changes out, scripted inputs in): same contract. */
size_t board_events_read(uint8_t *buf, size_t cap);
void board_events_write(const uint8_t *buf, size_t len);
/* The pins and sensors the board really has: RULES_OK or RULES_EINVAL. */
int board_gpio_write(uint32_t pin, int32_t level);
int board_gpio_read(uint32_t pin, int32_t *level);
int board_sensor_read(uint32_t channel, int32_t *value);
/* The slot storage region, its erase unit and write alignment. */
uint8_t *board_storage(uint32_t *size, uint32_t *erase_size, uint32_t *write_align);
int board_storage_write(uint32_t off, const void *buf, size_t len);
int board_storage_erase(uint32_t off, size_t len);
/* Emulation only: slot storage written through to a file over semihosting (semihost.c). open returns 1 when the
 * file is in use, 0 when the runner did not ask for it (RAM only), or a negative RULES_E* code. */
#define EMULATOR_OPTIONS_OFFSET 0x1000u /* in the provisioning area: "SEMI" asks for the file */
int semihost_storage_open(uint8_t *region, uint32_t size);
int semihost_storage_sync(uint32_t off, size_t len);
/* The provisioning area that holds the trusted public keys (see firmware.c for its layout). */
const uint8_t *board_trusted_keys_area(void);
/* The board's name as printed at boot ("stm32f405 (netduinoplus2)"). */
extern const char board_name[];

/* Requests a system reset and never returns. */
__attribute__((noreturn)) void system_reset(void);

#endif /* RULES_CORTEX_M_H */
