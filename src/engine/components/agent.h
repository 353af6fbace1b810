/* The agent component's parts: the model it talks to (agent-model.c: its ai_model
 * attachment and that node's credential, as an LlmRequest) and the tools it offers
 * (agent-tools.c: its tool attachments, run when the model calls them). agent.c runs the
 * loop between them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/component.h"
#include "llm/llm.h"
#include "store/store-credentials.h"

/* The agent's model: request holds the provider, key, endpoint, model name and sampling
 * settings; its strings point into credential and config, which it keeps. */
typedef struct AgentModel {
        Credential *credential;         /* secrets in clear: wiped when freed */
        json_t *config;                 /* the ai_model node's config */
        const char *node_id;            /* the ai_model node's id (borrowed from the run) */
        LlmRequest request;
} AgentModel;

/* Finds the single ai_model attached through an 'llm' edge and loads its credential with
 * run->db and run->vault. Fails the run (and returns its negative code) when there is no
 * model, no credential, or one that cannot be opened. */
int agent_model_load(NodeRun *run, AgentModel *ret);
void agent_model_done(AgentModel *m);

/* Fails run with a failed model call (r and e from the LLM client): the provider's words,
 * never the model's secrets, with an error_code by kind (llm_auth, llm, llm_rate_limit,
 * timeout; cancelled or timeout when the run was told to stop) and retryable when another
 * attempt may succeed. Returns the failure's negative code. */
int agent_model_fail(NodeRun *run, const AgentModel *m, int r, const LlmError *e);

/* Replaces every occurrence of the model's secrets (API key, custom header values) in
 * text with "****". Returns a new string, or NULL on ENOMEM. */
char *agent_model_scrub(const AgentModel *m, const char *text);

/* The answer's text as events while it streams in (agent-stream.c). */
typedef struct AgentStream {
        bool enabled;                   /* the ai_model's extra_config.stream (default true) */
        char *workflow_slug, *execution_id, *node_id;
        uint64_t seq;                   /* of the next chat_delta, from 0 per node run */
} AgentStream;

int agent_stream_init(AgentStream *s, const NodeRun *run, const AgentModel *model);
void agent_stream_done(AgentStream *s);
/* An LlmTextFunc (userdata: the AgentStream): publishes chat_delta {node_id, text, seq}. */
void agent_stream_text(const char *text, size_t len, void *userdata);
/* After a model call: chat_message {node_id, text}, when text is not empty. */
void agent_stream_message(AgentStream *s, const char *text);

typedef struct AgentTool AgentTool;

#define AGENT_TOOL_AWAIT 1

/* Runs the tool with the model's arguments (an object) on the agent's worker thread, with
 * the agent's run (its db, vault, execution, user): 0 with *ret_result, or a negative errno
 * with *ret_error saying why, for the model (both malloc'ed). -ENOMEM leaves both unset.
 * AGENT_TOOL_AWAIT, both unset: the tool asked for child executions (node_run_add_child())
 * and the agent parks until they ended; their results are the call's result. */
typedef int (*AgentToolFunc)(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                             char **ret_error);

/* What a tool node type offers the model. Each lives with its implementation and is listed
 * in agent-tools.c's table. */
typedef struct AgentToolSpec {
        const char *component_type;
        const char *description;
        const char *parameters;         /* JSON schema of the arguments */
        AgentToolFunc call;
        /* It answers in microseconds, from memory, touching nothing outside the process:
         * the model call before it may be added to the ledger after it ran. */
        bool instant;
} AgentToolSpec;

/* The tools implemented outside agent-tools.c. */
extern const AgentToolSpec agent_tool_memory_read;
extern const AgentToolSpec agent_tool_memory_write;
extern const AgentToolSpec agent_tool_http_request;
extern const AgentToolSpec agent_tool_run_command;
extern const AgentToolSpec agent_tool_web_search;
extern const AgentToolSpec agent_tool_whoami;
extern const AgentToolSpec agent_tool_workflow_discover;
extern const AgentToolSpec agent_tool_workflow_create;
extern const AgentToolSpec agent_tool_platform_api;
extern const AgentToolSpec agent_tool_spawn_and_await;

/* Runs the http_request component for a tool of run's agent with config ({"extra_config":
 * {url, method, headers, body, timeout, allow_private_network}}): 0 with *ret_response
 * ({status, headers, body}), or a negative errno with *ret_error saying why (-ENOMEM: unset). */
int agent_tool_http(NodeRun *run, const AgentTool *tool, json_t *config, json_t **ret_response, char **ret_error);

/* *ret_error = a copy of message; returns -EINVAL (-ENOMEM when the copy fails). */
int agent_tool_fail(char **ret_error, const char *message);

/* One tool node attached through a 'tool' edge, as the model sees it. */
struct AgentTool {
        const char *node_id, *component_type, *label;   /* borrowed from run->attachments */
        json_t *config;                                 /* its config (borrowed) */
        char *name;                                     /* what the model calls it */
        const AgentToolSpec *spec;
};

typedef struct AgentTools {
        AgentTool *tools;
        LlmTool *offered;       /* the same tools as the request lists them */
        size_t n;
} AgentTools;

/* Collects the tool attachments. Fails the run (config) for a tool type this build cannot
 * run. */
int agent_tools_load(NodeRun *run, AgentTools *ret);
void agent_tools_done(AgentTools *t);

/* Runs one tool call the model asked for, publishing the tool node's node_status events
 * (running, then success or failed, with is_tool_call). *ret_content is what the model is
 * told (the result, or why it failed with *ret_is_error set): a tool's failure is the
 * model's to handle, not the node's. AGENT_TOOL_AWAIT, nothing set, when the tool parks
 * the agent (the tool node stays running). -ENOMEM only. */
int agent_tools_call(NodeRun *run, const AgentTools *t, const LlmToolCall *call, char **ret_content,
                     bool *ret_is_error);
/* Whether every call the model asked for goes to an instant tool (or to none it has,
 * which is answered at once). */
bool agent_tools_all_instant(const AgentTools *t, const LlmToolCall *calls, size_t n_calls);
/* A node_status event of the tool node (status running, success with result, or failed
 * with error), with is_tool_call; duration (µs) with success and failed. */
void agent_tool_publish_status(const NodeRun *run, const AgentTool *tool, const char *status, const char *result,
                               const char *error, usec_t duration);

/* The conversation memory of an agent with extra_config.conversation_memory
 * (agent-memory.c): the thread of the run's user, chat and workflow in the database. */
typedef struct AgentMemory {
        char *thread_id;        /* NULL: the agent has no memory */
        char *user_text;        /* the new input's user message, kept with the answer */
        usec_t received;        /* when the run began: that message's time */
        size_t n_history;       /* the thread's messages in front of the new input */
} AgentMemory;

/* With conversation_memory: puts the thread's earlier messages in front of the new input
 * in *messages, the newest of them that fit the model's context window (extra_config.
 * context_window, else a guess from the model name) beside the request's system prompt,
 * tools and the new input, leaving room for the answer. Fails the run (and returns its
 * negative code) when the thread cannot be read. */
int agent_memory_load(NodeRun *run, AgentMemory *mem, const LlmRequest *request, LlmMessage **messages,
                      size_t *n_messages);
/* After the final answer: appends the new user message and the answer to the thread in
 * one transaction. Fails the run when they cannot be written. */
int agent_memory_save(NodeRun *run, const AgentMemory *mem, const char *answer);
void agent_memory_done(AgentMemory *mem);
