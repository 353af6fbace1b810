/* What runs next in a run (run-plan.c), what a node sees in its scope (run-scope.c), and
 * the component table (component.c), without a database or threads. */

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/component.h"
#include "engine/node-types.h"
#include "engine/run-plan.h"
#include "engine/run-scope.h"

/* --- A component table of our own: switch runs, nothing else does ------------------------ */

static int fake_switch(NodeRun *run) {
        return node_run_output(run, "route", json_string("left"));
}

const Component components[] = {
        { "switch", fake_switch },
        { "merge", NULL },      /* listed without a function: cannot run */
        {},
};

/* --- Graphs ----------------------------------------------------------------------------------
 * Nodes "id:type" separated by spaces; edges "src>dst" with optional "?value" (conditional)
 * or "@label". A trigger_manual "trig" feeds the first node unless nodes name entries. */

static Topology *graph(const char *node_spec, const char *edge_spec) {
        _cleanup_free_ char *nodes_copy = strdup(node_spec), *edges_copy = strdup(edge_spec);
        _cleanup_json_ json_t *nodes = json_array(), *edges = json_array();
        _cleanup_free_ char *error = NULL;
        Topology *t = NULL;
        char *save = NULL;
        int id = 1;

        json_array_append_new(nodes, json_pack("{s:s, s:s}", "node_id", "trig", "component_type", "trigger_manual"));
        for (char *tok = strtok_r(nodes_copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                char *colon = strchr(tok, ':');

                ck_assert_ptr_nonnull(colon);
                *colon = 0;
                json_array_append_new(nodes, json_pack("{s:s, s:s}", "node_id", tok, "component_type", colon + 1));
        }
        save = NULL;
        for (char *tok = strtok_r(edges_copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                char *gt = strchr(tok, '>'), *value, *label;
                json_t *e;

                ck_assert_ptr_nonnull(gt);
                *gt = 0;
                value = strchr(gt + 1, '?');
                label = strchr(gt + 1, '@');
                if (value)
                        *value++ = 0;
                if (label)
                        *label++ = 0;
                e = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:i}", "source_node_id", tok, "target_node_id", gt + 1,
                              "edge_type", value ? "conditional" : "direct", "edge_label", label ?: "",
                              "condition_value", value, "id", id++);
                json_array_append_new(edges, e);
        }

        ck_assert_msg(topology_build(nodes, edges, "trig", &t, &error) == 0, "%s", error ?: "?");
        return t;
}

static bool contains(const char **list, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], id))
                        return true;
        return false;
}

#define ck_assert_ids(list, n, ...)                                                        \
        do {                                                                               \
                const char *_want[] = { __VA_ARGS__ };                                     \
                ck_assert_uint_eq((n), ELEMENTSOF(_want));                                 \
                for (size_t _i = 0; _i < ELEMENTSOF(_want); _i++)                          \
                        ck_assert_msg(contains((list), (n), _want[_i]), "%s missing", _want[_i]); \
        } while (0)

/* --- run-plan ------------------------------------------------------------------------------- */

START_TEST(test_chain) {
        _cleanup_(topology_freep) Topology *t = graph("a:transform b:transform c:transform", "trig>a a>b b>c");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        PlanStep s;

        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(run_plan_start(p, &s), 0);
        ck_assert_ids(s.run, s.n_run, "a");
        ck_assert_uint_eq(s.n_wait + s.n_rule_out, 0);
        plan_step_done(&s);
        ck_assert(run_plan_busy(p));

        ck_assert_int_eq(run_plan_advance(p, "a", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "b");
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_advance(p, "b", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "c");
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_advance(p, "c", NULL, &s), 0);
        ck_assert_uint_eq(s.n_run, 0);
        plan_step_done(&s);
        ck_assert(!run_plan_busy(p));
        ck_assert_int_eq(run_plan_get(p, "c"), PLAN_FINISHED);
        ck_assert_int_eq(run_plan_advance(p, "nope", NULL, &s), -ENOENT);
}
END_TEST

