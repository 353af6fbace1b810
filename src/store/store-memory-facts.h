/* Facts agents remember (memory_write) and recall (memory_read): key → value rows of
 * memory_facts within a scope. The agent tools use MEMORY_SCOPE_OWNER: the facts of the
 * user who owns the workflow, shared by all of that user's agents and by nobody else's.
 *
 * A fact as answered: {"key", "value", "fact_type", "confidence", "updated_at"}. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

#define MEMORY_SCOPE_OWNER "owner"

/* The scope id of MEMORY_SCOPE_OWNER for a workflow: its owner's id, as text (malloc'ed).
 * -ENOENT when the workflow is gone. */
int store_memory_owner_scope(Db *db, int64_t workflow_id, char **ret_scope_id);

typedef enum MemoryFactPut {
        MEMORY_FACT_CREATED,
        MEMORY_FACT_UPDATED,
        MEMORY_FACT_SKIPPED,    /* the key exists and overwrite was false */
        _MEMORY_FACT_PUT_MAX,
        _MEMORY_FACT_PUT_INVALID = -EINVAL,
} MemoryFactPut;

const char *memory_fact_put_to_string(MemoryFactPut p);

/* Sets key to value (and fact_type) in the scope; an existing key keeps its value unless
 * overwrite. -ENOSPC when the key is new and the scope already holds max_facts facts. */
int store_memory_fact_put(Db *db, const char *scope, const char *scope_id, const char *key, const char *value,
                          const char *fact_type, bool overwrite, size_t max_facts, MemoryFactPut *ret);

/* The fact of exactly this key, when its confidence is at least min_confidence; -ENOENT
 * otherwise. */
int store_memory_fact_get(Db *db, const char *scope, const char *scope_id, const char *key, double min_confidence,
                          json_t **ret);

/* Up to limit facts of at least min_confidence whose key or value contains query (any case;
 * spaces, '_' and '-' in query match any run of characters), most confident and newest
 * first. query NULL: all of them, newest first. An array, maybe empty. */
int store_memory_facts_search(Db *db, const char *scope, const char *scope_id, const char *query,
                              double min_confidence, size_t limit, json_t **ret);
