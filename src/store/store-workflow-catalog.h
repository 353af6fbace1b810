/* What the workflows of one owner can do, and who that owner is, for the agent tools that
 * look at or act on the platform (workflow_discover, workflow_create, platform_api). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "store/db.h"
#include "store/store-workflows.h"

/* The active workflows owned by the owner of workflow_id, oldest first:
 * [{slug, name, description, tags: [...], node_types: [distinct component types]}].
 * -ENOENT when workflow_id does not exist. */
int store_workflow_catalog(Db *db, int64_t workflow_id, json_t **ret);

/* The owner of workflow_id as a caller (is_admin from their role). -ENOENT when the
 * workflow does not exist, -EPERM when its owner is deactivated. */
int store_workflow_owner(Db *db, int64_t workflow_id, StoreCaller *ret);
