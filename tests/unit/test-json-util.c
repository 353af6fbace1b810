/* Request-body validation and the jansson helpers. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"

/* Checks body (JSON text) against one field and returns the errors as compact text. */
static char *check_one(const char *body, const JsonField *field, int *ret_n) {
        _cleanup_json_ json_t *obj = NULL, *errors = NULL;
        json_error_t e;
        int n;

        obj = json_loads(body, 0, &e);
        ck_assert_msg(obj != NULL, "bad test input %s: %s", body, e.text);
        errors = json_array();
        n = json_check_fields(obj, field, 1, errors);
        ck_assert_int_eq(n, (int) json_array_size(errors));
        if (ret_n)
                *ret_n = n;
        return json_dumps_compact(errors);
}

#define assert_field_ok(body, ...)                                              \
        do {                                                                    \
                const JsonField _f = __VA_ARGS__;                               \
                _cleanup_free_ char *_s = check_one((body), &_f, NULL);        \
                ck_assert_str_eq(_s, "[]");                                     \
        } while (0)

#define assert_field_error(body, expected, ...)                                 \
        do {                                                                    \
                const JsonField _f = __VA_ARGS__;                               \
                _cleanup_free_ char *_s = check_one((body), &_f, NULL);        \
                ck_assert_str_eq(_s, (expected));                               \
        } while (0)

#define ERR(field, type, msg) \
        "[{\"loc\":[\"body\",\"" field "\"],\"msg\":\"" msg "\",\"type\":\"" type "\"}]"

START_TEST(test_required_and_optional) {
        assert_field_error("{}", ERR("name", "missing", "Field required"),
                           { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED });
        assert_field_ok("{}", { "name", JSON_FIELD_STRING, 0 });
        assert_field_ok("{\"name\": \"x\"}", { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED });
        /* Names are matched exactly. */
        assert_field_error("{\"Name\": \"x\"}", ERR("name", "missing", "Field required"),
                           { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED });
        assert_field_error("{}", ERR("extra", "missing", "Field required"),
                           { "extra", JSON_FIELD_ANY, JSON_FIELD_REQUIRED });
}
END_TEST

