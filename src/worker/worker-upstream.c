/* The worker's side of the link to pipelitd (worker-upstream.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/json-util.h"
#include "common/log.h"
#include "engine/events.h"
#include "store/store-executions.h"
#include "worker/worker-upstream.h"
#include "worker/worker-wire.h"

/* Executions it says it runs, once each: the last this many. */
#define RECENT_EXECUTIONS 64

struct Upstream {
        sd_event *event;
        WireConn *conn;
        char *slug;
        UpstreamWelcomeFunc on_welcome;
        void *userdata;
        bool welcomed;

        Broker *broker;
        Engine *engine;
        long listeners;         /* what pipelitd said last */

        char recent[RECENT_EXECUTIONS][EXECUTION_ID_LEN + 1];
        unsigned next_recent;
};

/* Logs the first job of each execution: "journalctl -u pipelit-worker@SLUG" then names it. */
static void note_execution(Upstream *u, const char *execution_id) {
        for (unsigned i = 0; i < RECENT_EXECUTIONS; i++)
                if (streq(u->recent[i], execution_id))
                        return;
        snprintf(u->recent[u->next_recent], EXECUTION_ID_LEN + 1, "%s", execution_id);
        u->next_recent = (u->next_recent + 1) % RECENT_EXECUTIONS;
        log_execution(LOG_INFO, u->slug, execution_id, NULL, NULL,
                      "Running execution %s of workflow '%s' in this worker (pid %d).", execution_id, u->slug,
                      (int) getpid());
}

static void on_job(Upstream *u, const void *data, size_t len) {
        BrokerJob job = {};
        WireJob w;
        int r;

        if (!u->broker || wire_job_parse(data, len, &w) < 0 || !execution_id_is_valid(w.execution_id))
                return;
        memcpy(job.execution_id, w.execution_id, sizeof job.execution_id);
        job.node_run_id = w.node_run_id;
        note_execution(u, job.execution_id);
        r = broker_push(u->broker, &job, w.run_at);
        /* pipelitd takes it back with the others when this worker goes. */
        if (r < 0)
                log_execution_errno(LOG_ERR, r, u->slug, job.execution_id, NULL, NULL,
                                    "Cannot queue node run %" PRIi64 " of execution %s: %m", job.node_run_id,
                                    job.execution_id);
}

static void on_welcome(Upstream *u, const void *data, size_t len) {
        _cleanup_json_ json_t *welcome = json_loadb(data, len, 0, NULL);
        int r;

        if (u->welcomed)
                return;
        u->welcomed = true;
        u->listeners = json_get_integer(welcome, "listeners", 0);
        r = welcome ? u->on_welcome(u, welcome, u->userdata) : -EBADMSG;
        if (r < 0) {
                log_error_errno(r, "Cannot serve workflow '%s': %m", u->slug);
                (void) sd_event_exit(u->event, EXIT_FAILURE);
        }
}

static void on_frame(WireConn *c, WireType type, const void *data, size_t len, void *userdata) {
        Upstream *u = userdata;
        char id[EXECUTION_ID_LEN + 1];
        int64_t n;

        switch (type) {
        case WIRE_WELCOME:
                on_welcome(u, data, len);
                break;
        case WIRE_REFUSED:
                log_error("pipelitd refused this worker for workflow '%s': %.*s", u->slug, (int) MIN(len, (size_t) 512),
                          (const char *) data);
                (void) sd_event_exit(u->event, EXIT_FAILURE);
                break;
        case WIRE_JOB:
                on_job(u, data, len);
                break;
        case WIRE_CANCEL:
                if (len != EXECUTION_ID_LEN || !u->engine)
                        break;
                memcpy(id, data, len);
                id[len] = 0;
                if (execution_id_is_valid(id))
                        engine_interrupt(u->engine, id);
                break;
        case WIRE_LISTENERS:
                if (len != sizeof n)
                        break;
                memcpy(&n, data, sizeof n);
                /* The count here follows pipelitd's: the events its subscribers want get built. */
                events_listeners_changed((int) (n - u->listeners));
                u->listeners = n;
                break;
        default:
                break;
        }
}

static void on_closed(WireConn *c, int error, void *userdata) {
        Upstream *u = userdata;

        if (error < 0)
                log_warning_errno(error, "Lost the link to pipelitd: %m");
        else
                log_info("pipelitd closed the link: stopping.");
        (void) sd_event_exit(u->event, u->welcomed ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* The broker's upstream: a job this worker's engine enqueued, for pipelitd to queue. */
static int send_job(const BrokerJob *job, usec_t run_at, void *userdata) {
        Upstream *u = userdata;

        return wire_conn_send_job(u->conn, job->execution_id, job->node_run_id, run_at);
}

/* The broker's subscriber: an event, for pipelitd to publish. */
static void send_event(const char *channel, const char *message, size_t len, json_t *parsed, void *userdata) {
        Upstream *u = userdata;
        struct iovec iov[] = {
                { .iov_base = (void *) channel, .iov_len = strlen(channel) + 1 },
                { .iov_base = (void *) message, .iov_len = len },
        };

        (void) wire_conn_sendv(u->conn, WIRE_EVENT, iov, ELEMENTSOF(iov));
}

static void send_cancel(void *userdata, const char *execution_id) {
        Upstream *u = userdata;

        (void) wire_conn_send(u->conn, WIRE_CANCEL, execution_id, strlen(execution_id));
}

void upstream_attach(Upstream *u, Broker *broker, Engine *engine) {
        u->broker = broker;
        u->engine = engine;
        broker_set_upstream(broker, send_job, u);
        broker_set_subscriber(broker, send_event, u);
        engine_set_hooks(engine, &(EngineHooks) { .cancelled = send_cancel, .userdata = u });
        events_listeners_changed((int) u->listeners);
}

int upstream_connect(sd_event *event, const char *path, const char *slug, UpstreamWelcomeFunc welcome_func,
                     void *userdata, Upstream **ret) {
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_json_ json_t *hello = NULL;
        _cleanup_free_ char *text = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->event = sd_event_ref(event);
        u->slug = strdup(slug);
        u->on_welcome = welcome_func;
        u->userdata = userdata;
        if (!u->slug)
                return -ENOMEM;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        r = wire_conn_new(event, TAKE_FD(fd), on_frame, on_closed, u, &u->conn);
        if (r < 0)
                return r;

        hello = json_pack("{s:s, s:I, s:s}", "workflow", slug, "pid", (json_int_t) getpid(), "version", PACKAGE_VERSION);
        text = hello ? json_dumps(hello, JSON_COMPACT) : NULL;
        if (!text)
                return -ENOMEM;
        r = wire_conn_send(u->conn, WIRE_HELLO, text, strlen(text));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

Upstream *upstream_free(Upstream *u) {
        if (!u)
                return NULL;
        wire_conn_unref(u->conn);
        sd_event_unref(u->event);
        free(u->slug);
        free(u);
        return NULL;
}
