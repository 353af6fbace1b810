/* The rule operators of switch, assertion and filter: every operator holding and failing,
 * the reference's str()/float()/bool() coercions, fields that are missing or null, and
 * rules that are malformed. */

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/node-types.h"
#include "engine/rules.h"

static const char document_text[] =
        "{"
        "  \"node_outputs\": {"
        "    \"cat_1\": {\"category\": \"billing\", \"confidence\": 0.85},"
        "    \"fetch\": {\"items\": [{\"name\": \"first\"}, {\"name\": \"second\"}]}"
        "  },"
        "  \"text\": \"Hello, World\","
        "  \"unicode\": \"h\xc3\xa9llo\","
        "  \"tags\": [\"urgent\", \"billing\", 3, 2.0],"
        "  \"obj\": {\"a\": 1, \"b\": [true, null], \"c\": \"it's\"},"
        "  \"empty_string\": \"\", \"empty_array\": [], \"empty_object\": {}, \"nothing\": null,"
        "  \"n\": 5, \"f\": 5.0, \"neg\": -2.5, \"big\": 1e16, \"tiny\": 1e-05, \"tenth\": 0.1,"
        "  \"zero\": 0, \"t\": true, \"no\": false,"
        "  \"num_text\": \" 42 \", \"word\": \"abc\","
        "  \"yes_text\": \"YES\", \"one_text\": \"1\", \"no_text\": \"no\","
        "  \"when\": \"2026-03-01T10:00:00Z\", \"when_tz\": \"2026-03-01T12:00:00+02:00\","
        "  \"day\": \"2026-03-02\","
        "  \"order\": \"order 12345 shipped\""
        "}";

typedef struct Case {
        const char *field;
        const char *operator;
        const char *value;      /* JSON text; NULL leaves "value" out of the rule */
        bool expected;
} Case;

