/* /api/v1/credentials/: LLM provider keys, Telegram bot tokens, tool endpoints and git
 * logins, their secrets sealed at rest and masked in every answer (docs/api.md
 * "Credentials").
 *
 * test/ and models/ ask the provider over the network, which must not happen on the I/O
 * thread: the request is deferred (http_defer()), the call runs on the manager's work pool
 * (common/work-pool.h), and its done callback, back on the I/O thread, answers. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/credential-body.h"
#include "api/credential-check.h"
#include "api/router.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "store/store-credentials.h"

static const JsonField create_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY },
        { "credential_type", JSON_FIELD_STRING, JSON_FIELD_REQUIRED, .choices = credential_types },
        { "detail", JSON_FIELD_OBJECT, JSON_FIELD_REQUIRED },
};

static const JsonField update_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY },
        { "credential_type", JSON_FIELD_STRING, .choices = credential_types },
        { "detail", JSON_FIELD_OBJECT },
};

static const char *const unopenable_message =
        "The credential's secrets cannot be opened with this daemon's secret key (was the key replaced?). "
        "Delete the credential and create it again.";

/* Characters, not bytes, as clients count them. */
static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

static void check_name(json_t *body, json_t *errors) {
        const char *name = json_get_string(body, "name", NULL);
        char msg[96];

        if (name && utf8_length(name) > CREDENTIAL_NAME_MAX) {
                snprintf(msg, sizeof msg, "String should have at most %d characters", CREDENTIAL_NAME_MAX);
                json_error_append(errors, "name", "string_too_long", msg);
        }
}

/* Path ids are positive decimal numbers; anything else names nothing. */
static bool parse_id(const char *s, int64_t *ret) {
        int64_t v = 0;

        if (isempty(s) || strlen(s) > 18)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (*p - '0');
        }
        if (v <= 0)
                return false;
        *ret = v;
        return true;
}

/* The credential {id} of the path in clear, as the caller may see it. 1 with *ret set, 0
 * when resp holds the answer (404, or what unopenable secrets get), or negative errno. */
static int load_from_path(HttpRequest *req, HttpResponse *resp, int unopenable_status, Credential **ret) {
        StoreCaller caller = api_caller(req);
        int64_t id;
        int r;

        if (!parse_id(http_request_param(req, "id"), &id))
                return http_reply_error(resp, 404, "Credential not found.");
        r = store_credential_load(req->manager->db, req->manager->vault, &caller, id, ret);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Credential not found.");
        if (r == -EBADMSG) {
                log_warning("Credential %" PRIi64 ": its secrets do not open with the secret key.", id);
                if (unopenable_status == 200)
                        return http_reply_json(resp, 200, json_pack("{s:b, s:s, s:n}", "ok", false,
                                                                    "error", unopenable_message, "detail"));
                return http_reply_error(resp, unopenable_status, "%s", unopenable_message);
        }
        if (r < 0)
                return r;
        return 1;
}

static int credentials_get(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        int64_t limit, offset, total;
        json_t *items = NULL;
        int r;

        if (http_request_pagination(req, resp, &limit, &offset) < 0)
                return 0;
        r = store_credential_list(req->manager->db, req->manager->vault, &caller, limit, offset, &items, &total);
        if (r < 0)
                return r;
        return http_reply_page(resp, items, total);
}

static int credentials_post(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL, *detail = NULL;
        const char *type;
        json_t *out = NULL;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, create_fields, ELEMENTSOF(create_fields), errors);
        check_name(body, errors);
        type = json_get_string(body, "credential_type", NULL);
        if (credential_type_is_valid(type) && json_is_object(json_object_get(body, "detail"))) {
                r = credential_detail_check(type, json_object_get(body, "detail"), errors, &detail);
                if (r < 0)
                        return r;
        }
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = store_credential_create(req->manager->db, req->manager->vault, req->user.id,
                                    json_get_string(body, "name", ""), type, detail, &out, NULL);
        if (r < 0)
                return r;
        return http_reply_json(resp, 201, out);
}

static int credentials_id_get(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        json_t *out = NULL;
        int64_t id;
        int r;

        if (!parse_id(http_request_param(req, "id"), &id))
                return http_reply_error(resp, 404, "Credential not found.");
        r = store_credential_get(req->manager->db, req->manager->vault, &caller, id, &out);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Credential not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, out);
}

static int credentials_id_patch(HttpRequest *req, HttpResponse *resp) {
        _cleanup_(credential_freep) Credential *c = NULL;
        _cleanup_json_ json_t *body = NULL, *errors = NULL;
        const char *type, *name;
        json_t *patch, *detail = NULL, *out = NULL;
        int r;

        r = load_from_path(req, resp, 409, &c);
        if (r <= 0)
                return r;

        body = http_request_json_object(req, resp);
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, update_fields, ELEMENTSOF(update_fields), errors);
        check_name(body, errors);
        type = json_get_string(body, "credential_type", NULL);
        if (type && credential_type_is_valid(type) && !streq(type, c->type))
                json_error_append(errors, "credential_type", "value_error",
                                  "The type of a credential cannot change; create a new one");
        patch = json_object_get(body, "detail");
        if (json_is_object(patch)) {
                r = credential_detail_patch(c->type, c->detail, patch, errors, &detail);
                if (r < 0)
                        return r;
        }
        if (json_array_size(errors) > 0) {
                json_decref(detail);
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        }

        name = json_get_string(body, "name", NULL);
        if (name) {
                char *copy = strdup(name);

                if (!copy) {
                        json_decref(detail);
                        return -ENOMEM;
                }
                free(c->name);
                c->name = copy;
        }
        if (detail) {
                /* The merge copied what it kept: the old secrets are ours alone to wipe. */
                credential_secrets_wipe(c->type, c->detail);
                json_decref(c->detail);
                c->detail = detail;
        }

        r = store_credential_update(req->manager->db, req->manager->vault, c, &out);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Credential not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, out);
}

