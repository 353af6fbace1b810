/* The trigger-scoped graph of one execution. Nodes live in one array in workflow order and
 * are found by id through a sorted index; each node keeps its out-edges sorted by priority
 * (then id, then position) and the derived lists the orchestrator asks for, computed once
 * when the graph is built. */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/node-types.h"
#include "engine/topology.h"

#define END_NODE_ID "__end__"
#define END SIZE_MAX          /* edge target index of "__end__" */
#define TOPOLOGY_JSON_VERSION 1
#define CYCLE_PATH_SHOWN 8     /* nodes of a cycle named in the error message */

typedef enum EdgeLabel {
        EDGE_FLOW,              /* "" */
        EDGE_LOOP_BODY,
        EDGE_LOOP_RETURN,
        _EDGE_LABEL_MAX,
        _EDGE_LABEL_INVALID = -EINVAL,
} EdgeLabel;

static const char *const edge_label_names[_EDGE_LABEL_MAX] = {
        [EDGE_FLOW] = "",
        [EDGE_LOOP_BODY] = "loop_body",
        [EDGE_LOOP_RETURN] = "loop_return",
};

typedef struct Edge {
        size_t source, target;  /* node indexes; target END for "__end__" */
        EdgeLabel label;
        bool conditional;
        char *condition_value;  /* NULL when none */
        int64_t priority, id;
        size_t position;        /* in the input, for a stable order */
} Edge;

/* A NULL-terminated list of borrowed node ids, with their node indexes alongside (for
 * the lists of a node; NULL for the lists of the whole graph). */
typedef struct IdList {
        const char **ids;
        size_t *at;
        size_t n;
} IdList;

typedef struct Node {
        char *id, *component_type;
        bool entry;
        size_t *out;            /* indexes into Topology.edges, in priority order */
        size_t n_out;
        bool has_conditional;   /* some "" out-edge is conditional */
        IdList parents, children;
        IdList loop_body, loop_completions, loop_members;
} Node;

typedef struct IdEntry {
        const char *id;
        size_t index;
} IdEntry;

struct Topology {
        char *trigger_id;
        Node *nodes;
        size_t n_nodes;
        Edge *edges;
        size_t n_edges;
        IdEntry *by_id;         /* sorted by id */
        IdList all, entries;
};

static const char *const empty_list[] = { NULL };

_printf_(2, 3)
static int set_error(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                char *s = NULL;

                va_start(ap, fmt);
                if (vasprintf(&s, fmt, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = s;
        }
        return -EINVAL;
}

static void id_list_done(IdList *l) {
        free(l->ids);
        free(l->at);
        *l = (IdList) {};
}

static size_t id_list_get(const IdList *l, const char *const **ret) {
        if (ret)
                *ret = l->ids ? (const char *const *) l->ids : empty_list;
        return l->n;
}

/* Room for n ids plus the terminating NULL. */
static int id_list_reserve(IdList *l, size_t n) {
        l->ids = calloc(n + 1, sizeof(char *));
        l->at = calloc(n + 1, sizeof(size_t));
        l->n = 0;
        return l->ids && l->at ? 0 : -ENOMEM;
}

static void id_list_add(const Topology *t, IdList *l, size_t i) {
        l->at[l->n] = i;
        l->ids[l->n++] = t->nodes[i].id;
}

Topology *topology_free(Topology *t) {
        if (!t)
                return NULL;

        for (size_t i = 0; i < t->n_nodes; i++) {
                Node *n = &t->nodes[i];

                free(n->id);
                free(n->component_type);
                free(n->out);
                id_list_done(&n->parents);
                id_list_done(&n->children);
                id_list_done(&n->loop_body);
                id_list_done(&n->loop_completions);
                id_list_done(&n->loop_members);
        }
        for (size_t i = 0; i < t->n_edges; i++)
                free(t->edges[i].condition_value);
        free(t->nodes);
        free(t->edges);
        free(t->by_id);
        id_list_done(&t->all);
        id_list_done(&t->entries);
        free(t->trigger_id);
        free(t);
        return NULL;
}

/* --- Looking nodes up by id ------------------------------------------------------------ */

static int id_entry_compare(const void *a, const void *b) {
        return strcmp(((const IdEntry *) a)->id, ((const IdEntry *) b)->id);
}

/* Sorts ids[0..n) into a new index; -EEXIST with *ret_duplicate when an id repeats. */
static int id_index_build(const char *const *ids, size_t n, IdEntry **ret, const char **ret_duplicate) {
        IdEntry *index = calloc(MAX(n, (size_t) 1), sizeof(IdEntry));

        if (!index)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                index[i] = (IdEntry) { .id = ids[i], .index = i };
        qsort(index, n, sizeof(IdEntry), id_entry_compare);

        for (size_t i = 1; i < n; i++)
                if (streq(index[i - 1].id, index[i].id)) {
                        *ret_duplicate = index[i].id;
                        free(index);
                        return -EEXIST;
                }
        *ret = index;
        return 0;
}

static bool id_index_find(const IdEntry *index, size_t n, const char *id, size_t *ret) {
        IdEntry key = { .id = id }, *found;

        if (!id || n == 0)
                return false;
        found = bsearch(&key, index, n, sizeof(IdEntry), id_entry_compare);
        if (!found)
                return false;
        *ret = found->index;
        return true;
}

static const Node *find_node(const Topology *t, const char *id) {
        size_t i;

        if (!t || !id_index_find(t->by_id, t->n_nodes, id, &i))
                return NULL;
        return &t->nodes[i];
}

static size_t node_index(const Topology *t, const Node *n) {
        return (size_t) (n - t->nodes);
}

/* --- Reading the input ---------------------------------------------------------------- */

typedef struct NodeDraft {
        const char *id, *component_type;   /* borrowed from the input JSON */
        bool entry;
} NodeDraft;

typedef struct EdgeDraft {
        const char *source, *target, *condition_value; /* borrowed from the input JSON */
        EdgeLabel label;
        bool conditional;
        int64_t priority, id;
        size_t position;
        size_t source_index, target_index; /* in Input.nodes; target END for "__end__" */
} EdgeDraft;

static int read_optional_string(json_t *obj, const char *key, const char *def, const char **ret) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_string(v))
                return -EINVAL;
        *ret = json_string_value(v);
        return 0;
}

