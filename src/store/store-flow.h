/* Flow control in the database: executions paused for a person's answer (pending
 * confirmations), child executions of subworkflow nodes, and retention (what a finished run
 * keeps, and pruning old runs). Complements store-executions.h; the same marks apply:
 * functions "in a transaction" expect the caller's transaction, opened with
 * store_execution_lock() of the execution they change. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"
#include "store/store-executions.h"

/* --- Pauses -------------------------------------------------------------------------------- */

#define CONFIRMATION_TASK_ID_LEN 16

typedef struct ConfirmationNew {
        const char *execution_id;
        int64_t node_run_id;
        const char *node_id;
        const char *prompt;
        usec_t expires_at;
} ConfirmationNew;

/* In a transaction. Records the question; the execution's user is the one asked. */
int store_confirmation_add(Db *db, const ConfirmationNew *c, char ret_task_id[static CONFIRMATION_TASK_ID_LEN + 1]);

typedef struct Confirmation {
        char task_id[CONFIRMATION_TASK_ID_LEN + 1];
        char *node_id;
        int64_t node_run_id;
} Confirmation;

void confirmation_done(Confirmation *c);
/* The confirmation task_id of the execution, or (task_id NULL) its oldest one. -ENOENT. */
int store_confirmation_find(Db *db, const char *execution_id, const char *task_id, Confirmation *ret);
/* Forgets the question a node run asked. */
int store_confirmation_delete_run(Db *db, int64_t node_run_id);
int store_confirmations_count(Db *db, const char *execution_id, int64_t *ret);
/* [{task_id, node_id, prompt, created_at, expires_at}], oldest first. */
int store_confirmations_json(Db *db, const char *execution_id, json_t **ret);

/* In a transaction. Moves the execution from status from to status to; returns 1 when it
 * did, 0 when it was not in status from. */
int store_execution_set_status(Db *db, const char *id, ExecutionStatus from, ExecutionStatus to);

/* In a transaction. A paused or awaiting run (from) goes back to queued, due now, to run
 * again as the same attempt; resume_input (may be NULL) is kept for it. -ESTALE when the run
 * is not in status from. */
int store_node_run_resume(Db *db, int64_t id, NodeRunStatus from, json_t *resume_input);
/* The answer a run was resumed with; *ret NULL when none. */
int store_node_run_resume_input(Db *db, int64_t id, json_t **ret);

/* --- Children ------------------------------------------------------------------------------ */

typedef struct ChildExecution {
        char id[EXECUTION_ID_LEN + 1];
        char *workflow_slug;
        ExecutionStatus status;
        json_t *final_output;           /* NULL when none */
        char *error_message, *error_code;
} ChildExecution;

void child_execution_done(ChildExecution *c);
/* The child the subworkflow node run started (its latest). -ENOENT when it started none. */
int store_execution_child_of(Db *db, int64_t node_run_id, ChildExecution *ret);
/* The child execution id. -ENOENT. */
int store_execution_child_get(Db *db, const char *id, ChildExecution *ret);
/* How many child executions of the node run have not ended. */
int store_node_run_live_children(Db *db, int64_t node_run_id, int64_t *ret);
/* The output kept in a node run's row (a run parked for its children keeps its state
 * there); *ret NULL when none. -ENOENT. */
int store_node_run_output(Db *db, int64_t id, json_t **ret);
/* The parent execution and the node run that waits for this one; -ENOENT when the
 * execution is no child (or its parent is gone). */
int store_execution_parent(Db *db, const char *id, char **ret_parent_id, int64_t *ret_node_run_id);
/* [[execution_id, workflow_slug]] of the live children of an execution. */
int store_executions_live_children(Db *db, const char *parent_id, json_t **ret);
/* [[execution_id, workflow_slug]] of live children whose parent has ended: what a crash
 * left between a parent's end and its children's cancel. */
int store_executions_orphaned(Db *db, json_t **ret);
/* [[parent_execution_id, node_run_id]] of awaiting node runs of live executions whose
 * children have all ended: what a crash left between a child's end and its parent's
 * resume. */
int store_node_runs_awaiting_ended(Db *db, json_t **ret);

/* [{execution_id, workflow_slug, parent_node_id, status}] of an execution's children,
 * oldest first (for the API's detail). */
int store_execution_children_json(Db *db, const char *id, json_t **ret);

/* The workflow a subworkflow node of workflow caller_workflow_id may start: by slug, or by
 * id when slug is NULL, among the workflows its owner may see (theirs; all of them for an
 * admin). -ENOENT. */
int store_workflow_find_callable(Db *db, int64_t caller_workflow_id, const char *slug, int64_t id,
                                 int64_t *ret_id);

/* --- Retention ----------------------------------------------------------------------------- */

/* The workflow's settings object ({} when none or unreadable). -ENOENT. */
int store_workflow_settings(Db *db, int64_t workflow_id, json_t **ret);
/* In a transaction. What a finished run does not keep: its node runs (with their outputs),
 * logs, trigger payload and graph; the row with status, times and final_output stays. */
int store_execution_drop_data(Db *db, const char *id);
/* [[id, settings]] of up to limit workflows with ids above after_id, by id. */
int store_workflows_settings_page(Db *db, int64_t after_id, int64_t limit, json_t **ret);
/* Deletes up to batch finished executions of the workflow: those beyond the keep_count
 * newest (keep_count < 0: none for that reason), then those created before created_before
 * (0: none). Their node runs, logs and confirmations go with them. */
int store_executions_prune(Db *db, int64_t workflow_id, int64_t keep_count, usec_t created_before, int64_t batch,
                           int64_t *ret_deleted);
/* Deletes the stored graphs of the workflow's older versions that no execution runs any
 * more (execution_graphs; those executions were deleted or dropped their data). The
 * current version's stay for the executions still to come. *ret_deleted (unless NULL):
 * how many went. */
int store_execution_graphs_prune(Db *db, int64_t workflow_id, int64_t *ret_deleted);
