/* One model call at a time for the categorizer, router and extractor (llm-node.h): the
 * model, the text they read, the call (suspended while the provider thinks), the provider's
 * errors as the node's failure, and the token usage they report. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/budget.h"
#include "engine/components/components.h"
#include "engine/components/llm-node.h"

int llm_node_new(NodeRun *run, LlmNode **ret) {
        _cleanup_(llm_node_freep) LlmNode *n = calloc(1, sizeof(LlmNode));
        int r;

        if (!n)
                return node_run_fail_oom(run);
        r = agent_model_load(run, &n->model);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

LlmNode *llm_node_free(LlmNode *n) {
        if (!n)
                return NULL;
        agent_model_done(&n->model);
        free(n->system_prompt);
        llm_messages_free(n->messages, n->n_messages);
        llm_response_free(n->response);
        llm_error_done(&n->error);
        if (n->free_userdata)
                n->free_userdata(n->userdata);
        free(n);
        return NULL;
}

int llm_node_set_system_prompt(NodeRun *run, LlmNode *n, const char *instructions) {
        const char *prefix = json_string_value(json_object_get(run->config, "system_prompt"));
        char *prompt = NULL;

        if (asprintf(&prompt, "%s%s%s", isempty(prefix) ? "" : prefix, isempty(prefix) ? "" : "\n\n",
                     instructions) < 0)
                return -ENOMEM;
        free(n->system_prompt);
        n->system_prompt = prompt;
        return 0;
}

int llm_node_add_message(LlmNode *n, LlmRole role, const char *text) {
        return llm_messages_add(&n->messages, &n->n_messages, role, text) ? 0 : -ENOMEM;
}

/* Every answer arrives here: what it cost is counted (into the ledger with the node's
 * commit), then the node reads it. */
static int llm_node_take_answer(NodeRun *run, LlmNode *n, const LlmResponse *response) {
        const char *model = response->model ?: n->model.request.model;
        bool known;
        double cost = budget_cost(run, model, &response->usage, &known);

        n->llm_calls++;
        n->model_usec += response->transfer_usec;
        n->usage.input_tokens += response->usage.input_tokens;
        n->usage.output_tokens += response->usage.output_tokens;
        n->cost_usd += cost;
        n->cost_unknown = n->cost_unknown || !known;
        (void) budget_record_at_commit(run, model, &response->usage, cost);
        return n->answered(run, n, response);
}

/* On the LLM client's thread: keeps the answer and wakes the run. */
static void llm_node_answered(LlmResponse *response, const LlmError *error, void *userdata) {
        LlmNode *n = userdata;

        n->response = response;
        if (error) {
                n->failed = true;
                if (llm_error_copy(&n->error, error) < 0)
                        n->error = (LlmError) { .kind = LLM_ERROR_INTERNAL };
        }
        node_run_wake(n->waker);
}

static void llm_node_cancel(void *userdata) {
        LlmNode *n = userdata;

        (void) llm_client_cancel(n->client, n->handle);
}

static void llm_node_free_state(void *userdata) {
        llm_node_free(userdata);
}

static int llm_node_call_sync(NodeRun *run, LlmNode *n) {
        _cleanup_(llm_response_freep) LlmResponse *response = NULL;
        _cleanup_(llm_error_done) LlmError error = {};
        int r;

        r = llm_complete_sync(run->llm, &n->model.request, NULL, NULL, run->cancelled, &response, &error);
        if (r < 0)
                return agent_model_fail(run, &n->model, r, &error);
        return llm_node_take_answer(run, n, response);
}

int llm_node_call(NodeRun *run, LlmNode *node) {
        _cleanup_(llm_node_freep) LlmNode *n = node;
        int r;

        for (;;) {
                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
                r = budget_check(run);
                if (r < 0)
                        return r;
                n->model.request.system_prompt = n->system_prompt;
                n->model.request.messages = n->messages;
                n->model.request.n_messages = n->n_messages;

                if (!run->waker || !run->llm) {
                        r = llm_node_call_sync(run, n);
                        if (r <= 0)
                                return r;
                        continue;
                }

                n->client = run->llm;
                n->waker = run->waker;
                n->response = llm_response_free(n->response);
                llm_error_done(&n->error);
                n->failed = false;
                r = llm_client_submit(run->llm, &n->model.request, llm_node_answered, NULL, n, &n->handle);
                if (r < 0)
                        return node_run_fail(run, "internal", "Cannot call the model: %s", strerror(-r));
                node_run_suspend(run, TAKE_PTR(n), llm_node_cancel, llm_node_free_state);
                return 0;
        }
}

