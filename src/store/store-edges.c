#include <errno.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

#define EDGE_COLUMNS "id, source_node_id, target_node_id, edge_type, edge_label, condition_value, priority"

enum {
        EDGE_COL_ID,
        EDGE_COL_SOURCE,
        EDGE_COL_TARGET,
        EDGE_COL_TYPE,
        EDGE_COL_LABEL,
        EDGE_COL_CONDITION_VALUE,
        EDGE_COL_PRIORITY,
};

static json_t *edge_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *e = json_object();

        /* Literal keys skip the UTF-8 check; a NULL value (out of memory) fails the set. */
        if (!e ||
            json_object_set_new_nocheck(e, "id", store_column_integer(r, row, EDGE_COL_ID)) < 0 ||
            json_object_set_new_nocheck(e, "source_node_id", store_column_string(r, row, EDGE_COL_SOURCE)) < 0 ||
            json_object_set_new_nocheck(e, "target_node_id", store_column_string(r, row, EDGE_COL_TARGET)) < 0 ||
            json_object_set_new_nocheck(e, "edge_type", store_column_string(r, row, EDGE_COL_TYPE)) < 0 ||
            json_object_set_new_nocheck(e, "edge_label", store_column_string(r, row, EDGE_COL_LABEL)) < 0 ||
            json_object_set_new_nocheck(e, "condition_value",
                                        store_column_string(r, row, EDGE_COL_CONDITION_VALUE)) < 0 ||
            json_object_set_new_nocheck(e, "priority", store_column_integer(r, row, EDGE_COL_PRIORITY)) < 0)
                return NULL;

        return TAKE_PTR(e);
}

int store_edges_list(Db *db, int64_t workflow_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *edges = NULL;
        char wf[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT " EDGE_COLUMNS " FROM workflow_edges WHERE workflow_id = ? ORDER BY id",
                      db_int(wf, workflow_id));
        if (r < 0)
                return r;

        edges = json_array();
        if (!edges)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(edges, edge_from_row(res, i)) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(edges);
        return 0;
}

int store_edge_get(Db *db, int64_t workflow_id, int64_t id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char wf[DB_INT_BUFSZ], id_text[DB_INT_BUFSZ];
        json_t *edge;
        int r;

        r = db_queryv(db, &res, "SELECT " EDGE_COLUMNS " FROM workflow_edges WHERE workflow_id = ? AND id = ?",
                      db_int(wf, workflow_id), db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        edge = edge_from_row(res, 0);
        if (!edge)
                return -ENOMEM;

        *ret = edge;
        return 0;
}

typedef struct EdgeValues {
        const char *source, *target, *type, *label, *condition_value, *priority;
        char priority_buf[DB_INT_BUFSZ];
} EdgeValues;

static int edge_values_fill(EdgeValues *v, json_t *edge) {
        *v = (EdgeValues) {
                .source = json_get_string(edge, "source_node_id", NULL),
                .target = json_get_string(edge, "target_node_id", NULL),
                .type = json_get_string(edge, "edge_type", "direct"),
                .label = json_get_string(edge, "edge_label", ""),
                .condition_value = json_get_string(edge, "condition_value", ""),
        };
        v->priority = db_int(v->priority_buf, json_get_integer(edge, "priority", 0));

        return v->source && v->target ? 0 : -EINVAL;
}

static bool edge_links_model(const EdgeValues *v) {
        return streq(v->label, "llm") && !streq(v->target, EDGE_END_NODE);
}

int store_edge_insert(Db *db, int64_t workflow_id, json_t *edge, int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char wf[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        EdgeValues v;
        int r;

        r = edge_values_fill(&v, edge);
        if (r < 0)
                return r;

        r = db_queryv(db, &res,
                      "INSERT INTO workflow_edges (workflow_id, source_node_id, target_node_id, edge_type, "
                      "edge_label, condition_value, priority, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                      db_int(wf, workflow_id), v.source, v.target, v.type, v.label, v.condition_value,
                      v.priority, timestamp_now(now));
        if (r < 0)
                return r;
        if (db_result_rows(res) != 1)
                return -EIO;

        if (edge_links_model(&v)) {
                r = store_node_link_model(db, workflow_id, v.target, v.source);
                if (r < 0)
                        return r;
        }

        if (ret_id)
                *ret_id = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_edge_create(Db *db, int64_t workflow_id, json_t *edge, json_t **ret) {
        int64_t id;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = store_edge_insert(db, workflow_id, edge, &id);
        if (r < 0)
                goto fail;

        r = store_workflow_touch(db, workflow_id);
        if (r < 0)
                goto fail;

        r = db_commit(db);
        if (r < 0)
                goto fail;

        return store_edge_get(db, workflow_id, id, ret);

fail:
        (void) db_rollback(db);
        return r;
}

/* Undoes the model link of an edge being removed or redirected, if it made one. */
static int edge_unlink_model(Db *db, int64_t workflow_id, json_t *old) {
        EdgeValues v;

        if (edge_values_fill(&v, old) < 0 || !edge_links_model(&v))
                return 0;

        return store_node_unlink_model(db, workflow_id, v.target, v.source);
}

int store_edge_update(Db *db, int64_t workflow_id, int64_t id, json_t *edge, json_t **ret) {
        _cleanup_json_ json_t *old = NULL;
        char wf[DB_INT_BUFSZ], id_text[DB_INT_BUFSZ];
        EdgeValues v;
        int r;

        r = edge_values_fill(&v, edge);
        if (r < 0)
                return r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = store_edge_get(db, workflow_id, id, &old);
        if (r < 0)
                goto fail;

        r = db_queryv(db, NULL,
                      "UPDATE workflow_edges SET source_node_id = ?, target_node_id = ?, edge_type = ?, "
                      "edge_label = ?, condition_value = ?, priority = ? WHERE workflow_id = ? AND id = ?",
                      v.source, v.target, v.type, v.label, v.condition_value, v.priority,
                      db_int(wf, workflow_id), db_int(id_text, id));
        if (r < 0)
                goto fail;

        r = edge_unlink_model(db, workflow_id, old);
        if (r < 0)
                goto fail;

        if (edge_links_model(&v)) {
                r = store_node_link_model(db, workflow_id, v.target, v.source);
                if (r < 0)
                        goto fail;
        }

        r = store_workflow_touch(db, workflow_id);
        if (r < 0)
                goto fail;

        r = db_commit(db);
        if (r < 0)
                goto fail;

        return store_edge_get(db, workflow_id, id, ret);

fail:
        (void) db_rollback(db);
        return r;
}

int store_edge_delete(Db *db, int64_t workflow_id, int64_t id) {
        _cleanup_json_ json_t *old = NULL;
        char wf[DB_INT_BUFSZ], id_text[DB_INT_BUFSZ];
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = store_edge_get(db, workflow_id, id, &old);
        if (r < 0)
                goto fail;

        r = db_queryv(db, NULL, "DELETE FROM workflow_edges WHERE workflow_id = ? AND id = ?",
                      db_int(wf, workflow_id), db_int(id_text, id));
        if (r < 0)
                goto fail;

        r = edge_unlink_model(db, workflow_id, old);
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
