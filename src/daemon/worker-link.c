/* The socket dedicated workers connect to ([Engine] WorkerSocket=, mode 0600: pipelitd's user
 * and root only): a worker says which workflow it serves, gets what it runs with, then the
 * workflow's jobs; its enqueued jobs, events and cancels come back here. Until there is a
 * networked queue, this is how a worker gets work. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/server.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "daemon/worker-pool-internal.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "store/store-workflows.h"

/* A connection that says nothing this long is closed. */
#define HELLO_TIMEOUT_USEC (10ULL * 1000 * 1000)

#define EXECUTION_CHANNEL_PREFIX "execution:"

static void pending_free(WorkerPool *p, PendingLink *l) {
        for (PendingLink **i = &p->pending; *i; i = &(*i)->next)
                if (*i == l) {
                        *i = l->next;
                        break;
                }
        sd_event_source_disable_unref(l->timeout);
        wire_conn_unref(l->conn);
        free(l);
}

static void refuse(PendingLink *l, const char *why) {
        log_warning("Refusing a worker (pid %d): %s", (int) l->pid, why);
        /* Written before the close: the worker says why it exits. */
        (void) wire_conn_send(l->conn, WIRE_REFUSED, why, strlen(why));
        (void) wire_conn_flush(l->conn);
        wire_conn_close(l->conn);
}

/* What the worker runs with: pipelitd's own settings, so that both agree. */
static json_t *welcome_new(WorkerPool *p, const WorkerSlot *s) {
        const Config *c = &p->manager->config;
        _cleanup_free_ char *url = NULL, *path = NULL;

        (void) server_local_address(p->manager->server, &url, &path);
        return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?, s:s, s:s?, s:s?, s:I}",
                         "workflow_id", (json_int_t) s->workflow_id,
                         "workflow", s->slug,
                         "database", c->database,
                         "state_directory", c->state_directory,
                         "workers", (json_int_t) c->workers,
                         "max_node_output_size", (json_int_t) c->max_node_output_size,
                         "max_subworkflow_depth", (json_int_t) c->max_subworkflow_depth,
                         "max_nodes_per_workflow", (json_int_t) c->max_nodes_per_workflow,
                         "price_table", c->price_table,
                         "log_level", log_level_to_string(log_get_max_level()),
                         "api_url", url,
                         "api_path", path,
                         "listeners", (json_int_t) events_listeners_count());
}

static void on_link_frame(WireConn *c, WireType type, const void *data, size_t len, void *userdata);
static void on_link_closed(WireConn *c, int error, void *userdata);

/* The hello: the worker becomes its workflow's. Under the lock. */
static void attach(WorkerPool *p, PendingLink *l, int64_t workflow_id, const char *slug) {
        _cleanup_json_ json_t *welcome = NULL;
        _cleanup_free_ char *text = NULL;
        WorkerSlot *s;

        s = pool_slot_get(p, workflow_id, slug);
        if (!s || s->conn || s->state == WORKER_STOPPING) {
                refuse(l, !s ? "out of memory" : s->conn ? "the workflow has a worker already"
                                                          : "the workflow's worker is being stopped");
                return;
        }

        welcome = welcome_new(p, s);
        text = welcome ? json_dumps(welcome, JSON_COMPACT) : NULL;
        if (!text) {
                refuse(l, "out of memory");
                return;
        }
        (void) wire_conn_send(l->conn, WIRE_WELCOME, text, strlen(text));

        s->conn = TAKE_PTR(l->conn);
        s->pid = l->pid;
        wire_conn_set_handlers(s->conn, on_link_frame, on_link_closed, p);
        slot_connected(s);
        log_info("The worker of workflow '%s' is connected (pid %d)%s.", s->slug, (int) s->pid,
                 s->unit ? "" : s->child > 0 ? ", a child process" : ", started by hand");
        /* What waited for it. */
        for (size_t i = 0; i < s->n_held; i++)
                if (wire_conn_send_job(s->conn, s->held[i].execution_id, s->held[i].node_run_id, 0) >= 0) {
                        slot_track_execution(s, s->held[i].execution_id);
                        s->node_runs++;
                }
        s->n_held = 0;
}

static void on_hello(WorkerPool *p, PendingLink *l, const void *data, size_t len) {
        _cleanup_json_ json_t *hello = json_loadb(data, len, 0, NULL);
        static const StoreCaller anyone = { .is_admin = true };
        const char *slug = json_get_string(hello, "workflow", NULL);
        int64_t id = 0;
        int r = 0;

        const char *why = NULL;

        if (!streq_ptr(json_get_string(hello, "version", NULL), PACKAGE_VERSION))
                why = "it is not pipelit " PACKAGE_VERSION;
        else if (!slug || !workflow_slug_is_valid(slug))
                why = "it names no valid workflow slug";
        else if ((r = store_workflow_find(p->manager->db, &anyone, slug, &id)) == -ENOENT)
                why = "there is no such workflow";
        else if (r < 0)
                why = "the database cannot say which workflow it is";
        if (why) {
                refuse(l, why);
                return;
        }

        pthread_mutex_lock(&p->lock);
        attach(p, l, id, slug);
        pthread_mutex_unlock(&p->lock);
}

