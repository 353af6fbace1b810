/* The workflows' graphs, kept by workflow id in most-recently-used order behind one mutex,
 * with a small hash index since a deployment may run many workflows. Loading and building
 * happen outside the locks: a thread that finds nothing current reads the graph with its
 * own connection, then publishes it unless another thread was quicker. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/engine-internal.h"
#include "engine/graph-cache.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

#define GRAPH_CACHE_BUCKETS 512u

/* --- One graph and its starts ------------------------------------------------------------ */

struct GraphStartSlot {
        GraphStartSlot *next;
        char *trigger_node_id;  /* NULL: from every entry node */
        bool invalid;           /* the graph cannot run from this trigger: */
        char *error;            /*   topology_build() said why (or nothing) */
        Topology *topology;
        GraphStart start;
};

static GraphStartSlot *start_slot_free(GraphStartSlot *s) {
        if (!s)
                return NULL;
        /* Kept texts hold references: their objects go with the graph. */
        json_write_drop(s->start.topology_json);
        json_write_drop(s->start.nodes);
        json_decref(s->start.topology_json);
        json_decref(s->start.nodes);
        plan_step_done(&s->start.step);
        topology_free(s->topology);
        free(s->trigger_node_id);
        free(s->error);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GraphStartSlot *, start_slot_free);

