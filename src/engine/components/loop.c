/* loop: hands the orchestrator the items its body runs over, one iteration each.
 *
 * Items come from extra_config.source_node (+ field) or else the node's input; a value
 * that is not a list becomes a list of one, null an empty list. More items than
 * extra_config.max_iterations (default 1000) fail the node rather than silently dropping
 * some. The orchestrator runs the iterations and fills the "results" port. */

#include "common/json-util.h"
#include "engine/components/components.h"

#define LOOP_MAX_ITERATIONS_DEFAULT 1000

int component_loop(NodeRun *run) {
        _cleanup_json_ json_t *items = NULL, *results = NULL;
        double max_iterations;
        json_t *value;
        int r;

        r = node_run_source_value(run, node_run_setting_string(run, "source_node", NULL),
                                  node_run_setting_string(run, "field", NULL), &value);
        if (r < 0)
                return r;

        if (node_run_setting_number(run, "max_iterations", LOOP_MAX_ITERATIONS_DEFAULT, &max_iterations) < 0 ||
            max_iterations < 1)
                return node_run_fail_config(run, "max_iterations must be a positive number");

        if (!value || json_is_null(value))
                items = json_array();
        else if (json_is_array(value))
                items = json_incref(value);
        else
                items = json_pack("[O]", value);
        results = json_array();
        if (!items || !results)
                return node_run_fail_oom(run);

        if ((double) json_array_size(items) > max_iterations) {
                r = node_run_fail(run, "limit", "The loop has %zu items, more than its limit of %.0f iterations",
                                  json_array_size(items), max_iterations);
                run->retryable = false;
                return r;
        }

        r = node_run_output(run, "results", TAKE_PTR(results));
        if (r < 0)
                return r;
        json_decref(run->loop_items);
        run->loop_items = TAKE_PTR(items);
        return 0;
}
