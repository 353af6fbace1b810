/* Frames over the worker link (worker-wire.h): read and written on the sd-event loop of the
 * connection's thread; other threads queue frames in the outbox and wake the loop through an
 * eventfd. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "worker/worker-wire.h"

#define HEADER_SIZE 5
#define READ_CHUNK (64U * 1024)

struct WireConn {
        unsigned n_ref;
        int fd;
        int wake_fd;
        sd_event_source *io_source, *wake_source;
        WireFrameFunc on_frame;
        WireClosedFunc on_closed;
        void *userdata;

        char *in;               /* read, not yet handed on: [in_off, in_len) */
        size_t in_off, in_len, in_alloc;

        pthread_mutex_t lock;   /* the outbox and closed */
        char *out;              /* queued, not yet written: [out_off, out_len) */
        size_t out_off, out_len, out_alloc;
        bool wake_pending;
        bool closed;
};

void wire_conn_set_handlers(WireConn *c, WireFrameFunc on_frame, WireClosedFunc on_closed, void *userdata) {
        c->on_frame = on_frame;
        c->on_closed = on_closed;
        c->userdata = userdata;
}

WireConn *wire_conn_ref(WireConn *c) {
        if (c)
                __atomic_add_fetch(&c->n_ref, 1, __ATOMIC_RELAXED);
        return c;
}

static void conn_shut(WireConn *c) {
        c->io_source = sd_event_source_disable_unref(c->io_source);
        c->wake_source = sd_event_source_disable_unref(c->wake_source);
        pthread_mutex_lock(&c->lock);
        c->closed = true;
        free(c->out);
        c->out = NULL;
        c->out_off = c->out_len = c->out_alloc = 0;
        pthread_mutex_unlock(&c->lock);
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
}

