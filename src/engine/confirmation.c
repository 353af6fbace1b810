/* Pausing for a person's answer (inventory 2.8, with a REST resume the reference lacks).
 *
 * A human_confirmation node, or any node with interrupt_before, parks its node run as
 * "paused" the first time it is taken (a node with interrupt_after, once it ran, with its
 * output kept): a pending confirmation holds the question and its
 * expiry, the execution becomes "interrupted" (its other branches go on), and the node
 * run's job comes back at the expiry (or at the execution's deadline), so the deadline holds
 * across restarts. engine_resume() answers: the node run is queued again with the answer,
 * and runs as the same attempt (a human_confirmation turns the answer into its output; a
 * node that paused after it ran goes on with its kept output instead of running again). */

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/events.h"
#include "engine/orchestrator.h"
#include "store/store-flow.h"

#define CONFIRMATION_TIMEOUT_DEFAULT_SECONDS 300
/* A question nobody answers for a year is not going to be answered. */
#define CONFIRMATION_TIMEOUT_MAX_SECONDS (366.0 * 24 * 3600)

bool job_pauses(const Job *j) {
        return streq(j->component_type, "human_confirmation") ||
                json_is_true(json_object_get(j->node, "interrupt_before"));
}

bool job_interrupts_after(const Job *j) {
        return json_is_true(json_object_get(j->node, "interrupt_after"));
}

/* system_config.confirmation_timeout_seconds, or the default when unset or unreadable. */
static double system_confirmation_timeout(Db *db) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int64_t v;

        if (db_query(db, &res, "SELECT confirmation_timeout_seconds FROM system_config WHERE id = 1", 0, NULL) < 0 ||
            db_result_rows(res) == 0 || db_result_is_null(res, 0, 0))
                return CONFIRMATION_TIMEOUT_DEFAULT_SECONDS;
        v = db_result_get_int64(res, 0, 0);
        return v > 0 ? (double) v : CONFIRMATION_TIMEOUT_DEFAULT_SECONDS;
}

int confirmation_prepare(Job *j, const NodeRun *run, char **ret_prompt, usec_t *ret_expires_at) {
        const char *prompt = node_run_setting_string(run, "prompt", NULL);
        double seconds = setting_number(node_run_setting(run, "timeout_seconds"), 0);
        char *text;

        if (!isempty(prompt))
                text = strdup(prompt);
        else if (asprintf(&text, "Continue with %s?",
                          json_get_string(j->node, "label", NULL) ?: j->row.node_id) < 0)
                text = NULL;
        if (!text)
                return -ENOMEM;

        /* 0, absent or unreadable: the system's setting. */
        if (!(seconds > 0))
                seconds = system_confirmation_timeout(j->db);
        seconds = MIN(seconds, CONFIRMATION_TIMEOUT_MAX_SECONDS);

        *ret_prompt = text;
        *ret_expires_at = now_realtime_usec() + (usec_t) llround(seconds * 1e6);
        return 0;
}

/* A node that is not a human_confirmation runs on a yes; anything else cancels the run,
 * as the reference's /cancel_<id> did. */
static int resume_refused(Db *db, const char *execution_id, const char *node_id, json_t *input, bool *ret) {
        _cleanup_(execution_info_done) ExecutionInfo info = {};
        int r;

        r = store_execution_info(db, execution_id, &info);
        if (r < 0)
                return r;
        *ret = !streq_ptr(json_get_string(json_object_get(info.nodes, node_id), "component_type", NULL),
                          "human_confirmation") &&
                !confirmation_answer_is_yes(input);
        return 0;
}

int engine_resume(Engine *e, Db *db, const char *execution_id, const char *workflow_slug, const char *task_id,
                  json_t *input, json_t **ret) {
        _cleanup_(confirmation_done) Confirmation c = {};
        ExecutionState state;
        bool refused = false;
        int64_t left;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = store_execution_lock(db, execution_id, &state);
        if (r < 0)
                goto fail;
        if (state.status != EXECUTION_INTERRUPTED) {
                (void) db_rollback(db);
                return 0;
        }
        r = store_confirmation_find(db, execution_id, task_id, &c);
        if (r == -ENOENT) {
                (void) db_rollback(db);
                return task_id ? -ESRCH : 0;
        }
        if (r >= 0)
                r = resume_refused(db, execution_id, c.node_id, input, &refused);
        if (r < 0)
                goto fail;
        if (refused) {
                (void) db_rollback(db);
                r = engine_cancel(e, db, execution_id, workflow_slug);
                if (r < 0)
                        return r;
                *ret = json_pack("{s:s, s:s, s:s, s:s}", "execution_id", execution_id, "status", "cancelled",
                                 "node_id", c.node_id, "task_id", c.task_id);
                return *ret ? 1 : -ENOMEM;
        }

        r = store_node_run_resume(db, c.node_run_id, NODE_RUN_PAUSED, input);
        if (r >= 0)
                r = store_confirmation_delete_run(db, c.node_run_id);
        if (r >= 0)
                r = store_confirmations_count(db, execution_id, &left);
        if (r >= 0 && left == 0)
                r = store_execution_set_status(db, execution_id, EXECUTION_INTERRUPTED, EXECUTION_RUNNING);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0)
                goto fail;

        events_publish_workflow(workflow_slug, "execution_resumed", execution_id,
                                json_pack("{s:s, s:s}", "node_id", c.node_id, "task_id", c.task_id));
        engine_enqueue(e, execution_id, &c.node_run_id, 1, 0);
        *ret = json_pack("{s:s, s:s, s:s, s:s}", "execution_id", execution_id,
                         "status", left == 0 ? "running" : "interrupted", "node_id", c.node_id, "task_id", c.task_id);
        return *ret ? 1 : -ENOMEM;

fail:
        (void) db_rollback(db);
        return r;
}
