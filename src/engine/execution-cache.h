/* What a node job needs of its execution that never changes during the run — the graph,
 * the settings of its nodes, the trigger — loaded and parsed once per execution instead of
 * once per node run, and shared by the worker threads.
 *
 * Only the immutable part is kept: the execution's status and deadline are read from the
 * database at every claim (store_execution_lock()), as before. */
#pragma once

#include "engine/graph-cache.h"
#include "engine/topology.h"
#include "store/store-executions.h"

typedef struct ExecutionCache ExecutionCache;

/* One execution's immutable part. Read-only for everybody; kept alive by its references
 * (one held by the cache while it is listed, one by each job using it). */
typedef struct CachedExecution {
        unsigned n_ref;
        ExecutionInfo info;
        const Topology *topology;       /* own_topology, or graph's */
        Topology *own_topology;         /* parsed from info.topology */
        CachedGraph *graph;             /* referenced while its topology is borrowed */
        bool has_loops;         /* some node of the graph is a loop */
} CachedExecution;

CachedExecution *cached_execution_ref(CachedExecution *x);
CachedExecution *cached_execution_unref(CachedExecution *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(CachedExecution *, cached_execution_unref);

/* max: how many executions are kept; the least recently used one goes first. */
int execution_cache_new(size_t max, ExecutionCache **ret);
ExecutionCache *execution_cache_free(ExecutionCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecutionCache *, execution_cache_free);

/* A reference to the execution's immutable part, loaded with db when not kept yet.
 * -ENOENT (no such execution, or its data was dropped), -EBADMSG (unreadable graph;
 * *ret_error says why when given). */
int execution_cache_get(ExecutionCache *c, Db *db, const char *id, CachedExecution **ret, char **ret_error);
/* Keeps an execution just created, from what its creator has (info taken, also on failure):
 * the first job of it needs no database read. topology (of graph, which is referenced) is
 * the parsed info.topology, borrowed; NULL: it is parsed. -EINVAL when it is unreadable. */
int execution_cache_add(ExecutionCache *c, ExecutionInfo *info, CachedGraph *graph, const Topology *topology);
/* Forgets an execution (it ended); jobs still holding it keep their reference. */
void execution_cache_drop(ExecutionCache *c, const char *id);
