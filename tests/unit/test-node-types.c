/* The node type registry: every type listed once with parseable settings schemas, and the
 * edge rules that decide what may be connected to what. */

#include <check.h>
#include <jansson.h>
#include <stdlib.h>

#include "common/macro.h"
#include "engine/node-types.h"

static const char *const triggers[] = {
        "trigger_chat", "trigger_telegram", "trigger_manual", "trigger_schedule",
        "trigger_workflow", "trigger_error", "trigger_webhook",
};

static const char *const tools[] = {
        "run_command", "platform_api", "whoami", "get_totp_code", "spawn_and_await",
        "workflow_create", "workflow_discover", "scheduler_tools", "system_health",
        "validate_gherkin", "validate_topology", "memory_read", "memory_write",
        "http_request", "calculator", "datetime", "web_search",
};

static const char *const others[] = {
        "reply_chat",
        "agent", "deep_agent", "categorizer", "router", "extractor",
        "ai_model", "output_parser", "skill",
        "identify_user",
        "switch", "assertion", "code", "merge", "filter", "loop", "wait",
        "human_confirmation", "workflow", "transform", "error_handler",
};

static const char *const operators[] = {
        "exists", "does_not_exist", "is_empty", "is_not_empty",
        "equals", "not_equals", "contains", "not_contains", "starts_with", "not_starts_with",
        "ends_with", "not_ends_with", "matches_regex", "not_matches_regex",
        "gt", "lt", "gte", "lte",
        "after", "before", "after_or_equal", "before_or_equal",
        "is_true", "is_false",
        "length_eq", "length_neq", "length_gt", "length_lt", "length_gte", "length_lte",
};

static bool in_list(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(s, list[i]))
                        return true;
        return false;
}

static const NodeTypeSpec *find(const char *type) {
        const NodeTypeSpec *t = node_type_find(type);

        ck_assert_msg(t, "%s is not registered", type);
        return t;
}

static json_t *load_schema(const NodeTypeSpec *t) {
        json_error_t error;
        json_t *schema = json_loads(t->config_schema, 0, &error);

        ck_assert_msg(schema, "%s: config_schema is not JSON: %s (column %d)",
                      t->component_type, error.text, error.column);
        return schema;
}

static size_t count_occurrences(const char *type) {
        size_t n, count = 0;
        const NodeTypeSpec *all = node_types_all(&n);

        for (size_t i = 0; i < n; i++)
                if (streq(all[i].component_type, type))
                        count++;
        return count;
}

START_TEST(test_every_type_listed_once) {
        size_t n;

        node_types_all(&n);
        for (size_t i = 0; i < ELEMENTSOF(triggers); i++)
                ck_assert_msg(count_occurrences(triggers[i]) == 1, "%s", triggers[i]);
        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                ck_assert_msg(count_occurrences(tools[i]) == 1, "%s", tools[i]);
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                ck_assert_msg(count_occurrences(others[i]) == 1, "%s", others[i]);
        ck_assert_uint_eq(n, ELEMENTSOF(triggers) + ELEMENTSOF(tools) + ELEMENTSOF(others));
}
END_TEST

START_TEST(test_find) {
        const NodeTypeSpec *t = node_type_find("switch");

        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->component_type, "switch");
        ck_assert_str_eq(node_type_find("trigger_webhook")->category, "trigger");
        ck_assert_ptr_null(node_type_find("chat_model"));
        ck_assert_ptr_null(node_type_find("create_agent_user"));
        ck_assert_ptr_null(node_type_find(""));
        ck_assert_ptr_null(node_type_find(NULL));
}
END_TEST

START_TEST(test_schemas_parse) {
        size_t n;
        const NodeTypeSpec *all = node_types_all(&n);

        for (size_t i = 0; i < n; i++) {
                json_t *schema = load_schema(&all[i]), *properties, *property;
                const char *name;

                ck_assert_str_eq(json_string_value(json_object_get(schema, "type")), "object");
                properties = json_object_get(schema, "properties");
                ck_assert_msg(json_is_object(properties), "%s: no properties", all[i].component_type);
                json_object_foreach(properties, name, property) {
                        const char *description = json_string_value(json_object_get(property, "description"));
                        ck_assert_msg(!isempty(description), "%s.%s: no description",
                                      all[i].component_type, name);
                }
                json_decref(schema);
        }
}
END_TEST

