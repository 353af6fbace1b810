/* The WebSocket hub (see ws-hub.h). Clients and channels: a hash table maps each channel
 * with subscribers to the clients subscribed to it, and each client keeps the channels it
 * joined. An event is copied once, into a reference-counted message with lws's head room,
 * and queued on every subscriber; messages leave a client's queue only when lws says its
 * socket is writable. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "api/http.h"
#include "api/ws-hub.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "engine/events.h"
#include "store/store-api-keys.h"
#include "store/store-executions.h"
#include "store/store-workflows.h"

/* What a client may have waiting before it counts as too slow and is dropped. */
#define WS_QUEUE_MESSAGES_MAX 256
#define WS_QUEUE_BYTES_MAX ((size_t) 1024 * 1024)
/* Client messages are a few dozen bytes; anything larger is not one of ours. */
#define WS_RX_MAX ((size_t) 16 * 1024)
#define WS_SUBSCRIPTIONS_MAX 1024
#define WS_CHANNEL_MAX 300
/* Writes per writable callback, so one busy client cannot monopolise the loop. */
#define WS_WRITES_PER_CALLBACK 32
/* How long a client being closed may take to accept its close frame. */
#define WS_CLOSE_GRACE_SEC 5
#define API_KEY_LEN_MAX 256

/* RFC 6455 7.4.1: "try again later", not in lws's enum. */
#define WS_CLOSE_TRY_AGAIN_LATER ((enum lws_close_status) 1013)

#define UNKNOWN_CHANNEL "Unknown channel: channels are workflow:<slug> and execution:<id>."

#define WORKFLOW_CHANNEL_PREFIX "workflow:"
#define EXECUTION_CHANNEL_PREFIX "execution:"

typedef struct WsMessage {
        unsigned n_ref;
        size_t len;
        unsigned char buf[];    /* LWS_PRE bytes of head room, then the text */
} WsMessage;

typedef struct Channel {
        struct Channel *next;   /* in its hash bucket */
        WsClient **clients;
        size_t n_clients, n_alloc;
        char name[];
} Channel;

struct WsClient {
        WsHub *hub;
        struct lws *wsi;
        WsClient *prev, *next;
        char peer[64];

        bool authenticated;
        StoreCaller caller;
        char *key_hash;
        char *username;

        Channel **channels;
        size_t n_channels, n_channels_alloc;

        WsMessage *queue[WS_QUEUE_MESSAGES_MAX];   /* a ring */
        size_t queue_head, queue_len, queue_bytes;

        char *rx;
        size_t rx_len;
        bool rx_binary, rx_too_large;

        bool closing;
        enum lws_close_status close_status;
        char close_reason[100];

        sd_event_source *heartbeat;
        usec_t last_rx;
        usec_t ping_sent;       /* 0 while no pong is awaited */
        usec_t key_checked;
};

struct WsHub {
        Manager *manager;
        WsClient *clients;
        unsigned n_clients;
        usec_t last_activity;
        Channel **buckets;
        size_t n_buckets, n_channels;
};

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --- messages -------------------------------------------------------------------------------- */

static WsMessage *message_new(const char *text, size_t len) {
        WsMessage *m = malloc(sizeof *m + LWS_PRE + len);

        if (!m)
                return NULL;
        m->n_ref = 1;
        m->len = len;
        memcpy(m->buf + LWS_PRE, text, len);
        return m;
}

static void message_unref(WsMessage *m) {
        if (m && --m->n_ref == 0)
                free(m);
}

/* --- channels -------------------------------------------------------------------------------- */

static size_t channel_hash(const char *name) {
        uint64_t h = UINT64_C(14695981039346656037);   /* FNV-1a */

        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                h = (h ^ *p) * UINT64_C(1099511628211);
        return (size_t) h;
}

static Channel *channel_find(WsHub *h, const char *name) {
        if (h->n_buckets == 0)
                return NULL;
        for (Channel *ch = h->buckets[channel_hash(name) & (h->n_buckets - 1)]; ch; ch = ch->next)
                if (streq(ch->name, name))
                        return ch;
        return NULL;
}

static int channels_grow(WsHub *h) {
        size_t n = MAX(h->n_buckets * 2, (size_t) 64);
        Channel **b = calloc(n, sizeof *b);

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_buckets; i++)
                while (h->buckets[i]) {
                        Channel *ch = h->buckets[i];
                        size_t j = channel_hash(ch->name) & (n - 1);

                        h->buckets[i] = ch->next;
                        ch->next = b[j];
                        b[j] = ch;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
        return 0;
}

