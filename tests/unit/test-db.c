/* The storage interface against SQLite in a temporary folder and, when
 * PIPELIT_TEST_PG_URL names a database we may create schemas in, against PostgreSQL. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/db.h"
#include "store/migrate.h"
#include "store/sqlite-group-commit.h"

enum {
        BACKEND_SQLITE,
        BACKEND_PG,
};

static char *mfree(char *p) {
        free(p);
        return NULL;
}

/* Everything a run creates lives under basedir (a folder per test inside it) and in
 * schemas named after the run, and goes away at the end even when tests fail. */
static char basedir[] = "/tmp/test-db-XXXXXX";
static char tmpdir[sizeof(basedir) + 8];
static const char *pg_url;
static char pg_schema[64];
static pid_t run_pid;

static void setup(void) {
        static unsigned n_tests = 0;

        snprintf(tmpdir, sizeof tmpdir, "%s/XXXXXX", basedir);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        /* Each test runs in a schema of its own, so the PostgreSQL database is left as found. */
        snprintf(pg_schema, sizeof pg_schema, "pipelit_test_%ld_%ld_%u",
                 (long) run_pid, (long) getpid(), ++n_tests);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void remove_run_schemas(void) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_(db_closep) Db *db = NULL;
        char pattern[64], sql[128];

        if (!pg_url || db_open(pg_url, &db, NULL) < 0)
                return;

        snprintf(pattern, sizeof pattern, "pipelit\\_test\\_%ld\\_%%", (long) run_pid);
        if (db_queryv(db, &res, "SELECT nspname FROM pg_namespace WHERE nspname LIKE ?", pattern) < 0)
                return;

        for (size_t i = 0; i < db_result_rows(res); i++) {
                snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", db_result_get(res, i, 0));
                (void) db_exec_script(db, sql);
        }
}

/* A connection to this test's database: the same file or schema on every call. */
static Db *open_test_db(int backend) {
        _cleanup_free_ char *error = NULL;
        char url[256], sql[256];
        Db *db = NULL;
        int r;

        if (backend == BACKEND_SQLITE)
                snprintf(url, sizeof url, "sqlite://%s/test.db", tmpdir);
        else
                snprintf(url, sizeof url, "%s", pg_url);

        r = db_open(url, &db, &error);
        ck_assert_msg(r >= 0, "db_open(%s): %s", url, error);
        ck_assert_ptr_null(error);

        if (backend == BACKEND_PG) {
                snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s",
                         pg_schema, pg_schema);
                ck_assert_int_eq(db_exec_script(db, sql), 0);
        }
        return db;
}

static bool table_exists(Db *db, const char *table) {
        char sql[128];

        snprintf(sql, sizeof sql, "SELECT 1 FROM %s", table);
        return db_query(db, NULL, sql, 0, NULL) >= 0;
}

static int64_t count_rows(Db *db, const char *table) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char sql[128];

        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
        ck_assert_int_eq(db_query(db, &res, sql, 0, NULL), 0);
        return db_result_get_int64(res, 0, 0);
}

static int64_t shipped_version(int backend) {
        const Migration *list = backend == BACKEND_PG ? migrations_postgresql : migrations_sqlite;
        size_t n = backend == BACKEND_PG ? migrations_postgresql_count : migrations_sqlite_count;

        ck_assert_uint_gt(n, 0);
        return list[n - 1].version;
}

/* --- opening ------------------------------------------------------------------------- */

START_TEST(test_open_errors) {
        _cleanup_free_ char *error = NULL;
        Db *db = NULL;
        char url[256];

        ck_assert_int_eq(db_open("mysql://localhost/pipelit", &db, &error), -EINVAL);
        ck_assert_ptr_null(db);
        ck_assert_ptr_nonnull(strstr(error, "mysql"));
        error = mfree(error);

        /* A mistyped scheme must not put the password into a log line. */
        ck_assert_int_eq(db_open("postgress://pipelit:hunter2@db/pipelit", &db, &error), -EINVAL);
        ck_assert_ptr_null(strstr(error, "hunter2"));
        error = mfree(error);

        ck_assert_int_eq(db_open("sqlite://", &db, &error), -EINVAL);
        ck_assert_ptr_nonnull(error);
        error = mfree(error);

        ck_assert_int_eq(db_open("/var/lib/pipelit/pipelit.db", &db, &error), -EINVAL);
        error = mfree(error);

        /* The folder is not created: a typo in the configuration should show, not scatter
         * databases around. */
        snprintf(url, sizeof url, "sqlite://%s/missing/pipelit.db", tmpdir);
        ck_assert_int_eq(db_open(url, &db, &error), -ENOENT);
        ck_assert_ptr_null(db);
        ck_assert_ptr_nonnull(strstr(error, "missing"));
        error = mfree(error);

        snprintf(url, sizeof url, "%s/missing", tmpdir);
        ck_assert_int_eq(access(url, F_OK), -1);

        /* A file that is not a database. */
        snprintf(url, sizeof url, "%s/garbage.db", tmpdir);
        FILE *f = fopen(url, "we");
        ck_assert_ptr_nonnull(f);
        fputs("this is not an SQLite database, not even close to one, but long enough\n", f);
        fclose(f);
        snprintf(url, sizeof url, "sqlite://%s/garbage.db", tmpdir);
        ck_assert_int_eq(db_open(url, &db, &error), -EIO);
        ck_assert_ptr_nonnull(strstr(error, "not a database"));
        error = mfree(error);

        /* A PostgreSQL server that is not there. */
        snprintf(url, sizeof url, "postgresql:///pipelit?host=%s/nosocket&connect_timeout=2", tmpdir);
        ck_assert_int_eq(db_open(url, &db, &error), -EIO);
        ck_assert_ptr_null(db);
        ck_assert_ptr_nonnull(strstr(error, "PostgreSQL"));
        error = mfree(error);

        /* ret_error is optional. */
        ck_assert_int_eq(db_open("ftp://x", &db, NULL), -EINVAL);
}
END_TEST