static json_t *schema_property(json_t *schema, const char *name) {
        json_t *p = json_object_get(json_object_get(schema, "properties"), name);

        ck_assert_msg(p, "no property %s", name);
        return p;
}

START_TEST(test_rule_operators) {
        static const char *const rule_types[] = { "switch", "assertion", "filter" };

        for (size_t i = 0; i < ELEMENTSOF(rule_types); i++) {
                json_t *schema = load_schema(find(rule_types[i]));
                json_t *rule = json_object_get(schema_property(schema, "rules"), "items");
                json_t *operator_enum = json_object_get(schema_property(rule, "operator"), "enum");

                ck_assert_uint_eq(json_array_size(operator_enum), ELEMENTSOF(operators));
                for (size_t j = 0; j < ELEMENTSOF(operators); j++) {
                        bool found = false;
                        json_t *v;
                        size_t k;

                        json_array_foreach(operator_enum, k, v)
                                found = found || streq(json_string_value(v), operators[j]);
                        ck_assert_msg(found, "%s lacks operator %s", rule_types[i], operators[j]);
                }
                schema_property(rule, "id");
                schema_property(rule, "label");
                schema_property(rule, "field");
                schema_property(rule, "value");
                json_decref(schema);
        }
}
END_TEST

static void assert_default_integer(const char *type, const char *property, json_int_t expected) {
        json_t *schema = load_schema(find(type));
        json_t *def = json_object_get(schema_property(schema, property), "default");

        ck_assert_msg(json_is_integer(def) && json_integer_value(def) == expected,
                      "%s.%s default is not %lld", type, property, (long long) expected);
        json_decref(schema);
}

static void assert_enum_default(const char *type, const char *property, const char *expected) {
        json_t *schema = load_schema(find(type));
        json_t *p = schema_property(schema, property);

        ck_assert_str_eq(json_string_value(json_object_get(p, "default")), expected);
        ck_assert(json_is_array(json_object_get(p, "enum")));
        json_decref(schema);
}

START_TEST(test_schema_defaults) {
        assert_default_integer("trigger_schedule", "interval_seconds", 300);
        assert_default_integer("trigger_schedule", "total_repeats", 0);
        assert_default_integer("trigger_schedule", "max_retries", 3);
        assert_default_integer("trigger_schedule", "timeout_seconds", 600);
        assert_default_integer("trigger_webhook", "sync_timeout_seconds", 30);
        assert_default_integer("code", "timeout", 60);
        assert_default_integer("run_command", "timeout", 300);
        assert_default_integer("memory_read", "limit", 10);
        assert_enum_default("trigger_webhook", "response_mode", "async");
        assert_enum_default("loop", "on_error", "stop");
        assert_enum_default("wait", "unit", "seconds");
        assert_enum_default("code", "language", "python");
        assert_enum_default("output_parser", "parser_type", "json");
        assert_enum_default("workflow", "trigger_mode", "implicit");
        assert_enum_default("memory_write", "fact_type", "world_knowledge");
        assert_enum_default("memory_read", "memory_type", "facts");
        assert_enum_default("http_request", "method", "GET");
}
END_TEST

