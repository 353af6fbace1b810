/* Evaluation: walks the tree against the context. Expressions give JSON values (new
 * references); a lookup that finds nothing gives "undefined", which only the default
 * filter and the defined test accept, and which becomes an error, with the name and
 * position of the failed lookup, wherever else it is used. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "engine/template-internal.h"

/* The variables of one for loop, in front of the outer loops and the context. */
struct Scope {
        Scope *parent;
        const char *names[2];
        json_t *values[2];
        json_t *loop;
};

void render_done(Render *R) {
        if (!R)
                return;
        buffer_done(&R->out);
        free(R->undefined);
        R->undefined = NULL;
}

int render_error(Render *R, const Position *pos, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = template_error_setv(R->error, R->source, pos, r, fmt, ap);
        va_end(ap);
        return r;
}

int render_undefined(Render *R, const Position *pos, json_t **ret, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        free(R->undefined);
        R->undefined = s;
        R->undefined_pos = *pos;
        *ret = NULL;
        return 0;
}

int print_error(Render *R, const Node *n, int r) {
        switch (r) {
        case -E2BIG:
                return render_error(R, &n->pos, -E2BIG, "text exceeds the limit of %zu bytes",
                                    R->budget->limits.max_output);
        case -ELOOP:
                return render_error(R, &n->pos, -EINVAL, "value is nested more than %d deep",
                                    TEMPLATE_DATA_DEPTH_MAX);
        default:
                return r;
        }
}

char *node_text(const Render *R, const Node *n) {
        const size_t max = 40;
        size_t length = n->end - n->start, cut = length;
        char *s;

        if (length > max) {
                cut = max;
                while (cut > 0 && ((unsigned char) R->source[n->start + cut] & 0xC0) == 0x80)
                        cut--;
        }
        if (asprintf(&s, "%.*s%s", (int) cut, R->source + n->start, cut < length ? "…" : "") < 0)
                return NULL;
        for (char *p = s; *p; p++)
                if (IN_SET(*p, '\n', '\r', '\t'))
                        *p = ' ';
        return s;
}

static json_t *lookup(const Render *R, const char *name) {
        for (const Scope *s = R->scope; s; s = s->parent) {
                for (size_t i = 0; i < ELEMENTSOF(s->names); i++)
                        if (s->names[i] && streq(s->names[i], name))
                                return s->values[i];
                if (s->loop && streq(name, "loop"))
                        return s->loop;
        }
        return json_object_get(R->context, name);
}

int eval(Render *R, const Node *n, json_t **ret) {
        int r;

        r = eval_maybe_undefined(R, n, ret);
        if (r < 0)
                return r;
        if (!*ret)
                return render_error(R, &R->undefined_pos, -EINVAL, "%s", R->undefined ?: "undefined value");
        return 0;
}

static int eval_attribute(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *object = NULL;
        _cleanup_free_ char *text = NULL;
        json_t *v;
        int r;

        r = eval_maybe_undefined(R, n->attribute.object, &object);
        if (r < 0 || !object) {
                *ret = NULL;
                return r;
        }
        v = json_object_get(object, n->attribute.name);
        if (v) {
                *ret = json_incref(v);
                return 0;
        }

        text = node_text(R, n->attribute.object);
        if (!text)
                return -ENOMEM;
        if (json_is_object(object))
                return render_undefined(R, &n->pos, ret, "'%s' has no attribute '%s'", text, n->attribute.name);
        return render_undefined(R, &n->pos, ret, "'%s' is %s, it has no attribute '%s'",
                                text, value_type_name(object), n->attribute.name);
}

