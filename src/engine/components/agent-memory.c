/* The agent's conversation memory (extra_config.conversation_memory): the thread of the run's
 * user, chat and workflow lives in the database (store-conversations.h), so a conversation
 * goes on across executions and restarts.
 *
 * Before the first model call the thread's earlier messages go in front of the new input:
 * the newest that fit the context window, counted at about four characters a token, beside
 * the system prompt, the tools, the new input (always sent whole) and room for the answer.
 * After the final answer the new user message and that answer are appended in one
 * transaction. Tool calls and their results stay out of the thread: they belong to the run
 * that made them, and the answer says what came of them. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "store/store-conversations.h"

#define CONTEXT_WINDOW_DEFAULT 128000
#define CONTEXT_WINDOW_MAX 100000000
/* Without the model's max_tokens: room for an answer of up to a quarter of the window. */
#define ANSWER_ROOM_MAX 16384
/* What the count by characters may miss (message framing, the provider's own text). */
#define SAFETY_MARGIN_MAX 512
#define TOKENS_PER_MESSAGE 4
#define THREAD_PAGE 100
/* Most messages read back, however large the window. */
#define THREAD_READ_MAX 10000

/* Context windows by model name prefix, for models whose agent sets no context_window.
 * Longer prefixes come before the shorter ones they start with. */
static const struct {
        const char *prefix;
        int64_t tokens;
} context_windows[] = {
        { "claude",        200000 },
        { "gpt-4o",        128000 },
        { "gpt-4.1",      1000000 },
        { "gpt-4-turbo",   128000 },
        { "gpt-4",           8192 },
        { "gpt-3.5",        16385 },
        { "gpt-5",         400000 },
        { "o1-mini",       128000 },
        { "o1",            200000 },
        { "o3",            200000 },
        { "o4",            200000 },
        { "gemini",       1000000 },
        { "glm",           128000 },
        { "minimax",       200000 },
        { "deepseek",       64000 },
        { "mistral",        32000 },
};

/* The window for a model name, also one with a router's prefix ("anthropic/claude-…"). */
static int64_t context_window_guess(const char *model) {
        const char *name = strrchr(model ?: "", '/');

        name = name ? name + 1 : (model ?: "");
        for (size_t i = 0; i < ELEMENTSOF(context_windows); i++)
                if (strncasecmp(name, context_windows[i].prefix, strlen(context_windows[i].prefix)) == 0)
                        return context_windows[i].tokens;
        return CONTEXT_WINDOW_DEFAULT;
}

static int64_t text_tokens(const char *text) {
        return (int64_t) ((strlen(text ?: "") + 3) / 4);
}

static int64_t message_tokens(const LlmMessage *m) {
        int64_t tokens = TOKENS_PER_MESSAGE + text_tokens(m->text);

        for (size_t i = 0; i < m->n_tool_calls; i++)
                tokens += text_tokens(m->tool_calls[i].name) + text_tokens(m->tool_calls[i].arguments);
        return tokens;
}

/* What the request takes without the thread: system prompt, tools, the new input. */
static int64_t request_tokens(const LlmRequest *req, const LlmMessage *messages, size_t n) {
        int64_t tokens = text_tokens(req->system_prompt);

        for (size_t i = 0; i < req->n_tools; i++) {
                _cleanup_free_ char *schema = json_dumps(req->tools[i].parameters, JSON_COMPACT);

                tokens += TOKENS_PER_MESSAGE + text_tokens(req->tools[i].name) +
                          text_tokens(req->tools[i].description) + text_tokens(schema);
        }
        for (size_t i = 0; i < n; i++)
                tokens += message_tokens(&messages[i]);
        return tokens;
}

/* The tokens the thread may take: the window less the answer's room, a margin, and the rest
 * of the request. */
static int history_budget(NodeRun *run, const LlmRequest *req, const LlmMessage *messages, size_t n,
                          int64_t *ret) {
        int64_t window, answer;
        double setting;

        if (node_run_setting_number(run, "context_window", 0, &setting) < 0 || setting < 0 ||
            setting > CONTEXT_WINDOW_MAX || setting != (double) (int64_t) setting)
                return node_run_fail_config(run, "context_window must be a whole number of tokens from 1 to %d",
                                            CONTEXT_WINDOW_MAX);
        window = setting >= 1 ? (int64_t) setting : context_window_guess(req->model);

        if (req->max_tokens > 0)
                answer = req->max_tokens;
        else if (req->provider == LLM_PROVIDER_ANTHROPIC)
                answer = LLM_ANTHROPIC_DEFAULT_MAX_TOKENS;
        else
                answer = MIN(window / 4, (int64_t) ANSWER_ROOM_MAX);

        *ret = window - answer - MIN(window / 10, (int64_t) SAFETY_MARGIN_MAX) - request_tokens(req, messages, n);
        return 0;
}

/* The chat the trigger names, an outside channel's (a Telegram chat id); NULL: none. */
static int trigger_chat_id(NodeRun *run, char **ret) {
        json_t *chat = json_object_get(json_object_get(run->context, "trigger"), "chat_id");

        *ret = NULL;
        if (!chat || json_is_null(chat))
                return 0;
        if (json_is_integer(chat))
                return asprintf(ret, "%" JSON_INTEGER_FORMAT, json_integer_value(chat)) < 0 ? -ENOMEM : 0;
        if (json_is_string(chat) && !isempty(json_string_value(chat)) &&
            json_string_length(chat) <= CONVERSATION_CHAT_ID_MAX) {
                *ret = strdup(json_string_value(chat));
                return *ret ? 0 : -ENOMEM;
        }
        return -EINVAL;
}