START_TEST(test_ports_well_formed) {
        size_t n;
        const NodeTypeSpec *all = node_types_all(&n);

        for (size_t i = 0; i < n; i++) {
                const NodeTypeSpec *t = &all[i];

                ck_assert_msg(t->outputs[0].name, "%s has no output", t->component_type);
                for (size_t j = 0; j < NODE_TYPE_MAX_PORTS; j++) {
                        const PortSpec *ports[] = { &t->inputs[j], &t->outputs[j] };

                        for (size_t k = 0; k < ELEMENTSOF(ports); k++) {
                                if (!ports[k]->name)
                                        continue;
                                ck_assert_msg(port_data_type_to_string(ports[k]->data_type),
                                              "%s.%s", t->component_type, ports[k]->name);
                                ck_assert_msg(!isempty(ports[k]->description),
                                              "%s.%s", t->component_type, ports[k]->name);
                        }
                }
                /* Everything the orchestrator runs takes a flow input. */
                if (t->executable)
                        ck_assert_msg(t->inputs[0].name, "%s has no input", t->component_type);
        }

        ck_assert_int_eq(find("switch")->inputs[0].data_type, PORT_ANY);
        ck_assert(find("switch")->inputs[0].required);
        ck_assert_int_eq(find("loop")->inputs[0].data_type, PORT_ARRAY);
        ck_assert_int_eq(find("agent")->inputs[0].data_type, PORT_MESSAGES);
        ck_assert_str_eq(find("agent")->outputs[1].name, "output");
        ck_assert_int_eq(find("http_request")->outputs[0].data_type, PORT_OBJECT);
        ck_assert_int_eq(find("trigger_telegram")->outputs[1].data_type, PORT_NUMBER);
        ck_assert_str_eq(find("trigger_webhook")->outputs[3].name, "query");
        ck_assert_int_eq(find("identify_user")->outputs[2].data_type, PORT_BOOLEAN);
        ck_assert_int_eq(find("transform")->outputs[0].data_type, PORT_ANY);
}
END_TEST

START_TEST(test_flags) {
        static const char *const not_executable[] = { "ai_model", "output_parser", "skill" };
        size_t n;
        const NodeTypeSpec *all = node_types_all(&n);

        for (size_t i = 0; i < n; i++) {
                const NodeTypeSpec *t = &all[i];
                bool trigger = in_list(t->component_type, triggers, ELEMENTSOF(triggers));
                bool tool = in_list(t->component_type, tools, ELEMENTSOF(tools));
                bool runs = !trigger &&
                        !in_list(t->component_type, not_executable, ELEMENTSOF(not_executable)) &&
                        (!tool || streq(t->component_type, "http_request"));

                ck_assert_msg(node_type_is_trigger(t) == trigger, "%s", t->component_type);
                ck_assert_msg(t->is_tool == tool, "%s", t->component_type);
                ck_assert_msg(t->executable == runs, "%s", t->component_type);
                ck_assert_msg(t->implemented == trigger, "%s", t->component_type);
                ck_assert_msg(!t->requires_memory, "%s", t->component_type);
        }

        ck_assert(find("agent")->requires_model && find("agent")->requires_tools &&
                  find("agent")->requires_skills && find("agent")->requires_output_parser);
        ck_assert(find("deep_agent")->requires_model && find("deep_agent")->requires_tools &&
                  find("deep_agent")->requires_skills);
        ck_assert(find("categorizer")->requires_model && find("categorizer")->requires_output_parser &&
                  !find("categorizer")->requires_tools);
        ck_assert(find("router")->requires_model && find("router")->requires_output_parser);
        ck_assert(find("extractor")->requires_model && find("extractor")->requires_output_parser);
        ck_assert(!find("code")->requires_model);
        ck_assert(!node_type_is_trigger(NULL));
}
END_TEST

START_TEST(test_port_types_compatible) {
        for (PortDataType t = 0; t < _PORT_DATA_TYPE_MAX; t++) {
                ck_assert(port_types_compatible(t, t));
                ck_assert(port_types_compatible(t, PORT_ANY));
                ck_assert(port_types_compatible(PORT_ANY, t));
        }

        ck_assert(port_types_compatible(PORT_MESSAGE, PORT_MESSAGES));
        ck_assert(!port_types_compatible(PORT_MESSAGES, PORT_MESSAGE));
        ck_assert(port_types_compatible(PORT_STRING, PORT_MESSAGE));
        ck_assert(port_types_compatible(PORT_STRING, PORT_MESSAGES));
        ck_assert(!port_types_compatible(PORT_MESSAGE, PORT_STRING));
        ck_assert(!port_types_compatible(PORT_MESSAGES, PORT_STRING));
        ck_assert(!port_types_compatible(PORT_NUMBER, PORT_STRING));
        ck_assert(!port_types_compatible(PORT_STRING, PORT_NUMBER));
        ck_assert(!port_types_compatible(PORT_OBJECT, PORT_ARRAY));
        ck_assert(!port_types_compatible(PORT_ARRAY, PORT_OBJECT));
        ck_assert(!port_types_compatible(PORT_BOOLEAN, PORT_STRING));
        ck_assert(!port_types_compatible(PORT_IMAGE, PORT_FILE));
        ck_assert(!port_types_compatible(PORT_OBJECT, PORT_MESSAGES));
}
END_TEST

