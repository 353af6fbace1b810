/* What engine.c (life cycle, executions) and orchestrator.c (one node run) share. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include <systemd/sd-event.h>

#include "broker/broker.h"
#include "common/vault.h"
#include "engine/engine.h"
#include "engine/execution-cache.h"
#include "engine/graph-cache.h"
#include "engine/platform-link.h"
#include "engine/prices.h"
#include "engine/run-plan.h"
#include "engine/topology.h"
#include "llm/llm.h"

/* Retries of a failing node, unless its extra_config says otherwise. */
#define NODE_RETRIES_DEFAULT 3
#define NODE_RETRIES_MAX 100
#define NODE_RETRY_BACKOFF_SECONDS_DEFAULT 1.0
/* The longest wait before a retry, whatever the backoff doubles up to. */
#define NODE_RETRY_DELAY_MAX_SECONDS 3600.0

typedef struct PendingStart PendingStart;
typedef struct PendingSummary PendingSummary;
typedef struct NodeRunWaker NodeRunWaker;

typedef struct Worker {
        Engine *engine;
        unsigned index;
        pthread_t thread;
        bool started, exited;
        Db *db;

        /* The run in progress, under Engine.lock, so engine_cancel() can reach it. */
        char execution_id[EXECUTION_ID_LEN + 1];
        volatile bool cancelled;
        volatile bool interrupted;      /* stopped by engine_stop(), not by a user */
} Worker;

/* What finished runs of a workflow keep (retention.c): the workflow's settings.retention
 * over the [Retention] defaults. */
typedef struct RetentionPolicy {
        bool keep_successful;   /* the data of completed runs (node outputs, logs, payload) */
        int64_t max_age_days;   /* 0: runs of any age */
        int64_t max_count;      /* 0: any number of runs */
} RetentionPolicy;

struct Engine {
        Broker *broker;
        char *database_url;
        unsigned n_workers;
        size_t max_output_size;
        unsigned max_subworkflow_depth;
        RetentionPolicy retention;
        /* The immutable part of the executions being run (execution-cache.c). */
        ExecutionCache *executions;
        /* The workflows' graphs executions start from (graph-cache.c). */
        GraphCache *graphs;
        /* Opens credentials for the components (the manager's; it outlives the engine). */
        const Vault *vault;
        /* The LLM client the agents' requests share (one network thread for all). */
        LlmClient *llm;
        /* What model calls cost (prices.h), read at start. */
        PriceTable *prices;
        /* What the platform tools need to know of this daemon (platform-link.h). */
        PlatformLink *platform;

        /* Starts the runs of schedules and counts them (scheduler.h). */
        struct Scheduler *scheduler;

        /* Pruning old runs, on the I/O thread with its connection (retention.c). */
        sd_event *event;
        Db *io_db;
        sd_event_source *prune_timer;
        int64_t prune_cursor;   /* the last workflow id looked at in this pass */

        /* Dedicated workers: pipelitd's routing, a worker process's cancels (engine-handover.c). */
        EngineHooks hooks;
        json_t *worker_label;           /* metadata.worker of the logs written here, or NULL */

        pthread_mutex_t lock;
        pthread_cond_t exited;          /* a worker thread ended */
        Worker *workers;
        PendingStart *starts;           /* engine_execute_later()'s, newest first */
        /* Summaries of runs kept in memory, waiting to be stored (summary-writer.c). */
        pthread_mutex_t summaries_lock;
        PendingSummary *summaries, **summaries_tail;
        size_t n_summaries;             /* written with the lock held, read atomically */
        usec_t summaries_since;         /* CLOCK_MONOTONIC µs when the oldest was listed */
        bool summaries_storing;         /* a worker is storing them */
        struct NodeRunWaker *suspended; /* runs waiting without a worker (orchestrator-suspend.c) */
        volatile bool stopping;
};

/* Runs one job of the queue to its commit. Errors are logged here. -EAGAIN when the job
 * could not be taken (a database error before anything changed): it should come back
 * later, on a fresh connection. */
int orchestrator_run_job(Worker *w, const BrokerJob *job);
/* Closes and reopens the worker's database connection. */
int engine_worker_reconnect(Worker *w);

/* On a worker between jobs: stores the summaries of runs kept in memory that are due
 * (summary-writer.c); idle: the worker has no job to go on with, so all are. */
void engine_store_summaries(Engine *e, Db *db, bool idle);

/* Enqueues node runs the database has just committed as queued. */
void engine_enqueue(Engine *e, const char *execution_id, const int64_t *ids, size_t n, usec_t run_at);
/* Enqueues what store_node_runs_recover() answered; a run due after its execution's deadline
 * is taken at the deadline, which times it out. */
void engine_enqueue_recovered(Engine *e, const RecoveredRun *runs, size_t n);

/* A due job that a dedicated worker should run instead (engine-handover.c): true when it
 * went there. */
bool engine_hand_over(Worker *w, const BrokerJob *job);

