/* The LLM client against the fake provider (tests/fake-llm/fake_llm.py, started once for
 * the whole run): plain and streamed answers in both dialects, tool calls and a second
 * turn carrying their results, usage, retries on 429 (honouring Retry-After), 5xx and lost
 * connections, errors that end a request at once (4xx, 401), timeouts, cancellation in
 * the middle of a stream, stopping the client, and 200 requests waiting together on the
 * client's one thread. Skipped (77) when python3 is missing. */

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "fake-llm-process.h"
#include "llm/llm.h"

static FakeLlm fake;
static unsigned scenario_counter;

/* A scenario (model name) no other test uses. */
static const char *scenario(char buf[static 64], const char *name) {
        snprintf(buf, 64, "%s-%u-%u", name, (unsigned) getpid(), ++scenario_counter);
        return buf;
}

static void script(const char *model, const char *replies) {
        ck_assert_int_eq(fake_llm_script(&fake, model, replies, NULL), 0);
}

/* What one request ended with, filled on the client's thread. */
typedef struct Outcome {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;
        LlmResponse *response;
        LlmError error;
        char text[4096];
        unsigned pieces;
        unsigned pieces_at_done;
        bool text_after_done;
        usec_t started, ended;
        /* Cancels its own request after this many pieces (0: never). */
        unsigned cancel_after;
        LlmClient *client;
        LlmHandle handle;
} Outcome;

static void outcome_init(Outcome *o) {
        *o = (Outcome) {};
        pthread_mutex_init(&o->lock, NULL);
        pthread_cond_init(&o->cond, NULL);
}

static void outcome_done(Outcome *o) {
        llm_response_free(o->response);
        llm_error_done(&o->error);
        pthread_cond_destroy(&o->cond);
        pthread_mutex_destroy(&o->lock);
}

static void on_text(const char *text, size_t len, void *userdata) {
        Outcome *o = userdata;
        size_t have;

        pthread_mutex_lock(&o->lock);
        have = strlen(o->text);
        if (have + len < sizeof(o->text)) {
                memcpy(o->text + have, text, len);
                o->text[have + len] = '\0';
        }
        o->pieces++;
        if (o->done)
                o->text_after_done = true;
        pthread_mutex_unlock(&o->lock);
        /* Cancelling from inside a callback is allowed. */
        if (o->cancel_after > 0 && o->pieces == o->cancel_after)
                ck_assert_int_eq(llm_client_cancel(o->client, o->handle), 0);
}

static void on_done(LlmResponse *response, const LlmError *error, void *userdata) {
        Outcome *o = userdata;

        pthread_mutex_lock(&o->lock);
        ck_assert(!o->done);
        ck_assert((response != NULL) != (error != NULL));
        o->response = response;
        if (error)
                ck_assert_int_eq(llm_error_copy(&o->error, error), 0);
        o->pieces_at_done = o->pieces;
        o->ended = now_monotonic_usec();
        o->done = true;
        pthread_cond_broadcast(&o->cond);
        pthread_mutex_unlock(&o->lock);
}

static void outcome_wait(Outcome *o) {
        struct timespec deadline;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 20;
        pthread_mutex_lock(&o->lock);
        while (!o->done)
                ck_assert_int_eq(pthread_cond_timedwait(&o->cond, &o->lock, &deadline), 0);
        pthread_mutex_unlock(&o->lock);
}

static double outcome_seconds(const Outcome *o) {
        return (double) (o->ended - o->started) / USEC_PER_SECOND;
}

static LlmClient *client_new(void) {
        LlmClientOptions opts = {
                .max_attempts = 3,
                .backoff_initial = 50 * USEC_PER_MSEC,
                .backoff_max = 200 * USEC_PER_MSEC,
                .max_retry_after = 5 * USEC_PER_SECOND,
        };
        LlmClient *c;

        ck_assert_int_eq(llm_client_new(&opts, &c), 0);
        ck_assert_int_eq(llm_client_start(c), 0);
        return c;
}

typedef struct Setup {
        LlmRequest req;
        LlmMessage *messages;
        size_t n_messages;
} Setup;

static void setup_init(Setup *s, LlmProvider provider, const char *model, const char *question) {
        *s = (Setup) {};
        llm_request_init(&s->req);
        s->req.provider = provider;
        s->req.model = model;
        s->req.timeout = 10 * USEC_PER_SECOND;
        if (provider == LLM_PROVIDER_ANTHROPIC) {
                s->req.base_url = fake.anthropic_url;
                s->req.api_key = FAKE_LLM_ANTHROPIC_KEY;
        } else {
                s->req.base_url = fake.openai_url;
                s->req.api_key = FAKE_LLM_OPENAI_KEY;
        }
        ck_assert_ptr_nonnull(llm_messages_add(&s->messages, &s->n_messages, LLM_ROLE_USER, question));
        s->req.messages = s->messages;
        s->req.n_messages = s->n_messages;
}

