/* The graph of a workflow — its row, its nodes and edges, and what an execution from each
 * of its triggers starts with — read and parsed once per change of the workflow instead of
 * once per execution start, and shared by every thread that starts executions (the I/O
 * thread for the API and webhooks, the workers for subworkflows and error handlers).
 *
 * Every lookup asks the database whether the kept graph is still the workflow's, with one
 * read of workflows.graph_version, which triggers change with every change of the
 * workflow's row, nodes or edges (migration 0005): the very next lookup after a change
 * reads the new graph. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "common/macro.h"
#include "engine/run-plan.h"
#include "engine/topology.h"
#include "store/db.h"

typedef struct Engine Engine;
typedef struct GraphCache GraphCache;
typedef struct GraphStartSlot GraphStartSlot;

/* What an execution from one trigger starts with (execution_start_prepare()). Read-only,
 * valid while the graph it came from is held. */
typedef struct GraphStart {
        const Topology *topology;       /* the trigger-scoped graph */
        json_t *topology_json;          /* topology_to_json() */
        json_t *nodes;                  /* {node_id: {component_type, label, config, interrupt_before,
                                         * interrupt_after, subworkflow_id}} of the nodes in the
                                         * topology */
        PlanStep step;                  /* run_plan_start() of the whole topology */
        /* The one field written after it was built: the execution_graphs row an execution
         * insert last stored it as (a hint, see ExecutionNew), read and written atomically. */
        int64_t graph_id_hint;
} GraphStart;

/* One workflow at one graph_version. The JSON is read-only for everybody; the graph is kept
 * alive by its references (one held by the cache while it is listed, one by each user). */
typedef struct CachedGraph {
        int64_t workflow_id;
        int64_t version;        /* graph_version: exactly the one read (graph_load()) */
        json_t *workflow;       /* WorkflowOut without nodes and edges */
        json_t *nodes;          /* [NodeOut], store_nodes_list() */
        json_t *edges;          /* [EdgeOut], store_edges_list() */

        /* graph-cache.c's: the reference count and the starts built so far, per trigger. */
        unsigned n_ref;
        pthread_mutex_t lock;
        GraphStartSlot *starts;
} CachedGraph;

CachedGraph *cached_graph_ref(CachedGraph *g);
CachedGraph *cached_graph_unref(CachedGraph *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(CachedGraph *, cached_graph_unref);

/* What an execution started from trigger_node_id (NULL: from every entry node) begins with,
 * built on first use and kept with the graph; *ret is borrowed from g. -EINVAL with
 * *ret_error (malloc'ed; may be NULL to ignore) when the graph cannot run from there, as
 * topology_build() says. */
int cached_graph_start(CachedGraph *g, const char *trigger_node_id, const GraphStart **ret, char **ret_error);

/* max: how many workflows are kept; the least recently used one goes first. */
int graph_cache_new(size_t max, GraphCache **ret);
GraphCache *graph_cache_free(GraphCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(GraphCache *, graph_cache_free);

/* A reference to the graph of workflow id as the database holds it now; db (the caller's
 * connection) reads the version and, when the kept graph is older, the graph. -ENOENT
 * when the workflow is gone. */
int graph_cache_get(GraphCache *c, Db *db, int64_t workflow_id, CachedGraph **ret);
/* The same for the workflow of slug, whoever owns it. */
int graph_cache_get_by_slug(GraphCache *c, Db *db, const char *slug, CachedGraph **ret);

/* The cache of an engine (engine_new() makes it), for the threads that look graphs up
 * without starting an execution: webhooks find their trigger in it. */
GraphCache *engine_graph_cache(Engine *e);
