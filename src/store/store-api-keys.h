/* API keys: only the hash of a key and its first characters are stored; the key itself is
 * returned once, when it is created. Keys are revoked (is_active false), not deleted, so a
 * user's list shows them; only the login keys named "session" are deleted outright.
 *
 * The API shape (KeyOut): {id, name, prefix, created_at, last_used_at, expires_at, is_active}. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"

#define API_KEY_NAME_MAX 100
#define API_KEY_SESSION_NAME "session"
#define API_KEY_SESSIONS_KEPT 10

/* Creates a key for user_id, expiring at expires_at (0: never). Returns KeyOut plus "key",
 * the only copy of the key; -ENOENT when the user does not exist. */
int store_api_key_create(Db *db, int64_t user_id, const char *name, usec_t expires_at, json_t **ret);

/* The user's keys as a JSON array of KeyOut, newest first. */
int store_api_key_list(Db *db, int64_t user_id, json_t **ret);

/* Revokes a key of user_id; -ENOENT when user_id has no key with that id. Revoking a
 * revoked key is not an error. */
int store_api_key_revoke(Db *db, int64_t user_id, int64_t key_id);

/* Deletes a key of user_id outright, leaving no trace in their list: for keys the daemon
 * made for itself (an agent's platform_api call). -ENOENT when user_id has no such key. */
int store_api_key_delete(Db *db, int64_t user_id, int64_t key_id);

/* Logging in: a new key named "session" for each login, so that two browsers do not log
 * each other out; of the user's session keys the API_KEY_SESSIONS_KEPT newest stay and
 * older ones are deleted, in one transaction. *ret_key gets the new key. */
int store_api_key_create_session(Db *db, int64_t user_id, char **ret_key);

/* Logging out with key_id: a session key is deleted, any other key revoked. -ENOENT when
 * there is no such key. */
int store_api_key_log_out(Db *db, int64_t key_id);

/* Who a key belongs to. */
typedef struct ApiKeyOwner {
        int64_t key_id;
        int64_t user_id;
        char *username;
        char *role;
} ApiKeyOwner;

void api_key_owner_done(ApiKeyOwner *o);

/* Authentication: finds the active, unexpired key with that hash whose user is active, and
 * refreshes its last_used_at when that is unset or more than a minute old. -ENOENT when no
 * such key exists. */
int store_api_key_find_owner(Db *db, const char *key_hash, ApiKeyOwner *ret);
