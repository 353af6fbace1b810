/* Runs kept in memory until they end.
 *
 * A workflow that keeps nothing of its successful runs (retention keep_successful "none")
 * would write its execution, every node run and every log, only to delete them in the
 * transaction that completes it. When a sync webhook starts such a workflow, its first node
 * runs before the execution exists (orchestrator_run_first()); the commit of that node then
 * first goes on in memory: the outcome is recorded and the quick nodes after it run
 * (orchestrator-inline.c) on an in-memory mirror of the node runs (run-mirror.h), with no
 * log written. When that completes the execution, one INSERT stores its summary — all that
 * keep_successful "none" keeps of it, several runs' in one transaction (summary-writer.c)
 * — and the events go out once it is stored.
 *
 * Anything else — a failure (kept with its logs), a pause, a node that is not quick, the
 * inline budget spent — is forgotten and committed again the usual way. Everything that ran
 * was pure (COMPONENT_PURE or COMPONENT_QUICK), so running it again changes nothing anybody
 * can see. A crash before the INSERT loses the run, as it would before any commit of it;
 * nobody was answered for it. */

#include "engine/orchestrator.h"

static bool keeps_nothing_of_successes(const Job *j) {
        return !retention_policy(j->engine, json_object_get(j->start->workflow, "settings")).keep_successful;
}

/* The execution as job_create_execution() creates it, in the mirror: the entry run claimed,
 * the nodes that wait for several parents waiting. */
static int begin_in_memory(Job *j) {
        const PlanStep *step = &j->start->step;
        int64_t id;
        int r;

        j->own_mirror = (RunMirror) {
                .execution_id = j->info.id,
                .execution_running = true,
                .enabled = true,
                .loaded = true,
                .in_memory = true,
        };
        j->mirror = &j->own_mirror;
        r = run_mirror_offer(j->mirror, NULL, step->run[0], "", NODE_RUN_QUEUED, 0, &id);
        if (r >= 0)
                r = run_mirror_claim(j->mirror, NULL, id);
        for (size_t i = 0; r >= 0 && i < step->n_wait; i++)
                r = run_mirror_offer(j->mirror, NULL, step->wait[i], "", NODE_RUN_WAITING, 0, NULL);
        if (r < 0)
                return r;
        j->row.id = id;
        return 0;
}

int commit_in_memory(Job *j, const NodeOutcome *o) {
        int r;

        /* A loop's iterations are not mirrored (begin_locked()). */
        if (j->execution->has_loops || !keeps_nothing_of_successes(j))
                return JOB_NEEDS_STORE;

        r = begin_in_memory(j);
        if (r >= 0)
                r = record_outcome(j, o);
        if (r >= 0)
                r = job_run_inline(j);
        /* Runs left for later, or an execution to start, need the database. */
        if (r >= 0 && (j->ended != EXECUTION_COMPLETED || j->n_pending > 0 || j->child || j->children || j->handler))
                r = JOB_NEEDS_STORE;
        run_mirror_done(&j->own_mirror);
        j->mirror = NULL;
        if (r >= 0)
                r = job_store_summary(j);
        job_reset_pending(j);
        if (r < 0)
                return r;
        j->start = NULL;
        return 0;
}
