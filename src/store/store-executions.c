/* Executions, their node runs and their logs: what the engine writes while a workflow runs.
 * The API's reads of them are store-executions-api.c. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/crypto.h"
#include "common/json-util.h"
#include "store/store-executions.h"

static const char *const execution_status_table[_EXECUTION_STATUS_MAX] = {
        [EXECUTION_PENDING] = "pending",
        [EXECUTION_RUNNING] = "running",
        [EXECUTION_INTERRUPTED] = "interrupted",
        [EXECUTION_COMPLETED] = "completed",
        [EXECUTION_FAILED] = "failed",
        [EXECUTION_CANCELLED] = "cancelled",
};

static const char *const node_run_status_table[_NODE_RUN_STATUS_MAX] = {
        [NODE_RUN_WAITING] = "waiting",
        [NODE_RUN_QUEUED] = "queued",
        [NODE_RUN_RUNNING] = "running",
        [NODE_RUN_LOOPING] = "looping",
        [NODE_RUN_DONE] = "done",
        [NODE_RUN_FAILED] = "failed",
        [NODE_RUN_RULED_OUT] = "ruled_out",
        [NODE_RUN_CANCELLED] = "cancelled",
        [NODE_RUN_PAUSED] = "paused",
        [NODE_RUN_AWAITING] = "awaiting",
};

static int table_lookup(const char *const *table, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (streq(table[i], s))
                        return i;
        return -EINVAL;
}

const char *execution_status_to_string(ExecutionStatus s) {
        return s >= 0 && s < _EXECUTION_STATUS_MAX ? execution_status_table[s] : NULL;
}

ExecutionStatus execution_status_from_string(const char *s) {
        return (ExecutionStatus) table_lookup(execution_status_table, _EXECUTION_STATUS_MAX, s);
}

bool execution_status_is_live(ExecutionStatus s) {
        return s == EXECUTION_PENDING || s == EXECUTION_RUNNING || s == EXECUTION_INTERRUPTED;
}

const char *node_run_status_to_string(NodeRunStatus s) {
        return s >= 0 && s < _NODE_RUN_STATUS_MAX ? node_run_status_table[s] : NULL;
}

NodeRunStatus node_run_status_from_string(const char *s) {
        return (NodeRunStatus) table_lookup(node_run_status_table, _NODE_RUN_STATUS_MAX, s);
}

/* UUID version 7 (RFC 9562): the Unix time in milliseconds, then 74 random bits. Ids that
 * grow with time go to the end of the executions' primary key index, whose last page the
 * writers keep in cache, instead of to a random page of it. */
int execution_id_new(char ret[static EXECUTION_ID_LEN + 1]) {
        static const int dashes[] = { 8, 13, 18, 23 };
        uint64_t ms = now_realtime_usec() / 1000;
        char hex[33];
        size_t k = 0;
        int r;

        r = random_hex(hex + 12, 20);
        if (r < 0)
                return r;
        for (int i = 11; i >= 0; i--, ms >>= 4)
                hex[i] = "0123456789abcdef"[ms & 0xf];
        /* Version 7, variant 10xx. */
        hex[12] = '7';
        hex[16] = "89ab"[(hex[16] >= 'a' ? hex[16] - 'a' + 10 : hex[16] - '0') & 3];

        for (int i = 0, d = 0; i < EXECUTION_ID_LEN; i++) {
                if (d < (int) ELEMENTSOF(dashes) && i == dashes[d]) {
                        ret[i] = '-';
                        d++;
                } else
                        ret[i] = hex[k++];
        }
        ret[EXECUTION_ID_LEN] = 0;
        return 0;
}

bool execution_id_is_valid(const char *s) {
        if (!s || strlen(s) != EXECUTION_ID_LEN)
                return false;
        for (size_t i = 0; i < EXECUTION_ID_LEN; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || s[i] == 0)
                        return false;
        }
        return true;
}

