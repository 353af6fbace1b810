/* http_request: sends one HTTP request with libcurl.
 *
 * extra_config: method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS; default GET), url
 * (http:// or https:// only, also across redirects), headers (object), body (text is sent as
 * is, any other JSON value as JSON; both are labelled application/json when they are a JSON
 * object or array and the headers name no Content-Type), timeout (seconds,
 * default 30), fail_on_error (default false: an HTTP error status is a response like any
 * other; true: a status >= 400 fails the node), allow_private_network (default true; false
 * refuses connections to loopback, private and link-local addresses, checked on each
 * connection after DNS and across redirects: the agent's http_request tool sets it from its
 * node, since a model chooses its URLs).
 *
 * Output: {"response": {"status", "headers": {lower-case name: value}, "body"}}, the body
 * parsed when the response says it is JSON, else text. Responses over 10 MiB fail the node.
 * The transfer is driven in short steps so that a cancel or the execution's deadline
 * aborts it within about 100 ms. Network failures fail with error_code "http". */

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/net-guard.h"

#define HTTP_TIMEOUT_DEFAULT_SEC 30
#define HTTP_TIMEOUT_MAX_SEC (24 * 3600)
#define HTTP_RESPONSE_MAX ((size_t) 10 * 1024 * 1024)
#define HTTP_POLL_MSEC 100
#define HTTP_MAX_REDIRECTS 5
#define HTTP_ERROR_BODY_MAX 500

#ifdef PACKAGE_VERSION
#define HTTP_USER_AGENT "pipelit/" PACKAGE_VERSION
#else
#define HTTP_USER_AGENT "pipelit"
#endif

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

typedef struct HttpResponse {
        char *body;
        size_t body_size, allocated;
        size_t limit;           /* bytes of body and headers together */
        size_t headers_size;
        bool too_large;
        bool refused_private;   /* a connection to a private address was refused */
        json_t *headers;
} HttpResponse;

static void http_response_done(HttpResponse *r) {
        free(r->body);
        json_decref(r->headers);
}

static size_t http_on_body(char *data, size_t size, size_t n, void *userdata) {
        HttpResponse *r = userdata;
        size_t len = size * n;

        if (r->body_size + r->headers_size + len > r->limit) {
                r->too_large = true;
                return 0; /* aborts the transfer */
        }
        if (r->body_size + len + 1 > r->allocated) {
                size_t allocated = MAX(MAX(r->allocated * 2, r->body_size + len + 1), (size_t) 4096);
                char *body = realloc(r->body, allocated);

                if (!body)
                        return 0;
                r->body = body;
                r->allocated = allocated;
        }
        memcpy(r->body + r->body_size, data, len);
        r->body_size += len;
        r->body[r->body_size] = '\0';
        return len;
}

static size_t http_on_header(char *data, size_t size, size_t n, void *userdata) {
        HttpResponse *r = userdata;
        size_t len = size * n, name_len;
        _cleanup_free_ char *name = NULL;
        const char *colon, *value, *end;
        json_t *previous, *v;

        r->headers_size += len;
        if (r->body_size + r->headers_size > r->limit) {
                r->too_large = true;
                return 0;
        }

        /* A status line starts the headers of a new response (after a redirect or a
         * 100 Continue): only the last response's headers are kept. */
        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                json_object_clear(r->headers);
                return len;
        }

        colon = memchr(data, ':', len);
        if (!colon || colon == data)
                return len;
        name_len = (size_t) (colon - data);
        name = strndup(data, name_len);
        if (!name)
                return 0;
        for (char *p = name; *p; p++)
                *p = (char) tolower((unsigned char) *p);

        value = colon + 1;
        end = data + len;
        while (value < end && (*value == ' ' || *value == '\t'))
                value++;
        while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;

        previous = json_object_get(r->headers, name);
        if (json_is_string(previous)) {
                _cleanup_free_ char *joined = NULL;

                if (asprintf(&joined, "%s, %.*s", json_string_value(previous), (int) (end - value), value) < 0)
                        return 0;
                v = json_string(joined);
        } else
                v = json_stringn(value, (size_t) (end - value));
        /* A header that is not UTF-8 is left out rather than failing the request. */
        if (v && json_object_set_new(r->headers, name, v) < 0)
                return 0;
        return len;
}