static int read_optional_integer(json_t *obj, const char *key, int64_t def, int64_t *ret) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_integer(v))
                return -EINVAL;
        *ret = json_integer_value(v);
        return 0;
}

static int read_optional_bool(json_t *obj, const char *key, bool *ret) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                *ret = false;
                return 0;
        }
        if (!json_is_boolean(v))
                return -EINVAL;
        *ret = json_is_true(v);
        return 0;
}

/* entry_key: the boolean field that marks an entry node ("is_entry_point" in NodeOut). */
static int read_node(json_t *j, size_t position, const char *entry_key, NodeDraft *ret, char **ret_error) {
        json_t *id = json_object_get(j, "node_id"), *type = json_object_get(j, "component_type");

        if (!json_is_object(j))
                return set_error(ret_error, "node %zu is not an object", position);
        if (!json_is_string(id) || isempty(json_string_value(id)))
                return set_error(ret_error, "node %zu has no node_id", position);
        if (!json_is_string(type))
                return set_error(ret_error, "node '%s' has no component_type", json_string_value(id));

        *ret = (NodeDraft) {
                .id = json_string_value(id),
                .component_type = json_string_value(type),
        };
        if (read_optional_bool(j, entry_key, &ret->entry) < 0)
                return set_error(ret_error, "node '%s': %s must be a boolean", ret->id, entry_key);
        return 0;
}

static EdgeLabel edge_label_from_string(const char *s) {
        for (EdgeLabel l = 0; l < _EDGE_LABEL_MAX; l++)
                if (streq(edge_label_names[l], s))
                        return l;
        return _EDGE_LABEL_INVALID;
}

/* Reads one edge. *ret_flow is false for attachment edges (llm, tool, …), which the graph
 * ignores; strict refuses them instead (a stored graph holds flow edges only). */
static int read_edge(json_t *j, size_t position, bool strict, EdgeDraft *ret, bool *ret_flow, char **ret_error) {
        json_t *source = json_object_get(j, "source_node_id"), *target = json_object_get(j, "target_node_id");
        const char *label, *type, *condition_value;
        EdgeLabel l;

        if (!json_is_object(j))
                return set_error(ret_error, "edge %zu is not an object", position);
        if (!json_is_string(source) || !json_is_string(target))
                return set_error(ret_error, "edge %zu needs source_node_id and target_node_id", position);
        if (read_optional_string(j, "edge_label", "", &label) < 0)
                return set_error(ret_error, "edge %zu: edge_label must be a string", position);

        l = edge_label_from_string(label);
        if (l < 0) {
                if (strict)
                        return set_error(ret_error, "edge %zu: '%s' is not a flow edge label", position, label);
                *ret_flow = false;
                return 0;
        }

        if (read_optional_string(j, "edge_type", "direct", &type) < 0 ||
            (!streq(type, "direct") && !streq(type, "conditional")))
                return set_error(ret_error, "edge %zu: edge_type must be 'direct' or 'conditional'", position);
        if (read_optional_string(j, "condition_value", NULL, &condition_value) < 0)
                return set_error(ret_error, "edge %zu: condition_value must be a string", position);

        *ret = (EdgeDraft) {
                .source = json_string_value(source),
                .target = json_string_value(target),
                .condition_value = condition_value,
                .label = l,
                .conditional = streq(type, "conditional"),
                .position = position,
        };
        if (read_optional_integer(j, "priority", 0, &ret->priority) < 0)
                return set_error(ret_error, "edge %zu: priority must be an integer", position);
        if (read_optional_integer(j, "id", (int64_t) position, &ret->id) < 0)
                return set_error(ret_error, "edge %zu: id must be an integer", position);
        if (l != EDGE_FLOW && streq(ret->target, END_NODE_ID))
                return set_error(ret_error, "edge %zu: a %s edge must end at a node", position, label);
        *ret_flow = true;
        return 0;
}

/* --- Assembling the graph ------------------------------------------------------------- */

static bool edge_is_flow(const Edge *e) {
        return e->label == EDGE_FLOW;
}

static Topology *topology_new(void) {
        return calloc(1, sizeof(Topology));
}

