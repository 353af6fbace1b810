/* assertion: checks every rule and routes to "pass" (all passed, or no rules) or "fail".
 *
 * Output: {"output": {"passed": bool, "results": [{check, passed, actual, expected}]},
 *          "route": "pass" | "fail"}. A malformed rule fails the node instead of counting as
 * a failed check, so a typo is not mistaken for data that does not meet the rule. */

#include <errno.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/rules.h"

/* What the result calls the check: the rule's label, else "field operator value". */
static char *assertion_check_name(json_t *rule) {
        const char *label = json_get_string(rule, "label", NULL);
        const char *field = json_get_string(rule, "field", "");
        const char *operator = json_get_string(rule, "operator", "");
        json_t *value = json_object_get(rule, "value");
        _cleanup_free_ char *value_text = NULL;
        char *name;

        if (!isempty(label))
                return strdup(label);
        if (!value || json_is_null(value)) {
                if (asprintf(&name, "%s %s", field, operator) < 0)
                        return NULL;
                return name;
        }
        value_text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!value_text)
                return NULL;
        if (asprintf(&name, "%s %s %s", field, operator, value_text) < 0)
                return NULL;
        return name;
}

static int assertion_check(NodeRun *run, json_t *rule, size_t index, json_t *document,
                           json_t *results, bool *ret_passed) {
        _cleanup_free_ char *error = NULL, *name = NULL;
        json_t *value = json_object_get(rule, "value");
        RuleResult result;
        int r;

        r = rule_evaluate_full(rule, document, &result, &error);
        if (r == -ENOMEM)
                return node_run_fail_oom(run);
        if (r < 0) {
                const char *id = json_get_string(rule, "id", NULL);

                if (!isempty(id))
                        return node_run_fail_config(run, "Rule '%s': %s", id, error ?: "invalid rule");
                return node_run_fail_config(run, "Rule %zu: %s", index + 1, error ?: "invalid rule");
        }

        name = assertion_check_name(rule);
        if (!name)
                return node_run_fail_oom(run);
        if (json_array_append_new(results,
                                  json_pack("{s:s, s:b, s:O, s:O}",
                                            "check", name,
                                            "passed", result.passed,
                                            "actual", result.actual ?: json_null(),
                                            "expected", value ?: json_null())) < 0)
                return node_run_fail_oom(run);

        *ret_passed = result.passed;
        return 0;
}

int component_assertion(NodeRun *run) {
        _cleanup_json_ json_t *document = NULL, *results = NULL, *output = NULL;
        json_t *rules = node_run_setting(run, "rules"), *rule;
        bool all_passed = true;
        const char *route;
        size_t i;
        int r;

        if (rules && !json_is_array(rules))
                return node_run_fail_config(run, "rules must be an array, not %s", json_type_name(rules));

        document = node_run_rule_document(run);
        results = json_array();
        if (!document || !results)
                return node_run_fail_oom(run);

        json_array_foreach(rules, i, rule) {
                bool passed = false;

                r = assertion_check(run, rule, i, document, results, &passed);
                if (r < 0)
                        return r;
                all_passed = all_passed && passed;
        }

        route = all_passed ? "pass" : "fail";
        output = json_pack("{s:{s:b, s:O}, s:s}",
                           "output", "passed", all_passed, "results", results,
                           "route", route);
        run->route = strdup(route);
        if (!output || !run->route)
                return node_run_fail_oom(run);

        /* Two ports: the output object is built whole rather than port by port. */
        json_decref(run->output);
        run->output = TAKE_PTR(output);
        return 0;
}
