/* What a one-time code is worth for a user, under the rules every MFA endpoint shares:
 * at most MFA_ATTEMPTS_PER_WINDOW codes a minute, a step's code used once, and
 * MFA_FAILURES_BEFORE_LOCKOUT wrong codes in a row lock the second factor for
 * MFA_LOCKOUT_USEC. The counts live in the database (store/store-mfa.h), so a restart
 * forgets none of them. */
#pragma once

#include <stdint.h>

#include "api/http.h"
#include "common/time-util.h"
#include "store/db.h"

#define MFA_ATTEMPTS_PER_WINDOW 5
#define MFA_WINDOW_USEC (UINT64_C(60) * 1000000)
#define MFA_FAILURES_BEFORE_LOCKOUT 10
#define MFA_LOCKOUT_USEC (UINT64_C(15 * 60) * 1000000)
/* How long the token of a password login waits for its code. */
#define MFA_LOGIN_TOKEN_USEC (UINT64_C(5 * 60) * 1000000)

/* The issuer authenticator apps show beside the account. */
#define MFA_ISSUER "Pipelit"

typedef struct Vault Vault;

typedef enum MfaVerdict {
        MFA_ACCEPTED,
        MFA_WRONG_CODE,
        MFA_REPLAYED,       /* the code of a step already used */
        MFA_RATE_LIMITED,   /* too many codes this minute; not looked at */
        MFA_LOCKED,         /* too many wrong codes in a row; not looked at */
        MFA_NOT_SET_UP,     /* no secret to check against */
        _MFA_VERDICT_MAX,
        _MFA_VERDICT_INVALID = -22,
} MfaVerdict;

typedef struct MfaResult {
        MfaVerdict verdict;
        usec_t retry_after;  /* RATE_LIMITED, LOCKED: how long until codes are looked at again */
} MfaResult;

/* The vault context a user's secret is sealed for. */
int mfa_secret_context(int64_t user_id, char **ret);

/* Checks code (well formed or not) against the secret of user_id, set up or enabled, and
 * counts it: an accepted code's step is spent, a wrong or replayed one counts towards the
 * lockout. -ENOENT when there is no such active user. */
int mfa_check_code(Db *db, const Vault *vault, int64_t user_id, const char *code, MfaResult *ret);

/* Fills resp with the refusal of a verdict other than MFA_ACCEPTED: wrong_code_status for a
 * wrong or replayed code (401 where the code stands in for a login, 400 where the caller is
 * logged in already), 429 for too many codes. */
int mfa_reply_refusal(HttpResponse *resp, const MfaResult *result, int wrong_code_status);

/* The name of a verdict for the log. */
const char *mfa_verdict_to_string(MfaVerdict v);
