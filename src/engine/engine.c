/* The engine's life: worker threads, recovery at start, a clean stop; and the two things
 * the API asks of it, starting and cancelling an execution. One node run's journey is
 * orchestrator.c. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "engine/events.h"
#include "engine/orchestrator.h"
#include "engine/run-plan.h"
#include "engine/scheduler.h"
#include "engine/workspaces.h"
#include "llm/llm.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"

/* How long a worker blocks in the queue before looking around again. */
#define DEQUEUE_TIMEOUT_USEC (5ULL * 1000 * 1000)
/* A job that met a broken database connection comes back this much later. */
#define RETRY_AFTER_DB_ERROR_USEC (1ULL * 1000 * 1000)
/* Executions whose graph stays parsed, per worker: more than run side by side, usually. */
#define EXECUTION_CACHE_SIZE_PER_WORKER 16
/* Workflows whose graph stays parsed for the next start. */
#define GRAPH_CACHE_SIZE 256

/* The price table the agents cost their calls with: a broken file refuses the start, a
 * missing one leaves every model's cost unknown. */
static int engine_load_prices(Engine *e, const char *configured) {
        _cleanup_free_ char *path = NULL, *error = NULL;
        int r;

        r = price_table_load_default(configured, &e->prices, &path, &error);
        if (r == -ENOENT) {
                log_warning("No price table at %s or %s: model calls are counted at $0 (cost_known: false).",
                            PRICE_TABLE_OPERATOR_PATH, PRICE_TABLE_PACKAGE_PATH);
                return 0;
        }
        if (r == -EINVAL) {
                log_error("Cannot read the price table: %s", error ?: "invalid");
                return r;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot read the price table: %m");
        log_debug("Prices of %zu models from %s.", price_table_size(e->prices), path);
        return 0;
}

int engine_new(Manager *m, Broker *broker, Engine **ret) {
        _cleanup_(engine_freep) Engine *e = NULL;
        int r;

        e = calloc(1, sizeof(Engine));
        if (!e)
                return -ENOMEM;
        pthread_mutex_init(&e->lock, NULL);
        pthread_mutex_init(&e->summaries_lock, NULL);
        e->summaries_tail = &e->summaries;
        pthread_cond_init(&e->exited, NULL);
        e->broker = broker;
        e->n_workers = m->config.workers;
        e->max_output_size = m->config.max_node_output_size;
        e->max_subworkflow_depth = m->config.max_subworkflow_depth;
        e->retention = (RetentionPolicy) {
                .keep_successful = m->config.retention_keep_successful,
                .max_age_days = m->config.retention_max_age_days,
                .max_count = m->config.retention_max_count,
        };
        e->event = sd_event_ref(m->event);
        e->database_url = strdup(m->config.database);
        e->workers = calloc(e->n_workers + 1, sizeof(Worker));
        if (!e->database_url || !e->workers)
                return -ENOMEM;
        r = execution_cache_new(EXECUTION_CACHE_SIZE_PER_WORKER * (e->n_workers + 1), &e->executions);
        if (r < 0)
                return r;
        r = graph_cache_new(GRAPH_CACHE_SIZE, &e->graphs);
        if (r < 0)
                return r;
        e->vault = m->vault;
        /* The agents' workspaces (run_command) live in the state directory. */
        r = m->config.state_directory ? workspaces_init(m->config.state_directory) : 0;
        if (r < 0)
                return r;
        r = llm_client_new(NULL, &e->llm);
        if (r < 0)
                return r;
        r = engine_load_prices(e, m->config.price_table);
        if (r < 0)
                return r;
        r = platform_link_new(m->config.max_nodes_per_workflow, &e->platform);
        if (r < 0)
                return r;
        r = scheduler_new(e, m->event, &e->scheduler);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < e->n_workers; i++)
                e->workers[i] = (Worker) { .engine = e, .index = i };

        *ret = TAKE_PTR(e);
        return 0;
}

