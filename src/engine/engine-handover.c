/* Node runs that another process runs: in pipelitd, the jobs of workflows with a dedicated
 * worker (settings.worker) go to that worker instead of this process's threads, and come back
 * when it goes away; in a worker, the labels its logs carry. The routing itself is pipelitd's
 * (src/daemon/worker-pool.c), through EngineHooks. */

#include <errno.h>
#include <inttypes.h>

#include "common/log.h"
#include "engine/orchestrator.h"
#include "store/store-workers.h"

void engine_set_hooks(Engine *e, const EngineHooks *hooks) {
        e->hooks = *hooks;
}

void engine_set_worker_label(Engine *e, json_t *label) {
        json_decref(e->worker_label);
        e->worker_label = label;
}

bool engine_hand_over(Worker *w, const BrokerJob *job) {
        _cleanup_(cached_execution_unrefp) CachedExecution *x = NULL;
        Engine *e = w->engine;

        if (!e->hooks.route_job || !e->hooks.routing(e->hooks.userdata))
                return false;
        /* A run suspended here resumes here: its state is in this process. */
        if (suspension_listed(e, job->node_run_id))
                return false;
        /* Whatever goes wrong here goes wrong again in the orchestrator, which says so. */
        if (execution_cache_get(e->executions, w->db, job->execution_id, &x, NULL) < 0)
                return false;
        return e->hooks.route_job(e->hooks.userdata, x->info.workflow_id, job);
}

int engine_take_back(Engine *e, Db *db, const char *execution_id) {
        _cleanup_free_ RecoveredRun *runs = NULL;
        size_t n;
        int r;

        r = store_node_runs_recover(db, execution_id, &runs, &n);
        if (r < 0)
                return r;
        engine_enqueue_recovered(e, runs, n);
        return (int) MIN(n, (size_t) INT32_MAX);
}
