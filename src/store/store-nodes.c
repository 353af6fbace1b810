#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

bool node_id_is_valid(const char *node_id) {
        size_t n = 0;

        if (!node_id)
                return false;
        for (const char *p = node_id; *p; p++, n++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '-'))
                        return false;
        return n >= 1 && n <= NODE_ID_MAX;
}

bool node_type_keeps_llm_config(const char *component_type) {
        return streq_ptr(component_type, "ai_model");
}

bool node_type_keeps_trigger_config(const char *component_type) {
        return component_type && strncmp(component_type, "trigger_", strlen("trigger_")) == 0;
}

bool node_type_keeps_credential(const char *component_type, const char **ret_credential_type) {
        const char *type = NULL;
        bool keeps = node_type_keeps_trigger_config(component_type);

        if (streq_ptr(component_type, "web_search")) {
                type = "tool";
                keeps = true;
        }
        if (ret_credential_type)
                *ret_credential_type = type;
        return keeps;
}

#define NODE_COLUMNS                                                                            \
        "id, node_id, component_type, label, is_entry_point, interrupt_before, interrupt_after, " \
        "position_x, position_y, subworkflow_id, system_prompt, extra_config, llm_credential_id, " \
        "model_name, temperature, max_tokens, frequency_penalty, presence_penalty, top_p, "      \
        "timeout, max_retries, response_format, llm_model_config_id, credential_id, is_active, " \
        "priority, trigger_config, updated_at"

enum {
        NODE_COL_ID,
        NODE_COL_NODE_ID,
        NODE_COL_COMPONENT_TYPE,
        NODE_COL_LABEL,
        NODE_COL_IS_ENTRY_POINT,
        NODE_COL_INTERRUPT_BEFORE,
        NODE_COL_INTERRUPT_AFTER,
        NODE_COL_POSITION_X,
        NODE_COL_POSITION_Y,
        NODE_COL_SUBWORKFLOW_ID,
        NODE_COL_SYSTEM_PROMPT,
        NODE_COL_EXTRA_CONFIG,
        NODE_COL_LLM_CREDENTIAL_ID,
        NODE_COL_MODEL_NAME,
        NODE_COL_TEMPERATURE,
        NODE_COL_MAX_TOKENS,
        NODE_COL_FREQUENCY_PENALTY,
        NODE_COL_PRESENCE_PENALTY,
        NODE_COL_TOP_P,
        NODE_COL_TIMEOUT,
        NODE_COL_MAX_RETRIES,
        NODE_COL_RESPONSE_FORMAT,
        NODE_COL_LLM_MODEL_CONFIG_ID,
        NODE_COL_CREDENTIAL_ID,
        NODE_COL_IS_ACTIVE,
        NODE_COL_PRIORITY,
        NODE_COL_TRIGGER_CONFIG,
        NODE_COL_UPDATED_AT,
};

/* Canvas positions are usually whole numbers: answer them as integers, as they came. */
static json_t *position_from_column(const DbResult *r, size_t row, size_t col) {
        double d = db_result_get_double(r, row, col);

        if (isfinite(d) && d == trunc(d) && fabs(d) < 9007199254740992.0)
                return json_integer((json_int_t) d);
        return json_real(d);
}

/* A JSON object column: {} when SQL NULL or unreadable, a new one for each node. */
static json_t *column_json_object(const DbResult *r, size_t row, size_t col) {
        const char *text = db_result_get(r, row, col);
        json_t *v = NULL;

        if (text && !streq(text, "{}"))
                v = json_loads_or_null(text);
        return v ?: json_object();
}

