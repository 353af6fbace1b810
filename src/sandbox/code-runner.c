/* pipelit-code-runner: runs one code snippet for pipelitd, inside the sandbox.
 *
 * systemd starts it for each connection to pipelit-code.socket in a fresh
 * pipelit-code@.service instance, with the connection as standard input and output: the
 * unit file is the sandbox (a dynamic user, no network, an empty root with the host's /usr
 * read-only, no capabilities, cgroup limits). It reads one request (code-protocol.h), runs
 * the program with the request's limits in a process group of its own, sends its output back
 * as it comes and then how it ended, and exits; systemd then kills whatever is left in the
 * instance. When pipelitd closes the connection the program is killed at once: that is
 * how pipelitd cancels.
 *
 * With a workspace (code-protocol.h), it tells pipelitd its user, waits until pipelitd let
 * that user through the workspace's gate, and runs the program in the workspace, with it
 * as $HOME.
 *
 * It needs no privilege and no systemd: the unit tests run it on a socket pair. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/code-protocol.h"

/* pipelitd sends its request at once; a connection that does not is dropped. */
#define REQUEST_TIMEOUT_USEC (UINT64_C(30) * 1000000)
/* After the program exited: how long what it started may keep its output open. */
#define DRAIN_USEC (UINT64_C(1) * 1000000)
/* How long the last frames may take to leave when the run is over. */
#define FINAL_SEND_USEC (UINT64_C(5) * 1000000)
/* Without a pidfd, how often to look whether the program exited. */
#define EXIT_POLL_MSEC 50

typedef enum Stop {
        STOP_NONE,                      /* go on */
        STOP_EXITED,                    /* the program exited by itself */
        STOP_TIMED_OUT,
        STOP_OUTPUT_LIMIT,
        STOP_TERMINATED,                /* the service manager told us to stop */
        STOP_CANCELLED,                 /* pipelitd closed the connection */
} Stop;

typedef struct Runner {
        int conn;                       /* the connection: the request in, frames out */
        CodeRequestHeader request;
        char *argv_data;
        char **argv;
        char *workspace;                /* its name; NULL: none */
        int workspace_fd;               /* the workspace, to start the program in; -1: /tmp */
        char home[sizeof(CODE_WORKSPACES_DIR) + CODE_WORKSPACE_NAME_MAX + sizeof("/home") + 5];
        usec_t deadline;                /* 0: none */

        pid_t pid;
        int pid_fd;                     /* -1 without pidfd support: polled then */
        int in_fd, out_fd, err_fd;      /* our ends of the program's standard streams */
        int signal_fd;

        uint64_t input_left;            /* input still to come on the connection */
        size_t input_start, input_end;  /* input read but not yet taken by the program */
        char input[65536];

        uint64_t stdout_sent, stderr_sent;
        bool stderr_truncated;
        char frame[sizeof(CodeFrameHeader) + CODE_FRAME_DATA_MAX];
} Runner;

static void close_fd(int *fd) {
        if (*fd >= 0) {
                close(*fd);
                *fd = -1;
        }
}

static int poll_msec_until(usec_t until) {
        usec_t now = now_monotonic_usec();

        if (until == UINT64_MAX)
                return -1;
        if (now >= until)
                return 0;
        return (int) MIN((until - now + 999) / 1000, (usec_t) 60000);
}

/* --- the connection ---------------------------------------------------------------------- */

static int conn_read_exact(Runner *r, void *buf, size_t n, usec_t until) {
        char *p = buf;

        while (n > 0) {
                struct pollfd pfd = { .fd = r->conn, .events = POLLIN };
                ssize_t k = read(r->conn, p, n);

                if (k == 0)
                        return -EPIPE;
                if (k > 0) {
                        p += k;
                        n -= (size_t) k;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                if (now_monotonic_usec() >= until)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, poll_msec_until(until)) < 0 && errno != EINTR)
                        return -errno;
        }
        return 0;
}

static int conn_send_all(Runner *r, const char *p, size_t n, usec_t until) {
        while (n > 0) {
                struct pollfd pfd = { .fd = r->conn, .events = POLLOUT };
                ssize_t k = send(r->conn, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (k >= 0) {
                        p += k;
                        n -= (size_t) k;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EPIPE || errno == ECONNRESET)
                        return -EPIPE;          /* pipelitd let go */
                if (errno != EAGAIN)
                        return -errno;
                if (now_monotonic_usec() >= until)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, poll_msec_until(until)) < 0 && errno != EINTR)
                        return -errno;
        }
        return 0;
}