/* Opens the socket of a connection unless its address is private (allow_private_network
 * false). */
static curl_socket_t http_open_public_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *address) {
        HttpResponse *r = userdata;

        if (purpose == CURLSOCKTYPE_IPCXN && net_address_is_private(&address->addr, address->addrlen)) {
                r->refused_private = true;
                return CURL_SOCKET_BAD;
        }
        return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static bool header_token_valid(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s))
                        return false;
        return true;
}

/* The request headers as a curl list; fails the run on a bad name or value. */
static int http_build_headers(NodeRun *run, bool json_body, struct curl_slist **ret) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *list = NULL;
        json_t *headers = node_run_setting(run, "headers"), *value;
        bool has_content_type = false;
        const char *name;

        if (headers && !json_is_object(headers))
                return node_run_fail_config(run, "headers must be an object of name: value");

        json_object_foreach(headers, name, value) {
                _cleanup_free_ char *text = NULL, *line = NULL;
                struct curl_slist *l;

                if (json_is_null(value))
                        continue;
                if (!header_token_valid(name))
                        return node_run_fail_config(run, "'%s' is not a valid header name", name);
                text = json_is_string(value) ? strdup(json_string_value(value)) :
                        json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!text)
                        return node_run_fail_oom(run);
                if (strpbrk(text, "\r\n"))
                        return node_run_fail_config(run, "The value of header '%s' contains a line break", name);
                /* "Name;" is how curl sends a header with an empty value. */
                if (asprintf(&line, *text ? "%s: %s" : "%s;", name, text) < 0)
                        return node_run_fail_oom(run);
                l = curl_slist_append(list, line);
                if (!l)
                        return node_run_fail_oom(run);
                list = l;
                if (strcasecmp(name, "content-type") == 0)
                        has_content_type = true;
        }

        if (json_body && !has_content_type) {
                struct curl_slist *l = curl_slist_append(list, "Content-Type: application/json");

                if (!l)
                        return node_run_fail_oom(run);
                list = l;
        }

        *ret = TAKE_PTR(list);
        return 0;
}

/* Whether a text body is a JSON object or array, as a template like {{ x | tojson }}
 * renders it: such a body is labelled JSON unless the headers say otherwise. */
static bool string_is_json_document(const char *text, size_t n) {
        size_t skip = strspn(text, " \t\r\n");
        bool document;
        json_t *v;

        if (skip >= n || (text[skip] != '{' && text[skip] != '['))
                return false;
        v = json_loadb(text + skip, n - skip, 0, NULL);
        document = v != NULL;
        json_decref(v);
        return document;
}

