/* spawn_and_await: the agent runs workflows (other ones, or its own: "self") as child
 * executions, all at once, and waits for them without holding a worker, durably; the model
 * gets their results, in the order of its tasks, as the call's result.
 *
 * Arguments {"tasks": [{"workflow_slug", "input_text"?, "input_data"?}]}: 1 to the tool
 * node's extra_config.max_tasks (default 10, at most 100) tasks. A workflow_slug names a
 * workflow the owner of the agent's workflow may call (store_workflow_find_callable()), or
 * "self". Each child starts from its workflow's first active trigger_workflow node (else its
 * first trigger_manual; "self" without either: the trigger this execution started from)
 * with the payload {"text": input_text, "payload": input_data}, one generation below this
 * execution; past MaxSubworkflowDepth nothing starts. A mistake anywhere in the list starts
 * nothing and tells the model why, as any tool's failure. One call per answer of the model
 * runs: another in the same answer is refused.
 *
 * Here, on the agent's worker, the tasks are checked and added to the run
 * (node_run_add_child()); the agent then parks (agent.c) and the orchestrator creates the
 * children in the commit that parks it (engine/spawn.c). When the last child ended, the
 * agent goes on with [{workflow_slug, execution_id, status, output | error}] as the result:
 * status "completed" with the child's final output, or "failed" / "cancelled" with why; a
 * child that fails is the model's to handle, not the agent's. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "store/store-flow.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

#define SPAWN_MAX_TASKS_DEFAULT 10
#define SPAWN_MAX_TASKS_LIMIT 100

/* A task as checked, before any is added to the run. */
typedef struct SpawnTask {
        int64_t workflow_id;
        const char *slug;               /* borrowed from the arguments */
        char *trigger_node_id;          /* NULL: this execution's own trigger ("self") */
        json_t *payload;
} SpawnTask;

static void spawn_tasks_free(SpawnTask *tasks, size_t n) {
        for (size_t i = 0; tasks && i < n; i++) {
                free(tasks[i].trigger_node_id);
                json_decref(tasks[i].payload);
        }
        free(tasks);
}

