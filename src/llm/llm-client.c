/* The LLM client: every request's transfers run on one thread with libcurl's multi
 * interface, so a request waiting on a provider costs a socket and a small struct, not a
 * thread. Other threads hand requests (and cancellations) over through a locked queue and
 * wake the thread with curl_multi_wakeup().
 *
 * A request is made of attempts. An attempt that fails with a rate limit, a server error,
 * a network error or a timeout is tried again after a wait (the provider's Retry-After, or
 * a doubling backoff), unless text from it already reached the caller: a stream is never
 * started over, which would repeat its text. The timeout is the longest silence of the
 * provider in one attempt; it is watched here rather than by libcurl so that it restarts
 * with every byte received. */

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "llm/llm-dialect.h"
#include "llm/llm.h"

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define POLL_MAX_MSEC 1000

static const LlmClientOptions default_options = {
        .max_attempts = 3,
        .backoff_initial = 500 * USEC_PER_MSEC,
        .backoff_max = 8 * USEC_PER_SECOND,
        .max_retry_after = 60 * USEC_PER_SECOND,
        .max_response_size = (size_t) 32 * 1024 * 1024,
};

typedef struct LlmCall LlmCall;

struct LlmCall {
        LlmClient *client;
        LlmHandle id;
        LlmCall *prev, *next;           /* the thread's list of open requests */
        LlmCall *queue_next;            /* the queue of submitted ones */

        /* What to send, copied at submission. */
        LlmProvider provider;
        char *url;
        struct curl_slist *headers;
        char *body;
        size_t body_len;
        bool stream;
        usec_t timeout;
        usec_t deadline;                /* CLOCK_MONOTONIC; 0: none */
        unsigned max_attempts;
        LlmDoneFunc done;
        LlmTextFunc on_text;
        void *userdata;

        unsigned attempt;               /* attempts started */
        usec_t wake_at;                 /* in flight: when its silence becomes a timeout;
                                         * waiting: when the next attempt starts */
        CURL *easy;                     /* set while an attempt is in flight */
        char curl_error[CURL_ERROR_SIZE];

        /* The current attempt's answer. */
        bool mode_decided, streaming;
        LlmBuf answer;                  /* a plain answer or an error body */
        LlmStream stream_state;
        size_t received;
        bool too_large, stream_failed;
        bool delivered;                 /* text reached the caller */
        char *content_type, *retry_after, *retry_after_ms;
};

struct LlmClient {
        LlmClientOptions opts;
        CURLM *multi;                   /* set under lock by the first request, then kept */
        pthread_t thread;
        bool running;                   /* owner's view: started and not stopped */

        pthread_mutex_t lock;
        /* under lock: */
        bool thread_running;
        LlmCall *queue_head, *queue_tail;
        LlmHandle *cancels;
        size_t n_cancels, cancels_allocated;
        bool accepting, stopping;
        LlmHandle last_id;
        size_t pending;

