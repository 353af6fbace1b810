/* /api/v1/users/: one's own account and keys, and (for admins) everyone's. */

#include <errno.h>
#include <inttypes.h>

#include "api/password-work.h"
#include "api/router.h"
#include "api/user-check.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "daemon/manager.h"
#include "engine/budget-limits.h"
#include "store/store-api-keys.h"
#include "store/store-users.h"

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

/* Checks body against fields plus the rules shared by every user body (user-check.h).
 * Returns 1 when the body is fine, 0 when resp holds the 422, or negative errno. */
static int check_user_body(json_t *body, const JsonField *fields, size_t n_fields, HttpResponse *resp) {
        _cleanup_json_ json_t *errors = json_array();

        if (!errors)
                return -ENOMEM;
        user_check_body(body, fields, n_fields, errors);
        if (json_array_size(errors) == 0)
                return 1;

        http_reply_detail(resp, 422, TAKE_PTR(errors));
        return 0;
}

/* A body's optional "budget" (budget-limits.h): 1 when it is absent or fine, with
 * *ret_text the JSON to store (NULL when absent, "{}" for null); 0 when resp holds the 422;
 * or negative errno. */
static int read_budget(json_t *body, HttpResponse *resp, char **ret_text) {
        _cleanup_json_ json_t *errors = json_array(), *loc = json_pack("[s, s]", "body", "budget");
        _cleanup_json_ json_t *normalized = NULL;
        json_t *budget = json_object_get(body, "budget");

        *ret_text = NULL;
        if (!budget)
                return 1;
        if (!errors || !loc)
                return -ENOMEM;
        budget_check_json(budget, loc, errors);
        if (json_array_size(errors) > 0) {
                http_reply_detail(resp, 422, TAKE_PTR(errors));
                return 0;
        }
        normalized = budget_normalize(budget);
        if (!normalized)
                return -ENOMEM;
        *ret_text = json_dumps_compact(normalized);
        return *ret_text ? 1 : -ENOMEM;
}

/* A change of a user, or a new one, as its request asked for it: made at once, or once its
 * password is hashed (password-work.h). */
typedef struct UserChange {
        int64_t id;             /* the user changed; 0 for a new one */
        json_t *body;           /* the request's, checked */
        const char *role;       /* from body, when the caller may set it; else NULL */
        char *budget;           /* normalized (read_budget()), or NULL */
        int64_t caller_key;     /* the login that asks stays logged in (UserUpdate) */
} UserChange;

static void user_change_free(void *userdata) {
        UserChange *c = userdata;

        if (!c)
                return;
        json_decref(c->body);
        free(c->budget);
        free(c);
}

/* Takes budget. */
static UserChange *user_change_new(const HttpRequest *req, int64_t id, json_t *body, const char *role, char *budget) {
        UserChange *c = calloc(1, sizeof *c);

        if (!c) {
                free(budget);
                return NULL;
        }
        *c = (UserChange) {
                .id = id,
                .body = json_incref(body),
                .role = role,
                .budget = budget,
                .caller_key = req->user.key_id,
        };
        return c;
}

static void answer_detail(int *ret_status, json_t **ret_body, int status, const char *detail) {
        *ret_status = status;
        *ret_body = json_pack("{s:s}", "detail", detail);
}

static void answer_failure(int *ret_status, json_t **ret_body, int r, const char *what) {
        log_error_errno(r, "Cannot %s: %m", what);
        answer_detail(ret_status, ret_body, 500, "Internal Server Error");
}

