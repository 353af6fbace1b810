/* The usage ledger and the budgets it is held to. The SQL runs unchanged on SQLite and
 * PostgreSQL (both have INSERT … ON CONFLICT … DO UPDATE). */

#include <errno.h>
#include <stdio.h>

#include "common/json-util.h"
#include "store/store-usage.h"
#include "store/store-workflows.h"

int store_usage_add(Db *db, const UsageCall *c) {
        char workflow[DB_INT_BUFSZ], user[DB_INT_BUFSZ], input[DB_INT_BUFSZ], output[DB_INT_BUFSZ],
                total[DB_INT_BUFSZ], cost[STORE_REAL_BUFSZ];

        if (!c->day || c->workflow_id <= 0)
                return -EINVAL;
        /* Nobody started the run (a webhook): its workflow's owner pays. */
        return db_queryv(db, NULL,
                         "INSERT INTO usage_ledger (day, workflow_id, user_id, model, input_tokens, output_tokens, "
                         "total_tokens, llm_calls, unpriced_calls, cost_usd) VALUES (?, ?, "
                         "COALESCE(?, (SELECT owner_id FROM workflows WHERE id = ?), 0), ?, ?, ?, ?, 1, ?, ?) "
                         "ON CONFLICT (day, workflow_id, user_id, model) DO UPDATE SET "
                         "input_tokens = usage_ledger.input_tokens + excluded.input_tokens, "
                         "output_tokens = usage_ledger.output_tokens + excluded.output_tokens, "
                         "total_tokens = usage_ledger.total_tokens + excluded.total_tokens, "
                         "llm_calls = usage_ledger.llm_calls + 1, "
                         "unpriced_calls = usage_ledger.unpriced_calls + excluded.unpriced_calls, "
                         "cost_usd = usage_ledger.cost_usd + excluded.cost_usd",
                         c->day, db_int(workflow, c->workflow_id), c->user_id > 0 ? db_int(user, c->user_id) : NULL,
                         workflow, c->model ?: "",
                         db_int(input, (int64_t) MIN(c->input_tokens, (uint64_t) INT64_MAX / 2)),
                         db_int(output, (int64_t) MIN(c->output_tokens, (uint64_t) INT64_MAX / 2)),
                         db_int(total, (int64_t) MIN(c->input_tokens + c->output_tokens, (uint64_t) INT64_MAX / 2)),
                         c->cost_known ? "0" : "1", store_real(cost, c->cost_usd));
}

#define USAGE_COLUMNS                                                                             \
        "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "                       \
        "COALESCE(SUM(total_tokens), 0), COALESCE(SUM(llm_calls), 0), "                           \
        "COALESCE(SUM(unpriced_calls), 0), COALESCE(SUM(cost_usd), 0) "

static const char *scope_column(UsageScope scope) {
        return scope == USAGE_USER ? "user_id" : "workflow_id";
}

/* The six sums from column col of row. */
static UsageTotals totals_from_row(const DbResult *res, size_t row, size_t col) {
        return (UsageTotals) {
                .input_tokens = db_result_get_int64(res, row, col),
                .output_tokens = db_result_get_int64(res, row, col + 1),
                .total_tokens = db_result_get_int64(res, row, col + 2),
                .llm_calls = db_result_get_int64(res, row, col + 3),
                .unpriced_calls = db_result_get_int64(res, row, col + 4),
                .cost_usd = db_result_get_double(res, row, col + 5),
        };
}

json_t *usage_totals_to_json(const UsageTotals *t) {
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}",
                         "input_tokens", (json_int_t) t->input_tokens,
                         "output_tokens", (json_int_t) t->output_tokens,
                         "total_tokens", (json_int_t) t->total_tokens,
                         "llm_calls", (json_int_t) t->llm_calls,
                         "unpriced_calls", (json_int_t) t->unpriced_calls,
                         "cost_usd", t->cost_usd);
}

/* SELECT [group,] sums FROM usage_ledger WHERE <scope> = id AND day in the period
 * [GROUP BY group ORDER BY order]. */
