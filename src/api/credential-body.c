/* Checking and normalising a credential's detail, and applying a PATCH to it (see
 * credential-body.h). */

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "api/credential-body.h"
#include "api/credential-check.h"
#include "common/json-util.h"
#include "store/store-credentials.h"

#define SECRET_MAX 4096
#define SSH_KEY_MAX 16384
#define URL_MAX 2048
#define HEADERS_MAX 32
#define HEADER_NAME_MAX 100

static const char *const llm_providers[] = { "openai", "anthropic", "openai_compatible", NULL };
static const char *const tool_types[] = { "searxng", NULL };
static const char *const git_credential_types[] = { "token", "ssh_key", NULL };

static const JsonField llm_fields[] = {
        { "provider_type", JSON_FIELD_STRING, JSON_FIELD_REQUIRED, .choices = llm_providers },
        { "api_key", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = SECRET_MAX },
        { "base_url", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = URL_MAX },
        { "organization_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = 255 },
        { "custom_headers", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static const JsonField telegram_fields[] = {
        { "bot_token", JSON_FIELD_STRING, JSON_FIELD_REQUIRED, .max = 256 },
        { "base_url", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = URL_MAX },
};

static const JsonField tool_fields[] = {
        { "tool_type", JSON_FIELD_STRING, JSON_FIELD_REQUIRED, .choices = tool_types },
        { "config", JSON_FIELD_OBJECT, JSON_FIELD_REQUIRED },
        { "is_preferred", JSON_FIELD_BOOLEAN, JSON_FIELD_NULLABLE },
};

static const JsonField git_fields[] = {
        { "credential_type", JSON_FIELD_STRING, JSON_FIELD_REQUIRED, .choices = git_credential_types },
        { "provider", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = 50 },
        { "username", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = 255 },
        { "url", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = URL_MAX },
        { "access_token", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = SECRET_MAX },
        { "ssh_private_key", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = SSH_KEY_MAX },
        { "webhook_secret", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = SECRET_MAX },
};

static const struct {
        const char *type;
        const JsonField *fields;
        size_t n_fields;
        const char *const destinations[3]; /* fields that say where the secrets are sent */
} types[] = {
        { "llm", llm_fields, ELEMENTSOF(llm_fields), { "provider_type", "base_url" } },
        { "telegram", telegram_fields, ELEMENTSOF(telegram_fields), { "base_url" } },
        { "tool", tool_fields, ELEMENTSOF(tool_fields), {} },
        { "git", git_fields, ELEMENTSOF(git_fields), { "url" } },
};

static int type_index(const char *type) {
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq_ptr(type, types[i].type))
                        return (int) i;
        return -EINVAL;
}

/* Appends an error at ["body", "detail", field(, sub)]. */
static void detail_error(json_t *errors, const char *field, const char *sub, const char *type, const char *msg) {
        json_t *e = json_pack("{s:[s, s, s], s:s, s:s}", "loc", "body", "detail", field, "msg", msg, "type", type);

        if (e && sub && json_array_append_new(json_object_get(e, "loc"), json_string(sub)) < 0) {
                json_decref(e);
                return;
        }
        if (e)
                json_array_append_new(errors, e);
}

/* json_check_fields() on detail, its errors moved under "detail". */
static int check_fields(json_t *detail, const JsonField *fields, size_t n_fields, json_t *errors) {
        _cleanup_json_ json_t *found = json_array();
        json_t *e;
        size_t i;
        int n;

        if (!found)
                return -ENOMEM;
        n = json_check_fields(detail, fields, n_fields, found);
        json_array_foreach(found, i, e) {
                json_t *loc = json_object_get(e, "loc");

                if (json_array_insert_new(loc, 1, json_string("detail")) < 0 || json_array_append(errors, e) < 0)
                        return -ENOMEM;
        }
        return n;
}

static bool field_listed(const JsonField *fields, size_t n_fields, const char *name) {
        for (size_t i = 0; i < n_fields; i++)
                if (streq(fields[i].name, name))
                        return true;
        return false;
}

/* Printable ASCII: secrets travel in HTTP headers and URLs. */
static bool printable_ascii(const char *s, bool newlines) {
        for (; *s; s++)
                if (!((*s >= ' ' && *s <= '~') || (newlines && (*s == '\n' || *s == '\r' || *s == '\t'))))
                        return false;
        return true;
}

/* RFC 9110 token characters. */
static bool header_name_valid(const char *s) {
        if (isempty(s) || strlen(s) > HEADER_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("!#$%&'*+-.^_`|~", *s)))
                        return false;
        return true;
}

/* Headers that belong to the HTTP connection itself. */
static bool header_name_reserved(const char *s) {
        static const char *const reserved[] = {
                "host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "expect",
        };

        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (strcasecmp(s, reserved[i]) == 0)
                        return true;
        return false;
}

static bool bot_token_valid(const char *s) {
        size_t digits = strspn(s, "0123456789"), rest;

        if (digits == 0 || digits > 20 || s[digits] != ':')
                return false;
        s += digits + 1;
        rest = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
        return rest > 0 && s[rest] == 0;
}

static void check_secret_text(json_t *detail, const char *field, json_t *errors) {
        const char *s = json_get_string(detail, field, NULL);

        if (s && !printable_ascii(s, false))
                detail_error(errors, field, NULL, "string_pattern_mismatch",
                             "Secret should be printable ASCII characters without line breaks");
}

static void check_url(json_t *detail, const char *field, json_t *errors) {
        const char *s = json_get_string(detail, field, NULL), *problem;

        if (!s)
                return;
        problem = credential_url_problem(s);
        if (problem)
                detail_error(errors, field, NULL, "url_parsing", problem);
}

static void require(json_t *detail, const char *field, const char *why, json_t *errors) {
        if (!json_get_string(detail, field, NULL))
                detail_error(errors, field, NULL, "missing", why);
}

static void check_headers(json_t *detail, json_t *errors) {
        json_t *headers = json_object_get(detail, "custom_headers"), *v;
        const char *name;
        char msg[128];

        if (!json_is_object(headers))
                return;
        if (json_object_size(headers) > HEADERS_MAX) {
                snprintf(msg, sizeof msg, "Object should have at most %d headers", HEADERS_MAX);
                detail_error(errors, "custom_headers", NULL, "too_long", msg);
                return;
        }
        json_object_foreach(headers, name, v) {
                if (!header_name_valid(name))
                        detail_error(errors, "custom_headers", name, "value_error",
                                     "Header name should be 1 to 100 letters, digits or !#$%&'*+-.^_`|~");
                else if (header_name_reserved(name))
                        detail_error(errors, "custom_headers", name, "value_error",
                                     "Header belongs to the HTTP connection and cannot be set");
                else if (!json_is_string(v))
                        detail_error(errors, "custom_headers", name, "string_type", "Input should be a valid string");
                else if (json_string_length(v) == 0 || json_string_length(v) > SECRET_MAX)
                        detail_error(errors, "custom_headers", name, "string_too_long",
                                     "Header value should have 1 to 4096 characters");
                else if (!printable_ascii(json_string_value(v), false))
                        detail_error(errors, "custom_headers", name, "string_pattern_mismatch",
                                     "Header value should be printable ASCII characters without line breaks");
        }
}

static void check_llm(json_t *detail, json_t *errors) {
        const char *provider = json_get_string(detail, "provider_type", "");
        const char *organization = json_get_string(detail, "organization_id", NULL);

        check_secret_text(detail, "api_key", errors);
        check_url(detail, "base_url", errors);
        check_headers(detail, errors);
        if (organization && !printable_ascii(organization, false))
                detail_error(errors, "organization_id", NULL, "string_pattern_mismatch",
                             "Organization should be printable ASCII characters");
        if (streq(provider, "openai_compatible"))
                require(detail, "base_url", "Field required for provider_type openai_compatible", errors);
        else if (streq(provider, "openai") || streq(provider, "anthropic"))
                require(detail, "api_key", "Field required for this provider_type", errors);
}

static void check_telegram(json_t *detail, json_t *errors) {
        const char *token = json_get_string(detail, "bot_token", NULL);

        if (token && !bot_token_valid(token))
                detail_error(errors, "bot_token", NULL, "string_pattern_mismatch",
                             "Bot token should look like 123456789:AAH… (digits, ':', then letters, digits, '_' or '-')");
        check_url(detail, "base_url", errors);
}

static void check_tool(json_t *detail, json_t *errors) {
        json_t *config = json_object_get(detail, "config"), *url, *v;
        const char *key, *problem;

        if (!json_is_object(config))
                return;
        json_object_foreach(config, key, v)
                if (!streq(key, "url"))
                        detail_error(errors, "config", key, "extra_forbidden", "Unknown setting (known: url)");
        url = json_object_get(config, "url");
        if (!url)
                detail_error(errors, "config", "url", "missing", "Field required");
        else if (!json_is_string(url))
                detail_error(errors, "config", "url", "string_type", "Input should be a valid string");
        else if (json_string_length(url) > URL_MAX)
                detail_error(errors, "config", "url", "string_too_long", "String should have at most 2048 characters");
        else if ((problem = credential_url_problem(json_string_value(url))))
                detail_error(errors, "config", "url", "url_parsing", problem);
}

static void check_git(json_t *detail, json_t *errors) {
        const char *kind = json_get_string(detail, "credential_type", ""),
                   *url = json_get_string(detail, "url", NULL),
                   *username = json_get_string(detail, "username", NULL),
                   *key = json_get_string(detail, "ssh_private_key", NULL);

        check_secret_text(detail, "access_token", errors);
        check_secret_text(detail, "webhook_secret", errors);
        if (username && (!printable_ascii(username, false) || strchr(username, ':')))
                detail_error(errors, "username", NULL, "string_pattern_mismatch",
                             "User name should be printable ASCII characters without ':'");
        if (key && (!printable_ascii(key, true) || !strstr(key, "-----BEGIN ") || !strstr(key, "PRIVATE KEY-----")))
                detail_error(errors, "ssh_private_key", NULL, "value_error",
                             "SSH key should be a private key in PEM or OpenSSH format (-----BEGIN … PRIVATE KEY-----)");
        /* Over ssh the url is git's own ("git@host:repo"); a token goes over http(s). */
        if (url && streq(kind, "token"))
                check_url(detail, "url", errors);
        else if (url && !printable_ascii(url, false))
                detail_error(errors, "url", NULL, "string_pattern_mismatch", "URL should be printable ASCII characters");
        if (streq(kind, "token"))
                require(detail, "access_token", "Field required for credential_type token", errors);
        else if (streq(kind, "ssh_key"))
                require(detail, "ssh_private_key", "Field required for credential_type ssh_key", errors);
}

/* Every field of the type present; "" and absent optional fields null, headers {}. */
static int normalise(int t, json_t *detail, json_t **ret) {
        _cleanup_json_ json_t *out = json_object();

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < types[t].n_fields; i++) {
                const JsonField *f = types[t].fields + i;
                json_t *v = json_object_get(detail, f->name);

                if (json_is_string(v) && json_string_length(v) == 0)
                        v = NULL;
                if (!v || json_is_null(v)) {
                        if (streq(f->name, "custom_headers"))
                                v = json_object();
                        else if (f->type == JSON_FIELD_BOOLEAN)
                                v = json_false();
                        else
                                v = json_null();
                } else
                        json_incref(v);
                if (json_object_set_new(out, f->name, v) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int credential_detail_check(const char *type, json_t *detail, json_t *errors, json_t **ret) {
        size_t n_before = json_array_size(errors);
        json_t *v;
        const char *key;
        int t, r;

        t = type_index(type);
        if (t < 0)
                return -EINVAL;
        if (!json_is_object(detail)) {
                detail_error(errors, NULL, NULL, "dict_type", "Input should be a valid dictionary");
                return 1;
        }

        json_object_foreach(detail, key, v)
                if (!field_listed(types[t].fields, types[t].n_fields, key))
                        detail_error(errors, key, NULL, "extra_forbidden", "Unknown field for this credential_type");
        r = check_fields(detail, types[t].fields, types[t].n_fields, errors);
        if (r < 0)
                return r;
        /* The type's own checks read fields that have their expected JSON types by now. */
        if (json_array_size(errors) == n_before) {
                if (streq(type, "llm"))
                        check_llm(detail, errors);
                else if (streq(type, "telegram"))
                        check_telegram(detail, errors);
                else if (streq(type, "tool"))
                        check_tool(detail, errors);
                else
                        check_git(detail, errors);
        }
        if (json_array_size(errors) > n_before)
                return (int) (json_array_size(errors) - n_before);

        r = normalise(t, detail, ret);
        return r < 0 ? r : 0;
}

/* The patch value of secret field over current: kept where it is what we answered for it
 * (the masked form), else taken. *ret_anew tells whether the value came from the patch. */
static int merge_secret(const char *field, json_t *current, json_t *value, json_t **ret, bool *ret_anew) {
        _cleanup_json_ json_t *masked = NULL, *merged = NULL;
        json_t *item;
        const char *name;
        bool anew = true;

        if (json_is_string(value) && json_is_string(current)) {
                masked = credential_mask_value(field, current);
                if (!masked)
                        return -ENOMEM;
                if (json_equal(masked, value)) {
                        /* A copy: the caller wipes the old detail's strings. */
                        *ret = json_string(json_string_value(current));
                        if (!*ret)
                                return -ENOMEM;
                        *ret_anew = false;
                        return 0;
                }
        }
        if (!json_is_object(value) || !json_is_object(current)) {
                *ret = json_incref(value);
                *ret_anew = true;
                return 0;
        }

        /* custom_headers: header by header. */
        merged = json_object();
        if (!merged)
                return -ENOMEM;
        json_object_foreach(value, name, item) {
                json_t *old = json_object_get(current, name), *keep = item;

                if (json_is_string(old) && json_is_string(item)) {
                        _cleanup_json_ json_t *old_masked = credential_mask_value(field, old);

                        if (!old_masked)
                                return -ENOMEM;
                        if (json_equal(old_masked, item)) {
                                keep = old;
                                anew = false;
                        }
                }
                if (json_object_set_new(merged, name, json_is_string(keep) ? json_string(json_string_value(keep))
                                                                           : json_incref(keep)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(merged);
        *ret_anew = anew;
        return 0;
}

static bool secret_set(json_t *v) {
        return (json_is_string(v) && json_string_length(v) > 0) || (json_is_object(v) && json_object_size(v) > 0);
}

int credential_detail_patch(const char *type, json_t *current, json_t *patch, json_t *errors, json_t **ret) {
        _cleanup_json_ json_t *merged = NULL, *anew = NULL, *checked = NULL;
        bool moved = false;
        json_t *v;
        const char *key;
        int t, r;

        t = type_index(type);
        if (t < 0)
                return -EINVAL;
        if (!json_is_object(patch)) {
                detail_error(errors, NULL, NULL, "dict_type", "Input should be a valid dictionary");
                return 1;
        }

        merged = json_deep_copy(current);
        anew = json_object();
        if (!merged || !anew)
                return -ENOMEM;
        json_object_foreach(patch, key, v) {
                json_t *value = v;
                bool fresh = true;

                if (credential_field_is_secret(type, key)) {
                        r = merge_secret(key, json_object_get(current, key), v, &value, &fresh);
                        if (r < 0)
                                return r;
                } else
                        json_incref(value);
                if (json_object_set_new(merged, key, value) < 0)
                        return -ENOMEM;
                if (fresh && json_object_set_new(anew, key, json_true()) < 0)
                        return -ENOMEM;
        }

        r = credential_detail_check(type, merged, errors, &checked);
        if (r != 0)
                return r;

        for (size_t i = 0; types[t].destinations[i]; i++) {
                const char *f = types[t].destinations[i];

                if (!json_equal(json_object_get(current, f) ?: json_null(), json_object_get(checked, f)))
                        moved = true;
        }
        if (moved)
                for (const char *const *f = credential_secret_fields(type); *f; f++)
                        if (secret_set(json_object_get(checked, *f)) && !json_object_get(anew, *f))
                                detail_error(errors, *f, NULL, "value_error",
                                             "Give this secret again in clear: where it is sent changes with this "
                                             "update");
        if (json_array_size(errors) > 0)
                return (int) json_array_size(errors);

        *ret = TAKE_PTR(checked);
        return 0;
}
