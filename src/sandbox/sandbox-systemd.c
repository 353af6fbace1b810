/* The systemd backend of the sandbox: each program runs in a transient service unit that
 * systemd starts for us over D-Bus (see sandbox.h). Only root uses it: whoever may start
 * transient units chooses every property of them, User=root too.
 *
 * The unit holds a reference from our bus connection (AddRef=), so it stays loaded after it
 * ended until we have read how (ExecMainCode=, ExecMainStatus=, Result=), and goes as soon
 * as we let go of it (CollectMode=inactive-or-failed). Type=exec makes the start job fail
 * when the program could not be started: that is how a sandbox that could not be set up is
 * told apart from a program that exited with one of systemd's own exit codes. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-login.h>

#include "common/macro.h"
#include "sandbox/sandbox-internal.h"

#define SYSTEMD_DESTINATION "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"
#define SYSTEMD_SERVICE "org.freedesktop.systemd1.Service"
#define SYSTEMD_UNIT_PATH "/org/freedesktop/systemd1/unit"

#define UNIT_PREFIX "pipelit-code-"
#define UNIT_SLICE "pipelit.slice"
/* Starting waits for polkit too; then the call gives up. */
#define UNIT_START_TIMEOUT_USEC (UINT64_C(30) * 1000000)
/* Looking at the unit without a signal asking for it, in case one went missing. */
#define UNIT_REFRESH_USEC (UINT64_C(1) * 1000000)
/* How long a killed unit may take to end before we stop waiting. */
#define UNIT_KILL_WAIT_USEC (UINT64_C(10) * 1000000)
/* How long an ended unit's JobRemoved signal may lag behind its state. */
#define UNIT_JOB_GRACE_USEC (UINT64_C(500) * 1000)

/* --- the pure parts ------------------------------------------------------------------------ */

int sandbox_unit_name_new(char **ret) {
        sd_id128_t id;
        char *name;
        int r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        if (asprintf(&name, UNIT_PREFIX SD_ID128_FORMAT_STR ".service", SD_ID128_FORMAT_VAL(id)) < 0)
                return -ENOMEM;
        *ret = name;
        return 0;
}

void sandbox_strv_free(char **l) {
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static bool sandbox_dir_stays_visible(const char *name) {
        /* What the program needs, as in the bubblewrap backend; /sys is closed separately. */
        static const char *const visible[] = {
                "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "proc", "dev", "sys", "tmp",
        };

        for (size_t i = 0; i < ELEMENTSOF(visible); i++)
                if (streq(name, visible[i]))
                        return true;
        return false;
}

int sandbox_unit_hidden_dirs(const char *root, char ***ret) {
        _cleanup_(closedirp) DIR *d = opendir(root);
        _cleanup_(sandbox_strv_freep) char **l = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d)
                return -errno;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                char **grown;

                if (de->d_name[0] == '.' || sandbox_dir_stays_visible(de->d_name))
                        continue;
                /* Directories only: a symbolic link leads somewhere that is hidden already or
                 * into /usr, and systemd would follow it. */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;

                grown = realloc(l, (n + 2) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                l = grown;
                if (asprintf(&l[n], "/%s", de->d_name) < 0) {
                        l[n] = NULL;
                        return -ENOMEM;
                }
                l[++n] = NULL;
        }
        if (errno != 0)
                return -errno;

        *ret = TAKE_PTR(l);
        return 0;
}

void sandbox_unit_limits(const SandboxOptions *o, SandboxUnitLimits *ret) {
        *ret = (SandboxUnitLimits) {
                .memory_max = o->max_address_space > 0 ? o->max_address_space : SANDBOX_MEMORY_MAX_DEFAULT,
                .limit_as = o->max_address_space,
                .limit_fsize = o->max_file_size > 0 ? o->max_file_size : SANDBOX_FILE_SIZE_DEFAULT,
                .tasks_max = SANDBOX_TASKS_MAX,
                .runtime_max_usec = o->timeout_usec > 0 ? o->timeout_usec : UINT64_MAX,
        };
}

/* --- the unit's properties ------------------------------------------------------------------- */

/* ExecStartEx=, not ExecStart=: with "no-env-expand" systemd leaves "$" in the arguments
 * alone, where it would expand $VAR and turn "$$" into "$" in the snippet's source. */
