/* One HTTP request as the handlers see it, and the response they fill in.
 *
 * The server (server.c) reads the whole request, the router (router.c) matches the path,
 * authenticates and calls the handler on the I/O thread. A handler fills the response with
 * http_reply_json() or http_reply_error() and returns 0, or returns a negative errno for an
 * unexpected failure (the router answers 500 and logs it). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

typedef struct Manager Manager;

typedef enum HttpMethod {
        HTTP_GET,
        HTTP_POST,
        HTTP_PUT,
        HTTP_PATCH,
        HTTP_DELETE,
        HTTP_HEAD,
        HTTP_OPTIONS,
        _HTTP_METHOD_MAX,
        _HTTP_METHOD_INVALID = -22,
} HttpMethod;

const char *http_method_to_string(HttpMethod m);
HttpMethod http_method_from_string(const char *s);

typedef enum UserRole {
        USER_ROLE_NORMAL,
        USER_ROLE_ADMIN,
        _USER_ROLE_MAX,
        _USER_ROLE_INVALID = -22,
} UserRole;

const char *user_role_to_string(UserRole r);
UserRole user_role_from_string(const char *s);

/* The authenticated caller, filled by auth.c before the handler runs. */
typedef struct AuthUser {
        int64_t id;
        char *username;
        UserRole role;
        int64_t key_id;
} AuthUser;

#define HTTP_MAX_PATH_PARAMS 4

typedef struct HttpRequest {
        Manager *manager;
        void *connection;      /* the server's, for http_request_header() and http_defer() */
        HttpMethod method;
        char *path;            /* percent-decoded, without the query string */
        char *query;           /* query string (no '?'), each name and value percent-encoded
                                * anew by the server, or NULL */
        char *authorization;   /* the Authorization header, or NULL */
        char *content_type;
        char *peer;            /* "127.0.0.1" or "unix" */
        char *body;            /* NUL-terminated */
        size_t body_len;

        /* Filled by the router from {name} segments of the route pattern. */
        char *param_names[HTTP_MAX_PATH_PARAMS];
        char *param_values[HTTP_MAX_PATH_PARAMS];
        size_t n_params;

        AuthUser user;         /* valid when the route requires authentication */
        bool authenticated;
} HttpRequest;

typedef struct HttpResponse {
        int status;
        json_t *json;          /* owned; serialised by the server */
        char *body;            /* owned raw body, used when json is NULL */
        size_t body_len;
        const char *content_type;
        char *location;        /* optional Location header */
        char *allow;           /* Allow header of a 405 */
        bool deferred;         /* set by http_defer(): answered later */
        /* For the UI's files (ui-files.c); the API's answers are never cached. */
        const char *cache_control;    /* instead of no-store */
        const char *content_encoding; /* "gzip" for a precompressed file */
        char *etag;
        bool vary_encoding;    /* Vary: Accept-Encoding */
        bool page;             /* an HTML page: sent with its framing and content rules */
        bool omit_body;        /* HEAD: the body's headers without the body */
} HttpResponse;

/* Path parameter {name} of the matched route, or NULL. */
const char *http_request_param(const HttpRequest *req, const char *name);
/* Decoded value of query parameter name (malloc'ed), or NULL when absent. */
char *http_request_query(const HttpRequest *req, const char *name);
/* Every query parameter, decoded: {name: value}, or {name: [value, …]} for a name given
 * more than once. NULL on OOM. */
json_t *http_request_query_object(const HttpRequest *req);

/* Implemented by the server (server.c), which keeps the request's headers until it is
 * answered; they are valid in the handler. */

/* The value of header name (any case) as sent, malloc'ed, or NULL when absent. */
char *http_request_header(const HttpRequest *req, const char *name);
/* The headers the server can list, {lowercase name: value}: every standard header and
 * the common webhook headers named in server.c. (libwebsockets cannot enumerate headers
 * it does not know; http_request_header() still reads them by name.) NULL on OOM. */
json_t *http_request_headers(const HttpRequest *req);

/* Answering later: a handler calls http_defer(), keeps the handle, returns 0 without
 * filling resp, and later (from any callback on the I/O thread) calls
 * http_deferred_complete() exactly once. The request counts as in flight until then, so a
 * stopping daemon waits for it. When the client went away first, completing does nothing
 * but release the handle. */
typedef struct HttpDeferred HttpDeferred;

/* NULL when the request cannot be deferred (no connection, already deferred) or on OOM. */
HttpDeferred *http_defer(HttpRequest *req, HttpResponse *resp);
/* Answers status with json (taken, may be NULL) and releases d. */
void http_deferred_complete(HttpDeferred *d, int status, json_t *json);
/* True while the client still waits for the answer. */
bool http_deferred_client_waiting(const HttpDeferred *d);

/* Takes ownership of json (which may be NULL for an empty body). */
int http_reply_json(HttpResponse *resp, int status, json_t *json);
/* {"detail": "<message>"} */
int http_reply_error(HttpResponse *resp, int status, const char *format, ...) _printf_(3, 4);
/* {"detail": <detail>}, taking ownership of detail (a list of validation errors, …). */
int http_reply_detail(HttpResponse *resp, int status, json_t *detail);
/* 204 No Content */
int http_reply_no_content(HttpResponse *resp);

/* Parses the body as a JSON object. On failure fills resp with 400 (malformed JSON, with
 * line and column) or 422 (not an object) and returns NULL. The caller owns the result. */
json_t *http_request_json_object(const HttpRequest *req, HttpResponse *resp);

typedef struct JsonField JsonField;

/* The body as a JSON object whose fields pass json_check_fields(fields); otherwise fills
 * resp (400 malformed, 422 with one entry per bad field) and returns NULL — or returns NULL
 * with resp untouched when memory ran out. The caller owns the result. */
json_t *http_request_checked_object(const HttpRequest *req, HttpResponse *resp,
                                    const JsonField *fields, size_t n_fields);

/* Most items one batch delete names. */
#define HTTP_BATCH_MAX 1000

/* The body of a batch delete, {field: [...]}: the list required, of strings (of integers
 * when integers is true), at most HTTP_BATCH_MAX items. Otherwise as
 * http_request_checked_object(): resp filled (400, 422) and NULL, or NULL with resp
 * untouched when memory ran out. The caller owns the result. */
json_t *http_request_batch_body(const HttpRequest *req, HttpResponse *resp, const char *field, bool integers);

/* Integer query parameter name, def when absent; on a value that is not an integer from min
 * to max fills resp with 422 naming the parameter and returns -EINVAL. */
int http_request_query_int(const HttpRequest *req, HttpResponse *resp, const char *name, int64_t def,
                           int64_t min, int64_t max, int64_t *ret);

/* limit (default 50, 1..1000) and offset (default 0, >= 0) from the query string; on a bad
 * value fills resp with 422 naming the parameter and returns -EINVAL. */
int http_request_pagination(const HttpRequest *req, HttpResponse *resp, int64_t *ret_limit,
                            int64_t *ret_offset);

/* {"items": items, "total": total}, taking ownership of items. */
int http_reply_page(HttpResponse *resp, json_t *items, int64_t total);

void http_request_done(HttpRequest *req);
void http_response_done(HttpResponse *resp);
