/* The public face of the template engine: render text, a value, or every string of a
 * JSON document, and the errors that say where a template went wrong. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "engine/template-internal.h"

static const TemplateLimits default_limits = {
        .max_output = TEMPLATE_MAX_OUTPUT_DEFAULT,
        .max_iterations = TEMPLATE_MAX_ITERATIONS_DEFAULT,
};

void template_error_done(TemplateError *e) {
        if (!e)
                return;
        free(e->message);
        *e = (TemplateError) {};
}

/* The tag at [start, end), on one line and at most TEMPLATE_SNIPPET_MAX bytes. */
static char *snippet(const char *source, size_t start, size_t end) {
        size_t length = strlen(source), n;
        bool cut = false;
        char *s;

        end = MIN(end, length);
        start = MIN(start, end);
        n = end - start;
        if (n > TEMPLATE_SNIPPET_MAX) {
                n = TEMPLATE_SNIPPET_MAX;
                while (n > 0 && ((unsigned char) source[start + n] & 0xC0) == 0x80)
                        n--;
                cut = true;
        }
        if (asprintf(&s, "%.*s%s", (int) n, source + start, cut ? "…" : "") < 0)
                return NULL;
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20)
                        *p = ' ';
        return s;
}

int template_error_setv(TemplateError *e, const char *source, const Position *pos, int r, const char *fmt, va_list ap) {
        _cleanup_free_ char *message = NULL, *tag = NULL;
        int k;

        /* the first error is the one that explains */
        if (!e || e->message)
                return r;
        if (vasprintf(&message, fmt, ap) < 0)
                return r;

        if (!pos || !source) {
                e->message = TAKE_PTR(message);
                return r;
        }
        tag = snippet(source, pos->tag_start, pos->tag_end);
        if (tag && *tag)
                k = asprintf(&e->message, "%s in %s at line %u, column %u", message, tag, pos->line, pos->column);
        else
                k = asprintf(&e->message, "%s at line %u, column %u", message, pos->line, pos->column);
        if (k < 0)
                e->message = NULL;
        e->line = pos->line;
        e->column = pos->column;
        return r;
}

int template_error_setf(TemplateError *e, const char *source, const Position *pos, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = template_error_setv(e, source, pos, r, fmt, ap);
        va_end(ap);
        return r;
}

/* Hands a local error to the caller, making sure a failure always has a message. */
static int finish(int r, TemplateError *e, TemplateError *ret_error) {
        if (r >= 0) {
                template_error_done(e);
                return r;
        }
        if (!e->message)
                template_error_setf(e, NULL, NULL, r, "%s", r == -ENOMEM ? "out of memory" : strerror(-r));
        if (ret_error)
                *ret_error = *e;
        else
                template_error_done(e);
        return r;
}

static bool has_tags(const char *text) {
        return strstr(text, "{{") || strstr(text, "{%");
}

/* The one {{ expression }} that makes up the whole template, if that is what it is. */
static const Node *single_expression(const char *source, const NodeList *body) {
        const Node *found = NULL;

        for (size_t i = 0; i < body->n; i++) {
                const Node *n = body->items[i];

                if (n->type == NODE_TEXT) {
                        for (size_t k = 0; k < n->text.length; k++)
                                if (!IN_SET(source[n->text.offset + k], ' ', '\t', '\n', '\r', '\v', '\f'))
                                        return NULL;
                } else if (n->type == NODE_OUTPUT && !found)
                        found = n->output;
                else
                        return NULL;
        }
        return found;
}

/* Renders text into *ret_text, or, with ret_value, into a value (the expression's own
 * value when text is a single expression). */
static int render(const char *text, json_t *context, Budget *budget, char **ret_text, json_t **ret_value, TemplateError *e) {
        _cleanup_(node_list_done) NodeList body = {};
        _cleanup_(render_done) Render R = {
                .source = text,
                .context = context,
                .budget = budget,
                .out.limit = budget->limits.max_output - MIN(budget->output, budget->limits.max_output),
                .error = e,
        };
        const Node *single;
        int r;

        if (context && !json_is_object(context))
                return template_error_setf(e, NULL, NULL, -EINVAL, "the context is not an object");

        if (!has_tags(text)) {
                if (ret_value) {
                        *ret_value = json_string(text);
                        if (!*ret_value)
                                return template_error_setf(e, NULL, NULL, -EINVAL, "text is not valid UTF-8");
                        return 0;
                }
                *ret_text = strdup(text);
                return *ret_text ? 0 : -ENOMEM;
        }

        r = template_parse(text, &body, e);
        if (r < 0)
                return r;

        if (ret_value) {
                single = single_expression(text, &body);
                if (single)
                        return eval(&R, single, ret_value);
        }

        r = render_body(&R, &body);
        if (r < 0)
                return r;
        budget->output += R.out.length;

        if (ret_value) {
                *ret_value = json_stringn(R.out.data ?: "", R.out.length);
                if (!*ret_value)
                        return template_error_setf(e, NULL, NULL, -EINVAL, "rendered text is not valid UTF-8");
                return 0;
        }
        *ret_text = R.out.data ? TAKE_PTR(R.out.data) : strdup("");
        return *ret_text ? 0 : -ENOMEM;
}

