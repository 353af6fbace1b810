/* The D-Bus service org.pipelit.Pipelit1 (docs/dbus.md): the Manager object on the system
 * bus, attached to the daemon's sd-event loop, and its signals fed from the engine's
 * events. */
#pragma once

#include <stddef.h>

typedef struct Manager Manager;

/* Connects to the system bus, publishes the Manager and asks for the name, unless [Bus]
 * Enabled=no. No reachable bus is not an error: it logs a warning and returns 0 with
 * m->bus unset. */
int bus_start(Manager *m);
/* Flushes and drops the connection; fine when none was made. */
void bus_stop(Manager *m);

/* A broker message (events.h envelope) on channel: execution and node events of the
 * "workflow:<slug>" channels become the Manager's signals. userdata is the Manager. */
void bus_broker_message(const char *channel, const char *message, size_t len, void *userdata);