static int append_exec_start(sd_bus_message *m, char *const *argv) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStartEx");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasas");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 1, "no-env-expand");
        for (int i = 0; i < 4 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_hidden_dirs(sd_bus_message *m, char **dirs) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "TemporaryFileSystem");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (char **d = dirs; r >= 0 && *d; d++)
                r = sd_bus_message_append(m, "(ss)", *d, "ro");
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

/* With network: what name resolution and TLS read from the host's /etc (hidden otherwise). */
static const char *const network_files[] = {
        "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf",
        "/etc/ssl", "/etc/ca-certificates",
};

/* BindPaths= or BindReadOnlyPaths=: (source, destination, ignore a missing source, flags). */
static int append_binds(sd_bus_message *m, const char *property, const char *const *sources,
                        const char *const *destinations, size_t n, bool ignore_missing) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", property);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(ssbt)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ssbt)");
        for (size_t i = 0; i < n && r >= 0; i++)
                r = sd_bus_message_append(m, "(ssbt)", sources[i], destinations[i], (int) ignore_missing,
                                          (uint64_t) MS_REC);
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

typedef struct UnitSetup {
        const SandboxOptions *options;
        const char *home, *inside;      /* the workspace on the host and inside; NULL: none */
        SandboxUnitLimits limits;
        char **hidden_dirs;
        const char *slice;              /* NULL: systemd's default */
        const char *bound_to;           /* our own service, NULL when we are none */
        int fds[3];                     /* the program's standard input, output, error */
} UnitSetup;

static int append_properties(sd_bus_message *m, const UnitSetup *u) {
        static const char *const enabled[] = {
                "DynamicUser", "PrivateTmp", "PrivateDevices", "PrivateIPC",
                "NoNewPrivileges", "ProtectKernelTunables", "ProtectKernelModules",
                "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
                "LockPersonality", "RestrictRealtime", "RestrictSUIDSGID", "AddRef",
        };
        const SandboxUnitLimits *l = &u->limits;
        const SandboxOptions *o = u->options;
        const char *workdir = u->inside ?: "/tmp";
        _cleanup_free_ char *home_env = NULL;
        int r;

        if (asprintf(&home_env, "HOME=%s", workdir) < 0)
                return -ENOMEM;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(enabled); i++) {
                r = sd_bus_message_append(m, "(sv)", enabled[i], "b", 1);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_append(m,
                                  "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", "pipelit code snippet",
                                  "Type", "s", "exec",
                                  "CollectMode", "s", "inactive-or-failed",
                                  "ProtectSystem", "s", "strict",
                                  "ProtectHome", "s", "yes",
                                  "ProtectProc", "s", "invisible",
                                  "WorkingDirectory", "s", workdir,
                                  "UMask", "u", (uint32_t) 0077,
                                  /* Like the bubblewrap backend: signals as the program expects
                                   * them, and killed outright, never asked to stop. */
                                  "IgnoreSIGPIPE", "b", 0,
                                  "KillSignal", "i", (int32_t) SIGKILL,
                                  "SendSIGHUP", "b", 0,
                                  "CapabilityBoundingSet", "t", UINT64_C(0),
                                  "AmbientCapabilities", "t", UINT64_C(0));
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)",
                                  /* The set of namespaces it may create: none. */
                                  "RestrictNamespaces", "t", UINT64_C(0),
                                  "SystemCallFilter", "(bas)", 1, 1, "@system-service",
                                  "SystemCallArchitectures", "as", 1, "native",
                                  /* A refused call fails with EPERM, so the program can say so. */
                                  "SystemCallErrorNumber", "i", (int32_t) EPERM);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "MemoryMax", "t", l->memory_max,
                                  "MemorySwapMax", "t", UINT64_C(0),
                                  "TasksMax", "t", l->tasks_max,
                                  "RuntimeMaxUSec", "t", l->runtime_max_usec,
                                  "LimitFSIZE", "t", l->limit_fsize,
                                  "LimitCORE", "t", UINT64_C(0));
        if (r < 0)
                return r;
        if (l->limit_as > 0) {
                r = sd_bus_message_append(m, "(sv)", "LimitAS", "t", l->limit_as);
                if (r < 0)
                        return r;
        }

        /* No network: a loopback device of its own, and only local sockets. */
        r = sd_bus_message_append(m, "(sv)", "PrivateNetwork", "b", (int) !o->allow_network);
        if (r >= 0 && o->allow_network)
                r = sd_bus_message_append(m, "(sv)", "RestrictAddressFamilies", "(bas)", 1, 4, "AF_UNIX", "AF_INET",
                                          "AF_INET6", "AF_NETLINK");
        else if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "RestrictAddressFamilies", "(bas)", 1, 1, "AF_UNIX");
        if (r >= 0 && o->allow_network)
                r = append_binds(m, "BindReadOnlyPaths", network_files, network_files, ELEMENTSOF(network_files),
                                 true);
        if (r < 0)
                return r;

        /* The workspace: the one folder of the host it may write to, shared with the runs
         * before and after it (each a dynamic user of its own) through the group. */
        if (u->home) {
                r = append_binds(m, "BindPaths", &u->home, &u->inside, 1, false);
                if (r >= 0)
                        r = sd_bus_message_append(m, "(sv)", "SupplementaryGroups", "as", 1, SANDBOX_WORKSPACE_GROUP);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_append(m, "(sv)", "Environment", "as", 5,
                                  "PATH=/usr/local/bin:/usr/bin:/bin",
                                  home_env,
                                  "TMPDIR=/tmp",
                                  "LANG=C.UTF-8",
                                  "PYTHONDONTWRITEBYTECODE=1");
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "(sv)(sv)(sv)",
                                  "StandardInputFileDescriptor", "h", u->fds[0],
                                  "StandardOutputFileDescriptor", "h", u->fds[1],
                                  "StandardErrorFileDescriptor", "h", u->fds[2]);
        if (r < 0)
                return r;

        if (u->slice) {
                r = sd_bus_message_append(m, "(sv)", "Slice", "s", u->slice);
                if (r < 0)
                        return r;
        }
        /* Gone with the daemon, as bubblewrap's --die-with-parent. */
        if (u->bound_to) {
                r = sd_bus_message_append(m, "(sv)", "BindsTo", "as", 1, u->bound_to);
                if (r < 0)
                        return r;
        }
        /* /sys cannot take a tmpfs under ProtectKernelTunables=, but it can be closed. */
        r = sd_bus_message_append(m, "(sv)", "InaccessiblePaths", "as", 1, "/sys");
        if (r < 0)
                return r;
        if (u->hidden_dirs && u->hidden_dirs[0]) {
                r = append_hidden_dirs(m, u->hidden_dirs);
                if (r < 0)
                        return r;
        }

        r = append_exec_start(m, u->options->argv);
        if (r < 0)
                return r;

        return sd_bus_message_close_container(m);
}

