/* What db.c shares with its backends: the dispatch table, the connection object and the
 * one result representation both backends fill. Not for use outside src/store/db*.c. */
#pragma once

#include <stdarg.h>

#include "store/db.h"

typedef struct DbVTable {
        DbBackend backend;
        /* target is what follows the scheme: a file name or ":memory:" for SQLite, the
         * whole URL for PostgreSQL. Sets db->backend_data on success. */
        int (*open)(Db *db, const char *target);
        void (*close)(Db *db);
        /* n_params has already been checked against the '?' placeholders of sql. */
        int (*query)(Db *db, DbResult **ret, const char *sql, size_t n_params, const char *const *params);
        int (*exec_script)(Db *db, const char *sql);
        int (*begin)(Db *db);
        int (*commit)(Db *db);
        int (*rollback)(Db *db);
} DbVTable;

struct Db {
        const DbVTable *vtable;
        void *backend_data;
        /* Text of the last failure; kept until the next failure. */
        char *last_error;
};

extern const DbVTable db_sqlite_vtable;
extern const DbVTable db_pg_vtable;

/* Records the backend's error text for db_last_error() and returns error, so a backend
 * can write "return db_set_error(db, -EIO, "…", …);". */
int db_set_error(Db *db, int error, const char *format, ...) _printf_(3, 4);

/* Counts the '?' placeholders of sql, skipping quoted strings, quoted identifiers and
 * comments, where a '?' is no placeholder. */
size_t db_count_placeholders(const char *sql);

/* Building a result: cells are copied into one buffer owned by the result. */
DbResult *db_result_new(size_t n_columns);
int db_result_set_column_name(DbResult *r, size_t col, const char *name);
/* Appends a row whose cells are all SQL NULL until set. */
int db_result_add_row(DbResult *r);
/* Sets a cell of the last row; value NULL means SQL NULL. */
int db_result_set_cell(DbResult *r, size_t col, const char *value, size_t length);
/* Appends a row of all its cells at once: values[i] of lengths[i] bytes, NULL for SQL
 * NULL, one of each per column. */
int db_result_add_row_cells(DbResult *r, const char *const *values, const size_t *lengths);
