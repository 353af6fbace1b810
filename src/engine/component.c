/* The component table and the helpers components use to report their result. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "engine/budget.h"
#include "engine/component.h"
#include "engine/components/registry.h"
#include "engine/events.h"

const Component *component_find(const char *component_type) {
        if (!component_type)
                return NULL;
        for (const Component *c = components; c->component_type; c++)
                if (streq(c->component_type, component_type))
                        return c->run ? c : NULL;
        return NULL;
}

int node_run_fail(NodeRun *run, const char *error_code, const char *format, ...) {
        char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);

        free(run->error);
        run->error = message ?: strdup("out of memory");
        free(run->error_code);
        run->error_code = error_code ? strdup(error_code) : NULL;
        return -EINVAL;
}

int node_run_output(NodeRun *run, const char *port, json_t *value) {
        if (!value)
                return -ENOMEM;
        if (!run->output) {
                run->output = json_object();
                if (!run->output) {
                        json_decref(value);
                        return -ENOMEM;
                }
        }
        /* json_object_set_new() takes value, on failure too. */
        return json_object_set_new(run->output, port, value) < 0 ? -ENOMEM : 0;
}

int node_run_add_child(NodeRun *run, int64_t workflow_id, const char *workflow_slug, const char *trigger_node_id,
                       json_t *payload) {
        ChildRequest *children, *c;

        if (!payload)
                return -ENOMEM;
        children = reallocarray(run->await_children, run->n_await_children + 1, sizeof(ChildRequest));
        if (!children) {
                json_decref(payload);
                return -ENOMEM;
        }
        run->await_children = children;
        c = &children[run->n_await_children];
        *c = (ChildRequest) {
                .workflow_id = workflow_id,
                .workflow_slug = strdup(workflow_slug),
                .trigger_node_id = trigger_node_id ? strdup(trigger_node_id) : NULL,
                .payload = payload,
        };
        run->n_await_children++;
        if (!c->workflow_slug || (trigger_node_id && !c->trigger_node_id))
                return -ENOMEM;
        return 0;
}

void node_run_await_children(NodeRun *run, json_t *state) {
        json_decref(run->await_state);
        run->await_state = state;
}

static void await_children_free(NodeRun *run) {
        for (size_t i = 0; i < run->n_await_children; i++) {
                free(run->await_children[i].workflow_slug);
                free(run->await_children[i].trigger_node_id);
                json_decref(run->await_children[i].payload);
        }
        free(run->await_children);
        run->await_children = NULL;
        run->n_await_children = 0;
        json_decref(run->await_state);
        run->await_state = NULL;
}

bool node_run_should_stop(const NodeRun *run) {
        if (run->cancelled && *run->cancelled)
                return true;
        return run->deadline > 0 && now_monotonic_usec() >= run->deadline;
}

void node_run_publish_status(const NodeRun *run, json_t *data) {
        if (!data)
                return;
        if (run->root_execution_id)
                events_forward_child_status(run->root_workflow_slug, run->root_execution_id, run->root_node_id,
                                            run->execution_id, data);
        events_publish_workflow(run->workflow_slug, "node_status", run->execution_id, data);
}

void node_run_done(NodeRun *run) {
        if (!run)
                return;
        json_decref(run->output);
        run->output = NULL;
        free(run->route);
        run->route = NULL;
        free(run->error);
        run->error = NULL;
        free(run->error_code);
        run->error_code = NULL;
        json_decref(run->loop_items);
        run->loop_items = NULL;
        run->delay_usec = 0;
        await_children_free(run);
        run->ledger_at_commit = budget_ledger_entry_free(run->ledger_at_commit);
}

void node_run_taking_long(NodeRun *run) {
        void (*claim)(NodeRun *run) = run->claim_late;

        run->claim_late = NULL;
        if (claim)
                claim(run);
}

void node_run_suspend(NodeRun *run, void *state, void (*cancel)(void *state), void (*free_state)(void *state)) {
        run->suspended_state = state;
        run->suspended_cancel = cancel;
        run->suspended_free = free_state;
}
