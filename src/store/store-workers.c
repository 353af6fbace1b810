/* Dedicated workers in the database: the workflows asking for one, and taking back the node
 * runs of a worker that went away. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/time-util.h"
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

static usec_t usec_from_text(const char *s) {
        usec_t t;

        return s && timestamp_parse(s, &t) >= 0 ? t : 0;
}

int store_node_runs_recover_execution(Db *db, const char *execution_id, RecoveredRun **ret, size_t *ret_n) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ RecoveredRun *runs = NULL;
        char now[TIMESTAMP_BUFSZ];
        size_t n;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        /* A run cut off mid-way runs again; the attempt it used stays counted. */
        r = db_queryv(db, NULL,
                      "UPDATE execution_nodes SET status = 'queued', updated_at = ? WHERE status = 'running' "
                      "AND execution_id IN (SELECT execution_id FROM executions WHERE execution_id = ? "
                      "AND status IN ('pending', 'running', 'interrupted'))",
                      timestamp_now(now), execution_id);
        if (r >= 0)
                r = db_queryv(db, &res,
                              "SELECT n.id, n.execution_id, n.run_after, e.deadline_at FROM execution_nodes n "
                              "JOIN executions e ON e.execution_id = n.execution_id "
                              "WHERE e.execution_id = ? AND e.status IN ('pending', 'running', 'interrupted') "
                              "AND n.status IN ('queued', 'paused', 'awaiting') ORDER BY n.id",
                              execution_id);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }

        n = db_result_rows(res);
        runs = calloc(n + 1, sizeof(RecoveredRun));
        if (!runs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                snprintf(runs[i].execution_id, sizeof runs[i].execution_id, "%s", db_result_get(res, i, 1));
                runs[i].node_run_id = db_result_get_int64(res, i, 0);
                runs[i].run_after = usec_from_text(db_result_get(res, i, 2));
                runs[i].deadline = usec_from_text(db_result_get(res, i, 3));
        }
        *ret = TAKE_PTR(runs);
        *ret_n = n;
        return 0;
}
