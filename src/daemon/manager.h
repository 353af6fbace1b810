/* The daemon's state: event loop, configuration, database, HTTP server, broker and
 * execution engine. One per process, created by main and handed to every request
 * (HttpRequest.manager). */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "common/conf.h"
#include "store/db.h"

typedef struct Broker Broker;
typedef struct Engine Engine;
typedef struct Server Server;
typedef struct Vault Vault;
typedef struct WorkPool WorkPool;

typedef struct Manager {
        sd_event *event;
        Config config;
        Db *db;
        Server *server;
        Broker *broker;
        Engine *engine;
        Vault *vault;           /* the secret key: read-only once loaded, any thread may use it */
        WorkPool *work_pool;    /* blocking calls of request handlers (credential checks) */
        sd_bus *bus;            /* the system bus (src/bus/), NULL when off or unreachable */
        sd_bus_track *bus_subscribers;  /* callers of Subscribe(): they get the signals */
        bool socket_activated;
        bool stopping;
        bool forced;     /* the grace period after SIGTERM ran out */
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Opens and migrates the database named by the configuration. */
int manager_open_database(Manager *m);
/* Binds or adopts listeners, then runs until SIGTERM/SIGINT; returns the exit status. */
int manager_run(Manager *m);