static int eval_item(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *object = NULL, *index = NULL;
        _cleanup_free_ char *text = NULL, *key = NULL;
        Buffer b = { .limit = 64 };
        int r;

        r = eval_maybe_undefined(R, n->item.object, &object);
        if (r < 0 || !object) {
                *ret = NULL;
                return r;
        }
        r = eval(R, n->item.index, &index);
        if (r < 0)
                return r;

        if (json_is_object(object) && json_is_string(index)) {
                json_t *v = json_object_get(object, json_string_value(index));
                if (v) {
                        *ret = json_incref(v);
                        return 0;
                }
        } else if ((json_is_array(object) || json_is_string(object)) && json_is_integer(index)) {
                bool is_string = json_is_string(object);
                size_t length = is_string ? utf8_length(json_string_value(object), json_string_length(object)) :
                                            json_array_size(object);
                json_int_t i = json_integer_value(index);

                if (i < 0)
                        i += (json_int_t) length;
                if (i >= 0 && (size_t) i < length) {
                        if (!is_string)
                                *ret = json_incref(json_array_get(object, i));
                        else {
                                const char *s = json_string_value(object);
                                size_t n_bytes = json_string_length(object),
                                        start = utf8_offset(s, n_bytes, i), end = utf8_offset(s, n_bytes, i + 1);

                                *ret = json_stringn(s + start, end - start);
                                if (!*ret)
                                        return -ENOMEM;
                        }
                        return 0;
                }
                text = node_text(R, n->item.object);
                if (!text)
                        return -ENOMEM;
                return render_undefined(R, &n->pos, ret, "'%s' has no index %" JSON_INTEGER_FORMAT " (it has %zu %s)",
                                        text, json_integer_value(index), length, is_string ? "characters" : "items");
        }

        text = node_text(R, n->item.object);
        if (!text)
                return -ENOMEM;
        (void) value_print(&b, index);   /* at most 64 bytes of the key, for the message */
        key = b.data;
        if (json_is_object(object))
                return render_undefined(R, &n->pos, ret, "'%s' has no key %s%s%s", text,
                                        json_is_string(index) ? "'" : "", key ?: "…", json_is_string(index) ? "'" : "");
        if (json_is_array(object) || json_is_string(object))
                return render_undefined(R, &n->pos, ret, "'%s' is %s, its indexes are integers, not %s",
                                        text, value_type_name(object), value_type_name(index));
        return render_undefined(R, &n->pos, ret, "'%s' is %s, it cannot be indexed", text, value_type_name(object));
}

