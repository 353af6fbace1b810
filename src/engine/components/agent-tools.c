/* The agent's tools: each node attached through a 'tool' edge is one tool the model may
 * call, named after its type (or its node id when two nodes share a type). A call runs
 * here, on the agent's worker thread, and shows on the canvas through node_status events
 * of the tool node with is_tool_call. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "engine/arith.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "engine/events.h"
#include "engine/node-types.h"

int agent_tool_fail(char **ret_error, const char *message) {
        *ret_error = strdup(message);
        return *ret_error ? -EINVAL : -ENOMEM;
}

static int tool_calculator(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                           char **ret_error) {
        const char *expression = json_get_string(arguments, "expression", NULL);
        char why[256], value[64];
        double result;

        (void) run;
        (void) tool;
        if (!expression)
                return agent_tool_fail(ret_error, "The argument 'expression' (a string) is missing");
        if (arith_evaluate(expression, &result, why, sizeof why) < 0)
                return agent_tool_fail(ret_error, why);
        arith_format(result, value, sizeof value);
        *ret_result = strdup(value);
        return *ret_result ? 0 : -ENOMEM;
}

/* "UTC", "Z", or a fixed offset "+05:30" / "-0800" / "+02": minutes east of UTC. IANA
 * zone names would need the zone database read without touching the process-wide TZ. */
static int parse_zone(const char *zone, int *ret_minutes) {
        unsigned hours = 0, minutes = 0;
        int n = 0;

        if (isempty(zone) || streq(zone, "UTC") || streq(zone, "Z") || streq(zone, "Etc/UTC") ||
            streq(zone, "GMT")) {
                *ret_minutes = 0;
                return 0;
        }
        if ((zone[0] != '+' && zone[0] != '-') ||
            !(sscanf(zone + 1, "%2u:%2u%n", &hours, &minutes, &n) == 2 ||
              sscanf(zone + 1, "%2u%2u%n", &hours, &minutes, &n) == 2 ||
              sscanf(zone + 1, "%2u%n", &hours, &n) == 1) ||
            zone[1 + n] != '\0' || hours > 14 || minutes > 59)
                return -EINVAL;
        *ret_minutes = (int) (hours * 60 + minutes) * (zone[0] == '-' ? -1 : 1);
        return 0;
}

static int tool_datetime(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                         char **ret_error) {
        const char *zone = json_get_string(arguments, "timezone", NULL) ?:
                json_get_string(json_object_get(tool->config, "extra_config"), "timezone", "UTC");
        char text[96], offset[32];
        struct timespec ts;
        struct tm tm;
        int minutes;

        (void) run;
        if (parse_zone(zone, &minutes) < 0) {
                _cleanup_free_ char *message = NULL;

                if (asprintf(&message, "Unknown time zone '%s': use UTC or an offset like +02:00", zone) < 0)
                        return -ENOMEM;
                *ret_error = TAKE_PTR(message);
                return -EINVAL;
        }
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return agent_tool_fail(ret_error, "The clock cannot be read");
        ts.tv_sec += (time_t) minutes * 60;
        if (!gmtime_r(&ts.tv_sec, &tm))
                return agent_tool_fail(ret_error, "The clock cannot be read");
        if (minutes == 0)
                strcpy(offset, "Z");
        else
                (void) snprintf(offset, sizeof offset, "%c%02d:%02d", minutes < 0 ? '-' : '+', abs(minutes) / 60,
                                abs(minutes) % 60);
        (void) snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, offset);
        *ret_result = strdup(text);
        return *ret_result ? 0 : -ENOMEM;
}

static const AgentToolSpec tool_calculator_spec = {
        .component_type = "calculator",
        .description = "Evaluates an arithmetic expression: numbers, + - * / % ** and parentheses. "
                       "Returns its value.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"expression\": {\"type\": \"string\", "
                      "\"description\": \"The expression, e.g. (2 + 3) * 4.5\"}}, "
                      "\"required\": [\"expression\"]}",
        .call = tool_calculator,
        .instant = true,
};

static const AgentToolSpec tool_datetime_spec = {
        .component_type = "datetime",
        .description = "The current date and time, ISO 8601.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"timezone\": {\"type\": \"string\", "
                      "\"description\": \"UTC (the default) or an offset like +02:00\"}}}",
        .call = tool_datetime,
        .instant = true,
};

/* Every tool an agent can offer. */
static const AgentToolSpec *const tool_specs[] = {
        &tool_calculator_spec,
        &tool_datetime_spec,
        &agent_tool_http_request,
        &agent_tool_run_command,
        &agent_tool_web_search,
        &agent_tool_whoami,
        &agent_tool_workflow_discover,
        &agent_tool_memory_read,
        &agent_tool_memory_write,
        &agent_tool_workflow_create,
        &agent_tool_platform_api,
        &agent_tool_spawn_and_await,
};

static const AgentToolSpec *tool_spec_find(const char *component_type) {
        for (size_t i = 0; i < ELEMENTSOF(tool_specs); i++)
                if (streq_ptr(tool_specs[i]->component_type, component_type))
                        return tool_specs[i];
        return NULL;
}

void agent_tools_done(AgentTools *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->tools[i].name);
                json_decref(t->offered[i].parameters);
        }
        free(t->tools);
        free(t->offered);
        *t = (AgentTools) {};
}

