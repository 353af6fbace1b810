/* What the workflows of one owner can do, for the agent tools that look at the platform
 * (workflow_discover). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "store/db.h"

/* The active workflows owned by the owner of workflow_id, oldest first:
 * [{slug, name, description, tags: [...], node_types: [distinct component types]}].
 * -ENOENT when workflow_id does not exist. */
int store_workflow_catalog(Db *db, int64_t workflow_id, json_t **ret);
