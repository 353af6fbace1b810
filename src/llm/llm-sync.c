/* llm_complete_sync(): one request, waited for on the calling thread. For callers that
 * may block (tools, tests, a worker that has nothing else to do); an agent node that must
 * not hold a worker uses llm_client_submit() with a callback instead. */

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "llm/llm-dialect.h"
#include "llm/llm.h"

#define CANCEL_POLL_USEC (50 * USEC_PER_MSEC)

typedef struct SyncWait {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;
        LlmResponse *response;
        LlmError error;
        int copy_result;
        LlmTextFunc on_text;
        void *userdata;
} SyncWait;

static void sync_text(const char *text, size_t len, void *userdata) {
        SyncWait *w = userdata;

        w->on_text(text, len, w->userdata);
}

static void sync_done(LlmResponse *response, const LlmError *error, void *userdata) {
        SyncWait *w = userdata;

        pthread_mutex_lock(&w->lock);
        w->response = response;
        if (error)
                w->copy_result = llm_error_copy(&w->error, error);
        w->done = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

static int error_to_errno(LlmErrorKind kind) {
        switch (kind) {
        case LLM_ERROR_CANCELLED:
                return -ECANCELED;
        case LLM_ERROR_TIMEOUT:
                return -ETIMEDOUT;
        default:
                return -EIO;
        }
}

int llm_complete_sync(LlmClient *c, const LlmRequest *req, LlmTextFunc on_text, void *userdata,
                      const volatile bool *cancelled, LlmResponse **ret_response, LlmError *ret_error) {
        _cleanup_(llm_client_freep) LlmClient *own = NULL;
        pthread_condattr_t attr;
        SyncWait w = { .on_text = on_text, .userdata = userdata };
        LlmHandle handle;
        bool cancel_sent = false;
        int r;

        *ret_error = (LlmError) {};
        if (!c) {
                r = llm_client_new(NULL, &own);
                if (r >= 0)
                        r = llm_client_start(own);
                if (r < 0) {
                        (void) llm_error_set(ret_error, LLM_ERROR_INTERNAL, "the LLM client could not start");
                        return r;
                }
                c = own;
        }

        pthread_mutex_init(&w.lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&w.cond, &attr);
        pthread_condattr_destroy(&attr);

        r = llm_client_submit(c, req, sync_done, on_text ? sync_text : NULL, &w, &handle);
        if (r < 0) {
                const char *why = NULL;

                if (r == -EINVAL)
                        (void) llm_request_validate(req, &why);
                (void) llm_error_set(ret_error, r == -EINVAL ? LLM_ERROR_CLIENT : LLM_ERROR_INTERNAL, "%s",
                                     why ?: "the request could not be sent");
                goto out;
        }

        pthread_mutex_lock(&w.lock);
        while (!w.done) {
                struct timespec ts;

                if (cancelled && *cancelled && !cancel_sent) {
                        (void) llm_client_cancel(c, handle);
                        cancel_sent = true;
                }
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += (long) (CANCEL_POLL_USEC * 1000);
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&w.cond, &w.lock, &ts);
        }
        pthread_mutex_unlock(&w.lock);

        if (w.response) {
                *ret_response = w.response;
                r = 0;
        } else if (w.copy_result < 0) {
                r = w.copy_result;
        } else {
                r = error_to_errno(w.error.kind);
                *ret_error = w.error;
        }
out:
        pthread_cond_destroy(&w.cond);
        pthread_mutex_destroy(&w.lock);
        return r;
}