        /* the client's thread only: */
        LlmCall *calls;
        usec_t next_check;
        uint64_t random_state;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- calls -------------------------------------------------------------------------------- */

static void call_reset_attempt(LlmCall *call) {
        llm_buf_done(&call->answer);
        llm_stream_done(&call->stream_state);
        free(call->content_type);
        free(call->retry_after);
        free(call->retry_after_ms);
        call->content_type = call->retry_after = call->retry_after_ms = NULL;
        call->mode_decided = call->streaming = false;
        call->received = 0;
        call->too_large = call->stream_failed = false;
        call->curl_error[0] = '\0';
}

static void call_detach(LlmCall *call) {
        if (!call->easy)
                return;
        curl_multi_remove_handle(call->client->multi, call->easy);
        curl_easy_cleanup(call->easy);
        call->easy = NULL;
}

static LlmCall *call_free(LlmCall *call) {
        if (!call)
                return NULL;
        call_detach(call);
        call_reset_attempt(call);
        free(call->url);
        curl_slist_free_all(call->headers);
        free(call->body);
        free(call);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(LlmCall *, call_free);

static void call_link(LlmCall *call) {
        LlmClient *c = call->client;

        call->prev = NULL;
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
}

static void call_unlink(LlmCall *call) {
        LlmClient *c = call->client;

        if (call->prev)
                call->prev->next = call->next;
        else
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->prev = call->next = NULL;
}

/* Ends a request: its callback runs, then it is gone. */
static void call_finish(LlmCall *call, LlmResponse *resp, LlmError *error) {
        LlmClient *c = call->client;

        call_detach(call);
        call_unlink(call);
        if (resp)
                resp->attempts = call->attempt;
        else
                error->attempts = call->attempt;

        /* Counted out before the callback, so that whoever it wakes sees it ended. */
        pthread_mutex_lock(&c->lock);
        c->pending--;
        pthread_mutex_unlock(&c->lock);

        call->done(resp, resp ? NULL : error, call->userdata);
        if (error)
                llm_error_done(error);
        call_free(call);
}

static void call_fail(LlmCall *call, LlmErrorKind kind, const char *message) {
        LlmError e = { .kind = kind, .message = strdup(message) };

        call_finish(call, NULL, &e);
}

static void schedule_check(LlmClient *c, usec_t when) {
        c->next_check = MIN(c->next_check, when);
}

/* The next timer of the call: a silence's end or the next attempt's start, never later
 * than the request's deadline. */
static void call_wake_at(LlmCall *call, usec_t when) {
        call->wake_at = call->deadline > 0 ? MIN(when, call->deadline) : when;
}

static bool call_past_deadline(const LlmCall *call, usec_t when) {
        return call->deadline > 0 && when >= call->deadline;
}

/* --- an attempt's answer ---------------------------------------------------------------------- */

static void call_on_text(const char *text, size_t len, void *userdata) {
        LlmCall *call = userdata;

        call->delivered = true;
        if (call->on_text)
                call->on_text(text, len, call->userdata);
}

static bool content_type_is(const char *value, const char *type) {
        size_t n = strlen(type);

        return value && strncasecmp(value, type, n) == 0 && (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        LlmCall *call = userdata;
        size_t len = size * n;

        call_wake_at(call, now_monotonic_usec() + call->timeout);
        if (!call->mode_decided) {
                long status = 0;

                curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
                call->streaming = call->stream && status >= 200 && status < 300 &&
                                  content_type_is(call->content_type, "text/event-stream");
                call->mode_decided = true;
        }

        call->received += len;
        if (call->received > call->client->opts.max_response_size) {
                call->too_large = true;
                return 0;       /* aborts the transfer */
        }
        if (call->streaming) {
                if (llm_stream_feed(&call->stream_state, data, len) < 0) {
                        call->stream_failed = true;
                        return 0;
                }
                return len;
        }
        return llm_buf_append(&call->answer, data, len) < 0 ? 0 : len;
}

static int header_keep(char **field, const char *value, size_t len) {
        free(*field);
        *field = strndup(value, len);
        return *field ? 0 : -ENOMEM;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        LlmCall *call = userdata;
        size_t len = size * n, name_len;
        const char *colon, *value, *end;
        char **field = NULL;

        call_wake_at(call, now_monotonic_usec() + call->timeout);
        /* A status line starts another response's headers (after 100 Continue). */
        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                free(call->content_type);
                free(call->retry_after);
                free(call->retry_after_ms);
                call->content_type = call->retry_after = call->retry_after_ms = NULL;
                return len;
        }
        colon = memchr(data, ':', len);
        if (!colon)
                return len;
        name_len = (size_t) (colon - data);
        if (name_len == 12 && strncasecmp(data, "content-type", 12) == 0)
                field = &call->content_type;
        else if (name_len == 11 && strncasecmp(data, "retry-after", 11) == 0)
                field = &call->retry_after;
        else if (name_len == 14 && strncasecmp(data, "retry-after-ms", 14) == 0)
                field = &call->retry_after_ms;
        if (!field)
                return len;

        value = colon + 1;
        end = data + len;
        while (value < end && (*value == ' ' || *value == '\t'))
                value++;
        while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        return header_keep(field, value, (size_t) (end - value)) < 0 ? 0 : len;
}

/* --- attempts ------------------------------------------------------------------------------------ */

static double random_unit(LlmClient *c) {
        /* xorshift64*: jitter only needs to differ between requests. */
        c->random_state ^= c->random_state >> 12;
        c->random_state ^= c->random_state << 25;
        c->random_state ^= c->random_state >> 27;
        return (double) ((c->random_state * UINT64_C(2685821657736338717)) >> 11) / (double) (UINT64_C(1) << 53);
}

static int call_start_attempt(LlmCall *call) {
        LlmClient *c = call->client;
        CURL *easy;

        call_reset_attempt(call);
        llm_stream_init(&call->stream_state, call->provider, call_on_text, call);
        call->attempt++;

        easy = curl_easy_init();
        if (!easy)
                return -ENOMEM;
        if (curl_easy_setopt(easy, CURLOPT_URL, call->url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->headers) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) call->body_len) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, call) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HEADERDATA, call) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PRIVATE, call) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->curl_error) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                             (long) MIN(call->timeout / USEC_PER_MSEC + 1, (usec_t) 60000)) != CURLE_OK) {
                curl_easy_cleanup(easy);
                return -EINVAL;
        }
        /* Over HTTPS the provider may speak HTTP/2, where many requests share a connection:
         * wait to learn that rather than opening one connection each. (Over plain HTTP,
         * waiting would only delay the requests behind the first.) */
        if (strncmp(call->url, "https://", 8) == 0)
                (void) curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
        if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
                curl_easy_cleanup(easy);
                return -ENOMEM;
        }
        call->easy = easy;
        call_wake_at(call, now_monotonic_usec() + call->timeout);
        schedule_check(c, call->wake_at);
        return 0;
}

