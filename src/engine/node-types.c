/* The node type registry: one static table of every component type, served to the UI and
 * consulted when nodes and edges are created. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/macro.h"
#include "engine/component.h"
#include "engine/node-types.h"

static const char *const port_data_type_table[_PORT_DATA_TYPE_MAX] = {
        [PORT_STRING] = "string",
        [PORT_NUMBER] = "number",
        [PORT_BOOLEAN] = "boolean",
        [PORT_OBJECT] = "object",
        [PORT_ARRAY] = "array",
        [PORT_MESSAGE] = "message",
        [PORT_MESSAGES] = "messages",
        [PORT_IMAGE] = "image",
        [PORT_FILE] = "file",
        [PORT_ANY] = "any",
};

const char *port_data_type_to_string(PortDataType t) {
        if (t < 0 || t >= _PORT_DATA_TYPE_MAX)
                return NULL;
        return port_data_type_table[t];
}

#define PORT(n, t, d) { .name = (n), .data_type = (t), .description = (d) }
#define PORT_REQUIRED(n, t, d) { .name = (n), .data_type = (t), .description = (d), .required = true }

/* Schemas are written as bare JSON and turned into string literals by the preprocessor,
 * which keeps them readable. The argument is not macro-expanded, so "true" and "false"
 * stay JSON booleans. Pieces shared by several schemas are string literals of their own,
 * pasted in by literal concatenation. */
#define SCHEMA(...) #__VA_ARGS__

#define NO_SETTINGS SCHEMA({"type": "object", "properties": {}})

/* The operators of the rule engine shared by switch, assertion and filter. */
#define RULE_OPERATORS_TEXT SCHEMA(                                                     \
        "exists", "does_not_exist", "is_empty", "is_not_empty",                         \
        "equals", "not_equals", "contains", "not_contains",                             \
        "starts_with", "not_starts_with", "ends_with", "not_ends_with",                 \
        "matches_regex", "not_matches_regex",                                           \
        "gt", "lt", "gte", "lte",                                                       \
        "after", "before", "after_or_equal", "before_or_equal",                         \
        "is_true", "is_false",                                                          \
        "length_eq", "length_neq", "length_gt", "length_lt", "length_gte", "length_lte")

#define RULE_SCHEMA_TEXT                                                                \
        SCHEMA({"type": "object",                                                       \
                "properties": {                                                         \
                        "id": {"type": "string",                                        \
                               "description": "Rule id; a switch routes to the conditional edge whose condition_value is this id"}, \
                        "label": {"type": "string",                                     \
                                  "description": "Name shown on the canvas"},           \
                        "field": {"type": "string",                                     \
                                  "description": "Dotted path into the run state, e.g. node_outputs.cat_1.category"}, \
                        "operator": {"type": "string", "enum": [)                       \
        RULE_OPERATORS_TEXT                                                             \
        SCHEMA(], "description": "Comparison applied to the field; unary operators ignore value"}, \
                        "value": {"description": "Value compared with the field"}},     \
                "required": ["field", "operator"]})

#define RULES_PROPERTY_TEXT(description)                                                \
        SCHEMA("rules": {"type": "array", "default": [], "description": ) description   \
        SCHEMA(, "items": ) RULE_SCHEMA_TEXT SCHEMA(})

#define AGENT_COMMON_PROPERTIES_TEXT SCHEMA(                                            \
        "conversation_memory": {"type": "boolean", "default": false,                    \
                                "description": "Keep the conversation across executions of this workflow"}, \
        "context_window": {"type": "integer", "minimum": 1, "default": null,            \
                           "description": "Context window in tokens; null guesses it from the model name"}, \
        "max_iterations": {"type": "integer", "minimum": 1, "default": 25,              \
                           "description": "Most model calls in one run of the tool-calling loop"}, \
        "input_template": {"type": "string", "default": "",                             \
                           "description": "Template that replaces the conversation with one user message, e.g. {{ trigger.text }}"}, \
        "workspace_id": {"type": "integer", "default": null,                            \
                         "description": "Sandbox workspace the agent's shell and file tools run in"})

/* The registry, in palette order: triggers, AI, routing, memory, agent tools, tools, logic,
 * output, other.
 *
 * implemented is set here only for the triggers, which are entry points and never run; the
 * other types are implemented when this build has a component for them (component_find()). */
