/* The logic and output components run directly, as the orchestrator runs them: switch
 * routing (rules, paths with and without prefixes, fallback, no branch), assertion, filter,
 * merge, loop, wait and reply_chat, on success and on bad settings, and the component table
 * against the node type registry. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "engine/components/components.h"
#include "engine/components/registry.h"
#include "engine/node-types.h"
#include "node-run-test.h"

static const char context_text[] =
        "{"
        "  \"trigger\": {\"text\": \"I want a refund\", \"n\": 3},"
        "  \"cat_1\": {\"category\": \"billing\", \"confidence\": 0.9},"
        "  \"fetch\": {\"items\": [{\"name\": \"a\", \"price\": 5}, {\"name\": \"b\", \"price\": 15},"
        "                        {\"name\": \"c\", \"price\": 25}], \"count\": 3},"
        "  \"code_1\": {\"output\": [1, 2, 3]},"
        "  \"code_2\": {\"output\": [4]},"
        "  \"obj_1\": {\"output\": {\"a\": 1, \"b\": 2}},"
        "  \"obj_2\": {\"output\": {\"b\": 3, \"c\": 4}},"
        "  \"text_1\": {\"output\": \"x\"}"
        "}";

/* Every port the component wrote is an output port of its type in the registry. */
static void assert_ports_registered(const TestRun *t) {
        const NodeTypeSpec *spec = node_type_find(t->run.component_type);
        const char *port;
        json_t *value;

        ck_assert_ptr_nonnull(spec);
        json_object_foreach(t->run.output, port, value) {
                bool found = false;

                for (size_t i = 0; i < NODE_TYPE_MAX_PORTS && spec->outputs[i].name; i++)
                        found = found || streq(spec->outputs[i].name, port);
                ck_assert_msg(found, "%s writes port '%s', which the registry does not list",
                              t->run.component_type, port);
        }
}

static TestRun *run_ok(ComponentFunc func, const char *type, const char *extra_config, const char *input) {
        TestRun *t = test_run_new(type, extra_config, context_text, input);
        int r = func(&t->run);

        ck_assert_msg(r == 0, "%s failed: %s (%s)", type, t->run.error ?: "?", t->run.error_code ?: "?");
        ck_assert_ptr_null(t->run.error);
        ck_assert_ptr_nonnull(t->run.output);
        assert_ports_registered(t);
        return t;
}

static TestRun *run_failing(ComponentFunc func, const char *type, const char *extra_config,
                            const char *input, const char *error_code) {
        TestRun *t = test_run_new(type, extra_config, context_text, input);
        int r = func(&t->run);

        ck_assert_failed(t, r, error_code);
        return t;
}

/* --- switch ------------------------------------------------------------------------------ */

START_TEST(test_switch_first_match_routes) {
        TestRun *t = run_ok(component_switch, "switch",
                            "{\"rules\": ["
                            " {\"id\": \"r_tech\", \"field\": \"node_outputs.cat_1.category\", \"operator\": \"equals\", \"value\": \"tech\"},"
                            " {\"id\": \"r_billing\", \"label\": \"Billing\", \"field\": \"node_outputs.cat_1.category\", \"operator\": \"equals\", \"value\": \"billing\"},"
                            " {\"id\": \"r_any\", \"field\": \"trigger.text\", \"operator\": \"is_not_empty\"}]}",
                            NULL);

        ck_assert_str_eq(t->run.route, "r_billing");
        ck_assert_output(t, "{\"route\": \"r_billing\"}");
        test_run_free(t);
}
END_TEST

START_TEST(test_switch_path_forms) {
        static const char *const fields[] = {
                "node_outputs.cat_1.category",
                "cat_1.category",
                "state.node_outputs.cat_1.category",
                "state.cat_1.category",
        };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                char config[512];
                TestRun *t;

                snprintf(config, sizeof(config),
                         "{\"rules\": [{\"id\": \"hit\", \"field\": \"%s\", \"operator\": \"equals\", \"value\": \"billing\"}]}",
                         fields[i]);
                t = run_ok(component_switch, "switch", config, NULL);
                ck_assert_msg(t->run.route && streq(t->run.route, "hit"), "field %s did not match", fields[i]);
                test_run_free(t);
        }
}
END_TEST

