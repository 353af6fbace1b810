/* The link between pipelitd and a pipelit-worker process: one unix stream socket, frames of
 * [uint32 payload length][uint8 type][payload] in both directions, in the host's byte order
 * (both ends are the same build on the same host: the hello carries the version).
 *
 * A WireConn owns the socket and is driven by the sd-event loop of the thread that created
 * it: frames are read and handed to on_frame there. wire_conn_send() may be called from any
 * thread; what it queues is written by the loop's thread, in order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <systemd/sd-event.h>

#include "common/macro.h"

/* A frame may carry an event with a node's output: MaxNodeOutputSize= and more. */
#define WIRE_FRAME_MAX (64U * 1024 * 1024)

typedef enum WireType {
        WIRE_HELLO = 1,         /* worker → daemon: JSON {"workflow", "pid", "version"} */
        WIRE_WELCOME,           /* daemon → worker: JSON, what the worker runs with */
        WIRE_REFUSED,           /* daemon → worker: why not (text); the daemon closes */
        WIRE_JOB,               /* both: a WireJob, a node run to run (→ worker) or to queue (→ daemon) */
        WIRE_EVENT,             /* worker → daemon: channel, NUL, the event's text */
        WIRE_CANCEL,            /* both: an execution id; its running nodes stop */
        WIRE_LISTENERS,         /* daemon → worker: int64, live-event subscribers of the daemon */
        _WIRE_TYPE_MAX,
} WireType;

typedef struct WireJob {
        char execution_id[40];
        int64_t node_run_id;
        uint64_t run_at;        /* CLOCK_REALTIME µs, 0: now */
} WireJob;

typedef struct WireConn WireConn;

/* A whole frame; data lives until the callback returns. */
typedef void (*WireFrameFunc)(WireConn *c, WireType type, const void *data, size_t len, void *userdata);
/* The peer closed, the socket failed or a frame was malformed (error: 0 or negative errno).
 * Called once; nothing is read or written after it. */
typedef void (*WireClosedFunc)(WireConn *c, int error, void *userdata);

/* Takes fd (a connected stream socket) also on failure. */
int wire_conn_new(sd_event *event, int fd, WireFrameFunc on_frame, WireClosedFunc on_closed, void *userdata,
                  WireConn **ret);
/* Hands the frames and the end to others from now on (on the loop's thread). */
void wire_conn_set_handlers(WireConn *c, WireFrameFunc on_frame, WireClosedFunc on_closed, void *userdata);
WireConn *wire_conn_ref(WireConn *c);
/* The last reference closes the socket; frames still queued are dropped. */
WireConn *wire_conn_unref(WireConn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(WireConn *, wire_conn_unref);

/* Queues one frame whose payload is the concatenation of iov. Thread-safe; -ENOTCONN once
 * the connection closed, -EMSGSIZE beyond WIRE_FRAME_MAX. */
int wire_conn_sendv(WireConn *c, WireType type, const struct iovec *iov, size_t n);
int wire_conn_send(WireConn *c, WireType type, const void *data, size_t len);
int wire_conn_send_job(WireConn *c, const char *execution_id, int64_t node_run_id, uint64_t run_at);

/* Writes what is queued now, as far as the socket takes it (before a close). On the loop's
 * thread. */
int wire_conn_flush(WireConn *c);
/* Closes now (no callback): queued frames are dropped. On the loop's thread. */
void wire_conn_close(WireConn *c);
bool wire_conn_is_open(WireConn *c);
/* The socket, for SO_PEERCRED. */
int wire_conn_fd(WireConn *c);

/* Payload helpers. A WireJob from a frame, -EBADMSG when it is not one. */
int wire_job_parse(const void *data, size_t len, WireJob *ret);
