/* Runs that park for several child executions at once: an agent's spawn_and_await
 * (component.h: node_run_add_child(), node_run_await_children()).
 *
 * The component asks for its children and returns. On its worker each child is prepared
 * here (one that cannot start is noted with why); the commit that parks the run creates
 * them all, keeps the component's state in the run's row as its output (nothing reads the
 * output of a run that is not done) and marks the run awaiting. Each child's end tries to
 * queue the run again and the last one does (engine_resume_parent()). Taken again, the run
 * reads its row back: the component gets its state and the children's ends in the order it
 * asked for them. All of it is in the database, so a restart at any point goes on from
 * where it was: the children never start twice, and a run cut off after it was taken again
 * (or retried: a retry keeps the output) starts from the same state.
 *
 * The row's output while parked: {"awaiting_children": [{"workflow_slug",
 * "execution_id"} or {"workflow_slug", "error"}], "kept_state": the component's state}. */

#include <errno.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/orchestrator.h"
#include "store/store-flow.h"

/* The components that may park for children. */
static const char *const spawning_types[] = { "agent", "deep_agent" };

ChildBatch *child_batch_free(ChildBatch *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n; i++)
                child_start_free(b->starts[i]);
        free(b->starts);
        json_decref(b->parked_output);
        free(b);
        return NULL;
}

int spawn_prepare(Job *j, const NodeRun *run, ChildBatch **ret) {
        _cleanup_(child_batch_freep) ChildBatch *b = calloc(1, sizeof(ChildBatch));
        _cleanup_json_ json_t *children = json_array();
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        if (!b || !children)
                return -ENOMEM;
        b->starts = calloc(MAX(run->n_await_children, (size_t) 1), sizeof(ChildStart *));
        if (!b->starts)
                return -ENOMEM;
        b->n = run->n_await_children;

        for (size_t i = 0; i < b->n; i++) {
                const ChildRequest *c = &run->await_children[i];
                const char *trigger = c->trigger_node_id ?: j->info.trigger_node_id;
                _cleanup_free_ char *error = NULL;
                json_t *entry;

                if (!trigger)
                        r = asprintf(&error, "Workflow '%s' has no trigger to start from", c->workflow_slug) < 0 ?
                                -ENOMEM : -EINVAL;
                else
                        r = child_start_new(j, c->workflow_id, c->workflow_slug, trigger, c->payload, &b->starts[i],
                                            &error);
                if (r == -EINVAL)
                        entry = json_pack("{s:s, s:s}", "workflow_slug", c->workflow_slug, "error", error);
                else if (r < 0)
                        return r;
                else
                        entry = json_pack("{s:s, s:s}", "workflow_slug", c->workflow_slug,
                                          "execution_id", b->starts[i]->id);
                if (json_array_append_new(children, entry) < 0)
                        return -ENOMEM;
        }

        b->parked_output = json_pack("{s:O, s:O}", "awaiting_children", children, "kept_state",
                                     run->await_state ?: json_null());
        if (!b->parked_output)
                return -ENOMEM;
        text = json_write(b->parked_output, &size);
        if (!text)
                return -ENOMEM;
        if (size > j->engine->max_output_size)
                return -E2BIG;

        *ret = TAKE_PTR(b);
        return 0;
}

/* The execution ids the run waits for, as a node_status event shows them. */
static json_t *awaited_ids(json_t *parked_output) {
        _cleanup_json_ json_t *ids = json_array();
        json_t *entry;
        size_t i;

        if (!ids)
                return NULL;
        json_array_foreach(json_object_get(parked_output, "awaiting_children"), i, entry) {
                json_t *id = json_object_get(entry, "execution_id");

                if (json_is_string(id) && json_array_append(ids, id) < 0)
                        return NULL;
        }
        return TAKE_PTR(ids);
}