START_TEST(test_switch_reads_trigger_input_and_items) {
        TestRun *t = run_ok(component_switch, "switch",
                            "{\"rules\": ["
                            " {\"id\": \"a\", \"field\": \"trigger.text\", \"operator\": \"contains\", \"value\": \"nothing\"},"
                            " {\"id\": \"b\", \"field\": \"input.score\", \"operator\": \"gt\", \"value\": 10}]}",
                            "{\"score\": 42}");

        ck_assert_str_eq(t->run.route, "b");
        test_run_free(t);

        t = run_ok(component_switch, "switch",
                   "{\"rules\": [{\"id\": \"second\", \"field\": \"fetch.items.1.name\", \"operator\": \"equals\", \"value\": \"b\"}]}",
                   NULL);
        ck_assert_str_eq(t->run.route, "second");
        test_run_free(t);
}
END_TEST

START_TEST(test_switch_fallback) {
        static const char *const fallbacks[] = { "true", "\"true\"", "1" };

        for (size_t i = 0; i < ELEMENTSOF(fallbacks); i++) {
                char config[256];
                TestRun *t;

                snprintf(config, sizeof(config),
                         "{\"enable_fallback\": %s, \"rules\": [{\"id\": \"r1\", \"field\": \"cat_1.category\","
                         " \"operator\": \"equals\", \"value\": \"sales\"}]}", fallbacks[i]);
                t = run_ok(component_switch, "switch", config, NULL);
                ck_assert_str_eq(t->run.route, "__other__");
                ck_assert_output(t, "{\"route\": \"__other__\"}");
                test_run_free(t);
        }
}
END_TEST

START_TEST(test_switch_no_match_takes_no_branch) {
        TestRun *t = run_ok(component_switch, "switch",
                            "{\"enable_fallback\": false, \"rules\": [{\"id\": \"r1\", \"field\": \"cat_1.category\","
                            " \"operator\": \"equals\", \"value\": \"sales\"}]}", NULL);

        ck_assert_ptr_null(t->run.route);
        ck_assert_output(t, "{\"route\": null}");
        test_run_free(t);

        /* No rules at all: the same. */
        t = run_ok(component_switch, "switch", "{}", NULL);
        ck_assert_ptr_null(t->run.route);
        test_run_free(t);
}
END_TEST

START_TEST(test_switch_bad_rules) {
        TestRun *t = run_failing(component_switch, "switch",
                                 "{\"rules\": [{\"id\": \"r1\", \"field\": \"cat_1.category\", \"operator\": \"equalz\", \"value\": \"x\"}]}",
                                 NULL, "config");

        ck_assert_ptr_nonnull(strstr(t->run.error, "r1"));
        ck_assert(!t->run.retryable);
        ck_assert_ptr_null(t->run.route);
        test_run_free(t);

        t = run_failing(component_switch, "switch",
                        "{\"rules\": [{\"field\": \"cat_1.category\", \"operator\": \"exists\"}]}", NULL, "config");
        ck_assert_ptr_nonnull(strstr(t->run.error, "no id"));
        test_run_free(t);

        test_run_free(run_failing(component_switch, "switch", "{\"rules\": {\"id\": \"x\"}}", NULL, "config"));
}
END_TEST

/* --- assertion ----------------------------------------------------------------------------- */

