/* Dedicated workers, pipelitd's side (worker-pool.h): which workflows want one, routing their
 * jobs, and the life of each worker from start to stop. The socket is worker-link.c, the
 * ways of starting one worker-launch.c. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "daemon/worker-pool-internal.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "store/store-workers.h"

/* A worker that has not connected this long after its start did not start. */
#define START_TIMEOUT_USEC (30ULL * 1000 * 1000)
/* After a start that failed, or a worker that kept dying: pipelitd's threads run the
 * workflow's jobs this long before the next try. */
#define BACKOFF_USEC (30ULL * 1000 * 1000)
/* A worker gone within this long of its start died early; this many times in a row and it
 * backs off. */
#define QUICK_EXIT_USEC (10ULL * 1000 * 1000)
#define QUICK_EXITS_MAX 3
/* How long a stopping worker may take before its connection is cut. */
#define STOP_TIMEOUT_USEC (20ULL * 1000 * 1000)
/* The settings are read again this often anyway: an agent's workflow_create, another daemon
 * on the same PostgreSQL, edits in SQL. */
#define REFRESH_INTERVAL_USEC (60ULL * 1000 * 1000)

static const char *const state_names[_WORKER_STATE_MAX] = {
        [WORKER_STOPPED] = "stopped",
        [WORKER_STARTING] = "starting",
        [WORKER_RUNNING] = "running",
        [WORKER_STOPPING] = "stopping",
        [WORKER_FAILED] = "failed",
};

const char *worker_state_to_string(WorkerState s) {
        return s >= 0 && s < _WORKER_STATE_MAX ? state_names[s] : NULL;
}

/* --- Slots ----------------------------------------------------------------------------------- */

WorkerSlot *pool_find(WorkerPool *p, int64_t workflow_id) {
        for (WorkerSlot *s = p->slots; s; s = s->next)
                if (s->workflow_id == workflow_id)
                        return s;
        return NULL;
}

WorkerSlot *pool_slot_get(WorkerPool *p, int64_t workflow_id, const char *slug) {
        WorkerSlot *s = pool_find(p, workflow_id);

        if (s)
                return s;
        s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        s->slug = strdup(slug);
        if (!s->slug) {
                free(s);
                return NULL;
        }
        s->pool = p;
        s->workflow_id = workflow_id;
        s->next = p->slots;
        p->slots = s;
        __atomic_store_n(&p->n_slots, p->n_slots + 1, __ATOMIC_RELEASE);
        return s;
}

static void slot_free(WorkerSlot *s) {
        launch_forget(s);
        sd_event_source_disable_unref(s->timer);
        wire_conn_unref(s->conn);
        free(s->executions);
        free(s->held);
        free(s->slug);
        free(s);
}

bool slot_wants_worker(const WorkerSlot *s) {
        return (s->dedicated && !s->held_off) || s->wanted;
}

void pool_collect(WorkerPool *p) {
        for (WorkerSlot **i = &p->slots; *i;) {
                WorkerSlot *s = *i;

                /* Kept while it may have work, a process, or a StopWorker() to remember. */
                if (slot_wants_worker(s) || (s->dedicated && s->held_off) || s->conn || s->n_held > 0 ||
                    s->call || s->child > 0 || (s->state != WORKER_STOPPED && s->state != WORKER_FAILED)) {
                        i = &s->next;
                        continue;
                }
                *i = s->next;
                __atomic_store_n(&p->n_slots, p->n_slots - 1, __ATOMIC_RELEASE);
                slot_free(s);
        }
}

bool slot_has_execution(const WorkerSlot *s, const char *execution_id) {
        for (size_t i = 0; i < s->n_executions; i++)
                if (streq(s->executions[i], execution_id))
                        return true;
        return false;
}

void slot_track_execution(WorkerSlot *s, const char *execution_id) {
        if (slot_has_execution(s, execution_id))
                return;
        if (s->n_executions == s->n_executions_alloc) {
                size_t n = MAX(s->n_executions_alloc * 2, (size_t) 16);
                char (*e)[EXECUTION_ID_LEN + 1] = reallocarray(s->executions, n, sizeof *e);

                /* Untracked, it is found by the next start's recovery instead. */
                if (!e)
                        return;
                s->executions = e;
                s->n_executions_alloc = n;
        }
        snprintf(s->executions[s->n_executions++], EXECUTION_ID_LEN + 1, "%s", execution_id);
}

