/* HTTP serving on libwebsockets 4.1 (see server.h). lws 4.1 has no external-poll or
 * sd-event integration, so lws is the outer loop and sd-event's epoll fd is adopted as a
 * raw file: whenever it is readable we run sd-event until it has nothing left to do. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "api/execution-watch.h"
#include "api/router.h"
#include "api/server.h"
#include "api/ui-files.h"
#include "api/ws-hub.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "daemon/manager.h"

#define MAX_LISTENERS 16

typedef struct Listener {
        Server *server;
        int fd;
        bool tcp;
        sd_event_source *source;
} Listener;

struct Server {
        Manager *manager;
        struct lws_context *context;
        struct lws_vhost *vhost;
        WsHub *hub;
        ExecutionWatch *execution_watch;
        struct lws_http_mount mounts[2];
        Listener listeners[MAX_LISTENERS];
        size_t n_listeners;
        unsigned in_flight;
        /* Connections accepted whose first request has not begun: a stop waits for them
         * too, or their request would be lost (reset) with the process. */
        unsigned fresh;
        usec_t last_activity;
        char *description;
};

/* Per connection; lws zeroes it on connect and frees it on close. Reused across
 * keep-alive requests, so connection_reset() clears it after each one. */
typedef struct Connection {
        struct lws *wsi;
        HttpRequest req;
        HttpResponse resp;
        char *body;
        size_t body_len, body_alloc;
        bool body_too_large;
        bool awaiting_body;    /* dispatch on LWS_CALLBACK_HTTP_BODY_COMPLETION */
        bool in_flight;
        bool close_after;
        bool answer_ready;     /* a deferred answer waits in resp for HTTP_WRITEABLE */
        usec_t started;
        HttpDeferred *deferred;
        WsClient *ws;          /* after an upgrade to a WebSocket: the hub's client */
} Connection;

/* A deferred request's handle: one reference for the handler that deferred it, one for
 * the connection while it waits. */
struct HttpDeferred {
        unsigned n_ref;
        Connection *connection; /* NULL once answered or gone */
};

/* The mark of a connection that must end (see LWS_CALLBACK_HTTP_DROP_PROTOCOL). */
static char pipelined_behind_deferred;
/* The mark of a connection accepted whose first request has not begun (Server.fresh). */
static char fresh_connection;

static Server *server_of(struct lws *wsi) {
        return lws_context_user(lws_get_context(wsi));
}

static void connection_not_fresh(struct lws *wsi) {
        if (lws_get_opaque_user_data(wsi) == &fresh_connection) {
                lws_set_opaque_user_data(wsi, NULL);
                server_of(wsi)->fresh--;
        }
}

static void deferred_unref(HttpDeferred *d) {
        if (d && --d->n_ref == 0)
                free(d);
}

static void connection_reset(Server *s, Connection *c) {
        if (c->in_flight && s->in_flight > 0) {
                s->in_flight--;
                s->last_activity = now_monotonic_usec();
        }
        if (c->deferred) {
                /* Answered, or the client went away: completing is a no-op from now on. */
                c->deferred->connection = NULL;
                deferred_unref(c->deferred);
        }
        http_request_done(&c->req);
        http_response_done(&c->resp);
        free(c->body);
        /* The WebSocket client is the hub's to free, when lws reports the close. */
        *c = (Connection) { .ws = c->ws };
}

/* lws keeps the request line in a token named after the method. */
static const struct {
        enum lws_token_indexes token;
        HttpMethod method;
} method_tokens[] = {
        { WSI_TOKEN_GET_URI, HTTP_GET },       { WSI_TOKEN_POST_URI, HTTP_POST },
        { WSI_TOKEN_PUT_URI, HTTP_PUT },       { WSI_TOKEN_PATCH_URI, HTTP_PATCH },
        { WSI_TOKEN_DELETE_URI, HTTP_DELETE }, { WSI_TOKEN_HEAD_URI, HTTP_HEAD },
        { WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS },
};

static char *header_dup(struct lws *wsi, enum lws_token_indexes token) {
        int len = lws_hdr_total_length(wsi, token);
        char *v;

        if (len <= 0)
                return NULL;
        v = malloc((size_t) len + 1);
        if (!v)
                return NULL;
        if (lws_hdr_copy(wsi, v, len + 1, token) < 0) {
                free(v);
                return NULL;
        }
        return v;
}