/* *ret_error = "Task <index + 1>: <message>"; returns -EINVAL (-ENOMEM when it cannot). */
static int task_error(char **ret_error, size_t index, const char *format, ...) _printf_(3, 4);
static int task_error(char **ret_error, size_t index, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0 || asprintf(ret_error, "Task %zu: %s", index + 1, message) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* The first active trigger_workflow node, else the first active trigger_manual; NULL when
 * there is neither. */
static int pick_trigger(json_t *nodes, char **ret) {
        json_t *node, *manual = NULL, *chosen = NULL;
        size_t i;

        json_array_foreach(nodes, i, node) {
                const char *type = json_get_string(node, "component_type", "");

                if (!json_get_bool(json_object_get(node, "config"), "is_active", true))
                        continue;
                if (streq(type, "trigger_workflow")) {
                        chosen = node;
                        break;
                }
                if (!manual && streq(type, "trigger_manual"))
                        manual = node;
        }
        chosen = chosen ?: manual;
        *ret = NULL;
        if (!chosen)
                return 0;
        *ret = strdup(json_get_string(chosen, "node_id", ""));
        return *ret ? 0 : -ENOMEM;
}

/* Checks one task and finds its workflow and trigger. */
static int task_resolve(NodeRun *run, size_t index, json_t *task, SpawnTask *ret, char **ret_error) {
        _cleanup_json_ json_t *workflow = NULL, *nodes = NULL;
        const char *slug = json_get_string(task, "workflow_slug", NULL);
        json_t *text = json_object_get(task, "input_text"), *data = json_object_get(task, "input_data");
        bool self;
        int r;

        if (!json_is_object(task))
                return task_error(ret_error, index, "a task is an object {\"workflow_slug\", \"input_text\"?, "
                                  "\"input_data\"?}");
        if (isempty(slug))
                return task_error(ret_error, index, "'workflow_slug' (a string) is missing");
        if (text && !json_is_null(text) && !json_is_string(text))
                return task_error(ret_error, index, "'input_text' must be a string");
        if (data && !json_is_null(data) && !json_is_object(data))
                return task_error(ret_error, index, "'input_data' must be an object");

        self = streq(slug, "self");
        ret->slug = slug;
        if (self)
                ret->workflow_id = run->workflow_id;
        else {
                r = store_workflow_find_callable(run->db, run->workflow_id, slug, 0, &ret->workflow_id);
                if (r == -ENOENT)
                        return task_error(ret_error, index, "workflow '%s' not found", slug);
                if (r < 0)
                        return r;
        }
        r = store_workflow_get(run->db, ret->workflow_id, false, &workflow);
        if (r >= 0)
                r = store_nodes_list(run->db, ret->workflow_id, &nodes);
        if (r == -ENOENT)
                return task_error(ret_error, index, "workflow '%s' not found", slug);
        if (r < 0)
                return r;
        if (!self && !json_get_bool(workflow, "is_active", true))
                return task_error(ret_error, index, "workflow '%s' is not active", slug);
        r = pick_trigger(nodes, &ret->trigger_node_id);
        if (r < 0)
                return r;
        if (!ret->trigger_node_id && !self)
                return task_error(ret_error, index, "workflow '%s' has no trigger_workflow or trigger_manual node "
                                  "to start from", slug);

        ret->payload = json_pack("{s:s, s:o}", "text", json_string_value(text) ?: "", "payload",
                                 json_is_object(data) ? json_incref(data) : json_object());
        return ret->payload ? 0 : -ENOMEM;
}

/* extra_config.max_tasks of the tool node; -EINVAL when it is not a number in range. */
static int max_tasks(const AgentTool *tool, size_t *ret) {
        json_t *v = json_object_get(json_object_get(tool->config, "extra_config"), "max_tasks");

        if (!v || json_is_null(v)) {
                *ret = SPAWN_MAX_TASKS_DEFAULT;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SPAWN_MAX_TASKS_LIMIT)
                return -EINVAL;
        *ret = (size_t) json_integer_value(v);
        return 0;
}

static int tool_spawn_and_await(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                                char **ret_error) {
        json_t *tasks = json_object_get(arguments, "tasks"), *task;
        SpawnTask *resolved = NULL;
        size_t n = json_array_size(tasks), max, i;
        int r;

        (void) ret_result;
        if (run->n_await_children > 0)
                return agent_tool_fail(ret_error, "spawn_and_await already runs in this answer: put every task in "
                                       "one call");
        if (max_tasks(tool, &max) < 0) {
                if (asprintf(ret_error, "The tool's max_tasks setting must be a whole number from 1 to %d",
                             SPAWN_MAX_TASKS_LIMIT) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if (!json_is_array(tasks))
                return agent_tool_fail(ret_error, "'tasks' must be a list of {\"workflow_slug\", \"input_text\"?, "
                                       "\"input_data\"?}");
        if (n == 0 || n > max) {
                if (asprintf(ret_error, "'tasks' has %zu tasks: give 1 to %zu", n, max) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if (run->depth + 1 > run->max_depth) {
                if (asprintf(ret_error, "Cannot spawn: a child of this execution would be %u generations deep, more "
                             "than MaxSubworkflowDepth=%u; do the work without spawning", run->depth + 1,
                             run->max_depth) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }

        resolved = calloc(n, sizeof(SpawnTask));
        if (!resolved)
                return -ENOMEM;
        json_array_foreach(tasks, i, task) {
                r = task_resolve(run, i, task, &resolved[i], ret_error);
                if (r < 0 && r != -ENOMEM && !*ret_error)
                        r = agent_tool_fail(ret_error, "The workflows cannot be read right now");
                if (r < 0)
                        goto finish;
        }
        for (i = 0; i < n; i++) {
                r = node_run_add_child(run, resolved[i].workflow_id, resolved[i].slug, resolved[i].trigger_node_id,
                                       TAKE_PTR(resolved[i].payload));
                if (r < 0)
                        goto finish;
        }
        r = AGENT_TOOL_AWAIT;
finish:
        spawn_tasks_free(resolved, n);
        return r;
}

const AgentToolSpec agent_tool_spawn_and_await = {
        .component_type = "spawn_and_await",
        .description = "Runs workflows as child executions, all at once, waits until every one has ended and "
                       "returns their results in the order of the tasks: [{workflow_slug, execution_id, status, "
                       "output or error}]. \"self\" runs this workflow again. Put every task in one call.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"tasks\": {\"type\": \"array\", \"minItems\": 1, "
                      "\"items\": {\"type\": \"object\", \"properties\": {"
                      "\"workflow_slug\": {\"type\": \"string\", \"description\": \"The workflow to run, or "
                      "\\\"self\\\"\"}, "
                      "\"input_text\": {\"type\": \"string\", \"description\": \"The child's trigger text\"}, "
                      "\"input_data\": {\"type\": \"object\", \"description\": \"The child's trigger payload\"}}, "
                      "\"required\": [\"workflow_slug\"]}}}, \"required\": [\"tasks\"]}",
        .call = tool_spawn_and_await,
};
