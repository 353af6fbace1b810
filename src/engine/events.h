/* Live events (reference inventory section 4): the engine and the API publish, the
 * WebSocket hub delivers to the clients subscribed to a channel.
 *
 * Channels are "workflow:<slug>" and "execution:<id>". An event is the envelope
 * {"type", "channel", "execution_id"?, "timestamp" (unix float seconds), "data"}.
 * Publishing is thread-safe and never blocks on clients; delivery happens on the I/O
 * thread, in publish order per publisher. Through the broker, so with the Redis backend
 * events cross processes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

typedef struct Broker Broker;

/* Set once at start (NULL disables publishing, e.g. in unit tests). */
void events_set_broker(Broker *broker);

/* WebSocket subscriptions come and go (ws-hub.c): delta +1 or -1. */
void events_listeners_changed(int delta);
long events_listeners_count(void);
/* Called with the new count after each change, on the changing thread (NULL: none). */
typedef void (*EventsListenersFunc)(long count, void *userdata);
void events_set_listeners_hook(EventsListenersFunc f, void *userdata);
/* Whether an event of type would reach anyone: with no subscription open (WebSocket or
 * D-Bus), only the ends of executions (completed, failed, cancelled), which sync webhooks
 * wait for on the execution's channel. Callers skip building the rest; publishing skips
 * them anyway, and with no subscription it skips the workflow's channel too. */
bool events_wanted(const char *type);

/* Publishes type/data on channel; takes ownership of data (may be NULL → {}). */
void events_publish(const char *channel, const char *type, const char *execution_id, json_t *data);

/* Convenience: the same event on "workflow:<slug>" and, when execution_id is set, on
 * "execution:<id>" (as the reference does for engine events). */
void events_publish_workflow(const char *slug, const char *type, const char *execution_id, json_t *data);

/* A child execution's node_status data (borrowed), sent to its top-level execution's
 * channels as child_node_status (inventory 4.3) with child_execution_id, parent_node_id
 * (the top-level node the child descends from) and is_child_event, so that one
 * subscription follows a run with all its subworkflows. */
void events_forward_child_status(const char *root_slug, const char *root_execution_id, const char *root_node_id,
                                 const char *child_execution_id, json_t *data);
