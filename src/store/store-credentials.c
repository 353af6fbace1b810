/* Credentials: rows, sealed secrets and masked answers (see store-credentials.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "store/store-credentials.h"

const char *const credential_types[] = { "llm", "telegram", "tool", "git", NULL };

static const struct {
        const char *type;
        const char *const secrets[4]; /* NULL-terminated */
        const char *provider_field; /* copied to the provider column */
} credential_type_table[] = {
        { "llm", { "api_key", "custom_headers" }, "provider_type" },
        { "telegram", { "bot_token" }, NULL },
        { "tool", {}, "tool_type" },
        { "git", { "access_token", "ssh_private_key", "webhook_secret" }, "provider" },
};

static const char *const no_secrets[] = { NULL };

bool credential_type_is_valid(const char *type) {
        for (size_t i = 0; credential_types[i]; i++)
                if (streq_ptr(type, credential_types[i]))
                        return true;
        return false;
}

const char *const *credential_secret_fields(const char *type) {
        for (size_t i = 0; i < ELEMENTSOF(credential_type_table); i++)
                if (streq_ptr(type, credential_type_table[i].type))
                        return credential_type_table[i].secrets;
        return no_secrets;
}

bool credential_field_is_secret(const char *type, const char *field) {
        for (const char *const *f = credential_secret_fields(type); *f; f++)
                if (streq_ptr(field, *f))
                        return true;
        return false;
}

/* What the provider column holds for a credential: its provider, tool type or "telegram". */
static const char *credential_provider(const char *type, json_t *detail) {
        if (streq_ptr(type, "telegram"))
                return "telegram";
        for (size_t i = 0; i < ELEMENTSOF(credential_type_table); i++)
                if (streq_ptr(type, credential_type_table[i].type) && credential_type_table[i].provider_field)
                        return json_get_string(detail, credential_type_table[i].provider_field, "");
        return "";
}

void credential_secrets_wipe(const char *type, json_t *detail) {
        /* Where jansson keeps them: the strings are ours alone (see the header). */
        for (const char *const *f = credential_secret_fields(type); *f; f++) {
                json_t *v = json_object_get(detail, *f), *item;
                const char *key;

                if (json_is_string(v))
                        explicit_bzero((char *) json_string_value(v), json_string_length(v));
                json_object_foreach(json_is_object(v) ? v : NULL, key, item)
                        if (json_is_string(item))
                                explicit_bzero((char *) json_string_value(item), json_string_length(item));
        }
}

Credential *credential_free(Credential *c) {
        if (!c)
                return NULL;
        credential_secrets_wipe(c->type, c->detail);
        json_decref(c->detail);
        free(c->name);
        free(c->type);
        free(c->created_at);
        free(c->updated_at);
        free(c);
        return NULL;
}

char *credential_mask(const char *field, const char *secret) {
        size_t n = strlen(secret ?: "");
        char *s;

        if (streq_ptr(field, "ssh_private_key") || n < CREDENTIAL_MASK_MIN_LEN)
                return strdup(CREDENTIAL_MASK);
        if (asprintf(&s, "%.4s" CREDENTIAL_MASK "%s", secret, secret + n - 4) < 0)
                return NULL;
        return s;
}

json_t *credential_mask_value(const char *field, json_t *value) {
        _cleanup_json_ json_t *masked = NULL;
        json_t *item;
        const char *key;

        if (json_is_string(value)) {
                _cleanup_free_ char *s = credential_mask(field, json_string_value(value));

                return s ? json_string(s) : NULL;
        }
        if (!json_is_object(value))
                return json_null();

        masked = json_object();
        if (!masked)
                return NULL;
        json_object_foreach(value, key, item) {
                _cleanup_free_ char *s = credential_mask(field, json_string_value(item) ?: "");

                if (!s || json_object_set_new(masked, key, json_string(s)) < 0)
                        return NULL;
        }
        return TAKE_PTR(masked);
}

json_t *credential_to_json(const Credential *c) {
        _cleanup_json_ json_t *detail = NULL;
        json_t *value;
        const char *key;

        detail = json_object();
        if (!detail)
                return NULL;
        json_object_foreach(c->detail, key, value) {
                json_t *shown = credential_field_is_secret(c->type, key) ? credential_mask_value(key, value)
                                                                         : json_incref(value);

                if (json_object_set_new(detail, key, shown) < 0)
                        return NULL;
        }

        return json_pack("{s:I, s:s, s:s, s:I, s:O, s:s, s:s}",
                         "id", (json_int_t) c->id,
                         "name", c->name,
                         "credential_type", c->type,
                         "owner_id", (json_int_t) c->owner_id,
                         "detail", detail,
                         "created_at", c->created_at,
                         "updated_at", c->updated_at);
}

