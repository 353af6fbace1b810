/* The agents' workspaces: a folder per agent node, in which its run_command tool runs
 * commands and keeps their files from one call and one execution to the next:
 * <StateDirectory>/workspaces/<workflow id>/<agent node id> (laid out and shared with the
 * sandbox as sandbox.h says). They go with their workflow. */
#pragma once

#include <stdint.h>

#include "store/db.h"

/* Where they live: <state_directory>/workspaces. Takes back the grants a crash may have
 * left on their gates (no run holds one yet). Once, before the workers start. */
int workspaces_init(const char *state_directory);

/* The folder that holds them; NULL before workspaces_init(). */
const char *workspaces_root(void);

/* The workspace's name below the root for an agent node of a workflow (malloc'ed);
 * -EINVAL for a node id that cannot be one. */
int workspaces_name(int64_t workflow_id, const char *node_id, char **ret);

/* Removes the workspaces of a workflow that was deleted: at once out of the way, then file
 * by file on a thread of its own. Logs what it cannot remove. */
void workspaces_remove_workflow(int64_t workflow_id);

/* Removes those of workflows that are no longer in db (deleted with their owner, or while
 * the daemon was not there to remove them) and what an earlier removal left. Short
 * statements; the removing happens on a thread of its own. */
int workspaces_sweep(Db *db);
