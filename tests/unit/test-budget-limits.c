/* Budgets, the pure part: what the API accepts, which limit a spend reaches first, and the
 * UTC days and months (month ends, leap years, the turn of the year). */

#include <check.h>
#include <errno.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/budget-limits.h"

#define SEC UINT64_C(1000000)

static usec_t at(const char *timestamp) {
        usec_t t;

        ck_assert_int_eq(timestamp_parse(timestamp, &t), 0);
        return t;
}

static void assert_period(const char *now, bool monthly, const char *label, const char *first, const char *next,
                          const char *resets) {
        char buf[TIMESTAMP_BUFSZ];
        BudgetPeriod p;

        ck_assert_int_eq(budget_period(at(now), monthly, &p), 0);
        ck_assert_str_eq(p.label, label);
        ck_assert_str_eq(p.first_day, first);
        ck_assert_str_eq(p.next_day, next);
        ck_assert_str_eq(timestamp_format(buf, p.resets_at), resets);
}

START_TEST(test_periods) {
        char day[BUDGET_DAY_BUFSZ];

        assert_period("2026-11-26T00:54:34.123456Z", false, "2026-11-26", "2026-11-26", "2026-11-27",
                      "2026-11-27T00:00:00.000000Z");
        assert_period("2026-11-26T00:54:34.123456Z", true, "2026-11", "2026-11-01", "2026-12-01",
                      "2026-12-01T00:00:00.000000Z");
        /* The last microsecond of a day and of a year still belongs to it. */
        assert_period("2026-11-30T23:59:59.999999Z", false, "2026-11-30", "2026-11-30", "2026-12-01",
                      "2026-12-01T00:00:00.000000Z");
        assert_period("2026-12-31T23:59:59.999999Z", false, "2026-12-31", "2026-12-31", "2027-01-01",
                      "2027-01-01T00:00:00.000000Z");
        assert_period("2026-12-31T23:59:59.999999Z", true, "2026-12", "2026-12-01", "2027-01-01",
                      "2027-01-01T00:00:00.000000Z");
        assert_period("2027-01-01T00:00:00Z", true, "2027-01", "2027-01-01", "2027-02-01",
                      "2027-02-01T00:00:00.000000Z");
        /* February, in a leap year and in another. */
        assert_period("2028-02-28T12:00:00Z", false, "2028-02-28", "2028-02-28", "2028-02-29",
                      "2028-02-29T00:00:00.000000Z");
        assert_period("2028-02-29T12:00:00Z", false, "2028-02-29", "2028-02-29", "2028-03-01",
                      "2028-03-01T00:00:00.000000Z");
        assert_period("2028-02-10T00:00:00Z", true, "2028-02", "2028-02-01", "2028-03-01",
                      "2028-03-01T00:00:00.000000Z");
        assert_period("2027-02-28T23:00:00Z", false, "2027-02-28", "2027-02-28", "2027-03-01",
                      "2027-03-01T00:00:00.000000Z");
        /* Local time zones play no part. */
        assert_period("2026-11-26T23:30:00+02:00", false, "2026-11-26", "2026-11-26", "2026-11-27",
                      "2026-11-27T00:00:00.000000Z");
        assert_period("2026-11-27T00:30:00-05:00", false, "2026-11-27", "2026-11-27", "2026-11-28",
                      "2026-11-28T00:00:00.000000Z");

        ck_assert_str_eq(budget_day(at("2026-11-26T23:59:59.999999Z"), day), "2026-11-26");
        ck_assert_str_eq(budget_day(at("2026-11-27T00:00:00Z"), day), "2026-11-27");
        /* Days sort as text in time order, so a month is the days in [first, next). */
        ck_assert_int_lt(strcmp("2026-11-30", "2026-12-01"), 0);
        ck_assert_int_lt(strcmp("2026-09-30", "2026-10-01"), 0);
}
END_TEST

static json_t *errors_of(const char *budget_text) {
        _cleanup_json_ json_t *budget = json_loads(budget_text, JSON_DECODE_ANY, NULL);
        _cleanup_json_ json_t *loc = json_pack("[s, s]", "body", "budget");
        json_t *errors = json_array();

        ck_assert_ptr_nonnull(budget);
        budget_check_json(budget, loc, errors);
        return errors;
}

static void assert_accepted(const char *budget_text) {
        _cleanup_json_ json_t *errors = errors_of(budget_text);

        ck_assert_msg(json_array_size(errors) == 0, "%s refused", budget_text);
}

static void assert_refused(const char *budget_text, const char *key, const char *type) {
        _cleanup_json_ json_t *errors = errors_of(budget_text);
        _cleanup_free_ char *dump = json_dumps(errors, 0);
        json_t *e = json_array_get(errors, 0), *loc = json_object_get(e, "loc");

        ck_assert_msg(json_array_size(errors) == 1, "%s: %s", budget_text, dump);
        ck_assert_str_eq(json_string_value(json_array_get(loc, 0)), "body");
        ck_assert_str_eq(json_string_value(json_array_get(loc, 1)), "budget");
        if (key)
                ck_assert_str_eq(json_string_value(json_array_get(loc, 2)), key);
        else
                ck_assert_uint_eq(json_array_size(loc), 2);
        ck_assert_str_eq(json_string_value(json_object_get(e, "type")), type);
        ck_assert(!isempty(json_string_value(json_object_get(e, "msg"))));
}

