/* Pending confirmations, child executions and retention in the database (store-flow.h). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/crypto.h"
#include "common/json-util.h"
#include "store/store-flow.h"
#include "store/store-workflows.h"

#define TERMINAL_STATUSES "('completed', 'failed', 'cancelled')"
#define LIVE_STATUSES "('pending', 'running', 'interrupted')"
/* A child whose parent still runs may not have handed its output over yet. */
#define NOT_AWAITED                                                                             \
        "NOT EXISTS (SELECT 1 FROM executions p WHERE p.execution_id = c.parent_execution_id "  \
        "AND p.status IN " LIVE_STATUSES ")"

static const char *usec_text(char buf[static TIMESTAMP_BUFSZ], usec_t t) {
        return t > 0 ? timestamp_format(buf, t) : NULL;
}

static char *column_strdup(const DbResult *res, size_t row, size_t col) {
        const char *s = db_result_get(res, row, col);

        return s ? strdup(s) : NULL;
}

/* [[column 0, column 1]] of every row, as strings (or integers where asked). */
static json_t *rows_to_pairs(const DbResult *res, bool second_is_integer) {
        _cleanup_json_ json_t *pairs = json_array();

        if (!pairs)
                return NULL;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(pairs, json_pack("[o, o]", store_column_string(res, i, 0),
                                                           second_is_integer ? store_column_integer(res, i, 1)
                                                                             : store_column_string(res, i, 1))) < 0)
                        return NULL;
        return TAKE_PTR(pairs);
}

/* --- Pauses -------------------------------------------------------------------------------- */

int store_confirmation_add(Db *db, const ConfirmationNew *c, char ret_task_id[static CONFIRMATION_TASK_ID_LEN + 1]) {
        char task_id[CONFIRMATION_TASK_ID_LEN + 1], run[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ],
                expires[TIMESTAMP_BUFSZ];
        int r;

        r = random_hex(task_id, CONFIRMATION_TASK_ID_LEN);
        if (r < 0)
                return r;
        task_id[CONFIRMATION_TASK_ID_LEN] = 0;

        r = db_queryv(db, NULL,
                      "INSERT INTO pending_confirmations (task_id, execution_id, user_id, node_id, node_run_id, "
                      "prompt, created_at, expires_at) "
                      "VALUES (?, ?, (SELECT user_id FROM executions WHERE execution_id = ?), ?, ?, ?, ?, ?)",
                      task_id, c->execution_id, c->execution_id, c->node_id, db_int(run, c->node_run_id),
                      c->prompt ?: "", timestamp_now(now), usec_text(expires, c->expires_at) ?: now);
        if (r < 0)
                return r;
        memcpy(ret_task_id, task_id, sizeof task_id);
        return 0;
}

void confirmation_done(Confirmation *c) {
        if (!c)
                return;
        free(c->node_id);
        *c = (Confirmation) {};
}

int store_confirmation_find(Db *db, const char *execution_id, const char *task_id, Confirmation *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        Confirmation c = {};
        int r;

        if (task_id)
                r = db_queryv(db, &res,
                              "SELECT task_id, node_id, node_run_id FROM pending_confirmations "
                              "WHERE execution_id = ? AND task_id = ?",
                              execution_id, task_id);
        else
                r = db_queryv(db, &res,
                              "SELECT task_id, node_id, node_run_id FROM pending_confirmations "
                              "WHERE execution_id = ? ORDER BY created_at, task_id LIMIT 1",
                              execution_id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        snprintf(c.task_id, sizeof c.task_id, "%s", db_result_get(res, 0, 0));
        c.node_id = column_strdup(res, 0, 1);
        c.node_run_id = db_result_get_int64(res, 0, 2);
        if (!c.node_id)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int store_confirmation_delete_run(Db *db, int64_t node_run_id) {
        char run[DB_INT_BUFSZ];

        return db_queryv(db, NULL, "DELETE FROM pending_confirmations WHERE node_run_id = ?",
                         db_int(run, node_run_id));
}

int store_confirmations_count(Db *db, const char *execution_id, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res, "SELECT COUNT(*) FROM pending_confirmations WHERE execution_id = ?", execution_id);
        if (r < 0)
                return r;
        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_confirmations_json(Db *db, const char *execution_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = db_queryv(db, &res,
                      "SELECT task_id, node_id, prompt, created_at, expires_at FROM pending_confirmations "
                      "WHERE execution_id = ? ORDER BY created_at, task_id",
                      execution_id);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o, s:o}",
                                                          "task_id", store_column_string(res, i, 0),
                                                          "node_id", store_column_string(res, i, 1),
                                                          "prompt", store_column_string(res, i, 2),
                                                          "created_at", store_column_string(res, i, 3),
                                                          "expires_at", store_column_string(res, i, 4))) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(list);
        return 0;
}

