/* A workflow's error handler: when one of its executions fails (not when it is cancelled),
 * the workflow named by error_handler_workflow_id runs from its trigger_error node with
 * {"error": {execution_id, workflow_slug, node_id, message, error_code}}. The reference
 * stored the setting and never used it.
 *
 * The handler's run is created in the transaction that fails the execution, so a crash
 * cannot lose it, and is marked as one (error_of_execution_id): when it fails in turn, no
 * other handler starts, so a handler that fails, or names itself, cannot loop. */

#include <errno.h>

#include "common/json-util.h"
#include "common/log.h"
#include "engine/orchestrator.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

/* The first active trigger_error node of the workflow's nodes, or NULL. */
static const char *find_error_trigger(json_t *nodes) {
        json_t *node;
        size_t i;

        json_array_foreach(nodes, i, node)
                if (streq(json_get_string(node, "component_type", ""), "trigger_error") &&
                    json_get_bool(json_object_get(node, "config"), "is_active", true))
                        return json_get_string(node, "node_id", NULL);
        return NULL;
}

int error_handler_insert(Job *j, const char *error, const char *error_code, ChildStart **ret) {
        _cleanup_(child_start_freep) ChildStart *c = NULL;
        _cleanup_json_ json_t *workflow = NULL, *handler = NULL, *nodes = NULL;
        _cleanup_free_ char *graph_error = NULL;
        const char *trigger, *slug;
        int64_t handler_id;
        int r;

        *ret = NULL;
        if (j->info.error_of_execution_id)
                return 0;
        r = store_workflow_get(j->db, j->info.workflow_id, false, &workflow);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        handler_id = json_get_integer(workflow, "error_handler_workflow_id", 0);
        if (handler_id <= 0)
                return 0;

        r = store_workflow_get(j->db, handler_id, false, &handler);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = store_nodes_list(j->db, handler_id, &nodes);
        if (r < 0)
                return r;
        slug = json_get_string(handler, "slug", "");
        trigger = find_error_trigger(nodes);
        if (!trigger) {
                log_execution(LOG_WARNING, j->info.workflow_slug, j->info.id, NULL, NULL,
                              "Execution %s of workflow '%s' failed; its error handler '%s' has no trigger_error node.",
                              j->info.id, j->info.workflow_slug, slug);
                return 0;
        }
        if (!json_get_bool(handler, "is_active", true)) {
                log_execution(LOG_WARNING, j->info.workflow_slug, j->info.id, NULL, NULL,
                              "Execution %s of workflow '%s' failed; its error handler '%s' is not active.",
                              j->info.id, j->info.workflow_slug, slug);
                return 0;
        }

        c = calloc(1, sizeof(ChildStart));
        if (!c)
                return -ENOMEM;
        c->trigger_node_id = strdup(trigger);
        c->payload = json_pack("{s:{s:s, s:s, s:s?, s:s?, s:s?}}", "error",
                               "execution_id", j->info.id, "workflow_slug", j->info.workflow_slug,
                               "node_id", j->row.node_id, "message", error, "error_code", error_code);
        if (!c->trigger_node_id || !c->payload)
                return -ENOMEM;
        c->request = (EngineRequest) {
                .workflow_id = handler_id,
                .user_id = j->info.user_id,
                .trigger_node_id = c->trigger_node_id,
                .trigger_payload = c->payload,
        };
        c->origin = (ExecutionOrigin) { .error_of_execution_id = j->info.id };

        r = execution_start_prepare(j->engine, j->db, &c->request, &c->start, &graph_error);
        if (r == -EINVAL) {
                log_execution(LOG_WARNING, j->info.workflow_slug, j->info.id, NULL, NULL,
                              "Execution %s of workflow '%s' failed; its error handler '%s' cannot run: %s",
                              j->info.id, j->info.workflow_slug, slug, graph_error ?: "invalid graph");
                return 0;
        }
        if (r >= 0)
                r = execution_id_new(c->id);
        if (r >= 0)
                r = execution_start_insert(j->db, &c->request, &c->origin, &c->start, c->id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 1;
}
