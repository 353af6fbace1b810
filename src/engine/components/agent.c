/* agent: the tool-calling loop. The conversation starts with one user message (the
 * rendered extra_config.input_template, else the text the input carries: its "text", an
 * upstream agent's "output", or its "messages"); config.system_prompt (rendered) goes as
 * the system prompt. The model attached through the 'llm' edge is called with the tools
 * attached through 'tool' edges; each tool it calls runs and its result goes back, until it
 * answers without calling a tool, or extra_config.max_iterations model calls (default 25,
 * the registry's) have been made, which fails the node.
 *
 * Output: {"output": the final text, "messages": the conversation [{role, content,
 * tool_calls?, tool_call_id?, is_error?}], "token_usage": {input_tokens, output_tokens,
 * total_tokens, llm_calls, tool_calls}}.
 *
 * The model is called with llm_complete_sync() on this worker thread: a worker waits while
 * the provider thinks. A cancel stops the wait within about 50 ms. */

#include <errno.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"

#define AGENT_MAX_ITERATIONS_DEFAULT 25
#define AGENT_MAX_ITERATIONS_MAX 1000

typedef struct AgentRun {
        AgentModel model;
        AgentTools tools;
        LlmMessage *messages;
        size_t n_messages;
        LlmUsage usage;
        unsigned llm_calls, tool_calls;
} AgentRun;

static void agent_run_done(AgentRun *a) {
        agent_model_done(&a->model);
        agent_tools_done(&a->tools);
        llm_messages_free(a->messages, a->n_messages);
        *a = (AgentRun) {};
}

/* Messages the input carries as [{role, content}]: user and assistant text only, since
 * tool calls and results belong to the agent that made them. */
static int add_input_messages(AgentRun *a, json_t *messages) {
        json_t *m;
        size_t i;

        json_array_foreach(messages, i, m) {
                const char *role = json_get_string(m, "role", NULL), *content = json_get_string(m, "content", NULL);
                LlmRole r = llm_role_from_string(role);

                if (isempty(content) || (r != LLM_ROLE_USER && r != LLM_ROLE_ASSISTANT) ||
                    json_array_size(json_object_get(m, "tool_calls")) > 0)
                        continue;
                if (!llm_messages_add(&a->messages, &a->n_messages, r, content))
                        return -ENOMEM;
        }
        return 0;
}

static int agent_first_messages(NodeRun *run, AgentRun *a) {
        const char *template = node_run_setting_string(run, "input_template", NULL);
        json_t *input = run->input, *messages;
        const char *text;

        if (!isempty(template))
                text = template;
        else if ((text = json_get_string(input, "text", NULL)) && !isempty(text))
                ;
        else if ((text = json_get_string(input, "output", NULL)) && !isempty(text))
                ;
        else if (json_is_string(input))
                text = json_string_value(input);
        else {
                messages = json_object_get(input, "messages");
                if (json_is_array(messages) && add_input_messages(a, messages) < 0)
                        return node_run_fail_oom(run);
                if (a->n_messages == 0)
                        return node_run_fail_config(run, "The agent has nothing to answer: its input has no text or "
                                                    "messages; set input_template");
                return 0;
        }
        if (!llm_messages_add(&a->messages, &a->n_messages, LLM_ROLE_USER, text))
                return node_run_fail_oom(run);
        return 0;
}

static json_t *message_to_json(const LlmMessage *m) {
        _cleanup_json_ json_t *j = json_pack("{s:s, s:s}", "role", llm_role_to_string(m->role), "content",
                                             m->text ?: "");

        if (!j)
                return NULL;
        if (m->n_tool_calls > 0) {
                json_t *calls = json_array();

                if (json_object_set_new(j, "tool_calls", calls) < 0)
                        return NULL;
                for (size_t i = 0; i < m->n_tool_calls; i++)
                        if (json_array_append_new(calls, json_pack("{s:s?, s:s?, s:s?}",
                                                                   "id", m->tool_calls[i].id,
                                                                   "name", m->tool_calls[i].name,
                                                                   "arguments", m->tool_calls[i].arguments)) < 0)
                                return NULL;
        }
        if (m->tool_call_id && json_object_set_new(j, "tool_call_id", json_string(m->tool_call_id)) < 0)
                return NULL;
        if (m->role == LLM_ROLE_TOOL && json_object_set_new(j, "is_error", json_boolean(m->is_error)) < 0)
                return NULL;
        return TAKE_PTR(j);
}

