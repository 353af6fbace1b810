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
#include "engine/node-types.h"
#include "store/store-nodes.h"

#define NODE_LABEL_MAX 255
#define COMPONENT_TYPE_MAX 64
#define MODEL_NAME_MAX 255
/* Canvas coordinates: far beyond any screen, small enough to stay exact. */
#define NODE_POSITION_LIMIT 1000000000
#define NODE_CREATE_ATTEMPTS 5

static const JsonField node_create_fields[] = {
        { "component_type", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY,
          .max = COMPONENT_TYPE_MAX },
        { "node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = NODE_LABEL_MAX },
        { "is_entry_point", JSON_FIELD_BOOLEAN },
        { "interrupt_before", JSON_FIELD_BOOLEAN },
        { "interrupt_after", JSON_FIELD_BOOLEAN },
        { "position_x", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "position_y", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "subworkflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

/* The same but component_type and node_id, which never change. */
static const JsonField node_update_fields[] = {
        { "label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = NODE_LABEL_MAX },
        { "is_entry_point", JSON_FIELD_BOOLEAN },
        { "interrupt_before", JSON_FIELD_BOOLEAN },
        { "interrupt_after", JSON_FIELD_BOOLEAN },
        { "position_x", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "position_y", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "subworkflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static const JsonField config_fields[] = {
        { "system_prompt", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "extra_config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "llm_credential_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "model_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = MODEL_NAME_MAX },
        { "temperature", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, 0, 2 },
        { "max_tokens", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, 1, INT32_MAX },
        { "frequency_penalty", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, -2, 2 },
        { "presence_penalty", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, -2, 2 },
        { "top_p", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, 0, 1 },
        { "timeout", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, 0, INT32_MAX },
        { "max_retries", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, 0, INT32_MAX },
        { "response_format", JSON_FIELD_ANY, JSON_FIELD_NULLABLE },
        { "llm_model_config_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = NODE_ID_MAX },
        { "credential_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "is_active", JSON_FIELD_BOOLEAN },
        { "priority", JSON_FIELD_INTEGER, 0, INT32_MIN, INT32_MAX },
        { "trigger_config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

/* Appends {"loc": ["body", a, b], …} (b may be NULL). */
static void error_append(json_t *errors, const char *a, const char *b, const char *type, const char *msg) {
        json_t *loc, *e;

        loc = b ? json_pack("[s, s, s]", "body", a, b) : json_pack("[s, s]", "body", a);
        if (!loc)
                return;
        e = json_pack("{s:o, s:s, s:s}", "loc", loc, "msg", msg, "type", type);
        if (e)
                json_array_append_new(errors, e);
}

/* The JSON columns are free-form; their stored size is what must stay bounded. */
static void check_json_size(json_t *config, const char *field, json_t *errors) {
        _cleanup_free_ char *text = NULL;
        json_t *v = json_object_get(config, field);
        char msg[96];

        if (!json_is_object(v))
                return;
        text = json_dumps_compact(v);
        if (text && strlen(text) <= NODE_EXTRA_CONFIG_MAX)
                return;

        snprintf(msg, sizeof msg, "Value should be at most %d bytes of JSON", NODE_EXTRA_CONFIG_MAX);
        error_append(errors, "config", field, "too_long", msg);
}

static int check_credential(HttpRequest *req, json_t *config, const char *field, const char *type,
                            json_t *errors) {
        StoreCaller caller = api_caller(req);
        json_t *v = json_object_get(config, field);
        char msg[128];
        int r;

        if (!json_is_integer(v))
                return 0;

        r = store_credential_check(req->manager->db, &caller, json_integer_value(v), type);
        if (r == -ENOENT)
                snprintf(msg, sizeof msg, "Credential %" PRIi64 " not found", (int64_t) json_integer_value(v));
        else if (r == -EMEDIUMTYPE)
                snprintf(msg, sizeof msg, "Credential %" PRIi64 " is not a%s %s credential",
                         (int64_t) json_integer_value(v), streq(type, "llm") ? "n" : "", type);
        else
                return r;

        error_append(errors, "config", field, "value_error", msg);
        return 0;
}

static int check_config(HttpRequest *req, json_t *config, const char *component_type, json_t *errors) {
        _cleanup_json_ json_t *config_errors = json_array();
        const char *credential_type = NULL;
        json_t *e, *response_format;
        size_t i;
        int r;

        if (!config_errors)
                return -ENOMEM;

        /* Same checks as any body, reported under "config". */
        (void) json_check_fields(config, config_fields, ELEMENTSOF(config_fields), config_errors);
        json_array_foreach(config_errors, i, e) {
                json_t *loc = json_object_get(e, "loc");

                if (json_array_insert_new(loc, 1, json_string("config")) < 0 ||
                    json_array_append(errors, e) < 0)
                        return -ENOMEM;
        }

        response_format = json_object_get(config, "response_format");
        if (response_format && !json_is_null(response_format) && !json_is_object(response_format) &&
            !json_is_string(response_format))
                error_append(errors, "config", "response_format", "value_error",
                             "Input should be a valid dictionary or string");

        check_json_size(config, "extra_config", errors);
        check_json_size(config, "trigger_config", errors);

        /* Settings the node type does not keep are dropped, so their references do not matter. */
        if (node_type_keeps_llm_config(component_type)) {
                r = check_credential(req, config, "llm_credential_id", "llm", errors);
                if (r < 0)
                        return r;
        }
        if (node_type_keeps_credential(component_type, &credential_type)) {
                r = check_credential(req, config, "credential_id", credential_type, errors);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int check_subworkflow(HttpRequest *req, json_t *node, json_t *errors) {
        StoreCaller caller = api_caller(req);
        json_t *v = json_object_get(node, "subworkflow_id");
        char msg[96];
        int r;

        if (!json_is_integer(v))
                return 0;

        r = store_workflow_check_visible(req->manager->db, &caller, json_integer_value(v));
        if (r != -ENOENT)
                return r;

        snprintf(msg, sizeof msg, "Workflow %" PRIi64 " not found", (int64_t) json_integer_value(v));
        error_append(errors, "subworkflow_id", NULL, "value_error", msg);
        return 0;
}

/* On update, component_type and node_id may be sent back as they are, never changed. */
static void check_unchanged(json_t *node, json_t *current, const char *field, json_t *errors) {
        json_t *v = json_object_get(node, field);
        char msg[64];

        if (!v || json_equal(v, json_object_get(current, field)))
                return;

        snprintf(msg, sizeof msg, "%s cannot be changed", field);
        error_append(errors, field, NULL, "value_error", msg);
}

int api_node_check(HttpRequest *req, json_t *node, json_t *current, json_t *errors) {
        size_t before = json_array_size(errors);
        const char *component_type;
        json_t *config;
        int r;

        if (!current) {
                const char *node_id;

                (void) json_check_fields(node, node_create_fields, ELEMENTSOF(node_create_fields), errors);

                component_type = json_get_string(node, "component_type", NULL);
                if (component_type && strlen(component_type) <= COMPONENT_TYPE_MAX &&
                    !isempty(component_type) && !node_type_find(component_type)) {
                        _cleanup_free_ char *msg = NULL;

                        if (asprintf(&msg, "Unknown component type '%s'", component_type) < 0)
                                return -ENOMEM;
                        error_append(errors, "component_type", NULL, "value_error", msg);
                }

                node_id = json_get_string(node, "node_id", NULL);
                if (node_id && !node_id_is_valid(node_id))
                        error_append(errors, "node_id", NULL, "string_pattern_mismatch",
                                     "String should match pattern '^[A-Za-z0-9_-]{1,64}$'");
        } else {
                (void) json_check_fields(node, node_update_fields, ELEMENTSOF(node_update_fields), errors);
                check_unchanged(node, current, "component_type", errors);
                check_unchanged(node, current, "node_id", errors);
                component_type = json_get_string(current, "component_type", NULL);
        }

        r = check_subworkflow(req, node, errors);
        if (r < 0)
                return r;

        config = json_object_get(node, "config");
        if (json_is_object(config)) {
                r = check_config(req, config, component_type, errors);
                if (r < 0)
                        return r;
        }

        return (int) (json_array_size(errors) - before);
}

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
        r = api_node_check(req, body, NULL, errors);
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
        r = api_node_check(req, body, current, errors);
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
