/* The SQLite backend: a connection per Db for its reads, used by one thread at a time, in
 * WAL mode so readers never wait for a writer; write transactions run on one connection
 * per database file that the process's Db objects share, one after the other, and commit
 * in groups (sqlite-group-commit.h). */
#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/db-internal.h"
#include "store/sqlite-checkpointer.h"
#include "store/sqlite-group-commit.h"

/* The daemon runs a few dozen distinct statements over and over; preparing each once per
 * connection saves most of the cost of a small query. */
#define STATEMENT_CACHE_SIZE 64
#define BUSY_TIMEOUT_MSEC 5000

typedef struct CachedStatement {
        uint64_t hash;
        uint64_t last_used;
        char *sql;
        /* Where the caller's text was last time: callers pass string literals, so the
         * same address usually means the same statement, found without hashing. */
        const char *seen_at;
        sqlite3_stmt *stmt;
} CachedStatement;

/* A connection and the statements prepared on it. */
typedef struct SqliteConn {
        sqlite3 *handle;
        CachedStatement cache[STATEMENT_CACHE_SIZE];
        size_t n_cached;
        uint64_t clock;
} SqliteConn;

/* The write connection of one database file. Write transactions take turns on it anyway
 * (sqlite-group-commit.h); on a connection of their own, each found its page cache stale
 * after any other thread's commit and read its pages back from the WAL, and took the WAL's
 * shared-memory locks anew. On the connection that made the last writes, the pages are
 * still there. */
typedef struct SharedWriter SharedWriter;
struct SharedWriter {
        char *path;
        unsigned n_ref;         /* under writers_lock */
        SqliteConn conn;        /* opened by the first transaction; used with the turn */
        WriteGroup *group;      /* created with conn */
        Checkpointer *checkpointer;     /* started with conn; NULL: SQLite checkpoints on commit */
        SharedWriter *next;
};

typedef enum Transaction {
        TRANSACTION_NONE,
        /* On the Db's own connection: ":memory:", or the thread writes on another Db
         * already and has the turn (see sqlite_begin()). */
        TRANSACTION_OWN,
        /* A member of a group on the shared writer's connection, with the turn. */
        TRANSACTION_GROUP,
} Transaction;

typedef struct SqliteDb {
        SqliteConn own;         /* reads outside transactions */
        SqliteConn *conn;       /* what queries run on: own, or the writer's in a transaction */
        SharedWriter *writer;   /* NULL for ":memory:", which is a database per connection */
        char *path;
        /* The database keeps its text as UTF-8 (SQLite's default, and all the daemon
         * creates), so stored text can be read as is. */
        bool utf8;
        /* Kept here: on the shared connection, SQLite's autocommit flag tells whether the
         * group is open, not whether this Db is in it. */
        Transaction transaction;
} SqliteDb;

static pthread_mutex_t writers_lock = PTHREAD_MUTEX_INITIALIZER;
static SharedWriter *writers;

static SqliteDb *sqlite_db(Db *db) {
        return db->backend_data;
}

static int sqlite_errno(int rc) {
        int r;

        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                r = -EEXIST;
                break;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                r = -ENOLINK;
                break;
        default:
                switch (rc & 0xff) {
                case SQLITE_BUSY:
                case SQLITE_LOCKED:
                        r = -EBUSY;
                        break;
                case SQLITE_NOMEM:
                        r = -ENOMEM;
                        break;
                default:
                        r = -EIO;
                }
        }
        return r;
}

/* Turns a failed SQLite call into negative errno and remembers SQLite's message. */
static int sqlite_error(Db *db, int rc) {
        return db_set_error(db, sqlite_errno(rc), "%s", sqlite3_errmsg(sqlite_db(db)->conn->handle));
}

static uint64_t sql_hash(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(1099511628211);
        }
        return h;
}

static bool only_space_or_comments(const char *s) {
        for (;;) {
                s += strspn(s, " \t\r\n;");
                if (s[0] == '-' && s[1] == '-')
                        s += strcspn(s, "\n");
                else
                        return *s == 0;
        }
}

static int statement_prepare(Db *db, const char *sql, sqlite3_stmt **ret) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        int rc;

        rc = sqlite3_prepare_v3(sqlite_db(db)->conn->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
        if (rc != SQLITE_OK)
                return sqlite_error(db, rc);
        if (!stmt)
                return db_set_error(db, -EINVAL, "Statement is empty: %s", sql);
        if (tail && !only_space_or_comments(tail)) {
                sqlite3_finalize(stmt);
                return db_set_error(db, -EINVAL, "db_query() runs one statement; use db_exec_script() for several: %s", sql);
        }

        *ret = stmt;
        return 0;
}