static int agent_output(NodeRun *run, AgentRun *a, const char *text) {
        _cleanup_json_ json_t *messages = json_array(), *output = NULL;

        if (!messages)
                return node_run_fail_oom(run);
        for (size_t i = 0; i < a->n_messages; i++)
                if (json_array_append_new(messages, message_to_json(&a->messages[i])) < 0)
                        return node_run_fail_oom(run);
        output = json_pack("{s:s, s:O, s:{s:I, s:I, s:I, s:I, s:I}}", "output", text, "messages", messages,
                           "token_usage",
                           "input_tokens", (json_int_t) a->usage.input_tokens,
                           "output_tokens", (json_int_t) a->usage.output_tokens,
                           "total_tokens", (json_int_t) (a->usage.input_tokens + a->usage.output_tokens),
                           "llm_calls", (json_int_t) a->llm_calls,
                           "tool_calls", (json_int_t) a->tool_calls);
        if (!output)
                return node_run_fail_oom(run);
        json_decref(run->output);
        run->output = TAKE_PTR(output);
        return 0;
}

/* The provider's refusal as the node's failure, never with the key in it. */
static int agent_fail_llm(NodeRun *run, const AgentRun *a, int r, const LlmError *e) {
        _cleanup_free_ char *message = agent_model_scrub(&a->model, e->message ?: strerror(-r));
        int k;

        if (e->kind == LLM_ERROR_CANCELLED || node_run_should_stop(run))
                return node_run_fail_stopped(run);
        if (!message)
                return node_run_fail_oom(run);
        switch (e->kind) {
        case LLM_ERROR_AUTH:
                k = node_run_fail(run, "llm_auth", "The provider rejected the credential (authentication failed, "
                                  "HTTP %d): %s", e->http_status, message);
                break;
        case LLM_ERROR_CLIENT:
                k = node_run_fail(run, "llm", "The provider refused the request (HTTP %d): %s", e->http_status,
                                  message);
                break;
        case LLM_ERROR_RATE_LIMIT:
                k = node_run_fail(run, "llm_rate_limit", "The provider's rate limit was reached after %u attempts: %s",
                                  e->attempts, message);
                break;
        case LLM_ERROR_TIMEOUT:
                k = node_run_fail(run, "timeout", "The provider did not answer in time: %s", message);
                break;
        default:
                k = node_run_fail(run, "llm", "The model call failed (%s%s%.0d): %s",
                                  llm_error_kind_to_string(e->kind), e->http_status ? ", HTTP " : "",
                                  e->http_status, message);
        }
        run->retryable = llm_error_is_retryable(e);
        return k;
}

static int agent_run_tools(NodeRun *run, AgentRun *a, const LlmResponse *response) {
        for (size_t i = 0; i < response->n_tool_calls; i++) {
                _cleanup_free_ char *content = NULL;
                bool is_error = false;

                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
                if (agent_tools_call(run, &a->tools, &response->tool_calls[i], &content, &is_error) < 0)
                        return node_run_fail_oom(run);
                a->tool_calls++;
                if (!llm_messages_add_tool_result(&a->messages, &a->n_messages, response->tool_calls[i].id,
                                                  content, is_error))
                        return node_run_fail_oom(run);
        }
        return 0;
}

int component_agent(NodeRun *run) {
        _cleanup_(agent_run_done) AgentRun a = {};
        json_t *prompt = json_object_get(run->config, "system_prompt");
        double max_iterations;
        int r;

        if (node_run_setting_number(run, "max_iterations", AGENT_MAX_ITERATIONS_DEFAULT, &max_iterations) < 0 ||
            max_iterations < 1 || max_iterations > AGENT_MAX_ITERATIONS_MAX)
                return node_run_fail_config(run, "max_iterations must be a number from 1 to %d",
                                            AGENT_MAX_ITERATIONS_MAX);

        r = agent_model_load(run, &a.model);
        if (r < 0)
                return r;
        r = agent_tools_load(run, &a.tools);
        if (r < 0)
                return r;
        r = agent_first_messages(run, &a);
        if (r < 0)
                return r;

        a.model.request.system_prompt = json_is_string(prompt) ? json_string_value(prompt) : NULL;
        a.model.request.tools = a.tools.offered;
        a.model.request.n_tools = a.tools.n;

        for (unsigned iteration = 0; iteration < (unsigned) max_iterations; iteration++) {
                _cleanup_(llm_response_freep) LlmResponse *response = NULL;
                _cleanup_(llm_error_done) LlmError error = {};

                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
                a.model.request.messages = a.messages;
                a.model.request.n_messages = a.n_messages;
                r = llm_complete_sync(run->llm, &a.model.request, NULL, NULL, run->cancelled, &response, &error);
                if (r < 0)
                        return agent_fail_llm(run, &a, r, &error);

                a.llm_calls++;
                a.usage.input_tokens += response->usage.input_tokens;
                a.usage.output_tokens += response->usage.output_tokens;
                if (!llm_messages_add_response(&a.messages, &a.n_messages, response))
                        return node_run_fail_oom(run);
                if (response->n_tool_calls == 0)
                        return agent_output(run, &a, response->text ?: "");

                r = agent_run_tools(run, &a, response);
                if (r < 0)
                        return r;
        }

        r = node_run_fail(run, "max_iterations", "The agent made %u model calls (max_iterations) and the model "
                          "still asks for tools; no final answer", (unsigned) max_iterations);
        run->retryable = false;
        return r;
}
