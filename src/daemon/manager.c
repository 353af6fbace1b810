/* The daemon's state and its life: open the database, listen, serve, stop cleanly. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "api/server.h"
#include "api/ws-hub.h"
#include "broker/broker.h"
#include "bus/bus-manager.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/message-ids.h"
#include "common/vault.h"
#include "common/work-pool.h"
#include "daemon/manager.h"
#include "daemon/worker-pool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/platform-link.h"
#include "store/migrate.h"
#include "store/store-executions.h"
#include "store/store-schedules.h"

/* How long in-flight requests may take to finish after SIGTERM. */
#define STOP_GRACE_USEC (25ULL * 1000 * 1000)
/* How long running nodes may take to give up after SIGTERM; those that do not are run
 * again after the next start. */
#define ENGINE_STOP_USEC (3ULL * 1000 * 1000)
/* Credential checks waiting on providers at once, and threads making them. */
#define WORK_POOL_THREADS 4
#define WORK_POOL_PENDING 32

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        config_init(&m->config);
        r = sd_event_new(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* The hub goes with the server; the broker may outlive both. */
        if (m->broker)
                broker_set_subscriber(m->broker, NULL, NULL);
        /* Before the bus, which its calls to systemd use; not under a worker thread that may
         * still route a job (the engine did not stop): then after the engine. */
        if (!m->engine || !engine_busy(m->engine))
                m->workers = worker_pool_free(m->workers);
        bus_stop(m);
        server_free(m->server);
        /* After the server: the requests its checks were for are gone, so they just end. */
        work_pool_free(m->work_pool);
        /* A worker still inside a node keeps the engine, and so the broker and the vault, alive. */
        engine_stop(m->engine, ENGINE_STOP_USEC);
        if (!m->engine || !engine_busy(m->engine)) {
                m->workers = worker_pool_free(m->workers);
                m->engine = engine_free(m->engine);
                events_set_broker(NULL);
                broker_free(m->broker);
                vault_free(m->vault);
        }
        db_close(m->db);
        sd_event_unref(m->event);
        config_done(&m->config);
        free(m);
        return NULL;
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int manager_open_database(Manager *m) {
        _cleanup_free_ char *error = NULL;
        int r;

        /* The embedded default keeps its database in the state directory: create it. */
        if (m->config.state_directory && strncmp(m->config.database, "sqlite:", 7) == 0) {
                r = mkdir_parents(m->config.state_directory, 0750);
                if (r < 0)
                        return log_error_errno(r, "Cannot create state directory %s: %m",
                                               m->config.state_directory);
        }

        r = db_open(m->config.database, &m->db, &error);
        if (r < 0)
                return log_error_errno(r, "Cannot open database: %s", error ?: "unknown error");

        r = db_migrate(m->db, &error);
        if (r < 0)
                return log_error_errno(r, "Cannot prepare database: %s", error ?: "unknown error");
        if (r > 0)
                log_info("Applied %i database migration(s) on %s.", r,
                         db_backend_to_string(db_backend(m->db)));
        return 0;
}

/* The secret key for credentials: systemd's credential when passed, else the state
 * directory's key file, created on the first start. */
static int manager_load_vault(Manager *m) {
        _cleanup_free_ char *error = NULL;
        const char *credentials = getenv("CREDENTIALS_DIRECTORY");
        VaultKeySource source;
        int r;

        r = mkdir_parents(m->config.state_directory, 0750);
        if (r < 0)
                return log_error_errno(r, "Cannot create state directory %s: %m", m->config.state_directory);
        r = vault_load(credentials, m->config.state_directory, &m->vault, &source, &error);
        if (r < 0 && error)
                return log_error_errno(r, "%s", error);
        if (r < 0)
                return log_error_errno(r, "Cannot load the secret key: %m");
        if (source == VAULT_KEY_CREATED)
                log_notice("Created the secret key %s/%s: keep it with backups of the database, the "
                           "credentials' secrets cannot be read without it.",
                           m->config.state_directory, VAULT_KEY_FILE);
        else
                log_debug("Secret key from %s.", source == VAULT_KEY_FROM_CREDENTIAL
                          ? "$CREDENTIALS_DIRECTORY/" VAULT_CREDENTIAL_NAME : "the state directory");
        return 0;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("%u request(s) still running after the grace period; exiting anyway.",
                    server_requests_in_flight(m->server));
        m->forced = true;
        return 0;
}

static void manager_stop(Manager *m) {
        uint64_t now;

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Finishing requests in flight");
        m->stopping = true;
        server_stop_accepting(m->server);
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_add_time(m->event, NULL, CLOCK_MONOTONIC, now + STOP_GRACE_USEC, 0,
                                 on_stop_timeout, m);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (m->stopping)
                return 0;
        log_message_id(LOG_INFO, MESSAGE_ID_DAEMON_STOPPING,
                       "Received %s, stopping: finishing %u request(s) in flight.",
                       strsignal((int) si->ssi_signo), server_requests_in_flight(m->server));
        manager_stop(m);
        return 0;
}

/* SIGHUP: the configuration again, as Reload() on the bus does; manager_reload() logs. */
static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_json_ json_t *report = NULL;
        _cleanup_free_ char *error = NULL;

        (void) manager_reload(userdata, &report, &error);
        return 0;
}

/* Socket-activated and idle for IdleTimeoutSec=: exit; systemd keeps the socket and starts
 * us again on the next connection. Re-armed for the idle period after the last request or
 * the last WebSocket client; never idle while a WebSocket client is connected. */
