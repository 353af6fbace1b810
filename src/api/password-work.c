/* Passwords hashed and checked on the work pool (password-work.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/password-work.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/vault.h"
#include "common/work-pool.h"
#include "daemon/manager.h"

typedef struct PasswordWork {
        Manager *manager;
        HttpDeferred *deferred;
        char *password, *check, *check_hash;
        PasswordWorkThen then;
        PasswordWorkFree free_userdata;
        void *userdata;
        /* The work's results. */
        char *hash;
        int error;
        bool checked;
} PasswordWork;

static PasswordWork *password_work_free(PasswordWork *w) {
        if (!w)
                return NULL;
        free_erase(w->password);
        free_erase(w->check);
        free(w->check_hash);
        free(w->hash);
        if (w->free_userdata)
                w->free_userdata(w->userdata);
        free(w);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(PasswordWork *, password_work_free);

static void password_work_run(WorkPool *pool, void *userdata) {
        PasswordWork *w = userdata;

        w->checked = !w->check || password_verify(w->check_hash, w->check);
        /* A wrong password to check changes nothing: no need to hash the new one. */
        if (w->checked && w->password)
                w->error = password_hash(w->password, &w->hash);
}

static void password_work_done(void *userdata, bool cancelled) {
        _cleanup_(password_work_freep) PasswordWork *w = userdata;
        json_t *body = NULL;
        int status;

        if (cancelled) {
                http_deferred_complete(w->deferred, 503, json_pack("{s:s}", "detail", "The daemon is stopping."));
                return;
        }
        if (w->error < 0) {
                log_error_errno(w->error, "Cannot hash a password: %m");
                http_deferred_complete(w->deferred, 500, json_pack("{s:s}", "detail", "Internal Server Error"));
                return;
        }
        w->then(w->manager, w->hash, w->checked, w->userdata, &status, &body);
        http_deferred_complete(w->deferred, status, body);
}

static char *strdup_or_null(const char *s, bool *oom) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

int password_work_defer(HttpRequest *req, HttpResponse *resp, const PasswordWorkRequest *r) {
        _cleanup_(password_work_freep) PasswordWork *w = NULL;
        bool oom = false;
        int k;

        w = calloc(1, sizeof *w);
        if (!w) {
                if (r->free)
                        r->free(r->userdata);
                return -ENOMEM;
        }
        *w = (PasswordWork) {
                .manager = req->manager,
                .then = r->then,
                .free_userdata = r->free,
                .userdata = r->userdata,
        };
        w->password = strdup_or_null(r->password, &oom);
        w->check = strdup_or_null(r->check, &oom);
        w->check_hash = strdup_or_null(r->check_hash, &oom);
        if (oom)
                return -ENOMEM;

        w->deferred = http_defer(req, resp);
        if (!w->deferred)
                return -ENOMEM;
        k = work_pool_submit(req->manager->work_pool, password_work_run, password_work_done, w);
        if (k < 0) {
                http_deferred_complete(w->deferred, 503,
                                       json_pack("{s:s}", "detail", k == -EAGAIN ?
                                                 "Too many password changes at once; try again shortly." :
                                                 "The daemon is stopping."));
                return 0;
        }
        TAKE_PTR(w);
        return 0;
}
