/* Starting and stopping a workflow's worker ([Engine] WorkerLauncher=).
 *
 * systemd: pipelit-worker@<slug>.service through systemd's D-Bus API, without waiting on
 * the I/O thread: SetUnitProperties(runtime) with the workflow's limits, then StartUnit, then
 * the JobRemoved signal of its job. The slug is checked before it makes a unit name (lower
 * case letters, digits, '-' and '_' are all fine in an instance name). As user pipelit this
 * needs the package's polkit rule, which allows exactly these units.
 *
 * exec: pipelit-worker as a child process (tests, and systems without systemd); no limits
 * are applied. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/log.h"
#include "daemon/manager.h"
#include "daemon/worker-pool-internal.h"
#include "store/store-workflows.h"

#define SYSTEMD_DESTINATION "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define UNIT_PREFIX "pipelit-worker@"
#define UNIT_SUFFIX ".service"
/* systemd's limit on unit names, with the NUL. */
#define UNIT_NAME_MAX 256
/* A call to systemd (polkit included) that takes longer has failed. */
#define CALL_TIMEOUT_USEC (25ULL * 1000 * 1000)

extern char **environ;

static char *str_free(char *s) {
        free(s);
        return NULL;
}

/* --- systemd ----------------------------------------------------------------------------------- */

static int unit_name(const char *slug, char **ret) {
        if (!workflow_slug_is_valid(slug))
                return -EINVAL;
        if (strlen(UNIT_PREFIX) + strlen(slug) + strlen(UNIT_SUFFIX) >= UNIT_NAME_MAX)
                return -ENAMETOOLONG;
        return asprintf(ret, UNIT_PREFIX "%s" UNIT_SUFFIX, slug) < 0 ? -ENOMEM : 0;
}

/* The limits as cgroup properties; one not set is lifted (infinity), so that an earlier
 * runtime setting of the same unit does not linger. */
static int append_limits(sd_bus_message *m, const WorkerLimits *l) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "MemoryMax", "t", l->memory_max ?: UINT64_MAX,
                                          "CPUQuotaPerSecUSec", "t", l->cpu_quota_per_sec_usec ?: UINT64_MAX,
                                          "TasksMax", "t", l->tasks_max ?: UINT64_MAX);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int set_properties_async(WorkerSlot *s, sd_bus_slot **ret_slot, sd_bus_message_handler_t handler) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = s->pool->manager->bus;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", s->unit, 1);
        if (r >= 0)
                r = append_limits(m, &s->limits);
        if (r >= 0)
                r = sd_bus_call_async(bus, ret_slot, m, handler, s, CALL_TIMEOUT_USEC);
        return r;
}

static const char *error_text(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        return e ? (e->message ?: e->name) : NULL;
}