START_TEST(test_types) {
        /* string */
        assert_field_ok("{\"v\": \"\"}", { "v", JSON_FIELD_STRING, 0 });
        assert_field_error("{\"v\": 5}", ERR("v", "string_type", "Input should be a valid string"),
                           { "v", JSON_FIELD_STRING, 0 });
        assert_field_error("{\"v\": [\"a\"]}", ERR("v", "string_type", "Input should be a valid string"),
                           { "v", JSON_FIELD_STRING, 0 });

        /* integer: no reals, no strings, no booleans */
        assert_field_ok("{\"v\": -12}", { "v", JSON_FIELD_INTEGER, 0 });
        assert_field_error("{\"v\": 1.5}", ERR("v", "int_type", "Input should be a valid integer"),
                           { "v", JSON_FIELD_INTEGER, 0 });
        assert_field_error("{\"v\": 2.0}", ERR("v", "int_type", "Input should be a valid integer"),
                           { "v", JSON_FIELD_INTEGER, 0 });
        assert_field_error("{\"v\": \"5\"}", ERR("v", "int_type", "Input should be a valid integer"),
                           { "v", JSON_FIELD_INTEGER, 0 });
        assert_field_error("{\"v\": true}", ERR("v", "int_type", "Input should be a valid integer"),
                           { "v", JSON_FIELD_INTEGER, 0 });

        /* number: integer or real */
        assert_field_ok("{\"v\": 3}", { "v", JSON_FIELD_NUMBER, 0 });
        assert_field_ok("{\"v\": -0.25}", { "v", JSON_FIELD_NUMBER, 0 });
        assert_field_error("{\"v\": \"0.5\"}", ERR("v", "float_type", "Input should be a valid number"),
                           { "v", JSON_FIELD_NUMBER, 0 });
        assert_field_error("{\"v\": false}", ERR("v", "float_type", "Input should be a valid number"),
                           { "v", JSON_FIELD_NUMBER, 0 });

        /* boolean: true and false only */
        assert_field_ok("{\"v\": true}", { "v", JSON_FIELD_BOOLEAN, 0 });
        assert_field_ok("{\"v\": false}", { "v", JSON_FIELD_BOOLEAN, 0 });
        assert_field_error("{\"v\": 1}", ERR("v", "bool_type", "Input should be a valid boolean"),
                           { "v", JSON_FIELD_BOOLEAN, 0 });
        assert_field_error("{\"v\": 0}", ERR("v", "bool_type", "Input should be a valid boolean"),
                           { "v", JSON_FIELD_BOOLEAN, 0 });
        assert_field_error("{\"v\": \"true\"}", ERR("v", "bool_type", "Input should be a valid boolean"),
                           { "v", JSON_FIELD_BOOLEAN, 0 });

        /* object and array */
        assert_field_ok("{\"v\": {}}", { "v", JSON_FIELD_OBJECT, 0 });
        assert_field_error("{\"v\": []}", ERR("v", "dict_type", "Input should be a valid dictionary"),
                           { "v", JSON_FIELD_OBJECT, 0 });
        assert_field_error("{\"v\": \"{}\"}", ERR("v", "dict_type", "Input should be a valid dictionary"),
                           { "v", JSON_FIELD_OBJECT, 0 });
        assert_field_ok("{\"v\": [1, \"a\", null]}", { "v", JSON_FIELD_ARRAY, 0 });
        assert_field_error("{\"v\": {}}", ERR("v", "list_type", "Input should be a valid list"),
                           { "v", JSON_FIELD_ARRAY, 0 });

        /* any */
        assert_field_ok("{\"v\": 1}", { "v", JSON_FIELD_ANY, 0 });
        assert_field_ok("{\"v\": {\"deep\": [1]}}", { "v", JSON_FIELD_ANY, JSON_FIELD_REQUIRED });
}
END_TEST

START_TEST(test_null) {
        assert_field_error("{\"v\": null}", ERR("v", "string_type", "Input should be a valid string"),
                           { "v", JSON_FIELD_STRING, 0 });
        assert_field_error("{\"v\": null}", ERR("v", "int_type", "Input should be a valid integer"),
                           { "v", JSON_FIELD_INTEGER, JSON_FIELD_REQUIRED });
        assert_field_error("{\"v\": null}", ERR("v", "dict_type", "Input should be a valid dictionary"),
                           { "v", JSON_FIELD_OBJECT, 0 });
        assert_field_ok("{\"v\": null}", { "v", JSON_FIELD_STRING, JSON_FIELD_NULLABLE });
        /* Present-but-null satisfies REQUIRED when null is allowed. */
        assert_field_ok("{\"v\": null}", { "v", JSON_FIELD_INTEGER, JSON_FIELD_REQUIRED | JSON_FIELD_NULLABLE });
        /* Nullable skips the other checks too. */
        assert_field_ok("{\"v\": null}", { "v", JSON_FIELD_STRING, JSON_FIELD_NULLABLE | JSON_FIELD_NONEMPTY });
        assert_field_ok("{\"v\": null}", { "v", JSON_FIELD_ANY, 0 });
}
END_TEST