static bool url_scheme_allowed(const char *url) {
        return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static bool content_type_is_json(json_t *headers) {
        const char *type = json_get_string(headers, "content-type", NULL);

        _cleanup_free_ char *media_type = NULL;

        if (!type)
                return false;
        /* application/json, application/problem+json, …, whatever its parameters say. */
        media_type = strndup(type, strcspn(type, ";"));
        return media_type && strcasestr(media_type, "json");
}

static json_t *http_response_body(HttpResponse *response) {
        const char *data = response->body ?: "";

        if (content_type_is_json(response->headers) && response->body_size > 0) {
                json_t *parsed = json_loadb(data, response->body_size, JSON_DECODE_ANY, NULL);

                if (parsed)
                        return parsed;
        }
        return json_string_from_bytes(data, response->body_size);
}

static int http_fail_status(NodeRun *run, long status, HttpResponse *response) {
        size_t n = MIN(response->body_size, (size_t) HTTP_ERROR_BODY_MAX);
        _cleanup_json_ json_t *excerpt = json_string_from_bytes(response->body ?: "", n);
        int r;

        r = node_run_fail(run, "http", "The server answered with HTTP status %ld%s%s%s", status,
                          json_string_length(excerpt) > 0 ? ": " : "",
                          json_string_value(excerpt) ?: "",
                          response->body_size > n ? "…" : "");
        /* Client errors repeat; server errors and rate limits may pass on another try. */
        run->retryable = status >= 500 || status == 429 || status == 408;
        return r;
}

static int http_fail_transfer(NodeRun *run, CURLcode code, const char *errbuf, double timeout_sec) {
        if (code == CURLE_OPERATION_TIMEDOUT)
                return node_run_fail(run, "http", "The request timed out after %.15g s", timeout_sec);
        if (code == CURLE_UNSUPPORTED_PROTOCOL)
                return node_run_fail_config(run, "Only http:// and https:// URLs are allowed (%s)",
                                            isempty(errbuf) ? curl_easy_strerror(code) : errbuf);
        if (code == CURLE_URL_MALFORMAT)
                return node_run_fail_config(run, "The URL is not valid (%s)",
                                            isempty(errbuf) ? curl_easy_strerror(code) : errbuf);
        if (code == CURLE_TOO_MANY_REDIRECTS)
                return node_run_fail(run, "http", "More than %d redirects", HTTP_MAX_REDIRECTS);
        return node_run_fail(run, "http", "The request failed: %s%s%s%s", curl_easy_strerror(code),
                             isempty(errbuf) ? "" : " (", errbuf ?: "", isempty(errbuf) ? "" : ")");
}

/* Runs the transfer in steps, checking between them whether the run must stop. Returns the
 * transfer's result, or -ECANCELED when it was abandoned. */
static int http_perform(NodeRun *run, CURL *easy, CURLcode *ret) {
        CURLM *multi = curl_multi_init();
        int running = 1, r = 0;
        CURLMsg *msg;
        int left;

        if (!multi)
                return -ENOMEM;
        if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
                curl_multi_cleanup(multi);
                return -ENOMEM;
        }

        *ret = CURLE_OK;
        for (;;) {
                if (curl_multi_perform(multi, &running) != CURLM_OK) {
                        r = -EIO;
                        break;
                }
                if (!running)
                        break;
                if (node_run_should_stop(run)) {
                        r = -ECANCELED;
                        break;
                }
                if (curl_multi_poll(multi, NULL, 0, HTTP_POLL_MSEC, NULL) != CURLM_OK) {
                        r = -EIO;
                        break;
                }
        }

        while (r == 0 && (msg = curl_multi_info_read(multi, &left)))
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
                        *ret = msg->data.result;

        curl_multi_remove_handle(multi, easy);
        curl_multi_cleanup(multi);
        return r;
}

static int http_settings(NodeRun *run, const char **ret_method, const char **ret_url, double *ret_timeout) {
        static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" };
        const char *method = node_run_setting_string(run, "method", "GET");
        const char *url = node_run_setting_string(run, "url", NULL);
        bool known = false;

        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcasecmp(method, methods[i]) == 0) {
                        method = methods[i];
                        known = true;
                }
        if (!known)
                return node_run_fail_config(run, "Unknown HTTP method '%s'", method);

        if (isempty(url))
                return node_run_fail_config(run, "The request has no URL");
        if (!url_scheme_allowed(url))
                return node_run_fail_config(run, "Only http:// and https:// URLs are allowed");
        if (strpbrk(url, " \r\n\t"))
                return node_run_fail_config(run, "The URL contains white space");

        if (node_run_setting_number(run, "timeout", HTTP_TIMEOUT_DEFAULT_SEC, ret_timeout) < 0 ||
            !(*ret_timeout > 0) || *ret_timeout > HTTP_TIMEOUT_MAX_SEC)
                return node_run_fail_config(run, "timeout must be a number of seconds between 1 and %d",
                                            HTTP_TIMEOUT_MAX_SEC);

        *ret_method = method;
        *ret_url = url;
        return 0;
}

