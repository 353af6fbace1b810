/* The checks of workflow, node and edge bodies that the API's create and update endpoints,
 * the import (workflow-import.h) and the agent's workflow_create tool share. They read the
 * database on behalf of a caller (references must be visible to them) and know nothing of
 * HTTP.
 *
 * They report two ways: field errors in FastAPI's shape ({"loc": ["body", …], "msg",
 * "type"}), and graph errors (an edge naming a node that does not exist, ports that do not
 * fit) as plain sentences. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/macro.h"
#include "store/db.h"
#include "store/store-workflows.h"

/* Field errors of a workflow body (the create rules, or the update rules when !create);
 * error_handler_workflow_id must be visible to caller. Appends them to errors; returns 0 or
 * negative errno. (workflow-checks.c) */
int workflow_body_check(Db *db, const StoreCaller *caller, json_t *body, bool create, json_t *errors);

/* Checks a node body: the create rules (NodeIn) when current is NULL, else the update rules
 * against current (the stored NodeOut). References (subworkflow, credentials) must be
 * visible to caller. Appends field errors; returns their number or negative errno.
 * (node-checks.c) */
int node_body_check(Db *db, const StoreCaller *caller, json_t *node, json_t *current, json_t *errors);

/* Field checks of an edge body (types, choices); create requires both endpoints. Appends
 * field errors; returns their number. (edge-checks.c) */
int edge_body_check(json_t *edge, bool create, json_t *errors);

/* Graph checks of a complete edge against the workflow's nodes (node_types maps node_id
 * to component_type): both ends exist, "__end__" only ends conditional edges, conditional
 * edges carry a condition_value, and the node types may be joined that way. Appends one
 * sentence per problem to messages; returns their number. */
int edge_graph_check(json_t *edge, json_t *node_types, json_t *messages);

/* An agent takes one model: the source of an "llm" edge into target among edges, other
 * than the edge whose "id" is except_id (0 for none), or NULL. */
const char *edges_model_of(json_t *edges, const char *target, int64_t except_id);
/* Appends a sentence and returns 1 when edge is an "llm" edge into a node that already has
 * a model among edges (but the one with id except_id). */
int edge_model_check(json_t *edge, json_t *edges, int64_t except_id, json_t *messages);

/* Appends each field error as "<prefix>.<loc after 'body'>: <msg>" to messages. */
int check_errors_to_messages(json_t *errors, const char *prefix, json_t *messages);

/* Appends one formatted sentence to messages. */
int check_message_append(json_t *messages, const char *format, ...) _printf_(2, 3);
