/* Brings a database to the schema this binary ships, one recorded migration at a time.
 * Two daemons starting together serialize on a lock and re-check what is applied, so
 * every migration runs exactly once. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "store/db-internal.h"
#include "store/migrate.h"

/* The PostgreSQL advisory lock key for migrations: "pipelit" in ASCII. */
#define MIGRATION_LOCK_KEY INT64_C(0x706970656c6974)

static int set_error(char **ret_error, int error, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return error;

        free(*ret_error);
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return error;
}

/* The format the daemon writes everywhere: "2026-11-26T00:54:34.123456Z". */
static const char *timestamp_now_utc(char buf[static 32]) {
        struct timespec ts;
        struct tm tm;
        size_t l;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        l = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + l, 32 - l, ".%06uZ", (unsigned) (ts.tv_nsec / 1000));
        return buf;
}

static int schema_table_exists(Db *db, bool *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        if (db_backend(db) == DB_POSTGRES)
                r = db_query(db, &res, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
        else
                r = db_query(db, &res,
                             "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                             0, NULL);
        if (r < 0)
                return r;

        *ret = db_result_get_bool(res, 0, 0);
        return 0;
}

int db_schema_version(Db *db, int64_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        bool exists;
        int r;

        r = schema_table_exists(db, &exists);
        if (r < 0)
                return r;
        if (!exists) {
                *ret = 0;
                return 0;
        }

        r = db_query(db, &res, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", 0, NULL);
        if (r < 0)
                return r;

        *ret = db_result_get_int64(res, 0, 0);
        return 0;
}

/* Opens a transaction no other migrating daemon can run beside: SQLite's db_begin() takes
 * the write lock at once; PostgreSQL needs an advisory lock, released at commit. */
static int begin_locked(Db *db) {
        char key[DB_INT_BUFSZ];
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;

        if (db_backend(db) == DB_POSTGRES) {
                r = db_queryv(db, NULL, "SELECT pg_advisory_xact_lock(?)", db_int(key, MIGRATION_LOCK_KEY));
                if (r < 0) {
                        _cleanup_free_ char *m = strdup(db_last_error(db));

                        (void) db_rollback(db);
                        return m ? db_set_error(db, r, "%s", m) : r;
                }
        }
        return 0;
}

static int64_t highest_version(const Migration *list, size_t n) {
        int64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v = MAX(v, list[i].version);
        return v;
}

/* Takes the error text before the rollback can replace it. */
static int fail_and_roll_back(Db *db, int error, const char *what, char **ret_error) {
        set_error(ret_error, error, "Cannot %s in the %s database: %s",
                  what, db_backend_to_string(db_backend(db)), db_last_error(db));
        (void) db_rollback(db);
        return error;
}

/* Creates the bookkeeping table and refuses a database a newer binary has migrated. */
static int check_version(Db *db, int64_t highest, char **ret_error) {
        int64_t current;
        int r;

        r = begin_locked(db);
        if (r < 0)
                return set_error(ret_error, r, "Cannot lock the %s database for migrations: %s",
                                 db_backend_to_string(db_backend(db)), db_last_error(db));

        r = db_exec_script(db,
                           "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version BIGINT PRIMARY KEY, "
                           "name TEXT NOT NULL, "
                           "applied_at TEXT NOT NULL)");
        if (r < 0)
                return fail_and_roll_back(db, r, "create schema_migrations", ret_error);

        r = db_schema_version(db, &current);
        if (r < 0)
                return fail_and_roll_back(db, r, "read the schema version", ret_error);

        if (current > highest) {
                (void) db_rollback(db);
                return set_error(ret_error, -EPROTO,
                                 "Database schema version %" PRIi64 " is newer than this pipelitd supports (%" PRIi64 "); "
                                 "upgrade pipelitd", current, highest);
        }

        r = db_commit(db);
        if (r < 0)
                return fail_and_roll_back(db, r, "commit schema_migrations", ret_error);
        return 0;
}

/* Runs the steps of one migration inside its transaction; returns 0 when another daemon
 * applied it meanwhile, 1 when we did. */
static int apply_steps(Db *db, const Migration *m) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char version[DB_INT_BUFSZ], now[32];
        int r;

        r = db_queryv(db, &res, "SELECT 1 FROM schema_migrations WHERE version = ?", db_int(version, m->version));
        if (r < 0)
                return r;
        if (db_result_rows(res) > 0)
                return 0;
        res = db_result_free(res);

        r = db_exec_script(db, m->sql);
        if (r < 0)
                return r;

        if (db_backend(db) == DB_SQLITE) {
                /* Foreign keys are off while migrating (see db_migrate_with()): check that
                 * the migration left none dangling. */
                r = db_query(db, &res, "PRAGMA foreign_key_check", 0, NULL);
                if (r < 0)
                        return r;
                if (db_result_rows(res) > 0) {
                        return db_set_error(db, -ENOLINK,
                                            "the migration leaves rows whose foreign keys point nowhere");
                }
        }

        r = db_queryv(db, NULL, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                      version, m->name, timestamp_now_utc(now));
        if (r < 0)
                return r;

        return 1;
}

static int apply_migration(Db *db, const Migration *m, char **ret_error) {
        int r, applied;

        r = begin_locked(db);
        if (r < 0)
                return set_error(ret_error, r, "Cannot lock the %s database for migration %" PRIi64 " (%s): %s",
                                 db_backend_to_string(db_backend(db)), m->version, m->name, db_last_error(db));

        applied = apply_steps(db, m);
        if (applied >= 0) {
                r = db_commit(db);
                if (r >= 0)
                        return applied;
        } else
                r = applied;

        set_error(ret_error, r, "Migration %" PRIi64 " (%s) failed on %s: %s",
                  m->version, m->name, db_backend_to_string(db_backend(db)), db_last_error(db));
        (void) db_rollback(db);
        return r;
}

int db_migrate_with(Db *db, const Migration *list, size_t n, char **ret_error) {
        int r, n_applied = 0;

        if (ret_error)
                *ret_error = NULL;

        r = check_version(db, highest_version(list, n), ret_error);
        if (r < 0)
                return r;

        /* SQLite's way to rebuild a table (create, copy, drop, rename) needs foreign keys
         * off, and that can only be switched outside a transaction. */
        if (db_backend(db) == DB_SQLITE) {
                r = db_exec_script(db, "PRAGMA foreign_keys=OFF");
                if (r < 0)
                        return set_error(ret_error, r, "Cannot prepare the sqlite database for migrations: %s",
                                         db_last_error(db));
        }

        for (size_t i = 0; i < n; i++) {
                r = apply_migration(db, list + i, ret_error);
                if (r < 0)
                        break;
                n_applied += r;
        }

        if (db_backend(db) == DB_SQLITE) {
                int k = db_exec_script(db, "PRAGMA foreign_keys=ON");

                if (k < 0 && r >= 0)
                        r = set_error(ret_error, k, "Cannot turn foreign keys back on in the sqlite database: %s",
                                      db_last_error(db));
        }

        return r < 0 ? r : n_applied;
}

int db_migrate(Db *db, char **ret_error) {
        if (db_backend(db) == DB_POSTGRES)
                return db_migrate_with(db, migrations_postgresql, migrations_postgresql_count, ret_error);
        return db_migrate_with(db, migrations_sqlite, migrations_sqlite_count, ret_error);
}