/* Finds the prepared statement for sql, preparing it and evicting the least recently used
 * one when it is new. The statement stays owned by the cache. */
static int statement_get(Db *db, const char *sql, sqlite3_stmt **ret) {
        SqliteConn *s = sqlite_db(db)->conn;
        CachedStatement *slot;
        sqlite3_stmt *stmt = NULL;
        uint64_t hash;
        char *copy;
        int r;

        /* The address only picks the candidate; the text still has to match. */
        for (size_t i = 0; i < s->n_cached; i++) {
                CachedStatement *c = s->cache + i;

                if (c->seen_at == sql && streq(c->sql, sql)) {
                        c->last_used = ++s->clock;
                        *ret = c->stmt;
                        return 0;
                }
        }

        hash = sql_hash(sql);
        for (size_t i = 0; i < s->n_cached; i++) {
                CachedStatement *c = s->cache + i;

                if (c->hash == hash && streq(c->sql, sql)) {
                        c->last_used = ++s->clock;
                        c->seen_at = sql;
                        *ret = c->stmt;
                        return 0;
                }
        }

        r = statement_prepare(db, sql, &stmt);
        if (r < 0)
                return r;

        copy = strdup(sql);
        if (!copy) {
                sqlite3_finalize(stmt);
                return db_set_error(db, -ENOMEM, "Out of memory");
        }

        if (s->n_cached < STATEMENT_CACHE_SIZE)
                slot = s->cache + s->n_cached++;
        else {
                slot = s->cache;
                for (size_t i = 1; i < s->n_cached; i++)
                        if (s->cache[i].last_used < slot->last_used)
                                slot = s->cache + i;
                sqlite3_finalize(slot->stmt);
                free(slot->sql);
        }

        *slot = (CachedStatement) {
                .hash = hash,
                .last_used = ++s->clock,
                .sql = copy,
                .seen_at = sql,
                .stmt = stmt,
        };
        *ret = stmt;
        return 0;
}