static const NodeTypeSpec node_types[] = {
        /* Triggers: entry points. The orchestrator seeds their output with the trigger
         * payload instead of running them. Their settings live in trigger_config. */
        {
                .component_type = "trigger_chat",
                .display_name = "Chat Trigger",
                .description = "Starts the workflow when a chat message arrives (chat endpoint or gateway)",
                .category = "trigger",
                .outputs = {
                        PORT("text", PORT_STRING, "Message text"),
                        PORT("files", PORT_ARRAY, "Attached files: {filename, mime_type, size_bytes, url}"),
                        PORT("payload", PORT_OBJECT, "The whole trigger payload"),
                },
                .implemented = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "trigger_telegram",
                .display_name = "Telegram Trigger",
                .description = "Starts the workflow when a Telegram message arrives through the gateway",
                .category = "trigger",
                .outputs = {
                        PORT("text", PORT_STRING, "Message text, attachments listed after it"),
                        PORT("chat_id", PORT_NUMBER, "Telegram chat id"),
                        PORT("files", PORT_ARRAY, "Attached files: {filename, mime_type, size_bytes, url}"),
                        PORT("payload", PORT_OBJECT, "The whole trigger payload"),
                },
                .implemented = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "trigger_schedule",
                .display_name = "Schedule Trigger",
                .description = "Starts the workflow on a timer",
                .category = "trigger",
                .outputs = {
                        PORT("timestamp", PORT_STRING, "When the job fired (ISO-8601)"),
                        PORT("payload", PORT_OBJECT, "The scheduled job's payload"),
                },
                .implemented = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "interval_seconds": {"type": "integer", "minimum": 1, "default": 300,
                                                     "description": "Seconds between runs"},
                                "total_repeats": {"type": "integer", "minimum": 0, "default": 0,
                                                  "description": "Number of runs before the schedule stops; 0 runs forever"},
                                "max_retries": {"type": "integer", "minimum": 0, "default": 3,
                                                "description": "Retries of a failed run before it counts as failed"},
                                "timeout_seconds": {"type": "integer", "minimum": 1, "default": 600,
                                                    "description": "Longest a run may take"},
                                "trigger_payload": {"type": "object", "default": {},
                                                    "description": "Payload handed to every run"}}}),
        },
        {
                .component_type = "trigger_manual",
                .display_name = "Manual Trigger",
                .description = "Starts the workflow by hand (Run button, execute endpoint, pipelitctl)",
                .category = "trigger",
                .outputs = {
                        PORT("payload", PORT_OBJECT, "The manual trigger payload, {text}"),
                },
                .implemented = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "trigger_workflow",
                .display_name = "Workflow Trigger",
                .description = "Starts the workflow when another workflow calls it",
                .category = "trigger",
                .outputs = {
                        PORT("text", PORT_STRING, "Text handed over by the calling workflow"),
                        PORT("payload", PORT_OBJECT, "The whole trigger payload"),
                },
                .implemented = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "trigger_error",
                .display_name = "Error Trigger",
                .description = "Starts the workflow when a workflow that names it as error handler fails",
                .category = "trigger",
                .outputs = {
                        PORT("error", PORT_OBJECT, "The failure: execution, node, message"),
                },
                .implemented = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "trigger_webhook",
                .display_name = "Webhook Trigger",
                .description = "Starts the workflow when an HTTP request arrives at its webhook path",
                .category = "trigger",
                .outputs = {
                        PORT("payload", PORT_OBJECT, "The whole request: {body, headers, query}"),
                        PORT("body", PORT_ANY, "Request body, parsed when it is JSON"),
                        PORT("headers", PORT_OBJECT, "Request headers"),
                        PORT("query", PORT_OBJECT, "Query string parameters"),
                },
                .implemented = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "path": {"type": "string",
                                         "description": "Path under the webhook endpoint that fires this trigger"},
                                "secret": {"type": "string",
                                           "description": "Shared secret the caller must present; empty accepts any caller"},
                                "response_mode": {"type": "string", "enum": ["async", "sync"], "default": "async",
                                                  "description": "async answers at once with the execution id; sync waits for the final output"},
                                "sync_timeout_seconds": {"type": "integer", "minimum": 1, "default": 30,
                                                         "description": "In sync mode, how long to wait before answering with the execution id"}}}),
        },

        /* AI */
        {
                .component_type = "ai_model",
                .display_name = "AI Model",
                .description = "The LLM (credential, model, sampling settings) an AI node uses through an 'llm' edge",
                .category = "sub_component",
                .outputs = {
                        PORT("model", PORT_OBJECT, "The configured model"),
                },
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "use_native_search": {"type": "boolean", "default": false,
                                                      "description": "Use the provider's own web search when it has one"},
                                "stream": {"type": "boolean", "default": true,
                                           "description": "Stream the answer as chat_delta events"}}}),
        },
        {
                .component_type = "agent",
                .display_name = "Agent",
                .description = "Tool-calling agent: loops between the model and its tools until it answers",
                .category = "ai",
                .inputs = {
                        PORT_REQUIRED("messages", PORT_MESSAGES, "The conversation so far"),
                },
                .outputs = {
                        PORT("messages", PORT_MESSAGES, "The conversation with the agent's messages appended"),
                        PORT("output", PORT_STRING, "The agent's final answer"),
                },
                .requires_model = true,
                .requires_tools = true,
                .requires_output_parser = true,
                .requires_skills = true,
                .executable = true,
                .config_schema =
                        SCHEMA({"type": "object", "properties": {)
                        AGENT_COMMON_PROPERTIES_TEXT
                        SCHEMA(,
                                "compacting": {"type": "string", "enum": ["summarize"], "default": null,
                                               "description": "summarize condenses older messages when the window fills up; null keeps them all"},
                                "compacting_trigger": {"type": "integer", "minimum": 1, "maximum": 100, "default": 70,
                                                       "description": "Percentage of the context window that starts compacting"},
                                "compacting_keep": {"type": "integer", "minimum": 1, "default": 20,
                                                    "description": "Most recent messages kept verbatim when compacting"},
                                "inactivity_timeout": {"type": "integer", "minimum": 1, "default": 600,
                                                       "description": "Seconds without model or tool activity before the run is stopped"},
                                "max_wall_time": {"type": "integer", "minimum": 1, "default": 7200,
                                                  "description": "Longest the agent may run, in seconds"}}}),
        },
        {
                .component_type = "deep_agent",
                .display_name = "Deep Agent",
                .description = "Agent with planning, sandboxed filesystem and shell tools, and subagents",
                .category = "ai",
                .inputs = {
                        PORT_REQUIRED("messages", PORT_MESSAGES, "The conversation so far"),
                },
                .outputs = {
                        PORT("messages", PORT_MESSAGES, "The conversation with the agent's messages appended"),
                        PORT("output", PORT_STRING, "The agent's final answer"),
                },
                .requires_model = true,
                .requires_tools = true,
                .requires_skills = true,
                .executable = true,
                .config_schema =
                        SCHEMA({"type": "object", "properties": {)
                        AGENT_COMMON_PROPERTIES_TEXT
                        SCHEMA(,
                                "enable_todos": {"type": "boolean", "default": false,
                                                 "description": "Give the agent a planning (todo list) tool"},
                                "filesystem_root_dir": {"type": "string", "default": "",
                                                        "description": "Directory inside the workspace the file tools are confined to"},
                                "subagents": {"type": "array", "default": [],
                                              "description": "Subagents the agent can delegate to",
                                              "items": {"type": "object",
                                                        "properties": {
                                                                "name": {"type": "string", "description": "Name the agent calls it by"},
                                                                "description": {"type": "string", "description": "What it is good at"},
                                                                "system_prompt": {"type": "string", "description": "Its instructions"},
                                                                "model": {"type": "string", "default": "",
                                                                          "description": "Model name; empty uses the agent's model"}},
                                                        "required": ["name", "description", "system_prompt"]}}}}),
        },
        {
                .component_type = "skill",
                .display_name = "Skill",
                .description = "SKILL.md instructions an agent reads when it needs them, attached through a 'skill' edge",
                .category = "sub_component",
                .outputs = {
                        PORT("skill_path", PORT_STRING, "Directory holding the skills"),
                },
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "skill_path": {"type": "string", "default": "",
                                               "description": "Directory of <skill>/SKILL.md folders; empty uses the default skills directory"},
                                "skill_source": {"type": "string", "enum": ["filesystem"], "default": "filesystem",
                                                 "description": "Where skills come from"}}}),
        },

        /* Routing */
        {
                .component_type = "categorizer",
                .display_name = "Categorizer",
                .description = "Asks the model which category the last message belongs to and routes on it",
                .category = "ai",
                .inputs = {
                        PORT_REQUIRED("messages", PORT_MESSAGES, "The conversation; the last message is classified"),
                },
                .outputs = {
                        PORT("category", PORT_STRING, "The chosen category name"),
                        PORT("raw", PORT_STRING, "The model's raw answer"),
                },
                .requires_model = true,
                .requires_output_parser = true,
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "categories": {"type": "array", "default": [],
                                               "description": "Categories to choose from; conditional edges route on their names, and on __other__ when the answer names none",
                                               "items": {"type": "object",
                                                         "properties": {
                                                                 "name": {"type": "string", "description": "Category name, the route value"},
                                                                 "description": {"type": "string", "description": "What belongs in it, shown to the model"}},
                                                         "required": ["name"]}},
                                "input_template": {"type": "string", "default": "",
                                                   "description": "Template of the text to classify, e.g. {{ trigger.text }}; empty reads the input's text or last message"}}}),
        },
        {
                .component_type = "extractor",
                .display_name = "Extractor",
                .description = "Asks the model to pull structured fields out of the conversation",
                .category = "ai",
                .inputs = {
                        PORT_REQUIRED("messages", PORT_MESSAGES, "The conversation to extract from"),
                },
                .outputs = {
                        PORT("extracted", PORT_OBJECT, "The extracted fields"),
                },
                .requires_model = true,
                .requires_output_parser = true,
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "extraction_schema": {"type": "object", "default": {},
                                                      "description": "JSON schema of the object to extract (type, properties, required, items, enum)"},
                                "validation_retries": {"type": "integer", "minimum": 0, "maximum": 3, "default": 1,
                                                       "description": "Times an answer that does not match the schema is sent back to the model with what is wrong"},
                                "input_template": {"type": "string", "default": "",
                                                   "description": "Template of the text to extract from, e.g. {{ trigger.text }}; empty reads the input's text or messages"}}}),
        },
        {
                .component_type = "router",
                .display_name = "Router",
                .description = "Routes on a value already in the run state, or on the route the model chooses",
                .category = "ai",
                .inputs = {
                        PORT_REQUIRED("messages", PORT_MESSAGES, "The conversation"),
                },
                .outputs = {
                        PORT("route", PORT_STRING, "The route taken"),
                        PORT("raw", PORT_STRING, "The model's raw answer, when the model chose"),
                },
                .requires_model = true,
                .requires_output_parser = true,
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "condition_field": {"type": "string", "default": "route",
                                                    "description": "State field whose value is the route (looked up in the run state, then in the input)"},
                                "condition_expression": {"type": "string", "default": "",
                                                         "description": "Dotted state path, optionally compared: state.node_outputs.x.category == 'billing' routes to true or false"},
                                "routes": {"type": "array", "default": [],
                                           "description": "Routes the model chooses from (instead of a state value); __other__ when its answer names none",
                                           "items": {"type": "object",
                                                     "properties": {
                                                             "name": {"type": "string", "description": "Route name, the condition_value of its edges"},
                                                             "description": {"type": "string", "description": "When to take it, shown to the model"}},
                                                     "required": ["name"]}},
                                "input_template": {"type": "string", "default": "",
                                                   "description": "Template of the text the model routes, e.g. {{ trigger.text }}"}}}),
        },

        /* Memory */
        {
                .component_type = "memory_read",
                .display_name = "Memory Read",
                .description = "Tool: recall facts remembered by the agents of the workflow's owner",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "What was recalled"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "memory_type": {"type": "string", "enum": ["facts", "episodes", "procedures", "all"],
                                                "default": "facts", "description": "Kind of memory searched"},
                                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10,
                                          "description": "Most results returned"},
                                "min_confidence": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                                                   "description": "Facts below this confidence are left out"}}}),
        },
        {
                .component_type = "memory_write",
                .display_name = "Memory Write",
                .description = "Tool: remember a fact for the agents of the workflow's owner",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "What was stored"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "fact_type": {"type": "string",
                                              "enum": ["user_preference", "world_knowledge", "self_knowledge", "correction", "relationship"],
                                              "default": "world_knowledge", "description": "Kind of fact stored"},
                                "overwrite": {"type": "boolean", "default": true,
                                              "description": "Replace the value of an existing key"}}}),
        },
        {
                .component_type = "identify_user",
                .display_name = "Identify User",
                .description = "Works out who is talking from the trigger payload and loads what is known about them",
                .category = "memory",
                .inputs = {
                        PORT_REQUIRED("trigger_input", PORT_OBJECT, "The trigger payload"),
                        PORT_REQUIRED("channel", PORT_STRING, "Channel: telegram, webhook, manual or chat"),
                },
                .outputs = {
                        PORT("user_id", PORT_STRING, "Canonical user id, <channel>:<id>"),
                        PORT("user_context", PORT_OBJECT, "Display name, preferences, recent facts and episodes"),
                        PORT("is_new_user", PORT_BOOLEAN, "Whether this user was seen for the first time"),
                },
                .executable = true,
                .config_schema = NO_SETTINGS,
        },

        /* Agent tools: let an agent look at and act on the platform itself. */
        {
                .component_type = "whoami",
                .display_name = "Who Am I",
                .description = "Tool: tells the agent its workflow, node and configuration, and how to change them",
                .category = "agent",
                .outputs = {
                        PORT("identity", PORT_STRING, "JSON: identity, configuration, self-modification recipe"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "get_totp_code",
                .display_name = "Get TOTP Code",
                .description = "Tool: current TOTP code of the agent's user, for identity checks",
                .category = "agent",
                .outputs = {
                        PORT("totp_code", PORT_STRING, "JSON: {success, username, totp_code}"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "platform_api",
                .display_name = "Platform API",
                .description = "Tool: authenticated requests to this platform's REST API",
                .category = "agent",
                .outputs = {
                        PORT("response", PORT_STRING, "JSON: {status_code, success, data, error}"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "allow_write": {"type": "boolean", "default": false,
                                                "description": "Also POST, PATCH, PUT and DELETE (else GET only)"}}}),
        },
        {
                .component_type = "scheduler_tools",
                .display_name = "Scheduler Tools",
                .description = "Tools: create, pause, resume, stop and list scheduled jobs",
                .category = "agent",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON result of the schedule operation"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "system_health",
                .display_name = "System Health",
                .description = "Tool: health of workers, queues, executions and schedules",
                .category = "agent",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON health report: summary, checks, issues"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "spawn_and_await",
                .display_name = "Spawn & Await",
                .description = "Tool: runs child workflows in parallel and resumes the agent with their results",
                .category = "agent",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON: the child results, in task order"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "max_tasks": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10,
                                              "description": "Most child executions one call may start"}}}),
        },
        {
                .component_type = "workflow_create",
                .display_name = "Workflow Create",
                .description = "Tool: creates a workflow from a JSON definition (the import document)",
                .category = "agent",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON: {success, workflow_id, slug, node_count, edge_count}"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },

        /* Tools */
        {
                .component_type = "run_command",
                .display_name = "Run Command",
                .description = "Tool: runs a shell command in the agent's sandboxed workspace",
                .category = "sub_component",
                .inputs = {
                        PORT("command", PORT_STRING, "Shell command"),
                },
                .outputs = {
                        PORT("result", PORT_STRING, "Standard output, then standard error and the exit code"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "timeout": {"type": "integer", "minimum": 1, "default": 300,
                                            "description": "Seconds before the command is killed"}}}),
        },
        {
                .component_type = "workflow_discover",
                .display_name = "Workflow Discover",
                .description = "Tool: finds existing workflows that meet given requirements",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON: matches with scores and a reuse recommendation"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "validate_gherkin",
                .display_name = "Validate Gherkin",
                .description = "Tool: checks the syntax of a Gherkin specification and lints it",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON: {valid, parse_errors, lint_warnings, lint_errors}"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "validate_topology",
                .display_name = "Validate Topology",
                .description = "Tool: dry-runs a YAML workflow description",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "JSON: {valid, errors, warnings, node_count, edge_count}"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        /* Both a flow node and a tool: the orchestrator runs it when it sits on a flow
         * edge, and an agent calls it when it is attached through a "tool" edge. */
        {
                .component_type = "http_request",
                .display_name = "HTTP Request",
                .description = "Sends an HTTP request; also usable as an agent tool",
                .category = "logic",
                .inputs = {
                        PORT("input", PORT_ANY, "Upstream data, available to the URL, header and body templates"),
                },
                .outputs = {
                        PORT("response", PORT_OBJECT, "The response: {status, headers, body}"),
                },
                .executable = true,
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                                           "default": "GET", "description": "HTTP method"},
                                "url": {"type": "string", "description": "http:// or https:// URL; templates allowed"},
                                "headers": {"type": "object", "default": {},
                                            "description": "Request headers; values may be templates"},
                                "body": {"default": null,
                                         "description": "Request body: a string is sent as is, anything else as JSON"},
                                "timeout": {"type": "integer", "minimum": 1, "default": 30,
                                            "description": "Seconds before the request is abandoned"}},
                        "required": ["url"]}),
        },
        {
                .component_type = "calculator",
                .display_name = "Calculator",
                .description = "Tool: evaluates an arithmetic expression",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "The value of the expression"),
                },
                .is_tool = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "datetime",
                .display_name = "Date & Time",
                .description = "Tool: the current date and time",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "Current date and time, ISO-8601"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "timezone": {"type": "string", "default": "UTC",
                                             "description": "IANA time zone the answer is given in"}}}),
        },
        {
                .component_type = "web_search",
                .display_name = "Web Search",
                .description = "Tool: searches the web through a SearXNG instance",
                .category = "sub_component",
                .outputs = {
                        PORT("result", PORT_STRING, "Top results: title, snippet, URL"),
                },
                .is_tool = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "max_results": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5,
                                                "description": "Most results returned"}}}),
        },

        /* Logic */
        {
                .component_type = "switch",
                .display_name = "Switch",
                .description = "Routes to the conditional edge of the first rule that matches",
                .category = "logic",
                .inputs = {
                        PORT_REQUIRED("input", PORT_ANY, "Upstream data; rules read the run state"),
                },
                .outputs = {
                        PORT("route", PORT_STRING, "Id of the matching rule, or __other__"),
                },
                .executable = true,
                .config_schema =
                        SCHEMA({"type": "object", "properties": {)
                        RULES_PROPERTY_TEXT("\"Rules tried in order; the first match routes\"")
                        SCHEMA(,
                                "enable_fallback": {"type": "boolean", "default": false,
                                                    "description": "Route to __other__ when no rule matches instead of stopping the branch"}}}),
        },
        {
                .component_type = "loop",
                .display_name = "Loop",
                .description = "Runs the loop body once for each item of an array",
                .category = "logic",
                .inputs = {
                        PORT_REQUIRED("items", PORT_ARRAY, "The items to iterate over"),
                },
                .outputs = {
                        PORT("results", PORT_ARRAY, "One result per item"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "source_node": {"type": "string", "default": "",
                                                "description": "Node whose output holds the items"},
                                "field": {"type": "string", "default": "",
                                          "description": "Field of that output holding the items"},
                                "on_error": {"type": "string", "enum": ["stop", "continue"], "default": "stop",
                                             "description": "stop ends the loop at the first failed item; continue records the error and goes on"},
                                "max_iterations": {"type": "integer", "minimum": 1, "default": 1000,
                                                   "description": "Most items processed; the loop fails beyond it"}}}),
        },
        {
                .component_type = "filter",
                .display_name = "Filter",
                .description = "Keeps the array items that match every rule",
                .category = "logic",
                .inputs = {
                        PORT_REQUIRED("input", PORT_ARRAY, "The items to filter"),
                },
                .outputs = {
                        PORT("filtered", PORT_ARRAY, "The matching items"),
                },
                .executable = true,
                .config_schema =
                        SCHEMA({"type": "object", "properties": {)
                        RULES_PROPERTY_TEXT("\"Rules every kept item must pass; field is read from each item\"")
                        SCHEMA(,
                                "source_node": {"type": "string", "default": "",
                                                "description": "Node whose output holds the items; empty uses the run output"},
                                "field": {"type": "string", "default": "",
                                          "description": "Field of that output holding the items"}}}),
        },
        {
                .component_type = "merge",
                .display_name = "Merge",
                .description = "Waits for its branches and merges their outputs",
                .category = "logic",
                .inputs = {
                        PORT_REQUIRED("branches", PORT_ANY, "Outputs of the incoming branches"),
                },
                .outputs = {
                        PORT("merged", PORT_ANY, "The merged value"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "mode": {"type": "string", "enum": ["append", "combine"], "default": "append",
                                         "description": "append flattens the outputs into one array; combine merges objects key by key"},
                                "source_nodes": {"type": "array", "items": {"type": "string"}, "default": [],
                                                 "description": "Nodes whose outputs are merged; empty merges every output so far"}}}),
        },
        {
                .component_type = "wait",
                .display_name = "Wait",
                .description = "Delays the nodes after it without holding a worker",
                .category = "logic",
                .inputs = {
                        PORT("input", PORT_ANY, "Upstream data"),
                },
                .outputs = {
                        PORT("output", PORT_STRING, "What was waited, e.g. \"Waited 5 seconds\""),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "duration": {"type": "number", "minimum": 0, "default": 0,
                                             "description": "How long to wait"},
                                "unit": {"type": "string", "enum": ["seconds", "minutes", "hours"], "default": "seconds",
                                         "description": "Unit of duration"}}}),
        },
        {
                .component_type = "assertion",
                .display_name = "Assertion",
                .description = "Checks every rule and routes to pass or fail",
                .category = "logic",
                .inputs = {
                        PORT("input", PORT_ANY, "Upstream data; rules read the run state"),
                },
                .outputs = {
                        PORT("output", PORT_OBJECT, "{passed, results: [{check, passed, actual, expected}]}"),
                        PORT("route", PORT_STRING, "pass or fail"),
                },
                .executable = true,
                .config_schema =
                        SCHEMA({"type": "object", "properties": {)
                        RULES_PROPERTY_TEXT("\"Checks that must all pass; no rules passes\"")
                        SCHEMA(}}),
        },
        {
                .component_type = "transform",
                .display_name = "Transform",
                .description = "Reshapes data with a jq program",
                .category = "logic",
                .inputs = {
                        PORT("input", PORT_ANY, "The value the program reads as ."),
                },
                .outputs = {
                        PORT("output", PORT_ANY, "What the program produced"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "program": {"type": "string", "default": ".",
                                            "description": "jq program applied to the input"}},
                        "required": ["program"]}),
        },

        /* Output */
        {
                .component_type = "reply_chat",
                .display_name = "Reply",
                .description = "Sets the execution's final output, sent back to the chat that started it",
                .category = "output",
                .inputs = {
                        PORT("input", PORT_ANY, "Upstream data, available to the message template"),
                },
                .outputs = {
                        PORT("output", PORT_STRING, "The message sent"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "message": {"type": "string", "default": "",
                                            "description": "Reply text; a template, e.g. {{ agent_1.output }}"}}}),
        },

        /* Other */
        {
                .component_type = "workflow",
                .display_name = "Subworkflow",
                .description = "Runs another workflow as a child and returns its output",
                .category = "logic",
                .inputs = {
                        PORT("payload", PORT_ANY, "Data passed to the child workflow"),
                },
                .outputs = {
                        PORT("output", PORT_ANY, "The child's final output"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "target_workflow": {"type": "string",
                                                    "description": "Slug of the workflow to run"},
                                "trigger_mode": {"type": "string", "enum": ["implicit", "explicit"], "default": "implicit",
                                                 "description": "implicit runs the workflow directly; explicit goes through its workflow triggers"},
                                "input_mapping": {"type": "object", "default": {},
                                                  "description": "Child payload keys mapped to templates or dotted paths of this run's state"}},
                        "required": ["target_workflow"]}),
        },
        {
                .component_type = "code",
                .display_name = "Code",
                .description = "Runs a snippet in the sandbox with the run state as input",
                .category = "logic",
                .inputs = {
                        PORT("input", PORT_ANY, "Upstream data"),
                },
                .outputs = {
                        PORT("output", PORT_ANY, "The snippet's return value, result variable or standard output"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "code": {"type": "string", "default": "",
                                         "description": "The snippet; state and node_outputs are available to it"},
                                "language": {"type": "string", "enum": ["python", "sh"], "default": "python",
                                             "description": "Language of the snippet"},
                                "timeout": {"type": "integer", "minimum": 1, "default": 60,
                                            "description": "Seconds before the snippet is killed"},
                                "workspace_id": {"type": "integer", "default": null,
                                                 "description": "Sandbox workspace to run in; null uses the default workspace"}}}),
        },
        {
                .component_type = "human_confirmation",
                .display_name = "Human Confirmation",
                .description = "Pauses the run until a person confirms or cancels",
                .category = "flow",
                .inputs = {
                        PORT("prompt", PORT_STRING, "Question put to the person"),
                },
                .outputs = {
                        PORT("confirmed", PORT_BOOLEAN, "Whether the person confirmed"),
                        PORT("user_response", PORT_STRING, "What the person answered"),
                },
                .executable = true,
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "prompt": {"type": "string", "default": "",
                                           "description": "Question shown to the person; a template"},
                                "timeout_seconds": {"type": "integer", "minimum": 0, "default": 0,
                                                    "description": "Seconds to wait for an answer before the node fails as expired; 0 uses the system's confirmation timeout (300 by default)"}}}),
        },
        {
                .component_type = "error_handler",
                .display_name = "Error Handler",
                .description = "Handles the failure of an earlier node",
                .category = "logic",
                .inputs = {
                        PORT("input", PORT_ANY, "The failure"),
                },
                .outputs = {
                        PORT("output", PORT_ANY, "The handler's result"),
                },
                .executable = true,
                .config_schema = NO_SETTINGS,
        },
        {
                .component_type = "output_parser",
                .display_name = "Output Parser",
                .description = "Parses model text into structured data, attached through an 'output_parser' edge",
                .category = "sub_component",
                .inputs = {
                        PORT("text", PORT_STRING, "Text to parse"),
                },
                .outputs = {
                        PORT("parsed", PORT_OBJECT, "The parsed data"),
                },
                .config_schema = SCHEMA({
                        "type": "object",
                        "properties": {
                                "parser_type": {"type": "string", "enum": ["json", "regex", "list"], "default": "json",
                                                "description": "json (the first object or array, fenced blocks too), regex ({match, groups, named, matches} of pattern) or list (one item per line, or comma separated)"},
                                "pattern": {"type": "string", "default": "",
                                            "description": "Regular expression for the regex parser; (?P<name>...) names a group"},
                                "source_node": {"type": "string", "default": "",
                                                "description": "Node whose output is parsed; empty parses the model's answer of the node it is attached to"}}}),
        },
};

