/* OpenAI's chat completions dialect, spoken by OpenAI and by the servers that copy it
 * (Ollama, vLLM, llama.cpp's server, OpenRouter, …): request bodies, plain answers and
 * streamed chunks ("data: {choices: [{delta}]}" … "data: [DONE]"). */

#include <math.h>
#include <string.h>

#include "common/json-util.h"
#include "llm/llm-dialect.h"

static int set_new(json_t *obj, const char *key, json_t *value) {
        if (!value)
                return -ENOMEM;
        return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

static int add_tool_calls(json_t *msg, const LlmMessage *m) {
        _cleanup_json_ json_t *calls = json_array();
        int r;

        if (!calls)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_tool_calls; i++) {
                const LlmToolCall *c = &m->tool_calls[i];
                _cleanup_json_ json_t *call = json_object(), *function = json_object();

                if (!call || !function)
                        return -ENOMEM;
                if ((r = llm_json_set_string(function, "name", c->name)) < 0 ||
                    (r = llm_json_set_string(function, "arguments", isempty(c->arguments) ? "{}" : c->arguments)) < 0 ||
                    (r = llm_json_set_string(call, "id", c->id)) < 0 ||
                    (r = llm_json_set_string(call, "type", "function")) < 0 ||
                    (r = set_new(call, "function", TAKE_PTR(function))) < 0)
                        return r;
                if (json_array_append(calls, call) < 0)
                        return -ENOMEM;
        }
        return set_new(msg, "tool_calls", TAKE_PTR(calls));
}

static int message_json(const LlmMessage *m, json_t **ret) {
        _cleanup_json_ json_t *msg = json_object();
        int r;

        if (!msg)
                return -ENOMEM;
        r = llm_json_set_string(msg, "role", llm_role_to_string(m->role));
        if (r < 0)
                return r;

        if (m->role == LLM_ROLE_ASSISTANT && m->n_tool_calls > 0) {
                /* An empty text part is left out: the call alone is the turn. */
                if (isempty(m->text))
                        r = set_new(msg, "content", json_null());
                else
                        r = llm_json_set_string(msg, "content", m->text);
                if (r >= 0)
                        r = add_tool_calls(msg, m);
        } else
                r = llm_json_set_string(msg, "content", m->text);
        if (r < 0)
                return r;

        if (m->role == LLM_ROLE_TOOL) {
                r = llm_json_set_string(msg, "tool_call_id", m->tool_call_id);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(msg);
        return 0;
}

static int tool_json(const LlmTool *t, json_t **ret) {
        _cleanup_json_ json_t *tool = json_object(), *function = json_object();
        json_t *parameters;
        int r;

        if (!tool || !function)
                return -ENOMEM;
        r = llm_json_set_string(function, "name", t->name);
        if (r >= 0 && !isempty(t->description))
                r = llm_json_set_string(function, "description", t->description);
        if (r < 0)
                return r;
        parameters = t->parameters ? json_incref(t->parameters)
                                   : json_pack("{s:s, s:{}}", "type", "object", "properties");
        if ((r = set_new(function, "parameters", parameters)) < 0 ||
            (r = llm_json_set_string(tool, "type", "function")) < 0 ||
            (r = set_new(tool, "function", TAKE_PTR(function))) < 0)
                return r;
        *ret = TAKE_PTR(tool);
        return 0;
}

static int set_double(json_t *body, const char *key, double v) {
        return isnan(v) ? 0 : set_new(body, key, json_real(v));
}

int llm_openai_body(const LlmRequest *req, json_t **ret) {
        _cleanup_json_ json_t *body = json_object(), *messages = json_array();
        int r;

        if (!body || !messages)
                return -ENOMEM;
        r = llm_json_set_string(body, "model", req->model);
        if (r < 0)
                return r;

        if (!isempty(req->system_prompt)) {
                LlmMessage system = { .role = LLM_ROLE_SYSTEM, .text = (char *) req->system_prompt };
                json_t *m;

                r = message_json(&system, &m);
                if (r < 0)
                        return r;
                if (json_array_append_new(messages, m) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < req->n_messages; i++) {
                json_t *m;

                r = message_json(&req->messages[i], &m);
                if (r < 0)
                        return r;
                if (json_array_append_new(messages, m) < 0)
                        return -ENOMEM;
        }
        r = set_new(body, "messages", TAKE_PTR(messages));
        if (r < 0)
                return r;

        if (req->stream) {
                /* include_usage: a last chunk carries the token counts. */
                if ((r = set_new(body, "stream", json_true())) < 0 ||
                    (r = set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1))) < 0)
                        return r;
        }
        if ((r = set_double(body, "temperature", req->temperature)) < 0 ||
            (r = set_double(body, "top_p", req->top_p)) < 0 ||
            (r = set_double(body, "frequency_penalty", req->frequency_penalty)) < 0 ||
            (r = set_double(body, "presence_penalty", req->presence_penalty)) < 0)
                return r;
        if (req->max_tokens > 0) {
                /* OpenAI's reasoning models accept only max_completion_tokens; the servers
                 * that copy the API know max_tokens. */
                r = set_new(body,
                            req->provider == LLM_PROVIDER_OPENAI ? "max_completion_tokens" : "max_tokens",
                            json_integer(req->max_tokens));
                if (r < 0)
                        return r;
        }
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
                r = set_new(body, "stop", TAKE_PTR(stop));
                if (r < 0)
                        return r;
        }
        if (req->response_format) {
                r = set_new(body, "response_format", json_incref(req->response_format));
                if (r < 0)
                        return r;
        }
        if (req->n_tools > 0) {
                _cleanup_json_ json_t *tools = json_array();

                if (!tools)
                        return -ENOMEM;
                for (size_t i = 0; i < req->n_tools; i++) {
                        json_t *t;

                        r = tool_json(&req->tools[i], &t);
                        if (r < 0)
                                return r;
                        if (json_array_append_new(tools, t) < 0)
                                return -ENOMEM;
                }
                r = set_new(body, "tools", TAKE_PTR(tools));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(body);
        return 0;
}