START_TEST(test_ranges) {
        const JsonField f = { "n", JSON_FIELD_INTEGER, 0, 1, 10 };
        const JsonField g = { "x", JSON_FIELD_NUMBER, 0, -1, 1 };

        assert_field_ok("{\"n\": 1}", f);
        assert_field_ok("{\"n\": 10}", f);
        assert_field_error("{\"n\": 0}",
                           ERR("n", "greater_than_equal", "Input should be greater than or equal to 1"), f);
        assert_field_error("{\"n\": 11}",
                           ERR("n", "less_than_equal", "Input should be less than or equal to 10"), f);
        assert_field_error("{\"n\": -9223372036854775808}",
                           ERR("n", "greater_than_equal", "Input should be greater than or equal to 1"), f);
        assert_field_error("{\"n\": 9223372036854775807}",
                           ERR("n", "less_than_equal", "Input should be less than or equal to 10"), f);

        assert_field_ok("{\"x\": 0.999}", g);
        assert_field_ok("{\"x\": -1}", g);
        assert_field_error("{\"x\": 1.0001}",
                           ERR("x", "less_than_equal", "Input should be less than or equal to 1"), g);
        assert_field_error("{\"x\": -2}",
                           ERR("x", "greater_than_equal", "Input should be greater than or equal to -1"), g);
        assert_field_error("{\"x\": -1e300}",
                           ERR("x", "greater_than_equal", "Input should be greater than or equal to -1"), g);

        /* min == max: no range at all. */
        assert_field_ok("{\"n\": -99999}", { "n", JSON_FIELD_INTEGER, 0, 0, 0 });
}
END_TEST

START_TEST(test_strings) {
        const JsonField name = { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY, 0, 5 };

        assert_field_ok("{\"name\": \"abcde\"}", name);
        assert_field_ok("{\"name\": \" a \"}", name);
        assert_field_error("{\"name\": \"abcdef\"}",
                           ERR("name", "string_too_long", "String should have at most 5 characters"), name);
        assert_field_error("{\"name\": \"\"}",
                           ERR("name", "string_too_short", "String should have at least 1 character"), name);
        assert_field_error("{\"name\": \" \\t\\n \"}",
                           ERR("name", "string_too_short", "String should have at least 1 character"), name);
        /* The maximum is in bytes: three two-byte characters exceed five. */
        assert_field_error("{\"name\": \"äöü\"}",
                           ERR("name", "string_too_long", "String should have at most 5 characters"), name);
        /* Empty is fine without NONEMPTY. */
        assert_field_ok("{\"name\": \"\"}", { "name", JSON_FIELD_STRING, 0, 0, 5 });
}
END_TEST

START_TEST(test_choices) {
        static const char *const two[] = { "admin", "normal", NULL };
        static const char *const three[] = { "a", "b", "c", NULL };
        static const char *const one[] = { "only", NULL };

        assert_field_ok("{\"role\": \"admin\"}", { "role", JSON_FIELD_STRING, 0, 0, 0, two });
        assert_field_error("{\"role\": \"root\"}", ERR("role", "enum", "Input should be 'admin' or 'normal'"),
                           { "role", JSON_FIELD_STRING, 0, 0, 0, two });
        assert_field_error("{\"role\": \"Admin\"}", ERR("role", "enum", "Input should be 'admin' or 'normal'"),
                           { "role", JSON_FIELD_STRING, 0, 0, 0, two });
        assert_field_error("{\"v\": \"\"}", ERR("v", "enum", "Input should be 'a', 'b' or 'c'"),
                           { "v", JSON_FIELD_STRING, 0, 0, 0, three });
        assert_field_error("{\"v\": \"x\"}", ERR("v", "enum", "Input should be 'only'"),
                           { "v", JSON_FIELD_STRING, 0, 0, 0, one });
        /* Wrong type is reported as such, not as a bad choice. */
        assert_field_error("{\"role\": 1}", ERR("role", "string_type", "Input should be a valid string"),
                           { "role", JSON_FIELD_STRING, 0, 0, 0, two });
}
END_TEST