static int memory_thread(NodeRun *run, AgentMemory *mem) {
        _cleanup_free_ char *chat = NULL;
        int r;

        r = trigger_chat_id(run, &chat);
        if (r == -ENOMEM)
                return node_run_fail_oom(run);
        if (r < 0)
                return node_run_fail_config(run, "The trigger's chat_id must be a number or a string of 1 to %d "
                                            "characters", CONVERSATION_CHAT_ID_MAX);
        r = conversation_thread_id(run->user_id, chat, run->workflow_id, &mem->thread_id);
        if (r < 0)
                return node_run_fail_oom(run);
        return 0;
}

/* The newest messages of the thread whose tokens add up to no more than budget, newest
 * first, without assistant messages at the old end (a thread sent starts with a user's). */
static int read_thread(Db *db, const char *thread_id, int64_t budget, LlmMessage **ret, size_t *ret_n) {
        LlmMessage *kept = NULL;
        size_t n_kept = 0, n_read = 0;
        int64_t before_id = 0;
        bool full = false;
        int r = 0;

        while (!full && n_read < THREAD_READ_MAX) {
                ConversationMessage *page = NULL;
                size_t n = 0;
                bool more = false;

                r = store_conversation_read(db, thread_id, &(ConversationPage) {
                        .before_id = before_id,
                        .limit = THREAD_PAGE,
                }, &page, &n, &more);
                if (r < 0)
                        break;
                for (size_t i = n; i > 0 && !full; i--) {
                        const ConversationMessage *m = &page[i - 1];
                        LlmRole role = llm_role_from_string(m->role);
                        int64_t tokens = TOKENS_PER_MESSAGE + text_tokens(m->content);

                        if (role != LLM_ROLE_USER && role != LLM_ROLE_ASSISTANT)
                                continue;
                        if (tokens > budget) {
                                full = true;
                                break;
                        }
                        budget -= tokens;
                        if (!llm_messages_add(&kept, &n_kept, role, m->content)) {
                                r = -ENOMEM;
                                full = true;
                        }
                }
                n_read += n;
                before_id = n > 0 ? page[0].id : 0;
                conversation_messages_free(page, n);
                if (!more)
                        break;
        }
        if (r < 0) {
                llm_messages_free(kept, n_kept);
                return r;
        }
        while (n_kept > 0 && kept[n_kept - 1].role == LLM_ROLE_ASSISTANT)
                llm_message_done(&kept[--n_kept]);
        *ret = kept;
        *ret_n = n_kept;
        return 0;
}

/* *messages = older (newest first, taken) reversed, then *messages. */
static int put_in_front(LlmMessage *older, size_t n_older, LlmMessage **messages, size_t *n) {
        LlmMessage *all;

        all = reallocarray(older, n_older + *n, sizeof(LlmMessage));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < n_older / 2; i++) {
                LlmMessage t = all[i];

                all[i] = all[n_older - 1 - i];
                all[n_older - 1 - i] = t;
        }
        if (*n > 0)
                memcpy(all + n_older, *messages, *n * sizeof(LlmMessage));
        free(*messages);
        *messages = all;
        *n += n_older;
        return 0;
}

int agent_memory_load(NodeRun *run, AgentMemory *mem, const LlmRequest *request, LlmMessage **messages,
                      size_t *n_messages) {
        LlmMessage *older = NULL;
        size_t n_older = 0;
        int64_t budget = 0;
        int r;

        if (!node_run_setting_bool(run, "conversation_memory", false))
                return 0;
        if (!run->db)
                return node_run_fail(run, "internal", "Conversation memory needs the database");

        mem->received = now_realtime_usec();
        r = memory_thread(run, mem);
        if (r < 0)
                return r;
        /* The new input's message the thread keeps: the last one from the user. */
        for (size_t i = *n_messages; i > 0; i--)
                if ((*messages)[i - 1].role == LLM_ROLE_USER) {
                        mem->user_text = strdup((*messages)[i - 1].text ?: "");
                        if (!mem->user_text)
                                return node_run_fail_oom(run);
                        break;
                }

        r = history_budget(run, request, *messages, *n_messages, &budget);
        if (r < 0)
                return r;
        if (budget <= 0)
                return 0;
        r = read_thread(run->db, mem->thread_id, budget, &older, &n_older);
        if (r == -ENOMEM)
                return node_run_fail_oom(run);
        if (r < 0)
                return node_run_fail(run, "internal", "Cannot read the conversation: %s", strerror(-r));
        if (n_older == 0) {
                free(older);
                return 0;
        }
        r = put_in_front(older, n_older, messages, n_messages);
        if (r < 0) {
                llm_messages_free(older, n_older);
                return node_run_fail_oom(run);
        }
        mem->n_history = n_older;
        return 0;
}

int agent_memory_save(NodeRun *run, const AgentMemory *mem, const char *answer) {
        int r;

        /* An exchange is kept whole or not at all: an empty answer adds nothing. */
        if (!mem->thread_id || !mem->user_text || isempty(answer))
                return 0;
        r = store_conversation_append(run->db, mem->thread_id, run->workflow_id, run->user_id,
                                      (const ConversationNew[]) {
                                              { "user", mem->user_text, mem->received },
                                              { "assistant", answer, MAX(now_realtime_usec(), mem->received + 1) },
                                      }, 2);
        /* The workflow or the user was deleted meanwhile: nobody to remember it for. */
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return node_run_fail(run, "internal", "Cannot save the conversation: %s", strerror(-r));
        return 0;
}

void agent_memory_done(AgentMemory *mem) {
        free(mem->thread_id);
        free(mem->user_text);
        *mem = (AgentMemory) {};
}
