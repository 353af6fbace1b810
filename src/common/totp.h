/* One-time codes as authenticator apps make them: HOTP (RFC 4226) over HMAC-SHA1, and TOTP
 * (RFC 6238) with 30-second steps counted from the Unix epoch and 6 digits. A code is taken
 * for the current step and the one before and after it, for clocks a little apart. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP_SECONDS 30
#define TOTP_DIGITS 6
/* How many steps a code may be early or late. */
#define TOTP_WINDOW 1
/* Secrets the daemon makes: 160 bits, RFC 4226's recommendation. */
#define TOTP_SECRET_SIZE 20
/* The most digits HOTP can give (31 bits of truncated HMAC). */
#define HOTP_DIGITS_MAX 9

/* The code of key for counter, digits (1..HOTP_DIGITS_MAX) decimal digits written to
 * ret_code with a NUL after them. -EINVAL for digits out of range, -EIO when HMAC fails. */
int hotp_code(const uint8_t *key, size_t key_size, uint64_t counter, unsigned digits, char *ret_code);

/* The step unix_seconds falls into. */
uint64_t totp_step(uint64_t unix_seconds);

/* Whether code is TOTP_DIGITS decimal digits and nothing else. */
bool totp_code_is_well_formed(const char *code);

typedef enum TotpVerdict {
        TOTP_WRONG,     /* no step near now has this code */
        TOTP_REPLAYED,  /* it is the code of a step already used */
        TOTP_ACCEPTED,
        _TOTP_VERDICT_MAX,
        _TOTP_VERDICT_INVALID = -22,
} TotpVerdict;

/* Checks code against the steps now_step - TOTP_WINDOW .. now_step + TOTP_WINDOW. A step at
 * or before last_used_step (negative: none used yet) counts as used: its code is
 * TOTP_REPLAYED. On TOTP_ACCEPTED *ret_step gets the step, which the caller records as
 * used. Codes are compared in constant time. Negative errno when HMAC fails. */
int totp_check(const uint8_t *key, size_t key_size, const char *code, uint64_t now_step, int64_t last_used_step,
               uint64_t *ret_step);
