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

/* As store_node_runs_recover() after a crash, for one execution whose worker went away: if it
 * is live, its running node runs go back to queued (their attempt stays counted), and its
 * queued, paused and awaiting runs are answered. *ret_n is 0 for an execution that ended. */
int store_node_runs_recover_execution(Db *db, const char *execution_id, RecoveredRun **ret, size_t *ret_n);
