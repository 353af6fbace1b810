/* web_search: asks a SearXNG instance (GET <url>/search?q=…&format=json) and gives the
 * model the top results as numbered lines of title, URL and snippet. The instance is the
 * node's credential (config.credential_id: a 'tool' credential with tool_type searxng and
 * config.url), checked to be the workflow owner's when the node was saved. Its URL is the
 * operator's choice, not the model's, so a SearXNG on this host or the local network is
 * fine. extra_config.max_results: 1–20, default 5. */

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "store/store-credentials.h"

#define WEB_SEARCH_RESULTS_DEFAULT 5
#define WEB_SEARCH_RESULTS_MAX 20
#define WEB_SEARCH_TIMEOUT_SEC 20
#define WEB_SEARCH_SNIPPET_MAX 500

/* The instance's search URL for query. */
static int search_url(NodeRun *run, const AgentTool *tool, const char *query, char **ret_url, char **ret_error) {
        _cleanup_(credential_freep) Credential *credential = NULL;
        json_t *id = json_object_get(tool->config, "credential_id");
        const char *base;
        char *escaped;
        size_t n;
        int r;

        if (!json_is_integer(id))
                return agent_tool_fail(ret_error, "Web search is not set up: the web_search node has no SearXNG "
                                       "credential (credential_id)");
        r = store_credential_load(run->db, run->vault, NULL, json_integer_value(id), &credential);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !streq_ptr(credential->type, "tool") ||
            !streq_ptr(json_get_string(credential->detail, "tool_type", NULL), "searxng"))
                return agent_tool_fail(ret_error, "Web search is not set up: the web_search node's credential is "
                                       "missing or not a SearXNG credential");
        base = json_get_string(json_object_get(credential->detail, "config"), "url", "");
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        escaped = curl_easy_escape(NULL, query, 0);
        if (!escaped)
                return -ENOMEM;
        r = asprintf(ret_url, "%.*s/search?q=%s&format=json", (int) n, base, escaped);
        curl_free(escaped);
        return r < 0 ? -ENOMEM : 0;
}

/* "1. Title\n   URL\n   snippet\n…" of the first max results. */
static int format_results(json_t *results, size_t max, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0, shown = 0, i;
        json_t *result;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        json_array_foreach(results, i, result) {
                const char *title = json_get_string(result, "title", ""), *url = json_get_string(result, "url", "");
                const char *snippet = json_get_string(result, "content", "");

                if (shown == max)
                        break;
                if (isempty(url))
                        continue;
                fprintf(f, "%zu. %s\n   %s\n", ++shown, isempty(title) ? url : title, url);
                if (!isempty(snippet))
                        fprintf(f, "   %.*s\n", WEB_SEARCH_SNIPPET_MAX, snippet);
        }
        if (shown == 0)
                fputs("No results.", f);
        if (ferror(f)) {
                fclose(f);
                return -ENOMEM;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

static int tool_web_search(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                           char **ret_error) {
        _cleanup_json_ json_t *config = NULL, *response = NULL;
        _cleanup_free_ char *url = NULL, *why = NULL;
        const char *query = json_get_string(arguments, "query", NULL);
        json_t *body, *max = json_object_get(json_object_get(tool->config, "extra_config"), "max_results");
        size_t max_results = WEB_SEARCH_RESULTS_DEFAULT;
        long status;
        int r;

        if (isempty(query))
                return agent_tool_fail(ret_error, "The argument 'query' (a non-empty string) is missing");
        if (json_is_integer(max) && json_integer_value(max) >= 1)
                max_results = (size_t) MIN(json_integer_value(max), (json_int_t) WEB_SEARCH_RESULTS_MAX);
        r = search_url(run, tool, query, &url, ret_error);
        if (r < 0)
                return r;

        config = json_pack("{s:{s:s, s:s, s:i, s:b, s:{s:s}}}", "extra_config", "url", url, "method", "GET",
                           "timeout", WEB_SEARCH_TIMEOUT_SEC, "allow_private_network", true, "headers",
                           "Accept", "application/json");
        if (!config)
                return -ENOMEM;
        r = agent_tool_http(run, tool, config, &response, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (asprintf(ret_error, "Web search is unavailable: %s", why) < 0)
                        return -ENOMEM;
                return -EIO;
        }
        status = (long) json_integer_value(json_object_get(response, "status"));
        body = json_object_get(response, "body");
        if (status != 200 || !json_is_array(json_object_get(body, "results"))) {
                if (asprintf(ret_error, "Web search is unavailable: the search service answered HTTP %ld%s", status,
                             status == 200 ? " without results (is its JSON format enabled?)" : "") < 0)
                        return -ENOMEM;
                return -EIO;
        }
        return format_results(json_object_get(body, "results"), max_results, ret_result);
}

const AgentToolSpec agent_tool_web_search = {
        .component_type = "web_search",
        .description = "Searches the web. Returns the top results: title, URL and a snippet of each.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\", "
                      "\"description\": \"What to search for\"}}, \"required\": [\"query\"]}",
        .call = tool_web_search,
};