static bool engine_all_exited(Engine *e) {
        for (unsigned i = 0; i < e->n_workers; i++)
                if (e->workers[i].started && !e->workers[i].exited)
                        return false;
        return true;
}

PlatformLink *engine_platform_link(Engine *e) {
        return e ? e->platform : NULL;
}

bool engine_busy(Engine *e) {
        bool all_exited;

        pthread_mutex_lock(&e->lock);
        all_exited = engine_all_exited(e);
        pthread_mutex_unlock(&e->lock);
        return !all_exited;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        if (engine_busy(e)) {
                /* A worker is still inside a component: freeing would pull its state from
                 * under it. The process is exiting; let it. */
                log_warning("Leaving a worker thread still running a node behind.");
                return NULL;
        }

        for (unsigned i = 0; i < e->n_workers; i++) {
                if (e->workers[i].started)
                        (void) pthread_join(e->workers[i].thread, NULL);
                db_close(e->workers[i].db);
        }
        free(e->workers);
        free(e->database_url);
        engine_pending_starts_free(e);
        execution_cache_free(e->executions);
        graph_cache_free(e->graphs);
        /* After the workers: none of them waits on a request any more. */
        llm_client_free(e->llm);
        price_table_free(e->prices);
        platform_link_free(e->platform);
        json_decref(e->worker_label);
        /* After the client: its last callbacks may still wake them. */
        suspensions_free(e);
        retention_stop(e);
        /* After the workers: none of them counts a run any more. */
        scheduler_free(e->scheduler);
        sd_event_unref(e->event);
        pthread_cond_destroy(&e->exited);
        pthread_mutex_destroy(&e->lock);
        pthread_mutex_destroy(&e->summaries_lock);
        free(e);
        return NULL;
}

void engine_enqueue(Engine *e, const char *execution_id, const int64_t *ids, size_t n, usec_t run_at) {
        for (size_t i = 0; i < n; i++) {
                BrokerJob job = { .node_run_id = ids[i] };
                int r;

                snprintf(job.execution_id, sizeof job.execution_id, "%s", execution_id);
                r = broker_enqueue(e->broker, &job, run_at);
                /* The run stays queued in the database; the next start enqueues it again. */
                if (r < 0)
                        log_execution_errno(LOG_ERR, r, NULL, execution_id, NULL, NULL,
                                            "Cannot enqueue node run %" PRIi64 " of execution %s: %m", ids[i],
                                            execution_id);
        }
}

void engine_worker_begin(Worker *w, const char *execution_id) {
        Engine *e = w->engine;

        pthread_mutex_lock(&e->lock);
        snprintf(w->execution_id, sizeof w->execution_id, "%s", execution_id);
        w->cancelled = e->stopping;
        w->interrupted = e->stopping;
        pthread_mutex_unlock(&e->lock);
}

void engine_worker_end(Worker *w) {
        pthread_mutex_lock(&w->engine->lock);
        w->execution_id[0] = 0;
        w->cancelled = false;
        pthread_mutex_unlock(&w->engine->lock);
}

/* --- Workers ------------------------------------------------------------------------------- */

static int worker_connect(Worker *w) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (w->db)
                return 0;
        r = db_open(w->engine->database_url, &w->db, &error);
        if (r < 0)
                log_error_errno(r, "Worker %u cannot open the database: %s", w->index, error ?: "unknown error");
        return r;
}

int engine_worker_reconnect(Worker *w) {
        w->db = db_close(w->db);
        return worker_connect(w);
}

