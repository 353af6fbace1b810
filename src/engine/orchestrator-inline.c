/* Quick nodes run inside the transaction that made them due.
 *
 * A switch, a filter, a merge or a reply after a node takes microseconds; claiming it in a
 * transaction of its own, committing its result in another and passing it through the
 * queue in between cost a hundred times that. So the commit that makes such a run due
 * claims it, runs it and records it before it commits, then goes on with the runs that one
 * made due: a chain of quick nodes is one commit. Their node_status events are published
 * after that commit, in order, as the rest. A crash before the commit loses nothing that
 * was announced: the parent's commit did not happen either, and everything runs again. */

#include <errno.h>
#include <string.h>

#include <inttypes.h>
#include "common/log.h"
#include "engine/events.h"
#include "engine/orchestrator.h"

/* What one transaction runs at most, so the writer lock is not held for long and events
 * keep flowing: node runs, and time. */
#define INLINE_MAX_RUNS 256
#define INLINE_MAX_USEC (20U * 1000)

/* Moves what sub collected into j, which publishes and enqueues it after the commit. */
static int job_adopt(Job *j, Job *sub) {
        json_t *event;
        size_t i;
        int r;

        json_array_foreach(sub->events, i, event) {
                if (!j->events && !(j->events = json_array()))
                        return -ENOMEM;
                if (json_array_append(j->events, event) < 0)
                        return -ENOMEM;
        }
        for (size_t k = 0; k < sub->n_pending; k++) {
                r = job_add_pending(j, sub->pending[k].id, sub->pending[k].run_at);
                if (r < 0)
                        return r;
        }
        if (sub->ended != EXECUTION_PENDING)
                j->ended = sub->ended;
        if (sub->final_output) {
                json_decref(j->final_output);
                j->final_output = TAKE_PTR(sub->final_output);
        }
        if (sub->handler) {
                child_start_free(j->handler);
                j->handler = TAKE_PTR(sub->handler);
        }
        return 0;
}

/* Claims, runs and records one due run of a quick node. 0 when it is not one. */
static int run_one(Job *j, int64_t node_run_id) {
        _cleanup_(job_result_done) JobResult res = {};
        Job sub = {
                .engine = j->engine,
                .worker = j->worker,
                .db = j->db,
                .broker_job = j->broker_job,
                .execution = cached_execution_ref(j->execution),
                .info = j->info,
                .topology = j->topology,
                .deadline = j->deadline,
                .ended = EXECUTION_PENDING,
                .mirror = j->mirror,
        };
        int r;

        sub.broker_job.node_run_id = node_run_id;
        r = job_load_run(&sub, node_run_id);
        if (r < 0 || job_kind(&sub) != COMPONENT_QUICK || sub.row.status != NODE_RUN_QUEUED ||
            sub.row.run_after > now_realtime_usec()) {
                job_done(&sub);
                return r < 0 ? r : 0;
        }

        r = run_mirror_claim_unwritten(sub.mirror, sub.db, sub.row.id);
        if (r >= 0) {
                sub.row.attempt++;
                if (events_wanted("node_status"))
                        r = job_add_event(&sub, "node_status", job_node_status(&sub, sub.row.node_id,
                                                                                sub.row.iteration, "running"));
        }
        if (r >= 0)
                r = job_execute(&sub, &res);
        if (r >= 0)
                r = record_outcome(&sub, &res.outcome);
        if (r >= 0)
                r = job_adopt(j, &sub);
        job_done(&sub);
        return r < 0 ? r : 1;
}

int job_run_inline(Job *j) {
        usec_t until = now_monotonic_usec() + INLINE_MAX_USEC;
        unsigned n_run = 0;
        int r;

        /* Runs added to pending while going are looked at too. */
        for (size_t k = 0; k < j->n_pending && j->ended == EXECUTION_PENDING; ) {
                int64_t id = j->pending[k].id;

                if (n_run >= INLINE_MAX_RUNS || now_monotonic_usec() >= until ||
                    (j->deadline > 0 && now_realtime_usec() >= j->deadline) || j->worker->cancelled)
                        break;
                if (j->pending[k].run_at != 0) {
                        k++;
                        continue;
                }
                r = run_one(j, id);
                if (r < 0)
                        return r;
                if (r == 0) {
                        k++;
                        continue;
                }
                /* It ran: it is no longer to be enqueued. */
                memmove(j->pending + k, j->pending + k + 1, (j->n_pending - k - 1) * sizeof(PendingRun));
                j->n_pending--;
                n_run++;
        }
        return 0;
}
