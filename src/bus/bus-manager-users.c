/* The Manager's users and API keys: CreateUser, SetPassword, ListUsers, DisableMfa,
 * CreateApiKey, ListApiKeys, RevokeApiKey. Input is checked as the REST API checks it
 * (api/user-check.h), with the same words. Argon2id takes tens of milliseconds on purpose:
 * passwords are hashed on the work pool and the call is answered when that is done. */

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>

#include "api/http.h"
#include "api/user-check.h"
#include "bus/bus-manager-internal.h"
#include "bus/bus-polkit.h"
#include "bus/bus-util.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/work-pool.h"
#include "daemon/manager.h"
#include "store/store-api-keys.h"
#include "store/store-mfa.h"
#include "store/store-users.h"

/* A key's lifetime in days at most (0: it never expires). */
#define API_KEY_DAYS_MAX 36500
#define USEC_PER_DAY (UINT64_C(86400) * UINT64_C(1000000))

/* errors as the REST API's 422 has them, as one InvalidArgument. */
static int reply_invalid(json_t *errors, sd_bus_error *error) {
        _cleanup_(http_response_done) HttpResponse resp = { .status = 422 };

        resp.json = json_pack("{s:O}", "detail", errors);
        if (!resp.json)
                return -ENOMEM;
        return bus_error_from_response(&resp, BUS_ERROR_NO_SUCH_USER, error);
}

/* The id of the active user called username; NoSuchUser when there is none. */
static int find_user(Manager *m, const char *username, int64_t *ret_id, sd_bus_error *error) {
        _cleanup_(user_login_done) UserLogin login = {};
        int r;

        r = store_user_find_login(m->db, username, &login);
        if (r == -ENOENT || (r >= 0 && !login.is_active))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_USER, "User '%s' not found.", username);
        if (r < 0)
                return r;
        *ret_id = login.id;
        return 0;
}

/* A password to hash on the work pool, and what to do with the hash afterwards: create the
 * user (user_id 0) or set the password of user_id. */
typedef struct PasswordJob {
        Manager *manager;
        sd_bus_message *call;   /* answered when done */
        char *username, *role;
        int64_t user_id;
        char *password, *hash;
        int result;
} PasswordJob;

static PasswordJob *password_job_free(PasswordJob *j) {
        if (!j)
                return NULL;
        sd_bus_message_unref(j->call);
        free(j->username);
        free(j->role);
        if (j->password)
                sodium_memzero(j->password, strlen(j->password));
        free(j->password);
        free(j->hash);
        free(j);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(PasswordJob *, password_job_free);

static PasswordJob *password_job_new(Manager *m, sd_bus_message *call, const char *username, const char *password) {
        _cleanup_(password_job_freep) PasswordJob *j = calloc(1, sizeof(PasswordJob));

        if (!j)
                return NULL;
        j->manager = m;
        j->call = sd_bus_message_ref(call);
        j->username = strdup(username);
        j->password = strdup(password);
        if (!j->username || !j->password)
                return NULL;
        return TAKE_PTR(j);
}

static void password_job_run(WorkPool *pool, void *userdata) {
        PasswordJob *j = userdata;

        j->result = password_hash(j->password, &j->hash);
        sodium_memzero(j->password, strlen(j->password));
}

static int password_job_finish(PasswordJob *j, sd_bus_error *error) {
        _cleanup_json_ json_t *user = NULL;
        const char *sender = sd_bus_message_get_sender(j->call) ?: "?";
        int64_t id;
        int r;

        if (j->result < 0)
                return log_error_errno(j->result, "Cannot hash the password for '%s': %m", j->username);

        if (j->user_id == 0) {
                r = store_user_create(j->manager->db, j->username, j->hash, j->role ?: "normal", "", "", &user);
                if (r == -EEXIST)
                        return sd_bus_error_set(error, BUS_ERROR_USER_EXISTS, "Username already exists.");
                if (r < 0)
                        return log_error_errno(r, "Cannot create user '%s': %m", j->username);
                id = json_get_integer(user, "id", 0);
                log_info("Created user '%s' (%s, id %" PRIi64 ") for D-Bus caller %s.", j->username,
                         j->role ?: "normal", id, sender);
                return sd_bus_reply_method_return(j->call, "t", (uint64_t) id);
        }

        r = store_user_update(j->manager->db, j->user_id, &(UserUpdate) { .password_hash = j->hash }, NULL);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_USER, "User '%s' not found.", j->username);
        if (r < 0)
                return log_error_errno(r, "Cannot set the password of '%s': %m", j->username);
        log_info("Set the password of user '%s' for D-Bus caller %s.", j->username, sender);
        return sd_bus_reply_method_return(j->call, NULL);
}

static void password_job_done(void *userdata, bool cancelled) {
        _cleanup_(password_job_freep) PasswordJob *j = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (cancelled) {
                (void) sd_bus_reply_method_errorf(j->call, BUS_ERROR_NOT_RUNNING, "The daemon is stopping.");
                return;
        }
        r = password_job_finish(j, &error);
        if (r < 0 && sd_bus_error_is_set(&error))
                r = sd_bus_reply_method_error(j->call, &error);
        else if (r < 0)
                r = sd_bus_reply_method_errno(j->call, r, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot answer %s: %m", sd_bus_message_get_member(j->call));
}

/* Hands j to the work pool; 1 (handled: the answer comes later) or an error. */
static int password_job_submit(Manager *m, PasswordJob *j, sd_bus_error *error) {
        int r;

        r = work_pool_submit(m->work_pool, password_job_run, password_job_done, j);
        if (r == -EAGAIN) {
                password_job_free(j);
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                        "Too many passwords being hashed at once; try again shortly.");
        }
        if (r < 0) {
                password_job_free(j);
                return r;
        }
        return 1;
}