int llm_node_resume(NodeRun *run, void *state) {
        _cleanup_(llm_node_freep) LlmNode *n = state;
        int r;

        if (n->failed)
                return agent_model_fail(run, &n->model, -EIO, &n->error);
        if (!n->response)
                return node_run_fail(run, "internal", "The model call ended without an answer");
        r = llm_node_take_answer(run, n, n->response);
        if (r <= 0)
                return r;
        return llm_node_call(run, TAKE_PTR(n));
}

int llm_node_output_usage(NodeRun *run, const LlmNode *n) {
        return node_run_output(run, "token_usage",
                               json_pack("{s:I, s:I, s:I, s:I, s:f, s:b, s:f}",
                                         "input_tokens", (json_int_t) n->usage.input_tokens,
                                         "output_tokens", (json_int_t) n->usage.output_tokens,
                                         "total_tokens", (json_int_t) (n->usage.input_tokens + n->usage.output_tokens),
                                         "llm_calls", (json_int_t) n->llm_calls,
                                         "cost_usd", n->cost_usd,
                                         "cost_known", !n->cost_unknown,
                                         "model_seconds", (double) n->model_usec / USEC_PER_SECOND));
}

/* --- the text a node reads ------------------------------------------------------------- */

static const char *last_message_text(json_t *messages) {
        for (size_t i = json_array_size(messages); i > 0; i--) {
                const char *content = json_get_string(json_array_get(messages, i - 1), "content", NULL);

                if (!isempty(content))
                        return content;
        }
        return NULL;
}

/* "role: content" lines of the messages that have text; NULL when none has. */
static char *conversation_text(json_t *messages) {
        char *text = NULL;
        json_t *m;
        size_t i, count = 0;

        json_array_foreach(messages, i, m) {
                const char *content = json_get_string(m, "content", NULL);
                char *longer = NULL;

                if (isempty(content))
                        continue;
                if (asprintf(&longer, "%s%s%s: %s", text ?: "", text ? "\n" : "", json_get_string(m, "role", "user"),
                             content) < 0) {
                        free(text);
                        return NULL;
                }
                free(text);
                text = longer;
                count++;
        }
        /* One message needs no "role:". */
        if (count == 1) {
                free(text);
                return strdup(last_message_text(messages));
        }
        return text;
}

int llm_node_input_text(NodeRun *run, bool last_only, char **ret) {
        const char *template = node_run_setting_string(run, "input_template", NULL), *text = NULL;
        json_t *input = run->input, *messages;
        char *copy;

        if (!isempty(template))
                text = template;
        else if (json_is_string(input))
                text = json_string_value(input);
        else if (!isempty(json_get_string(input, "text", NULL)))
                text = json_get_string(input, "text", NULL);
        else if (!isempty(json_get_string(input, "output", NULL)))
                text = json_get_string(input, "output", NULL);
        else if (json_is_array(messages = json_object_get(input, "messages")) && last_message_text(messages)) {
                copy = last_only ? strdup(last_message_text(messages)) : conversation_text(messages);
                if (!copy)
                        return node_run_fail_oom(run);
                *ret = copy;
                return 0;
        }

        if (isempty(text))
                return node_run_fail_config(run, "The %s has nothing to read: its input has no text, output or "
                                            "messages; set input_template, e.g. {{ trigger.text }}",
                                            run->component_type);
        copy = strdup(text);
        if (!copy)
                return node_run_fail_oom(run);
        *ret = copy;
        return 0;
}

char *llm_node_value_text(json_t *value) {
        static const char *const keys[] = { "output", "text", "raw" };

        if (json_is_string(value))
                return strdup(json_string_value(value));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *s = json_get_string(value, keys[i], NULL);

                if (s)
                        return strdup(s);
        }
        if (last_message_text(json_object_get(value, "messages")))
                return strdup(last_message_text(json_object_get(value, "messages")));
        return json_dumps_compact(value);
}
