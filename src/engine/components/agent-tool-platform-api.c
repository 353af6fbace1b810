/* The platform_api tool: the agent calls this daemon's own REST API as the owner of its
 * workflow. The model never holds a key: for each call the tool makes one for the owner,
 * valid for a minute and named "platform_api <execution id>", sends the request over
 * loopback (or the unix socket the daemon listens on) to where the server listens
 * (platform-link.h), and deletes the key again, whatever the answer.
 *
 * What the model may ask is limited here, before any key exists: paths under /api/v1/ only,
 * written plainly (no percent-escapes, no dot segments: the server would decode them into
 * paths these checks never saw); GET only, unless the tool node's extra_config.allow_write
 * is true; and never, whatever the setting, the login endpoints (/api/v1/auth/), API keys
 * (/api/v1/users/…/keys/), changes to user accounts (passwords, roles) or to credentials
 * (their secrets). Webhooks count as writes: a GET on one starts a run. */

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "engine/platform-link.h"
#include "store/store-api-keys.h"
#include "store/store-workflow-catalog.h"

#define API_PREFIX "/api/v1/"
#define PATH_MAX_LENGTH 2048
#define REQUEST_TIMEOUT_USEC (30ULL * 1000000ULL)
/* Long enough for the request, short enough that a key left behind by a crash is soon dead. */
#define KEY_LIFETIME_USEC (60ULL * 1000000ULL)
/* Read at most this much of an answer; the model gets at most RESULT_MAX characters. */
#define RESPONSE_READ_MAX (4U * 1024U * 1024U)
#define RESULT_MAX 20000
#define ERROR_MAX 2000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

static const char *const write_methods[] = { "POST", "PATCH", "PUT", "DELETE" };

/* The method in capitals, or NULL when it is none of GET and the write methods. */
static const char *method_known(const char *method) {
        if (strcasecmp(method, "GET") == 0)
                return "GET";
        for (size_t i = 0; i < ELEMENTSOF(write_methods); i++)
                if (strcasecmp(method, write_methods[i]) == 0)
                        return write_methods[i];
        return NULL;
}

/* Characters of a path segment as RFC 3986 allows them, but '%'. */
static bool path_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("-._~!$&'()*+,;=:@/", c);
}

/* Whether segment i (0: "api") of path is name, in any case. */
static bool segment_is(const char *path, unsigned i, const char *name) {
        const char *p = path + 1, *end;

        for (; i > 0; i--) {
                p = strchr(p, '/');
                if (!p)
                        return false;
                p++;
        }
        end = p + strcspn(p, "/?");
        return (size_t) (end - p) == strlen(name) && strncasecmp(p, name, end - p) == 0;
}

/* Why the request may not be made, or NULL. */
static const char *request_refusal(const char *method, const char *path, bool allow_write) {
        size_t n = strcspn(path, "?");
        bool write = !streq(method, "GET");

        if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
                return "The path must start with /api/v1/";
        if (strlen(path) > PATH_MAX_LENGTH)
                return "The path is too long";
        for (size_t i = 0; i < n; i++)
                if (!path_char_ok(path[i]))
                        return "The path may hold only letters, digits and -._~!$&'()*+,;=:@/ before its query "
                               "(no percent-escapes)";
        for (const char *q = path + n; *q; q++)
                if ((unsigned char) *q <= ' ' || *q == '#' || (unsigned char) *q >= 0x7f)
                        return "The query may hold no spaces, control characters or '#': percent-escape them";
        if (memmem(path, n, "//", 2) || memmem(path, n, "/./", 3) || memmem(path, n, "/../", 4) ||
            (n >= 2 && memcmp(path + n - 2, "/.", 2) == 0) || (n >= 3 && memcmp(path + n - 3, "/..", 3) == 0))
                return "The path may not hold empty, '.' or '..' segments";

        if (segment_is(path, 2, "auth"))
                return "The login endpoints (/api/v1/auth/) are not for agents";
        if (segment_is(path, 2, "users") && segment_is(path, 4, "keys"))
                return "API keys (/api/v1/users/.../keys/) are not for agents";
        if (write && segment_is(path, 2, "users"))
                return "User accounts cannot be changed by agents (only read)";
        if (write && segment_is(path, 2, "credentials"))
                return "Credentials cannot be created, changed, tested or deleted by agents (only read, with "
                       "their secrets masked)";
        if (write && !allow_write)
                return "This tool may only read (GET): the tool node's extra_config.allow_write is off";
        if (segment_is(path, 2, "webhooks") && !allow_write)
                return "Webhooks start runs, which this tool may not: the tool node's extra_config.allow_write is off";
        return NULL;
}

