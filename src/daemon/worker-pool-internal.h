/* What the pool (worker-pool.c), the socket its workers connect to (worker-link.c) and the
 * ways of starting them (worker-launch.c) share. Slots are changed on the I/O thread and
 * read by the engine's threads (routing), always under WorkerPool.lock. */
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "broker/broker.h"
#include "common/time-util.h"
#include "daemon/worker-pool.h"
#include "store/store-executions.h"
#include "worker/worker-settings.h"
#include "worker/worker-wire.h"

typedef enum WorkerState {
        WORKER_STOPPED,         /* no process */
        WORKER_STARTING,        /* launched; its hello is not in yet (its jobs wait) */
        WORKER_RUNNING,         /* connected: it runs the workflow's node runs */
        WORKER_STOPPING,        /* asked to stop; its jobs go to pipelitd's threads */
        WORKER_FAILED,          /* could not start or kept dying: pipelitd's threads run its
                                 * jobs until the back-off ends */
        _WORKER_STATE_MAX,
} WorkerState;

const char *worker_state_to_string(WorkerState s);

typedef struct WorkerPool WorkerPool;

typedef struct WorkerSlot {
        WorkerPool *pool;
        int64_t workflow_id;
        char *slug;
        WorkerLimits limits;
        bool dedicated;         /* settings.worker.dedicated, and the workflow is active */
        bool wanted;            /* StartWorker() asked for it */
        bool held_off;          /* StopWorker(): no worker until StartWorker() */
        bool start_requested;   /* a worker thread found work for it: the I/O thread launches */
        WorkerState state;

        WireConn *conn;         /* while RUNNING (and STOPPING until it goes) */
        pid_t pid;              /* the connected worker's */
        uint64_t node_runs;     /* jobs handed to its workers since pipelitd started */
        usec_t connected_at;    /* CLOCK_MONOTONIC */
        unsigned quick_exits;   /* went away soon after starting, in a row */

        /* Executions it was handed jobs of and that did not end yet: taken back when it goes. */
        char (*executions)[EXECUTION_ID_LEN + 1];
        size_t n_executions, n_executions_alloc;
        /* Due jobs waiting for it to connect. */
        BrokerJob *held;
        size_t n_held, n_held_alloc;

        /* The start, by worker-launch.c: a systemd unit or a child process. */
        char *unit;             /* pipelit-worker@<slug>.service */
        char *job_path;         /* the StartUnit job waited for */
        sd_bus_slot *call;      /* the call in flight */
        pid_t child;            /* the child of the latest exec start */
        /* The start timeout, the runtime limit, the stop timeout or the back-off. */
        sd_event_source *timer;

        struct WorkerSlot *next;
} WorkerSlot;

/* A child process started by the exec launcher, watched until it is reaped (it may outlive
 * its slot's interest in it: a new one can start before the old one's end is seen). */
typedef struct WorkerChild {
        WorkerPool *pool;
        int64_t workflow_id;
        pid_t pid;
        sd_event_source *source;
        struct WorkerChild *next;
} WorkerChild;

/* A connection that has not said which workflow it serves yet. */
typedef struct PendingLink {
        WorkerPool *pool;
        WireConn *conn;
        pid_t pid;
        sd_event_source *timeout;
        struct PendingLink *next;
} PendingLink;

struct WorkerPool {
        Manager *manager;
        pthread_mutex_t lock;
        WorkerSlot *slots;
        unsigned n_slots;       /* read without the lock by the routing check */

        char *socket_path;
        int listen_fd;
        sd_event_source *listen_source;
        PendingLink *pending;
        WorkerChild *children;

        int wake_fd;            /* worker threads asked for starts */
        sd_event_source *wake_source;
        sd_event_source *refresh_source;        /* a look at the settings, soon */
        sd_event_source *refresh_timer;         /* and now and then anyway */
        sd_bus_slot *job_removed;               /* systemd's JobRemoved signals */
};

/* --- worker-pool.c ------------------------------------------------------------------------ */

WorkerSlot *pool_find(WorkerPool *p, int64_t workflow_id);
/* A slot for the workflow (made STOPPED when missing). Under the lock. */
WorkerSlot *pool_slot_get(WorkerPool *p, int64_t workflow_id, const char *slug);
/* Frees slots nobody wants any more. Under the lock. */
void pool_collect(WorkerPool *p);
/* Whether the workflow's jobs should go to a worker at all. */
bool slot_wants_worker(const WorkerSlot *s);
/* Records that its worker runs jobs of execution_id. Under the lock. */
void slot_track_execution(WorkerSlot *s, const char *execution_id);
bool slot_has_execution(const WorkerSlot *s, const char *execution_id);
void slot_forget_execution(WorkerSlot *s, const char *execution_id);
/* The held jobs go back to pipelitd's queue. Under the lock. */
void slot_release_held(WorkerSlot *s);
/* Launches (I/O thread, under the lock): the configured launcher starts the worker. */
void slot_launch(WorkerSlot *s);
/* The start did not work (I/O thread, under the lock): back off, pipelitd's threads run
 * its jobs meanwhile. */
void slot_start_failed(WorkerSlot *s, const char *why);
/* Its worker went away (the connection is gone already): STOPPED, or FAILED when it keeps
 * dying soon after its start. Under the lock. */
void slot_went_away(WorkerSlot *s);
/* Connected: RUNNING, with the runtime limit armed. Under the lock. */
void slot_connected(WorkerSlot *s);
/* Asks its worker to stop (I/O thread, under the lock). */
void slot_stop(WorkerSlot *s, const char *why);
/* Arms the slot's one timer (0: disarms). */
void slot_set_timer(WorkerSlot *s, usec_t after, sd_event_time_handler_t handler);

/* --- worker-link.c ------------------------------------------------------------------------ */

int link_listen(WorkerPool *p);
void link_close_all(WorkerPool *p);
/* The worker of s went away (or was cut off): its jobs come back. I/O thread, without the lock. */
void link_lost(WorkerPool *p, int64_t workflow_id, int error);

/* --- worker-launch.c ---------------------------------------------------------------------- */

/* Starts s's worker; errors are reported through slot_start_failed(). */
int launch_systemd(WorkerSlot *s);
int launch_exec(WorkerSlot *s);
/* Stops what the launcher started: StopUnit, or SIGTERM to the child. 0 when there was
 * nothing to stop. */
int launch_stop(WorkerSlot *s);
/* Applies changed limits to a running unit (systemd only). */
void launch_update_limits(WorkerSlot *s);
void launch_forget(WorkerSlot *s);
/* Stops watching the children (pipelitd exits; they end with their connections). */
void launch_children_free(WorkerPool *p);