/* Literal keys skip the UTF-8 check; a NULL value (out of memory) fails the set. */
static json_t *node_config_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *c = json_object();

        if (!c ||
            json_object_set_new_nocheck(c, "system_prompt", store_column_string(r, row, NODE_COL_SYSTEM_PROMPT)) < 0 ||
            json_object_set_new_nocheck(c, "extra_config", column_json_object(r, row, NODE_COL_EXTRA_CONFIG)) < 0 ||
            json_object_set_new_nocheck(c, "llm_credential_id",
                                        store_column_integer(r, row, NODE_COL_LLM_CREDENTIAL_ID)) < 0 ||
            json_object_set_new_nocheck(c, "model_name", store_column_string(r, row, NODE_COL_MODEL_NAME)) < 0 ||
            json_object_set_new_nocheck(c, "temperature", store_column_real(r, row, NODE_COL_TEMPERATURE)) < 0 ||
            json_object_set_new_nocheck(c, "max_tokens", store_column_integer(r, row, NODE_COL_MAX_TOKENS)) < 0 ||
            json_object_set_new_nocheck(c, "frequency_penalty",
                                        store_column_real(r, row, NODE_COL_FREQUENCY_PENALTY)) < 0 ||
            json_object_set_new_nocheck(c, "presence_penalty",
                                        store_column_real(r, row, NODE_COL_PRESENCE_PENALTY)) < 0 ||
            json_object_set_new_nocheck(c, "top_p", store_column_real(r, row, NODE_COL_TOP_P)) < 0 ||
            json_object_set_new_nocheck(c, "timeout", store_column_integer(r, row, NODE_COL_TIMEOUT)) < 0 ||
            json_object_set_new_nocheck(c, "max_retries", store_column_integer(r, row, NODE_COL_MAX_RETRIES)) < 0 ||
            json_object_set_new_nocheck(c, "response_format",
                                        store_column_json(r, row, NODE_COL_RESPONSE_FORMAT, NULL)) < 0 ||
            json_object_set_new_nocheck(c, "llm_model_config_id",
                                        store_column_string(r, row, NODE_COL_LLM_MODEL_CONFIG_ID)) < 0 ||
            json_object_set_new_nocheck(c, "credential_id", store_column_integer(r, row, NODE_COL_CREDENTIAL_ID)) < 0 ||
            json_object_set_new_nocheck(c, "is_active", store_column_bool(r, row, NODE_COL_IS_ACTIVE)) < 0 ||
            json_object_set_new_nocheck(c, "priority", store_column_integer(r, row, NODE_COL_PRIORITY)) < 0 ||
            json_object_set_new_nocheck(c, "trigger_config", column_json_object(r, row, NODE_COL_TRIGGER_CONFIG)) < 0)
                return NULL;

        return TAKE_PTR(c);
}

static json_t *node_from_row(const DbResult *r, size_t row);

/* A webhook trigger's secret never leaves the daemon through the API: answers, events and
 * exports show it as NODE_SECRET_MASK (docs/api.md). */
static int node_mask_secret(json_t *node) {
        json_t *extra = json_object_get(json_object_get(node, "config"), "extra_config");
        json_t *secret = json_object_get(extra, "secret");

        if (!streq_ptr(json_string_value(json_object_get(node, "component_type")), "trigger_webhook") ||
            !json_is_string(secret) || json_string_length(secret) == 0)
                return 0;
        return json_object_set_new(extra, "secret", json_string(NODE_SECRET_MASK));
}

static json_t *node_from_row_masked(const DbResult *r, size_t row, bool with_secrets) {
        _cleanup_json_ json_t *n = node_from_row(r, row);

        if (!n || (!with_secrets && node_mask_secret(n) < 0))
                return NULL;
        return TAKE_PTR(n);
}

