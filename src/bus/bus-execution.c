/* org.pipelit.Pipelit1.Execution: one object per live execution at
 * /org/pipelit/Pipelit1/execution/<id, path-encoded>, kept BUS_EXECUTION_LINGER_USEC after
 * the execution ends. Its properties are read from the database when asked.
 *
 * While someone is subscribed, each event of an execution reads it again and tells what
 * changed since the last time: InterfacesAdded when it starts, PropertiesChanged after. What
 * was told is kept per execution until its object goes, with InterfacesRemoved. Executions
 * that end are kept (without what was told) whoever listens, so that the node enumerator can
 * list them cheaply while they linger. */

#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus-actions.h"
#include "bus/bus-objects-internal.h"
#include "common/log.h"
#include "daemon/manager.h"

/* The linger timer may fire this much late: objects go in batches. */
#define LINGER_ACCURACY_USEC (UINT64_C(1000000))

struct ExecutionObject {
        char id[EXECUTION_ID_LEN + 1];  /* first: the tree compares objects as their ids */
        ExecutionSummary told;          /* what the subscribers were told last */
        bool announced;                 /* told at all (told is valid) */
        usec_t gone_at;                 /* CLOCK_MONOTONIC: when the object goes; 0 while live */
        ExecutionObject *prev, *next;
};

/* --- Properties ------------------------------------------------------------------------ */

#define SUMMARY(state) ((const ExecutionSummary *) (state))

static int append_id(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", SUMMARY(state)->id);
}

static int append_workflow(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", SUMMARY(state)->workflow_slug);
}

static bool equal_workflow(const void *a, const void *b) {
        return streq(SUMMARY(a)->workflow_slug, SUMMARY(b)->workflow_slug);
}

static int append_workflow_path(sd_bus_message *m, const void *state) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(BUS_WORKFLOW_PREFIX, SUMMARY(state)->workflow_slug, &path);
        if (r < 0)
                return r;
        return sd_bus_message_append(m, "o", path);
}

static int append_status(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "s", execution_status_to_string(SUMMARY(state)->status));
}

static bool equal_status(const void *a, const void *b) {
        return SUMMARY(a)->status == SUMMARY(b)->status;
}

static int append_started_at(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "t", (uint64_t) SUMMARY(state)->started_at);
}

static bool equal_started_at(const void *a, const void *b) {
        return SUMMARY(a)->started_at == SUMMARY(b)->started_at;
}

static int append_current_nodes(sd_bus_message *m, const void *state) {
        return sd_bus_message_append_strv(m, SUMMARY(state)->current_nodes);
}

static bool equal_current_nodes(const void *a, const void *b) {
        char **x = SUMMARY(a)->current_nodes, **y = SUMMARY(b)->current_nodes;

        for (; x && *x && y && *y; x++, y++)
                if (!streq(*x, *y))
                        return false;
        return !(x && *x) && !(y && *y);
}

static int append_llm_calls(sd_bus_message *m, const void *state) {
        int64_t n = SUMMARY(state)->usage.llm_calls;

        return sd_bus_message_append(m, "u", (uint32_t) MIN(MAX(n, (int64_t) 0), (int64_t) UINT32_MAX));
}

static bool equal_llm_calls(const void *a, const void *b) {
        return SUMMARY(a)->usage.llm_calls == SUMMARY(b)->usage.llm_calls;
}

static int append_total_tokens(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "t", (uint64_t) MAX(SUMMARY(state)->usage.tokens, (int64_t) 0));
}

static bool equal_total_tokens(const void *a, const void *b) {
        return SUMMARY(a)->usage.tokens == SUMMARY(b)->usage.tokens;
}

static int append_cost_usd(sd_bus_message *m, const void *state) {
        return sd_bus_message_append(m, "d", SUMMARY(state)->usage.cost_usd);
}

static bool equal_cost_usd(const void *a, const void *b) {
        return SUMMARY(a)->usage.cost_usd == SUMMARY(b)->usage.cost_usd;
}

static const BusProperty execution_properties[] = {
        { "Id", "s", append_id, NULL },
        { "Workflow", "s", append_workflow, equal_workflow },
        { "WorkflowPath", "o", append_workflow_path, equal_workflow },
        { "Status", "s", append_status, equal_status },
        { "StartedAt", "t", append_started_at, equal_started_at },
        { "CurrentNodes", "as", append_current_nodes, equal_current_nodes },
        { "LlmCalls", "u", append_llm_calls, equal_llm_calls },
        { "TotalTokens", "t", append_total_tokens, equal_total_tokens },
        { "CostUsd", "d", append_cost_usd, equal_cost_usd },
};

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;

        return bus_property_append(execution_properties, ELEMENTSOF(execution_properties), reply, property,
                                   &o->execution);
}