/* --- the unit, as we watch it ---------------------------------------------------------------- */

typedef struct Unit {
        sd_bus *bus;
        char *name, *path;
        char *job;                      /* the start job's object path */
        char *job_result;               /* from JobRemoved; NULL until it came */
        bool changed;                   /* a signal said: look again */
        bool done;                      /* inactive or failed, with no job left */
        usec_t done_since;
        char *result;                   /* the service's Result= */
        int32_t exec_main_code, exec_main_status;
        sd_bus_slot *job_slot, *properties_slot;
} Unit;

static void unit_done(Unit *u) {
        sd_bus_slot_unref(u->job_slot);
        sd_bus_slot_unref(u->properties_slot);
        u->job_slot = u->properties_slot = NULL;
        free(u->name);
        free(u->path);
        free(u->job);
        free(u->job_result);
        free(u->result);
        u->bus = sd_bus_flush_close_unref(u->bus);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (u->job && streq(path, u->job) && !u->job_result) {
                u->job_result = strdup(result);
                u->changed = true;
        }
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;

        u->changed = true;
        return 0;
}

/* A connection of our own: sd-bus connections are not shared between threads, and closing
 * it lets go of everything systemd keeps for us (our reference, our subscription). */
static int unit_connect(Unit *u) {
        int r;

        r = sd_bus_open_system(&u->bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(u->bus, "sandbox");

        r = sandbox_unit_name_new(&u->name);
        if (r < 0)
                return r;
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, u->name, &u->path);
        if (r < 0)
                return r;

        /* Before the unit exists, so that nothing it does goes unseen. */
        r = sd_bus_match_signal(u->bus, &u->job_slot, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                "JobRemoved", on_job_removed, u);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(u->bus, &u->properties_slot, SYSTEMD_DESTINATION, u->path,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged", on_properties_changed, u);
        if (r < 0)
                return r;
        /* systemd sends unit and job signals only while someone subscribed. */
        r = sd_bus_call_method(u->bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe",
                               NULL, NULL, NULL);
        return r < 0 ? r : 0;
}

/* Slices exist as soon as they are named: this one is used when the administrator set it up
 * (a unit file, with the limits for all snippets together). */
static bool unit_slice_configured(Unit *u, const char *slice) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL, *fragment = NULL;
        const char *path;

        if (sd_bus_call_method(u->bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER, "LoadUnit",
                               NULL, &reply, "s", slice) < 0 ||
            sd_bus_message_read(reply, "o", &path) < 0)
                return false;
        if (sd_bus_get_property_string(u->bus, SYSTEMD_DESTINATION, path, SYSTEMD_UNIT, "LoadState",
                                       NULL, &state) < 0 ||
            sd_bus_get_property_string(u->bus, SYSTEMD_DESTINATION, path, SYSTEMD_UNIT, "FragmentPath",
                                       NULL, &fragment) < 0)
                return false;
        return streq(state, "loaded") && !isempty(fragment);
}