int component_http_request(NodeRun *run) {
        _cleanup_(http_response_done) HttpResponse response = {};
        _cleanup_(curl_easy_cleanupp) CURL *easy = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *body_json = NULL;
        json_t *body = node_run_setting(run, "body"), *result_body, *output;
        char errbuf[CURL_ERROR_SIZE] = "";
        const char *method = NULL, *url = NULL, *payload = NULL;
        size_t payload_size = 0;
        bool json_body = false;
        double timeout_sec;
        CURLcode code;
        long status = 0;
        int r;

        r = http_settings(run, &method, &url, &timeout_sec);
        if (r < 0)
                return r;

        if (json_is_string(body)) {
                payload = json_string_value(body);
                payload_size = json_string_length(body);
                json_body = string_is_json_document(payload, payload_size);
        } else if (body) {
                body_json = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!body_json)
                        return node_run_fail_oom(run);
                payload = body_json;
                payload_size = strlen(body_json);
                json_body = true;
        }

        r = http_build_headers(run, json_body, &headers);
        if (r < 0)
                return r;

        if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_result != CURLE_OK)
                return node_run_fail(run, "internal", "libcurl could not be initialised");

        response.limit = run->max_output_size > 0 ? MIN(run->max_output_size, HTTP_RESPONSE_MAX) : HTTP_RESPONSE_MAX;
        response.headers = json_object();
        easy = curl_easy_init();
        if (!response.headers || !easy)
                return node_run_fail_oom(run);

        if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long) HTTP_MAX_REDIRECTS) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) llround(timeout_sec * 1000)) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_USERAGENT, HTTP_USER_AGENT) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_on_body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_on_header) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HEADERDATA, &response) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK)
                return node_run_fail(run, "internal", "libcurl does not support a needed option");
        if (!node_run_setting_bool(run, "allow_private_network", true) &&
            (curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, http_open_public_socket) != CURLE_OK ||
             curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &response) != CURLE_OK ||
             /* A proxy from the environment would be the only address checked. */
             curl_easy_setopt(easy, CURLOPT_PROXY, "") != CURLE_OK))
                return node_run_fail(run, "internal", "libcurl does not support a needed option");

        /* POST stays a plain POST (curl then follows a 303 with a GET, as browsers do); the
         * other methods are named, and POST, PUT and PATCH always send a body. */
        if (!payload && (streq(method, "POST") || streq(method, "PUT") || streq(method, "PATCH")))
                payload = "";
        if (streq(method, "HEAD"))
                code = curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        else if (streq(method, "GET") && !payload)
                code = curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        else if (streq(method, "POST"))
                code = CURLE_OK;
        else
                code = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
        if (code == CURLE_OK && payload && !streq(method, "HEAD")) {
                code = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) payload_size);
                if (code == CURLE_OK)
                        code = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, payload);
        }
        if (code != CURLE_OK)
                return node_run_fail(run, "internal", "libcurl: %s", curl_easy_strerror(code));

        r = http_perform(run, easy, &code);
        if (r == -ECANCELED)
                return node_run_fail_stopped(run);
        if (r < 0)
                return node_run_fail(run, "http", "The transfer failed: %s", strerror(-r));
        if (response.too_large) {
                r = node_run_fail(run, "limit", "The response is larger than %zu bytes", response.limit);
                run->retryable = false;
                return r;
        }
        if (code != CURLE_OK && response.refused_private) {
                r = node_run_fail(run, "http", "%s (or a redirect from it) leads to this host or a private "
                                  "network, which this request may not reach (allow_private_network is off)", url);
                run->retryable = false;
                return r;
        }
        if (code != CURLE_OK)
                return http_fail_transfer(run, code, errbuf, timeout_sec);

        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 400 && node_run_setting_bool(run, "fail_on_error", false))
                return http_fail_status(run, status, &response);

        result_body = http_response_body(&response);
        if (!result_body)
                return node_run_fail_oom(run);
        output = json_pack("{s:I, s:O, s:o}",
                           "status", (json_int_t) status,
                           "headers", response.headers,
                           "body", result_body);
        if (!output)
                return node_run_fail_oom(run);

        return node_run_output(run, "response", output);
}
