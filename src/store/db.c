/* The backend-neutral half of the storage interface: picking a backend by URL, the '?'
 * placeholder convention, and the result object both backends fill. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/db-internal.h"
#include "store/db.h"

/* Marks a NULL cell in DbResult.cells. */
#define CELL_NULL SIZE_MAX

struct DbResult {
        size_t n_columns;
        size_t n_rows;
        size_t n_rows_allocated;
        /* Offsets into data: one per column name, n_rows * n_columns for the cells. */
        size_t *column_names;
        size_t *cells;
        char *data;
        size_t data_size;
        size_t data_allocated;
};

static const char *const backend_table[_DB_BACKEND_MAX] = {
        [DB_SQLITE] = "sqlite",
        [DB_POSTGRES] = "postgresql",
};

const char *db_backend_to_string(DbBackend b) {
        if (b < 0 || b >= _DB_BACKEND_MAX)
                return NULL;
        return backend_table[b];
}

int db_set_error(Db *db, int error, const char *format, ...) {
        va_list ap;
        char *s;

        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);

        free(db->last_error);
        db->last_error = s;
        return error;
}

const char *db_last_error(const Db *db) {
        if (!db || !db->last_error)
                return "";
        return db->last_error;
}

DbBackend db_backend(const Db *db) {
        assert(db);
        return db->vtable->backend;
}

static const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);

        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

/* Splits a URL into backend and the target the backend opens. The message never quotes
 * more than the scheme, because a mistyped PostgreSQL URL may carry a password. */
static int parse_url(const char *url, const DbVTable **ret_vtable, const char **ret_target, char **ret_error) {
        const char *p;

        if (streq(url, "sqlite::memory:")) {
                *ret_vtable = &db_sqlite_vtable;
                *ret_target = ":memory:";
                return 0;
        }

        p = startswith(url, "sqlite://");
        if (p) {
                if (isempty(p)) {
                        if (ret_error)
                                *ret_error = strdup("Database URL 'sqlite://' names no file; "
                                                    "use sqlite:///absolute/path.db or sqlite://relative/path.db");
                        return -EINVAL;
                }
                *ret_vtable = &db_sqlite_vtable;
                *ret_target = p;
                return 0;
        }

        if (startswith(url, "postgresql://") || startswith(url, "postgres://")) {
                *ret_vtable = &db_pg_vtable;
                *ret_target = url;
                return 0;
        }

        if (ret_error) {
                size_t n = strcspn(url, ":/@?");

                if (asprintf(ret_error,
                             "Unsupported database URL scheme '%.*s'; expected sqlite:///path.db, "
                             "sqlite::memory:, postgresql://… or postgres://…", (int) MIN(n, 32u), url) < 0)
                        *ret_error = NULL;
        }
        return -EINVAL;
}

int db_open(const char *url, Db **ret, char **ret_error) {
        const DbVTable *vtable;
        const char *target;
        Db *db;
        int r;

        assert(url);
        assert(ret);

        if (ret_error)
                *ret_error = NULL;

        r = parse_url(url, &vtable, &target, ret_error);
        if (r < 0)
                return r;

        db = calloc(1, sizeof(Db));
        if (!db)
                return -ENOMEM;
        db->vtable = vtable;

        r = vtable->open(db, target);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup(db->last_error ?: strerror(-r));
                free(db->last_error);
                free(db);
                return r;
        }

        *ret = db;
        return 0;
}

Db *db_close(Db *db) {
        if (!db)
                return NULL;

        if (db->backend_data)
                db->vtable->close(db);
        free(db->last_error);
        free(db);
        return NULL;
}

/* If p starts a quoted string, a quoted identifier or a comment, returns the first
 * character after it (or the terminating NUL when it is unterminated); else NULL. */
static const char *skip_quoted(const char *p) {
        const char *end;

        switch (*p) {
        case '\'':
        case '"':
                /* A doubled quote inside is an escaped quote: it closes and reopens. */
                end = strchr(p + 1, *p);
                return end ? end + 1 : p + strlen(p);
        case '-':
                if (p[1] != '-')
                        return NULL;
                end = strchr(p, '\n');
                return end ? end + 1 : p + strlen(p);
        case '/':
                if (p[1] != '*')
                        return NULL;
                end = strstr(p + 2, "*/");
                return end ? end + 2 : p + strlen(p);
        default:
                return NULL;
        }
}

