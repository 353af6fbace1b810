/* The workflow and execution objects of org.pipelit.Pipelit1 (docs/dbus.md), as systemd
 * has its units and jobs: one object per workflow at /org/pipelit/Pipelit1/workflow/<slug>
 * and one per live execution at /org/pipelit/Pipelit1/execution/<id>, kept
 * BUS_EXECUTION_LINGER_USEC after the execution ends so that a client still reads its final
 * state. Both are found through fallback vtables and node enumerators and listed by the
 * ObjectManager at /org/pipelit/Pipelit1. Their properties are read from the database on
 * each call.
 *
 * PropertiesChanged, InterfacesAdded and InterfacesRemoved follow the engine's events, and
 * like the Manager's signals go out only while some client is subscribed (Subscribe()). */
#pragma once

#include <jansson.h>
#include <systemd/sd-bus.h>

#include "bus/bus-util.h"

typedef struct Manager Manager;

#define BUS_WORKFLOW_PREFIX BUS_MANAGER_PATH "/workflow"
#define BUS_WORKFLOW_INTERFACE "org.pipelit.Pipelit1.Workflow"
#define BUS_EXECUTION_PREFIX BUS_MANAGER_PATH "/execution"
#define BUS_EXECUTION_INTERFACE "org.pipelit.Pipelit1.Execution"

/* How long an ended execution keeps its object. */
#define BUS_EXECUTION_LINGER_USEC (10 * UINT64_C(1000000))

/* Publishes the objects and the ObjectManager on bus; m->bus_objects gets their state. */
int bus_objects_start(Manager *m, sd_bus *bus);
/* Drops the state; fine when none. Before the connection closes. */
void bus_objects_stop(Manager *m);

/* An engine or API event (events.h envelope) of the channel "workflow:<slug>", while some
 * client is subscribed. */
void bus_objects_event(Manager *m, const char *slug, json_t *event);
/* Execution id ended while nobody is subscribed: its object lingers all the same. */
void bus_objects_execution_ended(Manager *m, const char *id);
/* The last subscriber left: forget what they were told about live executions. */
void bus_objects_unsubscribed(Manager *m);

/* The Manager's GetWorkflowPath(s slug) → o and GetExecutionPath(s id) → o. */
int bus_method_get_workflow_path(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_get_execution_path(sd_bus_message *message, void *userdata, sd_bus_error *error);
