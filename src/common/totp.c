/* HOTP and TOTP. OpenSSL's libcrypto computes HMAC-SHA1 (libsodium has no SHA-1). */

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "common/totp.h"

int hotp_code(const uint8_t *key, size_t key_size, uint64_t counter, unsigned digits, char *ret_code) {
        static const uint32_t powers[HOTP_DIGITS_MAX + 1] = {
                1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
        };
        uint8_t message[8], mac[EVP_MAX_MD_SIZE];
        unsigned mac_size = 0, offset;
        uint32_t binary;

        if (digits < 1 || digits > HOTP_DIGITS_MAX || key_size > INT32_MAX)
                return -EINVAL;

        for (int i = 7; i >= 0; i--) {
                message[i] = (uint8_t) (counter & 0xff);
                counter >>= 8;
        }
        if (!HMAC(EVP_sha1(), key, (int) key_size, message, sizeof(message), mac, &mac_size) || mac_size != 20)
                return -EIO;

        /* Dynamic truncation (RFC 4226 section 5.3): 31 bits from where the last nibble says. */
        offset = mac[19] & 0x0f;
        binary = ((uint32_t) (mac[offset] & 0x7f) << 24) | ((uint32_t) mac[offset + 1] << 16) |
                 ((uint32_t) mac[offset + 2] << 8) | (uint32_t) mac[offset + 3];
        sodium_memzero(mac, sizeof(mac));

        binary %= powers[digits];
        for (unsigned i = digits; i > 0; i--) {
                ret_code[i - 1] = (char) ('0' + binary % 10);
                binary /= 10;
        }
        ret_code[digits] = '\0';
        return 0;
}

uint64_t totp_step(uint64_t unix_seconds) {
        return unix_seconds / TOTP_STEP_SECONDS;
}

bool totp_code_is_well_formed(const char *code) {
        if (!code)
                return false;
        for (size_t i = 0; i < TOTP_DIGITS; i++)
                if (code[i] < '0' || code[i] > '9')
                        return false;
        return code[TOTP_DIGITS] == '\0';
}

int totp_check(const uint8_t *key, size_t key_size, const char *code, uint64_t now_step, int64_t last_used_step,
               uint64_t *ret_step) {
        TotpVerdict verdict = TOTP_WRONG;
        uint64_t accepted = 0;
        int r;

        if (!totp_code_is_well_formed(code))
                return TOTP_WRONG;

        /* Every step of the window is computed and compared, whatever matches first, so the
         * time taken does not tell which one matched. */
        for (int d = -TOTP_WINDOW; d <= TOTP_WINDOW; d++) {
                char expected[TOTP_DIGITS + 1];
                uint64_t step;
                bool same;

                if (d < 0 && now_step < (uint64_t) -d)
                        continue;
                step = d < 0 ? now_step - (uint64_t) -d : now_step + (uint64_t) d;
                r = hotp_code(key, key_size, step, TOTP_DIGITS, expected);
                if (r < 0)
                        return r;
                same = sodium_memcmp(expected, code, TOTP_DIGITS) == 0;
                sodium_memzero(expected, sizeof(expected));
                if (!same)
                        continue;
                if (last_used_step >= 0 && step <= (uint64_t) last_used_step) {
                        if (verdict == TOTP_WRONG)
                                verdict = TOTP_REPLAYED;
                } else if (verdict != TOTP_ACCEPTED) {
                        verdict = TOTP_ACCEPTED;
                        accepted = step;
                }
        }

        if (verdict == TOTP_ACCEPTED && ret_step)
                *ret_step = accepted;
        return verdict;
}
