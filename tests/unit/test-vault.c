/* The vault: sealing and opening secrets, and finding or creating its key. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/macro.h"
#include "common/vault.h"

static const uint8_t key_a[VAULT_KEY_SIZE] = "0123456789abcdef0123456789abcde";
static const uint8_t key_b[VAULT_KEY_SIZE] = "fedcba9876543210fedcba987654321";

static char dir[] = "/tmp/test-vault-XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void setup(void) {
        strcpy(dir, "/tmp/test-vault-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        (void) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *sub, const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s%s%s/%s", dir, sub ? "/" : "", sub ?: "", name), 0);
        return p;
}

static void write_file(const char *path, const void *data, size_t size, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static char *seal(const Vault *v, const char *context, const char *text) {
        char *sealed = NULL;

        ck_assert_int_eq(vault_seal(v, context, text, strlen(text), &sealed), 0);
        return sealed;
}

START_TEST(test_round_trip) {
        _cleanup_(vault_freep) Vault *v = NULL;
        _cleanup_free_ char *sealed = NULL, *again = NULL, *empty = NULL, *opened = NULL, *opened_empty = NULL;
        const char *secret = "sk-test-0123456789abcdefghijklmnopqrstuvwxyz";
        size_t size;

        ck_assert_int_eq(vault_new(key_a, &v), 0);
        sealed = seal(v, "credentials/1/api_key", secret);
        ck_assert_msg(strncmp(sealed, "v1:", 3) == 0, "no version prefix: %s", sealed);
        ck_assert_ptr_null(strstr(sealed, "sk-test"));

        ck_assert_int_eq(vault_open(v, "credentials/1/api_key", sealed, &opened, &size), 0);
        ck_assert_str_eq(opened, secret);
        ck_assert_uint_eq(size, strlen(secret));

        /* A fresh nonce each time: the same secret never seals to the same text. */
        again = seal(v, "credentials/1/api_key", secret);
        ck_assert_str_ne(sealed, again);

        empty = seal(v, "credentials/1/api_key", "");
        ck_assert_int_eq(vault_open(v, "credentials/1/api_key", empty, &opened_empty, &size), 0);
        ck_assert_str_eq(opened_empty, "");
        ck_assert_uint_eq(size, 0);
}
END_TEST

START_TEST(test_binary_data) {
        _cleanup_(vault_freep) Vault *v = NULL;
        _cleanup_free_ char *sealed = NULL, *opened = NULL;
        unsigned char data[256];
        size_t size;

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (unsigned char) i;
        ck_assert_int_eq(vault_new(key_a, &v), 0);
        ck_assert_int_eq(vault_seal(v, "ctx", data, sizeof data, &sealed), 0);
        ck_assert_int_eq(vault_open(v, "ctx", sealed, &opened, &size), 0);
        ck_assert_uint_eq(size, sizeof data);
        ck_assert_int_eq(memcmp(opened, data, sizeof data), 0);
        ck_assert_int_eq(opened[size], 0);
}
END_TEST

START_TEST(test_tampering_detected) {
        _cleanup_(vault_freep) Vault *v = NULL;
        _cleanup_free_ char *sealed = NULL, *copy = NULL;
        char *opened = (char *) "untouched";
        size_t len;

        ck_assert_int_eq(vault_new(key_a, &v), 0);
        sealed = seal(v, "credentials/7/bot_token", "123456:secret-token-value");
        len = strlen(sealed);

        /* Every single changed character of the text is noticed. */
        copy = strdup(sealed);
        for (size_t i = 3; i < len; i++) {
                char was = copy[i];

                copy[i] = copy[i] == 'A' ? 'B' : 'A';
                ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", copy, &opened, NULL), -EBADMSG);
                copy[i] = was;
        }
        ck_assert_str_eq(opened, "untouched");

        /* Cut short, lengthened, another version, not base64, nothing at all. */
        copy[len - 4] = 0;
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", copy, &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", "v1:QUJD", &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", "v1:", &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", "v1:!!!!", &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", "v2:QUJDRA==", &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", "123456:secret-token-value", &opened, NULL),
                         -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", "", &opened, NULL), -EBADMSG);
        free(copy);
        ck_assert_int_ge(asprintf(&copy, "%sAAAA", sealed), 0);
        ck_assert_int_eq(vault_open(v, "credentials/7/bot_token", copy, &opened, NULL), -EBADMSG);
        ck_assert_str_eq(opened, "untouched");
}
END_TEST