/* Appends s[0..n) to out, percent-encoding all but unreserved characters (RFC 3986). */
static char *query_encode(char *out, const char *s, size_t n) {
        static const char hex[] = "0123456789ABCDEF";

        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) s[i];

                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~')
                        *out++ = (char) ch;
                else {
                        *out++ = '%';
                        *out++ = hex[ch >> 4];
                        *out++ = hex[ch & 15];
                }
        }
        return out;
}

/* lws keeps each "k=v" argument as a fragment of WSI_TOKEN_HTTP_URI_ARGS, already
 * percent-decoded (a decoded '&' or '=' stays inside its fragment). Join them back into one
 * query string, encoding each name and value again, so that http_request_query() decodes
 * exactly once. */
static char *query_dup(struct lws *wsi) {
        int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
        _cleanup_free_ char *fragment = NULL;
        char *q, *out;

        if (total <= 0)
                return NULL;
        fragment = malloc((size_t) total + 1);
        /* Every byte may triple, plus one separator per (non-empty) fragment. */
        q = malloc((size_t) total * 3 + 1 + (size_t) total);
        if (!fragment || !q) {
                free(q);
                return NULL;
        }
        out = q;
        for (int i = 0;; i++) {
                int n = lws_hdr_copy_fragment(wsi, fragment, total + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
                const char *eq;

                if (n < 0)
                        break;
                if (n == 0)
                        continue;
                if (out > q)
                        *out++ = '&';
                eq = memchr(fragment, '=', (size_t) n);
                if (!eq) {
                        out = query_encode(out, fragment, (size_t) n);
                        continue;
                }
                out = query_encode(out, fragment, (size_t) (eq - fragment));
                *out++ = '=';
                out = query_encode(out, eq + 1, (size_t) (n - (eq - fragment) - 1));
        }
        *out = 0;
        return q;
}

static int connection_begin(struct lws *wsi, Server *s, Connection *c) {
        char peer[64] = "";

        connection_reset(s, c);
        c->wsi = wsi;
        c->started = now_monotonic_usec();
        c->req.manager = s->manager;
        c->req.connection = c;
        c->req.method = _HTTP_METHOD_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(method_tokens); i++)
                if (lws_hdr_total_length(wsi, method_tokens[i].token) > 0) {
                        c->req.method = method_tokens[i].method;
                        c->req.path = header_dup(wsi, method_tokens[i].token);
                        break;
                }
        if (!c->req.path)
                c->req.path = strdup("/");
        c->req.query = query_dup(wsi);
        c->req.authorization = header_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
        c->req.content_type = header_dup(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
        lws_get_peer_simple(wsi, peer, sizeof peer);
        c->req.peer = strdup(peer[0] ? peer : "unix");
        if (!c->req.path || !c->req.peer)
                return -ENOMEM;
        c->in_flight = true;
        s->in_flight++;
        return 0;
}

static int append_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                         unsigned char *end) {
        return lws_add_http_header_by_name(wsi, (const unsigned char *) name,
                                           (const unsigned char *) value, (int) strlen(value), p, end);
}

#define HEADER_ROOM 1024

/* What the UI loads may come only from here; the canvas sets inline styles. */
#define PAGE_CONTENT_SECURITY_POLICY                                                             \
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "               \
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "         \
        "frame-ancestors 'none'"

/* The headers of the UI's files (ui-files.c). */
static int response_file_headers(struct lws *wsi, const HttpResponse *resp, unsigned char **p,
                                 unsigned char *end) {
        if (!resp->etag)
                return 0;
        if (append_header(wsi, "etag:", resp->etag, p, end) ||
            append_header(wsi, "x-content-type-options:", "nosniff", p, end))
                return -1;
        if (resp->content_encoding && append_header(wsi, "content-encoding:", resp->content_encoding, p, end))
                return -1;
        if (resp->vary_encoding && append_header(wsi, "vary:", "Accept-Encoding", p, end))
                return -1;
        if (resp->page && (append_header(wsi, "content-security-policy:", PAGE_CONTENT_SECURITY_POLICY, p, end) ||
                           append_header(wsi, "x-frame-options:", "DENY", p, end) ||
                           append_header(wsi, "referrer-policy:", "same-origin", p, end)))
                return -1;
        return 0;
}

