/* Cortex-M33 board glue on MPS2+ AN505 (SSE-200) under QEMU, standing in for an nRF5340 application
 * core: CMSDK UART0 carries SMP, UART1 the events link; the board has no GPIO block QEMU models, so
 * pins live in RAM (pins 0 and 1 also light the FPGA's LED0/LED1) and are reported on the events
 * link; it has no ADC, so sensors are scripted over the events link; slot storage is a RAM region.
 * The CPU runs in the secure state it resets into; every peripheral is used through its secure alias. */
#include <string.h>

#include "cortex_m.h"
#include "ring.h"
#include "rules_host.h"

const char board_name[] = "mps2-an505 (cortex-m33)";

#define UART0_BASE 0x50200000u
#define UART1_BASE 0x50201000u
#define UART_DATA(base) REG32((base) + 0x00u)
#define UART_STATE(base) REG32((base) + 0x04u)
#define UART_CTRL(base) REG32((base) + 0x08u)
#define UART_INTSTATUS(base) REG32((base) + 0x0Cu)
#define UART_BAUDDIV(base) REG32((base) + 0x10u)
#define UART_STATE_TX_FULL (1u << 0)
#define UART_STATE_RX_FULL (1u << 1)
#define UART_CTRL_TX_EN (1u << 0)
#define UART_CTRL_RX_EN (1u << 1)
#define UART_CTRL_RX_INT_EN (1u << 3)
#define UART_INT_RX (1u << 1)
#define UART0_RX_IRQ 32u
#define UART1_RX_IRQ 34u

#define FPGAIO_LED0 REG32(0x50302000u)

#define CORE_CLOCK_HZ 20000000u /* QEMU's AN505 SYSCLK */
#define SERIAL_BAUD 115200u
#define GPIO_PINS 48u /* the nrf5340 target's pins 0..47 */

/* ---- UARTs: interrupt-driven reception into rings, polled transmission ---- */

static uint8_t smp_rx_bytes[1024];
static ring_t smp_rx = {smp_rx_bytes, sizeof smp_rx_bytes, 0, 0, 0};
static uint8_t events_rx_bytes[256];
static ring_t events_rx = {events_rx_bytes, sizeof events_rx_bytes, 0, 0, 0};

static void uart_receive(uint32_t base, ring_t *ring) {
  UART_INTSTATUS(base) = UART_INT_RX; /* write one to clear */
  while (UART_STATE(base) & UART_STATE_RX_FULL) ring_put(ring, (uint8_t)UART_DATA(base));
}

void UART0RX_IRQHandler(void) { uart_receive(UART0_BASE, &smp_rx); }
void UART1RX_IRQHandler(void) { uart_receive(UART1_BASE, &events_rx); }

static void uart_init(uint32_t base, unsigned irq) {
  UART_BAUDDIV(base) = CORE_CLOCK_HZ / SERIAL_BAUD;
  UART_CTRL(base) = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT_EN;
  nvic_enable_irq(irq);
}

static void uart_write(uint32_t base, const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    while (UART_STATE(base) & UART_STATE_TX_FULL) {
    }
    UART_DATA(base) = buf[i];
  }
}

size_t board_smp_read(uint8_t *buf, size_t cap) { return ring_get(&smp_rx, buf, cap); }
void board_smp_write(const uint8_t *buf, size_t len) { uart_write(UART0_BASE, buf, len); }
size_t board_events_read(uint8_t *buf, size_t cap) { return ring_get(&events_rx, buf, cap); }
void board_events_write(const uint8_t *buf, size_t len) { uart_write(UART1_BASE, buf, len); }

/* ---- GPIO: a RAM image of P0/P1; pins 0 and 1 mirrored on the FPGA LEDs ---- */

static uint64_t pin_levels;

int board_gpio_write(uint32_t pin, int32_t level) {
  if (pin >= GPIO_PINS) return RULES_EINVAL;
  if (level) {
    pin_levels |= 1ull << pin;
  } else {
    pin_levels &= ~(1ull << pin);
  }
  FPGAIO_LED0 = (uint32_t)(pin_levels & 3u);
  return RULES_OK;
}

int board_gpio_read(uint32_t pin, int32_t *level) {
  if (pin >= GPIO_PINS) return RULES_EINVAL;
  *level = (int32_t)((pin_levels >> pin) & 1u);
  return RULES_OK;
}

/* ---- sensors: none on this board; firmware.c's scripted values are all it reads ---- */

int board_sensor_read(uint32_t channel, int32_t *value) {
  if (channel > 7u) return RULES_EINVAL;
  *value = 0;
  return RULES_OK;
}

/* ---- slot storage: RAM, with flash semantics (erase to 0xFF, program only clears bits) ---- */

#define STORAGE_BYTES (RULES_MAX_RULES * 2u * RULES_SLOT_BYTES + 2048u)
#define STORAGE_ERASE_BYTES 1024u
#define STORAGE_MAGIC 0x52554C53u

__attribute__((section(".noinit"), aligned(8))) static uint8_t storage[STORAGE_BYTES];
__attribute__((section(".noinit"))) static uint32_t storage_magic;

uint8_t *board_storage(uint32_t *size, uint32_t *erase_size, uint32_t *write_align) {
  *size = STORAGE_BYTES;
  *erase_size = STORAGE_ERASE_BYTES;
  *write_align = 4u;
  return storage;
}

int board_storage_write(uint32_t off, const void *buf, size_t len) {
  const uint8_t *bytes = buf;
  for (size_t i = 0; i < len; i++) storage[off + i] &= bytes[i];
  return RULES_OK;
}

int board_storage_erase(uint32_t off, size_t len) {
  memset(storage + off, 0xFF, len);
  return RULES_OK;
}

extern const uint8_t __keys_area[];
const uint8_t *board_trusted_keys_area(void) { return __keys_area; }

void board_init(void) {
  uart_init(UART0_BASE, UART0_RX_IRQ);
  uart_init(UART1_BASE, UART1_RX_IRQ);
  if (storage_magic != STORAGE_MAGIC) {
    memset(storage, 0xFF, sizeof storage);
    storage_magic = STORAGE_MAGIC;
  }
  systick_start(CORE_CLOCK_HZ);
}

/* ---- the vector table: 16 system exceptions, then the SSE-200's 96 interrupts ---- */

extern uint32_t _estack[];
void Reset_Handler(void);
void Fault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

typedef void (*vector_t)(void);
#pragma GCC diagnostic ignored "-Woverride-init" /* the range default, then the handlers we have */
__attribute__((section(".isr_vector"), used)) static const vector_t vectors[16 + 96] = {
    [0] = (vector_t)(uintptr_t)_estack,
    [1] = Reset_Handler,
    [2 ... 16 + 95] = Default_Handler,
    [3] = Fault_Handler,  /* HardFault */
    [4] = Fault_Handler,  /* MemManage */
    [5] = Fault_Handler,  /* BusFault */
    [6] = Fault_Handler,  /* UsageFault */
    [7] = Fault_Handler,  /* SecureFault */
    [15] = SysTick_Handler,
    [16 + UART0_RX_IRQ] = UART0RX_IRQHandler,
    [16 + UART1_RX_IRQ] = UART1RX_IRQHandler,
};
