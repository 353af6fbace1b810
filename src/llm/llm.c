/* The provider-neutral values: names of the enums, messages, responses, errors, and the
 * small buffers and JSON helpers the dialects share. */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "llm/llm-dialect.h"
#include "llm/llm.h"

static const char *const provider_names[_LLM_PROVIDER_MAX] = {
        [LLM_PROVIDER_OPENAI] = "openai",
        [LLM_PROVIDER_OPENAI_COMPATIBLE] = "openai_compatible",
        [LLM_PROVIDER_ANTHROPIC] = "anthropic",
};

static const char *const role_names[_LLM_ROLE_MAX] = {
        [LLM_ROLE_SYSTEM] = "system",
        [LLM_ROLE_USER] = "user",
        [LLM_ROLE_ASSISTANT] = "assistant",
        [LLM_ROLE_TOOL] = "tool",
};

static const char *const stop_reason_names[_LLM_STOP_MAX] = {
        [LLM_STOP_END] = "end",
        [LLM_STOP_TOOL_USE] = "tool_use",
        [LLM_STOP_MAX_TOKENS] = "max_tokens",
        [LLM_STOP_STOP_SEQUENCE] = "stop_sequence",
        [LLM_STOP_CONTENT_FILTER] = "content_filter",
        [LLM_STOP_OTHER] = "other",
};

static const char *const error_kind_names[_LLM_ERROR_MAX] = {
        [LLM_ERROR_AUTH] = "auth",
        [LLM_ERROR_RATE_LIMIT] = "rate_limit",
        [LLM_ERROR_SERVER] = "server",
        [LLM_ERROR_CLIENT] = "client",
        [LLM_ERROR_NETWORK] = "network",
        [LLM_ERROR_TIMEOUT] = "timeout",
        [LLM_ERROR_CANCELLED] = "cancelled",
        [LLM_ERROR_INTERNAL] = "internal",
};