static int result_new_for(sqlite3_stmt *stmt, DbResult **ret) {
        _cleanup_(db_result_freep) DbResult *result = NULL;
        int n = sqlite3_column_count(stmt);

        result = db_result_new(n);
        if (!result)
                return -ENOMEM;

        for (int i = 0; i < n; i++)
                if (db_result_set_column_name(result, i, sqlite3_column_name(stmt, i)) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(result);
        return 0;
}

/* Decimal text of v at the end of buf; returns where it starts. */
static char *int64_text(char buf[static 24], int64_t v) {
        /* Negating in unsigned arithmetic keeps INT64_MIN right. */
        uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
        char *p = buf + 24;

        do {
                *--p = (char) ('0' + u % 10);
                u /= 10;
        } while (u > 0);
        if (v < 0)
                *--p = '-';
        return p;
}

/* Results this wide are read onto the stack in one go; wider ones cell by cell. */
#define ROW_COLUMNS_MAX 64

/* Reads one cell as text: values[i] and lengths[i], NULL for SQL NULL. ints[] has room for
 * the text of an integer. */
static int column_read(sqlite3_stmt *stmt, int i, bool utf8, char ints[static 24],
                       const char **ret_value, size_t *ret_length) {
        /* The value_* readers skip the per-call bookkeeping of the column_* ones. SQLite
         * calls the value "unprotected", which only matters when another thread shares the
         * connection; ours never does (SQLITE_OPEN_NOMUTEX). */
        sqlite3_value *v = sqlite3_column_value(stmt, i);
        const char *text;

        switch (sqlite3_value_type(v)) {
        case SQLITE_NULL:
                *ret_value = NULL;
                *ret_length = 0;
                return 0;
        case SQLITE_INTEGER:
                /* The same text SQLite would give, without it converting the value in place
                 * (an allocation) first. */
                text = int64_text(ints, sqlite3_value_int64(v));
                *ret_value = text;
                *ret_length = (size_t) (ints + 24 - text);
                return 0;
        case SQLITE_TEXT:
                if (!utf8)
                        break;
                /* The text as stored, without the copy SQLite makes to add a NUL: the
                 * result adds its own. */
                *ret_value = sqlite3_value_blob(v) ?: "";
                *ret_length = (size_t) sqlite3_value_bytes(v);
                return 0;
        }

        /* Reals (in SQLite's own format), blobs, and text of UTF-16 databases. */
        text = (const char *) sqlite3_value_text(v);
        if (!text)
                return -ENOMEM;
        *ret_value = text;
        *ret_length = (size_t) sqlite3_value_bytes(v);
        return 0;
}

static int result_add_row(DbResult *result, sqlite3_stmt *stmt, bool utf8) {
        const char *values[ROW_COLUMNS_MAX];
        size_t lengths[ROW_COLUMNS_MAX];
        char ints[ROW_COLUMNS_MAX][24];
        int n = sqlite3_column_count(stmt);

        if (n > ROW_COLUMNS_MAX) {
                if (db_result_add_row(result) < 0)
                        return -ENOMEM;
                for (int i = 0; i < n; i++)
                        if (column_read(stmt, i, utf8, ints[0], values, lengths) < 0 ||
                            db_result_set_cell(result, i, values[0], lengths[0]) < 0)
                                return -ENOMEM;
                return 0;
        }

        /* Every cell first, then one copy into the result. */
        for (int i = 0; i < n; i++)
                if (column_read(stmt, i, utf8, ints[i], values + i, lengths + i) < 0)
                        return -ENOMEM;
        return db_result_add_row_cells(result, values, lengths);
}

static int run_statement(Db *db, sqlite3_stmt *stmt, DbResult **ret, size_t n_params, const char *const *params) {
        _cleanup_(db_result_freep) DbResult *result = NULL;
        int rc, r;

        if ((size_t) sqlite3_bind_parameter_count(stmt) != n_params)
                return db_set_error(db, -EINVAL, "Statement has %i parameters but %zu were given: %s",
                                    sqlite3_bind_parameter_count(stmt), n_params, sqlite3_sql(stmt));

        for (size_t i = 0; i < n_params; i++) {
                if (params[i])
                        rc = sqlite3_bind_text(stmt, (int) i + 1, params[i], -1, SQLITE_STATIC);
                else
                        rc = sqlite3_bind_null(stmt, (int) i + 1);
                if (rc != SQLITE_OK)
                        return sqlite_error(db, rc);
        }

        if (ret) {
                r = result_new_for(stmt, &result);
                if (r < 0)
                        return db_set_error(db, r, "Out of memory");
        }

        for (;;) {
                rc = sqlite3_step(stmt);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW)
                        return sqlite_error(db, rc);

                if (result) {
                        r = result_add_row(result, stmt, sqlite_db(db)->utf8);
                        if (r < 0)
                                return db_set_error(db, r, "Out of memory");
                }
        }

        if (ret)
                *ret = TAKE_PTR(result);
        return 0;
}

static int run_prepared(Db *db, sqlite3_stmt *stmt, DbResult **ret, size_t n_params, const char *const *params) {
        int r = run_statement(db, stmt, ret, n_params, params);

        /* Ends the read snapshot and drops the pointers to params; the error text was
         * taken above, before the reset. */
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return r;
}

/* Runs sql on the connection the Db uses now. */
static int query_here(Db *db, DbResult **ret, const char *sql, size_t n_params, const char *const *params) {
        sqlite3_stmt *stmt;
        int r;

        r = statement_get(db, sql, &stmt);
        if (r < 0)
                return r;
        return run_prepared(db, stmt, ret, n_params, params);
}

/* After SQLite rolled a group back (a full disk, say), a member's statements would run
 * outside any transaction, each committed at once. */
static int check_group_alive(Db *db) {
        SqliteDb *s = sqlite_db(db);

        if (s->transaction == TRANSACTION_GROUP && sqlite3_get_autocommit(s->conn->handle))
                return db_set_error(db, -EIO, "The transaction was rolled back after an error; it can only end now");
        return 0;
}

static int writer_open(Db *db);

/* Outside a transaction, a script is a connection's setting (PRAGMA foreign_keys, which
 * SQLite ignores inside a transaction) or writes of its own: either way it belongs on the
 * shared write connection, where transactions run, outside the group. */
