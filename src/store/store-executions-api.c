/* Executions as the API answers them (docs/api.md "Executions"): lists, details with logs,
 * status, batch delete. An execution is visible to the owner of its workflow and to admins. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "store/store-executions.h"
#include "store/store-flow.h"

#define EXECUTION_COLUMNS                                                                       \
        "e.execution_id, w.slug, e.status, e.error_message, e.error_code, e.started_at, "      \
        "e.completed_at, e.created_at, e.total_tokens, e.total_cost_usd, e.llm_calls, "         \
        "e.trigger_node_id"

enum {
        EX_ID,
        EX_SLUG,
        EX_STATUS,
        EX_ERROR_MESSAGE,
        EX_ERROR_CODE,
        EX_STARTED_AT,
        EX_COMPLETED_AT,
        EX_CREATED_AT,
        EX_TOTAL_TOKENS,
        EX_TOTAL_COST,
        EX_LLM_CALLS,
        EX_TRIGGER_NODE_ID,
        _EX_COLUMNS,
};

static json_t *execution_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *e = json_object();

        if (!e ||
            json_object_set_new_nocheck(e, "execution_id", store_column_string(r, row, EX_ID)) < 0 ||
            json_object_set_new_nocheck(e, "workflow_slug", store_column_string(r, row, EX_SLUG)) < 0 ||
            json_object_set_new_nocheck(e, "status", store_column_string(r, row, EX_STATUS)) < 0 ||
            json_object_set_new_nocheck(e, "error_message", store_column_string(r, row, EX_ERROR_MESSAGE)) < 0 ||
            json_object_set_new_nocheck(e, "error_code", store_column_string(r, row, EX_ERROR_CODE)) < 0 ||
            json_object_set_new_nocheck(e, "trigger_node_id", store_column_string(r, row, EX_TRIGGER_NODE_ID)) < 0 ||
            json_object_set_new_nocheck(e, "created_at", store_column_string(r, row, EX_CREATED_AT)) < 0 ||
            json_object_set_new_nocheck(e, "started_at", store_column_string(r, row, EX_STARTED_AT)) < 0 ||
            json_object_set_new_nocheck(e, "completed_at", store_column_string(r, row, EX_COMPLETED_AT)) < 0 ||
            json_object_set_new_nocheck(e, "total_tokens", store_column_integer(r, row, EX_TOTAL_TOKENS)) < 0 ||
            json_object_set_new_nocheck(e, "total_cost_usd", store_column_real(r, row, EX_TOTAL_COST)) < 0 ||
            json_object_set_new_nocheck(e, "llm_calls", store_column_integer(r, row, EX_LLM_CALLS)) < 0)
                return NULL;
        return TAKE_PTR(e);
}

/* The WHERE clause and its parameters (at most 3) for the caller and the filter. */
typedef struct Where {
        char sql[256];
        const char *params[3];
        size_t n_params;
        char owner[DB_INT_BUFSZ];
} Where;

static void where_add(Where *w, const char *condition, const char *param) {
        size_t len = strlen(w->sql);

        snprintf(w->sql + len, sizeof w->sql - len, "%s%s", len > 0 ? " AND " : " WHERE ", condition);
        w->params[w->n_params++] = param;
}

static void where_build(Where *w, const StoreCaller *caller, const ExecutionFilter *f) {
        *w = (Where) {};
        if (!caller->is_admin)
                where_add(w, "w.owner_id = ?", db_int(w->owner, caller->user_id));
        if (f && f->workflow_slug)
                where_add(w, "w.slug = ?", f->workflow_slug);
        if (f && f->status)
                where_add(w, "e.status = ?", f->status);
}

