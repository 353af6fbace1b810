/* What runs next in one scope of an execution: the top level of the graph, or one iteration
 * of a loop's body. The engine fills in where each node stands (from the execution's node
 * runs), tells the plan that a node finished with a route, and writes down what the plan
 * decides: the nodes to queue now, the nodes newly offered that wait for other parents
 * (fan-in), and the nodes that will never run in this scope (ruled out by routing).
 *
 * It follows the procedure at the top of topology.h. Pure: no I/O, no clock. Node ids in
 * the answers are borrowed from the Topology. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/macro.h"
#include "engine/topology.h"

typedef enum PlanState {
        PLAN_UNSEEN,            /* not offered yet */
        PLAN_WAITING,           /* offered, waits for other parents */
        PLAN_ACTIVE,            /* queued, running, or a loop whose body runs */
        PLAN_FINISHED,
        PLAN_RULED_OUT,
        PLAN_STOPPED,           /* failed or cancelled */
        _PLAN_STATE_MAX,
        _PLAN_STATE_INVALID = -22,
} PlanState;

typedef struct RunPlan RunPlan;

/* loop_id NULL: the top level, every node outside loop bodies; else the direct body of that
 * loop (not the bodies of loops nested in it). -ENOENT when loop_id is not in the graph. */
int run_plan_new(const Topology *t, const char *loop_id, RunPlan **ret);
RunPlan *run_plan_free(RunPlan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(RunPlan *, run_plan_free);

/* Any node of the graph may be set: a node outside the scope still counts as a parent.
 * -ENOENT for a node not in the graph. */
int run_plan_set(RunPlan *p, const char *node_id, PlanState state);
PlanState run_plan_get(const RunPlan *p, const char *node_id);
bool run_plan_in_scope(const RunPlan *p, const char *node_id);
/* Some node of the scope is waiting or active. */
bool run_plan_busy(const RunPlan *p);

typedef struct PlanStep {
        const char **run;       /* queue these now */
        const char **wait;      /* newly offered, waiting for other parents */
        const char **rule_out;  /* will never run in this scope */
        size_t n_run, n_wait, n_rule_out;
} PlanStep;

void plan_step_done(PlanStep *s);

/* Offers the scope's entry nodes (the graph's entries, or the loop's body). */
int run_plan_start(RunPlan *p, PlanStep *ret);
/* node_id finished with route (NULL: none): offers and rules out what follows. */
int run_plan_advance(RunPlan *p, const char *node_id, const char *route, PlanStep *ret);
/* Only a finishing node changes the states, so when no node of the scope is active, the
 * nodes still waiting would wait forever: this starts them (nothing when some node is
 * active). A safety net; the rules above leave nothing waiting once the scope is idle. */
int run_plan_unblock(RunPlan *p, PlanStep *ret);
