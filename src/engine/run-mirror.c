/* The node runs of one execution, read once per transaction and kept in step with its
 * writes (run-mirror.h). */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/run-mirror.h"

void run_mirror_done(RunMirror *m) {
        node_run_rows_free(m->rows, m->n);
        *m = (RunMirror) {};
}

int run_mirror_load(RunMirror *m, Db *db) {
        int r;

        if (m->loaded)
                return 0;
        r = store_node_runs_list(db, m->execution_id, &(NodeRunFilter) { .with_outputs = true }, &m->rows, &m->n);
        if (r < 0)
                return r;
        m->n_alloc = m->n;
        m->loaded = true;
        return 0;
}

static int append(RunMirror *m, NodeRunRow *row);

int run_mirror_load_created(RunMirror *m, int64_t id, const char *node_id) {
        NodeRunRow row = {
                .id = id,
                .execution_id = strdup(m->execution_id),
                .node_id = strdup(node_id),
                .iteration = strdup(""),
                .status = NODE_RUN_RUNNING,
                .attempt = 1,
        };
        int r;

        assert(!m->loaded && m->n == 0);
        r = row.execution_id && row.node_id && row.iteration ? append(m, &row) : -ENOMEM;
        node_run_row_done(&row);
        if (r < 0)
                return r;
        m->loaded = true;
        return 0;
}

static NodeRunRow *find_id(RunMirror *m, int64_t id) {
        /* The newest runs are the ones written to. */
        for (size_t i = m->n; i > 0; i--)
                if (m->rows[i - 1].id == id)
                        return m->rows + i - 1;
        return NULL;
}

static NodeRunRow *find_node(RunMirror *m, const char *node_id, const char *iteration) {
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->rows[i].node_id, node_id) && streq(m->rows[i].iteration, iteration))
                        return m->rows + i;
        return NULL;
}

/* store_node_run_offer() on an in-memory mirror: a new run, or a waiting one moving on. */
static int offer_in_memory(RunMirror *m, const char *node_id, const char *iteration, int64_t *ret_id) {
        const NodeRunRow *row = find_node(m, node_id, iteration ?: "");

        if (row && row->status != NODE_RUN_WAITING)
                return -EEXIST;
        *ret_id = row ? row->id : (int64_t) m->n + 1;
        return 0;
}

static int append(RunMirror *m, NodeRunRow *row) {
        if (m->n == m->n_alloc) {
                size_t n = MAX(m->n_alloc * 2, (size_t) 16);
                NodeRunRow *rows = reallocarray(m->rows, n, sizeof(NodeRunRow));

                if (!rows)
                        return -ENOMEM;
                m->rows = rows;
                m->n_alloc = n;
        }
        m->rows[m->n++] = *row;
        *row = (NodeRunRow) {};
        return 0;
}

/* The database changed and the mirror cannot follow (out of memory): it is read again. */
static int forget(RunMirror *m, int r) {
        /* In memory there is nothing to read it back from. */
        if (m->in_memory)
                return -ENOMEM;
        node_run_rows_free(m->rows, m->n);
        m->rows = NULL;
        m->n = m->n_alloc = 0;
        m->loaded = false;
        return r;
}

