/* Scopes of a run and what a node sees in one.
 *
 * A node runs once per scope: the top level (iteration ""), or one iteration of a loop's
 * body, named "<loop_id>:<index>" and, inside an iteration of an outer loop,
 * "<outer>/<loop_id>:<index>". A scope sees its own node runs and those of the scopes
 * around it; the innermost run of a node wins.
 *
 * Pure: these functions read node runs the engine loaded and build JSON. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "engine/run-plan.h"
#include "engine/topology.h"
#include "store/store-executions.h"

/* "<outer>/<loop_id>:<index>" (outer "" gives "<loop_id>:<index>"); NULL on ENOMEM. */
char *scope_child(const char *outer, const char *loop_id, unsigned index);
/* Splits a loop iteration scope; -EINVAL for "" or a malformed one. *ret_outer and
 * *ret_loop_id are malloc'ed. */
int scope_parse(const char *scope, char **ret_outer, char **ret_loop_id, unsigned *ret_index);
/* How deep candidate sits in scope's chain: 0 for scope itself, 1 for the scope around
 * it, …; -1 when candidate is not one of them. "" is in every chain. */
int scope_depth(const char *scope, const char *candidate);

/* The scopes whose runs a node in scope sees, innermost first, ending with "": for
 * "a:1/b:2" that is "a:1/b:2", "a:1", "". NULL-terminated; free with scope_chain_free(). */
char **scope_chain(const char *scope);
char **scope_chain_free(char **chain);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, scope_chain_free);

/* For each of rows[0..n), true when it is the run of its node that counts in scope.
 * ret must have room for n. */
void scope_select_rows(const NodeRunRow *rows, size_t n, const char *scope, bool *ret);

PlanState plan_state_from_node_run(NodeRunStatus s);
/* Sets the plan's node states from the runs that count in scope (nodes not in the graph
 * are skipped). */
int scope_fill_plan(RunPlan *p, const NodeRunRow *rows, size_t n, const char *scope);

/* The template context of a node in scope: {"trigger": payload, "<trigger_node_id>":
 * payload, "<node_id>": output of every finished node, "loop": {item, index, total}}.
 * rows must carry outputs; loop may be NULL. NULL on ENOMEM. */
json_t *scope_context(json_t *trigger_payload, const char *trigger_node_id, const NodeRunRow *rows, size_t n,
                      const char *scope, json_t *loop);

/* The input of node_id given its context: the trigger payload for a node without flow
 * parents (the current item for the body entries of loop_id, the innermost loop of the
 * scope, NULL at the top level), the output of its single flow parent, or
 * {parent_id: output} of its finished parents when it has several. */
json_t *scope_input(const Topology *t, const char *node_id, json_t *context, const char *loop_id);