START_TEST(test_port_data_type_names) {
        static const char *const names[_PORT_DATA_TYPE_MAX] = {
                "string", "number", "boolean", "object", "array",
                "message", "messages", "image", "file", "any",
        };

        for (PortDataType t = 0; t < _PORT_DATA_TYPE_MAX; t++)
                ck_assert_str_eq(port_data_type_to_string(t), names[t]);
        ck_assert_ptr_null(port_data_type_to_string(_PORT_DATA_TYPE_MAX));
        ck_assert_ptr_null(port_data_type_to_string(_PORT_DATA_TYPE_INVALID));
}
END_TEST

static void assert_edge_ok(const char *source, const char *target, const char *label, const char *type) {
        char *reason = NULL;
        bool ok = node_types_check_edge(find(source), target ? find(target) : NULL, label, type, &reason);

        ck_assert_msg(ok, "%s -[%s/%s]-> %s refused: %s", source, label, type,
                      target ?: "__end__", reason ?: "(no reason)");
        ck_assert_ptr_null(reason);
}

/* expected is matched as a substring, so a test can pin the whole reason or the part
 * that names what is wrong. */
static void assert_edge_refused(const char *source, const char *target, const char *label,
                                const char *type, const char *expected) {
        char *reason = NULL;
        bool ok = node_types_check_edge(find(source), target ? find(target) : NULL, label, type, &reason);

        ck_assert_msg(!ok, "%s -[%s/%s]-> %s accepted", source, label, type, target ?: "__end__");
        ck_assert_ptr_nonnull(reason);
        ck_assert_msg(strstr(reason, expected), "reason \"%s\" does not contain \"%s\"", reason, expected);
        free(reason);
}

START_TEST(test_flow_edges) {
        assert_edge_ok("trigger_chat", "agent", "", "direct");
        assert_edge_ok("trigger_manual", "agent", "", "direct");
        assert_edge_ok("trigger_webhook", "identify_user", "", "direct");
        assert_edge_ok("agent", "reply_chat", "", "direct");
        assert_edge_ok("agent", "categorizer", "", "direct");
        /* The agent's text answer (its second output) fits a prompt. */
        assert_edge_ok("agent", "human_confirmation", "", "direct");
        assert_edge_ok("code", "loop", "", "direct");
        assert_edge_ok("code", "http_request", "", "direct");
        assert_edge_ok("http_request", "transform", "", "direct");
        assert_edge_ok("switch", "agent", NULL, NULL);

        assert_edge_refused("switch", "loop", "", "direct",
                            "switch output 'route' (string) cannot feed loop input 'items' (array)");
        assert_edge_refused("extractor", "filter", "", "direct",
                            "extractor output 'extracted' (object) cannot feed filter input 'input' (array)");
        assert_edge_refused("human_confirmation", "loop", "", "direct",
                            "human_confirmation output 'confirmed' (boolean) cannot feed loop input 'items' (array)");
        assert_edge_refused("agent", "filter", "", "direct", "(messages) cannot feed filter");

        assert_edge_refused("code", "trigger_manual", "", "direct",
                            "trigger_manual cannot receive a flow edge: triggers start a workflow");
        assert_edge_refused("trigger_chat", "trigger_manual", "", "direct", "triggers start a workflow");
        assert_edge_refused("code", "ai_model", "", "direct", "ai_model cannot receive a flow edge");
        assert_edge_refused("ai_model", "agent", "", "direct", "ai_model cannot send a flow edge");
        assert_edge_refused("code", "calculator", "", "direct", "'tool' edge");
        assert_edge_refused("memory_read", "code", "", "direct", "memory_read cannot send a flow edge");
        assert_edge_refused("skill", "agent", "", "direct", "'skill' edge");
        assert_edge_refused("output_parser", "reply_chat", "", "direct", "output_parser cannot send");
}
END_TEST