static void setup_done(Setup *s) {
        llm_messages_free(s->messages, s->n_messages);
}

/* Sends and waits for the end. */
static void run(LlmClient *c, const LlmRequest *req, Outcome *o) {
        o->client = c;
        o->started = now_monotonic_usec();
        ck_assert_int_eq(llm_client_submit(c, req, on_done, on_text, o, &o->handle), 0);
        ck_assert_uint_ne(o->handle, 0);
        outcome_wait(o);
}

/* --- answers ----------------------------------------------------------------------------- */

static void check_plain(LlmProvider provider) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        _cleanup_json_ json_t *requests = NULL;
        json_t *body, *headers;
        char model[64];
        Setup s;
        Outcome o;

        scenario(model, "plain");
        script(model, "[{\"text\": \"Hello there\", \"usage\": {\"input_tokens\": 11, \"output_tokens\": 3}}]");
        setup_init(&s, provider, model, "Say hello");
        s.req.system_prompt = "Be brief.";
        s.req.temperature = 0.3;
        s.req.max_tokens = 50;
        outcome_init(&o);
        run(c, &s.req, &o);

        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "Hello there");
        ck_assert_int_eq(o.response->stop_reason, LLM_STOP_END);
        ck_assert(o.response->has_usage);
        ck_assert_uint_eq(o.response->usage.input_tokens, 11);
        ck_assert_uint_eq(o.response->usage.output_tokens, 3);
        ck_assert_str_eq(o.response->model, model);
        ck_assert_uint_eq(o.response->attempts, 1);
        ck_assert_uint_eq(o.pieces, 0);         /* not a stream: no text callbacks */

        /* What reached the provider. */
        requests = fake_llm_requests(&fake, model);
        ck_assert_uint_eq(json_array_size(requests), 1);
        body = json_object_get(json_array_get(requests, 0), "body");
        headers = json_object_get(json_array_get(requests, 0), "headers");
        ck_assert(fabs(json_number_value(json_object_get(body, "temperature")) - 0.3) < 1e-9);
        if (provider == LLM_PROVIDER_ANTHROPIC) {
                ck_assert_str_eq(json_string_value(json_object_get(body, "system")), "Be brief.");
                ck_assert_int_eq(json_integer_value(json_object_get(body, "max_tokens")), 50);
                ck_assert_str_eq(json_string_value(json_object_get(headers, "x-api-key")), FAKE_LLM_ANTHROPIC_KEY);
                ck_assert_str_eq(json_string_value(json_object_get(headers, "anthropic-version")), LLM_ANTHROPIC_VERSION);
        } else {
                json_t *first = json_array_get(json_object_get(body, "messages"), 0);

                ck_assert_str_eq(json_string_value(json_object_get(first, "role")), "system");
                ck_assert_str_eq(json_string_value(json_object_get(first, "content")), "Be brief.");
                ck_assert_int_eq(json_integer_value(json_object_get(body, "max_completion_tokens")), 50);
                ck_assert_str_eq(json_string_value(json_object_get(headers, "authorization")),
                                 "Bearer " FAKE_LLM_OPENAI_KEY);
        }
        outcome_done(&o);
        setup_done(&s);
}

START_TEST(test_openai_plain) {
        check_plain(LLM_PROVIDER_OPENAI);
}
END_TEST

START_TEST(test_anthropic_plain) {
        check_plain(LLM_PROVIDER_ANTHROPIC);
}
END_TEST

static void check_stream(LlmProvider provider) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        _cleanup_json_ json_t *requests = NULL;
        json_t *body;
        char model[64];
        Setup s;
        Outcome o;

        scenario(model, "stream");
        script(model, "[{\"text\": \"Un café, s'il vous plaît 🙂\", \"chunks\": 5, \"chunk_delay\": 0.05,"
                      " \"usage\": {\"input_tokens\": 21, \"output_tokens\": 9}}]");
        setup_init(&s, provider, model, "Order");
        s.req.stream = true;
        outcome_init(&o);
        run(c, &s.req, &o);

        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "Un café, s'il vous plaît 🙂");
        /* Every piece came, in order, before the completion. */
        ck_assert_str_eq(o.text, o.response->text);
        ck_assert_uint_eq(o.pieces, 5);
        ck_assert_uint_eq(o.pieces_at_done, 5);
        ck_assert(!o.text_after_done);
        ck_assert_uint_eq(o.response->usage.input_tokens, 21);
        ck_assert_uint_eq(o.response->usage.output_tokens, 9);
        ck_assert_int_eq(o.response->stop_reason, LLM_STOP_END);

        requests = fake_llm_requests(&fake, model);
        body = json_object_get(json_array_get(requests, 0), "body");
        ck_assert(json_is_true(json_object_get(body, "stream")));
        if (provider != LLM_PROVIDER_ANTHROPIC)
                ck_assert(json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage")));
        outcome_done(&o);
        setup_done(&s);
}

