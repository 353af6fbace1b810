/* One node run from the queue to its commit (orchestrator.c), and the transactions that
 * commit it (orchestrator-commit.c).
 *
 * A commit runs inside one transaction that starts with store_execution_lock(). What it
 * decides to do afterwards — enqueue node runs, publish events — is collected in the Job
 * and done only once the transaction committed (job_after_commit()), so nothing is
 * announced that the database does not hold. */
#pragma once

#include <errno.h>
#include <jansson.h>

#include "engine/component.h"
#include "engine/engine-internal.h"
#include "engine/execution-cache.h"
#include "engine/run-mirror.h"
#include "engine/topology.h"
#include "store/store-flow.h"

/* A child execution a subworkflow node starts: prepared before the commit that creates it
 * (subworkflow.c), announced after it. */
typedef struct ChildStart {
        EngineRequest request;
        ExecutionOrigin origin;
        ExecutionStart start;
        char id[EXECUTION_ID_LEN + 1];
        char *trigger_node_id;
        json_t *payload;
        bool existing;          /* already created: only wait for it again */
} ChildStart;

ChildStart *child_start_free(ChildStart *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ChildStart *, child_start_free);

/* The children a run parks for (component.h node_run_await_children()): prepared before
 * the commit that creates them (spawn.c), announced after it. */
typedef struct ChildBatch {
        ChildStart **starts;    /* n, in the order asked for; NULL for one that cannot start */
        size_t n;
        /* What the run's row holds while it waits, as its output: {"awaiting_children":
         * [{workflow_slug, execution_id} or {workflow_slug, error}], "kept_state": …}. */
        json_t *parked_output;
} ChildBatch;

