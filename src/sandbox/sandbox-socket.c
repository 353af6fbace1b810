/* The code socket backend of the sandbox (see sandbox.h): for each program we connect to
 * pipelit-code.socket; systemd starts a fresh pipelit-code@.service instance for the
 * connection, and pipelit-code-runner in there runs the program and answers
 * (code-protocol.h). The unit file is the sandbox and belongs to the administrator; we need
 * no privilege. The runner enforces the limits; we enforce them again, because what comes
 * back was in reach of the program, and closing the connection is how we kill it. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/macro.h"
#include "sandbox/code-protocol.h"
#include "sandbox/sandbox-internal.h"

/* systemd accepts at once; a full backlog means it is stuck. */
#define SOCKET_CONNECT_TIMEOUT_SEC 5

const char *sandbox_code_socket_path(const SandboxOptions *o) {
        const char *path = o ? o->socket_path : NULL;

        if (isempty(path))
                path = getenv("PIPELIT_CODE_SOCKET");
        return isempty(path) ? SANDBOX_CODE_SOCKET_DEFAULT : path;
}

int sandbox_code_socket_connect(const char *path, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval timeout = { .tv_sec = SOCKET_CONNECT_TIMEOUT_SEC };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* Bounds a blocking connect() on AF_UNIX. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                /* No such socket, or nobody listening on it: the backend is not there. */
                if (errno == ENOENT || errno == ENOTDIR || errno == ECONNREFUSED)
                        return -ENOENT;
                return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* --- one run ------------------------------------------------------------------------------ */

typedef struct Client {
        int fd;
        const SandboxOptions *options;

        char *request;                  /* header, arguments, workspace */
        size_t request_size, request_sent;
        size_t input_sent;
        bool sending;                   /* false once the runner takes no more */

        /* With a workspace: the runner's user, once it said, and whether we let it in. */
        bool granted, granted_sent;
        uid_t granted_uid;

        char frame[sizeof(CodeFrameHeader) + CODE_FRAME_DATA_MAX];
        size_t frame_have;
        CodeFrameHeader header;

        SandboxStreams streams;         /* only its buffers: what came back */
        bool ended;                     /* the runner said how it ended */
        bool closed;                    /* the connection ended */
        CodeEndPayload end;
} Client;

static int client_send(Client *c) {
        static const char granted_byte = CODE_WORKSPACE_GRANTED;
        const SandboxOptions *o = c->options;

        while (c->sending) {
                const char *p;
                size_t n;
                ssize_t k;

                if (c->request_sent < c->request_size) {
                        p = c->request + c->request_sent;
                        n = c->request_size - c->request_sent;
                } else if (o->workspace && !c->granted_sent) {
                        /* The input waits until the runner is in. */
                        if (!c->granted)
                                return 0;
                        p = &granted_byte;
                        n = 1;
                } else if (c->input_sent < o->input_size) {
                        p = o->input + c->input_sent;
                        n = o->input_size - c->input_sent;
                } else {
                        c->sending = false;
                        break;
                }

                k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        /* The runner is gone (its answer may still be there to read). */
                        c->sending = false;
                        break;
                }
                if (c->request_sent < c->request_size)
                        c->request_sent += (size_t) k;
                else if (o->workspace && !c->granted_sent)
                        c->granted_sent = true;
                else
                        c->input_sent += (size_t) k;
        }
        return 0;
}

/* The runner's user, who may now pass the workspace's gate until the run ends. */
static int client_grant(Client *c, const CodeHelloPayload *hello) {
        const SandboxOptions *o = c->options;
        int r;

        if (!o->workspace || c->granted)
                return -EPROTO;
        r = sandbox_workspace_grant(o->workspace_root, o->workspace, (uid_t) hello->uid);
        if (r < 0) {
                (void) sandbox_buffer_note(&c->streams.err, "pipelit: cannot let the sandbox's user %" PRIu32
                                           " into the workspace %s/%s: %s\n", hello->uid, o->workspace_root,
                                           o->workspace, strerror(-r));
                return -EACCES;
        }
        c->granted = true;
        c->granted_uid = (uid_t) hello->uid;
        return 0;
}