START_TEST(test_openai_stream) {
        check_stream(LLM_PROVIDER_OPENAI);
}
END_TEST

START_TEST(test_anthropic_stream) {
        check_stream(LLM_PROVIDER_ANTHROPIC);
}
END_TEST

/* A tool-calling turn, then the results sent back: the fake checks the second request the
 * way the real APIs do (every call answered, ids matching) and echoes the last result. */
static void check_tools(LlmProvider provider, bool stream) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        _cleanup_json_ json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}", 0, NULL);
        _cleanup_json_ json_t *args0 = NULL;
        LlmTool tools[] = { { "get_weather", "Weather of a city", schema }, { "now", "The time", NULL } };
        char model[64];
        Setup s;
        Outcome o, o2;

        scenario(model, "tools");
        script(model, "[{\"text\": \"Checking.\", \"tool_calls\": ["
                      "  {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}},"
                      "  {\"name\": \"now\", \"arguments\": {}}],"
                      " \"usage\": {\"input_tokens\": 30, \"output_tokens\": 20}}]");
        setup_init(&s, provider, model, "Weather and time?");
        s.req.tools = tools;
        s.req.n_tools = ELEMENTSOF(tools);
        s.req.stream = stream;
        outcome_init(&o);
        run(c, &s.req, &o);

        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "Checking.");
        ck_assert_int_eq(o.response->stop_reason, LLM_STOP_TOOL_USE);
        ck_assert_uint_eq(o.response->n_tool_calls, 2);
        ck_assert_str_eq(o.response->tool_calls[0].name, "get_weather");
        ck_assert_str_eq(o.response->tool_calls[1].name, "now");
        ck_assert(!isempty(o.response->tool_calls[0].id));
        ck_assert_str_ne(o.response->tool_calls[0].id, o.response->tool_calls[1].id);
        args0 = llm_tool_call_arguments(&o.response->tool_calls[0]);
        ck_assert_str_eq(json_string_value(json_object_get(args0, "city")), "Zürich");
        ck_assert_str_eq(o.response->tool_calls[1].arguments, "{}");
        ck_assert_uint_eq(o.response->usage.output_tokens, 20);

        /* The second turn. */
        ck_assert_ptr_nonnull(llm_messages_add_response(&s.messages, &s.n_messages, o.response));
        ck_assert_ptr_nonnull(llm_messages_add_tool_result(&s.messages, &s.n_messages, o.response->tool_calls[0].id,
                                                           "12 °C", false));
        ck_assert_ptr_nonnull(llm_messages_add_tool_result(&s.messages, &s.n_messages, o.response->tool_calls[1].id,
                                                           "10:00", false));
        s.req.messages = s.messages;
        s.req.n_messages = s.n_messages;
        outcome_init(&o2);
        run(c, &s.req, &o2);
        ck_assert_msg(o2.response, "second turn failed: %s", o2.error.message);
        /* Anthropic carries both results in one user turn, and the echo sends it all back. */
        ck_assert_str_eq(o2.response->text, provider == LLM_PROVIDER_ANTHROPIC ? "12 °C10:00" : "10:00");
        ck_assert_int_eq(o2.response->stop_reason, LLM_STOP_END);

        outcome_done(&o);
        outcome_done(&o2);
        setup_done(&s);
}

START_TEST(test_openai_tools) {
        check_tools(LLM_PROVIDER_OPENAI, false);
}
END_TEST

START_TEST(test_openai_tools_stream) {
        check_tools(LLM_PROVIDER_OPENAI_COMPATIBLE, true);
}
END_TEST

START_TEST(test_anthropic_tools) {
        check_tools(LLM_PROVIDER_ANTHROPIC, false);
}
END_TEST

START_TEST(test_anthropic_tools_stream) {
        check_tools(LLM_PROVIDER_ANTHROPIC, true);
}
END_TEST

