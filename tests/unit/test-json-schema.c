/* The extractor's JSON Schema subset: which schemas are usable, and what a mismatch says. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "engine/json-schema.h"

static json_t *parse(const char *text) {
        json_error_t error;
        json_t *v = json_loads(text, JSON_DECODE_ANY, &error);

        ck_assert_msg(v, "bad test JSON (%s): %s", error.text, text);
        return v;
}

static const char person_schema[] =
        "{\"type\": \"object\","
        " \"properties\": {"
        "   \"name\": {\"type\": \"string\", \"description\": \"Full name\"},"
        "   \"age\": {\"type\": \"integer\", \"minimum\": 0},"
        "   \"email\": {\"type\": [\"string\", \"null\"]},"
        "   \"status\": {\"enum\": [\"new\", \"active\", \"gone\"]},"
        "   \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
        "   \"address\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
        "                 \"required\": [\"city\"]},"
        "   \"orders\": {\"type\": \"array\", \"items\": {\"type\": \"object\","
        "                \"properties\": {\"total\": {\"type\": \"number\"}}}}},"
        " \"required\": [\"name\", \"age\"]}";

static void assert_valid(const char *schema_text, const char *value_text) {
        json_t *schema = parse(schema_text), *value = parse(value_text);
        char *error = NULL;
        int r;

        ck_assert_int_eq(json_schema_check(schema, &error), 0);
        r = json_schema_validate(schema, value, &error);
        ck_assert_msg(r == 0, "%s refused: %s", value_text, error ?: "?");
        ck_assert_ptr_null(error);
        json_decref(schema);
        json_decref(value);
}

static void assert_invalid(const char *schema_text, const char *value_text, const char *message) {
        json_t *schema = parse(schema_text), *value = parse(value_text);
        char *error = NULL;
        int r;

        ck_assert_int_eq(json_schema_check(schema, NULL), 0);
        r = json_schema_validate(schema, value, &error);
        ck_assert_msg(r == -EBADMSG, "%s accepted (%d)", value_text, r);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(streq(error, message), "'%s', expected '%s'", error, message);
        free(error);
        json_decref(schema);
        json_decref(value);
}

static void assert_schema_refused(const char *schema_text, const char *message) {
        json_t *schema = parse(schema_text);
        char *error = NULL;

        ck_assert_int_eq(json_schema_check(schema, &error), -EINVAL);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strstr(error, message), "'%s' does not say '%s'", error, message);
        free(error);
        json_decref(schema);
}

START_TEST(test_schema_valid_values) {
        assert_valid(person_schema, "{\"name\": \"Ada\", \"age\": 36}");
        assert_valid(person_schema, "{\"name\": \"Ada\", \"age\": 36.0, \"email\": null, \"status\": \"active\","
                                    " \"tags\": [], \"address\": {\"city\": \"London\", \"zip\": 1},"
                                    " \"orders\": [{\"total\": 1.5}, {\"total\": 2}], \"extra\": true}");
        assert_valid(person_schema, "{\"name\": \"Ada\", \"age\": 1, \"email\": \"a@b.c\"}");
        /* Keywords outside the subset are ignored, an empty schema takes anything. */
        assert_valid("{}", "[1, \"x\", null]");
        assert_valid("{\"type\": \"string\", \"format\": \"email\", \"maxLength\": 1}", "\"longer\"");
        assert_valid("{\"enum\": [1, {\"a\": [true]}]}", "{\"a\": [true]}");
        assert_valid("{\"type\": \"number\"}", "-2.5e3");
        assert_valid("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}}", "{\"a\": 1, \"b\": 2}");
}
END_TEST