START_TEST(test_string_array) {
        static const char *const colors[] = { "red", "green", NULL };

        assert_field_ok("{\"tags\": []}", { "tags", JSON_FIELD_STRING_ARRAY, 0 });
        assert_field_ok("{\"tags\": [\"a\", \"\"]}", { "tags", JSON_FIELD_STRING_ARRAY, 0 });
        assert_field_error("{\"tags\": \"a\"}", ERR("tags", "list_type", "Input should be a valid list"),
                           { "tags", JSON_FIELD_STRING_ARRAY, 0 });
        assert_field_error("{\"tags\": [1, \"a\", null]}",
                           "[{\"loc\":[\"body\",\"tags\",0],\"msg\":\"Input should be a valid string\",\"type\":\"string_type\"},"
                           "{\"loc\":[\"body\",\"tags\",2],\"msg\":\"Input should be a valid string\",\"type\":\"string_type\"}]",
                           { "tags", JSON_FIELD_STRING_ARRAY, 0 });
        assert_field_error("{\"c\": [\"red\", \"blue\"]}",
                           "[{\"loc\":[\"body\",\"c\",1],\"msg\":\"Input should be 'red' or 'green'\",\"type\":\"enum\"}]",
                           { "c", JSON_FIELD_STRING_ARRAY, 0, 0, 0, colors });
}
END_TEST