/* --- errors and retries ------------------------------------------------------------------------ */

/* Runs a scenario with the given replies; the outcome is the caller's to check. */
static void run_scripted(LlmProvider provider, const char *name, const char *replies, bool stream,
                         usec_t timeout, unsigned max_attempts, Outcome *o) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        char model[64];
        Setup s;

        scenario(model, name);
        script(model, replies);
        setup_init(&s, provider, model, "ping");
        s.req.stream = stream;
        if (timeout > 0)
                s.req.timeout = timeout;
        s.req.max_attempts = max_attempts;
        outcome_init(o);
        run(c, &s.req, o);
        setup_done(&s);
}

static void check_retry_after(LlmProvider provider) {
        Outcome o;

        run_scripted(provider, "r429",
                     "[{\"error\": {\"status\": 429, \"message\": \"Slow down\", \"retry_after\": 1}}, {\"text\": \"ok\"}]",
                     false, 0, 0, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "ok");
        ck_assert_uint_eq(o.response->attempts, 2);
        /* The provider's wait was honoured, not the 50 ms backoff. */
        ck_assert_msg(outcome_seconds(&o) >= 0.95, "retried after %.3f s", outcome_seconds(&o));
        ck_assert_msg(outcome_seconds(&o) < 2.5, "took %.3f s", outcome_seconds(&o));
        outcome_done(&o);
}

START_TEST(test_openai_429_retry_after) {
        check_retry_after(LLM_PROVIDER_OPENAI);
}
END_TEST

START_TEST(test_anthropic_429_retry_after) {
        check_retry_after(LLM_PROVIDER_ANTHROPIC);
}
END_TEST

START_TEST(test_retry_after_ms_and_limit) {
        Outcome o;

        /* OpenAI's retry-after-ms wins over the coarser header. */
        run_scripted(LLM_PROVIDER_OPENAI, "rms",
                     "[{\"error\": {\"status\": 429, \"retry_after\": 30, \"retry_after_ms\": 300}}, {\"text\": \"ok\"}]",
                     false, 0, 0, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_msg(outcome_seconds(&o) >= 0.28 && outcome_seconds(&o) < 2, "took %.3f s", outcome_seconds(&o));
        outcome_done(&o);

        /* A wait longer than the client holds a request for (5 s here) ends it at once,
         * telling the caller how long the provider asked for. */
        run_scripted(LLM_PROVIDER_ANTHROPIC, "rlong",
                     "[{\"error\": {\"status\": 429, \"retry_after\": 120}}, {\"text\": \"never\"}]", false, 0, 0, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_RATE_LIMIT);
        ck_assert_uint_eq(o.error.retry_after, 120 * USEC_PER_SECOND);
        ck_assert_uint_eq(o.error.attempts, 1);
        ck_assert_str_eq(o.error.message, "Rate limit reached for requests");
        ck_assert(outcome_seconds(&o) < 1);
        outcome_done(&o);
}
END_TEST

START_TEST(test_500_then_success) {
        Outcome o;

        run_scripted(LLM_PROVIDER_OPENAI_COMPATIBLE, "r500",
                     "[{\"error\": {\"status\": 500}}, {\"error\": {\"status\": 503, \"body\": \"<html>busy</html>\"}},"
                     " {\"text\": \"third time\"}]", false, 0, 0, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "third time");
        ck_assert_uint_eq(o.response->attempts, 3);
        outcome_done(&o);

        /* Out of attempts: the last error. */
        run_scripted(LLM_PROVIDER_ANTHROPIC, "r529",
                     "[{\"error\": {\"status\": 529}}, {\"error\": {\"status\": 529}}, {\"text\": \"too late\"}]",
                     false, 0, 2, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_SERVER);
        ck_assert_int_eq(o.error.http_status, 529);
        ck_assert_str_eq(o.error.message, "Overloaded");
        ck_assert_str_eq(o.error.provider_type, "overloaded_error");
        ck_assert_uint_eq(o.error.attempts, 2);
        outcome_done(&o);
}
END_TEST

START_TEST(test_400_ends_with_provider_message) {
        Outcome o;

        run_scripted(LLM_PROVIDER_OPENAI, "r400",
                     "[{\"error\": {\"status\": 400, \"message\": \"max_tokens is too large: 999999.\"}}, {\"text\": \"no\"}]",
                     false, 0, 0, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_CLIENT);
        ck_assert_int_eq(o.error.http_status, 400);
        ck_assert_str_eq(o.error.message, "max_tokens is too large: 999999.");
        ck_assert_str_eq(o.error.provider_type, "invalid_request_error");
        ck_assert_uint_eq(o.error.attempts, 1);        /* never retried */
        outcome_done(&o);

        /* The same for a streamed request, in Anthropic's shape. */
        run_scripted(LLM_PROVIDER_ANTHROPIC, "r400s",
                     "[{\"error\": {\"status\": 404, \"message\": \"model: nope\"}}]", true, 0, 0, &o);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_CLIENT);
        ck_assert_str_eq(o.error.message, "model: nope");
        ck_assert_str_eq(o.error.provider_type, "not_found_error");
        ck_assert_uint_eq(o.pieces, 0);
        outcome_done(&o);
}
END_TEST