static Channel *channel_get(WsHub *h, const char *name) {
        Channel *ch = channel_find(h, name);
        size_t j;

        if (ch)
                return ch;
        if (h->n_channels >= h->n_buckets && channels_grow(h) < 0)
                return NULL;
        ch = calloc(1, sizeof *ch + strlen(name) + 1);
        if (!ch)
                return NULL;
        strcpy(ch->name, name);
        j = channel_hash(name) & (h->n_buckets - 1);
        ch->next = h->buckets[j];
        h->buckets[j] = ch;
        h->n_channels++;
        return ch;
}

/* Frees ch once nobody is subscribed to it any more. */
static void channel_gc(WsHub *h, Channel *ch) {
        Channel **p;

        if (ch->n_clients > 0)
                return;
        for (p = &h->buckets[channel_hash(ch->name) & (h->n_buckets - 1)]; *p; p = &(*p)->next)
                if (*p == ch) {
                        *p = ch->next;
                        break;
                }
        h->n_channels--;
        free(ch->clients);
        free(ch);
}

static bool client_subscribed(const WsClient *c, const Channel *ch) {
        for (size_t i = 0; i < c->n_channels; i++)
                if (c->channels[i] == ch)
                        return true;
        return false;
}

static int client_subscribe(WsClient *c, Channel *ch) {
        if (client_subscribed(c, ch))
                return 0;
        if (c->n_channels >= WS_SUBSCRIPTIONS_MAX)
                return -E2BIG;
        if (c->n_channels == c->n_channels_alloc) {
                size_t n = MAX(c->n_channels_alloc * 2, (size_t) 4);
                Channel **a = realloc(c->channels, n * sizeof *a);

                if (!a)
                        return -ENOMEM;
                c->channels = a;
                c->n_channels_alloc = n;
        }
        if (ch->n_clients == ch->n_alloc) {
                size_t n = MAX(ch->n_alloc * 2, (size_t) 4);
                WsClient **a = realloc(ch->clients, n * sizeof *a);

                if (!a)
                        return -ENOMEM;
                ch->clients = a;
                ch->n_alloc = n;
        }
        c->channels[c->n_channels++] = ch;
        ch->clients[ch->n_clients++] = c;
        events_listeners_changed(+1);
        return 0;
}

/* Leaves ch in place even when empty: the caller may be walking its clients. */
static void client_unsubscribe(WsClient *c, Channel *ch) {
        for (size_t i = 0; i < c->n_channels; i++)
                if (c->channels[i] == ch) {
                        c->channels[i] = c->channels[--c->n_channels];
                        events_listeners_changed(-1);
                        break;
                }
        for (size_t i = 0; i < ch->n_clients; i++)
                if (ch->clients[i] == c) {
                        ch->clients[i] = ch->clients[--ch->n_clients];
                        break;
                }
}

static void client_unsubscribe_all(WsClient *c) {
        while (c->n_channels > 0) {
                Channel *ch = c->channels[c->n_channels - 1];

                client_unsubscribe(c, ch);
                channel_gc(c->hub, ch);
        }
}

/* --- sending ------------------------------------------------------------------------------- */

static void queue_clear(WsClient *c) {
        while (c->queue_len > 0) {
                message_unref(c->queue[c->queue_head]);
                c->queue_head = (c->queue_head + 1) % WS_QUEUE_MESSAGES_MAX;
                c->queue_len--;
        }
        c->queue_bytes = 0;
}

static WsMessage *queue_pop(WsClient *c) {
        WsMessage *m;

        if (c->queue_len == 0)
                return NULL;
        m = c->queue[c->queue_head];
        c->queue_head = (c->queue_head + 1) % WS_QUEUE_MESSAGES_MAX;
        c->queue_len--;
        c->queue_bytes -= m->len;
        return m;
}

/* Closes from outside the client's own callback: the close frame goes out when the socket
 * takes it, and lws gives up after a grace period if it never does. */
static void client_close(WsClient *c, enum lws_close_status status, const char *reason) {
        if (c->closing)
                return;
        c->closing = true;
        c->close_status = status;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
        /* Its subscriptions stay until lws reports the close (a fan-out may be walking
         * them right now); nothing is queued for a closing client any more. */
        queue_clear(c);
        (void) sd_event_source_set_enabled(c->heartbeat, SD_EVENT_OFF);
        lws_callback_on_writable(c->wsi);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, WS_CLOSE_GRACE_SEC);
}

