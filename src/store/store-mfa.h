/* A user's second factor in the database: the TOTP secret (sealed by the caller with the
 * vault), whether it is on, the last step whose code was used, the attempts of the current
 * minute and the wrong codes in a row, and the login tokens a password gives when MFA is
 * on. Deciding what a code is worth is api/mfa-check.c's business; this file only keeps
 * count, with single statements so that two requests at once cannot both win. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"

typedef struct UserMfa {
        char *sealed_secret;      /* NULL when none is set up */
        bool enabled;
        int64_t last_used_step;   /* -1: no code used yet */
        usec_t locked_until;      /* 0: never locked */
} UserMfa;

void user_mfa_done(UserMfa *m);

/* The second factor of an active user; -ENOENT when there is no such user. */
int store_mfa_get(Db *db, int64_t user_id, UserMfa *ret);

/* Stores a new secret, not enabled yet, in place of any earlier one, and forgets the steps
 * used with the old one. -ENOENT when there is no such active user, -EBUSY when MFA is on
 * (turn it off first). */
int store_mfa_set_secret(Db *db, int64_t user_id, const char *sealed_secret);

/* Turns MFA on with the secret stored; -ENOENT when there is no such active user or no
 * secret. */
int store_mfa_enable(Db *db, int64_t user_id);

/* Turns MFA off: wipes the secret and the counts and drops the user's login tokens, in one
 * transaction. Not an error when it was off; -ENOENT when there is no such active user. */
int store_mfa_disable(Db *db, int64_t user_id);

/* Counts one attempt in the user's current window: a new one starts at now when the last
 * started window_usec ago or more. *ret_attempts gets the attempts of the window so far,
 * this one included, *ret_window_start when it started. */
int store_mfa_count_attempt(Db *db, int64_t user_id, usec_t now, usec_t window_usec, int64_t *ret_attempts,
                            usec_t *ret_window_start);

/* A wrong code: one more in a row. The max_failures-th locks the second factor until
 * now + lockout_usec and starts the count again; then *ret_locked_until gets that time,
 * else 0. */
int store_mfa_count_failure(Db *db, int64_t user_id, usec_t now, int64_t max_failures, usec_t lockout_usec,
                            usec_t *ret_locked_until);

/* A right code for step: records the step as used and forgets the wrong codes before it.
 * -ESTALE when that step or a later one was used in the meantime (a replay that raced). */
int store_mfa_use_step(Db *db, int64_t user_id, uint64_t step);

/* A login token for user_id, valid until expires_at: *ret_token gets the token (64 hex
 * characters), the only copy; the database keeps its hash. Expired tokens of everyone are
 * dropped on the way. */
int store_mfa_token_create(Db *db, int64_t user_id, usec_t expires_at, char **ret_token);

/* The user of an unexpired token whose user is active and has MFA on; -ENOENT otherwise. */
int store_mfa_token_find(Db *db, const char *token, int64_t *ret_user_id);

/* Uses the token up; -ENOENT when it is gone already. */
int store_mfa_token_use(Db *db, const char *token);
