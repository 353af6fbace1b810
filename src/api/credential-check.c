/* Credential checks and model lists over HTTP (see credential-check.h). */

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>

#include "api/credential-check.h"
#include "common/json-util.h"

#define OPENAI_BASE_URL "https://api.openai.com/v1"
#define ANTHROPIC_BASE_URL "https://api.anthropic.com"
#define ANTHROPIC_VERSION "2023-06-01"
#define TELEGRAM_BASE_URL "https://api.telegram.org"
#define USER_AGENT "pipelit/" PACKAGE_VERSION
/* The most of a provider's error message repeated in ours. */
#define MESSAGE_MAX 300

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(CURLU *, curl_url_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

static void curl_freep(char **p) {
        curl_free(*p);
}

const char *credential_url_problem(const char *url) {
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *user = NULL, *fragment = NULL;

        if (isempty(url))
                return "URL should not be empty";
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return "URL should not contain spaces or control characters";
        u = curl_url();
        if (!u)
                return "URL cannot be checked";
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                return "URL should be a valid http:// or https:// URL";
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
                return "URL should start with http:// or https://";
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || isempty(host))
                return "URL should name a host";
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
                return "URL should not carry a user name or password (they would be stored in clear)";
        if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
                return "URL should not have a #fragment";
        return NULL;
}

/* --- one GET ---------------------------------------------------------------------------------- */

typedef struct Answer {
        long status;
        char *body;
        size_t size;
        bool too_large;
} Answer;

static void answer_done(Answer *a) {
        free(a->body);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        Answer *a = userdata;
        size_t len = size * n;
        char *p;

        if (a->size + len > CREDENTIAL_CHECK_ANSWER_MAX) {
                a->too_large = true;
                return 0; /* stops the transfer */
        }
        p = realloc(a->body, a->size + len + 1);
        if (!p)
                return 0;
        memcpy(p + a->size, data, len);
        a->size += len;
        p[a->size] = 0;
        a->body = p;
        return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        WorkPool *pool = userdata;

        return pool && work_pool_stopping(pool) ? 1 : 0;
}

/* "https://api.openai.com" or "http://127.0.0.1:8080": where url goes, without the path
 * (a Telegram token travels in the path). */
static char *url_origin(const char *url) {
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        _cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *port = NULL;
        char *s;

        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return strdup("the service");
        (void) curl_url_get(u, CURLUPART_PORT, &port, 0);
        if (asprintf(&s, "%s://%s%s%s", scheme, host, port ? ":" : "", port ?: "") < 0)
                return NULL;
        return s;
}

/* The request's options: headers (a list of "Name: value"), and basic auth for git. */
typedef struct Request {
        const char *url;
        struct curl_slist *headers;
        const char *username, *password;
} Request;

/* Performs the GET. 0 with *ret filled when the service answered (any status); -EHOSTUNREACH
 * with *ret_error "Cannot reach …" when it did not. */
static int http_get(const Request *req, WorkPool *pool, Answer *ret, char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *easy = NULL;
        _cleanup_free_ char *origin = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        Answer a = {};
        CURLcode code;

        if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_result != CURLE_OK)
                return -EIO;
        easy = curl_easy_init();
        if (!easy)
                return -ENOMEM;

        if (curl_easy_setopt(easy, CURLOPT_URL, req->url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long) CREDENTIAL_CHECK_TIMEOUT_SEC) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_XFERINFODATA, pool) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK)
                return -EIO;
        if (req->password &&
            (curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC) != CURLE_OK ||
             curl_easy_setopt(easy, CURLOPT_USERNAME, req->username) != CURLE_OK ||
             curl_easy_setopt(easy, CURLOPT_PASSWORD, req->password) != CURLE_OK))
                return -EIO;

        code = curl_easy_perform(easy);
        if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && a.too_large)) {
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.status);
                *ret = a;
                return 0;
        }
        answer_done(&a);
        if (code == CURLE_OUT_OF_MEMORY || code == CURLE_WRITE_ERROR)
                return -ENOMEM;

        origin = url_origin(req->url);
        if (!origin)
                return -ENOMEM;
        if (code == CURLE_ABORTED_BY_CALLBACK)
                snprintf(errbuf, sizeof errbuf, "the daemon is stopping");
        else if (code == CURLE_OPERATION_TIMEDOUT)
                snprintf(errbuf, sizeof errbuf, "no answer within %d seconds", CREDENTIAL_CHECK_TIMEOUT_SEC);
        if (asprintf(ret_error, "Cannot reach %s: %s", origin, isempty(errbuf) ? curl_easy_strerror(code) : errbuf) < 0)
                return -ENOMEM;
        return -EHOSTUNREACH;
}

