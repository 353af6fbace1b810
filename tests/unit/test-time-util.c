/* Clocks and ISO-8601 timestamps. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/time-util.h"

#define T_2026_11_26_005434_123456 UINT64_C(1795654474123456)
#define T_2026_11_26 UINT64_C(1795651200000000)
#define SEC UINT64_C(1000000)

START_TEST(test_format) {
        char buf[TIMESTAMP_BUFSZ];

        ck_assert_str_eq(timestamp_format(buf, 0), "1970-01-01T00:00:00.000000Z");
        ck_assert_str_eq(timestamp_format(buf, 1), "1970-01-01T00:00:00.000001Z");
        ck_assert_str_eq(timestamp_format(buf, T_2026_11_26_005434_123456), "2026-11-26T00:54:34.123456Z");
        ck_assert_str_eq(timestamp_format(buf, UINT64_C(1709208000000000)), "2024-02-29T12:00:00.000000Z");
        ck_assert_str_eq(timestamp_format(buf, UINT64_C(253402300799999999)), "9999-12-31T23:59:59.999999Z");
        /* Beyond four-digit years the text stays fixed-width rather than growing. */
        ck_assert_str_eq(timestamp_format(buf, UINT64_MAX), "9999-12-31T23:59:59.999999Z");
        ck_assert_ptr_eq(timestamp_format(buf, 0), buf);
}
END_TEST

START_TEST(test_now) {
        char buf[TIMESTAMP_BUFSZ];
        usec_t before, after, parsed, m1, m2;

        before = now_realtime_usec();
        timestamp_now(buf);
        after = now_realtime_usec();

        ck_assert_uint_eq(strlen(buf), 27);
        ck_assert_int_eq(timestamp_parse(buf, &parsed), 0);
        ck_assert_uint_ge(parsed, before);
        ck_assert_uint_le(parsed, after);
        /* Sanity: later than the day this code was written. */
        ck_assert_uint_gt(before, T_2026_11_26 - 400 * 86400 * SEC);

        m1 = now_monotonic_usec();
        m2 = now_monotonic_usec();
        ck_assert_uint_ge(m2, m1);
        ck_assert_uint_gt(m1, 0);
}
END_TEST

static const struct {
        const char *input;
        usec_t expected;
} good[] = {
        { "2026-11-26",                       T_2026_11_26 },
        { "2026-11-26T00:54",                 T_2026_11_26 + 54 * 60 * SEC },
        { "2026-11-26T00:54:34",              T_2026_11_26 + 3274 * SEC },
        { "2026-11-26T00:54:34Z",             T_2026_11_26 + 3274 * SEC },
        { "2026-11-26t00:54:34z",             T_2026_11_26 + 3274 * SEC },
        { "2026-11-26 00:54:34",              T_2026_11_26 + 3274 * SEC },
        { "2026-11-26T00:54:34.123456Z",      T_2026_11_26_005434_123456 },
        { "2026-11-26T00:54:34.123456",       T_2026_11_26_005434_123456 },
        { "2026-11-26T00:54:34.1234569999Z",  T_2026_11_26_005434_123456 },
        { "2026-11-26T00:54:34.1Z",           T_2026_11_26 + 3274 * SEC + 100000 },
        { "2026-11-26T00:54:34,5Z",           T_2026_11_26 + 3274 * SEC + 500000 },
        { "2026-11-26T02:54:34+02:00",        T_2026_11_26 + 3274 * SEC },
        { "2026-11-26T02:54:34+0200",         T_2026_11_26 + 3274 * SEC },
        { "2026-11-26T02:54:34+02",           T_2026_11_26 + 3274 * SEC },
        { "2026-11-25T21:24:34-03:30",        T_2026_11_26 + 3274 * SEC },
        { "2026-11-26T00:54:34.123456+00:00", T_2026_11_26_005434_123456 },
        { "2024-02-29T12:00:00Z",             UINT64_C(1709208000000000) },
        { "1970-01-01T00:00:00Z",             0 },
        { "1970-01-01T01:00:00+01:00",        0 },
        { "9999-12-31T23:59:59.999999Z",      UINT64_C(253402300799999999) },
};

