/* Executions created on a worker thread (engine_execute_later()).
 *
 * Creating an execution is a write transaction; on the I/O thread, under load, its commit
 * and the checkpoints it triggers took most of that thread's time, and every other request
 * waited behind it. A caller that answers only when the execution ends (a sync webhook)
 * has nothing to acknowledge before the commit, so the commit can happen elsewhere: the
 * graph is checked and the id chosen on the caller's thread, the rest waits in a list for
 * a worker, which the queue wakes with a job for node run 0 of that id. A crash before the
 * commit loses a request nobody was answered for.
 *
 * When the entry node is pure or quick, the worker runs it first and creates the execution
 * in the transaction that records it (orchestrator_run_first()). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/log.h"
#include "engine/events.h"
#include "engine/orchestrator.h"

struct PendingStart {
        char id[EXECUTION_ID_LEN + 1];
        EngineRequest request;  /* trigger_node_id and trigger_payload owned */
        ExecutionStart start;
        PendingStart *next;
};

static PendingStart *pending_start_free(PendingStart *p) {
        if (!p)
                return NULL;
        free((char *) p->request.trigger_node_id);
        json_decref(p->request.trigger_payload);
        execution_start_done(&p->start);
        free(p);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(PendingStart *, pending_start_free);

void engine_pending_starts_free(Engine *e) {
        while (e->starts) {
                PendingStart *next = e->starts->next;

                pending_start_free(e->starts);
                e->starts = next;
        }
}

static void pending_push(Engine *e, PendingStart *p) {
        pthread_mutex_lock(&e->lock);
        p->next = e->starts;
        e->starts = p;
        pthread_mutex_unlock(&e->lock);
}

static PendingStart *pending_take(Engine *e, const char *id) {
        PendingStart *found = NULL;

        pthread_mutex_lock(&e->lock);
        for (PendingStart **p = &e->starts; *p; p = &(*p)->next)
                if (streq((*p)->id, id)) {
                        found = *p;
                        *p = found->next;
                        found->next = NULL;
                        break;
                }
        pthread_mutex_unlock(&e->lock);
        return found;
}

int engine_execute_later(Engine *e, Db *db, const EngineRequest *req, char ret_id[static EXECUTION_ID_LEN + 1],
                         char **ret_error) {
        _cleanup_(pending_start_freep) PendingStart *p = NULL;
        BrokerJob job = {};
        int r;

        p = calloc(1, sizeof(PendingStart));
        if (!p)
                return -ENOMEM;
        p->request = (EngineRequest) {
                .workflow_id = req->workflow_id,
                .user_id = req->user_id,
                .trigger_node_id = req->trigger_node_id ? strdup(req->trigger_node_id) : NULL,
                .trigger_payload = req->trigger_payload ? json_incref(req->trigger_payload) : json_object(),
        };
        if ((req->trigger_node_id && !p->request.trigger_node_id) || !p->request.trigger_payload)
                return -ENOMEM;
        /* The caller's graph is borrowed for the prepare alone. */
        p->request.graph = req->graph;
        r = execution_start_prepare(e, db, &p->request, &p->start, ret_error);
        p->request.graph = NULL;
        if (r < 0)
                return r;
        r = execution_id_new(p->id);
        if (r < 0)
                return r;

        memcpy(job.execution_id, p->id, sizeof p->id);
        memcpy(ret_id, p->id, sizeof p->id);
        pending_push(e, TAKE_PTR(p));
        r = broker_enqueue(e->broker, &job, 0);
        if (r < 0) {
                pending_start_free(pending_take(e, ret_id));
                return r;
        }
        return 0;
}

void execution_start_failed(const char *id, int r) {
        const char *error = r == -ENOLINK ? "The workflow is gone" : "The execution could not be created";
        char channel[sizeof "execution:" + EXECUTION_ID_LEN];

        snprintf(channel, sizeof channel, "execution:%s", id);
        events_publish(channel, "execution_failed", id,
                       json_pack("{s:s, s:s}", "error", error, "error_code", "not_started"));
}

int engine_run_pending_start(Worker *w, const char *id) {
        _cleanup_(pending_start_freep) PendingStart *p = pending_take(w->engine, id);
        int r;

        if (!p)
                return 0;
        r = orchestrator_run_first(w, &p->request, &p->start, p->id);
        if (r < 0)
                execution_start_failed(id, r);
        if (r != 0)
                return 0;

        r = db_begin(w->db);
        if (r >= 0)
                r = execution_start_insert(w->db, &p->request, NULL, &p->start, p->id);
        if (r >= 0)
                r = db_commit(w->db);
        if (r < 0) {
                (void) db_rollback(w->db);
                if (r == -EBUSY || r == -EIO) {
                        /* Comes back with its job, on a fresh connection. */
                        log_execution_errno(LOG_WARNING, r, NULL, id, NULL, NULL,
                                            "Cannot create execution %s yet, trying again: %m (%s)", id,
                                            db_last_error(w->db));
                        pending_push(w->engine, TAKE_PTR(p));
                        return -EAGAIN;
                }
                log_execution_errno(LOG_ERR, r, NULL, id, NULL, NULL, "Cannot create execution %s: %m (%s)", id,
                                    db_last_error(w->db));
                execution_start_failed(id, r);
                return 0;
        }

        execution_start_announce(w->engine, &p->request, &p->start, p->id);
        return 0;
}
