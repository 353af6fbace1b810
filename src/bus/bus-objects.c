/* The workflow and execution objects (bus-objects.h): publishing them, the signals made
 * from their property tables, which engine events concern which object, and the Manager's
 * GetWorkflowPath() and GetExecutionPath(). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus-objects-internal.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "store/store-workflows.h"

#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"

static const BusProperty *property_find(const BusProperty *table, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(table[i].name, name))
                        return &table[i];
        return NULL;
}

int bus_property_append(const BusProperty *table, size_t n, sd_bus_message *m, const char *name,
                        const void *state) {
        const BusProperty *p = property_find(table, n, name);

        return p ? p->append(m, state) : -ENOENT;
}

static bool name_listed(const char *const *names, const char *name) {
        if (!names)
                return true;
        for (; *names; names++)
                if (streq(*names, name))
                        return true;
        return false;
}

/* {name: variant} of one property. */
static int append_entry(sd_bus_message *m, const BusProperty *p, const void *state) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", p->name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', p->signature);
        if (r >= 0)
                r = p->append(m, state);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int bus_emit_properties_changed(sd_bus *bus, const char *path, const char *interface, const BusProperty *table,
                                size_t n, const void *before, const void *state, const char *const *names) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        unsigned changed = 0;
        int r;

        r = sd_bus_message_new_signal(bus, &m, path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", interface);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const BusProperty *p = &table[i];

                if (!p->equal || !name_listed(names, p->name) || (before && p->equal(before, state)))
                        continue;
                r = append_entry(m, p, state);
                if (r < 0)
                        return r;
                changed++;
        }
        if (changed == 0)
                return 0;
        r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r < 0)
                return r;
        return sd_bus_send(bus, m, NULL);
}

int bus_emit_interfaces_added(sd_bus *bus, const char *path, const char *interface, const BusProperty *table,
                              size_t n, const void *state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &m, BUS_MANAGER_PATH, OBJECT_MANAGER_INTERFACE, "InterfacesAdded");
        if (r >= 0)
                r = sd_bus_message_append(m, "o", path);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", interface);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_entry(m, &table[i], state);
        for (unsigned level = 0; r >= 0 && level < 3; level++)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_send(bus, m, NULL);
}

int bus_emit_interfaces_removed(sd_bus *bus, const char *path, const char *interface) {
        return sd_bus_emit_signal(bus, BUS_MANAGER_PATH, OBJECT_MANAGER_INTERFACE, "InterfacesRemoved", "oas", path,
                                  1, interface);
}

int bus_objects_start(Manager *m, sd_bus *bus) {
        BusObjects *o;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return log_error_errno(-ENOMEM, "Cannot publish the D-Bus workflow and execution objects: %m");
        o->manager = m;
        o->bus = bus;
        m->bus_objects = o;

        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_WORKFLOW_PREFIX, BUS_WORKFLOW_INTERFACE, bus_workflow_vtable,
                                       bus_workflow_find, o);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, BUS_WORKFLOW_PREFIX, bus_workflow_enumerate, o);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(bus, NULL, BUS_EXECUTION_PREFIX, BUS_EXECUTION_INTERFACE,
                                               bus_execution_vtable, bus_execution_find, o);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, BUS_EXECUTION_PREFIX, bus_execution_enumerate, o);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, BUS_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot publish the D-Bus workflow and execution objects: %m");
        return 0;
}

void bus_objects_stop(Manager *m) {
        BusObjects *o = m ? m->bus_objects : NULL;

        if (!o)
                return;
        bus_executions_free(o);
        workflow_summary_done(&o->workflow);
        execution_summary_done(&o->execution);
        free(o);
        m->bus_objects = NULL;
}

void bus_objects_unsubscribed(Manager *m) {
        if (m && m->bus_objects)
                bus_executions_forget_live(m->bus_objects);
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Events that may change what an execution's properties say. */
static bool execution_event(const char *type) {
        return startswith(type, "execution_") || streq(type, "node_status") || streq(type, "child_node_status");
}

/* Edits of a workflow's graph: its NodeCount and UpdatedAt. */
static bool graph_event(const char *type) {
        return startswith(type, "node_") || startswith(type, "edge_");
}

void bus_objects_event(Manager *m, const char *slug, json_t *event) {
        static const char *const last_execution[] = { "LastExecution", NULL };
        BusObjects *o = m->bus_objects;
        const char *type = json_get_string(event, "type", ""), *id = json_get_string(event, "execution_id", NULL);

        if (!o)
                return;
        /* node_status of a node has an execution; node_created of the editor has none. */
        if (id && execution_event(type))
                bus_execution_event(o, id, type);

        if (streq(type, "workflow_updated"))
                /* On the channel of the slug it had: the data has the one it has now. */
                bus_workflow_changed(o, json_get_string(json_object_get(event, "data"), "slug", slug), NULL);
        else if (streq(type, "workflow_deleted"))
                bus_executions_forget_workflow(o, slug);
        else if (streq(type, "execution_started"))
                bus_workflow_changed(o, slug, last_execution);
        else if (!id && graph_event(type))
                bus_workflow_changed(o, slug, NULL);
}

void bus_objects_execution_ended(Manager *m, const char *id) {
        if (m->bus_objects)
                bus_execution_ended(m->bus_objects, id);
}

int bus_method_get_workflow_path(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const StoreCaller reader = { .is_admin = true };
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        const char *slug;
        int r;

        r = sd_bus_message_read(message, "s", &slug);
        if (r < 0)
                return r;
        r = store_workflow_find(m->db, &reader, slug, NULL);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        if (r < 0)
                return r;
        r = sd_bus_path_encode(BUS_WORKFLOW_PREFIX, slug, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

int bus_method_get_execution_path(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(execution_summary_done) ExecutionSummary s = {};
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        r = store_execution_summary(m->db, id, &s);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", id);
        if (r < 0)
                return r;
        if (!bus_execution_has_object(&s))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION,
                                         "Execution %s has ended: it has no object any more (GetExecution() has "
                                         "its record).", id);
        r = sd_bus_path_encode(BUS_EXECUTION_PREFIX, id, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}
