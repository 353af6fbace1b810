/* The sandbox interface (sandbox.h): choosing a backend, and what the backends share. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/macro.h"
#include "sandbox/sandbox-internal.h"

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

static const char *const sandbox_backend_names[_SANDBOX_BACKEND_MAX] = {
        [SANDBOX_BACKEND_AUTO] = "auto",
        [SANDBOX_BACKEND_SOCKET] = "socket",
        [SANDBOX_BACKEND_SYSTEMD] = "systemd",
        [SANDBOX_BACKEND_BUBBLEWRAP] = "bubblewrap",
};

const char *sandbox_backend_to_string(SandboxBackend backend) {
        if (backend < 0 || backend >= _SANDBOX_BACKEND_MAX)
                return NULL;
        return sandbox_backend_names[backend];
}

SandboxBackend sandbox_backend_from_string(const char *s) {
        if (!s)
                return _SANDBOX_BACKEND_INVALID;
        if (streq(s, "bwrap"))
                return SANDBOX_BACKEND_BUBBLEWRAP;
        for (SandboxBackend b = 0; b < _SANDBOX_BACKEND_MAX; b++)
                if (streq(s, sandbox_backend_names[b]))
                        return b;
        return _SANDBOX_BACKEND_INVALID;
}

void sandbox_result_done(SandboxResult *result) {
        if (!result)
                return;
        free(result->stdout_data);
        free(result->stderr_data);
        *result = (SandboxResult) {};
}

/* --- choosing a backend ------------------------------------------------------------------ */

int sandbox_backend_select(SandboxBackend requested, const SandboxHost *host, const SandboxProbes *probes,
                           SandboxBackend *ret) {
        SandboxBackend forced;

        if (requested < 0 || requested >= _SANDBOX_BACKEND_MAX)
                return -EINVAL;
        if (requested != SANDBOX_BACKEND_AUTO) {
                *ret = requested;
                return 0;
        }

        if (!isempty(host->forced)) {
                forced = sandbox_backend_from_string(host->forced);
                if (forced < 0)
                        return -EINVAL;
                if (forced != SANDBOX_BACKEND_AUTO) {
                        *ret = forced;
                        return 0;
                }
        }

        if (probes->code_socket(probes->userdata)) {
                *ret = SANDBOX_BACKEND_SOCKET;
                return 0;
        }

        /* Root in a service of the system manager: a user manager's services have
         * $MANAGERPID, and a program started by hand has no $INVOCATION_ID even on a systemd
         * machine. Anyone else would need a polkit grant that amounts to root. */
        if (host->root && host->booted > 0 && !isempty(host->invocation_id) && isempty(host->manager_pid) &&
            probes->systemd(probes->userdata)) {
                *ret = SANDBOX_BACKEND_SYSTEMD;
                return 0;
        }
        *ret = SANDBOX_BACKEND_BUBBLEWRAP;
        return 0;
}

static bool systemd_reachable;

static void systemd_probe(void) {
        systemd_reachable = sandbox_systemd_reachable();
}

/* Asked once per process: whether the manager answers does not change while we run under it. */
static bool systemd_reachable_once(void *userdata) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        (void) pthread_once(&once, systemd_probe);
        return systemd_reachable;
}

/* The code socket is asked on every run, by connecting: the connection is then the run's. */
typedef struct SocketProbe {
        const SandboxOptions *options;
        int fd;
} SocketProbe;

static bool code_socket_connects(void *userdata) {
        SocketProbe *p = userdata;

        return sandbox_code_socket_connect(sandbox_code_socket_path(p->options), &p->fd) >= 0;
}

static int pick_backend(const SandboxOptions *o, SocketProbe *probe, SandboxBackend *ret) {
        SandboxHost host = {
                .booted = sd_booted(),
                .root = geteuid() == 0,
                .invocation_id = getenv("INVOCATION_ID"),
                .manager_pid = getenv("MANAGERPID"),
                .forced = getenv("PIPELIT_SANDBOX"),
        };
        SandboxProbes probes = {
                .code_socket = code_socket_connects,
                .systemd = systemd_reachable_once,
                .userdata = probe,
        };

        return sandbox_backend_select(o->backend, &host, &probes, ret);
}