/* Worker bookkeeping for cancellation. */
void engine_worker_begin(Worker *w, const char *execution_id);
void engine_worker_end(Worker *w);

/* --- Starting executions (engine.c) --------------------------------------------------------- */

/* Where an execution comes from, beyond its trigger. */
typedef struct ExecutionOrigin {
        const char *parent_execution_id;        /* a subworkflow node's child */
        const char *parent_node_id;
        int64_t parent_node_run_id;
        unsigned depth;
        const char *error_of_execution_id;      /* an error handler's run */
} ExecutionOrigin;

/* The graph an execution runs and what starts it, read before its transaction. Everything
 * but run_ids is borrowed from the workflow's cached graph, which graph holds: read-only,
 * shared with other executions. */
typedef struct ExecutionStart {
        CachedGraph *graph;
        GraphStart *graph_start;        /* of graph: for its graph_id_hint alone */
        const Topology *topology;
        json_t *workflow, *topology_json, *nodes;
        PlanStep step;
        int64_t *run_ids;       /* after execution_start_insert(); owned */
        usec_t deadline;        /* CLOCK_REALTIME µs, from the request; 0: none */
        usec_t requested_at;    /* CLOCK_REALTIME µs when it was prepared */
        bool claim_entry;       /* created running, its one entry node run claimed (store) */
        bool top_level;         /* after execution_start_insert(): no origin */
} ExecutionStart;

void execution_start_done(ExecutionStart *s);
/* -EINVAL with *ret_error when the graph cannot run, -ENOENT when the workflow is gone. db
 * reads whether e's cached graph of the workflow is current (and the graph when not). */
int execution_start_prepare(Engine *e, Db *db, const EngineRequest *req, ExecutionStart *s, char **ret_error);
/* In a transaction: creates the execution id (origin may be NULL). */
int execution_start_insert(Db *db, const EngineRequest *req, const ExecutionOrigin *origin, ExecutionStart *s,
                           const char *id);
/* A top-level execution's immutable part, put in the execution cache from what the start
 * has in memory (its first node then does not read back and parse the graph). */
int execution_start_cache(Engine *e, const EngineRequest *req, const ExecutionStart *s, const char *id);
/* Ends a start that cannot happen for whoever waits on its id: an execution_failed with no
 * execution behind it, saying why as r does (-ENOLINK: the workflow is gone). */
void execution_start_failed(const char *id, int r);
/* Publishes execution_started. */
void execution_start_publish(const EngineRequest *req, const ExecutionStart *s, const char *id);
/* After the commit: publishes execution_started and enqueues the entry nodes; a top-level
 * execution goes into the execution cache from what the start has in memory, so its first
 * node does not read back and parse the graph just written. */
void execution_start_announce(Engine *e, const EngineRequest *req, const ExecutionStart *s, const char *id);
/* engine_execute() with an origin. */
int engine_execute_from(Engine *e, Db *db, const EngineRequest *req, const ExecutionOrigin *origin,
                        char ret_id[static EXECUTION_ID_LEN + 1], char **ret_error);

/* --- Executions created on a worker (start-later.c) -------------------------------------- */

/* The job of node run 0 of execution id: creates the execution engine_execute_later()
 * prepared. -EAGAIN when the database is busy or the connection broke: the job comes back. */
int engine_run_pending_start(Worker *w, const char *id);
/* Starts an execution that engine_execute_later() prepared by running its entry node before
 * the execution exists, when that node is pure or quick (component.h), and creating the
 * execution in the transaction that records the node: then a run of quick nodes, a sync
 * webhook's usually, is one transaction. 0 when the start cannot go this way (nothing was
 * done), 1 when the execution was created, negative when it could not be (nothing was
 * created). */
int orchestrator_run_first(Worker *w, const EngineRequest *req, ExecutionStart *s, const char *id);
/* Forgets the starts no worker took (the daemon exits). */
void engine_pending_starts_free(Engine *e);

/* --- The end of an execution ------------------------------------------------------------- */

/* After an execution ended (committed): its live children are cancelled unless it
 * completed, and the subworkflow node waiting for it resumes (subworkflow.c). Errors are
 * logged here. info, when the caller has it, spares the reads that find out whether it was
 * a child or a schedule's run. */
void engine_execution_ended(Engine *e, Db *db, const char *execution_id, const ExecutionInfo *info,
                            ExecutionStatus status);
/* Resumes the node run that waits for an ended child, once none of its children is live. */
int engine_resume_parent(Engine *e, Db *db, const char *parent_execution_id, int64_t node_run_id);
/* At start: children whose parent ended are cancelled, parents whose child ended resume. */
int engine_recover_children(Engine *e, Db *db);

/* --- Retention (retention.c) --------------------------------------------------------------- */

/* The policy of a workflow given its settings object (may be NULL). */
RetentionPolicy retention_policy(const Engine *e, json_t *settings);
/* Arms the pruning pass: at once, then every hour. */
int retention_start(Engine *e, Db *db);
void retention_stop(Engine *e);
