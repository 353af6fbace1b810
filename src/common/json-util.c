/* Request-body validation with FastAPI-shaped errors, and small jansson conveniences. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"

static void json_error_append_loc(json_t *errors, json_t *loc, const char *type, const char *msg) {
        json_t *e;

        if (!loc)
                return;
        e = json_pack("{s:o, s:s, s:s}", "loc", loc, "msg", msg, "type", type);
        if (e)
                json_array_append_new(errors, e);
}

void json_error_append(json_t *errors, const char *field, const char *type, const char *msg) {
        json_t *loc;

        if (!errors || !type || !msg)
                return;
        loc = field ? json_pack("[s, s]", "body", field) : json_pack("[s]", "body");
        json_error_append_loc(errors, loc, type, msg);
}

void json_error_append_at(json_t *errors, json_t *loc, const char *key, const char *type, const char *msg) {
        json_t *l = json_copy(loc);

        if (l && key && json_array_append_new(l, json_string(key)) < 0)
                l = (json_decref(l), NULL);
        json_error_append_loc(errors, l, type, msg);
}

/* loc ["body", field, index] for one item of an array field. */
static void json_error_append_item(json_t *errors, const char *field, size_t index,
                                   const char *type, const char *msg) {
        json_error_append_loc(errors, json_pack("[s, s, I]", "body", field, (json_int_t) index),
                              type, msg);
}

static bool string_is_blank(const char *s) {
        for (; *s; s++)
                if (!strchr(" \t\n\r\v\f", *s))
                        return false;
        return true;
}

static bool string_in_choices(const char *s, const char *const *choices) {
        for (size_t i = 0; choices[i]; i++)
                if (streq(s, choices[i]))
                        return true;
        return false;
}

/* "Input should be 'a', 'b' or 'c'", as pydantic words a Literal mismatch. */
static char *choices_message(const char *const *choices) {
        char *buf = NULL;
        size_t size = 0, n = 0;
        FILE *f;

        while (choices[n])
                n++;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fputs("Input should be ", f);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputs(i == n - 1 ? " or " : ", ", f);
                fprintf(f, "'%s'", choices[i]);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int check_choice(json_t *errors, const JsonField *f, const char *s, bool item, size_t index) {
        _cleanup_free_ char *msg = NULL;

        if (!f->choices || string_in_choices(s, f->choices))
                return 0;

        msg = choices_message(f->choices);
        if (!msg)
                return 1; /* still an error, even if we cannot word it */
        if (item)
                json_error_append_item(errors, f->name, index, "enum", msg);
        else
                json_error_append(errors, f->name, "enum", msg);
        return 1;
}

static int check_string(json_t *errors, const JsonField *f, json_t *v) {
        const char *s = json_string_value(v);
        char msg[128];

        if (f->choices)
                return check_choice(errors, f, s, false, 0);

        if ((f->flags & JSON_FIELD_NONEMPTY) && string_is_blank(s)) {
                json_error_append(errors, f->name, "string_too_short",
                                  "String should have at least 1 character");
                return 1;
        }
        if (f->max > 0 && json_string_length(v) > (size_t) f->max) {
                snprintf(msg, sizeof(msg), "String should have at most %" PRIi64 " characters", f->max);
                json_error_append(errors, f->name, "string_too_long", msg);
                return 1;
        }
        return 0;
}

static int check_range(json_t *errors, const JsonField *f, json_t *v) {
        char msg[128];
        bool below, above;

        if (f->min >= f->max)
                return 0;

        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);

                below = i < f->min;
                above = i > f->max;
        } else {
                double d = json_real_value(v);

                below = d < (double) f->min;
                above = d > (double) f->max;
        }

        if (below) {
                snprintf(msg, sizeof(msg), "Input should be greater than or equal to %" PRIi64, f->min);
                json_error_append(errors, f->name, "greater_than_equal", msg);
                return 1;
        }
        if (above) {
                snprintf(msg, sizeof(msg), "Input should be less than or equal to %" PRIi64, f->max);
                json_error_append(errors, f->name, "less_than_equal", msg);
                return 1;
        }
        return 0;
}