static int lookup(const char *const *names, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (names[i] && streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *llm_provider_to_string(LlmProvider p) {
        return p >= 0 && p < _LLM_PROVIDER_MAX ? provider_names[p] : NULL;
}

LlmProvider llm_provider_from_string(const char *s) {
        return (LlmProvider) lookup(provider_names, _LLM_PROVIDER_MAX, s);
}

bool llm_provider_is_openai_style(LlmProvider p) {
        return p == LLM_PROVIDER_OPENAI || p == LLM_PROVIDER_OPENAI_COMPATIBLE;
}

const char *llm_role_to_string(LlmRole r) {
        return r >= 0 && r < _LLM_ROLE_MAX ? role_names[r] : NULL;
}

LlmRole llm_role_from_string(const char *s) {
        return (LlmRole) lookup(role_names, _LLM_ROLE_MAX, s);
}

const char *llm_stop_reason_to_string(LlmStopReason r) {
        return r >= 0 && r < _LLM_STOP_MAX ? stop_reason_names[r] : NULL;
}

const char *llm_error_kind_to_string(LlmErrorKind k) {
        return k >= 0 && k < _LLM_ERROR_MAX ? error_kind_names[k] : NULL;
}

LlmStopReason llm_stop_reason_from_openai(const char *s) {
        if (!s || streq(s, "stop"))
                return LLM_STOP_END;
        if (streq(s, "tool_calls") || streq(s, "function_call"))
                return LLM_STOP_TOOL_USE;
        if (streq(s, "length"))
                return LLM_STOP_MAX_TOKENS;
        if (streq(s, "content_filter"))
                return LLM_STOP_CONTENT_FILTER;
        return LLM_STOP_OTHER;
}

LlmStopReason llm_stop_reason_from_anthropic(const char *s) {
        if (!s || streq(s, "end_turn"))
                return LLM_STOP_END;
        if (streq(s, "tool_use"))
                return LLM_STOP_TOOL_USE;
        if (streq(s, "max_tokens"))
                return LLM_STOP_MAX_TOKENS;
        if (streq(s, "stop_sequence"))
                return LLM_STOP_STOP_SEQUENCE;
        if (streq(s, "refusal"))
                return LLM_STOP_CONTENT_FILTER;
        return LLM_STOP_OTHER;
}

void llm_request_init(LlmRequest *r) {
        *r = (LlmRequest) {
                .temperature = NAN,
                .top_p = NAN,
                .frequency_penalty = NAN,
                .presence_penalty = NAN,
        };
}

/* --- messages -------------------------------------------------------------------------------- */

void llm_tool_call_done(LlmToolCall *c) {
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->arguments);
        *c = (LlmToolCall) {};
}

static void tool_calls_free(LlmToolCall *calls, size_t n) {
        for (size_t i = 0; i < n; i++)
                llm_tool_call_done(&calls[i]);
        free(calls);
}

void llm_message_done(LlmMessage *m) {
        if (!m)
                return;
        free(m->text);
        tool_calls_free(m->tool_calls, m->n_tool_calls);
        free(m->tool_call_id);
        *m = (LlmMessage) {};
}

void llm_messages_free(LlmMessage *messages, size_t n) {
        for (size_t i = 0; i < n; i++)
                llm_message_done(&messages[i]);
        free(messages);
}

LlmMessage *llm_messages_add(LlmMessage **messages, size_t *n, LlmRole role, const char *text) {
        _cleanup_free_ char *copy = strdup(text ?: "");
        LlmMessage *grown;

        if (!copy || role < 0 || role >= _LLM_ROLE_MAX)
                return NULL;
        grown = reallocarray(*messages, *n + 1, sizeof(LlmMessage));
        if (!grown)
                return NULL;
        *messages = grown;
        grown[*n] = (LlmMessage) { .role = role, .text = TAKE_PTR(copy) };
        return &grown[(*n)++];
}

LlmMessage *llm_messages_add_tool_result(LlmMessage **messages, size_t *n, const char *tool_call_id,
                                         const char *content, bool is_error) {
        _cleanup_free_ char *id = strdup(tool_call_id ?: "");
        LlmMessage *m;

        if (!id)
                return NULL;
        m = llm_messages_add(messages, n, LLM_ROLE_TOOL, content);
        if (!m)
                return NULL;
        m->tool_call_id = TAKE_PTR(id);
        m->is_error = is_error;
        return m;
}

int llm_message_add_tool_call(LlmMessage *m, const char *id, const char *name, const char *arguments) {
        LlmToolCall c = {
                .id = strdup(id ?: ""),
                .name = strdup(name ?: ""),
                .arguments = strdup(isempty(arguments) ? "{}" : arguments),
        };
        LlmToolCall *grown;

        if (!c.id || !c.name || !c.arguments)
                goto fail;
        grown = reallocarray(m->tool_calls, m->n_tool_calls + 1, sizeof(LlmToolCall));
        if (!grown)
                goto fail;
        m->tool_calls = grown;
        grown[m->n_tool_calls++] = c;
        return 0;
fail:
        llm_tool_call_done(&c);
        return -ENOMEM;
}

LlmMessage *llm_messages_add_response(LlmMessage **messages, size_t *n, const LlmResponse *r) {
        LlmMessage *m = llm_messages_add(messages, n, LLM_ROLE_ASSISTANT, r->text);

        if (!m)
                return NULL;
        for (size_t i = 0; i < r->n_tool_calls; i++)
                if (llm_message_add_tool_call(m, r->tool_calls[i].id, r->tool_calls[i].name,
                                              r->tool_calls[i].arguments) < 0) {
                        llm_message_done(m);
                        (*n)--;
                        return NULL;
                }
        return m;
}

json_t *llm_tool_call_arguments(const LlmToolCall *c) {
        json_t *v;

        if (isempty(c->arguments))
                return json_object();
        v = json_loads(c->arguments, 0, NULL);
        if (!json_is_object(v)) {
                json_decref(v);
                return NULL;
        }
        return v;
}

/* --- responses and errors ------------------------------------------------------------------ */

LlmResponse *llm_response_free(LlmResponse *r) {
        if (!r)
                return NULL;
        free(r->text);
        tool_calls_free(r->tool_calls, r->n_tool_calls);
        free(r->stop_reason_raw);
        free(r->model);
        free(r->id);
        free(r);
        return NULL;
}

void llm_error_done(LlmError *e) {
        if (!e)
                return;
        free(e->message);
        free(e->provider_type);
        *e = (LlmError) {};
}

int llm_error_copy(LlmError *dst, const LlmError *src) {
        *dst = *src;
        dst->message = src->message ? strdup(src->message) : NULL;
        dst->provider_type = src->provider_type ? strdup(src->provider_type) : NULL;
        if ((src->message && !dst->message) || (src->provider_type && !dst->provider_type)) {
                llm_error_done(dst);
                return -ENOMEM;
        }
        return 0;
}

bool llm_error_is_retryable(const LlmError *e) {
        switch (e->kind) {
        case LLM_ERROR_RATE_LIMIT:
        case LLM_ERROR_SERVER:
        case LLM_ERROR_NETWORK:
        case LLM_ERROR_TIMEOUT:
                return true;
        default:
                return false;
        }
}

int llm_error_set(LlmError *e, LlmErrorKind kind, const char *format, ...) {
        char *message;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        e->kind = kind;
        if (r < 0)
                return -ENOMEM;
        free(e->message);
        e->message = message;
        return 0;
}

LlmErrorKind llm_error_kind_from_status(int status) {
        if (status == 401 || status == 403)
                return LLM_ERROR_AUTH;
        if (status == 429)
                return LLM_ERROR_RATE_LIMIT;
        if (status >= 500)
                return LLM_ERROR_SERVER;
        return LLM_ERROR_CLIENT;
}

/* --- buffers, string lists, JSON ------------------------------------------------------------ */

int llm_buf_append(LlmBuf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->allocated) {
                size_t allocated = MAX(MAX(b->allocated * 2, b->len + n + 1), (size_t) 64);
                char *data = realloc(b->data, allocated);

                if (!data)
                        return -ENOMEM;
                b->data = data;
                b->allocated = allocated;
        }
        if (n > 0)
                memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

void llm_buf_clear(LlmBuf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

void llm_buf_done(LlmBuf *b) {
        free(b->data);
        *b = (LlmBuf) {};
}

char *llm_buf_steal(LlmBuf *b) {
        char *s = b->data ?: strdup("");

        *b = (LlmBuf) {};
        return s;
}

void llm_strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

int llm_json_set_string(json_t *obj, const char *key, const char *value) {
        json_t *v = json_string(value ?: "");

        /* json_string() refuses text that is not UTF-8. */
        if (!v)
                return -EINVAL;
        return json_object_set_new(obj, key, v) < 0 ? -ENOMEM : 0;
}

char *llm_json_strdup(json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);

        return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

uint64_t llm_json_uint(json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);

        if (json_is_integer(v) && json_integer_value(v) > 0)
                return (uint64_t) json_integer_value(v);
        if (json_is_real(v) && json_real_value(v) > 0)
                return (uint64_t) json_real_value(v);
        return 0;
}