static bool name_taken(const AgentTools *t, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->tools[i].name, name))
                        return true;
        return false;
}

int agent_tools_load(NodeRun *run, AgentTools *ret) {
        _cleanup_(agent_tools_done) AgentTools t = {};
        size_t n = json_array_size(run->attachments), i;
        json_t *attachment;

        t.tools = calloc(MAX(n, (size_t) 1), sizeof(AgentTool));
        t.offered = calloc(MAX(n, (size_t) 1), sizeof(LlmTool));
        if (!t.tools || !t.offered)
                return node_run_fail_oom(run);

        json_array_foreach(run->attachments, i, attachment) {
                const char *type = json_get_string(attachment, "component_type", "");
                const char *node_id = json_get_string(attachment, "node_id", "");
                AgentTool *tool = &t.tools[t.n];
                const AgentToolSpec *spec;

                if (!streq_ptr(json_get_string(attachment, "edge_label", NULL), "tool"))
                        continue;
                spec = tool_spec_find(type);
                if (!spec)
                        return node_run_fail_config(run, "The tool node '%s' (%s) cannot run yet", node_id, type);
                *tool = (AgentTool) {
                        .node_id = node_id,
                        .component_type = type,
                        .label = json_get_string(attachment, "label", NULL),
                        .config = json_object_get(attachment, "config"),
                        .name = strdup(name_taken(&t, type) ? node_id : type),
                        .spec = spec,
                };
                t.offered[t.n] = (LlmTool) {
                        .name = tool->name,
                        .description = spec->description,
                        .parameters = json_loads(spec->parameters, 0, NULL),
                };
                t.n++;
                if (!tool->name || !t.offered[t.n - 1].parameters)
                        return node_run_fail_oom(run);
                if (name_taken(&(AgentTools) { .tools = t.tools, .n = t.n - 1 }, tool->name))
                        return node_run_fail_config(run, "Two tools are called '%s'", tool->name);
        }

        *ret = t;
        t = (AgentTools) {};
        return 0;
}

void agent_tool_publish_status(const NodeRun *run, const AgentTool *tool, const char *status, const char *result,
                               const char *error, usec_t duration) {
        const NodeTypeSpec *spec;
        json_t *data;

        if (!events_wanted("node_status"))
                return;
        spec = node_type_find(tool->component_type);
        data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s?}",
                         "node_id", tool->node_id, "status", status, "tool_name", tool->name,
                         "parent_node_id", run->node_id, "component_type", tool->component_type,
                         "is_tool_call", true, "display_name", spec ? spec->display_name : tool->component_type,
                         "node_label", tool->label);
        if (!data)
                return;
        if (result && json_object_set_new(data, "output", json_pack("{s:s}", "result", result)) < 0)
                goto fail;
        if (error && json_object_set_new(data, "error", json_string(error)) < 0)
                goto fail;
        if (!streq(status, "running") &&
            json_object_set_new(data, "duration_ms", json_integer((json_int_t) (duration / 1000))) < 0)
                goto fail;
        node_run_publish_status(run, data);
        return;
fail:
        json_decref(data);
}

/* Names are unique (agent_tools_load()). */
static const AgentTool *tool_named(const AgentTools *t, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (streq_ptr(t->tools[i].name, name))
                        return &t->tools[i];
        return NULL;
}

bool agent_tools_all_instant(const AgentTools *t, const LlmToolCall *calls, size_t n_calls) {
        for (size_t i = 0; i < n_calls; i++) {
                const AgentTool *tool = tool_named(t, calls[i].name);

                if (tool && !tool->spec->instant)
                        return false;
        }
        return true;
}

int agent_tools_call(NodeRun *run, const AgentTools *t, const LlmToolCall *call, char **ret_content,
                     bool *ret_is_error) {
        _cleanup_json_ json_t *arguments = NULL;
        _cleanup_free_ char *result = NULL, *error = NULL;
        const AgentTool *tool = tool_named(t, call->name);
        usec_t started;
        int r;

        if (!tool) {
                if (asprintf(ret_content, "Error: there is no tool called '%s'", call->name ?: "") < 0)
                        return -ENOMEM;
                *ret_is_error = true;
                return 0;
        }

        started = now_monotonic_usec();
        agent_tool_publish_status(run, tool, "running", NULL, NULL, 0);
        arguments = llm_tool_call_arguments(call);
        if (!arguments)
                r = agent_tool_fail(&error, "The arguments are not a JSON object");
        else
                r = tool->spec->call(run, tool, arguments, &result, &error);
        if (r == AGENT_TOOL_AWAIT)
                return r;
        if (r == -ENOMEM || (r >= 0 && !result) || (r < 0 && !error))
                return -ENOMEM;

        if (r < 0) {
                agent_tool_publish_status(run, tool, "failed", NULL, error, now_monotonic_usec() - started);
                if (asprintf(ret_content, "Error: %s", error) < 0)
                        return -ENOMEM;
                *ret_is_error = true;
                return 0;
        }
        agent_tool_publish_status(run, tool, "success", result, NULL, now_monotonic_usec() - started);
        *ret_content = TAKE_PTR(result);
        *ret_is_error = false;
        return 0;
}
