/* The binary operators with Python's meaning: integer arithmetic that stays exact (and
 * fails on overflow rather than wrapping), float arithmetic that refuses infinities, +
 * and * on strings and lists within the limits, ~, comparisons and "in". */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "engine/template-internal.h"

static int arithmetic_error(Render *R, const Node *n, Operator op, json_t *a, json_t *b) {
        return render_error(R, &n->pos, -EINVAL, "unsupported operands for '%s': %s and %s",
                            operator_to_string(op), value_type_name(a), value_type_name(b));
}

static int integer_arithmetic(Render *R, const Node *n, Operator op, int64_t a, int64_t b, json_t **ret) {
        int64_t v = 0;
        bool overflow = false;

        switch (op) {
        case OP_ADD:
                overflow = __builtin_add_overflow(a, b, &v);
                break;
        case OP_SUB:
                overflow = __builtin_sub_overflow(a, b, &v);
                break;
        case OP_MUL:
                overflow = __builtin_mul_overflow(a, b, &v);
                break;
        case OP_FLOORDIV:
        case OP_MOD:
                if (b == 0)
                        return render_error(R, &n->pos, -EINVAL, "division by zero");
                if (a == INT64_MIN && b == -1) {
                        overflow = op == OP_FLOORDIV;
                        v = 0;
                        break;
                }
                /* Python rounds towards minus infinity; the remainder takes the divisor's sign */
                v = op == OP_FLOORDIV ? a / b : a % b;
                if (a % b != 0 && ((a < 0) != (b < 0)))
                        v = op == OP_FLOORDIV ? v - 1 : v + b;
                break;
        case OP_POW:
                v = 1;
                for (int64_t base = a, e = b; e > 0 && !overflow; e >>= 1) {
                        if (e & 1)
                                overflow = __builtin_mul_overflow(v, base, &v);
                        if (e > 1 && !overflow)
                                overflow = __builtin_mul_overflow(base, base, &base);
                }
                break;
        default:
                return -EINVAL;
        }
        if (overflow)
                return render_error(R, &n->pos, -EINVAL, "integer overflow in '%s'", operator_to_string(op));
        *ret = json_integer(v);
        return *ret ? 0 : -ENOMEM;
}

static int real_arithmetic(Render *R, const Node *n, Operator op, double x, double y, json_t **ret) {
        double v, mod, div;
        int r;

        switch (op) {
        case OP_ADD:
                v = x + y;
                break;
        case OP_SUB:
                v = x - y;
                break;
        case OP_MUL:
                v = x * y;
                break;
        case OP_DIV:
                if (y == 0)
                        return render_error(R, &n->pos, -EINVAL, "division by zero");
                v = x / y;
                break;
        case OP_FLOORDIV:
        case OP_MOD:
                if (y == 0)
                        return render_error(R, &n->pos, -EINVAL, "division by zero");
                /* Python's float divmod() */
                mod = fmod(x, y);
                div = (x - mod) / y;
                if (mod != 0) {
                        if ((y < 0) != (mod < 0)) {
                                mod += y;
                                div -= 1.0;
                        }
                } else
                        mod = copysign(0.0, y);
                if (div != 0) {
                        double f = floor(div);
                        div = div - f > 0.5 ? f + 1.0 : f;
                } else
                        div = copysign(0.0, x / y);
                v = op == OP_MOD ? mod : div;
                break;
        case OP_POW:
                if (x == 0 && y < 0)
                        return render_error(R, &n->pos, -EINVAL, "zero cannot be raised to a negative power");
                if (x < 0 && y != floor(y))
                        return render_error(R, &n->pos, -EINVAL, "a negative number cannot be raised to a fractional power");
                v = pow(x, y);
                break;
        default:
                return -EINVAL;
        }

        r = real_new(v, ret);
        if (r == -ERANGE)
                return render_error(R, &n->pos, -EINVAL, "result of '%s' is out of range", operator_to_string(op));
        return r;
}

/* "ab" * 3, [1] * 3 */
static int repeat(Render *R, const Node *n, json_t *v, int64_t times, json_t **ret) {
        size_t size = json_is_string(v) ? json_string_length(v) : json_array_size(v);
        size_t limit = json_is_string(v) ? R->budget->limits.max_output : TEMPLATE_LIST_MAX;
        _cleanup_json_ json_t *result = NULL;

        /* nothing to repeat, or no times: no loop at all, however large times is */
        if (times < 0 || size == 0)
                times = 0;
        if (size > 0 && (uint64_t) times > limit / size)
                return render_error(R, &n->pos, -E2BIG, "repetition would exceed the limit of %zu %s",
                                    limit, json_is_string(v) ? "bytes" : "items");

        if (json_is_string(v)) {
                _cleanup_free_ char *s = malloc(size * times + 1);

                if (!s)
                        return -ENOMEM;
                for (int64_t i = 0; i < times; i++)
                        memcpy(s + size * i, json_string_value(v), size);
                result = json_stringn(s, size * times);
        } else {
                result = json_array();
                for (int64_t i = 0; result && i < times; i++)
                        if (json_array_extend(result, v) < 0)
                                return -ENOMEM;
        }
        if (!result)
                return -ENOMEM;
        *ret = TAKE_PTR(result);
        return 0;
}