const NodeTypeSpec *node_types_all(size_t *ret_n) {
        if (ret_n)
                *ret_n = ELEMENTSOF(node_types);
        return node_types;
}

const NodeTypeSpec *node_type_find(const char *component_type) {
        if (!component_type)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(node_types); i++)
                if (streq(node_types[i].component_type, component_type))
                        return &node_types[i];

        return NULL;
}

bool node_type_is_trigger(const NodeTypeSpec *t) {
        return t && streq(t->category, "trigger");
}

static size_t ports_count(const PortSpec *ports) {
        size_t n = 0;

        while (n < NODE_TYPE_MAX_PORTS && ports[n].name)
                n++;
        return n;
}

static json_t *ports_to_json(const PortSpec *ports) {
        json_t *array = json_array();
        if (!array)
                return NULL;

        for (size_t i = 0; i < ports_count(ports); i++) {
                const PortSpec *p = &ports[i];
                json_t *port = json_pack("{s:s, s:s, s:s, s:b}",
                                         "name", p->name,
                                         "data_type", port_data_type_to_string(p->data_type),
                                         "description", p->description ?: "",
                                         "required", p->required);
                if (json_array_append_new(array, port) < 0) {
                        json_decref(array);
                        return NULL;
                }
        }

        return array;
}

static json_t *node_type_to_json(const NodeTypeSpec *t) {
        json_t *schema = json_loads(t->config_schema, 0, NULL);
        if (!schema)
                return NULL;

        /* "o" steals the references, on failure too. */
        return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:o}",
                         "component_type", t->component_type,
                         "display_name", t->display_name,
                         "description", t->description,
                         "category", t->category,
                         "inputs", ports_to_json(t->inputs),
                         "outputs", ports_to_json(t->outputs),
                         "requires_model", t->requires_model,
                         "requires_tools", t->requires_tools,
                         "requires_memory", t->requires_memory,
                         "requires_output_parser", t->requires_output_parser,
                         "requires_skills", t->requires_skills,
                         "executable", t->executable,
                         "is_tool", t->is_tool,
                         "implemented", t->implemented || component_find(t->component_type),
                         "config_schema", schema);
}

