/* The execution engine: worker threads that take node runs from the broker, run their
 * components and commit what they produced, with the database as the durable record
 * (DESIGN.md "Data flow of one run").
 *
 * Each worker has a database connection of its own. A node's output, its log and the node
 * runs it makes runnable are committed in one transaction before anything is published or
 * enqueued; at start the queue is rebuilt from the database, so after a crash every
 * execution resumes where its last commit left it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/macro.h"
#include "store/db.h"
#include "store/store-executions.h"

typedef struct Broker Broker;
typedef struct Engine Engine;
typedef struct Manager Manager;

/* Reads the settings it needs from m->config ([Engine] Workers=, [Limits]
 * MaxNodeOutputSize=, [Storage] Database=). Starts nothing yet. */
int engine_new(Manager *m, Broker *broker, Engine **ret);
/* Joins the workers when engine_stop() let them finish; a worker still stuck in a node is
 * left behind (the process is about to exit) rather than freed under it. */
Engine *engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

/* True while a worker thread is still inside a node (after engine_stop() gave up waiting). */
bool engine_busy(Engine *e);

/* What the platform tools know of this daemon (platform-link.h): the manager tells it where
 * the server listens and the node limit after a reload. */
struct PlatformLink *engine_platform_link(Engine *e);

/* Recovers what a previous run of the daemon left (node runs cut off mid-way go back to
 * the queue, their attempt counted) using db, enqueues every queued node run at its
 * run_after, then starts the workers. */
int engine_start(Engine *e, Db *db);
/* Stops taking node runs; running ones are asked to stop (as if cancelled) and given
 * timeout_usec to return. Those interrupted are not committed: they run again after the
 * next start. */
void engine_stop(Engine *e, usec_t timeout_usec);

typedef struct EngineRequest {
        int64_t workflow_id;
        int64_t user_id;                /* who started it (a schedule: its creator); 0: nobody (a webhook) */
        const char *trigger_node_id;    /* the trigger that fired; NULL: run every entry node */
        json_t *trigger_payload;        /* an object; NULL: {} */
        int64_t max_seconds;            /* > 0: ends the run sooner than the workflow's
                                         * max_execution_seconds would (a schedule's timeout) */
        /* The workflow's graph as the caller just read it (graph-cache.h), which saves
         * reading it again; NULL: it is read. Borrowed for the call. */
        struct CachedGraph *graph;
} EngineRequest;

/* Creates the execution on the trigger-scoped graph of the workflow as it is now, publishes
 * execution_started and enqueues its entry nodes. Runs on the caller's thread with db.
 * -EINVAL with *ret_error (malloc'ed) when the graph cannot run (nothing connected to the
 * trigger, a cycle, …), -ENOENT when the workflow is gone. */
int engine_execute(Engine *e, Db *db, const EngineRequest *req, char ret_id[static EXECUTION_ID_LEN + 1],
                   char **ret_error);

/* As engine_execute(), but only the graph is checked on the caller's thread: the execution
 * is created on a worker, and exists once execution_started is published for ret_id. When
 * it cannot be created after all (the workflow was deleted meanwhile), execution_failed is
 * published for ret_id, with no execution behind it. For callers that answer when the
 * execution ends, not before (sync webhooks): they watch ret_id before going back to their
 * event loop. */
int engine_execute_later(Engine *e, Db *db, const EngineRequest *req, char ret_id[static EXECUTION_ID_LEN + 1],
                         char **ret_error);

/* Cancels a live execution: its queued node runs will not start and running ones are told
 * to stop; its live child executions are cancelled too. Returns 1 when cancelled, 0 when it
 * had already ended, -ENOENT. */
int engine_cancel(Engine *e, Db *db, const char *execution_id, const char *workflow_slug);

/* Answers a pending confirmation of an interrupted execution: task_id's, or (NULL) the
 * oldest. Its node run goes on with input; a node that is not a human_confirmation runs on
 * a yes and otherwise cancels the execution. Returns 1 with *ret {execution_id, status,
 * node_id, task_id}, 0 when the execution is not interrupted, -ESRCH for an unknown
 * task_id, -ENOENT. */
int engine_resume(Engine *e, Db *db, const char *execution_id, const char *workflow_slug, const char *task_id,
                  json_t *input, json_t **ret);

/* Schedules were created, changed or deleted (the API, the bus): the scheduler looks again
 * at what is due (engine/scheduler.h). On the I/O thread; e may be NULL. */
void engine_schedules_changed(Engine *e);

/* --- Dedicated workers (engine-handover.c; src/daemon/worker-pool.c, src/worker/) ---------- */

struct BrokerJob;

/* How pipelitd hands the node runs of some workflows to dedicated worker processes, and how
 * a worker process tells pipelitd of its cancels. */
typedef struct EngineHooks {
        /* Whether any job may go to a dedicated worker now (cheap, on any thread). */
        bool (*routing)(void *userdata);
        /* A due job of workflow_id, on a worker thread: true when it went to the workflow's
         * dedicated worker (or waits for it), false when this process runs it. */
        bool (*route_job)(void *userdata, int64_t workflow_id, const struct BrokerJob *job);
        /* execution_id was cancelled here: its nodes running in other processes stop too. */
        void (*cancelled)(void *userdata, const char *execution_id);
        void *userdata;
} EngineHooks;

/* Before engine_start(). */
void engine_set_hooks(Engine *e, const EngineHooks *hooks);
/* A dedicated worker's start (pipelit-worker): the LLM client and the worker threads only; no
 * recovery, pruning or schedules, which pipelitd does. */
int engine_start_workers(Engine *e);
/* The nodes of execution_id running or waiting in this process are told to stop (it was
 * cancelled in another process). */
void engine_interrupt(Engine *e, const char *execution_id);
/* A dedicated worker went away holding node runs of execution_id: they go back to this
 * process's queue, those cut off mid-way as after a crash (execution_id NULL: those of every
 * execution, as at start). db: the I/O thread's. Returns how many, or negative errno. */
int engine_take_back(Engine *e, Db *db, const char *execution_id);
/* What metadata.worker of the execution logs written here says (a dedicated worker's
 * {"workflow", "pid", "unit"?}); takes the reference. NULL in pipelitd. */
void engine_set_worker_label(Engine *e, json_t *label);
