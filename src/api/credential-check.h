/* Asking the service a credential is for whether it works, and an LLM provider which models
 * it offers. Blocking HTTP calls (libcurl, CREDENTIAL_CHECK_TIMEOUT_SEC each, no redirects):
 * run them on a WorkPool thread, never on the I/O thread. They give up early when the pool
 * stops.
 *
 *   llm       GET {base_url or https://api.openai.com/v1}/models with Authorization: Bearer,
 *             OpenAI-Organization and the custom headers (openai, openai_compatible);
 *             GET {base_url or https://api.anthropic.com}/v1/models with x-api-key and
 *             anthropic-version (anthropic)
 *   telegram  GET {base_url or https://api.telegram.org}/bot<token>/getMe
 *   tool      GET {config.url}/search?q=pipelit&format=json (SearXNG)
 *   git       GET {url}/info/refs?service=git-upload-pack with the token as password, for
 *             an access token and an http(s) url; anything else is not testable
 *
 * Messages name the service by its origin (scheme, host, port) only, and any secret of the
 * credential a service echoes is masked out of them. */
#pragma once

#include <jansson.h>

#include "common/work-pool.h"
#include "store/store-credentials.h"

#define CREDENTIAL_CHECK_TIMEOUT_SEC 10
#define CREDENTIAL_CHECK_ANSWER_MAX (4 * 1024 * 1024)
#define CREDENTIAL_MODELS_MAX 1000

/* {"ok": true, "error": null, "detail": "…"} or {"ok": false, "error": "Authentication
 * failed" | "Cannot reach <origin>: <why>" | "The provider answered <status>: <message>" |
 * "Not testable", "detail": …}. pool may be NULL. Negative errno only for no memory. */
int credential_check_test(const Credential *c, WorkPool *pool, json_t **ret);

/* The models of an llm credential: [{id, name}] (OpenAI's sorted by id, Anthropic's in the
 * provider's order, newest first), at most CREDENTIAL_MODELS_MAX. When the provider cannot
 * tell, 0 with *ret_models NULL and *ret_error one of the test's error sentences. */
int credential_check_models(const Credential *c, WorkPool *pool, json_t **ret_models, char **ret_error);

/* NULL when url is an http(s) URL with a host and without user:password@ or #fragment;
 * otherwise why not, a static sentence. */
const char *credential_url_problem(const char *url);