json_t *node_types_to_json(void) {
        json_t *all = json_object();
        if (!all)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(node_types); i++)
                if (json_object_set_new(all, node_types[i].component_type,
                                        node_type_to_json(&node_types[i])) < 0) {
                        json_decref(all);
                        return NULL;
                }

        return all;
}

bool port_types_compatible(PortDataType source, PortDataType target) {
        if (source == target || source == PORT_ANY || target == PORT_ANY)
                return true;

        /* A single message or plain text can start or extend a conversation; the reverse
         * loses messages, so it is refused. */
        return (source == PORT_MESSAGE && target == PORT_MESSAGES) ||
               (source == PORT_STRING && target == PORT_MESSAGE) ||
               (source == PORT_STRING && target == PORT_MESSAGES);
}

static bool type_is(const NodeTypeSpec *t, const char *component_type) {
        return streq(t->component_type, component_type);
}

/* Stores the formatted reason when the caller wants it; always returns false so that
 * rejections read 'return reject(...)'. */
_printf_(2, 3)
static bool reject(char **ret_reason, const char *format, ...) {
        va_list ap;

        if (!ret_reason)
                return false;

        va_start(ap, format);
        if (vasprintf(ret_reason, format, ap) < 0)
                *ret_reason = NULL;
        va_end(ap);
        return false;
}