static void *worker_main(void *userdata) {
        Worker *w = userdata;
        Engine *e = w->engine;

        for (;;) {
                BrokerJob job;
                int r;

                /* Nothing due: before sleeping, the summaries waiting for their batch. */
                r = broker_dequeue(e->broker, &job, 0);
                if (r == -ETIMEDOUT) {
                        if (worker_connect(w) >= 0)
                                engine_store_summaries(e, w->db, true);
                        r = broker_dequeue(e->broker, &job, DEQUEUE_TIMEOUT_USEC);
                }
                if (r == -ESHUTDOWN)
                        break;
                if (r < 0)
                        continue;

                /* A dedicated worker's workflow: its process runs the job. */
                if (job.node_run_id != 0 && worker_connect(w) >= 0 && engine_hand_over(w, &job))
                        continue;
                if (worker_connect(w) < 0 ||
                    (job.node_run_id == 0 ? engine_run_pending_start(w, job.execution_id)
                                          : orchestrator_run_job(w, &job)) == -EAGAIN) {
                        /* Reconnect on the next job; this one comes back a little later. */
                        w->db = db_close(w->db);
                        (void) broker_enqueue(e->broker, &job, now_realtime_usec() + RETRY_AFTER_DB_ERROR_USEC);
                } else
                        engine_store_summaries(e, w->db, false);
        }
        /* None is left behind: each worker on its way out stores what is listed. */
        if (worker_connect(w) >= 0)
                engine_store_summaries(e, w->db, true);

        pthread_mutex_lock(&e->lock);
        w->exited = true;
        pthread_cond_broadcast(&e->exited);
        pthread_mutex_unlock(&e->lock);
        return NULL;
}

void engine_enqueue_recovered(Engine *e, const RecoveredRun *runs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                usec_t run_at = runs[i].run_after;

                /* Due after the deadline: taken at the deadline, which times it out. */
                if (runs[i].deadline > 0 && run_at > runs[i].deadline)
                        run_at = runs[i].deadline;
                engine_enqueue(e, runs[i].execution_id, &runs[i].node_run_id, 1, run_at);
        }
}

static int engine_recover(Engine *e, Db *db) {
        int r = engine_take_back(e, db, NULL);

        if (r > 0)
                log_info("Resuming %i queued node run(s) of unfinished executions.", r);
        return MIN(r, 0);
}

int engine_start_workers(Engine *e) {
        int r;

        r = llm_client_start(e->llm);
        if (r < 0)
                return log_error_errno(r, "Cannot start the LLM client: %m");

        for (unsigned i = 0; i < e->n_workers; i++) {
                Worker *w = &e->workers[i];

                r = worker_connect(w);
                if (r < 0)
                        return r;
                r = -pthread_create(&w->thread, NULL, worker_main, w);
                if (r < 0)
                        return log_error_errno(r, "Cannot start worker thread %u: %m", i);
                w->started = true;
        }
        if (e->n_workers == 0)
                log_warning("Workers=0: executions are accepted but no node runs.");
        return 0;
}

int engine_start(Engine *e, Db *db) {
        int r;

        r = engine_recover(e, db);
        if (r >= 0)
                r = engine_recover_children(e, db);
        if (r < 0)
                return log_error_errno(r, "Cannot recover unfinished executions: %s", db_last_error(db));
        r = retention_start(e, db);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the pruning of old executions: %m");
        r = workspaces_sweep(db);
        if (r < 0)
                log_warning_errno(r, "Cannot remove the workspaces of deleted workflows: %m");

        r = engine_start_workers(e);
        if (r < 0)
                return r;

        r = scheduler_start(e->scheduler, db);
        if (r < 0)
                return log_error_errno(r, "Cannot start the scheduler: %m");
        return 0;
}

void engine_schedules_changed(Engine *e) {
        if (e)
                scheduler_poke(e->scheduler);
}

void engine_stop(Engine *e, usec_t timeout_usec) {
        struct timespec until;

        if (!e)
                return;
        retention_stop(e);
        scheduler_stop(e->scheduler);
        pthread_mutex_lock(&e->lock);
        e->stopping = true;
        for (unsigned i = 0; i < e->n_workers; i++)
                if (e->workers[i].execution_id[0]) {
                        e->workers[i].interrupted = true;
                        e->workers[i].cancelled = true;
                }
        pthread_mutex_unlock(&e->lock);
        broker_shutdown(e->broker);

        (void) clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t) (timeout_usec / 1000000);
        until.tv_nsec += (long) (timeout_usec % 1000000) * 1000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }

        pthread_mutex_lock(&e->lock);
        while (!engine_all_exited(e))
                if (pthread_cond_timedwait(&e->exited, &e->lock, &until) == ETIMEDOUT)
                        break;
        pthread_mutex_unlock(&e->lock);
}

