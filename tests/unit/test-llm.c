/* The LLM dialects without network: request bodies of both dialects (system prompt, tools,
 * tool calls and results, model settings), URLs and headers, plain answers and errors,
 * the server-sent-events reader fed in every possible cut, streams of both dialects
 * folded into the same answers, and retry timing. */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "llm/llm-dialect.h"
#include "llm/llm.h"

static void assert_json_eq(json_t *got, const char *expected_text) {
        _cleanup_json_ json_t *expected = json_loads(expected_text, 0, NULL);
        _cleanup_free_ char *g = NULL, *e = NULL;

        ck_assert_msg(expected, "bad expected JSON: %s", expected_text);
        if (json_equal(got, expected))
                return;
        g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
        e = json_dumps(expected, JSON_SORT_KEYS | JSON_INDENT(1));
        ck_abort_msg("JSON differs.\n--- got:\n%s\n--- expected:\n%s", g, e);
}

/* A conversation with every kind of message: a system line, a question, a tool-calling
 * turn with two calls, both results, and a follow-up. */
typedef struct Conversation {
        LlmMessage *messages;
        size_t n;
        LlmTool tools[2];
        json_t *schema;
} Conversation;

static void conversation_init(Conversation *c) {
        LlmMessage *m;

        *c = (Conversation) {};
        ck_assert_ptr_nonnull(llm_messages_add(&c->messages, &c->n, LLM_ROLE_SYSTEM, "Answer in French."));
        ck_assert_ptr_nonnull(llm_messages_add(&c->messages, &c->n, LLM_ROLE_USER, "Weather in Paris and Rome?"));
        m = llm_messages_add(&c->messages, &c->n, LLM_ROLE_ASSISTANT, "");
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(llm_message_add_tool_call(m, "call_1", "get_weather", "{\"city\":\"Paris\"}"), 0);
        ck_assert_int_eq(llm_message_add_tool_call(m, "call_2", "get_weather", "{\"city\":\"Rome\"}"), 0);
        ck_assert_ptr_nonnull(llm_messages_add_tool_result(&c->messages, &c->n, "call_1", "18 °C", false));
        ck_assert_ptr_nonnull(llm_messages_add_tool_result(&c->messages, &c->n, "call_2", "no data", true));
        ck_assert_ptr_nonnull(llm_messages_add(&c->messages, &c->n, LLM_ROLE_USER, "And tomorrow?"));

        c->schema = json_loads("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                               "\"required\":[\"city\"]}", 0, NULL);
        c->tools[0] = (LlmTool) { "get_weather", "The weather in a city", c->schema };
        c->tools[1] = (LlmTool) { "now", NULL, NULL };
}

static void conversation_done(Conversation *c) {
        llm_messages_free(c->messages, c->n);
        json_decref(c->schema);
}

static void request_for(LlmRequest *req, LlmProvider provider, Conversation *c) {
        llm_request_init(req);
        req->provider = provider;
        req->model = "m-1";
        req->system_prompt = "You are terse.";
        req->messages = c->messages;
        req->n_messages = c->n;
        req->tools = c->tools;
        req->n_tools = 2;
}

