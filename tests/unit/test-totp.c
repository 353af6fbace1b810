/* One-time codes: HOTP and TOTP against the test vectors of RFC 4226 and RFC 6238, the
 * window and replay rules, and base32 (RFC 4648) that carries the secrets. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/base32.h"
#include "common/macro.h"
#include "common/totp.h"

/* The key of both RFCs' SHA-1 vectors. */
static const uint8_t rfc_key[] = "12345678901234567890";
#define RFC_KEY_SIZE 20

START_TEST(test_hotp_rfc4226) {
        /* RFC 4226 appendix D: counters 0 to 9, 6 digits. */
        static const char *const expected[] = {
                "755224", "287082", "359152", "969429", "338314",
                "254676", "287922", "162583", "399871", "520489",
        };
        char code[HOTP_DIGITS_MAX + 1];

        for (uint64_t counter = 0; counter < ELEMENTSOF(expected); counter++) {
                ck_assert_int_eq(hotp_code(rfc_key, RFC_KEY_SIZE, counter, 6, code), 0);
                ck_assert_str_eq(code, expected[counter]);
        }
}
END_TEST

START_TEST(test_totp_rfc6238) {
        /* RFC 6238 appendix B, SHA-1 rows: 8 digits, 30-second steps from the epoch. */
        static const struct {
                uint64_t unix_time;
                const char *code;
        } rows[] = {
                { 59, "94287082" },
                { 1111111109, "07081804" },
                { 1111111111, "14050471" },
                { 1234567890, "89005924" },
                { 2000000000, "69279037" },
                { 20000000000, "65353130" },
        };
        char code[HOTP_DIGITS_MAX + 1];

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                ck_assert_int_eq(hotp_code(rfc_key, RFC_KEY_SIZE, totp_step(rows[i].unix_time), 8, code), 0);
                ck_assert_str_eq(code, rows[i].code);
        }
        /* The step changes on the 30-second boundaries. */
        ck_assert_uint_eq(totp_step(0), 0);
        ck_assert_uint_eq(totp_step(29), 0);
        ck_assert_uint_eq(totp_step(30), 1);
        ck_assert_uint_eq(totp_step(1111111109), 37037036);
}
END_TEST

START_TEST(test_hotp_bad_digits) {
        char code[HOTP_DIGITS_MAX + 2];

        ck_assert_int_eq(hotp_code(rfc_key, RFC_KEY_SIZE, 0, 0, code), -EINVAL);
        ck_assert_int_eq(hotp_code(rfc_key, RFC_KEY_SIZE, 0, HOTP_DIGITS_MAX + 1, code), -EINVAL);
        /* Leading zeros are kept: RFC 6238's code at 1111111109 is 07081804. */
        ck_assert_int_eq(hotp_code(rfc_key, RFC_KEY_SIZE, totp_step(1111111109), 8, code), 0);
        ck_assert_int_eq(code[0], '0');
}
END_TEST

START_TEST(test_code_format) {
        ck_assert(totp_code_is_well_formed("000000"));
        ck_assert(totp_code_is_well_formed("123456"));
        ck_assert(!totp_code_is_well_formed(NULL));
        ck_assert(!totp_code_is_well_formed(""));
        ck_assert(!totp_code_is_well_formed("12345"));
        ck_assert(!totp_code_is_well_formed("1234567"));
        ck_assert(!totp_code_is_well_formed("12345a"));
        ck_assert(!totp_code_is_well_formed(" 12345"));
        ck_assert(!totp_code_is_well_formed("123 456"));
        ck_assert(!totp_code_is_well_formed("-12345"));
}
END_TEST

/* The 6-digit code of the RFC key at step. */
static void code_at(uint64_t step, char code[static TOTP_DIGITS + 1]) {
        ck_assert_int_eq(hotp_code(rfc_key, RFC_KEY_SIZE, step, TOTP_DIGITS, code), 0);
}

START_TEST(test_check_window) {
        const uint64_t now = 37037036;
        char code[TOTP_DIGITS + 1];
        uint64_t step = 0;

        /* One step early or late is fine; two are not. */
        for (int d = -1; d <= 1; d++) {
                code_at(now + (uint64_t) (int64_t) d, code);
                ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, now, -1, &step), TOTP_ACCEPTED);
                ck_assert_uint_eq(step, now + (uint64_t) (int64_t) d);
        }
        code_at(now - 2, code);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, now, -1, &step), TOTP_WRONG);
        code_at(now + 2, code);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, now, -1, &step), TOTP_WRONG);

        /* Near the epoch there is no step before the first. */
        code_at(0, code);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, 0, -1, &step), TOTP_ACCEPTED);
        ck_assert_uint_eq(step, 0);

        /* Another key's code, malformed codes. */
        code_at(now, code);
        ck_assert_int_eq(totp_check((const uint8_t *) "another key of twenty", 20, code, now, -1, &step), TOTP_WRONG);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, "", now, -1, &step), TOTP_WRONG);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, NULL, now, -1, &step), TOTP_WRONG);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, "abcdef", now, -1, &step), TOTP_WRONG);
}
END_TEST

