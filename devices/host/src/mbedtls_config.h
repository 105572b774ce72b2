/* Mbed TLS's build configuration for the device host (MBEDTLS_CONFIG_FILE): only SHA-256 is compiled, in its
 * smaller variant (rules' artifacts are a few hundred bytes, so code size matters more than hashing speed). */
#ifndef RULES_MBEDTLS_CONFIG_H
#define RULES_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER

#endif /* RULES_MBEDTLS_CONFIG_H */