/* Copies the kept nodes in; by_id and all are built here. */
static int assemble_nodes(Topology *t, const NodeDraft *nodes, size_t n, char **ret_error) {
        _cleanup_free_ const char **ids = NULL;
        const char *duplicate = NULL;
        int r;

        t->nodes = calloc(MAX(n, (size_t) 1), sizeof(Node));
        ids = calloc(n + 1, sizeof(char *));
        if (!t->nodes || !ids)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                Node *node = &t->nodes[t->n_nodes];

                node->id = strdup(nodes[i].id);
                node->component_type = strdup(nodes[i].component_type);
                t->n_nodes++;
                if (!node->id || !node->component_type)
                        return -ENOMEM;
                node->entry = nodes[i].entry;
                ids[i] = node->id;
        }

        r = id_index_build(ids, n, &t->by_id, &duplicate);
        if (r == -EEXIST)
                return set_error(ret_error, "node id '%s' appears twice", duplicate);
        if (r < 0)
                return r;

        t->all = (IdList) { .ids = TAKE_PTR(ids), .n = n };
        return 0;
}

static int assemble_edge(Topology *t, const EdgeDraft *d, char **ret_error) {
        Edge *e = &t->edges[t->n_edges];

        if (!id_index_find(t->by_id, t->n_nodes, d->source, &e->source))
                return set_error(ret_error, "edge %zu starts at unknown node '%s'", d->position, d->source);
        if (streq(d->target, END_NODE_ID))
                e->target = END;
        else if (!id_index_find(t->by_id, t->n_nodes, d->target, &e->target))
                return set_error(ret_error, "edge %zu ends at unknown node '%s'", d->position, d->target);

        e->label = d->label;
        e->conditional = d->conditional;
        e->priority = d->priority;
        e->id = d->id;
        e->position = d->position;
        if (d->condition_value) {
                e->condition_value = strdup(d->condition_value);
                if (!e->condition_value)
                        return -ENOMEM;
        }
        t->n_edges++;
        return 0;
}

/* Out-edges sorted by priority, then id, then input position: the order routing tries them. */
static int edge_order_compare(const void *a, const void *b, void *userdata) {
        const Topology *t = userdata;
        const Edge *x = &t->edges[*(const size_t *) a], *y = &t->edges[*(const size_t *) b];

        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        if (x->id != y->id)
                return x->id < y->id ? -1 : 1;
        return x->position < y->position ? -1 : x->position > y->position;
}

static int assemble_out_edges(Topology *t) {
        size_t *count = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(size_t));

        if (!count)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_edges; i++)
                count[t->edges[i].source]++;
        for (size_t i = 0; i < t->n_nodes; i++) {
                t->nodes[i].out = calloc(MAX(count[i], (size_t) 1), sizeof(size_t));
                if (!t->nodes[i].out) {
                        free(count);
                        return -ENOMEM;
                }
        }
        free(count);

        for (size_t i = 0; i < t->n_edges; i++) {
                Node *n = &t->nodes[t->edges[i].source];

                n->out[n->n_out++] = i;
                if (edge_is_flow(&t->edges[i]) && t->edges[i].conditional)
                        n->has_conditional = true;
        }
        for (size_t i = 0; i < t->n_nodes; i++)
                qsort_r(t->nodes[i].out, t->nodes[i].n_out, sizeof(size_t), edge_order_compare, t);
        return 0;
}

/* Appends node index i to l unless stamp says it is there already. */
static void id_list_add_once(const Topology *t, IdList *l, size_t i, size_t *stamp, size_t mark) {
        if (stamp[i] == mark)
                return;
        stamp[i] = mark;
        id_list_add(t, l, i);
}

static bool id_list_contains(const IdList *l, size_t node) {
        for (size_t i = 0; i < l->n; i++)
                if (l->at[i] == node)
                        return true;
        return false;
}

static int assemble_parents_children(Topology *t, size_t *stamp, size_t *mark) {
        size_t *in_count = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(size_t));
        int r = 0;

        if (!in_count)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_edges; i++)
                if (edge_is_flow(&t->edges[i]) && t->edges[i].target != END)
                        in_count[t->edges[i].target]++;

        for (size_t i = 0; i < t->n_nodes && r >= 0; i++) {
                Node *n = &t->nodes[i];

                r = id_list_reserve(&n->parents, in_count[i]);
                if (r >= 0)
                        r = id_list_reserve(&n->children, n->n_out);
        }
        free(in_count);
        if (r < 0)
                return r;

        /* Children in routing order. */
        for (size_t i = 0; i < t->n_nodes; i++) {
                Node *n = &t->nodes[i];

                (*mark)++;
                for (size_t k = 0; k < n->n_out; k++) {
                        const Edge *e = &t->edges[n->out[k]];

                        if (edge_is_flow(e) && e->target != END)
                                id_list_add_once(t, &n->children, e->target, stamp, *mark);
                }
        }
        /* Parents in the order of the edges; a node rarely has many, so a scan dedupes. */
        for (size_t k = 0; k < t->n_edges; k++) {
                const Edge *e = &t->edges[k];
                IdList *parents;

                if (!edge_is_flow(e) || e->target == END)
                        continue;
                parents = &t->nodes[e->target].parents;
                if (!id_list_contains(parents, e->source))
                        id_list_add(t, parents, e->source);
        }
        return 0;
}