int store_execution_set_status(Db *db, const char *id, ExecutionStatus from, ExecutionStatus to) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res,
                      "UPDATE executions SET status = ? WHERE execution_id = ? AND status = ? RETURNING execution_id",
                      execution_status_to_string(to), id, execution_status_to_string(from));
        if (r < 0)
                return r;
        return db_result_rows(res) > 0;
}

int store_node_run_resume(Db *db, int64_t id, NodeRunStatus from, json_t *resume_input) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *input = NULL;
        char id_text[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        int r;

        if (resume_input) {
                input = json_write(resume_input, NULL);
                if (!input)
                        return -ENOMEM;
        }
        /* The claim counts an attempt again: this one is the attempt that paused. */
        r = db_queryv(db, &res,
                      "UPDATE execution_nodes SET status = 'queued', run_after = NULL, "
                      "resume_input = COALESCE(?, resume_input), "
                      "attempt = CASE WHEN attempt > 0 THEN attempt - 1 ELSE 0 END, updated_at = ? "
                      "WHERE id = ? AND status = ? RETURNING id",
                      input, timestamp_now(now), db_int(id_text, id), node_run_status_to_string(from));
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ESTALE;
}

int store_node_run_resume_input(Db *db, int64_t id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT resume_input FROM execution_nodes WHERE id = ?", db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret = db_result_is_null(res, 0, 0) ? NULL : json_loads_or_null(db_result_get(res, 0, 0));
        if (!db_result_is_null(res, 0, 0) && !*ret)
                return -ENOMEM;
        return 0;
}

/* --- Children ------------------------------------------------------------------------------ */

void child_execution_done(ChildExecution *c) {
        if (!c)
                return;
        free(c->workflow_slug);
        json_decref(c->final_output);
        free(c->error_message);
        free(c->error_code);
        *c = (ChildExecution) {};
}

/* A child execution as ChildExecution reads it, followed by its WHERE clause. */
#define CHILD_QUERY                                                                             \
        "SELECT e.execution_id, w.slug, e.status, e.final_output, e.error_message, e.error_code " \
        "FROM executions e JOIN workflows w ON w.id = e.workflow_id "

static int child_from_row(const DbResult *res, ChildExecution *ret) {
        _cleanup_(child_execution_done) ChildExecution c = {};

        if (db_result_rows(res) == 0)
                return -ENOENT;
        snprintf(c.id, sizeof c.id, "%s", db_result_get(res, 0, 0));
        c.workflow_slug = column_strdup(res, 0, 1);
        c.status = execution_status_from_string(db_result_get(res, 0, 2));
        c.final_output = db_result_is_null(res, 0, 3) ? NULL : json_loads_or_null(db_result_get(res, 0, 3));
        c.error_message = column_strdup(res, 0, 4);
        c.error_code = column_strdup(res, 0, 5);
        if (!c.workflow_slug || (!c.final_output && !db_result_is_null(res, 0, 3)) ||
            (!c.error_message && !db_result_is_null(res, 0, 4)) || (!c.error_code && !db_result_is_null(res, 0, 5)))
                return -ENOMEM;
        if (c.status < 0)
                return -EBADMSG;

        *ret = c;
        c = (ChildExecution) {};
        return 0;
}

int store_execution_child_of(Db *db, int64_t node_run_id, ChildExecution *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char run[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, CHILD_QUERY "WHERE e.parent_node_run_id = ? ORDER BY e.created_at DESC LIMIT 1",
                      db_int(run, node_run_id));
        if (r < 0)
                return r;
        return child_from_row(res, ret);
}

int store_execution_child_get(Db *db, const char *id, ChildExecution *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res, CHILD_QUERY "WHERE e.execution_id = ?", id);
        if (r < 0)
                return r;
        return child_from_row(res, ret);
}

