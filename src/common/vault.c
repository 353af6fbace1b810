/* The secret key and sealing with it (see vault.h). */

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/vault.h"

#define SEALED_PREFIX "v1:"
#define NONCE_SIZE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_SIZE crypto_aead_xchacha20poly1305_ietf_ABYTES
/* A credential file holds the key as 32 bytes, or as 64 hex digits (and a newline). */
#define CREDENTIAL_READ_MAX 128

_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == VAULT_KEY_SIZE, "key size");

struct Vault {
        unsigned char *key; /* sodium_malloc'ed: locked, guarded, read-only */
};

void free_erase(char *s) {
        if (!s)
                return;
        sodium_memzero(s, strlen(s));
        free(s);
}

static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                free(*ret_error);
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

int vault_new(const uint8_t key[static VAULT_KEY_SIZE], Vault **ret) {
        _cleanup_(vault_freep) Vault *v = NULL;

        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;
        v->key = sodium_malloc(VAULT_KEY_SIZE);
        if (!v->key)
                return -ENOMEM;
        memcpy(v->key, key, VAULT_KEY_SIZE);
        if (sodium_mprotect_readonly(v->key) != 0)
                return -errno;
        *ret = TAKE_PTR(v);
        return 0;
}

Vault *vault_free(Vault *v) {
        if (!v)
                return NULL;
        sodium_free(v->key); /* wipes it */
        free(v);
        return NULL;
}