size_t db_count_placeholders(const char *sql) {
        size_t n = 0;

        /* Runs every query: jump straight to the next character that can matter. */
        for (const char *p = sql + strcspn(sql, "?'\"-/"); *p; p += strcspn(p, "?'\"-/")) {
                const char *q = skip_quoted(p);

                if (q) {
                        p = q;
                        continue;
                }
                if (*p == '?')
                        n++;
                p++;
        }
        return n;
}

/* "… a = ? AND b = ?" → "… a = $1 AND b = $2", the placeholders PostgreSQL knows. */
static char *rewrite_placeholders(const char *sql, size_t n_placeholders) {
        /* "$" and at most 20 digits replace each '?'. */
        size_t size = strlen(sql) + n_placeholders * 21 + 1, n = 0;
        char *out, *o;

        out = o = malloc(size);
        if (!out)
                return NULL;

        for (const char *p = sql; *p;) {
                const char *q = skip_quoted(p);

                if (q) {
                        memcpy(o, p, q - p);
                        o += q - p;
                        p = q;
                        continue;
                }
                if (*p == '?')
                        o += sprintf(o, "$%zu", ++n);
                else
                        *o++ = *p;
                p++;
        }
        *o = 0;
        return out;
}

int db_query(Db *db, DbResult **ret, const char *sql, size_t n_params, const char *const *params) {
        _cleanup_free_ char *rewritten = NULL;
        size_t n_placeholders;

        assert(db);
        assert(sql);
        assert(n_params == 0 || params);

        n_placeholders = db_count_placeholders(sql);
        if (n_placeholders != n_params)
                return db_set_error(db, -EINVAL, "Statement has %zu placeholders but %zu parameters were given: %s",
                                    n_placeholders, n_params, sql);

        if (db->vtable->backend == DB_POSTGRES && n_placeholders > 0) {
                rewritten = rewrite_placeholders(sql, n_placeholders);
                if (!rewritten)
                        return db_set_error(db, -ENOMEM, "Out of memory");
                sql = rewritten;
        }

        return db->vtable->query(db, ret, sql, n_params, params);
}

int db_exec_script(Db *db, const char *sql) {
        assert(db);
        assert(sql);

        return db->vtable->exec_script(db, sql);
}

int db_begin(Db *db) {
        assert(db);
        return db->vtable->begin(db);
}

int db_commit(Db *db) {
        assert(db);
        return db->vtable->commit(db);
}

int db_rollback(Db *db) {
        assert(db);
        return db->vtable->rollback(db);
}

const char *db_int(char buf[static DB_INT_BUFSZ], int64_t v) {
        snprintf(buf, DB_INT_BUFSZ, "%" PRIi64, v);
        return buf;
}

const char *db_bool(bool v) {
        return v ? "1" : "0";
}

/* --- results ------------------------------------------------------------------------- */

DbResult *db_result_new(size_t n_columns) {
        DbResult *r;

        r = calloc(1, sizeof(DbResult));
        if (!r)
                return NULL;

        r->n_columns = n_columns;
        if (n_columns > 0) {
                r->column_names = malloc(n_columns * sizeof(size_t));
                if (!r->column_names)
                        return db_result_free(r);
                for (size_t i = 0; i < n_columns; i++)
                        r->column_names[i] = CELL_NULL;
        }
        return r;
}

DbResult *db_result_free(DbResult *r) {
        if (!r)
                return NULL;

        free(r->column_names);
        free(r->cells);
        free(r->data);
        free(r);
        return NULL;
}

/* Makes room for n more bytes of data at once. */
static int result_reserve_data(DbResult *r, size_t n) {
        size_t a;
        char *d;

        if (n >= SIZE_MAX / 2 - r->data_size)
                return -ENOMEM;
        if (r->data_size + n <= r->data_allocated)
                return 0;

        a = MAX(MAX(r->data_allocated * 2, r->data_size + n), (size_t) 256);
        d = realloc(r->data, a);
        if (!d)
                return -ENOMEM;
        r->data = d;
        r->data_allocated = a;
        return 0;
}

/* Copies a string into the data buffer; returns its offset or CELL_NULL on failure. */
static size_t result_append_data(DbResult *r, const char *s, size_t length) {
        size_t offset = r->data_size;

        if (length >= SIZE_MAX / 4 || result_reserve_data(r, length + 1) < 0)
                return CELL_NULL;

        memcpy(r->data + offset, s, length);
        r->data[offset + length] = 0;
        r->data_size += length + 1;
        return offset;
}