/* Serialises the response and sends headers and body in one write (one packet for small
 * answers; lws keeps and sends on its own whatever the socket does not take at once), then
 * ends the transaction. Returns -1 when the connection must be closed. */
static int connection_respond(struct lws *wsi, Server *s, Connection *c) {
        const char *content_type = c->resp.content_type ?: "application/json";
        _cleanup_free_ char *json = NULL;
        _cleanup_free_ unsigned char *out = NULL;
        unsigned char *start, *p, *end;
        const char *body = NULL;
        size_t body_len = 0;
        bool close_after;

        if (c->resp.json) {
                json = json_write(c->resp.json, &body_len);
                if (!json)
                        return -1;
                body = json;
        } else if (c->resp.body) {
                body = c->resp.body;
                body_len = c->resp.body_len;
        }

        out = malloc(LWS_PRE + HEADER_ROOM + body_len);
        if (!out)
                return -1;
        start = p = out + LWS_PRE;
        end = start + HEADER_ROOM - 1;

        if (lws_add_http_common_headers(wsi, (unsigned) c->resp.status,
                                        body_len > 0 ? content_type : NULL, body_len, &p, end))
                return -1;
        if (c->resp.status == 401 && append_header(wsi, "www-authenticate:", "Bearer", &p, end))
                return -1;
        if (c->resp.allow && append_header(wsi, "allow:", c->resp.allow, &p, end))
                return -1;
        if (c->resp.location && append_header(wsi, "location:", c->resp.location, &p, end))
                return -1;
        if (c->close_after && append_header(wsi, "connection:", "close", &p, end))
                return -1;
        if (append_header(wsi, "cache-control:", c->resp.cache_control ?: "no-store", &p, end))
                return -1;
        if (response_file_headers(wsi, &c->resp, &p, end) < 0)
                return -1;
        if (lws_finalize_http_header(wsi, &p, end))
                return -1;
        if (c->resp.omit_body)
                body_len = 0;
        if (body_len > 0)
                memcpy(p, body, body_len);
        if (lws_write(wsi, start, (size_t) (p - start) + body_len, LWS_WRITE_HTTP_HEADERS) < 0)
                return -1;

        if (log_enabled(LOG_DEBUG))
                log_debug("%s %s%s%s → %i (%llu µs)", http_method_to_string(c->req.method) ?: "?",
                          c->req.path, c->req.query ? "?" : "", c->req.query ?: "", c->resp.status,
                          (unsigned long long) (now_monotonic_usec() - c->started));

        close_after = c->close_after;
        connection_reset(s, c);
        if (close_after)
                return -1;
        /* Keep-alive: lws answers nonzero when the connection should close instead. */
        return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A UI file for a GET or HEAD outside the API; false when there is no UI to answer. */
static bool connection_answer_ui(Server *s, Connection *c) {
        const char *directory = s->manager->config.static_directory ?: PKGDATADIR "/ui";
        _cleanup_free_ char *accept_encoding = NULL, *if_none_match = NULL;
        int r;

        if (!ui_path(c->req.method, c->req.path))
                return false;
        accept_encoding = http_request_header(&c->req, "accept-encoding");
        if_none_match = http_request_header(&c->req, "if-none-match");
        r = ui_answer(directory, c->req.method, c->req.path, ui_accepts_gzip(accept_encoding), if_none_match,
                      &c->resp);
        if (r == -ENOENT)
                return false;
        if (r < 0) {
                log_error_errno(r, "Cannot serve %s from %s: %m", c->req.path, directory);
                http_response_done(&c->resp);
                http_reply_error(&c->resp, 500, "Internal Server Error");
        }
        return true;
}

static int connection_dispatch(struct lws *wsi, Server *s, Connection *c) {
        if (c->body_too_large)
                http_reply_error(&c->resp, 413, "Request body is larger than %zu bytes.",
                                 s->manager->config.max_body_size);
        else if (c->req.method < 0)
                http_reply_error(&c->resp, 405, "Method Not Allowed");
        else if (connection_answer_ui(s, c))
                ;
        else {
                c->req.body = TAKE_PTR(c->body);
                c->req.body_len = c->body_len;
                router_dispatch(&c->req, &c->resp);
        }
        if (c->resp.deferred && c->resp.status == 0) {
                /* Answered later by http_deferred_complete(), which may take longer than
                 * lws lets a request sit idle. lws keeps reading meanwhile, so a client
                 * that leaves is noticed (and the request released) at once. */
                lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
                return 0;
        }
        return connection_respond(wsi, s, c);
}

/* --- Deferred answers ------------------------------------------------------------------------ */

HttpDeferred *http_defer(HttpRequest *req, HttpResponse *resp) {
        Connection *c = req->connection;
        HttpDeferred *d;

        if (!c || c->deferred || &c->resp != resp)
                return NULL;
        d = malloc(sizeof *d);
        if (!d)
                return NULL;
        *d = (HttpDeferred) { .n_ref = 2, .connection = c };
        c->deferred = d;
        resp->deferred = true;
        return d;
}

void http_deferred_complete(HttpDeferred *d, int status, json_t *json) {
        Connection *c = d ? d->connection : NULL;

        if (!c || c->answer_ready) {
                json_decref(json);
                deferred_unref(d);
                return;
        }
        http_reply_json(&c->resp, status, json);
        c->answer_ready = true;
        /* lws writes from its own callback: connection_respond() runs at HTTP_WRITEABLE
         * (or right after the handler, when it completes before returning). */
        lws_callback_on_writable(c->wsi);
        deferred_unref(d);
}

bool http_deferred_client_waiting(const HttpDeferred *d) {
        return d && d->connection && !d->connection->answer_ready;
}

/* --- Request headers ------------------------------------------------------------------------- */

/* Headers lws does not know that webhook senders commonly set: listed in
 * http_request_headers() when present. With the ':' lws looks them up by. */
static const char *const listed_custom_headers[] = {
        "x-github-event:", "x-github-delivery:", "x-github-hook-id:", "x-github-hook-installation-target-id:",
        "x-github-hook-installation-target-type:", "x-hub-signature:", "x-hub-signature-256:",
        "x-gitlab-event:", "x-gitlab-event-uuid:", "x-gitlab-instance:", "x-gitlab-webhook-uuid:",
        "x-gitea-event:", "x-gitea-delivery:", "x-gitea-signature:", "x-gogs-event:", "x-event-key:",
        "x-hook-uuid:", "x-request-id:", "x-correlation-id:", "x-delivery-id:", "x-event-type:",
        "x-event-id:", "x-webhook-id:", "x-webhook-event:", "x-webhook-signature:", "x-signature:",
        "stripe-signature:", "x-slack-signature:", "x-slack-request-timestamp:", "x-twilio-signature:",
        "x-shopify-topic:", "x-shopify-hmac-sha256:", "x-shopify-shop-domain:", "x-shopify-webhook-id:",
        "x-amz-sns-message-type:", "x-amz-sns-message-id:", "x-amz-sns-topic-arn:", "ce-id:", "ce-type:",
        "ce-source:", "ce-specversion:", "ce-time:", "ce-subject:", "traceparent:", "tracestate:",
        "x-forwarded-proto:", "x-forwarded-host:", "forwarded:", "x-pipelit-secret:", "x-pipelit-signature:",
};

/* The lws token of a known header name (lowercase, without ':'), or -1. Request-line
 * pseudo tokens ("get ", ":path", "uri-args") never match: their text has no ':' at
 * the end or starts with one. */
static int header_token(const char *name) {
        size_t n = strlen(name);

        for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
                const char *text = (const char *) lws_token_to_string((enum lws_token_indexes) t);

                if (text && text[0] != ':' && strlen(text) == n + 1 && text[n] == ':' &&
                    strncmp(text, name, n) == 0)
                        return t;
        }
        return -1;
}