START_TEST(test_sqlite_setup) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_backend(db), DB_SQLITE);
        ck_assert_str_eq(db_backend_to_string(db_backend(db)), "sqlite");

        ck_assert_int_eq(db_query(db, &res, "PRAGMA journal_mode", 0, NULL), 0);
        ck_assert_str_eq(db_result_get(res, 0, 0), "wal");
        res = db_result_free(res);

        ck_assert_int_eq(db_query(db, &res, "PRAGMA foreign_keys", 0, NULL), 0);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 1);
        res = db_result_free(res);

        ck_assert_int_eq(db_query(db, &res, "PRAGMA synchronous", 0, NULL), 0);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 1); /* NORMAL */
        res = db_result_free(res);

        ck_assert_int_eq(db_query(db, &res, "PRAGMA busy_timeout", 0, NULL), 0);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 5000);
}
END_TEST

START_TEST(test_sqlite_memory_and_relative) {
        _cleanup_free_ char *error = NULL;
        char path[256];
        Db *db = NULL;

        ck_assert_int_eq(db_open("sqlite::memory:", &db, &error), 0);
        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE t (x INTEGER)"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO t VALUES (?)", "1"), 0);
        ck_assert_int_eq(count_rows(db, "t"), 1);
        /* No shared writer for a database of one connection: transactions stay on it. */
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO t VALUES (?)", "2"), 0);
        ck_assert_int_eq(db_rollback(db), 0);
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO t VALUES (?)", "3"), 0);
        ck_assert_int_eq(db_commit(db), 0);
        ck_assert_int_eq(count_rows(db, "t"), 2);
        db = db_close(db);

        ck_assert_int_eq(chdir(tmpdir), 0);
        ck_assert_int_eq(db_open("sqlite://rel/x.db", &db, &error), -ENOENT);
        ck_assert_ptr_nonnull(strstr(error, "rel"));
        error = mfree(error);

        ck_assert_int_eq(mkdir("rel", 0755), 0);
        ck_assert_int_eq(db_open("sqlite://rel/x.db", &db, &error), 0);
        db = db_close(db);
        snprintf(path, sizeof path, "%s/rel/x.db", tmpdir);
        ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

static off_t file_size(const char *path) {
        struct stat st;

        return stat(path, &st) < 0 ? 0 : st.st_size;
}

/* Commits copy nothing into the database file themselves: a thread does, soon after the WAL
 * passed 1,000 frames, and the WAL starts over instead of growing with every commit. */
START_TEST(test_sqlite_checkpoints) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        char path[sizeof tmpdir + 16], wal[sizeof path + 4], text[3001];
        const off_t frame = 4096 + 24;
        off_t db_size = 0;

        snprintf(path, sizeof path, "%s/test.db", tmpdir);
        snprintf(wal, sizeof wal, "%s-wal", path);
        memset(text, 'x', sizeof text - 1);
        text[sizeof text - 1] = 0;
        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE big (id INTEGER PRIMARY KEY, data TEXT)"), 0);

        /* A row fills most of a page: a commit writes two or three frames. */
        for (int i = 0; i < 3000; i++) {
                ck_assert_int_eq(db_begin(db), 0);
                ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO big (data) VALUES (?)", text), 0);
                ck_assert_int_eq(db_commit(db), 0);
        }
        ck_assert_int_eq(count_rows(db, "big"), 3000);
        /* Without checkpoints all of it would be in the WAL, and the database file small. */
        ck_assert_int_lt(file_size(wal), 4200 * frame);
        for (int i = 0; i < 100 && (db_size = file_size(path)) < 2000 * 4096; i++)
                usleep(20 * 1000);
        ck_assert_int_ge(db_size, 2000 * 4096);
}
END_TEST

/* --- statements, looped over the backends --------------------------------------------- */

static void create_test_tables(Db *db) {
        ck_assert_int_eq(db_exec_script(db,
                                        "CREATE TABLE parent (id BIGINT PRIMARY KEY, name TEXT UNIQUE, note TEXT);"
                                        "CREATE TABLE child (id BIGINT PRIMARY KEY, "
                                        "  parent_id BIGINT NOT NULL REFERENCES parent(id) ON DELETE CASCADE, "
                                        "  flag BOOLEAN, amount DOUBLE PRECISION);"),
                         0);
}

START_TEST(test_constraints) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);

        create_test_tables(db);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "1", "alice"), 0);

        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id) VALUES (?, ?)", "1", "99"), -ENOLINK);
        ck_assert_str_ne(db_last_error(db), "");

        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "2", "alice"), -EEXIST);
        ck_assert_ptr_nonnull(strcasestr(db_last_error(db), "unique"));

        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "1", "bob"), -EEXIST);

        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id) VALUES (?, ?)", "1", NULL), -EIO);

        ck_assert_int_eq(db_query(db, NULL, "SELECT * FROM no_such_table", 0, NULL), -EIO);
        ck_assert_ptr_nonnull(strstr(db_last_error(db), "no_such_table"));

        /* The connection still works after the errors, and cascades run. */
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id) VALUES (?, ?)", "1", "1"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "DELETE FROM parent WHERE id = ?", "1"), 0);
        ck_assert_int_eq(count_rows(db, "child"), 0);
}
END_TEST

START_TEST(test_nulls_and_columns) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_(db_result_freep) DbResult *res = NULL;

        create_test_tables(db);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name, note) VALUES (?, ?, ?)", "1", NULL, ""), 0);

        ck_assert_int_eq(db_query(db, &res, "SELECT id, name, note FROM parent", 0, NULL), 0);
        ck_assert_uint_eq(db_result_rows(res), 1);
        ck_assert_uint_eq(db_result_columns(res), 3);
        ck_assert_str_eq(db_result_column_name(res, 0), "id");
        ck_assert_str_eq(db_result_column_name(res, 2), "note");
        ck_assert_ptr_null(db_result_column_name(res, 3));

        ck_assert_str_eq(db_result_get(res, 0, 0), "1");
        ck_assert(db_result_is_null(res, 0, 1));
        ck_assert_ptr_null(db_result_get(res, 0, 1));
        /* An empty string is not NULL. */
        ck_assert(!db_result_is_null(res, 0, 2));
        ck_assert_str_eq(db_result_get(res, 0, 2), "");
        /* Out of range reads as NULL rather than crashing. */
        ck_assert_ptr_null(db_result_get(res, 1, 0));
        ck_assert_ptr_null(db_result_get(res, 0, 3));
        res = db_result_free(res);

        ck_assert_int_eq(db_queryv(db, &res, "SELECT id FROM parent WHERE name IS NULL AND note = ?", ""), 0);
        ck_assert_uint_eq(db_result_rows(res), 1);
        res = db_result_free(res);

        /* No rows is a result with no rows, not an error. */
        ck_assert_int_eq(db_queryv(db, &res, "SELECT id, name FROM parent WHERE id = ?", "42"), 0);
        ck_assert_uint_eq(db_result_rows(res), 0);
        ck_assert_uint_eq(db_result_columns(res), 2);
        ck_assert_ptr_null(db_result_get(res, 0, 0));
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 0);
}
END_TEST

