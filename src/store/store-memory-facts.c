/* memory_facts in the database. Searches compare LOWER() of both sides with LIKE and an
 * explicit escape character, which SQLite and PostgreSQL read alike (SQLite's LOWER() folds
 * ASCII letters only, so there other letters match in their own case). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "store/store-memory-facts.h"
#include "store/store-workflows.h"

#define FACT_COLUMNS "key, value, fact_type, confidence, updated_at "

static const char *const memory_fact_put_table[_MEMORY_FACT_PUT_MAX] = {
        [MEMORY_FACT_CREATED] = "created",
        [MEMORY_FACT_UPDATED] = "updated",
        [MEMORY_FACT_SKIPPED] = "skipped",
};

const char *memory_fact_put_to_string(MemoryFactPut p) {
        return p >= 0 && p < _MEMORY_FACT_PUT_MAX ? memory_fact_put_table[p] : NULL;
}

int store_memory_owner_scope(Db *db, int64_t workflow_id, char **ret_scope_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT owner_id FROM workflows WHERE id = ?", db_int(id, workflow_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret_scope_id = strdup(db_int(id, db_result_get_int64(res, 0, 0)));
        return *ret_scope_id ? 0 : -ENOMEM;
}

static json_t *fact_from_row(const DbResult *r, size_t row) {
        return json_pack("{s:o, s:o, s:o, s:o, s:o}",
                         "key", store_column_string(r, row, 0),
                         "value", store_column_string(r, row, 1),
                         "fact_type", store_column_string(r, row, 2),
                         "confidence", store_column_real(r, row, 3),
                         "updated_at", store_column_string(r, row, 4));
}

static int facts_from_result(const DbResult *res, json_t **ret) {
        _cleanup_json_ json_t *facts = json_array();

        if (!facts)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(facts, fact_from_row(res, i)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(facts);
        return 0;
}

static int fact_exists(Db *db, const char *scope, const char *scope_id, const char *key, bool *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res, "SELECT 1 FROM memory_facts WHERE scope = ? AND scope_id = ? AND key = ?",
                      scope, scope_id, key);
        if (r < 0)
                return r;
        *ret = db_result_rows(res) > 0;
        return 0;
}

static int facts_count(Db *db, const char *scope, const char *scope_id, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res, "SELECT COUNT(*) FROM memory_facts WHERE scope = ? AND scope_id = ?", scope,
                      scope_id);
        if (r < 0)
                return r;
        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

static int fact_put(Db *db, const char *scope, const char *scope_id, const char *key, const char *value,
                    const char *fact_type, bool overwrite, size_t max_facts, MemoryFactPut *ret) {
        char now[TIMESTAMP_BUFSZ];
        bool exists;
        int64_t count;
        int r;

        r = fact_exists(db, scope, scope_id, key, &exists);
        if (r < 0)
                return r;
        if (exists && !overwrite) {
                *ret = MEMORY_FACT_SKIPPED;
                return 0;
        }
        if (!exists) {
                r = facts_count(db, scope, scope_id, &count);
                if (r < 0)
                        return r;
                if ((uint64_t) count >= max_facts)
                        return -ENOSPC;
        }
        /* Another writer may have added the key since: it is updated then. */
        timestamp_now(now);
        r = db_queryv(db, NULL,
                      "INSERT INTO memory_facts (scope, scope_id, key, value, fact_type, created_at, updated_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, scope_id, key) DO UPDATE SET "
                      "value = excluded.value, fact_type = excluded.fact_type, updated_at = excluded.updated_at",
                      scope, scope_id, key, value, fact_type, now, now);
        if (r < 0)
                return r;
        *ret = exists ? MEMORY_FACT_UPDATED : MEMORY_FACT_CREATED;
        return 0;
}

int store_memory_fact_put(Db *db, const char *scope, const char *scope_id, const char *key, const char *value,
                          const char *fact_type, bool overwrite, size_t max_facts, MemoryFactPut *ret) {
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = fact_put(db, scope, scope_id, key, value, fact_type, overwrite, max_facts, ret);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0)
                (void) db_rollback(db);
        return r;
}

int store_memory_fact_get(Db *db, const char *scope, const char *scope_id, const char *key, double min_confidence,
                          json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char confidence[STORE_REAL_BUFSZ];
        json_t *fact;
        int r;

        r = db_queryv(db, &res,
                      "SELECT " FACT_COLUMNS "FROM memory_facts WHERE scope = ? AND scope_id = ? AND key = ? "
                      "AND confidence >= ?",
                      scope, scope_id, key, store_real(confidence, min_confidence));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        fact = fact_from_row(res, 0);
        if (!fact)
                return -ENOMEM;
        *ret = fact;
        return 0;
}

/* "%favorite%color%" for "favorite color": LIKE's own wildcards and the escape character
 * in query stand for themselves. */
static char *search_pattern(const char *query) {
        size_t n = strlen(query);
        char *pattern = malloc(2 * n + 3), *p = pattern;

        if (!pattern)
                return NULL;
        *p++ = '%';
        for (const char *q = query; *q; q++) {
                if (*q == ' ' || *q == '_' || *q == '-')
                        *p++ = '%';
                else if (*q == '%' || *q == '\\') {
                        *p++ = '\\';
                        *p++ = *q;
                } else
                        *p++ = (char) ((*q >= 'A' && *q <= 'Z') ? *q - 'A' + 'a' : *q);
        }
        *p++ = '%';
        *p = '\0';
        return pattern;
}

int store_memory_facts_search(Db *db, const char *scope, const char *scope_id, const char *query,
                              double min_confidence, size_t limit, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *pattern = NULL;
        char confidence[STORE_REAL_BUFSZ], limit_text[DB_INT_BUFSZ];
        int r;

        if (limit == 0 || limit > INT32_MAX)
                return -EINVAL;
        store_real(confidence, min_confidence);
        db_int(limit_text, (int64_t) limit);
        if (!query)
                r = db_queryv(db, &res,
                              "SELECT " FACT_COLUMNS "FROM memory_facts WHERE scope = ? AND scope_id = ? "
                              "AND confidence >= ? ORDER BY updated_at DESC, id DESC LIMIT ?",
                              scope, scope_id, confidence, limit_text);
        else {
                pattern = search_pattern(query);
                if (!pattern)
                        return -ENOMEM;
                r = db_queryv(db, &res,
                              "SELECT " FACT_COLUMNS "FROM memory_facts WHERE scope = ? AND scope_id = ? "
                              "AND confidence >= ? AND (LOWER(key) LIKE LOWER(?) ESCAPE '\\' "
                              "OR LOWER(value) LIKE LOWER(?) ESCAPE '\\') "
                              "ORDER BY confidence DESC, updated_at DESC, id DESC LIMIT ?",
                              scope, scope_id, confidence, pattern, pattern, limit_text);
        }
        if (r < 0)
                return r;
        return facts_from_result(res, ret);
}