void slot_forget_execution(WorkerSlot *s, const char *execution_id) {
        for (size_t i = 0; i < s->n_executions; i++)
                if (streq(s->executions[i], execution_id)) {
                        memcpy(s->executions[i], s->executions[--s->n_executions], EXECUTION_ID_LEN + 1);
                        return;
                }
}

static int slot_hold(WorkerSlot *s, const BrokerJob *job) {
        if (s->n_held == s->n_held_alloc) {
                size_t n = MAX(s->n_held_alloc * 2, (size_t) 16);
                BrokerJob *h = reallocarray(s->held, n, sizeof *h);

                if (!h)
                        return -ENOMEM;
                s->held = h;
                s->n_held_alloc = n;
        }
        s->held[s->n_held++] = *job;
        return 0;
}

void slot_release_held(WorkerSlot *s) {
        Broker *b = s->pool->manager->broker;

        for (size_t i = 0; i < s->n_held; i++)
                /* Lost, the run stays queued in the database for the next start. */
                (void) broker_enqueue(b, &s->held[i], 0);
        s->n_held = 0;
}

void slot_set_timer(WorkerSlot *s, usec_t after, sd_event_time_handler_t handler) {
        sd_event *event = s->pool->manager->event;
        uint64_t now;

        s->timer = sd_event_source_disable_unref(s->timer);
        if (after == 0 || !handler)
                return;
        (void) sd_event_now(event, CLOCK_MONOTONIC, &now);
        if (sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, now + after, 0, handler, s) < 0)
                log_warning("Cannot arm a timer for the worker of workflow '%s'.", s->slug);
}

/* --- Starting and stopping ------------------------------------------------------------------- */

static int on_start_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        WorkerSlot *s = userdata;
        WorkerPool *p = s->pool;

        pthread_mutex_lock(&p->lock);
        if (s->state == WORKER_STARTING)
                slot_start_failed(s, "it did not connect within 30 s");
        pthread_mutex_unlock(&p->lock);
        return 0;
}

static int on_backoff_over(sd_event_source *source, uint64_t usec, void *userdata) {
        WorkerSlot *s = userdata;
        WorkerPool *p = s->pool;

        pthread_mutex_lock(&p->lock);
        s->timer = sd_event_source_disable_unref(s->timer);
        if (s->state == WORKER_FAILED) {
                s->state = WORKER_STOPPED;
                s->quick_exits = 0;
                /* Asked for by StartWorker(): try again now; else when work comes. */
                if (s->wanted)
                        slot_launch(s);
        }
        pool_collect(p);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

void slot_launch(WorkerSlot *s) {
        const Config *c = &s->pool->manager->config;
        int r;

        s->start_requested = false;
        s->state = WORKER_STARTING;
        slot_set_timer(s, START_TIMEOUT_USEC, on_start_timeout);
        r = c->worker_launcher == WORKER_LAUNCHER_EXEC ? launch_exec(s) : launch_systemd(s);
        if (r < 0 && s->state == WORKER_STARTING)
                slot_start_failed(s, strerror(-r));
}

void slot_start_failed(WorkerSlot *s, const char *why) {
        log_warning("Cannot start the worker of workflow '%s' (%s): pipelitd runs its nodes for now and tries "
                    "again in %llu s.", s->slug, why, BACKOFF_USEC / 1000000);
        (void) launch_stop(s);
        s->state = WORKER_FAILED;
        slot_release_held(s);
        slot_set_timer(s, BACKOFF_USEC, on_backoff_over);
}

static int on_stop_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        WorkerSlot *s = userdata;
        WorkerPool *p = s->pool;
        int64_t id = s->workflow_id;
        bool cut;

        pthread_mutex_lock(&p->lock);
        s->timer = sd_event_source_disable_unref(s->timer);
        cut = s->state == WORKER_STOPPING && s->conn;
        if (cut)
                wire_conn_close(s->conn);
        else if (s->state == WORKER_STOPPING) {
                /* It never connected: as good as gone. */
                slot_went_away(s);
                pool_collect(p);
        }
        pthread_mutex_unlock(&p->lock);
        /* Without the connection it exits; what it held comes back now. */
        if (cut)
                link_lost(p, id, -ETIMEDOUT);
        return 0;
}

