/* A small JSON Schema validator for extracted data (json-schema.h). */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/json-schema.h"

static const char *const type_names[] = {
        "object", "array", "string", "number", "integer", "boolean", "null",
};

/* Longest enum list shown in a message. */
#define ENUM_SHOWN_MAX 10

_printf_(2, 3)
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;
        char *message = NULL;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (!message)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = message;
        return -EINVAL;
}

static bool type_name_known(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(type_names); i++)
                if (streq(type_names[i], name))
                        return true;
        return false;
}

/* path + "." + key, or key at the top; NULL on ENOMEM. */
static char *path_join(const char *path, const char *key) {
        char *joined = NULL;

        if (asprintf(&joined, "%s%s%s", path, isempty(path) ? "" : ".", key) < 0)
                return NULL;
        return joined;
}

static char *path_index(const char *path, size_t index) {
        char key[32];

        snprintf(key, sizeof key, "%zu", index);
        return path_join(path, key);
}

/* --- checking a schema ------------------------------------------------------------------ */

static int check_schema(json_t *schema, const char *path, unsigned depth, char **ret_error);

static int check_type(json_t *type, const char *path, char **ret_error) {
        json_t *item;
        size_t i;

        if (json_is_string(type)) {
                if (!type_name_known(json_string_value(type)))
                        return fail(ret_error, "%s%stype: unknown type '%s'", path, isempty(path) ? "" : ".",
                                    json_string_value(type));
                return 0;
        }
        if (!json_is_array(type) || json_array_size(type) == 0)
                return fail(ret_error, "%s%stype: must be a type name or a list of them", path,
                            isempty(path) ? "" : ".");
        json_array_foreach(type, i, item)
                if (!json_is_string(item) || !type_name_known(json_string_value(item)))
                        return fail(ret_error, "%s%stype: unknown type in the list (item %zu)", path,
                                    isempty(path) ? "" : ".", i + 1);
        return 0;
}

