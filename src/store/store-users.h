/* Users: rows of the users table, handed out in the API's shape (UserOut):
 *   {id, username, role, first_name, last_name, created_at, mfa_enabled, key_count, budget}
 * where key_count counts the user's active keys and budget holds the spend limits an admin
 * set ({} when none; engine/budget-limits.h).
 *
 * A deactivated user (is_active false) is gone as far as the API is concerned: the getters,
 * the list and the updates skip it; only its username stays taken. Roles are the strings
 * "admin" and "normal"; callers validate them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

/* 1–150 characters of [A-Za-z0-9_.@+-]. */
#define USER_NAME_MAX 150
bool user_name_is_valid(const char *s);

/* What logging in needs to know about a user, active or not. */
typedef struct UserLogin {
        int64_t id;
        char *password_hash;
        bool is_active;
        bool mfa_enabled;
} UserLogin;

void user_login_done(UserLogin *l);

/* -ENOENT when no user has that name. */
int store_user_find_login(Db *db, const char *username, UserLogin *ret);

/* The password hash of an active user, or -ENOENT. */
int store_user_password_hash(Db *db, int64_t id, char **ret);

/* UserOut of an active user, or -ENOENT. */
int store_user_get(Db *db, int64_t id, json_t **ret);

/* Creates an active user and returns its UserOut; -EEXIST when the username is taken (also
 * by a deactivated user). first_name and last_name may be NULL (empty). */
int store_user_create(Db *db, const char *username, const char *password_hash, const char *role,
                      const char *first_name, const char *last_name, json_t **ret);

/* Fields to change; NULL leaves a field as it is. */
typedef struct UserUpdate {
        const char *password_hash;      /* a new one also ends the user's login sessions… */
        int64_t session_kept;           /* …but for this one (an api_keys id; 0: none) */
        const char *role;
        const char *first_name;
        const char *last_name;
        const char *budget;             /* JSON text of the user's spend limits ("{}": none) */
} UserUpdate;

/* Applies u to an active user and returns the new UserOut (ret may be NULL); -ENOENT when
 * there is no such active user. */
int store_user_update(Db *db, int64_t id, const UserUpdate *u, json_t **ret);

/* Number of active admins. */
int store_user_count_admins(Db *db, int64_t *ret);

/* Deactivates an active user and revokes all their keys, in one transaction; -ENOENT when
 * there is no such active user. */
int store_user_deactivate(Db *db, int64_t id);

/* Active users by id, a page of UserOut as a JSON array, and how many there are in all. */
int store_user_list(Db *db, int64_t limit, int64_t offset, json_t **ret_items, int64_t *ret_total);
