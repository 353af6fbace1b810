/* What a request looks like on the wire before any dialect detail: checks, URL, headers. */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "llm/llm-dialect.h"

#ifdef PACKAGE_VERSION
#define LLM_USER_AGENT "pipelit/" PACKAGE_VERSION
#else
#define LLM_USER_AGENT "pipelit"
#endif

static bool header_name_valid(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                /* RFC 9110 token characters. */
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("!#$%&'*+-.^_`|~", *s)))
                        return false;
        return true;
}

static bool header_value_valid(const char *s) {
        return !s || !strpbrk(s, "\r\n");
}

static bool url_valid(const char *s) {
        return (strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]);
}

int llm_request_validate(const LlmRequest *req, const char **ret_why) {
        const char *why = NULL;
        const char *name;
        json_t *value;

        if (req->provider < 0 || req->provider >= _LLM_PROVIDER_MAX)
                why = "unknown provider";
        else if (isempty(req->model))
                why = "a model name is required";
        else if (req->provider == LLM_PROVIDER_OPENAI_COMPATIBLE && isempty(req->base_url))
                why = "an OpenAI-compatible provider needs a base URL";
        else if (!isempty(req->base_url) && (!url_valid(req->base_url) || strpbrk(req->base_url, " \r\n")))
                why = "the base URL must start with http:// or https://";
        else if (!header_value_valid(req->api_key) || !header_value_valid(req->organization))
                why = "the API key or organization holds a line break";
        else if (req->max_tokens < 0)
                why = "max_tokens must not be negative";
        else if (req->headers && !json_is_object(req->headers))
                why = "headers must be an object";
        else if (req->response_format && !json_is_object(req->response_format))
                why = "response_format must be an object";
        if (why)
                goto fail;

        json_object_foreach(req->headers, name, value)
                if (!header_name_valid(name) || !json_is_string(value) ||
                    !header_value_valid(json_string_value(value))) {
                        why = "a header has an invalid name or value";
                        goto fail;
                }
        for (size_t i = 0; i < req->n_tools; i++)
                if (isempty(req->tools[i].name) ||
                    (req->tools[i].parameters && !json_is_object(req->tools[i].parameters))) {
                        why = "a tool needs a name and an object as parameters schema";
                        goto fail;
                }
        for (size_t i = 0; i < req->n_messages; i++) {
                const LlmMessage *m = &req->messages[i];

                if (m->role < 0 || m->role >= _LLM_ROLE_MAX) {
                        why = "a message has an unknown role";
                        goto fail;
                }
                if (m->role == LLM_ROLE_TOOL && isempty(m->tool_call_id)) {
                        why = "a tool result needs the id of the call it answers";
                        goto fail;
                }
                for (size_t j = 0; j < m->n_tool_calls; j++)
                        if (isempty(m->tool_calls[j].id) || isempty(m->tool_calls[j].name)) {
                                why = "a tool call needs an id and a name";
                                goto fail;
                        }
        }
        return 0;
fail:
        if (ret_why)
                *ret_why = why;
        return -EINVAL;
}

int llm_request_url(const LlmRequest *req, char **ret) {
        const char *base = req->base_url;
        const char *path;
        size_t len;
        char *url;

        if (isempty(base))
                base = req->provider == LLM_PROVIDER_ANTHROPIC ? LLM_ANTHROPIC_BASE_URL : LLM_OPENAI_BASE_URL;
        len = strlen(base);
        while (len > 0 && base[len - 1] == '/')
                len--;

        if (llm_provider_is_openai_style(req->provider))
                path = "/chat/completions";
        else if (len >= 3 && strncmp(base + len - 3, "/v1", 3) == 0)
                path = "/messages";
        else
                path = "/v1/messages";

        if (asprintf(&url, "%.*s%s", (int) len, base, path) < 0)
                return -ENOMEM;
        *ret = url;
        return 0;
}

static int strv_add(char ***l, size_t *n, const char *name, const char *value) {
        char **grown, *line;

        if (asprintf(&line, "%s: %s", name, value) < 0)
                return -ENOMEM;
        grown = reallocarray(*l, *n + 2, sizeof(char *));
        if (!grown) {
                free(line);
                return -ENOMEM;
        }
        *l = grown;
        grown[(*n)++] = line;
        grown[*n] = NULL;
        return 0;
}

/* Whether the request's own headers name this one (so ours gives way). */
static bool overridden(const LlmRequest *req, const char *name) {
        const char *key;
        json_t *value;

        json_object_foreach(req->headers, key, value)
                if (strcasecmp(key, name) == 0)
                        return true;
        return false;
}

int llm_request_headers(const LlmRequest *req, char ***ret) {
        _cleanup_(llm_strv_freep) char **l = NULL;
        _cleanup_free_ char *bearer = NULL;
        struct {
                const char *name, *value;
        } ours[6] = {};
        size_t n = 0, k = 0;
        const char *key;
        json_t *value;
        int r;

        ours[k++] = (typeof(ours[0])) { "Content-Type", "application/json" };
        ours[k++] = (typeof(ours[0])) { "Accept", req->stream ? "text/event-stream" : "application/json" };
        ours[k++] = (typeof(ours[0])) { "User-Agent", LLM_USER_AGENT };
        if (llm_provider_is_openai_style(req->provider)) {
                if (!isempty(req->api_key)) {
                        if (asprintf(&bearer, "Bearer %s", req->api_key) < 0)
                                return -ENOMEM;
                        ours[k++] = (typeof(ours[0])) { "Authorization", bearer };
                }
                if (!isempty(req->organization))
                        ours[k++] = (typeof(ours[0])) { "OpenAI-Organization", req->organization };
        } else {
                if (!isempty(req->api_key))
                        ours[k++] = (typeof(ours[0])) { "x-api-key", req->api_key };
                ours[k++] = (typeof(ours[0])) { "anthropic-version", LLM_ANTHROPIC_VERSION };
        }

        for (size_t i = 0; i < k; i++) {
                if (overridden(req, ours[i].name))
                        continue;
                r = strv_add(&l, &n, ours[i].name, ours[i].value);
                if (r < 0)
                        return r;
        }
        json_object_foreach(req->headers, key, value) {
                r = strv_add(&l, &n, key, json_string_value(value) ?: "");
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int llm_request_body(const LlmRequest *req, json_t **ret) {
        if (llm_provider_is_openai_style(req->provider))
                return llm_openai_body(req, ret);
        if (req->provider == LLM_PROVIDER_ANTHROPIC)
                return llm_anthropic_body(req, ret);
        return -EINVAL;
}
