/* Arithmetic expressions for the calculator tool: numbers (decimals, 1e3), + - * / % **,
 * parentheses and unary signs, evaluated in double precision by a recursive-descent
 * parser. Nothing else is accepted: no names, no functions, no code. */
#pragma once

#include <stddef.h>

/* Longest expression accepted, and deepest nesting of parentheses and signs. */
#define ARITH_MAX_LENGTH 4096
#define ARITH_MAX_DEPTH 100

/* Evaluates text. Returns 0 with *ret set, or -EINVAL (not an expression), -EDOM (division
 * or remainder by zero, a result that is not a finite number), -E2BIG (too long, too
 * deep) or -ENOMEM, with a message for a person in why (always NUL-terminated). */
int arith_evaluate(const char *text, double *ret, char *why, size_t why_size);

/* The value as the calculator answers it: integers without a fraction ("42"), others with
 * up to 15 significant digits ("0.1", "3.14159265358979"). */
void arith_format(double value, char *buf, size_t size);
