/* JSON helpers: validating request bodies field by field with errors in FastAPI's shape,
 * so clients see which field is wrong:
 *   {"loc": ["body", "name"], "msg": "Field required", "type": "missing"} */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/macro.h"

/* jansson (>= 2.11, GCC or clang) already provides json_decrefp(), NULL-safe. */
#define _cleanup_json_ _cleanup_(json_decrefp)

typedef enum JsonFieldType {
        JSON_FIELD_STRING,
        JSON_FIELD_INTEGER,
        JSON_FIELD_NUMBER,   /* integer or real */
        JSON_FIELD_BOOLEAN,
        JSON_FIELD_OBJECT,
        JSON_FIELD_ARRAY,
        JSON_FIELD_STRING_ARRAY,
        JSON_FIELD_ANY,
} JsonFieldType;

enum {
        JSON_FIELD_REQUIRED = 1 << 0, /* must be present */
        JSON_FIELD_NULLABLE = 1 << 1, /* null is accepted */
        JSON_FIELD_NONEMPTY = 1 << 2, /* strings: at least one non-blank character */
};

typedef struct JsonField {
        const char *name;
        JsonFieldType type;
        unsigned flags;
        /* INTEGER/NUMBER: inclusive range when min < max. STRING: maximum length in bytes
         * when max > 0. */
        int64_t min, max;
        /* STRING: the allowed values, NULL-terminated, or NULL for any. */
        const char *const *choices;
} JsonField;

/* Checks obj (a JSON object) against fields, appending one error per bad field to errors
 * (a JSON array). Fields not listed are ignored. Returns the number of errors found. */
int json_check_fields(json_t *obj, const JsonField *fields, size_t n_fields, json_t *errors);

/* Appends {"loc": ["body", field], "msg": msg, "type": type} to errors. */
void json_error_append(json_t *errors, const char *field, const char *type, const char *msg);
/* The same at loc (an array, copied) with key (NULL: none) appended: for settings nested in
 * the body. */
void json_error_append_at(json_t *errors, json_t *loc, const char *key, const char *type, const char *msg);

/* Getters that tolerate absence: return def when key is missing or null. */
const char *json_get_string(json_t *obj, const char *key, const char *def);
int64_t json_get_integer(json_t *obj, const char *key, int64_t def);
bool json_get_bool(json_t *obj, const char *key, bool def);

/* Serialises compactly (sorted keys off, ensure_ascii off); NULL json gives "null". */
char *json_dumps_compact(const json_t *json);
/* The same text as json_dumps_compact(), written by a faster serialiser (json-write.c);
 * *ret_len (if given) gets its length. NULL json gives "null"; NULL on failure. */
char *json_write(const json_t *json, size_t *ret_len);
/* For an object that will never change again: json_write() then copies its text, written
 * once here, instead of walking it. Takes a reference until json_write_drop() (or until
 * another object's text takes its place); -EINVAL for anything but an object. */
int json_write_keep(json_t *json);
void json_write_drop(json_t *json);
/* Parses text that the daemon itself stored; returns NULL on NULL or malformed input. */
json_t *json_loads_or_null(const char *text);