void slot_stop(WorkerSlot *s, const char *why) {
        int r;

        switch (s->state) {
        case WORKER_STARTING:
                log_info("Cancelling the start of the worker of workflow '%s': %s.", s->slug, why);
                slot_release_held(s);
                r = launch_stop(s);
                s->state = r > 0 ? WORKER_STOPPING : WORKER_STOPPED;
                slot_set_timer(s, r > 0 ? STOP_TIMEOUT_USEC : 0, on_stop_timeout);
                break;
        case WORKER_RUNNING:
                log_info("Stopping the worker of workflow '%s' (pid %d): %s.", s->slug, (int) s->pid, why);
                s->state = WORKER_STOPPING;
                r = launch_stop(s);
                /* Not started by us (by hand): its connection is cut, which ends it. */
                slot_set_timer(s, r > 0 ? STOP_TIMEOUT_USEC : 1, on_stop_timeout);
                break;
        default:
                break;
        }
}

static int on_runtime_over(sd_event_source *source, uint64_t usec, void *userdata) {
        WorkerSlot *s = userdata;
        WorkerPool *p = s->pool;

        pthread_mutex_lock(&p->lock);
        s->timer = sd_event_source_disable_unref(s->timer);
        /* A fresh one starts when there is work. */
        if (s->state == WORKER_RUNNING)
                slot_stop(s, "it reached its runtime limit (settings.worker.runtime_max_sec)");
        pthread_mutex_unlock(&p->lock);
        return 0;
}

void slot_connected(WorkerSlot *s) {
        uint64_t now;

        (void) sd_event_now(s->pool->manager->event, CLOCK_MONOTONIC, &now);
        s->state = WORKER_RUNNING;
        s->connected_at = now;
        slot_set_timer(s, s->limits.runtime_max_usec, on_runtime_over);
}

void slot_went_away(WorkerSlot *s) {
        uint64_t now;

        (void) sd_event_now(s->pool->manager->event, CLOCK_MONOTONIC, &now);
        if (s->state == WORKER_STOPPING) {
                s->state = WORKER_STOPPED;
                slot_set_timer(s, 0, NULL);
                /* Replaced (its runtime limit, a new name): the next one takes what waited. */
                if (s->n_held > 0 && slot_wants_worker(s))
                        slot_launch(s);
                else
                        slot_release_held(s);
                return;
        }
        s->quick_exits = now < s->connected_at + QUICK_EXIT_USEC ? s->quick_exits + 1 : 0;
        if (s->quick_exits >= QUICK_EXITS_MAX) {
                log_warning("The worker of workflow '%s' went away %u times in a row soon after it started: "
                            "pipelitd runs its nodes for now and tries again in %llu s.", s->slug, s->quick_exits,
                            BACKOFF_USEC / 1000000);
                s->state = WORKER_FAILED;
                slot_release_held(s);
                slot_set_timer(s, BACKOFF_USEC, on_backoff_over);
                return;
        }
        s->state = WORKER_STOPPED;
        slot_set_timer(s, 0, NULL);
        /* Started by StartWorker(): it comes back at once; a dedicated one when work comes. */
        if (s->wanted)
                slot_launch(s);
}

/* --- Routing (worker threads) ---------------------------------------------------------------- */

static bool pool_routing(void *userdata) {
        WorkerPool *p = userdata;

        return __atomic_load_n(&p->n_slots, __ATOMIC_ACQUIRE) > 0;
}

static bool pool_route_job(void *userdata, int64_t workflow_id, const BrokerJob *job) {
        WorkerPool *p = userdata;
        bool taken = false, wake = false;
        WorkerSlot *s;

        pthread_mutex_lock(&p->lock);
        s = pool_find(p, workflow_id);
        if (!s || !slot_wants_worker(s))
                goto out;
        switch (s->state) {
        case WORKER_RUNNING:
                if (wire_conn_send_job(s->conn, job->execution_id, job->node_run_id, 0) >= 0) {
                        slot_track_execution(s, job->execution_id);
                        s->node_runs++;
                        taken = true;
                }
                break;
        case WORKER_STOPPED:
                s->state = WORKER_STARTING;
                s->start_requested = true;
                wake = true;
                __attribute__((fallthrough));
        case WORKER_STARTING:
        case WORKER_STOPPING:
                /* Stopping while the workflow still wants one: for its successor. */
                taken = slot_hold(s, job) >= 0;
                break;
        default:
                break;
        }
out:
        pthread_mutex_unlock(&p->lock);
        if (wake)
                (void) eventfd_write(p->wake_fd, 1);
        return taken;
}