START_TEST(test_booleans) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_(db_result_freep) DbResult *res = NULL;

        create_test_tables(db);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id) VALUES (?)", "1"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id, flag) VALUES (?, ?, ?)",
                                   "1", "1", db_bool(true)), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id, flag) VALUES (?, ?, ?)",
                                   "2", "1", db_bool(false)), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id, flag) VALUES (?, ?, ?)",
                                   "3", "1", NULL), 0);

        ck_assert_int_eq(db_query(db, &res, "SELECT flag FROM child ORDER BY id", 0, NULL), 0);
        ck_assert_uint_eq(db_result_rows(res), 3);
        ck_assert(db_result_get_bool(res, 0, 0));
        ck_assert(!db_result_get_bool(res, 1, 0));
        ck_assert(!db_result_get_bool(res, 2, 0));
        ck_assert(db_result_is_null(res, 2, 0));
        res = db_result_free(res);

        /* Booleans work as parameters in comparisons too. */
        ck_assert_int_eq(db_queryv(db, &res, "SELECT id FROM child WHERE flag = ?", db_bool(true)), 0);
        ck_assert_uint_eq(db_result_rows(res), 1);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 1);
        res = db_result_free(res);

        ck_assert_int_eq(db_queryv(db, &res, "SELECT id FROM child WHERE flag = ?", db_bool(false)), 0);
        ck_assert_uint_eq(db_result_rows(res), 1);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 2);
}
END_TEST

START_TEST(test_bool_text_forms) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        Db *db = open_test_db(_i);

        /* What either server prints for a boolean, and what SQLite stores. */
        ck_assert_int_eq(db_query(db, &res, "SELECT 't', 'true', '1', 'f', 'false', '0', '2'", 0, NULL), 0);
        ck_assert(db_result_get_bool(res, 0, 0));
        ck_assert(db_result_get_bool(res, 0, 1));
        ck_assert(db_result_get_bool(res, 0, 2));
        ck_assert(!db_result_get_bool(res, 0, 3));
        ck_assert(!db_result_get_bool(res, 0, 4));
        ck_assert(!db_result_get_bool(res, 0, 5));
        ck_assert(db_result_get_bool(res, 0, 6));
        db_close(db);
}
END_TEST

START_TEST(test_int64_and_double) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_(db_result_freep) DbResult *res = NULL;
        const int64_t values[] = { INT64_MAX, INT64_MIN, -1, 0, INT64_C(1) << 53 | 1 };
        char buf[DB_INT_BUFSZ], pbuf[DB_INT_BUFSZ];

        ck_assert_str_eq(db_int(buf, INT64_MIN), "-9223372036854775808");
        ck_assert_str_eq(db_int(buf, 42), "42");

        create_test_tables(db);
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id) VALUES (?)", db_int(buf, values[i])), 0);

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                ck_assert_int_eq(db_queryv(db, &res, "SELECT id FROM parent WHERE id = ?", db_int(buf, values[i])), 0);
                ck_assert_uint_eq(db_result_rows(res), 1);
                ck_assert_int_eq(db_result_get_int64(res, 0, 0), values[i]);
                ck_assert_str_eq(db_result_get(res, 0, 0), buf);
                res = db_result_free(res);
        }

        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO child (id, parent_id, amount) VALUES (?, ?, ?)",
                                   "1", db_int(pbuf, -1), "0.125"), 0);
        ck_assert_int_eq(db_query(db, &res, "SELECT amount FROM child", 0, NULL), 0);
        ck_assert(db_result_get_double(res, 0, 0) == 0.125);
}
END_TEST

START_TEST(test_transactions) {
        _cleanup_(db_closep) Db *db = open_test_db(_i), *other = open_test_db(_i);

        create_test_tables(db);

        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "1", "a"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "2", "b"), 0);
        ck_assert_int_eq(db_rollback(db), 0);
        ck_assert_int_eq(count_rows(db, "parent"), 0);

        /* A failed statement, then a rollback: nothing of the transaction stays. */
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "1", "a"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "2", "a"), -EEXIST);
        ck_assert_int_eq(db_rollback(db), 0);
        /* Rolling back keeps the error text of the failure. */
        ck_assert_ptr_nonnull(strcasestr(db_last_error(db), "unique"));
        ck_assert_int_eq(count_rows(db, "parent"), 0);

        /* Committed rows are seen by another connection. */
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "3", "c"), 0);
        ck_assert_int_eq(count_rows(other, "parent"), 0);
        ck_assert_int_eq(db_commit(db), 0);
        ck_assert_int_eq(count_rows(other, "parent"), 1);

        /* A rollback outside any transaction is harmless. */
        ck_assert_int_eq(db_rollback(db), 0);
}
END_TEST

START_TEST(test_pg_commit_after_failure) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_PG);

        create_test_tables(db);
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "1", "a"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)", "1", "b"), -EEXIST);
        /* PostgreSQL answers COMMIT of a failed transaction with ROLLBACK: that is no success. */
        ck_assert_int_eq(db_commit(db), -EIO);
        ck_assert_int_eq(count_rows(db, "parent"), 0);
        ck_assert_str_eq(db_backend_to_string(db_backend(db)), "postgresql");
}
END_TEST

