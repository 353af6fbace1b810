/* Bearer key authentication and the role names. */

#include <errno.h>
#include <strings.h>

#include "api/auth.h"
#include "common/crypto.h"
#include "daemon/manager.h"
#include "store/store-api-keys.h"

/* Generated keys are 47 characters; anything much longer is not worth hashing. */
#define API_KEY_LEN_MAX 256

static const char *const user_role_names[_USER_ROLE_MAX] = {
        [USER_ROLE_NORMAL] = "normal",
        [USER_ROLE_ADMIN] = "admin",
};

const char *user_role_to_string(UserRole r) {
        if (r < 0 || r >= _USER_ROLE_MAX)
                return NULL;
        return user_role_names[r];
}

UserRole user_role_from_string(const char *s) {
        for (int i = 0; s && i < _USER_ROLE_MAX; i++)
                if (streq(s, user_role_names[i]))
                        return (UserRole) i;
        return _USER_ROLE_INVALID;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Extracts the key of "Bearer <key>" (scheme in any case) into a new string. */
static int parse_bearer(const char *header, char **ret_key) {
        const char *p = header, *end;
        char *key;

        if (!p)
                return -EACCES;
        while (is_blank(*p))
                p++;
        if (strncasecmp(p, "Bearer", 6) != 0 || !is_blank(p[6]))
                return -EACCES;
        p += 6;
        while (is_blank(*p))
                p++;

        end = p + strlen(p);
        while (end > p && is_blank(end[-1]))
                end--;
        if (end == p || end - p > API_KEY_LEN_MAX)
                return -EACCES;
        for (const char *c = p; c < end; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return -EACCES;

        key = strndup(p, (size_t) (end - p));
        if (!key)
                return -ENOMEM;
        *ret_key = key;
        return 0;
}

int auth_authenticate(HttpRequest *req) {
        _cleanup_free_ char *key = NULL, *hash = NULL;
        _cleanup_(api_key_owner_done) ApiKeyOwner owner = {};
        UserRole role;
        int r;

        r = parse_bearer(req->authorization, &key);
        if (r < 0)
                return r;

        r = api_key_hash(key, &hash);
        if (r < 0)
                return r;

        r = store_api_key_find_owner(req->manager->db, hash, &owner);
        if (r == -ENOENT)
                return -EACCES;
        if (r < 0)
                return r;

        role = user_role_from_string(owner.role);
        if (role < 0)
                return -EBADMSG;

        auth_user_done(&req->user);
        req->user = (AuthUser) {
                .id = owner.user_id,
                .username = TAKE_PTR(owner.username),
                .role = role,
                .key_id = owner.key_id,
        };
        return 0;
}

void auth_user_done(AuthUser *u) {
        if (!u)
                return;
        free(u->username);
        *u = (AuthUser) {};
}