static void pool_cancelled(void *userdata, const char *execution_id) {
        WorkerPool *p = userdata;

        pthread_mutex_lock(&p->lock);
        for (WorkerSlot *s = p->slots; s; s = s->next)
                if (s->conn && slot_has_execution(s, execution_id)) {
                        (void) wire_conn_send(s->conn, WIRE_CANCEL, execution_id, strlen(execution_id));
                        slot_forget_execution(s, execution_id);
                }
        pthread_mutex_unlock(&p->lock);
}

/* pipelitd's live-event subscribers come and go: the workers build their events for them. */
static void pool_listeners_changed(long count, void *userdata) {
        WorkerPool *p = userdata;
        int64_t n = count;

        pthread_mutex_lock(&p->lock);
        for (WorkerSlot *s = p->slots; s; s = s->next)
                if (s->conn)
                        (void) wire_conn_send(s->conn, WIRE_LISTENERS, &n, sizeof n);
        pthread_mutex_unlock(&p->lock);
}

/* Worker threads asked for starts. */
static int on_wake(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        WorkerPool *p = userdata;
        eventfd_t ignored;

        (void) eventfd_read(fd, &ignored);
        pthread_mutex_lock(&p->lock);
        for (WorkerSlot *s = p->slots; s; s = s->next)
                if (s->start_requested && s->state == WORKER_STARTING)
                        slot_launch(s);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

/* --- Which workflows want a worker ------------------------------------------------------------ */

/* One workflow's row from the store: its slot follows its settings. */
static void refresh_one(WorkerPool *p, json_t *row) {
        const char *slug = json_get_string(row, "slug", "");
        int64_t id = json_get_integer(row, "id", 0);
        WorkerLimits limits;
        WorkerSlot *s;
        bool dedicated;

        worker_limits_from_settings(json_object_get(row, "settings"), &limits);
        dedicated = limits.dedicated && json_get_bool(row, "is_active", false);
        s = pool_find(p, id);
        if (!s && !dedicated)
                return;
        s = s ?: pool_slot_get(p, id, slug);
        if (!s)
                return;

        if (!streq(s->slug, slug)) {
                /* Its worker serves the old name (and its unit is named after it). */
                char *copy = strdup(slug);

                if (copy) {
                        slot_stop(s, "the workflow was renamed");
                        free(s->slug);
                        s->slug = copy;
                }
        }
        if (!worker_limits_equal(&s->limits, &limits)) {
                s->limits = limits;
                if (s->state == WORKER_RUNNING)
                        launch_update_limits(s);
        }
        if (s->dedicated && !dedicated && !s->wanted)
                slot_stop(s, "the workflow no longer asks for a dedicated worker");
        if (!dedicated)
                s->held_off = false;
        s->dedicated = dedicated;
}

static void pool_refresh(WorkerPool *p) {
        _cleanup_json_ json_t *rows = NULL;
        json_t *row;
        size_t i;
        int r;

        r = store_workflows_with_worker(p->manager->db, &rows);
        if (r < 0) {
                log_warning_errno(r, "Cannot read which workflows ask for a dedicated worker: %m (%s)",
                                  db_last_error(p->manager->db));
                return;
        }
        pthread_mutex_lock(&p->lock);
        /* A workflow missing from the rows was deleted or lost its settings.worker. */
        for (WorkerSlot *s = p->slots; s; s = s->next) {
                bool listed = false;

                json_array_foreach(rows, i, row)
                        if (json_get_integer(row, "id", 0) == s->workflow_id)
                                listed = true;
                if (listed || !s->dedicated)
                        continue;
                s->dedicated = s->held_off = false;
                if (!s->wanted)
                        slot_stop(s, "the workflow no longer asks for a dedicated worker");
        }
        json_array_foreach(rows, i, row)
                refresh_one(p, row);
        pool_collect(p);
        pthread_mutex_unlock(&p->lock);
}

static int on_refresh(sd_event_source *source, void *userdata) {
        pool_refresh(userdata);
        return 0;
}

static int on_refresh_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        pool_refresh(userdata);
        (void) sd_event_source_set_time(source, usec + REFRESH_INTERVAL_USEC);
        return sd_event_source_set_enabled(source, SD_EVENT_ON);
}

void worker_pool_workflows_changed(WorkerPool *p) {
        if (p && p->refresh_source)
                (void) sd_event_source_set_enabled(p->refresh_source, SD_EVENT_ONESHOT);
}

