/* Users in the database. The SQL runs unchanged on SQLite and PostgreSQL: text parameters,
 * TRUE/FALSE literals, bare boolean columns in conditions. */

#include <errno.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "store/store-api-keys.h"
#include "store/store-users.h"
#include "store/store-workflows.h"

/* The columns of UserOut, in the order user_out_from_row() reads them. */
#define USER_OUT_COLUMNS                                                                    \
        "u.id, u.username, u.role, u.first_name, u.last_name, u.created_at, u.mfa_enabled, " \
        "(SELECT COUNT(*) FROM api_keys k WHERE k.user_id = u.id AND k.is_active), u.budget "

bool user_name_is_valid(const char *s) {
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++) {
                char c = s[n];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("_.@+-", c)))
                        return false;
                if (n >= USER_NAME_MAX)
                        return false;
        }
        return n > 0;
}

void user_login_done(UserLogin *l) {
        if (!l)
                return;
        free(l->password_hash);
        *l = (UserLogin) {};
}

/* The limits an admin set ({} when none). */
static json_t *user_budget_from_row(const DbResult *r, size_t row, size_t col) {
        json_t *budget = store_column_json(r, row, col, NULL);

        if (json_is_object(budget))
                return budget;
        json_decref(budget);
        return json_object();
}

static json_t *user_out_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *u = json_object();

        /* Literal keys skip the UTF-8 check; a NULL value (out of memory) fails the set. */
        if (!u ||
            json_object_set_new_nocheck(u, "id", json_integer(db_result_get_int64(r, row, 0))) < 0 ||
            json_object_set_new_nocheck(u, "username", store_column_string(r, row, 1)) < 0 ||
            json_object_set_new_nocheck(u, "role", store_column_string(r, row, 2)) < 0 ||
            json_object_set_new_nocheck(u, "first_name", store_column_string(r, row, 3)) < 0 ||
            json_object_set_new_nocheck(u, "last_name", store_column_string(r, row, 4)) < 0 ||
            json_object_set_new_nocheck(u, "created_at", store_column_string(r, row, 5)) < 0 ||
            json_object_set_new_nocheck(u, "mfa_enabled", json_boolean(db_result_get_bool(r, row, 6))) < 0 ||
            json_object_set_new_nocheck(u, "key_count", json_integer(db_result_get_int64(r, row, 7))) < 0 ||
            json_object_set_new_nocheck(u, "budget", user_budget_from_row(r, row, 8)) < 0)
                return NULL;

        return TAKE_PTR(u);
}

int store_user_find_login(Db *db, const char *username, UserLogin *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char *hash;
        int r;

        r = db_queryv(db, &res,
                      "SELECT id, password_hash, is_active, mfa_enabled FROM users WHERE username = ?",
                      username);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        hash = strdup(db_result_get(res, 0, 1) ?: "");
        if (!hash)
                return -ENOMEM;
        *ret = (UserLogin) {
                .id = db_result_get_int64(res, 0, 0),
                .password_hash = hash,
                .is_active = db_result_get_bool(res, 0, 2),
                .mfa_enabled = db_result_get_bool(res, 0, 3),
        };
        return 0;
}

int store_user_password_hash(Db *db, int64_t id, char **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char idbuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT password_hash FROM users WHERE id = ? AND is_active", db_int(idbuf, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret = strdup(db_result_get(res, 0, 0) ?: "");
        return *ret ? 0 : -ENOMEM;
}

