/* The daemon's state: event loop, configuration, database, HTTP server, broker and
 * execution engine. One per process, created by main and handed to every request
 * (HttpRequest.manager). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "common/conf.h"
#include "store/db.h"

typedef struct Broker Broker;
typedef struct BusObjects BusObjects;
typedef struct BusPolkitQuery BusPolkitQuery;
typedef struct Engine Engine;
typedef struct Server Server;
typedef struct Vault Vault;
typedef struct WorkPool WorkPool;
typedef struct WorkerPool WorkerPool;

/* Reads the configuration as the start did (file, drop-ins, environment, command line) into
 * c, which config_init() prepared; on failure sets *ret_error. userdata: what main gave. */
typedef int (*ConfigLoader)(Config *c, const void *userdata, char **ret_error);

typedef struct Manager {
        sd_event *event;
        Config config;
        Db *db;
        Server *server;
        Broker *broker;
        Engine *engine;
        WorkerPool *workers;    /* dedicated workers of workflows (worker-pool.h) */
        Vault *vault;           /* the secret key: read-only once loaded, any thread may use it */
        WorkPool *work_pool;    /* blocking calls of request handlers (credential checks) */
        sd_bus *bus;            /* the system bus (src/bus/), NULL when off or unreachable */
        sd_bus_track *bus_subscribers;  /* callers of Subscribe(): they get the signals */
        BusPolkitQuery *polkit_queries; /* questions to polkit, open or answered (bus-polkit.c) */
        BusObjects *bus_objects;        /* the workflow and execution objects (bus-objects.c) */
        ConfigLoader config_loader;     /* for Reload() and SIGHUP; NULL: nothing to reload */
        const void *config_loader_userdata;
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

/* Reads the configuration again (Reload(), SIGHUP) and applies what can change while the
 * daemon runs (manager-reload.c). *ret_report (may be NULL) gets {"changed": [...],
 * "restart_needed": [...]}: settings now in effect, and settings that differ from the file
 * but keep their old value until a restart. A configuration that does not load changes
 * nothing: -EINVAL (or another errno) with *ret_error saying why. Logs the outcome. */
int manager_reload(Manager *m, json_t **ret_report, char **ret_error);