START_TEST(test_bound_to_context) {
        _cleanup_(vault_freep) Vault *v = NULL;
        _cleanup_free_ char *sealed = NULL;
        char *opened = NULL;

        ck_assert_int_eq(vault_new(key_a, &v), 0);
        sealed = seal(v, "credentials/1/api_key", "the secret");
        /* Moved to another row, or to another field of the same row: it does not open. */
        ck_assert_int_eq(vault_open(v, "credentials/2/api_key", sealed, &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/1/access_token", sealed, &opened, NULL), -EBADMSG);
        ck_assert_int_eq(vault_open(v, "credentials/11/api_key", sealed, &opened, NULL), -EBADMSG);
        ck_assert_ptr_null(opened);
}
END_TEST

START_TEST(test_wrong_key) {
        _cleanup_(vault_freep) Vault *a = NULL, *b = NULL, *a2 = NULL;
        _cleanup_free_ char *sealed = NULL, *opened = NULL;

        ck_assert_int_eq(vault_new(key_a, &a), 0);
        ck_assert_int_eq(vault_new(key_b, &b), 0);
        ck_assert_int_eq(vault_new(key_a, &a2), 0);
        sealed = seal(a, "ctx", "the secret");
        ck_assert_int_eq(vault_open(b, "ctx", sealed, &opened, NULL), -EBADMSG);
        ck_assert_ptr_null(opened);
        /* The same key in another vault opens it. */
        ck_assert_int_eq(vault_open(a2, "ctx", sealed, &opened, NULL), 0);
        ck_assert_str_eq(opened, "the secret");
}
END_TEST

START_TEST(test_bad_arguments) {
        _cleanup_(vault_freep) Vault *v = NULL;
        char *out = NULL;

        ck_assert_int_eq(vault_new(key_a, &v), 0);
        ck_assert_int_eq(vault_seal(NULL, "ctx", "x", 1, &out), -EINVAL);
        ck_assert_int_eq(vault_seal(v, NULL, "x", 1, &out), -EINVAL);
        ck_assert_int_eq(vault_seal(v, "ctx", NULL, 1, &out), -EINVAL);
        ck_assert_int_eq(vault_seal(v, "ctx", "x", VAULT_DATA_MAX + 1, &out), -E2BIG);
        ck_assert_int_eq(vault_open(v, "ctx", NULL, &out, NULL), -EINVAL);
        ck_assert_ptr_null(out);
        ck_assert_ptr_null(vault_free(NULL));
        free_erase(NULL);
}
END_TEST

/* --- the key file --------------------------------------------------------------------------- */

START_TEST(test_key_file_created) {
        _cleanup_(vault_freep) Vault *first = NULL, *second = NULL;
        _cleanup_free_ char *path = path_in(NULL, VAULT_KEY_FILE), *sealed = NULL, *opened = NULL, *error = NULL;
        VaultKeySource source;
        struct stat st;
        mode_t old_umask;

        /* Whatever the umask, the key is its owner's alone. */
        old_umask = umask(0);
        ck_assert_int_eq(vault_load(NULL, dir, &first, &source, &error), 0);
        umask(old_umask);
        ck_assert_int_eq(source, VAULT_KEY_CREATED);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(st.st_size, VAULT_KEY_SIZE);

        /* Used again on the next start: what the first sealed, the second opens. */
        sealed = seal(first, "ctx", "kept across restarts");
        ck_assert_int_eq(vault_load(NULL, dir, &second, &source, &error), 0);
        ck_assert_int_eq(source, VAULT_KEY_FROM_FILE);
        ck_assert_int_eq(vault_open(second, "ctx", sealed, &opened, NULL), 0);
        ck_assert_str_eq(opened, "kept across restarts");

        /* No temporary file is left behind. */
        ck_assert_int_eq(access(path, F_OK), 0);
        {
                _cleanup_free_ char *cmd = NULL;

                ck_assert_int_ge(asprintf(&cmd, "test $(ls -A %s | wc -l) -eq 1", dir), 0);
                ck_assert_int_eq(system(cmd), 0);
        }
}
END_TEST

START_TEST(test_key_file_refused) {
        _cleanup_free_ char *path = path_in(NULL, VAULT_KEY_FILE);
        uint8_t bytes[64] = { 1, 2, 3 };
        Vault *v = NULL;
        char *error = NULL;

        /* Readable by others. */
        write_file(path, bytes, VAULT_KEY_SIZE, 0644);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -EPERM);
        ck_assert_ptr_nonnull(strstr(error, path));
        ck_assert_ptr_nonnull(strstr(error, "chmod 600"));
        error = (free(error), NULL);
        write_file(path, bytes, VAULT_KEY_SIZE, 0640);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -EPERM);
        error = (free(error), NULL);

        /* Too short, too long, empty: never replaced, always refused. */
        write_file(path, bytes, VAULT_KEY_SIZE - 1, 0600);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, "holds 31 bytes"));
        error = (free(error), NULL);
        write_file(path, bytes, VAULT_KEY_SIZE + 1, 0600);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, "more than 32 bytes"));
        error = (free(error), NULL);
        write_file(path, bytes, 0, 0600);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -EBADMSG);
        error = (free(error), NULL);
        {
                struct stat st;

                ck_assert_int_eq(stat(path, &st), 0);
                ck_assert_int_eq(st.st_size, 0);
        }

        /* Not a file, or a symbolic link. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkdir(path, 0700), 0);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -EBADF);
        ck_assert_ptr_nonnull(strstr(error, "not a regular file"));
        error = (free(error), NULL);
        ck_assert_int_eq(rmdir(path), 0);
        ck_assert_int_eq(symlink("/etc/hostname", path), 0);
        ck_assert_int_eq(vault_load(NULL, dir, &v, NULL, &error), -ELOOP);
        ck_assert_ptr_nonnull(strstr(error, "symbolic link"));
        error = (free(error), NULL);
        ck_assert_ptr_null(v);

        /* A state directory that does not exist. */
        {
                _cleanup_free_ char *missing = path_in(NULL, "missing");

                ck_assert_int_lt(vault_load(NULL, missing, &v, NULL, &error), 0);
                ck_assert_ptr_nonnull(error);
                error = (free(error), NULL);
        }
}
END_TEST