/* Compact JSON text of j, or NULL (SQL NULL) when j is NULL. -ENOMEM. */
static int json_text(json_t *j, char **ret) {
        *ret = NULL;
        if (!j)
                return 0;
        *ret = json_write(j, NULL);
        return *ret ? 0 : -ENOMEM;
}

/* The timestamp text of t, or NULL when t is 0. */
static const char *usec_text(char buf[static TIMESTAMP_BUFSZ], usec_t t) {
        return t > 0 ? timestamp_format(buf, t) : NULL;
}

static usec_t usec_from_text(const char *s) {
        usec_t t;

        return s && timestamp_parse(s, &t) >= 0 ? t : 0;
}

/* --- Creating ------------------------------------------------------------------------------ */

static int offer_all(Db *db, const char *id, const char *const *nodes, NodeRunStatus status, int64_t *ret_ids) {
        size_t i = 0;
        int r;

        for (const char *const *n = nodes; n && *n; n++, i++) {
                r = store_node_run_offer(db, id, *n, "", status, 0, ret_ids ? ret_ids + i : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The one entry node run, running its first attempt. */
static int entry_claimed(Db *db, const char *id, const char *node_id, int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ];
        int r;

        timestamp_now(now);
        r = db_queryv(db, &res,
                      "INSERT INTO execution_nodes (execution_id, node_id, iteration, status, attempt, started_at, "
                      "created_at, updated_at) VALUES (?, ?, '', 'running', 1, ?, ?, ?) RETURNING id",
                      id, node_id, now, now, now);
        if (r < 0)
                return r;
        if (db_result_rows(res) != 1)
                return -EIO;
        *ret_id = db_result_get_int64(res, 0, 0);
        return 0;
}

/* The execution_graphs row of e's graph, added when there is none. */
static int graph_put(Db *db, const ExecutionNew *e, int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *topology = NULL, *nodes = NULL;
        char workflow[DB_INT_BUFSZ], version[DB_INT_BUFSZ];
        int r;

        if (json_text(e->topology, &topology) < 0 || json_text(e->nodes, &nodes) < 0)
                return -ENOMEM;
        /* The no-op update makes RETURNING answer for a row that was there already. */
        r = db_queryv(db, &res,
                      "INSERT INTO execution_graphs (workflow_id, graph_version, trigger_node_id, topology, nodes) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (workflow_id, graph_version, trigger_node_id) "
                      "DO UPDATE SET graph_version = excluded.graph_version RETURNING id",
                      db_int(workflow, e->workflow_id), db_int(version, e->graph_version), e->trigger_node_id ?: "",
                      topology, nodes);
        if (r < 0)
                return r;
        if (db_result_rows(res) != 1)
                return -EIO;
        *ret_id = db_result_get_int64(res, 0, 0);
        return 0;
}

/* Inserts the row pointing at graph row graph_id when that is e's graph: 1, or 0 when it is
 * not (gone, or another graph's). */
static int execution_insert_with_graph(Db *db, const char *id, const ExecutionNew *e, int64_t graph_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *payload = NULL;
        char workflow[DB_INT_BUFSZ], user[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ], deadline[TIMESTAMP_BUFSZ],
                depth[DB_INT_BUFSZ], parent_run[DB_INT_BUFSZ], graph[DB_INT_BUFSZ], version[DB_INT_BUFSZ];
        int r;

        if (json_text(e->trigger_payload, &payload) < 0)
                return -ENOMEM;

        timestamp_now(now);
        r = db_queryv(db, &res,
                      "INSERT INTO executions (execution_id, workflow_id, trigger_node_id, user_id, status, "
                      "trigger_payload, deadline_at, created_at, started_at, parent_execution_id, parent_node_id, "
                      "parent_node_run_id, depth, error_of_execution_id, graph_id) "
                      "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, g.id FROM execution_graphs g "
                      "WHERE g.id = ? AND g.workflow_id = ? AND g.graph_version = ? AND g.trigger_node_id = ? "
                      "RETURNING execution_id",
                      id, db_int(workflow, e->workflow_id), e->trigger_node_id,
                      e->user_id > 0 ? db_int(user, e->user_id) : NULL, e->claim_entry ? "running" : "pending",
                      payload, usec_text(deadline, e->deadline), now, e->claim_entry ? now : NULL,
                      e->parent_execution_id, e->parent_node_id,
                      e->parent_node_run_id > 0 ? db_int(parent_run, e->parent_node_run_id) : NULL,
                      db_int(depth, e->depth), e->error_of_execution_id, db_int(graph, graph_id), workflow,
                      db_int(version, e->graph_version), e->trigger_node_id ?: "");
        if (r < 0)
                return r;
        return db_result_rows(res) > 0;
}

static int execution_insert(Db *db, const char *id, const ExecutionNew *e, int64_t *ret_graph_id) {
        int64_t graph_id = e->graph_id_hint;
        int r;

        r = graph_id > 0 ? execution_insert_with_graph(db, id, e, graph_id) : 0;
        if (r == 0) {
                r = graph_put(db, e, &graph_id);
                if (r >= 0)
                        r = execution_insert_with_graph(db, id, e, graph_id);
                if (r == 0)
                        r = -EIO;
        }
        if (r < 0)
                return r;
        *ret_graph_id = graph_id;
        return 0;
}

int store_execution_insert(Db *db, const char *id, const ExecutionNew *e, int64_t **ret_run_ids,
                           int64_t *ret_graph_id) {
        _cleanup_free_ int64_t *ids = NULL;
        int64_t graph_id;
        size_t n_run = 0;
        int r;

        while (e->run && e->run[n_run])
                n_run++;
        ids = calloc(n_run + 1, sizeof(int64_t));
        if (!ids)
                return -ENOMEM;

        if (e->claim_entry && n_run != 1)
                return -EINVAL;
        r = execution_insert(db, id, e, &graph_id);
        if (r >= 0 && e->claim_entry)
                r = entry_claimed(db, id, e->run[0], ids);
        else if (r >= 0)
                r = offer_all(db, id, e->run, NODE_RUN_QUEUED, ids);
        if (r >= 0)
                r = offer_all(db, id, e->wait, NODE_RUN_WAITING, NULL);
        if (r < 0)
                return r;

        *ret_run_ids = TAKE_PTR(ids);
        if (ret_graph_id)
                *ret_graph_id = graph_id;
        return 0;
}

int store_execution_insert_completed(Db *db, const ExecutionInfo *info, usec_t started_at, json_t *final_output) {
        _cleanup_free_ char *output = NULL;
        char workflow[DB_INT_BUFSZ], user[DB_INT_BUFSZ], started_text[TIMESTAMP_BUFSZ], now[TIMESTAMP_BUFSZ];
        const char *started;

        if (json_text(final_output, &output) < 0)
                return -ENOMEM;
        timestamp_now(now);
        started = usec_text(started_text, started_at) ?: now;
        return db_queryv(db, NULL,
                         "INSERT INTO executions (execution_id, workflow_id, trigger_node_id, user_id, status, "
                         "final_output, created_at, started_at, completed_at) VALUES (?, ?, ?, ?, 'completed', ?, ?, "
                         "?, ?)",
                         info->id, db_int(workflow, info->workflow_id), info->trigger_node_id,
                         info->user_id > 0 ? db_int(user, info->user_id) : NULL, output,
                         started, started, now);
}

int store_execution_create(Db *db, const char *id, const ExecutionNew *e, int64_t **ret_run_ids) {
        _cleanup_free_ int64_t *ids = NULL;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = store_execution_insert(db, id, e, &ids, NULL);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        *ret_run_ids = TAKE_PTR(ids);
        return 0;
}

/* --- Running ------------------------------------------------------------------------------- */

int store_execution_lock(Db *db, const char *id, ExecutionState *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        ExecutionStatus status;
        int r;

        /* PostgreSQL runs transactions side by side: take the execution's row, so one node
         * commit at a time sees and extends its graph. SQLite's writer lock, taken by BEGIN
         * IMMEDIATE, already excludes every other writer. */
        if (db_backend(db) == DB_POSTGRES)
                r = db_queryv(db, &res, "SELECT status, deadline_at FROM executions WHERE execution_id = ? FOR UPDATE",
                              id);
        else
                r = db_queryv(db, &res, "SELECT status, deadline_at FROM executions WHERE execution_id = ?", id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        status = execution_status_from_string(db_result_get(res, 0, 0));
        if (status < 0)
                return -EBADMSG;
        *ret = (ExecutionState) {
                .status = status,
                .deadline = usec_from_text(db_result_get(res, 0, 1)),
        };
        return 0;
}

void execution_info_done(ExecutionInfo *i) {
        if (!i)
                return;
        free(i->id);
        free(i->workflow_slug);
        free(i->trigger_node_id);
        json_decref(i->trigger_payload);
        json_decref(i->topology);
        json_decref(i->nodes);
        free(i->parent_execution_id);
        free(i->error_of_execution_id);
        free(i->root_execution_id);
        free(i->root_workflow_slug);
        free(i->root_node_id);
        *i = (ExecutionInfo) {};
}

static char *column_strdup(const DbResult *res, size_t row, size_t col) {
        const char *s = db_result_get(res, row, col);

        return s ? strdup(s) : NULL;
}

/* For a child: the top-level execution above it, that one's workflow, and the node of it
 * the line of children started from. Generations are few (MaxSubworkflowDepth=). */
static int execution_root(Db *db, ExecutionInfo *i) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res,
                      "WITH RECURSIVE chain(id, parent, node, n) AS ("
                      "SELECT execution_id, parent_execution_id, parent_node_id, 0 FROM executions "
                      "WHERE execution_id = ? "
                      "UNION ALL SELECT e.execution_id, e.parent_execution_id, e.parent_node_id, c.n + 1 "
                      "FROM executions e JOIN chain c ON e.execution_id = c.parent WHERE c.n < 1000) "
                      "SELECT c.parent, c.node, w.slug FROM chain c "
                      "JOIN executions p ON p.execution_id = c.parent JOIN workflows w ON w.id = p.workflow_id "
                      "WHERE p.parent_execution_id IS NULL",
                      i->id);
        if (r < 0)
                return r;
        /* The line was cut (a parent deleted): nothing to forward to. */
        if (db_result_rows(res) == 0)
                return 0;
        i->root_execution_id = column_strdup(res, 0, 0);
        i->root_node_id = column_strdup(res, 0, 1);
        i->root_workflow_slug = column_strdup(res, 0, 2);
        if (!i->root_execution_id || !i->root_workflow_slug || (!i->root_node_id && !db_result_is_null(res, 0, 1)))
                return -ENOMEM;
        return 0;
}

int store_execution_info(Db *db, const char *id, ExecutionInfo *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_(execution_info_done) ExecutionInfo i = {};
        int r;

        r = db_queryv(db, &res,
                      "SELECT e.execution_id, e.workflow_id, w.slug, e.trigger_node_id, e.trigger_payload, "
                      "COALESCE(g.topology, e.topology), COALESCE(g.nodes, e.nodes), e.user_id, e.depth, "
                      "e.parent_execution_id, e.parent_node_run_id, e.error_of_execution_id, e.deadline_at "
                      "FROM executions e JOIN workflows w ON w.id = e.workflow_id "
                      "LEFT JOIN execution_graphs g ON g.id = e.graph_id WHERE e.execution_id = ?",
                      id);
        if (r < 0)
                return r;
        /* A run whose data retention dropped has nothing left to run either. */
        if (db_result_rows(res) == 0 || db_result_is_null(res, 0, 5) || db_result_is_null(res, 0, 6))
                return -ENOENT;

        i.id = column_strdup(res, 0, 0);
        i.workflow_id = db_result_get_int64(res, 0, 1);
        i.workflow_slug = column_strdup(res, 0, 2);
        i.trigger_node_id = column_strdup(res, 0, 3);
        i.trigger_payload = store_column_json(res, 0, 4, NULL);
        i.topology = store_column_json(res, 0, 5, NULL);
        i.nodes = store_column_json(res, 0, 6, NULL);
        i.user_id = db_result_is_null(res, 0, 7) ? 0 : db_result_get_int64(res, 0, 7);
        i.depth = (unsigned) MAX(db_result_get_int64(res, 0, 8), (int64_t) 0);
        i.parent_execution_id = column_strdup(res, 0, 9);
        i.parent_node_run_id = db_result_is_null(res, 0, 10) ? 0 : db_result_get_int64(res, 0, 10);
        i.error_of_execution_id = column_strdup(res, 0, 11);
        i.deadline = db_result_is_null(res, 0, 12) ? 0 : usec_from_text(db_result_get(res, 0, 12));
        if (!i.id || !i.workflow_slug || !i.trigger_payload || !i.topology || !i.nodes)
                return -ENOMEM;
        if (!json_is_object(i.topology) || !json_is_object(i.nodes))
                return -EBADMSG;
        if ((!db_result_is_null(res, 0, 3) && !i.trigger_node_id) ||
            (!db_result_is_null(res, 0, 9) && !i.parent_execution_id) ||
            (!db_result_is_null(res, 0, 11) && !i.error_of_execution_id))
                return -ENOMEM;
        if (i.parent_execution_id) {
                r = execution_root(db, &i);
                if (r < 0)
                        return r;
        }

        *ret = i;
        i = (ExecutionInfo) {};
        return 0;
}

void node_run_row_done(NodeRunRow *r) {
        if (!r)
                return;
        free(r->execution_id);
        free(r->node_id);
        free(r->iteration);
        json_decref(r->output);
        free(r->route);
        *r = (NodeRunRow) {};
}

void node_run_rows_free(NodeRunRow *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++)
                node_run_row_done(rows + i);
        free(rows);
}

