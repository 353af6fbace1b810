/* The executions' immutable parts, a short list in most-recently-used order behind one
 * mutex: the cache holds as many executions as run side by side, so a scan is cheaper
 * than any index would be. Loading happens outside the lock. */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/execution-cache.h"

typedef struct CacheSlot CacheSlot;
struct CacheSlot {
        CachedExecution *execution;
        CacheSlot *prev, *next;
};

struct ExecutionCache {
        pthread_mutex_t lock;
        CacheSlot *head, *tail;         /* head: most recently used */
        size_t n, max;
};

CachedExecution *cached_execution_unref(CachedExecution *x) {
        if (!x)
                return NULL;
        if (__atomic_sub_fetch(&x->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        execution_info_done(&x->info);
        topology_free(x->own_topology);
        cached_graph_unref(x->graph);
        free(x);
        return NULL;
}

CachedExecution *cached_execution_ref(CachedExecution *x) {
        __atomic_add_fetch(&x->n_ref, 1, __ATOMIC_RELAXED);
        return x;
}

int execution_cache_new(size_t max, ExecutionCache **ret) {
        ExecutionCache *c;

        c = calloc(1, sizeof(ExecutionCache));
        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->lock, NULL);
        c->max = MAX(max, (size_t) 1);
        *ret = c;
        return 0;
}

static void slot_unlink(ExecutionCache *c, CacheSlot *s) {
        if (s->prev)
                s->prev->next = s->next;
        else
                c->head = s->next;
        if (s->next)
                s->next->prev = s->prev;
        else
                c->tail = s->prev;
        s->prev = s->next = NULL;
        c->n--;
}

static void slot_push_front(ExecutionCache *c, CacheSlot *s) {
        s->prev = NULL;
        s->next = c->head;
        if (c->head)
                c->head->prev = s;
        else
                c->tail = s;
        c->head = s;
        c->n++;
}

static void slot_free(CacheSlot *s) {
        cached_execution_unref(s->execution);
        free(s);
}

ExecutionCache *execution_cache_free(ExecutionCache *c) {
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

/* Called with the lock held. */
static CacheSlot *slot_find(ExecutionCache *c, const char *id) {
        for (CacheSlot *s = c->head; s; s = s->next)
                if (streq(s->execution->info.id, id))
                        return s;
        return NULL;
}

/* A hit moves to the front and gains a reference. Called with the lock held. */
static CachedExecution *cache_take(ExecutionCache *c, const char *id) {
        CacheSlot *s = slot_find(c, id);

        if (!s)
                return NULL;
        if (s != c->head) {
                slot_unlink(c, s);
                slot_push_front(c, s);
        }
        return cached_execution_ref(s->execution);
}

static bool graph_has_loops(const Topology *t) {
        const char *const *nodes;
        size_t n = topology_nodes(t, &nodes);

        for (size_t i = 0; i < n; i++)
                if (streq_ptr(topology_component_type(t, nodes[i]), "loop"))
                        return true;
        return false;
}

/* A cached execution of info (taken, also on failure) and its topology: graph's when given,
 * else parsed from info. */
static int execution_build(ExecutionInfo *info, CachedGraph *graph, const Topology *topology, CachedExecution **ret,
                           char **ret_error) {
        _cleanup_(cached_execution_unrefp) CachedExecution *x = NULL;
        int r;

        x = calloc(1, sizeof(CachedExecution));
        if (!x) {
                execution_info_done(info);
                return -ENOMEM;
        }
        x->n_ref = 1;
        x->info = *info;
        *info = (ExecutionInfo) {};
        if (topology) {
                x->graph = cached_graph_ref(graph);
                x->topology = topology;
        } else {
                r = topology_from_json(x->info.topology, &x->own_topology, ret_error);
                if (r < 0)
                        return r;
                x->topology = x->own_topology;
        }
        x->has_loops = graph_has_loops(x->topology);
        *ret = TAKE_PTR(x);
        return 0;
}

/* Keeps loaded unless another thread kept the same execution meanwhile (one copy is kept):
 * a reference to the kept one. */
static int cache_insert(ExecutionCache *c, CachedExecution *loaded, CachedExecution **ret) {
        CacheSlot *s, *evicted = NULL;
        CachedExecution *x;

        s = calloc(1, sizeof(CacheSlot));
        if (!s)
                return -ENOMEM;

        pthread_mutex_lock(&c->lock);
        x = cache_take(c, loaded->info.id);
        if (!x) {
                s->execution = cached_execution_ref(loaded);
                slot_push_front(c, s);
                s = NULL;
                if (c->n > c->max) {
                        evicted = c->tail;
                        slot_unlink(c, evicted);
                }
                x = cached_execution_ref(loaded);
        }
        pthread_mutex_unlock(&c->lock);

        free(s);
        if (evicted)
                slot_free(evicted);
        *ret = x;
        return 0;
}

int execution_cache_get(ExecutionCache *c, Db *db, const char *id, CachedExecution **ret, char **ret_error) {
        _cleanup_(cached_execution_unrefp) CachedExecution *loaded = NULL;
        _cleanup_(execution_info_done) ExecutionInfo info = {};
        CachedExecution *x;
        int r;

        pthread_mutex_lock(&c->lock);
        x = cache_take(c, id);
        pthread_mutex_unlock(&c->lock);
        if (x) {
                *ret = x;
                return 0;
        }

        r = store_execution_info(db, id, &info);
        if (r < 0)
                return r;
        r = execution_build(&info, NULL, NULL, &loaded, ret_error);
        if (r < 0)
                return r;
        return cache_insert(c, loaded, ret);
}

int execution_cache_add(ExecutionCache *c, ExecutionInfo *info, CachedGraph *graph, const Topology *topology) {
        _cleanup_(cached_execution_unrefp) CachedExecution *built = NULL, *kept = NULL;
        int r;

        r = execution_build(info, graph, topology, &built, NULL);
        if (r < 0)
                return r;
        return cache_insert(c, built, &kept);
}

void execution_cache_drop(ExecutionCache *c, const char *id) {
        CacheSlot *s;

        if (!c || !id)
                return;
        pthread_mutex_lock(&c->lock);
        s = slot_find(c, id);
        if (s)
                slot_unlink(c, s);
        pthread_mutex_unlock(&c->lock);
        if (s)
                slot_free(s);
}
