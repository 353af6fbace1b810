/* The bubblewrap sandbox: see sandbox.h. */

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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "sandbox/sandbox.h"

#define SANDBOX_POLL_MSEC 50
#define SANDBOX_FILE_SIZE_DEFAULT (UINT64_C(64) * 1024 * 1024)
#define SANDBOX_STATUS_MAX 4096
/* How long the pipes may stay open after the sandbox ended (its namespace dying). */
#define SANDBOX_DRAIN_USEC (UINT64_C(2) * 1000000)
#define SANDBOX_OUTPUT_DEFAULT ((size_t) 1024 * 1024)

static const char *const sandbox_end_names[_SANDBOX_END_MAX] = {
        [SANDBOX_EXITED] = "exited",
        [SANDBOX_SIGNALED] = "signaled",
        [SANDBOX_TIMED_OUT] = "timed-out",
        [SANDBOX_STOPPED] = "stopped",
        [SANDBOX_OUTPUT_LIMIT] = "output-limit",
        [SANDBOX_SETUP_FAILED] = "setup-failed",
};

const char *sandbox_end_to_string(SandboxEnd end) {
        if (end < 0 || end >= _SANDBOX_END_MAX)
                return NULL;
        return sandbox_end_names[end];
}

void sandbox_result_done(SandboxResult *result) {
        if (!result)
                return;
        free(result->stdout_data);
        free(result->stderr_data);
        *result = (SandboxResult) {};
}

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

static int sandbox_build_argv(const SandboxOptions *o, const char *bwrap, uint64_t tmp_size, Argv *a) {
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
                "--setenv", "HOME", "/tmp",
                "--setenv", "TMPDIR", "/tmp",
                "--setenv", "LANG", "C.UTF-8",
                "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
                "--chdir", "/tmp",
                "--json-status-fd", "3",
        };
        char size_text[32];

        argv_add(a, bwrap);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                argv_add(a, fixed[i]);
        snprintf(size_text, sizeof(size_text), "%" PRIu64, tmp_size);
        argv_add(a, "--size");
        argv_add(a, size_text);
        argv_add(a, "--tmpfs");
        argv_add(a, "/tmp");
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

typedef struct Buffer {
        char *data;
        size_t size, allocated;
        size_t max;
        bool overflowed;
} Buffer;

static int buffer_append(Buffer *b, const char *p, size_t n) {
        if (b->size + n > b->max) {
                b->overflowed = true;
                n = b->max - b->size;
        }
        if (b->size + n + 1 > b->allocated) {
                size_t allocated = MAX(b->allocated * 2, b->size + n + 1);
                char *data;

                allocated = MAX(allocated, (size_t) 4096);
                data = realloc(b->data, allocated);
                if (!data)
                        return -ENOMEM;
                b->data = data;
                b->allocated = allocated;
        }
        memcpy(b->data + b->size, p, n);
        b->size += n;
        b->data[b->size] = '\0';
        return 0;
}

/* Reads what fd has now. Closes it (*fd = -1) at end of file. */
static int drain(int *fd, Buffer *b) {
        char chunk[65536];

        while (*fd >= 0) {
                ssize_t n = read(*fd, chunk, sizeof(chunk));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        n = 0; /* an error ends the stream like end of file */
                }
                if (n == 0) {
                        close(*fd);
                        *fd = -1;
                        return 0;
                }
                if (buffer_append(b, chunk, (size_t) n) < 0)
                        return -ENOMEM;
        }
        return 0;
}

typedef struct Sandbox {
        pid_t pid;
        int pid_fd;             /* readable when the process exits; -1 on kernels before 5.3 */
        int in_fd, out_fd, err_fd, status_fd;
        size_t input_written;
        Buffer out, err, status;
} Sandbox;

static void sandbox_close(Sandbox *s) {
        int *fds[] = { &s->pid_fd, &s->in_fd, &s->out_fd, &s->err_fd, &s->status_fd };

        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        free(s->out.data);
        free(s->err.data);
        free(s->status.data);
}

static void sandbox_feed(Sandbox *s, const SandboxOptions *o) {
        while (s->in_fd >= 0 && s->input_written < o->input_size) {
                ssize_t n = send(s->in_fd, o->input + s->input_written, o->input_size - s->input_written,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        break; /* the program closed its input: it does not want the rest */
                }
                s->input_written += (size_t) n;
        }
        if (s->in_fd >= 0) {
                close(s->in_fd);
                s->in_fd = -1;
        }
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
        if (s->in_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->in_fd, .events = POLLOUT };
        if (s->out_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->out_fd, .events = POLLIN };
        if (s->err_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->err_fd, .events = POLLIN };
        if (s->status_fd >= 0)
                p[n++] = (struct pollfd) { .fd = s->status_fd, .events = POLLIN };

        if (poll(p, n, timeout_msec) < 0 && errno != EINTR)
                return -errno;
        return 0;
}

