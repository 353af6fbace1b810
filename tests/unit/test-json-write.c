/* The fast serialiser must write exactly what jansson's compact dump writes, and text
 * that reads back as the same value. */

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"

#define JANSSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

/* json_equal(), except that reals only need to agree to the 15 digits they are written
 * with. */
static bool json_close(const json_t *a, const json_t *b) {
        if (json_is_real(a) && json_is_real(b)) {
                double x = json_real_value(a), y = json_real_value(b);

                return fabs(x - y) <= 1e-14 * fmax(fabs(x), fabs(y));
        }
        if (json_typeof(a) != json_typeof(b))
                return false;
        if (json_is_array(a)) {
                if (json_array_size(a) != json_array_size(b))
                        return false;
                for (size_t i = 0; i < json_array_size(a); i++)
                        if (!json_close(json_array_get(a, i), json_array_get(b, i)))
                                return false;
                return true;
        }
        if (json_is_object(a)) {
                const char *key;
                json_t *v;

                if (json_object_size(a) != json_object_size(b))
                        return false;
                json_object_foreach((json_t *) a, key, v)
                        if (!json_close(v, json_object_get(b, key)))
                                return false;
                return true;
        }
        return json_equal(a, b);
}

/* Writes json, checks the text against jansson's and the parsed text against json, and
 * returns the text. */
static char *write_checked(const json_t *json) {
        _cleanup_free_ char *expected = NULL;
        _cleanup_json_ json_t *back = NULL;
        json_error_t e;
        char *text;
        size_t len = SIZE_MAX;

        text = json_write(json, &len);
        ck_assert_ptr_nonnull(text);
        /* NUL is always escaped, so the text has no NUL of its own. */
        ck_assert_uint_eq(len, strlen(text));

        expected = json_dumps(json, JANSSON_FLAGS);
        ck_assert_ptr_nonnull(expected);
        ck_assert_str_eq(text, expected);

        back = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        ck_assert_msg(back != NULL, "%s does not parse: %s", text, e.text);
        ck_assert_msg(json_close(back, json), "%s reads back as something else", text);
        return text;
}

#define assert_writes(json_expr, expected)                                      \
        do {                                                                    \
                _cleanup_json_ json_t *_j = (json_expr);                        \
                _cleanup_free_ char *_t = NULL;                                 \
                ck_assert_ptr_nonnull(_j);                                      \
                _t = write_checked(_j);                                         \
                ck_assert_str_eq(_t, (expected));                               \
        } while (0)

START_TEST(test_scalars) {
        _cleanup_free_ char *null_text = NULL;
        size_t len = 0;

        assert_writes(json_true(), "true");
        assert_writes(json_false(), "false");
        assert_writes(json_null(), "null");
        assert_writes(json_integer(0), "0");
        assert_writes(json_integer(-7), "-7");
        assert_writes(json_string(""), "\"\"");

        /* A missing value is written as null, like json_dumps_compact(NULL). */
        null_text = json_write(NULL, &len);
        ck_assert_str_eq(null_text, "null");
        ck_assert_uint_eq(len, 4);
}
END_TEST

START_TEST(test_big_integers) {
        assert_writes(json_integer(LLONG_MAX), "9223372036854775807");
        assert_writes(json_integer(LLONG_MIN), "-9223372036854775808");
        assert_writes(json_integer(1000000000000), "1000000000000");
        assert_writes(json_integer(-10), "-10");
}
END_TEST

