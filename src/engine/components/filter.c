/* filter: keeps the items of an array that pass every rule.
 *
 * The array comes from extra_config.source_node (+ field) or else the node's input. Each
 * rule's field is read from the item when it is an object or an array; a scalar item is
 * itself the value every rule tests. Output: {"filtered": [...]}. */

#include <errno.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/rules.h"

/* The rules as given, and the same rules reading the whole item, for scalar items. */
typedef struct FilterRules {
        json_t *rules;
        json_t *whole_item_rules;
} FilterRules;

static void filter_rules_done(FilterRules *f) {
        json_decref(f->rules);
        json_decref(f->whole_item_rules);
}

static int filter_rules_init(NodeRun *run, FilterRules *ret) {
        json_t *rules = node_run_setting(run, "rules"), *rule;
        _cleanup_json_ json_t *whole = NULL;
        size_t i;

        if (!rules)
                rules = json_array();
        else if (!json_is_array(rules))
                return node_run_fail_config(run, "rules must be an array, not %s", json_type_name(rules));
        else
                json_incref(rules);

        whole = json_array();
        if (!rules || !whole) {
                json_decref(rules);
                return node_run_fail_oom(run);
        }

        json_array_foreach(rules, i, rule) {
                json_t *copy = json_is_object(rule) ? json_copy(rule) : json_incref(rule);

                if (!copy || (json_is_object(copy) && json_object_set_new(copy, "field", json_string("")) < 0) ||
                    json_array_append_new(whole, copy) < 0) {
                        json_decref(rules);
                        return node_run_fail_oom(run);
                }
        }

        *ret = (FilterRules) { .rules = rules, .whole_item_rules = TAKE_PTR(whole) };
        return 0;
}

/* 1 when item passes every rule, 0 when not, negative after failing the run. */
static int filter_item_passes(NodeRun *run, const FilterRules *f, json_t *item) {
        json_t *rules = json_is_object(item) || json_is_array(item) ? f->rules : f->whole_item_rules;
        json_t *rule;
        size_t i;
        int r;

        json_array_foreach(rules, i, rule) {
                _cleanup_free_ char *error = NULL;
                bool passed = false;

                r = rule_evaluate(rule, item, &passed, &error);
                if (r == -ENOMEM)
                        return node_run_fail_oom(run);
                if (r < 0)
                        return node_run_fail_config(run, "Rule %zu: %s", i + 1, error ?: "invalid rule");
                if (!passed)
                        return 0;
        }
        return 1;
}

int component_filter(NodeRun *run) {
        _cleanup_(filter_rules_done) FilterRules rules = {};
        _cleanup_json_ json_t *filtered = NULL;
        json_t *items, *item;
        size_t i;
        int r;

        r = node_run_source_value(run, node_run_setting_string(run, "source_node", NULL),
                                  node_run_setting_string(run, "field", NULL), &items);
        if (r < 0)
                return r;
        if (!items || json_is_null(items))
                return node_run_fail_config(run, "The filter has no input list");
        if (!json_is_array(items))
                return node_run_fail_config(run, "The filter's input must be a list, not %s",
                                            json_type_name(items));

        r = filter_rules_init(run, &rules);
        if (r < 0)
                return r;

        filtered = json_array();
        if (!filtered)
                return node_run_fail_oom(run);

        json_array_foreach(items, i, item) {
                r = filter_item_passes(run, &rules, item);
                if (r < 0)
                        return r;
                if (r > 0 && json_array_append(filtered, item) < 0)
                        return node_run_fail_oom(run);
        }

        return node_run_output(run, "filtered", TAKE_PTR(filtered));
}