/* The label that attaches a non-flow type to its consumer. */
static const char *attach_label(const NodeTypeSpec *t) {
        if (type_is(t, "ai_model"))
                return "llm";
        if (type_is(t, "output_parser"))
                return "output_parser";
        if (type_is(t, "skill"))
                return "skill";
        return "tool";
}

/* Only what the orchestrator runs takes part in the flow; triggers also start it. */
static bool check_flow_target(const NodeTypeSpec *target, char **ret_reason) {
        if (node_type_is_trigger(target))
                return reject(ret_reason, "%s cannot receive a flow edge: triggers start a workflow",
                              target->component_type);
        if (!target->executable)
                return reject(ret_reason, "%s cannot receive a flow edge: attach it with a '%s' edge instead",
                              target->component_type, attach_label(target));
        return true;
}

static bool check_flow_source(const NodeTypeSpec *source, char **ret_reason) {
        if (!node_type_is_trigger(source) && !source->executable)
                return reject(ret_reason, "%s cannot send a flow edge: attach it with a '%s' edge instead",
                              source->component_type, attach_label(source));
        return true;
}

static bool node_type_routes(const NodeTypeSpec *t) {
        static const char *const routing_types[] = {
                "switch", "assertion", "categorizer", "router", "human_confirmation",
        };

        for (size_t i = 0; i < ELEMENTSOF(routing_types); i++)
                if (type_is(t, routing_types[i]))
                        return true;
        return false;
}

