/* Request accessors and response builders shared by every handler. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "api/http.h"
#include "common/json-util.h"

static const char *const method_names[_HTTP_METHOD_MAX] = {
        [HTTP_GET] = "GET",       [HTTP_POST] = "POST",   [HTTP_PUT] = "PUT",
        [HTTP_PATCH] = "PATCH",   [HTTP_DELETE] = "DELETE", [HTTP_HEAD] = "HEAD",
        [HTTP_OPTIONS] = "OPTIONS",
};

const char *http_method_to_string(HttpMethod m) {
        if (m < 0 || m >= _HTTP_METHOD_MAX)
                return NULL;
        return method_names[m];
}

HttpMethod http_method_from_string(const char *s) {
        for (int i = 0; s && i < _HTTP_METHOD_MAX; i++)
                if (streq(s, method_names[i]))
                        return (HttpMethod) i;
        return _HTTP_METHOD_INVALID;
}

const char *http_request_param(const HttpRequest *req, const char *name) {
        for (size_t i = 0; i < req->n_params; i++)
                if (streq(req->param_names[i], name))
                        return req->param_values[i];
        return NULL;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes %XX and '+' (as space) of a query component of length n. */
static char *query_decode(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+')
                        *o++ = ' ';
                else if (s[i] == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
                        *o++ = (char) (unhex(s[i + 1]) * 16 + unhex(s[i + 2]));
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

char *http_request_query(const HttpRequest *req, const char *name) {
        size_t name_len = strlen(name);

        for (const char *p = req->query; p && *p;) {
                const char *end = strchrnul(p, '&');
                const char *eq = memchr(p, '=', (size_t) (end - p));
                const char *key_end = eq ? eq : end;

                if ((size_t) (key_end - p) == name_len && strncmp(p, name, name_len) == 0)
                        return eq ? query_decode(eq + 1, (size_t) (end - eq - 1)) : strdup("");
                p = *end ? end + 1 : end;
        }
        return NULL;
}

/* Adds value under name, turning a repeated name's value into an array of them all. */
static int query_object_add(json_t *o, char *name, char *value) {
        _cleanup_free_ char *n = name, *v = value;
        json_t *old, *s;

        if (!n || !v)
                return -ENOMEM;
        s = json_string(v);
        if (!s)
                return -EINVAL;   /* not UTF-8: left out */
        old = json_object_get(o, n);
        if (!old)
                return json_object_set_new(o, n, s) < 0 ? -ENOMEM : 0;
        if (!json_is_array(old)) {
                json_t *a = json_pack("[O]", old);

                if (!a || json_object_set_new(o, n, a) < 0) {
                        json_decref(s);
                        return -ENOMEM;
                }
                old = a;
        }
        return json_array_append_new(old, s) < 0 ? -ENOMEM : 0;
}

json_t *http_request_query_object(const HttpRequest *req) {
        _cleanup_json_ json_t *o = json_object();

        if (!o)
                return NULL;
        for (const char *p = req->query; p && *p;) {
                const char *end = strchrnul(p, '&');
                const char *eq = memchr(p, '=', (size_t) (end - p));
                const char *key_end = eq ? eq : end;

                if (key_end > p &&
                    query_object_add(o, query_decode(p, (size_t) (key_end - p)),
                                     eq ? query_decode(eq + 1, (size_t) (end - eq - 1)) : strdup("")) == -ENOMEM)
                        return NULL;
                p = *end ? end + 1 : end;
        }
        return TAKE_PTR(o);
}

int http_reply_json(HttpResponse *resp, int status, json_t *json) {
        json_decref(resp->json);
        resp->status = status;
        resp->json = json;
        return 0;
}

int http_reply_detail(HttpResponse *resp, int status, json_t *detail) {
        return http_reply_json(resp, status, json_pack("{s:o}", "detail", detail));
}

int http_reply_error(HttpResponse *resp, int status, const char *format, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);
        return http_reply_detail(resp, status, json_string(buf));
}

int http_reply_no_content(HttpResponse *resp) {
        return http_reply_json(resp, 204, NULL);
}

int http_reply_page(HttpResponse *resp, json_t *items, int64_t total) {
        return http_reply_json(resp, 200, json_pack("{s:o,s:I}", "items", items, "total", (json_int_t) total));
}

json_t *http_request_json_object(const HttpRequest *req, HttpResponse *resp) {
        json_error_t error;
        json_t *json;

        if (!req->body || req->body_len == 0) {
                http_reply_error(resp, 400, "Request body is empty; a JSON object is expected.");
                return NULL;
        }
        json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
        if (!json) {
                enum json_error_code code = json_error_code(&error);
                const char *what = code == json_error_null_character ? "Strings must not contain NUL characters (\\u0000)"
                                 : code == json_error_numeric_overflow ? "Integer is out of range"
                                 : code == json_error_duplicate_key ? "Object has a duplicate key"
                                 : NULL;

                if (!what) {
                        http_reply_error(resp, 400, "Malformed JSON at line %i, column %i: %s", error.line,
                                         error.column, error.text);
                        return NULL;
                }
                /* Well-formed JSON that we cannot hold is a value error, not a syntax error. */
                char msg[160];

                snprintf(msg, sizeof msg, "%s (line %i, column %i)", what, error.line, error.column);
                http_reply_detail(resp, 422, json_pack("[{s:[s],s:s,s:s}]", "loc", "body", "msg", msg,
                                                       "type", "value_error"));
                return NULL;
        }
        if (!json_is_object(json)) {
                _cleanup_json_ json_t *errors = json_array();

                json_decref(json);
                json_array_append_new(errors, json_pack("{s:[s],s:s,s:s}", "loc", "body", "msg",
                                                        "Input should be a valid dictionary",
                                                        "type", "dict_type"));
                http_reply_detail(resp, 422, TAKE_PTR(errors));
                return NULL;
        }
        return json;
}

json_t *http_request_checked_object(const HttpRequest *req, HttpResponse *resp,
                                    const JsonField *fields, size_t n_fields) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL;

        body = http_request_json_object(req, resp);
        if (!body)
                return NULL;
        errors = json_array();
        if (!errors)
                return NULL;
        if (json_check_fields(body, fields, n_fields, errors) > 0) {
                http_reply_detail(resp, 422, TAKE_PTR(errors));
                return NULL;
        }
        return TAKE_PTR(body);
}