static int send_frame(Runner *r, CodeFrameType type, const void *data, size_t size, usec_t until) {
        CodeFrameHeader h = { .type = type, .size = (uint32_t) size };

        memcpy(r->frame, &h, sizeof(h));
        memcpy(r->frame + sizeof(h), data, size);
        return conn_send_all(r, r->frame, sizeof(h) + size, until);
}

static int send_note(Runner *r, usec_t until, const char *format, ...) _printf_(3, 4);
static int send_note(Runner *r, usec_t until, const char *format, ...) {
        char text[1024];
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        /* Past a full stderr too: this is what explains the end. */
        return send_frame(r, CODE_FRAME_STDERR, text, MIN((size_t) n, sizeof(text) - 1), until);
}

static int send_end(Runner *r, CodeEnd end, int status) {
        CodeEndPayload p = {
                .end = end,
                .status = status,
                .flags = r->stderr_truncated ? CODE_END_STDERR_TRUNCATED : 0,
        };

        return send_frame(r, CODE_FRAME_END, &p, sizeof(p), now_monotonic_usec() + FINAL_SEND_USEC);
}

static int read_request(Runner *r) {
        usec_t until = now_monotonic_usec() + REQUEST_TIMEOUT_USEC;
        int k;

        k = conn_read_exact(r, &r->request, sizeof(r->request), until);
        if (k < 0)
                return k;
        k = code_request_check(&r->request);
        if (k < 0)
                return k;

        r->argv_data = malloc((size_t) r->request.argv_size);
        if (!r->argv_data)
                return -ENOMEM;
        k = conn_read_exact(r, r->argv_data, (size_t) r->request.argv_size, until);
        if (k < 0)
                return k;
        k = code_request_split_argv(r->argv_data, (size_t) r->request.argv_size, r->request.argc, &r->argv);
        if (k < 0)
                return k;
        if (r->request.workspace_size > 0) {
                r->workspace = malloc(r->request.workspace_size);
                if (!r->workspace)
                        return -ENOMEM;
                k = conn_read_exact(r, r->workspace, r->request.workspace_size, until);
                if (k < 0)
                        return k;
                if (r->workspace[r->request.workspace_size - 1] != '\0' ||
                    strlen(r->workspace) + 1 != r->request.workspace_size ||
                    !code_workspace_name_is_valid(r->workspace))
                        return -EPROTO;
        }
        r->input_left = r->request.input_size;
        return 0;
}

/* Tells pipelitd our user and waits until it let us into the workspace: -EPIPE when it
 * closed the connection instead. */
static int enter_workspace_gate(Runner *r) {
        CodeHelloPayload hello = { .uid = (uint32_t) getuid() };
        usec_t until = now_monotonic_usec() + REQUEST_TIMEOUT_USEC;
        char granted;
        int k;

        k = send_frame(r, CODE_FRAME_HELLO, &hello, sizeof(hello), until);
        if (k < 0)
                return k;
        k = conn_read_exact(r, &granted, 1, until);
        if (k < 0)
                return k;
        return granted == CODE_WORKSPACE_GRANTED ? 0 : -EPROTO;
}

