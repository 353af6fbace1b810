/* Filters on collections, tests ("is defined"), methods ("obj.items()",
 * "s.startswith('/')"), the range() function, and the matching of call arguments to
 * parameters that all of them share. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "engine/template-filters.h"

void arguments_done(json_t **args) {
        for (size_t i = 0; i < FILTER_PARAMS_MAX; i++) {
                json_decref(args[i]);
                args[i] = NULL;
        }
}

int eval_arguments(
                Render *R,
                const Node *n,
                const char *what,
                const char *const *params,
                unsigned n_required,
                const NodeList *args,
                json_t **ret_args) {

        size_t n_params = 0;
        int r;

        while (n_params < FILTER_PARAMS_MAX && params[n_params])
                n_params++;

        for (size_t i = 0; i < args->n; i++) {
                const Node *arg = args->items[i];
                size_t slot = i;

                if (arg->keyword) {
                        for (slot = 0; slot < n_params && !streq(params[slot], arg->keyword); slot++)
                                ;
                        if (slot == n_params)
                                return render_error(R, &arg->pos, -EINVAL, "%s has no parameter '%s'",
                                                    what, arg->keyword);
                } else if (slot >= n_params)
                        return render_error(R, &arg->pos, -EINVAL, "%s takes at most %zu argument%s",
                                            what, n_params, n_params == 1 ? "" : "s");
                if (ret_args[slot])
                        return render_error(R, &arg->pos, -EINVAL, "%s got two values for '%s'",
                                            what, params[slot]);
                r = eval(R, arg, &ret_args[slot]);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < n_required; i++)
                if (!ret_args[i])
                        return render_error(R, &n->pos, -EINVAL, "%s needs the argument '%s'", what, params[i]);
        return 0;
}

/* The value at attribute (a dotted path such as "user.name", or an index) in item. */
static int item_attribute(Render *R, const Node *n, json_t *item, json_t *attribute, json_t **ret) {
        _cleanup_free_ char *path = NULL;
        char *p, *next;

        if (!attribute) {
                *ret = item;
                return 0;
        }
        if (json_is_integer(attribute)) {
                *ret = json_array_get(item, json_integer_value(attribute));
                if (!*ret)
                        return render_error(R, &n->pos, -EINVAL, "item has no index %" JSON_INTEGER_FORMAT,
                                            json_integer_value(attribute));
                return 0;
        }
        if (!json_is_string(attribute))
                return render_error(R, &n->pos, -EINVAL, "argument 'attribute' must be a string, not %s",
                                    value_type_name(attribute));

        path = strdup(json_string_value(attribute));
        if (!path)
                return -ENOMEM;
        for (p = path; p; p = next) {
                char *end;
                long long i;

                next = strchr(p, '.');
                if (next)
                        *next++ = '\0';
                if (json_is_array(item)) {
                        errno = 0;
                        i = strtoll(p, &end, 10);
                        item = *p && !*end && errno == 0 ? json_array_get(item, i) : NULL;
                } else
                        item = json_object_get(item, p);
                if (!item)
                        return render_error(R, &n->pos, -EINVAL, "item has no attribute '%s'", json_string_value(attribute));
        }
        *ret = item;
        return 0;
}

int filter_join(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *items = NULL, *separator = NULL;
        Buffer b = { .limit = R->budget->limits.max_output };
        json_t *item;
        size_t i;
        int r;

        r = value_iterate(R, n, subject, &items);
        if (r >= 0 && args[0])
                r = value_to_text(R, n, args[0], &separator);
        if (r < 0)
                return r;

        r = buffer_append(&b, "", 0);
        json_array_foreach(items, i, item) {
                json_t *v;

                if (r >= 0 && i > 0 && separator)
                        r = buffer_append(&b, json_string_value(separator), json_string_length(separator));
                if (r >= 0)
                        r = item_attribute(R, n, item, args[1], &v);
                if (r >= 0)
                        r = value_print(&b, v);
                if (r < 0)
                        break;
        }
        return string_result(R, n, &b, r, ret);
}