static int client_frame(Client *c) {
        const char *payload = c->frame + sizeof(CodeFrameHeader);

        switch (c->header.type) {
        case CODE_FRAME_HELLO: {
                CodeHelloPayload hello;

                memcpy(&hello, payload, sizeof(hello));
                return client_grant(c, &hello);
        }
        case CODE_FRAME_STDOUT:
                return sandbox_buffer_append(&c->streams.out, payload, c->header.size);
        case CODE_FRAME_STDERR:
                return sandbox_buffer_append(&c->streams.err, payload, c->header.size);
        default:
                memcpy(&c->end, payload, sizeof(c->end));
                c->ended = true;
                return 0;
        }
}

static int client_receive(Client *c) {
        while (!c->ended && !c->closed) {
                size_t need = c->frame_have < sizeof(CodeFrameHeader) ? sizeof(CodeFrameHeader)
                                                                       : sizeof(CodeFrameHeader) + c->header.size;
                ssize_t k = recv(c->fd, c->frame + c->frame_have, need - c->frame_have, MSG_DONTWAIT);
                int r;

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        k = 0;          /* reset: like the end of the connection */
                }
                if (k == 0) {
                        c->closed = true;
                        break;
                }
                c->frame_have += (size_t) k;
                if (c->frame_have == sizeof(CodeFrameHeader)) {
                        memcpy(&c->header, c->frame, sizeof(c->header));
                        r = code_frame_check(&c->header);
                        if (r < 0)
                                return r;
                }
                if (c->frame_have == sizeof(CodeFrameHeader) + c->header.size && c->frame_have > sizeof(CodeFrameHeader)) {
                        r = client_frame(c);
                        if (r < 0)
                                return r;
                        c->frame_have = 0;
                }
        }
        return 0;
}

/* Until the runner answered, or we must stop it: how it ended (SANDBOX_EXITED meaning "the
 * runner said"), or a negative errno. */
static int client_watch(Client *c, usec_t deadline) {
        const SandboxOptions *o = c->options;

        for (;;) {
                /* Nothing to send while the runner has yet to say who it is. */
                bool waiting = c->request_sent >= c->request_size && o->workspace && !c->granted;
                struct pollfd p = { .fd = c->fd, .events = POLLIN | (c->sending && !waiting ? POLLOUT : 0) };
                int r;

                if (poll(&p, 1, SANDBOX_POLL_MSEC) < 0 && errno != EINTR)
                        return -errno;
                r = client_send(c);
                if (r < 0)
                        return r;
                r = client_receive(c);
                if (r < 0)
                        return r;

                if (c->streams.out.overflowed)
                        return SANDBOX_OUTPUT_LIMIT;
                if (c->ended || c->closed)
                        return SANDBOX_EXITED;
                if (o->should_stop && o->should_stop(o->userdata))
                        return SANDBOX_STOPPED;
                if (deadline > 0 && now_monotonic_usec() >= deadline)
                        return SANDBOX_TIMED_OUT;
        }
}

/* What the runner's answer means in SandboxEnd's terms. */
static SandboxEnd client_end(Client *c, const char *path, int *ret_status) {
        *ret_status = 0;

        if (!c->ended) {
                (void) sandbox_buffer_note(&c->streams.err,
                                           "pipelit: the code sandbox behind %s ended without an answer "
                                           "(see journalctl -u 'pipelit-code@*')\n", path);
                return SANDBOX_SETUP_FAILED;
        }
        if (c->end.flags & CODE_END_STDERR_TRUNCATED)
                c->streams.err.overflowed = true;

        switch (c->end.end) {
        case CODE_END_EXITED:
                *ret_status = c->end.status;
                return SANDBOX_EXITED;
        case CODE_END_SIGNALED:
                *ret_status = c->end.status;
                return SANDBOX_SIGNALED;
        case CODE_END_TIMED_OUT:
                return SANDBOX_TIMED_OUT;
        case CODE_END_OUTPUT_LIMIT:
                return SANDBOX_OUTPUT_LIMIT;
        case CODE_END_SETUP_FAILED:
                return SANDBOX_SETUP_FAILED;
        default:
                (void) sandbox_buffer_note(&c->streams.err, "pipelit: the code sandbox gave an end we do not know (%u)\n",
                                           c->end.end);
                return SANDBOX_SETUP_FAILED;
        }
}

