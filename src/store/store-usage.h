/* Spend in the database: the usage ledger (one row per UTC day, workflow, user and model,
 * added to after every model call) and the budgets it is held to. The ledger outlives the
 * executions, so pruning runs does not give a budget back. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

/* One model call. */
typedef struct UsageCall {
        const char *day;                /* "2026-11-26", the UTC day it counts in */
        int64_t workflow_id;
        int64_t user_id;                /* who started the run; 0: the workflow's owner */
        const char *model;
        uint64_t input_tokens, output_tokens;
        double cost_usd;
        bool cost_known;                /* false: the model had no price (cost_usd 0) */
} UsageCall;

/* Adds the call to its row of the ledger (one statement: no transaction needed). */
int store_usage_add(Db *db, const UsageCall *c);

typedef enum UsageScope {
        USAGE_WORKFLOW,
        USAGE_USER,
} UsageScope;

typedef struct UsageTotals {
        int64_t input_tokens, output_tokens, total_tokens, llm_calls, unpriced_calls;
        double cost_usd;
} UsageTotals;

/* What the workflow's (or user's) calls used on the days in [first_day, next_day). */
int store_usage_sum(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                    UsageTotals *ret);
/* The same per day, newest first: [{day, input_tokens, output_tokens, total_tokens,
 * llm_calls, unpriced_calls, cost_usd}]; days without calls are left out. */
int store_usage_by_day(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                       json_t **ret);
/* The same per model, the most expensive first: [{model, …}]. */
int store_usage_by_model(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                         json_t **ret);
/* {input_tokens, output_tokens, total_tokens, llm_calls, unpriced_calls, cost_usd}. */
json_t *usage_totals_to_json(const UsageTotals *t);

/* Whose budgets a model call of a run is held to. */
typedef struct BudgetHolders {
        char *workflow_slug;
        json_t *workflow_budget;        /* the workflow's settings.budget, or NULL */
        int64_t user_id;                /* the run's user, else the workflow's owner; 0: none */
        char *username;                 /* NULL when none */
        json_t *user_budget;            /* the user's budget, or NULL */
} BudgetHolders;

void budget_holders_done(BudgetHolders *h);
/* user_id 0: the workflow's owner. -ENOENT when the workflow is gone. */
int store_budget_holders(Db *db, int64_t workflow_id, int64_t user_id, BudgetHolders *ret);

