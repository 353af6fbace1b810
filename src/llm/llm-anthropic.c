/* Anthropic's messages dialect: request bodies (system prompt in "system", content blocks,
 * tool_use / tool_result), plain answers and the streamed event sequence (message_start,
 * content_block_start/delta/stop, message_delta, message_stop, ping, error). */

#include <math.h>
#include <string.h>

#include "common/json-util.h"
#include "llm/llm-dialect.h"

static int set_new(json_t *obj, const char *key, json_t *value) {
        if (!value)
                return -ENOMEM;
        return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

static int append_new(json_t *array, json_t *value) {
        if (!value)
                return -ENOMEM;
        return json_array_append_new(array, value) < 0 ? -ENOMEM : 0;
}

static int text_block(const char *text, json_t **ret) {
        _cleanup_json_ json_t *block = json_object();
        int r;

        if (!block)
                return -ENOMEM;
        if ((r = llm_json_set_string(block, "type", "text")) < 0 ||
            (r = llm_json_set_string(block, "text", text)) < 0)
                return r;
        *ret = TAKE_PTR(block);
        return 0;
}

/* The blocks one message adds to its turn. Empty text blocks are left out: the API
 * refuses them. */
static int message_blocks(const LlmMessage *m, json_t *blocks) {
        _cleanup_json_ json_t *block = NULL;
        int r;

        switch (m->role) {
        case LLM_ROLE_USER:
                if (isempty(m->text))
                        return 0;
                r = text_block(m->text, &block);
                if (r < 0)
                        return r;
                return append_new(blocks, TAKE_PTR(block));

        case LLM_ROLE_ASSISTANT:
                if (!isempty(m->text)) {
                        r = text_block(m->text, &block);
                        if (r < 0)
                                return r;
                        r = append_new(blocks, TAKE_PTR(block));
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < m->n_tool_calls; i++) {
                        const LlmToolCall *c = &m->tool_calls[i];
                        /* input must be an object: arguments that are not one (written
                         * by another provider's model) become {}. */
                        json_t *input = llm_tool_call_arguments(c) ?: json_object();

                        block = json_object();
                        if (!block || !input) {
                                json_decref(input);
                                return -ENOMEM;
                        }
                        if ((r = llm_json_set_string(block, "type", "tool_use")) < 0 ||
                            (r = llm_json_set_string(block, "id", c->id)) < 0 ||
                            (r = llm_json_set_string(block, "name", c->name)) < 0 ||
                            (r = set_new(block, "input", input)) < 0 ||
                            (r = append_new(blocks, TAKE_PTR(block))) < 0)
                                return r;
                }
                return 0;

        case LLM_ROLE_TOOL:
                block = json_object();
                if (!block)
                        return -ENOMEM;
                if ((r = llm_json_set_string(block, "type", "tool_result")) < 0 ||
                    (r = llm_json_set_string(block, "tool_use_id", m->tool_call_id)) < 0 ||
                    (r = llm_json_set_string(block, "content", m->text)) < 0)
                        return r;
                if (m->is_error && (r = set_new(block, "is_error", json_true())) < 0)
                        return r;
                return append_new(blocks, TAKE_PTR(block));

        default:
                return 0;
        }
}

static bool is_tool_result(json_t *block) {
        const char *type = json_string_value(json_object_get(block, "type"));

        return type && streq(type, "tool_result");
}

/* Adds blocks to the turn content: tool results go before any other block (the API wants
 * them first in their user turn). */
static int merge_blocks(json_t *content, json_t *blocks) {
        size_t i, first_other = json_array_size(content);
        json_t *b;

        for (size_t k = 0; k < json_array_size(content); k++)
                if (!is_tool_result(json_array_get(content, k))) {
                        first_other = k;
                        break;
                }
        json_array_foreach(blocks, i, b) {
                if (is_tool_result(b)) {
                        if (json_array_insert(content, first_other++, b) < 0)
                                return -ENOMEM;
                } else if (json_array_append(content, b) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int append_system(LlmBuf *system, const char *text) {
        int r;

        if (isempty(text))
                return 0;
        if (system->len > 0 && (r = llm_buf_append(system, "\n\n", 2)) < 0)
                return r;
        return llm_buf_append(system, text, strlen(text));
}

/* Turns alternate user/assistant; a tool result is part of a user turn. Consecutive
 * messages of one side become one turn. */
static int messages_json(const LlmRequest *req, json_t *messages, LlmBuf *system) {
        json_t *last = NULL;
        const char *last_role = NULL;
        int r;

        r = append_system(system, req->system_prompt);
        if (r < 0)
                return r;
        for (size_t i = 0; i < req->n_messages; i++) {
                const LlmMessage *m = &req->messages[i];
                _cleanup_json_ json_t *blocks = json_array();
                const char *role;

                if (m->role == LLM_ROLE_SYSTEM) {
                        r = append_system(system, m->text);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!blocks)
                        return -ENOMEM;
                r = message_blocks(m, blocks);
                if (r < 0)
                        return r;
                if (json_array_size(blocks) == 0)
                        continue;

                role = m->role == LLM_ROLE_ASSISTANT ? "assistant" : "user";
                if (last && streq(last_role, role)) {
                        r = merge_blocks(json_object_get(last, "content"), blocks);
                        if (r < 0)
                                return r;
                        continue;
                }
                last = json_pack("{s:s, s:O}", "role", role, "content", blocks);
                if (!last)
                        return -ENOMEM;
                if (json_array_append_new(messages, last) < 0)
                        return -ENOMEM;
                last_role = role;
        }
        return 0;
}

int llm_anthropic_body(const LlmRequest *req, json_t **ret) {
        _cleanup_json_ json_t *body = json_object(), *messages = json_array();
        LlmBuf system = {};
        int r;

        if (!body || !messages)
                return -ENOMEM;
        r = llm_json_set_string(body, "model", req->model);
        if (r < 0)
                return r;
        r = set_new(body, "max_tokens",
                    json_integer(req->max_tokens > 0 ? req->max_tokens : LLM_ANTHROPIC_DEFAULT_MAX_TOKENS));
        if (r < 0)
                return r;

        r = messages_json(req, messages, &system);
        if (r >= 0 && system.len > 0)
                r = llm_json_set_string(body, "system", system.data);
        llm_buf_done(&system);
        if (r < 0)
                return r;
        r = set_new(body, "messages", TAKE_PTR(messages));
        if (r < 0)
                return r;

        if (!isnan(req->temperature) && (r = set_new(body, "temperature", json_real(req->temperature))) < 0)
                return r;
        if (!isnan(req->top_p) && (r = set_new(body, "top_p", json_real(req->top_p))) < 0)
                return r;
        if (req->stop && req->stop[0]) {
                _cleanup_json_ json_t *stop = json_array();

                if (!stop)
                        return -ENOMEM;
                for (const char *const *s = req->stop; *s; s++) {
                        json_t *v = json_string(*s);

                        if (!v)
                                return -EINVAL;
                        if (json_array_append_new(stop, v) < 0)
                                return -ENOMEM;
                }
                r = set_new(body, "stop_sequences", TAKE_PTR(stop));
                if (r < 0)
                        return r;
        }
        if (req->stream && (r = set_new(body, "stream", json_true())) < 0)
                return r;
        if (req->n_tools > 0) {
                _cleanup_json_ json_t *tools = json_array();

                if (!tools)
                        return -ENOMEM;
                for (size_t i = 0; i < req->n_tools; i++) {
                        const LlmTool *t = &req->tools[i];
                        _cleanup_json_ json_t *tool = json_object();
                        json_t *schema = t->parameters ? json_incref(t->parameters)
                                                       : json_pack("{s:s, s:{}}", "type", "object", "properties");

                        if (!tool || !schema) {
                                json_decref(schema);
                                return -ENOMEM;
                        }
                        if ((r = llm_json_set_string(tool, "name", t->name)) < 0 ||
                            (!isempty(t->description) && (r = llm_json_set_string(tool, "description", t->description)) < 0) ||
                            (r = set_new(tool, "input_schema", schema)) < 0 ||
                            (r = append_new(tools, TAKE_PTR(tool))) < 0)
                                return r;
                }
                r = set_new(body, "tools", TAKE_PTR(tools));
                if (r < 0)
                        return r;
        }
        /* Penalties and response_format have no Anthropic counterpart: left out. */
        *ret = TAKE_PTR(body);
        return 0;
}

/* --- answers ------------------------------------------------------------------------------- */

static void usage_read(json_t *usage, LlmUsage *u) {
        u->cache_read_tokens = llm_json_uint(usage, "cache_read_input_tokens");
        u->cache_write_tokens = llm_json_uint(usage, "cache_creation_input_tokens");
        u->input_tokens = llm_json_uint(usage, "input_tokens") + u->cache_read_tokens + u->cache_write_tokens;
        u->output_tokens = llm_json_uint(usage, "output_tokens");
}

int llm_anthropic_parse_response(json_t *body, LlmResponse **ret) {
        _cleanup_(llm_response_freep) LlmResponse *resp = NULL;
        json_t *content = json_object_get(body, "content"), *block, *usage;
        LlmBuf text = {};
        size_t i, n_calls = 0;
        int r = 0;

        if (!json_is_array(content))
                return -EBADMSG;
        resp = llm_response_new();
        if (!resp)
                return -ENOMEM;

        json_array_foreach(content, i, block)
                if (streq_ptr(json_string_value(json_object_get(block, "type")), "tool_use"))
                        n_calls++;
        if (n_calls > 0 && !(resp->tool_calls = calloc(n_calls, sizeof(LlmToolCall))))
                return -ENOMEM;

        /* Text blocks are joined; thinking and server-side tool blocks are not the answer. */
        json_array_foreach(content, i, block) {
                const char *type = json_string_value(json_object_get(block, "type"));

                if (streq_ptr(type, "text")) {
                        json_t *t = json_object_get(block, "text");

                        if (json_is_string(t))
                                r = llm_buf_append(&text, json_string_value(t), json_string_length(t));
                } else if (streq_ptr(type, "tool_use")) {
                        LlmToolCall *c = &resp->tool_calls[resp->n_tool_calls++];
                        json_t *input = json_object_get(block, "input");

                        c->id = strdup(json_string_value(json_object_get(block, "id")) ?: "");
                        c->name = strdup(json_string_value(json_object_get(block, "name")) ?: "");
                        c->arguments = json_is_object(input) ? json_dumps_compact(input) : strdup("{}");
                        if (!c->id || !c->name || !c->arguments)
                                r = -ENOMEM;
                }
                if (r < 0) {
                        llm_buf_done(&text);
                        return r;
                }
        }
        resp->text = llm_buf_steal(&text);
        if (!resp->text)
                return -ENOMEM;

        resp->stop_reason_raw = llm_json_strdup(body, "stop_reason");
        resp->stop_reason = llm_stop_reason_from_anthropic(resp->stop_reason_raw);
        usage = json_object_get(body, "usage");
        if (json_is_object(usage)) {
                usage_read(usage, &resp->usage);
                resp->has_usage = true;
        }
        resp->model = llm_json_strdup(body, "model");
        resp->id = llm_json_strdup(body, "id");
        *ret = TAKE_PTR(resp);
        return 0;
}

/* --- streams --------------------------------------------------------------------------------- */

static LlmErrorKind error_kind_from_type(const char *type) {
        if (!type)
                return LLM_ERROR_SERVER;
        if (streq(type, "rate_limit_error"))
                return LLM_ERROR_RATE_LIMIT;
        if (streq(type, "authentication_error") || streq(type, "permission_error"))
                return LLM_ERROR_AUTH;
        if (streq(type, "invalid_request_error") || streq(type, "not_found_error") ||
            streq(type, "request_too_large"))
                return LLM_ERROR_CLIENT;
        return LLM_ERROR_SERVER;        /* api_error, overloaded_error, anything new */
}

static int set_once(char **field, json_t *obj, const char *key) {
        if (*field || !json_is_string(json_object_get(obj, key)))
                return 0;
        *field = llm_json_strdup(obj, key);
        return *field ? 0 : -ENOMEM;
}

static int block_start(LlmStream *s, json_t *event) {
        json_t *index = json_object_get(event, "index"), *block = json_object_get(event, "content_block");
        const char *type = json_string_value(json_object_get(block, "type"));
        LlmStreamCall *c;
        json_t *input;
        int r;

        if (streq_ptr(type, "text")) {
                json_t *t = json_object_get(block, "text");

                if (json_is_string(t) && json_string_length(t) > 0)
                        return llm_stream_text(s, json_string_value(t), json_string_length(t));
                return 0;
        }
        if (!streq_ptr(type, "tool_use"))
                return 0;
        if (!json_is_integer(index))
                return llm_stream_fail(s, LLM_ERROR_SERVER, "the provider sent a content block without index", NULL);

        c = llm_stream_call(s, json_integer_value(index), NULL);
        if (!c)
                return -ENOMEM;
        if ((r = set_once(&c->id, block, "id")) < 0 || (r = set_once(&c->name, block, "name")) < 0)
                return r;
        /* The input is normally {} here and comes as input_json_delta pieces; a proxy that
         * sends it whole is taken at its word. */
        input = json_object_get(block, "input");
        if (json_object_size(input) > 0) {
                _cleanup_free_ char *text = json_dumps_compact(input);

                return text ? llm_buf_append(&c->arguments, text, strlen(text)) : -ENOMEM;
        }
        return 0;
}

static int block_delta(LlmStream *s, json_t *event) {
        json_t *index = json_object_get(event, "index"), *delta = json_object_get(event, "delta");
        const char *type = json_string_value(json_object_get(delta, "type"));

        if (streq_ptr(type, "text_delta")) {
                json_t *t = json_object_get(delta, "text");

                if (json_is_string(t) && json_string_length(t) > 0)
                        return llm_stream_text(s, json_string_value(t), json_string_length(t));
        } else if (streq_ptr(type, "input_json_delta")) {
                json_t *partial = json_object_get(delta, "partial_json");
                LlmStreamCall *c;

                if (!json_is_integer(index))
                        return llm_stream_fail(s, LLM_ERROR_SERVER, "the provider sent a content block without index", NULL);
                c = llm_stream_call(s, json_integer_value(index), NULL);
                if (!c)
                        return -ENOMEM;
                if (json_is_string(partial))
                        return llm_buf_append(&c->arguments, json_string_value(partial), json_string_length(partial));
        }
        /* thinking_delta, signature_delta, citations_delta: not part of the answer. */
        return 0;
}

int llm_anthropic_stream_event(LlmStream *s, const char *event_name, const char *data) {
        _cleanup_json_ json_t *event = json_loads(data, 0, NULL);
        const char *type;
        json_t *message, *usage, *delta;
        int r;

        if (!json_is_object(event))
                return llm_stream_fail(s, LLM_ERROR_SERVER, "the provider sent a malformed stream event", NULL);
        type = json_string_value(json_object_get(event, "type")) ?: event_name;
        if (!type)
                return 0;

        if (streq(type, "message_start")) {
                message = json_object_get(event, "message");
                if ((r = set_once(&s->id, message, "id")) < 0 || (r = set_once(&s->model, message, "model")) < 0)
                        return r;
                usage = json_object_get(message, "usage");
                if (json_is_object(usage)) {
                        usage_read(usage, &s->usage);
                        s->has_usage = true;
                }
        } else if (streq(type, "content_block_start"))
                return block_start(s, event);
        else if (streq(type, "content_block_delta"))
                return block_delta(s, event);
        else if (streq(type, "message_delta")) {
                delta = json_object_get(event, "delta");
                if (json_is_string(json_object_get(delta, "stop_reason"))) {
                        free(s->stop_reason);
                        s->stop_reason = llm_json_strdup(delta, "stop_reason");
                        if (!s->stop_reason)
                                return -ENOMEM;
                }
                /* Counts here are totals so far: output always, input ones when present. */
                usage = json_object_get(event, "usage");
                if (json_is_object(usage)) {
                        LlmUsage u;

                        usage_read(usage, &u);
                        if (json_object_get(usage, "input_tokens"))
                                s->usage = u;
                        else
                                s->usage.output_tokens = u.output_tokens;
                        s->has_usage = true;
                }
        } else if (streq(type, "message_stop"))
                s->finished = true;
        else if (streq(type, "error")) {
                json_t *error = json_object_get(event, "error");
                const char *etype = json_string_value(json_object_get(error, "type"));
                const char *text = json_string_value(json_object_get(error, "message"));

                return llm_stream_fail(s, error_kind_from_type(etype),
                                       text ?: "the provider reported an error in the stream", etype);
        }
        /* ping, content_block_stop, and event types added later: nothing to do. */
        return 0;
}
