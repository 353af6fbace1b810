#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

/* Paths under /api/v1/workflows/ that are not workflows. */
static const char *const reserved_slugs[] = {
        "import", "batch-delete", "node-types", "validate-dsl",
};

static bool ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool workflow_slug_is_valid(const char *slug) {
        size_t n = 0;

        if (!slug)
                return false;
        for (const char *p = slug; *p; p++, n++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        return false;
        return n >= 1 && n <= WORKFLOW_SLUG_MAX;
}

bool workflow_slug_is_reserved(const char *slug) {
        for (size_t i = 0; i < ELEMENTSOF(reserved_slugs); i++)
                if (streq_ptr(slug, reserved_slugs[i]))
                        return true;
        return false;
}

int workflow_slug_from_name(const char *name, char **ret) {
        _cleanup_free_ char *s = NULL;
        bool pending_dash = false;
        size_t n = 0;

        s = malloc(WORKFLOW_DERIVED_SLUG_MAX + 1);
        if (!s)
                return -ENOMEM;

        for (const char *p = name ?: ""; *p; p++) {
                if (!ascii_alnum(*p)) {
                        pending_dash = true;
                        continue;
                }
                /* A dash only ever goes between two kept characters: none leading or trailing. */
                if (pending_dash && n > 0) {
                        if (n + 2 > WORKFLOW_DERIVED_SLUG_MAX)
                                break;
                        s[n++] = '-';
                }
                pending_dash = false;
                if (n >= WORKFLOW_DERIVED_SLUG_MAX)
                        break;
                s[n++] = (*p >= 'A' && *p <= 'Z') ? (char) (*p - 'A' + 'a') : *p;
        }
        s[n] = 0;

        if (n == 0) {
                free(s);
                s = strdup("workflow");
                if (!s)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

json_t *store_column_integer(const DbResult *r, size_t row, size_t col) {
        if (db_result_is_null(r, row, col))
                return json_null();
        return json_integer(db_result_get_int64(r, row, col));
}

json_t *store_column_real(const DbResult *r, size_t row, size_t col) {
        if (db_result_is_null(r, row, col))
                return json_null();
        return json_real(db_result_get_double(r, row, col));
}

json_t *store_column_string(const DbResult *r, size_t row, size_t col) {
        if (db_result_is_null(r, row, col))
                return json_null();
        return json_string(db_result_get(r, row, col));
}

json_t *store_column_bool(const DbResult *r, size_t row, size_t col) {
        if (db_result_is_null(r, row, col))
                return json_null();
        return json_boolean(db_result_get_bool(r, row, col));
}

json_t *store_column_json(const DbResult *r, size_t row, size_t col, json_t *def) {
        const char *text = db_result_get(r, row, col);
        json_t *v;

        /* The most common stored values, without a parser run each. */
        if (streq_ptr(text, "[]"))
                return json_array();
        if (streq_ptr(text, "{}"))
                return json_object();

        v = json_loads_or_null(text);
        if (v)
                return v;
        return def ? json_incref(def) : json_null();
}

const char *store_real(char buf[static STORE_REAL_BUFSZ], double v) {
        for (int precision = 15; precision <= 17; precision++) {
                snprintf(buf, STORE_REAL_BUFSZ, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        return buf;
}

#define WORKFLOW_COLUMNS                                                                        \
        "w.id, w.name, w.slug, w.description, w.owner_id, w.is_active, w.is_public, "           \
        "w.is_default, w.tags, w.error_handler_workflow_id, w.max_execution_seconds, "          \
        "w.input_schema, w.output_schema, w.node_count, w.edge_count, w.settings, "             \
        "w.created_at, w.updated_at"

enum {
        WF_ID,
        WF_NAME,
        WF_SLUG,
        WF_DESCRIPTION,
        WF_OWNER_ID,
        WF_IS_ACTIVE,
        WF_IS_PUBLIC,
        WF_IS_DEFAULT,
        WF_TAGS,
        WF_ERROR_HANDLER,
        WF_MAX_EXECUTION_SECONDS,
        WF_INPUT_SCHEMA,
        WF_OUTPUT_SCHEMA,
        WF_NODE_COUNT,
        WF_EDGE_COUNT,
        WF_SETTINGS,
        WF_CREATED_AT,
        WF_UPDATED_AT,
        WF_TOTAL, /* lists only */
};

/* Tags are [] when SQL NULL or unreadable; most rows hold "[]" itself. */
static json_t *workflow_tags_from_row(const DbResult *r, size_t row) {
        const char *text = db_result_get(r, row, WF_TAGS);

        if (!text || streq(text, "[]"))
                return json_array();
        return json_loads_or_null(text) ?: json_array();
}

/* Settings are {} when SQL NULL or not an object. */
static json_t *workflow_settings_from_row(const DbResult *r, size_t row) {
        json_t *settings = store_column_json(r, row, WF_SETTINGS, NULL);

        if (settings && !json_is_object(settings)) {
                json_decref(settings);
                return json_object();
        }
        return settings;
}

/* Keys are literals, so they skip jansson's UTF-8 check. A NULL value (out of memory) makes
 * the set fail, which fails the whole row. */
static json_t *workflow_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *w = json_object();

        if (!w)
                return NULL;

        if (json_object_set_new_nocheck(w, "id", store_column_integer(r, row, WF_ID)) < 0 ||
            json_object_set_new_nocheck(w, "name", store_column_string(r, row, WF_NAME)) < 0 ||
            json_object_set_new_nocheck(w, "slug", store_column_string(r, row, WF_SLUG)) < 0 ||
            json_object_set_new_nocheck(w, "description", store_column_string(r, row, WF_DESCRIPTION)) < 0 ||
            json_object_set_new_nocheck(w, "owner_id", store_column_integer(r, row, WF_OWNER_ID)) < 0 ||
            json_object_set_new_nocheck(w, "is_active", store_column_bool(r, row, WF_IS_ACTIVE)) < 0 ||
            json_object_set_new_nocheck(w, "is_public", store_column_bool(r, row, WF_IS_PUBLIC)) < 0 ||
            json_object_set_new_nocheck(w, "is_default", store_column_bool(r, row, WF_IS_DEFAULT)) < 0 ||
            json_object_set_new_nocheck(w, "tags", workflow_tags_from_row(r, row)) < 0 ||
            json_object_set_new_nocheck(w, "error_handler_workflow_id",
                                        store_column_integer(r, row, WF_ERROR_HANDLER)) < 0 ||
            json_object_set_new_nocheck(w, "max_execution_seconds",
                                        store_column_integer(r, row, WF_MAX_EXECUTION_SECONDS)) < 0 ||
            json_object_set_new_nocheck(w, "input_schema", store_column_json(r, row, WF_INPUT_SCHEMA, NULL)) < 0 ||
            json_object_set_new_nocheck(w, "output_schema", store_column_json(r, row, WF_OUTPUT_SCHEMA, NULL)) < 0 ||
            json_object_set_new_nocheck(w, "node_count", store_column_integer(r, row, WF_NODE_COUNT)) < 0 ||
            json_object_set_new_nocheck(w, "edge_count", store_column_integer(r, row, WF_EDGE_COUNT)) < 0 ||
            json_object_set_new_nocheck(w, "settings", workflow_settings_from_row(r, row)) < 0 ||
            json_object_set_new_nocheck(w, "created_at", store_column_string(r, row, WF_CREATED_AT)) < 0 ||
            json_object_set_new_nocheck(w, "updated_at", store_column_string(r, row, WF_UPDATED_AT)) < 0)
                return NULL;

        return TAKE_PTR(w);
}

int store_workflow_find(Db *db, const StoreCaller *caller, const char *slug, int64_t *ret_id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char owner[DB_INT_BUFSZ];
        int r;

        if (caller->is_admin)
                r = db_queryv(db, &res, "SELECT id FROM workflows WHERE slug = ?", slug);
        else
                r = db_queryv(db, &res, "SELECT id FROM workflows WHERE slug = ? AND owner_id = ?",
                              slug, db_int(owner, caller->user_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        if (ret_id)
                *ret_id = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_workflow_check_visible(Db *db, const StoreCaller *caller, int64_t id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ], owner[DB_INT_BUFSZ];
        int r;

        if (caller->is_admin)
                r = db_queryv(db, &res, "SELECT id FROM workflows WHERE id = ?", db_int(id_text, id));
        else
                r = db_queryv(db, &res, "SELECT id FROM workflows WHERE id = ? AND owner_id = ?",
                              db_int(id_text, id), db_int(owner, caller->user_id));
        if (r < 0)
                return r;

        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

int store_workflow_graph_version(Db *db, int64_t id, int64_t *ret_version) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT graph_version FROM workflows WHERE id = ?", db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret_version = db_result_get_int64(res, 0, 0);
        return 0;
}

int store_workflow_graph_version_by_slug(Db *db, const char *slug, int64_t *ret_id, int64_t *ret_version) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_queryv(db, &res, "SELECT id, graph_version FROM workflows WHERE slug = ?", slug);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        *ret_id = db_result_get_int64(res, 0, 0);
        *ret_version = db_result_get_int64(res, 0, 1);
        return 0;
}

int store_workflow_get(Db *db, int64_t id, bool with_graph, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *w = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "SELECT " WORKFLOW_COLUMNS " FROM workflows w WHERE w.id = ?",
                      db_int(id_text, id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        w = workflow_from_row(res, 0);
        if (!w)
                return -ENOMEM;

        if (with_graph) {
                json_t *nodes = NULL, *edges = NULL;

                r = store_nodes_list(db, id, &nodes);
                if (r < 0)
                        return r;
                if (json_object_set_new(w, "nodes", nodes) < 0)
                        return -ENOMEM;

                r = store_edges_list(db, id, &edges);
                if (r < 0)
                        return r;
                if (json_object_set_new(w, "edges", edges) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(w);
        return 0;
}

/* Lists answer the same rows over and over, and turning a row into an object costs some
 * fifty small allocations (and as many frees once the answer is sent), where comparing the
 * row with the one read last time costs a few memcmp(). So lists keep the objects of the
 * rows they answered, keyed by the row's full text: every column, the counts included. A
 * row that reads back identical, whatever happened in between and whoever did it, gets
 * the object built from it before, shared; any difference builds a new one. The objects
 * are never changed once built, and the answers that hold them only read them.
 *
 * One slot per workflow id modulo the size (a collision only costs a rebuild), under a
 * mutex, since any thread with a Db of its own may list. Rows longer than ROW_CACHE_ROW_MAX
 * (big schemas) are built each time, which keeps the memory held to a few megabytes. */
#define ROW_CACHE_SLOTS 256u
#define ROW_CACHE_ROW_MAX 4096u

typedef struct RowCacheSlot {
        /* Per column: 'n' for NULL, or 'v', the text and its NUL (texts hold no NUL). */
        char *row;
        size_t row_len;
        json_t *object;
} RowCacheSlot;

static struct {
        pthread_mutex_t lock;
        RowCacheSlot slots[ROW_CACHE_SLOTS];
} row_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The columns a row's object is built from: everything but the list's total. */
#define WF_ROW_COLUMNS (WF_UPDATED_AT + 1)

static bool row_cache_slot_matches(const RowCacheSlot *slot, const DbResult *r, size_t row) {
        const char *p = slot->row, *end = slot->row + slot->row_len;

        if (!p)
                return false;
        for (size_t col = 0; col < WF_ROW_COLUMNS; col++) {
                const char *v = db_result_get(r, row, col);
                size_t n;

                if (p == end || *p++ != (v ? 'v' : 'n'))
                        return false;
                if (!v)
                        continue;
                n = strlen(v) + 1;
                if ((size_t) (end - p) < n || memcmp(p, v, n) != 0)
                        return false;
                p += n;
        }
        return p == end;
}

/* The row as row_cache_slot_matches() reads it; NULL when too long to keep (or no memory). */
static char *row_cache_key(const DbResult *r, size_t row, size_t *ret_len) {
        size_t size = 0, len = 0;
        char *key;

        for (size_t col = 0; col < WF_ROW_COLUMNS; col++) {
                const char *v = db_result_get(r, row, col);

                size += 1 + (v ? strlen(v) + 1 : 0);
        }
        if (size > ROW_CACHE_ROW_MAX)
                return NULL;
        key = malloc(size);
        if (!key)
                return NULL;
        for (size_t col = 0; col < WF_ROW_COLUMNS; col++) {
                const char *v = db_result_get(r, row, col);

                key[len++] = v ? 'v' : 'n';
                if (v) {
                        size_t n = strlen(v) + 1;

                        memcpy(key + len, v, n);
                        len += n;
                }
        }
        *ret_len = len;
        return key;
}

/* The object of a list row: the cached one when the row is unchanged (a new reference),
 * else a new one, remembered for next time. */
static json_t *workflow_from_list_row(const DbResult *r, size_t row) {
        RowCacheSlot *slot = row_cache.slots + (uint64_t) db_result_get_int64(r, row, WF_ID) % ROW_CACHE_SLOTS;
        _cleanup_free_ char *key = NULL;
        RowCacheSlot old;
        json_t *object;
        size_t key_len;

        pthread_mutex_lock(&row_cache.lock);
        if (row_cache_slot_matches(slot, r, row)) {
                object = json_incref(slot->object);
                pthread_mutex_unlock(&row_cache.lock);
                return object;
        }
        pthread_mutex_unlock(&row_cache.lock);

        object = workflow_from_row(r, row);
        if (!object)
                return NULL;
        key = row_cache_key(r, row, &key_len);
        if (!key)
                return object; /* answered all the same, just not kept */

        pthread_mutex_lock(&row_cache.lock);
        old = *slot;
        *slot = (RowCacheSlot) {
                .row = TAKE_PTR(key),
                .row_len = key_len,
                .object = json_incref(object),
        };
        pthread_mutex_unlock(&row_cache.lock);

        /* The text of a kept row is written once, not for every answer it is in. */
        json_write_drop(old.object);
        json_decref(old.object);
        free(old.row);
        (void) json_write_keep(object);
        return object;
}

/* The total comes with the page, from the same snapshot, as one more column: SQLite and
 * PostgreSQL both run an uncorrelated subquery once per statement, which costs less than
 * a query of its own (and much less than COUNT(*) OVER (), which keeps every row). */
int store_workflow_list(Db *db, const StoreCaller *caller, int64_t limit, int64_t offset,
                        json_t **ret_items, int64_t *ret_total) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *items = NULL;
        char owner[DB_INT_BUFSZ], limit_text[DB_INT_BUFSZ], offset_text[DB_INT_BUFSZ];
        size_t n_rows;
        int64_t total;
        int r;

        db_int(limit_text, limit);
        db_int(offset_text, offset);

        if (caller->is_admin)
                r = db_queryv(db, &res,
                              "SELECT " WORKFLOW_COLUMNS ", (SELECT COUNT(*) FROM workflows) "
                              "FROM workflows w "
                              "ORDER BY w.created_at DESC, w.id DESC LIMIT ? OFFSET ?",
                              limit_text, offset_text);
        else {
                db_int(owner, caller->user_id);
                r = db_queryv(db, &res,
                              "SELECT " WORKFLOW_COLUMNS ", (SELECT COUNT(*) FROM workflows WHERE owner_id = ?) "
                              "FROM workflows w WHERE w.owner_id = ? "
                              "ORDER BY w.created_at DESC, w.id DESC LIMIT ? OFFSET ?",
                              owner, owner, limit_text, offset_text);
        }
        if (r < 0)
                return r;

        n_rows = db_result_rows(res);
        items = json_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n_rows; i++)
                if (json_array_append_new(items, workflow_from_list_row(res, i)) < 0)
                        return -ENOMEM;

        if (n_rows > 0)
                total = db_result_get_int64(res, 0, WF_TOTAL);
        else {
                /* An empty page (no workflows, or an offset past the end) has no row to
                 * carry the total. */
                _cleanup_(db_result_freep) DbResult *count = NULL;

                if (caller->is_admin)
                        r = db_query(db, &count, "SELECT COUNT(*) FROM workflows", 0, NULL);
                else
                        r = db_queryv(db, &count, "SELECT COUNT(*) FROM workflows WHERE owner_id = ?", owner);
                if (r < 0)
                        return r;
                total = db_result_get_int64(count, 0, 0);
        }

        *ret_total = total;
        *ret_items = TAKE_PTR(items);
        return 0;
}

/* The first of base, base-1, base-2, … that no workflow uses and no path shadows. */
static int workflow_slug_pick_free(Db *db, const char *base, char **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *taken = NULL;
        _cleanup_free_ char *prefix = NULL;
        char len_text[DB_INT_BUFSZ];
        int r;

        if (asprintf(&prefix, "%s-", base) < 0)
                return -ENOMEM;

        /* One query for every slug that could collide, rather than one query per attempt. */
        r = db_queryv(db, &res, "SELECT slug FROM workflows WHERE slug = ? OR substr(slug, 1, ?) = ?",
                      base, db_int(len_text, (int64_t) strlen(prefix)), prefix);
        if (r < 0)
                return r;

        taken = json_object();
        if (!taken)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_object_set_new(taken, db_result_get(res, i, 0), json_true()) < 0)
                        return -ENOMEM;

        for (size_t n = 0;; n++) {
                _cleanup_free_ char *candidate = NULL;

                if (n == 0)
                        candidate = strdup(base);
                else if (asprintf(&candidate, "%s-%zu", base, n) < 0)
                        candidate = NULL;
                if (!candidate)
                        return -ENOMEM;

                if (!json_object_get(taken, candidate) && !workflow_slug_is_reserved(candidate)) {
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
        }
}

/* Parameter texts of the workflow columns a body can set, with the defaults of a new
 * workflow for what is absent or null. */
typedef struct WorkflowValues {
        const char *name, *description, *is_active, *is_public, *is_default;
        const char *error_handler, *max_execution_seconds;
        char *tags, *input_schema, *output_schema, *settings;
        char error_handler_buf[DB_INT_BUFSZ], max_execution_seconds_buf[DB_INT_BUFSZ];
} WorkflowValues;

static void workflow_values_done(WorkflowValues *v) {
        free(v->settings);
        free(v->tags);
        free(v->input_schema);
        free(v->output_schema);
}

static int json_text_or_null(json_t *obj, const char *key, char **ret) {
        json_t *v = json_object_get(obj, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        *ret = json_dumps_compact(v);
        return *ret ? 0 : -ENOMEM;
}

static int workflow_values_fill(WorkflowValues *v, json_t *in) {
        json_t *tags, *handler, *settings;
        int r;

        *v = (WorkflowValues) {};

        v->name = json_get_string(in, "name", "");
        v->description = json_get_string(in, "description", "");
        v->is_active = db_bool(json_get_bool(in, "is_active", true));
        v->is_public = db_bool(json_get_bool(in, "is_public", false));
        v->is_default = db_bool(json_get_bool(in, "is_default", false));
        v->max_execution_seconds = db_int(v->max_execution_seconds_buf,
                                          json_get_integer(in, "max_execution_seconds", 600));

        handler = json_object_get(in, "error_handler_workflow_id");
        if (json_is_integer(handler))
                v->error_handler = db_int(v->error_handler_buf, json_integer_value(handler));

        tags = json_object_get(in, "tags");
        v->tags = json_is_array(tags) ? json_dumps_compact(tags) : strdup("[]");
        if (!v->tags)
                return -ENOMEM;
        settings = json_object_get(in, "settings");
        v->settings = json_is_object(settings) ? json_dumps_compact(settings) : strdup("{}");
        if (!v->settings)
                return -ENOMEM;

        r = json_text_or_null(in, "input_schema", &v->input_schema);
        if (r < 0)
                return r;
        return json_text_or_null(in, "output_schema", &v->output_schema);
}

static int workflow_insert(Db *db, int64_t owner_id, json_t *in, int64_t *ret_id) {
        _cleanup_(workflow_values_done) WorkflowValues v = {};
        _cleanup_free_ char *base = NULL;
        char owner[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        const char *slug;
        int r;

        r = workflow_values_fill(&v, in);
        if (r < 0)
                return r;

        slug = json_get_string(in, "slug", NULL);
        if (slug) {
                base = strdup(slug);
                if (!base)
                        return -ENOMEM;
        } else {
                r = workflow_slug_from_name(v.name, &base);
                if (r < 0)
                        return r;
        }

        db_int(owner, owner_id);
        timestamp_now(now);

        /* Another writer may take the slug between the pick and the insert: pick again. */
        for (unsigned attempt = 0;; attempt++) {
                _cleanup_(db_result_freep) DbResult *res = NULL;
                _cleanup_free_ char *free_slug = NULL;

                r = workflow_slug_pick_free(db, base, &free_slug);
                if (r < 0)
                        return r;

                r = db_queryv(db, &res,
                              "INSERT INTO workflows (owner_id, name, slug, description, is_active, "
                              "is_public, is_default, tags, error_handler_workflow_id, "
                              "max_execution_seconds, input_schema, output_schema, settings, created_at, "
                              "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              owner, v.name, free_slug, v.description, v.is_active, v.is_public,
                              v.is_default, v.tags, v.error_handler, v.max_execution_seconds,
                              v.input_schema, v.output_schema, v.settings, now, now);
                if (r == -EEXIST && attempt < 3)
                        continue;
                if (r < 0)
                        return r;
                if (db_result_rows(res) != 1)
                        return -EIO;

                *ret_id = db_result_get_int64(res, 0, 0);
                return 0;
        }
}

int store_workflow_create(Db *db, int64_t owner_id, json_t *in, json_t **ret) {
        int64_t id;
        int r;

        r = workflow_insert(db, owner_id, in, &id);
        if (r < 0)
                return r;

        return store_workflow_get(db, id, false, ret);
}

/* settings are patched key by key: a key set to null goes back to its default (is
 * removed); settings: null clears them all. */
static int workflow_settings_patch(json_t *current, json_t *patch) {
        _cleanup_json_ json_t *settings = NULL;
        json_t *v;
        const char *key;

        if (!patch)
                return 0;
        settings = json_is_object(patch) ? json_deep_copy(json_object_get(current, "settings")) : NULL;
        if (!json_is_object(settings)) {
                json_decref(settings);
                settings = json_object();
        }
        if (!settings)
                return -ENOMEM;
        json_object_foreach(patch, key, v)
                if (json_is_null(v))
                        (void) json_object_del(settings, key);
                else if (json_object_set(settings, key, v) < 0)
                        return -ENOMEM;
        return json_object_set(current, "settings", settings) < 0 ? -ENOMEM : 0;
}

int store_workflow_update(Db *db, int64_t id, json_t *patch, json_t **ret) {
        static const struct {
                const char *name;
                bool nullable;
        } fields[] = {
                { "name" },
                { "slug" },
                { "description", true },
                { "is_active" },
                { "is_public" },
                { "is_default" },
                { "tags", true },
                { "error_handler_workflow_id", true },
                { "max_execution_seconds" },
                { "input_schema", true },
                { "output_schema", true },
        };
        _cleanup_(workflow_values_done) WorkflowValues v = {};
        _cleanup_json_ json_t *current = NULL;
        char id_text[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];
        const char *slug;
        int r;

        r = store_workflow_get(db, id, false, &current);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_t *value = json_object_get(patch, fields[i].name);

                if (!value || (json_is_null(value) && !fields[i].nullable))
                        continue;
                if (json_object_set(current, fields[i].name, value) < 0)
                        return -ENOMEM;
        }
        r = workflow_settings_patch(current, json_object_get(patch, "settings"));
        if (r < 0)
                return r;

        r = workflow_values_fill(&v, current);
        if (r < 0)
                return r;

        slug = json_get_string(current, "slug", NULL);
        if (!slug)
                return -EINVAL;

        r = db_queryv(db, NULL,
                      "UPDATE workflows SET name = ?, slug = ?, description = ?, is_active = ?, "
                      "is_public = ?, is_default = ?, tags = ?, error_handler_workflow_id = ?, "
                      "max_execution_seconds = ?, input_schema = ?, output_schema = ?, settings = ?, "
                      "updated_at = ? WHERE id = ?",
                      v.name, slug, v.description, v.is_active, v.is_public, v.is_default, v.tags,
                      v.error_handler, v.max_execution_seconds, v.input_schema, v.output_schema, v.settings,
                      timestamp_now(now), db_int(id_text, id));
        if (r < 0)
                return r;

        return store_workflow_get(db, id, false, ret);
}

int store_workflow_delete(Db *db, int64_t id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];
        int r;

        r = db_queryv(db, &res, "DELETE FROM workflows WHERE id = ? RETURNING id", db_int(id_text, id));
        if (r < 0)
                return r;

        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

int store_workflow_delete_many(Db *db, const StoreCaller *caller, json_t *slugs, int64_t *ret_deleted) {
        int64_t deleted = 0;
        json_t *slug;
        size_t i;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        json_array_foreach(slugs, i, slug) {
                int64_t id;

                if (!json_is_string(slug))
                        continue;

                r = store_workflow_find(db, caller, json_string_value(slug), &id);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        goto fail;

                r = store_workflow_delete(db, id);
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

int store_workflow_touch(Db *db, int64_t id) {
        char id_text[DB_INT_BUFSZ], now[TIMESTAMP_BUFSZ];

        return db_queryv(db, NULL, "UPDATE workflows SET updated_at = ? WHERE id = ?",
                         timestamp_now(now), db_int(id_text, id));
}

/* NodeOut → NodeIn: what the create endpoint takes, without the database's own fields. */
static json_t *node_export(json_t *node) {
        json_t *out;

        out = json_deep_copy(node);
        if (!out)
                return NULL;
        (void) json_object_del(out, "id");
        (void) json_object_del(out, "updated_at");
        return out;
}

static json_t *edge_export(json_t *edge) {
        static const char *const fields[] = {
                "source_node_id", "target_node_id", "edge_type", "edge_label", "condition_value", "priority",
        };
        _cleanup_json_ json_t *out = NULL;

        out = json_object();
        if (!out)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_t *value = json_object_get(edge, fields[i]);

                if (value && json_object_set(out, fields[i], value) < 0)
                        return NULL;
        }

        return TAKE_PTR(out);
}

int store_workflow_export(Db *db, int64_t id, json_t **ret) {
        static const char *const fields[] = {
                "name", "slug", "description", "is_active", "is_public", "tags",
                "max_execution_seconds", "input_schema", "output_schema",
        };
        _cleanup_json_ json_t *w = NULL, *doc = NULL, *workflow = NULL, *nodes = NULL, *edges = NULL;
        size_t i;
        json_t *item;
        int r;

        r = store_workflow_get(db, id, true, &w);
        if (r < 0)
                return r;

        workflow = json_object();
        nodes = json_array();
        edges = json_array();
        if (!workflow || !nodes || !edges)
                return -ENOMEM;

        for (i = 0; i < ELEMENTSOF(fields); i++)
                if (json_object_set(workflow, fields[i], json_object_get(w, fields[i]) ?: json_null()) < 0)
                        return -ENOMEM;

        json_array_foreach(json_object_get(w, "nodes"), i, item)
                if (json_array_append_new(nodes, node_export(item)) < 0)
                        return -ENOMEM;

        json_array_foreach(json_object_get(w, "edges"), i, item)
                if (json_array_append_new(edges, edge_export(item)) < 0)
                        return -ENOMEM;

        doc = json_pack("{s:s, s:i, s:O, s:O, s:O}",
                        "format", WORKFLOW_EXPORT_FORMAT,
                        "version", WORKFLOW_EXPORT_VERSION,
                        "workflow", workflow,
                        "nodes", nodes,
                        "edges", edges);
        if (!doc)
                return -ENOMEM;

        *ret = TAKE_PTR(doc);
        return 0;
}

int store_workflow_import(Db *db, int64_t owner_id, json_t *workflow, json_t *nodes, json_t *edges,
                          json_t **ret) {
        json_t *item;
        int64_t id;
        size_t i;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        r = workflow_insert(db, owner_id, workflow, &id);
        if (r < 0)
                goto fail;

        json_array_foreach(nodes, i, item) {
                r = store_node_insert(db, id, item);
                if (r < 0)
                        goto fail;
        }

        json_array_foreach(edges, i, item) {
                r = store_edge_insert(db, id, item, NULL);
                if (r < 0)
                        goto fail;
        }

        r = db_commit(db);
        if (r < 0)
                goto fail;

        return store_workflow_get(db, id, true, ret);

fail:
        (void) db_rollback(db);
        return r;
}