static void check_auth(LlmProvider provider, const char *message) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        char model[64];
        Setup s;
        Outcome o;

        scenario(model, "auth");
        setup_init(&s, provider, model, "hi");
        s.req.api_key = "wrong-key";
        outcome_init(&o);
        run(c, &s.req, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_AUTH);
        ck_assert_int_eq(o.error.http_status, 401);
        ck_assert_str_eq(o.error.message, message);
        ck_assert_uint_eq(o.error.attempts, 1);
        outcome_done(&o);
        setup_done(&s);
}

START_TEST(test_openai_401) {
        check_auth(LLM_PROVIDER_OPENAI, "Incorrect API key provided: wrong-key.");
}
END_TEST

START_TEST(test_anthropic_401) {
        check_auth(LLM_PROVIDER_ANTHROPIC, "invalid x-api-key");
}
END_TEST

START_TEST(test_timeout) {
        Outcome o;

        run_scripted(LLM_PROVIDER_OPENAI, "tmo", "[{\"delay\": 5, \"text\": \"late\"}]", false, 300 * USEC_PER_MSEC, 1, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_TIMEOUT);
        ck_assert_int_eq(o.error.http_status, 0);
        ck_assert_msg(outcome_seconds(&o) >= 0.29 && outcome_seconds(&o) < 1.5, "took %.3f s", outcome_seconds(&o));
        outcome_done(&o);

        /* A timed-out attempt is tried again. */
        run_scripted(LLM_PROVIDER_ANTHROPIC, "tmo2", "[{\"delay\": 5, \"text\": \"late\"}, {\"text\": \"in time\"}]",
                     false, 300 * USEC_PER_MSEC, 2, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "in time");
        ck_assert_uint_eq(o.response->attempts, 2);
        outcome_done(&o);

        /* The timeout is silence: a stream whose pieces keep coming outlives it. */
        run_scripted(LLM_PROVIDER_OPENAI, "tmo3",
                     "[{\"text\": \"a b c d e f\", \"chunks\": 6, \"chunk_delay\": 0.15}]", true, 400 * USEC_PER_MSEC, 1, &o);
        ck_assert_msg(o.response, "stream failed: %s", o.error.message);
        ck_assert_str_eq(o.response->text, "a b c d e f");
        ck_assert(outcome_seconds(&o) > 0.7);
        outcome_done(&o);
}
END_TEST

/* The deadline bounds the whole request: a stream that keeps coming and the retries. */
static void run_with_deadline(const char *name, const char *replies, bool stream, usec_t deadline_in,
                              unsigned max_attempts, Outcome *o) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        char model[64];
        Setup s;

        scenario(model, name);
        script(model, replies);
        setup_init(&s, LLM_PROVIDER_OPENAI, model, "ping");
        s.req.stream = stream;
        s.req.max_attempts = max_attempts;
        s.req.deadline = now_monotonic_usec() + deadline_in;
        outcome_init(o);
        run(c, &s.req, o);
        setup_done(&s);
}

