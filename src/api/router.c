/* Route matching: split the path into segments, compare with each pattern, prefer the
 * pattern with the most literal segments (so "/workflows/import/" wins over
 * "/workflows/{slug}/"), then authenticate and call the handler. */

#include <errno.h>
#include <stdio.h>

#include "api/auth.h"
#include "api/router.h"
#include "common/log.h"

#define MAX_SEGMENTS 16

static const Route *const route_tables[] = {
        misc_routes, auth_routes, mfa_routes, user_routes, workflow_routes, node_routes, edge_routes, execution_routes,
        chat_routes, chat_history_routes, webhook_routes, credential_routes,
        usage_routes, schedule_routes,
};

typedef struct Segments {
        const char *start[MAX_SEGMENTS];
        size_t len[MAX_SEGMENTS];
        size_t n;
} Segments;

/* Splits "/a/b/c/" into a, b, c. Returns -E2BIG for too many segments. */
static int split_path(const char *path, Segments *ret) {
        Segments s = {};

        for (const char *p = path; *p;) {
                const char *end;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                end = strchrnul(p, '/');
                if (s.n >= MAX_SEGMENTS)
                        return -E2BIG;
                s.start[s.n] = p;
                s.len[s.n] = (size_t) (end - p);
                s.n++;
                p = end;
        }
        *ret = s;
        return 0;
}

/* Returns the number of literal segments when path matches pattern, -1 otherwise. Walks
 * the pattern as it compares, so that most patterns are ruled out at their first segments
 * without being split. */
static int match_pattern(const Segments *path, const char *pattern) {
        int literals = 0;

        for (size_t i = 0;; i++) {
                const char *end;
                size_t len;

                while (*pattern == '/')
                        pattern++;
                if (!*pattern)
                        return i == path->n ? literals : -1;
                if (i >= path->n)
                        return -1;
                end = strchrnul(pattern, '/');
                len = (size_t) (end - pattern);
                if (pattern[0] != '{') {
                        if (len != path->len[i] || memcmp(pattern, path->start[i], len) != 0)
                                return -1;
                        literals++;
                }
                pattern = end;
        }
}

static int bind_params(HttpRequest *req, const Segments *path, const char *pattern) {
        Segments pat;

        (void) split_path(pattern, &pat);
        for (size_t i = 0; i < pat.n; i++) {
                if (pat.start[i][0] != '{')
                        continue;
                if (req->n_params >= HTTP_MAX_PATH_PARAMS)
                        return -E2BIG;
                size_t k = req->n_params;

                /* The name is the pattern text between the braces. */
                req->param_names[k] = strndup(pat.start[i] + 1, pat.len[i] - 2);
                req->param_values[k] = strndup(path->start[i], path->len[i]);
                req->n_params++;
                if (!req->param_names[k] || !req->param_values[k])
                        return -ENOMEM;
        }
        return 0;
}

static void reply_method_not_allowed(HttpResponse *resp, unsigned allowed) {
        char allow[128] = "";

        for (int m = 0; m < _HTTP_METHOD_MAX; m++)
                if (allowed & (1u << m)) {
                        if (allow[0])
                                strcat(allow, ", ");
                        strcat(allow, http_method_to_string(m));
                }
        http_reply_error(resp, 405, "Method Not Allowed");
        free(resp->allow);
        resp->allow = strdup(allow);
}

void router_dispatch(HttpRequest *req, HttpResponse *resp) {
        const Route *best = NULL;
        unsigned allowed = 0;
        int best_score = -1, r;
        Segments path;

        if (split_path(req->path, &path) < 0) {
                http_reply_error(resp, 404, "Not Found");
                return;
        }

        /* The most specific patterns win whatever their method ("/workflows/import/" over
         * "/workflows/{slug}/"); among those, the method picks the route or answers 405. */
        for (size_t t = 0; t < ELEMENTSOF(route_tables); t++)
                for (const Route *route = route_tables[t]; route->pattern; route++) {
                        int score = match_pattern(&path, route->pattern);

                        if (score < 0 || score < best_score)
                                continue;
                        if (score > best_score) {
                                best_score = score;
                                best = NULL;
                                allowed = 0;
                        }
                        allowed |= 1u << route->method;
                        if (route->method == req->method)
                                best = route;
                }

        if (!best) {
                if (allowed)
                        reply_method_not_allowed(resp, allowed);
                else
                        http_reply_error(resp, 404, "Not Found");
                return;
        }

        r = bind_params(req, &path, best->pattern);
        if (r < 0) {
                http_reply_error(resp, 500, "Internal Server Error");
                return;
        }

        if (best->auth != AUTH_NONE) {
                r = auth_authenticate(req);
                if (r == -EACCES) {
                        http_reply_error(resp, 401, "Not authenticated.");
                        return;
                }
                if (r < 0) {
                        log_error_errno(r, "Authentication failed for %s: %m", req->path);
                        http_reply_error(resp, 500, "Internal Server Error");
                        return;
                }
                req->authenticated = true;
                if (best->auth == AUTH_ADMIN && req->user.role != USER_ROLE_ADMIN) {
                        http_reply_error(resp, 403, "Admin access required.");
                        return;
                }
        }

        r = best->handler(req, resp);
        if (r < 0) {
                log_error_errno(r, "%s %s failed: %m", http_method_to_string(req->method), req->path);
                http_reply_error(resp, 500, "Internal Server Error");
        } else if (resp->status == 0 && !resp->deferred) {
                log_error("%s %s produced no response", http_method_to_string(req->method), req->path);
                http_reply_error(resp, 500, "Internal Server Error");
        }
}
