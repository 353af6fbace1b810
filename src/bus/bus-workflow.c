/* org.pipelit.Pipelit1.Workflow: one object per workflow at
 * /org/pipelit/Pipelit1/workflow/<slug, path-encoded>. Its properties are read from the
 * database when asked; Run, Export, Activate and Deactivate act on it as the Manager's
 * methods do (bus-actions.c). */

#include <errno.h>
#include <stdlib.h>

#include "bus/bus-actions.h"
#include "bus/bus-objects-internal.h"
#include "bus/bus-polkit.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "daemon/worker-pool.h"
#include "engine/events.h"
#include "store/store-workflows.h"

static const StoreCaller bus_reader = { .user_id = 0, .is_admin = true };

static int append_slug(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", ((const WorkflowSummary *) state)->slug);
}

static int append_name(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", ((const WorkflowSummary *) state)->name);
}

static int append_description(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", ((const WorkflowSummary *) state)->description);
}

static int append_active(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "b", (int) ((const WorkflowSummary *) state)->active);
}

static int append_owner(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", ((const WorkflowSummary *) state)->owner);
}

static int append_node_count(sd_bus_message *m, const void *state) {
        int64_t n = ((const WorkflowSummary *) state)->node_count;

        return sd_bus_message_append(m, "u", (uint32_t) MIN(MAX(n, (int64_t) 0), (int64_t) UINT32_MAX));
}

static int append_last_execution(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", ((const WorkflowSummary *) state)->last_execution);
}

static int append_updated_at(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "t", (uint64_t) ((const WorkflowSummary *) state)->updated_at);
}

/* Workflows are not kept here to compare with: every change is sent as it is now. */
static bool never_equal(const void *a, const void *b) {
        return false;
}

static const BusProperty workflow_properties[] = {
        { "Slug", "s", append_slug, NULL },
        { "Name", "s", append_name, never_equal },
        { "Description", "s", append_description, never_equal },
        { "Active", "b", append_active, never_equal },
        { "Owner", "s", append_owner, NULL },
        { "NodeCount", "u", append_node_count, never_equal },
        { "LastExecution", "s", append_last_execution, never_equal },
        { "UpdatedAt", "t", append_updated_at, never_equal },
};

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;

        return bus_property_append(workflow_properties, ELEMENTSOF(workflow_properties), reply, property,
                                   &o->workflow);
}

int bus_workflow_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                      sd_bus_error *error) {
        _cleanup_free_ char *slug = NULL;
        BusObjects *o = userdata;
        WorkflowSummary s;
        int r;

        r = sd_bus_path_decode(path, BUS_WORKFLOW_PREFIX, &slug);
        if (r <= 0)
                return r;
        if (!workflow_slug_is_valid(slug))
                return 0;
        r = store_workflow_summary(o->manager->db, slug, &s);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        workflow_summary_done(&o->workflow);
        o->workflow = s;
        *ret_found = o;
        return 1;
}

int bus_workflow_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                           sd_bus_error *error) {
        _cleanup_(store_strv_freep) char **slugs = NULL;
        BusObjects *o = userdata;
        int r;

        r = store_workflow_slugs(o->manager->db, &slugs);
        if (r < 0)
                return r;
        /* Each slug becomes its path in place. */
        for (char **s = slugs; *s; s++) {
                char *path;

                r = sd_bus_path_encode(BUS_WORKFLOW_PREFIX, *s, &path);
                if (r < 0)
                        return r;
                free(*s);
                *s = path;
        }
        *ret_nodes = TAKE_PTR(slugs);
        return 0;
}

void bus_workflow_changed(BusObjects *o, const char *slug, const char *const *names) {
        _cleanup_(workflow_summary_done) WorkflowSummary s = {};
        _cleanup_free_ char *path = NULL;
        int r;

        r = store_workflow_summary(o->manager->db, slug, &s);
        if (r == -ENOENT)
                return;
        if (r >= 0)
                r = sd_bus_path_encode(BUS_WORKFLOW_PREFIX, slug, &path);
        if (r >= 0)
                r = bus_emit_properties_changed(o->bus, path, BUS_WORKFLOW_INTERFACE, workflow_properties,
                                                ELEMENTSOF(workflow_properties), NULL, &s, names);
        if (r < 0)
                log_debug_errno(r, "Cannot tell of the changes of workflow '%s' on the bus: %m", slug);
}

static int method_run(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;
        _cleanup_free_ char *slug = strdup(o->workflow.slug);
        const char *request;
        int r;

        if (!slug)
                return -ENOMEM;
        r = sd_bus_message_read(message, "s", &request);
        if (r < 0)
                return r;
        return bus_run_workflow(o->manager, message, slug, request, error);
}

static int method_export(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;
        json_t *doc = NULL;
        int64_t id;
        int r;

        r = store_workflow_find(o->manager->db, &bus_reader, o->workflow.slug, &id);
        if (r >= 0)
                r = store_workflow_export(o->manager->db, id, &doc);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.",
                                         o->workflow.slug);
        if (r < 0)
                return r;
        return bus_reply_json(message, doc);
}

/* Activate() and Deactivate(): as PATCH {"is_active": …} of the REST API, announced the same
 * way (workflow_updated), which brings PropertiesChanged. */
static int set_active(sd_bus_message *message, BusObjects *o, bool active, sd_bus_error *error) {
        _cleanup_json_ json_t *patch = NULL;
        _cleanup_free_ char *slug = NULL;
        json_t *workflow = NULL;
        int64_t id;
        int r;

        r = bus_authorize(o->manager, message, BUS_ACTION_MANAGE_WORKFLOWS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (o->workflow.active == active)
                return sd_bus_reply_method_return(message, NULL);

        slug = strdup(o->workflow.slug);
        patch = json_pack("{s:b}", "is_active", active);
        if (!slug || !patch)
                return -ENOMEM;
        r = store_workflow_find(o->manager->db, &bus_reader, slug, &id);
        if (r >= 0)
                r = store_workflow_update(o->manager->db, id, patch, &workflow);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        if (r < 0)
                return r;
        log_info("Workflow '%s' %s by %s over D-Bus.", slug, active ? "activated" : "deactivated",
                 sd_bus_message_get_sender(message) ?: "?");
        worker_pool_workflows_changed(o->manager->workers);
        events_publish_workflow(slug, "workflow_updated", NULL, workflow);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_activate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return set_active(message, userdata, true, error);
}

static int method_deactivate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return set_active(message, userdata, false, error);
}

const sd_bus_vtable bus_workflow_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Slug", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Description", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Active", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Owner", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NodeCount", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastExecution", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UpdatedAt", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Run", SD_BUS_ARGS("s", request_json), SD_BUS_RESULT("s", execution_id), method_run,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Export", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", document_json), method_export,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Activate", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_activate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Deactivate", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_deactivate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