START_TEST(test_key_from_credentials_directory) {
        _cleanup_(vault_freep) Vault *raw = NULL, *hex = NULL, *fallback = NULL;
        _cleanup_free_ char *creds = path_in(NULL, "creds"), *state = path_in(NULL, "state"),
                            *cred_path = path_in("creds", VAULT_CREDENTIAL_NAME),
                            *state_key = path_in("state", VAULT_KEY_FILE), *sealed = NULL, *opened = NULL;
        char hex_text[2 * VAULT_KEY_SIZE + 2];
        VaultKeySource source;
        Vault *v = NULL;
        char *error = NULL;

        ck_assert_int_eq(mkdir(creds, 0700), 0);
        ck_assert_int_eq(mkdir(state, 0700), 0);

        /* Passed, as 32 bytes (systemd copies it with whatever mode: not checked): used, and
         * no key file is made. */
        write_file(cred_path, key_a, VAULT_KEY_SIZE, 0440);
        ck_assert_int_eq(vault_load(creds, state, &raw, &source, &error), 0);
        ck_assert_int_eq(source, VAULT_KEY_FROM_CREDENTIAL);
        ck_assert_int_eq(access(state_key, F_OK), -1);

        /* The same key as hex digits with a newline. */
        for (size_t i = 0; i < VAULT_KEY_SIZE; i++)
                snprintf(hex_text + 2 * i, 3, "%02x", key_a[i]);
        strcat(hex_text, "\n");
        write_file(cred_path, hex_text, strlen(hex_text), 0400);
        ck_assert_int_eq(vault_load(creds, state, &hex, &source, &error), 0);
        ck_assert_int_eq(source, VAULT_KEY_FROM_CREDENTIAL);
        sealed = seal(raw, "ctx", "same key");
        ck_assert_int_eq(vault_open(hex, "ctx", sealed, &opened, NULL), 0);

        /* Neither form: refused, no fallback to a key file. */
        write_file(cred_path, "not a key\n", 10, 0400);
        ck_assert_int_eq(vault_load(creds, state, &v, NULL, &error), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, VAULT_CREDENTIAL_NAME));
        error = (free(error), NULL);
        hex_text[5] = 'g';
        write_file(cred_path, hex_text, strlen(hex_text), 0400);
        ck_assert_int_eq(vault_load(creds, state, &v, NULL, &error), -EBADMSG);
        error = (free(error), NULL);
        ck_assert_ptr_null(v);

        /* A credentials directory without our credential: the state directory's key. */
        ck_assert_int_eq(unlink(cred_path), 0);
        ck_assert_int_eq(vault_load(creds, state, &fallback, &source, &error), 0);
        ck_assert_int_eq(source, VAULT_KEY_CREATED);
        ck_assert_int_eq(access(state_key, F_OK), 0);
}
END_TEST

static Suite *vault_suite(void) {
        Suite *s = suite_create("vault");
        TCase *tc;

        tc = tcase_create("sealing");
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_binary_data);
        tcase_add_test(tc, test_tampering_detected);
        tcase_add_test(tc, test_bound_to_context);
        tcase_add_test(tc, test_wrong_key);
        tcase_add_test(tc, test_bad_arguments);
        suite_add_tcase(s, tc);

        tc = tcase_create("key");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_key_file_created);
        tcase_add_test(tc, test_key_file_refused);
        tcase_add_test(tc, test_key_from_credentials_directory);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (crypto_init() < 0)
                return EXIT_FAILURE;

        sr = srunner_create(vault_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
