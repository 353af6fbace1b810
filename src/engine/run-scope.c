/* Scope names, the runs that count in a scope, and the context built from them. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "engine/run-scope.h"

char *scope_child(const char *outer, const char *loop_id, unsigned index) {
        char *s;

        if (asprintf(&s, "%s%s%s:%u", outer ?: "", isempty(outer) ? "" : "/", loop_id, index) < 0)
                return NULL;
        return s;
}

int scope_parse(const char *scope, char **ret_outer, char **ret_loop_id, unsigned *ret_index) {
        const char *last, *colon;
        char *end, *outer, *loop_id;
        unsigned long index;

        if (isempty(scope))
                return -EINVAL;
        last = strrchr(scope, '/');
        last = last ? last + 1 : scope;
        colon = strrchr(last, ':');
        if (!colon || colon == last || colon[1] < '0' || colon[1] > '9')
                return -EINVAL;
        errno = 0;
        index = strtoul(colon + 1, &end, 10);
        if (*end || errno != 0 || index > UINT32_MAX)
                return -EINVAL;

        outer = strndup(scope, last == scope ? 0 : (size_t) (last - scope - 1));
        loop_id = strndup(last, (size_t) (colon - last));
        if (!outer || !loop_id) {
                free(outer);
                free(loop_id);
                return -ENOMEM;
        }
        *ret_outer = outer;
        *ret_loop_id = loop_id;
        *ret_index = (unsigned) index;
        return 0;
}

int scope_depth(const char *scope, const char *candidate) {
        size_t n = strlen(candidate);
        int depth = 0;

        scope = scope ?: "";
        if (n == 0) {
                /* The top level is around every scope: as deep as scope has segments. */
                if (!*scope)
                        return 0;
                depth = 1;
                for (const char *p = scope; *p; p++)
                        depth += *p == '/';
                return depth;
        }
        if (strncmp(scope, candidate, n) != 0 || (scope[n] != '\0' && scope[n] != '/'))
                return -1;
        for (const char *p = scope + n; *p; p++)
                depth += *p == '/';
        return depth;
}

char **scope_chain_free(char **chain) {
        for (char **c = chain; c && *c; c++)
                free(*c);
        free(chain);
        return NULL;
}

char **scope_chain(const char *scope) {
        size_t n = 1, k = 0;
        char **chain;

        scope = scope ?: "";
        for (const char *p = scope; *p; p++)
                n += *p == '/';
        if (*scope)
                n++;
        chain = calloc(n + 1, sizeof(char *));
        if (!chain)
                return NULL;

        /* Cut at each '/' from the end, then the top level. */
        for (size_t len = strlen(scope); *scope; ) {
                const char *slash;

                chain[k] = strndup(scope, len);
                if (!chain[k++])
                        return scope_chain_free(chain);
                slash = memrchr(scope, '/', len);
                if (!slash)
                        break;
                len = (size_t) (slash - scope);
        }
        chain[k] = strdup("");
        if (!chain[k])
                return scope_chain_free(chain);
        return chain;
}

void scope_select_rows(const NodeRunRow *rows, size_t n, const char *scope, bool *ret) {
        _cleanup_free_ size_t *selected = NULL;
        size_t n_selected = 0;

        /* The top level sees its own runs only, one per node. */
        if (isempty(scope)) {
                for (size_t i = 0; i < n; i++)
                        ret[i] = isempty(rows[i].iteration);
                return;
        }
        selected = malloc((n + 1) * sizeof(size_t));

        for (size_t i = 0; i < n; i++) {
                int d = scope_depth(scope, rows[i].iteration);

                ret[i] = d >= 0;
                if (!ret[i])
                        continue;
                /* A shallower run of the same node loses to this one, and vice versa. Only
                 * the runs selected so far need a look (a loop's other iterations do not). */
                for (size_t k = 0; selected && k < n_selected; k++) {
                        size_t j = selected[k];

                        if (!ret[j] || !streq(rows[j].node_id, rows[i].node_id))
                                continue;
                        if (scope_depth(scope, rows[j].iteration) <= d)
                                ret[i] = false;
                        else
                                ret[j] = false;
                }
                if (ret[i] && selected)
                        selected[n_selected++] = i;
        }
}