int store_node_run_live_children(Db *db, int64_t node_run_id, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char run[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT COUNT(*) FROM executions WHERE parent_node_run_id = ? AND status IN " LIVE_STATUSES,
                      db_int(run, node_run_id));
        if (r < 0)
                return r;
        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_node_run_output(Db *db, int64_t id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT output FROM execution_nodes WHERE id = ?", db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret = db_result_is_null(res, 0, 0) ? NULL : json_loads_or_null(db_result_get(res, 0, 0));
        if (!db_result_is_null(res, 0, 0) && !*ret)
                return -ENOMEM;
        return 0;
}

int store_execution_parent(Db *db, const char *id, char **ret_parent_id, int64_t *ret_node_run_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char *parent;
        int r;

        r = db_queryv(db, &res,
                      "SELECT parent_execution_id, parent_node_run_id FROM executions "
                      "WHERE execution_id = ? AND parent_execution_id IS NOT NULL AND parent_node_run_id IS NOT NULL",
                      id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        parent = column_strdup(res, 0, 0);
        if (!parent)
                return -ENOMEM;
        *ret_parent_id = parent;
        *ret_node_run_id = db_result_get_int64(res, 0, 1);
        return 0;
}

int store_executions_live_children(Db *db, const char *parent_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res,
                      "SELECT e.execution_id, w.slug FROM executions e JOIN workflows w ON w.id = e.workflow_id "
                      "WHERE e.parent_execution_id = ? AND e.status IN " LIVE_STATUSES " ORDER BY e.created_at",
                      parent_id);
        if (r < 0)
                return r;
        *ret = rows_to_pairs(res, false);
        return *ret ? 0 : -ENOMEM;
}

int store_executions_orphaned(Db *db, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res,
                     "SELECT e.execution_id, w.slug FROM executions e JOIN workflows w ON w.id = e.workflow_id "
                     "JOIN executions p ON p.execution_id = e.parent_execution_id "
                     "WHERE e.status IN " LIVE_STATUSES " AND p.status IN " TERMINAL_STATUSES
                     " ORDER BY e.created_at",
                     0, NULL);
        if (r < 0)
                return r;
        *ret = rows_to_pairs(res, false);
        return *ret ? 0 : -ENOMEM;
}

int store_node_runs_awaiting_ended(Db *db, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res,
                     "SELECT n.execution_id, n.id FROM execution_nodes n "
                     "JOIN executions p ON p.execution_id = n.execution_id "
                     "WHERE n.status = 'awaiting' AND p.status IN " LIVE_STATUSES
                     " AND EXISTS (SELECT 1 FROM executions c WHERE c.parent_node_run_id = n.id)"
                     " AND NOT EXISTS (SELECT 1 FROM executions c WHERE c.parent_node_run_id = n.id"
                     " AND c.status IN " LIVE_STATUSES ") ORDER BY n.id",
                     0, NULL);
        if (r < 0)
                return r;
        *ret = rows_to_pairs(res, true);
        return *ret ? 0 : -ENOMEM;
}

int store_execution_children_json(Db *db, const char *id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = db_queryv(db, &res,
                      "SELECT e.execution_id, w.slug, e.parent_node_id, e.status FROM executions e "
                      "JOIN workflows w ON w.id = e.workflow_id WHERE e.parent_execution_id = ? "
                      "ORDER BY e.created_at, e.execution_id",
                      id);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o}",
                                                          "execution_id", store_column_string(res, i, 0),
                                                          "workflow_slug", store_column_string(res, i, 1),
                                                          "parent_node_id", store_column_string(res, i, 2),
                                                          "status", store_column_string(res, i, 3))) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(list);
        return 0;
}

int store_workflow_find_callable(Db *db, int64_t caller_workflow_id, const char *slug, int64_t id,
                                 int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char caller[DB_INT_BUFSZ], id_text[DB_INT_BUFSZ];
        int r;

        db_int(caller, caller_workflow_id);
        /* Whoever owns the calling workflow must be able to see the one it calls. */
#define CALLABLE_BY_OWNER                                                                       \
        "(w.owner_id = c.owner_id OR EXISTS (SELECT 1 FROM users u WHERE u.id = c.owner_id "    \
        "AND u.role = 'admin'))"
        if (slug)
                r = db_queryv(db, &res,
                              "SELECT w.id FROM workflows w JOIN workflows c ON c.id = ? "
                              "WHERE w.slug = ? AND " CALLABLE_BY_OWNER,
                              caller, slug);
        else
                r = db_queryv(db, &res,
                              "SELECT w.id FROM workflows w JOIN workflows c ON c.id = ? "
                              "WHERE w.id = ? AND " CALLABLE_BY_OWNER,
                              caller, db_int(id_text, id));
#undef CALLABLE_BY_OWNER
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret_id = db_result_get_int64(res, 0, 0);
        return 0;
}