json_t *http_request_batch_body(const HttpRequest *req, HttpResponse *resp, const char *field, bool integers) {
        const JsonField fields[] = {
                { field, integers ? JSON_FIELD_ARRAY : JSON_FIELD_STRING_ARRAY, JSON_FIELD_REQUIRED },
        };
        _cleanup_json_ json_t *body = NULL, *errors = json_array();
        json_t *ids, *id;
        size_t i;

        if (!errors)
                return NULL;
        body = http_request_checked_object(req, resp, fields, ELEMENTSOF(fields));
        if (!body)
                return NULL;
        ids = json_object_get(body, field);
        if (json_array_size(ids) > HTTP_BATCH_MAX)
                json_error_append(errors, field, "too_long", "List should have at most 1000 items");
        else if (integers)
                json_array_foreach(ids, i, id)
                        if (!json_is_integer(id)) {
                                json_array_append_new(errors, json_pack("{s:[s, s, I], s:s, s:s}",
                                                                        "loc", "body", field, (json_int_t) i,
                                                                        "msg", "Input should be a valid integer",
                                                                        "type", "int_type"));
                                break;
                        }
        if (json_array_size(errors) > 0) {
                http_reply_detail(resp, 422, TAKE_PTR(errors));
                return NULL;
        }
        return TAKE_PTR(body);
}

int http_request_query_int(const HttpRequest *req, HttpResponse *resp, const char *name, int64_t def,
                           int64_t min, int64_t max, int64_t *ret) {
        _cleanup_free_ char *v = http_request_query(req, name);
        char *end;
        long long n;

        if (!v) {
                *ret = def;
                return 0;
        }
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end || n < min || n > max) {
                char msg[128];

                snprintf(msg, sizeof msg, "Input should be an integer from %lld to %lld",
                         (long long) min, (long long) max);
                http_reply_detail(resp, 422, json_pack("[{s:[s,s],s:s,s:s}]", "loc", "query", name,
                                                       "msg", msg, "type", "int_parsing"));
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

int http_request_pagination(const HttpRequest *req, HttpResponse *resp, int64_t *ret_limit,
                            int64_t *ret_offset) {
        int r;

        r = http_request_query_int(req, resp, "limit", 50, 1, 1000, ret_limit);
        if (r < 0)
                return r;
        return http_request_query_int(req, resp, "offset", 0, 0, INT64_MAX / 2, ret_offset);
}

void http_request_done(HttpRequest *req) {
        free(req->path);
        free(req->query);
        free(req->authorization);
        free(req->content_type);
        free(req->peer);
        free(req->body);
        for (size_t i = 0; i < req->n_params; i++) {
                free(req->param_names[i]);
                free(req->param_values[i]);
        }
        free(req->user.username);
        *req = (HttpRequest) {};
}

void http_response_done(HttpResponse *resp) {
        json_decref(resp->json);
        free(resp->body);
        free(resp->location);
        free(resp->allow);
        free(resp->etag);
        *resp = (HttpResponse) {};
}