#define NODE_RUN_COLUMNS "id, execution_id, node_id, iteration, status, attempt, run_after, route"

static int node_run_from_row(const DbResult *res, size_t row, bool with_output, NodeRunRow *ret) {
        NodeRunRow n = {
                .id = db_result_get_int64(res, row, 0),
                .execution_id = column_strdup(res, row, 1),
                .node_id = column_strdup(res, row, 2),
                .iteration = column_strdup(res, row, 3),
                .status = node_run_status_from_string(db_result_get(res, row, 4)),
                .attempt = (unsigned) db_result_get_int64(res, row, 5),
                .run_after = usec_from_text(db_result_get(res, row, 6)),
                .route = column_strdup(res, row, 7),
        };

        if (with_output && !db_result_is_null(res, row, 8))
                n.output = json_loads_or_null(db_result_get(res, row, 8));

        if (!n.execution_id || !n.node_id || !n.iteration || (!n.route && !db_result_is_null(res, row, 7)) ||
            (with_output && !n.output && !db_result_is_null(res, row, 8))) {
                node_run_row_done(&n);
                return -ENOMEM;
        }
        if (n.status < 0) {
                node_run_row_done(&n);
                return -EBADMSG;
        }
        *ret = n;
        return 0;
}

int store_node_run_get(Db *db, int64_t id, NodeRunRow *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT " NODE_RUN_COLUMNS " FROM execution_nodes WHERE id = ?", db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        return node_run_from_row(res, 0, false, ret);
}