START_TEST(test_assertion_all_pass) {
        TestRun *t = run_ok(component_assertion, "assertion",
                            "{\"rules\": ["
                            " {\"field\": \"cat_1.confidence\", \"operator\": \"gte\", \"value\": 0.5},"
                            " {\"label\": \"has text\", \"field\": \"trigger.text\", \"operator\": \"exists\"}]}",
                            NULL);

        ck_assert_str_eq(t->run.route, "pass");
        ck_assert_output(t,
                         "{\"route\": \"pass\", \"output\": {\"passed\": true, \"results\": ["
                         " {\"check\": \"cat_1.confidence gte 0.5\", \"passed\": true, \"actual\": 0.9, \"expected\": 0.5},"
                         " {\"check\": \"has text\", \"passed\": true, \"actual\": \"I want a refund\", \"expected\": null}]}}");
        test_run_free(t);
}
END_TEST

START_TEST(test_assertion_one_fails) {
        TestRun *t = run_ok(component_assertion, "assertion",
                            "{\"rules\": ["
                            " {\"field\": \"fetch.count\", \"operator\": \"equals\", \"value\": 3},"
                            " {\"field\": \"missing.value\", \"operator\": \"exists\"}]}",
                            NULL);
        json_t *results = json_object_get(json_object_get(t->run.output, "output"), "results");

        ck_assert_str_eq(t->run.route, "fail");
        ck_assert_str_eq(json_string_value(json_object_get(t->run.output, "route")), "fail");
        ck_assert(json_is_false(json_object_get(json_object_get(t->run.output, "output"), "passed")));
        ck_assert_int_eq(json_array_size(results), 2);
        ck_assert(json_is_true(json_object_get(json_array_get(results, 0), "passed")));
        ck_assert(json_is_false(json_object_get(json_array_get(results, 1), "passed")));
        ck_assert(json_is_null(json_object_get(json_array_get(results, 1), "actual")));
        test_run_free(t);
}
END_TEST

START_TEST(test_assertion_no_rules_passes) {
        TestRun *t = run_ok(component_assertion, "assertion", "{\"rules\": []}", NULL);

        ck_assert_str_eq(t->run.route, "pass");
        ck_assert_output(t, "{\"route\": \"pass\", \"output\": {\"passed\": true, \"results\": []}}");
        test_run_free(t);
}
END_TEST

START_TEST(test_assertion_bad_rule_fails_node) {
        TestRun *t = run_failing(component_assertion, "assertion",
                                 "{\"rules\": [{\"field\": \"x\", \"operator\": \"matches_regex\", \"value\": \"(\"}]}",
                                 NULL, "config");

        ck_assert_ptr_null(t->run.route);
        test_run_free(t);
}
END_TEST

/* --- filter ---------------------------------------------------------------------------------- */

START_TEST(test_filter_source_node_field) {
        TestRun *t = run_ok(component_filter, "filter",
                            "{\"source_node\": \"fetch\", \"field\": \"items\","
                            " \"rules\": [{\"field\": \"price\", \"operator\": \"gt\", \"value\": 10},"
                            "             {\"field\": \"name\", \"operator\": \"not_equals\", \"value\": \"c\"}]}",
                            NULL);

        ck_assert_output(t, "{\"filtered\": [{\"name\": \"b\", \"price\": 15}]}");
        test_run_free(t);
}
END_TEST

START_TEST(test_filter_scalar_items_from_input) {
        /* The input is a single-port output: the list it holds is filtered; each scalar item is
         * the value the rules test, whatever field they name. */
        TestRun *t = run_ok(component_filter, "filter",
                            "{\"rules\": [{\"field\": \"value\", \"operator\": \"gte\", \"value\": 5}]}",
                            "{\"output\": [1, 5, 10, 2, 20]}");

        ck_assert_output(t, "{\"filtered\": [5, 10, 20]}");
        test_run_free(t);

        t = run_ok(component_filter, "filter", "{}", "{\"output\": [1, \"two\"]}");
        ck_assert_output(t, "{\"filtered\": [1, \"two\"]}");
        test_run_free(t);

        /* Source node without field: the node's single port. */
        t = run_ok(component_filter, "filter",
                   "{\"source_node\": \"code_1\", \"rules\": [{\"field\": \"\", \"operator\": \"lt\", \"value\": 3}]}", NULL);
        ck_assert_output(t, "{\"filtered\": [1, 2]}");
        test_run_free(t);
}
END_TEST