typedef struct ApiResponse {
        char *body;
        size_t size;
        bool truncated;
        const NodeRun *run;
} ApiResponse;

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        ApiResponse *r = userdata;
        size_t len = size * n, keep = MIN(len, RESPONSE_READ_MAX - r->size);
        char *b;

        if (keep < len)
                r->truncated = true;
        if (keep == 0)
                return len;
        b = realloc(r->body, r->size + keep + 1);
        if (!b)
                return 0;
        memcpy(b + r->size, data, keep);
        r->size += keep;
        b[r->size] = '\0';
        r->body = b;
        return len;
}

/* Ends the transfer soon after the run is told to stop. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        const ApiResponse *r = userdata;

        (void) dltotal;
        (void) dlnow;
        (void) ultotal;
        (void) ulnow;
        return node_run_should_stop(r->run) ? 1 : 0;
}

/* The answer for the model: {status_code, success, data, error?}, as JSON text of at most
 * RESULT_MAX characters; a longer one has its data cut to a string (with "truncated"). */
static int reply(long status, ApiResponse *response, char **ret_result) {
        _cleanup_json_ json_t *data = NULL, *result = NULL;
        _cleanup_free_ char *detail_text = NULL;
        bool success = status >= 200 && status < 300;
        json_t *detail;
        char *text;

        if (response->size > 0 && !response->truncated)
                data = json_loadb(response->body, response->size, JSON_DECODE_ANY, NULL);
        if (!data)
                data = response->size > 0 ? json_string_from_bytes(response->body, response->size) : json_null();
        if (!data)
                return -ENOMEM;
        result = json_pack("{s:I, s:b, s:O}", "status_code", (json_int_t) status, "success", success, "data", data);
        if (!result)
                return -ENOMEM;
        if (!success) {
                detail = json_object_get(data, "detail");
                if (detail && !json_is_string(detail)) {
                        detail_text = json_dumps_compact(detail);
                        if (!detail_text)
                                return -ENOMEM;
                        /* It is in data too: the error says what went wrong, data all of it. */
                        if (strlen(detail_text) > ERROR_MAX)
                                strcpy(detail_text + ERROR_MAX - strlen("…"), "…");
                }
                if (json_object_set_new(result, "error", json_is_string(detail) ? json_incref(detail) :
                                        detail_text ? json_string_from_bytes(detail_text, strlen(detail_text)) :
                                        json_sprintf("HTTP %ld", status)) < 0)
                        return -ENOMEM;
        }

        for (size_t budget = RESULT_MAX - 200;; budget /= 2) {
                text = json_dumps_compact(result);
                if (!text)
                        return -ENOMEM;
                if (strlen(text) <= RESULT_MAX || budget < 100)
                        break;
                free(text);
                /* The body as text, cut: jansson may escape it longer, so shrink until it fits. */
                if (json_object_set_new(result, "data",
                                        json_string_from_bytes(response->body, MIN(response->size, budget))) < 0 ||
                    json_object_set_new(result, "truncated", json_true()) < 0 ||
                    json_object_set_new(result, "total_bytes", json_integer((json_int_t) response->size)) < 0)
                        return -ENOMEM;
        }
        *ret_result = text;
        return 0;
}

/* Sends the request with key; 0 with *ret_status and the body in *response, or -EIO with
 * *ret_error saying why, -ECANCELED when the run must stop. */
static int perform(NodeRun *run, const char *base_url, const char *unix_path, const char *method, const char *path,
                   const char *body, const char *key, long *ret_status, ApiResponse *response, char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *easy = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL, *authorization = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        usec_t timeout = REQUEST_TIMEOUT_USEC, now = now_monotonic_usec();
        struct curl_slist *l;
        CURLcode code;

        if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_result != CURLE_OK)
                return agent_tool_fail(ret_error, "HTTP requests cannot be made");
        if (run->deadline > 0)
                timeout = run->deadline > now ? MIN(timeout, run->deadline - now) : 1000;
        if (asprintf(&url, "%s%s", base_url, path) < 0 || asprintf(&authorization, "Authorization: Bearer %s", key) < 0)
                return -ENOMEM;
        headers = curl_slist_append(NULL, authorization);
        if (!headers || !(l = curl_slist_append(headers, "Accept: application/json")))
                return -ENOMEM;
        if (body && !(l = curl_slist_append(headers, "Content-Type: application/json")))
                return -ENOMEM;
        easy = curl_easy_init();
        if (!easy)
                return -ENOMEM;
        if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            /* Straight to the daemon: never through a proxy from the environment with the key. */
            curl_easy_setopt(easy, CURLOPT_PROXY, "") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOPROXY, "*") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) (timeout / 1000)) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, response) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_XFERINFODATA, response) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
            (unix_path && curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, unix_path) != CURLE_OK) ||
            (body && (curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body)) != CURLE_OK ||
                      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body) != CURLE_OK)))
                return agent_tool_fail(ret_error, "The request cannot be prepared");

        response->run = run;
        code = curl_easy_perform(easy);
        if (code == CURLE_ABORTED_BY_CALLBACK)
                return -ECANCELED;
        if (code != CURLE_OK) {
                if (asprintf(ret_error, "The request to this daemon's API failed: %s", isempty(errbuf) ?
                             curl_easy_strerror(code) : errbuf) < 0)
                        return -ENOMEM;
                return -EIO;
        }
        if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, ret_status) != CURLE_OK)
                return agent_tool_fail(ret_error, "The daemon's API gave no answer");
        return 0;
}