START_TEST(test_openai_body) {
        static const char *const stop[] = { "END", NULL };
        _cleanup_json_ json_t *body = NULL, *format = json_pack("{s:s}", "type", "json_object");
        _cleanup_free_ char *text = NULL;
        Conversation c;
        LlmRequest req;

        conversation_init(&c);
        request_for(&req, LLM_PROVIDER_OPENAI, &c);
        req.temperature = 0.7;
        req.top_p = 0.9;
        req.frequency_penalty = 0.5;
        req.presence_penalty = -0.5;
        req.max_tokens = 256;
        req.stop = stop;
        req.response_format = format;
        req.stream = true;

        ck_assert_int_eq(llm_request_body(&req, &body), 0);
        assert_json_eq(body,
                "{\"model\": \"m-1\", \"messages\": ["
                " {\"role\": \"system\", \"content\": \"You are terse.\"},"
                " {\"role\": \"system\", \"content\": \"Answer in French.\"},"
                " {\"role\": \"user\", \"content\": \"Weather in Paris and Rome?\"},"
                " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": ["
                "   {\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\":\\\"Paris\\\"}\"}},"
                "   {\"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\":\\\"Rome\\\"}\"}}]},"
                " {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"18 °C\"},"
                " {\"role\": \"tool\", \"tool_call_id\": \"call_2\", \"content\": \"no data\"},"
                " {\"role\": \"user\", \"content\": \"And tomorrow?\"}],"
                " \"stream\": true, \"stream_options\": {\"include_usage\": true},"
                " \"temperature\": 0.7, \"top_p\": 0.9, \"frequency_penalty\": 0.5, \"presence_penalty\": -0.5,"
                " \"max_completion_tokens\": 256, \"stop\": [\"END\"], \"response_format\": {\"type\": \"json_object\"},"
                " \"tools\": ["
                "  {\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"The weather in a city\","
                "   \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}},"
                "  {\"type\": \"function\", \"function\": {\"name\": \"now\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}}]}");

        /* Settings are written as people wrote them, not as 0.69999999999999996. */
        text = json_dumps_compact(body);
        ck_assert_ptr_nonnull(strstr(text, "\"temperature\":0.7,"));
        conversation_done(&c);
}
END_TEST

START_TEST(test_openai_compatible_body) {
        _cleanup_json_ json_t *body = NULL;
        LlmRequest req;

        llm_request_init(&req);
        req.provider = LLM_PROVIDER_OPENAI_COMPATIBLE;
        req.base_url = "http://localhost:11434/v1";
        req.model = "llama3";
        req.max_tokens = 100;
        ck_assert_int_eq(llm_request_body(&req, &body), 0);
        /* Servers copying the API know max_tokens; nothing unset is sent. */
        assert_json_eq(body, "{\"model\": \"llama3\", \"messages\": [], \"max_tokens\": 100}");
}
END_TEST

START_TEST(test_anthropic_body) {
        static const char *const stop[] = { "END", "STOP", NULL };
        _cleanup_json_ json_t *body = NULL, *format = json_pack("{s:s}", "type", "json_object");
        Conversation c;
        LlmRequest req;

        conversation_init(&c);
        request_for(&req, LLM_PROVIDER_ANTHROPIC, &c);
        req.temperature = 0.2;
        req.top_p = 0.8;
        req.frequency_penalty = 0.5;    /* no Anthropic counterpart: left out */
        req.response_format = format;   /* likewise */
        req.stop = stop;
        req.stream = true;

        ck_assert_int_eq(llm_request_body(&req, &body), 0);
        /* The system prompt and system messages go to "system"; both tool results and the
         * next question are one user turn, the results first. */
        assert_json_eq(body,
                "{\"model\": \"m-1\", \"max_tokens\": 4096,"
                " \"system\": \"You are terse.\\n\\nAnswer in French.\","
                " \"messages\": ["
                "  {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Weather in Paris and Rome?\"}]},"
                "  {\"role\": \"assistant\", \"content\": ["
                "    {\"type\": \"tool_use\", \"id\": \"call_1\", \"name\": \"get_weather\", \"input\": {\"city\": \"Paris\"}},"
                "    {\"type\": \"tool_use\", \"id\": \"call_2\", \"name\": \"get_weather\", \"input\": {\"city\": \"Rome\"}}]},"
                "  {\"role\": \"user\", \"content\": ["
                "    {\"type\": \"tool_result\", \"tool_use_id\": \"call_1\", \"content\": \"18 °C\"},"
                "    {\"type\": \"tool_result\", \"tool_use_id\": \"call_2\", \"content\": \"no data\", \"is_error\": true},"
                "    {\"type\": \"text\", \"text\": \"And tomorrow?\"}]}],"
                " \"temperature\": 0.2, \"top_p\": 0.8, \"stop_sequences\": [\"END\", \"STOP\"], \"stream\": true,"
                " \"tools\": ["
                "  {\"name\": \"get_weather\", \"description\": \"The weather in a city\","
                "   \"input_schema\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}},"
                "  {\"name\": \"now\", \"input_schema\": {\"type\": \"object\", \"properties\": {}}}]}");
        conversation_done(&c);
}
END_TEST

START_TEST(test_anthropic_body_edges) {
        _cleanup_json_ json_t *body = NULL;
        LlmMessage *messages = NULL, *m;
        size_t n = 0;
        LlmRequest req;

        /* A user text placed before tool results still lets the results lead the turn;
         * empty texts are left out; arguments that are not an object become {}. */
        ck_assert_ptr_nonnull(llm_messages_add(&messages, &n, LLM_ROLE_USER, "go"));
        ck_assert_ptr_nonnull(llm_messages_add(&messages, &n, LLM_ROLE_USER, ""));
        m = llm_messages_add(&messages, &n, LLM_ROLE_ASSISTANT, "Calling.");
        ck_assert_int_eq(llm_message_add_tool_call(m, "t1", "f", "not json"), 0);
        ck_assert_ptr_nonnull(llm_messages_add(&messages, &n, LLM_ROLE_USER, "hurry"));
        ck_assert_ptr_nonnull(llm_messages_add_tool_result(&messages, &n, "t1", "done", false));

        llm_request_init(&req);
        req.provider = LLM_PROVIDER_ANTHROPIC;
        req.model = "c";
        req.max_tokens = 10;
        req.messages = messages;
        req.n_messages = n;
        ck_assert_int_eq(llm_request_body(&req, &body), 0);
        assert_json_eq(body,
                "{\"model\": \"c\", \"max_tokens\": 10, \"messages\": ["
                " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"go\"}]},"
                " {\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"Calling.\"},"
                "   {\"type\": \"tool_use\", \"id\": \"t1\", \"name\": \"f\", \"input\": {}}]},"
                " {\"role\": \"user\", \"content\": [{\"type\": \"tool_result\", \"tool_use_id\": \"t1\", \"content\": \"done\"},"
                "   {\"type\": \"text\", \"text\": \"hurry\"}]}]}");
        llm_messages_free(messages, n);
}
END_TEST

START_TEST(test_body_rejects_bad_utf8) {
        _cleanup_json_ json_t *body = NULL;
        LlmMessage *messages = NULL;
        size_t n = 0;
        LlmRequest req;

        ck_assert_ptr_nonnull(llm_messages_add(&messages, &n, LLM_ROLE_USER, "caf\xe9"));
        llm_request_init(&req);
        req.provider = LLM_PROVIDER_OPENAI;
        req.model = "m";
        req.messages = messages;
        req.n_messages = n;
        ck_assert_int_eq(llm_request_body(&req, &body), -EINVAL);
        req.provider = LLM_PROVIDER_ANTHROPIC;
        ck_assert_int_eq(llm_request_body(&req, &body), -EINVAL);
        llm_messages_free(messages, n);
}
END_TEST

START_TEST(test_validate) {
        _cleanup_json_ json_t *good_headers = json_pack("{s:s}", "X-Title", "pipelit");
        _cleanup_json_ json_t *bad_name = json_pack("{s:s}", "Bad Header", "x");
        _cleanup_json_ json_t *bad_value = json_pack("{s:s}", "X-A", "a\r\nInjected: yes");
        LlmMessage tool_result = { .role = LLM_ROLE_TOOL, .text = (char *) "r" };
        const char *why = NULL;
        LlmRequest req;

        llm_request_init(&req);
        req.provider = LLM_PROVIDER_OPENAI;
        req.model = "m";
        req.headers = good_headers;
        ck_assert_int_eq(llm_request_validate(&req, &why), 0);

        req.model = "";
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        ck_assert_str_eq(why, "a model name is required");
        req.model = "m";

        req.provider = LLM_PROVIDER_OPENAI_COMPATIBLE;
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        ck_assert_str_eq(why, "an OpenAI-compatible provider needs a base URL");
        req.base_url = "ftp://example.org";
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        req.base_url = "http://127.0.0.1:8000/v1";
        ck_assert_int_eq(llm_request_validate(&req, NULL), 0);

        req.headers = bad_name;
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        req.headers = bad_value;
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        req.headers = NULL;
        req.api_key = "sk\nx";
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        req.api_key = NULL;

        req.messages = &tool_result;
        req.n_messages = 1;
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
        ck_assert_str_eq(why, "a tool result needs the id of the call it answers");

        req.n_messages = 0;
        req.provider = (LlmProvider) 7;
        ck_assert_int_eq(llm_request_validate(&req, &why), -EINVAL);
}
END_TEST

START_TEST(test_urls) {
        static const struct {
                LlmProvider provider;
                const char *base, *url;
        } cases[] = {
                { LLM_PROVIDER_OPENAI, NULL, "https://api.openai.com/v1/chat/completions" },
                { LLM_PROVIDER_OPENAI, "https://proxy.example/v1/", "https://proxy.example/v1/chat/completions" },
                { LLM_PROVIDER_OPENAI_COMPATIBLE, "http://localhost:11434/v1", "http://localhost:11434/v1/chat/completions" },
                { LLM_PROVIDER_ANTHROPIC, NULL, "https://api.anthropic.com/v1/messages" },
                { LLM_PROVIDER_ANTHROPIC, "http://127.0.0.1:9/", "http://127.0.0.1:9/v1/messages" },
                { LLM_PROVIDER_ANTHROPIC, "https://proxy.example/anthropic/v1", "https://proxy.example/anthropic/v1/messages" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *url = NULL;
                LlmRequest req;

                llm_request_init(&req);
                req.provider = cases[i].provider;
                req.base_url = cases[i].base;
                ck_assert_int_eq(llm_request_url(&req, &url), 0);
                ck_assert_str_eq(url, cases[i].url);
        }
}
END_TEST

static bool strv_has(char **l, const char *line) {
        for (; l && *l; l++)
                if (streq(*l, line))
                        return true;
        return false;
}

static bool strv_has_prefix(char **l, const char *prefix) {
        for (; l && *l; l++)
                if (strncasecmp(*l, prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

START_TEST(test_headers) {
        _cleanup_json_ json_t *custom = json_pack("{s:s, s:s}", "anthropic-version", "2023-01-01", "X-Title", "pipelit");
        _cleanup_(llm_strv_freep) char **openai = NULL, **anthropic = NULL, **local = NULL;
        LlmRequest req;

        llm_request_init(&req);
        req.provider = LLM_PROVIDER_OPENAI;
        req.model = "m";
        req.api_key = "sk-1";
        req.organization = "org-9";
        req.stream = true;
        ck_assert_int_eq(llm_request_headers(&req, &openai), 0);
        ck_assert(strv_has(openai, "Authorization: Bearer sk-1"));
        ck_assert(strv_has(openai, "OpenAI-Organization: org-9"));
        ck_assert(strv_has(openai, "Content-Type: application/json"));
        ck_assert(strv_has(openai, "Accept: text/event-stream"));
        ck_assert(!strv_has_prefix(openai, "x-api-key"));

        /* The request's own headers replace ours of the same name. */
        req.provider = LLM_PROVIDER_ANTHROPIC;
        req.headers = custom;
        req.stream = false;
        ck_assert_int_eq(llm_request_headers(&req, &anthropic), 0);
        ck_assert(strv_has(anthropic, "x-api-key: sk-1"));
        ck_assert(strv_has(anthropic, "anthropic-version: 2023-01-01"));
        ck_assert(!strv_has(anthropic, "anthropic-version: " LLM_ANTHROPIC_VERSION));
        ck_assert(strv_has(anthropic, "X-Title: pipelit"));
        ck_assert(strv_has(anthropic, "Accept: application/json"));
        ck_assert(!strv_has_prefix(anthropic, "Authorization"));
        ck_assert(!strv_has_prefix(anthropic, "OpenAI-Organization"));

        /* A local server without a key gets no auth header at all. */
        req.provider = LLM_PROVIDER_OPENAI_COMPATIBLE;
        req.headers = NULL;
        req.api_key = "";
        req.organization = NULL;
        ck_assert_int_eq(llm_request_headers(&req, &local), 0);
        ck_assert(!strv_has_prefix(local, "Authorization"));
}
END_TEST

/* --- plain answers ------------------------------------------------------------------------ */

static LlmResponse *parse(LlmProvider provider, const char *text) {
        _cleanup_json_ json_t *json = json_loads(text, 0, NULL);
        LlmResponse *resp = NULL;

        ck_assert_ptr_nonnull(json);
        ck_assert_int_eq(llm_parse_response(provider, json, &resp), 0);
        return resp;
}

START_TEST(test_openai_parse_text) {
        _cleanup_(llm_response_freep) LlmResponse *r = parse(LLM_PROVIDER_OPENAI,
                "{\"id\": \"chatcmpl-1\", \"object\": \"chat.completion\", \"model\": \"gpt-4o-2024-08-06\","
                " \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"Bonjour à vous\", \"refusal\": null},"
                "  \"finish_reason\": \"stop\"}],"
                " \"usage\": {\"prompt_tokens\": 19, \"completion_tokens\": 10, \"total_tokens\": 29,"
                "  \"prompt_tokens_details\": {\"cached_tokens\": 4}}}");

        ck_assert_str_eq(r->text, "Bonjour à vous");
        ck_assert_uint_eq(r->n_tool_calls, 0);
        ck_assert_int_eq(r->stop_reason, LLM_STOP_END);
        ck_assert_str_eq(r->stop_reason_raw, "stop");
        ck_assert(r->has_usage);
        ck_assert_uint_eq(r->usage.input_tokens, 19);
        ck_assert_uint_eq(r->usage.output_tokens, 10);
        ck_assert_uint_eq(r->usage.cache_read_tokens, 4);
        ck_assert_str_eq(r->model, "gpt-4o-2024-08-06");
        ck_assert_str_eq(r->id, "chatcmpl-1");
}
END_TEST

START_TEST(test_openai_parse_tool_calls) {
        _cleanup_(llm_response_freep) LlmResponse *r = parse(LLM_PROVIDER_OPENAI_COMPATIBLE,
                "{\"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": null, \"tool_calls\": ["
                "  {\"id\": \"call_a\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}},"
                "  {\"id\": \"call_b\", \"type\": \"function\", \"function\": {\"name\": \"now\", \"arguments\": \"\"}},"
                "  {\"id\": \"call_c\", \"type\": \"function\", \"function\": {\"name\": \"obj\", \"arguments\": {\"x\": 1}}}]},"
                "  \"finish_reason\": \"stop\"}]}");
        _cleanup_json_ json_t *args = NULL;

        ck_assert_str_eq(r->text, "");
        ck_assert_uint_eq(r->n_tool_calls, 3);
        ck_assert_str_eq(r->tool_calls[0].id, "call_a");
        ck_assert_str_eq(r->tool_calls[0].name, "get_weather");
        args = llm_tool_call_arguments(&r->tool_calls[0]);
        assert_json_eq(args, "{\"city\": \"Paris\"}");
        /* No arguments is {}; a server sending an object gets it written out. */
        ck_assert_str_eq(r->tool_calls[1].arguments, "{}");
        ck_assert_str_eq(r->tool_calls[2].arguments, "{\"x\":1}");
        /* "stop" with calls is read as the calls it carries. */
        ck_assert_int_eq(r->stop_reason, LLM_STOP_TOOL_USE);
        ck_assert(!r->has_usage);
}
END_TEST

START_TEST(test_openai_parse_content_parts) {
        _cleanup_(llm_response_freep) LlmResponse *r = parse(LLM_PROVIDER_OPENAI_COMPATIBLE,
                "{\"choices\": [{\"message\": {\"content\": [{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", \"text\": \"b\"}]},"
                " \"finish_reason\": \"length\"}]}");

        ck_assert_str_eq(r->text, "ab");
        ck_assert_int_eq(r->stop_reason, LLM_STOP_MAX_TOKENS);
}
END_TEST

START_TEST(test_anthropic_parse) {
        _cleanup_(llm_response_freep) LlmResponse *r = parse(LLM_PROVIDER_ANTHROPIC,
                "{\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", \"model\": \"claude-sonnet-4-5\","
                " \"content\": ["
                "  {\"type\": \"thinking\", \"thinking\": \"hmm\", \"signature\": \"x\"},"
                "  {\"type\": \"text\", \"text\": \"Let me check \"},"
                "  {\"type\": \"text\", \"text\": \"both.\"},"
                "  {\"type\": \"tool_use\", \"id\": \"toolu_1\", \"name\": \"get_weather\", \"input\": {\"city\": \"Paris\"}},"
                "  {\"type\": \"tool_use\", \"id\": \"toolu_2\", \"name\": \"now\", \"input\": {}}],"
                " \"stop_reason\": \"tool_use\", \"stop_sequence\": null,"
                " \"usage\": {\"input_tokens\": 100, \"output_tokens\": 30,"
                "  \"cache_creation_input_tokens\": 5, \"cache_read_input_tokens\": 20}}");

        ck_assert_str_eq(r->text, "Let me check both.");
        ck_assert_uint_eq(r->n_tool_calls, 2);
        ck_assert_str_eq(r->tool_calls[0].id, "toolu_1");
        ck_assert_str_eq(r->tool_calls[0].name, "get_weather");
        ck_assert_str_eq(r->tool_calls[0].arguments, "{\"city\":\"Paris\"}");
        ck_assert_str_eq(r->tool_calls[1].arguments, "{}");
        ck_assert_int_eq(r->stop_reason, LLM_STOP_TOOL_USE);
        ck_assert_uint_eq(r->usage.input_tokens, 125);
        ck_assert_uint_eq(r->usage.output_tokens, 30);
        ck_assert_uint_eq(r->usage.cache_read_tokens, 20);
        ck_assert_uint_eq(r->usage.cache_write_tokens, 5);
        ck_assert_str_eq(r->model, "claude-sonnet-4-5");
}
END_TEST

START_TEST(test_parse_bad_shapes) {
        static const char *const openai_bad[] = { "{}", "{\"choices\": []}", "{\"choices\": [{}]}", "[]" };
        static const char *const anthropic_bad[] = { "{}", "{\"content\": \"text\"}", "[]" };
        LlmResponse *r = NULL;

        for (size_t i = 0; i < ELEMENTSOF(openai_bad); i++) {
                _cleanup_json_ json_t *j = json_loads(openai_bad[i], JSON_DECODE_ANY, NULL);

                ck_assert_int_eq(llm_parse_response(LLM_PROVIDER_OPENAI, j, &r), -EBADMSG);
        }
        for (size_t i = 0; i < ELEMENTSOF(anthropic_bad); i++) {
                _cleanup_json_ json_t *j = json_loads(anthropic_bad[i], JSON_DECODE_ANY, NULL);

                ck_assert_int_eq(llm_parse_response(LLM_PROVIDER_ANTHROPIC, j, &r), -EBADMSG);
        }
        ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_parse_errors) {
        static const struct {
                LlmProvider provider;
                int status;
                const char *body;
                LlmErrorKind kind;
                const char *message, *type;
        } cases[] = {
                { LLM_PROVIDER_OPENAI, 400,
                  "{\"error\": {\"message\": \"Invalid 'messages[1].role'\", \"type\": \"invalid_request_error\", \"param\": null, \"code\": null}}",
                  LLM_ERROR_CLIENT, "Invalid 'messages[1].role'", "invalid_request_error" },
                { LLM_PROVIDER_OPENAI, 401,
                  "{\"error\": {\"message\": \"Incorrect API key provided\", \"type\": null, \"code\": \"invalid_api_key\"}}",
                  LLM_ERROR_AUTH, "Incorrect API key provided", "invalid_api_key" },
                { LLM_PROVIDER_ANTHROPIC, 529,
                  "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}",
                  LLM_ERROR_SERVER, "Overloaded", "overloaded_error" },
                { LLM_PROVIDER_ANTHROPIC, 403,
                  "{\"type\": \"error\", \"error\": {\"type\": \"permission_error\", \"message\": \"No access\"}}",
                  LLM_ERROR_AUTH, "No access", "permission_error" },
                { LLM_PROVIDER_ANTHROPIC, 429,
                  "{\"type\": \"error\", \"error\": {\"type\": \"rate_limit_error\", \"message\": \"Slow down\"}}",
                  LLM_ERROR_RATE_LIMIT, "Slow down", "rate_limit_error" },
                { LLM_PROVIDER_OPENAI_COMPATIBLE, 404, "{\"error\": \"model 'x' not found\"}",
                  LLM_ERROR_CLIENT, "model 'x' not found", NULL },
                { LLM_PROVIDER_OPENAI_COMPATIBLE, 422, "{\"detail\": \"bad field\"}",
                  LLM_ERROR_CLIENT, "bad field", NULL },
                { LLM_PROVIDER_OPENAI_COMPATIBLE, 502, "<html>\r\n<b>Bad gateway</b>\xc3\xa9</html>",
                  LLM_ERROR_SERVER, "the provider answered HTTP 502: <html>  <b>Bad gateway</b>?" "?</html>", NULL },
                { LLM_PROVIDER_ANTHROPIC, 500, "",
                  LLM_ERROR_SERVER, "Anthropic answered HTTP 500", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LlmError e;

                ck_assert_int_eq(llm_parse_error(cases[i].provider, cases[i].status, cases[i].body,
                                                 strlen(cases[i].body), &e), 0);
                ck_assert_int_eq(e.kind, cases[i].kind);
                ck_assert_int_eq(e.http_status, cases[i].status);
                ck_assert_str_eq(e.message, cases[i].message);
                if (cases[i].type)
                        ck_assert_str_eq(e.provider_type, cases[i].type);
                else
                        ck_assert_ptr_null(e.provider_type);
                llm_error_done(&e);
        }
}
END_TEST

START_TEST(test_error_kinds) {
        LlmError e = {};

        ck_assert_int_eq(llm_error_kind_from_status(400), LLM_ERROR_CLIENT);
        ck_assert_int_eq(llm_error_kind_from_status(408), LLM_ERROR_CLIENT);
        ck_assert_int_eq(llm_error_kind_from_status(401), LLM_ERROR_AUTH);
        ck_assert_int_eq(llm_error_kind_from_status(429), LLM_ERROR_RATE_LIMIT);
        ck_assert_int_eq(llm_error_kind_from_status(503), LLM_ERROR_SERVER);
        for (LlmErrorKind k = 0; k < _LLM_ERROR_MAX; k++) {
                e.kind = k;
                ck_assert_int_eq(llm_error_is_retryable(&e),
                                 k == LLM_ERROR_RATE_LIMIT || k == LLM_ERROR_SERVER || k == LLM_ERROR_NETWORK ||
                                 k == LLM_ERROR_TIMEOUT);
                ck_assert_ptr_nonnull(llm_error_kind_to_string(k));
        }
        ck_assert_str_eq(llm_error_kind_to_string(LLM_ERROR_RATE_LIMIT), "rate_limit");
}
END_TEST

START_TEST(test_names) {
        for (LlmProvider p = 0; p < _LLM_PROVIDER_MAX; p++)
                ck_assert_int_eq(llm_provider_from_string(llm_provider_to_string(p)), p);
        for (LlmRole r = 0; r < _LLM_ROLE_MAX; r++)
                ck_assert_int_eq(llm_role_from_string(llm_role_to_string(r)), r);
        ck_assert_int_eq(llm_provider_from_string("glm?"), -EINVAL);
        ck_assert_int_eq(llm_provider_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(llm_provider_to_string(_LLM_PROVIDER_MAX));
        ck_assert_str_eq(llm_stop_reason_to_string(LLM_STOP_TOOL_USE), "tool_use");
}
END_TEST

START_TEST(test_messages_round_trip) {
        _cleanup_(llm_response_freep) LlmResponse *r = parse(LLM_PROVIDER_ANTHROPIC,
                "{\"content\": [{\"type\": \"text\", \"text\": \"On it.\"},"
                " {\"type\": \"tool_use\", \"id\": \"toolu_9\", \"name\": \"f\", \"input\": {\"a\": [1, 2]}}],"
                " \"stop_reason\": \"tool_use\"}");
        _cleanup_json_ json_t *openai = NULL;
        LlmMessage *messages = NULL, *m;
        size_t n = 0;
        LlmRequest req;

        /* A tool-calling loop: the answer goes back as the assistant turn, then results. */
        ck_assert_ptr_nonnull(llm_messages_add(&messages, &n, LLM_ROLE_USER, "q"));
        m = llm_messages_add_response(&messages, &n, r);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(m->role, LLM_ROLE_ASSISTANT);
        ck_assert_ptr_nonnull(llm_messages_add_tool_result(&messages, &n, "toolu_9", "[3]", false));

        llm_request_init(&req);
        req.provider = LLM_PROVIDER_OPENAI;
        req.model = "m";
        req.messages = messages;
        req.n_messages = n;
        ck_assert_int_eq(llm_request_body(&req, &openai), 0);
        assert_json_eq(json_object_get(openai, "messages"),
                "[{\"role\": \"user\", \"content\": \"q\"},"
                " {\"role\": \"assistant\", \"content\": \"On it.\", \"tool_calls\": [{\"id\": \"toolu_9\", \"type\": \"function\","
                "   \"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\":[1,2]}\"}}]},"
                " {\"role\": \"tool\", \"tool_call_id\": \"toolu_9\", \"content\": \"[3]\"}]");
        llm_messages_free(messages, n);
}
END_TEST

/* --- server-sent events -------------------------------------------------------------------------- */

typedef struct Events {
        char log[4096];
} Events;

static int log_event(const char *event, const char *data, void *userdata) {
        Events *e = userdata;
        size_t len = strlen(e->log);

        snprintf(e->log + len, sizeof(e->log) - len, "[%s|%s]", event ?: "-", data);
        return 0;
}

/* Every line ending the format allows, a comment, a field without value, data over two
 * lines, an event without data (not delivered), a field without colon, and UTF-8. */
static const char sse_text[] =
        ": keep-alive\n"
        "event: one\n"
        "data: {\"a\":1}\n"
        "\n"
        "data:no space\r\n"
        "data:  two spaces\r\n"
        "\r\n"
        "event: empty\n"
        "\n"
        "id: 7\r"
        "data: caf\xc3\xa9 \xf0\x9f\x99\x82\r"
        "\r"
        "data\n"
        "\n";
static const char sse_expected[] =
        "[one|{\"a\":1}][-|no space\n two spaces][-|caf\xc3\xa9 \xf0\x9f\x99\x82][-|]";

START_TEST(test_sse_whole) {
        LlmSse s = {};
        Events e = {};

        ck_assert_int_eq(llm_sse_feed(&s, sse_text, strlen(sse_text), log_event, &e), 0);
        ck_assert_int_eq(llm_sse_finish(&s, log_event, &e), 0);
        ck_assert_str_eq(e.log, sse_expected);
        llm_sse_done(&s);
}
END_TEST

/* Cut in two pieces at every position, and in three at every pair of positions: inside
 * lines, between \r and \n, inside the multi-byte characters. */
START_TEST(test_sse_every_cut) {
        size_t n = strlen(sse_text);

        for (size_t i = 0; i <= n; i++)
                for (size_t j = i; j <= n; j++) {
                        LlmSse s = {};
                        Events e = {};

                        ck_assert_int_eq(llm_sse_feed(&s, sse_text, i, log_event, &e), 0);
                        ck_assert_int_eq(llm_sse_feed(&s, sse_text + i, j - i, log_event, &e), 0);
                        ck_assert_int_eq(llm_sse_feed(&s, sse_text + j, n - j, log_event, &e), 0);
                        ck_assert_int_eq(llm_sse_finish(&s, log_event, &e), 0);
                        ck_assert_msg(streq(e.log, sse_expected), "cut at %zu and %zu: %s", i, j, e.log);
                        llm_sse_done(&s);
                }
}
END_TEST

START_TEST(test_sse_byte_by_byte) {
        LlmSse s = {};
        Events e = {};

        for (size_t i = 0; sse_text[i]; i++)
                ck_assert_int_eq(llm_sse_feed(&s, sse_text + i, 1, log_event, &e), 0);
        ck_assert_int_eq(llm_sse_finish(&s, log_event, &e), 0);
        ck_assert_str_eq(e.log, sse_expected);
        llm_sse_done(&s);
}
END_TEST

START_TEST(test_sse_unterminated_end) {
        LlmSse s = {};
        Events e = {};

        /* A server closing right after its last data line still delivered that event. */
        ck_assert_int_eq(llm_sse_feed(&s, "data: [DONE]", 12, log_event, &e), 0);
        ck_assert_str_eq(e.log, "");
        ck_assert_int_eq(llm_sse_finish(&s, log_event, &e), 0);
        ck_assert_str_eq(e.log, "[-|[DONE]]");
        llm_sse_done(&s);
}
END_TEST

static int stop_at_second(const char *event, const char *data, void *userdata) {
        int *count = userdata;

        return ++*count == 2 ? -ECANCELED : 0;
}

START_TEST(test_sse_limits) {
        _cleanup_free_ char *big = malloc(LLM_SSE_MAX_EVENT + 16);
        LlmSse s = {};
        Events e = {};
        int count = 0;

        /* An event that never ends is refused before it eats the memory. */
        ck_assert_ptr_nonnull(big);
        memcpy(big, "data: ", 6);
        memset(big + 6, 'x', LLM_SSE_MAX_EVENT + 10);
        ck_assert_int_eq(llm_sse_feed(&s, big, LLM_SSE_MAX_EVENT + 16, log_event, &e), -E2BIG);
        llm_sse_done(&s);

        /* A callback's error stops the reader. */
        ck_assert_int_eq(llm_sse_feed(&s, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, stop_at_second, &count), -ECANCELED);
        ck_assert_int_eq(count, 2);
        llm_sse_done(&s);
}
END_TEST

/* --- streams ------------------------------------------------------------------------------------------ */

typedef struct TextLog {
        char text[1024];
        unsigned pieces;
} TextLog;

static void log_text(const char *text, size_t len, void *userdata) {
        TextLog *t = userdata;
        size_t have = strlen(t->text);

        ck_assert_uint_gt(len, 0);
        ck_assert_uint_lt(have + len, sizeof(t->text));
        memcpy(t->text + have, text, len);
        t->text[have + len] = '\0';
        t->pieces++;
}

/* An OpenAI stream: role chunk, text with a multi-byte character, two tool calls whose
 * argument fragments interleave, the finish chunk, the usage chunk, [DONE]. */
static const char openai_stream[] =
        "data: {\"id\":\"chatcmpl-7\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Il fait \"},\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"18\xc2\xb0\"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_p\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_r\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"\\\"Rome\\\"}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
        "data: {\"id\":\"chatcmpl-7\",\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":12,\"total_tokens\":62}}\n\n"
        "data: [DONE]\n\n";

static const char anthropic_stream[] =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_5\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":40,\"cache_read_input_tokens\":2,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: ping\n"
        "data: {\"type\": \"ping\"}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Il fait \"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"18\xc2\xb0\"}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_p\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Pa\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ris\\\"}\"}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_n\",\"name\":\"now\",\"input\":{}}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
        "event: message_delta\n"
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":33}}\n\n"
        "event: message_stop\n"
        "data: {\"type\":\"message_stop\"}\n\n";

static void check_openai_answer(const LlmResponse *r) {
        ck_assert_str_eq(r->text, "Il fait 18\xc2\xb0");
        ck_assert_uint_eq(r->n_tool_calls, 2);
        ck_assert_str_eq(r->tool_calls[0].id, "call_p");
        ck_assert_str_eq(r->tool_calls[0].name, "get_weather");
        ck_assert_str_eq(r->tool_calls[0].arguments, "{\"city\":\"Paris\"}");
        ck_assert_str_eq(r->tool_calls[1].id, "call_r");
        ck_assert_str_eq(r->tool_calls[1].arguments, "{\"city\":\"Rome\"}");
        ck_assert_int_eq(r->stop_reason, LLM_STOP_TOOL_USE);
        ck_assert(r->has_usage);
        ck_assert_uint_eq(r->usage.input_tokens, 50);
        ck_assert_uint_eq(r->usage.output_tokens, 12);
        ck_assert_str_eq(r->model, "gpt-4o");
        ck_assert_str_eq(r->id, "chatcmpl-7");
}

static void check_anthropic_answer(const LlmResponse *r) {
        ck_assert_str_eq(r->text, "Il fait 18\xc2\xb0");
        ck_assert_uint_eq(r->n_tool_calls, 2);
        ck_assert_str_eq(r->tool_calls[0].id, "toolu_p");
        ck_assert_str_eq(r->tool_calls[0].arguments, "{\"city\": \"Paris\"}");
        ck_assert_str_eq(r->tool_calls[1].name, "now");
        ck_assert_str_eq(r->tool_calls[1].arguments, "{}");
        ck_assert_int_eq(r->stop_reason, LLM_STOP_TOOL_USE);
        ck_assert_str_eq(r->stop_reason_raw, "tool_use");
        ck_assert_uint_eq(r->usage.input_tokens, 42);
        ck_assert_uint_eq(r->usage.cache_read_tokens, 2);
        ck_assert_uint_eq(r->usage.output_tokens, 33);
        ck_assert_str_eq(r->model, "claude-x");
        ck_assert_str_eq(r->id, "msg_5");
}

/* Feeds text cut at i and j, returns the answer (the text callbacks checked on the way). */
static LlmResponse *stream_read(LlmProvider provider, const char *text, size_t i, size_t j) {
        size_t n = strlen(text);
        LlmResponse *r = NULL;
        LlmError e = {};
        TextLog t = {};
        LlmStream s;

        llm_stream_init(&s, provider, log_text, &t);
        ck_assert_int_eq(llm_stream_feed(&s, text, i), 0);
        ck_assert_int_eq(llm_stream_feed(&s, text + i, j - i), 0);
        ck_assert_int_eq(llm_stream_feed(&s, text + j, n - j), 0);
        ck_assert_int_eq(llm_stream_finish(&s, &r, &e), 0);
        llm_stream_done(&s);
        /* The pieces came in order and make up the answer's text. */
        ck_assert_str_eq(t.text, r->text);
        ck_assert_uint_eq(t.pieces, 2);
        return r;
}

START_TEST(test_openai_stream_every_cut) {
        size_t n = strlen(openai_stream);

        for (size_t i = 0; i <= n; i += 1)
                for (size_t j = i; j <= n; j += 37) {
                        _cleanup_(llm_response_freep) LlmResponse *r = stream_read(LLM_PROVIDER_OPENAI, openai_stream, i, j);

                        check_openai_answer(r);
                }
}
END_TEST

START_TEST(test_anthropic_stream_every_cut) {
        size_t n = strlen(anthropic_stream);

        for (size_t i = 0; i <= n; i += 1)
                for (size_t j = i; j <= n; j += 41) {
                        _cleanup_(llm_response_freep) LlmResponse *r = stream_read(LLM_PROVIDER_ANTHROPIC, anthropic_stream, i, j);

                        check_anthropic_answer(r);
                }
}
END_TEST

static int stream_fails(LlmProvider provider, const char *text, LlmError *e) {
        LlmResponse *r = NULL;
        LlmStream s;
        int feed, finish;

        llm_stream_init(&s, provider, NULL, NULL);
        feed = llm_stream_feed(&s, text, strlen(text));
        finish = llm_stream_finish(&s, &r, e);
        llm_stream_done(&s);
        ck_assert_ptr_null(r);
        ck_assert_int_lt(finish, 0);
        return feed;
}

START_TEST(test_stream_errors) {
        LlmError e = {};

        /* Anthropic's error event in the middle of a stream. */
        ck_assert_int_lt(stream_fails(LLM_PROVIDER_ANTHROPIC,
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n"
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", &e), 0);
        ck_assert_int_eq(e.kind, LLM_ERROR_SERVER);
        ck_assert_str_eq(e.message, "Overloaded");
        ck_assert_str_eq(e.provider_type, "overloaded_error");
        llm_error_done(&e);

        ck_assert_int_lt(stream_fails(LLM_PROVIDER_ANTHROPIC,
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"later\"}}\n\n", &e), 0);
        ck_assert_int_eq(e.kind, LLM_ERROR_RATE_LIMIT);
        llm_error_done(&e);

        /* An OpenAI-style error chunk. */
        ck_assert_int_lt(stream_fails(LLM_PROVIDER_OPENAI,
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
                "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n", &e), 0);
        ck_assert_int_eq(e.kind, LLM_ERROR_SERVER);
        ck_assert_str_eq(e.message, "The server had an error");
        llm_error_done(&e);

        /* A malformed event. */
        ck_assert_int_lt(stream_fails(LLM_PROVIDER_OPENAI, "data: {\"choices\": [\n\n", &e), 0);
        ck_assert_int_eq(e.kind, LLM_ERROR_SERVER);
        llm_error_done(&e);

        /* Cut short: no end marker. */
        ck_assert_int_eq(stream_fails(LLM_PROVIDER_ANTHROPIC,
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n", &e), 0);
        ck_assert_int_eq(e.kind, LLM_ERROR_NETWORK);
        ck_assert_str_eq(e.message, "the stream ended before the answer was complete");
        llm_error_done(&e);
        ck_assert_int_eq(stream_fails(LLM_PROVIDER_OPENAI,
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n", &e), 0);
        ck_assert_int_eq(e.kind, LLM_ERROR_NETWORK);
        llm_error_done(&e);
}
END_TEST

START_TEST(test_openai_stream_without_done) {
        _cleanup_(llm_response_freep) LlmResponse *r = NULL;
        static const char text[] =
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
                "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}";
        LlmError e = {};
        LlmStream s;

        /* A finish reason and then the end of the body (no [DONE], no last newline). */
        llm_stream_init(&s, LLM_PROVIDER_OPENAI_COMPATIBLE, NULL, NULL);
        ck_assert_int_eq(llm_stream_feed(&s, text, strlen(text)), 0);
        ck_assert_int_eq(llm_stream_finish(&s, &r, &e), 0);
        llm_stream_done(&s);
        ck_assert_str_eq(r->text, "Hi");
        ck_assert_int_eq(r->stop_reason, LLM_STOP_END);
        ck_assert_uint_eq(r->usage.input_tokens, 3);
}
END_TEST

/* --- retries -------------------------------------------------------------------------------------------- */

START_TEST(test_retry_after) {
        /* 2026-11-26T00:00:00Z */
        const usec_t now = (usec_t) 1795651200 * USEC_PER_SECOND;
        usec_t v;

        ck_assert_int_eq(llm_parse_retry_after("2", now, &v), 0);
        ck_assert_uint_eq(v, 2 * USEC_PER_SECOND);
        ck_assert_int_eq(llm_parse_retry_after(" 1.5 ", now, &v), 0);
        ck_assert_uint_eq(v, 1500 * USEC_PER_MSEC);
        ck_assert_int_eq(llm_parse_retry_after("0", now, &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(llm_parse_retry_after("Thu, 26 Nov 2026 00:00:10 GMT", now, &v), 0);
        ck_assert_uint_eq(v, 10 * USEC_PER_SECOND);
        ck_assert_int_eq(llm_parse_retry_after("Wed, 25 Nov 2026 23:00:00 GMT", now, &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(llm_parse_retry_after("soon", now, &v), -EINVAL);
        ck_assert_int_eq(llm_parse_retry_after("-1", now, &v), -EINVAL);
        ck_assert_int_eq(llm_parse_retry_after("5s", now, &v), -EINVAL);
        ck_assert_int_eq(llm_parse_retry_after("", now, &v), -EINVAL);
}
END_TEST

START_TEST(test_backoff) {
        const usec_t initial = 500 * USEC_PER_MSEC, max = 8 * USEC_PER_SECOND;

        ck_assert_uint_eq(llm_backoff_delay(1, initial, max, 0), initial);
        ck_assert_uint_eq(llm_backoff_delay(2, initial, max, 0), 2 * initial);
        ck_assert_uint_eq(llm_backoff_delay(3, initial, max, 0), 4 * initial);
        ck_assert_uint_eq(llm_backoff_delay(5, initial, max, 0), max);
        ck_assert_uint_eq(llm_backoff_delay(1000, initial, max, 0), max);
        /* Jitter shortens by up to a quarter, never lengthens. */
        ck_assert_uint_eq(llm_backoff_delay(1, initial, max, 1.0), initial * 3 / 4);
        ck_assert_uint_eq(llm_backoff_delay(1, initial, max, 7.0), initial * 3 / 4);
        ck_assert_uint_eq(llm_backoff_delay(1, initial, max, -1.0), initial);
}
END_TEST

static Suite *llm_suite(void) {
        Suite *s = suite_create("llm");
        TCase *tc;

        tc = tcase_create("requests");
        tcase_add_test(tc, test_openai_body);
        tcase_add_test(tc, test_openai_compatible_body);
        tcase_add_test(tc, test_anthropic_body);
        tcase_add_test(tc, test_anthropic_body_edges);
        tcase_add_test(tc, test_body_rejects_bad_utf8);
        tcase_add_test(tc, test_validate);
        tcase_add_test(tc, test_urls);
        tcase_add_test(tc, test_headers);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_messages_round_trip);
        suite_add_tcase(s, tc);

        tc = tcase_create("answers");
        tcase_add_test(tc, test_openai_parse_text);
        tcase_add_test(tc, test_openai_parse_tool_calls);
        tcase_add_test(tc, test_openai_parse_content_parts);
        tcase_add_test(tc, test_anthropic_parse);
        tcase_add_test(tc, test_parse_bad_shapes);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_error_kinds);
        suite_add_tcase(s, tc);

        tc = tcase_create("streams");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_sse_whole);
        tcase_add_test(tc, test_sse_every_cut);
        tcase_add_test(tc, test_sse_byte_by_byte);
        tcase_add_test(tc, test_sse_unterminated_end);
        tcase_add_test(tc, test_sse_limits);
        tcase_add_test(tc, test_openai_stream_every_cut);
        tcase_add_test(tc, test_anthropic_stream_every_cut);
        tcase_add_test(tc, test_stream_errors);
        tcase_add_test(tc, test_openai_stream_without_done);
        suite_add_tcase(s, tc);

        tc = tcase_create("retries");
        tcase_add_test(tc, test_retry_after);
        tcase_add_test(tc, test_backoff);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(llm_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