/* A client whose queue is full is not reading: its socket will not become writable soon,
 * so it is closed now rather than after the grace period. */
static void client_drop_slow(WsClient *c) {
        static const char reason[] = "Too slow: events were not read in time";

        log_notice("Dropping WebSocket client %s (user %s): %zu messages (%zu bytes) not read.",
                   c->peer, c->username ?: "?", c->queue_len, c->queue_bytes);
        client_close(c, WS_CLOSE_TRY_AGAIN_LATER, reason);
        lws_close_reason(c->wsi, c->close_status, (unsigned char *) reason, strlen(reason));
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void client_enqueue(WsClient *c, WsMessage *m) {
        if (c->closing)
                return;
        /* One message always fits, however large: only a backlog makes a client slow. */
        if (c->queue_len >= WS_QUEUE_MESSAGES_MAX ||
            (c->queue_len > 0 && c->queue_bytes + m->len > WS_QUEUE_BYTES_MAX)) {
                client_drop_slow(c);
                return;
        }
        m->n_ref++;
        c->queue[(c->queue_head + c->queue_len) % WS_QUEUE_MESSAGES_MAX] = m;
        c->queue_len++;
        c->queue_bytes += m->len;
        lws_callback_on_writable(c->wsi);
}

static void client_send_json(WsClient *c, json_t *json) {
        _cleanup_free_ char *text = NULL;
        WsMessage *m;
        size_t len;

        if (!json)
                return;
        text = json_write(json, &len);
        m = text ? message_new(text, len) : NULL;
        if (!m)
                return;
        client_enqueue(c, m);
        message_unref(m);
}

/* {"type": type, "channel": channel?} */
static void client_send(WsClient *c, const char *type, const char *channel) {
        _cleanup_json_ json_t *j = NULL;

        if (channel)
                j = json_pack("{s:s, s:s}", "type", type, "channel", channel);
        else
                j = json_pack("{s:s}", "type", type);
        client_send_json(c, j);
}

static void client_send_error(WsClient *c, const char *channel, const char *detail) {
        _cleanup_json_ json_t *j = NULL;

        j = channel ? json_pack("{s:s, s:s, s:s}", "type", "error", "channel", channel, "detail", detail)
                    : json_pack("{s:s, s:s}", "type", "error", "detail", detail);
        client_send_json(c, j);
}

static int client_writeable(WsClient *c) {
        if (c->closing) {
                lws_close_reason(c->wsi, c->close_status, (unsigned char *) c->close_reason,
                                 strlen(c->close_reason));
                return -1;
        }
        for (unsigned n = 0; n < WS_WRITES_PER_CALLBACK; n++) {
                WsMessage *m = queue_pop(c);
                int r;

                if (!m)
                        return 0;
                r = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
                message_unref(m);
                if (r < 0)
                        return -1;
                if (lws_send_pipe_choked(c->wsi))
                        break;
        }
        if (c->queue_len > 0)
                lws_callback_on_writable(c->wsi);
        return 0;
}

/* --- authorisation ----------------------------------------------------------------------- */

/* 0 when the client's user may read channel, -ENOENT when not (or when it names nothing),
 * -EINVAL when it is not a channel name at all. */
static int client_may_read(WsClient *c, const char *channel) {
        Db *db = c->hub->manager->db;

        if (startswith(channel, WORKFLOW_CHANNEL_PREFIX)) {
                const char *slug = channel + strlen(WORKFLOW_CHANNEL_PREFIX);
                int64_t id;

                if (!workflow_slug_is_valid(slug))
                        return -EINVAL;
                return store_workflow_find(db, &c->caller, slug, &id);
        }
        if (startswith(channel, EXECUTION_CHANNEL_PREFIX)) {
                const char *id = channel + strlen(EXECUTION_CHANNEL_PREFIX);
                _cleanup_free_ char *slug = NULL;

                if (!execution_id_is_valid(id))
                        return -EINVAL;
                return store_execution_workflow_slug(db, &c->caller, id, &slug);
        }
        return -EINVAL;
}

/* After a workflow was renamed or deleted, or a user's role changed: subscriptions that
 * no longer name something the user may read end, with "unsubscribed". */
static void client_recheck(WsClient *c, Channel *ch) {
        int r = client_may_read(c, ch->name);

        if (r == -ENOENT || r == -EINVAL) {
                client_send(c, "unsubscribed", ch->name);
                client_unsubscribe(c, ch);
        } else if (r < 0)
                log_warning_errno(r, "Cannot check WebSocket subscription %s: %m", ch->name);
}

static void channel_recheck(WsHub *h, Channel *ch) {
        for (size_t i = ch->n_clients; i > 0; i--)
                client_recheck(ch->clients[i - 1], ch);
        channel_gc(h, ch);
}

static void client_recheck_all(WsClient *c) {
        for (size_t i = c->n_channels; i > 0; i--) {
                Channel *ch = c->channels[i - 1];

                client_recheck(c, ch);
                channel_gc(c->hub, ch);
        }
}

static int client_authenticate(WsClient *c, const char *key) {
        _cleanup_(api_key_owner_done) ApiKeyOwner owner = {};
        _cleanup_free_ char *hash = NULL;
        UserRole role;
        int r;

        if (isempty(key) || strlen(key) > API_KEY_LEN_MAX)
                return -EACCES;
        r = api_key_hash(key, &hash);
        if (r < 0)
                return r;
        r = store_api_key_find_owner(c->hub->manager->db, hash, &owner);
        if (r == -ENOENT)
                return -EACCES;
        if (r < 0)
                return r;
        role = user_role_from_string(owner.role);
        if (role < 0)
                return -EACCES;

        c->caller = (StoreCaller) { .user_id = owner.user_id, .is_admin = role == USER_ROLE_ADMIN };
        free(c->username);
        c->username = TAKE_PTR(owner.username);
        free(c->key_hash);
        c->key_hash = TAKE_PTR(hash);
        c->authenticated = true;
        return 0;
}

/* A key may be revoked, its user disabled or demoted while the socket is open: checked
 * again every heartbeat interval. Returns false when the client was closed. */
static bool client_still_authorised(WsClient *c) {
        _cleanup_(api_key_owner_done) ApiKeyOwner owner = {};
        bool was_admin = c->caller.is_admin;
        int r;

        r = store_api_key_find_owner(c->hub->manager->db, c->key_hash, &owner);
        if (r == -ENOENT) {
                client_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "API key is no longer valid");
                return false;
        }
        if (r < 0)
                return true;   /* a database hiccup is no reason to cut the client off */
        c->caller.is_admin = user_role_from_string(owner.role) == USER_ROLE_ADMIN;
        if (was_admin && !c->caller.is_admin)
                client_recheck_all(c);
        return true;
}

