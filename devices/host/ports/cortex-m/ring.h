/* A single-producer single-consumer byte ring: a UART interrupt fills it, the main loop drains it.
 * Indices only grow (wrapping at 2^32), so full and empty need no extra flag; size is a power of two. */
#ifndef RULES_RING_H
#define RULES_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct ring {
  uint8_t *data;
  uint32_t size; /* a power of two */
  volatile uint32_t head; /* written by the producer only */
  volatile uint32_t tail; /* written by the consumer only */
  volatile uint32_t dropped; /* bytes lost because the ring was full */
} ring_t;

static inline void ring_put(ring_t *r, uint8_t byte) {
  uint32_t head = r->head;
  if (head - r->tail >= r->size) {
    r->dropped++;
    return;
  }
  r->data[head & (r->size - 1u)] = byte;
  __asm volatile("" ::: "memory"); /* the byte lands before the index that publishes it */
  r->head = head + 1u;
}

static inline size_t ring_get(ring_t *r, uint8_t *buf, size_t cap) {
  size_t n = 0;
  uint32_t tail = r->tail;
  while (n < cap && tail != r->head) {
    buf[n++] = r->data[tail & (r->size - 1u)];
    tail++;
  }
  __asm volatile("" ::: "memory");
  r->tail = tail;
  return n;
}

#endif /* RULES_RING_H */