START_TEST(test_deadline) {
        Outcome o;

        run_with_deadline("dl1", "[{\"text\": \"a b c d e f g h\", \"chunks\": 8, \"chunk_delay\": 0.2}]", true,
                          500 * USEC_PER_MSEC, 1, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_TIMEOUT);
        ck_assert_msg(outcome_seconds(&o) >= 0.49 && outcome_seconds(&o) < 1.2, "took %.3f s", outcome_seconds(&o));
        outcome_done(&o);

        /* A retry that could not start before the deadline is not made: the first error ends it. */
        run_with_deadline("dl2", "[{\"error\": {\"status\": 500, \"message\": \"Boom\", \"retry_after\": 1}}, "
                          "{\"text\": \"ok\"}]", false, 300 * USEC_PER_MSEC, 3, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_SERVER);
        ck_assert_uint_eq(o.error.attempts, 1);
        outcome_done(&o);

        /* In time, the retry is made. */
        run_with_deadline("dl3", "[{\"error\": {\"status\": 500, \"message\": \"Boom\"}}, {\"text\": \"ok\"}]",
                          false, 10 * USEC_PER_SECOND, 3, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_uint_eq(o.response->attempts, 2);
        outcome_done(&o);
}
END_TEST

START_TEST(test_lost_connection) {
        Outcome o;

        /* Dropped before answering: retried. */
        run_scripted(LLM_PROVIDER_OPENAI, "drop", "[{\"drop\": true}, {\"text\": \"back\"}]", false, 0, 0, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "back");
        ck_assert_uint_eq(o.response->attempts, 2);
        outcome_done(&o);

        /* Dropped in the middle of a stream whose text the caller already has: not started
         * over (the text would come twice). */
        run_scripted(LLM_PROVIDER_ANTHROPIC, "dropmid",
                     "[{\"text\": \"one two three\", \"drop_after\": 2}, {\"text\": \"again\"}]", true, 0, 0, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_NETWORK);
        ck_assert_uint_eq(o.error.attempts, 1);
        ck_assert_str_eq(o.text, "one two ");
        outcome_done(&o);

        /* An error event in the middle of a stream. */
        run_scripted(LLM_PROVIDER_ANTHROPIC, "evt",
                     "[{\"text\": \"one two three\", \"stream_error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\", \"after\": 1}}]",
                     true, 0, 0, &o);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_SERVER);
        ck_assert_str_eq(o.error.message, "Overloaded");
        ck_assert_str_eq(o.text, "one ");
        outcome_done(&o);

        /* ... and before any text: tried again. */
        run_scripted(LLM_PROVIDER_OPENAI, "evt0",
                     "[{\"text\": \"x\", \"stream_error\": {\"message\": \"boom\", \"after\": 0}}, {\"text\": \"fine\"}]",
                     true, 0, 0, &o);
        ck_assert_ptr_nonnull(o.response);
        ck_assert_str_eq(o.response->text, "fine");
        ck_assert_str_eq(o.text, "fine");
        ck_assert_uint_eq(o.response->attempts, 2);
        outcome_done(&o);
}
END_TEST

START_TEST(test_no_server) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        Setup s;
        Outcome o;

        /* Port 1 on loopback: nobody listens. */
        setup_init(&s, LLM_PROVIDER_OPENAI_COMPATIBLE, "m", "hi");
        s.req.base_url = "http://127.0.0.1:1/v1";
        s.req.max_attempts = 2;
        outcome_init(&o);
        run(c, &s.req, &o);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_NETWORK);
        ck_assert_uint_eq(o.error.attempts, 2);
        ck_assert(!isempty(o.error.message));
        outcome_done(&o);
        setup_done(&s);
}
END_TEST

/* --- cancellation and stopping ----------------------------------------------------------------- */

START_TEST(test_cancel_mid_stream) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        char model[64];
        Setup s;
        Outcome o;

        scenario(model, "cancel");
        script(model, "[{\"text\": \"a b c d e f g h i j\", \"chunks\": 10, \"chunk_delay\": 0.3}]");
        setup_init(&s, LLM_PROVIDER_ANTHROPIC, model, "go");
        s.req.stream = true;
        outcome_init(&o);
        o.cancel_after = 2;
        run(c, &s.req, &o);
        ck_assert_ptr_null(o.response);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_CANCELLED);
        ck_assert_uint_eq(o.pieces, 2);
        ck_assert(!o.text_after_done);
        /* Two pieces 0.3 s apart, then it stopped: far from the 3 s the stream takes. */
        ck_assert_msg(outcome_seconds(&o) < 1.2, "took %.3f s", outcome_seconds(&o));
        ck_assert_uint_eq(llm_client_pending(c), 0);
        outcome_done(&o);
        setup_done(&s);
}
END_TEST

START_TEST(test_cancel_waiting) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        char model[64];
        Setup s;
        Outcome o;

        scenario(model, "cancelw");
        script(model, "[{\"delay\": 5, \"text\": \"late\"}]");
        setup_init(&s, LLM_PROVIDER_OPENAI, model, "go");
        outcome_init(&o);
        o.client = c;
        o.started = now_monotonic_usec();
        ck_assert_int_eq(llm_client_submit(c, &s.req, on_done, NULL, &o, &o.handle), 0);
        usleep(200 * 1000);
        ck_assert_int_eq(llm_client_cancel(c, o.handle), 0);
        outcome_wait(&o);
        ck_assert_int_eq(o.error.kind, LLM_ERROR_CANCELLED);
        ck_assert(outcome_seconds(&o) < 1);
        /* Cancelling what ended already does nothing. */
        ck_assert_int_eq(llm_client_cancel(c, o.handle), 0);
        outcome_done(&o);
        setup_done(&s);
}
END_TEST

