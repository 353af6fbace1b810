/* Passwords, API keys and random tokens. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/macro.h"

static bool only_chars(const char *s, const char *allowed) {
        return strspn(s, allowed) == strlen(s);
}

#define BASE64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define HEX_LOWER "0123456789abcdef"

START_TEST(test_password_round_trip) {
        _cleanup_free_ char *hash = NULL, *hash2 = NULL;

        ck_assert_int_eq(password_hash("correct horse battery staple", &hash), 0);
        ck_assert_msg(strncmp(hash, "$argon2id$v=19$m=", 17) == 0, "not Argon2id: %s", hash);
        ck_assert(password_verify(hash, "correct horse battery staple"));
        ck_assert(!password_verify(hash, "correct horse battery stapl"));
        ck_assert(!password_verify(hash, "Correct horse battery staple"));
        ck_assert(!password_verify(hash, ""));

        /* A fresh salt each time: same password, different strings, both valid. */
        ck_assert_int_eq(password_hash("correct horse battery staple", &hash2), 0);
        ck_assert_str_ne(hash, hash2);
        ck_assert(password_verify(hash2, "correct horse battery staple"));
}
END_TEST

START_TEST(test_password_unusual) {
        _cleanup_free_ char *empty = NULL, *utf8 = NULL, *lng = NULL, *long_hash = NULL;

        ck_assert_int_eq(password_hash("", &empty), 0);
        ck_assert(password_verify(empty, ""));
        ck_assert(!password_verify(empty, " "));

        ck_assert_int_eq(password_hash("pässwörd ✓", &utf8), 0);
        ck_assert(password_verify(utf8, "pässwörd ✓"));
        ck_assert(!password_verify(utf8, "passwerd ✓"));

        lng = malloc(4097);
        ck_assert_ptr_nonnull(lng);
        memset(lng, 'x', 4096);
        lng[4096] = '\0';
        ck_assert_int_eq(password_hash(lng, &long_hash), 0);
        ck_assert(password_verify(long_hash, lng));
        lng[4095] = 'y';
        ck_assert(!password_verify(long_hash, lng));
}
END_TEST

START_TEST(test_password_bad_input) {
        _cleanup_free_ char *big = NULL;
        char *hash = (char *) "untouched";

        ck_assert_int_eq(password_hash(NULL, &hash), -EINVAL);
        ck_assert_str_eq(hash, "untouched");
        ck_assert(!password_verify(NULL, "x"));
        ck_assert(!password_verify("$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA", NULL));

        /* Stored garbage never verifies and never crashes. */
        ck_assert(!password_verify("", ""));
        ck_assert(!password_verify("plaintext", "plaintext"));
        ck_assert(!password_verify("$2b$12$abcdefghijklmnopqrstuv", "x"));
        ck_assert(!password_verify("$argon2id$", "x"));
        ck_assert(!password_verify("$argon2id$v=19$m=65536,t=2,p=1$", "x"));

        big = malloc(10001);
        ck_assert_ptr_nonnull(big);
        memset(big, 'a', 10000);
        memcpy(big, "$argon2id$", 10);
        big[10000] = '\0';
        ck_assert(!password_verify(big, "x"));
}
END_TEST

START_TEST(test_api_key_generate) {
        _cleanup_free_ char *key1 = NULL, *hash1 = NULL, *prefix1 = NULL;
        _cleanup_free_ char *key2 = NULL, *hash2 = NULL, *prefix2 = NULL;
        _cleanup_free_ char *rehash = NULL;

        ck_assert_int_eq(api_key_generate(&key1, &hash1, &prefix1), 0);
        ck_assert_int_eq(api_key_generate(&key2, &hash2, &prefix2), 0);

        ck_assert_uint_eq(strlen(key1), 4 + 43);
        ck_assert(strncmp(key1, "plt_", 4) == 0);
        ck_assert(only_chars(key1 + 4, BASE64URL));

        ck_assert_uint_eq(strlen(hash1), 64);
        ck_assert(only_chars(hash1, HEX_LOWER));

        ck_assert_uint_eq(strlen(prefix1), API_KEY_PREFIX_LEN);
        ck_assert(strncmp(key1, prefix1, API_KEY_PREFIX_LEN) == 0);

        ck_assert_str_ne(key1, key2);
        ck_assert_str_ne(hash1, hash2);

        /* What the database holds is what hashing the presented key gives. */
        ck_assert_int_eq(api_key_hash(key1, &rehash), 0);
        ck_assert_str_eq(rehash, hash1);
}
END_TEST