/* Opens the workspace, where the program starts; the reason, for pipelitd, when it cannot. */
static int open_workspace(Runner *r) {
        int k;

        k = snprintf(r->home, sizeof(r->home), "%s/%s/home", CODE_WORKSPACES_DIR, r->workspace);
        if (k < 0 || (size_t) k >= sizeof(r->home))
                return -ENAMETOOLONG;
        r->workspace_fd = open(r->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return r->workspace_fd < 0 ? -errno : 0;
}

/* --- the program ----------------------------------------------------------------------------- */

/* What a request asks for, within the hard limit the unit set (LimitAS=, LimitFSIZE=). */
static void limit_for(int resource, uint64_t wanted, struct rlimit *ret) {
        if (getrlimit(resource, ret) < 0)
                *ret = (struct rlimit) { RLIM_INFINITY, RLIM_INFINITY };
        if (wanted == 0)
                return;
        if (ret->rlim_max != RLIM_INFINITY && wanted > ret->rlim_max)
                wanted = ret->rlim_max;
        ret->rlim_cur = ret->rlim_max = wanted;
}

/* Between fork() and exec(): async-signal-safe calls only. */
_Noreturn static void run_child(Runner *r, pid_t parent, const int fds[4], const struct rlimit *as,
                                const struct rlimit *fsize, char *const envp[]) {
        struct sigaction default_action = { .sa_handler = SIG_DFL };
        struct rlimit no_core = {};
        int moved[4], error, status_fd = fds[3];
        sigset_t none;

        /* A group of its own, so one kill() reaches everything it starts; and no life
         * beyond the runner's. */
        if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                goto fail;

        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &default_action, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* In its workspace; else where the other backends start it (without a /tmp it stays
         * where it is). Before the descriptors are closed: the workspace's is one of them. */
        if (r->workspace_fd >= 0) {
                if (fchdir(r->workspace_fd) < 0)
                        goto fail;
        } else if (chdir("/tmp") < 0)
                errno = 0;

        /* Out of the way first: one of them may already be fd 0-3. */
        for (int i = 0; i < 4; i++) {
                moved[i] = fcntl(fds[i], F_DUPFD, 10);
                if (moved[i] < 0)
                        goto fail;
        }
        for (int i = 0; i < 4; i++)
                if (dup2(moved[i], i) < 0)
                        goto fail;
        /* fd 3 reports a failed exec, and closes by itself on a good one. */
        status_fd = 3;
        if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0)
                goto fail;
        closefrom(4);

        if (setrlimit(RLIMIT_CORE, &no_core) < 0 || setrlimit(RLIMIT_AS, as) < 0 ||
            setrlimit(RLIMIT_FSIZE, fsize) < 0)
                goto fail;

        execve(r->argv[0], r->argv, envp);
fail:
        error = errno;
        (void) !write(status_fd, &error, sizeof(error));
        _exit(127);
}

static int pipe_nonblocking_end(int fds[2], int ours) {
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        (void) fcntl(fds[ours], F_SETFL, O_NONBLOCK);
        return 0;
}

static void close_pair(int fds[2]) {
        close_fd(&fds[0]);
        close_fd(&fds[1]);
}

/* Starts the program; -errno (from the child) when it could not be executed. */
static int start_program(Runner *r) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, status[2] = { -1, -1 };
        char home_env[sizeof("HOME=") + sizeof(r->home)];
        char *envp[] = {
                (char *) "PATH=/usr/local/bin:/usr/bin:/bin",
                home_env,
                (char *) "TMPDIR=/tmp",
                (char *) "LANG=C.UTF-8",
                (char *) "PYTHONDONTWRITEBYTECODE=1",
                NULL,
        };
        struct rlimit as, fsize;
        pid_t parent = getpid();
        int error = 0, k;
        ssize_t n;

        (void) snprintf(home_env, sizeof(home_env), "HOME=%s", r->workspace_fd >= 0 ? r->home : "/tmp");

        limit_for(RLIMIT_AS, r->request.max_address_space, &as);
        limit_for(RLIMIT_FSIZE, r->request.max_file_size, &fsize);

        if ((k = pipe_nonblocking_end(in, 1)) < 0 || (k = pipe_nonblocking_end(out, 0)) < 0 ||
            (k = pipe_nonblocking_end(err, 0)) < 0 || (k = pipe_nonblocking_end(status, 0)) < 0)
                goto finish;

        r->pid = fork();
        if (r->pid < 0) {
                k = -errno;
                goto finish;
        }
        if (r->pid == 0) {
                const int fds[4] = { in[0], out[1], err[1], status[1] };

                run_child(r, parent, fds, &as, &fsize, envp);
        }
        /* From this side too, so the group exists before any kill() below. */
        (void) setpgid(r->pid, r->pid);
        r->pid_fd = pidfd_open(r->pid, 0);

        r->in_fd = TAKE_FD(in[1]);
        r->out_fd = TAKE_FD(out[0]);
        r->err_fd = TAKE_FD(err[0]);
        close_fd(&in[0]);
        close_fd(&out[1]);
        close_fd(&err[1]);
        close_fd(&status[1]);

        /* Until exec (the pipe closes) or its failure (an errno arrives). */
        (void) fcntl(status[0], F_SETFL, 0);
        do
                n = read(status[0], &error, sizeof(error));
        while (n < 0 && errno == EINTR);
        k = n == (ssize_t) sizeof(error) ? -(error ?: EIO) : 0;

