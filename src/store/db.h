/* The storage backend interface: one connection to SQLite or PostgreSQL, chosen by URL.
 *
 * SQL is written once, with '?' placeholders and text parameters (NULL means SQL NULL);
 * the PostgreSQL backend rewrites '?' to $1, $2, … (never put a literal '?' in SQL).
 * Results are read as text: both backends hand back every column as a string, and the
 * typed getters parse it (booleans read "1"/"t"/"true" as true).
 *
 * Errors are negative errno: -EEXIST for a unique-constraint violation, -ENOLINK for a
 * foreign-key violation, -EIO for anything else. db_last_error() has the backend's text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

typedef struct Db Db;
typedef struct DbResult DbResult;

typedef enum DbBackend {
        DB_SQLITE,
        DB_POSTGRES,
        _DB_BACKEND_MAX,
        _DB_BACKEND_INVALID = -22,
} DbBackend;

/* url: "sqlite:///abs/path.db", "sqlite://rel/path.db", "sqlite::memory:", or
 * "postgresql://…" / "postgres://…" (handed to libpq as a conninfo URI).
 * On failure *ret_error (if given) gets a malloc'ed message. */
int db_open(const char *url, Db **ret, char **ret_error);
Db *db_close(Db *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(Db *, db_close);

DbBackend db_backend(const Db *db);
const char *db_backend_to_string(DbBackend b);
const char *db_last_error(const Db *db);

/* Runs one statement. ret may be NULL when no rows are wanted. */
int db_query(Db *db, DbResult **ret, const char *sql, size_t n_params, const char *const *params);
/* Runs a script of several statements without parameters (migrations). */
int db_exec_script(Db *db, const char *sql);

int db_begin(Db *db);
/* Returns once the writes are committed, for every connection to read. On SQLite that may
 * mean waiting for other threads' transactions committed along with this one
 * (store/sqlite-group-commit.h): never hold a lock across it that code inside a
 * transaction takes. */
int db_commit(Db *db);
int db_rollback(Db *db);

size_t db_result_rows(const DbResult *r);
size_t db_result_columns(const DbResult *r);
const char *db_result_column_name(const DbResult *r, size_t col);
/* NULL for SQL NULL. The string lives as long as the result. */
const char *db_result_get(const DbResult *r, size_t row, size_t col);
bool db_result_is_null(const DbResult *r, size_t row, size_t col);
int64_t db_result_get_int64(const DbResult *r, size_t row, size_t col);
double db_result_get_double(const DbResult *r, size_t row, size_t col);
bool db_result_get_bool(const DbResult *r, size_t row, size_t col);
DbResult *db_result_free(DbResult *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(DbResult *, db_result_free);

/* db_queryv(db, &res, "SELECT … WHERE a = ? AND b = ?", a, b) — at least one parameter. */
#define db_queryv(db, ret, sql, ...)                                                      \
        db_query((db), (ret), (sql), ELEMENTSOF(((const char *[]){ __VA_ARGS__ })),       \
                 (const char *[]){ __VA_ARGS__ })

/* Text for integer and boolean parameters: DB_INT(buf, n) with char buf[DB_INT_BUFSZ]. */
#define DB_INT_BUFSZ 24
const char *db_int(char buf[static DB_INT_BUFSZ], int64_t v);
const char *db_bool(bool v);