static int assemble_loop(Topology *t, size_t loop, size_t *stamp, size_t *queue, size_t *mark) {
        Node *n = &t->nodes[loop];
        size_t n_return = 0, head = 0, tail = 0;
        int r;

        for (size_t k = 0; k < t->n_edges; k++)
                if (t->edges[k].label == EDGE_LOOP_RETURN && t->edges[k].target == loop)
                        n_return++;

        r = id_list_reserve(&n->loop_body, n->n_out);
        if (r < 0)
                return r;
        (*mark)++;
        for (size_t k = 0; k < n->n_out; k++) {
                const Edge *e = &t->edges[n->out[k]];

                if (e->label == EDGE_LOOP_BODY)
                        id_list_add_once(t, &n->loop_body, e->target, stamp, *mark);
        }

        r = id_list_reserve(&n->loop_completions, n_return > 0 ? n_return : n->loop_body.n);
        if (r < 0)
                return r;
        (*mark)++;
        if (n_return > 0) {
                for (size_t k = 0; k < t->n_edges; k++)
                        if (t->edges[k].label == EDGE_LOOP_RETURN && t->edges[k].target == loop)
                                id_list_add_once(t, &n->loop_completions, t->edges[k].source, stamp, *mark);
        } else
                for (size_t k = 0; k < n->loop_body.n; k++)
                        id_list_add_once(t, &n->loop_completions, n->loop_body.at[k], stamp, *mark);

        /* The body: everything reached from its entries without passing the loop itself. */
        r = id_list_reserve(&n->loop_members, t->n_nodes);
        if (r < 0)
                return r;
        (*mark)++;
        stamp[loop] = *mark;
        for (size_t k = 0; k < n->n_out; k++) {
                const Edge *e = &t->edges[n->out[k]];

                if (e->label == EDGE_LOOP_BODY && stamp[e->target] != *mark) {
                        stamp[e->target] = *mark;
                        queue[tail++] = e->target;
                }
        }
        while (head < tail) {
                const Node *m = &t->nodes[queue[head]];

                id_list_add(t, &n->loop_members, queue[head++]);
                for (size_t k = 0; k < m->n_out; k++) {
                        const Edge *e = &t->edges[m->out[k]];

                        if (e->label == EDGE_LOOP_RETURN || e->target == END || stamp[e->target] == *mark)
                                continue;
                        stamp[e->target] = *mark;
                        queue[tail++] = e->target;
                }
        }
        return 0;
}

/* A loop is any node with loop_body or loop_return edges. */
static int assemble_loops(Topology *t, size_t *stamp, size_t *mark) {
        _cleanup_free_ size_t *queue = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(size_t));
        _cleanup_free_ bool *is_loop = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(bool));

        if (!queue || !is_loop)
                return -ENOMEM;
        for (size_t k = 0; k < t->n_edges; k++) {
                if (t->edges[k].label == EDGE_LOOP_BODY)
                        is_loop[t->edges[k].source] = true;
                else if (t->edges[k].label == EDGE_LOOP_RETURN)
                        is_loop[t->edges[k].target] = true;
        }
        for (size_t i = 0; i < t->n_nodes; i++) {
                int r;

                if (!is_loop[i])
                        continue;
                r = assemble_loop(t, i, stamp, queue, mark);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Flow and loop_body edges must not lead back to where they started: only a loop's
 * loop_return edge may, or the run would never end. Depth-first with an explicit stack;
 * an edge into a node still on the stack closes a cycle, which the message spells out. */
static int check_cycles(const Topology *t, char **ret_error) {
        enum { WHITE, GREY, BLACK };
        _cleanup_free_ unsigned char *color = calloc(MAX(t->n_nodes, (size_t) 1), 1);
        _cleanup_free_ size_t *stack = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(size_t));
        _cleanup_free_ size_t *next = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(size_t));

        if (!color || !stack || !next)
                return -ENOMEM;

        for (size_t root = 0; root < t->n_nodes; root++) {
                size_t depth = 0;

                if (color[root] != WHITE)
                        continue;
                stack[depth++] = root;
                color[root] = GREY;
                next[root] = 0;

                while (depth > 0) {
                        size_t u = stack[depth - 1];
                        const Node *n = &t->nodes[u];
                        const Edge *e;
                        size_t v;

                        if (next[u] >= n->n_out) {
                                color[u] = BLACK;
                                depth--;
                                continue;
                        }
                        e = &t->edges[n->out[next[u]++]];
                        if (e->label == EDGE_LOOP_RETURN || e->target == END)
                                continue;
                        v = e->target;
                        if (color[v] == WHITE) {
                                color[v] = GREY;
                                next[v] = 0;
                                stack[depth++] = v;
                        } else if (color[v] == GREY) {
                                _cleanup_free_ char *path = NULL;
                                size_t start = depth;
                                char *p;
                                size_t len = 0;

                                while (start > 0 && stack[start - 1] != v)
                                        start--;
                                start = start > 0 ? start - 1 : 0;

                                for (size_t k = start; k < depth && k - start < CYCLE_PATH_SHOWN; k++)
                                        len += strlen(t->nodes[stack[k]].id) + 8;
                                len += strlen(t->nodes[v].id) + 16;
                                path = p = malloc(len);
                                if (!path)
                                        return -ENOMEM;
                                *p = '\0';
                                for (size_t k = start; k < depth && k - start < CYCLE_PATH_SHOWN; k++)
                                        p = stpcpy(stpcpy(stpcpy(p, "'"), t->nodes[stack[k]].id), "' → ");
                                if (depth - start > CYCLE_PATH_SHOWN)
                                        p = stpcpy(p, "… → ");
                                stpcpy(stpcpy(stpcpy(p, "'"), t->nodes[v].id), "'");

                                return set_error(ret_error,
                                                 "the flow edges form a cycle through node '%s' (%s); only a loop's "
                                                 "loop_return edge may lead back",
                                                 t->nodes[v].id, path);
                        }
                }
        }
        return 0;
}