START_TEST(test_fan_in_runs_once_after_every_parent) {
        _cleanup_(topology_freep) Topology *t = graph("a:transform b:transform j:merge",
                                                      "trig>a trig>b a>j b>j");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        PlanStep s;

        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(run_plan_start(p, &s), 0);
        ck_assert_ids(s.run, s.n_run, "a", "b");
        plan_step_done(&s);

        /* The first parent offers the join, which waits. */
        ck_assert_int_eq(run_plan_advance(p, "a", NULL, &s), 0);
        ck_assert_uint_eq(s.n_run, 0);
        ck_assert_ids(s.wait, s.n_wait, "j");
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_get(p, "j"), PLAN_WAITING);

        /* The second starts it, and does not report it as newly waiting. */
        ck_assert_int_eq(run_plan_advance(p, "b", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "j");
        ck_assert_uint_eq(s.n_wait, 0);
        plan_step_done(&s);
}
END_TEST

START_TEST(test_switch_rules_out_the_untaken_branch) {
        _cleanup_(topology_freep) Topology *t = graph(
                "sw:switch l:transform r:transform r2:transform j:merge",
                "trig>sw sw>l?left sw>r?right r>r2 l>j r2>j");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        PlanStep s;

        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(run_plan_start(p, &s), 0);
        plan_step_done(&s);

        ck_assert_int_eq(run_plan_advance(p, "sw", "left", &s), 0);
        ck_assert_ids(s.run, s.n_run, "l");
        ck_assert_ids(s.rule_out, s.n_rule_out, "r", "r2");
        plan_step_done(&s);

        /* The merge after the switch still runs: its other parent is ruled out. */
        ck_assert_int_eq(run_plan_advance(p, "l", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "j");
        plan_step_done(&s);
}
END_TEST

START_TEST(test_switch_without_route_takes_nothing) {
        _cleanup_(topology_freep) Topology *t = graph("sw:switch l:transform r:transform j:merge",
                                                      "trig>sw sw>l?left sw>r?right l>j r>j");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        PlanStep s;

        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(run_plan_start(p, &s), 0);
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_advance(p, "sw", NULL, &s), 0);
        ck_assert_uint_eq(s.n_run, 0);
        ck_assert_ids(s.rule_out, s.n_rule_out, "l", "r", "j");
        plan_step_done(&s);
        ck_assert(!run_plan_busy(p));
}
END_TEST

START_TEST(test_states_from_elsewhere) {
        _cleanup_(topology_freep) Topology *t = graph("a:transform b:transform j:merge",
                                                      "trig>a trig>b a>j b>j");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        PlanStep s;

        /* As the engine rebuilds a plan from stored node runs: b already finished, j waits. */
        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(run_plan_set(p, "a", PLAN_ACTIVE), 0);
        ck_assert_int_eq(run_plan_set(p, "b", PLAN_FINISHED), 0);
        ck_assert_int_eq(run_plan_set(p, "j", PLAN_WAITING), 0);
        ck_assert_int_eq(run_plan_set(p, "ghost", PLAN_WAITING), -ENOENT);
        ck_assert_int_eq(run_plan_set(p, "a", (PlanState) 99), -EINVAL);
        ck_assert_int_eq(run_plan_advance(p, "a", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "j");
        plan_step_done(&s);
}
END_TEST

START_TEST(test_unblock_only_when_idle) {
        _cleanup_(topology_freep) Topology *t = graph("a:transform b:transform j:merge", "trig>a trig>b a>j b>j");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        PlanStep s;

        /* j waits on b, which nothing will ever run. */
        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(run_plan_set(p, "a", PLAN_ACTIVE), 0);
        ck_assert_int_eq(run_plan_set(p, "j", PLAN_WAITING), 0);
        ck_assert_int_eq(run_plan_unblock(p, &s), 0);
        ck_assert_uint_eq(s.n_run, 0);  /* a may still finish */
        plan_step_done(&s);

        ck_assert_int_eq(run_plan_set(p, "a", PLAN_FINISHED), 0);
        ck_assert_int_eq(run_plan_unblock(p, &s), 0);
        ck_assert_ids(s.run, s.n_run, "j");
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_get(p, "j"), PLAN_ACTIVE);
}
END_TEST

static const char loop_nodes[] = "each:loop body:transform ret:transform after:transform";
static const char loop_edges[] = "trig>each each>body@loop_body body>ret ret>each@loop_return each>after";

