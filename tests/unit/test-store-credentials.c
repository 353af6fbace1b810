/* Credentials in the store (SQLite in memory): secrets sealed per row and field, masked in
 * answers, in clear only through store_credential_load(). */

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/json-util.h"
#include "store/migrate.h"
#include "store/store-credentials.h"

#define API_KEY "sk-live-0123456789abcdefghijklmnopqrstuvwxyz"
#define HEADER_VALUE "header-secret-0123456789-abcdefgh"

static const uint8_t key[VAULT_KEY_SIZE] = "0123456789abcdef0123456789abcde";
static const uint8_t other_key[VAULT_KEY_SIZE] = "fedcba9876543210fedcba987654321";

static Db *db;
static Vault *vault;
static int64_t alice, bob;

static int64_t add_user(const char *name) {
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO users (username, password_hash, created_at, updated_at) "
                                   "VALUES (?, 'x', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z') "
                                   "RETURNING id", name), 0);
        return db_result_get_int64(res, 0, 0);
}

static void setup(void) {
        _cleanup_free_ char *error = NULL;

        ck_assert_int_eq(db_open("sqlite::memory:", &db, &error), 0);
        ck_assert_int_ge(db_migrate(db, &error), 0);
        ck_assert_int_eq(vault_new(key, &vault), 0);
        alice = add_user("alice");
        bob = add_user("bob");
}

static void teardown(void) {
        db = db_close(db);
        vault = vault_free(vault);
}

static json_t *llm_detail(void) {
        json_t *d = json_pack("{s:s, s:s, s:s?, s:s?, s:{s:s}}", "provider_type", "openai", "api_key", API_KEY,
                              "base_url", NULL, "organization_id", NULL, "custom_headers", "X-Proxy-Key",
                              HEADER_VALUE);

        ck_assert_ptr_nonnull(d);
        return d;
}

static int64_t create(int64_t owner, const char *name, json_t **ret) {
        _cleanup_json_ json_t *detail = llm_detail();
        int64_t id;

        ck_assert_int_eq(store_credential_create(db, vault, owner, name, "llm", detail, ret, &id), 0);
        return id;
}

/* Every column of every credential row as one text. */
static char *table_text(void) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_int_eq(db_query(db, &res, "SELECT * FROM credentials", 0, NULL), 0);
        for (size_t row = 0; row < db_result_rows(res); row++)
                for (size_t col = 0; col < db_result_columns(res); col++)
                        fprintf(f, "%s|", db_result_get(res, row, col) ?: "NULL");
        fclose(f);
        return buf;
}

START_TEST(test_mask) {
        _cleanup_free_ char *long_mask = credential_mask("api_key", API_KEY),
                            *short_mask = credential_mask("api_key", "short-secret"),
                            *border = credential_mask("api_key", "abcdefghijklmnopqrstuvwx"),
                            *below = credential_mask("api_key", "abcdefghijklmnopqrstuvw"),
                            *ssh = credential_mask("ssh_private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA"),
                            *empty = credential_mask("api_key", "");

        ck_assert_str_eq(long_mask, "sk-l****wxyz");
        ck_assert_str_eq(short_mask, "****");
        ck_assert_str_eq(border, "abcd****uvwx");
        ck_assert_str_eq(below, "****");
        ck_assert_str_eq(ssh, "****");
        ck_assert_str_eq(empty, "****");

        ck_assert(credential_field_is_secret("llm", "api_key"));
        ck_assert(credential_field_is_secret("llm", "custom_headers"));
        ck_assert(!credential_field_is_secret("llm", "base_url"));
        ck_assert(credential_field_is_secret("telegram", "bot_token"));
        ck_assert(credential_field_is_secret("git", "ssh_private_key"));
        ck_assert(!credential_field_is_secret("tool", "config"));
        ck_assert(!credential_field_is_secret("nonsense", "api_key"));
        ck_assert(credential_type_is_valid("git"));
        ck_assert(!credential_type_is_valid("gateway"));
}
END_TEST