/* Everything derived from the nodes and edges; entries come from the nodes' flags. */
static int assemble_finish(Topology *t, char **ret_error) {
        _cleanup_free_ size_t *stamp = NULL;
        size_t mark = 0, n_entries = 0;
        int r;

        /* Each list being filled takes a new mark (from 1), so stamps equal to it say "in
         * this list already"; the zeroed stamps match none. */
        stamp = calloc(MAX(t->n_nodes, (size_t) 1), sizeof(size_t));
        if (!stamp)
                return -ENOMEM;
        r = assemble_out_edges(t);
        if (r < 0)
                return r;
        r = check_cycles(t, ret_error);
        if (r < 0)
                return r;
        r = assemble_parents_children(t, stamp, &mark);
        if (r < 0)
                return r;
        r = assemble_loops(t, stamp, &mark);
        if (r < 0)
                return r;

        for (size_t i = 0; i < t->n_nodes; i++)
                n_entries += t->nodes[i].entry;
        r = id_list_reserve(&t->entries, n_entries);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_nodes; i++)
                if (t->nodes[i].entry)
                        id_list_add(t, &t->entries, i);
        if (t->entries.n == 0)
                return set_error(ret_error, "the workflow has no entry node");
        return 0;
}

/* --- topology_build() ------------------------------------------------------------------ */

typedef struct Input {
        NodeDraft *nodes;
        size_t n_nodes;
        EdgeDraft *edges;       /* flow edges only */
        size_t n_edges;
        IdEntry *by_id;
} Input;

static void input_done(Input *in) {
        free(in->nodes);
        free(in->edges);
        free(in->by_id);
}

static int read_input(json_t *nodes, json_t *edges, const char *entry_key, bool strict, Input *in,
                      char **ret_error) {
        _cleanup_free_ const char **ids = NULL;
        const char *duplicate = NULL;
        json_t *j;
        size_t i;
        int r;

        if (!json_is_array(nodes))
                return set_error(ret_error, "nodes must be an array");
        if (!json_is_array(edges))
                return set_error(ret_error, "edges must be an array");

        in->nodes = calloc(MAX(json_array_size(nodes), (size_t) 1), sizeof(NodeDraft));
        in->edges = calloc(MAX(json_array_size(edges), (size_t) 1), sizeof(EdgeDraft));
        ids = calloc(json_array_size(nodes) + 1, sizeof(char *));
        if (!in->nodes || !in->edges || !ids)
                return -ENOMEM;

        json_array_foreach(nodes, i, j) {
                r = read_node(j, i, entry_key, &in->nodes[i], ret_error);
                if (r < 0)
                        return r;
                ids[i] = in->nodes[i].id;
                in->n_nodes++;
        }
        r = id_index_build(ids, in->n_nodes, &in->by_id, &duplicate);
        if (r == -EEXIST)
                return set_error(ret_error, "node id '%s' appears twice", duplicate);
        if (r < 0)
                return r;

        json_array_foreach(edges, i, j) {
                EdgeDraft *e = &in->edges[in->n_edges];
                bool flow = false;

                r = read_edge(j, i, strict, e, &flow, ret_error);
                if (r < 0)
                        return r;
                if (!flow)
                        continue;
                if (!id_index_find(in->by_id, in->n_nodes, e->source, &e->source_index))
                        return set_error(ret_error, "edge %zu starts at unknown node '%s'", i, e->source);
                if (streq(e->target, END_NODE_ID))
                        e->target_index = END;
                else if (!id_index_find(in->by_id, in->n_nodes, e->target, &e->target_index))
                        return set_error(ret_error, "edge %zu ends at unknown node '%s'", i, e->target);
                in->n_edges++;
        }
        return 0;
}

/* Marks in keep[] the executable nodes the run may reach: from the trigger over flow edges,
 * passing only through executable nodes; without a trigger, every executable node. */