/* Applies c (with the new password's hash, or NULL) and says what to answer. */
static void user_change_apply(Db *db, const UserChange *c, const char *hash, int *ret_status, json_t **ret_body) {
        UserUpdate u = {
                .password_hash = hash,
                .session_kept = c->caller_key,
                .role = c->role,
                .first_name = json_get_string(c->body, "first_name", NULL),
                .last_name = json_get_string(c->body, "last_name", NULL),
                .budget = c->budget,
        };
        json_t *user = NULL;
        int r;

        if (c->id == 0) {
                r = store_user_create(db, json_get_string(c->body, "username", ""), hash, c->role ?: "normal",
                                      u.first_name ?: "", u.last_name ?: "", &user);
                if (r == -EEXIST)
                        return answer_detail(ret_status, ret_body, 409, "Username already exists.");
                if (r < 0)
                        return answer_failure(ret_status, ret_body, r, "create a user");
                *ret_status = 201;
                *ret_body = user;
                return;
        }

        r = store_user_update(db, c->id, &u, NULL);
        if (r >= 0)
                r = store_user_get(db, c->id, &user);
        if (r == -ENOENT)
                return answer_detail(ret_status, ret_body, 404, "User not found.");
        if (r < 0)
                return answer_failure(ret_status, ret_body, r, "change a user");
        *ret_status = 200;
        *ret_body = user;
}

static void user_change_then(Manager *m, const char *hash, bool checked, void *userdata, int *ret_status,
                             json_t **ret_body) {
        const UserChange *c = userdata;

        if (!checked) {
                /* As a failed login is: whoever watches the journal for guessing sees it. */
                log_info("Refused a password change of user %" PRIi64 ": wrong current password.", c->id);
                return answer_detail(ret_status, ret_body, 403, "The current password is wrong.");
        }
        user_change_apply(m->db, c, hash, ret_status, ret_body);
}

/* Makes the change, at once when it sets no password. check_hash: the hash the body's
 * "current_password" must match first, or NULL. */
static int user_change_submit(HttpRequest *req, HttpResponse *resp, UserChange *c, const char *check_hash) {
        const char *password = json_get_string(c->body, "password", NULL);
        json_t *body = NULL;
        int status;

        if (!password) {
                user_change_apply(req->manager->db, c, NULL, &status, &body);
                user_change_free(c);
                return http_reply_json(resp, status, body);
        }
        return password_work_defer(req, resp, &(PasswordWorkRequest) {
                .password = password,
                .check = check_hash ? json_get_string(c->body, "current_password", "") : NULL,
                .check_hash = check_hash,
                .then = user_change_then,
                .free = user_change_free,
                .userdata = c,
        });
}

static int reply_user(HttpResponse *resp, int status, Db *db, int64_t id) {
        json_t *user = NULL;
        int r;

        r = store_user_get(db, id, &user);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, status, user);
}

/* Refuses (409) to take the last active admin away. target is the user's UserOut. */
static int check_not_last_admin(Db *db, json_t *target, HttpResponse *resp, bool *ret_ok) {
        int64_t admins;
        int r;

        *ret_ok = true;
        if (!streq_ptr(json_string_value(json_object_get(target, "role")), "admin"))
                return 0;

        r = store_user_count_admins(db, &admins);
        if (r < 0)
                return r;
        if (admins <= 1) {
                *ret_ok = false;
                http_reply_error(resp, 409, "Cannot demote or delete the last admin.");
        }
        return 0;
}

/* Keys, shared by /users/me/keys/ and /users/{id}/keys/. */

static int create_key(HttpRequest *req, HttpResponse *resp, int64_t user_id) {
        static const JsonField fields[] = {
                { "expires_at", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL, *errors = NULL, *key = NULL;
        const char *expires_text;
        usec_t expires_at = 0;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        api_key_check_name(body, errors);
        (void) json_check_fields(body, fields, ELEMENTSOF(fields), errors);

        expires_text = json_get_string(body, "expires_at", NULL);
        if (json_is_string(json_object_get(body, "expires_at"))) {
                if (timestamp_parse(expires_text, &expires_at) < 0)
                        json_error_append(errors, "expires_at", "datetime_parsing",
                                          "Input should be a valid ISO-8601 datetime");
                else if (expires_at <= now_realtime_usec())
                        json_error_append(errors, "expires_at", "value_error",
                                          "expires_at must be in the future");
        }
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = store_api_key_create(req->manager->db, user_id, json_get_string(body, "name", ""),
                                 expires_at, &key);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 201, TAKE_PTR(key));
}

static int list_keys(HttpRequest *req, HttpResponse *resp, int64_t user_id) {
        json_t *keys = NULL;
        int r;

        r = store_api_key_list(req->manager->db, user_id, &keys);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, keys);
}