WireConn *wire_conn_unref(WireConn *c) {
        if (!c || __atomic_sub_fetch(&c->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        conn_shut(c);
        if (c->wake_fd >= 0)
                close(c->wake_fd);
        free(c->in);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

void wire_conn_close(WireConn *c) {
        if (c)
                conn_shut(c);
}

bool wire_conn_is_open(WireConn *c) {
        bool open;

        if (!c)
                return false;
        pthread_mutex_lock(&c->lock);
        open = !c->closed;
        pthread_mutex_unlock(&c->lock);
        return open;
}

int wire_conn_fd(WireConn *c) {
        return c ? c->fd : -EBADF;
}

/* The end: the callback once, then nothing more. */
static void conn_fail(WireConn *c, int error) {
        bool was_closed;

        pthread_mutex_lock(&c->lock);
        was_closed = c->closed;
        pthread_mutex_unlock(&c->lock);
        if (was_closed)
                return;
        conn_shut(c);
        if (c->on_closed)
                c->on_closed(c, error, c->userdata);
}

/* Writes what the outbox holds, as much as the socket takes. On the loop's thread. */
static int conn_flush(WireConn *c) {
        bool more = false;
        int r = 0;

        pthread_mutex_lock(&c->lock);
        c->wake_pending = false;
        while (!c->closed && c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        more = true;
                        break;
                }
                if (n < 0) {
                        r = -errno;
                        break;
                }
                c->out_off += (size_t) n;
        }
        if (c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                return r;
        if (c->io_source)
                (void) sd_event_source_set_io_events(c->io_source, more ? EPOLLIN | EPOLLOUT : EPOLLIN);
        return 0;
}

int wire_conn_flush(WireConn *c) {
        return c ? conn_flush(c) : 0;
}

/* Hands on every whole frame read so far. 1 when the connection is still open after. */
static int conn_dispatch(WireConn *c) {
        while (c->in_len - c->in_off >= HEADER_SIZE) {
                const char *p = c->in + c->in_off;
                uint32_t len;
                uint8_t type;

                memcpy(&len, p, sizeof len);
                type = (uint8_t) p[4];
                if (len > WIRE_FRAME_MAX || type == 0 || type >= _WIRE_TYPE_MAX)
                        return -EBADMSG;
                if (c->in_len - c->in_off < HEADER_SIZE + (size_t) len)
                        break;
                c->in_off += HEADER_SIZE + len;
                if (c->on_frame)
                        c->on_frame(c, (WireType) type, p + HEADER_SIZE, len, c->userdata);
                if (!wire_conn_is_open(c))
                        return 0;
        }
        /* Keeps the unread rest at the start of the buffer. */
        if (c->in_off > 0) {
                memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
                c->in_len -= c->in_off;
                c->in_off = 0;
        }
        return 1;
}

static int conn_read(WireConn *c) {
        for (;;) {
                ssize_t n;
                int r;

                if (c->in_alloc - c->in_len < READ_CHUNK) {
                        size_t size = MAX(c->in_alloc * 2, (size_t) READ_CHUNK * 2);
                        char *p;

                        if (size > WIRE_FRAME_MAX + HEADER_SIZE + READ_CHUNK * 2)
                                return -EMSGSIZE;
                        p = realloc(c->in, size);
                        if (!p)
                                return -ENOMEM;
                        c->in = p;
                        c->in_alloc = size;
                }
                n = recv(c->fd, c->in + c->in_len, c->in_alloc - c->in_len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 1;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                c->in_len += (size_t) n;
                r = conn_dispatch(c);
                if (r <= 0)
                        return r;
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(wire_conn_unrefp) WireConn *c = wire_conn_ref(userdata);
        int r = 1;

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                r = conn_read(c);
        if (r > 0 && (revents & EPOLLOUT))
                r = conn_flush(c) < 0 ? -EPIPE : 1;
        if (r <= 0 && wire_conn_is_open(c))
                conn_fail(c, r);
        return 0;
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(wire_conn_unrefp) WireConn *c = wire_conn_ref(userdata);
        eventfd_t ignored;
        int r;

        (void) eventfd_read(fd, &ignored);
        r = conn_flush(c);
        if (r < 0)
                conn_fail(c, r);
        return 0;
}

int wire_conn_new(sd_event *event, int fd, WireFrameFunc on_frame, WireClosedFunc on_closed, void *userdata,
                  WireConn **ret) {
        _cleanup_close_ int owned = fd;
        WireConn *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->fd = TAKE_FD(owned);
        c->on_frame = on_frame;
        c->on_closed = on_closed;
        c->userdata = userdata;
        pthread_mutex_init(&c->lock, NULL);
        c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->wake_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &c->io_source, c->fd, EPOLLIN, on_io, c);
        if (r >= 0)
                r = sd_event_add_io(event, &c->wake_source, c->wake_fd, EPOLLIN, on_wake, c);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        wire_conn_unref(c);
        return r;
}

int wire_conn_sendv(WireConn *c, WireType type, const struct iovec *iov, size_t n) {
        size_t len = 0, need;
        bool wake;
        uint32_t len32;
        char *p;

        for (size_t i = 0; i < n; i++)
                len += iov[i].iov_len;
        if (len > WIRE_FRAME_MAX)
                return -EMSGSIZE;

        pthread_mutex_lock(&c->lock);
        if (c->closed) {
                pthread_mutex_unlock(&c->lock);
                return -ENOTCONN;
        }
        need = c->out_len + HEADER_SIZE + len;
        if (need > c->out_alloc) {
                size_t size = MAX(need, MAX(c->out_alloc * 2, (size_t) 4096));

                p = realloc(c->out, size);
                if (!p) {
                        pthread_mutex_unlock(&c->lock);
                        return -ENOMEM;
                }
                c->out = p;
                c->out_alloc = size;
        }
        p = c->out + c->out_len;
        len32 = (uint32_t) len;
        memcpy(p, &len32, sizeof len32);
        p[4] = (char) type;
        p += HEADER_SIZE;
        for (size_t i = 0; i < n; i++) {
                if (iov[i].iov_len > 0)
                        memcpy(p, iov[i].iov_base, iov[i].iov_len);
                p += iov[i].iov_len;
        }
        c->out_len = need;
        /* One wakeup until the loop has written: it writes everything queued by then. */
        wake = !c->wake_pending;
        c->wake_pending = true;
        pthread_mutex_unlock(&c->lock);

        if (wake)
                (void) eventfd_write(c->wake_fd, 1);
        return 0;
}

int wire_conn_send(WireConn *c, WireType type, const void *data, size_t len) {
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };

        return wire_conn_sendv(c, type, &iov, 1);
}

int wire_conn_send_job(WireConn *c, const char *execution_id, int64_t node_run_id, uint64_t run_at) {
        WireJob job = { .node_run_id = node_run_id, .run_at = run_at };

        snprintf(job.execution_id, sizeof job.execution_id, "%s", execution_id);
        return wire_conn_send(c, WIRE_JOB, &job, sizeof job);
}

int wire_job_parse(const void *data, size_t len, WireJob *ret) {
        if (len != sizeof(WireJob))
                return -EBADMSG;
        memcpy(ret, data, sizeof *ret);
        if (memchr(ret->execution_id, 0, sizeof ret->execution_id) == NULL)
                return -EBADMSG;
        return 0;
}