static json_t *node_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *n = json_object();

        if (!n ||
            json_object_set_new_nocheck(n, "id", store_column_integer(r, row, NODE_COL_ID)) < 0 ||
            json_object_set_new_nocheck(n, "node_id", store_column_string(r, row, NODE_COL_NODE_ID)) < 0 ||
            json_object_set_new_nocheck(n, "component_type", store_column_string(r, row, NODE_COL_COMPONENT_TYPE)) < 0 ||
            json_object_set_new_nocheck(n, "label", store_column_string(r, row, NODE_COL_LABEL)) < 0 ||
            json_object_set_new_nocheck(n, "is_entry_point", store_column_bool(r, row, NODE_COL_IS_ENTRY_POINT)) < 0 ||
            json_object_set_new_nocheck(n, "interrupt_before",
                                        store_column_bool(r, row, NODE_COL_INTERRUPT_BEFORE)) < 0 ||
            json_object_set_new_nocheck(n, "interrupt_after", store_column_bool(r, row, NODE_COL_INTERRUPT_AFTER)) < 0 ||
            json_object_set_new_nocheck(n, "position_x", position_from_column(r, row, NODE_COL_POSITION_X)) < 0 ||
            json_object_set_new_nocheck(n, "position_y", position_from_column(r, row, NODE_COL_POSITION_Y)) < 0 ||
            json_object_set_new_nocheck(n, "subworkflow_id", store_column_integer(r, row, NODE_COL_SUBWORKFLOW_ID)) < 0 ||
            json_object_set_new_nocheck(n, "config", node_config_from_row(r, row)) < 0 ||
            json_object_set_new_nocheck(n, "updated_at", store_column_string(r, row, NODE_COL_UPDATED_AT)) < 0)
                return NULL;

        return TAKE_PTR(n);
}

static int nodes_list(Db *db, int64_t workflow_id, bool with_secrets, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *nodes = NULL;
        char wf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT " NODE_COLUMNS " FROM workflow_nodes WHERE workflow_id = ? ORDER BY id",
                      db_int(wf, workflow_id));
        if (r < 0)
                return r;

        nodes = json_array();
        if (!nodes)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(nodes, node_from_row_masked(res, i, with_secrets)) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(nodes);
        return 0;
}

int store_nodes_list(Db *db, int64_t workflow_id, json_t **ret) {
        return nodes_list(db, workflow_id, false, ret);
}

int store_nodes_list_with_secrets(Db *db, int64_t workflow_id, json_t **ret) {
        return nodes_list(db, workflow_id, true, ret);
}

int store_nodes_types(Db *db, int64_t workflow_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *types = NULL;
        char wf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT node_id, component_type FROM workflow_nodes WHERE workflow_id = ?",
                      db_int(wf, workflow_id));
        if (r < 0)
                return r;

        types = json_object();
        if (!types)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_object_set_new(types, db_result_get(res, i, 0),
                                        json_string(db_result_get(res, i, 1))) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(types);
        return 0;
}

int store_nodes_count(Db *db, int64_t workflow_id, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char wf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT COUNT(*) FROM workflow_nodes WHERE workflow_id = ?",
                      db_int(wf, workflow_id));
        if (r < 0)
                return r;

        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

static int node_get(Db *db, int64_t workflow_id, const char *node_id, bool with_secrets, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        json_t *node;
        char wf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT " NODE_COLUMNS " FROM workflow_nodes WHERE workflow_id = ? AND node_id = ?",
                      db_int(wf, workflow_id), node_id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        node = node_from_row_masked(res, 0, with_secrets);
        if (!node)
                return -ENOMEM;

        *ret = node;
        return 0;
}

int store_node_get(Db *db, int64_t workflow_id, const char *node_id, json_t **ret) {
        return node_get(db, workflow_id, node_id, false, ret);
}

int store_node_get_with_secrets(Db *db, int64_t workflow_id, const char *node_id, json_t **ret) {
        return node_get(db, workflow_id, node_id, true, ret);
}

/* The columns a node body sets, in the order of the INSERT and UPDATE statements below. */
#define NODE_VALUE_COLUMNS                                                                      \
        "label, is_entry_point, interrupt_before, interrupt_after, position_x, position_y, "    \
        "subworkflow_id, system_prompt, extra_config, llm_credential_id, model_name, "          \
        "temperature, max_tokens, frequency_penalty, presence_penalty, top_p, timeout, "        \
        "max_retries, response_format, llm_model_config_id, credential_id, is_active, "         \
        "priority, trigger_config"