START_TEST(test_placeholders) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_queryv(db, NULL, "SELECT ?, ?", "1"), -EINVAL);
        ck_assert_ptr_nonnull(strstr(db_last_error(db), "placeholder"));
        ck_assert_int_eq(db_query(db, NULL, "SELECT ?", 0, NULL), -EINVAL);

        /* A '?' in a string literal or a comment is no placeholder. */
        ck_assert_int_eq(db_queryv(db, &res, "SELECT 'why?' AS q, ? AS p -- really?\n", "yes"), 0);
        ck_assert_str_eq(db_result_get(res, 0, 0), "why?");
        ck_assert_str_eq(db_result_get(res, 0, 1), "yes");
        ck_assert_str_eq(db_result_column_name(res, 1), "p");
        res = db_result_free(res);

        ck_assert_int_eq(db_queryv(db, &res, "SELECT 'it''s ?', ? || ?", "a", "b"), 0);
        ck_assert_str_eq(db_result_get(res, 0, 0), "it's ?");
        ck_assert_str_eq(db_result_get(res, 0, 1), "ab");
        res = db_result_free(res);

        /* Text with quotes, newlines and non-ASCII goes through untouched. */
        ck_assert_int_eq(db_queryv(db, &res, "SELECT ?", "'; DROP TABLE x; -- \"\n ünïcødé"), 0);
        ck_assert_str_eq(db_result_get(res, 0, 0), "'; DROP TABLE x; -- \"\n ünïcødé");
        res = db_result_free(res);

        /* One statement per db_query(). */
        ck_assert_int_lt(db_query(db, NULL, "SELECT 1; SELECT 2", 0, NULL), 0);
        ck_assert_int_eq(db_query(db, NULL, "SELECT 1;", 0, NULL), 0);
}
END_TEST

START_TEST(test_statement_cache) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        char sql[64], buf[DB_INT_BUFSZ];

        /* More distinct statements than the cache holds, twice, so entries are evicted
         * and prepared again, while the results stay right. */
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 150; i++) {
                        _cleanup_(db_result_freep) DbResult *res = NULL;

                        snprintf(sql, sizeof sql, "SELECT %d + CAST(? AS INTEGER)", i);
                        ck_assert_int_eq(db_queryv(db, &res, sql, db_int(buf, round)), 0);
                        ck_assert_int_eq(db_result_get_int64(res, 0, 0), i + round);
                }

        /* A cached statement sees a table created after it was first prepared. */
        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE t (x BIGINT)"), 0);
        ck_assert_int_eq(count_rows(db, "t"), 0);
        ck_assert_int_eq(db_exec_script(db, "ALTER TABLE t ADD COLUMN y BIGINT; INSERT INTO t VALUES (1, 2)"), 0);
        ck_assert_int_eq(count_rows(db, "t"), 1);
}
END_TEST

START_TEST(test_exec_script_error) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);

        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE ok (x BIGINT); CREATE TABLE (;"), -EIO);
        ck_assert_ptr_nonnull(strstr(db_last_error(db), "syntax error"));
        /* libpq's trailing newline is gone. */
        ck_assert(db_last_error(db)[strlen(db_last_error(db)) - 1] != '\n');
}
END_TEST

/* --- migrations ------------------------------------------------------------------------ */

static const Migration two_migrations[] = {
        { 1, "first", "CREATE TABLE a (x BIGINT);" },
        { 2, "second", "CREATE TABLE b (y BIGINT); INSERT INTO b VALUES (2);" },
};

static const Migration three_migrations[] = {
        { 1, "first", "CREATE TABLE a (x BIGINT);" },
        { 2, "second", "CREATE TABLE b (y BIGINT); INSERT INTO b VALUES (2);" },
        { 3, "third", "ALTER TABLE b ADD COLUMN z TEXT;" },
};

START_TEST(test_migrate_once) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *error = NULL;
        int64_t v = -1;

        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, 0);

        ck_assert_int_eq(db_migrate_with(db, two_migrations, ELEMENTSOF(two_migrations), &error), 2);
        ck_assert_ptr_null(error);
        ck_assert_int_eq(db_migrate_with(db, two_migrations, ELEMENTSOF(two_migrations), &error), 0);
        ck_assert_int_eq(count_rows(db, "b"), 1);
        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, 2);

        /* A newer binary applies only what is new. */
        ck_assert_int_eq(db_migrate_with(db, three_migrations, ELEMENTSOF(three_migrations), &error), 1);
        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, 3);

        ck_assert_int_eq(db_query(db, &res, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
                                  0, NULL), 0);
        ck_assert_uint_eq(db_result_rows(res), 3);
        ck_assert_str_eq(db_result_get(res, 2, 1), "third");
        ck_assert_uint_eq(strlen(db_result_get(res, 2, 2)), strlen("2026-11-26T00:54:34.123456Z"));
        ck_assert_int_eq(db_result_get(res, 2, 2)[26], 'Z');

        /* An older binary may run against a database it fully knows. */
        ck_assert_int_eq(db_migrate_with(db, three_migrations, ELEMENTSOF(three_migrations), NULL), 0);
}
END_TEST