finish:
        close_pair(in);
        close_pair(out);
        close_pair(err);
        close_pair(status);
        return k;
}

static bool program_exited(Runner *r) {
        siginfo_t si = {};

        /* WNOWAIT: the zombie keeps the group id taken until it is reaped, so killing the
         * group after this cannot reach an unrelated process. */
        if (waitid(P_PID, (id_t) r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno == ECHILD;
        return si.si_pid == r->pid;
}

static int reap_program(Runner *r) {
        int status;

        while (waitpid(r->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        r->pid = -1;
        return status;
}

/* --- moving data ----------------------------------------------------------------------------- */

/* Input from the connection, for the program. Returns STOP_CANCELLED when pipelitd closed
 * the connection, STOP_NONE to go on, or a negative errno. */
static int take_input(Runner *r) {
        ssize_t n;

        if (r->input_left == 0) {
                char c;

                /* Nothing more may come: only the end of the connection, or garbage. */
                n = read(r->conn, &c, 1);
                if (n == 0)
                        return STOP_CANCELLED;
                if (n > 0)
                        return -EPROTO;
                return errno == EAGAIN || errno == EINTR ? STOP_NONE : -errno;
        }
        if (r->input_start < r->input_end)
                return STOP_NONE;

        n = read(r->conn, r->input, (size_t) MIN((uint64_t) sizeof(r->input), r->input_left));
        if (n == 0)
                return STOP_CANCELLED;
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? STOP_NONE : -errno;
        r->input_left -= (uint64_t) n;
        r->input_start = 0;
        /* A program that closed its input does not want the rest: it is read and dropped. */
        r->input_end = r->in_fd >= 0 ? (size_t) n : 0;
        return STOP_NONE;
}

static void feed_program(Runner *r) {
        while (r->in_fd >= 0 && r->input_start < r->input_end) {
                ssize_t n = write(r->in_fd, r->input + r->input_start, r->input_end - r->input_start);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        /* It closed its input. */
                        close_fd(&r->in_fd);
                        break;
                }
                r->input_start += (size_t) n;
        }
        if (r->input_start >= r->input_end)
                r->input_start = r->input_end = 0;
        if (r->in_fd >= 0 && r->input_left == 0 && r->input_end == 0)
                close_fd(&r->in_fd);
        if (r->in_fd < 0)
                r->input_start = r->input_end = 0;
}

/* What the program wrote on *fd, sent on. Returns STOP_OUTPUT_LIMIT when stdout went past
 * its limit, STOP_NONE to go on, or a negative errno (-EPIPE: pipelitd let go). */
static int forward_output(Runner *r, int *fd, CodeFrameType type, usec_t until) {
        bool is_stdout = type == CODE_FRAME_STDOUT;
        uint64_t *sent = is_stdout ? &r->stdout_sent : &r->stderr_sent;
        uint64_t max = is_stdout ? r->request.max_stdout : r->request.max_stderr;
        char buf[CODE_FRAME_DATA_MAX];

        while (*fd >= 0) {
                ssize_t n = read(*fd, buf, sizeof(buf));
                size_t keep;
                int k;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return STOP_NONE;
                        n = 0;          /* an error ends the stream like its end */
                }
                if (n == 0) {
                        close_fd(fd);
                        return STOP_NONE;
                }

                keep = (size_t) MIN((uint64_t) n, max - *sent);
                if (keep > 0) {
                        k = send_frame(r, type, buf, keep, until);
                        if (k < 0)
                                return k;
                        *sent += keep;
                }
                if (keep < (size_t) n) {
                        if (is_stdout)
                                return STOP_OUTPUT_LIMIT;
                        r->stderr_truncated = true;
                }
        }
        return STOP_NONE;
}

/* --- the run ------------------------------------------------------------------------------- */

static int watch(Runner *r) {
        usec_t until = r->deadline > 0 ? r->deadline : UINT64_MAX;

        for (;;) {
                struct pollfd p[6];
                nfds_t n = 0;
                int timeout, k;

                p[n++] = (struct pollfd) { .fd = r->conn, .events = POLLRDHUP |
                        (r->input_left == 0 || r->input_start == r->input_end ? POLLIN : 0) };
                p[n++] = (struct pollfd) { .fd = r->signal_fd, .events = POLLIN };
                p[n++] = (struct pollfd) { .fd = r->pid_fd, .events = POLLIN };
                p[n++] = (struct pollfd) { .fd = r->in_fd, .events = r->input_start < r->input_end ? POLLOUT : 0 };
                p[n++] = (struct pollfd) { .fd = r->out_fd, .events = POLLIN };
                p[n++] = (struct pollfd) { .fd = r->err_fd, .events = POLLIN };

                timeout = poll_msec_until(until);
                if (r->pid_fd < 0 && (timeout < 0 || timeout > EXIT_POLL_MSEC))
                        timeout = EXIT_POLL_MSEC;
                if (poll(p, n, timeout) < 0 && errno != EINTR)
                        return -errno;

                if (p[1].revents & POLLIN)
                        return STOP_TERMINATED;
                /* The connection's end, even while input waits to be taken. */
                if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
                        return STOP_CANCELLED;
                if (p[0].revents & POLLIN) {
                        k = take_input(r);
                        if (k != STOP_NONE)
                                return k;
                }
                feed_program(r);

                k = forward_output(r, &r->out_fd, CODE_FRAME_STDOUT, until);
                if (k != STOP_NONE)
                        return k == -EPIPE ? STOP_CANCELLED : k;
                k = forward_output(r, &r->err_fd, CODE_FRAME_STDERR, until);
                if (k != STOP_NONE)
                        return k == -EPIPE ? STOP_CANCELLED : k;

                if (program_exited(r))
                        return STOP_EXITED;
                if (r->deadline > 0 && now_monotonic_usec() >= r->deadline)
                        return STOP_TIMED_OUT;
        }
}

/* After the program ended or was killed: what is still in its pipes, until their writers
 * are gone. */
static int drain(Runner *r, int stop) {
        usec_t until = now_monotonic_usec() + DRAIN_USEC;

        close_fd(&r->in_fd);
        /* Standard output is full: only the error output may still explain something. */
        if (stop == STOP_OUTPUT_LIMIT)
                close_fd(&r->out_fd);
        while ((r->out_fd >= 0 || r->err_fd >= 0) && now_monotonic_usec() < until) {
                struct pollfd p[2] = {
                        { .fd = r->out_fd, .events = POLLIN },
                        { .fd = r->err_fd, .events = POLLIN },
                };
                int k;

                if (poll(p, 2, poll_msec_until(until)) < 0 && errno != EINTR)
                        return -errno;
                k = forward_output(r, &r->out_fd, CODE_FRAME_STDOUT, until + FINAL_SEND_USEC);
                if (k != STOP_NONE)
                        return k;
                k = forward_output(r, &r->err_fd, CODE_FRAME_STDERR, until + FINAL_SEND_USEC);
                if (k != STOP_NONE)
                        return k;
        }
        return STOP_NONE;
}

static int finish(Runner *r, int stop) {
        int status, k;

        /* Whatever it left behind in its group goes too; the service manager kills the rest
         * of the instance when we exit. */
        (void) kill(-r->pid, SIGKILL);
        if (stop > STOP_NONE && stop != STOP_CANCELLED) {
                k = drain(r, stop);
                if (k == STOP_OUTPUT_LIMIT && stop == STOP_EXITED)
                        stop = STOP_OUTPUT_LIMIT;
                else if (k < 0)
                        stop = k == -EPIPE ? STOP_CANCELLED : k;
        }
        status = reap_program(r);
        if (stop < 0)
                return stop;
        if (status < 0)
                return status;

        switch (stop) {
        case STOP_CANCELLED:
                return 0;
        case STOP_TIMED_OUT:
                return send_end(r, CODE_END_TIMED_OUT, 0);
        case STOP_OUTPUT_LIMIT:
                return send_end(r, CODE_END_OUTPUT_LIMIT, 0);
        case STOP_TERMINATED:
                k = send_note(r, now_monotonic_usec() + FINAL_SEND_USEC,
                              "pipelit-code-runner: the service manager stopped the sandbox "
                              "(RuntimeMaxSec= of pipelit-code@.service, or a stop)\n");
                if (k < 0)
                        return k;
                return send_end(r, CODE_END_SIGNALED, SIGKILL);
        default:
                if (WIFEXITED(status))
                        return send_end(r, CODE_END_EXITED, WEXITSTATUS(status));
                return send_end(r, CODE_END_SIGNALED, WTERMSIG(status));
        }
}

static int setup_signals(Runner *r) {
        sigset_t mask;

        /* SIGPIPE: a program that stops reading its input is noticed by EPIPE. */
        (void) signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return r->signal_fd < 0 ? -errno : 0;
}

static int run(Runner *r) {
        int k;

        k = read_request(r);
        if (k == -EPIPE)
                return 0;       /* closed before asking anything: someone looked whether we answer */
        if (k < 0) {
                fprintf(stderr, "pipelit-code-runner: bad request: %s\n", strerror(-k));
                return k;
        }

        if (r->workspace) {
                k = enter_workspace_gate(r);
                if (k == -EPIPE)
                        return 0;       /* pipelitd gave up on the run */
                if (k < 0) {
                        fprintf(stderr, "pipelit-code-runner: no entry to the workspace: %s\n", strerror(-k));
                        return k;
                }
                k = open_workspace(r);
                if (k < 0) {
                        usec_t until = now_monotonic_usec() + FINAL_SEND_USEC;

                        k = send_note(r, until, "pipelit-code-runner: cannot enter the workspace %s: %s "
                                      "(pipelit-code@.service binds <StateDirectory>/workspaces there)\n",
                                      r->home, strerror(-k));
                        return k < 0 ? k : send_end(r, CODE_END_SETUP_FAILED, 0);
                }
        }

        if (r->request.timeout_usec > 0)
                r->deadline = now_monotonic_usec() + r->request.timeout_usec;
        k = start_program(r);
        if (k < 0) {
                usec_t until = now_monotonic_usec() + FINAL_SEND_USEC;

                if (r->pid > 0)
                        (void) reap_program(r);
                k = send_note(r, until, "pipelit-code-runner: cannot run %s: %s\n", r->argv[0], strerror(-k));
                if (k >= 0)
                        k = send_end(r, CODE_END_SETUP_FAILED, 0);
        } else
                k = finish(r, watch(r));
        if (k < 0 && k != -EPIPE)
                fprintf(stderr, "pipelit-code-runner: running %s: %s\n", r->argv[0], strerror(-k));
        return k;
}

int main(int argc, char *argv[]) {
        Runner r = {
                .conn = -1, .pid = -1, .pid_fd = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1,
                .signal_fd = -1, .workspace_fd = -1,
        };
        struct stat st;
        int k;

        if (argc > 1 || fstat(STDIN_FILENO, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "%s takes no arguments and runs on a connection to pipelit-code.socket, "
                        "which systemd gives it as standard input.\n", argv[0]);
                return 2;
        }
        /* The program runs as our user: it may not look into us (ptrace, /proc/PID/fd). */
        (void) prctl(PR_SET_DUMPABLE, 0);
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

        r.conn = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        if (r.conn < 0 || fcntl(r.conn, F_SETFL, O_NONBLOCK) < 0) {
                fprintf(stderr, "pipelit-code-runner: %m\n");
                return 1;
        }
        k = setup_signals(&r);
        if (k < 0)
                fprintf(stderr, "pipelit-code-runner: signals: %s\n", strerror(-k));
        else
                k = run(&r);
        if (r.pid > 0) {
                (void) kill(-r.pid, SIGKILL);
                (void) reap_program(&r);
        }
        free(r.argv);
        free(r.argv_data);
        free(r.workspace);
        close_fd(&r.workspace_fd);
        close_fd(&r.in_fd);
        close_fd(&r.out_fd);
        close_fd(&r.err_fd);
        close_fd(&r.pid_fd);
        close_fd(&r.signal_fd);
        close_fd(&r.conn);
        return k < 0 && k != -EPIPE ? 1 : 0;
}
