/* The summaries of runs kept in memory (orchestrator-memory.c), stored in batches.
 *
 * Such a run that completed stores only its summary row. In a transaction of its own, its
 * worker waited for the COMMIT — with SQLite's group commit, asleep until another thread
 * ended the group — before it could take its next job, and every COMMIT writes the same
 * few table and index pages however many rows it holds. Instead the summary waits in a
 * list with the events to publish once it is stored, and one worker stores every summary
 * listed in one transaction, then publishes their events, while the others go on: when
 * SUMMARY_BATCH are listed, when the oldest has waited SUMMARY_WAIT_MAX_USEC, or when a
 * worker has no job to go on with (engine_store_summaries()). Nothing is announced before
 * it is in the database, and a worker that finishes a job or goes idle looks at the list,
 * so none waits for long. */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/orchestrator.h"

/* A batch that meets a busy database is tried this many times before each summary is
 * tried alone (a broken connection is not: it would fail again the same way). */
#define STORE_ATTEMPTS 3
#define STORE_RETRY_USEC (100U * 1000)
#define SUMMARY_BATCH 16
#define SUMMARY_WAIT_MAX_USEC 1000

struct PendingSummary {
        PendingSummary *next;
        CachedExecution *execution;     /* its info: what the row says, whom the events are about */
        usec_t started_at;
        json_t *final_output;
        json_t *events;                 /* [[type, data], …] */
};

static PendingSummary *pending_summary_free(PendingSummary *s) {
        if (!s)
                return NULL;
        json_decref(s->final_output);
        json_decref(s->events);
        cached_execution_unref(s->execution);
        free(s);
        return NULL;
}

/* In one transaction: the summaries from first on, or (alone) first's only. */
static int store_from(Db *db, const PendingSummary *first, bool alone) {
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        for (const PendingSummary *s = first; s && r >= 0; s = alone ? NULL : s->next)
                r = store_execution_insert_completed(db, &s->execution->info, s->started_at, s->final_output);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0)
                (void) db_rollback(db);
        return r;
}

static void announce(Engine *e, Db *db, PendingSummary *s) {
        const ExecutionInfo *info = &s->execution->info;

        execution_events_publish(info, s->events);
        engine_execution_ended(e, db, info->id, info, EXECUTION_COMPLETED);
}

/* Stores the batch and announces what was stored. */
static void store_and_announce(Engine *e, Db *db, PendingSummary *batch) {
        int r;

        for (unsigned attempt = 1;; attempt++) {
                r = store_from(db, batch, false);
                if (r != -EBUSY || attempt == STORE_ATTEMPTS)
                        break;
                (void) usleep(attempt * STORE_RETRY_USEC);
        }
        for (PendingSummary *s = batch; s; s = s->next) {
                /* The batch failed: each alone, so that one that cannot be stored (its
                 * workflow was deleted meanwhile) does not take the others with it. */
                int k = r >= 0 ? 0 : store_from(db, s, true);

                if (k < 0) {
                        const ExecutionInfo *info = &s->execution->info;

                        /* A workflow deleted while its run went on is no fault of ours: its
                         * webhook answers 404, as it would a moment later. */
                        if (k == -ENOLINK)
                                log_execution(LOG_INFO, info->workflow_slug, info->id, NULL, NULL,
                                              "Execution %s not stored: its workflow was deleted meanwhile.",
                                              info->id);
                        else
                                log_execution_errno(LOG_ERR, k, info->workflow_slug, info->id, NULL, NULL,
                                                    "Cannot store execution %s: %m (%s)", info->id,
                                                    db_last_error(db));
                        execution_start_failed(info->id, k);
                        continue;
                }
                announce(e, db, s);
        }
}

/* Called with the lock held. */
static bool batch_due(const Engine *e, bool idle) {
        return e->summaries && (idle || e->n_summaries >= SUMMARY_BATCH ||
                                now_monotonic_usec() - e->summaries_since >= SUMMARY_WAIT_MAX_USEC);
}

/* Called with the lock held: whether this thread stores now. */
static bool store_begins(Engine *e, bool idle) {
        if (e->summaries_storing || !batch_due(e, idle))
                return false;
        e->summaries_storing = true;
        return true;
}

/* Stores what is listed until nothing is: a summary listed while this thread stores is
 * not left to wait for a worker that might be asleep or busy for long. */
static void store_listed(Engine *e, Db *db) {
        for (;;) {
                PendingSummary *batch;

                pthread_mutex_lock(&e->summaries_lock);
                batch = TAKE_PTR(e->summaries);
                e->summaries_tail = &e->summaries;
                __atomic_store_n(&e->n_summaries, 0, __ATOMIC_RELAXED);
                if (!batch)
                        e->summaries_storing = false;
                pthread_mutex_unlock(&e->summaries_lock);
                if (!batch)
                        return;

                store_and_announce(e, db, batch);
                while (batch) {
                        PendingSummary *next = batch->next;

                        pending_summary_free(batch);
                        batch = next;
                }
        }
}

int job_store_summary(Job *j) {
        Engine *e = j->engine;
        PendingSummary *s;
        bool store;

        s = calloc(1, sizeof(PendingSummary));
        if (!s)
                return -ENOMEM;
        s->execution = cached_execution_ref(j->execution);
        s->started_at = j->start->requested_at;
        s->final_output = TAKE_PTR(j->final_output);
        s->events = TAKE_PTR(j->events);

        pthread_mutex_lock(&e->summaries_lock);
        if (!e->summaries)
                e->summaries_since = now_monotonic_usec();
        *e->summaries_tail = s;
        e->summaries_tail = &s->next;
        __atomic_store_n(&e->n_summaries, e->n_summaries + 1, __ATOMIC_RELAXED);
        store = store_begins(e, false);
        pthread_mutex_unlock(&e->summaries_lock);
        if (store)
                store_listed(e, j->db);
        return 0;
}

void engine_store_summaries(Engine *e, Db *db, bool idle) {
        bool store;

        /* Read without the lock first: after most jobs there is nothing to do. */
        if (__atomic_load_n(&e->n_summaries, __ATOMIC_RELAXED) == 0)
                return;
        pthread_mutex_lock(&e->summaries_lock);
        store = store_begins(e, idle);
        pthread_mutex_unlock(&e->summaries_lock);
        if (store)
                store_listed(e, db);
}