bool bus_execution_has_object(const ExecutionSummary *s) {
        if (execution_status_is_live(s->status))
                return true;
        return s->completed_at > 0 && s->completed_at + BUS_EXECUTION_LINGER_USEC > now_realtime_usec();
}

int bus_execution_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                       sd_bus_error *error) {
        _cleanup_(execution_summary_done) ExecutionSummary s = {};
        _cleanup_free_ char *id = NULL;
        BusObjects *o = userdata;
        int r;

        r = sd_bus_path_decode(path, BUS_EXECUTION_PREFIX, &id);
        if (r <= 0)
                return r;
        r = store_execution_summary(o->manager->db, id, &s);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!bus_execution_has_object(&s))
                return 0;
        execution_summary_done(&o->execution);
        o->execution = s;
        s = (ExecutionSummary) {};
        *ret_found = o;
        return 1;
}

/* --- The executions known here ------------------------------------------------------------- */

static int compare_ids(const void *a, const void *b) {
        return strcmp(a, b);
}

static ExecutionObject *object_get(BusObjects *o, const char *id) {
        void *node = tfind(id, &o->executions_by_id, compare_ids);

        return node ? *(ExecutionObject **) node : NULL;
}

static int object_new(BusObjects *o, const char *id, ExecutionObject **ret) {
        ExecutionObject *e;

        if (!execution_id_is_valid(id))
                return -EINVAL;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        memcpy(e->id, id, EXECUTION_ID_LEN + 1);
        if (!tsearch(e, &o->executions_by_id, compare_ids)) {
                free(e);
                return -ENOMEM;
        }
        e->next = o->executions;
        if (e->next)
                e->next->prev = e;
        o->executions = e;
        *ret = e;
        return 0;
}

static void object_free(BusObjects *o, ExecutionObject *e) {
        (void) tdelete(e->id, &o->executions_by_id, compare_ids);
        if (e->prev)
                e->prev->next = e->next;
        else
                o->executions = e->next;
        if (e->next)
                e->next->prev = e->prev;
        execution_summary_done(&e->told);
        free(e);
}

/* The object goes: subscribers who were told of it hear so. */
static void object_remove(BusObjects *o, ExecutionObject *e, bool subscribed) {
        _cleanup_free_ char *path = NULL;
        int r = 0;

        if (e->announced && subscribed) {
                r = sd_bus_path_encode(BUS_EXECUTION_PREFIX, e->id, &path);
                if (r >= 0)
                        r = bus_emit_interfaces_removed(o->bus, path, BUS_EXECUTION_INTERFACE);
        }
        if (r < 0)
                log_debug_errno(r, "Cannot tell that the object of execution %s went: %m", e->id);
        object_free(o, e);
}