START_TEST(test_filter_errors) {
        TestRun *t = run_failing(component_filter, "filter", "{\"source_node\": \"nowhere\"}", NULL, "config");

        ck_assert_ptr_nonnull(strstr(t->run.error, "nowhere"));
        test_run_free(t);

        t = run_failing(component_filter, "filter", "{\"source_node\": \"fetch\", \"field\": \"count\"}", NULL, "config");
        ck_assert_ptr_nonnull(strstr(t->run.error, "list"));
        test_run_free(t);

        test_run_free(run_failing(component_filter, "filter", "{\"source_node\": \"fetch\", \"field\": \"nope\"}",
                                  NULL, "config"));
        test_run_free(run_failing(component_filter, "filter", "{}", NULL, "config"));
        test_run_free(run_failing(component_filter, "filter",
                                  "{\"source_node\": \"fetch\", \"field\": \"items\", \"rules\": [{\"operator\": \"gt\", \"value\": 1}]}",
                                  NULL, "config"));
}
END_TEST

/* --- merge ------------------------------------------------------------------------------------ */

START_TEST(test_merge_append_source_nodes) {
        /* A source that did not run (ruled out by a switch) is skipped. */
        TestRun *t = run_ok(component_merge, "merge",
                            "{\"mode\": \"append\", \"source_nodes\": [\"code_1\", \"skipped\", \"code_2\", \"text_1\"]}",
                            NULL);

        ck_assert_output(t, "{\"merged\": [1, 2, 3, 4, \"x\"]}");
        test_run_free(t);

        t = run_ok(component_merge, "merge", "{\"mode\": \"concat\", \"source_nodes\": [\"code_2\", \"code_1\"]}", NULL);
        ck_assert_output(t, "{\"merged\": [4, 1, 2, 3]}");
        test_run_free(t);
}
END_TEST

START_TEST(test_merge_combine) {
        TestRun *t = run_ok(component_merge, "merge",
                            "{\"mode\": \"combine\", \"source_nodes\": [\"obj_1\", \"obj_2\", \"code_1\"]}", NULL);

        ck_assert_output(t, "{\"merged\": {\"a\": 1, \"b\": 3, \"c\": 4}}");
        test_run_free(t);
}
END_TEST

START_TEST(test_merge_parents_from_input) {
        /* Several parents: the orchestrator passes {parent_id: output}. */
        TestRun *t = run_ok(component_merge, "merge", "{}",
                            "{\"code_1\": {\"output\": [1, 2, 3]}, \"code_2\": {\"output\": [4]}}");

        ck_assert_output(t, "{\"merged\": [1, 2, 3, 4]}");
        test_run_free(t);

        t = run_ok(component_merge, "merge", "{\"mode\": \"combine\"}",
                   "{\"obj_2\": {\"output\": {\"b\": 3, \"c\": 4}}, \"obj_1\": {\"output\": {\"a\": 1, \"b\": 2}}}");
        ck_assert_output(t, "{\"merged\": {\"a\": 1, \"b\": 2, \"c\": 4}}");
        test_run_free(t);

        /* One parent: its output is the one source. */
        t = run_ok(component_merge, "merge", "{}", "{\"output\": [7, 8]}");
        ck_assert_output(t, "{\"merged\": [7, 8]}");
        test_run_free(t);
}
END_TEST

START_TEST(test_merge_bad_settings) {
        test_run_free(run_failing(component_merge, "merge", "{\"mode\": \"zip\"}", NULL, "config"));
        test_run_free(run_failing(component_merge, "merge", "{\"source_nodes\": \"code_1\"}", NULL, "config"));
        test_run_free(run_failing(component_merge, "merge", "{\"source_nodes\": [1]}", NULL, "config"));
}
END_TEST

/* --- loop ---------------------------------------------------------------------------------------- */

