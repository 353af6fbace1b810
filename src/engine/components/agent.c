/* agent: the tool-calling loop. The conversation starts with one user message (the
 * rendered extra_config.input_template, else the text the input carries: its "text", an
 * upstream agent's "output", or its "messages"); config.system_prompt (rendered) goes as
 * the system prompt. The model attached through the 'llm' edge is called with the tools
 * attached through 'tool' edges; each tool it calls runs and its result goes back, until it
 * answers without calling a tool, or extra_config.max_iterations model calls (default 25,
 * the registry's) have been made, which fails the node.
 *
 * The answer streams unless the ai_model's extra_config.stream is false: its text goes out as
 * chat_delta events while it arrives, and as one chat_message per model call (agent-stream.c).
 *
 * With extra_config.conversation_memory the conversation goes on across executions: the
 * thread's earlier messages go in front of the new input, and the new user message and the
 * final answer are kept (agent-memory.c). The output's messages are this run's only.
 *
 * Output: {"output": the final text, "messages": the conversation [{role, content,
 * tool_calls?, tool_call_id?, is_error?}], "token_usage": {input_tokens, output_tokens,
 * total_tokens, llm_calls, tool_calls, cost_usd, cost_known, model_seconds}}: cost_usd by
 * the daemon's price table, cost_known false when some call's model had no price;
 * model_seconds how long the provider took to answer, all calls together. Each model call is first
 * checked against the workflow's and the user's budgets and, once answered, added to the
 * usage ledger (budget.h; agent_count_cost() says when).
 *
 * The agent does not hold a worker while the provider thinks: it submits each model call to
 * the daemon's LLM client and suspends (component.h); the client's answer wakes it, and a
 * worker resumes it to run the tools and submit the next call, or to finish. A cancel
 * aborts the call in flight. (Without the daemon's client or a waker — tests running the
 * component alone — it calls the model with llm_complete_sync() on its thread.)
 *
 * A spawn_and_await call (agent-tool-spawn.c) parks the agent instead: once the answer's
 * other tool calls ran, the conversation so far, the counters and the pending call go into
 * the state kept with the node run (node_run_await_children()) and the run ends for now.
 * When its children ended the component runs again with that state and their results: it
 * rebuilds the conversation, answers the pending call with the results (JSON) and calls
 * the model again. */

#include <errno.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/budget.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "engine/components/llm-node.h"

#define AGENT_MAX_ITERATIONS_DEFAULT 25
#define AGENT_MAX_ITERATIONS_MAX 1000

typedef struct AgentRun {
        AgentModel model;
        AgentTools tools;
        AgentStream stream;
        AgentMemory memory;
        LlmMessage *messages;
        size_t n_messages;
        LlmUsage usage;
        unsigned llm_calls, tool_calls, max_iterations;
        usec_t model_usec;              /* the provider's time, all calls together */
        double cost_usd;
        bool cost_unknown;      /* some call's model had no price */
        BudgetLedgerEntry *unrecorded;  /* the last answer, before the next call was made */

        /* While suspended: the call in flight and, once it ended, how. */
        LlmClient *client;
        LlmHandle handle;
        struct NodeRunWaker *waker;
        LlmResponse *response;
        LlmError error;
        bool failed;
} AgentRun;

static void agent_run_done(AgentRun *a) {
        agent_model_done(&a->model);
        agent_tools_done(&a->tools);
        agent_stream_done(&a->stream);
        agent_memory_done(&a->memory);
        llm_messages_free(a->messages, a->n_messages);
        llm_response_free(a->response);
        llm_error_done(&a->error);
        budget_ledger_entry_free(a->unrecorded);       /* recorded before any way out: never set here */
        *a = (AgentRun) {};
}