START_TEST(test_api_key_hash) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *empty = NULL;
        char *untouched = (char *) "untouched";

        ck_assert_int_eq(api_key_hash("plt_example", &a), 0);
        ck_assert_int_eq(api_key_hash("plt_example", &b), 0);
        ck_assert_int_eq(api_key_hash("plt_examplf", &c), 0);
        ck_assert_str_eq(a, b);
        ck_assert_str_ne(a, c);
        ck_assert_uint_eq(strlen(a), 64);

        /* BLAKE2b-256 of the empty string, a published test vector. */
        ck_assert_int_eq(api_key_hash("", &empty), 0);
        ck_assert_str_eq(empty, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");

        ck_assert_int_eq(api_key_hash(NULL, &untouched), -EINVAL);
        ck_assert_str_eq(untouched, "untouched");
}
END_TEST

START_TEST(test_random_password) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(random_password(&a), 0);
        ck_assert_int_eq(random_password(&b), 0);
        ck_assert_uint_eq(strlen(a), 20);
        ck_assert(only_chars(a, BASE64URL));
        ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_random_hex) {
        char a[33], b[33], big[201], empty[1] = { 'x' };

        memset(a, '#', sizeof(a));
        ck_assert_int_eq(random_hex(a, 32), 0);
        ck_assert_uint_eq(strlen(a), 32);
        ck_assert(only_chars(a, HEX_LOWER));
        ck_assert_int_eq(random_hex(b, 32), 0);
        ck_assert_str_ne(a, b);

        /* Longer than one internal chunk. */
        ck_assert_int_eq(random_hex(big, 200), 0);
        ck_assert_uint_eq(strlen(big), 200);
        ck_assert(only_chars(big, HEX_LOWER));

        ck_assert_int_eq(random_hex(empty, 0), 0);
        ck_assert_str_eq(empty, "");

        ck_assert_int_eq(random_hex(a, 7), -EINVAL);
        ck_assert_int_eq(random_hex(NULL, 8), -EINVAL);
}
END_TEST

START_TEST(test_streq_consttime) {
        ck_assert(streq_consttime("abc", "abc"));
        ck_assert(streq_consttime("", ""));
        ck_assert(!streq_consttime("abc", "abd"));
        ck_assert(!streq_consttime("abc", "ab"));
        ck_assert(!streq_consttime("ab", "abc"));
        ck_assert(!streq_consttime("", "a"));
        ck_assert(!streq_consttime("abc", NULL));
        ck_assert(!streq_consttime(NULL, "abc"));
        ck_assert(streq_consttime(NULL, NULL));
}
END_TEST

static Suite *crypto_suite(void) {
        Suite *s = suite_create("crypto");
        TCase *tc;

        tc = tcase_create("passwords");
        /* Argon2id with 64 MiB per hash is slow by design, more so under sanitizers. */
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_password_round_trip);
        tcase_add_test(tc, test_password_unusual);
        tcase_add_test(tc, test_password_bad_input);
        suite_add_tcase(s, tc);

        tc = tcase_create("keys");
        tcase_add_test(tc, test_api_key_generate);
        tcase_add_test(tc, test_api_key_hash);
        tcase_add_test(tc, test_random_password);
        tcase_add_test(tc, test_random_hex);
        tcase_add_test(tc, test_streq_consttime);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (crypto_init() < 0)
                return EXIT_FAILURE;

        sr = srunner_create(crypto_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