static const Case cases[] = {
        /* Universal */
        { "text", "exists", NULL, true },
        { "missing", "exists", NULL, false },
        { "nothing", "exists", NULL, false },
        { "zero", "exists", NULL, true },
        { "no", "exists", NULL, true },
        { "missing", "does_not_exist", NULL, true },
        { "nothing", "does_not_exist", NULL, true },
        { "empty_string", "does_not_exist", NULL, false },
        { "empty_string", "is_empty", NULL, true },
        { "empty_array", "is_empty", NULL, true },
        { "empty_object", "is_empty", NULL, true },
        { "nothing", "is_empty", NULL, true },
        { "missing", "is_empty", NULL, true },
        { "zero", "is_empty", NULL, false },
        { "no", "is_empty", NULL, false },
        { "text", "is_empty", NULL, false },
        { "tags", "is_not_empty", NULL, true },
        { "empty_array", "is_not_empty", NULL, false },
        { "missing", "is_not_empty", NULL, false },
        /* Unary operators ignore value. */
        { "text", "exists", "\"whatever\"", true },

        /* equals compares str() forms. */
        { "node_outputs.cat_1.category", "equals", "\"billing\"", true },
        { "node_outputs.cat_1.category", "equals", "\"Billing\"", false },
        { "state.node_outputs.cat_1.category", "equals", "\"billing\"", true },
        { "n", "equals", "\"5\"", true },
        { "n", "equals", "5", true },
        { "n", "equals", "\"5.0\"", false },
        { "f", "equals", "\"5.0\"", true },
        { "f", "equals", "\"5\"", false },
        { "f", "equals", "5.0", true },
        { "neg", "equals", "\"-2.5\"", true },
        { "big", "equals", "\"1e+16\"", true },
        { "tiny", "equals", "\"1e-05\"", true },
        { "tenth", "equals", "\"0.1\"", true },
        { "node_outputs.cat_1.confidence", "equals", "\"0.85\"", true },
        { "t", "equals", "\"True\"", true },
        { "t", "equals", "\"true\"", false },
        { "t", "equals", "true", true },
        { "no", "equals", "\"False\"", true },
        { "nothing", "equals", "\"None\"", true },
        { "missing", "equals", "null", true },
        { "missing", "equals", "\"\"", false },
        { "empty_string", "equals", NULL, true },
        { "obj", "equals", "\"{'a': 1, 'b': [True, None], 'c': \\\"it's\\\"}\"", true },
        { "tags", "equals", "[\"urgent\", \"billing\", 3, 2.0]", true },
        { "node_outputs.cat_1.category", "not_equals", "\"sales\"", true },
        { "node_outputs.cat_1.category", "not_equals", "\"billing\"", false },
        { "missing", "not_equals", "\"x\"", true },

        /* contains: substring, or membership in a list field */
        { "text", "contains", "\"World\"", true },
        { "text", "contains", "\"world\"", false },
        { "text", "contains", "\"\"", true },
        { "n", "contains", "5", true },
        { "tags", "contains", "\"billing\"", true },
        { "tags", "contains", "\"bill\"", false },
        { "tags", "contains", "3", true },
        { "tags", "contains", "3.0", true },
        { "tags", "contains", "\"3\"", false },
        { "tags", "contains", "2", true },
        { "obj", "contains", "\"'a': 1\"", true },
        { "text", "not_contains", "\"Bye\"", true },
        { "text", "not_contains", "\"Hello\"", false },
        { "tags", "not_contains", "\"sales\"", true },
        { "tags", "not_contains", "\"urgent\"", false },

        { "text", "starts_with", "\"Hello\"", true },
        { "text", "starts_with", "\"World\"", false },
        { "n", "starts_with", "5", true },
        { "text", "not_starts_with", "\"World\"", true },
        { "text", "not_starts_with", "\"Hell\"", false },
        { "text", "ends_with", "\"World\"", true },
        { "text", "ends_with", "\"Hello\"", false },
        { "f", "ends_with", "\".0\"", true },
        { "text", "not_ends_with", "\"Hello\"", true },
        { "text", "not_ends_with", "\"ld\"", false },

        /* Regular expressions search anywhere; \d reads as in Python. */
        { "text", "matches_regex", "\"W.rld\"", true },
        { "text", "matches_regex", "\"^World\"", false },
        { "text", "matches_regex", "\"^Hello, (World|Moon)$\"", true },
        { "order", "matches_regex", "\"[0-9]{5}\"", true },
        { "order", "matches_regex", "\"\\\\d{5}\"", true },
        { "order", "matches_regex", "\"\\\\d{6}\"", false },
        { "order", "matches_regex", "\"order [\\\\d]+ shipped\"", true },
        { "order", "matches_regex", "\"^\\\\D+\\\\d\"", true },
        { "order", "matches_regex", "\"[[:digit:]]+ s\"", true },
        { "order", "matches_regex", "\"[]x]\"", false },
        { "text", "matches_regex", "\"\"", true },
        { "missing", "matches_regex", "\"^None$\"", true },
        { "text", "not_matches_regex", "\"^Bye\"", true },
        { "text", "not_matches_regex", "\"o, W\"", false },

        /* Numbers: float coercion, what does not parse is 0 */
        { "n", "gt", "4", true },
        { "n", "gt", "5", false },
        { "n", "gt", "\"4.5\"", true },
        { "num_text", "gt", "41", true },
        { "num_text", "gt", "42", false },
        { "neg", "lt", "0", true },
        { "neg", "lt", "-3", false },
        { "word", "lt", "1", true },
        { "word", "gte", "0", true },
        { "missing", "gte", "0", true },
        { "missing", "gt", "-1", true },
        { "t", "gte", "1", true },
        { "n", "gte", "5", true },
        { "n", "gte", "5.5", false },
        { "f", "lte", "5", true },
        { "f", "lte", "4.99", false },
        { "n", "lt", "\"0x10\"", false },
        { "node_outputs.cat_1.confidence", "gt", "0.8", true },

        /* Datetimes: ISO-8601 with any offset; what does not parse makes the test false */
        { "when", "after", "\"2026-03-01T09:59:59Z\"", true },
        { "when", "after", "\"2026-03-01T10:00:00Z\"", false },
        { "when", "before", "\"2026-03-01T10:00:01.5Z\"", true },
        { "when", "before", "\"2026-02-28\"", false },
        { "when", "after_or_equal", "\"2026-03-01T10:00:00Z\"", true },
        { "when", "after_or_equal", "\"2026-03-01T10:00:01Z\"", false },
        { "when_tz", "before_or_equal", "\"2026-03-01T10:00:00Z\"", true },
        { "when_tz", "before_or_equal", "\"2026-03-01T09:59:59Z\"", false },
        { "day", "after", "\"2026-03-01T23:59:59Z\"", true },
        { "word", "after", "\"2000-01-01\"", false },
        { "word", "before", "\"2999-01-01\"", false },
        { "missing", "before", "\"2999-01-01\"", false },
        { "when", "before", "\"soon\"", false },
        { "when", "after", "12", false },

        /* Booleans */
        { "t", "is_true", NULL, true },
        { "no", "is_true", NULL, false },
        { "yes_text", "is_true", NULL, true },
        { "one_text", "is_true", NULL, true },
        { "no_text", "is_true", NULL, false },
        { "word", "is_true", NULL, false },
        { "n", "is_true", NULL, true },
        { "zero", "is_true", NULL, false },
        { "tags", "is_true", NULL, true },
        { "empty_array", "is_true", NULL, false },
        { "missing", "is_true", NULL, false },
        { "no", "is_false", NULL, true },
        { "t", "is_false", NULL, false },
        { "no_text", "is_false", NULL, true },
        { "yes_text", "is_false", NULL, false },
        { "zero", "is_false", NULL, true },
        { "nothing", "is_false", NULL, true },

        /* Lengths: characters, items, keys */
        { "unicode", "length_eq", "5", true },
        { "unicode", "length_eq", "6", false },
        { "tags", "length_eq", "\"4\"", true },
        { "obj", "length_eq", "3", true },
        { "empty_string", "length_eq", "0", true },
        { "n", "length_eq", "1", false },
        { "missing", "length_eq", "0", false },
        { "tags", "length_neq", "3", true },
        { "tags", "length_neq", "4", false },
        { "n", "length_neq", "1", true },
        { "text", "length_gt", "11", true },
        { "text", "length_gt", "12", false },
        { "text", "length_lt", "13", true },
        { "text", "length_lt", "12", false },
        { "tags", "length_gte", "4.9", true },
        { "tags", "length_gte", "5", false },
        { "empty_object", "length_lte", "0", true },
        { "tags", "length_lte", "true", false },

        /* Paths into nested objects and arrays */
        { "node_outputs.fetch.items.1.name", "equals", "\"second\"", true },
        { "node_outputs.fetch.items.2.name", "exists", NULL, false },
        { "node_outputs.fetch.items.first", "exists", NULL, false },
        { "node_outputs.fetch.items", "length_eq", "2", true },
        { "tags.0", "equals", "\"urgent\"", true },
        { "text.0", "exists", NULL, false },
        { "node_outputs.nope.category", "does_not_exist", NULL, true },
};

