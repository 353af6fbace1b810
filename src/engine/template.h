/* The template engine: the subset of Jinja that node settings use to refer to earlier
 * results ("{{ agent_1.output }}", "{% for x in trigger.items %}…{% endfor %}").
 *
 * Pure and thread-safe: no I/O, no state shared between calls. Templates are parsed into
 * a tree and evaluated against a context, a JSON object that maps names to values.
 *
 * Unlike Jinja's default, and unlike the reference implementation (which kept the raw text
 * when rendering failed), an undefined name, a missing key or a syntax error is an error
 * whose message names the tag and the position: only the `default` filter and the
 * `defined`/`undefined` tests accept undefined values.
 *
 * Values print as Python's str() would print them ("True", "None", "2.0"), except objects
 * and lists, which print as compact JSON rather than as Python reprs, so that prompts and
 * request bodies receive something machines can read back.
 *
 * Text that must contain "{{" or "{%" literally goes between {% raw %} and {% endraw %}.
 *
 * The language: {{ expr }}, {% if %}/{% elif %}/{% else %}/{% endif %},
 * {% for x in e [if cond] %}/{% else %}/{% endfor %} (with loop.index, index0, revindex,
 * revindex0, first, last, length; objects iterate over their keys; "for k, v in
 * obj.items()"), {# comments #}, whitespace control with '-', and {% raw %}. Expressions
 * have Python's literals, operators and precedence as Jinja has them (a ** b binds left,
 * -x | f is f(-x)), a.b and a[i] and slices, filters (a | f(args)), tests (a is [not] t),
 * the methods items/keys/values/get of objects and upper/lower/title/capitalize/strip/
 * lstrip/rstrip/startswith/endswith/split/replace/join of strings, and range(). There is
 * no {% set %}, no macros, no includes. An inline "x if c" without else gives "" when c
 * is false. Case changes cover ASCII letters only. */
#pragma once

#include <jansson.h>
#include <stddef.h>

typedef struct TemplateError {
        /* e.g. "undefined name 'agent_1' in {{ agent_1.output }} at line 1, column 4" */
        char *message;
        unsigned line, column;  /* 1-based, in characters; 0 when the error has no position */
} TemplateError;

/* Frees the message and clears the error; NULL is accepted. */
void template_error_done(TemplateError *e);

typedef struct TemplateLimits {
        size_t max_output;        /* bytes of rendered text, and of any single string built */
        size_t max_iterations;    /* for-loop iterations (and range() lengths) in all */
} TemplateLimits;

#define TEMPLATE_MAX_OUTPUT_DEFAULT ((size_t) 1024 * 1024)
#define TEMPLATE_MAX_ITERATIONS_DEFAULT ((size_t) 10000)

/* Renders text against context (a JSON object; NULL is an empty one). Text without "{{"
 * or "{%" is returned unchanged (a copy). Returns 0 and a malloc'ed string in *ret, or
 * -EINVAL (bad template, undefined name, bad operand…), -E2BIG (a limit was hit) or
 * -ENOMEM, with *ret_error (when not NULL) filled in. */
int template_render(const char *text, json_t *context, char **ret, TemplateError *ret_error);

/* When the whole text is exactly one expression "{{ expr }}" (whitespace around it is
 * allowed), returns the expression's value itself, so "{{ node.output }}" can pass an
 * object through; otherwise renders text to a JSON string. The value may be shared with
 * context: copy it before changing it. */
int template_render_value(const char *text, json_t *context, json_t **ret, TemplateError *ret_error);

/* Renders every string inside value, through objects and arrays (keys are left alone),
 * into a new value; each string renders to a string, as template_render() does. Scalars
 * that are not strings are shared with value. Error messages start with the JSON path of
 * the failing string: "extra_config.rules[0].value: undefined name …". The limits apply
 * to the whole value. */
int template_render_json(json_t *value, json_t *context, json_t **ret, TemplateError *ret_error);

/* The same with explicit limits; NULL means the defaults above. */
int template_render_full(
                const char *text,
                json_t *context,
                const TemplateLimits *limits,
                char **ret,
                TemplateError *ret_error);
int template_render_value_full(
                const char *text,
                json_t *context,
                const TemplateLimits *limits,
                json_t **ret,
                TemplateError *ret_error);
int template_render_json_full(
                json_t *value,
                json_t *context,
                const TemplateLimits *limits,
                json_t **ret,
                TemplateError *ret_error);