static int usage_query(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                       const char *group, const char *order, DbResult **ret) {
        _cleanup_free_ char *sql = NULL;
        char idbuf[DB_INT_BUFSZ];

        int r;

        if (group)
                r = asprintf(&sql, "SELECT %s, " USAGE_COLUMNS "FROM usage_ledger WHERE %s = ? AND day >= ? AND "
                             "day < ? GROUP BY %s ORDER BY %s", group, scope_column(scope), group, order);
        else
                r = asprintf(&sql, "SELECT " USAGE_COLUMNS "FROM usage_ledger WHERE %s = ? AND day >= ? AND day < ?",
                             scope_column(scope));
        if (r < 0)
                return -ENOMEM;
        return db_queryv(db, ret, sql, db_int(idbuf, id), first_day, next_day);
}

int store_usage_sum(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                    UsageTotals *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = usage_query(db, scope, id, first_day, next_day, NULL, NULL, &res);
        if (r < 0)
                return r;
        *ret = db_result_rows(res) > 0 ? totals_from_row(res, 0, 0) : (UsageTotals) {};
        return 0;
}

static int usage_grouped(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                         const char *group, const char *order, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *items = json_array();
        int r;

        if (!items)
                return -ENOMEM;
        r = usage_query(db, scope, id, first_day, next_day, group, order, &res);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++) {
                UsageTotals t = totals_from_row(res, i, 1);
                json_t *item = usage_totals_to_json(&t);

                if (!item || json_object_set_new(item, group, store_column_string(res, i, 0)) < 0 ||
                    json_array_append_new(items, item) < 0) {
                        json_decref(item);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(items);
        return 0;
}

int store_usage_by_day(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                       json_t **ret) {
        return usage_grouped(db, scope, id, first_day, next_day, "day", "day DESC", ret);
}

int store_usage_by_model(Db *db, UsageScope scope, int64_t id, const char *first_day, const char *next_day,
                         json_t **ret) {
        return usage_grouped(db, scope, id, first_day, next_day, "model",
                             "COALESCE(SUM(cost_usd), 0) DESC, COALESCE(SUM(total_tokens), 0) DESC, model", ret);
}

void budget_holders_done(BudgetHolders *h) {
        if (!h)
                return;
        free(h->workflow_slug);
        json_decref(h->workflow_budget);
        free(h->username);
        json_decref(h->user_budget);
        *h = (BudgetHolders) {};
}

/* The budget object of stored JSON, or NULL when none. */
static json_t *budget_from_text(json_t *parent, const char *key) {
        json_t *b = json_object_get(parent, key);

        return json_is_object(b) && json_object_size(b) > 0 ? json_incref(b) : NULL;
}

int store_budget_holders(Db *db, int64_t workflow_id, int64_t user_id, BudgetHolders *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_(budget_holders_done) BudgetHolders h = {};
        _cleanup_json_ json_t *settings = NULL, *user_budget = NULL;
        char workflow[DB_INT_BUFSZ], user[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT w.slug, w.settings, u.id, u.username, u.budget FROM workflows w "
                      "LEFT JOIN users u ON u.id = COALESCE(?, w.owner_id) WHERE w.id = ?",
                      user_id > 0 ? db_int(user, user_id) : NULL, db_int(workflow, workflow_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        h.workflow_slug = strdup(db_result_get(res, 0, 0) ?: "");
        if (!h.workflow_slug)
                return -ENOMEM;
        settings = json_loads_or_null(db_result_get(res, 0, 1));
        h.workflow_budget = budget_from_text(settings, "budget");
        if (!db_result_is_null(res, 0, 2)) {
                h.user_id = db_result_get_int64(res, 0, 2);
                h.username = strdup(db_result_get(res, 0, 3) ?: "");
                if (!h.username)
                        return -ENOMEM;
                user_budget = json_loads_or_null(db_result_get(res, 0, 4));
                if (json_is_object(user_budget) && json_object_size(user_budget) > 0)
                        h.user_budget = TAKE_PTR(user_budget);
        }
        *ret = h;
        h = (BudgetHolders) {};
        return 0;
}