/* A direct flow edge carries data: some output of the source must fit the target's first
 * input. The reference compared only the first output, which refused an agent's text
 * answer (its second output) to a human confirmation prompt. */
static bool check_flow_ports(const NodeTypeSpec *source, const NodeTypeSpec *target,
                             char **ret_reason) {
        size_t n_outputs = ports_count(source->outputs);
        const PortSpec *in, *out;

        if (n_outputs == 0)
                return reject(ret_reason, "%s has no output to feed %s",
                              source->component_type, target->component_type);
        if (ports_count(target->inputs) == 0)
                return reject(ret_reason, "%s has no input to receive %s",
                              target->component_type, source->component_type);

        /* Triggers hand their payload to the run state, which every node reads (an
         * agent's conversation starts from the trigger text), rather than through a
         * port, so any flow node may follow one. */
        if (node_type_is_trigger(source))
                return true;

        in = &target->inputs[0];
        for (size_t i = 0; i < n_outputs; i++)
                if (port_types_compatible(source->outputs[i].data_type, in->data_type))
                        return true;

        out = &source->outputs[0];
        return reject(ret_reason, "%s output '%s' (%s) cannot feed %s input '%s' (%s)",
                      source->component_type, out->name, port_data_type_to_string(out->data_type),
                      target->component_type, in->name, port_data_type_to_string(in->data_type));
}