/* How long the provider asked us to wait, from the attempt's headers (0: it did not say). */
static usec_t call_retry_after(LlmCall *call) {
        usec_t v;

        if (call->retry_after_ms) {
                char *end;
                double ms;

                errno = 0;
                ms = strtod(call->retry_after_ms, &end);
                if (errno == 0 && !*end && ms > 0 && ms < 365.0 * 24 * 3600 * 1000)
                        return (usec_t) (ms * USEC_PER_MSEC);
        }
        if (call->retry_after && llm_parse_retry_after(call->retry_after, now_realtime_usec(), &v) >= 0)
                return v;
        return 0;
}

/* An attempt failed: try again after a wait when that may help, else end the request. */
static void call_attempt_failed(LlmCall *call, LlmError *e) {
        LlmClient *c = call->client;
        usec_t delay;

        call_detach(call);
        if (!llm_error_is_retryable(e) || call->delivered || call->attempt >= call->max_attempts)
                return call_finish(call, NULL, e);
        if (e->retry_after > 0) {
                /* A wait longer than we are willing to hold the request for ends it; the
                 * error carries the wait so that the caller can schedule its own retry. */
                if (e->retry_after > c->opts.max_retry_after)
                        return call_finish(call, NULL, e);
                delay = e->retry_after;
        } else
                delay = llm_backoff_delay(call->attempt, c->opts.backoff_initial, c->opts.backoff_max, random_unit(c));
        /* No attempt that could not start before the deadline. */
        if (call_past_deadline(call, now_monotonic_usec() + delay))
                return call_finish(call, NULL, e);
        llm_error_done(e);
        call_wake_at(call, now_monotonic_usec() + delay);
        schedule_check(c, call->wake_at);
}

static void call_answer_plain(LlmCall *call, LlmResponse **resp, LlmError *e) {
        _cleanup_json_ json_t *json = NULL;
        int r;

        /* A server that streams without saying text/event-stream is read as a stream. */
        if (call->stream && call->answer.len > 0 &&
            (strncmp(call->answer.data, "data:", 5) == 0 || strncmp(call->answer.data, "event:", 6) == 0)) {
                /* A failed feed leaves its error for llm_stream_finish() to return. */
                (void) llm_stream_feed(&call->stream_state, call->answer.data, call->answer.len);
                (void) llm_stream_finish(&call->stream_state, resp, e);
                return;
        }

        json = json_loadb(call->answer.data ?: "", call->answer.len, 0, NULL);
        if (!json) {
                (void) llm_error_set(e, LLM_ERROR_SERVER, "the provider's answer is not JSON");
                return;
        }
        r = llm_parse_response(call->provider, json, resp);
        if (r == -ENOMEM)
                (void) llm_error_set(e, LLM_ERROR_INTERNAL, "out of memory reading the answer");
        else if (r < 0)
                (void) llm_error_set(e, LLM_ERROR_SERVER, "the provider's answer does not have the expected shape");
        else if (call->stream && call->on_text && !isempty((*resp)->text))
                /* Asked to stream, answered at once: the text still reaches the caller. */
                call_on_text((*resp)->text, strlen((*resp)->text), call);
}

