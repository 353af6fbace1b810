/* /api/v1/workflows/: workflows as wholes — create, list, edit, delete, validate, export
 * and import. Their nodes and edges are api-nodes.c and api-edges.c. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "api/webhook-secret.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/budget-limits.h"
#include "engine/events.h"
#include "engine/node-types.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

#define DESCRIPTION_MAX 65536
#define TAGS_MAX 100
#define TAG_MAX 100
#define SCHEMA_MAX (256 * 1024)
#define BATCH_DELETE_MAX 1000

StoreCaller api_caller(const HttpRequest *req) {
        return (StoreCaller) {
                .user_id = req->user.id,
                .is_admin = req->user.role == USER_ROLE_ADMIN,
        };
}

int api_workflow_from_path(HttpRequest *req, HttpResponse *resp, int64_t *ret_id) {
        StoreCaller caller = api_caller(req);
        const char *slug = http_request_param(req, "slug");
        int r;

        r = store_workflow_find(req->manager->db, &caller, slug ?: "", ret_id);
        if (r == -ENOENT) {
                http_reply_error(resp, 404, "Workflow not found.");
                return 0;
        }
        if (r < 0)
                return r;
        return 1;
}

int api_errors_to_messages(json_t *errors, const char *prefix, json_t *messages) {
        json_t *e;
        size_t i;

        json_array_foreach(errors, i, e) {
                _cleanup_free_ char *buf = NULL;
                json_t *loc = json_object_get(e, "loc"), *part;
                size_t size = 0, j;
                FILE *f;

                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                fputs(prefix, f);
                /* loc[0] is "body": the prefix says where in the document the body sits. */
                json_array_foreach(loc, j, part) {
                        if (j == 0)
                                continue;
                        if (json_is_integer(part))
                                fprintf(f, "[%" JSON_INTEGER_FORMAT "]", json_integer_value(part));
                        else
                                fprintf(f, ".%s", json_string_value(part) ?: "?");
                }
                fprintf(f, ": %s", json_string_value(json_object_get(e, "msg")) ?: "invalid");
                if (fclose(f) != 0)
                        return -ENOMEM;

                if (json_array_append_new(messages, json_string(buf)) < 0)
                        return -ENOMEM;
        }

        return 0;
}

int api_reply_validation_errors(HttpResponse *resp, json_t *messages) {
        json_t *detail;

        detail = json_pack("{s:o}", "validation_errors", messages);
        if (!detail)
                return -ENOMEM;
        return http_reply_detail(resp, 422, detail);
}

int api_message_append(json_t *messages, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return json_array_append_new(messages, json_string(s)) < 0 ? -ENOMEM : 0;
}

/* Characters, not bytes, as clients count them. */
static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

