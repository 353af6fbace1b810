/* POST|GET /api/v1/webhooks/{slug}/{path}: the webhook trigger (docs/api.md "Webhooks").
 *
 * No API key: the trigger's secret protects it, presented as X-Pipelit-Secret or as an
 * HMAC-SHA256 of the body in X-Pipelit-Signature. The execution runs as the workflow's
 * owner. In sync mode the request is deferred until the execution ends (or its timeout),
 * woken by the execution watches of the server. */

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <strings.h>

#include "api/execution-watch.h"
#include "api/router.h"
#include "api/webhook-secret.h"
#include "api/server.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "engine/graph-cache.h"
#include "store/store-executions.h"
#include "store/store-nodes.h"

#define WEBHOOK_TRIGGER "trigger_webhook"
#define SECRET_HEADER "x-pipelit-secret"
#define SIGNATURE_HEADER "x-pipelit-signature"
#define SIGNATURE_PREFIX "sha256="
#define SYNC_TIMEOUT_DEFAULT 30
#define SYNC_TIMEOUT_MAX 300
#define WEBHOOK_PATH_MAX 1024

/* Headers that carry credentials: never stored in the payload. */
static const char *const hidden_headers[] = {
        "authorization", "proxy-authorization", "cookie", "x-auth-token", SECRET_HEADER, SIGNATURE_HEADER,
};

static const StoreCaller anyone = { .is_admin = true };

/* The trigger's path from the path parameters p1/p2/p3 ("a/b/c"); NULL on OOM. */
static char *webhook_path(const HttpRequest *req) {
        static const char *const parts[] = { "p1", "p2", "p3" };
        char *path = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&path, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                const char *v = http_request_param(req, parts[i]);

                if (v)
                        fprintf(f, "%s%s", i > 0 ? "/" : "", v);
        }
        if (fclose(f) != 0) {
                free(path);
                return NULL;
        }
        return path;
}

/* extra_config.path without slashes at either end equals path. */
static bool path_matches(const char *configured, const char *path) {
        size_t n;

        if (!configured)
                return false;
        while (*configured == '/')
                configured++;
        n = strlen(configured);
        while (n > 0 && configured[n - 1] == '/')
                n--;
        return n > 0 && strlen(path) == n && strncmp(configured, path, n) == 0;
}

typedef struct Webhook {
        int64_t workflow_id, owner_id;
        json_t *node;           /* NodeOut of the trigger */
        CachedGraph *graph;     /* the graph it was found in; NULL without an engine */
} Webhook;

static void webhook_done(Webhook *w) {
        json_decref(w->node);
        cached_graph_unref(w->graph);
}

static json_t *node_extra_config(json_t *node) {
        return json_object_get(json_object_get(node, "config"), "extra_config");
}

/* The active webhook trigger of nodes for path, the highest priority one when several
 * match (borrowed); NULL when none. */
static json_t *webhook_node_best(json_t *nodes, const char *path) {
        json_t *node, *best = NULL;
        size_t i;

        json_array_foreach(nodes, i, node) {
                json_t *config = json_object_get(node, "config");

                if (!streq(json_get_string(node, "component_type", ""), WEBHOOK_TRIGGER) ||
                    !json_get_bool(config, "is_active", true) ||
                    !path_matches(json_get_string(node_extra_config(node), "path", NULL), path))
                        continue;
                if (!best || json_get_integer(config, "priority", 0) >
                                     json_get_integer(json_object_get(best, "config"), "priority", 0))
                        best = node;
        }
        return best;
}

/* The workflow slug and its nodes: from the engine's graph cache, which reads them again
 * only after they changed (*ret_graph: the cached graph, for the start), or from the
 * database when the engine does not run (*ret_graph stays NULL). */
static int webhook_graph(Manager *m, const char *slug, json_t **ret_workflow, json_t **ret_nodes,
                         CachedGraph **ret_graph) {
        _cleanup_json_ json_t *workflow = NULL, *nodes = NULL;
        int64_t id;
        int r;

        if (m->engine) {
                _cleanup_(cached_graph_unrefp) CachedGraph *graph = NULL;

                r = graph_cache_get_by_slug(engine_graph_cache(m->engine), m->db, slug, &graph);
                if (r < 0)
                        return r;
                /* References of their own: they outlive the graph they come from. */
                *ret_workflow = json_incref(graph->workflow);
                *ret_nodes = json_incref(graph->nodes);
                *ret_graph = TAKE_PTR(graph);
                return 0;
        }

        r = store_workflow_find(m->db, &anyone, slug, &id);
        if (r >= 0)
                r = store_workflow_get(m->db, id, false, &workflow);
        if (r >= 0)
                r = store_nodes_list_with_secrets(m->db, id, &nodes);
        if (r < 0)
                return r;
        *ret_workflow = TAKE_PTR(workflow);
        *ret_nodes = TAKE_PTR(nodes);
        return 0;
}