static int first_or_last(Render *R, const Node *n, json_t *subject, bool last, json_t **ret) {
        _cleanup_json_ json_t *items = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = value_iterate(R, n, subject, &items);
        if (r < 0)
                return r;
        size = json_array_size(items);
        if (size > 0) {
                *ret = json_incref(json_array_get(items, last ? size - 1 : 0));
                return 0;
        }
        text = node_text(R, n->filter.subject);
        if (!text)
                return -ENOMEM;
        /* like a missing key: an error unless a default follows */
        return render_undefined(R, &n->pos, ret, "'%s' is empty, it has no %s item", text, last ? "last" : "first");
}

int filter_first(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return first_or_last(R, n, subject, false, ret);
}

int filter_last(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return first_or_last(R, n, subject, true, ret);
}

int filter_list(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return value_iterate(R, n, subject, ret);
}

typedef struct SortContext {
        json_t **keys;
        bool case_sensitive, reverse;
        int error;
        const json_t *bad[2];   /* the first pair that could not be compared */
} SortContext;

static int sort_compare(SortContext *c, size_t a, size_t b) {
        int order = 0, r;

        if (c->error < 0)
                return 0;
        r = value_compare(c->keys[a], c->keys[b], c->case_sensitive, &order);
        if (r < 0) {
                c->error = r;
                c->bad[0] = c->keys[a];
                c->bad[1] = c->keys[b];
                return 0;
        }
        return c->reverse ? -order : order;
}

/* A stable bottom-up merge sort of indexes, which cannot recurse and cannot degrade. */
static void merge_sort(size_t *index, size_t *scratch, size_t n, SortContext *c) {
        for (size_t width = 1; width < n; width *= 2) {
                for (size_t low = 0; low < n; low += 2 * width) {
                        size_t middle = MIN(low + width, n), high = MIN(low + 2 * width, n);
                        size_t i = low, j = middle, k = low;

                        while (i < middle && j < high)
                                scratch[k++] = sort_compare(c, index[j], index[i]) < 0 ? index[j++] : index[i++];
                        while (i < middle)
                                scratch[k++] = index[i++];
                        while (j < high)
                                scratch[k++] = index[j++];
                }
                memcpy(index, scratch, n * sizeof(size_t));
        }
}

/* The items of subject and the keys to order them by (borrowed from the items). */
static int sort_keys(Render *R, const Node *n, json_t *subject, json_t *attribute, json_t **ret_items, json_t ***ret_keys) {
        _cleanup_json_ json_t *items = NULL;
        _cleanup_free_ json_t **keys = NULL;
        size_t size;
        int r;

        r = value_iterate(R, n, subject, &items);
        if (r < 0)
                return r;
        size = json_array_size(items);
        keys = calloc(MAX(size, (size_t) 1), sizeof(json_t *));
        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < size; i++) {
                r = item_attribute(R, n, json_array_get(items, i), attribute, &keys[i]);
                if (r < 0)
                        return r;
        }
        *ret_items = TAKE_PTR(items);
        *ret_keys = TAKE_PTR(keys);
        return 0;
}

static int compare_error(Render *R, const Node *n, const SortContext *c) {
        if (c->error == -ELOOP)
                return print_error(R, n, c->error);
        return render_error(R, &n->pos, -EINVAL, "cannot compare %s with %s",
                            value_type_name(c->bad[0]), value_type_name(c->bad[1]));
}

