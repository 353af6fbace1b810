/* Agent tools over the facts memory (store-memory-facts.h):
 *
 * memory_write(key, value, fact_type?) remembers a fact: a key that exists gets the new value
 * unless the node's extra_config.overwrite is false. extra_config.fact_type is the kind of
 * fact when the model names none.
 *
 * memory_read(key?, query?) recalls: a key exactly, else the facts whose key or value
 * contains it; a query searches; neither lists the newest. At most extra_config.limit facts
 * (default 10) of at least extra_config.min_confidence (default 0.5).
 *
 * The facts belong to the owner of the workflow: all of that user's agents share them, no
 * other user's agent sees them. Only facts are kept: memory_type episodes or procedures
 * read facts too. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "store/store-memory-facts.h"

#define FACT_KEY_MAX 200
#define FACT_VALUE_MAX (16 * 1024)
/* Facts one user's agents may keep. */
#define FACTS_MAX 10000
#define READ_LIMIT_DEFAULT 10
#define READ_LIMIT_MAX 100
#define MIN_CONFIDENCE_DEFAULT 0.5
#define FACT_TYPE_DEFAULT "world_knowledge"

static const char *const fact_types[] = {
        "user_preference", "world_knowledge", "self_knowledge", "correction", "relationship",
};

static bool fact_type_is_valid(const char *type) {
        for (size_t i = 0; i < ELEMENTSOF(fact_types); i++)
                if (streq(fact_types[i], type))
                        return true;
        return false;
}

static json_t *tool_setting(const AgentTool *tool, const char *key) {
        return json_object_get(json_object_get(tool->config, "extra_config"), key);
}

/* The owner's scope, or *ret_error saying why there is none. */
static int owner_scope(NodeRun *run, char **ret_scope_id, char **ret_error) {
        int r;

        if (!run->db)
                return agent_tool_fail(ret_error, "The memory cannot be reached here");
        r = store_memory_owner_scope(run->db, run->workflow_id, ret_scope_id);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return agent_tool_fail(ret_error, "The memory cannot be reached: the workflow is gone");
        return 0;
}

/* A key the model gave: a string of 1 to FACT_KEY_MAX bytes, or NULL when absent. */
static int argument_key(json_t *arguments, const char *name, const char **ret, char **ret_error) {
        json_t *v = json_object_get(arguments, name);
        char why[128];

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > FACT_KEY_MAX) {
                snprintf(why, sizeof why, "The argument '%s' must be a string of 1 to %d characters", name,
                         FACT_KEY_MAX);
                return agent_tool_fail(ret_error, why);
        }
        *ret = json_string_value(v);
        return 0;
}

static int tool_memory_write(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                             char **ret_error) {
        _cleanup_free_ char *scope_id = NULL, *dumped = NULL;
        json_t *value = json_object_get(arguments, "value"), *overwrite = tool_setting(tool, "overwrite");
        const char *key, *text, *type;
        MemoryFactPut put;
        char why[128];
        int r;

        r = argument_key(arguments, "key", &key, ret_error);
        if (r < 0)
                return r;
        if (!key)
                return agent_tool_fail(ret_error, "The argument 'key' (a string) is missing");
        if (!value || json_is_null(value))
                return agent_tool_fail(ret_error, "The argument 'value' is missing");
        if (json_is_string(value))
                text = json_string_value(value);
        else {
                dumped = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!dumped)
                        return -ENOMEM;
                text = dumped;
        }
        if (strlen(text) > FACT_VALUE_MAX) {
                snprintf(why, sizeof why, "The value is too long: at most %d bytes", FACT_VALUE_MAX);
                return agent_tool_fail(ret_error, why);
        }
        type = json_get_string(arguments, "fact_type", NULL) ?:
                json_string_value(tool_setting(tool, "fact_type")) ?: FACT_TYPE_DEFAULT;
        if (!fact_type_is_valid(type))
                return agent_tool_fail(ret_error, "The fact_type must be one of user_preference, world_knowledge, "
                                       "self_knowledge, correction, relationship");

        r = owner_scope(run, &scope_id, ret_error);
        if (r < 0)
                return r;
        r = store_memory_fact_put(run->db, MEMORY_SCOPE_OWNER, scope_id, key, text, type,
                                  !json_is_false(overwrite), FACTS_MAX, &put);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOSPC) {
                snprintf(why, sizeof why, "The memory is full (%d facts): nothing new can be remembered",
                         FACTS_MAX);
                return agent_tool_fail(ret_error, why);
        }
        if (r < 0)
                return agent_tool_fail(ret_error, "The memory cannot be written now");

        if (put == MEMORY_FACT_SKIPPED)
                r = asprintf(ret_result, "Not changed: '%s' is already remembered, and this memory does not "
                             "overwrite facts", key);
        else
                r = asprintf(ret_result, "Remembered: %s = %s (%s)", key, text, memory_fact_put_to_string(put));
        return r < 0 ? -ENOMEM : 0;
}