int db_result_set_column_name(DbResult *r, size_t col, const char *name) {
        size_t offset;

        assert(r);
        assert(col < r->n_columns);

        offset = result_append_data(r, name ?: "", strlen(name ?: ""));
        if (offset == CELL_NULL)
                return -ENOMEM;
        r->column_names[col] = offset;
        return 0;
}

int db_result_add_row(DbResult *r) {
        assert(r);

        if (r->n_columns == 0) {
                r->n_rows++;
                return 0;
        }

        if (r->n_rows >= r->n_rows_allocated) {
                size_t a = MAX(r->n_rows_allocated * 2, (size_t) 8);
                size_t *c;

                if (a > SIZE_MAX / sizeof(size_t) / r->n_columns)
                        return -ENOMEM;
                c = realloc(r->cells, a * r->n_columns * sizeof(size_t));
                if (!c)
                        return -ENOMEM;
                r->cells = c;
                r->n_rows_allocated = a;
        }

        for (size_t i = 0; i < r->n_columns; i++)
                r->cells[r->n_rows * r->n_columns + i] = CELL_NULL;
        r->n_rows++;
        return 0;
}

int db_result_add_row_cells(DbResult *r, const char *const *values, const size_t *lengths) {
        size_t need = 0, *cells;
        int k;

        assert(r);

        for (size_t i = 0; i < r->n_columns; i++)
                if (values[i]) {
                        if (lengths[i] >= SIZE_MAX / 4 - need)
                                return -ENOMEM;
                        need += lengths[i] + 1;
                }
        if (result_reserve_data(r, need) < 0)
                return -ENOMEM;
        k = db_result_add_row(r);
        if (k < 0)
                return k;

        cells = r->cells + (r->n_rows - 1) * r->n_columns;
        for (size_t i = 0; i < r->n_columns; i++) {
                if (!values[i])
                        continue; /* db_result_add_row() left it NULL */
                memcpy(r->data + r->data_size, values[i], lengths[i]);
                r->data[r->data_size + lengths[i]] = 0;
                cells[i] = r->data_size;
                r->data_size += lengths[i] + 1;
        }
        return 0;
}

int db_result_set_cell(DbResult *r, size_t col, const char *value, size_t length) {
        size_t offset;

        assert(r);
        assert(r->n_rows > 0);
        assert(col < r->n_columns);

        if (!value)
                offset = CELL_NULL;
        else {
                offset = result_append_data(r, value, length);
                if (offset == CELL_NULL)
                        return -ENOMEM;
        }

        r->cells[(r->n_rows - 1) * r->n_columns + col] = offset;
        return 0;
}

size_t db_result_rows(const DbResult *r) {
        return r ? r->n_rows : 0;
}

size_t db_result_columns(const DbResult *r) {
        return r ? r->n_columns : 0;
}

const char *db_result_column_name(const DbResult *r, size_t col) {
        if (!r || col >= r->n_columns || r->column_names[col] == CELL_NULL)
                return NULL;
        return r->data + r->column_names[col];
}

const char *db_result_get(const DbResult *r, size_t row, size_t col) {
        size_t offset;

        if (!r || row >= r->n_rows || col >= r->n_columns)
                return NULL;

        offset = r->cells[row * r->n_columns + col];
        return offset == CELL_NULL ? NULL : r->data + offset;
}

bool db_result_is_null(const DbResult *r, size_t row, size_t col) {
        return !db_result_get(r, row, col);
}

int64_t db_result_get_int64(const DbResult *r, size_t row, size_t col) {
        const char *s = db_result_get(r, row, col);

        return s ? strtoll(s, NULL, 10) : 0;
}

static locale_t c_locale;

static void c_locale_init(void) {
        c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
}

double db_result_get_double(const DbResult *r, size_t row, size_t col) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        const char *s = db_result_get(r, row, col);

        if (!s)
                return 0;

        /* Both databases print "0.5" whatever the process locale says. */
        pthread_once(&once, c_locale_init);
        return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

bool db_result_get_bool(const DbResult *r, size_t row, size_t col) {
        const char *s = db_result_get(r, row, col);
        char *end;
        long long v;

        if (!s)
                return false;
        if (strcasecmp(s, "t") == 0 || strcasecmp(s, "true") == 0)
                return true;
        if (strcasecmp(s, "f") == 0 || strcasecmp(s, "false") == 0)
                return false;

        /* SQLite stores booleans as integers: anything but zero is true. */
        v = strtoll(s, &end, 10);
        return end != s && v != 0;
}