/* The active workflow slug and its active webhook trigger for path (the highest priority
 * one when several match). -ENOENT when any of it is missing or inactive. */
static int webhook_find(Manager *m, const char *slug, const char *path, Webhook *ret) {
        _cleanup_json_ json_t *workflow = NULL, *nodes = NULL;
        _cleanup_(cached_graph_unrefp) CachedGraph *graph = NULL;
        json_t *best;
        int r;

        if (!workflow_slug_is_valid(slug))
                return -ENOENT;
        r = webhook_graph(m, slug, &workflow, &nodes, &graph);
        if (r < 0)
                return r;
        if (!json_get_bool(workflow, "is_active", true))
                return -ENOENT;
        best = webhook_node_best(nodes, path);
        if (!best)
                return -ENOENT;

        *ret = (Webhook) {
                .workflow_id = json_get_integer(workflow, "id", 0),
                .owner_id = json_get_integer(workflow, "owner_id", 0),
                .node = json_incref(best),
                .graph = TAKE_PTR(graph),
        };
        return 0;
}

/* "sha256=<hex>" is the HMAC-SHA256 of the body keyed with secret. */
static bool signature_valid(const char *header, const char *secret, const char *body, size_t body_len) {
        unsigned char expected[crypto_auth_hmacsha256_BYTES], given[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state state;
        size_t given_len = 0;
        const char *hex;
        bool ok;

        if (strncasecmp(header, SIGNATURE_PREFIX, strlen(SIGNATURE_PREFIX)) != 0)
                return false;
        hex = header + strlen(SIGNATURE_PREFIX);
        if (strlen(hex) != 2 * sizeof given ||
            sodium_hex2bin(given, sizeof given, hex, strlen(hex), NULL, &given_len, NULL) < 0 ||
            given_len != sizeof given)
                return false;

        crypto_auth_hmacsha256_init(&state, (const unsigned char *) secret, strlen(secret));
        crypto_auth_hmacsha256_update(&state, (const unsigned char *) (body ?: ""), body_len);
        crypto_auth_hmacsha256_final(&state, expected);
        ok = sodium_memcmp(expected, given, sizeof given) == 0;
        sodium_memzero(&state, sizeof state);
        return ok;
}

/* A trigger without a secret is open; else the caller shows the secret or signs the body. */
static bool webhook_authorized(const HttpRequest *req, const char *secret) {
        _cleanup_free_ char *given = NULL, *signature = NULL;

        if (isempty(secret))
                return true;
        given = http_request_header(req, SECRET_HEADER);
        if (given && streq_consttime(given, secret))
                return true;
        signature = http_request_header(req, SIGNATURE_HEADER);
        return signature && signature_valid(signature, secret, req->body, req->body_len);
}

/* application/json, or any type/subtype+json, whatever the parameters. */
static bool content_type_is_json(const char *content_type) {
        size_t n;

        if (!content_type)
                return false;
        n = strcspn(content_type, ";");
        while (n > 0 && content_type[n - 1] == ' ')
                n--;
        return (n == strlen("application/json") && strncasecmp(content_type, "application/json", n) == 0) ||
               (n > 5 && strncasecmp(content_type + n - 5, "+json", 5) == 0);
}

/* The body parsed when it is JSON, else as text; NULL (resp filled) when it is neither
 * JSON nor UTF-8 text. */
static json_t *webhook_body(const HttpRequest *req, HttpResponse *resp) {
        json_t *body;

        if (req->body_len == 0)
                return json_null();
        if (content_type_is_json(req->content_type)) {
                body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL);
                if (body)
                        return body;
        }
        body = json_stringn(req->body, req->body_len);
        if (!body)
                http_reply_error(resp, 415, "The body must be JSON or UTF-8 text.");
        return body;
}

/* {method, path, query, headers, body}, the credentials left out of headers. */
static json_t *webhook_payload(const HttpRequest *req, HttpResponse *resp, const char *path) {
        _cleanup_json_ json_t *query = NULL, *headers = NULL, *body = NULL;

        body = webhook_body(req, resp);
        if (!body)
                return NULL;
        query = http_request_query_object(req);
        headers = http_request_headers(req);
        if (!query || !headers)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(hidden_headers); i++)
                (void) json_object_del(headers, hidden_headers[i]);
        return json_pack("{s:s, s:s, s:O, s:O, s:O}", "method", http_method_to_string(req->method), "path", path,
                         "query", query, "headers", headers, "body", body);
}

