/* The AI nodes that ask their model one question (categorizer, router, extractor) and the
 * output parser that any AI node may have attached.
 *
 * llm-node.c holds what they share: the model (through agent_model_load()), the text they
 * read, and the call itself. Each model call goes through llm_node_call(), which submits it
 * to the daemon's LLM client and suspends, so no worker waits for the provider; the answer
 * wakes the run and llm_node_resume() (the Component.resume of these nodes) hands it to the
 * node. Without the daemon's client or a waker (tests running a component alone) the call
 * is made on the worker's thread with llm_complete_sync(). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "engine/component.h"
#include "engine/components/agent.h"
#include "llm/llm.h"

typedef struct LlmNode LlmNode;

/* What a node does with its model's answer: 0 when it is done (run->output set), 1 to ask
 * again (it added the messages that say why), or the negative code of node_run_fail(). */
typedef int (*LlmNodeAnswerFunc)(NodeRun *run, LlmNode *node, const LlmResponse *response);

struct LlmNode {
        AgentModel model;
        char *system_prompt;
        LlmMessage *messages;
        size_t n_messages;
        LlmUsage usage;
        unsigned llm_calls;
        usec_t model_usec;              /* the provider's time, all calls together */
        double cost_usd;                /* by the daemon's price table */
        bool cost_unknown;              /* some call's model had no price */

        LlmNodeAnswerFunc answered;
        void *userdata;                 /* the node's own state, freed with free_userdata */
        void (*free_userdata)(void *userdata);

        /* While suspended: the call in flight and, once it ended, how. */
        LlmClient *client;
        LlmHandle handle;
        struct NodeRunWaker *waker;
        LlmResponse *response;
        LlmError error;
        bool failed;
};

/* A new LlmNode with the model attached to run's node through its 'llm' edge; fails the
 * run (config) when there is none or it cannot be used. */
int llm_node_new(NodeRun *run, LlmNode **ret);
LlmNode *llm_node_free(LlmNode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(LlmNode *, llm_node_free);

/* The system prompt: the node's config.system_prompt (rendered) when it has one, then
 * instructions. -ENOMEM. */
int llm_node_set_system_prompt(NodeRun *run, LlmNode *n, const char *instructions);
/* Appends a message to the conversation. -ENOMEM. */
int llm_node_add_message(LlmNode *n, LlmRole role, const char *text);

/* Every model call of these nodes starts here, and every answer comes back through the
 * same place (llm-node.c: llm_node_take_answer()): the budgets are checked before each call
 * (budget_check()) and each answer is priced and recorded (budget_record()). Takes n. Returns 0 once the call was submitted and the run
 * suspended (or, without a waker, once n->answered finished the run), or the negative code
 * of the failure. */
int llm_node_call(NodeRun *run, LlmNode *n);
/* The Component.resume of the nodes that call llm_node_call(). */
int llm_node_resume(NodeRun *run, void *state);

/* run->output.token_usage = {input_tokens, output_tokens, total_tokens, llm_calls, cost_usd,
 * cost_known, model_seconds}, as the
 * agent reports it (the orchestrator adds it to the execution's totals). */
int llm_node_output_usage(NodeRun *run, const LlmNode *n);

/* The text a node gives its model (malloc'ed in *ret): extra_config.input_template when set
 * (rendered), else the input's text: a string input, its "text", its "output" (an agent's
 * answer), or its "messages" (with last_only the last message's content, else the
 * conversation as "role: content" lines). Fails the run (config) when there is none. */
int llm_node_input_text(NodeRun *run, bool last_only, char **ret);

/* The text a node output stands for: a string as it is; an object's "output", "text" or
 * "raw" string, or its last message's content; anything else as compact JSON. NULL on
 * ENOMEM. */
char *llm_node_value_text(json_t *value);

/* The options a model chooses from (categorizer's categories, router's routes): the
 * setting key, a list of {name, description} (or plain names). Fails the run (config) when
 * the list is missing, empty or malformed. Then asks the model which option text belongs
 * to, and finishes the run with route and output {port: name or "__other__", raw,
 * token_usage, parsed?}. Takes text. */
int llm_node_choose(NodeRun *run, const char *setting, const char *port, char *text);

/* The output parser attached to run's node through an 'output_parser' edge, applied to text
 * (or to its source_node's output when it names one): its result becomes
 * run->output.parsed. 0 without a parser. Fails the run when the parser's settings are
 * wrong (config) or the json parser finds no JSON (output_parser). */
int llm_node_apply_output_parser(NodeRun *run, const char *text);

/* The route of an answer that names no option. */
#define LLM_NODE_OTHER_ROUTE "__other__"

int component_categorizer(NodeRun *run);
int component_router(NodeRun *run);
int component_extractor(NodeRun *run);