/* Our own service, when we run as one: the unit ends with it. */
static char *own_service(void) {
        char *unit = NULL;
        size_t n;

        if (isempty(getenv("INVOCATION_ID")) || sd_pid_get_unit(0, &unit) < 0)
                return NULL;
        n = strlen(unit);
        if (n < 8 || !streq(unit + n - 8, ".service")) {
                free(unit);
                return NULL;
        }
        return unit;
}

/* Starts the unit; a refusal from systemd goes to *error (and the sandbox's stderr). */
static int unit_start(Unit *u, const UnitSetup *setup, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *job;
        int r;

        r = sd_bus_message_new_method_call(u->bus, &m, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", u->name, "fail");
        if (r < 0)
                return r;
        r = append_properties(m, setup);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        r = sd_bus_call(u->bus, m, UNIT_START_TIMEOUT_USEC, error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        u->job = strdup(job);
        return u->job ? 0 : -ENOMEM;
}

static int unit_process(Unit *u) {
        int r;

        do {
                r = sd_bus_process(u->bus, NULL);
        } while (r > 0);
        return r;
}

/* Looks at the unit: done once it is inactive or failed with no job pending, and the start
 * job's end was heard of (or should have been by now). */
static int unit_refresh(Unit *u) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL;
        const char *job_path;
        uint32_t job_id;
        int r;

        u->changed = false;
        r = sd_bus_get_property_string(u->bus, SYSTEMD_DESTINATION, u->path, SYSTEMD_UNIT, "ActiveState",
                                       NULL, &state);
        if (r < 0)
                return r;
        if (!streq(state, "inactive") && !streq(state, "failed"))
                return 0;

        r = sd_bus_get_property(u->bus, SYSTEMD_DESTINATION, u->path, SYSTEMD_UNIT, "Job", NULL, &reply, "(uo)");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "(uo)", &job_id, &job_path);
        if (r < 0)
                return r;
        if (job_id != 0)
                return 0;

        if (!u->job_result) {
                /* The signal may still be on its way: what came with this reply is read now. */
                r = unit_process(u);
                if (r < 0)
                        return r;
        }
        if (!u->job_result) {
                if (u->done_since == 0)
                        u->done_since = now_monotonic_usec();
                if (now_monotonic_usec() < u->done_since + UNIT_JOB_GRACE_USEC)
                        return 0;
        }

        free(u->result);
        u->result = NULL;
        r = sd_bus_get_property_string(u->bus, SYSTEMD_DESTINATION, u->path, SYSTEMD_SERVICE, "Result",
                                       NULL, &u->result);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(u->bus, SYSTEMD_DESTINATION, u->path, SYSTEMD_SERVICE, "ExecMainCode",
                                        NULL, 'i', &u->exec_main_code);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(u->bus, SYSTEMD_DESTINATION, u->path, SYSTEMD_SERVICE, "ExecMainStatus",
                                        NULL, 'i', &u->exec_main_status);
        if (r < 0)
                return r;

        u->done = true;
        return 0;
}

static void unit_kill(Unit *u) {
        /* Everything in the unit's cgroup, at once. */
        (void) sd_bus_call_method(u->bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER, "KillUnit",
                                  NULL, NULL, "ssi", u->name, "all", (int32_t) SIGKILL);
}