/* --- Executions ---------------------------------------------------------------------------- */

void execution_start_done(ExecutionStart *s) {
        cached_graph_unref(s->graph);
        free(s->run_ids);
        *s = (ExecutionStart) {};
}

/* The graph the execution runs and what starts it, as the workflow's cached graph has them. */
int execution_start_prepare(Engine *e, Db *db, const EngineRequest *req, ExecutionStart *s, char **ret_error) {
        const GraphStart *start;
        int64_t max_seconds;
        int r;

        if (req->graph && req->graph->workflow_id == req->workflow_id)
                s->graph = cached_graph_ref(req->graph);
        else {
                r = graph_cache_get(e->graphs, db, req->workflow_id, &s->graph);
                if (r < 0)
                        return r;
        }
        r = cached_graph_start(s->graph, req->trigger_node_id, &start, ret_error);
        if (r < 0)
                return r;

        s->workflow = s->graph->workflow;
        s->graph_start = (GraphStart *) start;
        s->topology = start->topology;
        s->topology_json = start->topology_json;
        s->nodes = start->nodes;
        s->step = start->step;

        /* From the request on: a start that waits for a worker, or a transaction tried
         * again, does not move it. */
        s->requested_at = now_realtime_usec();
        max_seconds = json_get_integer(s->workflow, "max_execution_seconds", 0);
        if (req->max_seconds > 0 && (max_seconds <= 0 || req->max_seconds < max_seconds))
                max_seconds = req->max_seconds;
        s->deadline = max_seconds > 0 ? s->requested_at + (usec_t) max_seconds * 1000000 : 0;
        return 0;
}

int execution_start_insert(Db *db, const EngineRequest *req, const ExecutionOrigin *origin, ExecutionStart *s,
                           const char *id) {
        _cleanup_json_ json_t *payload = NULL;
        int64_t graph_id;
        int r;

        payload = req->trigger_payload ? json_incref(req->trigger_payload) : json_object();
        if (!payload)
                return -ENOMEM;
        /* A transaction tried again inserts again. */
        free(s->run_ids);
        s->run_ids = NULL;

        s->top_level = !origin;
        r = store_execution_insert(db, id, &(ExecutionNew) {
                .workflow_id = req->workflow_id,
                .user_id = req->user_id,
                .trigger_node_id = req->trigger_node_id,
                .trigger_payload = payload,
                .graph_version = s->graph->version,
                .topology = s->topology_json,
                .nodes = s->nodes,
                .graph_id_hint = __atomic_load_n(&s->graph_start->graph_id_hint, __ATOMIC_RELAXED),
                .deadline = s->deadline,
                .run = s->step.run,
                .wait = s->step.wait,
                .parent_execution_id = origin ? origin->parent_execution_id : NULL,
                .parent_node_id = origin ? origin->parent_node_id : NULL,
                .parent_node_run_id = origin ? origin->parent_node_run_id : 0,
                .depth = origin ? origin->depth : 0,
                .error_of_execution_id = origin ? origin->error_of_execution_id : NULL,
                .claim_entry = s->claim_entry,
        }, &s->run_ids, &graph_id);
        if (r < 0)
                return r;
        __atomic_store_n(&s->graph_start->graph_id_hint, graph_id, __ATOMIC_RELAXED);
        return 0;
}

