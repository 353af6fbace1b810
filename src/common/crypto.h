/* Passwords (Argon2id via libsodium) and API keys (random, stored only as a hash). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Call once before anything else here; returns negative errno on failure. */
int crypto_init(void);

/* Argon2id string in libsodium's format ("$argon2id$v=19$m=…"). */
int password_hash(const char *password, char **ret_hash);
bool password_verify(const char *hash, const char *password);

#define API_KEY_PREFIX_LEN 8

/* A new key "plt_" + 43 base64url characters (256 random bits); *ret_hash is what the
 * database stores (hex BLAKE2b-256 of the key), *ret_prefix its first 8 characters. */
int api_key_generate(char **ret_key, char **ret_hash, char **ret_prefix);
int api_key_hash(const char *key, char **ret_hash);

/* A random password of 20 base64url characters, for --create-admin without stdin. */
int random_password(char **ret);
/* len random hex characters (len even), for node ids and execution ids. */
int random_hex(char *buf, size_t len);
/* Constant-time comparison of two NUL-terminated strings. */
bool streq_consttime(const char *a, const char *b);