static void unit_release(Unit *u) {
        if (!u->job)
                return;
        /* The unit is collected as soon as nobody holds it; closing the connection would
         * let go too, but later. */
        (void) sd_bus_call_method(u->bus, SYSTEMD_DESTINATION, u->path, SYSTEMD_UNIT, "Unref", NULL, NULL, NULL);
}

static int unit_poll(Unit *u, SandboxStreams *s, usec_t timeout_usec) {
        struct pollfd p[4];
        nfds_t n = 0;
        uint64_t bus_timeout;
        int events, msec;

        events = sd_bus_get_events(u->bus);
        if (events < 0)
                return events;
        p[n++] = (struct pollfd) { .fd = sd_bus_get_fd(u->bus), .events = (short) events };
        if (s->in_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->in_fd, .events = POLLOUT };
        if (s->out_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->out_fd, .events = POLLIN };
        if (s->err_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->err_fd, .events = POLLIN };

        if (sd_bus_get_timeout(u->bus, &bus_timeout) > 0 && bus_timeout != UINT64_MAX) {
                usec_t now = now_monotonic_usec();

                timeout_usec = MIN(timeout_usec, bus_timeout > now ? bus_timeout - now : 0);
        }
        msec = (int) ((timeout_usec + 999) / 1000);

        if (poll(p, n, msec) < 0 && errno != EINTR)
                return -errno;
        return 0;
}

