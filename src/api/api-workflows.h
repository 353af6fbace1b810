/* What the workflow-editing resources (api-workflows.c, api-nodes.c, api-edges.c) share:
 * the caller, the workflow named by the path, and the checks of node and edge bodies that
 * both the create endpoints and import apply.
 *
 * Body checks report two ways: field errors in FastAPI's shape ({"loc": ["body", …],
 * "msg", "type"}), and graph errors (an edge naming a node that does not exist, ports that
 * do not fit) as plain sentences, answered as {"detail": {"validation_errors": [...]}}. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/http.h"
#include "store/store-workflows.h"

StoreCaller api_caller(const HttpRequest *req);

/* The workflow {slug} of the path as the caller sees it. Returns 1 with *ret_id set, 0 when
 * resp already holds the 404, or a negative errno. */
int api_workflow_from_path(HttpRequest *req, HttpResponse *resp, int64_t *ret_id);

/* Checks a node body: the create rules (NodeIn) when current is NULL, else the update rules
 * against current (the stored NodeOut). References (subworkflow, credentials) must be
 * visible to the caller. Appends field errors; returns their number or negative errno. */
int api_node_check(HttpRequest *req, json_t *node, json_t *current, json_t *errors);

/* "Workflow has reached the limit of N nodes" when n_existing + n_new exceeds the limit. */
bool api_node_limit_reached(HttpRequest *req, int64_t n_existing, int64_t n_new, int64_t *ret_limit);

/* Field checks of an edge body (types, choices); create requires both endpoints. Appends
 * field errors; returns their number. */
int api_edge_check_fields(json_t *edge, bool create, json_t *errors);

/* Graph checks of a complete edge against the workflow's nodes (node_types maps node_id
 * to component_type): both ends exist, "__end__" only ends conditional edges, conditional
 * edges carry a condition_value, and the node types may be joined that way. Appends one
 * sentence per problem to messages; returns their number. */
int api_edge_check_graph(json_t *edge, json_t *node_types, json_t *messages);

/* An agent takes one model: the source of an "llm" edge into target among edges, other
 * than the edge whose "id" is except_id (0 for none), or NULL. */
const char *api_edges_model_of(json_t *edges, const char *target, int64_t except_id);
/* Appends a sentence and returns 1 when edge is an "llm" edge into a node that already has
 * a model among edges (but the one with id except_id). */
int api_edge_check_model(json_t *edge, json_t *edges, int64_t except_id, json_t *messages);

/* Appends each field error as "<prefix>.<loc after 'body'>: <msg>" to messages. */
int api_errors_to_messages(json_t *errors, const char *prefix, json_t *messages);

/* Appends one formatted sentence to messages. */
int api_message_append(json_t *messages, const char *format, ...) _printf_(2, 3);

/* 422 {"detail": {"validation_errors": messages}}; takes ownership of messages. */
int api_reply_validation_errors(HttpResponse *resp, json_t *messages);

/* Checks an import document (docs/api.md "Import") and creates the workflow for req's user:
 * resp gets 201 WorkflowOut or the 422. The D-Bus ImportWorkflow shares it. */
int api_workflow_import_document(HttpRequest *req, HttpResponse *resp, json_t *doc);

/* The trigger that fires a run: the one named, which must be a trigger of this workflow, or
 * the workflow's only manual trigger. Returns 1 with *ret_node_id (malloc'ed), 0 when resp
 * holds the 422, or a negative errno. (api-executions.c; the D-Bus Run shares it.) */
int api_execute_trigger(HttpRequest *req, HttpResponse *resp, int64_t workflow_id, const char *named,
                        char **ret_node_id);
