/* router: picks the route its conditional edges follow, in one of three ways.
 *
 *   extra_config.routes = [{name, description?}] (or plain names): the model attached
 *     through the 'llm' edge chooses one for the text, as the categorizer chooses a
 *     category (llm_node_choose()); output {route, raw, token_usage}.
 *   extra_config.condition_expression = "path" or "path == 'value'" (or !=): a dotted path
 *     into the run state (node_outputs.<id>.<field>, trigger.…, input.…, with or without
 *     "state."), then into the input. Without a comparison the route is the value there;
 *     with one, "true" or "false". No model is called; output {route}.
 *   otherwise extra_config.condition_field (default "route"): the value at that path, the
 *     same way (so a router after a switch re-reads its route, after a categorizer
 *     condition_field "category" its category).
 * A value that is missing, null or empty routes to "__other__"; numbers and booleans route
 * as their JSON text ("3", "true"); an object or a list fails the node. routes and
 * condition_expression exclude each other. */

#include <errno.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/components/llm-node.h"
#include "engine/rules.h"

#define EXPRESSION_MAX 1024

typedef struct Expression {
        char *path;
        char *value;            /* the compared value; NULL without a comparison */
        bool negate;            /* != */
} Expression;

static void expression_done(Expression *e) {
        free(e->path);
        free(e->value);
        *e = (Expression) {};
}

static char *strip_dup(const char *s, size_t n) {
        while (n > 0 && (*s == ' ' || *s == '\t'))
                s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        return strndup(s, n);
}

/* "path", "path == value" or "path != value"; the value may be quoted with ' or ". */
static int expression_parse(NodeRun *run, const char *text, Expression *e) {
        const char *op = NULL;
        char quote = 0;

        if (strlen(text) > EXPRESSION_MAX)
                return node_run_fail_config(run, "condition_expression is longer than %d characters", EXPRESSION_MAX);
        for (const char *p = text; *p; p++) {
                if (quote) {
                        if (*p == quote)
                                quote = 0;
                } else if (*p == '\'' || *p == '"')
                        quote = *p;
                else if ((p[0] == '=' || p[0] == '!') && p[1] == '=') {
                        op = p;
                        break;
                }
        }

        e->path = strip_dup(text, op ? (size_t) (op - text) : strlen(text));
        if (!e->path)
                return node_run_fail_oom(run);
        if (isempty(e->path) || strpbrk(e->path, " \t'\"=!<>"))
                return node_run_fail_config(run, "condition_expression must be a dotted path, optionally compared "
                                            "with == or != to a value: node_outputs.cat.category == 'billing'");
        if (!op)
                return 0;

        e->negate = op[0] == '!';
        e->value = strip_dup(op + 2, strlen(op + 2));
        if (!e->value)
                return node_run_fail_oom(run);
        {
                size_t n = strlen(e->value);

                if (n >= 2 && (e->value[0] == '\'' || e->value[0] == '"') && e->value[n - 1] == e->value[0]) {
                        memmove(e->value, e->value + 1, n - 2);
                        e->value[n - 2] = '\0';
                } else if (n == 0 || strpbrk(e->value, "'\"=!"))
                        return node_run_fail_config(run, "condition_expression compares with a value that is "
                                                    "missing or badly quoted: %s", text);
        }
        return 0;
}

/* The value at path: in the run state, else in the input. Borrowed; NULL when missing. */
static json_t *lookup(json_t *document, json_t *input, const char *path) {
        json_t *v = json_path_get(document, path);

        return v ?: json_path_get(input, path);
}

/* The route text of a value: NULL for none, -EINVAL for a value that cannot be a route. */
static int route_text(json_t *v, char **ret) {
        if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
                *ret = NULL;
                return 0;
        }
        if (json_is_object(v) || json_is_array(v))
                return -EINVAL;
        *ret = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        return *ret ? 0 : -ENOMEM;
}

static int router_finish(NodeRun *run, const char *route) {
        free(run->route);
        run->route = strdup(route);
        if (!run->route || node_run_output(run, "route", json_string(route)) < 0)
                return node_run_fail_oom(run);
        return llm_node_apply_output_parser(run, route);
}

static int router_by_state(NodeRun *run, const char *expression_text) {
        _cleanup_(expression_done) Expression e = {};
        _cleanup_json_ json_t *document = NULL;
        _cleanup_free_ char *text = NULL;
        json_t *v;
        int r;

        r = expression_parse(run, expression_text, &e);
        if (r < 0)
                return r;
        document = node_run_rule_document(run);
        if (!document)
                return node_run_fail_oom(run);

        v = lookup(document, run->input, e.path);
        r = route_text(v, &text);
        if (r == -ENOMEM)
                return node_run_fail_oom(run);
        if (r < 0 && !e.value)
                return node_run_fail_config(run, "'%s' holds a JSON %s; a route is a name, a number or a boolean",
                                            e.path, json_type_name(v));
        if (e.value)
                return router_finish(run, streq_ptr(text, e.value) != e.negate ? "true" : "false");
        return router_finish(run, text ?: LLM_NODE_OTHER_ROUTE);
}

int component_router(NodeRun *run) {
        json_t *routes = node_run_setting(run, "routes");
        const char *expression = node_run_setting_string(run, "condition_expression", NULL);
        bool by_model = routes && !(json_is_array(routes) && json_array_size(routes) == 0);
        char *text = NULL;
        int r;

        if (by_model && !isempty(expression))
                return node_run_fail_config(run, "Set either routes (the model chooses) or condition_expression "
                                            "(a value in the run decides), not both");
        if (!by_model) {
                const char *field = node_run_setting_string(run, "condition_field", NULL);

                return router_by_state(run, !isempty(expression) ? expression : !isempty(field) ? field : "route");
        }

        r = llm_node_input_text(run, true, &text);
        if (r < 0)
                return r;
        return llm_node_choose(run, "routes", "route", text);
}
