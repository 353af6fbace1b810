/* The price table: model-name prefixes → USD per million tokens. */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/json-util.h"
#include "engine/prices.h"

/* A table is an operator's file: generous, but not without end. */
#define PRICE_ENTRIES_MAX 10000
#define PRICE_PREFIX_MAX 200
/* No model costs more than this per million tokens; a larger number is a typo. */
#define PRICE_MAX 1000000.0

struct PriceTable {
        ModelPrice *entries;
        size_t n;
};

static int price_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int price_error(char **ret_error, const char *format, ...) {
        va_list ap;
        int r;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, format);
        r = vasprintf(ret_error, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

PriceTable *price_table_new_empty(void) {
        return calloc(1, sizeof(PriceTable));
}

PriceTable *price_table_free(PriceTable *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                free(t->entries[i].prefix);
        free(t->entries);
        free(t);
        return NULL;
}

size_t price_table_size(const PriceTable *t) {
        return t ? t->n : 0;
}

/* A price field: absent gives def (NAN: required), else a number from 0 to PRICE_MAX. */
static int read_price(json_t *entry, const char *prefix, const char *key, double def, double *ret, char **ret_error) {
        json_t *v = json_object_get(entry, key);
        double d;

        if (!v) {
                if (isnan(def))
                        return price_error(ret_error, "models.%s: '%s' is missing", prefix, key);
                *ret = def;
                return 0;
        }
        if (!json_is_number(v))
                return price_error(ret_error, "models.%s.%s: not a number", prefix, key);
        d = json_number_value(v);
        if (!(d >= 0 && d <= PRICE_MAX))
                return price_error(ret_error, "models.%s.%s: %g is not a price from 0 to %g", prefix, key, d,
                                   PRICE_MAX);
        *ret = d;
        return 0;
}

static int read_entry(const char *prefix, json_t *entry, ModelPrice *ret, char **ret_error) {
        const char *key;
        json_t *v;
        int r;

        if (isempty(prefix) || strlen(prefix) > PRICE_PREFIX_MAX)
                return price_error(ret_error, "models: a prefix must have 1 to %d characters", PRICE_PREFIX_MAX);
        if (!json_is_object(entry))
                return price_error(ret_error, "models.%s: not an object", prefix);
        json_object_foreach(entry, key, v)
                if (!streq(key, "input") && !streq(key, "output") && !streq(key, "cached_input") &&
                    !streq(key, "cache_write"))
                        return price_error(ret_error, "models.%s: unknown key '%s' (known: input, output, "
                                           "cached_input, cache_write)", prefix, key);

        r = read_price(entry, prefix, "input", NAN, &ret->input, ret_error);
        if (r >= 0)
                r = read_price(entry, prefix, "output", NAN, &ret->output, ret_error);
        if (r >= 0)
                r = read_price(entry, prefix, "cached_input", ret->input, &ret->cached_input, ret_error);
        if (r >= 0)
                r = read_price(entry, prefix, "cache_write", ret->input, &ret->cache_write, ret_error);
        if (r < 0)
                return r;
        ret->prefix = strdup(prefix);
        return ret->prefix ? 0 : -ENOMEM;
}

int price_table_from_json(json_t *doc, PriceTable **ret, char **ret_error) {
        _cleanup_(price_table_freep) PriceTable *t = NULL;
        json_t *models, *entry;
        const char *prefix;
        int r;

        if (!json_is_object(doc))
                return price_error(ret_error, "the price table is not a JSON object");
        models = json_object_get(doc, "models");
        if (!json_is_object(models))
                return price_error(ret_error, "'models' is missing or not an object");
        if (json_object_size(models) > PRICE_ENTRIES_MAX)
                return price_error(ret_error, "more than %d models", PRICE_ENTRIES_MAX);

        t = price_table_new_empty();
        if (!t)
                return -ENOMEM;
        t->entries = calloc(MAX(json_object_size(models), (size_t) 1), sizeof(ModelPrice));
        if (!t->entries)
                return -ENOMEM;
        json_object_foreach(models, prefix, entry) {
                r = read_entry(prefix, entry, &t->entries[t->n], ret_error);
                if (r < 0)
                        return r;
                t->n++;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int price_table_load(const char *path, PriceTable **ret, char **ret_error) {
        _cleanup_json_ json_t *doc = NULL;
        _cleanup_free_ char *why = NULL;
        json_error_t error;
        int r;

        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
        if (!doc) {
                if (access(path, F_OK) < 0 && errno == ENOENT)
                        return -ENOENT;
                return price_error(ret_error, "%s:%d: %s", path, error.line, error.text);
        }
        r = price_table_from_json(doc, ret, &why);
        if (r == -EINVAL)
                return price_error(ret_error, "%s: %s", path, why ?: "invalid");
        return r;
}

int price_table_load_default(const char *configured, PriceTable **ret, char **ret_path, char **ret_error) {
        const char *candidates[] = { PRICE_TABLE_OPERATOR_PATH, PRICE_TABLE_PACKAGE_PATH };
        _cleanup_(price_table_freep) PriceTable *t = NULL;
        int r;

        *ret_path = NULL;
        if (!isempty(configured)) {
                r = price_table_load(configured, &t, ret_error);
                if (r == -ENOENT)
                        return price_error(ret_error, "%s: no such file (PriceTable=)", configured);
                if (r < 0)
                        return r;
                *ret_path = strdup(configured);
                if (!*ret_path)
                        return -ENOMEM;
                *ret = TAKE_PTR(t);
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                r = price_table_load(candidates[i], &t, ret_error);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                *ret_path = strdup(candidates[i]);
                if (!*ret_path)
                        return -ENOMEM;
                *ret = TAKE_PTR(t);
                return 0;
        }
        *ret = price_table_new_empty();
        return *ret ? -ENOENT : -ENOMEM;
}

static const ModelPrice *find_longest(const PriceTable *t, const char *name) {
        const ModelPrice *best = NULL;
        size_t best_len = 0;

        for (size_t i = 0; i < t->n; i++) {
                size_t l = strlen(t->entries[i].prefix);

                if (l > best_len && strncasecmp(name, t->entries[i].prefix, l) == 0) {
                        best = t->entries + i;
                        best_len = l;
                }
        }
        return best;
}

const ModelPrice *price_table_find(const PriceTable *t, const char *model) {
        const ModelPrice *p;
        const char *slash;

        if (!t || isempty(model))
                return NULL;
        p = find_longest(t, model);
        if (p)
                return p;
        slash = strrchr(model, '/');
        return slash && slash[1] ? find_longest(t, slash + 1) : NULL;
}

double model_price_cost(const ModelPrice *p, const LlmUsage *usage) {
        uint64_t cached, written, plain;

        if (!p || !usage)
                return 0;
        /* input_tokens counts the cached ones too (llm.h). */
        cached = MIN(usage->cache_read_tokens, usage->input_tokens);
        written = MIN(usage->cache_write_tokens, usage->input_tokens - cached);
        plain = usage->input_tokens - cached - written;
        return ((double) plain * p->input + (double) cached * p->cached_input + (double) written * p->cache_write +
                (double) usage->output_tokens * p->output) / 1e6;
}

double price_table_cost(const PriceTable *t, const char *model, const LlmUsage *usage, bool *ret_known) {
        const ModelPrice *p = price_table_find(t, model);

        if (ret_known)
                *ret_known = p != NULL;
        return model_price_cost(p, usage);
}