/* --- client messages ---------------------------------------------------------------------- */

static void client_on_subscribe(WsClient *c, const char *channel) {
        Channel *ch;
        int r;

        if (strlen(channel) > WS_CHANNEL_MAX) {
                client_send_error(c, NULL, UNKNOWN_CHANNEL);
                return;
        }
        r = client_may_read(c, channel);
        if (r == -EINVAL) {
                client_send_error(c, channel, UNKNOWN_CHANNEL);
                return;
        }
        if (r == -ENOENT) {
                client_send_error(c, channel, startswith(channel, WORKFLOW_CHANNEL_PREFIX)
                                                      ? "Workflow not found." : "Execution not found.");
                return;
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot check WebSocket subscription %s: %m", channel);
                client_send_error(c, channel, "Internal error, try again.");
                return;
        }

        ch = channel_get(c->hub, channel);
        r = ch ? client_subscribe(c, ch) : -ENOMEM;
        if (r == -E2BIG) {
                char detail[80];

                snprintf(detail, sizeof detail, "Too many subscriptions (at most %d).",
                         WS_SUBSCRIPTIONS_MAX);
                client_send_error(c, channel, detail);
        } else if (r < 0)
                client_send_error(c, channel, "Internal error, try again.");
        else
                client_send(c, "subscribed", channel);
        if (ch)
                channel_gc(c->hub, ch);
}

static void client_on_unsubscribe(WsClient *c, const char *channel) {
        Channel *ch = channel_find(c->hub, channel);

        if (ch) {
                client_unsubscribe(c, ch);
                channel_gc(c->hub, ch);
        }
        /* Leaving a channel one was not in is not an error: the end state is the same. */
        client_send(c, "unsubscribed", channel);
}