START_TEST(test_checks) {
        _cleanup_json_ json_t *in = NULL, *out = NULL, *expected = NULL;
        BudgetLimits l;

        assert_accepted("null");
        assert_accepted("{}");
        assert_accepted("{\"tokens_per_day\": 1000, \"usd_per_day\": 0.5, \"tokens_per_month\": 0, "
                        "\"usd_per_month\": 20}");
        assert_accepted("{\"usd_per_day\": 3, \"tokens_per_day\": null}");
        assert_accepted("{\"tokens_per_month\": 1000000000000000, \"usd_per_month\": 1000000000}");

        assert_refused("[]", NULL, "dict_type");
        assert_refused("\"lots\"", NULL, "dict_type");
        assert_refused("{\"tokens_per_week\": 5}", "tokens_per_week", "extra_forbidden");
        assert_refused("{\"tokens_per_day\": -1}", "tokens_per_day", "value_error");
        assert_refused("{\"tokens_per_day\": 1.5}", "tokens_per_day", "int_type");
        assert_refused("{\"tokens_per_day\": \"100\"}", "tokens_per_day", "int_type");
        assert_refused("{\"tokens_per_day\": true}", "tokens_per_day", "int_type");
        assert_refused("{\"tokens_per_month\": 1000000000000001}", "tokens_per_month", "value_error");
        assert_refused("{\"usd_per_day\": -0.01}", "usd_per_day", "value_error");
        assert_refused("{\"usd_per_month\": 1e10}", "usd_per_month", "value_error");
        assert_refused("{\"usd_per_month\": \"5\"}", "usd_per_month", "float_type");
        assert_refused("{\"usd_per_month\": {}}", "usd_per_month", "float_type");

        /* What is stored leaves the nulls out; what is read skips what the API refuses. */
        in = json_loads("{\"tokens_per_day\": 10, \"usd_per_day\": null, \"usd_per_month\": 2.5}", 0, NULL);
        out = budget_normalize(in);
        expected = json_pack("{s:i, s:f}", "tokens_per_day", 10, "usd_per_month", 2.5);
        ck_assert(json_equal(out, expected));
        json_decref(out);
        out = budget_normalize(json_null());
        ck_assert_uint_eq(json_object_size(out), 0);

        budget_limits_from_json(in, &l);
        ck_assert(l.set[BUDGET_TOKENS_PER_DAY] && l.allowed[BUDGET_TOKENS_PER_DAY] == 10);
        ck_assert(!l.set[BUDGET_USD_PER_DAY] && !l.set[BUDGET_TOKENS_PER_MONTH]);
        ck_assert(l.set[BUDGET_USD_PER_MONTH] && l.allowed[BUDGET_USD_PER_MONTH] == 2.5);
        ck_assert(budget_limits_any(&l));
        ck_assert(budget_limits_any_in(&l, false) && budget_limits_any_in(&l, true));
        json_decref(in);
        in = json_loads("{\"tokens_per_day\": -4, \"usd_per_day\": \"1\"}", 0, NULL);
        budget_limits_from_json(in, &l);
        ck_assert(!budget_limits_any(&l));
        budget_limits_from_json(NULL, &l);
        ck_assert(!budget_limits_any(&l));

        ck_assert_str_eq(budget_limit_to_string(BUDGET_USD_PER_MONTH), "usd_per_month");
        ck_assert_int_eq(budget_limit_from_string("tokens_per_month"), BUDGET_TOKENS_PER_MONTH);
        ck_assert_int_eq(budget_limit_from_string("tokens"), -EINVAL);
        ck_assert_ptr_null(budget_limit_to_string(_BUDGET_LIMIT_MAX));
}
END_TEST

START_TEST(test_reached) {
        BudgetLimits l = {};
        BudgetSpent day = { .tokens = 99, .usd = 0.5 }, month = { .tokens = 5000, .usd = 12.0 };
        BudgetLimitKind k;

        ck_assert_int_eq(budget_limits_reached(&l, &day, &month, &k), -ENOENT);

        l.set[BUDGET_TOKENS_PER_DAY] = true;
        l.allowed[BUDGET_TOKENS_PER_DAY] = 100;
        ck_assert_int_eq(budget_limits_reached(&l, &day, &month, &k), -ENOENT);
        /* Reaching the limit is enough: the next call would go beyond it. */
        day.tokens = 100;
        ck_assert_int_eq(budget_limits_reached(&l, &day, &month, &k), 0);
        ck_assert_int_eq(k, BUDGET_TOKENS_PER_DAY);

        /* The day's limits come first, tokens before dollars. */
        l.set[BUDGET_USD_PER_MONTH] = true;
        l.allowed[BUDGET_USD_PER_MONTH] = 10;
        ck_assert_int_eq(budget_limits_reached(&l, &day, &month, &k), 0);
        ck_assert_int_eq(k, BUDGET_TOKENS_PER_DAY);
        day.tokens = 1;
        ck_assert_int_eq(budget_limits_reached(&l, &day, &month, &k), 0);
        ck_assert_int_eq(k, BUDGET_USD_PER_MONTH);
        month.usd = 9.999;
        ck_assert_int_eq(budget_limits_reached(&l, &day, &month, &k), -ENOENT);
        /* A period not counted is not checked. */
        month.usd = 100;
        ck_assert_int_eq(budget_limits_reached(&l, &day, NULL, &k), -ENOENT);

        /* A limit of 0 allows nothing at all. */
        l = (BudgetLimits) {};
        l.set[BUDGET_USD_PER_DAY] = true;
        day = (BudgetSpent) {};
        ck_assert_int_eq(budget_limits_reached(&l, &day, NULL, &k), 0);
        ck_assert_int_eq(k, BUDGET_USD_PER_DAY);
        ck_assert(budget_limit_is_usd(k) && !budget_limit_is_monthly(k));
}
END_TEST

int main(void) {
        Suite *s = suite_create("budget-limits");
        TCase *tc = tcase_create("budget-limits");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_periods);
        tcase_add_test(tc, test_checks);
        tcase_add_test(tc, test_reached);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
