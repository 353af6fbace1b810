/* Passwords hashed and checked on the work pool. Argon2id takes tens of milliseconds and
 * 64 MiB on purpose; on the I/O thread every other request would wait that long. A handler
 * that sets a password defers its answer (as logging in does, api-auth.c) and finishes in
 * a callback on the I/O thread. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "api/http.h"

/* On the I/O thread once the work is done: hash is the new password's (NULL when none was
 * asked for), checked whether the password to check matched (true when none was asked
 * for). Sets the answer; its body is taken (may be NULL). */
typedef void (*PasswordWorkThen)(Manager *m, const char *hash, bool checked, void *userdata, int *ret_status,
                                 json_t **ret_body);
typedef void (*PasswordWorkFree)(void *userdata);

typedef struct PasswordWorkRequest {
        const char *password;           /* to hash, or NULL */
        const char *check;              /* to check against check_hash first, or NULL */
        const char *check_hash;
        PasswordWorkThen then;
        PasswordWorkFree free;          /* of userdata, whatever happens (may be NULL) */
        void *userdata;
} PasswordWorkRequest;

/* Defers the answer to req and runs the work. On error, userdata is freed and nothing is
 * deferred: the handler answers with the error. */
int password_work_defer(HttpRequest *req, HttpResponse *resp, const PasswordWorkRequest *w);
