/* Live events: each event becomes its envelope's text here, on the publishing thread, and
 * goes to the broker, which copies it and delivers it on the I/O thread (see events.h). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "common/json-util.h"
#include "common/time-util.h"
#include "engine/events.h"

#define CHANNEL_MAX 512

/* Set at start and cleared at the end, while no worker runs; read by every publisher. */
static Broker *events_broker;
/* WebSocket subscriptions open in this process (in a dedicated worker: pipelitd's, which it
 * is told). With none, a node's events would cost the engine more than running a quick node
 * does, for nobody. */
static long events_listeners;

/* Told of every change (pipelitd passes the count on to its dedicated workers). */
static EventsListenersFunc listeners_hook;
static void *listeners_hook_data;

void events_listeners_changed(int delta) {
        long n = __atomic_add_fetch(&events_listeners, delta, __ATOMIC_RELAXED);

        if (listeners_hook)
                listeners_hook(n, listeners_hook_data);
}

long events_listeners_count(void) {
        return __atomic_load_n(&events_listeners, __ATOMIC_RELAXED);
}

void events_set_listeners_hook(EventsListenersFunc f, void *userdata) {
        listeners_hook = f;
        listeners_hook_data = userdata;
}

static bool has_listeners(void) {
        return __atomic_load_n(&events_listeners, __ATOMIC_RELAXED) > 0;
}

/* The events sync webhooks and the executions' D-Bus objects wait for (on the execution's
 * channel), listened to or not. */
static bool ends_execution(const char *type) {
        return streq(type, "execution_completed") || streq(type, "execution_failed") ||
                streq(type, "execution_cancelled");
}

bool events_wanted(const char *type) {
        return has_listeners() || ends_execution(type);
}

void events_set_broker(Broker *broker) {
        __atomic_store_n(&events_broker, broker, __ATOMIC_RELEASE);
}

/* {"type", "channel", "execution_id"?, "timestamp", "data"}, in that order: the WebSocket
 * hub recognises a few types by the start of the text. Borrows data. */
static json_t *envelope_new(const char *channel, const char *type, const char *execution_id,
                            json_t *data) {
        _cleanup_json_ json_t *e = NULL;

        e = json_pack("{s:s, s:s}", "type", type, "channel", channel);
        if (!e)
                return NULL;
        if (execution_id && json_object_set_new(e, "execution_id", json_string(execution_id)) < 0)
                return NULL;
        if (json_object_set_new(e, "timestamp", json_real((double) now_realtime_usec() / 1e6)) < 0 ||
            json_object_set(e, "data", data) < 0)
                return NULL;
        return TAKE_PTR(e);
}

static void publish_one(Broker *b, const char *channel, const char *type, const char *execution_id,
                        json_t *data) {
        _cleanup_json_ json_t *envelope = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        bool share;

        envelope = envelope_new(channel, type, execution_id, data);
        if (!envelope)
                return;
        text = json_write(envelope, &len);
        if (!text)
                return;
        /* Those who wait for an execution's end read its envelope on the I/O thread: handed
         * over as it is, it need not be parsed there. Only these, whose data (the run's
         * final output) nobody changes any more. */
        share = ends_execution(type) && strncmp(channel, "execution:", strlen("execution:")) == 0;
        /* Events are a live view, never the record: one lost to memory pressure is not
         * worth failing the work that announced it. */
        (void) broker_publish(b, channel, text, len, share ? envelope : NULL);
}

/* The data to send: data itself (its reference is taken over), or a new {} for NULL. */
static json_t *data_or_empty(json_t *data) {
        return data ?: json_object();
}

void events_publish(const char *channel, const char *type, const char *execution_id, json_t *data) {
        Broker *b = __atomic_load_n(&events_broker, __ATOMIC_ACQUIRE);
        _cleanup_json_ json_t *d = data_or_empty(data);

        if (!b || !d || isempty(channel) || isempty(type) || !events_wanted(type))
                return;
        publish_one(b, channel, type, execution_id, d);
}

void events_publish_workflow(const char *slug, const char *type, const char *execution_id, json_t *data) {
        Broker *b = __atomic_load_n(&events_broker, __ATOMIC_ACQUIRE);
        _cleanup_json_ json_t *d = data_or_empty(data);
        char channel[CHANNEL_MAX];

        if (!b || !d || isempty(type) || !events_wanted(type))
                return;
        /* Nobody but a listener waits on a workflow's channel. */
        if (!isempty(slug) && has_listeners() &&
            snprintf(channel, sizeof channel, "workflow:%s", slug) < (int) sizeof channel)
                publish_one(b, channel, type, execution_id, d);
        if (!isempty(execution_id) &&
            snprintf(channel, sizeof channel, "execution:%s", execution_id) < (int) sizeof channel)
                publish_one(b, channel, type, execution_id, d);
}

void events_forward_child_status(const char *root_slug, const char *root_execution_id, const char *root_node_id,
                                 const char *child_execution_id, json_t *data) {
        json_t *copy;

        if (!events_wanted("child_node_status"))
                return;
        copy = json_deep_copy(data);
        if (!copy ||
            json_object_set_new(copy, "child_execution_id", json_string(child_execution_id)) < 0 ||
            json_object_set_new(copy, "parent_node_id", root_node_id ? json_string(root_node_id) : json_null()) < 0 ||
            json_object_set_new(copy, "is_child_event", json_true()) < 0) {
                json_decref(copy);
                return;
        }
        events_publish_workflow(root_slug, "child_node_status", root_execution_id, copy);
}
