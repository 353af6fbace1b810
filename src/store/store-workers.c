/* Dedicated workers in the database: the workflows asking for one. (Taking back the node runs
 * of a worker that went away is store_node_runs_recover().) */

#include <errno.h>

#include "common/json-util.h"
#include "store/store-workers.h"

int store_workflows_with_worker(Db *db, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;
        /* A cheap filter first; the settings are read properly by the caller. */
        r = db_query(db, &res,
                     "SELECT id, slug, is_active, settings FROM workflows WHERE settings LIKE '%\"worker\"%' "
                     "ORDER BY id", 0, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++) {
                json_t *settings = json_loads(db_result_get(res, i, 3) ?: "{}", 0, NULL);

                if (json_array_append_new(list, json_pack("{s:I, s:s, s:b, s:o}", "id",
                                                          (json_int_t) db_result_get_int64(res, i, 0), "slug",
                                                          db_result_get(res, i, 1) ?: "", "is_active",
                                                          db_result_get_bool(res, i, 2), "settings",
                                                          settings ?: json_object())) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(list);
        return 0;
}
