/* Agents' conversation memory: one thread per user, chat and workflow, one row per message
 * (a user's text or an agent's final answer), oldest first by id. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"

/* The longest chat id a thread id takes (an outside channel's chat: a Telegram chat id). */
#define CONVERSATION_CHAT_ID_MAX 128

/* The thread of a user (0: nobody, as for a webhook) with a workflow:
 * "<user_id>:<workflow_id>", or "<user_id>:<chat_id>:<workflow_id>" for one chat of an outside
 * channel. The first and the last field always name the user and the workflow, so no chat id
 * can reach into another's thread. -EINVAL for a chat id that is empty or longer than
 * CONVERSATION_CHAT_ID_MAX. */
int conversation_thread_id(int64_t user_id, const char *chat_id, int64_t workflow_id, char **ret);

typedef struct ConversationMessage {
        int64_t id;
        char *role;                             /* "user" or "assistant" */
        char *content;
        char created_at[TIMESTAMP_BUFSZ];
} ConversationMessage;

void conversation_messages_free(ConversationMessage *messages, size_t n);

/* What store_conversation_append() writes: created_at 0 is now. */
typedef struct ConversationNew {
        const char *role;
        const char *content;
        usec_t created_at;
} ConversationNew;

/* Appends n messages to the thread in one transaction. user_id 0: nobody. */
int store_conversation_append(Db *db, const char *thread_id, int64_t workflow_id, int64_t user_id,
                              const ConversationNew *messages, size_t n);

/* Which messages store_conversation_read() answers: the newest limit of those older than
 * before (a timestamp as timestamp_format() writes it; NULL: any) with an id below
 * before_id (0: any). */
typedef struct ConversationPage {
        const char *before;
        int64_t before_id;
        size_t limit;
} ConversationPage;

/* The page's messages, oldest first; *ret_has_more tells whether older ones remain. */
int store_conversation_read(Db *db, const char *thread_id, const ConversationPage *page,
                            ConversationMessage **ret, size_t *ret_n, bool *ret_has_more);

/* Deletes the thread's messages (none is no error). */
int store_conversation_delete(Db *db, const char *thread_id);
