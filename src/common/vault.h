/* Secrets at rest: XChaCha20-Poly1305 (libsodium) under one 32-byte key per installation.
 *
 * The key is systemd's credential "pipelit-secret-key" ($CREDENTIALS_DIRECTORY, filled by
 * LoadCredential=) when the service manager passes it: 32 bytes, or 64 hex digits. Otherwise
 * it is <StateDirectory>/secret.key, 32 bytes created once with mode 0600; an existing key
 * file that cannot be read, has another size, or that group or others may access refuses
 * the start. Losing the key loses every secret sealed with it.
 *
 * A sealed value is text, "v1:" + base64(nonce ‖ ciphertext ‖ tag). The context given to
 * seal and open ("credentials/12/api_key") is authenticated with it: a value copied to
 * another row or field does not open there.
 *
 * Once loaded the vault never changes (its key sits in locked, read-only memory): any
 * thread may use it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

#define VAULT_KEY_SIZE 32
#define VAULT_CREDENTIAL_NAME "pipelit-secret-key"
#define VAULT_KEY_FILE "secret.key"
/* The most a sealed value may hold. */
#define VAULT_DATA_MAX (1024 * 1024)

typedef struct Vault Vault;

typedef enum VaultKeySource {
        VAULT_KEY_FROM_CREDENTIAL, /* $CREDENTIALS_DIRECTORY/pipelit-secret-key */
        VAULT_KEY_FROM_FILE,       /* <StateDirectory>/secret.key, as found */
        VAULT_KEY_CREATED,         /* <StateDirectory>/secret.key, made just now */
        _VAULT_KEY_SOURCE_MAX,
        _VAULT_KEY_SOURCE_INVALID = -22,
} VaultKeySource;

int vault_new(const uint8_t key[static VAULT_KEY_SIZE], Vault **ret);
/* Finds or creates the key as described above; credentials_directory may be NULL (no
 * credentials passed), state_directory must exist. On failure *ret_error (if given) gets a
 * malloc'ed sentence naming the file and what is wrong with it. */
int vault_load(const char *credentials_directory, const char *state_directory, Vault **ret,
               VaultKeySource *ret_source, char **ret_error);
Vault *vault_free(Vault *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(Vault *, vault_free);

/* Seals size bytes of data (at most VAULT_DATA_MAX) for context into *ret. */
int vault_seal(const Vault *v, const char *context, const void *data, size_t size, char **ret);
/* Opens text sealed for context: *ret gets the data with a NUL after it (*ret_size, if
 * given, its size). -EBADMSG when text is not a sealed value, or was sealed with another
 * key or for another context, or was changed. The caller wipes and frees *ret. */
int vault_open(const Vault *v, const char *context, const char *text, char **ret, size_t *ret_size);

/* Overwrites s (which may be NULL) with zeros and frees it. */
void free_erase(char *s);
static inline void free_erasep(char **s) {
        free_erase(*s);
}
#define _cleanup_erase_ _cleanup_(free_erasep)