int spawn_park(Job *j, ChildBatch *b) {
        json_t *data;
        int64_t live;
        int r;

        for (size_t i = 0; i < b->n; i++) {
                ChildStart *c = b->starts[i];

                if (!c)
                        continue;
                r = execution_start_insert(j->db, &c->request, &c->origin, &c->start, c->id);
                if (r < 0)
                        return r;
        }
        j->children = b;

        /* Waiting holds no worker: only the deadline brings the run back by itself. */
        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_AWAITING, .output = b->parked_output, .run_after = j->deadline });
        if (r < 0)
                return r;

        /* No child could start, or (taken again too early) the last one ended meanwhile:
         * nothing will queue the run, so it goes on at once, as the same attempt. The
         * transaction ends here: the mirror, which still sees it awaiting, goes with it. */
        r = store_node_run_live_children(j->db, j->row.id, &live);
        if (r < 0)
                return r;
        if (live == 0) {
                r = store_node_run_resume(j->db, j->row.id, NODE_RUN_AWAITING, NULL);
                return r < 0 ? r : job_add_pending(j, j->row.id, 0);
        }

        data = job_node_status(j, j->row.node_id, j->row.iteration, "waiting");
        if (data && json_object_set_new(data, "child_execution_ids", awaited_ids(b->parked_output)) < 0) {
                json_decref(data);
                data = NULL;
        }
        r = job_add_event(j, "node_status", data);
        if (r >= 0 && j->deadline > 0)
                r = job_add_pending(j, j->row.id, j->deadline);
        return r;
}

/* How a child ended, for the component: NULL in *ret while it still runs. */
static int child_result(Db *db, json_t *entry, json_t **ret) {
        _cleanup_(child_execution_done) ChildExecution c = {};
        const char *slug = json_get_string(entry, "workflow_slug", ""), *id = json_get_string(entry, "execution_id", NULL);
        int r;

        *ret = NULL;
        if (!id) {
                *ret = json_pack("{s:s, s:n, s:s, s:s}", "workflow_slug", slug, "execution_id", "status", "failed",
                                 "error", json_get_string(entry, "error", "The child execution could not start"));
                return *ret ? 0 : -ENOMEM;
        }
        r = store_execution_child_get(db, id, &c);
        if (r == -ENOENT) {
                *ret = json_pack("{s:s, s:s, s:s, s:s}", "workflow_slug", slug, "execution_id", id, "status", "failed",
                                 "error", "The child execution was deleted");
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        if (execution_status_is_live(c.status))
                return 0;
        if (c.status == EXECUTION_COMPLETED)
                *ret = json_pack("{s:s, s:s, s:s, s:O}", "workflow_slug", slug, "execution_id", id, "status",
                                 "completed", "output", c.final_output ?: json_null());
        else
                *ret = json_pack("{s:s, s:s, s:s, s:s}", "workflow_slug", slug, "execution_id", id,
                                 "status", execution_status_to_string(c.status),
                                 "error", c.status == EXECUTION_CANCELLED ? "The child execution was cancelled" :
                                          c.error_message ?: "The child execution failed");
        return *ret ? 0 : -ENOMEM;
}

static bool spawns(const char *component_type) {
        for (size_t i = 0; i < ELEMENTSOF(spawning_types); i++)
                if (streq_ptr(component_type, spawning_types[i]))
                        return true;
        return false;
}

int spawn_resume(Job *j, JobResult *res) {
        _cleanup_json_ json_t *output = NULL, *results = NULL;
        json_t *children, *state, *entry;
        bool live = false;
        size_t i;
        int r;

        if (!spawns(j->component_type))
                return 0;
        r = store_node_run_output(j->db, j->row.id, &output);
        if (r < 0)
                return r;
        children = json_object_get(output, "awaiting_children");
        state = json_object_get(output, "kept_state");
        if (!json_is_array(children) || !state)
                return 0;

        results = json_array();
        if (!results)
                return -ENOMEM;
        json_array_foreach(children, i, entry) {
                json_t *result;

                r = child_result(j->db, entry, &result);
                if (r < 0)
                        return r;
                if (!result)
                        live = true;
                else if (json_array_append_new(results, result) < 0)
                        return -ENOMEM;
        }

        if (live) {
                /* Taken before its last child ended (queued twice): it waits again. */
                res->children = calloc(1, sizeof(ChildBatch));
                if (!res->children)
                        return -ENOMEM;
                res->children->parked_output = TAKE_PTR(output);
                res->outcome.children = res->children;
                return 1;
        }
        res->run.awaited_state = json_incref(state);
        res->run.children_results = TAKE_PTR(results);
        return 0;
}