static int on_linger_over(sd_event_source *s, uint64_t usec, void *userdata) {
        BusObjects *o = userdata;
        bool subscribed = o->manager->bus_subscribers;
        usec_t now = now_monotonic_usec(), next = 0;

        for (ExecutionObject *e = o->executions, *after; e; e = after) {
                after = e->next;
                if (e->gone_at == 0)
                        continue;
                if (e->gone_at <= now)
                        object_remove(o, e, subscribed);
                else if (next == 0 || e->gone_at < next)
                        next = e->gone_at;
        }
        if (next == 0)
                return 0;
        (void) sd_event_source_set_time(s, next);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Its object lingers a while after the execution's end. */
static void object_ended(BusObjects *o, ExecutionObject *e) {
        int enabled = SD_EVENT_OFF, r;

        if (e->gone_at)
                return;
        e->gone_at = now_monotonic_usec() + BUS_EXECUTION_LINGER_USEC;
        /* Every end lingers as long: a timer already set is due before this one. */
        if (o->linger_timer && sd_event_source_get_enabled(o->linger_timer, &enabled) >= 0 &&
            enabled != SD_EVENT_OFF)
                return;
        if (!o->linger_timer)
                r = sd_event_add_time(o->manager->event, &o->linger_timer, CLOCK_MONOTONIC, e->gone_at,
                                      LINGER_ACCURACY_USEC, on_linger_over, o);
        else {
                r = sd_event_source_set_time(o->linger_timer, e->gone_at);
                if (r >= 0)
                        r = sd_event_source_set_enabled(o->linger_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Cannot set the timer of ended executions' D-Bus objects: %m");
}

void bus_execution_ended(BusObjects *o, const char *id) {
        ExecutionObject *e = object_get(o, id);

        if (!e && object_new(o, id, &e) < 0)
                return;
        object_ended(o, e);
}

void bus_execution_event(BusObjects *o, const char *id, const char *type) {
        _cleanup_(execution_summary_done) ExecutionSummary now = {};
        _cleanup_free_ char *path = NULL;
        ExecutionObject *e = object_get(o, id);
        int r;

        r = store_execution_summary(o->manager->db, id, &now);
        if (r == -ENOENT) {
                if (e)
                        object_remove(o, e, true);
                return;
        }
        if (r >= 0 && !e)
                r = object_new(o, id, &e);
        if (r >= 0)
                r = sd_bus_path_encode(BUS_EXECUTION_PREFIX, id, &path);
        if (r >= 0) {
                if (!e->announced && streq(type, "execution_started"))
                        r = bus_emit_interfaces_added(o->bus, path, BUS_EXECUTION_INTERFACE, execution_properties,
                                                      ELEMENTSOF(execution_properties), &now);
                else
                        r = bus_emit_properties_changed(o->bus, path, BUS_EXECUTION_INTERFACE,
                                                        execution_properties, ELEMENTSOF(execution_properties),
                                                        e->announced ? &e->told : NULL, &now, NULL);
        }
        if (r < 0) {
                log_debug_errno(r, "Cannot tell of execution %s on the bus: %m", id);
                return;
        }

        execution_summary_done(&e->told);
        e->told = now;
        now = (ExecutionSummary) {};
        e->announced = true;
        if (!execution_status_is_live(e->told.status))
                object_ended(o, e);
}

void bus_executions_forget_live(BusObjects *o) {
        for (ExecutionObject *e = o->executions, *after; e; e = after) {
                after = e->next;
                if (e->gone_at == 0)
                        object_free(o, e);
        }
}

void bus_executions_forget_workflow(BusObjects *o, const char *slug) {
        for (ExecutionObject *e = o->executions, *after; e; e = after) {
                after = e->next;
                if (e->announced && streq_ptr(e->told.workflow_slug, slug))
                        object_remove(o, e, true);
        }
}

void bus_executions_free(BusObjects *o) {
        while (o->executions)
                object_free(o, o->executions);
        o->linger_timer = sd_event_source_disable_unref(o->linger_timer);
}

int bus_execution_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error) {
        _cleanup_(store_strv_freep) char **ids = NULL, **paths = NULL;
        BusObjects *o = userdata;
        usec_t now = now_monotonic_usec();
        size_t n = 0, k = 0;
        int r;

        r = store_executions_live_ids(o->manager->db, &ids);
        if (r < 0)
                return r;
        while (ids[n])
                n++;
        for (ExecutionObject *e = o->executions; e; e = e->next)
                n += e->gone_at > now;

        paths = calloc(n + 1, sizeof *paths);
        if (!paths)
                return -ENOMEM;
        for (char **id = ids; *id; id++) {
                r = sd_bus_path_encode(BUS_EXECUTION_PREFIX, *id, &paths[k++]);
                if (r < 0)
                        return r;
        }
        for (ExecutionObject *e = o->executions; e && k < n; e = e->next)
                if (e->gone_at > now) {
                        r = sd_bus_path_encode(BUS_EXECUTION_PREFIX, e->id, &paths[k++]);
                        if (r < 0)
                                return r;
                }
        *ret_nodes = TAKE_PTR(paths);
        return 0;
}

/* --- Methods ------------------------------------------------------------------------------- */

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;
        char id[EXECUTION_ID_LEN + 1];

        memcpy(id, o->execution.id, sizeof id);
        return bus_cancel_execution(o->manager, message, id, error);
}

static int method_resume(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;
        char id[EXECUTION_ID_LEN + 1];
        const char *input;
        int r;

        memcpy(id, o->execution.id, sizeof id);
        r = sd_bus_message_read(message, "s", &input);
        if (r < 0)
                return r;
        return bus_resume_execution(o->manager, message, id, input, error);
}

const sd_bus_vtable bus_execution_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Workflow", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WorkflowPath", "o", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Status", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartedAt", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CurrentNodes", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LlmCalls", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TotalTokens", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CostUsd", "d", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Resume", SD_BUS_ARGS("s", input_json), SD_BUS_RESULT("s", answer_json),
                                method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
