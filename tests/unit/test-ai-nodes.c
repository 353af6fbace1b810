/* The AI nodes' parts that need no model, run directly as the orchestrator runs them: the
 * router on a state value or an expression, the output parser attached to it, and the
 * configuration mistakes that the categorizer, router and extractor report before they
 * would call their model. (Their model calls run against the fake provider in
 * tests/integration/test_ai_nodes.py.) */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "engine/components/llm-node.h"
#include "node-run-test.h"

static const char context_text[] =
        "{"
        "  \"trigger\": {\"text\": \"I want a refund\", \"n\": 3},"
        "  \"cat_1\": {\"category\": \"billing\", \"raw\": \"billing\"},"
        "  \"flags\": {\"urgent\": true, \"count\": 2, \"empty\": \"\", \"nested\": {\"a\": 1}},"
        "  \"answer\": {\"output\": \"Result: {\\\"score\\\": 7}\"}"
        "}";

static TestRun *router_run(const char *extra_config, const char *input) {
        return test_run_new("router", extra_config, context_text, input);
}

static void assert_routes(const char *extra_config, const char *input, const char *route) {
        TestRun *t = router_run(extra_config, input);
        int r = component_router(&t->run);

        ck_assert_msg(r == 0, "%s failed: %s", extra_config, t->run.error ?: "?");
        ck_assert_ptr_nonnull(t->run.route);
        ck_assert_msg(streq(t->run.route, route), "%s routed to '%s', expected '%s'", extra_config, t->run.route,
                      route);
        ck_assert_str_eq(json_string_value(json_object_get(t->run.output, "route")), route);
        test_run_free(t);
}

static void assert_fails(ComponentFunc func, const char *type, const char *extra_config, const char *input,
                         const char *code, const char *message) {
        TestRun *t = test_run_new(type, extra_config, context_text, input);
        int r = func(&t->run);

        ck_assert_failed(t, r, code);
        ck_assert_msg(strstr(t->run.error, message), "'%s' does not say '%s'", t->run.error, message);
        if (streq(code, "config"))
                ck_assert(!t->run.retryable);
        test_run_free(t);
}

START_TEST(test_router_on_state_values) {
        assert_routes("{\"condition_field\": \"node_outputs.cat_1.category\"}", NULL, "billing");
        assert_routes("{\"condition_field\": \"state.cat_1.category\"}", NULL, "billing");
        /* The default field "route" reads the input, e.g. a switch's output. */
        assert_routes("{}", "{\"route\": \"r_2\"}", "r_2");
        assert_routes("{\"condition_field\": \"\"}", "{\"route\": \"r_2\"}", "r_2");
        assert_routes("{\"condition_field\": \"category\"}", "{\"category\": \"tech\", \"raw\": \"tech\"}", "tech");
        assert_routes("{\"condition_field\": \"flags.urgent\"}", NULL, "true");
        assert_routes("{\"condition_field\": \"flags.count\"}", NULL, "2");
        /* Nothing there: the route of last resort. */
        assert_routes("{}", NULL, "__other__");
        assert_routes("{\"condition_field\": \"flags.empty\"}", NULL, "__other__");
        assert_routes("{\"condition_field\": \"trigger.missing\"}", NULL, "__other__");
}
END_TEST

START_TEST(test_router_expressions) {
        assert_routes("{\"condition_expression\": \"state.node_outputs.cat_1.category == 'billing'\"}", NULL, "true");
        assert_routes("{\"condition_expression\": \"cat_1.category == \\\"tech\\\"\"}", NULL, "false");
        assert_routes("{\"condition_expression\": \"cat_1.category != 'tech'\"}", NULL, "true");
        assert_routes("{\"condition_expression\": \"trigger.n == 3\"}", NULL, "true");
        assert_routes("{\"condition_expression\": \"flags.urgent==true\"}", NULL, "true");
        assert_routes("{\"condition_expression\": \"trigger.missing == 'x'\"}", NULL, "false");
        assert_routes("{\"condition_expression\": \"  cat_1.category  \"}", NULL, "billing");
        /* A quoted value may hold the operators. */
        assert_routes("{\"condition_expression\": \"cat_1.raw == 'a == b'\"}", NULL, "false");
}
END_TEST

