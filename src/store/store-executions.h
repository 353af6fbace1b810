/* Executions in the database: the run itself (executions), its durable queue of node runs
 * (execution_nodes) and its log (execution_logs), answered in the API's shapes
 * (docs/api.md "Executions").
 *
 * The engine composes a node's commit from the functions marked "in a transaction": it
 * opens the transaction, calls store_execution_lock() first, and everything that follows
 * sees and changes the execution alone until the commit. Functions without that mark run
 * on their own. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"
#include "store/store-workflows.h"

typedef enum ExecutionStatus {
        EXECUTION_PENDING,
        EXECUTION_RUNNING,
        EXECUTION_INTERRUPTED,
        EXECUTION_COMPLETED,
        EXECUTION_FAILED,
        EXECUTION_CANCELLED,
        _EXECUTION_STATUS_MAX,
        _EXECUTION_STATUS_INVALID = -22,
} ExecutionStatus;

const char *execution_status_to_string(ExecutionStatus s);
ExecutionStatus execution_status_from_string(const char *s);
/* pending, running and interrupted executions may still change. */
bool execution_status_is_live(ExecutionStatus s);

typedef enum NodeRunStatus {
        NODE_RUN_WAITING,       /* offered, waits for its other parents */
        NODE_RUN_QUEUED,
        NODE_RUN_RUNNING,
        NODE_RUN_LOOPING,       /* a loop whose body runs */
        NODE_RUN_DONE,
        NODE_RUN_FAILED,
        NODE_RUN_RULED_OUT,
        NODE_RUN_CANCELLED,
        NODE_RUN_PAUSED,        /* waits for a person's answer (human confirmation) */
        NODE_RUN_AWAITING,      /* a subworkflow node waiting for its child execution */
        _NODE_RUN_STATUS_MAX,
        _NODE_RUN_STATUS_INVALID = -22,
} NodeRunStatus;

const char *node_run_status_to_string(NodeRunStatus s);
NodeRunStatus node_run_status_from_string(const char *s);

/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define EXECUTION_ID_LEN 36
int execution_id_new(char ret[static EXECUTION_ID_LEN + 1]);
bool execution_id_is_valid(const char *s);

/* --- Creating ------------------------------------------------------------------------------ */

typedef struct ExecutionNew {
        int64_t workflow_id;
        int64_t user_id;                /* 0: none */
        const char *trigger_node_id;    /* may be NULL */
        json_t *trigger_payload;
        /* The graph it runs, kept once per workflow version and trigger (execution_graphs):
         * topology_to_json() and {node_id: {component_type, label, config}}. */
        int64_t graph_version;
        json_t *topology;
        json_t *nodes;
        /* The execution_graphs row of this graph as an earlier insert gave it, or 0. It is
         * checked, not trusted: a stale one only costs a lookup. */
        int64_t graph_id_hint;
        usec_t deadline;                /* CLOCK_REALTIME µs; 0: none */
        const char *const *run;         /* entry nodes to queue, NULL-terminated */
        const char *const *wait;        /* entry nodes waiting for a parent */
        /* A child execution: the execution and the subworkflow node run that wait for it. */
        const char *parent_execution_id;
        const char *parent_node_id;
        int64_t parent_node_run_id;
        unsigned depth;                 /* 0 for a top-level execution */
        /* An error handler's run: the execution whose failure it handles. */
        const char *error_of_execution_id;
        /* The execution starts running, and its one entry node run with it (attempt 1): the
         * creator runs that node itself. */
        bool claim_entry;
} ExecutionNew;

/* Creates a pending execution and its entry node runs in one transaction. id is from
 * execution_id_new(); *ret_run_ids (malloc'ed, one per e->run) get the queued rows' ids. */
int store_execution_create(Db *db, const char *id, const ExecutionNew *e, int64_t **ret_run_ids);
/* The same inside the caller's transaction (a subworkflow node creating its child).
 * *ret_graph_id (unless NULL) gets the graph's row, the hint for the next insert. */
int store_execution_insert(Db *db, const char *id, const ExecutionNew *e, int64_t **ret_run_ids,
                           int64_t *ret_graph_id);

/* --- Running (in a transaction) -------------------------------------------------------- */