static void call_attempt_done(LlmCall *call, CURLcode result) {
        LlmResponse *resp = NULL;
        LlmError e = {};
        curl_off_t total = 0;
        long status = 0;

        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME_T, &total);
        call_detach(call);

        if (call->too_large)
                (void) llm_error_set(&e, LLM_ERROR_INTERNAL, "the provider's answer is larger than %zu bytes",
                                     call->client->opts.max_response_size);
        else if (call->stream_failed)
                (void) llm_stream_finish(&call->stream_state, &resp, &e);
        else if (result == CURLE_OPERATION_TIMEDOUT)
                (void) llm_error_set(&e, LLM_ERROR_TIMEOUT, "connecting to the provider timed out");
        else if (result != CURLE_OK)
                (void) llm_error_set(&e, LLM_ERROR_NETWORK, "%s",
                                     call->curl_error[0] ? call->curl_error : curl_easy_strerror(result));
        else if (status >= 200 && status < 300) {
                if (call->streaming)
                        (void) llm_stream_finish(&call->stream_state, &resp, &e);
                else
                        call_answer_plain(call, &resp, &e);
        } else if (llm_parse_error(call->provider, (int) status, call->answer.data, call->answer.len, &e) >= 0)
                e.retry_after = call_retry_after(call);

        if (resp) {
                resp->transfer_usec = total > 0 ? (usec_t) total : 0;
                llm_error_done(&e);
                return call_finish(call, resp, NULL);
        }
        if (!e.message)
                (void) llm_error_set(&e, LLM_ERROR_INTERNAL, "out of memory");
        e.http_status = (int) status;
        call_attempt_failed(call, &e);
}

static void call_timed_out(LlmCall *call) {
        LlmError e = {};
        char buf[32];

        snprintf(buf, sizeof(buf), "%.3g s", (double) call->timeout / USEC_PER_SECOND);
        (void) llm_error_set(&e, LLM_ERROR_TIMEOUT, "the provider did not answer within %s", buf);
        call_attempt_failed(call, &e);
}

/* --- the thread ----------------------------------------------------------------------------------- */

/* Timeouts of attempts in flight, and waits before the next attempt that ended. */
static void client_check_timers(LlmClient *c, usec_t now) {
        LlmCall *next;

        for (LlmCall *call = c->calls; call; call = next) {
                next = call->next;
                if (call->wake_at > now)
                        continue;
                if (call_past_deadline(call, now))
                        call_fail(call, LLM_ERROR_TIMEOUT, "the request's deadline passed");
                else if (call->easy)
                        call_timed_out(call);
                else if (call_start_attempt(call) < 0)
                        call_fail(call, LLM_ERROR_INTERNAL, "starting a transfer failed");
        }
        c->next_check = USEC_INFINITY;
        for (LlmCall *call = c->calls; call; call = call->next)
                schedule_check(c, call->wake_at);
}

static void client_read_done(LlmClient *c) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                LlmCall *call = NULL;
                CURLcode result = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &call);
                if (call)
                        call_attempt_done(call, result);
        }
}