static const JsonField workflow_create_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY },
        { "slug", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "description", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = DESCRIPTION_MAX },
        { "is_active", JSON_FIELD_BOOLEAN },
        { "is_public", JSON_FIELD_BOOLEAN },
        { "is_default", JSON_FIELD_BOOLEAN },
        { "tags", JSON_FIELD_STRING_ARRAY, JSON_FIELD_NULLABLE },
        { "error_handler_workflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "max_execution_seconds", JSON_FIELD_INTEGER, 0, 1, INT32_MAX },
        { "input_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "output_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "settings", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static const JsonField workflow_update_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY },
        { "slug", JSON_FIELD_STRING },
        { "description", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = DESCRIPTION_MAX },
        { "is_active", JSON_FIELD_BOOLEAN },
        { "is_public", JSON_FIELD_BOOLEAN },
        { "is_default", JSON_FIELD_BOOLEAN },
        { "tags", JSON_FIELD_STRING_ARRAY, JSON_FIELD_NULLABLE },
        { "error_handler_workflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "max_execution_seconds", JSON_FIELD_INTEGER, 0, 1, INT32_MAX },
        { "input_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "output_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "settings", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static void check_tags(json_t *body, json_t *errors) {
        json_t *tags = json_object_get(body, "tags"), *tag;
        char msg[96];
        size_t i;

        if (!json_is_array(tags))
                return;
        if (json_array_size(tags) > TAGS_MAX) {
                snprintf(msg, sizeof msg, "List should have at most %d items", TAGS_MAX);
                json_error_append(errors, "tags", "too_long", msg);
                return;
        }
        json_array_foreach(tags, i, tag)
                if (json_is_string(tag) && json_string_length(tag) > TAG_MAX) {
                        snprintf(msg, sizeof msg, "Tags should have at most %d characters", TAG_MAX);
                        json_error_append(errors, "tags", "string_too_long", msg);
                        return;
                }
}

static void check_schema_size(json_t *body, const char *field, json_t *errors) {
        _cleanup_free_ char *text = NULL;
        json_t *v = json_object_get(body, field);
        char msg[96];

        if (!json_is_object(v))
                return;
        text = json_dumps_compact(v);
        if (text && strlen(text) <= SCHEMA_MAX)
                return;

        snprintf(msg, sizeof msg, "Value should be at most %d bytes of JSON", SCHEMA_MAX);
        json_error_append(errors, field, "too_long", msg);
}

#define RETENTION_DAYS_MAX 3650000
#define RETENTION_COUNT_MAX 1000000000

static void settings_error(json_t *errors, const char *key, const char *subkey, const char *type, const char *msg) {
        json_t *e = json_pack("{s:[s, s, s], s:s, s:s}", "loc", "body", "settings", key, "msg", msg, "type", type);

        if (e && subkey && json_array_append_new(json_object_get(e, "loc"), json_string(subkey)) < 0) {
                json_decref(e);
                return;
        }
        if (e)
                json_array_append_new(errors, e);
}

/* null (no limit, whatever the [Retention] default) or a whole number from 1 to max. */
static void check_retention_limit(json_t *retention, const char *key, int64_t max, json_t *errors) {
        json_t *v = json_object_get(retention, key);
        char msg[96];

        if (!v || json_is_null(v))
                return;
        if (!json_is_integer(v)) {
                settings_error(errors, "retention", key, "int_type", "Input should be a valid integer or null");
                return;
        }
        if (json_integer_value(v) < 1 || json_integer_value(v) > max) {
                snprintf(msg, sizeof msg, "Input should be between 1 and %" PRIi64, max);
                settings_error(errors, "retention", key, "value_error", msg);
        }
}

/* settings: {retention: {keep_successful: "all"|"none", max_age_days, max_count}, budget:
 * {tokens_per_day, …} (budget-limits.h)}. Unknown keys are refused so that a typo does not
 * silently keep everything. */
static void check_settings(json_t *body, json_t *errors) {
        json_t *settings = json_object_get(body, "settings"), *retention, *v;
        _cleanup_json_ json_t *budget_loc = NULL;
        const char *key, *keep;

        if (!json_is_object(settings))
                return;
        json_object_foreach(settings, key, v)
                if (!streq(key, "retention") && !streq(key, "budget"))
                        settings_error(errors, key, NULL, "extra_forbidden", "Unknown setting (known: retention, "
                                       "budget)");
        budget_loc = json_pack("[s, s, s]", "body", "settings", "budget");
        if (budget_loc)
                budget_check_json(json_object_get(settings, "budget"), budget_loc, errors);

        retention = json_object_get(settings, "retention");
        if (!retention || json_is_null(retention))
                return;
        if (!json_is_object(retention)) {
                settings_error(errors, "retention", NULL, "dict_type", "Input should be an object or null");
                return;
        }
        json_object_foreach(retention, key, v)
                if (!streq(key, "keep_successful") && !streq(key, "max_age_days") && !streq(key, "max_count"))
                        settings_error(errors, "retention", key, "extra_forbidden",
                                       "Unknown retention setting (known: keep_successful, max_age_days, max_count)");
        v = json_object_get(retention, "keep_successful");
        keep = json_string_value(v);
        if (v && !json_is_null(v) && (!keep || (!streq(keep, "all") && !streq(keep, "none"))))
                settings_error(errors, "retention", "keep_successful", "enum", "Input should be 'all' or 'none'");
        check_retention_limit(retention, "max_age_days", RETENTION_DAYS_MAX, errors);
        check_retention_limit(retention, "max_count", RETENTION_COUNT_MAX, errors);
}

/* Field errors of a workflow body (create, or update when !create). */
static int check_workflow_body(HttpRequest *req, json_t *body, bool create, json_t *errors) {
        StoreCaller caller = api_caller(req);
        const char *name, *slug;
        json_t *handler;
        char msg[128];
        int r;

        if (create)
                (void) json_check_fields(body, workflow_create_fields, ELEMENTSOF(workflow_create_fields),
                                         errors);
        else
                (void) json_check_fields(body, workflow_update_fields, ELEMENTSOF(workflow_update_fields),
                                         errors);

        name = json_get_string(body, "name", NULL);
        if (name && utf8_length(name) > WORKFLOW_NAME_MAX) {
                snprintf(msg, sizeof msg, "String should have at most %d characters", WORKFLOW_NAME_MAX);
                json_error_append(errors, "name", "string_too_long", msg);
        }

        slug = json_get_string(body, "slug", NULL);
        if (slug && !workflow_slug_is_valid(slug)) {
                snprintf(msg, sizeof msg,
                         "Slug should be 1 to %d lowercase letters, digits, '-' or '_'", WORKFLOW_SLUG_MAX);
                json_error_append(errors, "slug", "string_pattern_mismatch", msg);
        } else if (slug && !create && workflow_slug_is_reserved(slug)) {
                /* On create a reserved slug is de-duplicated like a taken one. */
                snprintf(msg, sizeof msg, "Slug '%s' is reserved", slug);
                json_error_append(errors, "slug", "value_error", msg);
        }

        check_tags(body, errors);
        check_schema_size(body, "input_schema", errors);
        check_schema_size(body, "output_schema", errors);
        check_settings(body, errors);

        handler = json_object_get(body, "error_handler_workflow_id");
        if (json_is_integer(handler)) {
                r = store_workflow_check_visible(req->manager->db, &caller, json_integer_value(handler));
                if (r == -ENOENT) {
                        snprintf(msg, sizeof msg, "Workflow %" PRIi64 " not found",
                                 (int64_t) json_integer_value(handler));
                        json_error_append(errors, "error_handler_workflow_id", "value_error", msg);
                } else if (r < 0)
                        return r;
        }

        return 0;
}

static int workflows_get(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        int64_t limit, offset, total;
        json_t *items = NULL;
        int r;

        if (http_request_pagination(req, resp, &limit, &offset) < 0)
                return 0;

        r = store_workflow_list(req->manager->db, &caller, limit, offset, &items, &total);
        if (r < 0)
                return r;
        return http_reply_page(resp, items, total);
}

/* The request body, checked for a create or a patch: 1 with *ret set, 0 when resp already
 * holds the 400/422 answer, or negative errno. */
static int read_workflow_body(HttpRequest *req, HttpResponse *resp, bool creating, json_t **ret) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        r = check_workflow_body(req, body, creating, errors);
        if (r < 0)
                return r;
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        *ret = TAKE_PTR(body);
        return 1;
}

static int workflows_post(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        json_t *workflow = NULL;
        int r;

        r = read_workflow_body(req, resp, true, &body);
        if (r <= 0)
                return r;

        r = store_workflow_create(req->manager->db, req->user.id, body, &workflow);
        if (r == -ENOLINK)
                return http_reply_error(resp, 422, "The error handler workflow does not exist.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 201, workflow);
}

static int workflows_slug_get(HttpRequest *req, HttpResponse *resp) {
        json_t *workflow = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_workflow_get(req->manager->db, id, true, &workflow);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, workflow);
}

static int workflows_slug_patch(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        json_t *workflow = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = read_workflow_body(req, resp, false, &body);
        if (r <= 0)
                return r;

        r = store_workflow_update(req->manager->db, id, body, &workflow);
        if (r == -EEXIST)
                return http_reply_error(resp, 409, "Slug '%s' is already taken.",
                                        json_get_string(body, "slug", ""));
        if (r == -ENOLINK)
                return http_reply_error(resp, 422, "The error handler workflow does not exist.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        /* On the channel its subscribers know, also when the slug just changed. */
        events_publish_workflow(http_request_param(req, "slug"), "workflow_updated", NULL, json_incref(workflow));
        return http_reply_json(resp, 200, workflow);
}

/* Tells the workflow's subscribers, and lets the WebSocket hub end their subscriptions:
 * the slug may soon name someone else's workflow. */
static void publish_workflow_deleted(const char *slug) {
        events_publish_workflow(slug, "workflow_deleted", NULL, json_pack("{s:s}", "slug", slug));
}

static int workflows_slug_delete(HttpRequest *req, HttpResponse *resp) {
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_workflow_delete(req->manager->db, id);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        publish_workflow_deleted(http_request_param(req, "slug"));
        return http_reply_no_content(resp);
}

static int workflows_batch_delete(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "slugs", JSON_FIELD_STRING_ARRAY, JSON_FIELD_REQUIRED },
        };
        _cleanup_json_ json_t *body = NULL, *errors = NULL;
        StoreCaller caller = api_caller(req);
        json_t *out;
        int64_t deleted;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;

        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, fields, ELEMENTSOF(fields), errors);
        if (json_array_size(json_object_get(body, "slugs")) > BATCH_DELETE_MAX)
                json_error_append(errors, "slugs", "too_long", "List should have at most 1000 items");
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = store_workflow_delete_many(req->manager->db, &caller, json_object_get(body, "slugs"), &deleted);
        if (r < 0)
                return r;
        if (deleted > 0) {
                /* The ones gone now are the ones deleted (the others were not the caller's). */
                StoreCaller anyone = { .is_admin = true };
                json_t *slug;
                size_t i;

                json_array_foreach(json_object_get(body, "slugs"), i, slug) {
                        const char *s = json_string_value(slug);
                        int64_t id;

                        if (workflow_slug_is_valid(s) &&
                            store_workflow_find(req->manager->db, &anyone, s, &id) == -ENOENT)
                                publish_workflow_deleted(s);
                }
        }
        out = json_pack("{s:I}", "deleted", (json_int_t) deleted);
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, out);
}