static void on_pending_frame(WireConn *c, WireType type, const void *data, size_t len, void *userdata) {
        PendingLink *l = userdata;
        WorkerPool *p = l->pool;

        if (type == WIRE_HELLO)
                on_hello(p, l, data, len);
        else
                refuse(l, "it did not say hello first");
        pending_free(p, l);
}

static void on_pending_closed(WireConn *c, int error, void *userdata) {
        PendingLink *l = userdata;

        pending_free(l->pool, l);
}

static int on_hello_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        PendingLink *l = userdata;

        log_warning("Closing a connection to the worker socket (pid %d) that did not say hello.", (int) l->pid);
        pending_free(l->pool, l);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        WorkerPool *p = userdata;

        for (;;) {
                _cleanup_close_ int conn_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                struct ucred cred;
                socklen_t cred_len = sizeof cred;
                PendingLink *l;
                uint64_t now;
                int r;

                if (conn_fd < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                log_warning_errno(errno, "Cannot accept a worker's connection: %m");
                        return 0;
                }
                /* The socket's mode says the same; this holds when someone loosens it. */
                if (getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
                    (cred.uid != geteuid() && cred.uid != 0)) {
                        log_warning("Refusing a connection to the worker socket from uid %u.", (unsigned) cred.uid);
                        continue;
                }
                l = calloc(1, sizeof *l);
                if (!l)
                        return 0;
                l->pool = p;
                l->pid = cred.pid;
                r = wire_conn_new(p->manager->event, TAKE_FD(conn_fd), on_pending_frame, on_pending_closed, l,
                                  &l->conn);
                (void) sd_event_now(p->manager->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_add_time(p->manager->event, &l->timeout, CLOCK_MONOTONIC, now + HELLO_TIMEOUT_USEC,
                                              0, on_hello_timeout, l);
                l->next = p->pending;
                p->pending = l;
                if (r < 0) {
                        log_warning_errno(r, "Cannot take a worker's connection: %m");
                        pending_free(p, l);
                }
        }
}

int link_listen(WorkerPool *p) {
        const char *path = p->manager->config.worker_socket;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        mode_t mask;
        int r;

        if (!path)
                return -EINVAL;
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A socket left by a daemon that did not stop cleanly. */
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        mask = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        umask(mask);
        if (r < 0)
                return r;
        if (listen(fd, 16) < 0)
                return -errno;
        r = sd_event_add_io(p->manager->event, &p->listen_source, fd, EPOLLIN, on_accept, p);
        if (r < 0)
                return r;
        p->socket_path = strdup(path);
        if (!p->socket_path)
                return -ENOMEM;
        p->listen_fd = TAKE_FD(fd);
        log_debug("Dedicated workers connect to %s.", path);
        return 0;
}

void link_close_all(WorkerPool *p) {
        while (p->pending)
                pending_free(p, p->pending);
        p->listen_source = sd_event_source_disable_unref(p->listen_source);
        if (p->listen_fd >= 0) {
                close(p->listen_fd);
                p->listen_fd = -1;
                (void) unlink(p->socket_path);
        }
}

/* --- A connected worker's frames ------------------------------------------------------------ */

static WorkerSlot *slot_of(WorkerPool *p, WireConn *c) {
        for (WorkerSlot *s = p->slots; s; s = s->next)
                if (s->conn == c)
                        return s;
        return NULL;
}

/* A job its commit made: straight back to it when it runs that execution and it is due, else
 * into pipelitd's queue, whose threads route it. */
static void on_job(WorkerPool *p, WireConn *c, const void *data, size_t len) {
        WorkerSlot *s;
        BrokerJob job = {};
        bool sent = false;
        WireJob w;

        if (wire_job_parse(data, len, &w) < 0 || !execution_id_is_valid(w.execution_id) || w.node_run_id <= 0)
                return;
        pthread_mutex_lock(&p->lock);
        s = slot_of(p, c);
        if (s && s->state == WORKER_RUNNING && (w.run_at == 0 || w.run_at <= now_realtime_usec()) &&
            slot_has_execution(s, w.execution_id) &&
            wire_conn_send_job(c, w.execution_id, w.node_run_id, 0) >= 0) {
                s->node_runs++;
                sent = true;
        }
        pthread_mutex_unlock(&p->lock);
        if (sent)
                return;
        memcpy(job.execution_id, w.execution_id, sizeof job.execution_id);
        job.node_run_id = w.node_run_id;
        /* Lost, the run stays queued in the database for the next start. */
        (void) broker_enqueue(p->manager->broker, &job, w.run_at);
}

