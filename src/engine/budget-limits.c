/* Spend limits: reading and checking budgets, and the UTC days and months they count in. */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "engine/budget-limits.h"

static const char *const limit_names[_BUDGET_LIMIT_MAX] = {
        [BUDGET_TOKENS_PER_DAY] = "tokens_per_day",
        [BUDGET_USD_PER_DAY] = "usd_per_day",
        [BUDGET_TOKENS_PER_MONTH] = "tokens_per_month",
        [BUDGET_USD_PER_MONTH] = "usd_per_month",
};

const char *budget_limit_to_string(BudgetLimitKind k) {
        return k >= 0 && k < _BUDGET_LIMIT_MAX ? limit_names[k] : NULL;
}

BudgetLimitKind budget_limit_from_string(const char *s) {
        for (BudgetLimitKind k = 0; k < _BUDGET_LIMIT_MAX; k++)
                if (streq_ptr(s, limit_names[k]))
                        return k;
        return _BUDGET_LIMIT_INVALID;
}

bool budget_limit_is_monthly(BudgetLimitKind k) {
        return k == BUDGET_TOKENS_PER_MONTH || k == BUDGET_USD_PER_MONTH;
}

bool budget_limit_is_usd(BudgetLimitKind k) {
        return k == BUDGET_USD_PER_DAY || k == BUDGET_USD_PER_MONTH;
}

/* A limit's value, or false when v is not one the API accepts. */
static bool limit_value(BudgetLimitKind k, json_t *v, double *ret) {
        if (budget_limit_is_usd(k)) {
                if (!json_is_number(v))
                        return false;
                *ret = json_number_value(v);
                return *ret >= 0 && *ret <= BUDGET_USD_MAX;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > BUDGET_TOKENS_MAX)
                return false;
        *ret = (double) json_integer_value(v);
        return true;
}

void budget_limits_from_json(json_t *budget, BudgetLimits *ret) {
        *ret = (BudgetLimits) {};
        if (!json_is_object(budget))
                return;
        for (BudgetLimitKind k = 0; k < _BUDGET_LIMIT_MAX; k++)
                ret->set[k] = limit_value(k, json_object_get(budget, limit_names[k]), &ret->allowed[k]);
}

bool budget_limits_any(const BudgetLimits *l) {
        for (BudgetLimitKind k = 0; k < _BUDGET_LIMIT_MAX; k++)
                if (l->set[k])
                        return true;
        return false;
}

bool budget_limits_any_in(const BudgetLimits *l, bool monthly) {
        for (BudgetLimitKind k = 0; k < _BUDGET_LIMIT_MAX; k++)
                if (l->set[k] && budget_limit_is_monthly(k) == monthly)
                        return true;
        return false;
}

void budget_check_json(json_t *budget, json_t *loc, json_t *errors) {
        const char *key;
        char msg[128];
        json_t *v;

        if (!budget || json_is_null(budget))
                return;
        if (!json_is_object(budget)) {
                json_error_append_at(errors, loc, NULL, "dict_type", "Input should be an object or null");
                return;
        }
        json_object_foreach(budget, key, v) {
                BudgetLimitKind k = budget_limit_from_string(key);
                double d;

                if (k < 0) {
                        json_error_append_at(errors, loc, key, "extra_forbidden", "Unknown budget limit (known: "
                                     "tokens_per_day, usd_per_day, tokens_per_month, usd_per_month)");
                        continue;
                }
                if (json_is_null(v) || limit_value(k, v, &d))
                        continue;
                if (budget_limit_is_usd(k)) {
                        if (!json_is_number(v))
                                json_error_append_at(errors, loc, key, "float_type", "Input should be a number of USD or null");
                        else {
                                snprintf(msg, sizeof msg, "Input should be a number of USD from 0 to %.0f",
                                         BUDGET_USD_MAX);
                                json_error_append_at(errors, loc, key, "value_error", msg);
                        }
                } else if (!json_is_integer(v))
                        json_error_append_at(errors, loc, key, "int_type", "Input should be a whole number of tokens or null");
                else {
                        snprintf(msg, sizeof msg, "Input should be a number of tokens from 0 to %" PRIi64,
                                 BUDGET_TOKENS_MAX);
                        json_error_append_at(errors, loc, key, "value_error", msg);
                }
        }
}

json_t *budget_normalize(json_t *budget) {
        json_t *out = json_object(), *v;
        const char *key;

        if (!out || !json_is_object(budget))
                return out;
        json_object_foreach(budget, key, v)
                if (!json_is_null(v) && json_object_set(out, key, v) < 0)
                        return json_decref(out), NULL;
        return out;
}

int budget_limits_reached(const BudgetLimits *l, const BudgetSpent *day, const BudgetSpent *month,
                          BudgetLimitKind *ret_kind) {
        for (BudgetLimitKind k = 0; k < _BUDGET_LIMIT_MAX; k++) {
                const BudgetSpent *s = budget_limit_is_monthly(k) ? month : day;
                double spent;

                if (!l->set[k] || !s)
                        continue;
                spent = budget_limit_is_usd(k) ? s->usd : (double) s->tokens;
                if (spent >= l->allowed[k]) {
                        *ret_kind = k;
                        return 0;
                }
        }
        return -ENOENT;
}

static void format_day(char buf[static BUDGET_DAY_BUFSZ], const struct tm *tm) {
        /* The remainders only tell the compiler the widths; real dates never need them. */
        snprintf(buf, BUDGET_DAY_BUFSZ, "%04u-%02u-%02u", (unsigned) (tm->tm_year + 1900) % 10000u,
                 (unsigned) (tm->tm_mon + 1) % 100u, (unsigned) tm->tm_mday % 100u);
}

const char *budget_day(usec_t now, char buf[static BUDGET_DAY_BUFSZ]) {
        time_t t = (time_t) (now / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                tm = (struct tm) { .tm_year = 70, .tm_mday = 1 };
        format_day(buf, &tm);
        return buf;
}

int budget_period(usec_t now, bool monthly, BudgetPeriod *ret) {
        time_t t = (time_t) (now / 1000000), next;
        struct tm tm, start, after;

        if (!gmtime_r(&t, &tm))
                return -ERANGE;
        start = (struct tm) { .tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = monthly ? 1 : tm.tm_mday };
        after = start;
        if (monthly)
                after.tm_mon++;
        else
                after.tm_mday++;
        /* timegm() carries day 32 or month 12 into the next month or year. */
        next = timegm(&after);
        if (next == (time_t) -1 || !gmtime_r(&next, &after))
                return -ERANGE;

        *ret = (BudgetPeriod) { .resets_at = (usec_t) next * 1000000 };
        format_day(ret->first_day, &start);
        format_day(ret->next_day, &after);
        if (monthly)
                snprintf(ret->label, sizeof ret->label, "%.7s", ret->first_day);
        else
                memcpy(ret->label, ret->first_day, sizeof ret->label);
        return 0;
}