int store_execution_list(Db *db, const StoreCaller *caller, const ExecutionFilter *f, json_t **ret_items,
                         int64_t *ret_total) {
        _cleanup_(db_result_freep) DbResult *count = NULL, *res = NULL;
        _cleanup_json_ json_t *items = NULL;
        _cleanup_free_ char *count_sql = NULL, *list_sql = NULL;
        char limit[DB_INT_BUFSZ], offset[DB_INT_BUFSZ];
        const char *params[5];
        Where w;
        int r;

        where_build(&w, caller, f);
        if (asprintf(&count_sql, "SELECT COUNT(*) FROM executions e JOIN workflows w ON w.id = e.workflow_id%s",
                     w.sql) < 0 ||
            asprintf(&list_sql, "SELECT " EXECUTION_COLUMNS " FROM executions e JOIN workflows w ON "
                     "w.id = e.workflow_id%s ORDER BY e.created_at DESC, e.execution_id DESC LIMIT ? OFFSET ?",
                     w.sql) < 0)
                return -ENOMEM;

        r = db_query(db, &count, count_sql, w.n_params, w.params);
        if (r < 0)
                return r;

        memcpy(params, w.params, w.n_params * sizeof(char *));
        params[w.n_params] = db_int(limit, f->limit);
        params[w.n_params + 1] = db_int(offset, f->offset);
        r = db_query(db, &res, list_sql, w.n_params + 2, params);
        if (r < 0)
                return r;

        items = json_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(items, execution_from_row(res, i)) < 0)
                        return -ENOMEM;

        *ret_total = db_result_get_int64(count, 0, 0);
        *ret_items = TAKE_PTR(items);
        return 0;
}

/* Reads one visible execution with extra columns after the usual ones. */
static int execution_query(Db *db, const StoreCaller *caller, const char *id, const char *extra_columns,
                           DbResult **ret) {
        _cleanup_free_ char *sql = NULL;
        char owner[DB_INT_BUFSZ];
        int r;

        if (asprintf(&sql, "SELECT " EXECUTION_COLUMNS "%s FROM executions e JOIN workflows w ON "
                     "w.id = e.workflow_id WHERE e.execution_id = ?%s",
                     extra_columns, caller->is_admin ? "" : " AND w.owner_id = ?") < 0)
                return -ENOMEM;
        if (caller->is_admin)
                r = db_queryv(db, ret, sql, id);
        else
                r = db_queryv(db, ret, sql, id, db_int(owner, caller->user_id));
        if (r < 0)
                return r;
        if (db_result_rows(*ret) == 0)
                return -ENOENT;
        return 0;
}

static json_t *log_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *l = json_object();

        if (!l ||
            json_object_set_new_nocheck(l, "id", store_column_integer(r, row, 0)) < 0 ||
            json_object_set_new_nocheck(l, "node_id", store_column_string(r, row, 1)) < 0 ||
            json_object_set_new_nocheck(l, "status", store_column_string(r, row, 2)) < 0 ||
            json_object_set_new_nocheck(l, "input", store_column_json(r, row, 3, NULL)) < 0 ||
            json_object_set_new_nocheck(l, "output", store_column_json(r, row, 4, NULL)) < 0 ||
            json_object_set_new_nocheck(l, "error", store_column_string(r, row, 5)) < 0 ||
            json_object_set_new_nocheck(l, "error_code", store_column_string(r, row, 6)) < 0 ||
            json_object_set_new_nocheck(l, "metadata", store_column_json(r, row, 7, NULL)) < 0 ||
            json_object_set_new_nocheck(l, "retry_count", store_column_integer(r, row, 8)) < 0 ||
            json_object_set_new_nocheck(l, "duration_ms", store_column_integer(r, row, 9)) < 0 ||
            json_object_set_new_nocheck(l, "timestamp", store_column_string(r, row, 10)) < 0)
                return NULL;
        return TAKE_PTR(l);
}