START_TEST(test_real_schema) {
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *error = NULL;
        char owner[DB_INT_BUFSZ];
        size_t n = _i == BACKEND_PG ? migrations_postgresql_count : migrations_sqlite_count;
        int64_t v;
        int r;

        r = db_migrate(db, &error);
        ck_assert_msg(r == (int) n, "db_migrate: %d %s", r, error);
        ck_assert_int_eq(db_migrate(db, &error), 0);
        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, shipped_version(_i));

        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO users (username, password_hash, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?) RETURNING id, is_active, role",
                                   "alice", "hash", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z"),
                         0);
        ck_assert_uint_eq(db_result_rows(res), 1);
        ck_assert(db_result_get_bool(res, 0, 1));
        ck_assert_str_eq(db_result_get(res, 0, 2), "normal");
        db_int(owner, db_result_get_int64(res, 0, 0));
        res = db_result_free(res);

        ck_assert_int_eq(db_queryv(db, NULL,
                                   "INSERT INTO users (username, password_hash, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?)", "alice", "x", "t", "t"),
                         -EEXIST);

        ck_assert_int_eq(db_queryv(db, NULL,
                                   "INSERT INTO workflows (owner_id, name, slug, is_public, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?, ?, ?)",
                                   owner, "Hello", "hello", db_bool(true), "t", "t"),
                         0);
        ck_assert_int_eq(db_queryv(db, NULL,
                                   "INSERT INTO workflows (owner_id, name, slug, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?, ?)", "999999", "Orphan", "orphan", "t", "t"),
                         -ENOLINK);

        ck_assert_int_eq(db_queryv(db, &res, "SELECT is_public, is_template FROM workflows WHERE slug = ?", "hello"), 0);
        ck_assert(db_result_get_bool(res, 0, 0));
        ck_assert(!db_result_get_bool(res, 0, 1));
        res = db_result_free(res);

        /* Foreign keys are enforced again after migrating: deleting the owner cascades. */
        ck_assert_int_eq(db_queryv(db, NULL, "DELETE FROM users WHERE id = ?", owner), 0);
        ck_assert_int_eq(count_rows(db, "workflows"), 0);
        ck_assert_int_eq(count_rows(db, "system_config"), 1);
}
END_TEST

START_TEST(test_newer_schema_refused) {
        static const Migration future[] = {
                { 9999, "from-the-future", "CREATE TABLE future (x BIGINT);" },
        };
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_free_ char *error = NULL;
        char shipped[DB_INT_BUFSZ];

        ck_assert_int_eq(db_migrate_with(db, future, ELEMENTSOF(future), &error), 1);

        ck_assert_int_eq(db_migrate(db, &error), -EPROTO);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strstr(error, "version 9999 ") && strstr(error, db_int(shipped, shipped_version(_i))),
                      "unexpected message: %s", error);
        ck_assert_ptr_nonnull(strstr(error, "upgrade"));
        ck_assert(!table_exists(db, "users"));
}
END_TEST

START_TEST(test_failing_migration) {
        static const Migration broken[] = {
                { 1, "first", "CREATE TABLE a (x BIGINT);" },
                { 2, "broken-one", "CREATE TABLE b (y BIGINT); INSERT INTO b VALUES (1); CREATE TABLE c (;" },
        };
        static const Migration fixed[] = {
                { 1, "first", "CREATE TABLE a (x BIGINT);" },
                { 2, "fixed", "CREATE TABLE b (y BIGINT); CREATE TABLE c (z BIGINT);" },
        };
        _cleanup_(db_closep) Db *db = open_test_db(_i);
        _cleanup_free_ char *error = NULL;
        int64_t v;

        ck_assert_int_eq(db_migrate_with(db, broken, ELEMENTSOF(broken), &error), -EIO);
        ck_assert_msg(strstr(error, "broken-one") && strstr(error, "syntax error"), "unexpected message: %s", error);
        error = mfree(error);

        /* The first one stays, nothing of the broken one does. */
        ck_assert(table_exists(db, "a"));
        ck_assert(!table_exists(db, "b"));
        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, 1);

        ck_assert_int_eq(db_migrate_with(db, fixed, ELEMENTSOF(fixed), &error), 1);
        ck_assert(table_exists(db, "c"));
}
END_TEST

START_TEST(test_migration_breaking_foreign_keys) {
        static const Migration list[] = {
                { 1, "tables", "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                               "CREATE TABLE q (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id));"
                               "INSERT INTO p VALUES (1); INSERT INTO q VALUES (1, 1);" },
                { 2, "dangling", "DELETE FROM p;" },
        };
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        _cleanup_free_ char *error = NULL;

        /* Foreign keys are off while SQLite migrates; the check after each migration
         * still refuses one that leaves rows dangling. */
        ck_assert_int_eq(db_migrate_with(db, list, ELEMENTSOF(list), &error), -ENOLINK);
        ck_assert_ptr_nonnull(strstr(error, "dangling"));
        ck_assert_int_eq(count_rows(db, "p"), 1);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO q VALUES (?, ?)", "2", "5"), -ENOLINK);
}
END_TEST