enum {
        NV_LABEL,
        NV_IS_ENTRY_POINT,
        NV_INTERRUPT_BEFORE,
        NV_INTERRUPT_AFTER,
        NV_POSITION_X,
        NV_POSITION_Y,
        NV_SUBWORKFLOW_ID,
        NV_SYSTEM_PROMPT,
        NV_EXTRA_CONFIG,
        NV_LLM_CREDENTIAL_ID,
        NV_MODEL_NAME,
        NV_TEMPERATURE,
        NV_MAX_TOKENS,
        NV_FREQUENCY_PENALTY,
        NV_PRESENCE_PENALTY,
        NV_TOP_P,
        NV_TIMEOUT,
        NV_MAX_RETRIES,
        NV_RESPONSE_FORMAT,
        NV_LLM_MODEL_CONFIG_ID,
        NV_CREDENTIAL_ID,
        NV_IS_ACTIVE,
        NV_PRIORITY,
        NV_TRIGGER_CONFIG,
        _NV_MAX,
};

typedef struct NodeValues {
        const char *v[_NV_MAX];
        char buf[_NV_MAX][STORE_REAL_BUFSZ];
        char *owned[_NV_MAX];
} NodeValues;

static void node_values_done(NodeValues *nv) {
        for (size_t i = 0; i < _NV_MAX; i++)
                free(nv->owned[i]);
}

static void nv_string(NodeValues *nv, size_t i, json_t *obj, const char *key) {
        nv->v[i] = json_string_value(json_object_get(obj, key));
}

static void nv_integer(NodeValues *nv, size_t i, json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);

        nv->v[i] = json_is_integer(v) ? db_int(nv->buf[i], json_integer_value(v)) : NULL;
}

static void nv_integer_default(NodeValues *nv, size_t i, json_t *obj, const char *key, int64_t def) {
        nv->v[i] = db_int(nv->buf[i], json_get_integer(obj, key, def));
}

static void nv_real(NodeValues *nv, size_t i, json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);

        nv->v[i] = json_is_number(v) ? store_real(nv->buf[i], json_number_value(v)) : NULL;
}

static void nv_real_default(NodeValues *nv, size_t i, json_t *obj, const char *key, double def) {
        json_t *v = json_object_get(obj, key);

        nv->v[i] = store_real(nv->buf[i], json_is_number(v) ? json_number_value(v) : def);
}

static int nv_json(NodeValues *nv, size_t i, json_t *obj, const char *key, const char *def) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                nv->v[i] = def;
                return 0;
        }

        nv->owned[i] = json_dumps_compact(v);
        if (!nv->owned[i])
                return -ENOMEM;
        nv->v[i] = nv->owned[i];
        return 0;
}