PlanState plan_state_from_node_run(NodeRunStatus s) {
        switch (s) {
        case NODE_RUN_WAITING:
                return PLAN_WAITING;
        case NODE_RUN_QUEUED:
        case NODE_RUN_RUNNING:
        case NODE_RUN_LOOPING:
        case NODE_RUN_PAUSED:
        case NODE_RUN_AWAITING:
                return PLAN_ACTIVE;
        case NODE_RUN_DONE:
                return PLAN_FINISHED;
        case NODE_RUN_RULED_OUT:
                return PLAN_RULED_OUT;
        case NODE_RUN_FAILED:
        case NODE_RUN_CANCELLED:
                return PLAN_STOPPED;
        default:
                return _PLAN_STATE_INVALID;
        }
}

int scope_fill_plan(RunPlan *p, const NodeRunRow *rows, size_t n, const char *scope) {
        _cleanup_free_ bool *counts = calloc(n + 1, sizeof(bool));
        int r;

        if (!counts)
                return -ENOMEM;
        scope_select_rows(rows, n, scope, counts);
        for (size_t i = 0; i < n; i++) {
                PlanState s;

                if (!counts[i])
                        continue;
                s = plan_state_from_node_run(rows[i].status);
                if (s < 0)
                        return -EBADMSG;
                r = run_plan_set(p, rows[i].node_id, s);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

json_t *scope_context(json_t *trigger_payload, const char *trigger_node_id, const NodeRunRow *rows, size_t n,
                      const char *scope, json_t *loop) {
        _cleanup_json_ json_t *context = json_object();
        _cleanup_free_ bool *counts = calloc(n + 1, sizeof(bool));

        if (!context || !counts)
                return NULL;
        if (json_object_set_nocheck(context, "trigger", trigger_payload ?: json_null()) < 0)
                return NULL;
        if (trigger_node_id && json_object_set(context, trigger_node_id, trigger_payload ?: json_null()) < 0)
                return NULL;

        scope_select_rows(rows, n, scope, counts);
        for (size_t i = 0; i < n; i++)
                if (counts[i] && rows[i].status == NODE_RUN_DONE && rows[i].output &&
                    json_object_set(context, rows[i].node_id, rows[i].output) < 0)
                        return NULL;

        if (loop && json_object_set_nocheck(context, "loop", loop) < 0)
                return NULL;
        return TAKE_PTR(context);
}

static bool is_body_entry(const Topology *t, const char *loop_id, const char *node_id) {
        const char *const *entries;
        size_t n = loop_id ? topology_loop_body(t, loop_id, &entries) : 0;

        for (size_t i = 0; i < n; i++)
                if (streq(entries[i], node_id))
                        return true;
        return false;
}

json_t *scope_input(const Topology *t, const char *node_id, json_t *context, const char *loop_id) {
        const char *const *parents;
        size_t n = topology_parents(t, node_id, &parents);
        json_t *input, *item = json_object_get(json_object_get(context, "loop"), "item");

        if (n == 0) {
                /* Body entries of a loop start from the current item. */
                if (item && is_body_entry(t, loop_id, node_id))
                        return json_incref(item);
                return json_incref(json_object_get(context, "trigger") ?: json_null());
        }
        if (n == 1)
                return json_incref(json_object_get(context, parents[0]) ?: json_null());

        input = json_object();
        if (!input)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_t *output = json_object_get(context, parents[i]);

                if (output && json_object_set(input, parents[i], output) < 0) {
                        json_decref(input);
                        return NULL;
                }
        }
        return input;
}
