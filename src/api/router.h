/* Maps method + path to a handler. Patterns are literal segments and {name} parameters,
 * e.g. "/api/v1/workflows/{slug}/nodes/{node_id}/"; a trailing slash is optional on both
 * sides. An unknown path answers 404, a known path with another method 405 (with Allow).
 * Routes with AUTH_USER or AUTH_ADMIN get the caller authenticated first (401 without a
 * valid key, 403 for a non-admin on an admin route). */
#pragma once

#include "api/http.h"

typedef int (*HttpHandler)(HttpRequest *req, HttpResponse *resp);

typedef enum RouteAuth {
        AUTH_NONE,
        AUTH_USER,
        AUTH_ADMIN,
} RouteAuth;

typedef struct Route {
        HttpMethod method;
        const char *pattern;
        HttpHandler handler;
        RouteAuth auth;
} Route;

/* Each resource file exports its table, ended by a zeroed entry. */
extern const Route auth_routes[];
extern const Route mfa_routes[];
extern const Route user_routes[];
extern const Route workflow_routes[];
extern const Route node_routes[];
extern const Route edge_routes[];
extern const Route execution_routes[];
extern const Route chat_routes[];
extern const Route chat_history_routes[];
extern const Route webhook_routes[];
extern const Route credential_routes[];
extern const Route usage_routes[];
extern const Route schedule_routes[];
extern const Route misc_routes[];

/* Dispatches req; always leaves a response in resp. */
void router_dispatch(HttpRequest *req, HttpResponse *resp);