static int on_job_removed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        WorkerPool *p = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        char why[128];

        if (sd_bus_message_read(message, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        pthread_mutex_lock(&p->lock);
        for (WorkerSlot *s = p->slots; s; s = s->next) {
                if (!streq_ptr(s->job_path, job))
                        continue;
                s->job_path = str_free(s->job_path);
                /* "done": it runs and is connected (Type=notify says so after its hello). */
                if (!streq(result, "done") && s->state == WORKER_STARTING) {
                        snprintf(why, sizeof why, "systemd's start job of %s ended with '%s'", unit, result);
                        slot_start_failed(s, why);
                }
                break;
        }
        pthread_mutex_unlock(&p->lock);
        return 0;
}

static int on_start_queued(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        WorkerSlot *s = userdata;
        WorkerPool *p = s->pool;
        const char *job, *error;
        char why[512];

        pthread_mutex_lock(&p->lock);
        s->call = sd_bus_slot_unref(s->call);
        error = error_text(reply);
        if (error && s->state == WORKER_STARTING) {
                snprintf(why, sizeof why, "StartUnit(%s): %s", s->unit, error);
                slot_start_failed(s, why);
        } else if (!error && sd_bus_message_read(reply, "o", &job) >= 0) {
                free(s->job_path);
                s->job_path = strdup(job);
        }
        pthread_mutex_unlock(&p->lock);
        return 0;
}

static int on_properties_set(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        WorkerSlot *s = userdata;
        WorkerPool *p = s->pool;
        const char *error;
        char why[512];
        int r;

        pthread_mutex_lock(&p->lock);
        s->call = sd_bus_slot_unref(s->call);
        error = error_text(reply);
        if (s->state != WORKER_STARTING)
                goto out;
        if (error) {
                snprintf(why, sizeof why, "SetUnitProperties(%s): %s", s->unit, error);
                slot_start_failed(s, why);
                goto out;
        }
        r = sd_bus_call_method_async(p->manager->bus, &s->call, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                     "StartUnit", on_start_queued, s, "ss", s->unit, "replace");
        if (r < 0) {
                snprintf(why, sizeof why, "StartUnit(%s): %s", s->unit, strerror(-r));
                slot_start_failed(s, why);
        }
out:
        pthread_mutex_unlock(&p->lock);
        return 0;
}

int launch_systemd(WorkerSlot *s) {
        WorkerPool *p = s->pool;
        sd_bus *bus = p->manager->bus;
        int r;

        if (!bus)
                return -ENOTCONN;
        free(s->unit);
        s->unit = NULL;
        r = unit_name(s->slug, &s->unit);
        if (r < 0)
                return r;
        if (!p->job_removed) {
                r = sd_bus_match_signal_async(bus, &p->job_removed, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                              "JobRemoved", on_job_removed, NULL, p);
                if (r < 0)
                        return r;
        }
        s->call = sd_bus_slot_unref(s->call);
        r = set_properties_async(s, &s->call, on_properties_set);
        if (r < 0)
                return r;
        log_info("Starting %s for workflow '%s'.", s->unit, s->slug);
        return 0;
}

static int on_limits_updated(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const char *error = error_text(reply);

        if (error)
                log_warning("Cannot change the limits of a dedicated worker's unit: %s", error);
        return 0;
}

void launch_update_limits(WorkerSlot *s) {
        sd_bus *bus = s->pool->manager->bus;

        if (!s->unit || !bus)
                return;
        /* A floating slot: the reply is logged whatever becomes of the slot. */
        if (set_properties_async(s, NULL, on_limits_updated) >= 0)
                log_info("Applying the new limits of workflow '%s' to %s.", s->slug, s->unit);
}

/* --- exec ------------------------------------------------------------------------------------- */

static int worker_binary(char **ret) {
        char self[PATH_MAX], *slash;
        ssize_t n;

        /* Beside pipelitd first: a build directory runs its own. */
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = 0;
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = 0;
                        if (asprintf(ret, "%s/pipelit-worker", self) < 0)
                                return -ENOMEM;
                        if (access(*ret, X_OK) == 0)
                                return 0;
                        free(*ret);
                }
        }
        if (asprintf(ret, "%s/pipelit-worker", PKGLIBEXECDIR) < 0)
                return -ENOMEM;
        return access(*ret, X_OK) == 0 ? 0 : -ENOENT;
}

/* pipelitd's environment without what systemd handed to pipelitd alone. */
static char **child_environment(void) {
        static const char *const dropped[] = { "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
                                               "WATCHDOG_USEC=", "WATCHDOG_PID=" };
        size_t n = 0, k = 0;
        char **env;

        while (environ && environ[n])
                n++;
        env = calloc(n + 1, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                bool drop = false;

                for (size_t j = 0; j < ELEMENTSOF(dropped); j++)
                        drop = drop || strncmp(environ[i], dropped[j], strlen(dropped[j])) == 0;
                if (!drop)
                        env[k++] = environ[i];
        }
        return env;
}

static void child_free(WorkerPool *p, WorkerChild *c) {
        for (WorkerChild **i = &p->children; *i; i = &(*i)->next)
                if (*i == c) {
                        *i = c->next;
                        break;
                }
        sd_event_source_disable_unref(c->source);
        free(c);
}

void launch_children_free(WorkerPool *p) {
        while (p->children)
                child_free(p, p->children);
}