static int revoke_key(HttpRequest *req, HttpResponse *resp, int64_t user_id) {
        int64_t key_id;
        int r;

        if (!parse_id(http_request_param(req, "key_id"), &key_id))
                return http_reply_error(resp, 404, "API key not found.");

        r = store_api_key_revoke(req->manager->db, user_id, key_id);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "API key not found.");
        if (r < 0)
                return r;
        return http_reply_no_content(resp);
}

/* The user named by {id}, which must exist; otherwise resp holds the 404. */
static int path_user(HttpRequest *req, HttpResponse *resp, int64_t *ret_id, json_t **ret_user) {
        json_t *user = NULL;
        int64_t id;
        int r;

        if (!parse_id(http_request_param(req, "id"), &id)) {
                http_reply_error(resp, 404, "User not found.");
                return -ENOENT;
        }
        r = store_user_get(req->manager->db, id, &user);
        if (r == -ENOENT)
                http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;

        *ret_id = id;
        if (ret_user)
                *ret_user = user;
        else
                json_decref(user);
        return 0;
}

/* Handlers. path_user() failures other than -ENOENT are database errors. */
#define PATH_USER_OR_RETURN(req, resp, id, user)                        \
        do {                                                            \
                int _r = path_user((req), (resp), (id), (user));        \
                if (_r == -ENOENT)                                      \
                        return 0;                                       \
                if (_r < 0)                                             \
                        return _r;                                      \
        } while (0)

static int users_me_get(HttpRequest *req, HttpResponse *resp) {
        return reply_user(resp, 200, req->manager->db, req->user.id);
}

static int users_me_patch(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "password", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "current_password", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "first_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "last_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL;
        _cleanup_free_ char *budget = NULL, *current_hash = NULL;
        UserChange *c;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;
        r = check_user_body(body, fields, ELEMENTSOF(fields), resp);
        if (r <= 0)
                return r;
        /* A key alone does not change the password: whoever holds a stolen one would lock
         * the owner out. */
        if (json_get_string(body, "password", NULL) && !json_get_string(body, "current_password", NULL)) {
                _cleanup_json_ json_t *errors = json_array();

                if (!errors)
                        return -ENOMEM;
                json_error_append(errors, "current_password", "missing",
                                  "The current password is required to change the password");
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        }
        /* Nobody sets their own limits but an admin. */
        if (json_object_get(body, "budget") && req->user.role != USER_ROLE_ADMIN)
                return http_reply_error(resp, 403, "Only an admin can change a budget.");
        r = read_budget(body, resp, &budget);
        if (r <= 0)
                return r;
        if (json_get_string(body, "password", NULL)) {
                r = store_user_password_hash(req->manager->db, req->user.id, &current_hash);
                if (r == -ENOENT)
                        return http_reply_error(resp, 404, "User not found.");
                if (r < 0)
                        return r;
        }

        c = user_change_new(req, req->user.id, body, NULL, TAKE_PTR(budget));
        if (!c)
                return -ENOMEM;
        return user_change_submit(req, resp, c, current_hash);
}

static int users_me_keys_post(HttpRequest *req, HttpResponse *resp) {
        return create_key(req, resp, req->user.id);
}

static int users_me_keys_get(HttpRequest *req, HttpResponse *resp) {
        return list_keys(req, resp, req->user.id);
}

static int users_me_keys_delete(HttpRequest *req, HttpResponse *resp) {
        return revoke_key(req, resp, req->user.id);
}