START_TEST(test_router_mistakes) {
        assert_fails(component_router, "router", "{\"condition_expression\": \"== 'x'\"}", NULL, "config",
                     "must be a dotted path");
        assert_fails(component_router, "router", "{\"condition_expression\": \"cat_1.category ==\"}", NULL, "config",
                     "missing or badly quoted");
        assert_fails(component_router, "router", "{\"condition_expression\": \"cat_1.category == 'x\"}", NULL, "config",
                     "missing or badly quoted");
        assert_fails(component_router, "router", "{\"condition_field\": \"flags.nested\"}", NULL, "config",
                     "'flags.nested' holds a JSON object; a route is a name");
        assert_fails(component_router, "router", "{\"routes\": [\"a\"], \"condition_expression\": \"x\"}", NULL,
                     "config", "not both");
        /* Routes chosen by the model need the model. */
        assert_fails(component_router, "router", "{\"routes\": [\"a\", \"b\"]}", "{\"text\": \"hi\"}", "config",
                     "The router has no AI model: connect an ai_model node");
        assert_fails(component_router, "router", "{\"routes\": [\"a\"]}", "{\"other\": 1}", "config",
                     "The router has nothing to read");
}
END_TEST

START_TEST(test_categorizer_mistakes) {
        static const struct {
                const char *config, *message;
        } cases[] = {
                { "{}", "categories must be a non-empty list" },
                { "{\"categories\": []}", "categories must be a non-empty list" },
                { "{\"categories\": \"billing\"}", "categories must be a non-empty list" },
                { "{\"categories\": [{\"description\": \"no name\"}]}", "categories item 1 has no name" },
                { "{\"categories\": [\"a\", 3]}", "categories item 2 has no name" },
                { "{\"categories\": [\"Billing\", {\"name\": \"billing\"}]}", "categories names 'billing' twice" },
                { "{\"categories\": [\"__other__\"]}", "'__other__' is the route of answers that name no option" },
                { "{\"categories\": [\"two\\nlines\"]}", "a name is one line" },
                /* Good categories, no model. */
                { "{\"categories\": [{\"name\": \"a\", \"description\": \"A things\"}]}",
                  "The categorizer has no AI model" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_fails(component_categorizer, "categorizer", cases[i].config, "{\"text\": \"hello\"}", "config",
                             cases[i].message);

        assert_fails(component_categorizer, "categorizer", "{\"categories\": [\"a\"]}", "{\"payload\": {}}", "config",
                     "The categorizer has nothing to read: its input has no text, output or messages; set "
                     "input_template");
}
END_TEST

START_TEST(test_extractor_mistakes) {
        static const struct {
                const char *config, *message;
        } cases[] = {
                { "{}", "extraction_schema must be a JSON schema of the object to extract" },
                { "{\"extraction_schema\": {}}", "extraction_schema must be a JSON schema" },
                { "{\"extraction_schema\": \"{}\"}", "extraction_schema must be a JSON schema" },
                { "{\"extraction_schema\": {\"type\": \"array\", \"items\": {}}}", "must describe an object" },
                { "{\"extraction_schema\": {\"type\": \"object\"}}", "has no properties" },
                { "{\"extraction_schema\": {\"properties\": {\"age\": {\"type\": \"int\"}}}}",
                  "extraction_schema: properties.age.type: unknown type 'int'" },
                { "{\"extraction_schema\": {\"properties\": {\"a\": {}}}, \"validation_retries\": 9}",
                  "validation_retries must be a whole number from 0 to 3" },
                { "{\"extraction_schema\": {\"properties\": {\"a\": {}}}, \"validation_retries\": 0.5}",
                  "validation_retries must be a whole number" },
                { "{\"extraction_schema\": {\"properties\": {\"a\": {}}}}", "The extractor has no AI model" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_fails(component_extractor, "extractor", cases[i].config, "{\"text\": \"hello\"}", "config",
                             cases[i].message);
}
END_TEST

/* A router on a state value with an output parser attached. */
static TestRun *parsed_router(const char *parser_config) {
        TestRun *t = router_run("{\"condition_field\": \"cat_1.category\"}", NULL);
        char *attachments = NULL;

        ck_assert_int_ge(asprintf(&attachments, "[{\"node_id\": \"p1\", \"edge_label\": \"output_parser\", "
                                  "\"component_type\": \"output_parser\", \"label\": null, "
                                  "\"config\": {\"extra_config\": %s}}]", parser_config), 0);
        t->run.attachments = test_json(attachments);
        free(attachments);
        return t;
}

static void parsed_router_free(TestRun *t) {
        json_decref(t->run.attachments);
        test_run_free(t);
}

START_TEST(test_output_parser_attached) {
        TestRun *t = parsed_router("{\"parser_type\": \"regex\", \"pattern\": \"(?P<head>b.)ll\"}");

        ck_assert_int_eq(component_router(&t->run), 0);
        ck_assert_output(t, "{\"route\": \"billing\", \"parsed\": {\"match\": \"bill\", \"groups\": [\"bi\"],"
                            " \"named\": {\"head\": \"bi\"}, \"matches\": [\"bi\"]}}");
        parsed_router_free(t);

        /* source_node: another node's output is parsed. */
        t = parsed_router("{\"parser_type\": \"json\", \"source_node\": \"answer\"}");
        ck_assert_int_eq(component_router(&t->run), 0);
        ck_assert_output(t, "{\"route\": \"billing\", \"parsed\": {\"score\": 7}}");
        parsed_router_free(t);

        t = parsed_router("{\"parser_type\": \"list\"}");
        ck_assert_int_eq(component_router(&t->run), 0);
        ck_assert_output(t, "{\"route\": \"billing\", \"parsed\": [\"billing\"]}");
        parsed_router_free(t);

        t = parsed_router("{}");
        ck_assert_failed(t, component_router(&t->run), "output_parser");
        ck_assert_str_eq(t->run.error, "The output parser 'p1' found no JSON object or array in the text: \"billing\"");
        ck_assert(!t->run.retryable);
        parsed_router_free(t);

        t = parsed_router("{\"parser_type\": \"xml\"}");
        ck_assert_failed(t, component_router(&t->run), "config");
        ck_assert_str_eq(t->run.error, "The output parser 'p1': unknown parser_type 'xml': json, regex or list");
        parsed_router_free(t);

        t = parsed_router("{\"parser_type\": \"regex\"}");
        ck_assert_failed(t, component_router(&t->run), "config");
        ck_assert_str_eq(t->run.error, "The output parser 'p1': the regex parser needs a pattern");
        parsed_router_free(t);

        t = parsed_router("{\"parser_type\": \"json\", \"source_node\": \"nowhere\"}");
        ck_assert_failed(t, component_router(&t->run), "config");
        ck_assert_str_eq(t->run.error, "Source node 'nowhere' has no output in this run");
        parsed_router_free(t);
}
END_TEST

int main(void) {
        Suite *s = suite_create("ai-nodes");
        TCase *tc = tcase_create("ai-nodes");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_router_on_state_values);
        tcase_add_test(tc, test_router_expressions);
        tcase_add_test(tc, test_router_mistakes);
        tcase_add_test(tc, test_categorizer_mistakes);
        tcase_add_test(tc, test_extractor_mistakes);
        tcase_add_test(tc, test_output_parser_attached);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