/* Appends " AND column IN (?, …)" for values to sql, and the values to params. */
static int append_in(FILE *sql, const char *column, const char *const *values, const char ***params, size_t *n) {
        size_t k = 0;

        if (!values)
                return 0;
        fprintf(sql, " AND %s IN (", column);
        for (const char *const *v = values; *v; v++, k++) {
                const char **p = reallocarray(*params, *n + 2, sizeof(char *));

                if (!p)
                        return -ENOMEM;
                *params = p;
                (*params)[(*n)++] = *v;
                fputs(k > 0 ? ", ?" : "?", sql);
        }
        /* An empty list matches nothing, as IN () would if SQL allowed it. */
        fputs(k == 0 ? "NULL)" : ")", sql);
        return 0;
}

int store_node_runs_list(Db *db, const char *execution_id, const NodeRunFilter *filter, NodeRunRow **ret,
                         size_t *ret_n) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ const char **params = NULL;
        _cleanup_free_ char *sql = NULL;
        bool with_outputs = filter && filter->with_outputs;
        size_t sql_size = 0, n_params = 0, n;
        NodeRunRow *rows;
        FILE *f;
        int r;

        params = calloc(1, sizeof(char *));
        f = open_memstream(&sql, &sql_size);
        if (!params || !f) {
                if (f)
                        fclose(f);
                return -ENOMEM;
        }
        params[n_params++] = execution_id;
        fprintf(f, "SELECT " NODE_RUN_COLUMNS "%s FROM execution_nodes WHERE execution_id = ?",
                with_outputs ? ", output" : "");
        r = append_in(f, "iteration", filter ? filter->iterations : NULL, &params, &n_params);
        if (r >= 0)
                r = append_in(f, "node_id", filter ? filter->node_ids : NULL, &params, &n_params);
        fputs(" ORDER BY id", f);
        if (fclose(f) != 0 || r < 0)
                return -ENOMEM;

        r = db_query(db, &res, sql, n_params, params);
        if (r < 0)
                return r;

        n = db_result_rows(res);
        rows = calloc(n + 1, sizeof(NodeRunRow));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = node_run_from_row(res, i, with_outputs, rows + i);
                if (r < 0) {
                        node_run_rows_free(rows, i);
                        return r;
                }
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