static const char *strnull(const char *s) {
        return s ?: "(null)";
}

static json_t *parse(const char *text) {
        json_error_t error;
        json_t *j = json_loads(text, JSON_DECODE_ANY, &error);

        ck_assert_msg(j, "bad JSON in test: %s: %s", text, error.text);
        return j;
}

static json_t *make_rule(const char *field, const char *operator, const char *value) {
        json_t *rule = json_pack("{s:s, s:s}", "field", field, "operator", operator);

        ck_assert_ptr_nonnull(rule);
        if (value)
                json_object_set_new(rule, "value", parse(value));
        return rule;
}

START_TEST(test_operator_table) {
        _cleanup_json_ json_t *doc = parse(document_text);
        const Case *c = &cases[_i];
        _cleanup_json_ json_t *rule = make_rule(c->field, c->operator, c->value);
        _cleanup_free_ char *error = NULL;
        bool passed = !c->expected;
        int r;

        r = rule_evaluate(rule, doc, &passed, &error);
        ck_assert_msg(r == 0, "%s %s %s: error %d (%s)", c->field, c->operator, strnull(c->value), r,
                      strnull(error));
        ck_assert_msg(passed == c->expected, "%s %s %s: expected %s", c->field, c->operator,
                      strnull(c->value), c->expected ? "true" : "false");
}
END_TEST