/* --- The D-Bus methods' side ------------------------------------------------------------------- */

int worker_pool_start_worker(WorkerPool *p, int64_t workflow_id, const char *slug) {
        WorkerSlot *s;
        int r = 0;

        pthread_mutex_lock(&p->lock);
        s = pool_slot_get(p, workflow_id, slug);
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        s->wanted = true;
        s->held_off = false;
        if (s->state == WORKER_STOPPED || s->state == WORKER_FAILED) {
                s->quick_exits = 0;
                slot_launch(s);
        } else
                r = 1;
out:
        pthread_mutex_unlock(&p->lock);
        return r;
}

int worker_pool_stop_worker(WorkerPool *p, int64_t workflow_id) {
        WorkerSlot *s;
        int r = 0;

        pthread_mutex_lock(&p->lock);
        s = pool_find(p, workflow_id);
        if (!s || (!slot_wants_worker(s) && !s->conn && s->state != WORKER_STARTING)) {
                r = -ESRCH;
                goto out;
        }
        s->wanted = false;
        s->held_off = s->dedicated;
        if (s->state == WORKER_FAILED) {
                s->timer = sd_event_source_disable_unref(s->timer);
                s->state = WORKER_STOPPED;
        }
        slot_stop(s, "StopWorker() was called");
        pool_collect(p);
out:
        pthread_mutex_unlock(&p->lock);
        return r;
}

json_t *worker_pool_list(WorkerPool *p) {
        _cleanup_json_ json_t *list = json_array();

        if (!list)
                return NULL;
        pthread_mutex_lock(&p->lock);
        for (WorkerSlot *s = p->slots; s; s = s->next) {
                json_t *item = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:o}", "slug", s->slug, "unit", s->unit ?: "",
                                         "state", worker_state_to_string(s->state), "pid",
                                         (json_int_t) (s->conn ? s->pid : 0), "node_runs", (json_int_t) s->node_runs,
                                         "dedicated", s->dedicated && !s->held_off,
                                         "limits", worker_limits_to_json(&s->limits));

                if (json_array_append_new(list, item) < 0) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
        }
        pthread_mutex_unlock(&p->lock);
        return TAKE_PTR(list);
}

/* --- Life ---------------------------------------------------------------------------------------- */

int worker_pool_new(Manager *m, WorkerPool **ret) {
        WorkerPool *p;
        uint64_t now;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->manager = m;
        p->listen_fd = -1;
        pthread_mutex_init(&p->lock, NULL);
        p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->wake_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(m->event, &p->wake_source, p->wake_fd, EPOLLIN, on_wake, p);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(m->event, &p->refresh_source, on_refresh, p);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(p->refresh_source, SD_EVENT_OFF);
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        r = sd_event_add_time(m->event, &p->refresh_timer, CLOCK_MONOTONIC, now + REFRESH_INTERVAL_USEC,
                              REFRESH_INTERVAL_USEC / 10, on_refresh_timer, p);
        if (r < 0)
                goto fail;

        /* Without the socket there are no workers; the daemon runs every node itself. */
        r = link_listen(p);
        if (r < 0) {
                log_warning_errno(r, "Cannot listen for dedicated workers on %s (%m): pipelitd runs every "
                                  "workflow's nodes itself.", m->config.worker_socket);
                *ret = p;
                return 0;
        }
        pool_refresh(p);

        engine_set_hooks(m->engine, &(EngineHooks) {
                .routing = pool_routing,
                .route_job = pool_route_job,
                .cancelled = pool_cancelled,
                .userdata = p,
        });
        events_set_listeners_hook(pool_listeners_changed, p);
        *ret = p;
        return 0;
fail:
        worker_pool_free(p);
        return r;
}

WorkerPool *worker_pool_free(WorkerPool *p) {
        if (!p)
                return NULL;
        events_set_listeners_hook(NULL, NULL);
        link_close_all(p);
        launch_children_free(p);
        while (p->slots) {
                WorkerSlot *s = p->slots;

                p->slots = s->next;
                slot_free(s);
        }
        sd_bus_slot_unref(p->job_removed);
        sd_event_source_disable_unref(p->refresh_timer);
        sd_event_source_disable_unref(p->refresh_source);
        sd_event_source_disable_unref(p->wake_source);
        if (p->wake_fd >= 0)
                close(p->wake_fd);
        pthread_mutex_destroy(&p->lock);
        free(p->socket_path);
        free(p);
        return NULL;
}