START_TEST(test_loop_items) {
        TestRun *t = run_ok(component_loop, "loop", "{\"source_node\": \"code_1\"}", NULL);
        json_t *expected = test_json("[1, 2, 3]");

        ck_assert(json_equal(t->run.loop_items, expected));
        ck_assert_output(t, "{\"results\": []}");
        json_decref(expected);
        test_run_free(t);

        t = run_ok(component_loop, "loop", "{\"source_node\": \"fetch\", \"field\": \"items\"}", NULL);
        ck_assert_int_eq(json_array_size(t->run.loop_items), 3);
        test_run_free(t);

        /* Not a list: a list of one. Null: nothing to do. */
        t = run_ok(component_loop, "loop", "{}", "{\"output\": \"single\"}");
        expected = test_json("[\"single\"]");
        ck_assert(json_equal(t->run.loop_items, expected));
        json_decref(expected);
        test_run_free(t);

        t = run_ok(component_loop, "loop", "{}", "{\"output\": null}");
        ck_assert_int_eq(json_array_size(t->run.loop_items), 0);
        ck_assert(json_is_array(t->run.loop_items));
        test_run_free(t);

        t = run_ok(component_loop, "loop", "{}", NULL);
        ck_assert_int_eq(json_array_size(t->run.loop_items), 0);
        test_run_free(t);
}
END_TEST

START_TEST(test_loop_limits_and_errors) {
        TestRun *t = run_failing(component_loop, "loop", "{\"source_node\": \"code_1\", \"max_iterations\": 2}",
                                 NULL, "limit");

        ck_assert_ptr_nonnull(strstr(t->run.error, "3 items"));
        ck_assert_ptr_null(t->run.loop_items);
        test_run_free(t);

        test_run_free(run_ok(component_loop, "loop", "{\"source_node\": \"code_1\", \"max_iterations\": 3}", NULL));
        test_run_free(run_failing(component_loop, "loop", "{\"source_node\": \"fetch\", \"field\": \"nothing\"}",
                                  NULL, "config"));
        test_run_free(run_failing(component_loop, "loop", "{\"source_node\": \"code_1\", \"max_iterations\": 0}",
                                  NULL, "config"));
}
END_TEST

/* --- wait ------------------------------------------------------------------------------------------ */

