/* The plan of one scope: node states by topology order, found by id through a sorted index. */

#include <errno.h>
#include <stdlib.h>

#include "engine/run-plan.h"

typedef struct PlanEntry {
        const char *id;
        size_t index;
} PlanEntry;

struct RunPlan {
        const Topology *topology;
        const char *loop_id;    /* borrowed from the topology; NULL at the top level */
        const char *const *ids; /* topology_nodes() */
        size_t n;
        PlanEntry *by_id;
        PlanState *state;
        bool *in_scope;
};

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const PlanEntry *) a)->id, ((const PlanEntry *) b)->id);
}

static bool plan_find(const RunPlan *p, const char *id, size_t *ret) {
        PlanEntry key = { .id = id }, *e;

        if (!id || p->n == 0)
                return false;
        e = bsearch(&key, p->by_id, p->n, sizeof(PlanEntry), entry_compare);
        if (!e)
                return false;
        *ret = e->index;
        return true;
}

/* Marks the members of loop_id's body, or every node when loop_id is NULL. */
static void mark_scope(RunPlan *p, const char *loop_id) {
        const char *const *members;
        size_t n, k;

        if (!loop_id) {
                for (size_t i = 0; i < p->n; i++)
                        p->in_scope[i] = true;
        } else {
                n = topology_loop_members(p->topology, loop_id, &members);
                for (size_t i = 0; i < n; i++)
                        if (plan_find(p, members[i], &k))
                                p->in_scope[k] = true;
        }
}

/* Takes out the bodies of loops nested in the scope: they run in scopes of their own. */
static void unmark_nested_bodies(RunPlan *p) {
        for (size_t i = 0; i < p->n; i++) {
                const char *const *members;
                size_t n, k;

                if (!p->in_scope[i] || (p->loop_id && streq(p->ids[i], p->loop_id)))
                        continue;
                n = topology_loop_members(p->topology, p->ids[i], &members);
                for (size_t j = 0; j < n; j++)
                        if (plan_find(p, members[j], &k))
                                p->in_scope[k] = false;
        }
        /* A top-level plan's loops are themselves in scope; a loop never is its own body. */
        if (!p->loop_id)
                return;
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->ids[i], p->loop_id))
                        p->in_scope[i] = false;
}

int run_plan_new(const Topology *t, const char *loop_id, RunPlan **ret) {
        _cleanup_(run_plan_freep) RunPlan *p = NULL;

        p = calloc(1, sizeof(RunPlan));
        if (!p)
                return -ENOMEM;
        p->topology = t;
        p->n = topology_nodes(t, &p->ids);
        p->by_id = calloc(p->n + 1, sizeof(PlanEntry));
        p->state = calloc(p->n + 1, sizeof(PlanState));
        p->in_scope = calloc(p->n + 1, sizeof(bool));
        if (!p->by_id || !p->state || !p->in_scope)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++)
                p->by_id[i] = (PlanEntry) { .id = p->ids[i], .index = i };
        qsort(p->by_id, p->n, sizeof(PlanEntry), entry_compare);

        if (loop_id) {
                size_t k;

                if (!plan_find(p, loop_id, &k))
                        return -ENOENT;
                p->loop_id = p->ids[k];
        }
        mark_scope(p, p->loop_id);
        unmark_nested_bodies(p);

        *ret = TAKE_PTR(p);
        return 0;
}

RunPlan *run_plan_free(RunPlan *p) {
        if (!p)
                return NULL;
        free(p->by_id);
        free(p->state);
        free(p->in_scope);
        free(p);
        return NULL;
}

int run_plan_set(RunPlan *p, const char *node_id, PlanState state) {
        size_t k;

        if (state < 0 || state >= _PLAN_STATE_MAX)
                return -EINVAL;
        if (!plan_find(p, node_id, &k))
                return -ENOENT;
        p->state[k] = state;
        return 0;
}

PlanState run_plan_get(const RunPlan *p, const char *node_id) {
        size_t k;

        return plan_find(p, node_id, &k) ? p->state[k] : _PLAN_STATE_INVALID;
}

bool run_plan_in_scope(const RunPlan *p, const char *node_id) {
        size_t k;

        return plan_find(p, node_id, &k) && p->in_scope[k];
}

static bool run_plan_has(const RunPlan *p, PlanState state) {
        for (size_t i = 0; i < p->n; i++)
                if (p->in_scope[i] && p->state[i] == state)
                        return true;
        return false;
}

bool run_plan_busy(const RunPlan *p) {
        for (size_t i = 0; i < p->n; i++)
                if (p->in_scope[i] && (p->state[i] == PLAN_WAITING || p->state[i] == PLAN_ACTIVE))
                        return true;
        return false;
}

void plan_step_done(PlanStep *s) {
        if (!s)
                return;
        free(s->run);
        free(s->wait);
        free(s->rule_out);
        *s = (PlanStep) {};
}

/* --- Topology callbacks ----------------------------------------------------------------- */

static bool state_is(const RunPlan *p, const char *id, PlanState s) {
        size_t k;

        return plan_find(p, id, &k) && p->state[k] == s;
}

static bool is_finished(const char *id, void *userdata) {
        return state_is(userdata, id, PLAN_FINISHED);
}

static bool is_ruled_out(const char *id, void *userdata) {
        return state_is(userdata, id, PLAN_RULED_OUT);
}

