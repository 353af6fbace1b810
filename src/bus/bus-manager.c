/* The connection to the system bus: published at start, attached to the daemon's sd-event
 * loop (so every call is answered on the I/O thread), and the engine's events turned into
 * the Manager's signals. */

#include <errno.h>
#include <string.h>

#include "bus/bus-manager-internal.h"
#include "bus/bus-manager.h"
#include "bus/bus-objects.h"
#include "bus/bus-polkit.h"
#include "bus/bus-util.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "engine/events.h"

#define WORKFLOW_CHANNEL_PREFIX "workflow:"
#define EXECUTION_CHANNEL_PREFIX "execution:"

static int on_name_requested(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                log_warning("Cannot own the D-Bus name " BUS_NAME " (%s): pipelitctl cannot reach this daemon.",
                            e->message ?: e->name);
                return 0;
        }
        log_info("Serving " BUS_NAME " on the system bus.");
        return 0;
}

int bus_start(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (!m->config.bus_enabled) {
                log_debug("D-Bus disabled by [Bus] Enabled=no.");
                return 0;
        }

        r = sd_bus_open_system_with_description(&bus, "pipelitd");
        if (r < 0) {
                log_warning_errno(r, "No system bus (%m): running without D-Bus, pipelitctl cannot reach this daemon.");
                return 0;
        }
        r = sd_bus_add_object_vtable(bus, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, bus_manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot publish the D-Bus Manager object: %m");
        r = bus_objects_start(m, bus);
        if (r < 0)
                return r;
        r = sd_bus_request_name_async(bus, NULL, BUS_NAME, 0, on_name_requested, m);
        if (r < 0)
                return log_error_errno(r, "Cannot request the D-Bus name " BUS_NAME ": %m");
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the D-Bus connection to the event loop: %m");

        m->bus = TAKE_PTR(bus);
        return 0;
}

static void subscribers_drop(Manager *m) {
        if (!m->bus_subscribers)
                return;
        m->bus_subscribers = sd_bus_track_unref(m->bus_subscribers);
        events_listeners_changed(-1);
        bus_objects_unsubscribed(m);
}

void bus_stop(Manager *m) {
        if (!m)
                return;
        bus_objects_stop(m);
        if (!m->bus)
                return;
        subscribers_drop(m);
        bus_polkit_queries_free(m);
        m->bus = sd_bus_flush_close_unref(m->bus);
}

/* The last subscriber unsubscribed or left the bus. */
static int on_subscribers_gone(sd_bus_track *track, void *userdata) {
        subscribers_drop(userdata);
        return 0;
}

int bus_subscribe(Manager *m, sd_bus_message *message) {
        int r;

        if (!m->bus_subscribers) {
                r = sd_bus_track_new(m->bus, &m->bus_subscribers, on_subscribers_gone, m);
                if (r < 0)
                        return r;
                /* Node events feed the NodeStatus signal: the engine builds them now. */
                events_listeners_changed(+1);
        }
        r = sd_bus_track_add_sender(m->bus_subscribers, message);
        if (r < 0 && sd_bus_track_count(m->bus_subscribers) == 0)
                subscribers_drop(m);
        return r;
}

int bus_unsubscribe(Manager *m, sd_bus_message *message) {
        if (!m->bus_subscribers)
                return 0;
        /* When it was the last one, on_subscribers_gone() follows. */
        return sd_bus_track_remove_sender(m->bus_subscribers, message);
}

/* An event that ends an execution, known by the start of its envelope (events.c writes
 * "type" first). */
static bool is_ending_event(const char *message, size_t len) {
        static const char *const ending[] = {
                "{\"type\":\"execution_completed\"",
                "{\"type\":\"execution_failed\"",
                "{\"type\":\"execution_cancelled\"",
        };

        for (size_t i = 0; i < ELEMENTSOF(ending); i++) {
                size_t n = strlen(ending[i]);

                if (len >= n && memcmp(message, ending[i], n) == 0)
                        return true;
        }
        return false;
}

static const char *finished_status(const char *type) {
        if (streq(type, "execution_completed"))
                return "completed";
        if (streq(type, "execution_failed"))
                return "failed";
        if (streq(type, "execution_cancelled"))
                return "cancelled";
        return NULL;
}

void bus_broker_message(const char *channel, const char *message, size_t len, void *userdata) {
        _cleanup_json_ json_t *event = NULL;
        const char *slug, *type, *id, *status;
        Manager *m = userdata;
        int r = 0;

        if (!m->bus)
                return;
        /* Like systemd's, the signals go out only while someone subscribed: at a thousand
         * runs a second they would flood the system bus for nobody. The ends of executions
         * count anyway, for their objects linger (bus-objects.h): the execution's own channel
         * names it without a parse. */
        if (!m->bus_subscribers) {
                if (strncmp(channel, EXECUTION_CHANNEL_PREFIX, strlen(EXECUTION_CHANNEL_PREFIX)) == 0 &&
                    is_ending_event(message, len))
                        bus_objects_execution_ended(m, channel + strlen(EXECUTION_CHANNEL_PREFIX));
                return;
        }

        /* Every engine event comes on the workflow's channel and again on the execution's:
         * the workflow's alone names both. */
        if (strncmp(channel, WORKFLOW_CHANNEL_PREFIX, strlen(WORKFLOW_CHANNEL_PREFIX)) != 0)
                return;
        slug = channel + strlen(WORKFLOW_CHANNEL_PREFIX);

        event = json_loadb(message, len, 0, NULL);
        bus_objects_event(m, slug, event);
        type = json_get_string(event, "type", "");
        id = json_get_string(event, "execution_id", NULL);
        if (!id)
                return;

        if (streq(type, "execution_started"))
                r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ExecutionStarted", "ss",
                                       id, slug);
        else if ((status = finished_status(type)))
                r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ExecutionFinished", "sss",
                                       id, slug, status);
        else if (streq(type, "node_status")) {
                json_t *data = json_object_get(event, "data");

                r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "NodeStatus", "sss", id,
                                       json_get_string(data, "node_id", ""), json_get_string(data, "status", ""));
        }
        if (r < 0)
                log_debug_errno(r, "Cannot emit the D-Bus signal for %s of %s: %m", type, id);
}