/* key: the lowercase name and ':'. */
static char *custom_header_dup(struct lws *wsi, const char *key, int klen) {
        int len;
        char *v;

        len = lws_hdr_custom_length(wsi, key, klen);
        if (len < 0)
                return NULL;
        v = malloc((size_t) len + 1);
        if (!v)
                return NULL;
        if (lws_hdr_custom_copy(wsi, v, len + 1, key, klen) < 0) {
                free(v);
                return NULL;
        }
        return v;
}

char *http_request_header(const HttpRequest *req, const char *name) {
        const Connection *c = req->connection;
        char lower[128];
        size_t n = strlen(name);
        int token;

        if (!c || !c->wsi || n == 0 || n + 1 >= sizeof lower)
                return NULL;
        for (size_t i = 0; i <= n; i++)
                lower[i] = (char) (name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
        token = header_token(lower);
        if (token >= 0)
                return header_dup(c->wsi, (enum lws_token_indexes) token);
        lower[n] = ':';
        lower[n + 1] = 0;
        return custom_header_dup(c->wsi, lower, (int) n + 1);
}

static int headers_add(json_t *o, const char *name, size_t name_len, char *value) {
        _cleanup_free_ char *v = value;
        json_t *s;

        if (!v)
                return 0;
        s = json_string(v);
        if (!s)
                return 0;       /* not UTF-8: left out */
        return json_object_setn_new(o, name, name_len, s) < 0 ? -ENOMEM : 0;
}

json_t *http_request_headers(const HttpRequest *req) {
        const Connection *c = req->connection;
        _cleanup_json_ json_t *o = json_object();

        if (!o)
                return NULL;
        if (!c || !c->wsi)
                return TAKE_PTR(o);
        for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
                const char *text;
                size_t n;

                /* Most tokens are absent: the cheap test first. */
                if (lws_hdr_total_length(c->wsi, (enum lws_token_indexes) t) <= 0)
                        continue;
                text = (const char *) lws_token_to_string((enum lws_token_indexes) t);
                n = text ? strlen(text) : 0;
                if (n < 2 || text[0] == ':' || text[n - 1] != ':')
                        continue;
                if (headers_add(o, text, n - 1, header_dup(c->wsi, (enum lws_token_indexes) t)) < 0)
                        return NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(listed_custom_headers); i++) {
                const char *key = listed_custom_headers[i];
                size_t n = strlen(key);

                if (headers_add(o, key, n - 1, custom_header_dup(c->wsi, key, (int) n)) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

static int connection_body(Server *s, Connection *c, const void *data, size_t len) {
        size_t max = s->manager->config.max_body_size;

        if (c->body_too_large || len == 0)
                return 0;
        if (c->body_len + len > max) {
                c->body_too_large = true;
                c->close_after = true;
                free(TAKE_PTR(c->body));
                c->body_len = c->body_alloc = 0;
                return 0;
        }
        if (c->body_len + len + 1 > c->body_alloc) {
                size_t n = MAX(c->body_alloc * 2, c->body_len + len + 1);
                char *b = realloc(c->body, MAX(n, (size_t) 1024));

                if (!b)
                        return -ENOMEM;
                c->body = b;
                c->body_alloc = MAX(n, (size_t) 1024);
        }
        memcpy(c->body + c->body_len, data, len);
        c->body_len += len;
        c->body[c->body_len] = 0;
        return 0;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
        Connection *c = user;
        Server *s;

        switch (reason) {
        case LWS_CALLBACK_HTTP: {
                char cl[32];

                connection_not_fresh(wsi);

                /* A request pipelined behind a deferred one (see HTTP_DROP_PROTOCOL). */
                if (lws_get_opaque_user_data(wsi) == &pipelined_behind_deferred)
                        return -1;
                s = server_of(wsi);
                if (connection_begin(wsi, s, c) < 0)
                        return -1;
                if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                        /* Refuse an announced oversize body before reading it. */
                        if (strtoull(cl, NULL, 10) > s->manager->config.max_body_size) {
                                c->body_too_large = true;
                                c->close_after = true;
                                return connection_dispatch(wsi, s, c);
                        }
                        /* lws reports LWS_CALLBACK_HTTP_BODY_COMPLETION, even for 0 bytes. */
                        c->awaiting_body = true;
                        return 0;
                }
                if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
                        c->awaiting_body = true; /* chunked */
                        return 0;
                }
                return connection_dispatch(wsi, s, c);
        }

        case LWS_CALLBACK_HTTP_BODY:
                s = server_of(wsi);
                if (!c->awaiting_body)
                        return 0;
                if (connection_body(s, c, in, len) < 0)
                        return -1;
                return 0;

        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                s = server_of(wsi);
                if (!c->awaiting_body)
                        return 0;
                c->awaiting_body = false;
                return connection_dispatch(wsi, s, c);

        case LWS_CALLBACK_HTTP_WRITEABLE:
                /* Only a deferred answer waits for this; anything else is a stale wish. */
                if (!c || !c->answer_ready)
                        return 0;
                return connection_respond(wsi, server_of(wsi), c);

        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
                /* lws 4.1 starts on a request pipelined behind a deferred one while the
                 * first is unanswered, dropping this connection state (and so our answer)
                 * first. Neither can be served in order: the connection is closed instead. */
                if (c && c->deferred)
                        lws_set_opaque_user_data(wsi, &pipelined_behind_deferred);
                /* fall through */
        case LWS_CALLBACK_CLOSED_HTTP:
                if (c)
                        connection_reset(server_of(wsi), c);
                return 0;

        case LWS_CALLBACK_WSI_DESTROY:
                connection_not_fresh(wsi);
                return 0;

        /* lws binds a WebSocket upgrade without a subprotocol to the first protocol. */
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        case LWS_CALLBACK_ESTABLISHED:
        case LWS_CALLBACK_RECEIVE:
        case LWS_CALLBACK_SERVER_WRITEABLE:
        case LWS_CALLBACK_CLOSED:
                connection_not_fresh(wsi);
                return ws_hub_callback(server_of(wsi)->hub, wsi, reason, c ? &c->ws : NULL, in, len);

        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}

/* sd-event's epoll fd became readable: dispatch everything that is ready. */
static int callback_sd_event(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len) {
        /* Not a WebSocket subprotocol, whatever a client asks for. */
        if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION)
                return -1;
        if (reason == LWS_CALLBACK_RAW_RX_FILE) {
                Server *s = server_of(wsi);

                while (sd_event_run(s->manager->event, 0) > 0)
                        ;
        }
        return 0;
}

/* The WebSocket endpoint for clients that name the subprotocol "pipelit-ws". */
static int callback_websocket(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                              void *in, size_t len) {
        /* An upgrade is a request begun (and the connection's end, when it never was). */
        if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION || reason == LWS_CALLBACK_WSI_DESTROY)
                connection_not_fresh(wsi);
        return ws_hub_callback(server_of(wsi)->hub, wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
        { .name = "http", .callback = callback_http, .per_session_data_size = sizeof(Connection) },
        { .name = "sd-event", .callback = callback_sd_event },
        { .name = "pipelit-ws", .callback = callback_websocket,
          .per_session_data_size = sizeof(WsClient *) },
        {},
};

static void lws_log_emit(int level, const char *line) {
        size_t n = strlen(line);

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        log_full_errno(level == LLL_ERR ? LOG_ERR : level == LLL_WARN ? LOG_WARNING : LOG_DEBUG, 0,
                       "lws: %.*s", (int) n, line);
}

int server_new(Manager *m, Server **ret) {
        _cleanup_(server_freep) Server *s = NULL;
        struct lws_context_creation_info info = {};
        struct lws *raw;
        int fd, r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->last_activity = now_monotonic_usec();
        r = ws_hub_new(m, &s->hub);
        if (r < 0)
                return r;
        r = execution_watch_new(m->event, &s->execution_watch);
        if (r < 0)
                return r;

        lws_set_log_level(log_enabled(LOG_DEBUG) ? LLL_ERR | LLL_WARN : LLL_ERR, lws_log_emit);

        /* Everything reaches the callback: the API, and the UI's files (ui-files.c), which
         * lws's own file mounts cannot serve with an index fallback, per-path cache headers
         * and precompressed variants. */
        s->mounts[0] = (struct lws_http_mount) {
                .mountpoint = "/api", .mountpoint_len = 4, .origin = "http",
                .origin_protocol = LWSMPRO_CALLBACK,
        };
        s->mounts[1] = (struct lws_http_mount) {
                .mountpoint = "/health", .mountpoint_len = 7, .origin = "http",
                .origin_protocol = LWSMPRO_CALLBACK,
        };
        s->mounts[0].mount_next = &s->mounts[1];

        info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
        info.protocols = protocols;
        info.mounts = &s->mounts[0];
        info.user = s;
        info.gid = (gid_t) -1;
        info.uid = (uid_t) -1;
        info.max_http_header_data = 16384;
        info.max_http_header_pool = 64;
        info.keepalive_timeout = 60;
        info.timeout_secs = 60;
        info.options = LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        s->context = lws_create_context(&info);
        if (!s->context)
                return -EIO;
        s->vhost = lws_get_vhost_by_name(s->context, "default");
        if (!s->vhost)
                return -EIO;

        fd = fcntl(sd_event_get_fd(m->event), F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        raw = lws_adopt_descriptor_vhost(s->vhost, LWS_ADOPT_RAW_FILE_DESC,
                                         (lws_sock_file_fd_type) { .filefd = fd }, "sd-event", NULL);
        if (!raw) {
                close(fd);
                return -EIO;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;
        server_stop_accepting(s);
        if (s->context)
                lws_context_destroy(s->context);
        /* After the connections: what the watches still wait for goes nowhere now. */
        execution_watch_free(s->execution_watch);
        ws_hub_free(s->hub);
        free(s->description);
        free(s);
        return NULL;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;

        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* Out of fds or similar: log and try again on the next wakeup. */
                        log_warning_errno(errno, "accept() failed: %m");
                        return 0;
                }
                if (l->tcp) {
                        /* Without it small responses wait 40 ms for delayed ACKs. */
                        int one = 1;
                        (void) setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                }
                struct lws *wsi = lws_adopt_socket_vhost(l->server->vhost, cfd);
                if (!wsi) {
                        log_warning("Could not hand a new connection to lws");
                        continue;
                }
                lws_set_opaque_user_data(wsi, &fresh_connection);
                l->server->fresh++;
        }
}

static int describe_append(Server *s, const char *what) {
        char *d;

        if (asprintf(&d, "%s%s%s", s->description ?: "", s->description ? ", " : "", what) < 0)
                return -ENOMEM;
        free(s->description);
        s->description = d;
        return 0;
}

static int add_listener(Server *s, int fd) {
        _cleanup_close_ int owned = fd;
        Listener *l;
        int r;

        if (s->n_listeners >= MAX_LISTENERS)
                return -E2BIG;
        l = &s->listeners[s->n_listeners];
        *l = (Listener) { .server = s, .fd = fd, .tcp = sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0 };
        r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (r < 0)
                return -errno;
        r = sd_event_add_io(s->manager->event, &l->source, fd, EPOLLIN, on_accept, l);
        if (r < 0)
                return r;
        TAKE_FD(owned);
        s->n_listeners++;
        return 0;
}

int server_listen_tcp(Server *s, const char *host, uint16_t port) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
        struct addrinfo *res = NULL;
        char port_str[8], what[128];
        int r, fd = -1, last_errno = EADDRNOTAVAIL;

        snprintf(port_str, sizeof port_str, "%u", port);
        r = getaddrinfo(isempty(host) ? NULL : host, port_str, &hints, &res);
        if (r != 0)
                return -EADDRNOTAVAIL;
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                int one = 1;

                fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        last_errno = errno;
                        continue;
                }
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (ai->ai_family == AF_INET6 && isempty(host))
                        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int) { 0 }, sizeof(int));
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
                        break;
                last_errno = errno;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        if (fd < 0)
                return -last_errno;

        r = add_listener(s, fd);
        if (r < 0)
                return r;
        snprintf(what, sizeof what, "http://%s%s%s:%u", host && strchr(host, ':') ? "[" : "",
                 isempty(host) ? "*" : host, host && strchr(host, ':') ? "]" : "", port);
        return describe_append(s, what);
}