START_TEST(test_schema_mismatches_name_the_field) {
        assert_invalid(person_schema, "{\"name\": \"Ada\"}", "'age' is required");
        assert_invalid(person_schema, "{\"name\": \"Ada\", \"age\": \"36\"}", "'age' must be an integer, not a string");
        assert_invalid(person_schema, "{\"name\": \"Ada\", \"age\": 36.5}", "'age' must be an integer, not a number");
        assert_invalid(person_schema, "{\"name\": 7, \"age\": 1}", "'name' must be a string, not an integer");
        assert_invalid(person_schema, "{\"name\": \"A\", \"age\": 1, \"email\": 3}",
                       "'email' must be one of the types string, null, not an integer");
        assert_invalid(person_schema, "{\"name\": \"A\", \"age\": 1, \"status\": \"pending\"}",
                       "'status' must be one of \"new\", \"active\", \"gone\", not \"pending\"");
        assert_invalid(person_schema, "{\"name\": \"A\", \"age\": 1, \"tags\": [\"a\", 2]}",
                       "'tags.1' must be a string, not an integer");
        assert_invalid(person_schema, "{\"name\": \"A\", \"age\": 1, \"address\": {}}", "'address.city' is required");
        assert_invalid(person_schema, "{\"name\": \"A\", \"age\": 1, \"address\": {\"city\": null}}",
                       "'address.city' must be a string, not null");
        assert_invalid(person_schema, "{\"name\": \"A\", \"age\": 1, \"orders\": [{\"total\": 1}, {\"total\": \"9\"}]}",
                       "'orders.1.total' must be a number, not a string");
        assert_invalid(person_schema, "[]", "the value must be an object, not an array");
        assert_invalid("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"additionalProperties\": false}",
                       "{\"a\": 1, \"b\": 2}", "'b' is not allowed (the schema has no such property)");
        assert_invalid("{\"type\": \"null\"}", "false", "the value must be null, not a boolean");
        assert_invalid("{\"type\": \"boolean\"}", "null", "the value must be a boolean, not null");
}
END_TEST

START_TEST(test_schema_long_enum_is_shortened) {
        json_t *schema = parse("{\"enum\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}"), *value = parse("13");
        char *error = NULL;

        ck_assert_int_eq(json_schema_validate(schema, value, &error), -EBADMSG);
        ck_assert_str_eq(error, "the value must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …, not 13");
        free(error);
        json_decref(schema);
        json_decref(value);
}
END_TEST

START_TEST(test_schema_unusable_schemas) {
        char deep[JSON_SCHEMA_DEPTH_MAX * 16 + 64];
        size_t n = 0;

        assert_schema_refused("[]", "schema: a schema must be an object");
        assert_schema_refused("{\"type\": \"int\"}", "type: unknown type 'int'");
        assert_schema_refused("{\"type\": []}", "type: must be a type name or a list of them");
        assert_schema_refused("{\"type\": [\"string\", 3]}", "type: unknown type in the list (item 2)");
        assert_schema_refused("{\"properties\": {\"age\": {\"type\": \"int\"}}}",
                              "properties.age.type: unknown type 'int'");
        assert_schema_refused("{\"properties\": []}", "properties: must be an object of schemas");
        assert_schema_refused("{\"properties\": {\"a\": 1}}", "properties.a: a schema must be an object");
        assert_schema_refused("{\"required\": \"a\"}", "required: must be a list of property names");
        assert_schema_refused("{\"required\": [\"a\", 1]}", "required: item 2 is not a property name");
        assert_schema_refused("{\"enum\": []}", "enum: must be a non-empty list");
        assert_schema_refused("{\"items\": {\"type\": \"x\"}}", "items.type: unknown type 'x'");
        assert_schema_refused("{\"additionalProperties\": 3}", "additionalProperties: a schema must be an object");

        for (int i = 0; i <= JSON_SCHEMA_DEPTH_MAX; i++)
                n += (size_t) sprintf(deep + n, "{\"items\": ");
        n += (size_t) sprintf(deep + n, "{}");
        for (int i = 0; i <= JSON_SCHEMA_DEPTH_MAX; i++)
                deep[n++] = '}';
        deep[n] = '\0';
        assert_schema_refused(deep, "nest deeper than");
}
END_TEST

int main(void) {
        Suite *s = suite_create("json-schema");
        TCase *tc = tcase_create("json-schema");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_schema_valid_values);
        tcase_add_test(tc, test_schema_mismatches_name_the_field);
        tcase_add_test(tc, test_schema_long_enum_is_shortened);
        tcase_add_test(tc, test_schema_unusable_schemas);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
