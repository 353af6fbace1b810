/* Checking one-time codes: the lockout first, then the attempts of the minute, and only
 * then the code itself, so that a locked or hurried caller learns nothing about it. */

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>

#include "api/mfa-check.h"
#include "common/base32.h"
#include "common/totp.h"
#include "common/vault.h"
#include "store/store-mfa.h"

#define USEC_PER_SECOND UINT64_C(1000000)

static const char *const verdict_names[_MFA_VERDICT_MAX] = {
        [MFA_ACCEPTED] = "accepted",
        [MFA_WRONG_CODE] = "wrong code",
        [MFA_REPLAYED] = "code used already",
        [MFA_RATE_LIMITED] = "too many codes this minute",
        [MFA_LOCKED] = "locked",
        [MFA_NOT_SET_UP] = "not set up",
};

const char *mfa_verdict_to_string(MfaVerdict v) {
        return v >= 0 && v < _MFA_VERDICT_MAX ? verdict_names[v] : NULL;
}

int mfa_secret_context(int64_t user_id, char **ret) {
        return asprintf(ret, "users/%" PRIi64 "/totp_secret", user_id) < 0 ? -ENOMEM : 0;
}

/* The secret's bytes from its sealed base32 text. The caller wipes and frees them. */
static int open_secret(const Vault *vault, int64_t user_id, const char *sealed, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *context = NULL;
        _cleanup_erase_ char *text = NULL;
        int r;

        if (!vault)
                return -ENOKEY;
        r = mfa_secret_context(user_id, &context);
        if (r < 0)
                return r;
        r = vault_open(vault, context, sealed, &text, NULL);
        if (r < 0)
                return r;
        return base32_decode(text, ret, ret_size);
}

static void secret_erase(uint8_t *key, size_t size) {
        if (key)
                sodium_memzero(key, size);
        free(key);
}

/* Compares code with the secret's codes around now. A TotpVerdict or negative errno. */
static int compare_code(const Vault *vault, int64_t user_id, const UserMfa *mfa, const char *code, usec_t now,
                        uint64_t *ret_step) {
        uint8_t *key = NULL;
        size_t size = 0;
        int r;

        r = open_secret(vault, user_id, mfa->sealed_secret, &key, &size);
        if (r < 0)
                return r;
        r = totp_check(key, size, code, totp_step(now / USEC_PER_SECOND), mfa->last_used_step, ret_step);
        secret_erase(key, size);
        return r;
}

int mfa_check_code(Db *db, const Vault *vault, int64_t user_id, const char *code, MfaResult *ret) {
        _cleanup_(user_mfa_done) UserMfa mfa = {};
        usec_t now = now_realtime_usec(), window_start, locked_until;
        MfaVerdict verdict;
        int64_t attempts;
        uint64_t step = 0;
        int r;

        r = store_mfa_get(db, user_id, &mfa);
        if (r < 0)
                return r;
        if (!mfa.sealed_secret) {
                *ret = (MfaResult) { MFA_NOT_SET_UP };
                return 0;
        }
        if (mfa.locked_until > now) {
                *ret = (MfaResult) { MFA_LOCKED, mfa.locked_until - now };
                return 0;
        }

        r = store_mfa_count_attempt(db, user_id, now, MFA_WINDOW_USEC, &attempts, &window_start);
        if (r < 0)
                return r;
        if (attempts > MFA_ATTEMPTS_PER_WINDOW) {
                usec_t next = window_start + MFA_WINDOW_USEC;

                *ret = (MfaResult) { MFA_RATE_LIMITED, next > now ? next - now : 0 };
                return 0;
        }

        r = compare_code(vault, user_id, &mfa, code, now, &step);
        if (r < 0)
                return r;
        if (r == TOTP_ACCEPTED) {
                r = store_mfa_use_step(db, user_id, step);
                if (r >= 0) {
                        *ret = (MfaResult) { MFA_ACCEPTED };
                        return 0;
                }
                if (r != -ESTALE)
                        return r;
                verdict = MFA_REPLAYED;
        } else
                verdict = r == TOTP_REPLAYED ? MFA_REPLAYED : MFA_WRONG_CODE;

        r = store_mfa_count_failure(db, user_id, now, MFA_FAILURES_BEFORE_LOCKOUT, MFA_LOCKOUT_USEC, &locked_until);
        if (r < 0)
                return r;
        if (locked_until > 0)
                *ret = (MfaResult) { MFA_LOCKED, locked_until > now ? locked_until - now : 0 };
        else
                *ret = (MfaResult) { verdict };
        return 0;
}

/* Whole seconds, rounded up, at least 1. */
static unsigned long seconds_up(usec_t t) {
        return MAX((t + USEC_PER_SECOND - 1) / USEC_PER_SECOND, 1u);
}

int mfa_reply_refusal(HttpResponse *resp, const MfaResult *result, int wrong_code_status) {
        unsigned long seconds = seconds_up(result->retry_after);

        switch (result->verdict) {
        case MFA_WRONG_CODE:
                return http_reply_error(resp, wrong_code_status, "Invalid code.");
        case MFA_REPLAYED:
                return http_reply_error(resp, wrong_code_status,
                                        "This code was used already; wait for the next one.");
        case MFA_RATE_LIMITED:
                return http_reply_error(resp, 429, "Too many codes tried; try again in %lu seconds.", seconds);
        case MFA_LOCKED:
                return http_reply_error(resp, 429,
                                        "Too many wrong codes: MFA is locked; try again in %lu minutes.",
                                        (seconds + 59) / 60);
        case MFA_NOT_SET_UP:
                return http_reply_error(resp, 400, "MFA is not set up: POST /api/v1/auth/mfa/setup/ first.");
        default:
                return -EINVAL;
        }
}
