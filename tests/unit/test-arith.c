/* The calculator's arithmetic: precedence, signs, powers, remainders, decimals, and clear
 * refusals for division by zero and anything that is not arithmetic. */

#include <check.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "engine/arith.h"

static void assert_value(const char *text, const char *expected) {
        char why[256], got[64];
        double v;
        int r;

        r = arith_evaluate(text, &v, why, sizeof why);
        ck_assert_msg(r == 0, "'%s' failed: %s", text, why);
        arith_format(v, got, sizeof got);
        ck_assert_msg(strcmp(got, expected) == 0, "'%s' gave %s, expected %s", text, got, expected);
}

static void assert_error(const char *text, int error, const char *message_part) {
        char why[256];
        double v;
        int r;

        r = arith_evaluate(text, &v, why, sizeof why);
        ck_assert_msg(r == error, "'%s' returned %d, expected %d (%s)", text, r, error, why);
        ck_assert_msg(strstr(why, message_part), "'%s': message '%s' lacks '%s'", text, why, message_part);
}

START_TEST(test_arith_values) {
        assert_value("6*7", "42");
        assert_value(" 1 + 2 * 3 ", "7");
        assert_value("(1 + 2) * 3", "9");
        assert_value("10 / 4", "2.5");
        assert_value("0.1 + 0.2", "0.3");
        assert_value("2 ** 10", "1024");
        assert_value("2 ** 3 ** 2", "512");
        assert_value("-2 ** 2", "-4");
        assert_value("2 ** -1", "0.5");
        assert_value("-(3 - 5)", "2");
        assert_value("--3", "3");
        assert_value("+4", "4");
        assert_value("7 % 3", "1");
        assert_value("-7 % 3", "2");
        assert_value("7.5 % 2", "1.5");
        assert_value(".5 * 4", "2");
        assert_value("1e3 + 1", "1001");
        assert_value("2.5E-1", "0.25");
        assert_value("1 - 1", "0");
        assert_value("-0", "0");
        assert_value("10 / 3", "3.33333333333333");
        assert_value("((((1))))", "1");
}
END_TEST

START_TEST(test_arith_errors) {
        assert_error("1 / 0", -EDOM, "Division by zero");
        assert_error("5 % (2 - 2)", -EDOM, "Division by zero");
        assert_error("0 ** -1", -EDOM, "Division by zero");
        assert_error("(-8) ** 0.5", -EDOM, "no real value");
        assert_error("10 ** 400", -EDOM, "too large");
        assert_error("", -EINVAL, "empty");
        assert_error("   ", -EINVAL, "empty");
        assert_error("1 +", -EINVAL, "ends too early");
        assert_error("(1 + 2", -EINVAL, "not closed");
        assert_error("1 + 2)", -EINVAL, "has no '('");
        assert_error("2 x 3", -EINVAL, "Unexpected 'x' at position 3");
        assert_error("__import__('os')", -EINVAL, "Unexpected '_'");
        assert_error("abs(1)", -EINVAL, "Unexpected 'a'");
        assert_error("0x10", -EINVAL, "Unexpected 'x'");
        assert_error("inf", -EINVAL, "Unexpected 'i'");
        assert_error("nan", -EINVAL, "Unexpected 'n'");
        assert_error("1.2.3", -EINVAL, "Malformed number");
        assert_error("1e", -EINVAL, "Malformed number");
        assert_error("3 * * 4", -EINVAL, "Unexpected '*'");
        assert_error(NULL, -EINVAL, "No expression");
}
END_TEST

START_TEST(test_arith_limits) {
        char deep[2 * ARITH_MAX_DEPTH + 8], minus[ARITH_MAX_DEPTH + 8], longer[ARITH_MAX_LENGTH + 8];
        size_t n = 0;

        for (int i = 0; i < ARITH_MAX_DEPTH + 1; i++)
                deep[n++] = '(';
        deep[n++] = '1';
        for (int i = 0; i < ARITH_MAX_DEPTH + 1; i++)
                deep[n++] = ')';
        deep[n] = 0;
        assert_error(deep, -E2BIG, "nested");

        memset(minus, '-', ARITH_MAX_DEPTH + 1);
        strcpy(minus + ARITH_MAX_DEPTH + 1, "1");
        assert_error(minus, -E2BIG, "nested");

        memset(longer, ' ', ARITH_MAX_LENGTH + 1);
        strcpy(longer + ARITH_MAX_LENGTH + 1, "1");
        assert_error(longer, -E2BIG, "longer");
}
END_TEST

int main(void) {
        Suite *s = suite_create("arith");
        TCase *tc = tcase_create("arith");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_arith_values);
        tcase_add_test(tc, test_arith_errors);
        tcase_add_test(tc, test_arith_limits);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
