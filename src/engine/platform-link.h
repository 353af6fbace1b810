/* What the agent tools that act on the platform itself (workflow_create, platform_api) need
 * to know about the daemon they run in: its node limit, and where its own REST API listens.
 * The engine owns one (engine_platform_link()) and hands it to every node run
 * (NodeRun.platform). The address is learnt only once the server listens, after the workers
 * started, and the limit may change with a reload: both are kept under a lock. */
#pragma once

#include <stdint.h>

#include "common/macro.h"

typedef struct PlatformLink PlatformLink;

int platform_link_new(int64_t max_nodes_per_workflow, PlatformLink **ret);
PlatformLink *platform_link_free(PlatformLink *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(PlatformLink *, platform_link_free);

/* [Limits] MaxNodesPerWorkflow=: 0 for no limit (also when l is NULL). */
int64_t platform_link_max_nodes(PlatformLink *l);
void platform_link_set_max_nodes(PlatformLink *l, int64_t max_nodes_per_workflow);

/* Where the REST API answers on this host: base_url "http://127.0.0.1:8080" (no trailing
 * slash), or, with unix_path set, the socket to connect to, base_url then naming only the
 * Host. NULL base_url: it is not known (any more). */
int platform_link_set_api(PlatformLink *l, const char *base_url, const char *unix_path);
/* Copies of both (unix_path may come back NULL). -ENXIO when not known. */
int platform_link_get_api(PlatformLink *l, char **ret_base_url, char **ret_unix_path);
