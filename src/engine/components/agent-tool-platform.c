/* Agent tools that look at the platform itself:
 *
 * whoami: the agent's identity (workflow, execution, node, the user who started the run),
 * its configuration (system prompt, at most 1000 characters, and extra_config), the tools
 * it has, and how its prompt can be changed through the API.
 *
 * workflow_discover: scores the active workflows of this workflow's owner against
 * requirements {description, triggers, node_types, tools, tags}: the share of the named
 * capabilities (component types and tags) a workflow has, or, when none are named, the
 * share of the description's words found in its slug, name and description. Each match
 * says what it has and lacks and whether to reuse it (score ≥ 0.95), fork and patch it
 * (≥ 0.5) or create a new one. Another owner's workflows are never shown. */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "store/store-workflow-catalog.h"

#define WHOAMI_PROMPT_MAX 1000
#define DISCOVER_LIMIT_DEFAULT 5
#define DISCOVER_LIMIT_MAX 20

static int reply_json(json_t *result, char **ret_result) {
        if (!result)
                return -ENOMEM;
        *ret_result = json_dumps(result, JSON_COMPACT);
        json_decref(result);
        return *ret_result ? 0 : -ENOMEM;
}

static int tool_whoami(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                       char **ret_error) {
        _cleanup_free_ char *how = NULL, *path = NULL;
        json_t *prompt = json_object_get(run->config, "system_prompt"), *tools, *attachment;
        size_t i;

        (void) tool;
        (void) arguments;
        (void) ret_error;
        tools = json_array();
        if (!tools)
                return -ENOMEM;
        json_array_foreach(run->attachments, i, attachment)
                if (streq_ptr(json_get_string(attachment, "edge_label", NULL), "tool") &&
                    json_array_append_new(tools, json_pack("{s:s?, s:s?}", "node_id",
                                                           json_get_string(attachment, "node_id", NULL),
                                                           "component_type",
                                                           json_get_string(attachment, "component_type", NULL))) < 0) {
                        json_decref(tools);
                        return -ENOMEM;
                }
        if (asprintf(&path, "/api/v1/workflows/%s/nodes/%s/", run->workflow_slug, run->node_id) < 0 ||
            asprintf(&how, "Send PATCH %s with {\"config\": {\"system_prompt\": \"<new prompt>\"}} (or "
                     "\"extra_config\") using an API key of the workflow's owner; the change applies to the "
                     "next execution.", path) < 0) {
                json_decref(tools);
                return -ENOMEM;
        }
        return reply_json(json_pack("{s:{s:s, s:I}, s:s, s:{s:s, s:s}, s:o, s:{s:s%, s:O?}, s:o, s:{s:s, s:s, s:s}}",
                                    "workflow", "slug", run->workflow_slug, "id", (json_int_t) run->workflow_id,
                                    "execution_id", run->execution_id,
                                    "node", "node_id", run->node_id, "component_type", run->component_type,
                                    "started_by_user_id", run->user_id > 0 ? json_integer(run->user_id) : json_null(),
                                    "config",
                                    "system_prompt", json_is_string(prompt) ? json_string_value(prompt) : "",
                                    json_is_string(prompt) ? MIN(json_string_length(prompt), (size_t) WHOAMI_PROMPT_MAX) : 0,
                                    "extra_config", json_object_get(run->config, "extra_config"),
                                    "tools", tools,
                                    "self_modification", "method", "PATCH", "path", path, "how", how),
                          ret_result);
}

static bool json_array_has_string(json_t *array, const char *s) {
        json_t *v;
        size_t i;

        json_array_foreach(array, i, v)
                if (json_is_string(v) && strcasecmp(json_string_value(v), s) == 0)
                        return true;
        return false;
}

/* Every string of the requirement lists, once: [{"kind", "name"}]. */
static int wanted_capabilities(json_t *requirements, json_t **ret) {
        static const char *const kinds[] = { "triggers", "node_types", "tools", "tags" };
        _cleanup_json_ json_t *wanted = json_array();

        if (!wanted)
                return -ENOMEM;
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                json_t *list = json_object_get(requirements, kinds[k]), *v;
                size_t i;

                if (json_is_string(list))
                        list = json_pack("[O]", list);
                else
                        json_incref(list);
                json_array_foreach(list, i, v)
                        if (json_is_string(v) && json_string_length(v) > 0 &&
                            json_array_append_new(wanted, json_pack("{s:s, s:O}", "kind", kinds[k], "name", v)) < 0) {
                                json_decref(list);
                                return -ENOMEM;
                        }
                json_decref(list);
        }
        *ret = TAKE_PTR(wanted);
        return 0;
}

static bool word_in(const char *word, size_t n, const char *text) {
        for (const char *p = text; p && *p; p++)
                if (strncasecmp(p, word, n) == 0)
                        return true;
        return false;
}

/* Share of the description's words (3 letters or more) found in the workflow's texts. */
static double text_score(const char *description, json_t *workflow) {
        const char *texts[] = { json_get_string(workflow, "slug", ""), json_get_string(workflow, "name", ""),
                                json_get_string(workflow, "description", "") };
        unsigned words = 0, found = 0;

        for (const char *p = description; *p;) {
                size_t n = 0;

                while (*p && !isalnum((unsigned char) *p))
                        p++;
                while (isalnum((unsigned char) p[n]))
                        n++;
                if (n >= 3) {
                        words++;
                        for (size_t t = 0; t < ELEMENTSOF(texts); t++)
                                if (word_in(p, n, texts[t])) {
                                        found++;
                                        break;
                                }
                }
                p += n;
        }
        return words > 0 ? (double) found / words : 0;
}