/* One turn: wait a little, move the program's data, hear from systemd. */
static int unit_step(Unit *u, SandboxStreams *s, const SandboxOptions *o, usec_t *next_refresh) {
        int r;

        r = unit_poll(u, s, SANDBOX_POLL_MSEC * 1000);
        if (r < 0)
                return r;
        sandbox_streams_feed(s, o);
        r = sandbox_streams_collect(s);
        if (r < 0)
                return r;
        r = unit_process(u);
        if (r < 0)
                return r;
        if (u->changed || u->done_since > 0 || now_monotonic_usec() >= *next_refresh) {
                *next_refresh = now_monotonic_usec() + UNIT_REFRESH_USEC;
                r = unit_refresh(u);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Watches the unit until it ends or must be killed; returns how it ended (SANDBOX_EXITED
 * meaning "by itself"), or a negative errno. */
static int unit_watch(Unit *u, SandboxStreams *s, const SandboxOptions *o, usec_t deadline) {
        usec_t next_refresh = now_monotonic_usec() + UNIT_REFRESH_USEC;

        for (;;) {
                int r;

                r = unit_step(u, s, o, &next_refresh);
                if (r < 0)
                        return r;

                if (s->out.overflowed)
                        return SANDBOX_OUTPUT_LIMIT;
                if (u->done)
                        return SANDBOX_EXITED;
                if (o->should_stop && o->should_stop(o->userdata))
                        return SANDBOX_STOPPED;
                if (deadline > 0 && now_monotonic_usec() >= deadline)
                        return SANDBOX_TIMED_OUT;
        }
}

/* Kills the unit and waits for it to end, so that nothing of it outlives sandbox_run(). */
static int unit_kill_and_wait(Unit *u, SandboxStreams *s, const SandboxOptions *o) {
        usec_t until = now_monotonic_usec() + UNIT_KILL_WAIT_USEC;
        usec_t next_refresh = 0;

        unit_kill(u);
        while (!u->done) {
                int r;

                if (now_monotonic_usec() >= until) {
                        (void) sd_bus_call_method(u->bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                                  "StopUnit", NULL, NULL, "ss", u->name, "replace");
                        return -ETIMEDOUT;
                }
                r = unit_step(u, s, o, &next_refresh);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* How a unit that ended by itself ended, in SandboxEnd's terms. */
static SandboxEnd unit_end(const Unit *u, SandboxStreams *s, int *ret_status) {
        *ret_status = 0;

        if (!streq_ptr(u->job_result, "done")) {
                (void) sandbox_buffer_note(&s->err, "pipelit: systemd could not start the sandbox unit %s (job %s, result %s, "
                                   "status %" PRIi32 ")\n",
                                   u->name, u->job_result ?: "unknown", u->result ?: "unknown", u->exec_main_status);
                return SANDBOX_SETUP_FAILED;
        }
        if (streq_ptr(u->result, "timeout"))
                return SANDBOX_TIMED_OUT;

        switch (u->exec_main_code) {
        case CLD_EXITED:
                *ret_status = u->exec_main_status;
                return SANDBOX_EXITED;
        case CLD_KILLED:
        case CLD_DUMPED:
                if (streq_ptr(u->result, "oom-kill"))
                        (void) sandbox_buffer_note(&s->err, "pipelit: the snippet ran out of memory\n");
                *ret_status = u->exec_main_status;
                return SANDBOX_SIGNALED;
        default:
                (void) sandbox_buffer_note(&s->err, "pipelit: the sandbox unit %s ended without its program (result %s)\n",
                                   u->name, u->result ?: "unknown");
                return SANDBOX_SETUP_FAILED;
        }
}

bool sandbox_systemd_reachable(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

        if (sd_bus_open_system(&bus) < 0)
                return false;
        return sd_bus_call_method(bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, "org.freedesktop.DBus.Peer", "Ping",
                                  NULL, NULL, NULL) >= 0;
}

int sandbox_run_systemd(const SandboxOptions *o, SandboxResult *ret) {
        _cleanup_(sandbox_strv_freep) char **hidden = NULL;
        _cleanup_free_ char *bound_to = NULL, *home = NULL, *inside = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        SandboxStreams streams = SANDBOX_STREAMS_INIT;
        Unit u = {};
        UnitSetup setup = { .options = o, .fds = { -1, -1, -1 } };
        usec_t start, deadline;
        int r, end, exit_status = 0;

        start = now_monotonic_usec();
        deadline = o->timeout_usec > 0 ? start + o->timeout_usec : 0;

        if (o->workspace) {
                /* A dynamic user, another one each run: the folder is shared through the group. */
                r = sandbox_workspace_prepare(o, true, &streams.err, &home, &inside);
                if (r == -ENOMEM)
                        goto finish;
                if (r < 0) {
                        r = sandbox_result_fill(ret, &streams, SANDBOX_SETUP_FAILED, 0, start);
                        goto finish;
                }
                setup.home = home;
                setup.inside = inside;
        }

        r = unit_connect(&u);
        if (r < 0)
                goto finish;

        r = sandbox_unit_hidden_dirs("/", &hidden);
        if (r < 0)
                goto finish;
        bound_to = own_service();
        sandbox_unit_limits(o, &setup.limits);
        setup.hidden_dirs = hidden;
        setup.bound_to = bound_to;
        setup.slice = unit_slice_configured(&u, UNIT_SLICE) ? UNIT_SLICE : NULL;

        r = sandbox_streams_open(&streams, o, setup.fds);
        if (r < 0)
                goto finish;

        r = unit_start(&u, &setup, &error);
        for (size_t i = 0; i < ELEMENTSOF(setup.fds); i++)
                close(setup.fds[i]);
        if (r < 0) {
                if (!sd_bus_error_is_set(&error))
                        goto finish;
                /* systemd said no (polkit, a property it does not know): the sandbox could not
                 * be set up, and the caller should see why. */
                r = sandbox_buffer_note(&streams.err, "pipelit: systemd refused the sandbox unit %s: %s\n", u.name,
                                error.message ?: error.name);
                if (r >= 0)
                        r = sandbox_result_fill(ret, &streams, SANDBOX_SETUP_FAILED, 0, start);
                goto finish;
        }

        end = unit_watch(&u, &streams, o, deadline);
        if (end != SANDBOX_EXITED) {
                /* Killed for a reason of ours, or something broke: either way it goes now. */
                r = unit_kill_and_wait(&u, &streams, o);
                if (end < 0) {
                        r = end;
                        goto finish;
                }
                if (r < 0)
                        goto finish;
        } else
                end = unit_end(&u, &streams, &exit_status);

        /* Every writer is gone: what is in the pipes is all there is (systemd still holds its
         * copies of the write ends, so there is no end of file to wait for). */
        r = sandbox_streams_collect(&streams);
        if (r >= 0)
                r = sandbox_result_fill(ret, &streams, end, exit_status, start);

finish:
        if (u.bus && u.name && !u.done)
                /* Also when starting it failed: a call that timed out may still have started it. */
                unit_kill(&u);
        if (u.bus)
                unit_release(&u);
        unit_done(&u);
        sd_bus_error_free(&error);
        sandbox_streams_done(&streams);
        return r;
}
