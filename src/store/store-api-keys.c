/* API keys in the database. Timestamps are compared as text: timestamp_format() writes a
 * fixed-width UTC form, so text order is time order on both backends. */

#include <errno.h>

#include "common/crypto.h"
#include "common/json-util.h"
#include "store/store-api-keys.h"
#include "store/store-workflows.h"

/* last_used_at is bookkeeping: refreshing it on every request would turn each read into a
 * write, so it is refreshed at most this often. */
#define LAST_USED_REFRESH_USEC (60ULL * 1000000ULL)

/* The columns of KeyOut, in the order key_out_from_row() reads them. */
#define KEY_OUT_COLUMNS "id, name, prefix, created_at, last_used_at, expires_at, is_active "

static json_t *key_out_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *k = json_object();

        /* Literal keys skip the UTF-8 check; a NULL value (out of memory) fails the set. */
        if (!k ||
            json_object_set_new_nocheck(k, "id", json_integer(db_result_get_int64(r, row, 0))) < 0 ||
            json_object_set_new_nocheck(k, "name", store_column_string(r, row, 1)) < 0 ||
            json_object_set_new_nocheck(k, "prefix", store_column_string(r, row, 2)) < 0 ||
            json_object_set_new_nocheck(k, "created_at", store_column_string(r, row, 3)) < 0 ||
            json_object_set_new_nocheck(k, "last_used_at", store_column_string(r, row, 4)) < 0 ||
            json_object_set_new_nocheck(k, "expires_at", store_column_string(r, row, 5)) < 0 ||
            json_object_set_new_nocheck(k, "is_active", json_boolean(db_result_get_bool(r, row, 6))) < 0)
                return NULL;

        return TAKE_PTR(k);
}

/* Inserts a new key and returns its id and the key itself. */
static int api_key_insert(Db *db, int64_t user_id, const char *name, usec_t expires_at,
                          int64_t *ret_id, char **ret_key) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *key = NULL, *hash = NULL, *prefix = NULL;
        char now[TIMESTAMP_BUFSZ], expires[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        r = api_key_generate(&key, &hash, &prefix);
        if (r < 0)
                return r;

        r = db_queryv(db, &res,
                      "INSERT INTO api_keys (user_id, key_hash, name, prefix, created_at, expires_at, is_active) "
                      "VALUES (?, ?, ?, ?, ?, ?, TRUE) RETURNING id",
                      db_int(idbuf, user_id), hash, name, prefix, timestamp_now(now),
                      expires_at > 0 ? timestamp_format(expires, expires_at) : NULL);
        if (r == -ENOLINK)
                return -ENOENT;
        if (r < 0)
                return r;
        if (db_result_rows(res) != 1)
                return -EIO;

        *ret_id = db_result_get_int64(res, 0, 0);
        *ret_key = TAKE_PTR(key);
        return 0;
}

