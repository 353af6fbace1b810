/* Spend limits, the pure part: a budget is {tokens_per_day, usd_per_day, tokens_per_month,
 * usd_per_month}, each a number or absent (no limit), set on a workflow (settings.budget)
 * and on a user (by an admin). Days and months are UTC calendar periods. budget.c applies
 * them to model calls. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"

/* In the order they are checked: the day's limits before the month's, tokens before USD. */
typedef enum BudgetLimitKind {
        BUDGET_TOKENS_PER_DAY,
        BUDGET_USD_PER_DAY,
        BUDGET_TOKENS_PER_MONTH,
        BUDGET_USD_PER_MONTH,
        _BUDGET_LIMIT_MAX,
        _BUDGET_LIMIT_INVALID = -EINVAL,
} BudgetLimitKind;

/* The largest limits accepted: beyond them a number is a mistake, not a budget. */
#define BUDGET_TOKENS_MAX INT64_C(1000000000000000)
#define BUDGET_USD_MAX 1000000000.0

const char *budget_limit_to_string(BudgetLimitKind k);   /* "tokens_per_day", … */
BudgetLimitKind budget_limit_from_string(const char *s);
bool budget_limit_is_monthly(BudgetLimitKind k);
bool budget_limit_is_usd(BudgetLimitKind k);

typedef struct BudgetLimits {
        bool set[_BUDGET_LIMIT_MAX];
        double allowed[_BUDGET_LIMIT_MAX];
} BudgetLimits;

/* The limits of a stored budget object (NULL or anything else: none). What the API would
 * refuse is skipped. */
void budget_limits_from_json(json_t *budget, BudgetLimits *ret);
bool budget_limits_any(const BudgetLimits *l);
/* Whether some limit of the day's (monthly false) or the month's is set. */
bool budget_limits_any_in(const BudgetLimits *l, bool monthly);

/* Checks a budget given to the API: null (none), or an object of the four keys, each null,
 * a whole number of tokens from 0 to BUDGET_TOKENS_MAX or a number of USD from 0 to
 * BUDGET_USD_MAX. Appends {"loc": loc + [key], "msg", "type"} to errors per problem; loc
 * is borrowed (e.g. ["body", "settings", "budget"]). */
void budget_check_json(json_t *budget, json_t *loc, json_t *errors);
/* What is stored for a checked budget: its keys that are not null ({} for null). */
json_t *budget_normalize(json_t *budget);

typedef struct BudgetSpent {
        int64_t tokens;
        double usd;
} BudgetSpent;

/* The first limit (in the enum's order) that spent has reached: spent >= allowed, so a
 * limit of 0 allows nothing. 0 with *ret_kind, -ENOENT when none is reached. */
int budget_limits_reached(const BudgetLimits *l, const BudgetSpent *day, const BudgetSpent *month,
                          BudgetLimitKind *ret_kind);

/* "2026-11-26": 10 characters and the NUL. */
#define BUDGET_DAY_BUFSZ 11

/* A UTC calendar day or month. Its usage is that of the days in [first_day, next_day). */
typedef struct BudgetPeriod {
        char label[BUDGET_DAY_BUFSZ];           /* "2026-11-26", or "2026-11" for a month */
        char first_day[BUDGET_DAY_BUFSZ];
        char next_day[BUDGET_DAY_BUFSZ];        /* the first day after it */
        usec_t resets_at;                       /* CLOCK_REALTIME µs at the start of next_day */
} BudgetPeriod;

/* The day (monthly false) or month that now (CLOCK_REALTIME µs) falls in. */
int budget_period(usec_t now, bool monthly, BudgetPeriod *ret);
/* The day a model call at now counts in: "2026-11-26". */
const char *budget_day(usec_t now, char buf[static BUDGET_DAY_BUFSZ]);