static int node_values_fill(NodeValues *nv, const char *component_type, json_t *node) {
        json_t *config = json_object_get(node, "config");
        int r;

        *nv = (NodeValues) {};
        if (!json_is_object(config))
                config = NULL;

        nv_string(nv, NV_LABEL, node, "label");
        nv->v[NV_IS_ENTRY_POINT] = db_bool(json_get_bool(node, "is_entry_point", false));
        /* A confirmation node exists to stop before it runs. */
        nv->v[NV_INTERRUPT_BEFORE] = db_bool(streq(component_type, "human_confirmation") ||
                                             json_get_bool(node, "interrupt_before", false));
        nv->v[NV_INTERRUPT_AFTER] = db_bool(json_get_bool(node, "interrupt_after", false));
        nv_real_default(nv, NV_POSITION_X, node, "position_x", 0);
        nv_real_default(nv, NV_POSITION_Y, node, "position_y", 0);
        nv_integer(nv, NV_SUBWORKFLOW_ID, node, "subworkflow_id");

        nv_string(nv, NV_SYSTEM_PROMPT, config, "system_prompt");
        r = nv_json(nv, NV_EXTRA_CONFIG, config, "extra_config", "{}");
        if (r < 0)
                return r;
        nv_string(nv, NV_LLM_MODEL_CONFIG_ID, config, "llm_model_config_id");

        if (node_type_keeps_llm_config(component_type)) {
                nv_integer(nv, NV_LLM_CREDENTIAL_ID, config, "llm_credential_id");
                nv_string(nv, NV_MODEL_NAME, config, "model_name");
                nv_real(nv, NV_TEMPERATURE, config, "temperature");
                nv_integer(nv, NV_MAX_TOKENS, config, "max_tokens");
                nv_real(nv, NV_FREQUENCY_PENALTY, config, "frequency_penalty");
                nv_real(nv, NV_PRESENCE_PENALTY, config, "presence_penalty");
                nv_real(nv, NV_TOP_P, config, "top_p");
                nv_integer(nv, NV_TIMEOUT, config, "timeout");
                nv_integer(nv, NV_MAX_RETRIES, config, "max_retries");
                r = nv_json(nv, NV_RESPONSE_FORMAT, config, "response_format", NULL);
                if (r < 0)
                        return r;
        }

        if (node_type_keeps_credential(component_type, NULL))
                nv_integer(nv, NV_CREDENTIAL_ID, config, "credential_id");
        if (node_type_keeps_trigger_config(component_type)) {
                nv->v[NV_IS_ACTIVE] = db_bool(json_get_bool(config, "is_active", true));
                nv_integer_default(nv, NV_PRIORITY, config, "priority", 0);
                r = nv_json(nv, NV_TRIGGER_CONFIG, config, "trigger_config", "{}");
                if (r < 0)
                        return r;
        } else {
                nv->v[NV_IS_ACTIVE] = db_bool(true);
                nv->v[NV_PRIORITY] = "0";
                nv->v[NV_TRIGGER_CONFIG] = "{}";
        }

        return 0;
}