static int check_properties(json_t *properties, const char *path, unsigned depth, char **ret_error) {
        const char *key;
        json_t *sub;

        if (!json_is_object(properties))
                return fail(ret_error, "%s%sproperties: must be an object of schemas", path, isempty(path) ? "" : ".");
        json_object_foreach(properties, key, sub) {
                _cleanup_free_ char *p = NULL, *q = path_join(path, "properties");
                int r;

                if (!q || !(p = path_join(q, key)))
                        return -ENOMEM;
                r = check_schema(sub, p, depth + 1, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_schema(json_t *schema, const char *path, unsigned depth, char **ret_error) {
        json_t *v, *item;
        size_t i;
        int r;

        if (depth > JSON_SCHEMA_DEPTH_MAX)
                return fail(ret_error, "%s: schemas nest deeper than %d levels", isempty(path) ? "schema" : path,
                            JSON_SCHEMA_DEPTH_MAX);
        if (!json_is_object(schema))
                return fail(ret_error, "%s: a schema must be an object", isempty(path) ? "schema" : path);

        v = json_object_get(schema, "type");
        if (v && (r = check_type(v, path, ret_error)) < 0)
                return r;

        v = json_object_get(schema, "properties");
        if (v && (r = check_properties(v, path, depth, ret_error)) < 0)
                return r;

        v = json_object_get(schema, "required");
        if (v) {
                if (!json_is_array(v))
                        return fail(ret_error, "%s%srequired: must be a list of property names", path,
                                    isempty(path) ? "" : ".");
                json_array_foreach(v, i, item)
                        if (!json_is_string(item))
                                return fail(ret_error, "%s%srequired: item %zu is not a property name", path,
                                            isempty(path) ? "" : ".", i + 1);
        }

        v = json_object_get(schema, "enum");
        if (v && (!json_is_array(v) || json_array_size(v) == 0))
                return fail(ret_error, "%s%senum: must be a non-empty list of values", path, isempty(path) ? "" : ".");

        v = json_object_get(schema, "items");
        if (v) {
                _cleanup_free_ char *p = path_join(path, "items");

                if (!p)
                        return -ENOMEM;
                r = check_schema(v, p, depth + 1, ret_error);
                if (r < 0)
                        return r;
        }

        v = json_object_get(schema, "additionalProperties");
        if (v && !json_is_boolean(v)) {
                _cleanup_free_ char *p = path_join(path, "additionalProperties");

                if (!p)
                        return -ENOMEM;
                r = check_schema(v, p, depth + 1, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int json_schema_check(json_t *schema, char **ret_error) {
        return check_schema(schema, "", 0, ret_error);
}

/* --- validating a value ------------------------------------------------------------------ */

static bool is_integral(json_t *v) {
        double d;

        if (json_is_integer(v))
                return true;
        if (!json_is_real(v))
                return false;
        d = json_real_value(v);
        return isfinite(d) && d == floor(d);
}

static bool value_has_type(json_t *v, const char *type) {
        if (streq(type, "object"))
                return json_is_object(v);
        if (streq(type, "array"))
                return json_is_array(v);
        if (streq(type, "string"))
                return json_is_string(v);
        if (streq(type, "number"))
                return json_is_number(v);
        if (streq(type, "integer"))
                return is_integral(v);
        if (streq(type, "boolean"))
                return json_is_boolean(v);
        if (streq(type, "null"))
                return json_is_null(v);
        return true; /* check_schema() refused others */
}

static const char *value_type_name(json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static const char *article(const char *type) {
        return streq(type, "null") ? "" : strchr("aeiou", type[0]) ? "an " : "a ";
}

/* "'address.city'" or "the value". */
static char *path_name(const char *path) {
        char *s = NULL;

        if (isempty(path))
                return strdup("the value");
        if (asprintf(&s, "'%s'", path) < 0)
                return NULL;
        return s;
}

_printf_(3, 4)
static int mismatch(char **ret_error, const char *path, const char *format, ...) {
        _cleanup_free_ char *name = path_name(path), *what = NULL;
        char *message = NULL;
        va_list ap;
        int r;

        if (!name)
                return -ENOMEM;
        va_start(ap, format);
        r = vasprintf(&what, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(&message, "%s %s", name, what) < 0)
                return -ENOMEM;
        if (ret_error) {
                free(*ret_error);
                *ret_error = message;
        } else
                free(message);
        return -EBADMSG;
}

static int validate_type(json_t *type, json_t *value, const char *path, char **ret_error) {
        _cleanup_free_ char *list = NULL;
        json_t *item;
        size_t i;

        if (json_is_string(type)) {
                const char *t = json_string_value(type);

                if (value_has_type(value, t))
                        return 0;
                return mismatch(ret_error, path, "must be %s%s, not %s", article(t), t, value_type_name(value));
        }
        json_array_foreach(type, i, item)
                if (json_is_string(item) && value_has_type(value, json_string_value(item)))
                        return 0;
        json_array_foreach(type, i, item) {
                char *longer = NULL;

                if (asprintf(&longer, "%s%s%s", list ?: "", list ? ", " : "", json_string_value(item) ?: "?") < 0)
                        return -ENOMEM;
                free(list);
                list = longer;
        }
        return mismatch(ret_error, path, "must be one of the types %s, not %s", list ?: "", value_type_name(value));
}

static int validate_enum(json_t *choices, json_t *value, const char *path, char **ret_error) {
        _cleanup_free_ char *list = NULL, *got = NULL;
        json_t *item;
        size_t i;

        json_array_foreach(choices, i, item)
                if (json_equal(item, value))
                        return 0;

        json_array_foreach(choices, i, item) {
                _cleanup_free_ char *text = NULL;
                char *longer = NULL;

                if (i == ENUM_SHOWN_MAX) {
                        if (asprintf(&longer, "%s, …", list) < 0)
                                return -ENOMEM;
                        free(list);
                        list = longer;
                        break;
                }
                text = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
                if (!text || asprintf(&longer, "%s%s%s", list ?: "", list ? ", " : "", text) < 0)
                        return -ENOMEM;
                free(list);
                list = longer;
        }
        got = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!got)
                return -ENOMEM;
        if (strlen(got) > 80)
                strcpy(got + 77, "...");
        return mismatch(ret_error, path, "must be one of %s, not %s", list ?: "", got);
}

static int validate(json_t *schema, json_t *value, const char *path, char **ret_error);

static int validate_object(json_t *schema, json_t *value, const char *path, char **ret_error) {
        json_t *properties = json_object_get(schema, "properties"), *required = json_object_get(schema, "required");
        json_t *additional = json_object_get(schema, "additionalProperties"), *item, *sub;
        const char *key;
        size_t i;
        int r;

        json_array_foreach(required, i, item) {
                const char *name = json_string_value(item);

                if (name && !json_object_get(value, name)) {
                        _cleanup_free_ char *p = path_join(path, name);

                        if (!p)
                                return -ENOMEM;
                        return mismatch(ret_error, p, "is required");
                }
        }

        json_object_foreach(value, key, item) {
                _cleanup_free_ char *p = path_join(path, key);

                if (!p)
                        return -ENOMEM;
                sub = json_object_get(properties, key);
                if (!sub && json_is_false(additional))
                        return mismatch(ret_error, p, "is not allowed (the schema has no such property)");
                if (!sub && json_is_object(additional))
                        sub = additional;
                if (!sub)
                        continue;
                r = validate(sub, item, p, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate(json_t *schema, json_t *value, const char *path, char **ret_error) {
        json_t *v, *item;
        size_t i;
        int r;

        if (!json_is_object(schema))
                return 0;

        v = json_object_get(schema, "type");
        if (v && (r = validate_type(v, value, path, ret_error)) < 0)
                return r;

        v = json_object_get(schema, "enum");
        if (json_is_array(v) && (r = validate_enum(v, value, path, ret_error)) < 0)
                return r;

        if (json_is_object(value) && (r = validate_object(schema, value, path, ret_error)) < 0)
                return r;

        v = json_object_get(schema, "items");
        if (json_is_array(value) && json_is_object(v))
                json_array_foreach(value, i, item) {
                        _cleanup_free_ char *p = path_index(path, i);

                        if (!p)
                                return -ENOMEM;
                        r = validate(v, item, p, ret_error);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int json_schema_validate(json_t *schema, json_t *value, char **ret_error) {
        return validate(schema, value ?: json_null(), "", ret_error);
}