START_TEST(test_migration_rebuilding_a_parent_table) {
        static const Migration list[] = {
                { 1, "tables", "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                               "CREATE TABLE q (id INTEGER PRIMARY KEY, "
                               "p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);"
                               "INSERT INTO p VALUES (1); INSERT INTO q VALUES (1, 1);" },
                /* SQLite's way to change a table: create, copy, drop, rename. */
                { 2, "rebuild", "CREATE TABLE p_new (id INTEGER PRIMARY KEY, label TEXT);"
                                "INSERT INTO p_new (id) SELECT id FROM p; DROP TABLE p;"
                                "ALTER TABLE p_new RENAME TO p;" },
        };
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        _cleanup_free_ char *error = NULL;

        /* With foreign keys on where the migration ran, dropping p would have deleted q's
         * rows through the cascade. */
        ck_assert_int_eq(db_migrate_with(db, list, ELEMENTSOF(list), &error), 2);
        ck_assert_int_eq(count_rows(db, "q"), 1);
        /* And they are on again for what comes after. */
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO q VALUES (?, ?)", "2", "5"), -ENOLINK);
}
END_TEST

/* --- several connections ----------------------------------------------------------------- */

typedef struct Worker {
        int backend;
        int result;
        char *error;
        bool started;
} Worker;

static void *migrate_thread(void *userdata) {
        Worker *w = userdata;
        Db *db = open_test_db(w->backend);

        w->result = db_migrate(db, &w->error);
        db_close(db);
        return NULL;
}

START_TEST(test_concurrent_migrate) {
        Worker w[3] = {};
        pthread_t t[ELEMENTSOF(w)];
        size_t n = _i == BACKEND_PG ? migrations_postgresql_count : migrations_sqlite_count;
        int total = 0;

        /* Create the schema first so the threads race on migrating only. */
        db_close(open_test_db(_i));

        for (size_t i = 0; i < ELEMENTSOF(w); i++) {
                w[i].backend = _i;
                ck_assert_int_eq(pthread_create(t + i, NULL, migrate_thread, w + i), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(w); i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_msg(w[i].result >= 0, "db_migrate: %s", w[i].error);
                total += w[i].result;
                free(w[i].error);
        }
        ck_assert_int_eq(total, (int) n);
}
END_TEST

static void *counter_thread(void *userdata) {
        Worker *w = userdata;
        Db *db = open_test_db(BACKEND_SQLITE);

        for (int i = 0; i < 50 && w->result >= 0; i++) {
                _cleanup_(db_result_freep) DbResult *res = NULL;
                char buf[DB_INT_BUFSZ];

                w->result = db_begin(db);
                if (w->result < 0)
                        break;
                /* Read, then write: the pattern a deferred transaction would get SQLITE_BUSY on. */
                w->result = db_query(db, &res, "SELECT COALESCE(MAX(n), 0) FROM counter", 0, NULL);
                if (w->result >= 0)
                        w->result = db_queryv(db, NULL, "INSERT INTO counter (n) VALUES (?)",
                                              db_int(buf, db_result_get_int64(res, 0, 0) + 1));
                if (w->result >= 0)
                        w->result = db_commit(db);
                if (w->result < 0) {
                        w->error = strdup(db_last_error(db));
                        (void) db_rollback(db);
                }
        }
        db_close(db);
        return NULL;
}

START_TEST(test_sqlite_concurrent_writers) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        Worker w[2] = {};
        pthread_t t[ELEMENTSOF(w)];

        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE counter (n INTEGER PRIMARY KEY)"), 0);

        for (size_t i = 0; i < ELEMENTSOF(w); i++)
                ck_assert_int_eq(pthread_create(t + i, NULL, counter_thread, w + i), 0);
        for (size_t i = 0; i < ELEMENTSOF(w); i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_msg(w[i].result >= 0, "writer failed: %s", w[i].error);
                free(w[i].error);
        }
        ck_assert_int_eq(count_rows(db, "counter"), 100);
}
END_TEST

/* Holds a write transaction for longer than SQLite's busy handler waits (5 s). */
static void *long_writer_thread(void *userdata) {
        Worker *w = userdata;
        Db *db = open_test_db(BACKEND_SQLITE);

        w->result = db_begin(db);
        if (w->result >= 0)
                w->result = db_queryv(db, NULL, "INSERT INTO counter (n) VALUES (?)", "1");
        __atomic_store_n(&w->started, true, __ATOMIC_RELEASE);
        usleep(5500 * 1000);
        if (w->result >= 0)
                w->result = db_commit(db);
        db_close(db);
        return NULL;
}

/* A write outside a transaction waits its turn behind another thread's transaction, however
 * long that runs, where SQLite's busy handler gave up after 5 s: "database is locked". */
START_TEST(test_sqlite_autocommit_write_waits_its_turn) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        Worker w = {};
        pthread_t t;

        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE counter (n INTEGER PRIMARY KEY)"), 0);
        ck_assert_int_eq(pthread_create(&t, NULL, long_writer_thread, &w), 0);
        while (!__atomic_load_n(&w.started, __ATOMIC_ACQUIRE))
                usleep(1000);

        ck_assert_msg(db_queryv(db, NULL, "INSERT INTO counter (n) VALUES (?)", "2") >= 0, "%s", db_last_error(db));
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_int_ge(w.result, 0);
        ck_assert_int_eq(count_rows(db, "counter"), 2);
}
END_TEST

/* --- group commit ------------------------------------------------------------------------ */

#define GROUP_THREADS 8
#define GROUP_ROUNDS 150

typedef struct Counter {
        int id;
        int result;
        char *error;
        int n_transactions;     /* committed transactions: each added one to the counter */
        int n_autocommits;      /* committed single inserts */
        int n_unseen;           /* committed rows another connection did not find right after */
} Counter;

static bool row_seen(Db *reader, const char *thread, const char *round) {
        _cleanup_(db_result_freep) DbResult *res = NULL;

        return db_queryv(reader, &res, "SELECT 1 FROM log WHERE thread = ? AND round = ?", thread, round) >= 0 &&
               db_result_rows(res) == 1;
}

/* One round: a transaction that reads and then raises the shared counter, one that does the
 * same and rolls back, or a single insert outside a transaction. */
static int counter_round(Db *db, const char *thread, const char *round, int kind) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char n[DB_INT_BUFSZ];
        int r;

        if (kind == 0)
                return db_queryv(db, NULL, "INSERT INTO log (thread, round) VALUES (?, ?)", thread, round);

        r = db_begin(db);
        if (r < 0)
                return r;
        r = db_query(db, &res, "SELECT n FROM counter WHERE id = 1", 0, NULL);
        if (r >= 0)
                r = db_queryv(db, NULL, "UPDATE counter SET n = ? WHERE id = 1",
                              db_int(n, db_result_get_int64(res, 0, 0) + 1));
        if (r >= 0)
                r = db_queryv(db, NULL, "INSERT INTO log (thread, round) VALUES (?, ?)", thread, round);
        if (r < 0 || kind == 1) {
                int k = db_rollback(db);

                return r < 0 ? r : k;
        }
        return db_commit(db);
}

static void *counter_group_thread(void *userdata) {
        Counter *c = userdata;
        Db *db = open_test_db(BACKEND_SQLITE), *reader = open_test_db(BACKEND_SQLITE);
        char thread[DB_INT_BUFSZ], round[DB_INT_BUFSZ];

        db_int(thread, c->id);
        for (int i = 0; i < GROUP_ROUNDS && c->result >= 0; i++) {
                int kind = (i + c->id) % 5;

                db_int(round, i);
                c->result = counter_round(db, thread, round, kind < 2 ? kind : 2);
                if (c->result < 0) {
                        c->error = strdup(db_last_error(db));
                        break;
                }
                if (kind == 0)
                        c->n_autocommits++;
                else if (kind >= 2)
                        c->n_transactions++;
                /* Committed means readable by everyone, now. */
                if (kind != 1 && !row_seen(reader, thread, round))
                        c->n_unseen++;
        }
        db_close(reader);
        db_close(db);
        return NULL;
}

