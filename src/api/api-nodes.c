/* /api/v1/workflows/{slug}/nodes/: the nodes of a workflow with their component config. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "api/webhook-secret.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/events.h"
#include "engine/workflow-checks.h"
#include "store/store-nodes.h"

#define NODE_CREATE_ATTEMPTS 5

bool api_node_limit_reached(HttpRequest *req, int64_t n_existing, int64_t n_new, int64_t *ret_limit) {
        int64_t limit = req->manager->config.max_nodes_per_workflow;

        *ret_limit = limit;
        return limit > 0 && n_existing + n_new > limit;
}

/* A node_id that says what the node is: "<component_type>_<8 hex>". */
static int node_set_generated_id(json_t *node) {
        _cleanup_free_ char *node_id = NULL;
        char hex[9];
        int r;

        r = random_hex(hex, 8);
        if (r < 0)
                return r;
        if (asprintf(&node_id, "%s_%s", json_get_string(node, "component_type", "node"), hex) < 0)
                return -ENOMEM;

        return json_object_set_new(node, "node_id", json_string(node_id)) < 0 ? -ENOMEM : 0;
}

static int reply_store_error(HttpResponse *resp, int r) {
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Node not found.");
        if (r == -ENOLINK)
                return http_reply_error(resp, 422, "A referenced workflow or credential does not exist.");
        return r;
}

static int nodes_get(HttpRequest *req, HttpResponse *resp) {
        json_t *nodes = NULL;
        int64_t workflow_id;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        r = store_nodes_list(req->manager->db, workflow_id, &nodes);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, nodes);
}

static int nodes_post(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL;
        StoreCaller caller = api_caller(req);
        const char *error = NULL;
        Db *db = req->manager->db;
        int64_t workflow_id, count, limit;
        json_t *node = NULL;
        bool generated;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;

        errors = json_array();
        if (!errors)
                return -ENOMEM;
        r = node_body_check(db, &caller, body, NULL, errors);
        if (r < 0)
                return r;
        if (r > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        r = webhook_secret_seal(req->manager->vault, json_get_string(body, "component_type", NULL), body, NULL,
                                &error);
        if (r == -EINVAL)
                return http_reply_error(resp, 422, "%s", error);
        if (r < 0)
                return r;

        r = store_nodes_count(db, workflow_id, &count);
        if (r < 0)
                return r;
        if (api_node_limit_reached(req, count, 1, &limit))
                return http_reply_error(resp, 422, "Workflow has reached the limit of %" PRIi64 " nodes",
                                        limit);

        generated = !json_get_string(body, "node_id", NULL);
        for (unsigned attempt = 0;; attempt++) {
                if (generated) {
                        r = node_set_generated_id(body);
                        if (r < 0)
                                return r;
                }

                r = store_node_create(db, workflow_id, body, &node);
                if (r != -EEXIST)
                        break;
                if (!generated || attempt + 1 >= NODE_CREATE_ATTEMPTS)
                        return http_reply_error(resp, 409, "Node '%s' already exists in this workflow.",
                                                json_get_string(body, "node_id", ""));
        }
        if (r < 0)
                return reply_store_error(resp, r);

        events_publish_workflow(http_request_param(req, "slug"), "node_created", NULL, json_incref(node));
        return http_reply_json(resp, 201, node);
}

static int nodes_patch(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL, *current = NULL;
        const char *node_id = http_request_param(req, "node_id"), *error = NULL;
        StoreCaller caller = api_caller(req);
        Db *db = req->manager->db;
        int64_t workflow_id;
        json_t *node = NULL;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        r = store_node_get_with_secrets(db, workflow_id, node_id, &current);
        if (r < 0)
                return reply_store_error(resp, r);

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;

        errors = json_array();
        if (!errors)
                return -ENOMEM;
        r = node_body_check(db, &caller, body, current, errors);
        if (r < 0)
                return r;
        if (r > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        r = webhook_secret_seal(req->manager->vault, json_get_string(current, "component_type", NULL), body, current,
                                &error);
        if (r == -EINVAL)
                return http_reply_error(resp, 422, "%s", error);
        if (r < 0)
                return r;

        r = store_node_update(db, workflow_id, node_id, body, &node);
        if (r < 0)
                return reply_store_error(resp, r);

        events_publish_workflow(http_request_param(req, "slug"), "node_updated", NULL, json_incref(node));
        return http_reply_json(resp, 200, node);
}

static int nodes_delete(HttpRequest *req, HttpResponse *resp) {
        int64_t workflow_id;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        r = store_node_delete(req->manager->db, workflow_id, http_request_param(req, "node_id"));
        if (r < 0)
                return reply_store_error(resp, r);

        events_publish_workflow(http_request_param(req, "slug"), "node_deleted", NULL,
                                json_pack("{s:s}", "node_id", http_request_param(req, "node_id")));
        return http_reply_no_content(resp);
}

const Route node_routes[] = {
        { HTTP_GET, "/api/v1/workflows/{slug}/nodes/", nodes_get, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/{slug}/nodes/", nodes_post, AUTH_USER },
        { HTTP_PATCH, "/api/v1/workflows/{slug}/nodes/{node_id}/", nodes_patch, AUTH_USER },
        { HTTP_DELETE, "/api/v1/workflows/{slug}/nodes/{node_id}/", nodes_delete, AUTH_USER },
        {}
};
