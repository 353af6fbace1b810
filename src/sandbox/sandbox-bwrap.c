/* The bubblewrap backend of the sandbox: see sandbox.h. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "sandbox/sandbox-internal.h"

#define SANDBOX_STATUS_MAX 4096
/* How long the pipes may stay open after the sandbox ended (its namespace dying). */
#define SANDBOX_DRAIN_USEC (UINT64_C(2) * 1000000)

static bool is_executable_file(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int sandbox_find_bwrap(char **ret_path) {
        const char *path = getenv("PATH");

        /* Only what $PATH names (a service gets systemd's default), so that an administrator
         * can tell which bwrap runs, or keep it from running by leaving it out. */
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        for (const char *p = path; *p; ) {
                const char *colon = strchrnul(p, ':');
                _cleanup_free_ char *candidate = NULL;

                /* Only absolute directories: a relative $PATH entry depends on the cwd. */
                if (*p == '/' && asprintf(&candidate, "%.*s/bwrap", (int) (colon - p), p) >= 0 &&
                    is_executable_file(candidate)) {
                        *ret_path = TAKE_PTR(candidate);
                        return 0;
                }
                p = *colon ? colon + 1 : colon;
        }
        return -ENOENT;
}

/* --- the command line ------------------------------------------------------------------- */

typedef struct Argv {
        char **items;
        size_t n, allocated;
        bool failed;
} Argv;

static void argv_done(Argv *a) {
        for (size_t i = 0; i < a->n; i++)
                free(a->items[i]);
        free(a->items);
}

static void argv_add(Argv *a, const char *s) {
        char *copy;

        if (a->failed)
                return;
        if (a->n + 2 > a->allocated) {
                size_t allocated = MAX(a->allocated * 2, (size_t) 64);
                char **items = realloc(a->items, allocated * sizeof(char *));

                if (!items) {
                        a->failed = true;
                        return;
                }
                a->items = items;
                a->allocated = allocated;
        }
        copy = strdup(s);
        if (!copy) {
                a->failed = true;
                return;
        }
        a->items[a->n++] = copy;
        a->items[a->n] = NULL;
}

/* With network: what name resolution and TLS read from the host's /etc. */
static const char *const network_files[] = {
        "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf",
        "/etc/ssl", "/etc/ca-certificates",
};

static int sandbox_build_argv(const SandboxOptions *o, const char *bwrap, uint64_t tmp_size, const char *home,
                              const char *inside, Argv *a) {
        static const char *const fixed[] = {
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/bin", "/bin",
                "--symlink", "usr/sbin", "/sbin",
                "--symlink", "usr/lib", "/lib",
                "--symlink", "usr/lib64", "/lib64",
                "--proc", "/proc",
                "--dev", "/dev",
                "--unshare-all",                /* no network: only a loopback device, down */
                "--die-with-parent",
                "--new-session",                /* no TIOCSTI into a terminal */
                "--cap-drop", "ALL",
                "--clearenv",
                "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
                "--setenv", "TMPDIR", "/tmp",
                "--setenv", "LANG", "C.UTF-8",
                "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
                "--json-status-fd", "3",
        };
        const char *workdir = inside ?: "/tmp";
        char size_text[32];

        argv_add(a, bwrap);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                argv_add(a, fixed[i]);
        if (o->allow_network) {
                argv_add(a, "--share-net");
                for (size_t i = 0; i < ELEMENTSOF(network_files); i++) {
                        argv_add(a, "--ro-bind-try");
                        argv_add(a, network_files[i]);
                        argv_add(a, network_files[i]);
                }
        }
        snprintf(size_text, sizeof(size_text), "%" PRIu64, tmp_size);
        argv_add(a, "--size");
        argv_add(a, size_text);
        argv_add(a, "--tmpfs");
        argv_add(a, "/tmp");
        /* The workspace: the one folder of the host it may write to, where it starts. */
        if (home) {
                argv_add(a, "--bind");
                argv_add(a, home);
                argv_add(a, inside);
        }
        argv_add(a, "--setenv");
        argv_add(a, "HOME");
        argv_add(a, workdir);
        argv_add(a, "--chdir");
        argv_add(a, workdir);
        argv_add(a, "--");
        for (size_t i = 0; o->argv[i]; i++)
                argv_add(a, o->argv[i]);

        return a->failed ? -ENOMEM : 0;
}

/* --- the child, between fork() and exec(): async-signal-safe calls only ------------------ */

_Noreturn static void sandbox_child(const char *bwrap, char **argv, const int fds[4],
                                    const SandboxOptions *o, uint64_t file_size) {
        static char *const envp[] = { (char *) "PATH=/usr/bin:/bin", NULL };
        struct rlimit no_core = {}, fsize = { file_size, file_size };
        struct sigaction default_action = { .sa_handler = SIG_DFL };
        sigset_t none;
        int moved[4];

        /* A process group of its own, so one kill() reaches everything it starts, and no
         * life beyond the thread that started it. */
        if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(126);

        /* The daemon's signal mask and ignored signals are not the program's. */
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &default_action, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* Move the ends out of the way first: one of them may already be fd 0-3. */
        for (int i = 0; i < 4; i++) {
                moved[i] = fcntl(fds[i], F_DUPFD, 10);
                if (moved[i] < 0)
                        _exit(126);
        }
        for (int i = 0; i < 4; i++)
                if (dup2(moved[i], i) < 0)
                        _exit(126);
        closefrom(4);

        if (setrlimit(RLIMIT_CORE, &no_core) < 0 || setrlimit(RLIMIT_FSIZE, &fsize) < 0)
                _exit(126);
        if (o->max_address_space > 0) {
                struct rlimit as = { o->max_address_space, o->max_address_space };

                if (setrlimit(RLIMIT_AS, &as) < 0)
                        _exit(126);
        }

        execve(bwrap, argv, envp);
        _exit(127);
}

/* --- the parent: feeding, collecting, watching ------------------------------------------ */

typedef struct Sandbox {
        pid_t pid;
        int pid_fd;             /* readable when the process exits; -1 on kernels before 5.3 */
        int status_fd;          /* bwrap's --json-status-fd */
        SandboxStreams streams;
        SandboxBuffer status;
} Sandbox;

static void sandbox_close(Sandbox *s) {
        if (s->pid_fd >= 0)
                close(s->pid_fd);
        if (s->status_fd >= 0)
                close(s->status_fd);
        s->pid_fd = s->status_fd = -1;
        sandbox_streams_done(&s->streams);
        free(s->status.data);
        s->status.data = NULL;
}

static bool sandbox_exited(Sandbox *s) {
        siginfo_t si = {};

        /* WNOWAIT: the zombie keeps the process group id reserved until it is reaped, so
         * killing the group after this cannot hit an unrelated process. */
        if (waitid(P_PID, (id_t) s->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno == ECHILD;
        return si.si_pid == s->pid;
}

static int sandbox_poll(Sandbox *s, int timeout_msec) {
        struct pollfd p[5];
        nfds_t n = 0;

        if (s->pid_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->pid_fd, .events = POLLIN };
        if (s->streams.in_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->streams.in_fd, .events = POLLOUT };
        if (s->streams.out_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->streams.out_fd, .events = POLLIN };
        if (s->streams.err_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->streams.err_fd, .events = POLLIN };
        if (s->status_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->status_fd, .events = POLLIN };

        if (poll(p, n, timeout_msec) < 0 && errno != EINTR)
                return -errno;
        return 0;
}

static int sandbox_collect(Sandbox *s) {
        if (sandbox_streams_collect(&s->streams) < 0 || sandbox_buffer_drain(&s->status, &s->status_fd) < 0)
                return -ENOMEM;
        return 0;
}

/* Watches the running sandbox until it exits or must be killed; returns how it ended
 * (SANDBOX_EXITED meaning "by itself"), or a negative errno after killing it. */
static int sandbox_watch(Sandbox *s, const SandboxOptions *o, usec_t deadline) {
        for (;;) {
                int r;

                r = sandbox_poll(s, SANDBOX_POLL_MSEC);
                if (r < 0)
                        return r;
                sandbox_streams_feed(&s->streams, o);
                r = sandbox_collect(s);
                if (r < 0)
                        return r;

                if (s->streams.out.overflowed)
                        return SANDBOX_OUTPUT_LIMIT;
                if (sandbox_exited(s))
                        return SANDBOX_EXITED;
                if (o->should_stop && o->should_stop(o->userdata))
                        return SANDBOX_STOPPED;
                if (deadline > 0 && now_monotonic_usec() >= deadline)
                        return SANDBOX_TIMED_OUT;
        }
}

/* After the sandbox ended: what is still in the pipes, until their writers are gone. */
static void sandbox_drain_rest(Sandbox *s) {
        usec_t until = now_monotonic_usec() + SANDBOX_DRAIN_USEC;

        /* The process is gone: its pidfd would stay readable and turn the wait into a spin. */
        if (s->pid_fd >= 0) {
                close(s->pid_fd);
                s->pid_fd = -1;
        }
        if (s->streams.in_fd >= 0) {
                close(s->streams.in_fd);
                s->streams.in_fd = -1;
        }
        while ((s->streams.out_fd >= 0 || s->streams.err_fd >= 0 || s->status_fd >= 0) &&
               now_monotonic_usec() < until) {
                if (sandbox_poll(s, SANDBOX_POLL_MSEC) < 0 || sandbox_collect(s) < 0)
                        break;
        }
}

static int sandbox_spawn(Sandbox *s, const SandboxOptions *o, const char *bwrap, char **argv,
                         uint64_t file_size) {
        int child[3] = { -1, -1, -1 }, status[2] = { -1, -1 };
        int r = 0;

        r = sandbox_streams_open(&s->streams, o, child);
        if (r < 0)
                return r;
        if (pipe2(status, O_CLOEXEC) < 0) {
                r = -errno;
                goto finish;
        }

        s->pid = fork();
        if (s->pid < 0) {
                r = -errno;
                goto finish;
        }
        if (s->pid == 0) {
                const int child_fds[4] = { child[0], child[1], child[2], status[1] };

                sandbox_child(bwrap, argv, child_fds, o, file_size);
        }

        /* Also from this side, so the group exists before any kill() below. */
        (void) setpgid(s->pid, s->pid);
        /* Without a pidfd the exit is still noticed, within one poll interval. */
        s->pid_fd = pidfd_open(s->pid, 0);
        s->status_fd = TAKE_FD(status[0]);
        (void) fcntl(s->status_fd, F_SETFL, O_NONBLOCK);

finish:
        for (size_t i = 0; i < ELEMENTSOF(child); i++)
                if (child[i] >= 0)
                        close(child[i]);
        for (size_t i = 0; i < ELEMENTSOF(status); i++)
                if (status[i] >= 0)
                        close(status[i]);
        return r;
}

static int sandbox_reap(pid_t pid) {
        int status;

        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        return status;
}

int sandbox_run_bwrap(const SandboxOptions *o, SandboxResult *ret) {
        _cleanup_free_ char *bwrap = NULL, *home = NULL, *inside = NULL;
        uint64_t file_size = o->max_file_size > 0 ? o->max_file_size : SANDBOX_FILE_SIZE_DEFAULT;
        Argv argv = {};
        Sandbox s = {
                .pid = -1, .pid_fd = -1, .status_fd = -1,
                .streams = SANDBOX_STREAMS_INIT,
                .status.max = SANDBOX_STATUS_MAX,
        };
        usec_t start, deadline;
        int r, end, status, exit_status = 0;

        if (o->bwrap_path) {
                if (!is_executable_file(o->bwrap_path))
                        return -ENOENT;
                bwrap = strdup(o->bwrap_path);
                if (!bwrap)
                        return -ENOMEM;
        } else {
                r = sandbox_find_bwrap(&bwrap);
                if (r < 0)
                        return r;
        }

        start = now_monotonic_usec();
        if (o->workspace) {
                /* It runs as we do: the folder needs no sharing. */
                r = sandbox_workspace_prepare(o, false, &s.streams.err, &home, &inside);
                if (r == -ENOMEM)
                        goto finish;
                if (r < 0) {
                        r = sandbox_result_fill(ret, &s.streams, SANDBOX_SETUP_FAILED, 0, start);
                        goto finish;
                }
        }

        r = sandbox_build_argv(o, bwrap, file_size, home, inside, &argv);
        if (r < 0)
                goto finish;

        deadline = o->timeout_usec > 0 ? start + o->timeout_usec : 0;
        r = sandbox_spawn(&s, o, bwrap, argv.items, file_size);
        if (r < 0)
                goto finish;

        end = sandbox_watch(&s, o, deadline);
        /* Whatever it left behind in its group goes too; bwrap's namespaces take the rest. */
        (void) kill(-s.pid, SIGKILL);
        status = sandbox_reap(s.pid);
        s.pid = -1;
        sandbox_drain_rest(&s);
        if (end < 0) {
                r = end;
                goto finish;
        }
        if (status < 0) {
                r = status;
                goto finish;
        }

        if (end == SANDBOX_EXITED) {
                bool set_up;

                /* bwrap reports the program's pid on the status fd once the sandbox is set
                 * up; without it the sandbox itself failed. */
                set_up = s.status.data && strstr(s.status.data, "\"child-pid\"");
                if (WIFEXITED(status))
                        exit_status = WEXITSTATUS(status);
                else {
                        end = SANDBOX_SIGNALED;
                        exit_status = WTERMSIG(status);
                }
                if (!set_up)
                        end = SANDBOX_SETUP_FAILED;
        }
        r = sandbox_result_fill(ret, &s.streams, end, exit_status, start);

finish:
        if (s.pid > 0) {
                (void) kill(-s.pid, SIGKILL);
                (void) sandbox_reap(s.pid);
        }
        sandbox_close(&s);
        argv_done(&argv);
        return r;
}