START_TEST(test_conditional_edges) {
        assert_edge_ok("switch", "agent", "", "conditional");
        assert_edge_ok("switch", "loop", "", "conditional");
        assert_edge_ok("switch", NULL, "", "conditional");
        assert_edge_ok("assertion", "reply_chat", "", "conditional");
        assert_edge_ok("assertion", "agent", "", "conditional");
        assert_edge_ok("categorizer", "agent", "", "conditional");
        assert_edge_ok("router", "code", "", "conditional");
        assert_edge_ok("human_confirmation", "agent", "", "conditional");

        assert_edge_refused("code", "reply_chat", "", "conditional",
                            "conditional edges must start at a routing node");
        assert_edge_refused("code", "reply_chat", "", "conditional", "'code' does not route");
        assert_edge_refused("switch", "trigger_chat", "", "conditional", "triggers start a workflow");
        assert_edge_refused("switch", "calculator", "", "conditional", "calculator cannot receive");
        assert_edge_refused("switch", "agent", "loop_body", "conditional", "conditional edges carry no label");
        assert_edge_refused("code", NULL, "", "direct", "unknown target");
}
END_TEST

START_TEST(test_attachment_edges) {
        assert_edge_ok("ai_model", "agent", "llm", "direct");
        assert_edge_ok("ai_model", "deep_agent", "llm", "direct");
        assert_edge_ok("ai_model", "categorizer", "llm", "direct");
        assert_edge_ok("ai_model", "extractor", "llm", "direct");
        assert_edge_refused("ai_model", "code", "llm", "direct", "code does not take a model");
        assert_edge_refused("code", "agent", "llm", "direct", "must start at a ai_model node; 'code'");

        assert_edge_ok("calculator", "agent", "tool", "direct");
        assert_edge_ok("memory_write", "agent", "tool", "direct");
        assert_edge_ok("http_request", "deep_agent", "tool", "direct");
        assert_edge_ok("run_command", "deep_agent", "tool", "direct");
        assert_edge_refused("code", "agent", "tool", "direct", "'code' is not a tool");
        assert_edge_refused("calculator", "categorizer", "tool", "direct", "categorizer does not take tools");

        assert_edge_ok("skill", "agent", "skill", "direct");
        assert_edge_ok("skill", "deep_agent", "skill", "direct");
        assert_edge_refused("skill", "extractor", "skill", "direct", "extractor does not take skills");
        assert_edge_refused("ai_model", "agent", "skill", "direct", "'ai_model' is not one");

        assert_edge_ok("output_parser", "categorizer", "output_parser", "direct");
        assert_edge_ok("output_parser", "router", "output_parser", "direct");
        assert_edge_ok("output_parser", "extractor", "output_parser", "direct");
        assert_edge_ok("output_parser", "agent", "output_parser", "direct");
        assert_edge_refused("output_parser", "deep_agent", "output_parser", "direct",
                            "deep_agent does not take an output parser");
        assert_edge_refused("skill", "categorizer", "output_parser", "direct", "'skill' is not one");

        assert_edge_refused("ai_model", "agent", "llm", "conditional", "conditional edges carry no label");
        assert_edge_refused("ai_model", NULL, "llm", "direct", "unknown target");
}
END_TEST

START_TEST(test_loop_edges) {
        assert_edge_ok("loop", "code", "loop_body", "direct");
        assert_edge_ok("loop", "agent", "loop_body", "direct");
        assert_edge_refused("code", "code", "loop_body", "direct", "must start at a loop node; 'code'");
        assert_edge_refused("loop", "trigger_manual", "loop_body", "direct", "triggers start a workflow");
        assert_edge_refused("loop", "calculator", "loop_body", "direct", "calculator cannot receive");

        assert_edge_ok("code", "loop", "loop_return", "direct");
        assert_edge_ok("agent", "loop", "loop_return", "direct");
        assert_edge_refused("code", "switch", "loop_return", "direct", "must end at a loop node; 'switch'");
        assert_edge_refused("calculator", "loop", "loop_return", "direct", "calculator cannot send");
}
END_TEST

