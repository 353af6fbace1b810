/* What the platform tools know of their daemon (platform-link.h). */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/platform-link.h"

struct PlatformLink {
        pthread_mutex_t lock;
        int64_t max_nodes;              /* under lock, as the rest */
        char *base_url, *unix_path;
};

int platform_link_new(int64_t max_nodes_per_workflow, PlatformLink **ret) {
        PlatformLink *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l->max_nodes = max_nodes_per_workflow;
        pthread_mutex_init(&l->lock, NULL);
        *ret = l;
        return 0;
}

PlatformLink *platform_link_free(PlatformLink *l) {
        if (!l)
                return NULL;
        pthread_mutex_destroy(&l->lock);
        free(l->base_url);
        free(l->unix_path);
        free(l);
        return NULL;
}

int64_t platform_link_max_nodes(PlatformLink *l) {
        int64_t n;

        if (!l)
                return 0;
        pthread_mutex_lock(&l->lock);
        n = l->max_nodes;
        pthread_mutex_unlock(&l->lock);
        return n;
}

void platform_link_set_max_nodes(PlatformLink *l, int64_t max_nodes_per_workflow) {
        pthread_mutex_lock(&l->lock);
        l->max_nodes = max_nodes_per_workflow;
        pthread_mutex_unlock(&l->lock);
}

int platform_link_set_api(PlatformLink *l, const char *base_url, const char *unix_path) {
        _cleanup_free_ char *url = NULL, *path = NULL, *old_url = NULL, *old_path = NULL;

        if (base_url && !(url = strdup(base_url)))
                return -ENOMEM;
        if (base_url && unix_path && !(path = strdup(unix_path)))
                return -ENOMEM;
        pthread_mutex_lock(&l->lock);
        old_url = l->base_url;
        old_path = l->unix_path;
        l->base_url = TAKE_PTR(url);
        l->unix_path = TAKE_PTR(path);
        pthread_mutex_unlock(&l->lock);
        return 0;
}

int platform_link_get_api(PlatformLink *l, char **ret_base_url, char **ret_unix_path) {
        _cleanup_free_ char *url = NULL, *path = NULL;
        int r = 0;

        if (!l)
                return -ENXIO;
        pthread_mutex_lock(&l->lock);
        if (!l->base_url)
                r = -ENXIO;
        else if (!(url = strdup(l->base_url)) || (l->unix_path && !(path = strdup(l->unix_path))))
                r = -ENOMEM;
        pthread_mutex_unlock(&l->lock);
        if (r < 0)
                return r;
        *ret_base_url = TAKE_PTR(url);
        *ret_unix_path = TAKE_PTR(path);
        return 0;
}