START_TEST(test_check_replay) {
        const uint64_t now = 37037036;
        char code[TOTP_DIGITS + 1];
        uint64_t step = 0;

        /* The step last used, and those before it, are spent. */
        code_at(now, code);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, now, (int64_t) now, &step), TOTP_REPLAYED);
        code_at(now - 1, code);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, now, (int64_t) now, &step), TOTP_REPLAYED);
        /* The next one is not. */
        code_at(now + 1, code);
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, code, now, (int64_t) now, &step), TOTP_ACCEPTED);
        ck_assert_uint_eq(step, now + 1);
        /* A wrong code stays wrong, used steps or not. */
        ck_assert_int_eq(totp_check(rfc_key, RFC_KEY_SIZE, "000000", now, (int64_t) now, &step), TOTP_WRONG);
}
END_TEST

START_TEST(test_base32_rfc4648) {
        /* RFC 4648 section 10, without the padding. */
        static const struct {
                const char *data, *text;
        } rows[] = {
                { "", "" },
                { "f", "MY" },
                { "fo", "MZXQ" },
                { "foo", "MZXW6" },
                { "foob", "MZXW6YQ" },
                { "fooba", "MZXW6YTB" },
                { "foobar", "MZXW6YTBOI" },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *text = base32_encode((const uint8_t *) rows[i].data, strlen(rows[i].data));
                _cleanup_free_ uint8_t *data = NULL;
                size_t size = 99;

                ck_assert_ptr_nonnull(text);
                ck_assert_str_eq(text, rows[i].text);
                ck_assert_int_eq(base32_decode(rows[i].text, &data, &size), 0);
                ck_assert_uint_eq(size, strlen(rows[i].data));
                ck_assert(memcmp(data, rows[i].data, size) == 0);
        }
}
END_TEST

START_TEST(test_base32_reading) {
        _cleanup_free_ uint8_t *a = NULL, *b = NULL, *c = NULL;
        size_t size;

        /* Lower case, and the padding of section 10. */
        ck_assert_int_eq(base32_decode("mzxw6ytboi", &a, &size), 0);
        ck_assert_uint_eq(size, 6);
        ck_assert(memcmp(a, "foobar", 6) == 0);
        ck_assert_int_eq(base32_decode("MZXW6YTBOI======", &b, &size), 0);
        ck_assert_uint_eq(size, 6);
        ck_assert(memcmp(b, "foobar", 6) == 0);
        ck_assert_int_eq(base32_decode("MY======", &c, &size), 0);
        ck_assert_uint_eq(size, 1);
        ck_assert_int_eq(c[0], 'f');
}
END_TEST

START_TEST(test_base32_refused) {
        static const char *const bad[] = {
                "MZXW6YTB1",     /* 1 is not in the alphabet */
                "MZXW 6YTB",     /* nor is a space */
                "MZ=XW6YT",      /* padding in the middle */
                "MZXW6YTBOI=",   /* padded to no multiple of 8 */
                "M",             /* lengths no encoder writes */
                "MZX",
                "MZXW6Y",
                "MZ",            /* a length that fits, but "MZ" leaves bits set: "MY" is 'f' */
        };
        uint8_t *data = (uint8_t *) "untouched";
        size_t size = 99;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_msg(base32_decode(bad[i], &data, &size) == -EINVAL, "%s was read", bad[i]);
                ck_assert_str_eq((const char *) data, "untouched");
                ck_assert_uint_eq(size, 99);
        }
        ck_assert_int_eq(base32_decode(NULL, &data, &size), -EINVAL);
}
END_TEST

START_TEST(test_base32_secret_round_trip) {
        uint8_t secret[TOTP_SECRET_SIZE];
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint8_t *back = NULL;
        size_t size;

        for (size_t i = 0; i < sizeof(secret); i++)
                secret[i] = (uint8_t) (i * 37 + 11);
        text = base32_encode(secret, sizeof(secret));
        ck_assert_ptr_nonnull(text);
        /* 160 bits are 32 characters, no padding needed. */
        ck_assert_uint_eq(strlen(text), 32);
        ck_assert_int_eq(base32_decode(text, &back, &size), 0);
        ck_assert_uint_eq(size, sizeof(secret));
        ck_assert(memcmp(back, secret, size) == 0);
}
END_TEST

static Suite *totp_suite(void) {
        Suite *s = suite_create("totp");
        TCase *tc;

        tc = tcase_create("codes");
        tcase_add_test(tc, test_hotp_rfc4226);
        tcase_add_test(tc, test_totp_rfc6238);
        tcase_add_test(tc, test_hotp_bad_digits);
        tcase_add_test(tc, test_code_format);
        tcase_add_test(tc, test_check_window);
        tcase_add_test(tc, test_check_replay);
        suite_add_tcase(s, tc);

        tc = tcase_create("base32");
        tcase_add_test(tc, test_base32_rfc4648);
        tcase_add_test(tc, test_base32_reading);
        tcase_add_test(tc, test_base32_refused);
        tcase_add_test(tc, test_base32_secret_round_trip);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(totp_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