static int credentials_id_delete(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        int64_t id;
        int r;

        if (!parse_id(http_request_param(req, "id"), &id))
                return http_reply_error(resp, 404, "Credential not found.");
        r = store_credential_delete(req->manager->db, &caller, id);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Credential not found.");
        if (r < 0)
                return r;
        return http_reply_no_content(resp);
}

static int credentials_batch_delete(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        StoreCaller caller = api_caller(req);
        int64_t deleted;
        int r;

        body = http_request_batch_body(req, resp, "ids", true);
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        r = store_credential_delete_many(req->manager->db, &caller, json_object_get(body, "ids"), &deleted);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, json_pack("{s:I}", "deleted", (json_int_t) deleted));
}

/* --- test/ and models/: off the I/O thread ------------------------------------------------------ */

typedef struct CheckJob {
        Credential *credential;
        HttpDeferred *deferred;
        bool models;
        int status;             /* the answer, filled on the worker */
        json_t *answer;
} CheckJob;

static CheckJob *check_job_free(CheckJob *job) {
        if (!job)
                return NULL;
        credential_free(job->credential);
        json_decref(job->answer);
        free(job);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(CheckJob *, check_job_free);

/* On a worker thread: the network call, no database, nothing of the I/O thread's. */
static void check_job_run(WorkPool *pool, void *userdata) {
        CheckJob *job = userdata;
        int r;

        if (job->models) {
                _cleanup_free_ char *error = NULL;
                json_t *models = NULL;

                r = credential_check_models(job->credential, pool, &models, &error);
                if (r >= 0 && models) {
                        job->status = 200;
                        job->answer = models;
                } else if (r >= 0) {
                        job->status = 502;
                        job->answer = json_pack("{s:s}", "detail", error ?: "The provider did not answer.");
                }
        } else {
                r = credential_check_test(job->credential, pool, &job->answer);
                job->status = 200;
        }
        if (r < 0 || !job->answer) {
                json_decref(job->answer);
                job->status = 500;
                job->answer = json_pack("{s:s}", "detail", "Internal Server Error");
        }
}

/* Back on the I/O thread. */
static void check_job_done(void *userdata, bool cancelled) {
        _cleanup_(check_job_freep) CheckJob *job = userdata;

        if (cancelled)
                http_deferred_complete(job->deferred, 503, json_pack("{s:s}", "detail", "The daemon is stopping."));
        else {
                log_debug("Credential %" PRIi64 " %s: %d", job->credential->id, job->models ? "models" : "test",
                          job->status);
                http_deferred_complete(job->deferred, job->status, TAKE_PTR(job->answer));
        }
}

static int start_check(HttpRequest *req, HttpResponse *resp, bool models) {
        _cleanup_(check_job_freep) CheckJob *job = NULL;
        _cleanup_(credential_freep) Credential *c = NULL;
        int r;

        r = load_from_path(req, resp, models ? 409 : 200, &c);
        if (r <= 0)
                return r;
        if (models && !streq(c->type, "llm"))
                return http_reply_error(resp, 422, "Only llm credentials have models (this one is %s).", c->type);

        job = calloc(1, sizeof *job);
        if (!job)
                return -ENOMEM;
        job->credential = TAKE_PTR(c);
        job->models = models;
        job->deferred = http_defer(req, resp);
        if (!job->deferred)
                return -ENOMEM;

        /* The done callback runs on this thread, so not before this handler returns. */
        r = work_pool_submit(req->manager->work_pool, check_job_run, check_job_done, job);
        if (r == -EAGAIN) {
                http_deferred_complete(job->deferred, 503,
                                       json_pack("{s:s}", "detail",
                                                 "Too many credential checks are running; try again shortly."));
                return 0;
        }
        if (r < 0) {
                http_deferred_complete(job->deferred, r == -ESHUTDOWN ? 503 : 500,
                                       json_pack("{s:s}", "detail",
                                                 r == -ESHUTDOWN ? "The daemon is stopping." : "Internal Server Error"));
                return 0;
        }
        TAKE_PTR(job);
        return 0;
}

static int credentials_id_test(HttpRequest *req, HttpResponse *resp) {
        return start_check(req, resp, false);
}

static int credentials_id_models(HttpRequest *req, HttpResponse *resp) {
        return start_check(req, resp, true);
}

/* The router prefers literal segments: batch-delete/ wins over {id}/. */
const Route credential_routes[] = {
        { HTTP_GET, "/api/v1/credentials/", credentials_get, AUTH_USER },
        { HTTP_POST, "/api/v1/credentials/", credentials_post, AUTH_USER },
        { HTTP_POST, "/api/v1/credentials/batch-delete/", credentials_batch_delete, AUTH_USER },
        { HTTP_GET, "/api/v1/credentials/{id}/", credentials_id_get, AUTH_USER },
        { HTTP_PATCH, "/api/v1/credentials/{id}/", credentials_id_patch, AUTH_USER },
        { HTTP_DELETE, "/api/v1/credentials/{id}/", credentials_id_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/credentials/{id}/test/", credentials_id_test, AUTH_USER },
        { HTTP_GET, "/api/v1/credentials/{id}/models/", credentials_id_models, AUTH_USER },
        {},
};