int store_user_get(Db *db, int64_t id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char idbuf[DB_INT_BUFSZ];
        json_t *user;
        int r;

        r = db_queryv(db, &res,
                      "SELECT " USER_OUT_COLUMNS "FROM users u WHERE u.id = ? AND u.is_active",
                      db_int(idbuf, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        user = user_out_from_row(res, 0);
        if (!user)
                return -ENOMEM;
        *ret = user;
        return 0;
}

int store_user_create(Db *db, const char *username, const char *password_hash, const char *role,
                      const char *first_name, const char *last_name, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ];
        int r;

        timestamp_now(now);
        r = db_queryv(db, &res,
                      "INSERT INTO users (username, password_hash, role, first_name, last_name, "
                      "is_active, mfa_enabled, created_at, updated_at) "
                      "VALUES (?, ?, ?, ?, ?, TRUE, FALSE, ?, ?) RETURNING id",
                      username, password_hash, role, first_name ?: "", last_name ?: "", now, now);
        if (r < 0)
                return r;
        if (db_result_rows(res) != 1)
                return -EIO;

        return store_user_get(db, db_result_get_int64(res, 0, 0), ret);
}

/* Whoever logged in with the old password (a stolen one, say) is logged out. Keys made
 * for scripts stay: their owner revokes them in the list. */
static int end_sessions(Db *db, const char *user_id, int64_t kept) {
        char keptbuf[DB_INT_BUFSZ];

        return db_queryv(db, NULL, "DELETE FROM api_keys WHERE user_id = ? AND name = ? AND id <> ?", user_id,
                         API_KEY_SESSION_NAME, db_int(keptbuf, kept));
}

int store_user_update(Db *db, int64_t id, const UserUpdate *u, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ], sql[256] = "UPDATE users SET updated_at = ?";
        const char *params[7];
        size_t n = 0;
        int r;

        params[n++] = timestamp_now(now);
        if (u->password_hash) {
                strcat(sql, ", password_hash = ?");
                params[n++] = u->password_hash;
        }
        if (u->role) {
                strcat(sql, ", role = ?");
                params[n++] = u->role;
        }
        if (u->first_name) {
                strcat(sql, ", first_name = ?");
                params[n++] = u->first_name;
        }
        if (u->last_name) {
                strcat(sql, ", last_name = ?");
                params[n++] = u->last_name;
        }
        if (u->budget) {
                strcat(sql, ", budget = ?");
                params[n++] = u->budget;
        }
        strcat(sql, " WHERE id = ? AND is_active RETURNING id");
        params[n++] = db_int(idbuf, id);

        r = db_begin(db);
        if (r < 0)
                return r;
        r = db_query(db, &res, sql, n, params);
        if (r >= 0 && db_result_rows(res) == 0)
                r = -ENOENT;
        if (r >= 0 && u->password_hash)
                r = end_sessions(db, idbuf, u->session_kept);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        return ret ? store_user_get(db, id, ret) : 0;
}

int store_user_count_admins(Db *db, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active", 0, NULL);
        if (r < 0)
                return r;
        if (db_result_rows(res) != 1)
                return -EIO;

        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

static int user_deactivate_in_transaction(Db *db, int64_t id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        db_int(idbuf, id);
        r = db_queryv(db, &res,
                      "UPDATE users SET is_active = FALSE, updated_at = ? "
                      "WHERE id = ? AND is_active RETURNING id",
                      timestamp_now(now), idbuf);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        return db_queryv(db, NULL, "UPDATE api_keys SET is_active = FALSE WHERE user_id = ? AND is_active",
                         idbuf);
}

int store_user_deactivate(Db *db, int64_t id) {
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = user_deactivate_in_transaction(db, id);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        return db_commit(db);
}

int store_user_list(Db *db, int64_t limit, int64_t offset, json_t **ret_items, int64_t *ret_total) {
        _cleanup_(db_result_freep) DbResult *res = NULL, *count = NULL;
        _cleanup_json_ json_t *items = NULL;
        char limitbuf[DB_INT_BUFSZ], offsetbuf[DB_INT_BUFSZ];
        int r;

        r = db_query(db, &count, "SELECT COUNT(*) FROM users WHERE is_active", 0, NULL);
        if (r < 0)
                return r;
        if (db_result_rows(count) != 1)
                return -EIO;

        r = db_queryv(db, &res,
                      "SELECT " USER_OUT_COLUMNS "FROM users u WHERE u.is_active "
                      "ORDER BY u.id LIMIT ? OFFSET ?",
                      db_int(limitbuf, limit), db_int(offsetbuf, offset));
        if (r < 0)
                return r;

        items = json_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(items, user_out_from_row(res, i)) < 0)
                        return -ENOMEM;

        *ret_items = TAKE_PTR(items);
        *ret_total = db_result_get_int64(count, 0, 0);
        return 0;
}