START_TEST(test_wait_units) {
        static const struct {
                const char *config;
                usec_t delay;
                const char *message;
        } cases[] = {
                { "{\"duration\": 5, \"unit\": \"seconds\"}", 5000000, "Waited 5 seconds" },
                { "{\"duration\": 2, \"unit\": \"minutes\"}", 120000000, "Waited 2 minutes" },
                { "{\"duration\": \"1.5\", \"unit\": \"hours\"}", 5400000000, "Waited 1.5 hours" },
                { "{\"duration\": 0.25}", 250000, "Waited 0.25 seconds" },
                { "{\"delay\": 3, \"delay_unit\": \"minutes\"}", 180000000, "Waited 3 minutes" },
                { "{\"duration\": 720, \"unit\": \"hours\"}", 2592000000000, "Waited 720 hours" },
                { "{}", 0, "Waited 0 seconds" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                TestRun *t = run_ok(component_wait, "wait", cases[i].config, NULL);

                ck_assert_msg(t->run.delay_usec == cases[i].delay, "%s: delay %llu", cases[i].config,
                              (unsigned long long) t->run.delay_usec);
                ck_assert_str_eq(json_string_value(json_object_get(t->run.output, "output")), cases[i].message);
                test_run_free(t);
        }
}
END_TEST

START_TEST(test_wait_bad_settings) {
        static const char *const configs[] = {
                "{\"duration\": -1}",
                "{\"duration\": \"soon\"}",
                "{\"duration\": 5, \"unit\": \"fortnights\"}",
                "{\"duration\": 5, \"unit\": 7}",
                "{\"duration\": 721, \"unit\": \"hours\"}",
                "{\"duration\": [5]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                TestRun *t = run_failing(component_wait, "wait", configs[i], NULL, "config");

                ck_assert_msg(t->run.delay_usec == 0, "%s set a delay", configs[i]);
                test_run_free(t);
        }
}
END_TEST

/* --- reply_chat -------------------------------------------------------------------------------------- */

START_TEST(test_reply_chat) {
        TestRun *t = run_ok(component_reply_chat, "reply_chat", "{\"message\": \"Your refund is on its way\"}", NULL);

        ck_assert_output(t, "{\"output\": \"Your refund is on its way\"}");
        test_run_free(t);

        t = run_ok(component_reply_chat, "reply_chat", "{\"message\": {\"a\": 1}}", NULL);
        ck_assert_output(t, "{\"output\": \"{\\\"a\\\":1}\"}");
        test_run_free(t);

        t = test_run_new("reply_chat", "{}", context_text, NULL);
        json_object_set_new(t->run.config, "system_prompt", json_string("from the prompt"));
        ck_assert_int_eq(component_reply_chat(&t->run), 0);
        ck_assert_output(t, "{\"output\": \"from the prompt\"}");
        test_run_free(t);
}
END_TEST

/* --- the table ----------------------------------------------------------------------------------------- */

START_TEST(test_registry_matches_node_types) {
        size_t n = 0;

        for (const Component *c = components; c->component_type; c++, n++) {
                const NodeTypeSpec *spec = node_type_find(c->component_type);

                ck_assert_msg(spec, "component %s is not a node type", c->component_type);
                ck_assert_msg(spec->executable, "component %s is not executable", c->component_type);
                ck_assert_ptr_nonnull(c->run);
                ck_assert_ptr_eq(component_find(c->component_type), c);
        }
        ck_assert_uint_ge(n, 10);
        ck_assert_ptr_null(component_find("no_such_type"));
        ck_assert_ptr_null(component_find("trigger_manual"));
}
END_TEST

static Suite *components_suite(void) {
        Suite *s = suite_create("components");
        TCase *tc;

        tc = tcase_create("switch");
        tcase_add_test(tc, test_switch_first_match_routes);
        tcase_add_test(tc, test_switch_path_forms);
        tcase_add_test(tc, test_switch_reads_trigger_input_and_items);
        tcase_add_test(tc, test_switch_fallback);
        tcase_add_test(tc, test_switch_no_match_takes_no_branch);
        tcase_add_test(tc, test_switch_bad_rules);
        suite_add_tcase(s, tc);

        tc = tcase_create("assertion");
        tcase_add_test(tc, test_assertion_all_pass);
        tcase_add_test(tc, test_assertion_one_fails);
        tcase_add_test(tc, test_assertion_no_rules_passes);
        tcase_add_test(tc, test_assertion_bad_rule_fails_node);
        suite_add_tcase(s, tc);

        tc = tcase_create("filter");
        tcase_add_test(tc, test_filter_source_node_field);
        tcase_add_test(tc, test_filter_scalar_items_from_input);
        tcase_add_test(tc, test_filter_errors);
        suite_add_tcase(s, tc);

        tc = tcase_create("merge");
        tcase_add_test(tc, test_merge_append_source_nodes);
        tcase_add_test(tc, test_merge_combine);
        tcase_add_test(tc, test_merge_parents_from_input);
        tcase_add_test(tc, test_merge_bad_settings);
        suite_add_tcase(s, tc);

        tc = tcase_create("loop");
        tcase_add_test(tc, test_loop_items);
        tcase_add_test(tc, test_loop_limits_and_errors);
        suite_add_tcase(s, tc);

        tc = tcase_create("wait");
        tcase_add_test(tc, test_wait_units);
        tcase_add_test(tc, test_wait_bad_settings);
        suite_add_tcase(s, tc);

        tc = tcase_create("reply_chat");
        tcase_add_test(tc, test_reply_chat);
        suite_add_tcase(s, tc);

        tc = tcase_create("registry");
        tcase_add_test(tc, test_registry_matches_node_types);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(components_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