static int check_string_array(json_t *errors, const JsonField *f, json_t *v) {
        json_t *item;
        size_t i;
        int n = 0;

        json_array_foreach(v, i, item) {
                if (!json_is_string(item)) {
                        json_error_append_item(errors, f->name, i, "string_type",
                                               "Input should be a valid string");
                        n++;
                        continue;
                }
                n += check_choice(errors, f, json_string_value(item), true, i);
        }
        return n;
}

static bool type_matches(JsonFieldType type, json_t *v) {
        switch (type) {
        case JSON_FIELD_STRING:
                return json_is_string(v);
        case JSON_FIELD_INTEGER:
                return json_is_integer(v);
        case JSON_FIELD_NUMBER:
                return json_is_number(v);
        case JSON_FIELD_BOOLEAN:
                return json_is_boolean(v);
        case JSON_FIELD_OBJECT:
                return json_is_object(v);
        case JSON_FIELD_ARRAY:
        case JSON_FIELD_STRING_ARRAY:
                return json_is_array(v);
        case JSON_FIELD_ANY:
                return true;
        }
        return false;
}

static void type_error(JsonFieldType type, const char **ret_type, const char **ret_msg) {
        static const struct {
                const char *type, *msg;
        } table[] = {
                [JSON_FIELD_STRING]       = { "string_type", "Input should be a valid string" },
                [JSON_FIELD_INTEGER]      = { "int_type",    "Input should be a valid integer" },
                [JSON_FIELD_NUMBER]       = { "float_type",  "Input should be a valid number" },
                [JSON_FIELD_BOOLEAN]      = { "bool_type",   "Input should be a valid boolean" },
                [JSON_FIELD_OBJECT]       = { "dict_type",   "Input should be a valid dictionary" },
                [JSON_FIELD_ARRAY]        = { "list_type",   "Input should be a valid list" },
                [JSON_FIELD_STRING_ARRAY] = { "list_type",   "Input should be a valid list" },
        };

        if ((size_t) type < ELEMENTSOF(table) && table[type].type) {
                *ret_type = table[type].type;
                *ret_msg = table[type].msg;
        } else {
                *ret_type = "value_error";
                *ret_msg = "Input is not valid";
        }
}

static int check_field(json_t *obj, const JsonField *f, json_t *errors) {
        json_t *v = json_object_get(obj, f->name);

        if (!v) {
                if (!(f->flags & JSON_FIELD_REQUIRED))
                        return 0;
                json_error_append(errors, f->name, "missing", "Field required");
                return 1;
        }

        /* Like pydantic's Any, ANY takes null too. */
        if (json_is_null(v) && ((f->flags & JSON_FIELD_NULLABLE) || f->type == JSON_FIELD_ANY))
                return 0;

        if (!type_matches(f->type, v)) {
                const char *type, *msg;

                type_error(f->type, &type, &msg);
                json_error_append(errors, f->name, type, msg);
                return 1;
        }

        switch (f->type) {
        case JSON_FIELD_STRING:
                return check_string(errors, f, v);
        case JSON_FIELD_INTEGER:
        case JSON_FIELD_NUMBER:
                return check_range(errors, f, v);
        case JSON_FIELD_STRING_ARRAY:
                return check_string_array(errors, f, v);
        default:
                return 0;
        }
}

int json_check_fields(json_t *obj, const JsonField *fields, size_t n_fields, json_t *errors) {
        int n = 0;

        for (size_t i = 0; i < n_fields; i++)
                n += check_field(obj, fields + i, errors);
        return n;
}

const char *json_get_string(json_t *obj, const char *key, const char *def) {
        json_t *v = json_object_get(obj, key);

        return json_is_string(v) ? json_string_value(v) : def;
}

int64_t json_get_integer(json_t *obj, const char *key, int64_t def) {
        json_t *v = json_object_get(obj, key);

        return json_is_integer(v) ? (int64_t) json_integer_value(v) : def;
}

bool json_get_bool(json_t *obj, const char *key, bool def) {
        json_t *v = json_object_get(obj, key);

        return json_is_boolean(v) ? json_is_true(v) : def;
}

char *json_dumps_compact(const json_t *json) {
        /* Writes what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
         * would: 15 significant digits print 0.7 as 0.7, not 0.69999999999999996. */
        return json_write(json, NULL);
}

json_t *json_loads_or_null(const char *text) {
        if (!text)
                return NULL;
        return json_loads(text, JSON_DECODE_ANY, NULL);
}