/* What a sync webhook answers once the execution has ended: 200 {execution_id, status,
 * output, error, error_code}; while it still runs: 202 {execution_id, status}. */
static int webhook_result(Db *db, const char *execution_id, int *ret_status, json_t **ret) {
        _cleanup_json_ json_t *status = NULL;
        ExecutionStatus s;
        int r;

        r = store_execution_status(db, &anyone, execution_id, &status);
        if (r < 0)
                return r;
        s = execution_status_from_string(json_get_string(status, "status", ""));
        if (s < 0 || execution_status_is_live(s)) {
                *ret_status = 202;
                *ret = json_pack("{s:s, s:O}", "execution_id", execution_id, "status", json_object_get(status, "status"));
        } else {
                *ret_status = 200;
                *ret = json_pack("{s:s, s:O, s:O, s:O, s:O}", "execution_id", execution_id,
                                 "status", json_object_get(status, "status"),
                                 "output", json_object_get(status, "final_output") ?: json_null(),
                                 "error", json_object_get(status, "error_message") ?: json_null(),
                                 "error_code", json_object_get(status, "error_code") ?: json_null());
        }
        return *ret ? 0 : -ENOMEM;
}

/* --- Sync mode ------------------------------------------------------------------------------ */

typedef struct SyncWait {
        Manager *manager;
        HttpDeferred *deferred;
} SyncWait;

/* The answer webhook_result() would read, from the event that ended the execution; false
 * when the event does not say (or the execution was never created: then 404). */
static bool webhook_result_from_event(const char *execution_id, json_t *event, int *ret_status, json_t **ret) {
        static const struct {
                const char *type, *status;
        } endings[] = {
                { "execution_completed", "completed" },
                { "execution_failed", "failed" },
                { "execution_cancelled", "cancelled" },
        };
        const char *type = json_get_string(event, "type", NULL);
        json_t *data = json_object_get(event, "data");

        if (!type || !json_is_object(data))
                return false;
        if (streq(type, "execution_failed") && streq(json_get_string(data, "error_code", ""), "not_started")) {
                *ret_status = 404;
                *ret = json_pack("{s:s}", "detail", "Webhook not found.");
                return true;
        }
        for (size_t i = 0; i < ELEMENTSOF(endings); i++)
                if (streq(type, endings[i].type)) {
                        *ret_status = 200;
                        *ret = json_pack("{s:s, s:s, s:O, s:O, s:O}", "execution_id", execution_id,
                                         "status", endings[i].status,
                                         "output", json_object_get(data, "output") ?: json_null(),
                                         "error", json_object_get(data, "error") ?: json_null(),
                                         "error_code", json_object_get(data, "error_code") ?: json_null());
                        return true;
                }
        return false;
}

static void sync_wait_done(const char *execution_id, ExecutionWatchReason reason, json_t *event, void *userdata) {
        SyncWait *w = userdata;
        json_t *answer = NULL;
        int status = 500, r;

        /* Nobody to tell (the client left), or the daemon exits. */
        if (reason == EXECUTION_WATCH_ABORTED || !http_deferred_client_waiting(w->deferred)) {
                http_deferred_complete(w->deferred, 503, NULL);
                free(w);
                return;
        }

        if (webhook_result_from_event(execution_id, event, &status, &answer)) {
                http_deferred_complete(w->deferred, status, answer);
                free(w);
                return;
        }

        r = webhook_result(w->manager->db, execution_id, &status, &answer);
        if (r == -ENOENT && reason == EXECUTION_WATCH_TIMEOUT) {
                /* Not created yet (engine_execute_later()): the workers are that busy. */
                status = 202;
                answer = json_pack("{s:s, s:s}", "execution_id", execution_id, "status", "pending");
        } else if (r == -ENOENT) {
                /* Its creation failed: the workflow went away meanwhile. */
                status = 404;
                answer = json_pack("{s:s}", "detail", "Webhook not found.");
        } else if (r < 0) {
                log_error_errno(r, "Cannot read execution %s for its webhook: %m", execution_id);
                status = 500;
                answer = json_pack("{s:s}", "detail", "Internal Server Error");
        }
        http_deferred_complete(w->deferred, status, answer);
        free(w);
}

/* Answers when the execution ends, or 202 after timeout_seconds. The execution is created
 * on a worker meanwhile (engine_execute_later()): it cannot end before the watch is
 * registered, since its events reach this thread only after this handler returns. */
