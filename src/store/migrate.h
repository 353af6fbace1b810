/* Applies the versioned SQL migrations of data/migrations/<backend>/NNNN-name.sql (built
 * into the binary, see tools/embed-migrations) that the database has not seen yet, each in
 * its own transaction, and records them in schema_migrations(version, name, applied_at).
 * A database that records a version newer than any we ship is refused with -EPROTO and a
 * message naming both versions. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

typedef struct Migration {
        int64_t version;
        const char *name;
        const char *sql;
} Migration;

/* Generated from data/migrations/: sorted by version. */
extern const Migration migrations_sqlite[];
extern const size_t migrations_sqlite_count;
extern const Migration migrations_postgresql[];
extern const size_t migrations_postgresql_count;

/* Returns the number of migrations applied, or negative errno with a malloc'ed message in
 * *ret_error (if given). */
int db_migrate(Db *db, char **ret_error);
/* Same with an explicit list (tests use it to simulate older and newer binaries). */
int db_migrate_with(Db *db, const Migration *list, size_t n, char **ret_error);

/* Highest version recorded in the database, 0 when none. */
int db_schema_version(Db *db, int64_t *ret);
