/* Nodes of a workflow, each stored with its component config in one row, answered as
 * NodeOut (docs/api.md "Nodes"): {id, node_id, component_type, label, is_entry_point,
 * interrupt_before, interrupt_after, position_x, position_y, subworkflow_id, config,
 * updated_at}.
 *
 * LLM settings are kept only for ai_model nodes and trigger settings only for trigger_*
 * nodes; a human_confirmation node always interrupts before it runs. The workflow id
 * handed in must already have been checked against the caller. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "store/store-workflows.h"

#define NODE_ID_MAX 64
#define NODE_EXTRA_CONFIG_MAX (256 * 1024)

/* 1–64 of [A-Za-z0-9_-]. */
bool node_id_is_valid(const char *node_id);
bool node_type_keeps_llm_config(const char *component_type);
bool node_type_keeps_trigger_config(const char *component_type);
/* Whether the type keeps config.credential_id, and the credential type it must name (NULL:
 * any): triggers (a Telegram bot, …) and the tools that call a service of the owner's
 * (web_search: a 'tool' credential). */
bool node_type_keeps_credential(const char *component_type, const char **ret_credential_type);

/* How a webhook trigger's extra_config.secret reads in every answer of the store below
 * (sealed or not, it is never shown). */
#define NODE_SECRET_MASK "****"

int store_nodes_list(Db *db, int64_t workflow_id, json_t **ret);
/* As stored, secrets included (sealed): for the webhook's own check, never for answers. */
int store_nodes_list_with_secrets(Db *db, int64_t workflow_id, json_t **ret);
/* {node_id: component_type} of every node of the workflow. */
int store_nodes_types(Db *db, int64_t workflow_id, json_t **ret);
int store_nodes_count(Db *db, int64_t workflow_id, int64_t *ret);
/* NodeOut; -ENOENT when absent. */
int store_node_get(Db *db, int64_t workflow_id, const char *node_id, json_t **ret);
int store_node_get_with_secrets(Db *db, int64_t workflow_id, const char *node_id, json_t **ret);

/* Inserts a validated NodeIn (node_id set) without a transaction of its own and without
 * touching the workflow (import uses it inside its transaction). -EEXIST on a duplicate
 * node_id. */
int store_node_insert(Db *db, int64_t workflow_id, json_t *node);
/* Inserts and answers NodeOut. */
int store_node_create(Db *db, int64_t workflow_id, json_t *node, json_t **ret);
/* Applies a validated patch: top-level fields replace, config is merged key by key.
 * component_type and node_id are never changed. Answers NodeOut. */
int store_node_update(Db *db, int64_t workflow_id, const char *node_id, json_t *patch, json_t **ret);
/* Deletes the node, its edges in both directions, its schedule, and the model links that
 * point at it, in one transaction. -ENOENT when absent. */
int store_node_delete(Db *db, int64_t workflow_id, const char *node_id);

/* Sets (model_node_id != NULL) or clears the llm_model_config_id of node_id. Clearing
 * only happens while it still names only_if. No transaction of its own. */
int store_node_link_model(Db *db, int64_t workflow_id, const char *node_id, const char *model_node_id);
int store_node_unlink_model(Db *db, int64_t workflow_id, const char *node_id, const char *only_if);

/* 0 when credential id exists and the caller may use it (owner or admin) and, when type
 * is given, is of that credential_type; -ENOENT otherwise, -EMEDIUMTYPE for another type. */
int store_credential_check(Db *db, const StoreCaller *caller, int64_t id, const char *type);
