/* /api/v1/auth/mfa/: a second factor (TOTP) for password logins. setup makes a secret that
 * verify turns on with a first code; disable turns it off with a code; status tells; and
 * login-verify finishes a password login with the token POST /auth/token/ gave and a code.
 *
 * Unlike the reference, login-verify wants that token (proof of the password), not a bare
 * username, and the emergency reset is a D-Bus method (DisableMfa, `pipelitctl user
 * disable-mfa`) rather than an HTTP endpoint trusting loopback clients. */

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>

#include "api/mfa-check.h"
#include "api/router.h"
#include "common/base32.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/totp.h"
#include "common/vault.h"
#include "daemon/manager.h"
#include "store/store-api-keys.h"
#include "store/store-mfa.h"

/* s with everything but RFC 3986's unreserved characters percent-encoded. */
static char *uri_escape(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(strlen(s) * 3 + 1), *p = out;

        if (!out)
                return NULL;
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
                        *p++ = (char) c;
                } else {
                        *p++ = '%';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 0xf];
                }
        }
        *p = '\0';
        return out;
}

/* The otpauth:// URI authenticator apps read (often from a QR code). */
static char *provisioning_uri(const char *username, const char *secret) {
        _cleanup_free_ char *label = uri_escape(username);
        char *uri;

        if (!label)
                return NULL;
        if (asprintf(&uri, "otpauth://totp/" MFA_ISSUER ":%s?secret=%s&issuer=" MFA_ISSUER, label, secret) < 0)
                return NULL;
        return uri;
}

/* The body as an object with fields, whose "code" is TOTP_DIGITS digits. NULL with resp
 * holding the 400 or 422, or NULL with resp untouched when memory ran out. */
static json_t *read_code_body(HttpRequest *req, HttpResponse *resp, const JsonField *fields, size_t n_fields) {
        _cleanup_json_ json_t *body = NULL, *errors = json_array();
        json_t *code;

        if (!errors)
                return NULL;
        body = http_request_json_object(req, resp);
        if (!body)
                return NULL;

        json_check_fields(body, fields, n_fields, errors);
        code = json_object_get(body, "code");
        if (json_is_string(code) && !totp_code_is_well_formed(json_string_value(code)))
                json_error_append(errors, "code", "string_pattern_mismatch", "The code is 6 digits.");
        if (json_array_size(errors) > 0) {
                http_reply_detail(resp, 422, TAKE_PTR(errors));
                return NULL;
        }
        return TAKE_PTR(body);
}