/* Reads at most max bytes of the file open at fd into buf. */
static ssize_t read_up_to(int fd, void *buf, size_t max) {
        size_t done = 0;

        while (done < max) {
                ssize_t n = read(fd, (char *) buf + done, max - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

/* Opens path for reading a key: -ENOENT (without a message) when it does not exist. */
static int open_key(const char *path, struct stat *ret_st, char **ret_error) {
        _cleanup_close_ int fd = -1;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 && errno == ELOOP)
                return set_error(ret_error, -ELOOP, "The secret key %s is a symbolic link; refusing to use it.",
                                 path);
        if (fd < 0) {
                int r = -errno;

                return set_error(ret_error, r, "Cannot read the secret key %s: %s.", path, strerror(-r));
        }
        if (fstat(fd, ret_st) < 0) {
                int r = -errno;

                return set_error(ret_error, r, "Cannot read the secret key %s: %s.", path, strerror(-r));
        }
        if (!S_ISREG(ret_st->st_mode))
                return set_error(ret_error, -EBADF, "The secret key %s is not a regular file.", path);
        return TAKE_FD(fd);
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* 32 bytes as they are, or 64 hex digits followed by nothing but whitespace. */
static bool key_from_credential(const unsigned char *data, size_t size, uint8_t key[static VAULT_KEY_SIZE]) {
        if (size == VAULT_KEY_SIZE) {
                memcpy(key, data, VAULT_KEY_SIZE);
                return true;
        }
        if (size < 2 * VAULT_KEY_SIZE)
                return false;
        for (size_t i = 2 * VAULT_KEY_SIZE; i < size; i++)
                if (!strchr(" \t\r\n", data[i]) || data[i] == 0)
                        return false;
        for (size_t i = 0; i < VAULT_KEY_SIZE; i++) {
                int hi = hex_digit((char) data[2 * i]), lo = hex_digit((char) data[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return false;
                key[i] = (uint8_t) (hi << 4 | lo);
        }
        return true;
}

static int read_credential(const char *path, uint8_t key[static VAULT_KEY_SIZE], char **ret_error) {
        unsigned char data[CREDENTIAL_READ_MAX + 1];
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;
        bool ok;

        fd = open_key(path, &st, ret_error);
        if (fd < 0)
                return fd;
        n = read_up_to(fd, data, sizeof data);
        if (n < 0)
                return set_error(ret_error, (int) n, "Cannot read the secret key %s: %s.", path, strerror((int) -n));
        ok = key_from_credential(data, (size_t) n, key);
        sodium_memzero(data, sizeof data);
        if (!ok)
                return set_error(ret_error, -EBADMSG,
                                 "The secret key %s is neither 32 bytes nor 64 hex digits.", path);
        return 0;
}

static int read_key_file(const char *path, uint8_t key[static VAULT_KEY_SIZE], char **ret_error) {
        unsigned char data[VAULT_KEY_SIZE + 1];
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        fd = open_key(path, &st, ret_error);
        if (fd < 0)
                return fd;
        if (st.st_mode & 0077)
                return set_error(ret_error, -EPERM,
                                 "The secret key %s is accessible to group or others (mode %04o); "
                                 "make it readable by its owner only (chmod 600).",
                                 path, (unsigned) (st.st_mode & 07777));
        n = read_up_to(fd, data, sizeof data);
        if (n < 0)
                return set_error(ret_error, (int) n, "Cannot read the secret key %s: %s.", path, strerror((int) -n));
        if (n != VAULT_KEY_SIZE) {
                sodium_memzero(data, sizeof data);
                return set_error(ret_error, -EBADMSG, "The secret key %s holds %s%zi bytes; a key is exactly %d.",
                                 path, n > VAULT_KEY_SIZE ? "more than " : "", n > VAULT_KEY_SIZE ? VAULT_KEY_SIZE : n,
                                 VAULT_KEY_SIZE);
        }
        memcpy(key, data, VAULT_KEY_SIZE);
        sodium_memzero(data, sizeof data);
        return 0;
}

static int write_all(int fd, const void *buf, size_t size) {
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, (const char *) buf + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t) n;
        }
        return 0;
}

static int fsync_directory(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* A new random key at path, whole or not at all: written and synced under a temporary name,
 * then linked into place, which fails with -EEXIST when another start got there first. */
static int create_key_file(const char *dir, const char *path, uint8_t key[static VAULT_KEY_SIZE], char **ret_error) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, VAULT_KEY_FILE) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
        if (fd < 0) {
                r = -errno;
                return set_error(ret_error, r, "Cannot create the secret key in %s: %s.", dir, strerror(-r));
        }

        randombytes_buf(key, VAULT_KEY_SIZE);
        r = write_all(fd, key, VAULT_KEY_SIZE);
        if (r >= 0 && fchmod(fd, 0600) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && link(tmp, path) < 0)
                r = -errno;
        (void) unlink(tmp);
        if (r == -EEXIST)
                return r;
        if (r < 0)
                return set_error(ret_error, r, "Cannot create the secret key %s: %s.", path, strerror(-r));

        r = fsync_directory(dir);
        if (r < 0)
                return set_error(ret_error, r, "Cannot save the secret key %s: %s.", path, strerror(-r));
        return 0;
}

int vault_load(const char *credentials_directory, const char *state_directory, Vault **ret,
               VaultKeySource *ret_source, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        uint8_t key[VAULT_KEY_SIZE];
        VaultKeySource source;
        int r;

        if (!state_directory || !ret)
                return -EINVAL;

        if (!isempty(credentials_directory)) {
                if (asprintf(&path, "%s/%s", credentials_directory, VAULT_CREDENTIAL_NAME) < 0)
                        return -ENOMEM;
                r = read_credential(path, key, ret_error);
                if (r == 0) {
                        source = VAULT_KEY_FROM_CREDENTIAL;
                        goto done;
                }
                if (r != -ENOENT)
                        return r;
                free(path);
                path = NULL;
        }

        if (asprintf(&path, "%s/%s", state_directory, VAULT_KEY_FILE) < 0)
                return -ENOMEM;
        /* A second round only when another process created the file between our two steps. */
        for (unsigned attempt = 0;; attempt++) {
                r = read_key_file(path, key, ret_error);
                if (r == 0) {
                        source = VAULT_KEY_FROM_FILE;
                        break;
                }
                if (r != -ENOENT)
                        return r;
                r = create_key_file(state_directory, path, key, ret_error);
                if (r == 0) {
                        source = VAULT_KEY_CREATED;
                        break;
                }
                if (r != -EEXIST || attempt > 0)
                        return r == -EEXIST ? set_error(ret_error, r, "Cannot create the secret key %s.", path) : r;
        }

done:
        r = vault_new(key, ret);
        sodium_memzero(key, sizeof key);
        if (r < 0)
                return r;
        if (ret_source)
                *ret_source = source;
        return 0;
}

int vault_seal(const Vault *v, const char *context, const void *data, size_t size, char **ret) {
        _cleanup_free_ unsigned char *bin = NULL;
        unsigned long long sealed_size;
        size_t bin_size, text_size;
        char *text;

        if (!v || !context || (!data && size > 0) || !ret)
                return -EINVAL;
        if (size > VAULT_DATA_MAX)
                return -E2BIG;

        bin_size = NONCE_SIZE + size + TAG_SIZE;
        bin = malloc(bin_size);
        if (!bin)
                return -ENOMEM;
        randombytes_buf(bin, NONCE_SIZE);
        if (crypto_aead_xchacha20poly1305_ietf_encrypt(bin + NONCE_SIZE, &sealed_size, data, size,
                                                       (const unsigned char *) context, strlen(context),
                                                       NULL, bin, v->key) != 0)
                return -EIO;

        text_size = strlen(SEALED_PREFIX) + sodium_base64_ENCODED_LEN(bin_size, sodium_base64_VARIANT_ORIGINAL);
        text = malloc(text_size);
        if (!text)
                return -ENOMEM;
        strcpy(text, SEALED_PREFIX);
        sodium_bin2base64(text + strlen(SEALED_PREFIX), text_size - strlen(SEALED_PREFIX), bin, bin_size,
                          sodium_base64_VARIANT_ORIGINAL);
        *ret = text;
        return 0;
}

int vault_open(const Vault *v, const char *context, const char *text, char **ret, size_t *ret_size) {
        _cleanup_free_ unsigned char *bin = NULL;
        unsigned long long opened_size;
        const char *b64, *end;
        size_t b64_len, bin_size;
        char *data;

        if (!v || !context || !text || !ret)
                return -EINVAL;
        if (strncmp(text, SEALED_PREFIX, strlen(SEALED_PREFIX)) != 0)
                return -EBADMSG;
        b64 = text + strlen(SEALED_PREFIX);
        b64_len = strlen(b64);
        if (b64_len > sodium_base64_ENCODED_LEN(NONCE_SIZE + VAULT_DATA_MAX + TAG_SIZE,
                                                sodium_base64_VARIANT_ORIGINAL))
                return -EBADMSG;

        bin = malloc(b64_len + 1);
        if (!bin)
                return -ENOMEM;
        if (sodium_base642bin(bin, b64_len + 1, b64, b64_len, NULL, &bin_size, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 || *end != 0)
                return -EBADMSG;
        if (bin_size < NONCE_SIZE + TAG_SIZE)
                return -EBADMSG;

        data = malloc(bin_size - NONCE_SIZE - TAG_SIZE + 1);
        if (!data)
                return -ENOMEM;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *) data, &opened_size, NULL,
                                                       bin + NONCE_SIZE, bin_size - NONCE_SIZE,
                                                       (const unsigned char *) context, strlen(context),
                                                       bin, v->key) != 0) {
                free(data);
                return -EBADMSG;
        }
        data[opened_size] = 0;
        *ret = data;
        if (ret_size)
                *ret_size = (size_t) opened_size;
        return 0;
}
