/* The detail of a credential body, checked for its type (docs/api.md "Credentials"):
 *
 *   llm       provider_type (openai | anthropic | openai_compatible), api_key (required but
 *             for openai_compatible), base_url (required for openai_compatible),
 *             organization_id, custom_headers {name: value}
 *   telegram  bot_token, base_url (a self-hosted Bot API server)
 *   tool      tool_type (searxng), config {url}, is_preferred
 *   git       credential_type (token | ssh_key), provider, username, url, access_token
 *             (required for token), ssh_private_key (required for ssh_key), webhook_secret
 *
 * Errors are appended in FastAPI's shape at ["body", "detail", field, …]; unknown fields
 * are errors too, so a misspelt secret is not silently dropped. */
#pragma once

#include <jansson.h>

/* Checks detail (a create body's) for type; on success *ret gets it normalised: every field
 * of the type present, absent or empty optional ones null ({} for custom_headers, false
 * for is_preferred). Returns the number of errors appended, or negative errno. */
int credential_detail_check(const char *type, json_t *detail, json_t *errors, json_t **ret);

/* A PATCH: patch's fields over current (a stored detail, secrets in clear), then checked as
 * on create. A secret left out, or sent back masked as answered, keeps its value; null
 * clears it. When a field that says where the secrets go changes (llm provider_type and
 * base_url, telegram base_url, git url), every secret still set must be given again in
 * clear: an existing secret is never sent to a new address on the strength of a PATCH
 * that does not know it. Returns the number of errors appended, or negative errno. */
int credential_detail_patch(const char *type, json_t *current, json_t *patch, json_t *errors, json_t **ret);