static const JsonField code_fields[] = {
        { "code", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
};

static int mfa_get_own(HttpRequest *req, HttpResponse *resp, UserMfa *ret) {
        int r;

        r = store_mfa_get(req->manager->db, req->user.id, ret);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        return r < 0 ? r : 1;
}

/* A new secret, kept sealed and not in use until verify confirms a code of it. */
static int mfa_setup(HttpRequest *req, HttpResponse *resp) {
        _cleanup_(user_mfa_done) UserMfa mfa = {};
        _cleanup_erase_ char *secret = NULL;
        _cleanup_free_ char *context = NULL, *sealed = NULL, *uri = NULL;
        uint8_t bytes[TOTP_SECRET_SIZE];
        int r;

        r = mfa_get_own(req, resp, &mfa);
        if (r <= 0)
                return r;
        if (mfa.enabled)
                return http_reply_error(resp, 409, "MFA is enabled already; disable it first.");
        if (!req->manager->vault)
                return -ENOKEY;

        randombytes_buf(bytes, sizeof(bytes));
        secret = base32_encode(bytes, sizeof(bytes));
        sodium_memzero(bytes, sizeof(bytes));
        if (!secret)
                return -ENOMEM;
        r = mfa_secret_context(req->user.id, &context);
        if (r < 0)
                return r;
        r = vault_seal(req->manager->vault, context, secret, strlen(secret), &sealed);
        if (r < 0)
                return r;

        r = store_mfa_set_secret(req->manager->db, req->user.id, sealed);
        if (r == -EBUSY)
                return http_reply_error(resp, 409, "MFA is enabled already; disable it first.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;

        uri = provisioning_uri(req->user.username, secret);
        if (!uri)
                return -ENOMEM;
        log_info("User '%s' made a new MFA secret; it is off until a code confirms it.", req->user.username);
        return http_reply_json(resp, 200, json_pack("{s:s,s:s}", "secret", secret, "provisioning_uri", uri));
}

/* Checks the caller's code; 1 when it is accepted, 0 when resp holds the refusal. */
static int check_own_code(HttpRequest *req, HttpResponse *resp, const char *code) {
        MfaResult result;
        int r;

        r = mfa_check_code(req->manager->db, req->manager->vault, req->user.id, code, &result);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;
        if (result.verdict == MFA_ACCEPTED)
                return 1;

        if (result.verdict == MFA_LOCKED)
                log_warning("MFA of user '%s' is locked after %d wrong codes in a row.", req->user.username,
                            MFA_FAILURES_BEFORE_LOCKOUT);
        else
                log_info("MFA code of user '%s' refused: %s.", req->user.username, mfa_verdict_to_string(result.verdict));
        r = mfa_reply_refusal(resp, &result, 400);
        return r < 0 ? r : 0;
}

/* Turning MFA on (verify) or off (disable): both take a code of the user's authenticator. */
typedef struct MfaSwitch {
        bool enable;
        int (*store)(Db *db, int64_t user_id);
        int wrong_state_status;         /* MFA is on already / not on */
        const char *wrong_state, *not_found;
        int not_found_status;
} MfaSwitch;

static const MfaSwitch turn_on = {
        .enable = true,
        .store = store_mfa_enable,
        .wrong_state_status = 409,
        .wrong_state = "MFA is enabled already.",
        .not_found_status = 400,
        .not_found = "MFA is not set up: POST /api/v1/auth/mfa/setup/ first.",
};

static const MfaSwitch turn_off = {
        .enable = false,
        .store = store_mfa_disable,
        .wrong_state_status = 400,
        .wrong_state = "MFA is not enabled.",
        .not_found_status = 404,
        .not_found = "User not found.",
};

static int mfa_switch(HttpRequest *req, HttpResponse *resp, const MfaSwitch *to) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_(user_mfa_done) UserMfa mfa = {};
        int r;

        body = read_code_body(req, resp, code_fields, ELEMENTSOF(code_fields));
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        r = mfa_get_own(req, resp, &mfa);
        if (r <= 0)
                return r;
        if (mfa.enabled == to->enable)
                return http_reply_error(resp, to->wrong_state_status, "%s", to->wrong_state);

        r = check_own_code(req, resp, json_get_string(body, "code", ""));
        if (r <= 0)
                return r;
        r = to->store(req->manager->db, req->user.id);
        if (r == -ENOENT)
                return http_reply_error(resp, to->not_found_status, "%s", to->not_found);
        if (r < 0)
                return r;
        log_info("User '%s' turned MFA %s.", req->user.username, to->enable ? "on" : "off");
        return http_reply_json(resp, 200, json_pack("{s:b}", "mfa_enabled", to->enable));
}

static int mfa_verify(HttpRequest *req, HttpResponse *resp) {
        return mfa_switch(req, resp, &turn_on);
}

static int mfa_disable(HttpRequest *req, HttpResponse *resp) {
        return mfa_switch(req, resp, &turn_off);
}

static int mfa_status(HttpRequest *req, HttpResponse *resp) {
        _cleanup_(user_mfa_done) UserMfa mfa = {};
        int r;

        r = mfa_get_own(req, resp, &mfa);
        if (r <= 0)
                return r;
        return http_reply_json(resp, 200, json_pack("{s:b}", "mfa_enabled", mfa.enabled));
}

static int invalid_login_token(HttpRequest *req, HttpResponse *resp) {
        log_info("MFA login with an unknown, used or expired token from %s.", req->peer ?: "unknown peer");
        return http_reply_error(resp, 401, "Invalid or expired MFA token; log in again.");
}

/* The second half of a login: the token of the password, and a code. */
static int mfa_login_verify(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "mfa_token", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY },
                { "code", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
        };
        _cleanup_json_ json_t *body = NULL;
        _cleanup_free_ char *key = NULL;
        const char *token;
        MfaResult result;
        int64_t user_id;
        int r;

        body = read_code_body(req, resp, fields, ELEMENTSOF(fields));
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        token = json_get_string(body, "mfa_token", "");

        r = store_mfa_token_find(req->manager->db, token, &user_id);
        if (r == -ENOENT)
                return invalid_login_token(req, resp);
        if (r < 0)
                return r;

        r = mfa_check_code(req->manager->db, req->manager->vault, user_id, json_get_string(body, "code", ""), &result);
        if (r == -ENOENT)
                return invalid_login_token(req, resp);
        if (r < 0)
                return r;
        if (result.verdict != MFA_ACCEPTED) {
                if (result.verdict == MFA_LOCKED)
                        log_warning("MFA of user %" PRIi64 " is locked after %d wrong codes in a row (from %s).",
                                    user_id, MFA_FAILURES_BEFORE_LOCKOUT, req->peer ?: "unknown peer");
                else
                        log_info("Failed MFA login for user %" PRIi64 " from %s: %s.", user_id,
                                 req->peer ?: "unknown peer", mfa_verdict_to_string(result.verdict));
                return mfa_reply_refusal(resp, &result, 401);
        }

        /* Single use: a second request with the same token finds it gone. */
        r = store_mfa_token_use(req->manager->db, token);
        if (r == -ENOENT)
                return invalid_login_token(req, resp);
        if (r < 0)
                return r;
        r = store_api_key_create_session(req->manager->db, user_id, &key);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, json_pack("{s:s,s:b}", "key", key, "requires_mfa", false));
}

/* The reference's emergency reset trusted any client on loopback; here it is an
 * administrator's D-Bus call. */
static int mfa_reset(HttpRequest *req, HttpResponse *resp) {
        return http_reply_error(resp, 403,
                                "MFA is reset on the server, by an administrator: pipelitctl user disable-mfa USERNAME.");
}

const Route mfa_routes[] = {
        { HTTP_POST, "/api/v1/auth/mfa/setup/", mfa_setup, AUTH_USER },
        { HTTP_POST, "/api/v1/auth/mfa/verify/", mfa_verify, AUTH_USER },
        { HTTP_POST, "/api/v1/auth/mfa/disable/", mfa_disable, AUTH_USER },
        { HTTP_GET, "/api/v1/auth/mfa/status/", mfa_status, AUTH_USER },
        { HTTP_POST, "/api/v1/auth/mfa/login-verify/", mfa_login_verify, AUTH_NONE },
        { HTTP_POST, "/api/v1/auth/mfa/reset/", mfa_reset, AUTH_NONE },
        {}
};
