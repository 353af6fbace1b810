/* The node type registry: every component type of the reference inventory (section 1.4)
 * with its category, ports, flags and config schema, plus the edge compatibility rules
 * of inventory 1.3. Pure data and functions: no I/O. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum PortDataType {
        PORT_STRING,
        PORT_NUMBER,
        PORT_BOOLEAN,
        PORT_OBJECT,
        PORT_ARRAY,
        PORT_MESSAGE,
        PORT_MESSAGES,
        PORT_IMAGE,
        PORT_FILE,
        PORT_ANY,
        _PORT_DATA_TYPE_MAX,
        _PORT_DATA_TYPE_INVALID = -22,
} PortDataType;

const char *port_data_type_to_string(PortDataType t);

typedef struct PortSpec {
        const char *name;
        PortDataType data_type;
        const char *description;
        bool required;
} PortSpec;

#define NODE_TYPE_MAX_PORTS 4

typedef struct NodeTypeSpec {
        const char *component_type;
        const char *display_name;
        const char *description;
        const char *category;   /* trigger, ai, sub_component, agent, memory, logic, flow, output */
        PortSpec inputs[NODE_TYPE_MAX_PORTS];
        PortSpec outputs[NODE_TYPE_MAX_PORTS];
        bool requires_model, requires_tools, requires_memory, requires_output_parser,
                requires_skills;
        bool executable;        /* run by the orchestrator (false for triggers, ai_model, …) */
        bool is_tool;           /* attaches to an agent through a "tool" edge */
        bool implemented;       /* this build can run it; listed either way */
        const char *config_schema; /* JSON text: a JSON-schema-like object for extra_config */
} NodeTypeSpec;

/* Every known type, in palette order. */
const NodeTypeSpec *node_types_all(size_t *ret_n);
/* NULL when unknown. */
const NodeTypeSpec *node_type_find(const char *component_type);
bool node_type_is_trigger(const NodeTypeSpec *t);

/* The registry as served by GET /api/v1/workflows/node-types/: an object keyed by
 * component_type, each value {component_type, display_name, description, category,
 * inputs[{name, data_type, description, required}], outputs[…], requires_model, …,
 * executable, implemented, config_schema}. */
json_t *node_types_to_json(void);

/* Flow edge compatibility (inventory 1.3): equal types, either side any, message→messages,
 * string→message, string→messages. */
bool port_types_compatible(PortDataType source, PortDataType target);

/* Checks an edge about to be created between two node types. edge_label is "", "llm",
 * "tool", "skill", "output_parser", "loop_body" or "loop_return"; edge_type "direct" or
 * "conditional". Returns true when allowed; otherwise false and *ret_reason (malloc'ed)
 * says what is incompatible, e.g. "switch output 'route' (string) cannot feed loop input
 * 'items' (array)". Unknown labels are rejected too. */
bool node_types_check_edge(const NodeTypeSpec *source, const NodeTypeSpec *target,
                           const char *edge_label, const char *edge_type, char **ret_reason);