static void agent_run_free(void *userdata) {
        AgentRun *a = userdata;

        if (!a)
                return;
        agent_run_done(a);
        free(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(AgentRun *, agent_run_free);

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
        for (size_t i = a->memory.n_history; i < a->n_messages; i++)
                if (json_array_append_new(messages, message_to_json(&a->messages[i])) < 0)
                        return node_run_fail_oom(run);
        output = json_pack("{s:s, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:f, s:b, s:f}}", "output", text, "messages", messages,
                           "token_usage",
                           "input_tokens", (json_int_t) a->usage.input_tokens,
                           "output_tokens", (json_int_t) a->usage.output_tokens,
                           "total_tokens", (json_int_t) (a->usage.input_tokens + a->usage.output_tokens),
                           "llm_calls", (json_int_t) a->llm_calls,
                           "tool_calls", (json_int_t) a->tool_calls,
                           "cost_usd", a->cost_usd,
                           "cost_known", !a->cost_unknown,
                           "model_seconds", (double) a->model_usec / USEC_PER_SECOND);
        if (!output)
                return node_run_fail_oom(run);
        json_decref(run->output);
        run->output = TAKE_PTR(output);
        return llm_node_apply_output_parser(run, text);
}

/* Runs the answer's tool calls; *ret_awaiting: the call that parks the agent, whose result
 * comes once its children ended. */
static int agent_run_tools(NodeRun *run, AgentRun *a, const LlmResponse *response,
                           const LlmToolCall **ret_awaiting) {
        for (size_t i = 0; i < response->n_tool_calls; i++) {
                _cleanup_free_ char *content = NULL;
                bool is_error = false;
                int r;

                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
                r = agent_tools_call(run, &a->tools, &response->tool_calls[i], &content, &is_error);
                if (r < 0)
                        return node_run_fail_oom(run);
                a->tool_calls++;
                if (r == AGENT_TOOL_AWAIT) {
                        *ret_awaiting = &response->tool_calls[i];
                        continue;
                }
                if (!llm_messages_add_tool_result(&a->messages, &a->n_messages, response->tool_calls[i].id,
                                                  content, is_error))
                        return node_run_fail_oom(run);
        }
        return 0;
}

/* What the agent keeps while its children run: {"messages" (the thread's earlier ones
 * too), "n_history", "memory": {thread_id, user_text, received}, "usage": {…},
 * "stream_seq", "awaiting_call": {id, name, started_at}}. */
static int agent_park(NodeRun *run, AgentRun *a, const LlmToolCall *call) {
        _cleanup_json_ json_t *messages = json_array();
        json_t *state;

        if (!messages)
                return node_run_fail_oom(run);
        for (size_t i = 0; i < a->n_messages; i++)
                if (json_array_append_new(messages, message_to_json(&a->messages[i])) < 0)
                        return node_run_fail_oom(run);
        state = json_pack("{s:O, s:I, s:{s:s?, s:s?, s:I}, s:{s:I, s:I, s:I, s:I, s:f, s:b, s:I}, s:I, "
                          "s:{s:s?, s:s?, s:I}}",
                          "messages", messages,
                          "n_history", (json_int_t) a->memory.n_history,
                          "memory",
                          "thread_id", a->memory.thread_id,
                          "user_text", a->memory.user_text,
                          "received", (json_int_t) a->memory.received,
                          "usage",
                          "input_tokens", (json_int_t) a->usage.input_tokens,
                          "output_tokens", (json_int_t) a->usage.output_tokens,
                          "llm_calls", (json_int_t) a->llm_calls,
                          "tool_calls", (json_int_t) a->tool_calls,
                          "cost_usd", a->cost_usd,
                          "cost_unknown", a->cost_unknown,
                          "model_usec", (json_int_t) a->model_usec,
                          "stream_seq", (json_int_t) a->stream.seq,
                          "awaiting_call",
                          "id", call->id,
                          "name", call->name,
                          "started_at", (json_int_t) now_realtime_usec());
        if (!state)
                return node_run_fail_oom(run);
        node_run_await_children(run, state);
        return 0;
}

static int add_message_json(AgentRun *a, json_t *m) {
        LlmRole role = llm_role_from_string(json_get_string(m, "role", NULL));
        const char *content = json_get_string(m, "content", "");
        json_t *call;
        LlmMessage *message;
        size_t i;

        if (role < 0)
                return -EBADMSG;
        if (role == LLM_ROLE_TOOL)
                message = llm_messages_add_tool_result(&a->messages, &a->n_messages,
                                                       json_get_string(m, "tool_call_id", ""), content,
                                                       json_get_bool(m, "is_error", false));
        else
                message = llm_messages_add(&a->messages, &a->n_messages, role, content);
        if (!message)
                return -ENOMEM;
        json_array_foreach(json_object_get(m, "tool_calls"), i, call)
                if (llm_message_add_tool_call(message, json_get_string(call, "id", NULL),
                                              json_get_string(call, "name", NULL),
                                              json_get_string(call, "arguments", NULL)) < 0)
                        return -ENOMEM;
        return 0;
}

static int dup_string(json_t *object, const char *key, char **ret) {
        const char *s = json_get_string(object, key, NULL);

        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

/* Goes on from the state the agent parked with: the conversation, its counters, and the
 * pending call answered with the children's results. */
static int agent_restore(NodeRun *run, AgentRun *a) {
        json_t *state = run->awaited_state, *usage = json_object_get(state, "usage");
        json_t *memory = json_object_get(state, "memory"), *call = json_object_get(state, "awaiting_call"), *m;
        const char *call_id = json_get_string(call, "id", NULL), *call_name = json_get_string(call, "name", "");
        _cleanup_free_ char *results = NULL;
        usec_t started;
        size_t i;
        int r;

        if (!json_is_array(json_object_get(state, "messages")) || !call_id) {
                run->retryable = false;
                return node_run_fail(run, "internal", "The state the agent kept while its children ran is unreadable");
        }
        json_array_foreach(json_object_get(state, "messages"), i, m) {
                r = add_message_json(a, m);
                if (r == -EBADMSG) {
                        run->retryable = false;
                        return node_run_fail(run, "internal", "The conversation the agent kept is unreadable");
                }
                if (r < 0)
                        return node_run_fail_oom(run);
        }
        a->memory.n_history = (size_t) MIN(MAX(json_get_integer(state, "n_history", 0), (json_int_t) 0),
                                           (json_int_t) a->n_messages);
        a->memory.received = (usec_t) json_get_integer(memory, "received", 0);
        if (dup_string(memory, "thread_id", &a->memory.thread_id) < 0 ||
            dup_string(memory, "user_text", &a->memory.user_text) < 0)
                return node_run_fail_oom(run);
        a->usage.input_tokens = json_get_integer(usage, "input_tokens", 0);
        a->usage.output_tokens = json_get_integer(usage, "output_tokens", 0);
        a->llm_calls = (unsigned) json_get_integer(usage, "llm_calls", 0);
        a->tool_calls = (unsigned) json_get_integer(usage, "tool_calls", 0);
        a->cost_usd = json_number_value(json_object_get(usage, "cost_usd"));
        a->cost_unknown = json_get_bool(usage, "cost_unknown", false);
        a->model_usec = (usec_t) MAX(json_get_integer(usage, "model_usec", 0), (json_int_t) 0);
        a->stream.seq = (uint64_t) json_get_integer(state, "stream_seq", 0);

        results = json_dumps(run->children_results, JSON_COMPACT);
        if (!results || !llm_messages_add_tool_result(&a->messages, &a->n_messages, call_id, results, false))
                return node_run_fail_oom(run);

        started = (usec_t) json_get_integer(call, "started_at", 0);
        for (i = 0; i < a->tools.n; i++)
                if (streq_ptr(a->tools.tools[i].name, call_name))
                        agent_tool_publish_status(run, &a->tools.tools[i], "success", results, NULL,
                                                  now_realtime_usec() > started ? now_realtime_usec() - started : 0);
        return 0;
}

/* Reads the settings and builds the conversation's start: the model, the tools, the first
 * messages (or, taken again after its children ended, the conversation it kept). */
static int agent_setup(NodeRun *run, AgentRun *a) {
        json_t *prompt = json_object_get(run->config, "system_prompt");
        double max_iterations;
        int r;

        if (node_run_setting_number(run, "max_iterations", AGENT_MAX_ITERATIONS_DEFAULT, &max_iterations) < 0 ||
            max_iterations < 1 || max_iterations > AGENT_MAX_ITERATIONS_MAX)
                return node_run_fail_config(run, "max_iterations must be a number from 1 to %d",
                                            AGENT_MAX_ITERATIONS_MAX);
        a->max_iterations = (unsigned) max_iterations;

        r = agent_model_load(run, &a->model);
        if (r < 0)
                return r;
        r = agent_tools_load(run, &a->tools);
        if (r < 0)
                return r;
        if (agent_stream_init(&a->stream, run, &a->model) < 0)
                return node_run_fail_oom(run);

        a->model.request.system_prompt = json_is_string(prompt) ? json_string_value(prompt) : NULL;
        a->model.request.tools = a->tools.offered;
        a->model.request.n_tools = a->tools.n;
        a->model.request.stream = a->stream.enabled;
        if (run->awaited_state)
                return agent_restore(run, a);
        r = agent_first_messages(run, a);
        if (r < 0)
                return r;
        return agent_memory_load(run, &a->memory, &a->model.request, &a->messages, &a->n_messages);
}

static int agent_fail_iterations(NodeRun *run, const AgentRun *a) {
        int r = node_run_fail(run, "max_iterations", "The agent made %u model calls (max_iterations) and the "
                              "model still asks for tools; no final answer", a->max_iterations);

        run->retryable = false;
        return r;
}

/* Prices an answer and adds it to the ledger the budgets are checked against, without a
 * write of its own where it can (run by the engine, which commits the run): the final
 * answer's entry goes into the commit of the node; when only instant tools run before the
 * next call, the entry waits until that call is on its way (agent_submit()). Either way a
 * crash can lose no more of the ledger than before, but for the microseconds between. */
static void agent_count_cost(NodeRun *run, AgentRun *a, const LlmResponse *response) {
        const char *model = response->model ?: a->model.request.model;
        bool known;
        double cost = budget_cost(run, model, &response->usage, &known);

        a->cost_usd += cost;
        a->cost_unknown = a->cost_unknown || !known;
        if (response->n_tool_calls == 0)
                (void) budget_record_at_commit(run, model, &response->usage, cost);
        else if (run->waker && run->llm && a->llm_calls < a->max_iterations &&
                 agent_tools_all_instant(&a->tools, response->tool_calls, response->n_tool_calls))
                (void) budget_keep(run, &a->unrecorded, model, &response->usage, cost);
        else
                (void) budget_record(run, model, &response->usage, cost);
}

static int agent_take_answer_kept(NodeRun *run, AgentRun *a, const LlmResponse *response);

/* One answer of the model: 1 when the agent goes on (tools ran, another call is due), 0
 * when it finished (run->output set) or parks for its children, <0 when it failed. The
 * call is in the ledger, or kept for it in a->unrecorded when 1 is returned. */
static int agent_take_answer(NodeRun *run, AgentRun *a, const LlmResponse *response) {
        int r = agent_take_answer_kept(run, a, response);

        if (r <= 0)
                budget_record_kept(run, &a->unrecorded);
        return r;
}

static int agent_take_answer_kept(NodeRun *run, AgentRun *a, const LlmResponse *response) {
        const LlmToolCall *awaiting = NULL;
        int r;

        a->llm_calls++;
        a->model_usec += response->transfer_usec;
        a->usage.input_tokens += response->usage.input_tokens;
        a->usage.output_tokens += response->usage.output_tokens;
        agent_count_cost(run, a, response);
        if (!llm_messages_add_response(&a->messages, &a->n_messages, response))
                return node_run_fail_oom(run);
        agent_stream_message(&a->stream, response->text);
        if (response->n_tool_calls == 0) {
                r = agent_output(run, a, response->text ?: "");
                return r < 0 ? r : agent_memory_save(run, &a->memory, response->text ?: "");
        }

        r = agent_run_tools(run, a, response, &awaiting);
        if (r < 0)
                return r;
        /* Checked before it parks: children whose results no model call could read would
         * run for nothing. */
        if (a->llm_calls >= a->max_iterations)
                return agent_fail_iterations(run, a);
        if (awaiting)
                return agent_park(run, a, awaiting);
        return 1;
}

static int agent_run_sync(NodeRun *run, AgentRun *a) {
        for (;;) {
                _cleanup_(llm_response_freep) LlmResponse *response = NULL;
                _cleanup_(llm_error_done) LlmError error = {};
                int r;

                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
                r = budget_check(run);
                if (r < 0)
                        return r;
                a->model.request.messages = a->messages;
                a->model.request.n_messages = a->n_messages;
                r = llm_complete_sync(run->llm, &a->model.request, agent_stream_text, &a->stream, run->cancelled,
                                      &response, &error);
                if (r < 0)
                        return agent_model_fail(run, &a->model, r, &error);
                r = agent_take_answer(run, a, response);
                if (r <= 0)
                        return r;
        }
}

/* On the LLM client's thread: keeps the answer and wakes the run. */
static void agent_answered(LlmResponse *response, const LlmError *error, void *userdata) {
        AgentRun *a = userdata;

        a->response = response;
        if (error) {
                a->failed = true;
                if (llm_error_copy(&a->error, error) < 0)
                        a->error = (LlmError) { .kind = LLM_ERROR_INTERNAL };
        }
        node_run_wake(a->waker);
}

/* On the LLM client's thread: a piece of the answer. */
static void agent_streamed(const char *text, size_t len, void *userdata) {
        AgentRun *a = userdata;

        agent_stream_text(text, len, &a->stream);
}

static void agent_cancel(void *userdata) {
        AgentRun *a = userdata;

        (void) llm_client_cancel(a->client, a->handle);
}

/* Checks the budgets and hands the next model call to the client: 1 once it is on its
 * way, else the run failed. */
static int agent_start_call(NodeRun *run, AgentRun *a) {
        int r;

        if (node_run_should_stop(run))
                return node_run_fail_stopped(run);
        r = budget_check_with(run, a->unrecorded);
        if (r < 0)
                return r;
        a->model.request.messages = a->messages;
        a->model.request.n_messages = a->n_messages;
        a->client = run->llm;
        a->waker = run->waker;
        a->response = llm_response_free(a->response);
        llm_error_done(&a->error);
        a->failed = false;

        r = llm_client_submit(run->llm, &a->model.request, agent_answered, agent_streamed, a, &a->handle);
        if (r < 0)
                return node_run_fail(run, "internal", "Cannot call the model: %s", strerror(-r));
        return 1;
}

/* Submits the next model call and suspends until it is answered; takes a. */
static int agent_submit(NodeRun *run, AgentRun *a) {
        _cleanup_(agent_run_freep) AgentRun *owned = a;
        int r = agent_start_call(run, a);

        /* The answer before, while this call is on its way. The client's thread may
         * answer it meanwhile: it writes the response fields only, and the resume waits
         * for the suspension below. */
        budget_record_kept(run, &a->unrecorded);
        if (r < 0)
                return r;
        node_run_suspend(run, TAKE_PTR(owned), agent_cancel, agent_run_free);
        return 0;
}

int component_agent(NodeRun *run) {
        _cleanup_(agent_run_freep) AgentRun *a = calloc(1, sizeof(AgentRun));
        int r;

        if (!a)
                return node_run_fail_oom(run);
        r = agent_setup(run, a);
        if (r < 0)
                return r;
        if (!run->waker || !run->llm)
                return agent_run_sync(run, a);
        return agent_submit(run, TAKE_PTR(a));
}

int component_agent_resume(NodeRun *run, void *state) {
        _cleanup_(agent_run_freep) AgentRun *a = state;
        int r;

        if (a->failed)
                return agent_model_fail(run, &a->model, -EIO, &a->error);
        if (!a->response)
                return node_run_fail(run, "internal", "The model call ended without an answer");
        r = agent_take_answer(run, a, a->response);
        if (r <= 0)
                return r;
        return agent_submit(run, TAKE_PTR(a));
}