START_TEST(test_loop_scopes) {
        _cleanup_(topology_freep) Topology *t = graph(loop_nodes, loop_edges);
        _cleanup_(run_plan_freep) RunPlan *top = NULL, *body = NULL;
        PlanStep s;

        ck_assert_int_eq(run_plan_new(t, NULL, &top), 0);
        ck_assert(run_plan_in_scope(top, "each"));
        ck_assert(run_plan_in_scope(top, "after"));
        ck_assert(!run_plan_in_scope(top, "body"));

        ck_assert_int_eq(run_plan_new(t, "each", &body), 0);
        ck_assert(run_plan_in_scope(body, "body"));
        ck_assert(run_plan_in_scope(body, "ret"));
        ck_assert(!run_plan_in_scope(body, "each"));
        ck_assert(!run_plan_in_scope(body, "after"));
        ck_assert_int_eq(run_plan_new(t, "nope", &(RunPlan *) { NULL }), -ENOENT);

        ck_assert_int_eq(run_plan_start(body, &s), 0);
        ck_assert_ids(s.run, s.n_run, "body");
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_advance(body, "body", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "ret");
        plan_step_done(&s);
        /* The loop_return edge is not followed: the iteration is over. */
        ck_assert_int_eq(run_plan_advance(body, "ret", NULL, &s), 0);
        ck_assert_uint_eq(s.n_run + s.n_wait + s.n_rule_out, 0);
        plan_step_done(&s);
        ck_assert(!run_plan_busy(body));

        /* After the loop, its normal edge. */
        ck_assert_int_eq(run_plan_start(top, &s), 0);
        ck_assert_ids(s.run, s.n_run, "each");
        plan_step_done(&s);
        ck_assert_int_eq(run_plan_advance(top, "each", NULL, &s), 0);
        ck_assert_ids(s.run, s.n_run, "after");
        plan_step_done(&s);
}
END_TEST

/* --- run-scope ------------------------------------------------------------------------------- */

START_TEST(test_scope_names) {
        _cleanup_free_ char *a = scope_child("", "each", 3), *b = scope_child("each:3", "inner", 0);
        _cleanup_free_ char *outer = NULL, *loop_id = NULL;
        unsigned index;

        ck_assert_str_eq(a, "each:3");
        ck_assert_str_eq(b, "each:3/inner:0");
        ck_assert_int_eq(scope_parse(b, &outer, &loop_id, &index), 0);
        ck_assert_str_eq(outer, "each:3");
        ck_assert_str_eq(loop_id, "inner");
        ck_assert_uint_eq(index, 0);
        free(outer);
        free(loop_id);
        ck_assert_int_eq(scope_parse(a, &outer, &loop_id, &index), 0);
        ck_assert_str_eq(outer, "");
        ck_assert_str_eq(loop_id, "each");
        ck_assert_uint_eq(index, 3);
        free(outer);
        free(loop_id);
        outer = loop_id = NULL;

        ck_assert_int_eq(scope_parse("", &outer, &loop_id, &index), -EINVAL);
        ck_assert_int_eq(scope_parse("each", &outer, &loop_id, &index), -EINVAL);
        ck_assert_int_eq(scope_parse("each:", &outer, &loop_id, &index), -EINVAL);
        ck_assert_int_eq(scope_parse(":1", &outer, &loop_id, &index), -EINVAL);
        ck_assert_int_eq(scope_parse("each:1x", &outer, &loop_id, &index), -EINVAL);

        char **chain = scope_chain("each:3/inner:0");
        ck_assert_str_eq(chain[0], "each:3/inner:0");
        ck_assert_str_eq(chain[1], "each:3");
        ck_assert_str_eq(chain[2], "");
        ck_assert_ptr_null(chain[3]);
        scope_chain_free(chain);
        chain = scope_chain("");
        ck_assert_str_eq(chain[0], "");
        ck_assert_ptr_null(chain[1]);
        scope_chain_free(chain);

        ck_assert_int_eq(scope_depth("each:3/inner:0", "each:3/inner:0"), 0);
        ck_assert_int_eq(scope_depth("each:3/inner:0", "each:3"), 1);
        ck_assert_int_eq(scope_depth("each:3/inner:0", ""), 2);
        ck_assert_int_eq(scope_depth("", ""), 0);
        ck_assert_int_eq(scope_depth("each:3", "each:30"), -1);
        ck_assert_int_eq(scope_depth("each:30", "each:3"), -1);
        ck_assert_int_eq(scope_depth("each:3", "each:4"), -1);
}
END_TEST

static NodeRunRow row(const char *node_id, const char *iteration, NodeRunStatus status, json_t *output) {
        return (NodeRunRow) {
                .node_id = (char *) node_id,
                .iteration = (char *) iteration,
                .status = status,
                .output = output,
        };
}