static int on_child_exit(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        WorkerChild *c = userdata;
        WorkerPool *p = c->pool;
        WorkerSlot *s;
        char why[96];
        int status = 0;
        pid_t pid;

        pid = waitpid(c->pid, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno != ECHILD))
                return 0;
        if (pid > 0 && WIFSIGNALED(status))
                snprintf(why, sizeof why, "it was killed by signal %d before it connected", WTERMSIG(status));
        else
                snprintf(why, sizeof why, "it exited with status %d before it connected",
                         pid > 0 ? WEXITSTATUS(status) : -1);
        pid = c->pid;
        pthread_mutex_lock(&p->lock);
        s = pool_find(p, c->workflow_id);
        /* Only the latest start's child matters: an older one's end was seen through its
         * connection already. */
        if (s && s->child == pid) {
                s->child = 0;
                if (s->state == WORKER_STARTING && !s->start_requested)
                        slot_start_failed(s, why);
                else if (s->state == WORKER_STOPPING && !s->conn)
                        slot_went_away(s);
                pool_collect(p);
        }
        pthread_mutex_unlock(&p->lock);
        child_free(p, c);
        return 0;
}

int launch_exec(WorkerSlot *s) {
        WorkerPool *p = s->pool;
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char **env = NULL;
        posix_spawnattr_t attr;
        sigset_t none, defaults;
        WorkerChild *c;
        pid_t pid;
        int r, pidfd;

        if (!p->socket_path)
                return -ENOTCONN;
        r = worker_binary(&path);
        if (r < 0)
                return r;
        env = child_environment();
        if (!env)
                return -ENOMEM;

        char *argv[] = { path, (char *) "--workflow", s->slug, (char *) "--socket", p->socket_path, NULL };

        /* It blocks and handles its signals itself; pipelitd's blocked ones are not its. */
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGHUP);
        r = -posix_spawnattr_init(&attr);
        if (r < 0)
                return r;
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setsigdefault(&attr, &defaults);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = -posix_spawn(&pid, path, NULL, &attr, argv, env);
        posix_spawnattr_destroy(&attr);
        if (r < 0)
                return r;

        s->child = pid;
        c = calloc(1, sizeof *c);
        pidfd = c ? (int) syscall(SYS_pidfd_open, pid, 0) : -1;
        if (pidfd < 0 || sd_event_add_io(p->manager->event, &c->source, pidfd, EPOLLIN, on_child_exit, c) < 0) {
                /* Not watched: its start and end are still seen through its connection (and
                 * its zombie reaped by nobody until pipelitd exits). */
                log_warning("Cannot watch the worker process %d of workflow '%s'.", (int) pid, s->slug);
                if (pidfd >= 0)
                        close(pidfd);
                free(c);
        } else {
                (void) sd_event_source_set_io_fd_own(c->source, true);
                c->pool = p;
                c->workflow_id = s->workflow_id;
                c->pid = pid;
                c->next = p->children;
                p->children = c;
        }
        log_info("Started pipelit-worker for workflow '%s' (pid %d).", s->slug, (int) pid);
        return 0;
}

/* --- both -------------------------------------------------------------------------------------- */

int launch_stop(WorkerSlot *s) {
        sd_bus *bus = s->pool->manager->bus;
        int r = 0;

        s->call = sd_bus_slot_unref(s->call);
        s->job_path = str_free(s->job_path);
        if (s->unit && bus) {
                r = sd_bus_call_method_async(bus, NULL, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER, "StopUnit",
                                             NULL, NULL, "ss", s->unit, "replace");
                if (r < 0)
                        log_warning_errno(r, "Cannot stop %s: %m", s->unit);
                return r < 0 ? 0 : 1;
        }
        if (s->child > 0) {
                (void) kill(s->child, SIGTERM);
                return 1;
        }
        return 0;
}

void launch_forget(WorkerSlot *s) {
        s->call = sd_bus_slot_unref(s->call);
        s->job_path = str_free(s->job_path);
        s->unit = str_free(s->unit);
}
