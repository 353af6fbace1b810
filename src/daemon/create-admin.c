/* pipelitd --create-admin: the admin account that lets one log in the first time. */

#include <errno.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/create-admin.h"
#include "store/store-users.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

/* Frees a password after wiping it, so it does not linger in freed memory. */
static void erase_and_freep(char **p) {
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}

/* Characters, not bytes, as the API counts them. */
static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

/* Reads the first line of f as the password. *ret is NULL when f is a terminal or has no
 * data, which asks for a generated password. */
static int read_password(FILE *f, char **ret) {
        char *line = NULL;
        size_t size = 0;
        ssize_t n;
        int r;

        *ret = NULL;
        if (!f || isatty(fileno(f)))
                return 0;

        errno = 0;
        n = getline(&line, &size, f);
        if (n < 0) {
                r = ferror(f) ? (errno > 0 ? -errno : -EIO) : 0;
                /* The buffer need not hold a string here; wipe all of it. */
                if (line)
                        explicit_bzero(line, size);
                free(line);
                return r;
        }

        line[strcspn(line, "\r\n")] = 0;
        *ret = line;
        return 0;
}

static int existing_user_check(Db *db, const char *username) {
        _cleanup_(user_login_done) UserLogin login = {};
        int r;

        r = store_user_find_login(db, username, &login);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to look up user '%s': %m", username);
        return log_error_errno(EEXIST, "User '%s' already exists; nothing changed.", username);
}

int create_admin(Db *db, const char *username, FILE *password_input, FILE *out) {
        _cleanup_(erase_and_freep) char *password = NULL;
        _cleanup_free_ char *hash = NULL;
        _cleanup_json_ json_t *user = NULL;
        bool generated = false;
        size_t len;
        int r;

        if (!user_name_is_valid(username))
                return log_error_errno(EINVAL, "Invalid username '%s': use 1 to %d letters, digits or _ . @ + -",
                                       username, USER_NAME_MAX);

        r = existing_user_check(db, username);
        if (r < 0)
                return r;

        r = read_password(password_input, &password);
        if (r < 0)
                return log_error_errno(r, "Failed to read the password: %m");
        if (!password) {
                r = random_password(&password);
                if (r < 0)
                        return log_error_errno(r, "Failed to generate a password: %m");
                generated = true;
        }
        len = utf8_length(password);
        if (len < PASSWORD_MIN || len > PASSWORD_MAX)
                return log_error_errno(EINVAL, "The password must be %d to %d characters long.",
                                       PASSWORD_MIN, PASSWORD_MAX);

        r = password_hash(password, &hash);
        if (r < 0)
                return log_error_errno(r, "Failed to hash the password: %m");

        r = store_user_create(db, username, hash, "admin", NULL, NULL, &user);
        if (r == -EEXIST)
                return log_error_errno(r, "User '%s' already exists; nothing changed.", username);
        if (r < 0)
                return log_error_errno(r, "Failed to create user '%s': %m", username);

        fprintf(out, "Created admin user '%s'.\n", username);
        if (generated)
                fprintf(out, "Password for %s: %s\n", username, password);
        fprintf(out,
                "Get an API key with:\n"
                "  curl -X POST http://HOST/api/v1/auth/token/ -H 'Content-Type: application/json' "
                "-d '{\"username\":\"%s\",\"password\":\"…\"}'\n",
                username);
        if (fflush(out) != 0)
                return log_error_errno(errno > 0 ? errno : EIO, "Failed to write the result: %m");
        return 0;
}
