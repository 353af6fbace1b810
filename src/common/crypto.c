/* Passwords and API keys, on top of libsodium. */

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "common/macro.h"

#define API_KEY_PREFIX "plt_"
#define API_KEY_RANDOM_BYTES 32  /* 256 bits → 43 base64url characters */
#define RANDOM_PASSWORD_BYTES 15 /* 120 bits → exactly 20 base64url characters */
#define ARGON2ID_PREFIX "$argon2id$"

int crypto_init(void) {
        /* 0 on the first call, 1 when already initialised. */
        return sodium_init() < 0 ? -EIO : 0;
}

int password_hash(const char *password, char **ret_hash) {
        char out[crypto_pwhash_STRBYTES];
        char *s;

        if (!password || !ret_hash)
                return -EINVAL;

        /* Asking for Argon2id by name rather than trusting the library's default. */
        if (crypto_pwhash_str_alg(out, password, strlen(password),
                                  crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0)
                return -ENOMEM; /* the only way it fails: the memory limit cannot be met */
        if (strncmp(out, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0)
                return -EPROTO;

        s = strdup(out);
        sodium_memzero(out, sizeof(out));
        if (!s)
                return -ENOMEM;
        *ret_hash = s;
        return 0;
}

bool password_verify(const char *hash, const char *password) {
        if (!hash || !password)
                return false;
        /* libsodium reads the hash as a string of at most crypto_pwhash_STRBYTES - 1. */
        if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
                return false;
        return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static int base64url_random(size_t n_bytes, const char *prefix, char **ret) {
        unsigned char bin[64];
        size_t prefix_len = strlen(prefix), b64_len;
        char *s;

        if (n_bytes > sizeof(bin))
                return -EINVAL;

        b64_len = sodium_base64_ENCODED_LEN(n_bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        s = malloc(prefix_len + b64_len);
        if (!s)
                return -ENOMEM;

        randombytes_buf(bin, n_bytes);
        memcpy(s, prefix, prefix_len);
        sodium_bin2base64(s + prefix_len, b64_len, bin, n_bytes,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(bin, sizeof(bin));

        *ret = s;
        return 0;
}

int api_key_hash(const char *key, char **ret_hash) {
        unsigned char digest[crypto_generichash_BYTES];
        char *hex;

        _Static_assert(crypto_generichash_BYTES == 32, "BLAKE2b-256 expected");

        if (!key || !ret_hash)
                return -EINVAL;

        if (crypto_generichash(digest, sizeof(digest), (const unsigned char *) key, strlen(key),
                               NULL, 0) != 0)
                return -EIO;

        hex = malloc(sizeof(digest) * 2 + 1);
        if (!hex)
                return -ENOMEM;
        sodium_bin2hex(hex, sizeof(digest) * 2 + 1, digest, sizeof(digest));

        *ret_hash = hex;
        return 0;
}

int api_key_generate(char **ret_key, char **ret_hash, char **ret_prefix) {
        _cleanup_free_ char *key = NULL, *hash = NULL, *prefix = NULL;
        int r;

        if (!ret_key || !ret_hash || !ret_prefix)
                return -EINVAL;

        r = base64url_random(API_KEY_RANDOM_BYTES, API_KEY_PREFIX, &key);
        if (r < 0)
                return r;
        r = api_key_hash(key, &hash);
        if (r < 0)
                return r;
        prefix = strndup(key, API_KEY_PREFIX_LEN);
        if (!prefix)
                return -ENOMEM;

        *ret_key = TAKE_PTR(key);
        *ret_hash = TAKE_PTR(hash);
        *ret_prefix = TAKE_PTR(prefix);
        return 0;
}

int random_password(char **ret) {
        if (!ret)
                return -EINVAL;
        return base64url_random(RANDOM_PASSWORD_BYTES, "", ret);
}

int random_hex(char *buf, size_t len) {
        static const char digits[] = "0123456789abcdef";
        unsigned char bin[32];

        if (!buf || len % 2 != 0)
                return -EINVAL;

        for (size_t done = 0; done < len; ) {
                size_t n = MIN(sizeof(bin), (len - done) / 2);

                randombytes_buf(bin, n);
                for (size_t i = 0; i < n; i++) {
                        buf[done++] = digits[bin[i] >> 4];
                        buf[done++] = digits[bin[i] & 0xf];
                }
        }
        buf[len] = '\0';
        return 0;
}

bool streq_consttime(const char *a, const char *b) {
        size_t la, lb;

        if (!a || !b)
                return a == b;

        /* The length is not secret (hashes and keys have a fixed one); the content is. */
        la = strlen(a);
        lb = strlen(b);
        if (la != lb)
                return false;
        return sodium_memcmp(a, b, la) == 0;
}
