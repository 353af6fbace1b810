/* A dedicated worker's link to pipelitd (the worker's side of worker-wire.h): it says hello
 * with its workflow, and from the welcome on takes the jobs pipelitd hands it and sends back
 * the jobs its commits enqueue, the events it publishes and the executions it cancels. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "broker/broker.h"
#include "engine/engine.h"

typedef struct Upstream Upstream;

/* The welcome came: what to run with (pipelitd's settings). Returns negative errno to give up. */
typedef int (*UpstreamWelcomeFunc)(Upstream *u, json_t *welcome, void *userdata);

/* Connects to pipelitd's worker socket at path and says hello for slug. The loop exits (with
 * status 0) when pipelitd closes the link, with 1 when it refused the worker or the welcome
 * could not be followed. */
int upstream_connect(sd_event *event, const char *path, const char *slug, UpstreamWelcomeFunc on_welcome,
                     void *userdata, Upstream **ret);
Upstream *upstream_free(Upstream *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(Upstream *, upstream_free);

/* Wires the worker's broker and engine to the link: their jobs, events and cancels go to
 * pipelitd; the jobs pipelitd sends go into broker. */
void upstream_attach(Upstream *u, Broker *broker, Engine *engine);
