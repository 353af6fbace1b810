#include <errno.h>

#include "common/json-util.h"
#include "store/store-workflow-catalog.h"
#include "store/store-workflows.h"

enum { CAT_ID, CAT_SLUG, CAT_NAME, CAT_DESCRIPTION, CAT_TAGS, CAT_TYPE };

int store_workflow_catalog(Db *db, int64_t workflow_id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *items = json_array(), *no_tags = json_array();
        char id[DB_INT_BUFSZ];
        json_t *current = NULL;
        int64_t current_id = 0;
        int r;

        if (!items || !no_tags)
                return -ENOMEM;
        r = db_queryv(db, &res, "SELECT id FROM workflows WHERE id = ?", db_int(id, workflow_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        res = db_result_free(res);

        /* One row per workflow and node type; a workflow without nodes has one with NULL. */
        r = db_queryv(db, &res,
                      "SELECT DISTINCT w.id, w.slug, w.name, w.description, w.tags, n.component_type "
                      "FROM workflows me JOIN workflows w ON w.owner_id = me.owner_id "
                      "LEFT JOIN workflow_nodes n ON n.workflow_id = w.id "
                      "WHERE me.id = ? AND w.is_active = TRUE ORDER BY w.id, n.component_type",
                      db_int(id, workflow_id));
        if (r < 0)
                return r;
        for (size_t row = 0; row < db_result_rows(res); row++) {
                int64_t wid = db_result_get_int64(res, row, CAT_ID);

                if (!current || wid != current_id) {
                        current = json_pack("{s:o, s:o, s:o, s:o, s:[]}",
                                            "slug", store_column_string(res, row, CAT_SLUG),
                                            "name", store_column_string(res, row, CAT_NAME),
                                            "description", store_column_string(res, row, CAT_DESCRIPTION),
                                            "tags", store_column_json(res, row, CAT_TAGS, no_tags),
                                            "node_types");
                        if (!current || json_array_append_new(items, current) < 0)
                                return -ENOMEM;
                        current_id = wid;
                }
                if (!db_result_is_null(res, row, CAT_TYPE) &&
                    json_array_append_new(json_object_get(current, "node_types"),
                                          store_column_string(res, row, CAT_TYPE)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(items);
        return 0;
}

int store_workflow_owner(Db *db, int64_t workflow_id, StoreCaller *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "SELECT u.id, u.role, u.is_active FROM workflows w JOIN users u ON u.id = w.owner_id "
                      "WHERE w.id = ?", db_int(id, workflow_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        if (!db_result_get_bool(res, 0, 2))
                return -EPERM;
        *ret = (StoreCaller) {
                .user_id = db_result_get_int64(res, 0, 0),
                .is_admin = streq_ptr(db_result_get(res, 0, 1), "admin"),
        };
        return 0;
}