typedef struct ExecutionState {
        ExecutionStatus status;
        usec_t deadline;                /* CLOCK_REALTIME µs; 0: none */
} ExecutionState;

/* Serialises the callers of one execution for the rest of the transaction and reads its
 * state. This is the one place where the backends differ: SQLite's BEGIN IMMEDIATE
 * already holds the whole database, PostgreSQL locks the execution's row. -ENOENT. */
int store_execution_lock(Db *db, const char *id, ExecutionState *ret);

/* What does not change during a run: the graph, the settings of its nodes, the trigger. */
typedef struct ExecutionInfo {
        char *id;
        int64_t workflow_id;
        char *workflow_slug;
        char *trigger_node_id;          /* may be NULL */
        json_t *trigger_payload;
        json_t *topology;
        json_t *nodes;
        int64_t user_id;                /* 0: nobody */
        usec_t deadline;                /* CLOCK_REALTIME µs; 0: none (fixed at the start) */
        unsigned depth;
        char *parent_execution_id;      /* NULL for a top-level execution */
        int64_t parent_node_run_id;     /* 0 when none */
        char *error_of_execution_id;    /* NULL unless an error handler's run */
        /* For a child: the top-level execution above it, its workflow, and the node of it
         * that (through any number of generations) started this one. */
        char *root_execution_id, *root_workflow_slug, *root_node_id;
} ExecutionInfo;

void execution_info_done(ExecutionInfo *i);
/* Needs no transaction. -ENOENT. */
int store_execution_info(Db *db, const char *id, ExecutionInfo *ret);
/* In a transaction: a top-level execution that ran without being stored and completed,
 * recorded as store_execution_drop_data() leaves one — its summary, no node runs, no logs
 * (keep_successful "none"): info's id, workflow, user and trigger node. */
int store_execution_insert_completed(Db *db, const ExecutionInfo *info, usec_t started_at, json_t *final_output);

typedef struct NodeRunRow {
        int64_t id;
        char *execution_id;
        char *node_id;
        char *iteration;                /* "" outside loop bodies */
        NodeRunStatus status;
        unsigned attempt;
        usec_t run_after;               /* CLOCK_REALTIME µs; 0: now */
        json_t *output;                 /* NULL when none (or not asked for) */
        char *route;                    /* NULL when none */
} NodeRunRow;

void node_run_row_done(NodeRunRow *r);
void node_run_rows_free(NodeRunRow *rows, size_t n);

/* -ENOENT. */
int store_node_run_get(Db *db, int64_t id, NodeRunRow *ret);
typedef struct NodeRunFilter {
        const char *const *iterations;  /* NULL-terminated; NULL: any iteration */
        const char *const *node_ids;    /* NULL-terminated; NULL: any node */
        bool with_outputs;
} NodeRunFilter;

/* The node runs of the execution that pass filter (NULL: all, without outputs), in
 * creation order. */
int store_node_runs_list(Db *db, const char *execution_id, const NodeRunFilter *filter, NodeRunRow **ret,
                         size_t *ret_n);
/* How many node runs wait in the queue, over all executions (those due later included). */
int store_node_runs_queued(Db *db, int64_t *ret);
/* How many node runs of the execution have status. */
int store_node_runs_count(Db *db, const char *execution_id, NodeRunStatus status, int64_t *ret);

/* queued → running, attempt + 1, started_at now. With start_execution, the execution
 * becomes running if it is pending (a caller that knows it runs already saves a write). */
int store_node_run_claim(Db *db, int64_t id, bool start_execution);
/* Creates the run of node_id in iteration with status (waiting, queued, ruled_out), or
 * moves an existing waiting one to it; run_after (µs, 0 = now) only for queued. *ret_id
 * (may be NULL) gets the row's id. */
int store_node_run_offer(Db *db, const char *execution_id, const char *node_id, const char *iteration,
                         NodeRunStatus status, usec_t run_after, int64_t *ret_id);

typedef struct NodeRunResult {
        NodeRunStatus status;
        json_t *output;                 /* may be NULL */
        const char *route;              /* may be NULL */
        const char *error, *error_code; /* may be NULL */
        usec_t run_after;               /* for a retry (queued again) */
        bool keep_output;               /* output stays as stored (a retry: what a run parked
                                         * with is kept for its next attempt) */
        bool claim;                     /* its claim was never written: this counts the
                                         * attempt and sets started_at too */
} NodeRunResult;