/* Threads raising one counter in transactions that read it first, rolling some back, and
 * writing outside transactions: every committed change is there, and visible to another
 * connection the moment db_commit() returned; none of the rolled-back ones is. Transactions
 * are committed in groups, or the test would not tell anything about them. */
START_TEST(test_sqlite_group_commit_many_writers) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE);
        _cleanup_(db_result_freep) DbResult *res = NULL;
        Counter c[GROUP_THREADS] = {};
        pthread_t t[GROUP_THREADS];
        WriteGroupStats before, after;
        int n_transactions = 0, n_rows = 0;

        ck_assert_int_eq(db_exec_script(db,
                                        "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
                                        "INSERT INTO counter VALUES (1, 0);"
                                        "CREATE TABLE log (thread INTEGER, round INTEGER, PRIMARY KEY (thread, round))"),
                         0);
        write_group_stats(&before);

        for (int i = 0; i < GROUP_THREADS; i++) {
                c[i].id = i;
                ck_assert_int_eq(pthread_create(t + i, NULL, counter_group_thread, c + i), 0);
        }
        for (int i = 0; i < GROUP_THREADS; i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_msg(c[i].result >= 0, "writer %i failed: %s", i, c[i].error);
                ck_assert_int_eq(c[i].n_unseen, 0);
                n_transactions += c[i].n_transactions;
                n_rows += c[i].n_transactions + c[i].n_autocommits;
                free(c[i].error);
        }
        write_group_stats(&after);

        ck_assert_int_eq(db_query(db, &res, "SELECT n FROM counter WHERE id = 1", 0, NULL), 0);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), n_transactions);
        ck_assert_int_eq(count_rows(db, "log"), n_rows);
        res = db_result_free(res);
        ck_assert_int_eq(db_query(db, &res, "SELECT COUNT(*) FROM log WHERE (round + thread) % 5 = 1", 0, NULL), 0);
        ck_assert_int_eq(db_result_get_int64(res, 0, 0), 0);

        /* Every committed transaction and insert was released into a group; fewer COMMITs
         * ran. */
        ck_assert_int_eq(after.members - before.members, (uint64_t) n_rows);
        ck_assert_uint_lt(after.commits - before.commits, after.members - before.members);
}
END_TEST

/* A transaction run on a thread of its own once the test's transaction holds the turn. */
typedef struct Member {
        const char *writes[2];  /* the statements it runs, NULL for none */
        /* MEMBER_WRITES_ALONE runs its statements outside a transaction. */
        enum { MEMBER_COMMITS, MEMBER_ROLLS_BACK, MEMBER_CLOSES, MEMBER_WRITES_ALONE } end;
        int begin_result, write_results[2], end_result;
} Member;

static void *member_thread(void *userdata) {
        Member *m = userdata;
        Db *db = open_test_db(BACKEND_SQLITE);

        if (m->end != MEMBER_WRITES_ALONE)
                m->begin_result = db_begin(db);
        for (size_t i = 0; i < ELEMENTSOF(m->writes) && m->writes[i]; i++)
                m->write_results[i] = db_query(db, NULL, m->writes[i], 0, NULL);
        if (m->end == MEMBER_COMMITS)
                m->end_result = db_commit(db);
        else if (m->end == MEMBER_ROLLS_BACK)
                m->end_result = db_rollback(db);
        db_close(db);
        return NULL;
}

/* Begins in db and inserts k, starts the member's thread and waits until it queues for the
 * turn, then commits: the transaction is handed over to the member rather than committed,
 * and db_commit() returns once the member ended the group. Returns db_commit()'s result. */
static int commit_with_member(Db *db, const char *k, Member *m, WriteGroupStats *ret_delta) {
        WriteGroupStats before, now;
        pthread_t t;
        int r;

        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO t (k) VALUES (?)", k), 0);
        write_group_stats(&before);
        ck_assert_int_eq(pthread_create(&t, NULL, member_thread, m), 0);
        for (int i = 0; i < 5000; i++) {
                write_group_stats(&now);
                if (now.waiting > 0)
                        break;
                usleep(1000);
        }
        ck_assert_uint_gt(now.waiting, 0);

        r = db_commit(db);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        write_group_stats(&now);
        *ret_delta = (WriteGroupStats) {
                .commits = now.commits - before.commits,
                .members = now.members - before.members,
        };
        return r;
}

static bool key_exists(Db *db, const char *k) {
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_queryv(db, &res, "SELECT 1 FROM t WHERE k = ?", k), 0);
        return db_result_rows(res) > 0;
}

/* Two transactions, one COMMIT; one of them rolling back or going away with its Db takes
 * only its own writes along. */
START_TEST(test_sqlite_group_commit_members) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE), *other = open_test_db(BACKEND_SQLITE);
        WriteGroupStats delta;
        Member commits = {
                .writes = { "INSERT INTO t (k) VALUES (2)" },
                .end = MEMBER_COMMITS,
        }, rolls_back = {
                .writes = { "INSERT INTO t (k) VALUES (4)" },
                .end = MEMBER_ROLLS_BACK,
        }, closes = {
                .writes = { "INSERT INTO t (k) VALUES (6)" },
                .end = MEMBER_CLOSES,
        }, writes_alone = {
                .writes = { "INSERT INTO t (k) VALUES (9)" },
                .end = MEMBER_WRITES_ALONE,
        };

        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE t (k INTEGER PRIMARY KEY)"), 0);

        ck_assert_int_eq(commit_with_member(db, "1", &commits, &delta), 0);
        ck_assert_int_eq(commits.write_results[0], 0);
        ck_assert_int_eq(commits.end_result, 0);
        ck_assert_uint_eq(delta.members, 2);
        ck_assert_uint_eq(delta.commits, 1);
        ck_assert(key_exists(other, "1") && key_exists(other, "2"));

        ck_assert_int_eq(commit_with_member(db, "3", &rolls_back, &delta), 0);
        ck_assert_int_eq(rolls_back.end_result, 0);
        ck_assert_uint_eq(delta.commits, 1);
        ck_assert(key_exists(other, "3") && !key_exists(other, "4"));

        ck_assert_int_eq(commit_with_member(db, "5", &closes, &delta), 0);
        ck_assert_uint_eq(delta.commits, 1);
        ck_assert(key_exists(other, "5") && !key_exists(other, "6"));

        ck_assert_int_eq(commit_with_member(db, "8", &writes_alone, &delta), 0);
        ck_assert_int_eq(writes_alone.write_results[0], 0);
        ck_assert_uint_eq(delta.members, 2);
        ck_assert_uint_eq(delta.commits, 1);
        ck_assert(key_exists(other, "8") && key_exists(other, "9"));

        /* A transaction in a transaction is refused; the outer one goes on. */
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO t (k) VALUES (?)", "7"), 0);
        ck_assert_int_eq(db_begin(db), -EIO);
        ck_assert_int_eq(db_commit(db), 0);
        ck_assert(key_exists(other, "7"));
        ck_assert_int_eq(db_commit(db), -EIO);
}
END_TEST