/* --- answers ------------------------------------------------------------------------------- */

/* content is a string, null, or (some servers) a list of parts {type: "text", text}. */
static int content_text(json_t *content, LlmBuf *text) {
        size_t i;
        json_t *part;
        int r;

        if (json_is_string(content))
                return llm_buf_append(text, json_string_value(content), json_string_length(content));
        json_array_foreach(content, i, part) {
                json_t *t = json_object_get(part, "text");

                if (json_is_string(t) && (r = llm_buf_append(text, json_string_value(t), json_string_length(t))) < 0)
                        return r;
        }
        return 0;
}

/* Arguments arrive as JSON text; a server that sends an object gets it written out. */
static char *arguments_text(json_t *arguments) {
        if (json_is_string(arguments))
                return strdup(json_string_length(arguments) > 0 ? json_string_value(arguments) : "{}");
        if (json_is_object(arguments))
                return json_dumps_compact(arguments);
        return strdup("{}");
}

static void usage_read(json_t *usage, LlmUsage *u) {
        u->input_tokens = llm_json_uint(usage, "prompt_tokens");
        u->output_tokens = llm_json_uint(usage, "completion_tokens");
        u->cache_read_tokens = llm_json_uint(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
        u->cache_write_tokens = 0;
}

int llm_openai_parse_response(json_t *body, LlmResponse **ret) {
        _cleanup_(llm_response_freep) LlmResponse *resp = NULL;
        json_t *choice, *message, *calls, *call, *usage;
        LlmBuf text = {};
        size_t i;
        int r;

        choice = json_array_get(json_object_get(body, "choices"), 0);
        message = json_object_get(choice, "message");
        if (!json_is_object(message))
                return -EBADMSG;

        resp = llm_response_new();
        if (!resp)
                return -ENOMEM;
        r = content_text(json_object_get(message, "content"), &text);
        if (r < 0) {
                llm_buf_done(&text);
                return r;
        }
        resp->text = llm_buf_steal(&text);
        if (!resp->text)
                return -ENOMEM;

        calls = json_object_get(message, "tool_calls");
        if (json_array_size(calls) > 0) {
                resp->tool_calls = calloc(json_array_size(calls), sizeof(LlmToolCall));
                if (!resp->tool_calls)
                        return -ENOMEM;
        }
        json_array_foreach(calls, i, call) {
                json_t *function = json_object_get(call, "function");
                LlmToolCall *c = &resp->tool_calls[resp->n_tool_calls++];

                c->id = strdup(json_string_value(json_object_get(call, "id")) ?: "");
                c->name = strdup(json_string_value(json_object_get(function, "name")) ?: "");
                c->arguments = arguments_text(json_object_get(function, "arguments"));
                if (!c->id || !c->name || !c->arguments)
                        return -ENOMEM;
        }

        resp->stop_reason_raw = llm_json_strdup(choice, "finish_reason");
        resp->stop_reason = llm_stop_reason_from_openai(resp->stop_reason_raw);
        /* Some servers say "stop" after calling tools; the calls are what count. */
        if (resp->n_tool_calls > 0 && resp->stop_reason == LLM_STOP_END)
                resp->stop_reason = LLM_STOP_TOOL_USE;
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

static int stream_tool_call_delta(LlmStream *s, json_t *delta, size_t position) {
        json_t *index = json_object_get(delta, "index"), *function = json_object_get(delta, "function");
        json_t *id = json_object_get(delta, "id"), *name = json_object_get(function, "name");
        json_t *arguments = json_object_get(function, "arguments");
        LlmStreamCall *c;
        int64_t i;

        /* Fragments of one call share its index; a server that sends no index gets its
         * calls told apart by a new id. */
        if (json_is_integer(index))
                i = json_integer_value(index);
        else if (json_is_string(id) || s->n_calls == 0)
                i = (int64_t) (s->n_calls + position);
        else
                i = s->calls[s->n_calls - 1].index;

        c = llm_stream_call(s, i, NULL);
        if (!c)
                return -ENOMEM;
        if (json_is_string(id) && json_string_length(id) > 0 && !c->id && !(c->id = strdup(json_string_value(id))))
                return -ENOMEM;
        if (json_is_string(name) && json_string_length(name) > 0 && !c->name &&
            !(c->name = strdup(json_string_value(name))))
                return -ENOMEM;
        if (json_is_string(arguments))
                return llm_buf_append(&c->arguments, json_string_value(arguments), json_string_length(arguments));
        if (json_is_object(arguments)) {
                _cleanup_free_ char *text = json_dumps_compact(arguments);

                return text ? llm_buf_append(&c->arguments, text, strlen(text)) : -ENOMEM;
        }
        return 0;
}

int llm_openai_stream_event(LlmStream *s, const char *event, const char *data) {
        _cleanup_json_ json_t *chunk = NULL;
        json_t *error, *usage, *choices, *choice;
        size_t i;
        int r;

        if (streq(data, "[DONE]")) {
                s->finished = true;
                return 0;
        }
        chunk = json_loads(data, 0, NULL);
        if (!json_is_object(chunk))
                return llm_stream_fail(s, LLM_ERROR_SERVER, "the provider sent a malformed stream event", NULL);

        /* Errors in the middle of a stream come as a chunk of their own. */
        error = json_object_get(chunk, "error");
        if (error && !json_is_null(error)) {
                const char *message = json_is_string(error) ? json_string_value(error)
                                                            : json_string_value(json_object_get(error, "message"));

                return llm_stream_fail(s, LLM_ERROR_SERVER, message ?: "the provider reported an error in the stream",
                                   json_string_value(json_object_get(error, "type")));
        }

        if (!s->id && !(s->id = llm_json_strdup(chunk, "id")) && json_is_string(json_object_get(chunk, "id")))
                return -ENOMEM;
        if (!s->model && !(s->model = llm_json_strdup(chunk, "model")) && json_is_string(json_object_get(chunk, "model")))
                return -ENOMEM;
        usage = json_object_get(chunk, "usage");
        if (json_is_object(usage)) {
                usage_read(usage, &s->usage);
                s->has_usage = true;
        }

        choices = json_object_get(chunk, "choices");
        json_array_foreach(choices, i, choice) {
                json_t *index = json_object_get(choice, "index"), *delta = json_object_get(choice, "delta");
                json_t *content = json_object_get(delta, "content"), *calls = json_object_get(delta, "tool_calls");
                json_t *finish = json_object_get(choice, "finish_reason"), *call;
                size_t j;

                /* We ask for one choice; a server sending more is read for the first. */
                if (json_is_integer(index) && json_integer_value(index) != 0)
                        continue;
                if (json_is_string(content) && json_string_length(content) > 0) {
                        r = llm_stream_text(s, json_string_value(content), json_string_length(content));
                        if (r < 0)
                                return r;
                }
                json_array_foreach(calls, j, call) {
                        r = stream_tool_call_delta(s, call, j);
                        if (r < 0)
                                return r;
                }
                if (json_is_string(finish)) {
                        free(s->stop_reason);
                        s->stop_reason = strdup(json_string_value(finish));
                        if (!s->stop_reason)
                                return -ENOMEM;
                }
        }
        return 0;
}
