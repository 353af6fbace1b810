/* What a model call costs: the price table (data/prices.json) maps model-name prefixes to
 * US dollars per million tokens; the longest prefix that starts a model's name gives its
 * price. Pure lookups: the table is read once at start and never changes after. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/macro.h"
#include "llm/llm.h"

/* Where the table is looked for when PriceTable= names none: the operator's copy in the
 * configuration directory, else the one the package installs. */
#define PRICE_TABLE_OPERATOR_PATH "/etc/pipelit/prices.json"
#define PRICE_TABLE_PACKAGE_PATH PKGDATADIR "/prices.json"

/* USD per million tokens. */
typedef struct ModelPrice {
        char *prefix;
        double input;
        double cached_input;    /* prompt tokens read from the provider's cache */
        double cache_write;     /* prompt tokens written to it (Anthropic) */
        double output;
} ModelPrice;

typedef struct PriceTable PriceTable;

/* doc: {"models": {prefix: {input, output, cached_input?, cache_write?}}, …}; other
 * top-level keys are comments. -EINVAL with *ret_error (malloc'ed) naming what is wrong. */
int price_table_from_json(json_t *doc, PriceTable **ret, char **ret_error);
/* Reads path. -ENOENT when it does not exist; -EINVAL with *ret_error otherwise. */
int price_table_load(const char *path, PriceTable **ret, char **ret_error);
/* configured (PriceTable=) when set, else PRICE_TABLE_OPERATOR_PATH when it exists, else
 * PRICE_TABLE_PACKAGE_PATH. A file found but broken is an error. Returns 0 with the table
 * and *ret_path (the file read, malloc'ed), or -ENOENT (*ret_path NULL) when no file is
 * there to read: an empty table is left, under which every model is unknown. */
int price_table_load_default(const char *configured, PriceTable **ret, char **ret_path, char **ret_error);
/* A table without prices. */
PriceTable *price_table_new_empty(void);
PriceTable *price_table_free(PriceTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(PriceTable *, price_table_free);
size_t price_table_size(const PriceTable *t);

/* The price of model: the entry with the longest prefix of it (case-insensitive); when
 * none and the name has a "provider/" part ("openai/gpt-4o"), the same for what follows
 * the last '/'. NULL when unknown (or t is NULL). */
const ModelPrice *price_table_find(const PriceTable *t, const char *model);

/* USD for usage at price p (0 when p is NULL). */
double model_price_cost(const ModelPrice *p, const LlmUsage *usage);
/* The cost of one call of model; *ret_known (may be NULL) false when the table has no
 * price for it (the cost is then 0). */
double price_table_cost(const PriceTable *t, const char *model, const LlmUsage *usage, bool *ret_known);