int filter_sort(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *items = NULL, *result = NULL;
        _cleanup_free_ json_t **keys = NULL;
        _cleanup_free_ size_t *index = NULL, *scratch = NULL;
        SortContext c = {
                .reverse = args[0] && value_truth(args[0]),
                .case_sensitive = args[1] && value_truth(args[1]),
        };
        size_t size;
        int r;

        r = sort_keys(R, n, subject, args[2], &items, &keys);
        if (r < 0)
                return r;
        size = json_array_size(items);
        index = calloc(MAX(size, (size_t) 1), sizeof(size_t));
        scratch = calloc(MAX(size, (size_t) 1), sizeof(size_t));
        result = json_array();
        if (!index || !scratch || !result)
                return -ENOMEM;

        for (size_t i = 0; i < size; i++)
                index[i] = i;
        c.keys = keys;
        merge_sort(index, scratch, size, &c);
        if (c.error < 0)
                return compare_error(R, n, &c);

        for (size_t i = 0; i < size; i++)
                if (json_array_append(result, json_array_get(items, index[i])) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(result);
        return 0;
}

static int min_or_max(Render *R, const Node *n, json_t *subject, json_t **args, bool max, json_t **ret) {
        _cleanup_json_ json_t *items = NULL;
        _cleanup_free_ json_t **keys = NULL;
        _cleanup_free_ char *text = NULL;
        SortContext c = {
                .case_sensitive = args[0] && value_truth(args[0]),
                .reverse = max,
        };
        size_t size, best = 0;
        int r;

        r = sort_keys(R, n, subject, args[1], &items, &keys);
        if (r < 0)
                return r;
        size = json_array_size(items);
        if (size == 0) {
                text = node_text(R, n->filter.subject);
                if (!text)
                        return -ENOMEM;
                return render_undefined(R, &n->pos, ret, "'%s' is empty, it has no %s", text, max ? "maximum" : "minimum");
        }

        c.keys = keys;
        for (size_t i = 1; i < size; i++)
                if (sort_compare(&c, i, best) < 0)
                        best = i;
        if (c.error < 0)
                return compare_error(R, n, &c);
        *ret = json_incref(json_array_get(items, best));
        return 0;
}

int filter_min(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return min_or_max(R, n, subject, args, false, ret);
}

int filter_max(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return min_or_max(R, n, subject, args, true, ret);
}

int filter_reverse(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *items = NULL, *result = NULL;
        Buffer b = { .limit = SIZE_MAX };
        size_t size;
        int r;

        r = value_iterate(R, n, subject, &items);
        if (r < 0)
                return r;
        size = json_array_size(items);

        if (json_is_string(subject)) {
                r = buffer_append(&b, "", 0);
                for (size_t i = size; r >= 0 && i > 0; i--) {
                        json_t *c = json_array_get(items, i - 1);
                        r = buffer_append(&b, json_string_value(c), json_string_length(c));
                }
                return string_result(R, n, &b, r, ret);
        }

        result = json_array();
        if (!result)
                return -ENOMEM;
        for (size_t i = size; i > 0; i--)
                if (json_array_append(result, json_array_get(items, i - 1)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(result);
        return 0;
}

/* A text that is the same for values unique() takes as equal: 1 and 1.0, and "A" and "a"
 * unless case_sensitive. */
static int unique_key(const json_t *v, bool case_sensitive, Buffer *b) {
        char num[40];
        int64_t i;

        switch (json_typeof(v)) {
        case JSON_STRING: {
                int r = buffer_append(b, "s", 1);
                size_t start = b->length;

                if (r >= 0)
                        r = buffer_append(b, json_string_value(v), json_string_length(v));
                for (size_t k = start; r >= 0 && !case_sensitive && k < b->length; k++)
                        if (b->data[k] >= 'A' && b->data[k] <= 'Z')
                                b->data[k] += 'a' - 'A';
                return r;
        }
        case JSON_INTEGER:
                snprintf(num, sizeof num, "n%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return buffer_append_string(b, num);
        case JSON_REAL: {
                double d = json_real_value(v);

                if (d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
                        i = (int64_t) d;
                        snprintf(num, sizeof num, "n%" PRId64, i);
                } else {
                        num[0] = 'r';
                        format_real(d, num + 1);
                }
                return buffer_append_string(b, num);
        }
        default: {
                int r = buffer_append(b, "j", 1);
                return r < 0 ? r : value_write_json(b, v, 0);
        }
        }
}

int filter_unique(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *items = NULL, *seen = json_object(), *result = json_array();
        bool case_sensitive = args[0] && value_truth(args[0]);
        json_t *item;
        size_t i;
        int r;

        if (!seen || !result)
                return -ENOMEM;
        r = value_iterate(R, n, subject, &items);
        if (r < 0)
                return r;

        json_array_foreach(items, i, item) {
                Buffer key = { .limit = R->budget->limits.max_output };
                json_t *v;

                r = item_attribute(R, n, item, args[1], &v);
                if (r < 0)
                        return r;
                r = unique_key(v, case_sensitive, &key);
                if (r >= 0 && !json_object_getn(seen, key.data, key.length)) {
                        if (json_object_setn(seen, key.data, key.length, json_null()) < 0 ||
                            json_array_append(result, item) < 0)
                                r = -ENOMEM;
                }
                buffer_done(&key);
                if (r < 0)
                        return print_error(R, n, r);
        }
        *ret = TAKE_PTR(result);
        return 0;
}

int filter_sum(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *items = NULL, *total = NULL;
        json_t *item;
        size_t i;
        int r;

        r = value_iterate(R, n, subject, &items);
        if (r < 0)
                return r;
        total = args[1] ? json_incref(args[1]) : json_integer(0);
        if (!total)
                return -ENOMEM;

        json_array_foreach(items, i, item) {
                json_t *v, *sum;

                r = item_attribute(R, n, item, args[0], &v);
                if (r >= 0)
                        r = binary_operation(R, n, OP_ADD, total, v, &sum);
                if (r < 0)
                        return r;
                json_decref(total);
                total = sum;
        }
        *ret = TAKE_PTR(total);
        return 0;
}

typedef enum ObjectPart {
        PART_KEYS,
        PART_VALUES,
        PART_ITEMS,
} ObjectPart;

static int object_parts(Render *R, const Node *n, json_t *subject, ObjectPart part, json_t **ret) {
        _cleanup_json_ json_t *result = json_array();
        const char *key;
        json_t *value;

        if (!result)
                return -ENOMEM;
        if (!json_is_object(subject))
                return render_error(R, &n->pos, -EINVAL, "%s has no %s, only objects have",
                                    value_type_name(subject),
                                    part == PART_KEYS ? "keys" : part == PART_VALUES ? "values" : "items");

        json_object_foreach(subject, key, value) {
                json_t *v = part == PART_KEYS ? json_string(key) :
                        part == PART_VALUES ? json_incref(value) : json_pack("[sO]", key, value);

                if (json_array_append_new(result, v) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(result);
        return 0;
}

int filter_keys(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return object_parts(R, n, subject, PART_KEYS, ret);
}

int filter_values(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return object_parts(R, n, subject, PART_VALUES, ret);
}

int filter_items(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return object_parts(R, n, subject, PART_ITEMS, ret);
}

/* ---- tests ---- */

static int test_defined(Render *R, const Node *n, json_t *subject, json_t **args) {
        return subject != NULL;
}

static int test_undefined(Render *R, const Node *n, json_t *subject, json_t **args) {
        return subject == NULL;
}

static int test_type(Render *R, const Node *n, json_t *subject, json_t **args) {
        const char *name = n->test.spec->name;

        if (streq(name, "none"))
                return json_is_null(subject);
        if (streq(name, "boolean"))
                return json_is_boolean(subject);
        if (streq(name, "true"))
                return json_is_true(subject);
        if (streq(name, "false"))
                return json_is_false(subject);
        if (streq(name, "string"))
                return json_is_string(subject);
        if (streq(name, "number"))
                return value_is_number(subject);
        if (streq(name, "integer"))
                return json_is_integer(subject);
        if (streq(name, "float"))
                return json_is_real(subject);
        if (streq(name, "mapping"))
                return json_is_object(subject);
        /* sequence, iterable */
        return json_is_string(subject) || json_is_array(subject) || json_is_object(subject);
}

static int test_divisible(Render *R, const Node *n, json_t *subject, json_t **args) {
        const char *name = n->test.spec->name;
        int64_t divisor = 2, v;
        int r;

        if (!json_is_integer(subject))
                return render_error(R, &n->pos, -EINVAL, "test '%s' needs an integer, not %s",
                                    name, value_type_name(subject));
        v = json_integer_value(subject);
        if (streq(name, "divisibleby")) {
                r = argument_integer(R, n, args[0], "num", 1, &divisor);
                if (r < 0)
                        return r;
                if (divisor == 0)
                        return render_error(R, &n->pos, -EINVAL, "division by zero");
                return divisor == -1 || v % divisor == 0;
        }
        return (v % 2 == 0) == streq(name, "even");
}

/* Python's islower()/isupper(): some cased letters, and all of them in that case. */
static int test_case(Render *R, const Node *n, json_t *subject, json_t **args) {
        bool lower = streq(n->test.spec->name, "lower"), cased = false;

        if (!json_is_string(subject))
                return 0;
        for (const char *s = json_string_value(subject); *s; s++) {
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
                        if ((*s >= 'a' && *s <= 'z') != lower)
                                return 0;
                        cased = true;
                }
        }
        return cased;
}

static const TestSpec test_table[] = {
        { .name = "defined", .function = test_defined, .accepts_undefined = true },
        { .name = "undefined", .function = test_undefined, .accepts_undefined = true },
        { .name = "none", .function = test_type },
        { .name = "boolean", .function = test_type },
        { .name = "true", .function = test_type },
        { .name = "false", .function = test_type },
        { .name = "string", .function = test_type },
        { .name = "number", .function = test_type },
        { .name = "integer", .function = test_type },
        { .name = "float", .function = test_type },
        { .name = "mapping", .function = test_type },
        { .name = "sequence", .function = test_type },
        { .name = "iterable", .function = test_type },
        { .name = "even", .function = test_divisible },
        { .name = "odd", .function = test_divisible },
        { .name = "divisibleby", .function = test_divisible, .params = { "num" }, .n_required = 1 },
        { .name = "lower", .function = test_case },
        { .name = "upper", .function = test_case },
};

const TestSpec *test_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(test_table); i++)
                if (streq(test_table[i].name, name))
                        return &test_table[i];
        return NULL;
}

/* ---- methods ---- */

static int method_get(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        json_t *v = json_is_string(args[0]) ? json_object_get(subject, json_string_value(args[0])) : NULL;

        *ret = json_incref(v ?: args[1] ?: json_null());
        return 0;
}

static int method_lstrip(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return strip(R, n, subject, args[0], true, false, ret);
}

static int method_rstrip(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return strip(R, n, subject, args[0], false, true, ret);
}

static int method_affix(Render *R, const Node *n, json_t *subject, json_t **args, bool suffix, json_t **ret) {
        const char *s = json_string_value(subject), *affix;
        size_t length = json_string_length(subject), n_affix;
        int r;

        r = argument_string(R, n, args[0], suffix ? "suffix" : "prefix", &affix, &n_affix);
        if (r < 0)
                return r;
        *ret = json_boolean(n_affix <= length && memcmp(s + (suffix ? length - n_affix : 0), affix, n_affix) == 0);
        return 0;
}

static int method_startswith(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return method_affix(R, n, subject, args, false, ret);
}

static int method_endswith(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return method_affix(R, n, subject, args, true, ret);
}

/* ", ".join(items) */
static int method_join(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        json_t *join_args[FILTER_PARAMS_MAX] = { subject };

        return filter_join(R, n, args[0], join_args, ret);
}

typedef struct MethodSpec {
        json_type receiver;
        const char *name;
        const char *params[FILTER_PARAMS_MAX];
        unsigned n_required;
        FilterFunction function;
} MethodSpec;

static const MethodSpec method_table[] = {
        { JSON_OBJECT, "items", {}, 0, filter_items },
        { JSON_OBJECT, "keys", {}, 0, filter_keys },
        { JSON_OBJECT, "values", {}, 0, filter_values },
        { JSON_OBJECT, "get", { "key", "default" }, 1, method_get },
        { JSON_STRING, "upper", {}, 0, filter_upper },
        { JSON_STRING, "lower", {}, 0, filter_lower },
        { JSON_STRING, "title", {}, 0, filter_title },
        { JSON_STRING, "capitalize", {}, 0, filter_capitalize },
        { JSON_STRING, "strip", { "chars" }, 0, filter_trim },
        { JSON_STRING, "lstrip", { "chars" }, 0, method_lstrip },
        { JSON_STRING, "rstrip", { "chars" }, 0, method_rstrip },
        { JSON_STRING, "startswith", { "prefix" }, 1, method_startswith },
        { JSON_STRING, "endswith", { "suffix" }, 1, method_endswith },
        { JSON_STRING, "split", { "sep", "maxsplit" }, 0, filter_split },
        { JSON_STRING, "replace", { "old", "new", "count" }, 2, filter_replace },
        { JSON_STRING, "join", { "iterable" }, 1, method_join },
};

int call_method(Render *R, const Node *n, json_t *receiver, const char *name, const NodeList *args, json_t **ret) {
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < ELEMENTSOF(method_table); i++) {
                const MethodSpec *m = &method_table[i];
                json_t *values[FILTER_PARAMS_MAX] = {};
                char what[64];
                int r;

                if (m->receiver != json_typeof(receiver) || !streq(m->name, name))
                        continue;
                snprintf(what, sizeof what, "method '%s'", name);
                r = eval_arguments(R, n, what, m->params, m->n_required, args, values);
                if (r >= 0)
                        r = m->function(R, n, receiver, values, ret);
                arguments_done(values);
                return r;
        }

        text = node_text(R, n->call.callee->attribute.object);
        if (!text)
                return -ENOMEM;
        return render_error(R, &n->pos, -EINVAL, "'%s' is %s, it has no method '%s'",
                            text, value_type_name(receiver), name);
}

/* ---- functions ---- */

bool function_exists(const char *name) {
        return streq(name, "range");
}

/* range(stop), range(start, stop[, step]), no longer than the loop limit. */
static int function_range(Render *R, const Node *n, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *result = json_array();
        int64_t start = 0, stop, step;
        __int128 span, count;
        int r;

        if (!result)
                return -ENOMEM;
        r = argument_integer(R, n, args[0], "start", 0, &start);
        if (r >= 0)
                r = argument_integer(R, n, args[1], "stop", 0, &stop);
        if (r >= 0)
                r = argument_integer(R, n, args[2], "step", 1, &step);
        if (r < 0)
                return r;
        if (!args[1]) {
                stop = start;
                start = 0;
        }
        if (step == 0)
                return render_error(R, &n->pos, -EINVAL, "range() step cannot be 0");

        span = (__int128) stop - start;
        if (step > 0)
                count = span > 0 ? (span + step - 1) / step : 0;
        else
                count = span < 0 ? (-span - step - 1) / -(__int128) step : 0;
        if (count > (__int128) R->budget->limits.max_iterations)
                return render_error(R, &n->pos, -E2BIG, "range() of more than %zu numbers",
                                    R->budget->limits.max_iterations);

        for (int64_t i = 0; i < (int64_t) count; i++)
                if (json_array_append_new(result, json_integer(start + i * step)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(result);
        return 0;
}

int call_function(Render *R, const Node *n, const char *name, const NodeList *args, json_t **ret) {
        static const char *const params[] = { "start", "stop", "step", NULL };
        json_t *values[FILTER_PARAMS_MAX] = {};
        int r;

        if (!function_exists(name))
                return render_error(R, &n->pos, -EINVAL, "unknown function '%s'", name);
        r = eval_arguments(R, n, "range()", params, 1, args, values);
        if (r >= 0)
                r = function_range(R, n, values, ret);
        arguments_done(values);
        return r;
}