static bool is_ending_event(const char *message, size_t len) {
        static const char *const ending[] = {
                "{\"type\":\"execution_completed\"",
                "{\"type\":\"execution_failed\"",
                "{\"type\":\"execution_cancelled\"",
        };

        for (size_t i = 0; i < ELEMENTSOF(ending); i++)
                if (len >= strlen(ending[i]) && memcmp(message, ending[i], strlen(ending[i])) == 0)
                        return true;
        return false;
}

/* An event it published: out to pipelitd's subscribers as if published here. */
static void on_event(WorkerPool *p, WireConn *c, const char *data, size_t len) {
        const char *nul = memchr(data, 0, len), *message, *id;
        size_t message_len;
        WorkerSlot *s;

        if (!nul || nul == data)
                return;
        message = nul + 1;
        message_len = len - (size_t) (message - data);
        (void) broker_publish(p->manager->broker, data, message, message_len, NULL);

        if (strncmp(data, EXECUTION_CHANNEL_PREFIX, strlen(EXECUTION_CHANNEL_PREFIX)) != 0 ||
            !is_ending_event(message, message_len))
                return;
        id = data + strlen(EXECUTION_CHANNEL_PREFIX);
        pthread_mutex_lock(&p->lock);
        s = slot_of(p, c);
        if (s)
                slot_forget_execution(s, id);
        pthread_mutex_unlock(&p->lock);
        /* A schedule's run may have ended: its next one may be due now. */
        engine_schedules_changed(p->manager->engine);
}

/* It cancelled an execution (a parent's end cancels its children): nodes of it running
 * here or in other workers stop. */
static void on_cancel(WorkerPool *p, WireConn *c, const char *data, size_t len) {
        char id[EXECUTION_ID_LEN + 1];

        if (len != EXECUTION_ID_LEN)
                return;
        memcpy(id, data, len);
        id[len] = 0;
        if (!execution_id_is_valid(id))
                return;
        engine_interrupt(p->manager->engine, id);
        pthread_mutex_lock(&p->lock);
        for (WorkerSlot *s = p->slots; s; s = s->next)
                if (s->conn && s->conn != c && slot_has_execution(s, id))
                        (void) wire_conn_send(s->conn, WIRE_CANCEL, id, len);
        pthread_mutex_unlock(&p->lock);
}

static void on_link_frame(WireConn *c, WireType type, const void *data, size_t len, void *userdata) {
        WorkerPool *p = userdata;

        switch (type) {
        case WIRE_JOB:
                on_job(p, c, data, len);
                break;
        case WIRE_EVENT:
                on_event(p, c, data, len);
                break;
        case WIRE_CANCEL:
                on_cancel(p, c, data, len);
                break;
        default:
                log_debug("Ignoring a frame of type %d from a worker.", (int) type);
                break;
        }
}

static void on_link_closed(WireConn *c, int error, void *userdata) {
        WorkerPool *p = userdata;
        int64_t id = 0;
        WorkerSlot *s;

        pthread_mutex_lock(&p->lock);
        s = slot_of(p, c);
        if (s)
                id = s->workflow_id;
        pthread_mutex_unlock(&p->lock);
        if (s)
                link_lost(p, id, error);
}

void link_lost(WorkerPool *p, int64_t workflow_id, int error) {
        _cleanup_free_ char (*executions)[EXECUTION_ID_LEN + 1] = NULL;
        _cleanup_free_ char *slug = NULL;
        size_t n = 0, runs = 0;
        bool stopping;
        WorkerSlot *s;
        pid_t pid;

        pthread_mutex_lock(&p->lock);
        s = pool_find(p, workflow_id);
        if (!s || !s->conn) {
                pthread_mutex_unlock(&p->lock);
                return;
        }
        s->conn = wire_conn_unref(s->conn);
        pid = s->pid;
        slug = strdup(s->slug);
        stopping = s->state == WORKER_STOPPING;
        executions = TAKE_PTR(s->executions);
        n = s->n_executions;
        s->n_executions = s->n_executions_alloc = 0;
        slot_went_away(s);
        pool_collect(p);
        pthread_mutex_unlock(&p->lock);

        /* What it held runs again: here, or in its next worker. */
        for (size_t i = 0; i < n; i++) {
                int r = engine_take_back(p->manager->engine, p->manager->db, executions[i]);

                if (r < 0)
                        log_execution_errno(LOG_WARNING, r, slug, executions[i], NULL, NULL,
                                            "Cannot take back the node runs of execution %s from its worker: %m "
                                            "(%s); they run after pipelitd's next start.", executions[i],
                                            db_last_error(p->manager->db));
                else
                        runs += (size_t) r;
        }
        if (stopping && error >= 0)
                log_info("The worker of workflow '%s' (pid %d) stopped; %zu node run(s) of %zu execution(s) go back "
                         "to the queue.", slug ?: "?", (int) pid, runs, n);
        else
                log_warning("The worker of workflow '%s' (pid %d) went away%s%s; %zu node run(s) of %zu execution(s) "
                            "go back to the queue.", slug ?: "?", (int) pid, error < 0 ? ": " : "",
                            error < 0 ? strerror(-error) : "", runs, n);
}