int sandbox_run_socket(const SandboxOptions *o, int fd, SandboxResult *ret) {
        _cleanup_free_ char *home = NULL, *inside = NULL;
        const char *path = sandbox_code_socket_path(o);
        CodeRequestHeader limits = {
                .timeout_usec = o->timeout_usec,
                .max_stdout = o->max_stdout > 0 ? o->max_stdout : SANDBOX_OUTPUT_DEFAULT,
                .max_stderr = o->max_stderr > 0 ? o->max_stderr : SANDBOX_OUTPUT_DEFAULT,
                .max_address_space = o->max_address_space,
                .max_file_size = o->max_file_size > 0 ? o->max_file_size : SANDBOX_FILE_SIZE_DEFAULT,
        };
        Client c = {
                .fd = fd,
                .options = o,
                .sending = true,
                .streams = SANDBOX_STREAMS_INIT,
        };
        usec_t start = now_monotonic_usec();
        int r, end, exit_status = 0;

        c.streams.out.max = limits.max_stdout;
        c.streams.err.max = limits.max_stderr;

        /* The unit is the sandbox, and it has no network for anyone. */
        if (o->allow_network) {
                r = sandbox_buffer_note(&c.streams.err, "pipelit: the code socket's sandbox "
                                        "(pipelit-code@.service) has no network, and cannot give it to one run: "
                                        "network access needs bubblewrap or a transient unit\n");
                if (r >= 0)
                        r = sandbox_result_fill(ret, &c.streams, SANDBOX_SETUP_FAILED, 0, start);
                goto finish;
        }
        if (o->workspace) {
                r = sandbox_workspace_prepare(o, true, &c.streams.err, &home, &inside);
                if (r == -ENOMEM)
                        goto finish;
                if (r < 0) {
                        r = sandbox_result_fill(ret, &c.streams, SANDBOX_SETUP_FAILED, 0, start);
                        goto finish;
                }
        }

        r = code_request_build(&limits, o->argv, o->workspace, o->input_size, &c.request, &c.request_size);
        if (r < 0)
                goto finish;
        if (c.fd < 0) {
                r = sandbox_code_socket_connect(path, &c.fd);
                if (r < 0)
                        goto finish;
        }

        end = client_watch(&c, o->timeout_usec > 0 ? start + o->timeout_usec : 0);
        if (end == -EACCES) {
                /* The runner could not be let into the workspace: the note says why. */
                close(c.fd);
                c.fd = -1;
                r = sandbox_result_fill(ret, &c.streams, SANDBOX_SETUP_FAILED, 0, start);
                goto finish;
        }
        if (end < 0) {
                r = end;
                goto finish;
        }
        if (end == SANDBOX_EXITED)
                end = client_end(&c, path, &exit_status);
        /* Closing the connection is what kills the program, at once. */
        if (c.fd >= 0) {
                close(c.fd);
                c.fd = -1;
        }
        r = sandbox_result_fill(ret, &c.streams, end, exit_status, start);

finish:
        if (c.fd >= 0)
                close(c.fd);
        /* The connection is closed: the runner is gone or going, and its user with it. */
        if (c.granted)
                (void) sandbox_workspace_revoke(o->workspace_root, o->workspace, c.granted_uid);
        free(c.request);
        sandbox_streams_done(&c.streams);
        return r;
}
