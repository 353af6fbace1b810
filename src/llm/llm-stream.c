/* A streamed answer read piece by piece: the SSE reader hands each event to the dialect,
 * which adds text (passed on to the caller as it comes) and tool call fragments; at the
 * end the pieces become one LlmResponse, the same a plain answer would have given. */

#include <string.h>

#include "common/json-util.h"
#include "llm/llm-dialect.h"

void llm_stream_init(LlmStream *s, LlmProvider provider, LlmTextFunc on_text, void *userdata) {
        *s = (LlmStream) {
                .provider = provider,
                .on_text = on_text,
                .userdata = userdata,
        };
}

void llm_stream_done(LlmStream *s) {
        llm_sse_done(&s->sse);
        llm_buf_done(&s->text);
        for (size_t i = 0; i < s->n_calls; i++) {
                free(s->calls[i].id);
                free(s->calls[i].name);
                llm_buf_done(&s->calls[i].arguments);
        }
        free(s->calls);
        free(s->id);
        free(s->model);
        free(s->stop_reason);
        llm_error_done(&s->error);
        *s = (LlmStream) {};
}

int llm_stream_fail(LlmStream *s, LlmErrorKind kind, const char *message, const char *type) {
        s->failed = true;
        s->error.kind = kind;
        free(s->error.message);
        s->error.message = strdup(message);
        free(s->error.provider_type);
        s->error.provider_type = type ? strdup(type) : NULL;
        return -EPROTO;
}

int llm_stream_text(LlmStream *s, const char *text, size_t len) {
        int r;

        if (len == 0)
                return 0;
        r = llm_buf_append(&s->text, text, len);
        if (r < 0)
                return r;
        if (s->on_text)
                s->on_text(text, len, s->userdata);
        return 0;
}

LlmStreamCall *llm_stream_call(LlmStream *s, int64_t index, bool *ret_created) {
        LlmStreamCall *grown;

        for (size_t i = 0; i < s->n_calls; i++)
                if (s->calls[i].index == index) {
                        if (ret_created)
                                *ret_created = false;
                        return &s->calls[i];
                }
        grown = reallocarray(s->calls, s->n_calls + 1, sizeof(LlmStreamCall));
        if (!grown)
                return NULL;
        s->calls = grown;
        grown[s->n_calls] = (LlmStreamCall) { .index = index };
        if (ret_created)
                *ret_created = true;
        return &grown[s->n_calls++];
}

static int stream_event(const char *event, const char *data, void *userdata) {
        LlmStream *s = userdata;

        if (llm_provider_is_openai_style(s->provider))
                return llm_openai_stream_event(s, event, data);
        return llm_anthropic_stream_event(s, event, data);
}

/* Describes a failure of the reader itself (the dialects describe theirs). */
static int stream_failed(LlmStream *s, int r) {
        if (s->failed)
                return r;
        s->failed = true;
        if (r == -E2BIG)
                (void) llm_error_set(&s->error, LLM_ERROR_SERVER, "the provider sent a stream event over %zu bytes",
                                     LLM_SSE_MAX_EVENT);
        else
                (void) llm_error_set(&s->error, LLM_ERROR_INTERNAL, "reading the stream failed: %s", strerror(-r));
        return r;
}

int llm_stream_feed(LlmStream *s, const char *buf, size_t n) {
        int r;

        if (s->failed)
                return -EPROTO;
        r = llm_sse_feed(&s->sse, buf, n, stream_event, s);
        return r < 0 ? stream_failed(s, r) : 0;
}

static int call_cmp(const void *a, const void *b) {
        const LlmStreamCall *x = a, *y = b;

        return x->index < y->index ? -1 : x->index > y->index;
}

int llm_stream_finish(LlmStream *s, LlmResponse **ret, LlmError *ret_error) {
        _cleanup_(llm_response_freep) LlmResponse *resp = NULL;
        bool openai = llm_provider_is_openai_style(s->provider);
        int r;

        if (!s->failed) {
                r = llm_sse_finish(&s->sse, stream_event, s);
                if (r < 0)
                        (void) stream_failed(s, r);
        }
        /* An OpenAI-style server that names a finish reason and then closes has said all. */
        if (!s->failed && !s->finished && !(openai && s->stop_reason)) {
                s->failed = true;
                (void) llm_error_set(&s->error, LLM_ERROR_NETWORK, "the stream ended before the answer was complete");
        }
        if (s->failed) {
                *ret_error = s->error;
                s->error = (LlmError) {};
                return -EPROTO;
        }

        resp = llm_response_new();
        if (!resp)
                return -ENOMEM;
        resp->text = llm_buf_steal(&s->text);
        if (!resp->text)
                return -ENOMEM;
        if (s->n_calls > 0) {
                qsort(s->calls, s->n_calls, sizeof(LlmStreamCall), call_cmp);
                resp->tool_calls = calloc(s->n_calls, sizeof(LlmToolCall));
                if (!resp->tool_calls)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_calls; i++) {
                        LlmStreamCall *c = &s->calls[i];
                        LlmToolCall *t = &resp->tool_calls[resp->n_tool_calls++];

                        t->id = TAKE_PTR(c->id) ?: strdup("");
                        t->name = TAKE_PTR(c->name) ?: strdup("");
                        t->arguments = c->arguments.len > 0 ? llm_buf_steal(&c->arguments) : strdup("{}");
                        if (!t->id || !t->name || !t->arguments)
                                return -ENOMEM;
                }
        }
        resp->stop_reason_raw = TAKE_PTR(s->stop_reason);
        resp->stop_reason = openai ? llm_stop_reason_from_openai(resp->stop_reason_raw)
                                   : llm_stop_reason_from_anthropic(resp->stop_reason_raw);
        if (resp->n_tool_calls > 0 && resp->stop_reason == LLM_STOP_END)
                resp->stop_reason = LLM_STOP_TOOL_USE;
        resp->usage = s->usage;
        resp->has_usage = s->has_usage;
        resp->model = TAKE_PTR(s->model);
        resp->id = TAKE_PTR(s->id);
        *ret = TAKE_PTR(resp);
        return 0;
}

int llm_parse_response(LlmProvider provider, json_t *body, LlmResponse **ret) {
        if (llm_provider_is_openai_style(provider))
                return llm_openai_parse_response(body, ret);
        if (provider == LLM_PROVIDER_ANTHROPIC)
                return llm_anthropic_parse_response(body, ret);
        return -EINVAL;
}
