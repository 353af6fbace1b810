/* Reading a model's answer: JSON in prose and fences, lists, regular expressions with
 * named and numbered groups, and which category an answer names. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "engine/output-parse.h"

static void assert_json_eq(json_t *got, const char *expected) {
        json_t *e = json_loads(expected, JSON_DECODE_ANY, NULL);
        char *text = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS) : NULL;

        ck_assert_msg(e, "bad expected JSON: %s", expected);
        ck_assert_msg(got && json_equal(got, e), "got %s, expected %s", text ?: "(null)", expected);
        free(text);
        json_decref(e);
}

static void assert_parses_json(const char *text, const char *expected) {
        json_t *v = output_parse_json(text);

        assert_json_eq(v, expected);
        json_decref(v);
}

static void assert_list(const char *text, const char *expected) {
        json_t *v = output_parse_list(text);

        assert_json_eq(v, expected);
        json_decref(v);
}

static void assert_regex(const char *pattern, const char *text, const char *expected) {
        char *error = NULL;
        json_t *v = NULL;
        int r = output_parse_regex(pattern, text, &v, &error);

        ck_assert_msg(r == 0, "pattern %s: %s", pattern, error ?: "?");
        assert_json_eq(v, expected);
        json_decref(v);
}

static void assert_regex_refused(const char *pattern, const char *message) {
        char *error = NULL;
        json_t *v = NULL;

        ck_assert_int_eq(output_parse_regex(pattern, "text", &v, &error), -EINVAL);
        ck_assert_ptr_null(v);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strstr(error, message), "'%s' does not say '%s'", error, message);
        free(error);
}

START_TEST(test_json_whole_fenced_and_in_prose) {
        assert_parses_json("{\"a\": 1}", "{\"a\": 1}");
        assert_parses_json("  [1, 2]\n", "[1, 2]");
        assert_parses_json("Here it is:\n```json\n{\"a\": {\"b\": [1]}}\n```\nDone.", "{\"a\": {\"b\": [1]}}");
        assert_parses_json("```\n[\"x\"]\n```", "[\"x\"]");
        /* A fence without JSON is skipped for the next one. */
        assert_parses_json("```python\nprint(1)\n```\nthen\n```json\n{\"ok\": true}\n```", "{\"ok\": true}");
        assert_parses_json("Sure! The result is {\"name\": \"Ada\", \"note\": \"uses {braces} and \\\"quotes\\\"\"} "
                           "as asked.", "{\"name\": \"Ada\", \"note\": \"uses {braces} and \\\"quotes\\\"\"}");
        /* Brackets that are not JSON come before the JSON. */
        assert_parses_json("Options [a] or {b}: {\"pick\": \"b\"}", "{\"pick\": \"b\"}");
        /* An unclosed fence still holds its JSON. */
        assert_parses_json("```json\n{\"cut\": 1}", "{\"cut\": 1}");

        ck_assert_ptr_null(output_parse_json("no json here"));
        ck_assert_ptr_null(output_parse_json("42"));
        ck_assert_ptr_null(output_parse_json("\"just a string\""));
        ck_assert_ptr_null(output_parse_json("{broken: json}"));
        ck_assert_ptr_null(output_parse_json(""));
        ck_assert_ptr_null(output_parse_json(NULL));
}
END_TEST

START_TEST(test_lists) {
        assert_list("- apples\n- pears\n\n- plums  \n", "[\"apples\", \"pears\", \"plums\"]");
        assert_list("Here are the steps:\n1. Boil water\n2) Add tea\n(3) Wait\n", "[\"Boil water\", \"Add tea\", \"Wait\"]");
        assert_list("* one\n+ two\n\xE2\x80\xA2 three", "[\"one\", \"two\", \"three\"]");
        assert_list("red, green , blue,", "[\"red\", \"green\", \"blue\"]");
        assert_list("first line\nsecond, with a comma\n", "[\"first line\", \"second, with a comma\"]");
        assert_list("**bold** stays\n-dash without space stays", "[\"**bold** stays\", \"-dash without space stays\"]");
        assert_list("", "[]");
        assert_list("  \n\n ", "[]");
}
END_TEST

