/* Edges of a workflow, answered as EdgeOut (docs/api.md "Edges"): {id, source_node_id,
 * target_node_id, edge_type, edge_label, condition_value, priority}.
 *
 * An "llm" edge also names its source (the ai_model node) in the target's
 * llm_model_config_id; removing or redirecting the edge clears that link again. The
 * workflow id handed in must already have been checked against the caller. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "store/db.h"

#define EDGE_END_NODE "__end__"

int store_edges_list(Db *db, int64_t workflow_id, json_t **ret);
/* EdgeOut; -ENOENT when absent. */
int store_edge_get(Db *db, int64_t workflow_id, int64_t id, json_t **ret);

/* Inserts a validated EdgeIn ({source_node_id, target_node_id, edge_type?, edge_label?,
 * condition_value?, priority?}) and its model link, without a transaction of its own and
 * without touching the workflow (import uses it inside its transaction). */
int store_edge_insert(Db *db, int64_t workflow_id, json_t *edge, int64_t *ret_id);
/* Inserts in a transaction and answers EdgeOut. */
int store_edge_create(Db *db, int64_t workflow_id, json_t *edge, json_t **ret);
/* Replaces every field with those of a validated, complete EdgeIn (the API merges the
 * patch into the current edge and checks the result), moving the model link along.
 * Answers EdgeOut. -ENOENT when absent. */
int store_edge_update(Db *db, int64_t workflow_id, int64_t id, json_t *edge, json_t **ret);
/* -ENOENT when absent. */
int store_edge_delete(Db *db, int64_t workflow_id, int64_t id);
