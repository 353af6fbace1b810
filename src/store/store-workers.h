/* What the dedicated workers need of the database (pipelitd's side, src/daemon/worker-pool.c):
 * which workflows ask for one, and the node runs of an execution a worker held when it went
 * away. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "store/db.h"
#include "store/store-executions.h"

/* The workflows whose settings have a "worker" object: an array of {"id", "slug",
 * "is_active", "settings"}. */
int store_workflows_with_worker(Db *db, json_t **ret);
