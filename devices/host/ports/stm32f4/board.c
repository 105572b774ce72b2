/* STM32F405 board glue (netduinoplus2 under QEMU): USART1 carries SMP, USART2 the events link, GPIO
 * ports A-E are driven through their BSRR registers, sensors come from ADC1, and slot storage is a
 * RAM region (QEMU models the STM32F4 flash as ROM without its program/erase interface).
 * RULES_BOARD_QEMU selects what only makes sense under emulation; see ports/README.md. */
#include <string.h>

#include "cortex_m.h"
#include "ring.h"
#include "rules_host.h"

const char board_name[] = "stm32f405";

/* ---- registers (RM0090) ---- */
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define FLASH_ACR REG32(0x40023C00u)

#define GPIO_BASE(port) (0x40020000u + 0x400u * (port))
#define GPIO_MODER(port) REG32(GPIO_BASE(port) + 0x00u)
#define GPIO_IDR(port) REG32(GPIO_BASE(port) + 0x10u)
#define GPIO_BSRR(port) REG32(GPIO_BASE(port) + 0x18u)
#define GPIO_AFRL(port) REG32(GPIO_BASE(port) + 0x20u)
#define GPIO_AFRH(port) REG32(GPIO_BASE(port) + 0x24u)

#define USART1_BASE 0x40011000u
#define USART2_BASE 0x40004400u
#define USART_SR(base) REG32((base) + 0x00u)
#define USART_DR(base) REG32((base) + 0x04u)
#define USART_BRR(base) REG32((base) + 0x08u)
#define USART_CR1(base) REG32((base) + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_UE (1u << 13)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RE (1u << 2)
#define USART1_IRQ 37u
#define USART2_IRQ 38u

#define ADC1_BASE 0x40012000u
#define ADC_SR REG32(ADC1_BASE + 0x00u)
#define ADC_CR2 REG32(ADC1_BASE + 0x08u)
#define ADC_SMPR1 REG32(ADC1_BASE + 0x0Cu)
#define ADC_SQR1 REG32(ADC1_BASE + 0x2Cu)
#define ADC_SQR3 REG32(ADC1_BASE + 0x34u)
#define ADC_DR REG32(ADC1_BASE + 0x4Cu)
#define ADC_CCR REG32(0x40012304u)
#define ADC_SR_EOC (1u << 1)
#define ADC_CR2_ADON (1u << 0)
#define ADC_CR2_SWSTART (1u << 30)
#define ADC_CCR_TSVREFE (1u << 23)
#define ADC_TEMPERATURE_CHANNEL 16u

#define CORE_CLOCK_HZ 168000000u
#define APB2_CLOCK_HZ 84000000u
#define APB1_CLOCK_HZ 42000000u
#define SERIAL_BAUD 115200u

#define GPIO_PORTS 5u /* A..E: the stm32 target's pins 0..79 */

/* ---- clocks ---- */

static void clocks_init(void) {
#ifndef RULES_BOARD_QEMU
  /* 168 MHz from the 16 MHz HSI: PLLM 16, PLLN 336, PLLP 2 (PLLQ 7 for USB); APB1 /4, APB2 /2. QEMU
   * leaves RCC unimplemented (it runs the core at 168 MHz from the start), so this is hardware only. */
  FLASH_ACR = (1u << 8) | (1u << 9) | (1u << 10) | 5u; /* prefetch, I- and D-cache, 5 wait states */
  RCC_PLLCFGR = 16u | (336u << 6) | (0u << 16) | (0u << 22) | (7u << 24);
  RCC_CR |= 1u << 24;
  for (uint32_t spins = 0; !(RCC_CR & (1u << 25)) && spins < 1000000u; spins++) {
  }
  RCC_CFGR = (5u << 10) | (4u << 13) | 2u; /* PPRE1 /4, PPRE2 /2, SW = PLL */
  for (uint32_t spins = 0; ((RCC_CFGR >> 2) & 3u) != 2u && spins < 1000000u; spins++) {
  }
#endif
  RCC_AHB1ENR |= 0x1Fu;                 /* GPIOA..GPIOE */
  RCC_APB2ENR |= (1u << 4) | (1u << 8); /* USART1, ADC1 */
  RCC_APB1ENR |= 1u << 17;              /* USART2 */
}

