/* The checks of edge bodies (workflow-checks.h): their fields, and whether they fit the
 * nodes they join. */

#include <errno.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/node-types.h"
#include "engine/workflow-checks.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"

#define CONDITION_VALUE_MAX 255

static const char *const edge_type_choices[] = { "direct", "conditional", NULL };
static const char *const edge_label_choices[] = {
        "", "llm", "tool", "skill", "output_parser", "loop_body", "loop_return", NULL,
};

static const JsonField edge_create_fields[] = {
        { "source_node_id", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "target_node_id", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "edge_type", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_type_choices },
        { "edge_label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_label_choices },
        { "condition_value", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = CONDITION_VALUE_MAX },
        { "priority", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, INT32_MIN, INT32_MAX },
};

static const JsonField edge_update_fields[] = {
        { "source_node_id", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "target_node_id", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "edge_type", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_type_choices },
        { "edge_label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_label_choices },
        { "condition_value", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = CONDITION_VALUE_MAX },
        { "priority", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, INT32_MIN, INT32_MAX },
};

int edge_body_check(json_t *edge, bool create, json_t *errors) {
        if (create)
                return json_check_fields(edge, edge_create_fields, ELEMENTSOF(edge_create_fields), errors);
        return json_check_fields(edge, edge_update_fields, ELEMENTSOF(edge_update_fields), errors);
}

int edge_graph_check(json_t *edge, json_t *node_types, json_t *messages) {
        const char *source = json_get_string(edge, "source_node_id", ""),
                   *target = json_get_string(edge, "target_node_id", ""),
                   *edge_type = json_get_string(edge, "edge_type", "direct"),
                   *edge_label = json_get_string(edge, "edge_label", ""),
                   *condition_value = json_get_string(edge, "condition_value", "");
        bool end = streq(target, EDGE_END_NODE), conditional = streq(edge_type, "conditional");
        const NodeTypeSpec *source_spec, *target_spec = NULL;
        size_t before = json_array_size(messages);
        const char *source_type, *target_type = NULL;
        _cleanup_free_ char *reason = NULL;

        source_type = json_string_value(json_object_get(node_types, source));
        if (!source_type)
                (void) check_message_append(messages, "Source node '%s' does not exist in this workflow",
                                            source);

        if (end) {
                if (!conditional)
                        (void) check_message_append(messages, "Target '%s' may only end a conditional edge",
                                                    EDGE_END_NODE);
        } else {
                target_type = json_string_value(json_object_get(node_types, target));
                if (!target_type)
                        (void) check_message_append(messages,
                                                    "Target node '%s' does not exist in this workflow", target);
        }

        if (conditional && isempty(condition_value))
                (void) check_message_append(messages, "Conditional edges need a condition_value");

        if (json_array_size(messages) > before)
                return (int) (json_array_size(messages) - before);

        /* Types this build does not know are kept as they are; only known ones are checked. */
        source_spec = node_type_find(source_type);
        if (!end)
                target_spec = node_type_find(target_type);
        if (!source_spec || (!end && !target_spec))
                return 0;

        if (!node_types_check_edge(source_spec, target_spec, edge_label, edge_type, &reason))
                (void) check_message_append(messages, "%s",
                                            reason ?: "these node types cannot be connected this way");

        return (int) (json_array_size(messages) - before);
}

const char *edges_model_of(json_t *edges, const char *target, int64_t except_id) {
        json_t *edge;
        size_t i;

        json_array_foreach(edges, i, edge)
                if (streq(json_get_string(edge, "edge_label", ""), "llm") &&
                    streq(json_get_string(edge, "target_node_id", ""), target) &&
                    !(except_id > 0 && json_get_integer(edge, "id", 0) == except_id))
                        return json_get_string(edge, "source_node_id", "");
        return NULL;
}

int edge_model_check(json_t *edge, json_t *edges, int64_t except_id, json_t *messages) {
        const char *target = json_get_string(edge, "target_node_id", ""), *model;

        if (!streq(json_get_string(edge, "edge_label", ""), "llm"))
                return 0;

        model = edges_model_of(edges, target, except_id);
        if (!model)
                return 0;

        (void) check_message_append(messages, "Node '%s' already has a model ('%s'): one 'llm' edge per node",
                                    target, model);
        return 1;
}