static void client_on_message(WsClient *c, const char *text, size_t len) {
        _cleanup_json_ json_t *msg = NULL;
        const char *type, *channel;

        msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(msg)) {
                client_send_error(c, NULL, "Messages must be JSON objects with a \"type\".");
                return;
        }
        type = json_string_value(json_object_get(msg, "type"));
        if (!type) {
                client_send_error(c, NULL, "Messages must be JSON objects with a \"type\".");
                return;
        }

        if (streq(type, "pong"))
                return;         /* receiving it was the point */
        if (streq(type, "ping")) {
                client_send(c, "pong", NULL);
                return;
        }
        if (!streq(type, "subscribe") && !streq(type, "unsubscribe")) {
                client_send_error(c, NULL,
                                  "Unknown message type: expected subscribe, unsubscribe or pong.");
                return;
        }

        channel = json_string_value(json_object_get(msg, "channel"));
        if (!channel) {
                client_send_error(c, NULL, "\"channel\" must be a string.");
                return;
        }
        if (streq(type, "subscribe"))
                client_on_subscribe(c, channel);
        else
                client_on_unsubscribe(c, channel);
}

static int client_receive(WsClient *c, const void *in, size_t len) {
        struct lws *wsi = c->wsi;

        if (lws_is_first_fragment(wsi)) {
                c->rx_len = 0;
                c->rx_binary = lws_frame_is_binary(wsi);
                c->rx_too_large = false;
        }
        if (!c->rx_too_large && c->rx_len + len > WS_RX_MAX)
                c->rx_too_large = true;
        if (!c->rx_too_large && len > 0) {
                if (!c->rx) {
                        c->rx = malloc(WS_RX_MAX);
                        if (!c->rx)
                                return -ENOMEM;
                }
                memcpy(c->rx + c->rx_len, in, len);
                c->rx_len += len;
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
                return 0;

        c->last_rx = now_monotonic_usec();
        c->ping_sent = 0;
        if (c->closing)
                return 0;
        if (c->rx_too_large) {
                static const char reason[] = "Message too large";

                lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *) reason,
                                 strlen(reason));
                return -EMSGSIZE;
        }
        if (c->rx_binary)
                client_send_error(c, NULL, "Messages must be text (JSON).");
        else
                client_on_message(c, c->rx, c->rx_len);
        return 0;
}

/* --- heartbeat ------------------------------------------------------------------------------ */

static int client_on_heartbeat(sd_event_source *s, uint64_t now, void *userdata) {
        WsClient *c = userdata;
        const Config *config = &c->hub->manager->config;
        uint64_t due;

        if (c->closing)
                return 0;
        if (now >= c->key_checked + config->websocket_ping_usec) {
                c->key_checked = now;
                if (!client_still_authorised(c))
                        return 0;
        }
        if (c->ping_sent > 0) {
                due = c->ping_sent + config->websocket_pong_timeout_usec;
                if (now >= due) {
                        client_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "No pong in time");
                        return 0;
                }
        } else {
                due = c->last_rx + config->websocket_ping_usec;
                if (now >= due) {
                        client_send(c, "ping", NULL);
                        c->ping_sent = now;
                        due = now + config->websocket_pong_timeout_usec;
                }
        }
        /* A client that talks all the time is never pinged, but its key is still checked. */
        (void) sd_event_source_set_time(s, MIN(due, c->key_checked + config->websocket_ping_usec));
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* --- connections ---------------------------------------------------------------------------- */

static int client_new(WsHub *h, struct lws *wsi, WsClient **ret) {
        const Config *config = &h->manager->config;
        WsClient *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->hub = h;
        c->wsi = wsi;
        c->last_rx = c->key_checked = now_monotonic_usec();
        lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
        if (!c->peer[0])
                strcpy(c->peer, "unix");

        if (config->websocket_ping_usec > 0) {
                r = sd_event_add_time(h->manager->event, &c->heartbeat, CLOCK_MONOTONIC,
                                      c->last_rx + config->websocket_ping_usec, 0,
                                      client_on_heartbeat, c);
                if (r < 0) {
                        free(c);
                        return r;
                }
        }

        c->next = h->clients;
        if (h->clients)
                h->clients->prev = c;
        h->clients = c;
        h->n_clients++;
        *ret = c;
        return 0;
}

static void client_free(WsClient *c) {
        WsHub *h = c->hub;

        client_unsubscribe_all(c);
        queue_clear(c);
        sd_event_source_disable_unref(c->heartbeat);
        if (c->prev)
                c->prev->next = c->next;
        else
                h->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        h->n_clients--;
        h->last_activity = now_monotonic_usec();
        free(c->channels);
        free(c->rx);
        free(c->key_hash);
        free(c->username);
        free(c);
}

static bool path_is_ours(struct lws *wsi) {
        char path[8];

        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) >= (int) sizeof path ||
            lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0)
                return false;
        return streq(path, "/ws") || streq(path, "/ws/");
}

