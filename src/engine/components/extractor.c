/* extractor: asks the model to fill extra_config.extraction_schema from the text and checks
 * what it answers.
 *
 * extraction_schema is a JSON schema of an object with properties (json-schema.h: type,
 * properties, required, items, enum, additionalProperties). The text is
 * extra_config.input_template when set, else the input's text, an upstream agent's output,
 * or its messages as a conversation. The model is told the schema and asked for the JSON
 * object alone; OpenAI-style providers also get response_format {"type": "json_object"}
 * unless the ai_model sets a response_format of its own. The object is taken from the
 * answer even inside ``` fences or prose (output_parse_json()).
 *
 * An answer without a JSON object, or one that does not match the schema, is sent back to
 * the model with what is wrong, extra_config.validation_retries times (default 1, at most
 * 3); after that the node fails (error_code "validation", not retried) with the message
 * naming the field: "'age' must be an integer, not a string".
 *
 * Output: {"extracted": the object, "token_usage": {input_tokens, output_tokens,
 * total_tokens, llm_calls}, "parsed": … with an output parser}. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/components/llm-node.h"
#include "engine/json-schema.h"
#include "engine/output-parse.h"

#define VALIDATION_RETRIES_DEFAULT 1
#define VALIDATION_RETRIES_MAX 3

typedef struct Extraction {
        json_t *schema;
        json_t *response_format;        /* ours, when we ask for JSON */
        unsigned corrections_left;
} Extraction;

static void extraction_free(void *userdata) {
        Extraction *x = userdata;

        if (!x)
                return;
        json_decref(x->schema);
        json_decref(x->response_format);
        free(x);
}

static void extraction_freep(Extraction **x) {
        extraction_free(*x);
}

static int extraction_load(NodeRun *run, Extraction *x) {
        _cleanup_free_ char *why = NULL;
        json_t *schema = node_run_setting(run, "extraction_schema"), *type;
        double retries;
        int r;

        if (!json_is_object(schema) || json_object_size(schema) == 0)
                return node_run_fail_config(run, "extraction_schema must be a JSON schema of the object to extract, "
                                            "e.g. {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}}");
        r = json_schema_check(schema, &why);
        if (r == -ENOMEM)
                return node_run_fail_oom(run);
        if (r < 0)
                return node_run_fail_config(run, "extraction_schema: %s", why ?: "not a usable schema");
        type = json_object_get(schema, "type");
        if (type && !(json_is_string(type) && streq(json_string_value(type), "object")))
                return node_run_fail_config(run, "extraction_schema must describe an object (\"type\": \"object\")");
        if (json_object_size(json_object_get(schema, "properties")) == 0)
                return node_run_fail_config(run, "extraction_schema has no properties: list the fields to extract");

        if (node_run_setting_number(run, "validation_retries", VALIDATION_RETRIES_DEFAULT, &retries) < 0 ||
            retries < 0 || retries > VALIDATION_RETRIES_MAX || retries != (unsigned) retries)
                return node_run_fail_config(run, "validation_retries must be a whole number from 0 to %d",
                                            VALIDATION_RETRIES_MAX);
        x->corrections_left = (unsigned) retries;
        x->schema = json_incref(schema);
        return 0;
}

/* Sends the answer back with what is wrong with it; 1: ask again. */
static int extraction_correct(NodeRun *run, LlmNode *n, const char *raw, const char *why) {
        _cleanup_free_ char *message = NULL;

        if (asprintf(&message, "Your answer does not match the schema: %s. Answer again with the corrected JSON "
                     "object only.", why) < 0)
                return node_run_fail_oom(run);
        /* Providers refuse an empty assistant turn. */
        if (llm_node_add_message(n, LLM_ROLE_ASSISTANT, isempty(raw) ? "(no answer)" : raw) < 0 ||
            llm_node_add_message(n, LLM_ROLE_USER, message) < 0)
                return node_run_fail_oom(run);
        return 1;
}

static int extraction_answered(NodeRun *run, LlmNode *n, const LlmResponse *response) {
        Extraction *x = n->userdata;
        const char *raw = response->text ?: "";
        _cleanup_json_ json_t *value = output_parse_json(raw);
        _cleanup_free_ char *why = NULL;
        int r;

        if (!json_is_object(value)) {
                why = strdup(json_is_array(value) ? "the answer is a JSON list, not an object" :
                             "the answer holds no JSON object");
                if (!why)
                        return node_run_fail_oom(run);
        } else {
                r = json_schema_validate(x->schema, value, &why);
                if (r == -ENOMEM)
                        return node_run_fail_oom(run);
                if (r == 0) {
                        if (node_run_output(run, "extracted", TAKE_PTR(value)) < 0 || llm_node_output_usage(run, n) < 0)
                                return node_run_fail_oom(run);
                        return llm_node_apply_output_parser(run, raw);
                }
        }

        if (x->corrections_left > 0) {
                x->corrections_left--;
                return extraction_correct(run, n, raw, why ?: "it is not valid");
        }
        r = node_run_fail(run, "validation", "The model's answer does not match extraction_schema after %u "
                          "attempt%s: %s", n->llm_calls, n->llm_calls == 1 ? "" : "s", why ?: "it is not valid");
        /* It was already asked again; another attempt would start the same conversation. */
        run->retryable = false;
        return r;
}

int component_extractor(NodeRun *run) {
        _cleanup_(extraction_freep) Extraction *x = calloc(1, sizeof(Extraction));
        _cleanup_(llm_node_freep) LlmNode *n = NULL;
        _cleanup_free_ char *text = NULL, *schema_text = NULL, *instructions = NULL;
        int r;

        if (!x)
                return node_run_fail_oom(run);
        r = extraction_load(run, x);
        if (r < 0)
                return r;
        r = llm_node_input_text(run, false, &text);
        if (r < 0)
                return r;
        r = llm_node_new(run, &n);
        if (r < 0)
                return r;

        schema_text = json_dumps(x->schema, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!schema_text ||
            asprintf(&instructions,
                     "Extract what the user's text says into one JSON object that matches this JSON schema:\n"
                     "%s\n"
                     "Answer with the JSON object only: no explanation and no code fences. Leave out a property "
                     "the text does not give, unless the schema requires it.", schema_text) < 0)
                return node_run_fail_oom(run);
        if (llm_node_set_system_prompt(run, n, instructions) < 0 || llm_node_add_message(n, LLM_ROLE_USER, text) < 0)
                return node_run_fail_oom(run);

        if (llm_provider_is_openai_style(n->model.request.provider) && !n->model.request.response_format) {
                x->response_format = json_pack("{s:s}", "type", "json_object");
                if (!x->response_format)
                        return node_run_fail_oom(run);
                n->model.request.response_format = x->response_format;
        }

        n->answered = extraction_answered;
        n->userdata = TAKE_PTR(x);
        n->free_userdata = extraction_free;
        return llm_node_call(run, TAKE_PTR(n));
}