START_TEST(test_stop_ends_requests) {
        LlmClient *c = client_new();
        char model[64];
        Outcome o[3];
        Setup s;

        scenario(model, "stop");
        fake_llm_script(&fake, model, "[]", "{\"delay\": 5}");
        setup_init(&s, LLM_PROVIDER_OPENAI, model, "go");
        for (size_t i = 0; i < ELEMENTSOF(o); i++) {
                outcome_init(&o[i]);
                ck_assert_int_eq(llm_client_submit(c, &s.req, on_done, NULL, &o[i], NULL), 0);
        }
        usleep(100 * 1000);
        ck_assert_uint_eq(llm_client_pending(c), 3);
        ck_assert_int_eq(llm_client_stop(c), 0);
        /* Every callback ran before stop returned. */
        for (size_t i = 0; i < ELEMENTSOF(o); i++) {
                ck_assert(o[i].done);
                ck_assert_int_eq(o[i].error.kind, LLM_ERROR_CANCELLED);
                outcome_done(&o[i]);
        }
        ck_assert_uint_eq(llm_client_pending(c), 0);
        ck_assert_int_eq(llm_client_submit(c, &s.req, on_done, NULL, &o[0], NULL), -ESHUTDOWN);
        llm_client_free(c);
        setup_done(&s);
}
END_TEST

START_TEST(test_invalid_request) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        Setup s;
        Outcome o;

        setup_init(&s, LLM_PROVIDER_OPENAI_COMPATIBLE, "m", "hi");
        s.req.base_url = NULL;
        outcome_init(&o);
        ck_assert_int_eq(llm_client_submit(c, &s.req, on_done, NULL, &o, NULL), -EINVAL);
        s.req.base_url = fake.openai_url;
        s.req.model = NULL;
        ck_assert_int_eq(llm_client_submit(c, &s.req, on_done, NULL, &o, NULL), -EINVAL);
        ck_assert_int_eq(llm_client_submit(c, &s.req, NULL, NULL, &o, NULL), -EINVAL);
        ck_assert(!o.done);
        outcome_done(&o);
        setup_done(&s);
}
END_TEST

START_TEST(test_complete_sync) {
        _cleanup_(llm_response_freep) LlmResponse *r = NULL;
        LlmError e;
        Outcome o;
        Setup s;

        /* Without a client: one is started for the call. Default echo reply. */
        setup_init(&s, LLM_PROVIDER_ANTHROPIC, "sync-echo", "echo this");
        ck_assert_int_eq(llm_complete_sync(NULL, &s.req, NULL, NULL, NULL, &r, &e), 0);
        ck_assert_str_eq(r->text, "echo this");

        r = llm_response_free(r);

        /* Streamed, with the text callback passed through. */
        s.req.stream = true;
        outcome_init(&o);
        ck_assert_int_eq(llm_complete_sync(NULL, &s.req, on_text, &o, NULL, &r, &e), 0);
        ck_assert_str_eq(r->text, "echo this");
        ck_assert_str_eq(o.text, "echo this");
        ck_assert_uint_eq(o.pieces, 2);
        outcome_done(&o);

        s.req.api_key = "bad";
        ck_assert_int_eq(llm_complete_sync(NULL, &s.req, NULL, NULL, NULL, &r, &e), -EIO);
        ck_assert_int_eq(e.kind, LLM_ERROR_AUTH);
        llm_error_done(&e);

        s.req.model = "";
        ck_assert_int_eq(llm_complete_sync(NULL, &s.req, NULL, NULL, NULL, &r, &e), -EINVAL);
        ck_assert_str_eq(e.message, "a model name is required");
        llm_error_done(&e);
        setup_done(&s);
}
END_TEST

static volatile bool sync_cancelled;

static void *cancel_later(void *arg) {
        usleep(200 * 1000);
        sync_cancelled = true;
        return NULL;
}

START_TEST(test_complete_sync_cancel) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        LlmResponse *r = NULL;
        char model[64];
        pthread_t t;
        LlmError e;
        Setup s;
        usec_t start = now_monotonic_usec();

        scenario(model, "synccancel");
        script(model, "[{\"delay\": 5}]");
        setup_init(&s, LLM_PROVIDER_OPENAI, model, "x");
        ck_assert_int_eq(pthread_create(&t, NULL, cancel_later, NULL), 0);
        ck_assert_int_eq(llm_complete_sync(c, &s.req, NULL, NULL, &sync_cancelled, &r, &e), -ECANCELED);
        pthread_join(t, NULL);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(e.kind, LLM_ERROR_CANCELLED);
        ck_assert(now_monotonic_usec() - start < USEC_PER_SECOND);
        llm_error_done(&e);
        setup_done(&s);
}
END_TEST