static int webhook_run_sync(HttpRequest *req, HttpResponse *resp, const EngineRequest *run, int64_t timeout_seconds) {
        ExecutionWatch *watch = server_execution_watch(req->manager->server);
        _cleanup_free_ SyncWait *w = NULL;
        _cleanup_free_ char *error = NULL;
        char id[EXECUTION_ID_LEN + 1];
        ExecutionWatcher *watcher;
        int r;

        if (!watch)
                return -EOPNOTSUPP;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->manager = req->manager;

        r = engine_execute_later(req->manager->engine, req->manager->db, run, id, &error);
        if (r == -EINVAL)
                return http_reply_error(resp, 422, "%s", error ?: "The workflow cannot run.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Webhook not found.");
        if (r < 0)
                return r;

        r = execution_watch_add(watch, id, (usec_t) timeout_seconds * 1000000, sync_wait_done, w, &watcher);
        if (r < 0)
                return r;
        w->deferred = http_defer(req, resp);
        if (!w->deferred) {
                execution_watcher_remove(watcher);
                return -ENOMEM;
        }
        TAKE_PTR(w);
        return 0;
}

/* --- The endpoint --------------------------------------------------------------------------- */

static int webhook_receive(HttpRequest *req, HttpResponse *resp) {
        _cleanup_(webhook_done) Webhook hook = {};
        _cleanup_json_ json_t *payload = NULL;
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_erase_ char *secret = NULL;
        char id[EXECUTION_ID_LEN + 1];
        Manager *m = req->manager;
        EngineRequest run;
        json_t *config;
        int64_t timeout;
        int r;

        path = webhook_path(req);
        if (!path)
                return -ENOMEM;
        r = strlen(path) > WEBHOOK_PATH_MAX ? -ENOENT
                                             : webhook_find(m, http_request_param(req, "slug") ?: "", path, &hook);
        /* Unknown, inactive and someone else's look the same. */
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Webhook not found.");
        if (r < 0)
                return r;

        config = node_extra_config(hook.node);
        r = webhook_secret_open(m->vault, json_get_string(config, "secret", NULL), &secret);
        if (r < 0) {
                log_error_errno(r, "The secret of webhook '%s' of workflow %" PRIi64 " does not open: %m",
                                json_get_string(hook.node, "node_id", ""), hook.workflow_id);
                return http_reply_error(resp, 401, "Webhook authentication failed.");
        }
        /* Whether the secret or the signature was wrong, or missing, is not said. */
        if (!webhook_authorized(req, secret))
                return http_reply_error(resp, 401, "Webhook authentication failed.");

        payload = webhook_payload(req, resp, path);
        if (!payload)
                return resp->status ? 0 : -ENOMEM;
        if (!m->engine)
                return http_reply_error(resp, 503, "The execution engine is not running.");

        run = (EngineRequest) {
                .workflow_id = hook.workflow_id,
                .user_id = hook.owner_id,
                .trigger_node_id = json_get_string(hook.node, "node_id", NULL),
                .trigger_payload = payload,
                .graph = hook.graph,
        };
        if (streq(json_get_string(config, "response_mode", "async"), "sync")) {
                timeout = json_get_integer(config, "sync_timeout_seconds", SYNC_TIMEOUT_DEFAULT);
                if (timeout < 1)
                        timeout = SYNC_TIMEOUT_DEFAULT;
                return webhook_run_sync(req, resp, &run, MIN(timeout, SYNC_TIMEOUT_MAX));
        }

        r = engine_execute(m->engine, m->db, &run, id, &error);
        if (r == -EINVAL)
                return http_reply_error(resp, 422, "%s", error ?: "The workflow cannot run.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Webhook not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 202, json_pack("{s:s, s:s}", "execution_id", id, "status", "pending"));
}

/* The trigger's path has one to three segments. */
const Route webhook_routes[] = {
        { HTTP_POST, "/api/v1/webhooks/{slug}/{p1}/", webhook_receive, AUTH_NONE },
        { HTTP_GET, "/api/v1/webhooks/{slug}/{p1}/", webhook_receive, AUTH_NONE },
        { HTTP_POST, "/api/v1/webhooks/{slug}/{p1}/{p2}/", webhook_receive, AUTH_NONE },
        { HTTP_GET, "/api/v1/webhooks/{slug}/{p1}/{p2}/", webhook_receive, AUTH_NONE },
        { HTTP_POST, "/api/v1/webhooks/{slug}/{p1}/{p2}/{p3}/", webhook_receive, AUTH_NONE },
        { HTTP_GET, "/api/v1/webhooks/{slug}/{p1}/{p2}/{p3}/", webhook_receive, AUTH_NONE },
        {},
};