static int execution_logs(Db *db, const char *id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *logs = json_array();
        int r;

        if (!logs)
                return -ENOMEM;
        r = db_queryv(db, &res,
                      "SELECT id, node_id, status, input, output, error, error_code, metadata, retry_count, "
                      "duration_ms, timestamp FROM execution_logs WHERE execution_id = ? ORDER BY id",
                      id);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(logs, log_from_row(res, i)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(logs);
        return 0;
}

/* Where each node of the run stands: [{node_id, iteration, status, attempt, error}]. */
static int execution_node_runs(Db *db, const char *id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *runs = json_array();
        int r;

        if (!runs)
                return -ENOMEM;
        r = db_queryv(db, &res,
                      "SELECT node_id, iteration, status, attempt, error, error_code FROM execution_nodes "
                      "WHERE execution_id = ? ORDER BY id",
                      id);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++) {
                json_t *n = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
                                      "node_id", store_column_string(res, i, 0),
                                      "iteration", store_column_string(res, i, 1),
                                      "status", store_column_string(res, i, 2),
                                      "attempt", store_column_integer(res, i, 3),
                                      "error", store_column_string(res, i, 4),
                                      "error_code", store_column_string(res, i, 5));
                if (json_array_append_new(runs, n) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(runs);
        return 0;
}

int store_execution_get(Db *db, const StoreCaller *caller, const char *id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *e = NULL;
        json_t *logs = NULL, *runs = NULL, *confirmations = NULL, *children = NULL;
        int r;

        r = execution_query(db, caller, id, ", e.final_output, e.trigger_payload, e.parent_execution_id, "
                            "e.parent_node_id, e.depth, e.error_of_execution_id", &res);
        if (r < 0)
                return r;
        e = execution_from_row(res, 0);
        if (!e ||
            json_object_set_new_nocheck(e, "final_output", store_column_json(res, 0, _EX_COLUMNS, NULL)) < 0 ||
            json_object_set_new_nocheck(e, "trigger_payload", store_column_json(res, 0, _EX_COLUMNS + 1, NULL)) < 0 ||
            json_object_set_new_nocheck(e, "parent_execution_id", store_column_string(res, 0, _EX_COLUMNS + 2)) < 0 ||
            json_object_set_new_nocheck(e, "parent_node_id", store_column_string(res, 0, _EX_COLUMNS + 3)) < 0 ||
            json_object_set_new_nocheck(e, "depth", store_column_integer(res, 0, _EX_COLUMNS + 4)) < 0 ||
            json_object_set_new_nocheck(e, "error_of_execution_id", store_column_string(res, 0, _EX_COLUMNS + 5)) < 0)
                return -ENOMEM;

        r = execution_logs(db, id, &logs);
        if (r < 0)
                return r;
        if (json_object_set_new_nocheck(e, "logs", logs) < 0)
                return -ENOMEM;
        r = execution_node_runs(db, id, &runs);
        if (r < 0)
                return r;
        if (json_object_set_new_nocheck(e, "node_runs", runs) < 0)
                return -ENOMEM;
        r = store_confirmations_json(db, id, &confirmations);
        if (r < 0)
                return r;
        if (json_object_set_new_nocheck(e, "pending_confirmations", confirmations) < 0)
                return -ENOMEM;
        r = store_execution_children_json(db, id, &children);
        if (r < 0)
                return r;
        if (json_object_set_new_nocheck(e, "children", children) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(e);
        return 0;
}

int store_execution_status(Db *db, const StoreCaller *caller, const char *id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        json_t *s;
        int r;

        r = execution_query(db, caller, id, ", e.final_output", &res);
        if (r < 0)
                return r;
        s = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                      "execution_id", store_column_string(res, 0, EX_ID),
                      "workflow", store_column_string(res, 0, EX_SLUG),
                      "status", store_column_string(res, 0, EX_STATUS),
                      "started_at", store_column_string(res, 0, EX_STARTED_AT),
                      "completed_at", store_column_string(res, 0, EX_COMPLETED_AT),
                      "final_output", store_column_json(res, 0, _EX_COLUMNS, NULL),
                      "error_message", store_column_string(res, 0, EX_ERROR_MESSAGE),
                      "error_code", store_column_string(res, 0, EX_ERROR_CODE));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int store_execution_workflow_slug(Db *db, const StoreCaller *caller, const char *id, char **ret_slug) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = execution_query(db, caller, id, "", &res);
        if (r < 0)
                return r;
        *ret_slug = strdup(db_result_get(res, 0, EX_SLUG));
        return *ret_slug ? 0 : -ENOMEM;
}

int store_execution_delete_many(Db *db, const StoreCaller *caller, json_t *ids, int64_t *ret_deleted) {
        char owner[DB_INT_BUFSZ];
        int64_t deleted = 0;
        json_t *id;
        size_t i;
        int r;

        db_int(owner, caller->user_id);
        r = db_begin(db);
        if (r < 0)
                return r;
        json_array_foreach(ids, i, id) {
                _cleanup_(db_result_freep) DbResult *res = NULL;

                if (!json_is_string(id))
                        continue;
                /* Node runs and logs go with it (ON DELETE CASCADE). */
                if (caller->is_admin)
                        r = db_queryv(db, &res, "DELETE FROM executions WHERE execution_id = ? RETURNING execution_id",
                                      json_string_value(id));
                else
                        r = db_queryv(db, &res,
                                      "DELETE FROM executions WHERE execution_id = ? AND workflow_id IN "
                                      "(SELECT id FROM workflows WHERE owner_id = ?) RETURNING execution_id",
                                      json_string_value(id), owner);
                if (r < 0) {
                        (void) db_rollback(db);
                        return r;
                }
                deleted += (int64_t) db_result_rows(res);
        }
        r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        *ret_deleted = deleted;
        return 0;
}