START_TEST(test_create_seals) {
        _cleanup_json_ json_t *out = NULL, *got = NULL;
        _cleanup_(credential_freep) Credential *c = NULL;
        _cleanup_free_ char *text = NULL;
        json_t *detail;
        int64_t id;

        id = create(alice, "OpenAI", &out);
        detail = json_object_get(out, "detail");
        ck_assert_str_eq(json_get_string(detail, "api_key", ""), "sk-l****wxyz");
        ck_assert_str_eq(json_get_string(json_object_get(detail, "custom_headers"), "X-Proxy-Key", ""), "head****efgh");
        ck_assert_str_eq(json_get_string(detail, "provider_type", ""), "openai");
        ck_assert_str_eq(json_get_string(out, "credential_type", ""), "llm");
        ck_assert_int_eq(json_get_integer(out, "owner_id", 0), alice);

        /* Nothing in the table gives a secret away. */
        text = table_text();
        ck_assert_ptr_null(strstr(text, API_KEY));
        ck_assert_ptr_null(strstr(text, HEADER_VALUE));
        ck_assert_ptr_nonnull(strstr(text, "v1:"));

        /* The answers never hold it either; load is the one way to it. */
        ck_assert_int_eq(store_credential_get(db, vault, &(StoreCaller) { alice, false }, id, &got), 0);
        ck_assert(json_equal(got, out));
        ck_assert_int_eq(store_credential_load(db, vault, NULL, id, &c), 0);
        ck_assert_str_eq(json_get_string(c->detail, "api_key", ""), API_KEY);
        ck_assert_str_eq(json_get_string(json_object_get(c->detail, "custom_headers"), "X-Proxy-Key", ""), HEADER_VALUE);
        ck_assert_str_eq(c->name, "OpenAI");
        ck_assert_str_eq(c->type, "llm");
}
END_TEST

START_TEST(test_bound_to_row) {
        _cleanup_(credential_freep) Credential *c = NULL;
        _cleanup_json_ json_t *masked = NULL;
        int64_t first, second;
        char a[DB_INT_BUFSZ], b[DB_INT_BUFSZ];

        first = create(alice, "first", NULL);
        second = create(alice, "second", NULL);

        /* The first row's sealed secrets copied over the second's: they do not open there. */
        ck_assert_int_eq(db_queryv(db, NULL,
                                   "UPDATE credentials SET secret_ciphertext = "
                                   "(SELECT secret_ciphertext FROM credentials WHERE id = ?) WHERE id = ?",
                                   db_int(a, first), db_int(b, second)), 0);
        ck_assert_int_eq(store_credential_load(db, vault, NULL, second, &c), -EBADMSG);
        ck_assert_ptr_null(c);
        /* Answers still come, the secret shown as unknown. */
        ck_assert_int_eq(store_credential_get(db, vault, NULL, second, &masked), 0);
        ck_assert_str_eq(json_get_string(json_object_get(masked, "detail"), "api_key", ""), "****");

        /* Nor does one field's secret open as another's. */
        ck_assert_int_eq(db_queryv(db, NULL,
                                   "UPDATE credentials SET secret_ciphertext = "
                                   "replace(secret_ciphertext, '\"api_key\"', '\"api_key_x\"') WHERE id = ?",
                                   db_int(a, first)), 0);
        ck_assert_int_eq(db_queryv(db, NULL,
                                   "UPDATE credentials SET secret_ciphertext = "
                                   "replace(replace(secret_ciphertext, '\"custom_headers\"', '\"api_key\"'), "
                                   "'\"api_key_x\"', '\"custom_headers\"') WHERE id = ?",
                                   db_int(a, first)), 0);
        ck_assert_int_eq(store_credential_load(db, vault, NULL, first, &c), -EBADMSG);

        /* A plain secret slipped into the plain column is never taken for one. */
        ck_assert_int_eq(db_queryv(db, NULL,
                                   "UPDATE credentials SET detail = '{\"provider_type\":\"openai\",\"api_key\":\"planted\"}', "
                                   "secret_ciphertext = NULL WHERE id = ?", db_int(a, first)), 0);
        ck_assert_int_eq(store_credential_load(db, vault, NULL, first, &c), 0);
        ck_assert(json_is_null(json_object_get(c->detail, "api_key")));
}
END_TEST

START_TEST(test_other_key) {
        _cleanup_(credential_freep) Credential *c = NULL;
        _cleanup_(vault_freep) Vault *other = NULL;
        int64_t id;

        id = create(alice, "key changed", NULL);
        ck_assert_int_eq(vault_new(other_key, &other), 0);
        ck_assert_int_eq(store_credential_load(db, other, NULL, id, &c), -EBADMSG);
        ck_assert_int_eq(store_credential_load(db, vault, NULL, id, &c), 0);
}
END_TEST