int run_mirror_offer(RunMirror *m, Db *db, const char *node_id, const char *iteration, NodeRunStatus status,
                     usec_t run_after, int64_t *ret_id) {
        NodeRunRow *row;
        int64_t id;
        int r;

        r = m->in_memory ? offer_in_memory(m, node_id, iteration, &id)
                         : store_node_run_offer(db, m->execution_id, node_id, iteration, status, run_after, &id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = id;
        if (!m->loaded)
                return 0;

        run_after = status == NODE_RUN_QUEUED ? run_after : 0;
        row = find_id(m, id);
        if (row) {
                /* A waiting run moved on. */
                row->status = status;
                row->run_after = run_after;
                return 0;
        }
        NodeRunRow fresh = {
                .id = id,
                .execution_id = strdup(m->execution_id),
                .node_id = strdup(node_id),
                .iteration = strdup(iteration ?: ""),
                .status = status,
                .run_after = run_after,
        };
        if (!fresh.execution_id || !fresh.node_id || !fresh.iteration) {
                node_run_row_done(&fresh);
                return forget(m, 0);
        }
        r = append(m, &fresh);
        node_run_row_done(&fresh);
        return r < 0 ? forget(m, 0) : 0;
}

int run_mirror_finish(RunMirror *m, Db *db, int64_t id, const NodeRunResult *result) {
        NodeRunResult with_claim = *result;
        NodeRunRow *row;
        char *route = NULL;
        int r;

        if (m->claim_unwritten == id) {
                with_claim.claim = true;
                m->claim_unwritten = 0;
        }
        r = m->in_memory ? 0 : store_node_run_finish(db, id, &with_claim);
        if (r < 0 || !m->loaded)
                return r;
        row = find_id(m, id);
        if (!row)
                return forget(m, 0);
        if (result->route && !(route = strdup(result->route)))
                return forget(m, 0);
        row->status = result->status;
        row->run_after = result->run_after;
        if (!result->keep_output) {
                json_decref(row->output);
                row->output = json_incref(result->output);
        }
        free(row->route);
        row->route = route;
        return 0;
}

int run_mirror_claim(RunMirror *m, Db *db, int64_t id) {
        NodeRunRow *row;
        int r;

        if (m->in_memory) {
                row = find_id(m, id);
                r = row && row->status == NODE_RUN_QUEUED ? 0 : -ESTALE;
        } else
                r = store_node_run_claim(db, id, !m->execution_running);
        if (r < 0)
                return r;
        m->execution_running = true;
        if (!m->loaded)
                return r;
        row = find_id(m, id);
        if (!row)
                return forget(m, 0);
        row->status = NODE_RUN_RUNNING;
        row->attempt++;
        return 0;
}

int run_mirror_claim_unwritten(RunMirror *m, Db *db, int64_t id) {
        NodeRunRow *row = m->loaded ? find_id(m, id) : NULL;

        if (!row || !m->execution_running || m->claim_unwritten != 0 || m->in_memory)
                return run_mirror_claim(m, db, id);
        if (row->status != NODE_RUN_QUEUED)
                return -ESTALE;
        row->status = NODE_RUN_RUNNING;
        row->attempt++;
        m->claim_unwritten = id;
        return 0;
}

int run_mirror_get(RunMirror *m, Db *db, int64_t id, NodeRunRow *ret) {
        const NodeRunRow *row = m->loaded ? find_id(m, id) : NULL;
        NodeRunRow copy;

        if (!row)
                return m->in_memory ? -ENOENT : store_node_run_get(db, id, ret);
        copy = (NodeRunRow) {
                .id = row->id,
                .execution_id = strdup(row->execution_id),
                .node_id = strdup(row->node_id),
                .iteration = strdup(row->iteration),
                .status = row->status,
                .attempt = row->attempt,
                .run_after = row->run_after,
                .route = row->route ? strdup(row->route) : NULL,
        };
        if (!copy.execution_id || !copy.node_id || !copy.iteration || (row->route && !copy.route)) {
                node_run_row_done(&copy);
                return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

int run_mirror_cancel(RunMirror *m, Db *db) {
        int r;

        r = m->in_memory ? 0 : store_node_runs_cancel(db, m->execution_id);
        if (r < 0 || !m->loaded)
                return r;
        for (size_t i = 0; i < m->n; i++)
                switch (m->rows[i].status) {
                case NODE_RUN_WAITING:
                case NODE_RUN_QUEUED:
                case NODE_RUN_LOOPING:
                case NODE_RUN_PAUSED:
                case NODE_RUN_AWAITING:
                        m->rows[i].status = NODE_RUN_CANCELLED;
                        break;
                default:
                        break;
                }
        return 0;
}

size_t run_mirror_count(const RunMirror *m, NodeRunStatus status) {
        size_t n = 0;

        for (size_t i = 0; i < m->n; i++)
                n += m->rows[i].status == status;
        return n;
}