START_TEST(test_several_fields) {
        static const JsonField fields[] = {
                { "name",        JSON_FIELD_STRING,  JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY, 0, 100 },
                { "slug",        JSON_FIELD_STRING,  JSON_FIELD_REQUIRED },
                { "is_active",   JSON_FIELD_BOOLEAN, 0 },
                { "limit",       JSON_FIELD_INTEGER, 0, 1, 1000 },
                { "description", JSON_FIELD_STRING,  JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *obj = NULL, *errors = NULL, *notobj = NULL, *errors2 = NULL;
        _cleanup_free_ char *s = NULL;

        obj = json_loads("{\"name\": \"\", \"is_active\": \"yes\", \"limit\": 5, \"description\": null, "
                         "\"unknown\": [1, 2]}", 0, NULL);
        ck_assert_ptr_nonnull(obj);
        errors = json_array();
        ck_assert_int_eq(json_check_fields(obj, fields, ELEMENTSOF(fields), errors), 3);
        s = json_dumps_compact(errors);
        ck_assert_str_eq(s,
                         "[{\"loc\":[\"body\",\"name\"],\"msg\":\"String should have at least 1 character\",\"type\":\"string_too_short\"},"
                         "{\"loc\":[\"body\",\"slug\"],\"msg\":\"Field required\",\"type\":\"missing\"},"
                         "{\"loc\":[\"body\",\"is_active\"],\"msg\":\"Input should be a valid boolean\",\"type\":\"bool_type\"}]");

        /* Not an object: every required field is missing, nothing crashes. */
        notobj = json_loads("[1, 2]", 0, NULL);
        errors2 = json_array();
        ck_assert_int_eq(json_check_fields(notobj, fields, ELEMENTSOF(fields), errors2), 2);
        ck_assert_int_eq(json_check_fields(NULL, fields, ELEMENTSOF(fields), errors2), 2);
        ck_assert_int_eq(json_check_fields(obj, fields, 0, errors2), 0);
}
END_TEST

START_TEST(test_error_append) {
        _cleanup_json_ json_t *errors = json_array();
        _cleanup_free_ char *s = NULL;

        json_error_append(errors, "node_id", "value_error", "Node id already used");
        json_error_append(errors, NULL, "json_invalid", "JSON decode error");
        json_error_append(NULL, "x", "y", "z");
        s = json_dumps_compact(errors);
        ck_assert_str_eq(s,
                         "[{\"loc\":[\"body\",\"node_id\"],\"msg\":\"Node id already used\",\"type\":\"value_error\"},"
                         "{\"loc\":[\"body\"],\"msg\":\"JSON decode error\",\"type\":\"json_invalid\"}]");
}
END_TEST

START_TEST(test_getters) {
        _cleanup_json_ json_t *o = json_loads("{\"s\": \"x\", \"i\": 42, \"b\": false, \"n\": null, "
                                              "\"r\": 1.5, \"t\": true}", 0, NULL);

        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_get_string(o, "s", "def"), "x");
        ck_assert_str_eq(json_get_string(o, "missing", "def"), "def");
        ck_assert_str_eq(json_get_string(o, "n", "def"), "def");
        ck_assert_str_eq(json_get_string(o, "i", "def"), "def");
        ck_assert_ptr_null(json_get_string(o, "missing", NULL));

        ck_assert_int_eq(json_get_integer(o, "i", -1), 42);
        ck_assert_int_eq(json_get_integer(o, "missing", -1), -1);
        ck_assert_int_eq(json_get_integer(o, "n", -1), -1);
        ck_assert_int_eq(json_get_integer(o, "r", -1), -1);
        ck_assert_int_eq(json_get_integer(o, "s", -1), -1);

        ck_assert(!json_get_bool(o, "b", true));
        ck_assert(json_get_bool(o, "t", false));
        ck_assert(json_get_bool(o, "missing", true));
        ck_assert(json_get_bool(o, "n", true));
        ck_assert(json_get_bool(o, "i", true)); /* 42 is not a boolean */

        ck_assert_str_eq(json_get_string(NULL, "s", "def"), "def");
        ck_assert_int_eq(json_get_integer(NULL, "i", 7), 7);
}
END_TEST

START_TEST(test_dumps_compact) {
        _cleanup_json_ json_t *o = NULL, *i = json_integer(5), *str = json_string("grüße \"q\"");
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

        o = json_pack("{s:i, s:[i, i], s:n, s:b}", "zeta", 1, "alpha", 1, 2, "mid", "ok", 1);
        ck_assert_ptr_nonnull(o);
        a = json_dumps_compact(o);
        /* Insertion order kept, no spaces. */
        ck_assert_str_eq(a, "{\"zeta\":1,\"alpha\":[1,2],\"mid\":null,\"ok\":true}");

        b = json_dumps_compact(NULL);
        ck_assert_str_eq(b, "null");
        c = json_dumps_compact(i);
        ck_assert_str_eq(c, "5");
        d = json_dumps_compact(str);
        ck_assert_str_eq(d, "\"grüße \\\"q\\\"\"");
        e = json_dumps_compact(json_true());
        ck_assert_str_eq(e, "true");
}
END_TEST

START_TEST(test_loads_or_null) {
        _cleanup_json_ json_t *o = NULL, *n = NULL, *s = NULL, *z = NULL;

        ck_assert_ptr_null(json_loads_or_null(NULL));
        ck_assert_ptr_null(json_loads_or_null(""));
        ck_assert_ptr_null(json_loads_or_null("{bad"));
        ck_assert_ptr_null(json_loads_or_null("{\"a\": 1} trailing"));
        ck_assert_ptr_null(json_loads_or_null("\"\\u0000\""));

        o = json_loads_or_null("{\"a\": [1, 2]}");
        ck_assert(json_is_object(o));
        n = json_loads_or_null("42");
        ck_assert(json_is_integer(n));
        ck_assert_int_eq(json_integer_value(n), 42);
        s = json_loads_or_null("\"text\"");
        ck_assert_str_eq(json_string_value(s), "text");
        z = json_loads_or_null("null");
        ck_assert(json_is_null(z));
}
END_TEST

static Suite *json_util_suite(void) {
        Suite *s = suite_create("json-util");
        TCase *tc;

        tc = tcase_create("check_fields");
        tcase_add_test(tc, test_required_and_optional);
        tcase_add_test(tc, test_types);
        tcase_add_test(tc, test_null);
        tcase_add_test(tc, test_ranges);
        tcase_add_test(tc, test_strings);
        tcase_add_test(tc, test_choices);
        tcase_add_test(tc, test_string_array);
        tcase_add_test(tc, test_several_fields);
        tcase_add_test(tc, test_error_append);
        suite_add_tcase(s, tc);

        tc = tcase_create("helpers");
        tcase_add_test(tc, test_getters);
        tcase_add_test(tc, test_dumps_compact);
        tcase_add_test(tc, test_loads_or_null);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(json_util_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