int server_listen_unix(Server *s, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        char what[sizeof sa.sun_path + 8];
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        /* Any local user may connect; requests still need an API key. */
        (void) chmod(path, 0666);
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        r = add_listener(s, TAKE_FD(fd));
        if (r < 0)
                return r;
        snprintf(what, sizeof what, "unix:%s", path);
        return describe_append(s, what);
}

int server_adopt_listen_fd(Server *s, int fd) {
        int r;

        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                close(fd);
                return -ENOTSOCK;
        }
        r = add_listener(s, fd);
        if (r < 0)
                return r;
        return describe_append(s, "socket from systemd");
}

const char *server_describe(Server *s) {
        return s->description ?: "nothing";
}

/* How a client on this host reaches listener fd: 2 for TCP on loopback or on every
 * address (then through loopback), 1 for a unix socket with a path, 0 for TCP on one other
 * address of the host; -ENXIO for anything else (an abstract socket). */
static int listener_local_address(int fd, char **ret_base_url, char **ret_unix_path) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
                struct sockaddr_un un;
        } a = {};
        socklen_t len = sizeof a;
        char host[INET6_ADDRSTRLEN];
        int v6only = 0;

        if (getsockname(fd, &a.sa, &len) < 0)
                return -errno;
        switch (a.sa.sa_family) {
        case AF_INET: {
                bool any = a.in.sin_addr.s_addr == htonl(INADDR_ANY);

                if (any)
                        strcpy(host, "127.0.0.1");
                else if (!inet_ntop(AF_INET, &a.in.sin_addr, host, sizeof host))
                        return -errno;
                if (asprintf(ret_base_url, "http://%s:%u", host, ntohs(a.in.sin_port)) < 0)
                        return -ENOMEM;
                return any || (ntohl(a.in.sin_addr.s_addr) >> 24) == 127 ? 2 : 0;
        }
        case AF_INET6: {
                bool any = IN6_IS_ADDR_UNSPECIFIED(&a.in6.sin6_addr), v4;

                /* A dual-stack wildcard answers on 127.0.0.1 even where IPv6 is off. */
                if (any)
                        (void) getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &(socklen_t) { sizeof v6only });
                v4 = any && !v6only;
                if (any)
                        strcpy(host, v4 ? "127.0.0.1" : "::1");
                else if (!inet_ntop(AF_INET6, &a.in6.sin6_addr, host, sizeof host))
                        return -errno;
                if (asprintf(ret_base_url, "http://%s%s%s:%u", v4 ? "" : "[", host, v4 ? "" : "]",
                             ntohs(a.in6.sin6_port)) < 0)
                        return -ENOMEM;
                return any || IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr) ? 2 : 0;
        }
        case AF_UNIX:
                if (len <= offsetof(struct sockaddr_un, sun_path) || a.un.sun_path[0] == '\0')
                        return -ENXIO;
                *ret_unix_path = strndup(a.un.sun_path, len - offsetof(struct sockaddr_un, sun_path));
                if (!*ret_unix_path)
                        return -ENOMEM;
                *ret_base_url = strdup("http://localhost");
                return *ret_base_url ? 1 : -ENOMEM;
        default:
                return -ENXIO;
        }
}