START_TEST(test_parse_good) {
        usec_t t = 1;

        ck_assert_msg(timestamp_parse(good[_i].input, &t) == 0, "rejected %s", good[_i].input);
        ck_assert_msg(t == good[_i].expected, "%s: got %llu, expected %llu", good[_i].input,
                      (unsigned long long) t, (unsigned long long) good[_i].expected);
}
END_TEST

static const char *const bad[] = {
        "", "2026", "2026-11", "26-11-26", "2026-1-5", "2026/11/26", "20261126",
        "2026-11-26T", "2026-11-26T00", "2026-11-26T0:54", "2026-11-26T00:5", "2026-11-26T00:54:3",
        "2026-11-26X00:54", "2026-11-26T00:54:34.Z", "2026-11-26T00:54:34.", "2026-11-26T00:54:34Zjunk",
        "2026-11-26T00:54:34ZZ", "2026-11-26T00:54:34 ", " 2026-11-26", "2026-11-26 ", "2026-11-26Z",
        "2026-11-26T00:54:34+2:00", "2026-11-26T00:54:34+02:0", "2026-11-26T00:54:34+02:00:00",
        "2026-11-26T00:54:34+24:00", "2026-11-26T00:54:34+02:60", "2026-11-26T00:54:34+",
        "2026-11-26T00:54:34 +02:00", "2026-11-26T00:54:34UTC",
        "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-32", "2026-02-29", "2026-02-30", "2026-04-31",
        "1900-02-29", "2026-11-26T24:00:00Z", "2026-11-26T23:60:00Z", "2026-11-26T23:59:60Z",
        "2026-11-26T-1:00", "+026-11-26", "２０２６-11-26", "2026-11-26T00:54:34.12a",
};

START_TEST(test_parse_bad) {
        usec_t t = 77;

        ck_assert_msg(timestamp_parse(bad[_i], &t) == -EINVAL, "accepted '%s'", bad[_i]);
        ck_assert_uint_eq(t, 77);
}
END_TEST

START_TEST(test_parse_before_epoch) {
        usec_t t = 77;

        ck_assert_int_eq(timestamp_parse("1969-12-31T23:59:59Z", &t), -ERANGE);
        ck_assert_int_eq(timestamp_parse("1970-01-01T00:30:00+01:00", &t), -ERANGE);
        ck_assert_int_eq(timestamp_parse("0000-01-01", &t), -ERANGE);
        ck_assert_int_eq(timestamp_parse(NULL, &t), -EINVAL);
        ck_assert_uint_eq(t, 77);
}
END_TEST

START_TEST(test_round_trip) {
        static const usec_t values[] = {
                0, 1, 999999, 1000000, T_2026_11_26_005434_123456,
                UINT64_C(1709208000000000) - 1, /* the second before a leap-day noon */
                UINT64_C(951782400000000),      /* 2000-02-29, a leap year divisible by 400 */
                UINT64_C(4102444799999999),     /* 2099-12-31T23:59:59.999999 */
                UINT64_C(253402300799999999),
        };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                char buf[TIMESTAMP_BUFSZ];
                usec_t back = 0;

                timestamp_format(buf, values[i]);
                ck_assert_uint_eq(strlen(buf), 27);
                ck_assert_int_eq(timestamp_parse(buf, &back), 0);
                ck_assert_msg(back == values[i], "%s came back as %llu", buf, (unsigned long long) back);
        }
}
END_TEST

START_TEST(test_text_order_is_time_order) {
        char a[TIMESTAMP_BUFSZ], b[TIMESTAMP_BUFSZ], c[TIMESTAMP_BUFSZ];

        timestamp_format(a, 9 * SEC);
        timestamp_format(b, 10 * SEC);
        timestamp_format(c, T_2026_11_26);
        ck_assert_int_lt(strcmp(a, b), 0);
        ck_assert_int_lt(strcmp(b, c), 0);
}
END_TEST

static Suite *time_util_suite(void) {
        Suite *s = suite_create("time-util");
        TCase *tc;

        tc = tcase_create("format");
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_now);
        tcase_add_test(tc, test_text_order_is_time_order);
        suite_add_tcase(s, tc);

        tc = tcase_create("parse");
        tcase_add_loop_test(tc, test_parse_good, 0, sizeof(good) / sizeof(good[0]));
        tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
        tcase_add_test(tc, test_parse_before_epoch);
        tcase_add_test(tc, test_round_trip);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(time_util_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