START_TEST(test_every_operator_covered) {
        const char *const *ops = rule_operators();

        for (size_t i = 0; ops[i]; i++) {
                bool seen_true = false, seen_false = false;

                for (size_t k = 0; k < ELEMENTSOF(cases); k++)
                        if (streq(cases[k].operator, ops[i])) {
                                seen_true = seen_true || cases[k].expected;
                                seen_false = seen_false || !cases[k].expected;
                        }
                ck_assert_msg(seen_true && seen_false, "%s lacks a true or a false case", ops[i]);
        }
}
END_TEST

START_TEST(test_operator_list) {
        const char *const *ops = rule_operators();
        _cleanup_json_ json_t *schema = NULL;
        const NodeTypeSpec *sw = node_type_find("switch");
        json_t *enum_list;
        size_t n = 0;

        for (; ops[n]; n++)
                ck_assert(rule_operator_is_known(ops[n]));
        ck_assert_uint_eq(n, 30);
        ck_assert(!rule_operator_is_known("eq"));
        ck_assert(!rule_operator_is_known(""));
        ck_assert(!rule_operator_is_known(NULL));

        /* The switch settings offer exactly the operators the engine knows, in order. */
        ck_assert_ptr_nonnull(sw);
        schema = parse(sw->config_schema);
        enum_list = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(
                json_object_get(schema, "properties"), "rules"), "items"), "properties"), "operator"), "enum");
        ck_assert_uint_eq(json_array_size(enum_list), n);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(json_string_value(json_array_get(enum_list, i)), ops[i]);
}
END_TEST

static void assert_rule_error(const char *rule_text, const char *message) {
        _cleanup_json_ json_t *doc = parse(document_text), *rule = parse(rule_text);
        _cleanup_free_ char *error = NULL;
        bool passed = true;

        ck_assert_int_eq(rule_evaluate(rule, doc, &passed, &error), -EINVAL);
        ck_assert_msg(error && strstr(error, message), "%s: got '%s', wanted '%s'", rule_text,
                      strnull(error), message);
        ck_assert(passed); /* untouched on failure */
}

START_TEST(test_malformed_rules) {
        assert_rule_error("[]", "rule must be an object");
        assert_rule_error("null", "rule must be an object");
        assert_rule_error("{\"operator\": \"equals\", \"value\": 1}", "field must be a string");
        assert_rule_error("{\"field\": 3, \"operator\": \"equals\"}", "field must be a string");
        assert_rule_error("{\"field\": \"text\"}", "operator must be a string");
        assert_rule_error("{\"field\": \"text\", \"operator\": \"eq\", \"value\": 1}", "unknown operator 'eq'");
        assert_rule_error("{\"field\": \"text\", \"operator\": \"matches_regex\", \"value\": \"(unclosed\"}",
                          "invalid regular expression '(unclosed'");
        assert_rule_error("{\"field\": \"text\", \"operator\": \"not_matches_regex\", \"value\": \"[a-\"}",
                          "invalid regular expression");
        assert_rule_error("{\"field\": \"text\", \"operator\": \"matches_regex\", \"value\": \"(a)\\\\1\"}",
                          "backreferences are not supported");
        assert_rule_error("{\"field\": \"text\", \"operator\": \"matches_regex\", \"value\": \"(a{1000}){1000}\"}",
                          "repetition counts too large");
        assert_rule_error("{\"field\": \"tags\", \"operator\": \"length_eq\", \"value\": \"many\"}",
                          "operator 'length_eq' needs an integer value");
        assert_rule_error("{\"field\": \"tags\", \"operator\": \"length_gt\"}", "needs an integer value");
        assert_rule_error("{\"field\": \"tags\", \"operator\": \"length_lt\", \"value\": null}",
                          "needs an integer value");

        /* The message is optional. */
        _cleanup_json_ json_t *rule = parse("{\"field\": \"x\", \"operator\": \"nope\"}");
        bool passed;
        ck_assert_int_eq(rule_evaluate(rule, NULL, &passed, NULL), -EINVAL);
}
END_TEST