/* --- rows ------------------------------------------------------------------------------------ */

#define CREDENTIAL_COLUMNS \
        "id, user_id, name, credential_type, detail, secret_ciphertext, created_at, updated_at"

enum {
        CR_ID,
        CR_USER_ID,
        CR_NAME,
        CR_TYPE,
        CR_DETAIL,
        CR_SECRETS,
        CR_CREATED_AT,
        CR_UPDATED_AT,
        CR_TOTAL, /* lists only */
};

static int secret_context(int64_t id, const char *field, char **ret) {
        return asprintf(ret, "credentials/%" PRIi64 "/%s", id, field) < 0 ? -ENOMEM : 0;
}

/* Opens the sealed secrets of a row into detail. tolerant: a secret that does not open is
 * shown as if empty ("" or {}) instead of failing with -EBADMSG. */
static int open_secrets(const Vault *vault, int64_t id, const char *type, const char *sealed_text,
                        json_t *detail, bool tolerant) {
        _cleanup_json_ json_t *sealed = NULL;
        json_t *value;
        const char *field;

        if (!sealed_text)
                return 0;
        sealed = json_loads_or_null(sealed_text);
        if (!json_is_object(sealed))
                return tolerant ? 0 : -EBADMSG;

        json_object_foreach(sealed, field, value) {
                _cleanup_free_ char *context = NULL;
                _cleanup_erase_ char *text = NULL;
                json_t *clear = NULL;
                int r;

                if (!credential_field_is_secret(type, field))
                        continue;
                r = secret_context(id, field, &context);
                if (r < 0)
                        return r;
                r = json_is_string(value) ? vault_open(vault, context, json_string_value(value), &text, NULL)
                                          : -EBADMSG;
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        clear = json_loads(text, JSON_DECODE_ANY, NULL);
                        if (!clear)
                                r = -EBADMSG;
                }
                if (r < 0 && !tolerant)
                        return r;
                if (r < 0)
                        clear = streq(field, "custom_headers") ? json_object() : json_string("");
                if (json_object_set_new(detail, field, clear) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int credential_from_row(const Vault *vault, const DbResult *res, size_t row, bool tolerant,
                               Credential **ret) {
        _cleanup_(credential_freep) Credential *c = NULL;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->id = db_result_get_int64(res, row, CR_ID);
        c->owner_id = db_result_get_int64(res, row, CR_USER_ID);
        c->name = strdup(db_result_get(res, row, CR_NAME) ?: "");
        c->type = strdup(db_result_get(res, row, CR_TYPE) ?: "");
        c->created_at = strdup(db_result_get(res, row, CR_CREATED_AT) ?: "");
        c->updated_at = strdup(db_result_get(res, row, CR_UPDATED_AT) ?: "");
        if (!c->name || !c->type || !c->created_at || !c->updated_at)
                return -ENOMEM;

        c->detail = json_loads_or_null(db_result_get(res, row, CR_DETAIL));
        if (!json_is_object(c->detail)) {
                json_decref(c->detail);
                c->detail = json_object();
                if (!c->detail)
                        return -ENOMEM;
        }
        /* Secrets come from the sealed column only, whatever the plain one says. */
        for (const char *const *f = credential_secret_fields(c->type); *f; f++) {
                json_t *v = json_object_get(c->detail, *f);

                if (v && json_object_set_new(c->detail, *f, json_is_object(v) ? json_object() : json_null()) < 0)
                        return -ENOMEM;
        }
        r = open_secrets(vault, c->id, c->type, db_result_get(res, row, CR_SECRETS), c->detail, tolerant);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

static int query_one(Db *db, const StoreCaller *caller, int64_t id, DbResult **ret) {
        char id_text[DB_INT_BUFSZ], owner[DB_INT_BUFSZ];
        int r;

        if (!caller || caller->is_admin)
                r = db_queryv(db, ret, "SELECT " CREDENTIAL_COLUMNS " FROM credentials WHERE id = ?",
                              db_int(id_text, id));
        else
                r = db_queryv(db, ret, "SELECT " CREDENTIAL_COLUMNS " FROM credentials WHERE id = ? AND user_id = ?",
                              db_int(id_text, id), db_int(owner, caller->user_id));
        if (r < 0)
                return r;
        return db_result_rows(*ret) > 0 ? 0 : -ENOENT;
}

int store_credential_load(Db *db, const Vault *vault, const StoreCaller *caller, int64_t id,
                          Credential **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = query_one(db, caller, id, &res);
        if (r < 0)
                return r;
        return credential_from_row(vault, res, 0, false, ret);
}

static json_t *masked_from_row(const Vault *vault, const DbResult *res, size_t row) {
        _cleanup_(credential_freep) Credential *c = NULL;

        if (credential_from_row(vault, res, row, true, &c) < 0)
                return NULL;
        return credential_to_json(c);
}

int store_credential_get(Db *db, const Vault *vault, const StoreCaller *caller, int64_t id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        json_t *out;
        int r;

        r = query_one(db, caller, id, &res);
        if (r < 0)
                return r;
        out = masked_from_row(vault, res, 0);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int store_credential_list(Db *db, const Vault *vault, const StoreCaller *caller, int64_t limit,
                          int64_t offset, json_t **ret_items, int64_t *ret_total) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *items = NULL;
        char owner[DB_INT_BUFSZ], limit_text[DB_INT_BUFSZ], offset_text[DB_INT_BUFSZ];
        size_t n_rows;
        int64_t total;
        int r;

        db_int(limit_text, limit);
        db_int(offset_text, offset);
        db_int(owner, caller->user_id);
        if (caller->is_admin)
                r = db_queryv(db, &res,
                              "SELECT " CREDENTIAL_COLUMNS ", (SELECT COUNT(*) FROM credentials) "
                              "FROM credentials ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                              limit_text, offset_text);
        else
                r = db_queryv(db, &res,
                              "SELECT " CREDENTIAL_COLUMNS ", (SELECT COUNT(*) FROM credentials WHERE user_id = ?) "
                              "FROM credentials WHERE user_id = ? "
                              "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                              owner, owner, limit_text, offset_text);
        if (r < 0)
                return r;

        n_rows = db_result_rows(res);
        items = json_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n_rows; i++)
                if (json_array_append_new(items, masked_from_row(vault, res, i)) < 0)
                        return -ENOMEM;

        if (n_rows > 0)
                total = db_result_get_int64(res, 0, CR_TOTAL);
        else {
                /* An empty page has no row to carry the total. */
                _cleanup_(db_result_freep) DbResult *count = NULL;

                if (caller->is_admin)
                        r = db_query(db, &count, "SELECT COUNT(*) FROM credentials", 0, NULL);
                else
                        r = db_queryv(db, &count, "SELECT COUNT(*) FROM credentials WHERE user_id = ?", owner);
                if (r < 0)
                        return r;
                total = db_result_get_int64(count, 0, 0);
        }

        *ret_total = total;
        *ret_items = TAKE_PTR(items);
        return 0;
}

/* --- writing ------------------------------------------------------------------------------- */

/* What a credential's row holds: the plain fields as JSON text, the secrets sealed for row
 * id ({"field": "v1:…"} as text, NULL when there are none). */
typedef struct CredentialRow {
        char *detail;
        char *secrets;
        const char *provider;
        const char *is_preferred;
} CredentialRow;

static void credential_row_done(CredentialRow *row) {
        free(row->detail);
        free(row->secrets);
}

static bool secret_is_set(json_t *value) {
        return (json_is_string(value) && json_string_length(value) > 0) ||
               (json_is_object(value) && json_object_size(value) > 0);
}

static int credential_row_fill(const Vault *vault, int64_t id, const char *type, json_t *detail, CredentialRow *row) {
        _cleanup_json_ json_t *plain = NULL, *sealed = NULL;
        json_t *value;
        const char *field;

        plain = json_object();
        sealed = json_object();
        if (!plain || !sealed)
                return -ENOMEM;

        json_object_foreach(detail, field, value) {
                _cleanup_free_ char *context = NULL, *box = NULL;
                _cleanup_erase_ char *text = NULL;
                int r;

                /* An empty place for a secret in the plain fields keeps the order of the answers. */
                if (json_object_set_new(plain, field, !credential_field_is_secret(type, field) ? json_incref(value)
                                                      : json_is_object(value) ? json_object() : json_null()) < 0)
                        return -ENOMEM;
                if (!credential_field_is_secret(type, field) || !secret_is_set(value))
                        continue;
                text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!text)
                        return -ENOMEM;
                r = secret_context(id, field, &context);
                if (r < 0)
                        return r;
                r = vault_seal(vault, context, text, strlen(text), &box);
                if (r < 0)
                        return r;
                if (json_object_set_new(sealed, field, json_string(box)) < 0)
                        return -ENOMEM;
        }

        *row = (CredentialRow) {
                .provider = credential_provider(type, detail),
                .is_preferred = db_bool(json_get_bool(detail, "is_preferred", false)),
        };
        row->detail = json_dumps_compact(plain);
        if (!row->detail)
                return -ENOMEM;
        if (json_object_size(sealed) > 0) {
                row->secrets = json_dumps_compact(sealed);
                if (!row->secrets)
                        return -ENOMEM;
        }
        return 0;
}

/* Writes name and detail over row id (which the caller has made sure exists). */
static int credential_write(Db *db, const Vault *vault, int64_t id, const char *name, const char *type,
                            json_t *detail) {
        _cleanup_(credential_row_done) CredentialRow row = {};
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        int r;

        r = credential_row_fill(vault, id, type, detail, &row);
        if (r < 0)
                return r;
        r = db_queryv(db, &res,
                      "UPDATE credentials SET name = ?, provider = ?, detail = ?, secret_ciphertext = ?, "
                      "is_preferred = ?, updated_at = ? WHERE id = ? RETURNING id",
                      name, row.provider, row.detail, row.secrets, row.is_preferred, timestamp_now(now),
                      db_int(id_text, id));
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

int store_credential_create(Db *db, const Vault *vault, int64_t owner_id, const char *name,
                            const char *type, json_t *detail, json_t **ret, int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char owner[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        int64_t id;
        int r;

        if (!credential_type_is_valid(type) || !json_is_object(detail))
                return -EINVAL;

        /* The secrets are sealed for the row's id, which the insert makes: the row is
         * written without them first, in the same transaction. */
        r = db_begin(db);
        if (r < 0)
                return r;
        timestamp_now(now);
        r = db_queryv(db, &res,
                      "INSERT INTO credentials (user_id, name, credential_type, created_at, updated_at) "
                      "VALUES (?, ?, ?, ?, ?) RETURNING id",
                      db_int(owner, owner_id), name, type, now, now);
        if (r >= 0 && db_result_rows(res) != 1)
                r = -EIO;
        if (r < 0)
                goto fail;
        id = db_result_get_int64(res, 0, 0);

        r = credential_write(db, vault, id, name, type, detail);
        if (r < 0)
                goto fail;
        r = db_commit(db);
        if (r < 0)
                goto fail;

        if (ret_id)
                *ret_id = id;
        if (!ret)
                return 0;
        return store_credential_get(db, vault, NULL, id, ret);

fail:
        (void) db_rollback(db);
        return r;
}

int store_credential_update(Db *db, const Vault *vault, const Credential *c, json_t **ret) {
        int r;

        if (!c || !credential_type_is_valid(c->type) || !json_is_object(c->detail))
                return -EINVAL;
        r = credential_write(db, vault, c->id, c->name, c->type, c->detail);
        if (r < 0)
                return r;
        if (!ret)
                return 0;
        return store_credential_get(db, vault, NULL, c->id, ret);
}

int store_credential_delete(Db *db, const StoreCaller *caller, int64_t id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ], owner[DB_INT_BUFSZ];
        int r;

        if (caller->is_admin)
                r = db_queryv(db, &res, "DELETE FROM credentials WHERE id = ? RETURNING id", db_int(id_text, id));
        else
                r = db_queryv(db, &res, "DELETE FROM credentials WHERE id = ? AND user_id = ? RETURNING id",
                              db_int(id_text, id), db_int(owner, caller->user_id));
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

int store_credential_delete_many(Db *db, const StoreCaller *caller, json_t *ids, int64_t *ret_deleted) {
        int64_t deleted = 0;
        json_t *id;
        size_t i;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        json_array_foreach(ids, i, id) {
                if (!json_is_integer(id))
                        continue;
                r = store_credential_delete(db, caller, json_integer_value(id));
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        goto fail;
                deleted++;
        }

        r = db_commit(db);
        if (r < 0)
                goto fail;
        *ret_deleted = deleted;
        return 0;

fail:
        (void) db_rollback(db);
        return r;
}