CachedGraph *cached_graph_unref(CachedGraph *g) {
        if (!g)
                return NULL;
        if (__atomic_sub_fetch(&g->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        while (g->starts) {
                GraphStartSlot *s = g->starts;

                g->starts = s->next;
                start_slot_free(s);
        }
        json_decref(g->workflow);
        json_decref(g->nodes);
        json_decref(g->edges);
        pthread_mutex_destroy(&g->lock);
        free(g);
        return NULL;
}

CachedGraph *cached_graph_ref(CachedGraph *g) {
        __atomic_add_fetch(&g->n_ref, 1, __ATOMIC_RELAXED);
        return g;
}

/* How often a graph is read again when the workflow changed while it was read. */
#define GRAPH_LOAD_ATTEMPTS 8

static int graph_load(Db *db, int64_t id, int64_t version, CachedGraph **ret) {
        int r;

        /* The version is read before and after the rest: when both agree, no change came in
         * between and the graph is exactly that version, which executions that share its
         * stored copy (execution_graphs) rely on. */
        for (unsigned attempt = 0; attempt < GRAPH_LOAD_ATTEMPTS; attempt++) {
                _cleanup_(cached_graph_unrefp) CachedGraph *g = NULL;
                int64_t after;

                g = calloc(1, sizeof(CachedGraph));
                if (!g)
                        return -ENOMEM;
                g->n_ref = 1;
                pthread_mutex_init(&g->lock, NULL);
                g->workflow_id = id;
                g->version = version;
                r = store_workflow_get(db, id, false, &g->workflow);
                if (r >= 0)
                        r = store_nodes_list_with_secrets(db, id, &g->nodes);
                if (r >= 0)
                        r = store_edges_list(db, id, &g->edges);
                if (r >= 0)
                        r = store_workflow_graph_version(db, id, &after);
                if (r < 0)
                        return r;
                if (after == version) {
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                version = after;
        }
        return -EBUSY;
}

static bool edge_label_is_attachment(const char *label) {
        return streq_ptr(label, "llm") || streq_ptr(label, "tool") || streq_ptr(label, "skill") ||
                streq_ptr(label, "output_parser");
}

/* [{node_id, edge_label, component_type, label, config}] of the nodes attached to node_id
 * (an agent's model and tools): they are not in the topology, so their settings travel
 * with the node that uses them. NULL on ENOMEM; an empty array when there are none. */
static json_t *node_attachments(const char *node_id, json_t *nodes, json_t *edges) {
        _cleanup_json_ json_t *list = json_array();
        json_t *edge, *node;
        size_t i, k;

        if (!list)
                return NULL;
        json_array_foreach(edges, i, edge) {
                const char *label = json_get_string(edge, "edge_label", NULL);
                const char *source = json_get_string(edge, "source_node_id", NULL);

                if (!edge_label_is_attachment(label) || !source ||
                    !streq_ptr(json_get_string(edge, "target_node_id", NULL), node_id))
                        continue;
                json_array_foreach(nodes, k, node) {
                        if (!streq_ptr(json_get_string(node, "node_id", NULL), source))
                                continue;
                        if (json_array_append_new(list, json_pack("{s:s, s:s, s:O, s:O, s:O}",
                                                                  "node_id", source, "edge_label", label,
                                                                  "component_type", json_object_get(node, "component_type"),
                                                                  "label", json_object_get(node, "label") ?: json_null(),
                                                                  "config", json_object_get(node, "config") ?: json_null())) < 0)
                                return NULL;
                        break;
                }
        }
        return TAKE_PTR(list);
}

/* {node_id: {component_type, label, config, interrupt_before, interrupt_after,
 * subworkflow_id, attachments?}} of the nodes in the graph: the node settings an execution
 * keeps. attachments is there for the nodes that have some (node_attachments()). */
static json_t *nodes_snapshot(const Topology *t, json_t *nodes, json_t *edges) {
        _cleanup_json_ json_t *snapshot = json_object();
        json_t *node;
        size_t i;

        if (!snapshot)
                return NULL;
        json_array_foreach(nodes, i, node) {
                const char *id = json_get_string(node, "node_id", NULL);
                json_t *entry, *attachments;

                if (!id || !topology_contains(t, id))
                        continue;
                entry = json_pack("{s:O, s:O, s:O, s:b, s:b, s:O}",
                                  "component_type", json_object_get(node, "component_type"),
                                  "label", json_object_get(node, "label") ?: json_null(),
                                  "config", json_object_get(node, "config") ?: json_null(),
                                  "interrupt_before", json_get_bool(node, "interrupt_before", false),
                                  "interrupt_after", json_get_bool(node, "interrupt_after", false),
                                  "subworkflow_id", json_object_get(node, "subworkflow_id") ?: json_null());
                if (json_object_set_new(snapshot, id, entry) < 0)
                        return NULL;
                attachments = node_attachments(id, nodes, edges);
                if (!attachments)
                        return NULL;
                if (json_array_size(attachments) == 0)
                        json_decref(attachments);
                else if (json_object_set_new(entry, "attachments", attachments) < 0)
                        return NULL;
        }
        return TAKE_PTR(snapshot);
}

/* The start from trigger_node_id, or why there is none (an invalid slot). */
static int start_build(CachedGraph *g, const char *trigger_node_id, GraphStartSlot **ret) {
        _cleanup_(start_slot_freep) GraphStartSlot *s = NULL;
        _cleanup_(run_plan_freep) RunPlan *plan = NULL;
        int r;

        s = calloc(1, sizeof(GraphStartSlot));
        if (!s)
                return -ENOMEM;
        if (trigger_node_id) {
                s->trigger_node_id = strdup(trigger_node_id);
                if (!s->trigger_node_id)
                        return -ENOMEM;
        }

        r = topology_build(g->nodes, g->edges, trigger_node_id, &s->topology, &s->error);
        if (r == -EINVAL) {
                s->invalid = true;
                *ret = TAKE_PTR(s);
                return 0;
        }
        if (r < 0)
                return r;
        r = run_plan_new(s->topology, NULL, &plan);
        if (r >= 0)
                r = run_plan_start(plan, &s->start.step);
        if (r < 0)
                return r;
        s->start.topology = s->topology;
        s->start.topology_json = topology_to_json(s->topology);
        s->start.nodes = nodes_snapshot(s->topology, g->nodes, g->edges);
        if (!s->start.topology_json || !s->start.nodes)
                return -ENOMEM;
        /* Every execution from here stores both: their text is written once, not each time. */
        (void) json_write_keep(s->start.topology_json);
        (void) json_write_keep(s->start.nodes);

        *ret = TAKE_PTR(s);
        return 0;
}

/* Called with g->lock held. */
static GraphStartSlot *start_find(CachedGraph *g, const char *trigger_node_id) {
        for (GraphStartSlot *s = g->starts; s; s = s->next)
                if (streq_ptr(s->trigger_node_id, trigger_node_id))
                        return s;
        return NULL;
}

static bool graph_has_node(CachedGraph *g, const char *node_id) {
        json_t *node;
        size_t i;

        json_array_foreach(g->nodes, i, node)
                if (streq_ptr(json_get_string(node, "node_id", NULL), node_id))
                        return true;
        return false;
}

static int start_answer(const GraphStartSlot *s, const GraphStart **ret, char **ret_error) {
        if (!s->invalid) {
                *ret = &s->start;
                return 0;
        }
        if (ret_error) {
                *ret_error = NULL;
                if (s->error) {
                        *ret_error = strdup(s->error);
                        if (!*ret_error)
                                return -ENOMEM;
                }
        }
        return -EINVAL;
}

int cached_graph_start(CachedGraph *g, const char *trigger_node_id, const GraphStart **ret, char **ret_error) {
        _cleanup_(start_slot_freep) GraphStartSlot *built = NULL;
        GraphStartSlot *s;
        int r;

        pthread_mutex_lock(&g->lock);
        s = start_find(g, trigger_node_id);
        pthread_mutex_unlock(&g->lock);
        if (s)
                return start_answer(s, ret, ret_error);

        /* A name that is no node of the graph is an error that is not kept: anyone may send
         * any name. */
        if (trigger_node_id && !graph_has_node(g, trigger_node_id)) {
                _cleanup_(topology_freep) Topology *t = NULL;

                r = topology_build(g->nodes, g->edges, trigger_node_id, &t, ret_error);
                return r < 0 ? r : -EINVAL;
        }

        r = start_build(g, trigger_node_id, &built);
        if (r < 0)
                return r;
        pthread_mutex_lock(&g->lock);
        /* Another thread may have built the same start meanwhile: one copy is kept. */
        s = start_find(g, trigger_node_id);
        if (!s) {
                s = TAKE_PTR(built);
                s->next = g->starts;
                g->starts = s;
        }
        pthread_mutex_unlock(&g->lock);
        return start_answer(s, ret, ret_error);
}

/* --- The cache ---------------------------------------------------------------------------- */

typedef struct CacheSlot CacheSlot;
struct CacheSlot {
        CachedGraph *graph;
        CacheSlot *prev, *next;         /* by use, most recent first */
        CacheSlot *bucket_next;         /* by workflow id */
};

struct GraphCache {
        pthread_mutex_t lock;
        CacheSlot *head, *tail;
        CacheSlot *buckets[GRAPH_CACHE_BUCKETS];
        size_t n, max;
};

int graph_cache_new(size_t max, GraphCache **ret) {
        GraphCache *c;

        c = calloc(1, sizeof(GraphCache));
        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->lock, NULL);
        c->max = MAX(max, (size_t) 1);
        *ret = c;
        return 0;
}

static CacheSlot **bucket_of(GraphCache *c, int64_t id) {
        return &c->buckets[(uint64_t) id % GRAPH_CACHE_BUCKETS];
}

/* Called with the lock held, as are the three below. */
static CacheSlot *slot_find(GraphCache *c, int64_t id) {
        for (CacheSlot *s = *bucket_of(c, id); s; s = s->bucket_next)
                if (s->graph->workflow_id == id)
                        return s;
        return NULL;
}

static void slot_push_front(GraphCache *c, CacheSlot *s) {
        s->prev = NULL;
        s->next = c->head;
        if (c->head)
                c->head->prev = s;
        else
                c->tail = s;
        c->head = s;
}

static void slot_unlink_use(GraphCache *c, CacheSlot *s) {
        if (s->prev)
                s->prev->next = s->next;
        else
                c->head = s->next;
        if (s->next)
                s->next->prev = s->prev;
        else
                c->tail = s->prev;
        s->prev = s->next = NULL;
}

static void slot_unlink(GraphCache *c, CacheSlot *s) {
        CacheSlot **p = bucket_of(c, s->graph->workflow_id);

        while (*p != s)
                p = &(*p)->bucket_next;
        *p = s->bucket_next;
        s->bucket_next = NULL;
        slot_unlink_use(c, s);
        c->n--;
}

static void slot_free(CacheSlot *s) {
        if (!s)
                return;
        cached_graph_unref(s->graph);
        free(s);
}

GraphCache *graph_cache_free(GraphCache *c) {
        if (!c)
                return NULL;
        while (c->head) {
                CacheSlot *s = c->head;

                slot_unlink(c, s);
                slot_free(s);
        }
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

/* The kept graph of id when it was read at version: moved to the front, with a new
 * reference. Called with the lock held. */
static CachedGraph *cache_take(GraphCache *c, int64_t id, int64_t version) {
        CacheSlot *s = slot_find(c, id);

        if (!s || s->graph->version != version)
                return NULL;
        if (s != c->head) {
                slot_unlink_use(c, s);
                slot_push_front(c, s);
        }
        return cached_graph_ref(s->graph);
}

/* Keeps g unless a graph as recent is kept already; answers a new reference to the one to
 * use. What is let go is freed by the caller, outside the lock (*ret_evicted). Called with
 * the lock held. */
static CachedGraph *cache_publish(GraphCache *c, CachedGraph *g, CacheSlot **spare, CacheSlot **ret_evicted) {
        CacheSlot *s = slot_find(c, g->workflow_id);

        *ret_evicted = NULL;
        if (s && s->graph->version == g->version)
                /* Another thread loaded the same version meanwhile. */
                return cache_take(c, g->workflow_id, g->version);
        if (s && s->graph->version > g->version)
                /* A connection behind the others (in an older snapshot) read an older graph:
                 * it runs on it, the newer one stays. */
                return cached_graph_ref(g);

        if (s) {
                /* Replaced in place: the old graph leaves in a slot of its own. */
                CacheSlot *old = TAKE_PTR(*spare);

                old->graph = s->graph;
                s->graph = cached_graph_ref(g);
                slot_unlink_use(c, s);
                slot_push_front(c, s);
                *ret_evicted = old;
                return cached_graph_ref(g);
        }

        s = TAKE_PTR(*spare);
        s->graph = cached_graph_ref(g);
        s->bucket_next = *bucket_of(c, g->workflow_id);
        *bucket_of(c, g->workflow_id) = s;
        slot_push_front(c, s);
        c->n++;
        if (c->n > c->max) {
                *ret_evicted = c->tail;
                slot_unlink(c, c->tail);
        }
        return cached_graph_ref(g);
}

/* Forgets a workflow that is gone. */
static void cache_drop(GraphCache *c, int64_t id) {
        CacheSlot *s;

        pthread_mutex_lock(&c->lock);
        s = slot_find(c, id);
        if (s)
                slot_unlink(c, s);
        pthread_mutex_unlock(&c->lock);
        slot_free(s);
}

static int cache_get(GraphCache *c, Db *db, int64_t id, int64_t version, CachedGraph **ret) {
        _cleanup_(cached_graph_unrefp) CachedGraph *loaded = NULL;
        _cleanup_free_ CacheSlot *spare = NULL;
        CacheSlot *evicted;
        CachedGraph *g;
        int r;

        pthread_mutex_lock(&c->lock);
        g = cache_take(c, id, version);
        pthread_mutex_unlock(&c->lock);
        if (g) {
                *ret = g;
                return 0;
        }

        r = graph_load(db, id, version, &loaded);
        if (r < 0)
                return r;
        spare = calloc(1, sizeof(CacheSlot));
        if (!spare)
                return -ENOMEM;

        pthread_mutex_lock(&c->lock);
        g = cache_publish(c, loaded, &spare, &evicted);
        pthread_mutex_unlock(&c->lock);

        /* Outside the lock: the last reference frees a whole graph. */
        slot_free(evicted);
        *ret = g;
        return 0;
}

int graph_cache_get(GraphCache *c, Db *db, int64_t workflow_id, CachedGraph **ret) {
        int64_t version;
        int r;

        r = store_workflow_graph_version(db, workflow_id, &version);
        if (r == -ENOENT)
                cache_drop(c, workflow_id);
        if (r < 0)
                return r;
        return cache_get(c, db, workflow_id, version, ret);
}

int graph_cache_get_by_slug(GraphCache *c, Db *db, const char *slug, CachedGraph **ret) {
        int64_t id, version;
        int r;

        r = store_workflow_graph_version_by_slug(db, slug, &id, &version);
        if (r < 0)
                return r;
        return cache_get(c, db, id, version, ret);
}

GraphCache *engine_graph_cache(Engine *e) {
        return e->graphs;
}
