/* Node runs that wait without a worker (component.h: node_run_suspend(), node_run_wake()).
 *
 * A component that waits on the network (an agent waiting for its model) suspends: its
 * NodeRun moves into a waker, listed in the engine, and the worker takes other jobs. The
 * node run stays "running" in the database. node_run_wake(), from any thread, queues the
 * run's job again; the worker that takes it finds the waker woken and calls the
 * component's resume() with the run as it was. A crash loses the wakers: the runs are
 * "running", so the next start runs them again as another attempt, like any node cut off.
 *
 * Cancelling asks each suspended run of the execution to stop waiting (its cancel
 * function, which leads to a wake): a pin keeps the waker, and the state it points to,
 * until that call returned. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "engine/orchestrator.h"

struct NodeRunWaker {
        Engine *engine;
        char execution_id[EXECUTION_ID_LEN + 1];
        int64_t node_run_id;
        JobResult result;       /* the suspended run and what it owns */
        bool listed;            /* parked: in Engine.suspended */
        bool woken;
        bool cancelled;
        unsigned pins;          /* cancel calls under way */
        NodeRunWaker *next;
};

NodeRunWaker *suspension_new(const Job *j) {
        NodeRunWaker *w = calloc(1, sizeof(NodeRunWaker));

        if (!w)
                return NULL;
        w->engine = j->engine;
        w->node_run_id = j->row.id;
        snprintf(w->execution_id, sizeof w->execution_id, "%s", j->info.id);
        return w;
}

void suspension_drop(NodeRunWaker *w) {
        if (!w)
                return;
        assert(!w->listed);
        free(w);
}

static void enqueue(NodeRunWaker *w) {
        BrokerJob job = { .node_run_id = w->node_run_id };
        int r;

        memcpy(job.execution_id, w->execution_id, sizeof job.execution_id);
        r = broker_enqueue(w->engine->broker, &job, 0);
        /* The daemon stops: the run is "running" and runs again after the next start. */
        if (r < 0)
                log_debug_errno(r, "Cannot queue the resumed node run %" PRIi64 ": %m", w->node_run_id);
}

/* Asks a waker marked cancelled, and pinned, to stop waiting; unpins it. */
static void waker_stop(Engine *e, NodeRunWaker *w) {
        /* Outside the lock: it may take the component's own locks. */
        if (w->result.run.suspended_cancel)
                w->result.run.suspended_cancel(w->result.run.suspended_state);

        pthread_mutex_lock(&e->lock);
        w->pins--;
        pthread_mutex_unlock(&e->lock);
}

void suspension_park(NodeRunWaker *w, const Job *j, JobResult *res) {
        Engine *e = w->engine;
        bool stop;

        if (!res->pinned)
                res->pinned = cached_execution_ref(j->execution);
        w->result = *res;
        *res = (JobResult) {};
        /* What belonged to the job and its worker: the resume sets them again. */
        w->result.run.waker = NULL;
        w->result.run.db = NULL;
        w->result.run.cancelled = NULL;
        w->result.run.node_id = NULL;

        pthread_mutex_lock(&e->lock);
        w->listed = true;
        w->next = e->suspended;
        e->suspended = w;
        /* Woken while run() was still going: nothing queued it yet. */
        if (w->woken)
                enqueue(w);
        /* Cancelled since run() returned: engine_interrupt() found it neither running nor
         * listed (the worker stays marked as running it until now, so it saw that). Woken
         * already, its resume learns it from the waker. */
        stop = j->worker->cancelled && !w->woken;
        if (j->worker->cancelled)
                w->cancelled = true;
        if (stop)
                w->pins++;
        pthread_mutex_unlock(&e->lock);
        if (stop)
                waker_stop(e, w);
}

void node_run_wake(NodeRunWaker *w) {
        Engine *e = w->engine;

        pthread_mutex_lock(&e->lock);
        w->woken = true;
        if (w->listed)
                enqueue(w);
        pthread_mutex_unlock(&e->lock);
}

static void unlist(Engine *e, NodeRunWaker *w) {
        for (NodeRunWaker **p = &e->suspended; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        w->listed = false;
        w->next = NULL;
}

NodeRunWaker *suspension_take(Engine *e, int64_t node_run_id, bool *ret_waiting) {
        NodeRunWaker *found = NULL;

        pthread_mutex_lock(&e->lock);
        for (NodeRunWaker *w = e->suspended; w; w = w->next)
                if (w->node_run_id == node_run_id) {
                        found = w;
                        break;
                }
        if (found && !found->woken) {
                *ret_waiting = true;
                found = NULL;
        } else if (found)
                unlist(e, found);
        /* No cancel call may still use its state once it is taken. */
        while (found && found->pins > 0) {
                pthread_mutex_unlock(&e->lock);
                sched_yield();
                pthread_mutex_lock(&e->lock);
        }
        pthread_mutex_unlock(&e->lock);
        return found;
}

bool suspension_listed(Engine *e, int64_t node_run_id) {
        bool found = false;

        pthread_mutex_lock(&e->lock);
        for (NodeRunWaker *w = e->suspended; w && !found; w = w->next)
                found = w->node_run_id == node_run_id;
        pthread_mutex_unlock(&e->lock);
        return found;
}

void suspension_unpark(NodeRunWaker *w, JobResult *res, bool *ret_cancelled) {
        *res = w->result;
        *ret_cancelled = w->cancelled;
        free(w);
}

void suspensions_cancel(Engine *e, const char *execution_id) {
        for (;;) {
                NodeRunWaker *target = NULL;

                pthread_mutex_lock(&e->lock);
                for (NodeRunWaker *w = e->suspended; w; w = w->next)
                        if (!w->cancelled && streq(w->execution_id, execution_id)) {
                                /* Woken already: its wait is over, its resume learns it. */
                                w->cancelled = true;
                                if (!w->woken) {
                                        target = w;
                                        break;
                                }
                        }
                if (target)
                        target->pins++;
                pthread_mutex_unlock(&e->lock);
                if (!target)
                        return;
                waker_stop(e, target);
        }
}

void suspensions_free(Engine *e) {
        while (e->suspended) {
                NodeRunWaker *w = e->suspended;

                unlist(e, w);
                job_result_done(&w->result);
                free(w);
        }
}