static int select_nodes(const Input *in, size_t trigger, bool *keep, char **ret_error) {
        _cleanup_free_ size_t *queue = NULL, *first_out = NULL, *out = NULL;
        _cleanup_free_ bool *seen = NULL;
        size_t head = 0, tail = 0;

        for (size_t i = 0; i < in->n_nodes; i++) {
                const NodeTypeSpec *spec = node_type_find(in->nodes[i].component_type);

                if (!spec && (trigger == END || i == trigger))
                        return set_error(ret_error, "node '%s' has unknown type '%s'", in->nodes[i].id,
                                         in->nodes[i].component_type);
                keep[i] = spec && spec->executable && !node_type_is_trigger(spec);
        }
        if (trigger == END)
                return 0;

        queue = calloc(in->n_nodes + 1, sizeof(size_t));
        seen = calloc(in->n_nodes + 1, sizeof(bool));
        first_out = calloc(in->n_nodes + 2, sizeof(size_t));
        out = calloc(in->n_edges + 1, sizeof(size_t));
        if (!queue || !seen || !first_out || !out)
                return -ENOMEM;

        /* Out-edges grouped by source: node u's are out[first_out[u] .. first_out[u + 1]). */
        for (size_t k = 0; k < in->n_edges; k++)
                first_out[in->edges[k].source_index + 2]++;
        for (size_t i = 2; i < in->n_nodes + 2; i++)
                first_out[i] += first_out[i - 1];
        for (size_t k = 0; k < in->n_edges; k++)
                out[first_out[in->edges[k].source_index + 1]++] = k;

        queue[tail++] = trigger;
        seen[trigger] = true;
        while (head < tail) {
                size_t u = queue[head++];

                for (size_t k = first_out[u]; k < first_out[u + 1]; k++) {
                        size_t v = in->edges[out[k]].target_index;

                        if (v == END || seen[v])
                                continue;
                        seen[v] = true;
                        if (!node_type_find(in->nodes[v].component_type))
                                return set_error(ret_error, "node '%s' has unknown type '%s'", in->nodes[v].id,
                                                 in->nodes[v].component_type);
                        if (keep[v])
                                queue[tail++] = v;
                }
        }
        for (size_t i = 0; i < in->n_nodes; i++)
                keep[i] = keep[i] && seen[i];
        return 0;
}

/* Entry nodes: the flagged ones; else the trigger's targets; else (no trigger) the nodes no
 * flow edge leads to, loop bodies aside. */
static void select_entries(const Input *in, size_t trigger, const bool *keep, bool *entry) {
        bool any = false;

        for (size_t i = 0; i < in->n_nodes; i++) {
                entry[i] = keep[i] && in->nodes[i].entry;
                any = any || entry[i];
        }
        if (any)
                return;

        if (trigger != END) {
                for (size_t k = 0; k < in->n_edges; k++) {
                        const EdgeDraft *e = &in->edges[k];
                        size_t v = e->target_index;

                        if (e->label == EDGE_FLOW && v != END && keep[v] && e->source_index == trigger)
                                entry[v] = true;
                }
                return;
        }

        for (size_t i = 0; i < in->n_nodes; i++)
                entry[i] = keep[i];
        for (size_t k = 0; k < in->n_edges; k++) {
                const EdgeDraft *e = &in->edges[k];
                size_t u = e->source_index, v = e->target_index;

                if (v == END || e->label == EDGE_LOOP_RETURN)
                        continue;
                if (e->label == EDGE_LOOP_BODY || keep[u])
                        entry[v] = false;
        }
}

int topology_build(json_t *nodes, json_t *edges, const char *trigger_node_id, Topology **ret, char **ret_error) {
        _cleanup_(topology_freep) Topology *t = NULL;
        _cleanup_(input_done) Input in = {};
        _cleanup_free_ NodeDraft *kept = NULL;
        _cleanup_free_ bool *keep = NULL, *entry = NULL;
        size_t trigger = END, n_kept = 0;
        int r;

        r = read_input(nodes, edges, "is_entry_point", false, &in, ret_error);
        if (r < 0)
                return r;

        if (trigger_node_id) {
                const NodeTypeSpec *spec;

                if (!id_index_find(in.by_id, in.n_nodes, trigger_node_id, &trigger))
                        return set_error(ret_error, "trigger node '%s' is not in the workflow", trigger_node_id);
                spec = node_type_find(in.nodes[trigger].component_type);
                if (!node_type_is_trigger(spec))
                        return set_error(ret_error, "node '%s' is not a trigger but a '%s' node", trigger_node_id,
                                         in.nodes[trigger].component_type);
        }

        keep = calloc(in.n_nodes + 1, sizeof(bool));
        entry = calloc(in.n_nodes + 1, sizeof(bool));
        kept = calloc(in.n_nodes + 1, sizeof(NodeDraft));
        t = topology_new();
        if (!keep || !entry || !kept || !t)
                return -ENOMEM;

        r = select_nodes(&in, trigger, keep, ret_error);
        if (r < 0)
                return r;
        select_entries(&in, trigger, keep, entry);

        for (size_t i = 0; i < in.n_nodes; i++)
                if (keep[i]) {
                        kept[n_kept] = in.nodes[i];
                        kept[n_kept++].entry = entry[i];
                }
        if (n_kept == 0) {
                if (trigger_node_id)
                        return set_error(ret_error, "nothing to run: no executable node is connected to trigger '%s'",
                                         trigger_node_id);
                return set_error(ret_error, "nothing to run: the workflow has no executable node");
        }

        if (trigger_node_id) {
                t->trigger_id = strdup(trigger_node_id);
                if (!t->trigger_id)
                        return -ENOMEM;
        }
        r = assemble_nodes(t, kept, n_kept, ret_error);
        if (r < 0)
                return r;

        t->edges = calloc(MAX(in.n_edges, (size_t) 1), sizeof(Edge));
        if (!t->edges)
                return -ENOMEM;
        for (size_t k = 0; k < in.n_edges; k++) {
                const EdgeDraft *e = &in.edges[k];
                size_t u = e->source_index, v = e->target_index;

                /* Edges of the graph only: not from the trigger, not to dropped nodes. */
                if (!keep[u] || (v != END && !keep[v]))
                        continue;
                r = assemble_edge(t, e, ret_error);
                if (r < 0)
                        return r;
        }

        r = assemble_finish(t, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(t);
        return 0;
}

/* --- Stored form ------------------------------------------------------------------------ */

static json_t *edge_to_json(const Topology *t, const Edge *e) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I, s:I}",
                         "source_node_id", t->nodes[e->source].id,
                         "target_node_id", e->target == END ? END_NODE_ID : t->nodes[e->target].id,
                         "edge_type", e->conditional ? "conditional" : "direct",
                         "edge_label", edge_label_names[e->label],
                         "condition_value", e->condition_value,
                         "priority", (json_int_t) e->priority,
                         "id", (json_int_t) e->id);
}