START_TEST(test_unknown_labels_and_types) {
        assert_edge_refused("code", "agent", "memory", "direct", "unknown edge label 'memory'");
        assert_edge_refused("switch", "agent", "memory", "conditional", "unknown edge label 'memory'");
        assert_edge_refused("code", "reply_chat", "", "sometimes", "unknown edge type 'sometimes'");

        /* Callers that do not want the reason may pass NULL. */
        ck_assert(!node_types_check_edge(find("code"), find("trigger_chat"), "", "direct", NULL));
        ck_assert(node_types_check_edge(find("code"), find("reply_chat"), "", "direct", NULL));
        ck_assert(!node_types_check_edge(NULL, find("reply_chat"), "", "direct", NULL));
}
END_TEST

START_TEST(test_to_json) {
        static const char *const fields[] = {
                "component_type", "display_name", "description", "category", "inputs", "outputs",
                "requires_model", "requires_tools", "requires_memory", "requires_output_parser",
                "requires_skills", "executable", "implemented", "config_schema",
        };
        json_t *all = node_types_to_json(), *sw, *chat, *entry;
        const char *key;
        size_t n;

        ck_assert_ptr_nonnull(all);
        node_types_all(&n);
        ck_assert_uint_eq(json_object_size(all), n);

        json_object_foreach(all, key, entry) {
                ck_assert_str_eq(json_string_value(json_object_get(entry, "component_type")), key);
                for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                        ck_assert_msg(json_object_get(entry, fields[i]), "%s lacks %s", key, fields[i]);
                ck_assert(json_is_object(json_object_get(entry, "config_schema")));
        }

        sw = json_object_get(all, "switch");
        ck_assert_ptr_nonnull(sw);
        entry = json_array_get(json_object_get(sw, "inputs"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "name")), "input");
        ck_assert_str_eq(json_string_value(json_object_get(entry, "data_type")), "any");
        ck_assert(json_is_true(json_object_get(entry, "required")));
        ck_assert(json_is_true(json_object_get(sw, "executable")));
        ck_assert(json_is_true(json_object_get(sw, "implemented")));
        ck_assert_str_eq(json_string_value(json_object_get(sw, "category")), "logic");
        entry = json_object_get(json_object_get(json_object_get(sw, "config_schema"), "properties"), "rules");
        ck_assert_str_eq(json_string_value(json_object_get(entry, "type")), "array");

        chat = json_object_get(all, "trigger_chat");
        ck_assert_ptr_nonnull(chat);
        ck_assert(json_is_false(json_object_get(chat, "executable")));
        ck_assert(json_is_true(json_object_get(chat, "implemented")));
        ck_assert_uint_eq(json_array_size(json_object_get(chat, "inputs")), 0);
        ck_assert_uint_eq(json_array_size(json_object_get(chat, "outputs")), 3);
        entry = json_array_get(json_object_get(chat, "outputs"), 1);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "name")), "files");
        ck_assert_str_eq(json_string_value(json_object_get(entry, "data_type")), "array");

        json_decref(all);
}
END_TEST

static Suite *node_types_suite(void) {
        Suite *s = suite_create("node-types");
        TCase *tc;

        tc = tcase_create("registry");
        tcase_add_test(tc, test_every_type_listed_once);
        tcase_add_test(tc, test_find);
        tcase_add_test(tc, test_schemas_parse);
        tcase_add_test(tc, test_rule_operators);
        tcase_add_test(tc, test_schema_defaults);
        tcase_add_test(tc, test_ports_well_formed);
        tcase_add_test(tc, test_flags);
        tcase_add_test(tc, test_to_json);
        suite_add_tcase(s, tc);

        tc = tcase_create("ports");
        tcase_add_test(tc, test_port_types_compatible);
        tcase_add_test(tc, test_port_data_type_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("edges");
        tcase_add_test(tc, test_flow_edges);
        tcase_add_test(tc, test_conditional_edges);
        tcase_add_test(tc, test_attachment_edges);
        tcase_add_test(tc, test_loop_edges);
        tcase_add_test(tc, test_unknown_labels_and_types);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(node_types_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
