/* The checks of node bodies (workflow-checks.h): the fields of NodeIn and of its config,
 * and the references a node makes (a subworkflow, credentials) as the caller sees them. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/node-types.h"
#include "engine/workflow-checks.h"
#include "store/store-nodes.h"

#define NODE_LABEL_MAX 255
#define COMPONENT_TYPE_MAX 64
#define MODEL_NAME_MAX 255
/* Canvas coordinates: far beyond any screen, small enough to stay exact. */
#define NODE_POSITION_LIMIT 1000000000

static const JsonField node_create_fields[] = {
        { "component_type", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY,
          .max = COMPONENT_TYPE_MAX },
        { "node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = NODE_LABEL_MAX },
        { "is_entry_point", JSON_FIELD_BOOLEAN },
        { "interrupt_before", JSON_FIELD_BOOLEAN },
        { "interrupt_after", JSON_FIELD_BOOLEAN },
        { "position_x", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "position_y", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "subworkflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

/* The same but component_type and node_id, which never change. */
static const JsonField node_update_fields[] = {
        { "label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = NODE_LABEL_MAX },
        { "is_entry_point", JSON_FIELD_BOOLEAN },
        { "interrupt_before", JSON_FIELD_BOOLEAN },
        { "interrupt_after", JSON_FIELD_BOOLEAN },
        { "position_x", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "position_y", JSON_FIELD_NUMBER, 0, -NODE_POSITION_LIMIT, NODE_POSITION_LIMIT },
        { "subworkflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static const JsonField config_fields[] = {
        { "system_prompt", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "extra_config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "llm_credential_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "model_name", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = MODEL_NAME_MAX },
        { "temperature", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, 0, 2 },
        { "max_tokens", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, 1, INT32_MAX },
        { "frequency_penalty", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, -2, 2 },
        { "presence_penalty", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, -2, 2 },
        { "top_p", JSON_FIELD_NUMBER, JSON_FIELD_NULLABLE, 0, 1 },
        { "timeout", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, 0, INT32_MAX },
        { "max_retries", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, 0, INT32_MAX },
        { "response_format", JSON_FIELD_ANY, JSON_FIELD_NULLABLE },
        { "llm_model_config_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = NODE_ID_MAX },
        { "credential_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "is_active", JSON_FIELD_BOOLEAN },
        { "priority", JSON_FIELD_INTEGER, 0, INT32_MIN, INT32_MAX },
        { "trigger_config", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

/* Appends {"loc": ["body", a, b], …} (b may be NULL). */
static void error_append(json_t *errors, const char *a, const char *b, const char *type, const char *msg) {
        json_t *loc, *e;

        loc = b ? json_pack("[s, s, s]", "body", a, b) : json_pack("[s, s]", "body", a);
        if (!loc)
                return;
        e = json_pack("{s:o, s:s, s:s}", "loc", loc, "msg", msg, "type", type);
        if (e)
                json_array_append_new(errors, e);
}

/* The JSON columns are free-form; their stored size is what must stay bounded. */
static void check_json_size(json_t *config, const char *field, json_t *errors) {
        _cleanup_free_ char *text = NULL;
        json_t *v = json_object_get(config, field);
        char msg[96];

        if (!json_is_object(v))
                return;
        text = json_dumps_compact(v);
        if (text && strlen(text) <= NODE_EXTRA_CONFIG_MAX)
                return;

        snprintf(msg, sizeof msg, "Value should be at most %d bytes of JSON", NODE_EXTRA_CONFIG_MAX);
        error_append(errors, "config", field, "too_long", msg);
}

static int check_credential(Db *db, const StoreCaller *caller, json_t *config, const char *field, const char *type,
                            json_t *errors) {
        json_t *v = json_object_get(config, field);
        char msg[128];
        int r;

        if (!json_is_integer(v))
                return 0;

        r = store_credential_check(db, caller, json_integer_value(v), type);
        if (r == -ENOENT)
                snprintf(msg, sizeof msg, "Credential %" PRIi64 " not found", (int64_t) json_integer_value(v));
        else if (r == -EMEDIUMTYPE)
                snprintf(msg, sizeof msg, "Credential %" PRIi64 " is not a%s %s credential",
                         (int64_t) json_integer_value(v), streq(type, "llm") ? "n" : "", type);
        else
                return r;

        error_append(errors, "config", field, "value_error", msg);
        return 0;
}

static int check_config(Db *db, const StoreCaller *caller, json_t *config, const char *component_type, json_t *errors) {
        _cleanup_json_ json_t *config_errors = json_array();
        const char *credential_type = NULL;
        json_t *e, *response_format;
        size_t i;
        int r;

        if (!config_errors)
                return -ENOMEM;

        /* Same checks as any body, reported under "config". */
        (void) json_check_fields(config, config_fields, ELEMENTSOF(config_fields), config_errors);
        json_array_foreach(config_errors, i, e) {
                json_t *loc = json_object_get(e, "loc");

                if (json_array_insert_new(loc, 1, json_string("config")) < 0 ||
                    json_array_append(errors, e) < 0)
                        return -ENOMEM;
        }

        response_format = json_object_get(config, "response_format");
        if (response_format && !json_is_null(response_format) && !json_is_object(response_format) &&
            !json_is_string(response_format))
                error_append(errors, "config", "response_format", "value_error",
                             "Input should be a valid dictionary or string");

        check_json_size(config, "extra_config", errors);
        check_json_size(config, "trigger_config", errors);

        /* Settings the node type does not keep are dropped, so their references do not matter. */
        if (node_type_keeps_llm_config(component_type)) {
                r = check_credential(db, caller, config, "llm_credential_id", "llm", errors);
                if (r < 0)
                        return r;
        }
        if (node_type_keeps_credential(component_type, &credential_type)) {
                r = check_credential(db, caller, config, "credential_id", credential_type, errors);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int check_subworkflow(Db *db, const StoreCaller *caller, json_t *node, json_t *errors) {
        json_t *v = json_object_get(node, "subworkflow_id");
        char msg[96];
        int r;

        if (!json_is_integer(v))
                return 0;

        r = store_workflow_check_visible(db, caller, json_integer_value(v));
        if (r != -ENOENT)
                return r;

        snprintf(msg, sizeof msg, "Workflow %" PRIi64 " not found", (int64_t) json_integer_value(v));
        error_append(errors, "subworkflow_id", NULL, "value_error", msg);
        return 0;
}

/* On update, component_type and node_id may be sent back as they are, never changed. */
static void check_unchanged(json_t *node, json_t *current, const char *field, json_t *errors) {
        json_t *v = json_object_get(node, field);
        char msg[64];

        if (!v || json_equal(v, json_object_get(current, field)))
                return;

        snprintf(msg, sizeof msg, "%s cannot be changed", field);
        error_append(errors, field, NULL, "value_error", msg);
}

int node_body_check(Db *db, const StoreCaller *caller, json_t *node, json_t *current, json_t *errors) {
        size_t before = json_array_size(errors);
        const char *component_type;
        json_t *config;
        int r;

        if (!current) {
                const char *node_id;

                (void) json_check_fields(node, node_create_fields, ELEMENTSOF(node_create_fields), errors);

                component_type = json_get_string(node, "component_type", NULL);
                if (component_type && strlen(component_type) <= COMPONENT_TYPE_MAX &&
                    !isempty(component_type) && !node_type_find(component_type)) {
                        _cleanup_free_ char *msg = NULL;

                        if (asprintf(&msg, "Unknown component type '%s'", component_type) < 0)
                                return -ENOMEM;
                        error_append(errors, "component_type", NULL, "value_error", msg);
                }

                node_id = json_get_string(node, "node_id", NULL);
                if (node_id && !node_id_is_valid(node_id))
                        error_append(errors, "node_id", NULL, "string_pattern_mismatch",
                                     "String should match pattern '^[A-Za-z0-9_-]{1,64}$'");
        } else {
                (void) json_check_fields(node, node_update_fields, ELEMENTSOF(node_update_fields), errors);
                check_unchanged(node, current, "component_type", errors);
                check_unchanged(node, current, "node_id", errors);
                component_type = json_get_string(current, "component_type", NULL);
        }

        r = check_subworkflow(db, caller, node, errors);
        if (r < 0)
                return r;

        config = json_object_get(node, "config");
        if (json_is_object(config)) {
                r = check_config(db, caller, config, component_type, errors);
                if (r < 0)
                        return r;
        }

        return (int) (json_array_size(errors) - before);
}