START_TEST(test_context_sees_its_scope) {
        _cleanup_json_ json_t *payload = json_pack("{s:s}", "text", "hi"), *a = json_pack("{s:i}", "output", 1),
                                *b0 = json_pack("{s:i}", "output", 10), *b1 = json_pack("{s:i}", "output", 11),
                                *loop = json_pack("{s:i, s:i, s:i}", "item", 7, "index", 1, "total", 2),
                                *context = NULL;
        NodeRunRow rows[] = {
                row("a", "", NODE_RUN_DONE, a),
                row("each", "", NODE_RUN_LOOPING, NULL),
                row("b", "each:0", NODE_RUN_DONE, b0),
                row("b", "each:1", NODE_RUN_DONE, b1),
                row("gone", "", NODE_RUN_RULED_OUT, NULL),
        };
        bool counts[ELEMENTSOF(rows)];

        scope_select_rows(rows, ELEMENTSOF(rows), "each:1", counts);
        ck_assert(counts[0] && counts[1] && !counts[2] && counts[3] && counts[4]);

        context = scope_context(payload, "trig", rows, ELEMENTSOF(rows), "each:1", loop);
        ck_assert_ptr_nonnull(context);
        ck_assert_ptr_eq(json_object_get(context, "trigger"), payload);
        ck_assert_ptr_eq(json_object_get(context, "trig"), payload);
        ck_assert_ptr_eq(json_object_get(context, "a"), a);
        ck_assert_ptr_eq(json_object_get(context, "b"), b1);
        ck_assert_ptr_null(json_object_get(context, "each"));
        ck_assert_ptr_null(json_object_get(context, "gone"));
        ck_assert_ptr_eq(json_object_get(context, "loop"), loop);
        json_decref(context);

        /* At the top level the iterations' runs are out of sight. */
        context = scope_context(payload, NULL, rows, ELEMENTSOF(rows), "", NULL);
        ck_assert_ptr_null(json_object_get(context, "b"));
        ck_assert_ptr_null(json_object_get(context, "loop"));
        ck_assert_uint_eq(json_object_size(context), 2);
}
END_TEST

START_TEST(test_inner_run_wins) {
        NodeRunRow rows[] = {
                row("x", "each:0/in:1", NODE_RUN_DONE, NULL),
                row("x", "each:0", NODE_RUN_QUEUED, NULL),
                row("x", "", NODE_RUN_FAILED, NULL),
        };
        bool counts[3];

        scope_select_rows(rows, 3, "each:0/in:1", counts);
        ck_assert(counts[0] && !counts[1] && !counts[2]);
        scope_select_rows(rows, 3, "each:0", counts);
        ck_assert(!counts[0] && counts[1] && !counts[2]);
        scope_select_rows(rows, 3, "each:0/in:2", counts);
        ck_assert(!counts[0] && counts[1] && !counts[2]);
}
END_TEST

START_TEST(test_fill_plan_from_rows) {
        _cleanup_(topology_freep) Topology *t = graph("a:transform b:transform j:merge", "trig>a trig>b a>j b>j");
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        NodeRunRow rows[] = {
                row("a", "", NODE_RUN_RUNNING, NULL),
                row("b", "", NODE_RUN_DONE, NULL),
                row("j", "", NODE_RUN_WAITING, NULL),
                row("elsewhere", "", NODE_RUN_DONE, NULL), /* not in the graph: skipped */
        };

        ck_assert_int_eq(run_plan_new(t, NULL, &p), 0);
        ck_assert_int_eq(scope_fill_plan(p, rows, ELEMENTSOF(rows), ""), 0);
        ck_assert_int_eq(run_plan_get(p, "a"), PLAN_ACTIVE);
        ck_assert_int_eq(run_plan_get(p, "b"), PLAN_FINISHED);
        ck_assert_int_eq(run_plan_get(p, "j"), PLAN_WAITING);
        ck_assert_int_eq(plan_state_from_node_run(NODE_RUN_RULED_OUT), PLAN_RULED_OUT);
        ck_assert_int_eq(plan_state_from_node_run(NODE_RUN_CANCELLED), PLAN_STOPPED);
        ck_assert_int_eq(plan_state_from_node_run(NODE_RUN_LOOPING), PLAN_ACTIVE);
}
END_TEST