int sandbox_pick_backend(const SandboxOptions *o, SandboxBackend *ret) {
        SocketProbe probe = { .options = o, .fd = -1 };
        int r;

        r = pick_backend(o, &probe, ret);
        /* The instance started for this connection sees it close before any request, and
         * ends without running anything. */
        if (probe.fd >= 0)
                close(probe.fd);
        return r;
}

int sandbox_run(const SandboxOptions *o, SandboxResult *ret) {
        SocketProbe probe = { .options = o, .fd = -1 };
        SandboxBackend backend;
        int r;

        if (!o->argv || !o->argv[0] || o->argv[0][0] != '/' || (o->input_size > 0 && !o->input))
                return -EINVAL;

        r = pick_backend(o, &probe, &backend);
        if (r < 0)
                return r;
        switch (backend) {
        case SANDBOX_BACKEND_SOCKET:
                /* The probe's connection when it made one, else a new one. */
                return sandbox_run_socket(o, probe.fd, ret);
        case SANDBOX_BACKEND_SYSTEMD:
                return sandbox_run_systemd(o, ret);
        default:
                return sandbox_run_bwrap(o, ret);
        }
}

/* --- the program's standard streams -------------------------------------------------------- */

int sandbox_buffer_append(SandboxBuffer *b, const char *p, size_t n) {
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

int sandbox_buffer_note(SandboxBuffer *b, const char *format, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&text, format, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        b->max = MAX(b->max, b->size + (size_t) n);
        return sandbox_buffer_append(b, text, (size_t) n);
}

int sandbox_buffer_drain(SandboxBuffer *b, int *fd) {
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
                if (sandbox_buffer_append(b, chunk, (size_t) n) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int sandbox_streams_open(SandboxStreams *s, const SandboxOptions *o, int ret_child[3]) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };

        s->out.max = o->max_stdout > 0 ? o->max_stdout : SANDBOX_OUTPUT_DEFAULT;
        s->err.max = o->max_stderr > 0 ? o->max_stderr : SANDBOX_OUTPUT_DEFAULT;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
            pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                int r = -errno;
                int *fds[] = { &in[0], &in[1], &out[0], &out[1], &err[0], &err[1] };

                for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                        if (*fds[i] >= 0)
                                close(*fds[i]);
                return r;
        }
        (void) shutdown(in[1], SHUT_WR);

        s->in_fd = in[0];
        s->out_fd = out[0];
        s->err_fd = err[0];
        (void) fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(s->err_fd, F_SETFL, O_NONBLOCK);

        ret_child[0] = in[1];
        ret_child[1] = out[1];
        ret_child[2] = err[1];
        return 0;
}

void sandbox_streams_feed(SandboxStreams *s, const SandboxOptions *o) {
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

int sandbox_streams_collect(SandboxStreams *s) {
        if (sandbox_buffer_drain(&s->out, &s->out_fd) < 0 || sandbox_buffer_drain(&s->err, &s->err_fd) < 0)
                return -ENOMEM;
        return 0;
}

void sandbox_streams_done(SandboxStreams *s) {
        int *fds[] = { &s->in_fd, &s->out_fd, &s->err_fd };

        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        free(s->out.data);
        free(s->err.data);
        s->out.data = s->err.data = NULL;
}

int sandbox_result_fill(SandboxResult *ret, SandboxStreams *s, SandboxEnd end, int exit_status, usec_t start) {
        *ret = (SandboxResult) {
                .end = end,
                .exit_status = exit_status,
                .duration_usec = now_monotonic_usec() - start,
                .stderr_truncated = s->err.overflowed,
                .stdout_size = s->out.size,
                .stderr_size = s->err.size,
        };
        ret->stdout_data = TAKE_PTR(s->out.data) ?: strdup("");
        ret->stderr_data = TAKE_PTR(s->err.data) ?: strdup("");
        if (!ret->stdout_data || !ret->stderr_data) {
                sandbox_result_done(ret);
                return -ENOMEM;
        }
        return 0;
}