/* --- messages ---------------------------------------------------------------------------------- */

/* Replaces every occurrence of secret in *s by "****". */
static int scrub(char **s, const char *secret) {
        size_t n = strlen(secret ?: ""), size = 0;
        char *out = NULL, *p;
        FILE *f;

        if (!*s || n == 0 || !strstr(*s, secret))
                return 0;
        f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        for (p = *s;;) {
                char *hit = strstr(p, secret);

                if (!hit) {
                        fputs(p, f);
                        break;
                }
                fwrite(p, 1, (size_t) (hit - p), f);
                fputs(CREDENTIAL_MASK, f);
                p = hit + n;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        free(*s);
        *s = out;
        return 0;
}

/* Masks every secret of c out of *s: a service may repeat what it was sent. */
static int scrub_secrets(const Credential *c, char **s) {
        for (const char *const *field = credential_secret_fields(c->type); *field; field++) {
                json_t *v = json_object_get(c->detail, *field), *item;
                const char *key;
                int r;

                r = scrub(s, json_string_value(v));
                if (r < 0)
                        return r;
                json_object_foreach(json_is_object(v) ? v : NULL, key, item) {
                        r = scrub(s, json_string_value(item));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* At most MESSAGE_MAX bytes of s, cut between UTF-8 characters, control characters blanked
 * and, when ascii_only (text that may not be UTF-8), other bytes as '?'. */
static char *message_clean(const char *s, bool ascii_only) {
        size_t n = strlen(s);
        char *out;

        if (n > MESSAGE_MAX) {
                n = MESSAGE_MAX;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
        }
        out = strndup(s, n);
        if (!out)
                return NULL;
        for (char *p = out; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = ' ';
                else if (ascii_only && (unsigned char) *p >= 0x80)
                        *p = '?';
        return out;
}

/* The service's own words about a failure: error.message (OpenAI, Anthropic), error,
 * description (Telegram), message or detail, else the start of a plain body. */
static char *answer_message(const Answer *a) {
        _cleanup_json_ json_t *doc = NULL;
        json_t *error;
        const char *s = NULL;

        doc = a->body ? json_loads(a->body, 0, NULL) : NULL;
        if (json_is_object(doc)) {
                error = json_object_get(doc, "error");
                s = json_get_string(error, "message", NULL) ?: json_string_value(error) ?:
                    json_get_string(doc, "description", NULL) ?: json_get_string(doc, "message", NULL) ?:
                    json_get_string(doc, "detail", NULL);
                if (s)
                        return message_clean(s, false);
        }
        if (!a->body || doc)
                return strdup("");
        return message_clean(a->body, true);
}

/* "The provider answered 500: <message>"; or, for an authentication failure, "Authentication
 * failed" with that sentence as *ret_detail. */
static int answer_error(const Credential *c, const Answer *a, bool auth_failure, char **ret_error, char **ret_detail) {
        _cleanup_free_ char *message = NULL, *detail = NULL;
        char *error;
        int r;

        message = answer_message(a);
        if (!message)
                return -ENOMEM;
        if (a->too_large)
                r = asprintf(&detail, "The provider answered %ld with more than %d bytes.", a->status,
                             CREDENTIAL_CHECK_ANSWER_MAX);
        else if (isempty(message))
                r = asprintf(&detail, "The provider answered %ld.", a->status);
        else
                r = asprintf(&detail, "The provider answered %ld: %s", a->status, message);
        if (r < 0)
                return -ENOMEM;
        r = scrub_secrets(c, &detail);
        if (r < 0)
                return r;

        if (auth_failure) {
                error = strdup("Authentication failed");
                if (!error)
                        return -ENOMEM;
                *ret_error = error;
                if (ret_detail)
                        *ret_detail = TAKE_PTR(detail);
                return 0;
        }
        *ret_error = TAKE_PTR(detail);
        return 0;
}

static bool status_ok(const Answer *a) {
        return a->status >= 200 && a->status < 300 && !a->too_large;
}

static bool status_auth_failure(long status) {
        return status == 401 || status == 403;
}

/* The Bot API answers 404 for a token it does not know, 401 for a revoked one. */
static bool telegram_auth_failure(long status) {
        return status_auth_failure(status) || status == 404;
}

/* --- requests per type -------------------------------------------------------------------------- */

static int headers_add(struct curl_slist **list, const char *name, const char *value) {
        _cleanup_free_ char *line = NULL;
        struct curl_slist *l;

        if (asprintf(&line, "%s: %s", name, value) < 0)
                return -ENOMEM;
        l = curl_slist_append(*list, line);
        memset(line, 0, strlen(line));
        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

static bool headers_has(json_t *custom, const char *name) {
        const char *key;
        json_t *v;

        json_object_foreach(custom, key, v)
                if (strcasecmp(key, name) == 0)
                        return true;
        return false;
}

/* base without trailing slashes, then suffix. */
static char *url_join(const char *base, const char *suffix) {
        size_t n = strlen(base);
        char *s;

        while (n > 0 && base[n - 1] == '/')
                n--;
        if (asprintf(&s, "%.*s%s", (int) n, base, suffix) < 0)
                return NULL;
        return s;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        while (n > 0 && s[n - 1] == '/')
                n--;
        return n >= m && strncmp(s + n - m, suffix, m) == 0;
}

static bool llm_is_anthropic(const Credential *c) {
        return streq(json_get_string(c->detail, "provider_type", ""), "anthropic");
}

/* The models endpoint of an llm credential, and the headers that go with it added to
 * req->headers. */
static int llm_models_request(const Credential *c, Request *req, char **ret_url) {
        json_t *custom = json_object_get(c->detail, "custom_headers"), *v;
        const char *base = json_get_string(c->detail, "base_url", NULL),
                   *api_key = json_get_string(c->detail, "api_key", NULL),
                   *organization = json_get_string(c->detail, "organization_id", NULL), *name;
        _cleanup_free_ char *url = NULL;
        bool anthropic = llm_is_anthropic(c);
        int r;

        if (anthropic) {
                base = isempty(base) ? ANTHROPIC_BASE_URL : base;
                /* A base that already ends in /v1 gets no second one. */
                url = url_join(base, ends_with(base, "/v1") ? "/models?limit=1000" : "/v1/models?limit=1000");
        } else
                url = url_join(isempty(base) ? OPENAI_BASE_URL : base, "/models");
        if (!url)
                return -ENOMEM;

        /* Ours first, unless a custom header of the same name replaces it. */
        if (!isempty(api_key) && anthropic && !headers_has(custom, "x-api-key"))
                r = headers_add(&req->headers, "x-api-key", api_key);
        else if (!isempty(api_key) && !anthropic && !headers_has(custom, "Authorization")) {
                _cleanup_free_ char *bearer = NULL;

                if (asprintf(&bearer, "Bearer %s", api_key) < 0)
                        return -ENOMEM;
                r = headers_add(&req->headers, "Authorization", bearer);
                memset(bearer, 0, strlen(bearer));
        } else
                r = 0;
        if (r >= 0 && anthropic && !headers_has(custom, "anthropic-version"))
                r = headers_add(&req->headers, "anthropic-version", ANTHROPIC_VERSION);
        if (r >= 0 && !anthropic && !isempty(organization) && !headers_has(custom, "OpenAI-Organization"))
                r = headers_add(&req->headers, "OpenAI-Organization", organization);
        if (r >= 0)
                r = headers_add(&req->headers, "Accept", "application/json");
        if (r < 0)
                return r;
        json_object_foreach(json_is_object(custom) ? custom : NULL, name, v) {
                r = headers_add(&req->headers, name, json_string_value(v) ?: "");
                if (r < 0)
                        return r;
        }

        req->url = url;
        *ret_url = TAKE_PTR(url);
        return 0;
}

static int model_compare(const void *a, const void *b) {
        return strcmp(json_get_string(*(json_t *const *) a, "id", ""), json_get_string(*(json_t *const *) b, "id", ""));
}

/* [{id, name}] from OpenAI's {"data": [{"id"}]} or Anthropic's {"data": [{"id",
 * "display_name"}]}; NULL when the answer is not a model list. */
static json_t *models_from_answer(const Answer *a, bool anthropic) {
        _cleanup_json_ json_t *doc = NULL, *models = NULL;
        _cleanup_free_ json_t **sorted = NULL;
        json_t *data, *item;
        size_t i, n = 0;

        doc = a->body ? json_loads(a->body, 0, NULL) : NULL;
        data = json_object_get(doc, "data");
        if (!json_is_array(data))
                return NULL;

        sorted = calloc(MIN(json_array_size(data), (size_t) CREDENTIAL_MODELS_MAX) + 1, sizeof *sorted);
        if (!sorted)
                return NULL;
        json_array_foreach(data, i, item) {
                const char *id = json_get_string(item, "id", NULL),
                           *name = anthropic ? json_get_string(item, "display_name", NULL) : NULL;

                if (isempty(id))
                        continue;
                if (n >= CREDENTIAL_MODELS_MAX)
                        break;
                sorted[n] = json_pack("{s:s, s:s}", "id", id, "name", name ?: id);
                if (!sorted[n])
                        goto fail;
                n++;
        }
        if (!anthropic)
                qsort(sorted, n, sizeof *sorted, model_compare);

        models = json_array();
        if (!models)
                goto fail;
        for (i = 0; i < n; i++)
                if (json_array_append_new(models, TAKE_PTR(sorted[i])) < 0)
                        goto fail;
        return TAKE_PTR(models);

fail:
        for (i = 0; i < n; i++)
                json_decref(sorted[i]);
        return NULL;
}

/* Fetches the model list: 0 with *ret_models, or 0 with *ret_error (and *ret_detail for an
 * authentication failure); negative errno for no memory. */
static int llm_models(const Credential *c, WorkPool *pool, json_t **ret_models, char **ret_error, char **ret_detail) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_(answer_done) Answer a = {};
        _cleanup_free_ char *url = NULL;
        Request req = {};
        int r;

        r = llm_models_request(c, &req, &url);
        headers = req.headers;
        if (r < 0)
                return r;

        r = http_get(&req, pool, &a, ret_error);
        if (r == -EHOSTUNREACH)
                return scrub_secrets(c, ret_error);
        if (r < 0)
                return r;
        if (!status_ok(&a))
                return answer_error(c, &a, status_auth_failure(a.status), ret_error, ret_detail);

        *ret_models = models_from_answer(&a, llm_is_anthropic(c));
        if (!*ret_models) {
                if (asprintf(ret_error, "The provider answered %ld without a model list.", a.status) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int credential_check_models(const Credential *c, WorkPool *pool, json_t **ret_models, char **ret_error) {
        _cleanup_free_ char *detail = NULL;

        *ret_models = NULL;
        *ret_error = NULL;
        if (!streq_ptr(c->type, "llm"))
                return -EINVAL;
        return llm_models(c, pool, ret_models, ret_error, &detail);
}

/* --- tests ------------------------------------------------------------------------------------- */

static json_t *test_answer(bool ok, const char *error, const char *detail) {
        return json_pack("{s:b, s:s?, s:s?}", "ok", ok, "error", error, "detail", detail);
}

static int test_llm(const Credential *c, WorkPool *pool, json_t **ret) {
        _cleanup_json_ json_t *models = NULL;
        _cleanup_free_ char *error = NULL, *detail = NULL;
        int r;

        r = llm_models(c, pool, &models, &error, &detail);
        if (r < 0)
                return r;
        if (!models)
                *ret = test_answer(false, error, detail);
        else {
                if (asprintf(&detail, "Authenticated; %zu model%s available.", json_array_size(models),
                             json_array_size(models) == 1 ? "" : "s") < 0)
                        return -ENOMEM;
                *ret = test_answer(true, NULL, detail);
        }
        return *ret ? 0 : -ENOMEM;
}

/* Performs req and answers the test: ok when check_body accepts a 2xx answer (and writes
 * *detail), else the failure. */
typedef int (*BodyCheck)(const Answer *a, char **ret_detail, char **ret_error);

static int test_get(const Credential *c, WorkPool *pool, const Request *req, bool (*auth_failure)(long status),
                    BodyCheck check, json_t **ret) {
        _cleanup_(answer_done) Answer a = {};
        _cleanup_free_ char *error = NULL, *detail = NULL;
        int r;

        r = http_get(req, pool, &a, &error);
        if (r == -EHOSTUNREACH) {
                r = scrub_secrets(c, &error);
                if (r < 0)
                        return r;
                *ret = test_answer(false, error, NULL);
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;

        if (!status_ok(&a))
                r = answer_error(c, &a, auth_failure && auth_failure(a.status), &error, &detail);
        else
                r = check(&a, &detail, &error);
        if (r < 0)
                return r;
        if (!error && detail)
                r = scrub_secrets(c, &detail);
        if (r < 0)
                return r;
        *ret = test_answer(!error, error, detail);
        return *ret ? 0 : -ENOMEM;
}

static int telegram_body(const Answer *a, char **ret_detail, char **ret_error) {
        _cleanup_json_ json_t *doc = a->body ? json_loads(a->body, 0, NULL) : NULL;
        json_t *result = json_object_get(doc, "result");
        const char *username = json_get_string(result, "username", NULL);
        int r;

        if (!json_is_true(json_object_get(doc, "ok")) || !json_is_object(result))
                r = asprintf(ret_error, "The provider answered %ld without a bot description.", a->status);
        else if (username)
                r = asprintf(ret_detail, "Bot @%s (id %" JSON_INTEGER_FORMAT ").", username,
                             json_integer_value(json_object_get(result, "id")));
        else
                r = asprintf(ret_detail, "Bot id %" JSON_INTEGER_FORMAT ".", json_integer_value(json_object_get(result, "id")));
        return r < 0 ? -ENOMEM : 0;
}

static int test_telegram(const Credential *c, WorkPool *pool, json_t **ret) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL, *path = NULL;
        const char *base = json_get_string(c->detail, "base_url", NULL);
        Request req = {};
        int r;

        if (asprintf(&path, "/bot%s/getMe", json_get_string(c->detail, "bot_token", "")) < 0)
                return -ENOMEM;
        url = url_join(isempty(base) ? TELEGRAM_BASE_URL : base, path);
        memset(path, 0, strlen(path));
        if (!url)
                return -ENOMEM;
        r = headers_add(&headers, "Accept", "application/json");
        if (r < 0)
                return r;
        req = (Request) { .url = url, .headers = headers };
        r = test_get(c, pool, &req, telegram_auth_failure, telegram_body, ret);
        memset(url, 0, strlen(url));
        return r;
}

static int searxng_body(const Answer *a, char **ret_detail, char **ret_error) {
        _cleanup_json_ json_t *doc = a->body ? json_loads(a->body, 0, NULL) : NULL;
        json_t *results = json_object_get(doc, "results");
        int r;

        if (!json_is_array(results))
                r = asprintf(ret_error,
                             "The provider answered %ld but not with SearXNG's JSON (is the json format "
                             "enabled in its settings.yml?).", a->status);
        else
                r = asprintf(ret_detail, "SearXNG answered a test search with %zu result%s.",
                             json_array_size(results), json_array_size(results) == 1 ? "" : "s");
        return r < 0 ? -ENOMEM : 0;
}

static int test_tool(const Credential *c, WorkPool *pool, json_t **ret) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL;
        Request req;
        int r;

        url = url_join(json_get_string(json_object_get(c->detail, "config"), "url", ""),
                       "/search?q=pipelit&format=json");
        if (!url)
                return -ENOMEM;
        r = headers_add(&headers, "Accept", "application/json");
        if (r < 0)
                return r;
        req = (Request) { .url = url, .headers = headers };
        return test_get(c, pool, &req, NULL, searxng_body, ret);
}

static int git_body(const Answer *a, char **ret_detail, char **ret_error) {
        *ret_detail = strdup("The repository answered; the token may read it.");
        return *ret_detail ? 0 : -ENOMEM;
}

static int test_git(const Credential *c, WorkPool *pool, json_t **ret) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL;
        const char *repo = json_get_string(c->detail, "url", NULL),
                   *token = json_get_string(c->detail, "access_token", NULL),
                   *username = json_get_string(c->detail, "username", NULL);
        Request req;

        if (!streq(json_get_string(c->detail, "credential_type", ""), "token")) {
                *ret = test_answer(false, "Not testable", "SSH keys are checked when git first uses them.");
                return *ret ? 0 : -ENOMEM;
        }
        if (isempty(repo) || credential_url_problem(repo) || isempty(token)) {
                *ret = test_answer(false, "Not testable",
                                   "Give the repository's http(s) URL in url to test the access token.");
                return *ret ? 0 : -ENOMEM;
        }

        url = url_join(repo, "/info/refs?service=git-upload-pack");
        if (!url)
                return -ENOMEM;
        req = (Request) {
                .url = url,
                .headers = headers,
                .username = isempty(username) ? "git" : username,
                .password = token,
        };
        return test_get(c, pool, &req, status_auth_failure, git_body, ret);
}

int credential_check_test(const Credential *c, WorkPool *pool, json_t **ret) {
        if (streq_ptr(c->type, "llm"))
                return test_llm(c, pool, ret);
        if (streq_ptr(c->type, "telegram"))
                return test_telegram(c, pool, ret);
        if (streq_ptr(c->type, "tool"))
                return test_tool(c, pool, ret);
        if (streq_ptr(c->type, "git"))
                return test_git(c, pool, ret);
        *ret = test_answer(false, "Not testable", NULL);
        return *ret ? 0 : -ENOMEM;
}