static int api_key_get(Db *db, int64_t key_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char idbuf[DB_INT_BUFSZ];
        json_t *key;
        int r;

        r = db_queryv(db, &res, "SELECT " KEY_OUT_COLUMNS "FROM api_keys WHERE id = ?", db_int(idbuf, key_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        key = key_out_from_row(res, 0);
        if (!key)
                return -ENOMEM;
        *ret = key;
        return 0;
}

int store_api_key_create(Db *db, int64_t user_id, const char *name, usec_t expires_at, json_t **ret) {
        _cleanup_free_ char *key = NULL;
        _cleanup_json_ json_t *out = NULL;
        int64_t id;
        int r;

        r = api_key_insert(db, user_id, name, expires_at, &id, &key);
        if (r < 0)
                return r;

        r = api_key_get(db, id, &out);
        if (r < 0)
                return r;
        if (json_object_set_new(out, "key", json_string(key)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(out);
        return 0;
}

int store_api_key_list(Db *db, int64_t user_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *items = NULL;
        char idbuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT " KEY_OUT_COLUMNS "FROM api_keys WHERE user_id = ? ORDER BY id DESC",
                      db_int(idbuf, user_id));
        if (r < 0)
                return r;

        items = json_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(items, key_out_from_row(res, i)) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(items);
        return 0;
}

int store_api_key_revoke(Db *db, int64_t user_id, int64_t key_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char userbuf[DB_INT_BUFSZ], keybuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "UPDATE api_keys SET is_active = FALSE WHERE id = ? AND user_id = ? RETURNING id",
                      db_int(keybuf, key_id), db_int(userbuf, user_id));
        if (r < 0)
                return r;

        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

int store_api_key_delete(Db *db, int64_t user_id, int64_t key_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char userbuf[DB_INT_BUFSZ], keybuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "DELETE FROM api_keys WHERE id = ? AND user_id = ? RETURNING id",
                      db_int(keybuf, key_id), db_int(userbuf, user_id));
        if (r < 0)
                return r;

        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

static int create_session_in_transaction(Db *db, int64_t user_id, char **ret_key) {
        char idbuf[DB_INT_BUFSZ], keepbuf[DB_INT_BUFSZ];
        int64_t id;
        int r;

        r = api_key_insert(db, user_id, API_KEY_SESSION_NAME, 0, &id, ret_key);
        if (r < 0)
                return r;

        return db_queryv(db, NULL,
                         "DELETE FROM api_keys WHERE user_id = ? AND name = ? AND id NOT IN "
                         "(SELECT id FROM api_keys WHERE user_id = ? AND name = ? ORDER BY id DESC LIMIT ?)",
                         db_int(idbuf, user_id), API_KEY_SESSION_NAME, idbuf, API_KEY_SESSION_NAME,
                         db_int(keepbuf, API_KEY_SESSIONS_KEPT));
}

int store_api_key_create_session(Db *db, int64_t user_id, char **ret_key) {
        _cleanup_free_ char *key = NULL;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = create_session_in_transaction(db, user_id, &key);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }

        r = db_commit(db);
        if (r < 0)
                return r;

        *ret_key = TAKE_PTR(key);
        return 0;
}

int store_api_key_log_out(Db *db, int64_t key_id) {
        _cleanup_(db_result_freep) DbResult *deleted = NULL, *revoked = NULL;
        char idbuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &deleted, "DELETE FROM api_keys WHERE id = ? AND name = ? RETURNING id",
                      db_int(idbuf, key_id), API_KEY_SESSION_NAME);
        if (r < 0)
                return r;
        if (db_result_rows(deleted) > 0)
                return 0;

        r = db_queryv(db, &revoked, "UPDATE api_keys SET is_active = FALSE WHERE id = ? RETURNING id", idbuf);
        if (r < 0)
                return r;
        return db_result_rows(revoked) > 0 ? 0 : -ENOENT;
}

void api_key_owner_done(ApiKeyOwner *o) {
        if (!o)
                return;
        free(o->username);
        free(o->role);
        *o = (ApiKeyOwner) {};
}

static void refresh_last_used(Db *db, const char *key_id, const char *last_used_at) {
        char now[TIMESTAMP_BUFSZ], stale[TIMESTAMP_BUFSZ];
        usec_t t = now_realtime_usec();

        timestamp_format(stale, t - LAST_USED_REFRESH_USEC);
        if (last_used_at && strcmp(last_used_at, stale) >= 0)
                return;

        /* Only bookkeeping: a failed refresh must not lock the caller out. */
        (void) db_queryv(db, NULL,
                         "UPDATE api_keys SET last_used_at = ? "
                         "WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                         timestamp_format(now, t), key_id, stale);
}

int store_api_key_find_owner(Db *db, const char *key_hash, ApiKeyOwner *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *username = NULL, *role = NULL;
        char now[TIMESTAMP_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT k.id, k.last_used_at, u.id, u.username, u.role "
                      "FROM api_keys k JOIN users u ON u.id = k.user_id "
                      "WHERE k.key_hash = ? AND k.is_active AND u.is_active "
                      "AND (k.expires_at IS NULL OR k.expires_at > ?)",
                      key_hash, timestamp_now(now));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        username = strdup(db_result_get(res, 0, 3) ?: "");
        role = strdup(db_result_get(res, 0, 4) ?: "");
        if (!username || !role)
                return -ENOMEM;

        refresh_last_used(db, db_result_get(res, 0, 0), db_result_get(res, 0, 1));

        *ret = (ApiKeyOwner) {
                .key_id = db_result_get_int64(res, 0, 0),
                .user_id = db_result_get_int64(res, 0, 2),
                .username = TAKE_PTR(username),
                .role = TAKE_PTR(role),
        };
        return 0;
}