static int exec_script_on_writer(Db *db, const char *sql) {
        SqliteDb *s = sqlite_db(db);
        int r, rc;

        r = writer_open(db);
        if (r < 0) {
                write_turn_give();
                return r;
        }
        write_turn_close_group();
        rc = sqlite3_exec(s->writer->conn.handle, sql, NULL, NULL, NULL);
        r = rc == SQLITE_OK ? 0 : db_set_error(db, sqlite_errno(rc), "%s", sqlite3_errmsg(s->writer->conn.handle));
        write_turn_give();
        return r;
}

static int sqlite_exec_script(Db *db, const char *sql) {
        SqliteDb *s = sqlite_db(db);
        int rc, r;

        /* EDEADLK: this thread writes on another Db already; as in sqlite_begin(). */
        if (s->transaction == TRANSACTION_NONE && s->writer && write_turn_take() == 0)
                return exec_script_on_writer(db, sql);

        r = check_group_alive(db);
        if (r < 0)
                return r;
        rc = sqlite3_exec(s->conn->handle, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sqlite_error(db, rc);
        return 0;
}

/* Under a steady stream of commits, the checkpointer may never catch up with the end of the
 * WAL, and SQLite starts the WAL over only once all of it was copied. Past this many frames
 * the commit finishes the checkpoint itself, as SQLite would have done at 1,000: little is
 * left to copy by then, and no commit can come in between. */
#define WAL_FRAMES_CHECKPOINT_HERE 4000

static int writer_wal_hook(void *userdata, sqlite3 *handle, const char *name, int n_frames) {
        SharedWriter *w = userdata;

        if (n_frames >= WAL_FRAMES_CHECKPOINT_HERE)
                (void) sqlite3_wal_checkpoint_v2(handle, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        else
                checkpointer_poke(w->checkpointer, n_frames);
        return SQLITE_OK;
}

static int conn_open(Db *db, const char *path, SqliteConn *c);
static void conn_close(SqliteConn *c);

/* With the turn: opens the shared write connection on first use. */
static int writer_open(Db *db) {
        SqliteDb *s = sqlite_db(db);
        SharedWriter *w = s->writer;
        int r, rc;

        if (w->conn.handle)
                return 0;
        r = conn_open(db, s->path, &w->conn);
        if (r < 0)
                return r;
        rc = write_group_new(w->conn.handle, &w->group);
        if (rc != SQLITE_OK) {
                r = db_set_error(db, sqlite_errno(rc), "Cannot set up SQLite database '%s': %s",
                                 s->path, sqlite3_errmsg(w->conn.handle));
                conn_close(&w->conn);
                return r;
        }
        /* Replaces SQLite's checkpoints on commit, unless the thread cannot start. */
        if (checkpointer_start(s->path, &w->checkpointer) >= 0)
                sqlite3_wal_hook(w->conn.handle, writer_wal_hook, w);
        return 0;
}

/* With the turn (write_turn_take()): makes the Db a member of the group on the shared
 * connection, where its queries run from now on. Gives the turn up on failure. */
static int group_join(Db *db) {
        SqliteDb *s = sqlite_db(db);
        char error[256];
        int r, rc;

        r = writer_open(db);
        if (r >= 0) {
                rc = write_group_join(s->writer->group, error, sizeof error);
                if (rc != SQLITE_OK)
                        r = db_set_error(db, sqlite_errno(rc), "%s", error);
        }
        if (r < 0) {
                write_turn_give();
                return r;
        }
        s->transaction = TRANSACTION_GROUP;
        s->conn = &s->writer->conn;
        return 0;
}

/* Ends the membership and gives the turn up (write_group_leave()). */
static int group_leave(Db *db, bool commit, bool may_hand_over) {
        SqliteDb *s = sqlite_db(db);
        char error[256];
        int rc;

        s->transaction = TRANSACTION_NONE;
        s->conn = &s->own;
        rc = write_group_leave(s->writer->group, commit, may_hand_over, error, sizeof error);
        if (rc != SQLITE_OK)
                return db_set_error(db, sqlite_errno(rc), "%s", error);
        return 0;
}

static int sqlite_begin(Db *db) {
        SqliteDb *s = sqlite_db(db);
        int r;

        if (s->transaction != TRANSACTION_NONE)
                return db_set_error(db, -EIO, "cannot start a transaction within a transaction");

        /* EDEADLK: this thread writes on another Db already; that transaction would wait
         * for itself, so this one goes to SQLite's busy handler on the Db's own connection,
         * like a foreign process. */
        if (s->writer && write_turn_take() == 0)
                return group_join(db);

        r = query_here(db, NULL, "BEGIN IMMEDIATE", 0, NULL);
        if (r >= 0)
                s->transaction = TRANSACTION_OWN;
        return r;
}

/* A write outside a transaction is a transaction of its own: it queues for the write
 * connection like the others, where it used to wait in SQLite's busy handler (which sleeps
 * 1, 2, 5, 10… ms between looks) for the lock that connection holds. */
static int sqlite_query(Db *db, DbResult **ret, const char *sql, size_t n_params, const char *const *params) {
        _cleanup_(db_result_freep) DbResult *result = NULL;
        SqliteDb *s = sqlite_db(db);
        sqlite3_stmt *stmt;
        int r;

        if (s->transaction != TRANSACTION_NONE || !s->writer) {
                r = check_group_alive(db);
                if (r < 0)
                        return r;
                return query_here(db, ret, sql, n_params, params);
        }
        r = statement_get(db, sql, &stmt);
        if (r < 0)
                return r;
        /* EDEADLK: this thread writes on another Db already; as in sqlite_begin(). */
        if (sqlite3_stmt_readonly(stmt) || write_turn_take() != 0)
                return run_prepared(db, stmt, ret, n_params, params);

        r = group_join(db);
        if (r < 0)
                return r;
        r = query_here(db, ret ? &result : NULL, sql, n_params, params);
        if (r < 0) {
                /* The statement's error is the one to tell. */
                _cleanup_free_ char *error = strdup(db_last_error(db));

                (void) group_leave(db, false, true);
                return error ? db_set_error(db, r, "%s", error) : r;
        }
        /* What it returned (RETURNING) is only true once committed. */
        r = group_leave(db, true, true);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(result);
        return 0;
}

static int sqlite_commit(Db *db) {
        SqliteDb *s = sqlite_db(db);
        int r;

        switch (s->transaction) {
        case TRANSACTION_GROUP:
                return group_leave(db, true, true);
        case TRANSACTION_OWN:
                r = query_here(db, NULL, "COMMIT", 0, NULL);
                /* One that failed may still be open, for db_rollback(). */
                if (sqlite3_get_autocommit(s->own.handle))
                        s->transaction = TRANSACTION_NONE;
                return r;
        default:
                return db_set_error(db, -EIO, "cannot commit - no transaction is active");
        }
}

static int sqlite_rollback(Db *db) {
        SqliteDb *s = sqlite_db(db);
        int r = 0;

        switch (s->transaction) {
        case TRANSACTION_GROUP:
                return group_leave(db, false, true);
        case TRANSACTION_OWN:
                /* Some errors (a full disk, say) already rolled the transaction back. */
                if (!sqlite3_get_autocommit(s->own.handle))
                        r = query_here(db, NULL, "ROLLBACK", 0, NULL);
                s->transaction = TRANSACTION_NONE;
                return r;
        default:
                return 0;
        }
}

static int check_folder(Db *db, const char *path) {
        _cleanup_free_ char *copy = NULL;
        const char *folder;
        struct stat st;

        copy = strdup(path);
        if (!copy)
                return db_set_error(db, -ENOMEM, "Out of memory");
        folder = dirname(copy);

        if (stat(folder, &st) < 0)
                return db_set_error(db, -errno, "Database folder '%s' of '%s' cannot be used: %s",
                                    folder, path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return db_set_error(db, -ENOTDIR, "Database folder '%s' of '%s' is not a folder", folder, path);
        return 0;
}

static void conn_close(SqliteConn *c) {
        for (size_t i = 0; i < c->n_cached; i++) {
                sqlite3_finalize(c->cache[i].stmt);
                free(c->cache[i].sql);
        }
        sqlite3_close(c->handle);
        *c = (SqliteConn) {};
}

/* The shared writer of path, created unless another Db of the process has it. */
static SharedWriter *writer_ref(const char *path) {
        SharedWriter *w;

        pthread_mutex_lock(&writers_lock);
        for (w = writers; w; w = w->next)
                if (streq(w->path, path))
                        break;
        if (!w) {
                w = calloc(1, sizeof(SharedWriter));
                if (w && !(w->path = strdup(path))) {
                        free(w);
                        w = NULL;
                }
                if (w) {
                        w->next = writers;
                        writers = w;
                }
        }
        if (w)
                w->n_ref++;
        pthread_mutex_unlock(&writers_lock);
        return w;
}

/* The last Db of the file closes the write connection: none can be in a transaction. */
static void writer_unref(SharedWriter *w) {
        bool last;

        if (!w)
                return;
        pthread_mutex_lock(&writers_lock);
        last = --w->n_ref == 0;
        if (last)
                for (SharedWriter **p = &writers; *p; p = &(*p)->next)
                        if (*p == w) {
                                *p = w->next;
                                break;
                        }
        pthread_mutex_unlock(&writers_lock);
        if (!last)
                return;
        checkpointer_stop(w->checkpointer);
        write_group_free(w->group);
        conn_close(&w->conn);
        free(w->path);
        free(w);
}

static void sqlite_close(Db *db) {
        SqliteDb *s = sqlite_db(db);

        if (!s)
                return;

        /* Its writes go; the group's other members commit now, not after the writer
         * may be gone with this Db. */
        if (s->transaction == TRANSACTION_GROUP)
                (void) group_leave(db, false, false);
        conn_close(&s->own);
        writer_unref(s->writer);
        free(s->path);
        free(s);
        db->backend_data = NULL;
}

static int encoding_is_utf8(void *userdata, int n_columns, char **values, char **names) {
        bool *ret = userdata;

        *ret = n_columns == 1 && values[0] && streq(values[0], "UTF-8");
        return 0;
}

/* Opens and sets up a connection to path; errors are the Db's. */
static int conn_open(Db *db, const char *path, SqliteConn *c) {
        int r, rc;

        /* No mutex: a connection belongs to one thread at a time. */
        rc = sqlite3_open_v2(path, &c->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = db_set_error(db, rc == SQLITE_NOMEM ? -ENOMEM : -EIO, "Cannot open SQLite database '%s': %s",
                                 path, c->handle ? sqlite3_errmsg(c->handle) : sqlite3_errstr(rc));
                conn_close(c);
                return r;
        }

        sqlite3_extended_result_codes(c->handle, 1);
        sqlite3_busy_timeout(c->handle, BUSY_TIMEOUT_MSEC);

        rc = sqlite3_exec(c->handle,
                          "PRAGMA journal_mode=WAL;"
                          "PRAGMA foreign_keys=ON;"
                          "PRAGMA synchronous=NORMAL;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                r = db_set_error(db, rc == SQLITE_NOMEM ? -ENOMEM : -EIO, "Cannot set up SQLite database '%s': %s",
                                 path, sqlite3_errmsg(c->handle));
                conn_close(c);
                return r;
        }
        return 0;
}

static int sqlite_open(Db *db, const char *path) {
        _cleanup_free_ char *real = NULL;
        SqliteDb *s;
        int r, rc;

        /* NOMUTEX below relies on SQLite being built for threads at all. */
        if (sqlite3_threadsafe() == 0)
                return db_set_error(db, -EOPNOTSUPP, "The SQLite library was built without thread support");

        if (!streq(path, ":memory:")) {
                r = check_folder(db, path);
                if (r < 0)
                        return r;
        }

        s = calloc(1, sizeof(SqliteDb));
        if (!s)
                return db_set_error(db, -ENOMEM, "Out of memory");
        db->backend_data = s;
        s->conn = &s->own;

        r = conn_open(db, path, &s->own);
        if (r < 0) {
                sqlite_close(db);
                return r;
        }
        rc = sqlite3_exec(s->own.handle, "PRAGMA encoding", encoding_is_utf8, &s->utf8, NULL);
        if (rc != SQLITE_OK) {
                r = db_set_error(db, sqlite_error(db, rc), "Cannot set up SQLite database '%s': %s",
                                 path, sqlite3_errmsg(s->own.handle));
                sqlite_close(db);
                return r;
        }

        /* The same file under any name shares one writer. */
        if (!streq(path, ":memory:")) {
                real = realpath(path, NULL);
                s->path = strdup(real ?: path);
                s->writer = s->path ? writer_ref(s->path) : NULL;
                if (!s->writer) {
                        sqlite_close(db);
                        return db_set_error(db, -ENOMEM, "Out of memory");
                }
        }

        return 0;
}

const DbVTable db_sqlite_vtable = {
        .backend = DB_SQLITE,
        .open = sqlite_open,
        .close = sqlite_close,
        .query = sqlite_query,
        .exec_script = sqlite_exec_script,
        .begin = sqlite_begin,
        .commit = sqlite_commit,
        .rollback = sqlite_rollback,
};
