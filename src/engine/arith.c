/* A recursive-descent evaluator for arith.h. Grammar (** binds tighter than unary minus
 * on its left and is right-associative, as in Python: -2**2 is -4, 2**-1 is 0.5):
 *
 *   sum     := product (("+" | "-") product)*
 *   product := unary (("*" | "/" | "%") unary)*
 *   unary   := ("+" | "-") unary | power
 *   power   := atom ("**" unary)?
 *   atom    := number | "(" sum ")" */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "engine/arith.h"

typedef struct Parser {
        const char *start, *p;
        unsigned depth;
        char *why;
        size_t why_size;
} Parser;

_printf_(3, 4)
static int parser_fail(Parser *P, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(P->why, P->why_size, format, ap);
        va_end(ap);
        return error;
}

static void skip_space(Parser *P) {
        while (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r')
                P->p++;
}

/* Where the parser stands, for messages: "at position N" (1-based) or "at the end". */
static int fail_unexpected(Parser *P) {
        if (*P->p == '\0')
                return parser_fail(P, -EINVAL, "The expression ends too early");
        return parser_fail(P, -EINVAL, "Unexpected '%c' at position %zu", *P->p, (size_t) (P->p - P->start) + 1);
}

static int parse_sum(Parser *P, double *ret);
static int parse_unary(Parser *P, double *ret);

static int parse_number(Parser *P, double *ret) {
        const char *s = P->p;
        _cleanup_free_ char *number = NULL;
        size_t digits = 0, points = 0;
        char *end;

        /* Digits with at most one point, then an optional exponent, checked here: strtod()
         * alone would also take hex, "inf" and "nan". */
        for (; isdigit((unsigned char) *s) || *s == '.'; s++)
                if (*s == '.')
                        points++;
                else
                        digits++;
        if (digits == 0)
                return fail_unexpected(P);
        if (points > 1)
                return parser_fail(P, -EINVAL, "Malformed number at position %zu", (size_t) (P->p - P->start) + 1);
        if (*s == 'e' || *s == 'E') {
                s++;
                if (*s == '+' || *s == '-')
                        s++;
                if (!isdigit((unsigned char) *s))
                        return parser_fail(P, -EINVAL, "Malformed number at position %zu",
                                           (size_t) (P->p - P->start) + 1);
                while (isdigit((unsigned char) *s))
                        s++;
        }
        /* Only the characters checked above: "0x1" stops after the 0. */
        number = strndup(P->p, (size_t) (s - P->p));
        if (!number)
                return parser_fail(P, -ENOMEM, "Out of memory");
        *ret = strtod(number, &end);
        if (*end != '\0')
                return parser_fail(P, -EINVAL, "Malformed number at position %zu", (size_t) (P->p - P->start) + 1);
        if (!isfinite(*ret))
                return parser_fail(P, -EDOM, "The number at position %zu is too large",
                                   (size_t) (P->p - P->start) + 1);
        P->p = s;
        return 0;
}

static int parse_atom(Parser *P, double *ret) {
        int r;

        skip_space(P);
        if (*P->p != '(')
                return parse_number(P, ret);
        if (++P->depth > ARITH_MAX_DEPTH)
                return parser_fail(P, -E2BIG, "The expression is nested more than %d levels deep", ARITH_MAX_DEPTH);
        P->p++;
        r = parse_sum(P, ret);
        if (r < 0)
                return r;
        skip_space(P);
        if (*P->p != ')')
                return *P->p ? fail_unexpected(P) : parser_fail(P, -EINVAL, "A '(' is not closed");
        P->p++;
        P->depth--;
        return 0;
}

static int parse_power(Parser *P, double *ret) {
        double base, exponent;
        int r;

        r = parse_atom(P, &base);
        if (r < 0)
                return r;
        skip_space(P);
        if (P->p[0] != '*' || P->p[1] != '*') {
                *ret = base;
                return 0;
        }
        P->p += 2;
        r = parse_unary(P, &exponent);
        if (r < 0)
                return r;
        if (base == 0 && exponent < 0)
                return parser_fail(P, -EDOM, "Division by zero (0 to a negative power)");
        *ret = pow(base, exponent);
        if (isnan(*ret))
                return parser_fail(P, -EDOM, "A negative number to a fractional power has no real value");
        return 0;
}

static int parse_unary(Parser *P, double *ret) {
        bool negative;
        int r;

        skip_space(P);
        if (*P->p != '-' && *P->p != '+')
                return parse_power(P, ret);
        if (++P->depth > ARITH_MAX_DEPTH)
                return parser_fail(P, -E2BIG, "The expression is nested more than %d levels deep", ARITH_MAX_DEPTH);
        negative = *P->p == '-';
        P->p++;
        r = parse_unary(P, ret);
        if (r < 0)
                return r;
        P->depth--;
        if (negative)
                *ret = -*ret;
        return 0;
}

static int parse_product(Parser *P, double *ret) {
        double left, right;
        int r;

        r = parse_unary(P, &left);
        if (r < 0)
                return r;
        for (;;) {
                char op;

                skip_space(P);
                op = *P->p;
                if ((op != '*' && op != '/' && op != '%') || (op == '*' && P->p[1] == '*'))
                        break;
                P->p++;
                r = parse_unary(P, &right);
                if (r < 0)
                        return r;
                if (op == '*')
                        left *= right;
                else if (right == 0)
                        return parser_fail(P, -EDOM, "Division by zero");
                else if (op == '/')
                        left /= right;
                else {
                        /* The sign of the divisor, as Python's %: -7 % 3 is 2. */
                        double m = fmod(left, right);

                        if (m != 0 && (m < 0) != (right < 0))
                                m += right;
                        left = m;
                }
        }
        *ret = left;
        return 0;
}

static int parse_sum(Parser *P, double *ret) {
        double left, right;
        int r;

        r = parse_product(P, &left);
        if (r < 0)
                return r;
        for (;;) {
                char op;

                skip_space(P);
                op = *P->p;
                if (op != '+' && op != '-')
                        break;
                P->p++;
                r = parse_product(P, &right);
                if (r < 0)
                        return r;
                left = op == '+' ? left + right : left - right;
        }
        *ret = left;
        return 0;
}

int arith_evaluate(const char *text, double *ret, char *why, size_t why_size) {
        char dummy[1];
        Parser P = {
                .start = text,
                .p = text,
                .why = why && why_size > 0 ? why : dummy,
                .why_size = why && why_size > 0 ? why_size : sizeof dummy,
        };
        double value;
        int r;

        P.why[0] = '\0';
        if (!text)
                return parser_fail(&P, -EINVAL, "No expression");
        if (strlen(text) > ARITH_MAX_LENGTH)
                return parser_fail(&P, -E2BIG, "The expression is longer than %d characters", ARITH_MAX_LENGTH);
        skip_space(&P);
        if (*P.p == '\0')
                return parser_fail(&P, -EINVAL, "The expression is empty");

        r = parse_sum(&P, &value);
        if (r < 0)
                return r;
        skip_space(&P);
        if (*P.p != '\0')
                return *P.p == ')' ? parser_fail(&P, -EINVAL, "A ')' at position %zu has no '('",
                                                 (size_t) (P.p - P.start) + 1)
                                   : fail_unexpected(&P);
        if (!isfinite(value))
                return parser_fail(&P, -EDOM, "The result is too large");
        *ret = value == 0 ? 0 : value; /* no "-0" */
        return 0;
}

void arith_format(double value, char *buf, size_t size) {
        if (value == trunc(value) && fabs(value) < 1e15)
                (void) snprintf(buf, size, "%.0f", value);
        else
                (void) snprintf(buf, size, "%.15g", value);
}