/* The ExecutionInfo store_execution_info() would read back for a top-level execution. */
int execution_start_cache(Engine *e, const EngineRequest *req, const ExecutionStart *s, const char *id) {
        ExecutionInfo info = {
                .id = strdup(id),
                .workflow_id = req->workflow_id,
                .workflow_slug = strdup(json_get_string(s->workflow, "slug", "")),
                .trigger_node_id = req->trigger_node_id ? strdup(req->trigger_node_id) : NULL,
                .trigger_payload = req->trigger_payload ? json_incref(req->trigger_payload) : json_object(),
                .topology = json_incref(s->topology_json),
                .nodes = json_incref(s->nodes),
                .user_id = req->user_id,
                .deadline = s->deadline,
        };

        /* Without it the first node reads it from the database. */
        if (!info.id || !info.workflow_slug || (req->trigger_node_id && !info.trigger_node_id) ||
            !info.trigger_payload) {
                execution_info_done(&info);
                return -ENOMEM;
        }
        return execution_cache_add(e->executions, &info, s->graph, s->topology);
}

void execution_start_publish(const EngineRequest *req, const ExecutionStart *s, const char *id) {
        events_publish_workflow(json_get_string(s->workflow, "slug", ""), "execution_started", id,
                                json_pack("{s:I, s:s?}", "workflow_id", (json_int_t) req->workflow_id,
                                          "trigger_node_id", req->trigger_node_id));
}

void execution_start_announce(Engine *e, const EngineRequest *req, const ExecutionStart *s, const char *id) {
        if (s->top_level)
                (void) execution_start_cache(e, req, s, id);
        execution_start_publish(req, s, id);
        engine_enqueue(e, id, s->run_ids, s->step.n_run, 0);
}

int engine_execute_from(Engine *e, Db *db, const EngineRequest *req, const ExecutionOrigin *origin,
                        char ret_id[static EXECUTION_ID_LEN + 1], char **ret_error) {
        _cleanup_(execution_start_done) ExecutionStart s = {};
        char id[EXECUTION_ID_LEN + 1];
        int r;

        r = execution_start_prepare(e, db, req, &s, ret_error);
        if (r < 0)
                return r;
        r = execution_id_new(id);
        if (r < 0)
                return r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = execution_start_insert(db, req, origin, &s, id);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }

        execution_start_announce(e, req, &s, id);
        memcpy(ret_id, id, sizeof id);
        return 0;
}

int engine_execute(Engine *e, Db *db, const EngineRequest *req, char ret_id[static EXECUTION_ID_LEN + 1],
                   char **ret_error) {
        return engine_execute_from(e, db, req, NULL, ret_id, ret_error);
}

void engine_interrupt(Engine *e, const char *execution_id) {
        /* Running nodes see it through NodeRun.cancelled; their commit finds the execution over. */
        pthread_mutex_lock(&e->lock);
        for (unsigned i = 0; i < e->n_workers; i++)
                if (streq(e->workers[i].execution_id, execution_id))
                        e->workers[i].cancelled = true;
        pthread_mutex_unlock(&e->lock);

        /* Runs waiting on the network stop waiting; their resume finds the execution over. */
        suspensions_cancel(e, execution_id);
}

int engine_cancel(Engine *e, Db *db, const char *execution_id, const char *workflow_slug) {
        ExecutionState state;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = store_execution_lock(db, execution_id, &state);
        if (r >= 0 && execution_status_is_live(state.status)) {
                r = store_execution_finish(db, execution_id, EXECUTION_CANCELLED, NULL, NULL, NULL, NULL);
                if (r >= 0)
                        r = store_node_runs_cancel(db, execution_id);
                if (r >= 0)
                        r = db_commit(db);
                if (r >= 0)
                        r = 1;
        }
        if (r <= 0) {
                (void) db_rollback(db);
                return r;
        }

        engine_interrupt(e, execution_id);
        /* Its nodes running in a dedicated worker stop too. */
        if (e->hooks.cancelled)
                e->hooks.cancelled(e->hooks.userdata, execution_id);
        events_publish_workflow(workflow_slug, "execution_cancelled", execution_id,
                                json_pack("{s:s}", "execution_id", execution_id));
        engine_execution_ended(e, db, execution_id, NULL, EXECUTION_CANCELLED);
        return 1;
}