int store_node_runs_count(Db *db, const char *execution_id, NodeRunStatus status, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res, "SELECT COUNT(*) FROM execution_nodes WHERE execution_id = ? AND status = ?",
                      execution_id, node_run_status_to_string(status));
        if (r < 0)
                return r;
        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_node_run_claim(Db *db, int64_t id, bool start_execution) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        int r;

        timestamp_now(now);
        r = db_queryv(db, &res,
                      "UPDATE execution_nodes SET status = 'running', attempt = attempt + 1, started_at = ?, "
                      "updated_at = ? WHERE id = ? AND status = 'queued' RETURNING execution_id",
                      now, now, db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ESTALE;
        if (!start_execution)
                return 0;

        return db_queryv(db, NULL,
                         "UPDATE executions SET status = 'running', started_at = ? "
                         "WHERE execution_id = ? AND status = 'pending'",
                         now, db_result_get(res, 0, 0));
}

int store_node_run_offer(Db *db, const char *execution_id, const char *node_id, const char *iteration,
                         NodeRunStatus status, usec_t run_after, int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ], after[TIMESTAMP_BUFSZ];
        int r;

        timestamp_now(now);
        r = db_queryv(db, &res,
                      "INSERT INTO execution_nodes (execution_id, node_id, iteration, status, run_after, "
                      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT (execution_id, node_id, iteration) DO UPDATE SET status = excluded.status, "
                      "run_after = excluded.run_after, updated_at = excluded.updated_at "
                      "WHERE execution_nodes.status = 'waiting' RETURNING id",
                      execution_id, node_id, iteration ?: "", node_run_status_to_string(status),
                      status == NODE_RUN_QUEUED ? usec_text(after, run_after) : NULL, now, now);
        if (r < 0)
                return r;
        /* The node already ran (or runs) in this iteration. */
        if (db_result_rows(res) == 0)
                return -EEXIST;
        if (ret_id)
                *ret_id = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_node_run_finish(Db *db, int64_t id, const NodeRunResult *result) {
        _cleanup_free_ char *output = NULL;
        char id_text[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ], after[TIMESTAMP_BUFSZ];
        const char *attempts = result->claim ? "1" : "0";

        if (json_text(result->output, &output) < 0)
                return -ENOMEM;
        timestamp_now(now);
        if (result->keep_output)
                return db_queryv(db, NULL,
                                 "UPDATE execution_nodes SET status = ?, route = ?, error = ?, error_code = ?, "
                                 "run_after = ?, updated_at = ?, attempt = attempt + ?, "
                                 "started_at = COALESCE(?, started_at) WHERE id = ?",
                                 node_run_status_to_string(result->status), result->route, result->error,
                                 result->error_code, usec_text(after, result->run_after), now, attempts,
                                 result->claim ? now : NULL, db_int(id_text, id));
        return db_queryv(db, NULL,
                         "UPDATE execution_nodes SET status = ?, output = ?, route = ?, error = ?, error_code = ?, "
                         "run_after = ?, updated_at = ?, attempt = attempt + ?, started_at = COALESCE(?, started_at) "
                         "WHERE id = ?",
                         node_run_status_to_string(result->status), output, result->route, result->error,
                         result->error_code, usec_text(after, result->run_after), now, attempts,
                         result->claim ? now : NULL, db_int(id_text, id));
}