static bool check_flow_edge(const NodeTypeSpec *source, const NodeTypeSpec *target,
                            bool conditional, char **ret_reason) {
        if (conditional && !node_type_routes(source))
                return reject(ret_reason,
                              "conditional edges must start at a routing node (switch, assertion, "
                              "categorizer, router, human_confirmation); '%s' does not route",
                              source->component_type);
        if (!check_flow_source(source, ret_reason))
                return false;

        /* A conditional edge may end the branch ("__end__"), which is no node. */
        if (!target)
                return conditional ? true : reject(ret_reason, "unknown target node type");

        if (!check_flow_target(target, ret_reason))
                return false;

        /* The route output of a routing node picks the edge rather than travelling along
         * it; the target reads the run state as after any other node. */
        if (conditional)
                return true;

        return check_flow_ports(source, target, ret_reason);
}

static bool check_loop_edge(const NodeTypeSpec *source, const NodeTypeSpec *target,
                            const char *edge_label, char **ret_reason) {
        if (streq(edge_label, "loop_body")) {
                if (!type_is(source, "loop"))
                        return reject(ret_reason, "'loop_body' edges must start at a loop node; '%s' is not one",
                                      source->component_type);
                return check_flow_target(target, ret_reason);
        }

        if (!type_is(target, "loop"))
                return reject(ret_reason, "'loop_return' edges must end at a loop node; '%s' is not one",
                              target->component_type);
        return check_flow_source(source, ret_reason);
}