static Budget budget_new(const TemplateLimits *limits) {
        return (Budget) {
                .limits = limits ? *limits : default_limits,
        };
}

int template_render_full(
                const char *text,
                json_t *context,
                const TemplateLimits *limits,
                char **ret,
                TemplateError *ret_error) {

        TemplateError e = {};
        Budget budget = budget_new(limits);

        if (!text || !ret)
                return finish(-EINVAL, &e, ret_error);
        return finish(render(text, context, &budget, ret, NULL, &e), &e, ret_error);
}

int template_render_value_full(
                const char *text,
                json_t *context,
                const TemplateLimits *limits,
                json_t **ret,
                TemplateError *ret_error) {

        TemplateError e = {};
        Budget budget = budget_new(limits);

        if (!text || !ret)
                return finish(-EINVAL, &e, ret_error);
        return finish(render(text, context, &budget, NULL, ret, &e), &e, ret_error);
}

/* Prefixes e's message with the JSON path of the string that failed. */
static int prefix_path(TemplateError *e, const Buffer *path, int r) {
        char *s;

        if (path->length == 0 || !e->message)
                return r;
        if (asprintf(&s, "%s: %s", path->data, e->message) < 0)
                return r;
        free(e->message);
        e->message = s;
        return r;
}

static int render_json(json_t *value, json_t *context, Budget *budget, Buffer *path, unsigned depth, json_t **ret, TemplateError *e) {
        _cleanup_json_ json_t *result = NULL;
        size_t path_length = path->length;
        int r = 0;

        if (depth > TEMPLATE_DATA_DEPTH_MAX) {
                template_error_setf(e, NULL, NULL, -EINVAL, "value is nested more than %d deep", TEMPLATE_DATA_DEPTH_MAX);
                return prefix_path(e, path, -EINVAL);
        }

        switch (json_typeof(value)) {
        case JSON_STRING: {
                _cleanup_free_ char *text = NULL;

                if (!has_tags(json_string_value(value))) {
                        *ret = json_incref(value);
                        return 0;
                }
                r = render(json_string_value(value), context, budget, &text, NULL, e);
                if (r < 0)
                        return prefix_path(e, path, r);
                result = json_string(text);
                if (!result) {
                        template_error_setf(e, NULL, NULL, -EINVAL, "rendered text is not valid UTF-8");
                        return prefix_path(e, path, -EINVAL);
                }
                break;
        }

        case JSON_OBJECT: {
                const char *key;
                json_t *item;

                result = json_object();
                if (!result)
                        return -ENOMEM;
                json_object_foreach(value, key, item) {
                        json_t *v;

                        r = buffer_append_string(path, path_length > 0 ? "." : "");
                        if (r >= 0)
                                r = buffer_append_string(path, key);
                        if (r >= 0)
                                r = render_json(item, context, budget, path, depth + 1, &v, e);
                        if (r >= 0 && json_object_set_new(result, key, v) < 0)
                                r = -ENOMEM;
                        path->length = path_length;
                        if (path->data)
                                path->data[path_length] = '\0';
                        if (r < 0)
                                return r;
                }
                break;
        }

        case JSON_ARRAY: {
                json_t *item;
                size_t i;

                result = json_array();
                if (!result)
                        return -ENOMEM;
                json_array_foreach(value, i, item) {
                        char index[32];
                        json_t *v;

                        snprintf(index, sizeof index, "[%zu]", i);
                        r = buffer_append_string(path, index);
                        if (r >= 0)
                                r = render_json(item, context, budget, path, depth + 1, &v, e);
                        if (r >= 0 && json_array_append_new(result, v) < 0)
                                r = -ENOMEM;
                        path->length = path_length;
                        if (path->data)
                                path->data[path_length] = '\0';
                        if (r < 0)
                                return r;
                }
                break;
        }

        default:
                *ret = json_incref(value);
                return 0;
        }

        *ret = TAKE_PTR(result);
        return 0;
}

int template_render_json_full(
                json_t *value,
                json_t *context,
                const TemplateLimits *limits,
                json_t **ret,
                TemplateError *ret_error) {

        _cleanup_(buffer_done) Buffer path = { .limit = SIZE_MAX };
        TemplateError e = {};
        Budget budget = budget_new(limits);

        if (!value || !ret)
                return finish(-EINVAL, &e, ret_error);
        if (context && !json_is_object(context))
                return finish(template_error_setf(&e, NULL, NULL, -EINVAL, "the context is not an object"), &e, ret_error);
        return finish(render_json(value, context, &budget, &path, 0, ret, &e), &e, ret_error);
}

int template_render(const char *text, json_t *context, char **ret, TemplateError *ret_error) {
        return template_render_full(text, context, NULL, ret, ret_error);
}

int template_render_value(const char *text, json_t *context, json_t **ret, TemplateError *ret_error) {
        return template_render_value_full(text, context, NULL, ret, ret_error);
}

int template_render_json(json_t *value, json_t *context, json_t **ret, TemplateError *ret_error) {
        return template_render_json_full(value, context, NULL, ret, ret_error);
}