static const char *recommendation(double score) {
        return score >= 0.95 ? "reuse" : score >= 0.5 ? "fork_and_patch" : "create_new";
}

static json_t *score_workflow(json_t *workflow, json_t *wanted, const char *description) {
        _cleanup_json_ json_t *has = json_array(), *missing = json_array();
        json_t *w;
        double score;
        size_t i;

        if (!has || !missing)
                return NULL;
        json_array_foreach(wanted, i, w) {
                const char *kind = json_get_string(w, "kind", ""), *name = json_get_string(w, "name", "");
                json_t *where = json_object_get(workflow, streq(kind, "tags") ? "tags" : "node_types");

                if (json_array_append(json_array_has_string(where, name) ? has : missing, json_object_get(w, "name")) < 0)
                        return NULL;
        }
        if (json_array_size(wanted) > 0)
                score = (double) json_array_size(has) / json_array_size(wanted);
        else
                score = text_score(description, workflow);
        score = round(score * 100) / 100;
        return json_pack("{s:O, s:O, s:O, s:f, s:O, s:O, s:s}", "slug", json_object_get(workflow, "slug"), "name",
                         json_object_get(workflow, "name"), "description", json_object_get(workflow, "description"),
                         "match_score", score, "has", has, "missing", missing, "recommendation", recommendation(score));
}

static int by_score(const void *a, const void *b) {
        double x = json_real_value(json_object_get(*(json_t *const *) a, "match_score"));
        double y = json_real_value(json_object_get(*(json_t *const *) b, "match_score"));

        if (x != y)
                return (x < y) - (x > y);
        return strcmp(json_get_string(*(json_t *const *) a, "slug", ""), json_get_string(*(json_t *const *) b, "slug", ""));
}

static int tool_workflow_discover(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                                  char **ret_error) {
        /* all owns every workflow's score; scored borrows those above 0, best the first of them. */
        _cleanup_json_ json_t *catalog = NULL, *wanted = NULL, *all = json_array(), *best = json_array();
        _cleanup_free_ json_t **scored = NULL;
        json_t *requirements = json_object_get(arguments, "requirements") ?: arguments, *workflow, *limit;
        const char *description = json_get_string(requirements, "description", "");
        size_t n = 0, max = DISCOVER_LIMIT_DEFAULT, i;
        int r;

        (void) tool;
        if (!json_is_object(requirements))
                return agent_tool_fail(ret_error, "'requirements' must be an object");
        limit = json_object_get(arguments, "limit");
        if (json_is_integer(limit) && json_integer_value(limit) >= 1)
                max = (size_t) MIN(json_integer_value(limit), (json_int_t) DISCOVER_LIMIT_MAX);
        r = wanted_capabilities(requirements, &wanted);
        if (r < 0)
                return r;
        if (json_array_size(wanted) == 0 && isempty(description))
                return agent_tool_fail(ret_error, "Say what the workflow should do: a description, or lists of "
                                       "triggers, node_types, tools or tags");
        r = store_workflow_catalog(run->db, run->workflow_id, &catalog);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return agent_tool_fail(ret_error, "The workflows cannot be read right now");

        scored = calloc(MAX(json_array_size(catalog), (size_t) 1), sizeof(json_t *));
        if (!all || !best || !scored)
                return -ENOMEM;
        json_array_foreach(catalog, i, workflow) {
                json_t *m = score_workflow(workflow, wanted, description);

                if (!m || json_array_append_new(all, m) < 0)
                        return -ENOMEM;
                if (json_real_value(json_object_get(m, "match_score")) > 0)
                        scored[n++] = m;
        }
        qsort(scored, n, sizeof(json_t *), by_score);
        for (i = 0; i < n && i < max; i++)
                if (json_array_append(best, scored[i]) < 0)
                        return -ENOMEM;
        return reply_json(json_pack("{s:O, s:s}", "matches", best, "recommendation",
                                    n > 0 ? json_get_string(scored[0], "recommendation", "create_new") : "create_new"),
                          ret_result);
}

const AgentToolSpec agent_tool_whoami = {
        .component_type = "whoami",
        .description = "Tells you who you are on this platform: your workflow, execution and node, your "
                       "configuration and tools, and how your prompt can be changed.",
        .parameters = "{\"type\": \"object\", \"properties\": {}}",
        .call = tool_whoami,
};

const AgentToolSpec agent_tool_workflow_discover = {
        .component_type = "workflow_discover",
        .description = "Finds existing workflows that meet requirements, scored from 0 to 1, each with what it "
                       "has and lacks and whether to reuse it, fork and patch it, or create a new one.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"requirements\": {\"type\": \"object\", "
                      "\"properties\": {\"description\": {\"type\": \"string\"}, "
                      "\"triggers\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, "
                      "\"description\": \"Trigger types, e.g. trigger_webhook\"}, "
                      "\"node_types\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}, "
                      "\"tools\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}, "
                      "\"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}, "
                      "\"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 20}}, "
                      "\"required\": [\"requirements\"]}",
        .call = tool_workflow_discover,
};