START_TEST(test_regex_groups) {
        assert_regex("\\d+", "a 12 b 345", "{\"match\": \"12\", \"groups\": [], \"named\": {}, \"matches\": [\"12\", \"345\"]}");
        assert_regex("(?P<key>\\w+)=(?<value>[^;]*)", "a=1;bb=two;c=",
                     "{\"match\": \"a=1\", \"groups\": [\"a\", \"1\"], \"named\": {\"key\": \"a\", \"value\": \"1\"},"
                     " \"matches\": [[\"a\", \"1\"], [\"bb\", \"two\"], [\"c\", \"\"]]}");
        assert_regex("Priority: (\\w+)", "Summary: x\nPriority: high\n",
                     "{\"match\": \"Priority: high\", \"groups\": [\"high\"], \"named\": {}, \"matches\": [\"high\"]}");
        /* (?:…) groups are not reported; optional groups that took no part are null. */
        assert_regex("(?:Mr|Ms)\\. (\\w+)( Jr)?", "Ms. Smith and Mr. Doe Jr",
                     "{\"match\": \"Ms. Smith\", \"groups\": [\"Smith\", null], \"named\": {},"
                     " \"matches\": [[\"Smith\", \"\"], [\"Doe\", \" Jr\"]]}");
        assert_regex("(?i)^status: ([a-z]+)$", "STATUS: Open\nstatus: closed",
                     "{\"match\": \"STATUS: Open\", \"groups\": [\"Open\"], \"named\": {}, \"matches\": [\"Open\", \"closed\"]}");
        assert_regex("[\\w.-]+@[\\w.]+", "mail ada.l-x@ex.org now",
                     "{\"match\": \"ada.l-x@ex.org\", \"groups\": [], \"named\": {}, \"matches\": [\"ada.l-x@ex.org\"]}");
        assert_regex("\\s\\S", "a b\tc", "{\"match\": \" b\", \"groups\": [], \"named\": {}, \"matches\": [\" b\", \"\\tc\"]}");
        assert_regex("nothing", "here", "{\"match\": null, \"groups\": [], \"named\": {}, \"matches\": []}");
        /* Empty matches move on: one per position, as findall gives them. */
        assert_regex("x*", "ab", "{\"match\": \"\", \"groups\": [], \"named\": {}, \"matches\": [\"\", \"\", \"\"]}");
        /* UTF-8 text survives a match. */
        assert_regex("caf.+", "un café noir", "{\"match\": \"café noir\", \"groups\": [], \"named\": {}, \"matches\": [\"café noir\"]}");
}
END_TEST

START_TEST(test_regex_refusals) {
        assert_regex_refused("", "needs a pattern");
        assert_regex_refused("(a)\\1", "backreferences");
        assert_regex_refused("a(?=b)", "'(?=' is not supported");
        assert_regex_refused("a(?<=b)", "'(?<' is not supported");
        assert_regex_refused("a(?i)b", "'(?i' is not supported");
        assert_regex_refused("(?P<1x>a)", "a group name must be");
        assert_regex_refused("(?P<a>x)(?P<a>y)", "'a' is used twice");
        assert_regex_refused("(a", "invalid regular expression");
        assert_regex_refused("((a{1000}){1000}){1000}", "repetition counts");
        assert_regex_refused("[\\]]", "inside [...] is not supported");
}
END_TEST

START_TEST(test_parse_by_type) {
        char *error = NULL;
        json_t *v = NULL;

        ck_assert_int_eq(output_parse("json", NULL, "x {\"a\": 1} y", &v, &error), 0);
        assert_json_eq(v, "{\"a\": 1}");
        json_decref(v);
        ck_assert_int_eq(output_parse(NULL, NULL, "[1]", &v, &error), 0);
        json_decref(v);
        ck_assert_int_eq(output_parse("json", NULL, "plain words", &v, &error), -ENODATA);
        ck_assert_int_eq(output_parse("list", NULL, "a, b", &v, &error), 0);
        assert_json_eq(v, "[\"a\", \"b\"]");
        json_decref(v);
        ck_assert_int_eq(output_parse("regex", "b", "abc", &v, &error), 0);
        ck_assert_str_eq(json_string_value(json_object_get(v, "match")), "b");
        json_decref(v);
        ck_assert_int_eq(output_parse("yaml", NULL, "a: 1", &v, &error), -EINVAL);
        ck_assert_str_eq(error, "unknown parser_type 'yaml': json, regex or list");
        free(error);
}
END_TEST

START_TEST(test_choice_matching) {
        static const char *const names[] = { "billing", "tech support", "tech", "sales" };
        static const struct {
                const char *answer;
                ssize_t index;
        } cases[] = {
                { "billing", 0 },
                { "Billing.", 0 },
                { "  \"SALES\"\n", 3 },
                { "`tech`", 2 },
                { "**tech support**", 1 },
                { "Category: billing", 0 },
                { "{\"category\": \"sales\"}", 3 },
                { "```json\n{\"category\": \"Tech Support\", \"confidence\": 0.9}\n```", 1 },
                { "{\"route\": \"tech\"}", 2 },
                { "[\"billing\"]", 0 },
                { "The message is about billing, clearly.", 0 },
                { "I would say tech support, not sales.", 1 },
                { "Probably sales or billing", 3 },
                { "technology", -1 },
                { "rebilling", -1 },
                { "__other__", -1 },
                { "none of these", -1 },
                { "", -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ssize_t got = output_match_choice(cases[i].answer, names, ELEMENTSOF(names));

                ck_assert_msg(got == cases[i].index, "'%s' gave %zd, expected %zd", cases[i].answer, got,
                              cases[i].index);
        }
        ck_assert_int_eq(output_match_choice("billing", names, 0), -1);
        ck_assert_int_eq(output_match_choice(NULL, names, ELEMENTSOF(names)), -1);
}
END_TEST

int main(void) {
        Suite *s = suite_create("output-parse");
        TCase *tc = tcase_create("output-parse");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_json_whole_fenced_and_in_prose);
        tcase_add_test(tc, test_lists);
        tcase_add_test(tc, test_regex_groups);
        tcase_add_test(tc, test_regex_refusals);
        tcase_add_test(tc, test_parse_by_type);
        tcase_add_test(tc, test_choice_matching);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