int server_local_address(Server *s, char **ret_base_url, char **ret_unix_path) {
        _cleanup_free_ char *best_url = NULL, *best_path = NULL;
        int best = -1;

        for (size_t i = 0; i < s->n_listeners; i++) {
                _cleanup_free_ char *url = NULL, *path = NULL;
                int rank = listener_local_address(s->listeners[i].fd, &url, &path);

                if (rank == -ENOMEM)
                        return rank;
                if (rank <= best)
                        continue;
                free(best_url);
                free(best_path);
                best_url = TAKE_PTR(url);
                best_path = TAKE_PTR(path);
                best = rank;
        }
        if (best < 0)
                return -ENXIO;
        *ret_base_url = TAKE_PTR(best_url);
        *ret_unix_path = TAKE_PTR(best_path);
        return 0;
}

void server_stop_accepting(Server *s) {
        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                close(s->listeners[i].fd);
        }
        s->n_listeners = 0;
}

WsHub *server_hub(Server *s) {
        return s ? s->hub : NULL;
}

ExecutionWatch *server_execution_watch(Server *s) {
        return s ? s->execution_watch : NULL;
}

void server_broker_message(const char *channel, const char *message, size_t len, json_t *parsed, void *userdata) {
        Server *s = userdata;

        ws_hub_broker_message(channel, message, len, s->hub);
        execution_watch_message(s->execution_watch, channel, message, len, parsed);
}

unsigned server_requests_in_flight(Server *s) {
        return s->in_flight;
}

uint64_t server_last_activity_usec(Server *s) {
        return s->last_activity;
}

int server_run(Server *s, const bool *stopping, const bool *forced) {
        /* Dispatch what is already pending before the first wait. */
        while (sd_event_run(s->manager->event, 0) > 0)
                ;
        while (!*forced && !(*stopping && s->in_flight == 0 && s->fresh == 0)) {
                if (lws_service(s->context, 0) < 0)
                        return -EIO;
                while (sd_event_run(s->manager->event, 0) > 0)
                        ;
        }
        return 0;
}
