/* switch: routes to the conditional edge of the first rule that matches.
 *
 * extra_config.rules[] = {id, label?, field, operator, value}, tried in order against the
 * run's rule document; the first passing rule's id is the route. No match routes to
 * "__other__" when enable_fallback is set, else nowhere (route null: no branch runs). */

#include <errno.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/rules.h"

#define SWITCH_FALLBACK_ROUTE "__other__"

static int switch_finish(NodeRun *run, const char *route) {
        json_t *value = route ? json_string(route) : json_null();

        if (!value)
                return node_run_fail_oom(run);
        if (route) {
                run->route = strdup(route);
                if (!run->route) {
                        json_decref(value);
                        return node_run_fail_oom(run);
                }
        }
        return node_run_output(run, "route", value);
}

int component_switch(NodeRun *run) {
        _cleanup_json_ json_t *document = NULL;
        json_t *rules = node_run_setting(run, "rules"), *rule;
        size_t i;
        int r;

        if (rules && !json_is_array(rules))
                return node_run_fail_config(run, "rules must be an array, not %s", json_type_name(rules));

        document = node_run_rule_document(run);
        if (!document)
                return node_run_fail_oom(run);

        json_array_foreach(rules, i, rule) {
                _cleanup_free_ char *error = NULL;
                const char *id = json_get_string(rule, "id", NULL);
                bool passed = false;

                if (isempty(id))
                        return node_run_fail_config(run, "Rule %zu has no id to route to", i + 1);

                r = rule_evaluate(rule, document, &passed, &error);
                if (r == -ENOMEM)
                        return node_run_fail_oom(run);
                if (r < 0)
                        return node_run_fail_config(run, "Rule '%s': %s", id, error ?: "invalid rule");
                if (passed)
                        return switch_finish(run, id);
        }

        return switch_finish(run, node_run_setting_bool(run, "enable_fallback", false) ?
                             SWITCH_FALLBACK_ROUTE : NULL);
}
