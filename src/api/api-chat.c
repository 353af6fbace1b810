/* POST /api/v1/workflows/{slug}/chat/: a chat message starts the workflow through its
 * trigger_chat node (docs/api.md "Chat"). The reply arrives over the WebSocket, as the
 * execution's events. */

#include <errno.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "store/store-conversations.h"
#include "store/store-executions.h"
#include "store/store-nodes.h"

#define CHAT_TRIGGER "trigger_chat"
#define CHAT_TEXT_MAX (256 * 1024)

/* The trigger_chat node that takes the message: the one named, or the active one of
 * highest priority (the first of those in node order). Returns 1 with *ret_node_id
 * (malloc'ed), 0 when resp holds the 422, or a negative errno. */
static int chat_trigger(HttpRequest *req, HttpResponse *resp, int64_t workflow_id, const char *named,
                        char **ret_node_id) {
        _cleanup_json_ json_t *nodes = NULL;
        json_t *node, *best = NULL;
        size_t i;
        int r;

        r = store_nodes_list(req->manager->db, workflow_id, &nodes);
        if (r < 0)
                return r;
        json_array_foreach(nodes, i, node) {
                json_t *config = json_object_get(node, "config");

                if (named) {
                        if (!streq(json_get_string(node, "node_id", ""), named))
                                continue;
                        if (!streq(json_get_string(node, "component_type", ""), CHAT_TRIGGER))
                                return http_reply_error(resp, 422, "Node '%s' is not a %s node.", named, CHAT_TRIGGER);
                        best = node;
                        break;
                }
                if (!streq(json_get_string(node, "component_type", ""), CHAT_TRIGGER) ||
                    !json_get_bool(config, "is_active", true))
                        continue;
                if (!best || json_get_integer(config, "priority", 0) >
                                     json_get_integer(json_object_get(best, "config"), "priority", 0))
                        best = node;
        }
        if (!best && named)
                return http_reply_error(resp, 422, "Trigger node '%s' is not in this workflow.", named);
        if (!best)
                return http_reply_error(resp, 422, "The workflow has no active %s node.", CHAT_TRIGGER);

        *ret_node_id = strdup(json_get_string(best, "node_id", ""));
        return *ret_node_id ? 1 : -ENOMEM;
}

static int workflows_chat(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "text", JSON_FIELD_STRING, JSON_FIELD_REQUIRED, .max = CHAT_TEXT_MAX },
                { "trigger_node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL, *workflow = NULL, *payload = NULL;
        _cleanup_free_ char *trigger = NULL, *error = NULL, *thread_id = NULL;
        char id[EXECUTION_ID_LEN + 1];
        Manager *m = req->manager;
        int64_t workflow_id;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;
        body = http_request_checked_object(req, resp, fields, ELEMENTSOF(fields));
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        r = store_workflow_get(m->db, workflow_id, false, &workflow);
        if (r < 0)
                return r;
        if (!json_get_bool(workflow, "is_active", true))
                return http_reply_error(resp, 422, "Workflow '%s' is not active.", json_get_string(workflow, "slug", ""));

        r = chat_trigger(req, resp, workflow_id, json_get_string(body, "trigger_node_id", NULL), &trigger);
        if (r <= 0)
                return r;

        /* The caller's conversation with the workflow, as the agents' memory keys it. */
        r = conversation_thread_id(req->user.id, NULL, workflow_id, &thread_id);
        if (r < 0)
                return r;
        payload = json_pack("{s:s, s:I, s:s, s:s, s:[]}", "text", json_get_string(body, "text", ""),
                            "user_id", (json_int_t) req->user.id, "username", req->user.username ?: "",
                            "thread_id", thread_id, "files");
        if (!payload)
                return -ENOMEM;
        if (!m->engine)
                return http_reply_error(resp, 503, "The execution engine is not running.");

        r = engine_execute(m->engine, m->db, &(EngineRequest) {
                .workflow_id = workflow_id,
                .user_id = req->user.id,
                .trigger_node_id = trigger,
                .trigger_payload = payload,
        }, id, &error);
        if (r == -EINVAL)
                return http_reply_error(resp, 422, "%s", error ?: "The workflow cannot run.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 202, json_pack("{s:s, s:s, s:s}", "execution_id", id, "status", "pending",
                                                    "response", ""));
}

const Route chat_routes[] = {
        { HTTP_POST, "/api/v1/workflows/{slug}/chat/", workflows_chat, AUTH_USER },
        {},
};