static int sandbox_collect(Sandbox *s) {
        if (drain(&s->out_fd, &s->out) < 0 || drain(&s->err_fd, &s->err) < 0 ||
            drain(&s->status_fd, &s->status) < 0)
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
                sandbox_feed(s, o);
                r = sandbox_collect(s);
                if (r < 0)
                        return r;

                if (s->out.overflowed)
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
        if (s->in_fd >= 0) {
                close(s->in_fd);
                s->in_fd = -1;
        }
        while ((s->out_fd >= 0 || s->err_fd >= 0 || s->status_fd >= 0) && now_monotonic_usec() < until) {
                if (sandbox_poll(s, SANDBOX_POLL_MSEC) < 0 || sandbox_collect(s) < 0)
                        break;
        }
}

static int sandbox_spawn(Sandbox *s, const SandboxOptions *o, const char *bwrap, char **argv,
                         uint64_t file_size) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, status[2] = { -1, -1 };
        int r = 0;

        /* Standard input is a socket so that writing to a program that stopped reading
         * gives EPIPE (MSG_NOSIGNAL), never SIGPIPE in the daemon. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
            pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
                r = -errno;
                goto finish;
        }
        (void) shutdown(in[1], SHUT_WR);

        s->pid = fork();
        if (s->pid < 0) {
                r = -errno;
                goto finish;
        }
        if (s->pid == 0) {
                const int child_fds[4] = { in[1], out[1], err[1], status[1] };

                sandbox_child(bwrap, argv, child_fds, o, file_size);
        }

        /* Also from this side, so the group exists before any kill() below. */
        (void) setpgid(s->pid, s->pid);
        /* Without a pidfd the exit is still noticed, within one poll interval. */
        s->pid_fd = pidfd_open(s->pid, 0);

        s->in_fd = TAKE_FD(in[0]);
        s->out_fd = TAKE_FD(out[0]);
        s->err_fd = TAKE_FD(err[0]);
        s->status_fd = TAKE_FD(status[0]);
        (void) fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(s->status_fd, F_SETFL, O_NONBLOCK);

finish:
        for (size_t i = 0; i < 2; i++) {
                int *fds[] = { &in[i], &out[i], &err[i], &status[i] };

                for (size_t j = 0; j < ELEMENTSOF(fds); j++)
                        if (*fds[j] >= 0)
                                close(*fds[j]);
        }
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

int sandbox_run(const SandboxOptions *o, SandboxResult *ret) {
        _cleanup_free_ char *bwrap = NULL;
        uint64_t file_size = o->max_file_size > 0 ? o->max_file_size : SANDBOX_FILE_SIZE_DEFAULT;
        Argv argv = {};
        Sandbox s = {
                .pid = -1, .pid_fd = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1, .status_fd = -1,
                .out.max = o->max_stdout > 0 ? o->max_stdout : SANDBOX_OUTPUT_DEFAULT,
                .err.max = o->max_stderr > 0 ? o->max_stderr : SANDBOX_OUTPUT_DEFAULT,
                .status.max = SANDBOX_STATUS_MAX,
        };
        usec_t start, deadline;
        int r, end, status;

        if (!o->argv || !o->argv[0] || o->argv[0][0] != '/' || (o->input_size > 0 && !o->input))
                return -EINVAL;

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

        r = sandbox_build_argv(o, bwrap, file_size, &argv);
        if (r < 0)
                goto finish;

        start = now_monotonic_usec();
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

        *ret = (SandboxResult) {
                .end = end,
                .duration_usec = now_monotonic_usec() - start,
                .stderr_truncated = s.err.overflowed,
        };
        if (end == SANDBOX_EXITED) {
                /* bwrap reports the program's pid on the status fd once the sandbox is set
                 * up; without it the sandbox itself failed. */
                if (!s.status.data || !strstr(s.status.data, "\"child-pid\""))
                        ret->end = SANDBOX_SETUP_FAILED;
                if (WIFEXITED(status))
                        ret->exit_status = WEXITSTATUS(status);
                else {
                        ret->end = ret->end == SANDBOX_SETUP_FAILED ? ret->end : SANDBOX_SIGNALED;
                        ret->exit_status = WTERMSIG(status);
                }
        }
        ret->stdout_data = TAKE_PTR(s.out.data) ?: strdup("");
        ret->stdout_size = s.out.size;
        ret->stderr_data = TAKE_PTR(s.err.data) ?: strdup("");
        ret->stderr_size = s.err.size;
        if (!ret->stdout_data || !ret->stderr_data) {
                sandbox_result_done(ret);
                r = -ENOMEM;
        }

finish:
        if (s.pid > 0) {
                (void) kill(-s.pid, SIGKILL);
                (void) sandbox_reap(s.pid);
        }
        sandbox_close(&s);
        argv_done(&argv);
        return r;
}
