/* One node run from the queue to its commit (orchestrator.c), and the transactions that
 * commit it (orchestrator-commit.c).
 *
 * A commit runs inside one transaction that starts with store_execution_lock(). What it
 * decides to do afterwards — enqueue node runs, publish events — is collected in the Job
 * and done only once the transaction committed (job_after_commit()), so nothing is
 * announced that the database does not hold. */
#pragma once

#include <jansson.h>

#include "engine/component.h"
#include "engine/engine-internal.h"
#include "engine/topology.h"

typedef struct PendingRun {
        int64_t id;
        usec_t run_at;          /* CLOCK_REALTIME µs; 0: now */
} PendingRun;

typedef struct Job {
        Engine *engine;
        Worker *worker;
        Db *db;
        BrokerJob broker_job;

        ExecutionInfo info;
        Topology *topology;
        NodeRunRow row;         /* the node run, as read at the claim */
        json_t *node;           /* {component_type, label, config} (borrowed from info.nodes) */
        const char *component_type;
        usec_t deadline;        /* CLOCK_REALTIME µs; 0: none */

        /* The innermost loop of row.iteration: its id, the scope around it, the index. */
        char *loop_id, *loop_outer;
        unsigned loop_index;

        /* Collected in the transaction, acted on after the commit. */
        PendingRun *pending;
        size_t n_pending, n_pending_alloc;
        json_t *events;         /* [[type, data], …] */
} Job;

void job_done(Job *j);
/* Forgets what a failed transaction had collected. */
void job_reset_pending(Job *j);
void job_after_commit(Job *j);

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

/* --- Commits (orchestrator-commit.c); each opens and commits its own transaction --------- */

typedef struct NodeOutcome {
        json_t *input;          /* for the log; may be NULL */
        json_t *output;         /* success */
        const char *route;
        usec_t delay_usec;
        json_t *loop_items;
        const char *error, *error_code; /* failure */
        bool retryable;
        uint64_t duration_ms;
} NodeOutcome;

int commit_success(Job *j, const NodeOutcome *o);
int commit_failure(Job *j, const NodeOutcome *o);
/* The execution ran out of time: it fails with error_code "timeout". claimed: the node
 * run of the job had started (it fails too; otherwise it is cancelled with the rest). */
int commit_timeout(Job *j, bool claimed);
