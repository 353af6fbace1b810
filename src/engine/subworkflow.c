/* Subworkflows (inventory 2.7): a workflow node starts a child execution and waits for it
 * without holding a worker, durably.
 *
 * The first run of the node prepares the child here and commits, in one transaction, the
 * child (with its entry node runs) and the node run "awaiting" it. When the child ends
 * (completed, failed, cancelled) and that is committed, engine_execution_ended() queues
 * the awaiting node run again in a transaction of its own; that run finds its child over
 * and the workflow component turns it into the node's output or failure. A crash between
 * the two transactions is repaired at start (engine_recover_children()). An execution that
 * ends without completing cancels its live children, generation by generation.
 *
 * A run may wait for several children (spawn.c): it is queued again when the last of them
 * ended, which the transaction queueing it checks under its execution's lock. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/json-util.h"
#include "common/log.h"
#include "engine/components/components.h"
#include "engine/orchestrator.h"
#include "engine/rules.h"
#include "engine/scheduler.h"
#include "store/store-flow.h"
#include "store/store-nodes.h"

ChildStart *child_start_free(ChildStart *c) {
        if (!c)
                return NULL;
        execution_start_done(&c->start);
        free(c->trigger_node_id);
        json_decref(c->payload);
        free(c);
        return NULL;
}

/* Sets *ret_error; returns -EINVAL, or -ENOMEM when the message cannot be made. */
static int child_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int child_error(char **ret_error, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret_error, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* The target by extra_config.target_workflow (a slug), else by the node's subworkflow_id. */
static int find_target(Job *j, const NodeRun *run, int64_t *ret_id, char **ret_name, char **ret_error) {
        const char *slug = node_run_setting_string(run, "target_workflow", NULL);
        json_t *id = json_object_get(j->node, "subworkflow_id");
        int r;

        if (isempty(slug) && !json_is_integer(id))
                return child_error(ret_error, "No target_workflow is set");
        if (!isempty(slug))
                r = store_workflow_find_callable(j->db, j->info.workflow_id, slug, 0, ret_id);
        else
                r = store_workflow_find_callable(j->db, j->info.workflow_id, NULL, json_integer_value(id), ret_id);
        if (r == -ENOENT)
                return isempty(slug) ? child_error(ret_error, "Workflow %" JSON_INTEGER_FORMAT " not found",
                                                   json_integer_value(id))
                                     : child_error(ret_error, "Workflow '%s' not found", slug);
        if (r < 0)
                return r;
        *ret_name = isempty(slug) ? NULL : strdup(slug);
        return 0;
}

static bool trigger_is_active(json_t *node) {
        return json_get_bool(json_object_get(node, "config"), "is_active", true);
}

/* implicit: the first trigger_workflow, else the first trigger_manual. explicit: the
 * trigger_workflow nodes whose trigger_config.source_workflow is empty or names the
 * calling workflow, the highest priority first (the reference's resolver). */
static int pick_trigger(Job *j, json_t *nodes, bool explicit_mode, const char *target, char **ret,
                        char **ret_error) {
        json_t *node, *best = NULL, *manual = NULL;
        size_t i;

        json_array_foreach(nodes, i, node) {
                const char *type = json_get_string(node, "component_type", "");
                json_t *config = json_object_get(node, "config");
                const char *source = json_get_string(json_object_get(config, "trigger_config"), "source_workflow", NULL);

                if (!trigger_is_active(node))
                        continue;
                if (!manual && streq(type, "trigger_manual"))
                        manual = node;
                if (!streq(type, "trigger_workflow"))
                        continue;
                if (explicit_mode && !isempty(source) && !streq(source, j->info.workflow_slug))
                        continue;
                if (!best || (explicit_mode && json_get_integer(config, "priority", 0) >
                                                       json_get_integer(json_object_get(best, "config"), "priority", 0)))
                        best = node;
        }
        if (!best && !explicit_mode)
                best = manual;
        if (!best)
                return explicit_mode ?
                        child_error(ret_error, "Workflow '%s' has no active trigger_workflow node that accepts "
                                    "calls from '%s'", target, j->info.workflow_slug) :
                        child_error(ret_error, "Workflow '%s' has no trigger_workflow or trigger_manual node",
                                    target);
        *ret = strdup(json_get_string(best, "node_id", ""));
        return *ret ? 0 : -ENOMEM;
}

static bool is_template(json_t *v) {
        const char *s = json_string_value(v);

        return s && (strstr(s, "{{") || strstr(s, "{%"));
}

/* {childKey: value}: templates as rendered, other strings as dotted paths into this run's
 * state (as switch rules read it), anything else as it is. */
static int map_input(Job *j, const NodeRun *run, json_t *mapping, json_t **ret, char **ret_error) {
        _cleanup_json_ json_t *payload = json_object(), *document = NULL;
        json_t *rendered = node_run_setting(run, "input_mapping"), *v;
        const char *key;

        if (!payload)
                return -ENOMEM;
        json_object_foreach(mapping, key, v) {
                json_t *value;

                if (is_template(v))
                        value = json_object_get(rendered, key);
                else if (json_is_string(v)) {
                        if (!document) {
                                document = node_run_rule_document(run);
                                if (!document)
                                        return -ENOMEM;
                        }
                        value = json_path_get(document, json_string_value(v));
                        if (!value)
                                return child_error(ret_error, "input_mapping.%s: '%s' names nothing in this run", key,
                                                   json_string_value(v));
                } else
                        value = v;
                if (json_object_set(payload, key, value ?: json_null()) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(payload);
        return 0;
}

/* Without a mapping, the reference's {trigger, node_outputs}. */
static json_t *default_input(Job *j, const NodeRun *run) {
        _cleanup_json_ json_t *outputs = json_object();
        json_t *v;
        const char *key;

        if (!outputs)
                return NULL;
        json_object_foreach(run->context, key, v) {
                if (streq(key, "trigger") || streq(key, "loop") || streq_ptr(key, j->info.trigger_node_id))
                        continue;
                if (json_object_set(outputs, key, v) < 0)
                        return NULL;
        }
        return json_pack("{s:O, s:O}", "trigger", j->info.trigger_payload, "node_outputs", outputs);
}

/* The child's trigger payload, {text, payload} as a workflow trigger's outputs. */
static int child_payload(Job *j, const NodeRun *run, json_t **ret, char **ret_error) {
        json_t *mapping = job_setting(j, "input_mapping"), *data = NULL, *text;
        int r;

        if (mapping && !json_is_object(mapping))
                return child_error(ret_error, "input_mapping must be an object");
        if (json_object_size(mapping) > 0) {
                r = map_input(j, run, mapping, &data, ret_error);
                if (r < 0)
                        return r;
        } else {
                data = default_input(j, run);
                if (!data)
                        return -ENOMEM;
        }

        text = json_object_get(data, "text");
        if (!json_is_string(text))
                text = json_object_get(j->info.trigger_payload, "text");
        *ret = json_pack("{s:s, s:o}", "text", json_string_value(text) ?: "", "payload", data);
        return *ret ? 0 : -ENOMEM;
}

int child_start_new(Job *j, int64_t workflow_id, const char *name, const char *trigger_node_id, json_t *payload,
                    ChildStart **ret, char **ret_error) {
        _cleanup_(child_start_freep) ChildStart *c = calloc(1, sizeof(ChildStart));
        _cleanup_free_ char *graph_error = NULL;
        int r;

        if (!c)
                return -ENOMEM;
        c->trigger_node_id = strdup(trigger_node_id);
        c->payload = json_incref(payload);
        if (!c->trigger_node_id)
                return -ENOMEM;
        c->request = (EngineRequest) {
                .workflow_id = workflow_id,
                .user_id = j->info.user_id,
                .trigger_node_id = c->trigger_node_id,
                .trigger_payload = c->payload,
        };
        c->origin = (ExecutionOrigin) {
                .parent_execution_id = j->info.id,
                .parent_node_id = j->row.node_id,
                .parent_node_run_id = j->row.id,
                .depth = j->info.depth + 1,
        };
        r = execution_start_prepare(j->engine, j->db, &c->request, &c->start, &graph_error);
        if (r == -EINVAL)
                return child_error(ret_error, "Workflow '%s' cannot run: %s", name, graph_error ?: "invalid graph");
        if (r == -ENOENT)
                return child_error(ret_error, "Workflow '%s' not found", name);
        if (r < 0)
                return r;
        r = execution_id_new(c->id);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int subworkflow_prepare(Job *j, const NodeRun *run, ChildStart **ret, char **ret_error, const char **ret_error_code) {
        _cleanup_json_ json_t *target = NULL, *nodes = NULL, *payload = NULL;
        _cleanup_free_ char *name = NULL, *trigger = NULL;
        const char *mode = node_run_setting_string(run, "trigger_mode", "implicit");
        unsigned depth = j->info.depth + 1;
        int64_t target_id;
        int r;

        *ret_error_code = "config";
        if (!streq(mode, "implicit") && !streq(mode, "explicit"))
                return child_error(ret_error, "trigger_mode must be 'implicit' or 'explicit', not '%s'", mode);
        if (depth > j->engine->max_subworkflow_depth) {
                *ret_error_code = "depth_limit";
                return child_error(ret_error, "Subworkflow depth limit reached: a child of this execution would be "
                                   "%u generations deep, more than MaxSubworkflowDepth=%u", depth,
                                   j->engine->max_subworkflow_depth);
        }

        r = find_target(j, run, &target_id, &name, ret_error);
        if (r < 0)
                return r;
        r = store_workflow_get(j->db, target_id, false, &target);
        if (r >= 0)
                r = store_nodes_list(j->db, target_id, &nodes);
        if (r < 0)
                return r;
        if (!name) {
                name = strdup(json_get_string(target, "slug", ""));
                if (!name)
                        return -ENOMEM;
        }
        if (!json_get_bool(target, "is_active", true))
                return child_error(ret_error, "Workflow '%s' is not active", name);

        r = pick_trigger(j, nodes, streq(mode, "explicit"), name, &trigger, ret_error);
        if (r >= 0)
                r = child_payload(j, run, &payload, ret_error);
        if (r < 0)
                return r;
        return child_start_new(j, target_id, name, trigger, payload, ret, ret_error);
}

/* --- The end of an execution ------------------------------------------------------------- */

int engine_resume_parent(Engine *e, Db *db, const char *parent_execution_id, int64_t node_run_id) {
        ExecutionState state;
        int64_t live;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = store_execution_lock(db, parent_execution_id, &state);
        if (r < 0 || !execution_status_is_live(state.status)) {
                /* Gone or over: nobody waits. */
                (void) db_rollback(db);
                return r == -ENOENT ? 0 : MIN(r, 0);
        }
        /* A run waiting for several children goes on once the last of them ended. */
        r = store_node_run_live_children(db, node_run_id, &live);
        if (r >= 0 && live > 0) {
                (void) db_rollback(db);
                return 0;
        }
        if (r >= 0)
                r = store_node_run_resume(db, node_run_id, NODE_RUN_AWAITING, NULL);
        if (r == -ESTALE) {
                (void) db_rollback(db);
                return 0;
        }
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        engine_enqueue(e, parent_execution_id, &node_run_id, 1, 0);
        return 1;
}

static void cancel_children(Engine *e, Db *db, const char *execution_id) {
        _cleanup_json_ json_t *children = NULL;
        json_t *child;
        size_t i;
        int r;

        r = store_executions_live_children(db, execution_id, &children);
        if (r < 0) {
                log_execution_errno(LOG_ERR, r, NULL, execution_id, NULL, NULL,
                                    "Cannot list the child executions of %s: %m (%s)", execution_id, db_last_error(db));
                return;
        }
        json_array_foreach(children, i, child) {
                const char *id = json_string_value(json_array_get(child, 0));

                r = engine_cancel(e, db, id, json_string_value(json_array_get(child, 1)));
                if (r < 0)
                        log_execution_errno(LOG_ERR, r, NULL, id, NULL, NULL,
                                            "Cannot cancel child execution %s of %s: %m", id, execution_id);
        }
}

void engine_execution_ended(Engine *e, Db *db, const char *execution_id, const ExecutionInfo *info,
                            ExecutionStatus status) {
        _cleanup_free_ char *parent = NULL;
        int64_t node_run_id;
        int r;

        /* Nothing runs for it any more; a late job loads it again. */
        execution_cache_drop(e->executions, execution_id);
        if (status != EXECUTION_COMPLETED)
                cancel_children(e, db, execution_id);

        /* A schedule's run (its trigger payload says which schedule): counted, and the
         * schedule due again. */
        if (!info || json_object_get(info->trigger_payload, "scheduled_job_id"))
                scheduler_run_ended(e->scheduler, db, execution_id, status);

        if (info && !info->parent_execution_id)
                return;
        r = store_execution_parent(db, execution_id, &parent, &node_run_id);
        if (r >= 0)
                r = engine_resume_parent(e, db, parent, node_run_id);
        if (r < 0 && r != -ENOENT)
                log_execution_errno(LOG_ERR, r, NULL, execution_id, NULL, NULL,
                                    "Cannot resume the parent of execution %s: %m (%s); the next start does",
                                    execution_id, db_last_error(db));
}

int engine_recover_children(Engine *e, Db *db) {
        _cleanup_json_ json_t *orphans = NULL, *waiting = NULL;
        json_t *item;
        size_t i;
        int r;

        /* Cancelling one may end its own children: look again until none is left. */
        for (unsigned round = 0; round <= e->max_subworkflow_depth; round++) {
                json_decref(orphans);
                orphans = NULL;
                r = store_executions_orphaned(db, &orphans);
                if (r < 0)
                        return r;
                if (json_array_size(orphans) == 0)
                        break;
                json_array_foreach(orphans, i, item) {
                        const char *id = json_string_value(json_array_get(item, 0));

                        log_execution(LOG_INFO, NULL, id, NULL, NULL,
                                      "Cancelling child execution %s: its parent ended.", id);
                        r = engine_cancel(e, db, id, json_string_value(json_array_get(item, 1)));
                        if (r < 0)
                                return r;
                }
        }

        r = store_node_runs_awaiting_ended(db, &waiting);
        if (r < 0)
                return r;
        json_array_foreach(waiting, i, item) {
                r = engine_resume_parent(e, db, json_string_value(json_array_get(item, 0)),
                                         json_integer_value(json_array_get(item, 1)));
                if (r < 0)
                        return r;
        }
        if (json_array_size(waiting) > 0)
                log_info("Resuming %zu node(s) whose child executions ended.", json_array_size(waiting));
        return 0;
}