/* Joins two lists, or the text of a and b. */
static int concatenate(Render *R, const Node *n, json_t *a, json_t *b, bool lists, json_t **ret) {
        _cleanup_json_ json_t *result = NULL;

        if (lists) {
                if (json_array_size(a) + json_array_size(b) > TEMPLATE_LIST_MAX)
                        return render_error(R, &n->pos, -E2BIG, "list would exceed the limit of %zu items",
                                            TEMPLATE_LIST_MAX);
                result = json_copy(a);
                if (!result || json_array_extend(result, b) < 0)
                        return -ENOMEM;
        } else {
                Buffer buf = { .limit = R->budget->limits.max_output };
                int r;

                r = value_print(&buf, a);
                if (r >= 0)
                        r = value_print(&buf, b);
                if (r >= 0) {
                        result = json_stringn(buf.data ?: "", buf.length);
                        if (!result)
                                r = -ENOMEM;
                }
                buffer_done(&buf);
                if (r < 0)
                        return print_error(R, n, r);
        }
        *ret = TAKE_PTR(result);
        return 0;
}

int binary_operation(Render *R, const Node *n, Operator op, json_t *a, json_t *b, json_t **ret) {
        if (op == OP_TILDE || (op == OP_ADD && json_is_string(a) && json_is_string(b)))
                return concatenate(R, n, a, b, false, ret);
        if (op == OP_ADD && json_is_array(a) && json_is_array(b))
                return concatenate(R, n, a, b, true, ret);
        if (op == OP_MUL && (json_is_string(a) || json_is_array(a)) && json_is_integer(b))
                return repeat(R, n, a, json_integer_value(b), ret);
        if (op == OP_MUL && json_is_integer(a) && (json_is_string(b) || json_is_array(b)))
                return repeat(R, n, b, json_integer_value(a), ret);

        if (!value_is_number(a) || !value_is_number(b))
                return arithmetic_error(R, n, op, a, b);

        if (json_is_integer(a) && json_is_integer(b) && op != OP_DIV &&
            !(op == OP_POW && json_integer_value(b) < 0))
                return integer_arithmetic(R, n, op, json_integer_value(a), json_integer_value(b), ret);
        return real_arithmetic(R, n, op, json_number_value(a), json_number_value(b), ret);
}

static int contains(Render *R, const Node *n, json_t *needle, json_t *haystack) {
        if (json_is_string(haystack)) {
                if (!json_is_string(needle))
                        return render_error(R, &n->pos, -EINVAL, "'in <string>' needs a string on the left, not %s",
                                            value_type_name(needle));
                return memmem(json_string_value(haystack), json_string_length(haystack),
                              json_string_value(needle), json_string_length(needle)) != NULL;
        }
        if (json_is_array(haystack)) {
                size_t i;
                json_t *item;

                json_array_foreach(haystack, i, item) {
                        int r = value_equal(needle, item);
                        if (r != 0)
                                return r < 0 ? print_error(R, n, r) : 1;
                }
                return 0;
        }
        if (json_is_object(haystack))
                return json_is_string(needle) && json_object_get(haystack, json_string_value(needle));
        return render_error(R, &n->pos, -EINVAL, "'in' needs a string, list or object on the right, not %s",
                            value_type_name(haystack));
}

int compare_operation(Render *R, const Node *n, Operator op, json_t *a, json_t *b) {
        int r, order;

        switch (op) {
        case OP_EQ:
        case OP_NE:
                r = value_equal(a, b);
                if (r < 0)
                        return print_error(R, n, r);
                return op == OP_EQ ? r : !r;
        case OP_IN:
        case OP_NOT_IN:
                r = contains(R, n, a, b);
                if (r < 0)
                        return r;
                return op == OP_IN ? r : !r;
        default:
                r = value_compare(a, b, true, &order);
                if (r == -ELOOP)
                        return print_error(R, n, r);
                if (r < 0)
                        return render_error(R, &n->pos, -EINVAL, "cannot compare %s with %s using '%s'",
                                            value_type_name(a), value_type_name(b), operator_to_string(op));
                return op == OP_LT ? order < 0 : op == OP_GT ? order > 0 : op == OP_LE ? order <= 0 : order >= 0;
        }
}