/* ---- UARTs: interrupt-driven reception into rings, polled transmission ---- */

static uint8_t smp_rx_bytes[1024];
static ring_t smp_rx = {smp_rx_bytes, sizeof smp_rx_bytes, 0, 0, 0};
static uint8_t events_rx_bytes[256];
static ring_t events_rx = {events_rx_bytes, sizeof events_rx_bytes, 0, 0, 0};

static void usart_receive(uint32_t base, ring_t *ring) {
  while (USART_SR(base) & USART_SR_RXNE) ring_put(ring, (uint8_t)USART_DR(base));
}

void USART1_IRQHandler(void) { usart_receive(USART1_BASE, &smp_rx); }
void USART2_IRQHandler(void) { usart_receive(USART2_BASE, &events_rx); }

static void gpio_alternate(uint32_t port, uint32_t pin, uint32_t af) {
  GPIO_MODER(port) = (GPIO_MODER(port) & ~(3u << (2u * pin))) | (2u << (2u * pin));
  if (pin < 8u) {
    GPIO_AFRL(port) = (GPIO_AFRL(port) & ~(0xFu << (4u * pin))) | (af << (4u * pin));
  } else {
    GPIO_AFRH(port) = (GPIO_AFRH(port) & ~(0xFu << (4u * (pin - 8u)))) | (af << (4u * (pin - 8u)));
  }
}

static void usart_init(uint32_t base, uint32_t bus_clock_hz, unsigned irq) {
  USART_BRR(base) = (bus_clock_hz + SERIAL_BAUD / 2u) / SERIAL_BAUD; /* oversampling by 16 */
  USART_CR1(base) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
  nvic_enable_irq(irq);
}

static void usart_write(uint32_t base, const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    while (!(USART_SR(base) & USART_SR_TXE)) {
    }
    USART_DR(base) = buf[i];
  }
}

size_t board_smp_read(uint8_t *buf, size_t cap) { return ring_get(&smp_rx, buf, cap); }
void board_smp_write(const uint8_t *buf, size_t len) { usart_write(USART1_BASE, buf, len); }
size_t board_events_read(uint8_t *buf, size_t cap) { return ring_get(&events_rx, buf, cap); }
void board_events_write(const uint8_t *buf, size_t len) { usart_write(USART2_BASE, buf, len); }

/* ---- GPIO: pin = port x 16 + line ---- */

static uint16_t configured_outputs[GPIO_PORTS];

int board_gpio_write(uint32_t pin, int32_t level) {
  uint32_t port = pin / 16u, line = pin % 16u;
  if (port >= GPIO_PORTS) return RULES_EINVAL;
  if (!(configured_outputs[port] & (1u << line))) {
    GPIO_MODER(port) = (GPIO_MODER(port) & ~(3u << (2u * line))) | (1u << (2u * line));
    configured_outputs[port] |= (uint16_t)(1u << line);
  }
  GPIO_BSRR(port) = level ? (1u << line) : (1u << (line + 16u));
  return RULES_OK;
}

int board_gpio_read(uint32_t pin, int32_t *level) {
  uint32_t port = pin / 16u, line = pin % 16u;
  if (port >= GPIO_PORTS) return RULES_EINVAL;
  *level = (int32_t)((GPIO_IDR(port) >> line) & 1u);
  return RULES_OK;
}

/* ---- sensors: channel 0 the die temperature, 1..15 ADC1_IN1..IN15, all through single conversions ---- */

