/* The millisecond clock of every Cortex-M port: SysTick on the core clock, one interrupt per millisecond. */
#include "cortex_m.h"

static volatile uint32_t millis_since_boot;

void SysTick_Handler(void) { millis_since_boot++; }

void systick_start(uint32_t core_clock_hz) {
  SYST_RVR = core_clock_hz / 1000u - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

/* A 32-bit aligned load is atomic on Cortex-M, so no critical section is needed. */
uint32_t systick_millis(void) { return millis_since_boot; }

void system_reset(void) {
  __asm volatile("dsb" ::: "memory");
  SCB_AIRCR = (0x05FAu << 16) | (1u << 2); /* VECTKEY | SYSRESETREQ */
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}