START_TEST(test_inputs) {
        _cleanup_(topology_freep) Topology *t = graph(loop_nodes, loop_edges);
        _cleanup_(topology_freep) Topology *fan = graph("a:transform b:transform j:merge", "trig>a trig>b a>j b>j");
        _cleanup_json_ json_t *context = json_pack("{s:{s:s}, s:{s:i}, s:{s:i}, s:{s:i}}", "trigger", "text", "hi",
                                                   "loop", "item", 7, "body", "output", 1, "a", "output", 2);
        _cleanup_json_ json_t *entry = scope_input(t, "each", context, NULL), *first = NULL, *second = NULL,
                                *join = NULL;

        ck_assert_str_eq(json_string_value(json_object_get(entry, "text")), "hi");
        first = scope_input(t, "body", context, "each");
        ck_assert_int_eq(json_integer_value(first), 7);
        second = scope_input(t, "ret", context, "each");
        ck_assert_int_eq(json_integer_value(json_object_get(second, "output")), 1);

        /* Several parents: a map of those that finished. */
        join = scope_input(fan, "j", context, NULL);
        ck_assert_uint_eq(json_object_size(join), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(join, "a"), "output")), 2);
}
END_TEST

/* --- component.c ---------------------------------------------------------------------------- */

START_TEST(test_component_table) {
        _cleanup_json_ json_t *types = node_types_to_json();

        ck_assert_ptr_nonnull(component_find("switch"));
        ck_assert_ptr_null(component_find("merge"));
        ck_assert_ptr_null(component_find("nope"));
        ck_assert_ptr_null(component_find(NULL));

        ck_assert(json_is_true(json_object_get(json_object_get(types, "switch"), "implemented")));
        ck_assert(json_is_false(json_object_get(json_object_get(types, "merge"), "implemented")));
        ck_assert(json_is_true(json_object_get(json_object_get(types, "trigger_manual"), "implemented")));
}
END_TEST

START_TEST(test_node_run_helpers) {
        volatile bool cancelled = false;
        NodeRun run = { .cancelled = &cancelled };

        ck_assert_int_eq(node_run_fail(&run, "http", "status %d", 500), -EINVAL);
        ck_assert_str_eq(run.error, "status 500");
        ck_assert_str_eq(run.error_code, "http");
        ck_assert_int_eq(node_run_fail(&run, NULL, "again"), -EINVAL);
        ck_assert_str_eq(run.error, "again");
        ck_assert_ptr_null(run.error_code);

        ck_assert_int_eq(node_run_output(&run, "a", json_integer(1)), 0);
        ck_assert_int_eq(node_run_output(&run, "b", json_integer(2)), 0);
        ck_assert_uint_eq(json_object_size(run.output), 2);
        ck_assert_int_eq(node_run_output(&run, "c", NULL), -ENOMEM);

        ck_assert(!node_run_should_stop(&run));
        cancelled = true;
        ck_assert(node_run_should_stop(&run));
        cancelled = false;
        run.deadline = now_monotonic_usec() - 1;
        ck_assert(node_run_should_stop(&run));
        run.deadline = now_monotonic_usec() + 60 * 1000000ULL;
        ck_assert(!node_run_should_stop(&run));

        run.route = strdup("left");
        run.loop_items = json_array();
        node_run_done(&run);
        ck_assert_ptr_null(run.output);
        ck_assert_ptr_null(run.error);
        ck_assert_ptr_null(run.route);
        ck_assert_ptr_null(run.loop_items);
        node_run_done(&run);
}
END_TEST

static Suite *run_plan_suite(void) {
        Suite *s = suite_create("run-plan");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_chain);
        tcase_add_test(tc, test_fan_in_runs_once_after_every_parent);
        tcase_add_test(tc, test_switch_rules_out_the_untaken_branch);
        tcase_add_test(tc, test_switch_without_route_takes_nothing);
        tcase_add_test(tc, test_states_from_elsewhere);
        tcase_add_test(tc, test_unblock_only_when_idle);
        tcase_add_test(tc, test_loop_scopes);
        tcase_add_test(tc, test_scope_names);
        tcase_add_test(tc, test_context_sees_its_scope);
        tcase_add_test(tc, test_inner_run_wins);
        tcase_add_test(tc, test_fill_plan_from_rows);
        tcase_add_test(tc, test_inputs);
        tcase_add_test(tc, test_component_table);
        tcase_add_test(tc, test_node_run_helpers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(run_plan_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