static int client_established(WsHub *h, struct lws *wsi, WsClient **slot) {
        char buf[API_KEY_LEN_MAX + 16];
        const char *key;
        WsClient *c;
        int r;

        r = client_new(h, wsi, &c);
        if (r < 0)
                return r;
        *slot = c;

        key = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
        r = client_authenticate(c, key);
        if (r < 0) {
                if (r != -EACCES)
                        log_warning_errno(r, "Cannot authenticate WebSocket client %s: %m", c->peer);
                client_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                             r == -EACCES ? "Invalid or missing API key" : "Cannot authenticate now");
                return 0;
        }
        log_debug("WebSocket client %s connected as %s.", c->peer, c->username);
        return 0;
}

int ws_hub_callback(WsHub *h, struct lws *wsi, enum lws_callback_reasons reason, WsClient **slot,
                    void *in, size_t len) {
        WsClient *c = slot ? *slot : NULL;

        switch (reason) {
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
                return h && slot && path_is_ours(wsi) ? 0 : -1;

        case LWS_CALLBACK_ESTABLISHED:
                if (!h || !slot)
                        return -1;
                return client_established(h, wsi, slot) < 0 ? -1 : 0;

        case LWS_CALLBACK_RECEIVE:
                if (!c)
                        return -1;
                return client_receive(c, in, len) < 0 ? -1 : 0;

        case LWS_CALLBACK_SERVER_WRITEABLE:
                if (!c)
                        return -1;
                return client_writeable(c);

        case LWS_CALLBACK_CLOSED:
                if (c) {
                        log_debug("WebSocket client %s disconnected.", c->peer);
                        client_free(c);
                        *slot = NULL;
                }
                return 0;

        default:
                return 0;
        }
}

/* --- fan-out -------------------------------------------------------------------------------- */

/* Renaming or deleting a workflow frees its slug for another workflow, perhaps someone
 * else's: its subscribers are checked again. The envelope starts with its type
 * (events.c), which keeps this to a prefix test for every other event. */
static void hub_after_workflow_event(WsHub *h, Channel *ch, const char *message, size_t len) {
        static const char updated[] = "{\"type\":\"workflow_updated\"";
        static const char deleted[] = "{\"type\":\"workflow_deleted\"";
        const char *slug = ch->name + strlen(WORKFLOW_CHANNEL_PREFIX);

        if (len >= sizeof updated - 1 && memcmp(message, updated, sizeof updated - 1) == 0) {
                _cleanup_json_ json_t *e = json_loadb(message, len, 0, NULL);
                json_t *data = json_object_get(e, "data");
                const char *new_slug = json_string_value(json_object_get(data, "slug"));

                if (!new_slug || streq(new_slug, slug))
                        return;
        } else if (!(len >= sizeof deleted - 1 && memcmp(message, deleted, sizeof deleted - 1) == 0))
                return;

        channel_recheck(h, ch);
}

void ws_hub_broker_message(const char *channel, const char *message, size_t len, void *userdata) {
        WsHub *h = userdata;
        Channel *ch = channel_find(h, channel);
        WsMessage *m;

        if (!ch || ch->n_clients == 0)
                return;
        m = message_new(message, len);
        if (!m)
                return;
        for (size_t i = 0; i < ch->n_clients; i++)
                client_enqueue(ch->clients[i], m);
        message_unref(m);

        if (startswith(channel, WORKFLOW_CHANNEL_PREFIX))
                hub_after_workflow_event(h, ch, message, len);
}

/* --- the hub -------------------------------------------------------------------------------- */

int ws_hub_new(Manager *m, WsHub **ret) {
        WsHub *h = calloc(1, sizeof *h);

        if (!h)
                return -ENOMEM;
        h->manager = m;
        *ret = h;
        return 0;
}

WsHub *ws_hub_free(WsHub *h) {
        if (!h)
                return NULL;
        /* lws reported every close while its context went away; anything left is ours. */
        while (h->clients)
                client_free(h->clients);
        for (size_t i = 0; i < h->n_buckets; i++)
                while (h->buckets[i]) {
                        Channel *ch = h->buckets[i];

                        h->buckets[i] = ch->next;
                        free(ch->clients);
                        free(ch);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

unsigned ws_hub_clients(const WsHub *h) {
        return h ? h->n_clients : 0;
}

usec_t ws_hub_last_activity_usec(const WsHub *h) {
        return h ? h->last_activity : 0;
}