static int users_post(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "username", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
                { "password", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
                { "role", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = user_role_choices },
                { "first_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "last_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL;
        UserChange *c;
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;
        r = check_user_body(body, fields, ELEMENTSOF(fields), resp);
        if (r <= 0)
                return r;

        c = user_change_new(req, 0, body, json_get_string(body, "role", NULL), NULL);
        if (!c)
                return -ENOMEM;
        return user_change_submit(req, resp, c, NULL);
}

static int users_get(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *items = NULL, *out = NULL;
        int64_t limit, offset, total;
        int r;

        if (http_request_pagination(req, resp, &limit, &offset) < 0)
                return 0;

        r = store_user_list(req->manager->db, limit, offset, &items, &total);
        if (r < 0)
                return r;

        out = json_pack("{s:O,s:I}", "users", items, "total", (json_int_t) total);
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, TAKE_PTR(out));
}

static int users_id_get(HttpRequest *req, HttpResponse *resp) {
        json_t *user = NULL;
        int64_t id;

        PATH_USER_OR_RETURN(req, resp, &id, &user);
        return http_reply_json(resp, 200, user);
}

static int users_id_patch(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "password", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "role", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = user_role_choices },
                { "first_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "last_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL, *target = NULL;
        _cleanup_free_ char *budget = NULL;
        const char *role;
        UserChange *c;
        int64_t id;
        bool ok;
        int r;

        /* A bad id is 404 before the body is looked at, a bad body 422 before the user is
         * looked up. */
        if (!parse_id(http_request_param(req, "id"), &id))
                return http_reply_error(resp, 404, "User not found.");
        body = http_request_json_object(req, resp);
        if (!body)
                return 0;
        r = check_user_body(body, fields, ELEMENTSOF(fields), resp);
        if (r <= 0)
                return r;
        r = read_budget(body, resp, &budget);
        if (r <= 0)
                return r;

        PATH_USER_OR_RETURN(req, resp, &id, &target);

        role = json_get_string(body, "role", NULL);
        if (streq_ptr(role, "normal")) {
                r = check_not_last_admin(req->manager->db, target, resp, &ok);
                if (r < 0)
                        return r;
                if (!ok)
                        return 0;
        }

        c = user_change_new(req, id, body, role, TAKE_PTR(budget));
        if (!c)
                return -ENOMEM;
        return user_change_submit(req, resp, c, NULL);
}

static int users_id_delete(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *target = NULL;
        int64_t id;
        bool ok;
        int r;

        PATH_USER_OR_RETURN(req, resp, &id, &target);

        r = check_not_last_admin(req->manager->db, target, resp, &ok);
        if (r < 0)
                return r;
        if (!ok)
                return 0;

        r = store_user_deactivate(req->manager->db, id);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;
        return http_reply_no_content(resp);
}

static int users_id_keys_post(HttpRequest *req, HttpResponse *resp) {
        int64_t id;

        PATH_USER_OR_RETURN(req, resp, &id, NULL);
        return create_key(req, resp, id);
}

static int users_id_keys_get(HttpRequest *req, HttpResponse *resp) {
        int64_t id;

        PATH_USER_OR_RETURN(req, resp, &id, NULL);
        return list_keys(req, resp, id);
}

static int users_id_keys_delete(HttpRequest *req, HttpResponse *resp) {
        int64_t id;

        PATH_USER_OR_RETURN(req, resp, &id, NULL);
        return revoke_key(req, resp, id);
}

/* The router prefers literal segments, so /users/me/… wins over /users/{id}/…. */
const Route user_routes[] = {
        { HTTP_GET, "/api/v1/users/me/", users_me_get, AUTH_USER },
        { HTTP_PATCH, "/api/v1/users/me/", users_me_patch, AUTH_USER },
        { HTTP_POST, "/api/v1/users/me/keys/", users_me_keys_post, AUTH_USER },
        { HTTP_GET, "/api/v1/users/me/keys/", users_me_keys_get, AUTH_USER },
        { HTTP_DELETE, "/api/v1/users/me/keys/{key_id}/", users_me_keys_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/users/", users_post, AUTH_ADMIN },
        { HTTP_GET, "/api/v1/users/", users_get, AUTH_ADMIN },
        { HTTP_GET, "/api/v1/users/{id}/", users_id_get, AUTH_ADMIN },
        { HTTP_PATCH, "/api/v1/users/{id}/", users_id_patch, AUTH_ADMIN },
        { HTTP_DELETE, "/api/v1/users/{id}/", users_id_delete, AUTH_ADMIN },
        { HTTP_POST, "/api/v1/users/{id}/keys/", users_id_keys_post, AUTH_ADMIN },
        { HTTP_GET, "/api/v1/users/{id}/keys/", users_id_keys_get, AUTH_ADMIN },
        { HTTP_DELETE, "/api/v1/users/{id}/keys/{key_id}/", users_id_keys_delete, AUTH_ADMIN },
        {}
};