ChildBatch *child_batch_free(ChildBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(ChildBatch *, child_batch_free);

typedef struct PendingRun {
        int64_t id;
        usec_t run_at;          /* CLOCK_REALTIME µs; 0: now */
} PendingRun;

typedef struct Job {
        Engine *engine;
        Worker *worker;
        Db *db;
        BrokerJob broker_job;

        /* The execution's immutable part, shared with other jobs through the cache: info
         * and topology are borrowed from it and read-only. */
        CachedExecution *execution;
        ExecutionInfo info;
        const Topology *topology;
        NodeRunRow row;         /* the node run, as read at the claim */
        json_t *node;           /* {component_type, label, config} (borrowed from info.nodes) */
        const char *component_type;
        usec_t deadline;        /* CLOCK_REALTIME µs; 0: none */
        /* A quick node run started unclaimed: its commit claims it (begin_locked()). */
        bool claim_at_commit;
        /* The outcome's ledger entry is in the transaction just committed (record_success()). */
        bool ledger_written;
        /* The entry node of an execution not created yet (orchestrator_run_first()): the
         * job's first transaction creates it (job_create_execution()). NULL once it is in the
         * database. */
        const EngineRequest *start_request;
        ExecutionStart *start;
        /* In a commit's transaction: the execution's node runs as it sees them. Every write
         * of node runs in the transaction goes through it. */
        RunMirror *mirror;
        RunMirror own_mirror;

        /* The innermost loop of row.iteration: its id, the scope around it, the index. */
        char *loop_id, *loop_outer;
        unsigned loop_index;

        /* Collected in the transaction, acted on after the commit. */
        PendingRun *pending;
        size_t n_pending, n_pending_alloc;
        json_t *events;         /* [[type, data], …] */
        ChildStart *child;      /* borrowed: a child execution created */
        ChildBatch *children;   /* borrowed: child executions created */
        ChildStart *handler;    /* owned: the error handler's run created */
        ExecutionStatus ended;  /* how the execution ended; EXECUTION_PENDING: it did not */
        json_t *final_output;   /* a run kept in memory that completed: its final output */
} Job;

void job_done(Job *j);
/* Points the job at one of its execution's node runs: reads the row, finds the node. */
int job_load_run(Job *j, int64_t node_run_id);
/* Node runs of the job's execution: those that pass the filter, read from the database, or
 * (in a transaction whose mirror is enabled) every run of the execution, borrowed from the
 * mirror — the scope functions pick what counts. */
typedef struct RunRows {
        NodeRunRow *rows;
        size_t n;
        bool borrowed;
} RunRows;

void run_rows_done(RunRows *r);
int job_node_runs(Job *j, const NodeRunFilter *filter, RunRows *ret);

/* How the job's node may be scheduled; a node that pauses first is effectful. */
ComponentKind job_kind(const Job *j);
/* Forgets what a failed transaction had collected. */
void job_reset_pending(Job *j);
void job_after_commit(Job *j);
/* Publishes events ([[type, data], …], as a Job collects them) of the execution. */
void execution_events_publish(const ExecutionInfo *info, json_t *events);

int job_add_pending(Job *j, int64_t id, usec_t run_at);
/* Queues an event for after the commit; takes data. */
int job_add_event(Job *j, const char *type, json_t *data);
/* node_status data: {node_id, status, component_type, display_name, node_label, iteration?}. */
json_t *job_node_status(const Job *j, const char *node_id, const char *iteration, const char *status);

/* A setting of the node's stored (unrendered) extra_config. */
json_t *job_setting(const Job *j, const char *key);
/* The extra_config setting of another node of the run. */
json_t *job_node_setting(const Job *j, const char *node_id, const char *key);
double setting_number(json_t *v, double def);
/* 1 + extra_config.retries (default NODE_RETRIES_DEFAULT, at most NODE_RETRIES_MAX). */
unsigned job_max_attempts(const Job *j);
bool setting_bool(json_t *v, bool def);

/* --- Parking: a node run that waits without holding a worker ------------------------------- */

/* The node pauses for a person's answer before it runs: a human_confirmation, or any node
 * with interrupt_before (confirmation.c). */
bool job_pauses(const Job *j);
/* The node pauses for a person's answer after it ran, before its successors (interrupt_after). */
bool job_interrupts_after(const Job *j);
/* The question (extra_config.prompt, rendered, or a generic one) and when it expires. */
int confirmation_prepare(Job *j, const NodeRun *run, char **ret_prompt, usec_t *ret_expires_at);
/* The child a subworkflow node starts (subworkflow.c). On a mistake in its settings, or past
 * the limit of generations, returns -EINVAL with *ret_error (malloc'ed) and
 * *ret_error_code. */
int subworkflow_prepare(Job *j, const NodeRun *run, ChildStart **ret, char **ret_error, const char **ret_error_code);
/* A child of the job's run: workflow_id (called name in messages) from trigger_node_id with
 * payload (both copied), one generation below. -EINVAL with *ret_error when its graph
 * cannot run or it is gone. */
int child_start_new(Job *j, int64_t workflow_id, const char *name, const char *trigger_node_id, json_t *payload,
                    ChildStart **ret, char **ret_error);

/* Runs that park for several children (spawn.c). The children the component asked for
 * (run->await_children), prepared; those that cannot start are noted in the batch. */
int spawn_prepare(Job *j, const NodeRun *run, ChildBatch **ret);

/* In the transaction that fails the execution: creates its error handler's run when its
 * workflow names one with a trigger_error node (error-handler.c). 1 with *ret, 0 when none
 * runs. */
int error_handler_insert(Job *j, const char *error, const char *error_code, ChildStart **ret);

/* --- Commits (orchestrator-commit.c); each opens and commits its own transaction --------- */

/* In a transaction, for a job whose execution is not created yet (j->start): creates it,
 * running, with the job's run (its entry node's) claimed, and points the job at that run. */
int job_create_execution(Job *j);

typedef struct NodeOutcome {
        json_t *input;          /* for the log; may be NULL */
        json_t *output;         /* success */
        const char *route;
        usec_t delay_usec;
        json_t *loop_items;
        const char *error, *error_code; /* failure */
        bool retryable;
        uint64_t duration_ms;
        /* Parked instead: paused with a question until expires_at, or waiting for child. */
        bool pause;
        /* Succeeded, and pauses with a question before its successors run (interrupt_after). */
        bool pause_after;
        /* The answer came to a node that paused after it ran: its kept output goes on. */
        bool resumed_after;
        const char *prompt;
        usec_t expires_at;
        ChildStart *child;
        ChildBatch *children;   /* parks until they all ended */
        /* Success: a model call for the usage ledger, written in the same transaction. */
        const struct BudgetLedgerEntry *ledger_entry;
} NodeOutcome;

/* A node's run: its component's inputs and what it left, and the outcome built from them,
 * which points into both. */
typedef struct JobResult {
        NodeRun run;
        NodeOutcome outcome;
        char *message, *template_error, *park_text;
        json_t *kept_output;    /* interrupt_after: the output it paused with */
        char *kept_route;
        ChildStart *child;
        ChildBatch *children;
        /* A suspended run keeps its execution's graph alive: run and the component's state
         * borrow from it. */
        CachedExecution *pinned;
        NodeRunRow row;         /* a suspended run's, for its resume (job_component_ended()) */
        /* When the component first ran: kept through suspensions, so that the node's
         * duration counts the time it waited, on the model say, not only its last resume. */
        usec_t started;
        bool interrupted;       /* stopped by engine_stop(): nothing to commit */
} JobResult;

void job_result_done(JobResult *res);
/* job_execute() and job_component_ended(): the component suspended (res moved into its
 * waker), nothing to commit now. */
#define JOB_SUSPENDED 1
/* Prepares and runs the job's component (or parks it) on this thread. */
int job_execute(Job *j, JobResult *res);
/* The component's run() or resume() returned r: the outcome to commit, or JOB_SUSPENDED. */
int job_component_ended(Job *j, JobResult *res, int r);

/* --- Suspended runs (orchestrator-suspend.c; component.h node_run_suspend()) ------------ */

/* A waker for the job's run, not listed until parked. NULL on ENOMEM. */
NodeRunWaker *suspension_new(const Job *j);
/* Frees a waker that was not parked (the run finished without suspending). */
void suspension_drop(NodeRunWaker *w);
/* The run suspended: res moves into the waker, which is listed; woken already, it is
 * queued at once; cancelled since its run() returned (j's worker says so), it is asked to
 * stop waiting. */
void suspension_park(NodeRunWaker *w, const Job *j, JobResult *res);
/* The woken waker of node_run_id, taken off the list; NULL and *ret_waiting when it is
 * listed but not woken yet. */
NodeRunWaker *suspension_take(Engine *e, int64_t node_run_id, bool *ret_waiting);
/* Moves the run back out of a taken waker and frees the waker; *ret_cancelled: a cancel
 * came while it waited. */
void suspension_unpark(NodeRunWaker *w, JobResult *res, bool *ret_cancelled);
/* Whether node_run_id waits here, suspended (its job must come back to this process). */
bool suspension_listed(Engine *e, int64_t node_run_id);
/* engine_cancel(): asks the suspended runs of the execution to stop waiting, and marks
 * those woken already, whose resume learns it from the waker. */
void suspensions_cancel(Engine *e, const char *execution_id);
/* engine_free(): drops every suspended run (they run again after the next start). */
void suspensions_free(Engine *e);

/* In the transaction of a commit: runs the quick node runs it made due (see
 * COMPONENT_QUICK), each recorded in the same transaction, within a budget. Their
 * events and successors are added to j's (orchestrator-inline.c). */
int job_run_inline(Job *j);
/* In the transaction: records a claimed node run's outcome, success or failure, and
 * advances the execution (what commit_success() and commit_failure() do after the lock). */
int record_outcome(Job *j, const NodeOutcome *o);

/* A run kept in memory (orchestrator-memory.c) reached what only the database can hold:
 * a failure, a pause, a node that is not quick. What it did is dropped and done again,
 * stored. */
#define JOB_NEEDS_STORE (-EXFULL)
/* A job whose execution is not created yet (j->start), for a workflow that keeps nothing of
 * its successful runs: records the outcome and runs the quick nodes after it in memory.
 * When that completes the execution, stores only its summary and returns 0; else forgets
 * it all and returns JOB_NEEDS_STORE (or another negative errno). */
int commit_in_memory(Job *j, const NodeOutcome *o);
/* Lists the summary of the job's run kept in memory, which completed, to be stored with
 * others and its events published after that (summary-writer.c): on this thread when a
 * batch is due, else by the worker that stores the next one, within about a millisecond.
 * Takes the job's final output and events. */
int job_store_summary(Job *j);

int commit_success(Job *j, const NodeOutcome *o);
int commit_failure(Job *j, const NodeOutcome *o);
/* The node run pauses (o->pause) or waits for its child (o->child) or children
 * (o->children). */
int commit_park(Job *j, const NodeOutcome *o);
/* In the transaction of commit_park(): creates the batch's children and parks the run
 * until they ended (spawn.c). */
int spawn_park(Job *j, ChildBatch *b);
/* For a run taken again: when it parked for children, 0 with run->awaited_state and
 * run->children_results once they all ended, or 1 when some still run (res->outcome then
 * parks it again); 0 with nothing set for any other run. */
int spawn_resume(Job *j, JobResult *res);
/* A paused node run got no answer in time: it fails with error_code "expired". */
int commit_expired(Job *j);
/* The execution ran out of time: it fails with error_code "timeout". claimed: the node
 * run of the job had started (it fails too; otherwise it is cancelled with the rest). */
int commit_timeout(Job *j, bool claimed);
