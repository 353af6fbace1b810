/* Short views of workflows and executions (store-summaries.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-summaries.h"

char **store_strv_free(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
        return NULL;
}

/* Column col of every row of res, as a NULL-terminated array of strings. */
static int column_strv(const DbResult *res, size_t col, char ***ret) {
        size_t n = db_result_rows(res);
        _cleanup_(store_strv_freep) char **l = NULL;

        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = strdup(db_result_get(res, i, col) ?: "");
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* A timestamp column; 0 when NULL or unreadable. */
static usec_t column_usec(const DbResult *res, size_t row, size_t col) {
        const char *text = db_result_get(res, row, col);
        usec_t t;

        if (!text || timestamp_parse(text, &t) < 0)
                return 0;
        return t;
}

void workflow_summary_done(WorkflowSummary *s) {
        if (!s)
                return;
        free(s->slug);
        free(s->name);
        free(s->description);
        free(s->owner);
        free(s->last_execution);
        *s = (WorkflowSummary) {};
}

int store_workflow_summary(Db *db, const char *slug, WorkflowSummary *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_(workflow_summary_done) WorkflowSummary s = {};
        int r;

        r = db_queryv(db, &res,
                      "SELECT w.slug, w.name, w.description, COALESCE(u.username, ''), w.is_active, w.node_count, "
                      "COALESCE((SELECT e.execution_id FROM executions e WHERE e.workflow_id = w.id "
                      "ORDER BY e.created_at DESC, e.execution_id DESC LIMIT 1), ''), w.updated_at "
                      "FROM workflows w LEFT JOIN users u ON u.id = w.owner_id WHERE w.slug = ?",
                      slug);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        s = (WorkflowSummary) {
                .slug = strdup(db_result_get(res, 0, 0) ?: ""),
                .name = strdup(db_result_get(res, 0, 1) ?: ""),
                .description = strdup(db_result_get(res, 0, 2) ?: ""),
                .owner = strdup(db_result_get(res, 0, 3) ?: ""),
                .active = db_result_get_bool(res, 0, 4),
                .node_count = db_result_get_int64(res, 0, 5),
                .last_execution = strdup(db_result_get(res, 0, 6) ?: ""),
                .updated_at = column_usec(res, 0, 7),
        };
        if (!s.slug || !s.name || !s.description || !s.owner || !s.last_execution)
                return -ENOMEM;
        *ret = s;
        s = (WorkflowSummary) {};
        return 0;
}

int store_workflow_slugs(Db *db, char ***ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res, "SELECT slug FROM workflows ORDER BY slug", 0, NULL);
        if (r < 0)
                return r;
        return column_strv(res, 0, ret);
}

void execution_summary_done(ExecutionSummary *s) {
        if (!s)
                return;
        free(s->workflow_slug);
        store_strv_free(s->current_nodes);
        *s = (ExecutionSummary) {};
}

int store_execution_summary(Db *db, const char *id, ExecutionSummary *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL, *nodes = NULL;
        _cleanup_(execution_summary_done) ExecutionSummary s = {};
        int r;

        if (!execution_id_is_valid(id))
                return -ENOENT;
        r = db_queryv(db, &res,
                      "SELECT w.slug, e.status, e.started_at, e.completed_at, e.total_tokens, e.llm_calls, "
                      "e.total_cost_usd FROM executions e JOIN workflows w ON w.id = e.workflow_id "
                      "WHERE e.execution_id = ?",
                      id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        r = db_queryv(db, &nodes,
                      "SELECT DISTINCT node_id FROM execution_nodes WHERE execution_id = ? "
                      "AND status IN ('running', 'looping', 'paused', 'awaiting') ORDER BY node_id",
                      id);
        if (r < 0)
                return r;

        memcpy(s.id, id, EXECUTION_ID_LEN + 1);
        s.workflow_slug = strdup(db_result_get(res, 0, 0) ?: "");
        if (!s.workflow_slug)
                return -ENOMEM;
        s.status = execution_status_from_string(db_result_get(res, 0, 1));
        if (s.status < 0)
                return -EIO;
        s.started_at = column_usec(res, 0, 2);
        s.completed_at = column_usec(res, 0, 3);
        s.usage = (ExecutionUsage) {
                .tokens = db_result_get_int64(res, 0, 4),
                .llm_calls = db_result_get_int64(res, 0, 5),
                .cost_usd = db_result_get_double(res, 0, 6),
        };
        r = column_strv(nodes, 0, &s.current_nodes);
        if (r < 0)
                return r;
        *ret = s;
        s = (ExecutionSummary) {};
        return 0;
}

int store_executions_live_ids(Db *db, char ***ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res,
                     "SELECT execution_id FROM executions WHERE status IN ('pending', 'running', 'interrupted') "
                     "ORDER BY created_at, execution_id",
                     0, NULL);
        if (r < 0)
                return r;
        return column_strv(res, 0, ret);
}