/* --- Retention ----------------------------------------------------------------------------- */

int store_workflow_settings(Db *db, int64_t workflow_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        json_t *settings;
        int r;

        r = db_queryv(db, &res, "SELECT settings FROM workflows WHERE id = ?", db_int(id_text, workflow_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        settings = store_column_json(res, 0, 0, NULL);
        if (settings && !json_is_object(settings)) {
                json_decref(settings);
                settings = json_object();
        }
        if (!settings)
                return -ENOMEM;
        *ret = settings;
        return 0;
}

int store_execution_drop_data(Db *db, const char *id) {
        int r;

        r = db_queryv(db, NULL, "DELETE FROM execution_logs WHERE execution_id = ?", id);
        if (r >= 0)
                r = db_queryv(db, NULL, "DELETE FROM execution_nodes WHERE execution_id = ?", id);
        if (r >= 0)
                r = db_queryv(db, NULL,
                              "UPDATE executions SET trigger_payload = NULL, topology = NULL, nodes = NULL, "
                              "graph_id = NULL "
                              "WHERE execution_id = ?",
                              id);
        return r;
}

int store_workflows_settings_page(Db *db, int64_t after_id, int64_t limit, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *page = json_array();
        char after[DB_INT_BUFSZ], limit_text[DB_INT_BUFSZ];
        int r;

        if (!page)
                return -ENOMEM;
        r = db_queryv(db, &res, "SELECT id, settings FROM workflows WHERE id > ? ORDER BY id LIMIT ?",
                      db_int(after, after_id), db_int(limit_text, limit));
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(page, json_pack("[o, o]", store_column_integer(res, i, 0),
                                                          store_column_json(res, i, 1, NULL))) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(page);
        return 0;
}

int store_executions_prune(Db *db, int64_t workflow_id, int64_t keep_count, usec_t created_before, int64_t batch,
                           int64_t *ret_deleted) {
        char workflow[DB_INT_BUFSZ], keep[DB_INT_BUFSZ], limit[DB_INT_BUFSZ], before[TIMESTAMP_BUFSZ];
        int64_t deleted = 0;
        int r;

        db_int(workflow, workflow_id);
        db_int(limit, batch);
        /* Each statement deletes one batch by primary key; the executions_workflow index
         * orders a workflow's runs by creation. */
        if (keep_count >= 0) {
                _cleanup_(db_result_freep) DbResult *res = NULL;

                r = db_queryv(db, &res,
                              "DELETE FROM executions WHERE execution_id IN (SELECT c.execution_id FROM executions c "
                              "WHERE c.workflow_id = ? AND c.status IN " TERMINAL_STATUSES " AND " NOT_AWAITED
                              " ORDER BY c.created_at DESC, c.execution_id DESC LIMIT ? OFFSET ?) RETURNING execution_id",
                              workflow, limit, db_int(keep, keep_count));
                if (r < 0)
                        return r;
                deleted += (int64_t) db_result_rows(res);
        }
        if (created_before > 0 && deleted < batch) {
                _cleanup_(db_result_freep) DbResult *res = NULL;

                db_int(limit, batch - deleted);
                r = db_queryv(db, &res,
                              "DELETE FROM executions WHERE execution_id IN (SELECT c.execution_id FROM executions c "
                              "WHERE c.workflow_id = ? AND c.status IN " TERMINAL_STATUSES " AND c.created_at < ? "
                              "AND " NOT_AWAITED " LIMIT ?) RETURNING execution_id",
                              workflow, timestamp_format(before, created_before), limit);
                if (r < 0)
                        return r;
                deleted += (int64_t) db_result_rows(res);
        }
        *ret_deleted = deleted;
        return 0;
}

int store_execution_graphs_prune(Db *db, int64_t workflow_id, int64_t *ret_deleted) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char workflow[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "DELETE FROM execution_graphs WHERE workflow_id = ? "
                      "AND graph_version < (SELECT w.graph_version FROM workflows w WHERE w.id = ?) "
                      "AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.graph_id = execution_graphs.id) RETURNING id",
                      db_int(workflow, workflow_id), workflow);
        if (r < 0)
                return r;
        if (ret_deleted)
                *ret_deleted = (int64_t) db_result_rows(res);
        return 0;
}