static bool is_offered(const char *id, void *userdata) {
        const RunPlan *p = userdata;
        size_t k;

        return plan_find(p, id, &k) && p->state[k] != PLAN_UNSEEN && p->state[k] != PLAN_RULED_OUT;
}

/* --- Steps -------------------------------------------------------------------------------- */

static int step_new(const RunPlan *p, PlanStep *s) {
        *s = (PlanStep) {
                .run = calloc(p->n + 1, sizeof(char *)),
                .wait = calloc(p->n + 1, sizeof(char *)),
                .rule_out = calloc(p->n + 1, sizeof(char *)),
        };
        if (!s->run || !s->wait || !s->rule_out) {
                plan_step_done(s);
                return -ENOMEM;
        }
        return 0;
}

/* A waiting node of the scope whose parents have all finished or been ruled out starts. */
static void start_if_ready(RunPlan *p, size_t k, PlanStep *s) {
        if (!p->in_scope[k] || p->state[k] != PLAN_WAITING)
                return;
        if (!topology_ready(p->topology, p->ids[k], is_finished, is_ruled_out, p))
                return;
        p->state[k] = PLAN_ACTIVE;
        s->run[s->n_run++] = p->ids[k];
}

/* Offered nodes that did not start wait; each is reported once, when first offered. */
static void collect_waiting(RunPlan *p, const bool *offered_now, PlanStep *s) {
        for (size_t i = 0; i < p->n; i++)
                if (offered_now[i] && p->state[i] == PLAN_WAITING)
                        s->wait[s->n_wait++] = p->ids[i];
}

int run_plan_start(RunPlan *p, PlanStep *ret) {
        _cleanup_free_ bool *offered_now = NULL;
        const char *const *entries;
        PlanStep s;
        size_t n, k;
        int r;

        offered_now = calloc(p->n + 1, sizeof(bool));
        if (!offered_now)
                return -ENOMEM;
        r = step_new(p, &s);
        if (r < 0)
                return r;

        if (p->loop_id)
                n = topology_loop_body(p->topology, p->loop_id, &entries);
        else
                n = topology_entry_nodes(p->topology, &entries);
        for (size_t i = 0; i < n; i++)
                if (plan_find(p, entries[i], &k) && p->in_scope[k] && p->state[k] == PLAN_UNSEEN) {
                        p->state[k] = PLAN_WAITING;
                        offered_now[k] = true;
                }
        for (size_t i = 0; i < p->n; i++)
                if (offered_now[i])
                        start_if_ready(p, i, &s);
        collect_waiting(p, offered_now, &s);

        *ret = s;
        return 0;
}

/* Starts whatever the children of node k may now start. */
static void start_children(RunPlan *p, size_t k, bool *seen, PlanStep *s) {
        const char *const *children;
        size_t n = topology_children(p->topology, p->ids[k], &children), c;

        for (size_t i = 0; i < n; i++)
                if (plan_find(p, children[i], &c) && !seen[c]) {
                        seen[c] = true;
                        start_if_ready(p, c, s);
                }
}

int run_plan_unblock(RunPlan *p, PlanStep *ret) {
        PlanStep s;
        int r;

        r = step_new(p, &s);
        if (r < 0)
                return r;
        if (!run_plan_has(p, PLAN_ACTIVE))
                for (size_t i = 0; i < p->n; i++)
                        if (p->in_scope[i] && p->state[i] == PLAN_WAITING) {
                                p->state[i] = PLAN_ACTIVE;
                                s.run[s.n_run++] = p->ids[i];
                        }
        *ret = s;
        return 0;
}

int run_plan_advance(RunPlan *p, const char *node_id, const char *route, PlanStep *ret) {
        _cleanup_free_ const char **successors = NULL, **ruled_out = NULL;
        _cleanup_free_ bool *offered_now = NULL, *seen = NULL;
        size_t self, k;
        PlanStep s;
        int r;

        if (!plan_find(p, node_id, &self))
                return -ENOENT;
        offered_now = calloc(p->n + 1, sizeof(bool));
        seen = calloc(p->n + 1, sizeof(bool));
        if (!offered_now || !seen)
                return -ENOMEM;

        p->state[self] = PLAN_FINISHED;

        r = topology_successors(p->topology, node_id, route, &successors);
        if (r < 0)
                return r;
        for (const char **i = successors; *i; i++)
                if (plan_find(p, *i, &k) && p->in_scope[k] && p->state[k] == PLAN_UNSEEN) {
                        p->state[k] = PLAN_WAITING;
                        offered_now[k] = true;
                }

        r = topology_rule_out_offered(p->topology, node_id, route, is_ruled_out, is_finished, is_offered, p,
                                      &ruled_out);
        if (r < 0)
                return r;

        r = step_new(p, &s);
        if (r < 0)
                return r;
        for (const char **i = ruled_out; *i; i++)
                if (plan_find(p, *i, &k) && p->in_scope[k] && p->state[k] == PLAN_UNSEEN) {
                        p->state[k] = PLAN_RULED_OUT;
                        s.rule_out[s.n_rule_out++] = p->ids[k];
                }

        /* The candidates: the children of the node and of every node just ruled out. */
        start_children(p, self, seen, &s);
        for (size_t i = 0; i < s.n_rule_out; i++)
                if (plan_find(p, s.rule_out[i], &k))
                        start_children(p, k, seen, &s);
        collect_waiting(p, offered_now, &s);

        *ret = s;
        return 0;
}