/* --- many at once ------------------------------------------------------------------------------------- */

#define CONCURRENT 200

START_TEST(test_concurrent) {
        _cleanup_(llm_client_freep) LlmClient *c = client_new();
        Outcome *o = calloc(CONCURRENT, sizeof(Outcome));
        Setup *s = calloc(CONCURRENT, sizeof(Setup));
        char model[64], question[32];
        usec_t start, end = 0;

        ck_assert_ptr_nonnull(o);
        ck_assert_ptr_nonnull(s);
        scenario(model, "many");
        /* Every request waits 1 s at the provider, then gets its own question back. */
        ck_assert_int_eq(fake_llm_script(&fake, model, "[]", "{\"echo\": true, \"delay\": 1}"), 0);

        start = now_monotonic_usec();
        for (size_t i = 0; i < CONCURRENT; i++) {
                snprintf(question, sizeof(question), "question %zu", i);
                setup_init(&s[i], i % 2 ? LLM_PROVIDER_ANTHROPIC : LLM_PROVIDER_OPENAI, model, question);
                s[i].req.stream = i % 4 >= 2;
                outcome_init(&o[i]);
                o[i].started = start;
                ck_assert_int_eq(llm_client_submit(c, &s[i].req, on_done, on_text, &o[i], NULL), 0);
        }
        for (size_t i = 0; i < CONCURRENT; i++) {
                outcome_wait(&o[i]);
                ck_assert_msg(o[i].response, "request %zu: %s", i, o[i].error.message);
                snprintf(question, sizeof(question), "question %zu", i);
                ck_assert_str_eq(o[i].response->text, question);
                end = MAX(end, o[i].ended);
        }
        fprintf(stderr, "%d requests with a 1 s answer each: %.3f s\n", CONCURRENT,
                (double) (end - start) / USEC_PER_SECOND);
        ck_assert_msg(end - start < 2500 * USEC_PER_MSEC, "took %.3f s", (double) (end - start) / USEC_PER_SECOND);
        for (size_t i = 0; i < CONCURRENT; i++) {
                outcome_done(&o[i]);
                setup_done(&s[i]);
        }
        free(o);
        free(s);
}
END_TEST

static Suite *client_suite(void) {
        Suite *s = suite_create("llm-client");
        TCase *tc;

        tc = tcase_create("answers");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_openai_plain);
        tcase_add_test(tc, test_anthropic_plain);
        tcase_add_test(tc, test_openai_stream);
        tcase_add_test(tc, test_anthropic_stream);
        tcase_add_test(tc, test_openai_tools);
        tcase_add_test(tc, test_openai_tools_stream);
        tcase_add_test(tc, test_anthropic_tools);
        tcase_add_test(tc, test_anthropic_tools_stream);
        tcase_add_test(tc, test_complete_sync);
        suite_add_tcase(s, tc);

        tc = tcase_create("errors");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_openai_429_retry_after);
        tcase_add_test(tc, test_anthropic_429_retry_after);
        tcase_add_test(tc, test_retry_after_ms_and_limit);
        tcase_add_test(tc, test_500_then_success);
        tcase_add_test(tc, test_400_ends_with_provider_message);
        tcase_add_test(tc, test_openai_401);
        tcase_add_test(tc, test_anthropic_401);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_lost_connection);
        tcase_add_test(tc, test_no_server);
        tcase_add_test(tc, test_invalid_request);
        suite_add_tcase(s, tc);

        tc = tcase_create("control");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_cancel_mid_stream);
        tcase_add_test(tc, test_cancel_waiting);
        tcase_add_test(tc, test_stop_ends_requests);
        tcase_add_test(tc, test_complete_sync_cancel);
        tcase_add_test(tc, test_concurrent);
        tcase_add_test(tc, test_deadline);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int r, failed;

        r = fake_llm_start(&fake);
        if (r == -ENOENT) {
                fprintf(stderr, "python3 or tests/fake-llm/fake_llm.py is missing: skipped\n");
                return 77;
        }
        if (r < 0) {
                fprintf(stderr, "the fake LLM provider did not start: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        sr = srunner_create(client_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        fake_llm_stop(&fake);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