json_t *topology_to_json(const Topology *t) {
        _cleanup_json_ json_t *j = NULL, *nodes = json_array(), *edges = json_array();

        if (!t || !nodes || !edges)
                return NULL;

        for (size_t i = 0; i < t->n_nodes; i++) {
                const Node *n = &t->nodes[i];

                if (json_array_append_new(nodes, json_pack("{s:s, s:s, s:b}", "node_id", n->id, "component_type",
                                                           n->component_type, "entry", n->entry)) < 0)
                        return NULL;
        }
        /* In input order, so a restored graph lists everything as the original did. */
        for (size_t i = 0; i < t->n_edges; i++)
                if (json_array_append_new(edges, edge_to_json(t, &t->edges[i])) < 0)
                        return NULL;

        j = json_pack("{s:i, s:s?, s:O, s:O}", "version", TOPOLOGY_JSON_VERSION, "trigger_node_id", t->trigger_id,
                      "nodes", nodes, "edges", edges);
        return TAKE_PTR(j);
}

int topology_from_json(json_t *j, Topology **ret, char **ret_error) {
        _cleanup_(topology_freep) Topology *t = NULL;
        _cleanup_(input_done) Input in = {};
        json_t *version;
        const char *trigger;
        int r;

        if (!json_is_object(j))
                return set_error(ret_error, "stored topology must be an object");
        version = json_object_get(j, "version");
        if (!json_is_integer(version) || json_integer_value(version) != TOPOLOGY_JSON_VERSION)
                return set_error(ret_error, "stored topology has an unknown version");
        if (read_optional_string(j, "trigger_node_id", NULL, &trigger) < 0)
                return set_error(ret_error, "stored topology: trigger_node_id must be a string");

        r = read_input(json_object_get(j, "nodes"), json_object_get(j, "edges"), "entry", true, &in, ret_error);
        if (r < 0)
                return r;
        if (in.n_nodes == 0)
                return set_error(ret_error, "nothing to run: the stored topology has no node");

        t = topology_new();
        if (!t)
                return -ENOMEM;
        if (trigger) {
                t->trigger_id = strdup(trigger);
                if (!t->trigger_id)
                        return -ENOMEM;
        }
        r = assemble_nodes(t, in.nodes, in.n_nodes, ret_error);
        if (r < 0)
                return r;
        t->edges = calloc(MAX(in.n_edges, (size_t) 1), sizeof(Edge));
        if (!t->edges)
                return -ENOMEM;
        for (size_t k = 0; k < in.n_edges; k++) {
                r = assemble_edge(t, &in.edges[k], ret_error);
                if (r < 0)
                        return r;
        }
        r = assemble_finish(t, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(t);
        return 0;
}

/* --- Queries --------------------------------------------------------------------------- */

const char *topology_trigger_node_id(const Topology *t) {
        return t ? t->trigger_id : NULL;
}

static const IdList no_ids = {};

size_t topology_nodes(const Topology *t, const char *const **ret) {
        return id_list_get(t ? &t->all : &no_ids, ret);
}

size_t topology_entry_nodes(const Topology *t, const char *const **ret) {
        return id_list_get(t ? &t->entries : &no_ids, ret);
}

bool topology_contains(const Topology *t, const char *node_id) {
        return find_node(t, node_id);
}

const char *topology_component_type(const Topology *t, const char *node_id) {
        const Node *n = find_node(t, node_id);

        return n ? n->component_type : NULL;
}

#define NODE_LIST_GETTER(name, field)                                                   \
        size_t name(const Topology *t, const char *node_id, const char *const **ret) { \
                const Node *n = find_node(t, node_id);                                  \
                return id_list_get(n ? &n->field : &no_ids, ret);                       \
        }

NODE_LIST_GETTER(topology_parents, parents)
NODE_LIST_GETTER(topology_children, children)
NODE_LIST_GETTER(topology_loop_body, loop_body)
NODE_LIST_GETTER(topology_loop_completions, loop_completions)
NODE_LIST_GETTER(topology_loop_members, loop_members)

bool topology_in_loop_body(const Topology *t, const char *loop_id, const char *node_id) {
        const char *const *members;
        size_t n = topology_loop_members(t, loop_id, &members);

        for (size_t i = 0; i < n; i++)
                if (streq(members[i], node_id ?: ""))
                        return true;
        return false;
}

/* The conditional edge route takes out of n, or NULL. */
static const Edge *chosen_conditional_edge(const Topology *t, const Node *n, const char *route) {
        if (isempty(route))
                return NULL;
        for (size_t k = 0; k < n->n_out; k++) {
                const Edge *e = &t->edges[n->out[k]];

                if (edge_is_flow(e) && e->conditional && streq_ptr(e->condition_value, route))
                        return e;
        }
        return NULL;
}

/* Marks taken[i] for the nodes route leads to from n; returns how many. */
static size_t mark_taken(const Topology *t, const Node *n, const char *route, bool *taken) {
        size_t count = 0;

        if (n->has_conditional) {
                const Edge *e = chosen_conditional_edge(t, n, route);

                if (e && e->target != END) {
                        taken[e->target] = true;
                        count++;
                }
                return count;
        }
        for (size_t k = 0; k < n->n_out; k++) {
                const Edge *e = &t->edges[n->out[k]];

                if (edge_is_flow(e) && e->target != END && !taken[e->target]) {
                        taken[e->target] = true;
                        count++;
                }
        }
        return count;
}

int topology_successors(const Topology *t, const char *node_id, const char *route, const char ***ret) {
        const Node *n = find_node(t, node_id);
        _cleanup_free_ bool *taken = NULL;
        const char **list;
        size_t count = 0;

        if (!n) {
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        taken = calloc(t->n_nodes, sizeof(bool));
        if (!taken)
                return -ENOMEM;
        count = mark_taken(t, n, route, taken);

        list = calloc(count + 1, sizeof(char *));
        if (!list)
                return -ENOMEM;
        /* In routing order: children are. */
        count = 0;
        for (size_t i = 0; i < n->children.n; i++)
                if (taken[n->children.at[i]])
                        list[count++] = n->children.ids[i];
        *ret = list;
        return 0;
}

static bool state_of(TopologyNodeState f, const char *node_id, void *userdata) {
        return f && f(node_id, userdata);
}

bool topology_ready(const Topology *t, const char *node_id, TopologyNodeState finished,
                    TopologyNodeState ruled_out, void *userdata) {
        const Node *n = find_node(t, node_id);

        if (!n)
                return false;
        for (size_t i = 0; i < n->parents.n; i++) {
                const char *p = n->parents.ids[i];

                if (!state_of(finished, p, userdata) && !state_of(ruled_out, p, userdata))
                        return false;
        }
        return true;
}

/* Can no incoming flow edge of candidate c carry the run to it any more? */
static bool all_in_edges_dead(const Topology *t, size_t c, size_t decided, const bool *newly,
                              TopologyNodeState ruled_out_already, TopologyNodeState finished,
                              TopologyNodeState offered, void *userdata) {
        const Node *n = &t->nodes[c];

        for (size_t i = 0; i < n->parents.n; i++) {
                size_t p = n->parents.at[i];

                if (p == decided || newly[p] || state_of(ruled_out_already, n->parents.ids[i], userdata))
                        continue;
                /* Finished without offering c: its edges into c were not taken. */
                if (offered && finished && state_of(finished, n->parents.ids[i], userdata))
                        continue;
                return false;
        }
        return true;
}

int topology_rule_out_offered(const Topology *t, const char *node_id, const char *route,
                              TopologyNodeState ruled_out_already, TopologyNodeState finished,
                              TopologyNodeState offered, void *userdata, const char ***ret) {
        const Node *n = find_node(t, node_id);
        _cleanup_free_ bool *taken = NULL, *newly = NULL;
        _cleanup_free_ size_t *queue = NULL;
        _cleanup_free_ const char **list = NULL;
        size_t head = 0, tail = 0, count = 0, decided;

        if (!n) {
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        decided = node_index(t, n);

        taken = calloc(t->n_nodes, sizeof(bool));
        newly = calloc(t->n_nodes, sizeof(bool));
        /* Every push follows a distinct flow edge out of a node ruled out once. */
        queue = calloc(t->n_edges + 1, sizeof(size_t));
        list = calloc(t->n_nodes + 1, sizeof(char *));
        if (!taken || !newly || !queue || !list)
                return -ENOMEM;

        (void) mark_taken(t, n, route, taken);
        for (size_t i = 0; i < n->children.n; i++)
                queue[tail++] = n->children.at[i];

        while (head < tail) {
                size_t c = queue[head++];
                const Node *cn = &t->nodes[c];

                if (c == decided || taken[c] || newly[c] || cn->entry ||
                    state_of(ruled_out_already, cn->id, userdata) ||
                    (offered && state_of(offered, cn->id, userdata)))
                        continue;
                if (!all_in_edges_dead(t, c, decided, newly, ruled_out_already, finished, offered, userdata))
                        continue;

                newly[c] = true;
                list[count++] = cn->id;
                for (size_t i = 0; i < cn->children.n; i++)
                        queue[tail++] = cn->children.at[i];
        }

        *ret = TAKE_PTR(list);
        return 0;
}

int topology_rule_out(const Topology *t, const char *node_id, const char *route,
                      TopologyNodeState ruled_out_already, void *userdata, const char ***ret) {
        return topology_rule_out_offered(t, node_id, route, ruled_out_already, NULL, NULL, userdata, ret);
}