/* Writes what a run left: status, output, route, error, run_after. */
int store_node_run_finish(Db *db, int64_t id, const NodeRunResult *result);
/* Marks every waiting, queued, looping, paused and awaiting run of the execution
 * cancelled (running ones are marked by their own commit). */
int store_node_runs_cancel(Db *db, const char *execution_id);
typedef struct ExecutionLogEntry {
        const char *execution_id, *node_id;
        const char *status;             /* completed, failed, cancelled */
        json_t *input, *output;         /* may be NULL */
        const char *error, *error_code; /* may be NULL */
        json_t *metadata;               /* may be NULL: {} */
        unsigned retry_count;
        uint64_t duration_ms;
} ExecutionLogEntry;

int store_execution_log_add(Db *db, const ExecutionLogEntry *e);

/* What the execution's model calls cost so far: tokens, calls, USD. */
typedef struct ExecutionUsage {
        int64_t tokens;
        int64_t llm_calls;
        double cost_usd;
} ExecutionUsage;

/* In a transaction. Adds a node's usage to the execution's totals and to those of every
 * execution above it (its parent, the parent's parent, …). */
int store_execution_add_usage(Db *db, const char *id, const ExecutionUsage *usage);

/* Ends the execution: completed with final_output, or failed/cancelled with an error.
 * Only a live execution changes; returns 1 when it did (with its usage totals in
 * *ret_usage unless NULL), 0 when it had already ended. Its pending confirmations go with
 * it. */
int store_execution_finish(Db *db, const char *id, ExecutionStatus status, json_t *final_output,
                           const char *error, const char *error_code, ExecutionUsage *ret_usage);

/* --- Recovery ---------------------------------------------------------------------------- */

typedef struct RecoveredRun {
        char execution_id[EXECUTION_ID_LEN + 1];
        int64_t node_run_id;
        usec_t run_after;
        usec_t deadline;        /* the execution's; 0: none */
} RecoveredRun;

/* For a start after a crash (execution_id NULL), or for one execution whose dedicated worker
 * went away: the running node runs of live executions go back to queued (their attempt
 * stays counted), then every queued run of a live execution is answered, and every paused
 * or awaiting one (due at its run_after: a confirmation's expiry, the execution's
 * deadline). *ret_n is 0 for an execution that ended. */
int store_node_runs_recover(Db *db, const char *execution_id, RecoveredRun **ret, size_t *ret_n);

/* --- The API ------------------------------------------------------------------------------- */

typedef struct ExecutionFilter {
        const char *workflow_slug;      /* may be NULL */
        const char *status;             /* may be NULL */
        int64_t limit, offset;
} ExecutionFilter;

/* ExecutionOut list, newest first, of the executions of workflows the caller can see. */
int store_execution_list(Db *db, const StoreCaller *caller, const ExecutionFilter *f, json_t **ret_items,
                         int64_t *ret_total);
/* ExecutionOut + final_output, trigger_payload and logs. -ENOENT when absent or not the
 * caller's to see. */
int store_execution_get(Db *db, const StoreCaller *caller, const char *id, json_t **ret);
/* {execution_id, workflow, status, started_at, completed_at, final_output, error_message}. */
int store_execution_status(Db *db, const StoreCaller *caller, const char *id, json_t **ret);
/* The workflow slug of an execution the caller can see; -ENOENT. */
int store_execution_workflow_slug(Db *db, const StoreCaller *caller, const char *id, char **ret_slug);
/* Deletes those of ids (a JSON array of strings) the caller can see, logs and node runs
 * with them, in one transaction. */
int store_execution_delete_many(Db *db, const StoreCaller *caller, json_t *ids, int64_t *ret_deleted);

/* 1 when some execution has not ended (pending, running, or interrupted and waiting for
 * its confirmation or deadline), 0 when none, or negative errno. */
int store_executions_unfinished(Db *db);
/* How many executions have not ended (pending, running, interrupted). */
int store_executions_live_count(Db *db, int64_t *ret);