typedef struct AttachRule {
        const char *edge_label;
        const char *source_type;        /* NULL: any tool type */
        size_t target_flag;             /* offset of the bool the target must have set */
        const char *what;               /* what the target takes, for the reason */
} AttachRule;

static const AttachRule attach_rules[] = {
        { "llm", "ai_model", offsetof(NodeTypeSpec, requires_model), "a model" },
        { "tool", NULL, offsetof(NodeTypeSpec, requires_tools), "tools" },
        { "skill", "skill", offsetof(NodeTypeSpec, requires_skills), "skills" },
        { "output_parser", "output_parser", offsetof(NodeTypeSpec, requires_output_parser), "an output parser" },
};

static bool check_attach_edge(const NodeTypeSpec *source, const NodeTypeSpec *target,
                              const AttachRule *rule, char **ret_reason) {
        if (rule->source_type && !type_is(source, rule->source_type))
                return reject(ret_reason, "'%s' edges must start at a %s node; '%s' is not one",
                              rule->edge_label, rule->source_type, source->component_type);
        if (!rule->source_type && !source->is_tool)
                return reject(ret_reason, "'%s' edges must start at a tool node; '%s' is not a tool",
                              rule->edge_label, source->component_type);

        if (!*(const bool *) ((const char *) target + rule->target_flag))
                return reject(ret_reason, "%s does not take %s ('%s' edge from %s)",
                              target->component_type, rule->what, rule->edge_label,
                              source->component_type);
        return true;
}

bool node_types_check_edge(const NodeTypeSpec *source, const NodeTypeSpec *target,
                           const char *edge_label, const char *edge_type, char **ret_reason) {
        const AttachRule *attach = NULL;
        bool conditional, is_loop;

        edge_label = edge_label ?: "";
        edge_type = edge_type ?: "direct";

        if (streq(edge_type, "conditional"))
                conditional = true;
        else if (streq(edge_type, "direct"))
                conditional = false;
        else
                return reject(ret_reason, "unknown edge type '%s'", edge_type);

        is_loop = streq(edge_label, "loop_body") || streq(edge_label, "loop_return");
        for (size_t i = 0; i < ELEMENTSOF(attach_rules); i++)
                if (streq(edge_label, attach_rules[i].edge_label))
                        attach = &attach_rules[i];
        if (!isempty(edge_label) && !is_loop && !attach)
                return reject(ret_reason, "unknown edge label '%s'", edge_label);

        if (!source)
                return reject(ret_reason, "unknown source node type");

        if (isempty(edge_label))
                return check_flow_edge(source, target, conditional, ret_reason);

        if (conditional)
                return reject(ret_reason, "conditional edges carry no label; '%s' edges are always direct",
                              edge_label);
        if (!target)
                return reject(ret_reason, "unknown target node type");

        if (is_loop)
                return check_loop_edge(source, target, edge_label, ret_reason);
        return check_attach_edge(source, target, attach, ret_reason);
}