int store_node_runs_cancel(Db *db, const char *execution_id) {
        char now[TIMESTAMP_BUFSZ];

        return db_queryv(db, NULL,
                         "UPDATE execution_nodes SET status = 'cancelled', updated_at = ? "
                         "WHERE execution_id = ? AND status IN ('waiting', 'queued', 'looping', 'paused', 'awaiting')",
                         timestamp_now(now), execution_id);
}

int store_execution_log_add(Db *db, const ExecutionLogEntry *e) {
        _cleanup_free_ char *input = NULL, *output = NULL, *metadata = NULL;
        char retries[DB_INT_BUFSZ], duration[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];

        if (json_text(e->input, &input) < 0 || json_text(e->output, &output) < 0 ||
            json_text(e->metadata, &metadata) < 0)
                return -ENOMEM;
        return db_queryv(db, NULL,
                         "INSERT INTO execution_logs (execution_id, node_id, status, input, output, error, "
                         "error_code, metadata, retry_count, duration_ms, timestamp) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         e->execution_id, e->node_id, e->status, input, output, e->error, e->error_code,
                         metadata ?: "{}", db_int(retries, e->retry_count),
                         db_int(duration, (int64_t) MIN(e->duration_ms, (uint64_t) INT64_MAX)), timestamp_now(now));
}