static void read_settings(const AgentTool *tool, size_t *ret_limit, double *ret_min_confidence) {
        json_t *limit = tool_setting(tool, "limit"), *confidence = tool_setting(tool, "min_confidence");

        *ret_limit = READ_LIMIT_DEFAULT;
        if (json_is_integer(limit) && json_integer_value(limit) >= 1)
                *ret_limit = (size_t) MIN(json_integer_value(limit), (json_int_t) READ_LIMIT_MAX);
        *ret_min_confidence = MIN_CONFIDENCE_DEFAULT;
        if (json_is_number(confidence))
                *ret_min_confidence = MIN(MAX(json_number_value(confidence), 0.0), 1.0);
}

/* {"match": how, "facts": [{key, value, fact_type, updated_at}]}. */
static int reply_facts(const char *how, json_t *facts, char **ret_result) {
        _cleanup_json_ json_t *reply = json_pack("{s:s, s:[]}", "match", how, "facts");
        json_t *fact;
        size_t i;

        if (!reply)
                return -ENOMEM;
        json_array_foreach(facts, i, fact)
                if (json_array_append_new(json_object_get(reply, "facts"),
                                          json_pack("{s:O, s:O, s:O, s:O}", "key", json_object_get(fact, "key"),
                                                    "value", json_object_get(fact, "value"),
                                                    "fact_type", json_object_get(fact, "fact_type"),
                                                    "updated_at", json_object_get(fact, "updated_at"))) < 0)
                        return -ENOMEM;
        *ret_result = json_dumps(reply, JSON_COMPACT);
        return *ret_result ? 0 : -ENOMEM;
}

static int tool_memory_read(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                            char **ret_error) {
        _cleanup_free_ char *scope_id = NULL;
        _cleanup_json_ json_t *facts = NULL, *fact = NULL;
        const char *key, *query, *how;
        double min_confidence;
        size_t limit;
        int r;

        r = argument_key(arguments, "key", &key, ret_error);
        if (r < 0)
                return r;
        r = argument_key(arguments, "query", &query, ret_error);
        if (r < 0)
                return r;
        read_settings(tool, &limit, &min_confidence);
        r = owner_scope(run, &scope_id, ret_error);
        if (r < 0)
                return r;

        if (key) {
                r = store_memory_fact_get(run->db, MEMORY_SCOPE_OWNER, scope_id, key, min_confidence, &fact);
                if (r >= 0) {
                        facts = json_pack("[O]", fact);
                        return facts ? reply_facts("key", facts, ret_result) : -ENOMEM;
                }
                if (r != -ENOENT)
                        goto fail;
        }
        how = key || query ? "search" : "recent";
        r = store_memory_facts_search(run->db, MEMORY_SCOPE_OWNER, scope_id, key ?: query, min_confidence, limit,
                                      &facts);
        if (r < 0)
                goto fail;
        return reply_facts(how, facts, ret_result);

fail:
        return r == -ENOMEM ? r : agent_tool_fail(ret_error, "The memory cannot be read now");
}

const AgentToolSpec agent_tool_memory_write = {
        .component_type = "memory_write",
        .description = "Remembers a fact for later conversations: key names it (e.g. user_favorite_color), "
                       "value is what to remember. Writing a key again replaces its value.",
        .parameters = "{\"type\": \"object\", \"properties\": {"
                      "\"key\": {\"type\": \"string\", \"description\": \"A short name for the fact\"}, "
                      "\"value\": {\"type\": \"string\", \"description\": \"What to remember\"}, "
                      "\"fact_type\": {\"type\": \"string\", \"enum\": [\"user_preference\", \"world_knowledge\", "
                      "\"self_knowledge\", \"correction\", \"relationship\"]}}, "
                      "\"required\": [\"key\", \"value\"]}",
        .call = tool_memory_write,
};

const AgentToolSpec agent_tool_memory_read = {
        .component_type = "memory_read",
        .description = "Recalls facts remembered earlier (with memory_write), also in other conversations: "
                       "key looks one up, query searches keys and values, neither lists the newest.",
        .parameters = "{\"type\": \"object\", \"properties\": {"
                      "\"key\": {\"type\": \"string\", \"description\": \"The fact's exact key\"}, "
                      "\"query\": {\"type\": \"string\", \"description\": \"Words to look for\"}}}",
        .call = tool_memory_read,
};
