/* The graph one execution runs: the workflow's flow nodes and edges reachable from the
 * trigger that started it, with what the orchestrator asks of it (entry nodes, successors
 * after a route, fan-in readiness, branches ruled out by routing, loop bodies).
 *
 * Built from the API shapes of docs/api.md: nodes as [NodeOut] ({node_id, component_type,
 * is_entry_point, …}) and edges as [EdgeOut] ({source_node_id, target_node_id, edge_type,
 * edge_label, condition_value, priority, id}). Only flow edges count: labels "",
 * "loop_body" and "loop_return"; attachment edges (llm, tool, skill, output_parser) do not.
 *
 * A Topology never changes once built, so any number of threads may query it at once.
 * Pure: no I/O. Strings returned are borrowed from the Topology.
 *
 * How the orchestrator drives a run with it (each node runs at most once per run, or once
 * per loop iteration for the nodes of a loop body):
 *   - it keeps per node: offered (a taken edge points at it; every entry node is offered
 *     at the start), finished, ruled out;
 *   - it starts every entry node that topology_ready() says is ready;
 *   - when node N finishes with route R: marks N finished, marks topology_successors(N, R)
 *     offered, marks topology_rule_out_offered(N, R, …) ruled out; then the candidates
 *     are the children (topology_children()) of N and of every node just ruled out: each
 *     one offered, not yet started, not ruled out and topology_ready() starts now.
 *   - the run is over when nothing is running and no candidate is left.
 * So a node with several flow parents (a merge, or any other node) runs once, after every
 * parent has finished or been ruled out, and a node after a switch still runs when the
 * branch it waits on was not taken. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/macro.h"

typedef struct Topology Topology;

/* trigger_node_id (may be NULL): keep only what the flow edges reach from that trigger, so
 * one canvas can hold several trigger branches and scratch nodes. Triggers and types the
 * registry marks not executable (ai_model, tools, …) are not part of the graph.
 * Entry nodes: those with is_entry_point; else the trigger's direct targets; without a
 * trigger, every node without a flow parent that is not the body of a loop.
 * -EINVAL with a message in *ret_error (malloc'ed; may be NULL to ignore) when the input is
 * not arrays of well-formed objects, node ids repeat, a flow edge names an unknown node, a
 * kept node has an unknown type, the trigger is unknown or not a trigger, nothing
 * executable remains, or flow edges form a cycle not closed by a loop's loop_return edge
 * (it would run forever). */
int topology_build(json_t *nodes, json_t *edges, const char *trigger_node_id,
                   Topology **ret, char **ret_error);
Topology *topology_free(Topology *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Topology *, topology_free);

/* The graph as JSON, stored with the execution so a restart resumes on the same graph even
 * if the workflow was edited meanwhile: {"version": 1, "trigger_node_id": …, "nodes":
 * [{node_id, component_type, entry}], "edges": [{source_node_id, target_node_id, edge_type,
 * edge_label, condition_value, priority, id}]}. topology_from_json() checks it as strictly
 * as topology_build() checks its input, without consulting the type registry (a restored
 * graph does not change when a type does). NULL from to_json on allocation failure. */
json_t *topology_to_json(const Topology *t);
int topology_from_json(json_t *j, Topology **ret, char **ret_error);

/* The trigger the graph was scoped to, or NULL. */
const char *topology_trigger_node_id(const Topology *t);
/* Every node of the graph, in workflow order. */
size_t topology_nodes(const Topology *t, const char *const **ret);
size_t topology_entry_nodes(const Topology *t, const char *const **ret);
bool topology_contains(const Topology *t, const char *node_id);
/* NULL when node_id is not in the graph. */
const char *topology_component_type(const Topology *t, const char *node_id);

/* What runs after node_id finished with route (NULL or "" = no route). When the node has
 * conditional out-edges only those count, and only the first (by priority, then id) whose
 * condition_value equals route is taken ("__other__" is an ordinary value, chosen by the
 * switch itself); otherwise every direct flow edge fans out. Targets "__end__" end the
 * branch. loop_body and loop_return edges are not followed here. *ret is a malloc'ed,
 * NULL-terminated array of borrowed ids, each once (empty for an unknown node); -ENOMEM. */
int topology_successors(const Topology *t, const char *node_id, const char *route, const char ***ret);

/* Flow parents (sources of "" edges into the node) and flow children (targets of its ""
 * edges, whatever the route), each once. */
size_t topology_parents(const Topology *t, const char *node_id, const char *const **ret);
size_t topology_children(const Topology *t, const char *node_id, const char *const **ret);

/* Loops: the body's entry nodes (loop_body targets); its completion nodes (sources of
 * loop_return edges into the loop, else the body entries), which all finish once per
 * iteration; and every node of the body (reached from the entries over flow and loop_body
 * edges without passing through the loop itself), whose state resets between iterations. */
size_t topology_loop_body(const Topology *t, const char *loop_id, const char *const **ret);
size_t topology_loop_completions(const Topology *t, const char *loop_id, const char *const **ret);
size_t topology_loop_members(const Topology *t, const char *loop_id, const char *const **ret);
bool topology_in_loop_body(const Topology *t, const char *loop_id, const char *node_id);

/* Per-run node state, answered by the orchestrator. */
typedef bool (*TopologyNodeState)(const char *node_id, void *userdata);

/* Fan-in readiness: true when every flow parent of node_id has finished or been ruled out
 * (vacuously for a node without parents); false for a node not in the graph. */
bool topology_ready(const Topology *t, const char *node_id, TopologyNodeState finished,
                    TopologyNodeState ruled_out, void *userdata);

/* The nodes that will never run now that node_id finished with route, so fan-in does not
 * wait for them: a node is ruled out when none of its incoming flow edges can still be
 * taken — each comes from node_id but was not taken, or from a node already ruled out
 * (ruled_out_already) or ruled out by this very call (so a skipped branch is ruled out
 * down its whole length). Entry nodes are never ruled out (the start took them).
 * Nodes already ruled out are not repeated. *ret is a malloc'ed NULL-terminated array.
 *
 * This form does not know which edges other finished nodes took, so a node skipped by two
 * different routing nodes is not ruled out; topology_rule_out_offered() is exact. */
int topology_rule_out(const Topology *t, const char *node_id, const char *route,
                      TopologyNodeState ruled_out_already, void *userdata, const char ***ret);

/* The same, also told which nodes have finished and which have been offered (see the top
 * of this file): an edge from a finished node into a node never offered was not taken, so
 * it cannot carry the run there either. */
int topology_rule_out_offered(const Topology *t, const char *node_id, const char *route,
                              TopologyNodeState ruled_out_already, TopologyNodeState finished,
                              TopologyNodeState offered, void *userdata, const char ***ret);
