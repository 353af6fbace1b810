/* Endpoints without authentication: health and the node type registry. */

#include <errno.h>

#include "api/router.h"
#include "daemon/manager.h"
#include "engine/node-types.h"

static int get_health(HttpRequest *req, HttpResponse *resp) {
        Db *db = req->manager->db;
        bool db_ok = db_query(db, NULL, "SELECT 1", 0, NULL) >= 0;

        return http_reply_json(resp, db_ok ? 200 : 503,
                               json_pack("{s:s,s:s,s:s,s:s,s:s}",
                                         "status", db_ok ? "ok" : "degraded",
                                         "version", PACKAGE_VERSION,
                                         "database", db_ok ? "ok" : "error",
                                         "database_backend", db_backend_to_string(db_backend(db)),
                                         "broker", "local"));
}

static int get_node_types(HttpRequest *req, HttpResponse *resp) {
        json_t *types = node_types_to_json();

        if (!types)
                return -ENOMEM;
        return http_reply_json(resp, 200, types);
}

const Route misc_routes[] = {
        { HTTP_GET, "/health", get_health, AUTH_NONE },
        { HTTP_GET, "/api/v1/workflows/node-types/", get_node_types, AUTH_NONE },
        {},
};