int store_execution_add_usage(Db *db, const char *id, const ExecutionUsage *usage) {
        char tokens[DB_INT_BUFSZ], calls[DB_INT_BUFSZ], cost[64];

        snprintf(cost, sizeof cost, "%.17g", usage->cost_usd);
        /* The execution and every execution above it (a child's spend rolls up into its
         * parents' totals), in the same statement as the node's commit: once, even across
         * a crash. */
        return db_queryv(db, NULL,
                         "WITH RECURSIVE line(id) AS (SELECT CAST(? AS TEXT) UNION ALL "
                         "SELECT e.parent_execution_id FROM executions e JOIN line ON e.execution_id = line.id "
                         "WHERE e.parent_execution_id IS NOT NULL) "
                         "UPDATE executions SET total_tokens = total_tokens + ?, llm_calls = llm_calls + ?, "
                         "total_cost_usd = total_cost_usd + ? WHERE execution_id IN (SELECT id FROM line)",
                         id, db_int(tokens, usage->tokens), db_int(calls, usage->llm_calls), cost);
}

int store_execution_finish(Db *db, const char *id, ExecutionStatus status, json_t *final_output,
                           const char *error, const char *error_code, ExecutionUsage *ret_usage) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *output = NULL;
        char now[TIMESTAMP_BUFSZ];
        int r;

        if (json_text(final_output, &output) < 0)
                return -ENOMEM;
        timestamp_now(now);
        r = db_queryv(db, &res,
                      "UPDATE executions SET status = ?, final_output = ?, error_message = ?, error_code = ?, "
                      "completed_at = ?, started_at = COALESCE(started_at, ?) "
                      "WHERE execution_id = ? AND status IN ('pending', 'running', 'interrupted') "
                      "RETURNING total_tokens, llm_calls, total_cost_usd",
                      execution_status_to_string(status), output, error, error_code, now, now, id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return 0;
        if (ret_usage)
                *ret_usage = (ExecutionUsage) {
                        .tokens = db_result_get_int64(res, 0, 0),
                        .llm_calls = db_result_get_int64(res, 0, 1),
                        .cost_usd = strtod(db_result_get(res, 0, 2) ?: "0", NULL),
                };
        /* Nobody can answer a confirmation of a run that is over. */
        r = db_queryv(db, NULL, "DELETE FROM pending_confirmations WHERE execution_id = ?", id);
        return r < 0 ? r : 1;
}

