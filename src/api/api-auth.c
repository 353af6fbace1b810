/* /api/v1/auth/: logging in with a password for a session key, and who am I. */

#include <errno.h>

#include "api/router.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "store/store-api-keys.h"
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

static int reply_invalid_credentials(HttpRequest *req, HttpResponse *resp, const char *username) {
        log_info("Failed login for '%.150s' from %s.", username, req->peer ?: "unknown peer");
        return http_reply_error(resp, 401, "Invalid credentials.");
}

static int auth_token(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "username", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
                { "password", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
        };
        _cleanup_json_ json_t *body = NULL, *out = NULL;
        _cleanup_(user_login_done) UserLogin login = {};
        _cleanup_free_ char *key = NULL;
        const char *username, *password, *dummy;
        bool valid;
        int r;

        body = http_request_checked_object(req, resp, fields, ELEMENTSOF(fields));
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        username = json_get_string(body, "username", "");
        password = json_get_string(body, "password", "");

        r = store_user_find_login(req->manager->db, username, &login);
        if (r == -ENOENT) {
                r = dummy_password_hash(&dummy);
                if (r < 0)
                        return r;
                (void) password_verify(dummy, password);
                return reply_invalid_credentials(req, resp, username);
        }
        if (r < 0)
                return r;

        /* Verify even for a deactivated user, so that it answers as slowly as any other. */
        valid = password_verify(login.password_hash, password);
        if (!valid || !login.is_active)
                return reply_invalid_credentials(req, resp, username);

        r = store_api_key_replace_session(req->manager->db, login.id, &key);
        if (r < 0)
                return r;

        out = json_pack("{s:s,s:b}", "key", key, "requires_mfa", false);
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, TAKE_PTR(out));
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

const Route auth_routes[] = {
        { HTTP_POST, "/api/v1/auth/token/", auth_token, AUTH_NONE },
        { HTTP_GET, "/api/v1/auth/me/", auth_me, AUTH_USER },
        {}
};
