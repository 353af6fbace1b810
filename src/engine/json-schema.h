/* The part of JSON Schema that describes what a model should extract: "type" (one name or a
 * list of them: object, array, string, number, integer, boolean, null), "properties",
 * "required", "items", "enum" and "additionalProperties" (a boolean or a schema). Other
 * keywords (title, description, default, format, minimum, …) are ignored, as JSON Schema
 * ignores keywords it does not know. Pure functions: no I/O, safe from any thread. */
#pragma once

#include <jansson.h>

/* Deepest nesting of schemas json_schema_check() accepts. */
#define JSON_SCHEMA_DEPTH_MAX 32

/* Whether schema is one json_schema_validate() can use: an object whose "type" names JSON
 * types, "properties" an object of schemas, "required" a list of names, "items" a schema,
 * "enum" a non-empty list, "additionalProperties" a boolean or a schema, nested at most
 * JSON_SCHEMA_DEPTH_MAX deep. 0, or -EINVAL with *ret_error (malloc'ed; ret_error may be
 * NULL) saying where: "properties.age.type: unknown type 'int'". -ENOMEM. */
int json_schema_check(json_t *schema, char **ret_error);

/* 0 when value matches schema (which passed json_schema_check()); -EBADMSG with
 * *ret_error naming the first mismatch by its dotted path ("'address.city' must be a
 * string, not a number", "'tags.1' must be one of \"a\", \"b\"", "'email' is required");
 * -ENOMEM. The value itself is called "the value" in messages. An integer accepts
 * numbers with no fraction (2.0). */
int json_schema_validate(json_t *schema, json_t *value, char **ret_error);