START_TEST(test_owner_scoping) {
        StoreCaller as_alice = { alice, false }, as_bob = { bob, false }, as_admin = { bob, true };
        _cleanup_(credential_freep) Credential *c = NULL;
        _cleanup_json_ json_t *items = NULL, *got = NULL, *ids = NULL;
        int64_t id, total, deleted;

        id = create(alice, "alice's", NULL);
        (void) create(alice, "alice's second", NULL);
        (void) create(bob, "bob's", NULL);

        ck_assert_int_eq(store_credential_get(db, vault, &as_bob, id, &got), -ENOENT);
        ck_assert_int_eq(store_credential_load(db, vault, &as_bob, id, &c), -ENOENT);
        ck_assert_int_eq(store_credential_delete(db, &as_bob, id), -ENOENT);
        ck_assert_int_eq(store_credential_get(db, vault, &as_admin, id, &got), 0);

        ck_assert_int_eq(store_credential_list(db, vault, &as_alice, 50, 0, &items, &total), 0);
        ck_assert_int_eq(total, 2);
        ck_assert_uint_eq(json_array_size(items), 2);
        /* Newest first. */
        ck_assert_str_eq(json_get_string(json_array_get(items, 0), "name", ""), "alice's second");
        json_decref(items);
        ck_assert_int_eq(store_credential_list(db, vault, &as_admin, 1, 5, &items, &total), 0);
        ck_assert_int_eq(total, 3);
        ck_assert_uint_eq(json_array_size(items), 0);

        /* Bob's batch skips Alice's credential. */
        ids = json_pack("[I, I, s]", (json_int_t) id, (json_int_t) 999, "x");
        ck_assert_int_eq(store_credential_delete_many(db, &as_bob, ids, &deleted), 0);
        ck_assert_int_eq(deleted, 0);
        ck_assert_int_eq(store_credential_delete_many(db, &as_alice, ids, &deleted), 0);
        ck_assert_int_eq(deleted, 1);
        ck_assert_int_eq(store_credential_get(db, vault, &as_admin, id, &got), -ENOENT);
}
END_TEST

START_TEST(test_update) {
        _cleanup_(credential_freep) Credential *c = NULL, *again = NULL;
        _cleanup_json_ json_t *out = NULL;
        _cleanup_free_ char *text = NULL;
        int64_t id;

        id = create(alice, "before", NULL);
        ck_assert_int_eq(store_credential_load(db, vault, NULL, id, &c), 0);
        free(c->name);
        c->name = strdup("after");
        ck_assert_int_eq(json_object_set_new(c->detail, "api_key", json_string("sk-rotated-abcdefghijklmnopqrstuvwxyz")), 0);
        ck_assert_int_eq(json_object_set_new(c->detail, "custom_headers", json_object()), 0);
        ck_assert_int_eq(store_credential_update(db, vault, c, &out), 0);
        ck_assert_str_eq(json_get_string(out, "name", ""), "after");
        ck_assert_str_eq(json_get_string(json_object_get(out, "detail"), "api_key", ""), "sk-r****wxyz");
        ck_assert_int_eq(json_object_size(json_object_get(json_object_get(out, "detail"), "custom_headers")), 0);

        ck_assert_int_eq(store_credential_load(db, vault, NULL, id, &again), 0);
        ck_assert_str_eq(json_get_string(again->detail, "api_key", ""), "sk-rotated-abcdefghijklmnopqrstuvwxyz");
        text = table_text();
        ck_assert_ptr_null(strstr(text, "sk-rotated"));
        ck_assert_ptr_null(strstr(text, HEADER_VALUE));

        c->id = 4242;
        ck_assert_int_eq(store_credential_update(db, vault, c, NULL), -ENOENT);
}
END_TEST

static Suite *credentials_suite(void) {
        Suite *s = suite_create("store-credentials");
        TCase *tc = tcase_create("credentials");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_mask);
        tcase_add_test(tc, test_create_seals);
        tcase_add_test(tc, test_bound_to_row);
        tcase_add_test(tc, test_other_key);
        tcase_add_test(tc, test_owner_scoping);
        tcase_add_test(tc, test_update);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (crypto_init() < 0)
                return EXIT_FAILURE;
        sr = srunner_create(credentials_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