START_TEST(test_reals) {
        assert_writes(json_real(0.7), "0.7");
        assert_writes(json_real(3.0), "3.0");
        assert_writes(json_real(-2.0), "-2.0");
        assert_writes(json_real(0.0), "0.0");
        assert_writes(json_real(-0.0), "-0.0");
        assert_writes(json_real(0.1 + 0.2), "0.3");
        assert_writes(json_real(1e20), "1e20");
        assert_writes(json_real(1.5e300), "1.5e300");
        assert_writes(json_real(1e-5), "1e-5");
        assert_writes(json_real(-2.5e-100), "-2.5e-100");
        assert_writes(json_real(123456789012345.0), "123456789012345.0");
        assert_writes(json_real(1234567890123456.0), "1.23456789012346e15");
        assert_writes(json_real(5e-324), "4.94065645841247e-324");
        assert_writes(json_real(3.14159265358979), "3.14159265358979");
}
END_TEST

START_TEST(test_escapes) {
        _cleanup_json_ json_t *all = NULL;
        char raw[0x80];

        assert_writes(json_string("a\"b"), "\"a\\\"b\"");
        assert_writes(json_string("a\\b"), "\"a\\\\b\"");
        assert_writes(json_string("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
        assert_writes(json_string("\x01\x1f\x0b"), "\"\\u0001\\u001F\\u000B\"");
        /* '/' and DEL need no escape and get none. */
        assert_writes(json_string("a/b\x7f"), "\"a/b\x7f\"");
        /* An embedded NUL. */
        assert_writes(json_stringn("a\0b", 3), "\"a\\u0000b\"");

        /* Every ASCII character, so each one's treatment is compared with jansson's. */
        for (size_t i = 0; i < sizeof raw; i++)
                raw[i] = (char) i;
        all = json_stringn(raw, sizeof raw);
        ck_assert_ptr_nonnull(all);
        free(write_checked(all));
}
END_TEST

/* An escaped character at every position of strings around the 8-byte steps of the scan. */
START_TEST(test_escape_positions) {
        static const char specials[] = { '"', '\\', '\n', '\x01', '\x1f' };

        for (size_t len = 1; len <= 33; len++)
                for (size_t pos = 0; pos < len; pos++)
                        for (size_t k = 0; k < ELEMENTSOF(specials); k++) {
                                _cleanup_json_ json_t *s = NULL;
                                char buf[40];

                                memset(buf, 'x', len);
                                buf[pos] = specials[k];
                                s = json_stringn(buf, len);
                                ck_assert_ptr_nonnull(s);
                                free(write_checked(s));
                        }
}
END_TEST

START_TEST(test_unicode) {
        /* Non-ASCII text is written as raw UTF-8, bytes with the high bit set included. */
        assert_writes(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
        assert_writes(json_string("\xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87"),
                      "\"\xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87\"");
        assert_writes(json_pack("{s:s}", "cl\xc3\xa9", "\"\xc3\xa9\""),
                      "{\"cl\xc3\xa9\":\"\\\"\xc3\xa9\\\"\"}");
}
END_TEST

START_TEST(test_containers) {
        assert_writes(json_object(), "{}");
        assert_writes(json_array(), "[]");
        assert_writes(json_pack("[[],{},[{}]]"), "[[],{},[{}]]");
        /* Insertion order, not sorted. */
        assert_writes(json_pack("{s:i, s:i, s:i}", "zeta", 1, "alpha", 2, "mid", 3),
                      "{\"zeta\":1,\"alpha\":2,\"mid\":3}");
        assert_writes(json_pack("{s:[i, s, n, b, f], s:{s:{s:[]}}}", "list", 1, "two", true, 2.5,
                                "deep", "er", "est"),
                      "{\"list\":[1,\"two\",null,true,2.5],\"deep\":{\"er\":{\"est\":[]}}}");
        assert_writes(json_pack("{s:s}", "k\"\n", "v"), "{\"k\\\"\\n\":\"v\"}");
}
END_TEST

START_TEST(test_large) {
        _cleanup_json_ json_t *a = json_array();
        _cleanup_free_ char *text = NULL;
        char *big;

        /* Far past the first buffer, so it has to grow several times. */
        ck_assert_ptr_nonnull(a);
        for (int i = 0; i < 2000; i++)
                ck_assert_int_eq(json_array_append_new(a, json_pack("{s:i, s:s, s:f}", "id", i, "name",
                                                                    "Workflow \"quoted\"\t/", "x", i / 8.0)),
                                 0);
        big = malloc(100001);
        ck_assert_ptr_nonnull(big);
        memset(big, 'y', 100000);
        big[100000] = 0;
        ck_assert_int_eq(json_array_append_new(a, json_string(big)), 0);
        free(big);

        text = write_checked(a);
        ck_assert_uint_gt(strlen(text), 100000);
}
END_TEST

/* Long strings that need escapes everywhere, so each piece of the string takes its worst
 * case of room (six bytes per control character). */
START_TEST(test_long_escaped) {
        static const char fills[] = { '\x01', '"', 'a' };

        for (size_t k = 0; k < ELEMENTSOF(fills); k++)
                for (size_t len = 4095; len <= 12289; len += 4097) {
                        _cleanup_json_ json_t *s = NULL;
                        _cleanup_free_ char *buf = malloc(len);

                        ck_assert_ptr_nonnull(buf);
                        for (size_t i = 0; i < len; i++)
                                buf[i] = i % 3 == 0 ? fills[k] : (i % 3 == 1 ? '\x1f' : 'z');
                        s = json_stringn(buf, len);
                        ck_assert_ptr_nonnull(s);
                        free(write_checked(s));
                }
}
END_TEST

/* A pseudo-random tree of every kind of value, compared byte for byte with jansson. */
static unsigned long rng_state = 12345;

static unsigned rng(unsigned n) {
        rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
        return (unsigned) ((rng_state >> 33) % n);
}

static json_t *random_value(unsigned depth) {
        static const char *const words[] = {
                "", "a", "name", "caf\xc3\xa9", "\xf0\x9f\x98\x80", "tab\there", "q\"uote",
                "back\\slash", "nl\n", "\x02", "/path/", "longer text with spaces in it",
        };
        json_t *v;

        switch (rng(depth >= 4 ? 5 : 7)) {
        case 0:
                return json_integer((json_int_t) rng(1000000) * (rng(2) ? -1 : 1) * (rng(4) ? 1 : 1000000007));
        case 1:
                return json_real((double) rng(1000000) / (double) (rng(1000) + 1) * (rng(2) ? 1e-7 : 1e9));
        case 2:
                return json_string(words[rng(ELEMENTSOF(words))]);
        case 3:
                return rng(2) ? json_boolean(rng(2)) : json_null();
        case 4:
                return json_string(words[rng(ELEMENTSOF(words))]);
        case 5:
                v = json_array();
                for (unsigned i = rng(6); i > 0; i--)
                        json_array_append_new(v, random_value(depth + 1));
                return v;
        default:
                v = json_object();
                for (unsigned i = rng(6); i > 0; i--) {
                        char key[32];

                        snprintf(key, sizeof key, "%s%u", words[rng(ELEMENTSOF(words))], rng(100));
                        json_object_set_new(v, key, random_value(depth + 1));
                }
                return v;
        }
}

START_TEST(test_random_trees) {
        for (int i = 0; i < 300; i++) {
                _cleanup_json_ json_t *v = random_value(0);

                ck_assert_ptr_nonnull(v);
                free(write_checked(v));
        }
}
END_TEST

START_TEST(test_cycle_refused) {
        _cleanup_json_ json_t *o = json_object(), *a = json_array();

        /* jansson refuses to dump a value that contains itself; so must we. */
        ck_assert_ptr_nonnull(o);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(json_array_append(a, o), 0);
        ck_assert_int_eq(json_object_set(o, "loop", a), 0);
        ck_assert_ptr_null(json_write(o, NULL));
        ck_assert_ptr_null(json_dumps(o, JANSSON_FLAGS));
        /* Break the cycle so both are freed. */
        ck_assert_int_eq(json_object_del(o, "loop"), 0);
}
END_TEST

START_TEST(test_dumps_compact) {
        _cleanup_json_ json_t *v = json_pack("{s:f, s:[s]}", "x", 0.7, "y", "a/b");
        _cleanup_free_ char *text = NULL, *null_text = NULL;

        text = json_dumps_compact(v);
        ck_assert_str_eq(text, "{\"x\":0.7,\"y\":[\"a/b\"]}");
        null_text = json_dumps_compact(NULL);
        ck_assert_str_eq(null_text, "null");
}
END_TEST

START_TEST(test_kept_text) {
        _cleanup_json_ json_t *row = json_pack("{s:i, s:s}", "id", 7, "name", "kept \"row\""),
                              *page = NULL, *other = json_object(), *array = json_array();
        _cleanup_free_ char *text = NULL, *after_drop = NULL;

        ck_assert_ptr_nonnull(row);
        ck_assert_ptr_nonnull(other);
        ck_assert_ptr_nonnull(array);
        ck_assert_int_eq(json_write_keep(row), 0);
        /* Kept again: the slot is taken over, not counted twice. */
        ck_assert_int_eq(json_write_keep(row), 0);
        ck_assert_int_eq(json_write_keep(array), -EINVAL);

        /* A kept object inside something else reads exactly as if it were walked. */
        page = json_pack("{s:[O, O, O], s:i}", "items", row, row, other, "total", 3);
        ck_assert_ptr_nonnull(page);
        free(write_checked(page));
        text = json_write(page, NULL);
        ck_assert_str_eq(text, "{\"items\":[{\"id\":7,\"name\":\"kept \\\"row\\\"\"},"
                               "{\"id\":7,\"name\":\"kept \\\"row\\\"\"},{}],\"total\":3}");

        /* What is written is the text kept, not a walk of the object: a change (which the
         * contract forbids while it is kept) does not show... */
        ck_assert_int_eq(json_object_set_new(row, "id", json_integer(9)), 0);
        free(text);
        text = json_write(row, NULL);
        ck_assert_str_eq(text, "{\"id\":7,\"name\":\"kept \\\"row\\\"\"}");

        /* ...until it is dropped and walked again. Dropping what is not kept is harmless. */
        json_write_drop(row);
        json_write_drop(row);
        json_write_drop(other);
        json_write_drop(NULL);
        ck_assert_int_eq(json_object_set_new(row, "id", json_integer(8)), 0);
        after_drop = json_write(row, NULL);
        ck_assert_str_eq(after_drop, "{\"id\":8,\"name\":\"kept \\\"row\\\"\"}");
}
END_TEST

/* The kept text holds its own reference: the object outlives its other owners. */
START_TEST(test_kept_text_reference) {
        json_t *row = json_pack("{s:s}", "a", "b");
        _cleanup_free_ char *text = NULL;

        ck_assert_ptr_nonnull(row);
        ck_assert_int_eq(json_write_keep(row), 0);
        json_decref(row);
        text = json_write(row, NULL);
        ck_assert_str_eq(text, "{\"a\":\"b\"}");
        json_write_drop(row); /* frees it, with no leak left behind */
}
END_TEST

static Suite *json_write_suite(void) {
        Suite *s = suite_create("json-write");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_scalars);
        tcase_add_test(tc, test_big_integers);
        tcase_add_test(tc, test_reals);
        tcase_add_test(tc, test_escapes);
        tcase_add_test(tc, test_escape_positions);
        tcase_add_test(tc, test_unicode);
        tcase_add_test(tc, test_containers);
        tcase_add_test(tc, test_large);
        tcase_add_test(tc, test_long_escaped);
        tcase_add_test(tc, test_random_trees);
        tcase_add_test(tc, test_cycle_refused);
        tcase_add_test(tc, test_dumps_compact);
        tcase_add_test(tc, test_kept_text);
        tcase_add_test(tc, test_kept_text_reference);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(json_write_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