/* The request body: an object or array as JSON, a string as it is (the model's JSON
 * text); NULL when there is none or the method takes none. */
static int request_body(const char *method, json_t *arguments, char **ret, char **ret_error) {
        json_t *body = json_object_get(arguments, "body");

        *ret = NULL;
        if (!body || json_is_null(body) || streq(method, "GET"))
                return 0;
        if (json_is_string(body))
                *ret = strdup(json_string_value(body));
        else if (json_is_object(body) || json_is_array(body))
                *ret = json_dumps_compact(body);
        else
                return agent_tool_fail(ret_error, "'body' must be a JSON object or array");
        return *ret ? 0 : -ENOMEM;
}

static int tool_platform_api(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                             char **ret_error) {
        _cleanup_free_ char *body = NULL, *base_url = NULL, *unix_path = NULL, *name = NULL, *key = NULL;
        _cleanup_json_ json_t *created = NULL;
        _cleanup_free_ char *response_body = NULL;
        const char *method_arg = json_get_string(arguments, "method", "GET"), *path, *method, *why;
        bool allow_write = json_is_true(json_object_get(json_object_get(tool->config, "extra_config"), "allow_write"));
        ApiResponse response = {};
        StoreCaller owner;
        int64_t key_id;
        long status = 0;
        int r, k;

        path = json_get_string(arguments, "path", NULL);
        if (!path)
                return agent_tool_fail(ret_error, "The argument 'path' (a string starting with /api/v1/) is missing");
        method = method_known(method_arg);
        if (!method)
                return agent_tool_fail(ret_error, "'method' must be GET, POST, PATCH, PUT or DELETE");
        why = request_refusal(method, path, allow_write);
        if (why)
                return agent_tool_fail(ret_error, why);
        r = request_body(method, arguments, &body, ret_error);
        if (r < 0)
                return r;

        r = platform_link_get_api(run->platform, &base_url, &unix_path);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return agent_tool_fail(ret_error, "This daemon's API address is not known (it listens on no "
                                       "socket this tool can reach)");
        r = store_workflow_owner(run->db, run->workflow_id, &owner);
        if (r == -ENOMEM)
                return r;
        if (r == -EPERM)
                return agent_tool_fail(ret_error, "The owner of this workflow is deactivated");
        if (r < 0)
                return agent_tool_fail(ret_error, "This workflow's owner cannot be read right now");

        if (asprintf(&name, "platform_api %s", run->execution_id) < 0)
                return -ENOMEM;
        r = store_api_key_create(run->db, owner.user_id, name, now_realtime_usec() + KEY_LIFETIME_USEC, &created);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return agent_tool_fail(ret_error, "No key for the request can be made right now");
        key_id = json_get_integer(created, "id", 0);
        key = strdup(json_get_string(created, "key", ""));
        /* The only copy of the key is ours now. */
        json_decref(TAKE_PTR(created));
        if (!key)
                r = -ENOMEM;
        else
                r = perform(run, base_url, unix_path, method, path, body, key, &status, &response, ret_error);
        response_body = response.body;
        /* Gone whatever happened; a key this fails to delete dies within the minute. */
        k = store_api_key_delete(run->db, owner.user_id, key_id);
        if (r == -ECANCELED)
                return agent_tool_fail(ret_error, "The request was abandoned: the execution is stopping");
        if (r < 0)
                return r;
        if (k == -ENOMEM)
                return k;
        return reply(status, &response, ret_result);
}

const AgentToolSpec agent_tool_platform_api = {
        .component_type = "platform_api",
        .description = "Calls this platform's REST API as the owner of this workflow (you need no key). "
                       "Paths start with /api/v1/, e.g. GET /api/v1/workflows/ lists workflows, GET "
                       "/api/v1/workflows/{slug}/ shows one with its nodes and edges, GET /api/v1/executions/ "
                       "lists runs. Only GET unless this tool allows writes; logins, API keys, user accounts "
                       "and credentials cannot be changed. Returns {status_code, success, data, error?}.",
        .parameters = "{\"type\": \"object\", \"properties\": {"
                      "\"method\": {\"type\": \"string\", \"enum\": [\"GET\", \"POST\", \"PATCH\", \"PUT\", \"DELETE\"], "
                      "\"description\": \"GET (the default) unless writes are allowed\"}, "
                      "\"path\": {\"type\": \"string\", \"description\": \"/api/v1/…, with a query if needed\"}, "
                      "\"body\": {\"type\": \"object\", \"description\": \"The JSON body of a POST, PATCH or PUT\"}}, "
                      "\"required\": [\"path\"]}",
        .call = tool_platform_api,
};
