/* GET and DELETE /api/v1/workflows/{slug}/chat/history: the caller's conversation with a
 * workflow's agents, as their conversation memory keeps it (docs/api.md "Chat history"). */

#include <errno.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "store/store-conversations.h"

#define HISTORY_LIMIT_DEFAULT 10
#define HISTORY_LIMIT_MAX 100

/* The caller's thread with the workflow of the path: 1 with *ret_thread_id, 0 when resp
 * holds the 404, or a negative errno. */
static int history_thread(HttpRequest *req, HttpResponse *resp, char **ret_thread_id) {
        int64_t workflow_id;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;
        r = conversation_thread_id(req->user.id, NULL, workflow_id, ret_thread_id);
        return r < 0 ? r : 1;
}

/* The before= parameter as the database writes timestamps; *ret "" when absent. 0, or
 * -EINVAL with resp holding the 422. */
static int query_before(HttpRequest *req, HttpResponse *resp, char ret[static TIMESTAMP_BUFSZ]) {
        _cleanup_free_ char *before = http_request_query(req, "before");
        usec_t t;

        ret[0] = '\0';
        if (!before)
                return 0;
        if (timestamp_parse(before, &t) < 0) {
                http_reply_detail(resp, 422, json_pack("[{s:[s,s], s:s, s:s}]", "loc", "query", "before", "msg",
                                                       "Input should be an ISO 8601 date or time, e.g. "
                                                       "2026-11-26T00:54:34Z", "type", "datetime_parsing"));
                return -EINVAL;
        }
        timestamp_format(ret, t);
        return 0;
}

static json_t *message_out(const ConversationMessage *m) {
        return json_pack("{s:s, s:s, s:s}", "role", m->role, "text", m->content, "timestamp", m->created_at);
}

static int chat_history_get(HttpRequest *req, HttpResponse *resp) {
        _cleanup_free_ char *thread_id = NULL;
        _cleanup_json_ json_t *items = NULL, *body = NULL;
        char before[TIMESTAMP_BUFSZ];
        ConversationMessage *messages = NULL;
        size_t n = 0;
        bool more = false;
        int64_t limit;
        int r;

        r = history_thread(req, resp, &thread_id);
        if (r <= 0)
                return r;
        if (http_request_query_int(req, resp, "limit", HISTORY_LIMIT_DEFAULT, 1, HISTORY_LIMIT_MAX, &limit) < 0 ||
            query_before(req, resp, before) < 0)
                return 0;

        r = store_conversation_read(req->manager->db, thread_id, &(ConversationPage) {
                .before = isempty(before) ? NULL : before,
                .limit = (size_t) limit,
        }, &messages, &n, &more);
        if (r < 0)
                return r;
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, message_out(&messages[i])) < 0)
                        r = -ENOMEM;
        conversation_messages_free(messages, n);
        if (!items || r < 0)
                return -ENOMEM;
        body = json_pack("{s:O, s:s, s:b}", "messages", items, "thread_id", thread_id, "has_more", more);
        if (!body)
                return -ENOMEM;
        return http_reply_json(resp, 200, TAKE_PTR(body));
}

static int chat_history_delete(HttpRequest *req, HttpResponse *resp) {
        _cleanup_free_ char *thread_id = NULL;
        int r;

        r = history_thread(req, resp, &thread_id);
        if (r <= 0)
                return r;
        r = store_conversation_delete(req->manager->db, thread_id);
        if (r < 0)
                return r;
        return http_reply_no_content(resp);
}

const Route chat_history_routes[] = {
        { HTTP_GET, "/api/v1/workflows/{slug}/chat/history", chat_history_get, AUTH_USER },
        { HTTP_DELETE, "/api/v1/workflows/{slug}/chat/history", chat_history_delete, AUTH_USER },
        {},
};