/* --- Recovery ---------------------------------------------------------------------------- */

int store_node_runs_recover(Db *db, const char *execution_id, RecoveredRun **ret, size_t *ret_n) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ RecoveredRun *runs = NULL;
        char now[TIMESTAMP_BUFSZ];
        size_t n;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        /* A run cut off mid-way runs again; the attempt it used stays counted. */
        if (execution_id) {
                r = db_queryv(db, NULL,
                              "UPDATE execution_nodes SET status = 'queued', updated_at = ? WHERE status = 'running' "
                              "AND execution_id IN (SELECT execution_id FROM executions WHERE execution_id = ? "
                              "AND status IN ('pending', 'running', 'interrupted'))",
                              timestamp_now(now), execution_id);
                if (r >= 0)
                        r = db_queryv(db, &res,
                                      "SELECT n.id, n.execution_id, n.run_after, e.deadline_at FROM execution_nodes n "
                                      "JOIN executions e ON e.execution_id = n.execution_id "
                                      "WHERE e.execution_id = ? AND e.status IN ('pending', 'running', 'interrupted') "
                                      "AND n.status IN ('queued', 'paused', 'awaiting') ORDER BY n.id",
                                      execution_id);
        } else {
                r = db_queryv(db, NULL,
                              "UPDATE execution_nodes SET status = 'queued', updated_at = ? WHERE status = 'running' "
                              "AND execution_id IN (SELECT execution_id FROM executions "
                              "WHERE status IN ('pending', 'running', 'interrupted'))",
                              timestamp_now(now));
                if (r >= 0)
                        r = db_query(db, &res,
                                     "SELECT n.id, n.execution_id, n.run_after, e.deadline_at FROM execution_nodes n "
                                     "JOIN executions e ON e.execution_id = n.execution_id "
                                     "WHERE e.status IN ('pending', 'running', 'interrupted') "
                                     "AND n.status IN ('queued', 'paused', 'awaiting') ORDER BY n.id",
                                     0, NULL);
        }
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }

        n = db_result_rows(res);
        runs = calloc(n + 1, sizeof(RecoveredRun));
        if (!runs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                snprintf(runs[i].execution_id, sizeof runs[i].execution_id, "%s", db_result_get(res, i, 1));
                runs[i].node_run_id = db_result_get_int64(res, i, 0);
                runs[i].run_after = usec_from_text(db_result_get(res, i, 2));
                runs[i].deadline = usec_from_text(db_result_get(res, i, 3));
        }
        *ret = TAKE_PTR(runs);
        *ret_n = n;
        return 0;
}

int store_node_runs_queued(Db *db, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res, "SELECT COUNT(*) FROM execution_nodes WHERE status = 'queued'", 0, NULL);
        if (r < 0)
                return r;
        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_executions_live_count(Db *db, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res,
                     "SELECT COUNT(*) FROM executions WHERE status IN ('pending', 'running', 'interrupted')",
                     0, NULL);
        if (r < 0)
                return r;
        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_executions_unfinished(Db *db) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res,
                     "SELECT 1 FROM executions WHERE status IN ('pending', 'running', 'interrupted') LIMIT 1",
                     0, NULL);
        if (r < 0)
                return r;
        return db_result_rows(res) > 0;
}
