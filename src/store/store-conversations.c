/* Conversation threads in the database. Timestamps compare as text (timestamp_format()
 * writes a fixed-width UTC form); within a thread the id orders the messages. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/store-conversations.h"

/* Bounds that let one statement serve pages with and without a limit on either side. */
#define TIMESTAMP_LAST "9999-12-31T23:59:59.999999Z"

int conversation_thread_id(int64_t user_id, const char *chat_id, int64_t workflow_id, char **ret) {
        int r;

        if (!chat_id)
                r = asprintf(ret, "%" PRIi64 ":%" PRIi64, user_id, workflow_id);
        else if (isempty(chat_id) || strlen(chat_id) > CONVERSATION_CHAT_ID_MAX)
                return -EINVAL;
        else
                r = asprintf(ret, "%" PRIi64 ":%s:%" PRIi64, user_id, chat_id, workflow_id);
        return r < 0 ? -ENOMEM : 0;
}

void conversation_messages_free(ConversationMessage *messages, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(messages[i].role);
                free(messages[i].content);
        }
        free(messages);
}

int store_conversation_append(Db *db, const char *thread_id, int64_t workflow_id, int64_t user_id,
                              const ConversationNew *messages, size_t n) {
        char wf[DB_INT_BUFSZ], user[DB_INT_BUFSZ];
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        db_int(wf, workflow_id);
        db_int(user, user_id);
        for (size_t i = 0; i < n; i++) {
                char at[TIMESTAMP_BUFSZ];

                if (messages[i].created_at > 0)
                        timestamp_format(at, messages[i].created_at);
                else
                        timestamp_now(at);
                r = db_queryv(db, NULL,
                              "INSERT INTO conversation_messages (thread_id, workflow_id, user_id, role, content, "
                              "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                              thread_id, wf, user_id > 0 ? user : NULL, messages[i].role, messages[i].content, at);
                if (r < 0)
                        goto fail;
        }
        r = db_commit(db);
        if (r < 0)
                goto fail;
        return 0;

fail:
        (void) db_rollback(db);
        /* The workflow or the user went away meanwhile. */
        return r == -ENOLINK ? -ENOENT : r;
}

int store_conversation_read(Db *db, const char *thread_id, const ConversationPage *page,
                            ConversationMessage **ret, size_t *ret_n, bool *ret_has_more) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        ConversationMessage *messages;
        char before_id[DB_INT_BUFSZ], limit[DB_INT_BUFSZ];
        size_t rows, n;
        int r;

        if (page->limit == 0 || page->limit > INT32_MAX)
                return -EINVAL;
        /* One more than asked tells whether older messages remain. */
        r = db_queryv(db, &res,
                      "SELECT id, role, content, created_at FROM conversation_messages "
                      "WHERE thread_id = ? AND created_at < ? AND id < ? ORDER BY id DESC LIMIT ?",
                      thread_id, page->before ?: TIMESTAMP_LAST,
                      db_int(before_id, page->before_id > 0 ? page->before_id : INT64_MAX),
                      db_int(limit, (int64_t) page->limit + 1));
        if (r < 0)
                return r;

        rows = db_result_rows(res);
        n = MIN(rows, page->limit);
        messages = calloc(MAX(n, (size_t) 1), sizeof(ConversationMessage));
        if (!messages)
                return -ENOMEM;
        /* Newest first from the database, oldest first to the caller. */
        for (size_t i = 0; i < n; i++) {
                ConversationMessage *m = &messages[n - 1 - i];

                m->id = db_result_get_int64(res, i, 0);
                m->role = strdup(db_result_get(res, i, 1) ?: "");
                m->content = strdup(db_result_get(res, i, 2) ?: "");
                snprintf(m->created_at, sizeof m->created_at, "%s", db_result_get(res, i, 3) ?: "");
                if (!m->role || !m->content) {
                        conversation_messages_free(messages, n);
                        return -ENOMEM;
                }
        }

        *ret = messages;
        *ret_n = n;
        *ret_has_more = rows > n;
        return 0;
}

int store_conversation_delete(Db *db, const char *thread_id) {
        return db_queryv(db, NULL, "DELETE FROM conversation_messages WHERE thread_id = ?", thread_id);
}
