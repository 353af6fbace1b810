/* Credentials in the database: LLM provider keys, Telegram bot tokens, tool endpoints and
 * git logins (docs/api.md "Credentials").
 *
 * A credential's detail holds the fields of its type. Its secrets (credential_field_is_secret())
 * are sealed with the daemon's vault, each field for itself and bound to the credential's id
 * and the field's name (context "credentials/<id>/<field>"), and stored in the
 * secret_ciphertext column as {"field": "v1:…"}; the other fields are plain JSON in detail.
 * Secrets are never stored, answered or logged in clear: answers carry
 * credential_mask()ed values.
 *
 * store_credential_load() is the only way to read secrets in clear: for the engine (the LLM
 * client, the Telegram trigger), for provider checks and for merging a PATCH. Whoever calls
 * it frees the result with credential_free(), which wipes the secrets.
 *
 * Lookups on behalf of a caller reach a normal user's own credentials only (-ENOENT for
 * anyone else's), an admin's all. Details handed in are validated by the API layer. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/vault.h"
#include "store/db.h"
#include "store/store-workflows.h"

#define CREDENTIAL_NAME_MAX 255
/* Secrets shorter than this are masked whole; longer ones keep 4 characters at each end. */
#define CREDENTIAL_MASK_MIN_LEN 24
#define CREDENTIAL_MASK "****"

typedef struct Credential {
        int64_t id;
        int64_t owner_id;
        char *name;
        char *type;             /* "llm", "telegram", "tool" or "git" */
        json_t *detail;         /* every field of the type, secrets in clear */
        char *created_at, *updated_at;
} Credential;

/* Wipes c's secrets (credential_secrets_wipe()) and frees it. */
Credential *credential_free(Credential *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Credential *, credential_free);
/* Overwrites the secret strings of detail with zeros, in place: call it only on a detail
 * whose secret strings no other JSON value shares. */
void credential_secrets_wipe(const char *type, json_t *detail);

/* The types credentials may have, NULL-terminated. */
extern const char *const credential_types[];
bool credential_type_is_valid(const char *type);
/* The fields of type that are secrets, NULL-terminated (empty for unknown types):
 * llm: api_key, custom_headers (the values); telegram: bot_token; git: access_token,
 * ssh_private_key, webhook_secret; tool: none. */
const char *const *credential_secret_fields(const char *type);
bool credential_field_is_secret(const char *type, const char *field);

/* How field's secret value is shown: "sk-a****wxyz" when it has at least
 * CREDENTIAL_MASK_MIN_LEN characters, else "****"; always "****" for an ssh_private_key. */
char *credential_mask(const char *field, const char *secret);
/* A secret value (a string, or custom_headers' object of strings) masked. */
json_t *credential_mask_value(const char *field, json_t *value);
/* CredentialOut: {id, name, credential_type, owner_id, detail, created_at, updated_at},
 * every secret masked. */
json_t *credential_to_json(const Credential *c);

/* CredentialOut of credential id as the caller sees it; -ENOENT when absent or not theirs.
 * A secret the vault cannot open (the key changed) shows as "****". */
int store_credential_get(Db *db, const Vault *vault, const StoreCaller *caller, int64_t id, json_t **ret);
/* The caller's credentials (everyone's for an admin) as CredentialOut, newest first. */
int store_credential_list(Db *db, const Vault *vault, const StoreCaller *caller, int64_t limit,
                          int64_t offset, json_t **ret_items, int64_t *ret_total);

/* Creates a credential of type for owner_id from a validated detail (secrets in clear),
 * in one transaction. Answers CredentialOut (ret may be NULL) and the new id. */
int store_credential_create(Db *db, const Vault *vault, int64_t owner_id, const char *name,
                            const char *type, json_t *detail, json_t **ret, int64_t *ret_id);
/* Writes c's name and detail (secrets in clear, sealed anew) over credential c->id.
 * -ENOENT when it is gone. Answers CredentialOut (ret may be NULL). */
int store_credential_update(Db *db, const Vault *vault, const Credential *c, json_t **ret);

/* The one way to secrets in clear. caller NULL: whoever owns it (the engine's use).
 * -ENOENT when absent or not the caller's; -EBADMSG when a secret does not open (the
 * vault's key is not the one it was sealed with, or the row was tampered with). */
int store_credential_load(Db *db, const Vault *vault, const StoreCaller *caller, int64_t id,
                          Credential **ret);

/* -ENOENT when absent or not the caller's. */
int store_credential_delete(Db *db, const StoreCaller *caller, int64_t id);
/* Deletes the credentials of ids (a JSON array of integers) the caller can see, in one
 * transaction; the others are skipped. */
int store_credential_delete_many(Db *db, const StoreCaller *caller, json_t *ids, int64_t *ret_deleted);