int store_node_insert(Db *db, int64_t workflow_id, json_t *node) {
        _cleanup_(node_values_done) NodeValues nv = {};
        const char *params[3 + _NV_MAX + 2];
        const char *node_id, *component_type;
        char wf[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        size_t n = 0;
        int r;

        node_id = json_get_string(node, "node_id", NULL);
        component_type = json_get_string(node, "component_type", NULL);
        if (!node_id || !component_type)
                return -EINVAL;

        r = node_values_fill(&nv, component_type, node);
        if (r < 0)
                return r;

        timestamp_now(now);
        params[n++] = db_int(wf, workflow_id);
        params[n++] = node_id;
        params[n++] = component_type;
        for (size_t i = 0; i < _NV_MAX; i++)
                params[n++] = nv.v[i];
        params[n++] = now;
        params[n++] = now;

        return db_query(db, NULL,
                        "INSERT INTO workflow_nodes (workflow_id, node_id, component_type, "
                        NODE_VALUE_COLUMNS ", created_at, updated_at) VALUES (?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        n, params);
}

int store_node_create(Db *db, int64_t workflow_id, json_t *node, json_t **ret) {
        int r;

        r = store_node_insert(db, workflow_id, node);
        if (r < 0)
                return r;

        r = store_workflow_touch(db, workflow_id);
        if (r < 0)
                return r;

        return store_node_get(db, workflow_id, json_string_value(json_object_get(node, "node_id")), ret);
}

int store_node_update(Db *db, int64_t workflow_id, const char *node_id, json_t *patch, json_t **ret) {
        static const char *const fields[] = {
                "label", "is_entry_point", "interrupt_before", "interrupt_after",
                "position_x", "position_y", "subworkflow_id",
        };
        _cleanup_(node_values_done) NodeValues nv = {};
        _cleanup_json_ json_t *node = NULL;
        const char *params[_NV_MAX + 3];
        char wf[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        json_t *patch_config;
        size_t n = 0;
        int r;

        /* What is stored, secret included: a patch that leaves it alone keeps it. */
        r = node_get(db, workflow_id, node_id, true, &node);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_t *value = json_object_get(patch, fields[i]);

                if (value && json_object_set(node, fields[i], value) < 0)
                        return -ENOMEM;
        }

        patch_config = json_object_get(patch, "config");
        if (json_is_object(patch_config) &&
            json_object_update(json_object_get(node, "config"), patch_config) < 0)
                return -ENOMEM;

        r = node_values_fill(&nv, json_string_value(json_object_get(node, "component_type")), node);
        if (r < 0)
                return r;

        for (size_t i = 0; i < _NV_MAX; i++)
                params[n++] = nv.v[i];
        params[n++] = timestamp_now(now);
        params[n++] = db_int(wf, workflow_id);
        params[n++] = node_id;

        r = db_query(db, NULL,
                     "UPDATE workflow_nodes SET label = ?, is_entry_point = ?, interrupt_before = ?, "
                     "interrupt_after = ?, position_x = ?, position_y = ?, subworkflow_id = ?, "
                     "system_prompt = ?, extra_config = ?, llm_credential_id = ?, model_name = ?, "
                     "temperature = ?, max_tokens = ?, frequency_penalty = ?, presence_penalty = ?, "
                     "top_p = ?, timeout = ?, max_retries = ?, response_format = ?, "
                     "llm_model_config_id = ?, credential_id = ?, is_active = ?, priority = ?, "
                     "trigger_config = ?, updated_at = ? WHERE workflow_id = ? AND node_id = ?",
                     n, params);
        if (r < 0)
                return r;

        r = store_workflow_touch(db, workflow_id);
        if (r < 0)
                return r;

        return store_node_get(db, workflow_id, node_id, ret);
}

int store_node_delete(Db *db, int64_t workflow_id, const char *node_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char wf[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        int r;

        db_int(wf, workflow_id);
        timestamp_now(now);

        r = db_begin(db);
        if (r < 0)
                return r;

        r = db_queryv(db, &res, "DELETE FROM workflow_nodes WHERE workflow_id = ? AND node_id = ? RETURNING id",
                      wf, node_id);
        if (r < 0)
                goto fail;
        if (db_result_rows(res) == 0) {
                r = -ENOENT;
                goto fail;
        }

        r = db_queryv(db, NULL,
                      "DELETE FROM workflow_edges WHERE workflow_id = ? "
                      "AND (source_node_id = ? OR target_node_id = ?)",
                      wf, node_id, node_id);
        if (r < 0)
                goto fail;

        r = db_queryv(db, NULL,
                      "UPDATE workflow_nodes SET llm_model_config_id = NULL, updated_at = ? "
                      "WHERE workflow_id = ? AND llm_model_config_id = ?",
                      now, wf, node_id);
        if (r < 0)
                goto fail;

        r = db_queryv(db, NULL, "DELETE FROM scheduled_jobs WHERE workflow_id = ? AND trigger_node_id = ?",
                      wf, node_id);
        if (r < 0)
                goto fail;

        r = store_workflow_touch(db, workflow_id);
        if (r < 0)
                goto fail;

        return db_commit(db);

fail:
        (void) db_rollback(db);
        return r;
}

int store_node_link_model(Db *db, int64_t workflow_id, const char *node_id, const char *model_node_id) {
        char wf[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];

        return db_queryv(db, NULL,
                         "UPDATE workflow_nodes SET llm_model_config_id = ?, updated_at = ? "
                         "WHERE workflow_id = ? AND node_id = ?",
                         model_node_id, timestamp_now(now), db_int(wf, workflow_id), node_id);
}

int store_node_unlink_model(Db *db, int64_t workflow_id, const char *node_id, const char *only_if) {
        char wf[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];

        return db_queryv(db, NULL,
                         "UPDATE workflow_nodes SET llm_model_config_id = NULL, updated_at = ? "
                         "WHERE workflow_id = ? AND node_id = ? AND llm_model_config_id = ?",
                         timestamp_now(now), db_int(wf, workflow_id), node_id, only_if);
}

int store_credential_check(Db *db, const StoreCaller *caller, int64_t id, const char *type) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT user_id, credential_type FROM credentials WHERE id = ?",
                      db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        if (!caller->is_admin && db_result_get_int64(res, 0, 0) != caller->user_id)
                return -ENOENT;
        if (type && !streq_ptr(db_result_get(res, 0, 1), type))
                return -EMEDIUMTYPE;

        return 0;
}
