/* What bus-objects.c, bus-workflow.c and bus-execution.c share: the objects' state and
 * properties as tables, from which both the getters and the signals are made. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus/bus-objects.h"
#include "store/store-summaries.h"

typedef struct ExecutionObject ExecutionObject;

typedef struct BusObjects {
        Manager *manager;
        sd_bus *bus;
        /* What the last find callback read: the object of the call at hand. sd-bus runs the
         * find callback and then that call's getters or method handler in one go. */
        WorkflowSummary workflow;
        ExecutionSummary execution;
        /* Executions known here (bus-execution.c): those the subscribers were told about,
         * and those that ended less than BUS_EXECUTION_LINGER_USEC ago. */
        void *executions_by_id;         /* tsearch() tree */
        ExecutionObject *executions;    /* the same, as a list */
        sd_event_source *linger_timer;  /* at the first ended execution's time to go */
} BusObjects;

/* A property of an object: how its value is appended, and whether two states of the object
 * differ in it. */
typedef struct BusProperty {
        const char *name;
        const char *signature;
        int (*append)(sd_bus_message *m, const void *state);
        bool (*equal)(const void *a, const void *b);    /* NULL: never in PropertiesChanged */
} BusProperty;

/* The value of property name of state, as a getter appends it. */
int bus_property_append(const BusProperty *table, size_t n, sd_bus_message *m, const char *name,
                        const void *state);
/* PropertiesChanged on path with the properties that differ between before and state
 * (before NULL: every one that has equal), of those in names when names is not NULL.
 * 0 when none differ. */
int bus_emit_properties_changed(sd_bus *bus, const char *path, const char *interface, const BusProperty *table,
                                size_t n, const void *before, const void *state, const char *const *names);
/* The ObjectManager's InterfacesAdded for path, with every property of state. */
int bus_emit_interfaces_added(sd_bus *bus, const char *path, const char *interface, const BusProperty *table,
                              size_t n, const void *state);
int bus_emit_interfaces_removed(sd_bus *bus, const char *path, const char *interface);

/* bus-workflow.c; userdata: the BusObjects. */
extern const sd_bus_vtable bus_workflow_vtable[];
int bus_workflow_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                      sd_bus_error *error);
int bus_workflow_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error);
/* Tells the subscribers the properties (of names; NULL: all) of workflow slug as they are now. */
void bus_workflow_changed(BusObjects *o, const char *slug, const char *const *names);

/* bus-execution.c; userdata: the BusObjects. */
extern const sd_bus_vtable bus_execution_vtable[];
int bus_execution_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                       sd_bus_error *error);
int bus_execution_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error);
/* Whether the execution has an object: it is live, or ended less than the linger ago. */
bool bus_execution_has_object(const ExecutionSummary *s);
/* An event of execution id, told to the subscribers: its object appearing, its properties
 * changing. */
void bus_execution_event(BusObjects *o, const char *id, const char *type);
/* Execution id ended while nobody listened: its object lingers. */
void bus_execution_ended(BusObjects *o, const char *id);
/* Forgets the live executions (nobody is subscribed to hear of them any more). */
void bus_executions_forget_live(BusObjects *o);
/* The executions of a deleted workflow went with it. */
void bus_executions_forget_workflow(BusObjects *o, const char *slug);
void bus_executions_free(BusObjects *o);