static void *client_thread(void *userdata) {
        LlmClient *c = userdata;

        for (;;) {
                _cleanup_free_ LlmHandle *cancels = NULL;
                LlmCall *queue;
                size_t n_cancels;
                bool stopping;
                usec_t now;
                long timeout_ms = -1;
                int running;

                pthread_mutex_lock(&c->lock);
                queue = c->queue_head;
                c->queue_head = c->queue_tail = NULL;
                cancels = TAKE_PTR(c->cancels);
                n_cancels = c->n_cancels;
                c->n_cancels = c->cancels_allocated = 0;
                stopping = c->stopping;
                pthread_mutex_unlock(&c->lock);

                while (queue) {
                        LlmCall *call = queue;

                        queue = call->queue_next;
                        call_link(call);
                        if (call_start_attempt(call) < 0)
                                call_fail(call, LLM_ERROR_INTERNAL, "starting a transfer failed");
                }
                for (size_t i = 0; i < n_cancels; i++)
                        for (LlmCall *call = c->calls; call; call = call->next)
                                if (call->id == cancels[i]) {
                                        call_fail(call, LLM_ERROR_CANCELLED, "the request was cancelled");
                                        break;
                                }
                if (stopping) {
                        while (c->calls)
                                call_fail(c->calls, LLM_ERROR_CANCELLED, "the LLM client stopped");
                        break;
                }

                now = now_monotonic_usec();
                if (now >= c->next_check)
                        client_check_timers(c, now);
                curl_multi_perform(c->multi, &running);
                client_read_done(c);

                curl_multi_timeout(c->multi, &timeout_ms);
                if (timeout_ms < 0 || timeout_ms > POLL_MAX_MSEC)
                        timeout_ms = POLL_MAX_MSEC;
                if (c->next_check != USEC_INFINITY) {
                        now = now_monotonic_usec();
                        timeout_ms = c->next_check <= now ? 0
                                                          : MIN(timeout_ms, (long) ((c->next_check - now) / USEC_PER_MSEC + 1));
                }
                curl_multi_poll(c->multi, NULL, 0, (int) timeout_ms, NULL);
        }
        return NULL;
}

/* --- the public side -------------------------------------------------------------------------------- */

int llm_client_new(const LlmClientOptions *opts, LlmClient **ret) {
        LlmClient *c;

        c = calloc(1, sizeof(LlmClient));
        if (!c)
                return -ENOMEM;
        c->opts = opts ? *opts : default_options;
        if (c->opts.max_attempts == 0)
                c->opts.max_attempts = default_options.max_attempts;
        if (c->opts.backoff_initial == 0)
                c->opts.backoff_initial = default_options.backoff_initial;
        if (c->opts.backoff_max == 0)
                c->opts.backoff_max = default_options.backoff_max;
        if (c->opts.max_retry_after == 0)
                c->opts.max_retry_after = default_options.max_retry_after;
        if (c->opts.max_response_size == 0)
                c->opts.max_response_size = default_options.max_response_size;
        pthread_mutex_init(&c->lock, NULL);
        c->next_check = USEC_INFINITY;
        c->random_state = now_realtime_usec() ^ ((uint64_t) (uintptr_t) c << 16) ^ UINT64_C(0x9e3779b97f4a7c15);
        *ret = c;
        return 0;
}

/* With c->lock held: the first request sets up libcurl, the multi handle and the thread. A
 * daemon that never calls a model never initialises libcurl and its TLS library, which
 * would take about 1.7 MiB of memory at start. */
static int thread_start_locked(LlmClient *c) {
        int r;

        if (c->thread_running)
                return 0;
        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return -EIO;
        if (!c->multi) {
                c->multi = curl_multi_init();
                if (!c->multi)
                        return -ENOMEM;
                if (c->opts.max_connections > 0)
                        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) c->opts.max_connections);
        }
        r = -pthread_create(&c->thread, NULL, client_thread, c);
        if (r < 0)
                return r;
        c->thread_running = true;
        return 0;
}

int llm_client_start(LlmClient *c) {
        if (c->running)
                return -EALREADY;
        pthread_mutex_lock(&c->lock);
        c->stopping = false;
        c->accepting = true;
        pthread_mutex_unlock(&c->lock);
        c->running = true;
        return 0;
}

int llm_client_stop(LlmClient *c) {
        bool thread;

        if (!c || !c->running)
                return 0;
        pthread_mutex_lock(&c->lock);
        thread = c->thread_running;
        if (thread && pthread_equal(pthread_self(), c->thread)) {
                pthread_mutex_unlock(&c->lock);
                return -EDEADLK;
        }
        c->stopping = true;
        c->accepting = false;
        c->thread_running = false;
        pthread_mutex_unlock(&c->lock);
        if (thread) {
                curl_multi_wakeup(c->multi);
                pthread_join(c->thread, NULL);
        }
        c->running = false;
        return 0;
}

