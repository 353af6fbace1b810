/* merge: joins the outputs of several branches into one value.
 *
 * Sources: extra_config.source_nodes[] (in that order; nodes without output in this run,
 * e.g. on a branch a switch ruled out, are skipped), else every parent of the node (the
 * {parent_id: output} map the orchestrator passes as input), else the single input.
 * Each source contributes its node value (a single-port output stands for that port's
 * value). mode "append" (legacy "concat") flattens lists into one array and appends other
 * values; "combine" merges objects key by key, later sources winning.
 * Output: {"merged": …}. */

#include "common/json-util.h"
#include "engine/components/components.h"

typedef enum MergeMode {
        MERGE_APPEND,
        MERGE_COMBINE,
} MergeMode;

static int merge_add(MergeMode mode, json_t *merged, json_t *value) {
        if (mode == MERGE_COMBINE)
                return json_is_object(value) ? json_object_update(merged, value) : 0;
        if (json_is_array(value))
                return json_array_extend(merged, value);
        return json_array_append(merged, value ?: json_null());
}

static int merge_sources(NodeRun *run, MergeMode mode, json_t *merged) {
        json_t *source_nodes = node_run_setting(run, "source_nodes"), *id, *output;
        const char *key;
        size_t i;

        if (source_nodes && !json_is_array(source_nodes))
                return node_run_fail_config(run, "source_nodes must be a list of node ids, not %s",
                                            json_type_name(source_nodes));

        if (json_array_size(source_nodes) > 0) {
                json_array_foreach(source_nodes, i, id) {
                        if (!json_is_string(id))
                                return node_run_fail_config(run, "source_nodes[%zu] is not a node id", i);
                        if (streq(json_string_value(id), "trigger") || streq(json_string_value(id), "loop"))
                                continue;
                        output = json_object_get(run->context, json_string_value(id));
                        if (output && merge_add(mode, merged, node_output_value(output, NULL)) < 0)
                                return node_run_fail_oom(run);
                }
                return 0;
        }

        if (node_run_input_is_parent_map(run)) {
                json_object_foreach(run->input, key, output)
                        if (merge_add(mode, merged, node_output_value(output, NULL)) < 0)
                                return node_run_fail_oom(run);
                return 0;
        }

        if (run->input && !json_is_null(run->input) &&
            merge_add(mode, merged, node_output_value(run->input, NULL)) < 0)
                return node_run_fail_oom(run);
        return 0;
}

int component_merge(NodeRun *run) {
        const char *mode_name = node_run_setting_string(run, "mode", "append");
        _cleanup_json_ json_t *merged = NULL;
        MergeMode mode;
        int r;

        if (streq(mode_name, "append") || streq(mode_name, "concat"))
                mode = MERGE_APPEND;
        else if (streq(mode_name, "combine"))
                mode = MERGE_COMBINE;
        else
                return node_run_fail_config(run, "Unknown merge mode '%s' (append or combine)", mode_name);

        merged = mode == MERGE_COMBINE ? json_object() : json_array();
        if (!merged)
                return node_run_fail_oom(run);

        r = merge_sources(run, mode, merged);
        if (r < 0)
                return r;

        return node_run_output(run, "merged", TAKE_PTR(merged));
}