START_TEST(test_actual_value) {
        _cleanup_json_ json_t *doc = parse(document_text);
        _cleanup_json_ json_t *rule = make_rule("node_outputs.cat_1.confidence", "gte", "0.9");
        _cleanup_json_ json_t *missing = make_rule("node_outputs.cat_9", "exists", NULL);
        RuleResult result;

        ck_assert_int_eq(rule_evaluate_full(rule, doc, &result, NULL), 0);
        ck_assert(!result.passed);
        ck_assert_ptr_eq(result.actual, json_object_get(json_object_get(json_object_get(doc, "node_outputs"),
                                                                        "cat_1"), "confidence"));

        ck_assert_int_eq(rule_evaluate_full(missing, doc, &result, NULL), 0);
        ck_assert(!result.passed);
        ck_assert_ptr_null(result.actual);
}
END_TEST

START_TEST(test_path_get) {
        _cleanup_json_ json_t *doc = parse("{\"a\": {\"b\": [10, {\"c\": \"deep\"}], \"7\": \"seven\", \"\": 1},"
                                           " \"state\": {\"x\": 1}, \"list\": [[1, 2], [3]]}");

        ck_assert_str_eq(json_string_value(json_path_get(doc, "a.b.1.c")), "deep");
        ck_assert_str_eq(json_string_value(json_path_get(doc, "state.a.b.1.c")), "deep");
        ck_assert_int_eq(json_integer_value(json_path_get(doc, "a.b.0")), 10);
        ck_assert_int_eq(json_integer_value(json_path_get(doc, "list.1.0")), 3);
        ck_assert_str_eq(json_string_value(json_path_get(doc, "a.7")), "seven");
        ck_assert_ptr_eq(json_path_get(doc, ""), doc);
        ck_assert_ptr_eq(json_path_get(doc, "state"), doc);
        /* "state." always means the run state, as in the reference. */
        ck_assert_ptr_null(json_path_get(doc, "state.x"));

        ck_assert_ptr_null(json_path_get(doc, "a.b.2"));
        ck_assert_ptr_null(json_path_get(doc, "a.b.-1"));
        ck_assert_ptr_null(json_path_get(doc, "a.b.01x"));
        ck_assert_ptr_null(json_path_get(doc, "a.b.99999999999999999999999"));
        ck_assert_ptr_null(json_path_get(doc, "a.b.1.c.d"));
        ck_assert_ptr_null(json_path_get(doc, "a.zz"));
        ck_assert_ptr_null(json_path_get(doc, "a..b"));
        ck_assert_ptr_null(json_path_get(doc, NULL));
        ck_assert_ptr_null(json_path_get(NULL, "a"));
}
END_TEST

START_TEST(test_filter_items) {
        /* Filter applies each rule to every item; "" is the item itself. */
        _cleanup_json_ json_t *items = parse("[{\"price\": 12}, {\"price\": \"8\"}, {\"name\": \"x\"}, 30]");
        _cleanup_json_ json_t *by_price = make_rule("price", "gte", "10");
        _cleanup_json_ json_t *whole = make_rule("", "gt", "20");
        bool expected_price[] = { true, false, false, false }, expected_whole[] = { false, false, false, true };

        for (size_t i = 0; i < json_array_size(items); i++) {
                bool passed;

                ck_assert_int_eq(rule_evaluate(by_price, json_array_get(items, i), &passed, NULL), 0);
                ck_assert_msg(passed == expected_price[i], "item %zu", i);
                ck_assert_int_eq(rule_evaluate(whole, json_array_get(items, i), &passed, NULL), 0);
                ck_assert_msg(passed == expected_whole[i], "item %zu", i);
        }
}
END_TEST

static Suite *rules_suite(void) {
        Suite *s = suite_create("rules");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_operator_table, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_every_operator_covered);
        tcase_add_test(tc, test_operator_list);
        tcase_add_test(tc, test_malformed_rules);
        tcase_add_test(tc, test_actual_value);
        tcase_add_test(tc, test_path_get);
        tcase_add_test(tc, test_filter_items);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(rules_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
