/* /api/v1/auth/: logging in with a password for a session key (or, for a user with MFA
 * on, for a login token that api-mfa.c takes with the code), logging out, and who am I. */

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>

#include "api/mfa-check.h"
#include "api/router.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/work-pool.h"
#include "daemon/manager.h"
#include "store/store-api-keys.h"
#include "store/store-mfa.h"
#include "store/store-users.h"

/* An unknown username is checked against this hash, so that it costs as much time as a
 * wrong password and the answer's timing does not tell which usernames exist. */
static int dummy_password_hash(const char **ret) {
        static char *hash = NULL;
        int r;

        if (!hash) {
                r = password_hash("pipelit: no such user", &hash);
                if (r < 0)
                        return r;
        }
        *ret = hash;
        return 0;
}

/* A login waiting for its password check, which runs on the work pool: Argon2id takes tens
 * of milliseconds on purpose, and on the I/O thread every other request would wait. */
typedef struct LoginCheck {
        Manager *manager;
        HttpDeferred *deferred;
        char *username, *peer, *password, *password_hash;
        int64_t user_id;
        bool is_active, mfa_enabled, valid;
} LoginCheck;

static LoginCheck *login_check_free(LoginCheck *c) {
        if (!c)
                return NULL;
        free(c->username);
        free(c->peer);
        if (c->password)
                sodium_memzero(c->password, strlen(c->password));
        free(c->password);
        free(c->password_hash);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(LoginCheck *, login_check_free);

static json_t *invalid_credentials(const LoginCheck *c) {
        log_info("Failed login for '%.150s' from %s.", c->username, c->peer ?: "unknown peer");
        return json_pack("{s:s}", "detail", "Invalid credentials.");
}

static void login_check_run(WorkPool *pool, void *userdata) {
        LoginCheck *c = userdata;

        /* Verified even for an unknown or deactivated user (against a dummy hash), so the
         * answer takes as long as for any other and does not tell who exists. */
        c->valid = password_verify(c->password_hash, c->password);
}

static void login_check_done(void *userdata, bool cancelled) {
        _cleanup_(login_check_freep) LoginCheck *c = userdata;
        _cleanup_free_ char *key = NULL;
        int r;

        if (cancelled) {
                http_deferred_complete(c->deferred, 503, json_pack("{s:s}", "detail", "The daemon is stopping."));
                return;
        }
        if (!c->valid || !c->is_active || c->user_id == 0) {
                http_deferred_complete(c->deferred, 401, invalid_credentials(c));
                return;
        }
        if (c->mfa_enabled) {
                /* The password alone is not enough: a token that waits for the code. */
                r = store_mfa_token_create(c->manager->db, c->user_id, now_realtime_usec() + MFA_LOGIN_TOKEN_USEC,
                                           &key);
                if (r < 0) {
                        log_error_errno(r, "Cannot create an MFA login token for user %" PRIi64 ": %m", c->user_id);
                        http_deferred_complete(c->deferred, 500, json_pack("{s:s}", "detail", "Internal Server Error"));
                        return;
                }
                http_deferred_complete(c->deferred, 200, json_pack("{s:s,s:b,s:s}", "key", "", "requires_mfa", true,
                                                                   "mfa_token", key));
                return;
        }
        r = store_api_key_create_session(c->manager->db, c->user_id, &key);
        if (r < 0) {
                log_error_errno(r, "Cannot create a session key for user %" PRIi64 ": %m", c->user_id);
                http_deferred_complete(c->deferred, 500, json_pack("{s:s}", "detail", "Internal Server Error"));
                return;
        }
        http_deferred_complete(c->deferred, 200, json_pack("{s:s,s:b}", "key", key, "requires_mfa", false));
}

static int auth_token(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "username", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
                { "password", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
        };
        _cleanup_json_ json_t *body = NULL;
        _cleanup_(user_login_done) UserLogin login = {};
        _cleanup_(login_check_freep) LoginCheck *c = NULL;
        const char *dummy;
        int r;

        body = http_request_checked_object(req, resp, fields, ELEMENTSOF(fields));
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        c = calloc(1, sizeof(LoginCheck));
        if (!c)
                return -ENOMEM;
        c->manager = req->manager;
        c->username = strdup(json_get_string(body, "username", ""));
        c->password = strdup(json_get_string(body, "password", ""));
        c->peer = req->peer ? strdup(req->peer) : NULL;
        if (!c->username || !c->password || (req->peer && !c->peer))
                return -ENOMEM;

        r = store_user_find_login(req->manager->db, c->username, &login);
        if (r == -ENOENT) {
                r = dummy_password_hash(&dummy);
                if (r < 0)
                        return r;
                c->password_hash = strdup(dummy);
        } else if (r < 0)
                return r;
        else {
                c->password_hash = strdup(login.password_hash);
                c->user_id = login.id;
                c->is_active = login.is_active;
                c->mfa_enabled = login.mfa_enabled;
        }
        if (!c->password_hash)
                return -ENOMEM;

        c->deferred = http_defer(req, resp);
        if (!c->deferred)
                return -ENOMEM;
        r = work_pool_submit(req->manager->work_pool, login_check_run, login_check_done, c);
        if (r < 0) {
                /* Full: many logins at once (a guessing attack, say) wait their turn no longer. */
                http_deferred_complete(c->deferred, 503,
                                       json_pack("{s:s}", "detail", r == -EAGAIN ?
                                                 "Too many logins at once; try again shortly." :
                                                 "The daemon is stopping."));
                return 0;
        }
        TAKE_PTR(c);
        return 0;
}

static int auth_me(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *user = NULL, *out = NULL;
        int r;

        r = store_user_get(req->manager->db, req->user.id, &user);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;

        out = json_pack("{s:O,s:O,s:O,s:O}",
                        "id", json_object_get(user, "id"),
                        "username", json_object_get(user, "username"),
                        "role", json_object_get(user, "role"),
                        "mfa_enabled", json_object_get(user, "mfa_enabled"));
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, TAKE_PTR(out));
}

/* Ends the session of the key that asks: a login's key is deleted, another key revoked. */
static int auth_logout(HttpRequest *req, HttpResponse *resp) {
        int r;

        r = store_api_key_log_out(req->manager->db, req->user.key_id);
        if (r < 0 && r != -ENOENT)
                return r;
        return http_reply_no_content(resp);
}

const Route auth_routes[] = {
        { HTTP_POST, "/api/v1/auth/token/", auth_token, AUTH_NONE },
        { HTTP_POST, "/api/v1/auth/logout/", auth_logout, AUTH_USER },
        { HTTP_GET, "/api/v1/auth/me/", auth_me, AUTH_USER },
        {}
};