/* When SQLite rolls the whole transaction back on a member's error, the members waiting for
 * the group's COMMIT get an error, not success; the connection goes on working. */
START_TEST(test_sqlite_group_commit_failure) {
        _cleanup_(db_closep) Db *db = open_test_db(BACKEND_SQLITE), *other = open_test_db(BACKEND_SQLITE);
        WriteGroupStats delta;
        Member fails = {
                /* ON CONFLICT ROLLBACK ends the transaction, like a full disk does. */
                .writes = { "INSERT OR ROLLBACK INTO t (k) VALUES (0)", "INSERT INTO t (k) VALUES (2)" },
                .end = MEMBER_ROLLS_BACK,
        }, commits_anyway = {
                .writes = { "INSERT OR ROLLBACK INTO t (k) VALUES (0)" },
                .end = MEMBER_COMMITS,
        }, fills_the_disk = {
                /* The file may not grow (the limit is the write connection's). */
                .writes = { "PRAGMA max_page_count = 1", "INSERT INTO t (k, pad) VALUES (6, randomblob(100000))" },
                .end = MEMBER_ROLLS_BACK,
        };

        ck_assert_int_eq(db_exec_script(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, pad BLOB); INSERT INTO t (k) VALUES (0)"),
                         0);

        ck_assert_int_eq(commit_with_member(db, "1", &fails, &delta), -EIO);
        ck_assert_int_eq(fails.write_results[0], -EEXIST);
        /* Nothing runs outside the transaction that was. */
        ck_assert_int_eq(fails.write_results[1], -EIO);
        ck_assert_int_eq(fails.end_result, 0);
        ck_assert_uint_eq(delta.commits, 0);
        ck_assert(!key_exists(other, "1") && !key_exists(other, "2"));

        ck_assert_int_eq(commit_with_member(db, "3", &commits_anyway, &delta), -EIO);
        ck_assert_int_eq(commits_anyway.end_result, -EIO);
        ck_assert(!key_exists(other, "3"));

        ck_assert_int_eq(commit_with_member(db, "5", &fills_the_disk, &delta), -EIO);
        ck_assert_int_eq(fills_the_disk.write_results[1], -EIO);
        ck_assert_ptr_nonnull(strstr(db_last_error(db), "full"));
        ck_assert(!key_exists(other, "5") && !key_exists(other, "6"));
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_exec_script(db, "PRAGMA max_page_count = 1073741823"), 0);
        ck_assert_int_eq(db_commit(db), 0);

        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "INSERT INTO t (k) VALUES (?)", "4"), 0);
        ck_assert_int_eq(db_commit(db), 0);
        ck_assert(key_exists(other, "4"));
}
END_TEST

static Suite *db_suite(void) {
        int n_backends = pg_url ? 2 : 1;
        Suite *s = suite_create("db");
        TCase *tc;

        tc = tcase_create("sqlite");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_sqlite_setup);
        tcase_add_test(tc, test_sqlite_memory_and_relative);
        tcase_add_test(tc, test_migration_breaking_foreign_keys);
        tcase_add_test(tc, test_migration_rebuilding_a_parent_table);
        tcase_add_test(tc, test_sqlite_concurrent_writers);
        tcase_add_test(tc, test_sqlite_checkpoints);
        tcase_add_test(tc, test_sqlite_autocommit_write_waits_its_turn);
        tcase_add_test(tc, test_sqlite_group_commit_many_writers);
        tcase_add_test(tc, test_sqlite_group_commit_members);
        tcase_add_test(tc, test_sqlite_group_commit_failure);
        suite_add_tcase(s, tc);

        /* _i picks the backend: SQLite always, PostgreSQL when PIPELIT_TEST_PG_URL is set. */
        tc = tcase_create("backends");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 30);
        tcase_add_loop_test(tc, test_constraints, 0, n_backends);
        tcase_add_loop_test(tc, test_nulls_and_columns, 0, n_backends);
        tcase_add_loop_test(tc, test_booleans, 0, n_backends);
        tcase_add_loop_test(tc, test_bool_text_forms, 0, n_backends);
        tcase_add_loop_test(tc, test_int64_and_double, 0, n_backends);
        tcase_add_loop_test(tc, test_transactions, 0, n_backends);
        tcase_add_loop_test(tc, test_placeholders, 0, n_backends);
        tcase_add_loop_test(tc, test_statement_cache, 0, n_backends);
        tcase_add_loop_test(tc, test_exec_script_error, 0, n_backends);
        tcase_add_loop_test(tc, test_migrate_once, 0, n_backends);
        tcase_add_loop_test(tc, test_real_schema, 0, n_backends);
        tcase_add_loop_test(tc, test_newer_schema_refused, 0, n_backends);
        tcase_add_loop_test(tc, test_failing_migration, 0, n_backends);
        tcase_add_loop_test(tc, test_concurrent_migrate, 0, n_backends);
        if (pg_url)
                tcase_add_test(tc, test_pg_commit_after_failure);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int n_failed;

        run_pid = getpid();
        pg_url = getenv("PIPELIT_TEST_PG_URL");
        if (isempty(pg_url))
                pg_url = NULL;

        if (!mkdtemp(basedir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }

        sr = srunner_create(db_suite());
        srunner_run_all(sr, CK_NORMAL);
        n_failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        nftw(basedir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        remove_run_schemas();

        return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