/* Checks of validate/: what would stop the workflow from running as drawn. */
static int validate_nodes(json_t *nodes, json_t *node_types, json_t *messages) {
        json_t *node;
        size_t i;
        int r;

        json_array_foreach(nodes, i, node) {
                const char *node_id = json_get_string(node, "node_id", ""),
                           *component_type = json_get_string(node, "component_type", "");

                if (json_object_set_new(node_types, node_id, json_string(component_type)) < 0)
                        return -ENOMEM;
                if (node_type_find(component_type))
                        continue;
                r = api_message_append(messages, "Node '%s' has unknown component type '%s'", node_id,
                                    component_type);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate_edges(json_t *edges, json_t *node_types, json_t *messages) {
        json_t *edge, *m;
        size_t i, j;
        int r;

        json_array_foreach(edges, i, edge) {
                _cleanup_json_ json_t *edge_messages = json_array();

                if (!edge_messages)
                        return -ENOMEM;
                (void) api_edge_check_graph(edge, node_types, edge_messages);
                json_array_foreach(edge_messages, j, m) {
                        r = api_message_append(messages, "Edge %s -> %s: %s",
                                            json_get_string(edge, "source_node_id", ""),
                                            json_get_string(edge, "target_node_id", ""),
                                            json_string_value(m));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A node that needs a model runs only with an ai_model attached by one "llm" edge. */
static int validate_models(json_t *nodes, json_t *edges, json_t *messages) {
        json_t *node, *edge;
        size_t i, j;
        int r;

        json_array_foreach(nodes, i, node) {
                const char *node_id = json_get_string(node, "node_id", "");
                const NodeTypeSpec *spec = node_type_find(json_get_string(node, "component_type", ""));
                size_t n_models = 0;

                json_array_foreach(edges, j, edge)
                        if (streq(json_get_string(edge, "edge_label", ""), "llm") &&
                            streq(json_get_string(edge, "target_node_id", ""), node_id))
                                n_models++;

                if (spec && spec->requires_model && n_models == 0)
                        r = api_message_append(messages, "Node '%s' (%s) requires a model: connect an "
                                            "ai_model node with an 'llm' edge", node_id,
                                            spec->component_type);
                else if (n_models > 1)
                        r = api_message_append(messages, "Node '%s' has %zu models: one 'llm' edge per node",
                                            node_id, n_models);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int workflows_validate(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *nodes = NULL, *edges = NULL, *messages = NULL, *node_types = NULL;
        Db *db = req->manager->db;
        json_t *out;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_nodes_list(db, id, &nodes);
        if (r < 0)
                return r;
        r = store_edges_list(db, id, &edges);
        if (r < 0)
                return r;

        messages = json_array();
        if (!messages)
                return -ENOMEM;
        node_types = json_object();
        if (!node_types)
                return -ENOMEM;
        r = validate_nodes(nodes, node_types, messages);
        if (r < 0)
                return r;
        r = validate_edges(edges, node_types, messages);
        if (r < 0)
                return r;
        r = validate_models(nodes, edges, messages);
        if (r < 0)
                return r;

        out = json_pack("{s:b, s:O}", "valid", json_array_size(messages) == 0, "errors", messages);
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, out);
}

static int workflows_export(HttpRequest *req, HttpResponse *resp) {
        json_t *doc = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_workflow_export(req->manager->db, id, &doc);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, doc);
}

/* An optional array member of the import document; absent means empty. */
static json_t *import_array(json_t *doc, const char *field, json_t *messages) {
        json_t *v = json_object_get(doc, field);

        if (!v || json_is_null(v))
                return json_array();
        if (!json_is_array(v)) {
                (void) api_message_append(messages, "%s: Input should be a valid list", field);
                return NULL;
        }
        return json_incref(v);
}

static int import_check_workflow(HttpRequest *req, json_t *doc, json_t *messages) {
        _cleanup_json_ json_t *errors = NULL;
        json_t *format, *version, *workflow;
        int r;

        format = json_object_get(doc, "format");
        if (format && !streq_ptr(json_string_value(format), WORKFLOW_EXPORT_FORMAT))
                (void) api_message_append(messages, "format: Input should be '%s'", WORKFLOW_EXPORT_FORMAT);

        version = json_object_get(doc, "version");
        if (version && !(json_is_integer(version) && json_integer_value(version) == WORKFLOW_EXPORT_VERSION))
                (void) api_message_append(messages, "version: Input should be %d", WORKFLOW_EXPORT_VERSION);

        workflow = json_object_get(doc, "workflow");
        if (!workflow)
                return api_message_append(messages, "workflow: Field required");
        if (!json_is_object(workflow))
                return api_message_append(messages, "workflow: Input should be a valid dictionary");

        errors = json_array();
        if (!errors)
                return -ENOMEM;
        r = check_workflow_body(req, workflow, true, errors);
        if (r < 0)
                return r;
        return api_errors_to_messages(errors, "workflow", messages);
}

/* Checks every node, gives those without a node_id one, and fills node_types. */
static int import_check_nodes(HttpRequest *req, json_t *nodes, json_t *node_types, json_t *messages) {
        int64_t limit;
        json_t *node;
        size_t i;
        int r;

        if (api_node_limit_reached(req, 0, (int64_t) json_array_size(nodes), &limit))
                return api_message_append(messages, "nodes: Workflow has reached the limit of %" PRIi64 " nodes",
                                          limit);

        json_array_foreach(nodes, i, node) {
                _cleanup_json_ json_t *errors = NULL;
                _cleanup_free_ char *prefix = NULL;
                const char *node_id;

                if (asprintf(&prefix, "nodes[%zu]", i) < 0)
                        return -ENOMEM;
                if (!json_is_object(node)) {
                        r = api_message_append(messages, "%s: Input should be a valid dictionary", prefix);
                        if (r < 0)
                                return r;
                        continue;
                }

                errors = json_array();
                if (!errors)
                        return -ENOMEM;
                r = api_node_check(req, node, NULL, errors);
                if (r < 0)
                        return r;
                r = api_errors_to_messages(errors, prefix, messages);
                if (r < 0)
                        return r;
                if (json_array_size(errors) > 0)
                        continue;

                if (!json_get_string(node, "node_id", NULL)) {
                        _cleanup_free_ char *generated = NULL;
                        char hex[9];

                        r = random_hex(hex, 8);
                        if (r < 0)
                                return r;
                        if (asprintf(&generated, "%s_%s", json_get_string(node, "component_type", "node"),
                                     hex) < 0)
                                return -ENOMEM;
                        if (json_object_set_new(node, "node_id", json_string(generated)) < 0)
                                return -ENOMEM;
                }

                node_id = json_get_string(node, "node_id", "");
                if (json_object_get(node_types, node_id)) {
                        r = api_message_append(messages, "%s.node_id: Node '%s' appears more than once",
                                               prefix, node_id);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (json_object_set_new(node_types, node_id,
                                        json_string(json_get_string(node, "component_type", ""))) < 0)
                        return -ENOMEM;
        }

        return 0;
}

/* Checks every edge against the imported nodes; fills complete with the edges as stored. */
static int import_check_edges(json_t *edges, json_t *node_types, json_t *complete, json_t *messages) {
        json_t *edge;
        size_t i;
        int r;

        json_array_foreach(edges, i, edge) {
                _cleanup_json_ json_t *errors = NULL, *edge_messages = NULL, *full = NULL;
                _cleanup_free_ char *prefix = NULL;
                json_t *m;
                size_t j;

                if (asprintf(&prefix, "edges[%zu]", i) < 0)
                        return -ENOMEM;
                if (!json_is_object(edge)) {
                        r = api_message_append(messages, "%s: Input should be a valid dictionary", prefix);
                        if (r < 0)
                                return r;
                        continue;
                }

                errors = json_array();
                edge_messages = json_array();
                if (!errors || !edge_messages)
                        return -ENOMEM;
                if (api_edge_check_fields(edge, true, errors) > 0) {
                        r = api_errors_to_messages(errors, prefix, messages);
                        if (r < 0)
                                return r;
                        continue;
                }

                full = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}",
                                 "source_node_id", json_get_string(edge, "source_node_id", ""),
                                 "target_node_id", json_get_string(edge, "target_node_id", ""),
                                 "edge_type", json_get_string(edge, "edge_type", "direct"),
                                 "edge_label", json_get_string(edge, "edge_label", ""),
                                 "condition_value", json_get_string(edge, "condition_value", ""),
                                 "priority", (json_int_t) json_get_integer(edge, "priority", 0));
                if (!full)
                        return -ENOMEM;

                if (api_edge_check_graph(full, node_types, edge_messages) == 0)
                        (void) api_edge_check_model(full, complete, 0, edge_messages);
                json_array_foreach(edge_messages, j, m) {
                        r = api_message_append(messages, "%s: %s", prefix, json_string_value(m));
                        if (r < 0)
                                return r;
                }

                if (json_array_append(complete, full) < 0)
                        return -ENOMEM;
        }

        return 0;
}

/* Webhook secrets are stored sealed; an export carries none (it shows the mask). 1 when
 * sealed, 0 when answered. */
static int import_seal_secrets(HttpRequest *req, json_t *nodes, HttpResponse *resp) {
        json_t *node;
        size_t i;

        json_array_foreach(nodes, i, node) {
                const char *error = NULL;
                int r;

                r = webhook_secret_seal(req->manager->vault, json_get_string(node, "component_type", NULL), node,
                                        NULL, &error);
                if (r == -EINVAL)
                        return http_reply_error(resp, 422, "Node '%s': %s", json_get_string(node, "node_id", ""),
                                                error);
                if (r < 0)
                        return r;
        }
        return 1;
}

int api_workflow_import_document(HttpRequest *req, HttpResponse *resp, json_t *doc) {
        _cleanup_json_ json_t *messages = NULL, *nodes = NULL, *edges = NULL,
                *node_types = NULL, *complete_edges = NULL;
        json_t *workflow = NULL;
        int r;

        messages = json_array();
        node_types = json_object();
        complete_edges = json_array();
        if (!messages || !node_types || !complete_edges)
                return -ENOMEM;

        r = import_check_workflow(req, doc, messages);
        if (r < 0)
                return r;

        nodes = import_array(doc, "nodes", messages);
        edges = import_array(doc, "edges", messages);
        if (nodes) {
                r = import_check_nodes(req, nodes, node_types, messages);
                if (r < 0)
                        return r;
        }
        if (nodes && edges) {
                r = import_check_edges(edges, node_types, complete_edges, messages);
                if (r < 0)
                        return r;
        }

        /* Nothing is created unless everything is right. */
        if (json_array_size(messages) > 0)
                return api_reply_validation_errors(resp, TAKE_PTR(messages));
        r = import_seal_secrets(req, nodes, resp);
        if (r <= 0)
                return r;

        r = store_workflow_import(req->manager->db, req->user.id, json_object_get(doc, "workflow"), nodes,
                                  complete_edges, &workflow);
        if (r == -ENOLINK || r == -EEXIST)
                return http_reply_error(resp, 422,
                                        "The workflow refers to a workflow or credential that does not exist.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 201, workflow);
}

static int workflows_import(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *doc = NULL;

        doc = http_request_json_object(req, resp);
        if (!doc)
                return 0;
        return api_workflow_import_document(req, resp, doc);
}

const Route workflow_routes[] = {
        /* Literal paths first, before {slug} could take them. */
        { HTTP_POST, "/api/v1/workflows/batch-delete/", workflows_batch_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/import/", workflows_import, AUTH_USER },
        { HTTP_GET, "/api/v1/workflows/", workflows_get, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/", workflows_post, AUTH_USER },
        { HTTP_GET, "/api/v1/workflows/{slug}/", workflows_slug_get, AUTH_USER },
        { HTTP_PATCH, "/api/v1/workflows/{slug}/", workflows_slug_patch, AUTH_USER },
        { HTTP_DELETE, "/api/v1/workflows/{slug}/", workflows_slug_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/{slug}/validate/", workflows_validate, AUTH_USER },
        { HTTP_GET, "/api/v1/workflows/{slug}/export/", workflows_export, AUTH_USER },
        {}
};