static int slice_bound(Render *R, const Node *n, int64_t *ret, bool *ret_given) {
        _cleanup_json_ json_t *v = NULL;
        int r;

        *ret_given = false;
        if (!n)
                return 0;
        r = eval(R, n, &v);
        if (r < 0)
                return r;
        if (json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return render_error(R, &n->pos, -EINVAL, "slice bounds must be integers or none, not %s",
                                    value_type_name(v));
        *ret = json_integer_value(v);
        *ret_given = true;
        return 0;
}

/* Python's slice.indices(): clamps start and stop into [0, length] (or [-1, length-1]
 * going backwards) and returns how many items the slice has. */
static size_t slice_indices(int64_t length, int64_t *start, bool has_start, int64_t *stop, bool has_stop, int64_t step) {
        int64_t *bounds[] = { start, stop };
        bool given[] = { has_start, has_stop };

        for (size_t i = 0; i < ELEMENTSOF(bounds); i++) {
                int64_t *b = bounds[i];

                if (!given[i])
                        continue;
                if (*b < 0) {
                        *b += length;
                        if (*b < 0)
                                *b = step < 0 ? -1 : 0;
                } else if (*b >= length)
                        *b = step < 0 ? length - 1 : length;
        }
        if (!has_start)
                *start = step < 0 ? length - 1 : 0;
        if (!has_stop)
                *stop = step < 0 ? -1 : length;

        if (step > 0)
                return *start < *stop ? (size_t) ((*stop - *start - 1) / step + 1) : 0;
        return *stop < *start ? (size_t) ((*start - *stop - 1) / -step + 1) : 0;
}

static int eval_slice(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *object = NULL, *result = NULL;
        _cleanup_free_ size_t *offsets = NULL;
        int64_t start = 0, stop = 0, step = 1, length;
        bool has_start, has_stop, has_step;
        size_t count;
        int r;

        r = eval(R, n->slice.object, &object);
        if (r < 0)
                return r;
        if (!json_is_array(object) && !json_is_string(object))
                return render_error(R, &n->pos, -EINVAL, "cannot slice %s", value_type_name(object));
        r = slice_bound(R, n->slice.start, &start, &has_start);
        if (r >= 0)
                r = slice_bound(R, n->slice.stop, &stop, &has_stop);
        if (r >= 0)
                r = slice_bound(R, n->slice.step, &step, &has_step);
        if (r < 0)
                return r;
        if (!has_step)
                step = 1;
        if (step == 0 || step == INT64_MIN)
                return render_error(R, &n->pos, -EINVAL, "slice step cannot be %" PRId64, step);

        if (json_is_array(object)) {
                length = json_array_size(object);
                count = slice_indices(length, &start, has_start, &stop, has_stop, step);
                result = json_array();
                if (!result)
                        return -ENOMEM;
                for (size_t k = 0; k < count; k++)
                        if (json_array_append(result, json_array_get(object, start + (int64_t) k * step)) < 0)
                                return -ENOMEM;
        } else {
                const char *s = json_string_value(object);
                size_t n_bytes = json_string_length(object), c = 0;
                Buffer b = { .limit = SIZE_MAX };

                /* the byte offset of every character, and of the end */
                length = utf8_length(s, n_bytes);
                offsets = calloc(length + 1, sizeof(size_t));
                if (!offsets)
                        return -ENOMEM;
                for (size_t i = 0; i < n_bytes; i++)
                        if (((unsigned char) s[i] & 0xC0) != 0x80)
                                offsets[c++] = i;
                offsets[c] = n_bytes;

                count = slice_indices(length, &start, has_start, &stop, has_stop, step);
                r = buffer_append(&b, "", 0);
                for (size_t k = 0; r >= 0 && k < count; k++) {
                        int64_t i = start + (int64_t) k * step;
                        r = buffer_append(&b, s + offsets[i], offsets[i + 1] - offsets[i]);
                }
                if (r >= 0) {
                        result = json_stringn(b.data ?: "", b.length);
                        if (!result)
                                r = -ENOMEM;
                }
                buffer_done(&b);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(result);
        return 0;
}

static int eval_collection(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *result = n->type == NODE_LIST ? json_array() : json_object();
        int r;

        if (!result)
                return -ENOMEM;
        for (size_t i = 0; i < n->list.n; i++) {
                _cleanup_json_ json_t *v = NULL, *key = NULL;

                if (n->type == NODE_DICT) {
                        r = eval(R, n->list.items[i], &key);
                        if (r < 0)
                                return r;
                        if (!json_is_string(key))
                                return render_error(R, &n->list.items[i]->pos, -EINVAL,
                                                    "object keys must be strings, not %s", value_type_name(key));
                        i++;
                }
                r = eval(R, n->list.items[i], &v);
                if (r < 0)
                        return r;
                r = key ? json_object_set(result, json_string_value(key), v) : json_array_append(result, v);
                if (r < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(result);
        return 0;
}

static int eval_unary(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *v = NULL;
        int r;

        r = eval(R, n->unary.operand, &v);
        if (r < 0)
                return r;

        if (n->unary.op == OP_NOT)
                *ret = json_boolean(!value_truth(v));
        else if (!value_is_number(v))
                return render_error(R, &n->pos, -EINVAL, "bad operand for unary '%s': %s",
                                    operator_to_string(n->unary.op), value_type_name(v));
        else if (n->unary.op == OP_ADD)
                *ret = json_incref(v);
        else if (json_is_integer(v)) {
                if (json_integer_value(v) == INT64_MIN)
                        return render_error(R, &n->pos, -EINVAL, "integer overflow in '-'");
                *ret = json_integer(-json_integer_value(v));
        } else
                *ret = json_real(-json_real_value(v));
        return *ret ? 0 : -ENOMEM;
}

/* a < b < c means a < b and b < c, with b evaluated once. */
static int eval_compare(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *left = NULL;
        int r;

        r = eval(R, n->compare.first, &left);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->compare.operands.n; i++) {
                _cleanup_json_ json_t *right = NULL;

                r = eval(R, n->compare.operands.items[i], &right);
                if (r < 0)
                        return r;
                r = compare_operation(R, n, n->compare.ops[i], left, right);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *ret = json_false();
                        return 0;
                }
                json_decref(left);
                left = TAKE_PTR(right);
        }
        *ret = json_true();
        return 0;
}

static int eval_filter(Render *R, const Node *n, json_t **ret) {
        const FilterSpec *spec = n->filter.spec;
        _cleanup_json_ json_t *subject = NULL;
        json_t *args[FILTER_PARAMS_MAX] = {};
        char what[64];
        int r;

        r = spec->accepts_undefined ? eval_maybe_undefined(R, n->filter.subject, &subject) :
                                      eval(R, n->filter.subject, &subject);
        if (r < 0)
                return r;
        snprintf(what, sizeof what, "filter '%s'", spec->name);
        r = eval_arguments(R, n, what, spec->params, spec->n_required, &n->filter.args, args);
        if (r >= 0)
                r = spec->function(R, n, subject, args, ret);
        arguments_done(args);
        return r;
}

static int eval_test(Render *R, const Node *n, json_t **ret) {
        const TestSpec *spec = n->test.spec;
        _cleanup_json_ json_t *subject = NULL;
        json_t *args[FILTER_PARAMS_MAX] = {};
        char what[64];
        int r;

        r = spec->accepts_undefined ? eval_maybe_undefined(R, n->test.subject, &subject) :
                                      eval(R, n->test.subject, &subject);
        if (r < 0)
                return r;
        snprintf(what, sizeof what, "test '%s'", spec->name);
        r = eval_arguments(R, n, what, spec->params, spec->n_required, &n->test.args, args);
        if (r >= 0)
                r = spec->function(R, n, subject, args);
        arguments_done(args);
        if (r < 0)
                return r;
        *ret = json_boolean(n->test.negated ? !r : r);
        return 0;
}

static int eval_call(Render *R, const Node *n, json_t **ret) {
        const Node *callee = n->call.callee;
        _cleanup_json_ json_t *receiver = NULL;
        int r;

        if (callee->type == NODE_NAME)
                return call_function(R, n, callee->name, &n->call.args, ret);

        r = eval(R, callee->attribute.object, &receiver);
        if (r < 0)
                return r;
        return call_method(R, n, receiver, callee->attribute.name, &n->call.args, ret);
}

int eval_maybe_undefined(Render *R, const Node *n, json_t **ret) {
        _cleanup_json_ json_t *a = NULL, *b = NULL;
        json_t *v;
        int r;

        switch (n->type) {
        case NODE_LITERAL:
                *ret = json_incref(n->literal);
                return 0;

        case NODE_NAME:
                v = lookup(R, n->name);
                if (!v)
                        return render_undefined(R, &n->pos, ret, "undefined name '%s'", n->name);
                *ret = json_incref(v);
                return 0;

        case NODE_ATTRIBUTE:
                return eval_attribute(R, n, ret);
        case NODE_ITEM:
                return eval_item(R, n, ret);
        case NODE_SLICE:
                return eval_slice(R, n, ret);
        case NODE_LIST:
        case NODE_DICT:
                return eval_collection(R, n, ret);
        case NODE_UNARY:
                return eval_unary(R, n, ret);

        case NODE_BINARY:
                r = eval(R, n->binary.left, &a);
                if (r >= 0)
                        r = eval(R, n->binary.right, &b);
                if (r < 0)
                        return r;
                return binary_operation(R, n, n->binary.op, a, b, ret);

        case NODE_LOGICAL:
                /* like Python, "a or b" is a itself when a is true, else b */
                r = eval(R, n->binary.left, &a);
                if (r < 0)
                        return r;
                if (value_truth(a) == (n->binary.op == OP_OR)) {
                        *ret = TAKE_PTR(a);
                        return 0;
                }
                return eval(R, n->binary.right, ret);

        case NODE_COMPARE:
                return eval_compare(R, n, ret);

        case NODE_CONDITIONAL:
                r = eval(R, n->conditional.condition, &a);
                if (r < 0)
                        return r;
                if (value_truth(a))
                        return eval_maybe_undefined(R, n->conditional.then, ret);
                if (n->conditional.otherwise)
                        return eval_maybe_undefined(R, n->conditional.otherwise, ret);
                /* "x if c" without else prints nothing when c is false */
                *ret = json_string("");
                return *ret ? 0 : -ENOMEM;

        case NODE_FILTER:
                return eval_filter(R, n, ret);
        case NODE_TEST:
                return eval_test(R, n, ret);
        case NODE_CALL:
                return eval_call(R, n, ret);

        default:
                return -EINVAL;
        }
}

int value_to_text(Render *R, const Node *n, json_t *v, json_t **ret) {
        Buffer b = { .limit = R->budget->limits.max_output };
        int r;

        if (json_is_string(v)) {
                *ret = json_incref(v);
                return 0;
        }
        r = value_print(&b, v);
        if (r >= 0) {
                *ret = json_stringn(b.data ?: "", b.length);
                if (!*ret)
                        r = -ENOMEM;
        }
        buffer_done(&b);
        return r < 0 ? print_error(R, n, r) : 0;
}

int value_iterate(Render *R, const Node *n, json_t *v, json_t **ret) {
        _cleanup_json_ json_t *items = NULL;

        if (json_is_array(v)) {
                *ret = json_incref(v);
                return 0;
        }

        items = json_array();
        if (!items)
                return -ENOMEM;
        if (json_is_object(v)) {
                const char *key;
                json_t *item;

                json_object_foreach(v, key, item)
                        if (json_array_append_new(items, json_string(key)) < 0)
                                return -ENOMEM;
        } else if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t length = json_string_length(v);

                if (utf8_length(s, length) > TEMPLATE_LIST_MAX)
                        return render_error(R, &n->pos, -E2BIG, "string has more than %zu characters to iterate over",
                                            TEMPLATE_LIST_MAX);
                for (size_t i = 0; i < length;) {
                        size_t end = i + 1;

                        while (end < length && ((unsigned char) s[end] & 0xC0) == 0x80)
                                end++;
                        if (json_array_append_new(items, json_stringn(s + i, end - i)) < 0)
                                return -ENOMEM;
                        i = end;
                }
        } else
                return render_error(R, &n->pos, -EINVAL, "cannot iterate over %s", value_type_name(v));

        *ret = TAKE_PTR(items);
        return 0;
}

static int write_output(Render *R, const Node *n, json_t *v) {
        int r = value_print(&R->out, v);

        if (r == -E2BIG)
                return render_error(R, &n->pos, -E2BIG, "output exceeds the limit of %zu bytes",
                                    R->budget->limits.max_output);
        return r < 0 ? print_error(R, n, r) : 0;
}

static int render_if(Render *R, const Node *n) {
        for (size_t i = 0; i < n->if_.conditions.n; i++) {
                _cleanup_json_ json_t *v = NULL;
                int r;

                r = eval(R, n->if_.conditions.items[i], &v);
                if (r < 0)
                        return r;
                if (value_truth(v))
                        return render_body(R, &n->if_.bodies[i]);
        }
        return render_body(R, &n->if_.otherwise);
}

static int make_loop(size_t i, size_t length, json_t **ret) {
        *ret = json_pack("{s:I, s:I, s:I, s:I, s:b, s:b, s:I}",
                         "index", (json_int_t) i + 1,
                         "index0", (json_int_t) i,
                         "revindex", (json_int_t) (length - i),
                         "revindex0", (json_int_t) (length - i - 1),
                         "first", i == 0,
                         "last", i + 1 == length,
                         "length", (json_int_t) length);
        return *ret ? 0 : -ENOMEM;
}

static int count_iteration(Render *R, const Node *n) {
        if (++R->budget->iterations > R->budget->limits.max_iterations)
                return render_error(R, &n->pos, -E2BIG, "more than %zu loop iterations",
                                    R->budget->limits.max_iterations);
        return 0;
}

static int bind_targets(Render *R, const Node *n, Scope *scope, json_t *item) {
        if (!n->for_.targets[1]) {
                scope->values[0] = item;
                return 0;
        }
        if (!json_is_array(item) || json_array_size(item) != 2)
                return render_error(R, &n->pos, -EINVAL, "cannot unpack %s into %s, %s",
                                    value_type_name(item), n->for_.targets[0], n->for_.targets[1]);
        scope->values[0] = json_array_get(item, 0);
        scope->values[1] = json_array_get(item, 1);
        return 0;
}

/* "for x in items if condition": the items the condition keeps, decided before the loop
 * starts (so that loop.length counts them), with the loop variables but without loop.
 * Each test counts as an iteration, bounding nested loops over long lists. */
static int select_items(Render *R, const Node *n, json_t *items, Scope *scope, json_t **ret) {
        _cleanup_json_ json_t *kept = json_array();
        json_t *item;
        size_t i;
        int r;

        if (!kept)
                return -ENOMEM;
        json_array_foreach(items, i, item) {
                _cleanup_json_ json_t *v = NULL;

                r = count_iteration(R, n);
                if (r >= 0)
                        r = bind_targets(R, n, scope, item);
                if (r >= 0)
                        r = eval(R, n->for_.condition, &v);
                if (r < 0)
                        return r;
                if (value_truth(v) && json_array_append(kept, item) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(kept);
        return 0;
}

static int render_for_items(Render *R, const Node *n, json_t *items, Scope *scope) {
        size_t length = json_array_size(items);
        int r;

        for (size_t i = 0; i < length; i++) {
                _cleanup_json_ json_t *loop = NULL;

                r = count_iteration(R, n);
                if (r >= 0)
                        r = bind_targets(R, n, scope, json_array_get(items, i));
                if (r >= 0)
                        r = make_loop(i, length, &loop);
                if (r < 0)
                        return r;
                scope->loop = loop;
                r = render_body(R, &n->for_.body);
                scope->loop = NULL;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int render_for(Render *R, const Node *n) {
        _cleanup_json_ json_t *iterable = NULL, *items = NULL;
        Scope scope = {
                .parent = R->scope,
                .names = { n->for_.targets[0], n->for_.targets[1] },
        };
        int r;

        r = eval(R, n->for_.iterable, &iterable);
        if (r < 0)
                return r;
        r = value_iterate(R, n->for_.iterable, iterable, &items);
        if (r < 0)
                return r;

        R->scope = &scope;
        if (n->for_.condition) {
                json_t *kept = NULL;

                r = select_items(R, n, items, &scope, &kept);
                json_decref(items);
                items = kept;
        }
        if (r >= 0 && json_array_size(items) > 0)
                r = render_for_items(R, n, items, &scope);
        R->scope = scope.parent;
        if (r < 0)
                return r;

        if (json_array_size(items) == 0)
                return render_body(R, &n->for_.otherwise);
        return 0;
}

int render_body(Render *R, const NodeList *body) {
        for (size_t i = 0; i < body->n; i++) {
                const Node *n = body->items[i];
                _cleanup_json_ json_t *v = NULL;
                int r;

                switch (n->type) {
                case NODE_TEXT:
                        r = buffer_append(&R->out, R->source + n->text.offset, n->text.length);
                        if (r == -E2BIG)
                                r = render_error(R, &n->pos, -E2BIG, "output exceeds the limit of %zu bytes",
                                                 R->budget->limits.max_output);
                        break;
                case NODE_OUTPUT:
                        r = eval(R, n->output, &v);
                        if (r >= 0)
                                r = write_output(R, n->output, v);
                        break;
                case NODE_IF:
                        r = render_if(R, n);
                        break;
                case NODE_FOR:
                        r = render_for(R, n);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}
