/* The http_request node as an agent tool: the model gives the URL, method, headers and body;
 * the node's own extra_config gives defaults (its url and method), headers the model cannot
 * replace (an Authorization the model never sees), the timeout, and allow_private_network —
 * off unless the node turns it on, because a model chooses its URLs and a page it read may
 * steer it towards this host or the network behind it. The request is the http_request
 * component's, run for the tool call. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"

#define HTTP_TOOL_RESULT_MAX 20000

/* The component's settings for this call. */
static json_t *http_tool_settings(const AgentTool *tool, json_t *arguments) {
        json_t *node = json_object_get(tool->config, "extra_config");
        json_t *node_headers = json_object_get(node, "headers"), *model_headers = json_object_get(arguments, "headers");
        _cleanup_json_ json_t *settings = json_object(), *headers = json_object();
        json_t *value, *url, *method;
        const char *name;

        if (!settings || !headers)
                return NULL;
        json_object_foreach(model_headers, name, value)
                if (json_is_string(value) && json_object_set(headers, name, value) < 0)
                        return NULL;
        /* The node's headers win, whatever case the model wrote the name in. */
        json_object_foreach(node_headers, name, value) {
                const char *other;
                json_t *v;
                void *tmp;

                json_object_foreach_safe(headers, tmp, other, v)
                        if (strcasecmp(other, name) == 0)
                                (void) json_object_del(headers, other);
                if (json_object_set(headers, name, value) < 0)
                        return NULL;
        }

        url = json_object_get(arguments, "url") ?: json_object_get(node, "url");
        method = json_object_get(arguments, "method") ?: json_object_get(node, "method");
        if (json_object_set_new(settings, "url", url ? json_incref(url) : json_null()) < 0 ||
            json_object_set_new(settings, "method", method ? json_incref(method) : json_string("GET")) < 0 ||
            json_object_set(settings, "headers", headers) < 0 ||
            json_object_set_new(settings, "allow_private_network",
                                json_boolean(json_is_true(json_object_get(node, "allow_private_network")))) < 0)
                return NULL;
        if (json_object_get(arguments, "body") &&
            json_object_set(settings, "body", json_object_get(arguments, "body")) < 0)
                return NULL;
        if (json_object_get(node, "timeout") && json_object_set(settings, "timeout", json_object_get(node, "timeout")) < 0)
                return NULL;
        return json_pack("{s:O}", "extra_config", settings);
}

/* text, or its start and end around a note of what was left out. */
static char *shorten(char *text) {
        size_t n = strlen(text), keep = HTTP_TOOL_RESULT_MAX / 2;
        char *s;

        if (n <= HTTP_TOOL_RESULT_MAX)
                return text;
        if (asprintf(&s, "%.*s\n[... %zu characters left out ...]\n%s", (int) keep, text, n - 2 * keep,
                     text + n - keep) < 0)
                s = NULL;
        free(text);
        return s;
}

int agent_tool_http(NodeRun *run, const AgentTool *tool, json_t *config, json_t **ret_response, char **ret_error) {
        _cleanup_json_ json_t *context = json_object();
        NodeRun request = {
                .execution_id = run->execution_id,
                .workflow_slug = run->workflow_slug,
                .node_id = tool->node_id,
                .component_type = "http_request",
                .config = config,
                .context = context,
                .attempt = 1,
                .cancelled = run->cancelled,
                .deadline = run->deadline,
                .max_output_size = run->max_output_size,
                .retryable = true,
        };
        int r;

        if (!context)
                return -ENOMEM;
        r = component_http_request(&request);
        if (r < 0) {
                *ret_error = TAKE_PTR(request.error);
                r = *ret_error ? -EIO : -ENOMEM;
        } else
                *ret_response = json_incref(json_object_get(request.output, "response"));
        node_run_done(&request);
        return r;
}

static int tool_http_request(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                             char **ret_error) {
        _cleanup_json_ json_t *config = NULL, *response = NULL, *result = NULL;
        char *text = NULL;
        int r;

        if (!json_is_string(json_object_get(arguments, "url")) && !json_is_string(json_object_get(
                                json_object_get(tool->config, "extra_config"), "url")))
                return agent_tool_fail(ret_error, "The argument 'url' (a string) is missing");
        config = http_tool_settings(tool, arguments);
        if (!config)
                return -ENOMEM;
        r = agent_tool_http(run, tool, config, &response, ret_error);
        if (r < 0)
                return r;
        result = json_pack("{s:O?, s:O?}", "status", json_object_get(response, "status"), "body",
                           json_object_get(response, "body"));
        if (result)
                text = json_dumps(result, JSON_COMPACT);
        *ret_result = text ? shorten(text) : NULL;
        return *ret_result ? 0 : -ENOMEM;
}

const AgentToolSpec agent_tool_http_request = {
        .component_type = "http_request",
        .description = "Sends an HTTP request and returns the response's status and body (JSON when the "
                       "server sends JSON).",
        .parameters = "{\"type\": \"object\", \"properties\": {"
                      "\"url\": {\"type\": \"string\", \"description\": \"http:// or https:// URL\"}, "
                      "\"method\": {\"type\": \"string\", \"enum\": [\"GET\", \"POST\", \"PUT\", \"PATCH\", "
                      "\"DELETE\", \"HEAD\"], \"description\": \"Default GET\"}, "
                      "\"headers\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}, "
                      "\"body\": {\"description\": \"A string is sent as is, anything else as JSON\"}}, "
                      "\"required\": [\"url\"]}",
        .call = tool_http_request,
};
