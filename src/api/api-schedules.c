/* /api/v1/schedules/: schedules that fire a workflow's trigger every interval — create,
 * list, read, edit, delete, pause and resume (docs/api.md "Schedules"). The scheduler
 * (engine/scheduler.h) starts their runs; every change here tells it to look again. */

#include <errno.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "store/store-nodes.h"
#include "store/store-schedules.h"

#define SCHEDULE_TRIGGER "trigger_schedule"
#define MANUAL_TRIGGER "trigger_manual"

static const JsonField create_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY },
        { "description", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "workflow_id", JSON_FIELD_INTEGER, 0, 1, INT64_MAX },
        { "workflow_slug", JSON_FIELD_STRING },
        { "trigger_node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "interval_seconds", JSON_FIELD_INTEGER, JSON_FIELD_REQUIRED, 1, SCHEDULE_INTERVAL_MAX },
        { "total_repeats", JSON_FIELD_INTEGER, 0, 0, SCHEDULE_REPEATS_MAX },
        { "max_retries", JSON_FIELD_INTEGER, 0, 0, SCHEDULE_RETRIES_MAX },
        { "timeout_seconds", JSON_FIELD_INTEGER, 0, 1, SCHEDULE_TIMEOUT_MAX },
        { "trigger_payload", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static const JsonField update_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY },
        { "description", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "trigger_node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "interval_seconds", JSON_FIELD_INTEGER, 0, 1, SCHEDULE_INTERVAL_MAX },
        { "total_repeats", JSON_FIELD_INTEGER, 0, 0, SCHEDULE_REPEATS_MAX },
        { "max_retries", JSON_FIELD_INTEGER, 0, 0, SCHEDULE_RETRIES_MAX },
        { "timeout_seconds", JSON_FIELD_INTEGER, 0, 1, SCHEDULE_TIMEOUT_MAX },
        { "trigger_payload", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

/* Characters, not bytes, as clients count them. */
static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; s && *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

/* The checks json_check_fields() cannot make: lengths in characters, the payload's size. */
static void check_limits(json_t *body, json_t *errors) {
        json_t *payload = json_object_get(body, "trigger_payload");
        char msg[96];

        if (utf8_length(json_get_string(body, "name", NULL)) > SCHEDULE_NAME_MAX) {
                snprintf(msg, sizeof msg, "String should have at most %d characters", SCHEDULE_NAME_MAX);
                json_error_append(errors, "name", "string_too_long", msg);
        }
        if (utf8_length(json_get_string(body, "description", NULL)) > SCHEDULE_DESCRIPTION_MAX) {
                snprintf(msg, sizeof msg, "String should have at most %d characters", SCHEDULE_DESCRIPTION_MAX);
                json_error_append(errors, "description", "string_too_long", msg);
        }
        if (json_is_object(payload)) {
                _cleanup_free_ char *text = json_dumps_compact(payload);

                if (!text || strlen(text) > SCHEDULE_PAYLOAD_MAX) {
                        snprintf(msg, sizeof msg, "The payload should take at most %d bytes as JSON",
                                 SCHEDULE_PAYLOAD_MAX);
                        json_error_append(errors, "trigger_payload", "too_long", msg);
                }
        }
}

/* The trigger a schedule fires: the node named, which must be a trigger_schedule or
 * trigger_manual node of the workflow; else the workflow's only trigger_schedule node; else
 * its only trigger_manual node. 1 with *ret (malloc'ed), 0 with the problem added to errors,
 * or negative errno. */
static int schedule_trigger(Db *db, int64_t workflow_id, const char *named, json_t *errors, char **ret) {
        _cleanup_json_ json_t *nodes = NULL;
        const char *schedule = NULL, *manual = NULL;
        size_t n_schedule = 0, n_manual = 0, i;
        char msg[256];
        json_t *node;
        int r;

        r = store_nodes_list(db, workflow_id, &nodes);
        if (r < 0)
                return r;
        json_array_foreach(nodes, i, node) {
                const char *id = json_get_string(node, "node_id", ""), *type = json_get_string(node, "component_type", "");

                if (named && streq(id, named)) {
                        if (!streq(type, SCHEDULE_TRIGGER) && !streq(type, MANUAL_TRIGGER)) {
                                snprintf(msg, sizeof msg, "Node '%.64s' is a '%.64s' node, not a %s or %s node", named,
                                         type, SCHEDULE_TRIGGER, MANUAL_TRIGGER);
                                json_error_append(errors, "trigger_node_id", "value_error", msg);
                                return 0;
                        }
                        *ret = strdup(named);
                        return *ret ? 1 : -ENOMEM;
                }
                if (streq(type, SCHEDULE_TRIGGER)) {
                        schedule = id;
                        n_schedule++;
                } else if (streq(type, MANUAL_TRIGGER)) {
                        manual = id;
                        n_manual++;
                }
        }

        if (named)
                snprintf(msg, sizeof msg, "Trigger node '%.64s' is not in this workflow", named);
        else if (n_schedule == 1 || (n_schedule == 0 && n_manual == 1)) {
                *ret = strdup(n_schedule == 1 ? schedule : manual);
                return *ret ? 1 : -ENOMEM;
        } else if (n_schedule > 1)
                snprintf(msg, sizeof msg, "The workflow has %zu %s nodes; name one with trigger_node_id", n_schedule,
                         SCHEDULE_TRIGGER);
        else if (n_manual > 1)
                snprintf(msg, sizeof msg, "The workflow has %zu %s nodes and no %s node; name one with "
                         "trigger_node_id", n_manual, MANUAL_TRIGGER, SCHEDULE_TRIGGER);
        else
                snprintf(msg, sizeof msg, "The workflow has no %s or %s node to fire; add one", SCHEDULE_TRIGGER,
                         MANUAL_TRIGGER);
        json_error_append(errors, "trigger_node_id", "value_error", msg);
        return 0;
}

/* The workflow a create body names (workflow_id or workflow_slug), as the caller sees it:
 * 1 with *ret_id, 0 with the problem added to errors, or negative errno. */
static int body_workflow(HttpRequest *req, json_t *body, json_t *errors, int64_t *ret_id) {
        StoreCaller caller = api_caller(req);
        json_t *id = json_object_get(body, "workflow_id");
        const char *slug = json_get_string(body, "workflow_slug", NULL);
        int r;

        if (!id && !slug) {
                json_error_append(errors, "workflow_id", "missing", "Field required (or give workflow_slug)");
                return 0;
        }
        if (id && slug) {
                json_error_append(errors, "workflow_slug", "value_error", "Give workflow_id or workflow_slug, not both");
                return 0;
        }
        if (id) {
                *ret_id = json_integer_value(id);
                r = store_workflow_check_visible(req->manager->db, &caller, *ret_id);
        } else
                r = store_workflow_find(req->manager->db, &caller, slug, ret_id);
        if (r == -ENOENT) {
                json_error_append(errors, id ? "workflow_id" : "workflow_slug", "value_error", "Workflow not found");
                return 0;
        }
        return r < 0 ? r : 1;
}

/* Path ids are UUIDs; anything else names nothing. */
static const char *path_id(HttpRequest *req) {
        const char *id = http_request_param(req, "id");

        return execution_id_is_valid(id) ? id : NULL;
}

static int reply_not_found(HttpResponse *resp) {
        return http_reply_error(resp, 404, "Schedule not found.");
}

static int schedules_get(HttpRequest *req, HttpResponse *resp) {
        _cleanup_free_ char *status = http_request_query(req, "status"), *slug = http_request_query(req, "workflow_slug");
        StoreCaller caller = api_caller(req);
        ScheduleFilter f = { .status = status };
        json_t *items = NULL;
        int64_t total;
        int r;

        if (http_request_pagination(req, resp, &f.limit, &f.offset) < 0 ||
            http_request_query_int(req, resp, "workflow_id", 0, 1, INT64_MAX, &f.workflow_id) < 0)
                return 0;
        if (status && schedule_status_from_string(status) < 0)
                return http_reply_detail(resp, 422, json_pack("[{s:[s,s], s:s, s:s}]", "loc", "query", "status",
                                                              "msg", "Input should be 'active', 'paused', 'done' or "
                                                              "'dead'", "type", "enum"));
        if (slug) {
                int64_t id;

                r = store_workflow_find(req->manager->db, &caller, slug, &id);
                if (r == -ENOENT || (r >= 0 && f.workflow_id > 0 && f.workflow_id != id))
                        return http_reply_page(resp, json_array(), 0);
                if (r < 0)
                        return r;
                f.workflow_id = id;
        }

        r = store_schedule_list(req->manager->db, &caller, &f, &items, &total);
        if (r < 0)
                return r;
        return http_reply_page(resp, items, total);
}

static int schedules_post(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL;
        _cleanup_free_ char *trigger = NULL;
        Manager *m = req->manager;
        int64_t workflow_id = 0;
        json_t *out = NULL;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, create_fields, ELEMENTSOF(create_fields), errors);
        check_limits(body, errors);
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = body_workflow(req, body, errors, &workflow_id);
        if (r > 0)
                r = schedule_trigger(m->db, workflow_id, json_get_string(body, "trigger_node_id", NULL), errors, &trigger);
        if (r < 0)
                return r;
        if (r == 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        if (json_object_set_new(body, "trigger_node_id", json_string(trigger)) < 0)
                return -ENOMEM;

        r = store_schedule_create(m->db, req->user.id, workflow_id, body, now_realtime_usec(), &out);
        if (r == -ENOLINK) {
                /* Deleted since it was checked. */
                json_error_append(errors, "workflow_id", "value_error", "Workflow not found");
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        }
        if (r < 0)
                return r;
        engine_schedules_changed(m->engine);
        return http_reply_json(resp, 201, out);
}

static int schedules_id_get(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        const char *id = path_id(req);
        json_t *out = NULL;
        int r;

        if (!id)
                return reply_not_found(resp);
        r = store_schedule_get(req->manager->db, &caller, id, &out);
        if (r == -ENOENT)
                return reply_not_found(resp);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, out);
}

static int schedules_id_patch(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *current = NULL, *body = NULL, *errors = NULL;
        _cleanup_free_ char *trigger = NULL;
        StoreCaller caller = api_caller(req);
        const char *id = path_id(req);
        Manager *m = req->manager;
        json_t *out = NULL;
        int r;

        if (!id)
                return reply_not_found(resp);
        r = store_schedule_get(m->db, &caller, id, &current);
        if (r == -ENOENT)
                return reply_not_found(resp);
        if (r < 0)
                return r;

        body = http_request_json_object(req, resp);
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, update_fields, ELEMENTSOF(update_fields), errors);
        check_limits(body, errors);
        if (json_object_get(body, "workflow_id") || json_object_get(body, "workflow_slug"))
                json_error_append(errors, json_object_get(body, "workflow_id") ? "workflow_id" : "workflow_slug",
                                  "value_error", "The workflow of a schedule cannot change; create a new schedule");
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        /* A trigger named anew is checked; null goes back to the workflow's default one. */
        if (json_object_get(body, "trigger_node_id")) {
                r = schedule_trigger(m->db, json_get_integer(current, "workflow_id", 0),
                                     json_get_string(body, "trigger_node_id", NULL), errors, &trigger);
                if (r < 0)
                        return r;
                if (r == 0)
                        return http_reply_detail(resp, 422, TAKE_PTR(errors));
                if (json_object_set_new(body, "trigger_node_id", json_string(trigger)) < 0)
                        return -ENOMEM;
        }

        r = store_schedule_update(m->db, &caller, id, body, now_realtime_usec(), &out);
        if (r == -ENOENT)
                return reply_not_found(resp);
        if (r < 0)
                return r;
        engine_schedules_changed(m->engine);
        return http_reply_json(resp, 200, out);
}

static int schedules_id_delete(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        const char *id = path_id(req);
        int r;

        if (!id)
                return reply_not_found(resp);
        r = store_schedule_delete(req->manager->db, &caller, id);
        if (r == -ENOENT)
                return reply_not_found(resp);
        if (r < 0)
                return r;
        engine_schedules_changed(req->manager->engine);
        return http_reply_no_content(resp);
}

static int schedules_batch_delete(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        StoreCaller caller = api_caller(req);
        int64_t deleted;
        int r;

        body = http_request_batch_body(req, resp, "schedule_ids", false);
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        r = store_schedule_delete_many(req->manager->db, &caller, json_object_get(body, "schedule_ids"), &deleted);
        if (r < 0)
                return r;
        if (deleted > 0)
                engine_schedules_changed(req->manager->engine);
        return http_reply_json(resp, 200, json_pack("{s:I}", "deleted", (json_int_t) deleted));
}

/* pause/ and resume/: 400 when the schedule is not in the state they leave. */
static int schedules_transition(HttpRequest *req, HttpResponse *resp, bool pausing) {
        StoreCaller caller = api_caller(req);
        const char *id = path_id(req);
        ScheduleStatus status = _SCHEDULE_STATUS_INVALID;
        json_t *out = NULL;
        int r;

        if (!id)
                return reply_not_found(resp);
        if (pausing)
                r = store_schedule_pause(req->manager->db, &caller, id, now_realtime_usec(), &out, &status);
        else
                r = store_schedule_resume(req->manager->db, &caller, id, now_realtime_usec(), &out, &status);
        if (r == -ENOENT)
                return reply_not_found(resp);
        if (r == -ESTALE)
                return http_reply_error(resp, 400, "Schedule is %s, not %s.", schedule_status_to_string(status) ?: "?",
                                        pausing ? "active" : "paused");
        if (r < 0)
                return r;
        engine_schedules_changed(req->manager->engine);
        return http_reply_json(resp, 200, out);
}

static int schedules_pause(HttpRequest *req, HttpResponse *resp) {
        return schedules_transition(req, resp, true);
}

static int schedules_resume(HttpRequest *req, HttpResponse *resp) {
        return schedules_transition(req, resp, false);
}

const Route schedule_routes[] = {
        { HTTP_POST, "/api/v1/schedules/batch-delete/", schedules_batch_delete, AUTH_USER },
        { HTTP_GET, "/api/v1/schedules/", schedules_get, AUTH_USER },
        { HTTP_POST, "/api/v1/schedules/", schedules_post, AUTH_USER },
        { HTTP_GET, "/api/v1/schedules/{id}/", schedules_id_get, AUTH_USER },
        { HTTP_PATCH, "/api/v1/schedules/{id}/", schedules_id_patch, AUTH_USER },
        { HTTP_DELETE, "/api/v1/schedules/{id}/", schedules_id_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/schedules/{id}/pause/", schedules_pause, AUTH_USER },
        { HTTP_POST, "/api/v1/schedules/{id}/resume/", schedules_resume, AUTH_USER },
        {}
};
