/* Reset and fault handling shared by the Cortex-M ports: copies .data, clears .bss, turns the FPU on
 * when the build uses it, and runs main. Each board's vector table (board.c) points here. */
#include <stdint.h>
#include <string.h>

#include "cortex_m.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern int main(void);

__attribute__((noreturn)) void Reset_Handler(void) {
  memcpy(_sdata, _sidata, (size_t)((uintptr_t)_edata - (uintptr_t)_sdata));
  memset(_sbss, 0, (size_t)((uintptr_t)_ebss - (uintptr_t)_sbss));
#if defined(__ARM_FP)
  SCB_CPACR |= 0xFu << 20; /* full access to CP10 and CP11 */
  __asm volatile("dsb\n isb" ::: "memory");
#endif
  main();
  system_reset();
}

/* A fault is a bug in the host (rules cannot fault it: wasm3 traps are caught in the core). Say so on
 * the events link, then reset, so a board in the field comes back with its committed rules. */
__attribute__((noreturn)) void Fault_Handler(void) {
  static const char message[] = "{\"event\":\"fault\"}\n";
  board_events_write((const uint8_t *)message, sizeof message - 1);
  system_reset();
}

__attribute__((noreturn)) void Default_Handler(void) { Fault_Handler(); }
