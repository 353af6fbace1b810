/* Base32 (RFC 4648, the upper-case alphabet A–Z 2–7), as authenticator apps take TOTP
 * secrets: written without '=' padding; read in either case, padding allowed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The text of size bytes of data, NUL-terminated; NULL when memory runs out. */
char *base32_encode(const uint8_t *data, size_t size);

/* The bytes text stands for into *ret (*ret_size of them; the caller frees). -EINVAL for a
 * character outside the alphabet, padding anywhere but at the end, or a length no encoder
 * writes (leftover bits that do not make a byte must be zero). */
int base32_decode(const char *text, uint8_t **ret, size_t *ret_size);