LlmClient *llm_client_free(LlmClient *c) {
        if (!c)
                return NULL;
        (void) llm_client_stop(c);
        /* Never started: requests are only queued while the thread runs, so none is left. */
        if (c->multi)
                curl_multi_cleanup(c->multi);
        free(c->cancels);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

static int call_new(const LlmClient *c, const LlmRequest *req, LlmCall **ret) {
        _cleanup_(call_freep) LlmCall *call = NULL;
        _cleanup_(llm_strv_freep) char **headers = NULL;
        _cleanup_json_ json_t *body = NULL;
        int r;

        r = llm_request_validate(req, NULL);
        if (r < 0)
                return r;
        call = calloc(1, sizeof(LlmCall));
        if (!call)
                return -ENOMEM;
        call->provider = req->provider;
        call->stream = req->stream;
        call->timeout = req->timeout > 0 ? req->timeout : LLM_DEFAULT_TIMEOUT;
        call->deadline = req->deadline;
        call->max_attempts = req->max_attempts > 0 ? req->max_attempts : c->opts.max_attempts;

        if ((r = llm_request_url(req, &call->url)) < 0 ||
            (r = llm_request_headers(req, &headers)) < 0 ||
            (r = llm_request_body(req, &body)) < 0)
                return r;
        for (char **h = headers; *h; h++) {
                struct curl_slist *l = curl_slist_append(call->headers, *h);

                if (!l)
                        return -ENOMEM;
                call->headers = l;
        }
        /* No "Expect: 100-continue" round trip before large bodies. */
        {
                struct curl_slist *l = curl_slist_append(call->headers, "Expect:");

                if (!l)
                        return -ENOMEM;
                call->headers = l;
        }
        call->body = json_write(body, &call->body_len);
        if (!call->body)
                return -ENOMEM;
        *ret = TAKE_PTR(call);
        return 0;
}

int llm_client_submit(LlmClient *c, const LlmRequest *req, LlmDoneFunc done, LlmTextFunc on_text,
                      void *userdata, LlmHandle *ret_handle) {
        LlmCall *call = NULL;
        LlmHandle id;
        int r;

        if (!c || !req || !done)
                return -EINVAL;
        r = call_new(c, req, &call);
        if (r < 0)
                return r;
        call->client = c;
        call->done = done;
        call->on_text = on_text;
        call->userdata = userdata;

        pthread_mutex_lock(&c->lock);
        r = c->accepting ? thread_start_locked(c) : -ESHUTDOWN;
        if (r < 0) {
                pthread_mutex_unlock(&c->lock);
                call_free(call);
                return r;
        }
        id = call->id = ++c->last_id;
        if (c->queue_tail)
                c->queue_tail->queue_next = call;
        else
                c->queue_head = call;
        c->queue_tail = call;
        c->pending++;
        pthread_mutex_unlock(&c->lock);

        curl_multi_wakeup(c->multi);
        if (ret_handle)
                *ret_handle = id;
        return 0;
}

int llm_client_cancel(LlmClient *c, LlmHandle handle) {
        bool thread;

        if (!c || handle == 0)
                return -EINVAL;
        pthread_mutex_lock(&c->lock);
        if (!c->accepting) {
                pthread_mutex_unlock(&c->lock);
                return 0;       /* stopping ends every request anyway */
        }
        if (c->n_cancels >= c->cancels_allocated) {
                size_t allocated = MAX(c->cancels_allocated * 2, (size_t) 8);
                LlmHandle *grown = reallocarray(c->cancels, allocated, sizeof(LlmHandle));

                if (!grown) {
                        pthread_mutex_unlock(&c->lock);
                        return -ENOMEM;
                }
                c->cancels = grown;
                c->cancels_allocated = allocated;
        }
        c->cancels[c->n_cancels++] = handle;
        thread = c->thread_running;
        pthread_mutex_unlock(&c->lock);
        if (thread)
                curl_multi_wakeup(c->multi);
        return 0;
}

size_t llm_client_pending(LlmClient *c) {
        size_t n;

        pthread_mutex_lock(&c->lock);
        n = c->pending;
        pthread_mutex_unlock(&c->lock);
        return n;
}