static int on_idle_check(sd_event_source *s, uint64_t now, void *userdata) {
        Manager *m = userdata;
        WsHub *hub = server_hub(m->server);
        uint64_t idle_since = MAX(server_last_activity_usec(m->server), ws_hub_last_activity_usec(hub)),
                 timeout = m->config.idle_timeout_usec;

        if (m->stopping)
                return 0;
        /* Unfinished executions keep the daemon up: after an idle exit nothing would run
         * their waits and deadlines before the next connection; so do active schedules, which
         * would not fire. (An error counts as busy.) */
        if (server_requests_in_flight(m->server) == 0 && ws_hub_clients(hub) == 0 &&
            now >= idle_since + timeout && store_executions_unfinished(m->db) == 0 &&
            store_schedules_active(m->db) == 0) {
                log_message_id(LOG_INFO, MESSAGE_ID_DAEMON_STOPPING,
                               "Idle for %llu s, exiting until the next connection.",
                               (unsigned long long) (timeout / 1000000));
                manager_stop(m);
                return 0;
        }
        (void) sd_event_source_set_time(s, MAX(now, idle_since) + timeout);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int manager_listen(Manager *m) {
        char **names = NULL;
        int n, r;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Cannot read the sockets passed by systemd: %m");
        for (int i = 0; i < n; i++) {
                r = server_adopt_listen_fd(m->server, SD_LISTEN_FDS_START + i);
                if (r < 0)
                        log_warning_errno(r, "Ignoring passed fd %i (%s): %m", SD_LISTEN_FDS_START + i,
                                          names && names[i] ? names[i] : "unnamed");
                free(names ? names[i] : NULL);
        }
        free(names);
        if (n > 0) {
                m->socket_activated = true;
                return 0;
        }

        for (char **l = m->config.listen; l && *l; l++) {
                _cleanup_free_ char *host = NULL;
                uint16_t port;

                r = parse_listen_address(*l, &host, &port);
                if (r < 0)
                        return log_error_errno(r, "Invalid listen address '%s'.", *l);
                r = server_listen_tcp(m->server, host, port);
                if (r < 0)
                        return log_error_errno(r, "Cannot listen on %s: %m", *l);
        }
        if (m->config.listen_unix) {
                r = server_listen_unix(m->server, m->config.listen_unix);
                if (r < 0)
                        return log_error_errno(r, "Cannot listen on %s: %m", m->config.listen_unix);
        }
        return 0;
}

/* Live events go to the WebSocket clients and execution watches, and to the D-Bus signals. */
static void manager_broker_message(const char *channel, const char *message, size_t len, json_t *parsed,
                                   void *userdata) {
        Manager *m = userdata;

        server_broker_message(channel, message, len, parsed, m->server);
        bus_broker_message(channel, message, len, m);
}

/* The platform_api tool calls this daemon's REST API on a worker thread: where it listens. */
static void manager_link_engine(Manager *m) {
        _cleanup_free_ char *url = NULL, *path = NULL;
        int r;

        r = server_local_address(m->server, &url, &path);
        if (r >= 0)
                r = platform_link_set_api(engine_platform_link(m->engine), url, path);
        if (r < 0)
                log_warning_errno(r, "Agents' platform_api tools cannot reach this daemon's API: %m");
        else
                log_debug("Agents' platform_api tools reach the API at %s%s%s.", url, path ? " through " : "",
                          path ?: "");
}

/* The broker and the engine, which resumes what a previous run left unfinished. */
static int manager_start_engine(Manager *m) {
        int r;

        r = broker_new_local(m->event, &m->broker);
        if (r < 0)
                return log_error_errno(r, "Cannot create the broker: %m");
        events_set_broker(m->broker);

        r = engine_new(m, m->broker, &m->engine);
        if (r < 0)
                return log_error_errno(r, "Cannot create the execution engine: %m");
        /* Before the start: the runs it resumes already go to their workflows' workers. */
        r = worker_pool_new(m, &m->workers);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the dedicated workers: %m");
        return engine_start(m->engine, m->db);
}

int manager_run(Manager *m) {
        int r;

        r = manager_load_vault(m);
        if (r < 0)
                return r;
        r = work_pool_new(m->event, WORK_POOL_THREADS, WORK_POOL_PENDING, &m->work_pool);
        if (r < 0)
                return log_error_errno(r, "Cannot create the work pool: %m");

        r = manager_start_engine(m);
        if (r < 0)
                return r;

        r = server_new(m, &m->server);
        if (r < 0)
                return log_error_errno(r, "Cannot start the HTTP server: %m");
        /* Live events reach the WebSocket clients and the execution watches through the broker. */
        broker_set_subscriber(m->broker, manager_broker_message, m);
        r = manager_listen(m);
        if (r < 0)
                return r;
        manager_link_engine(m);
        r = bus_start(m);
        if (r < 0)
                return r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        if (m->socket_activated && m->config.idle_timeout_usec > 0) {
                uint64_t now;

                (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                r = sd_event_add_time(m->event, NULL, CLOCK_MONOTONIC,
                                      now + m->config.idle_timeout_usec, 0, on_idle_check, m);
                if (r < 0)
                        return log_error_errno(r, "Cannot arm the idle timer: %m");
        }

        /* Pings the service manager when WATCHDOG_USEC is set, from inside the loop. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot enable the watchdog: %m");

        log_message_id(LOG_INFO, MESSAGE_ID_DAEMON_STARTED,
                       "pipelitd " PACKAGE_VERSION " serving on %s (database: %s).",
                       server_describe(m->server), db_backend_to_string(db_backend(m->db)));
        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving on %s", server_describe(m->server));

        r = server_run(m->server, &m->stopping, &m->forced);
        /* After the requests in flight: none of them can start an execution any more. */
        engine_stop(m->engine, ENGINE_STOP_USEC);
        if (r < 0)
                return log_error_errno(r, "The event loop failed: %m");
        log_info("Stopped.");
        return 0;
}