static int adc_convert(uint32_t adc_channel, uint32_t *raw) {
  ADC_SQR1 = 0;
  ADC_SQR3 = adc_channel;
  ADC_CR2 |= ADC_CR2_SWSTART;
#ifndef RULES_BOARD_QEMU
  for (uint32_t spins = 0; !(ADC_SR & ADC_SR_EOC); spins++) {
    if (spins > 100000u) return RULES_EIO;
  }
#endif
  /* QEMU's STM32F2xx ADC model never sets EOC: it makes up a value (a ramp) when DR is read after SWSTART. */
  *raw = ADC_DR & 0xFFFu;
  return RULES_OK;
}

int board_sensor_read(uint32_t channel, int32_t *value) {
  if (channel > 15u) return RULES_EINVAL;
  uint32_t raw;
  int err = adc_convert(channel == 0 ? ADC_TEMPERATURE_CHANNEL : channel, &raw);
  if (err != RULES_OK) return err;
  int32_t millivolts = (int32_t)((raw * 3300u + 2047u) / 4095u);
  /* RM0090 typical figures: 0.76 V at 25 degrees C, 2.5 mV per degree. */
  *value = channel == 0 ? 25000 + (millivolts - 760) * 400 : millivolts;
  return RULES_OK;
}

static void adc_init(void) {
  ADC_CCR |= ADC_CCR_TSVREFE;
  ADC_SMPR1 = 7u << 18; /* the longest sampling time for the temperature sensor (channel 16) */
  ADC_CR2 = ADC_CR2_ADON;
}

/* ---- slot storage: RAM under QEMU, with flash semantics (erase to 0xFF, program only clears bits) ---- */

#define STORAGE_BYTES (RULES_MAX_RULES * 2u * RULES_SLOT_BYTES + 2048u)
#define STORAGE_ERASE_BYTES 1024u
#define STORAGE_MAGIC 0x52554C53u /* "RULS": the region was formatted since power-up */

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

static void storage_init(void) {
  /* Cold power-up leaves RAM undefined (zero under QEMU); a soft reset keeps it. */
  if (storage_magic != STORAGE_MAGIC) {
    memset(storage, 0xFF, sizeof storage);
    storage_magic = STORAGE_MAGIC;
  }
}

extern const uint8_t __keys_area[];
const uint8_t *board_trusted_keys_area(void) { return __keys_area; }

void board_init(void) {
  clocks_init();
  gpio_alternate(0, 9, 7);  /* PA9 USART1_TX */
  gpio_alternate(0, 10, 7); /* PA10 USART1_RX */
  gpio_alternate(0, 2, 7);  /* PA2 USART2_TX */
  gpio_alternate(0, 3, 7);  /* PA3 USART2_RX */
  usart_init(USART1_BASE, APB2_CLOCK_HZ, USART1_IRQ);
  usart_init(USART2_BASE, APB1_CLOCK_HZ, USART2_IRQ);
  adc_init();
  storage_init();
  systick_start(CORE_CLOCK_HZ);
}

/* ---- the vector table: 16 system exceptions, then the STM32F405's 82 interrupts ---- */

extern uint32_t _estack[];
void Reset_Handler(void);
void Fault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

typedef void (*vector_t)(void);
#pragma GCC diagnostic ignored "-Woverride-init" /* the range default, then the handlers we have */
__attribute__((section(".isr_vector"), used)) static const vector_t vectors[16 + 82] = {
    [0] = (vector_t)(uintptr_t)_estack,
    [1] = Reset_Handler,
    [2 ... 16 + 81] = Default_Handler,
    [3] = Fault_Handler,   /* HardFault */
    [4] = Fault_Handler,   /* MemManage */
    [5] = Fault_Handler,   /* BusFault */
    [6] = Fault_Handler,   /* UsageFault */
    [15] = SysTick_Handler,
    [16 + USART1_IRQ] = USART1_IRQHandler,
    [16 + USART2_IRQ] = USART2_IRQHandler,
};
