/* The second factor in the database. Timestamps are compared as text (fixed-width UTC, so
 * text order is time order); integers given as parameters are CAST where they are compared,
 * since SQLite compares an untyped text parameter with a number as text. */

#include <errno.h>
#include <inttypes.h>

#include "common/crypto.h"
#include "store/store-mfa.h"

/* 256 random bits, as hex. */
#define MFA_TOKEN_LEN 64

void user_mfa_done(UserMfa *m) {
        if (!m)
                return;
        free(m->sealed_secret);
        *m = (UserMfa) {};
}

/* A timestamp column: 0 when NULL or unreadable. */
static usec_t column_time(const DbResult *res, size_t row, size_t col) {
        const char *text = db_result_get(res, row, col);
        usec_t t;

        if (!text || timestamp_parse(text, &t) < 0)
                return 0;
        return t;
}

int store_mfa_get(Db *db, int64_t user_id, UserMfa *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *secret = NULL;
        char idbuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT totp_secret, mfa_enabled, totp_last_used_step, mfa_locked_until "
                      "FROM users WHERE id = ? AND is_active",
                      db_int(idbuf, user_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        if (!db_result_is_null(res, 0, 0)) {
                secret = strdup(db_result_get(res, 0, 0));
                if (!secret)
                        return -ENOMEM;
        }
        *ret = (UserMfa) {
                .sealed_secret = TAKE_PTR(secret),
                .enabled = db_result_get_bool(res, 0, 1),
                .last_used_step = db_result_is_null(res, 0, 2) ? -1 : db_result_get_int64(res, 0, 2),
                .locked_until = column_time(res, 0, 3),
        };
        return 0;
}

int store_mfa_set_secret(Db *db, int64_t user_id, const char *sealed_secret) {
        _cleanup_(db_result_freep) DbResult *res = NULL, *user = NULL;
        char now[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "UPDATE users SET totp_secret = ?, totp_last_used_step = NULL, updated_at = ? "
                      "WHERE id = ? AND is_active AND NOT mfa_enabled RETURNING id",
                      sealed_secret, timestamp_now(now), db_int(idbuf, user_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) > 0)
                return 0;

        r = db_queryv(db, &user, "SELECT mfa_enabled FROM users WHERE id = ? AND is_active", idbuf);
        if (r < 0)
                return r;
        return db_result_rows(user) > 0 ? -EBUSY : -ENOENT;
}

int store_mfa_enable(Db *db, int64_t user_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "UPDATE users SET mfa_enabled = TRUE, updated_at = ? "
                      "WHERE id = ? AND is_active AND totp_secret IS NOT NULL RETURNING id",
                      timestamp_now(now), db_int(idbuf, user_id));
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

static int mfa_disable_in_transaction(Db *db, const char *id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char now[TIMESTAMP_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "UPDATE users SET totp_secret = NULL, mfa_enabled = FALSE, totp_last_used_step = NULL, "
                      "mfa_window_start = NULL, mfa_window_attempts = 0, mfa_failed_attempts = 0, "
                      "mfa_locked_until = NULL, updated_at = ? "
                      "WHERE id = ? AND is_active RETURNING id",
                      timestamp_now(now), id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        return db_queryv(db, NULL, "DELETE FROM mfa_login_tokens WHERE user_id = ?", id);
}

int store_mfa_disable(Db *db, int64_t user_id) {
        char idbuf[DB_INT_BUFSZ];
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = mfa_disable_in_transaction(db, db_int(idbuf, user_id));
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        return db_commit(db);
}

int store_mfa_count_attempt(Db *db, int64_t user_id, usec_t now, usec_t window_usec, int64_t *ret_attempts,
                            usec_t *ret_window_start) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char nowbuf[TIMESTAMP_BUFSZ], stale[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        timestamp_format(nowbuf, now);
        timestamp_format(stale, now > window_usec ? now - window_usec : 0);
        /* Every SET expression sees the row as it was: both test the old window start. */
        r = db_queryv(db, &res,
                      "UPDATE users SET "
                      "mfa_window_attempts = CASE WHEN mfa_window_start IS NULL OR mfa_window_start <= ? "
                      "THEN 1 ELSE mfa_window_attempts + 1 END, "
                      "mfa_window_start = CASE WHEN mfa_window_start IS NULL OR mfa_window_start <= ? "
                      "THEN ? ELSE mfa_window_start END "
                      "WHERE id = ? AND is_active RETURNING mfa_window_attempts, mfa_window_start",
                      stale, stale, nowbuf, db_int(idbuf, user_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        *ret_attempts = db_result_get_int64(res, 0, 0);
        *ret_window_start = column_time(res, 0, 1) ?: now;
        return 0;
}

int store_mfa_count_failure(Db *db, int64_t user_id, usec_t now, int64_t max_failures, usec_t lockout_usec,
                            usec_t *ret_locked_until) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char until[TIMESTAMP_BUFSZ], maxbuf[DB_INT_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        timestamp_format(until, now + lockout_usec);
        db_int(maxbuf, max_failures);
        r = db_queryv(db, &res,
                      "UPDATE users SET "
                      "mfa_failed_attempts = CASE WHEN mfa_failed_attempts + 1 >= CAST(? AS BIGINT) "
                      "THEN 0 ELSE mfa_failed_attempts + 1 END, "
                      "mfa_locked_until = CASE WHEN mfa_failed_attempts + 1 >= CAST(? AS BIGINT) "
                      "THEN ? ELSE mfa_locked_until END "
                      "WHERE id = ? AND is_active RETURNING mfa_failed_attempts, mfa_locked_until",
                      maxbuf, maxbuf, until, db_int(idbuf, user_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        /* The count starts again only when this failure locked it. */
        *ret_locked_until = db_result_get_int64(res, 0, 0) == 0 ? column_time(res, 0, 1) : 0;
        return 0;
}

int store_mfa_use_step(Db *db, int64_t user_id, uint64_t step) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char stepbuf[DB_INT_BUFSZ], idbuf[DB_INT_BUFSZ];
        int r;

        if (step > INT64_MAX)
                return -EINVAL;
        db_int(stepbuf, (int64_t) step);
        r = db_queryv(db, &res,
                      "UPDATE users SET totp_last_used_step = CAST(? AS BIGINT), mfa_failed_attempts = 0 "
                      "WHERE id = ? AND is_active "
                      "AND (totp_last_used_step IS NULL OR totp_last_used_step < CAST(? AS BIGINT)) RETURNING id",
                      stepbuf, db_int(idbuf, user_id), stepbuf);
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ESTALE;
}

int store_mfa_token_create(Db *db, int64_t user_id, usec_t expires_at, char **ret_token) {
        _cleanup_free_ char *hash = NULL;
        char token[MFA_TOKEN_LEN + 1], now[TIMESTAMP_BUFSZ], expires[TIMESTAMP_BUFSZ], idbuf[DB_INT_BUFSZ];
        char *copy;
        int r;

        r = db_queryv(db, NULL, "DELETE FROM mfa_login_tokens WHERE expires_at <= ?", timestamp_now(now));
        if (r < 0)
                return r;

        r = random_hex(token, MFA_TOKEN_LEN);
        if (r < 0)
                return r;
        r = api_key_hash(token, &hash);
        if (r < 0)
                return r;
        r = db_queryv(db, NULL,
                      "INSERT INTO mfa_login_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                      hash, db_int(idbuf, user_id), now, timestamp_format(expires, expires_at));
        if (r == -ENOLINK)
                return -ENOENT;
        if (r < 0)
                return r;

        copy = strdup(token);
        if (!copy)
                return -ENOMEM;
        *ret_token = copy;
        return 0;
}

int store_mfa_token_find(Db *db, const char *token, int64_t *ret_user_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *hash = NULL;
        char now[TIMESTAMP_BUFSZ];
        int r;

        r = api_key_hash(token, &hash);
        if (r < 0)
                return r;
        r = db_queryv(db, &res,
                      "SELECT t.user_id FROM mfa_login_tokens t JOIN users u ON u.id = t.user_id "
                      "WHERE t.token_hash = ? AND t.expires_at > ? AND u.is_active AND u.mfa_enabled",
                      hash, timestamp_now(now));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        *ret_user_id = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_mfa_token_use(Db *db, const char *token) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *hash = NULL;
        int r;

        r = api_key_hash(token, &hash);
        if (r < 0)
                return r;
        r = db_queryv(db, &res, "DELETE FROM mfa_login_tokens WHERE token_hash = ? RETURNING user_id", hash);
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}