int bus_method_create_user(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const JsonField fields[] = {
                { "username", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
                { "password", JSON_FIELD_STRING, JSON_FIELD_REQUIRED },
                { "role", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = user_role_choices },
        };
        _cleanup_json_ json_t *body = NULL, *errors = json_array();
        _cleanup_(user_login_done) UserLogin existing = {};
        Manager *m = userdata;
        const char *username, *password, *role;
        PasswordJob *j;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_USERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "sss", &username, &password, &role);
        if (r < 0)
                return r;

        body = json_pack("{s:s, s:s, s:s?}", "username", username, "password", password, "role",
                         isempty(role) ? NULL : role);
        if (!body || !errors)
                return -ENOMEM;
        user_check_body(body, fields, ELEMENTSOF(fields), errors);
        if (json_array_size(errors) > 0)
                return reply_invalid(errors, error);

        /* Saves hashing for nothing; the store refuses a name taken in between anyway. */
        r = store_user_find_login(m->db, username, &existing);
        if (r >= 0)
                return sd_bus_error_set(error, BUS_ERROR_USER_EXISTS, "Username already exists.");
        if (r != -ENOENT)
                return r;

        j = password_job_new(m, message, username, password);
        if (!j)
                return -ENOMEM;
        j->role = isempty(role) ? NULL : strdup(role);
        if (!isempty(role) && !j->role) {
                password_job_free(j);
                return -ENOMEM;
        }
        return password_job_submit(m, j, error);
}

int bus_method_set_password(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_json_ json_t *body = NULL, *errors = json_array();
        Manager *m = userdata;
        const char *username, *password;
        PasswordJob *j;
        int64_t id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_USERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "ss", &username, &password);
        if (r < 0)
                return r;

        body = json_pack("{s:s}", "password", password);
        if (!body || !errors)
                return -ENOMEM;
        user_check_length(body, errors, "password", USER_PASSWORD_MIN, USER_PASSWORD_MAX);
        if (json_array_size(errors) > 0)
                return reply_invalid(errors, error);
        r = find_user(m, username, &id, error);
        if (r < 0)
                return r;

        j = password_job_new(m, message, username, password);
        if (!j)
                return -ENOMEM;
        j->user_id = id;
        return password_job_submit(m, j, error);
}

int bus_method_list_users(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        json_t *users = NULL;
        int64_t total;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_USERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = store_user_list(m->db, INT32_MAX, 0, &users, &total);
        if (r < 0)
                return r;
        return bus_reply_json(message, json_pack("{s:o, s:I}", "users", users, "total", (json_int_t) total));
}

/* The emergency exit of a user who lost their authenticator: MFA off, secret wiped. */
int bus_method_disable_mfa(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *username;
        int64_t id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_USERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "s", &username);
        if (r < 0)
                return r;
        r = find_user(m, username, &id, error);
        if (r < 0)
                return r;
        r = store_mfa_disable(m->db, id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_USER, "User '%s' not found.", username);
        if (r < 0)
                return r;
        log_notice("Turned MFA off for user '%s' for D-Bus caller %s.", username,
                   sd_bus_message_get_sender(message) ?: "?");
        return sd_bus_reply_method_return(message, NULL);
}

int bus_method_create_api_key(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_json_ json_t *body = NULL, *errors = json_array();
        Manager *m = userdata;
        const char *username, *name;
        json_t *key = NULL;
        uint32_t days;
        int64_t id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_KEYS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "ssu", &username, &name, &days);
        if (r < 0)
                return r;

        body = json_pack("{s:s}", "name", name);
        if (!body || !errors)
                return -ENOMEM;
        api_key_check_name(body, errors);
        if (json_array_size(errors) > 0)
                return reply_invalid(errors, error);
        if (days > API_KEY_DAYS_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                         "expires_in_days must be at most %d (0: the key never expires).",
                                         API_KEY_DAYS_MAX);
        r = find_user(m, username, &id, error);
        if (r < 0)
                return r;

        r = store_api_key_create(m->db, id, name, days > 0 ? now_realtime_usec() + days * USEC_PER_DAY : 0, &key);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_USER, "User '%s' not found.", username);
        if (r < 0)
                return r;
        log_info("Created API key %" PRIi64 " '%s' of user '%s' for D-Bus caller %s.", json_get_integer(key, "id", 0),
                 name, username, sd_bus_message_get_sender(message) ?: "?");
        return bus_reply_json(message, key);
}

int bus_method_list_api_keys(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *username;
        json_t *keys = NULL;
        int64_t id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_KEYS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "s", &username);
        if (r < 0)
                return r;
        r = find_user(m, username, &id, error);
        if (r < 0)
                return r;
        r = store_api_key_list(m->db, id, &keys);
        if (r < 0)
                return r;
        return bus_reply_json(message, keys);
}

int bus_method_revoke_api_key(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *username;
        uint64_t key_id;
        int64_t id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_KEYS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "st", &username, &key_id);
        if (r < 0)
                return r;
        r = find_user(m, username, &id, error);
        if (r < 0)
                return r;
        r = key_id > 0 && key_id <= INT64_MAX ? store_api_key_revoke(m->db, id, (int64_t) key_id) : -ENOENT;
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_API_KEY, "User '%s' has no API key %" PRIu64 ".",
                                         username, key_id);
        if (r < 0)
                return r;
        log_info("Revoked API key %" PRIu64 " of user '%s' for D-Bus caller %s.", key_id, username,
                 sd_bus_message_get_sender(message) ?: "?");
        return sd_bus_reply_method_return(message, NULL);
}
