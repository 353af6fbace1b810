/* The PostgreSQL backend: one libpq connection per Db, text parameters and text results,
 * so the SQL and the callers stay the same as with SQLite. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "store/db-internal.h"

static PGconn *pg_conn(Db *db) {
        return db->backend_data;
}

static void notice_drop(void *userdata, const char *message) {
        /* NOTICEs ("relation already exists, skipping", …) are not errors, and library
         * code does not log: drop them instead of letting libpq print to stderr. */
}

/* libpq's messages end in a newline; ours do not. */
static char *trim_newlines(char *s) {
        size_t l = strlen(s);

        while (l > 0 && strchr("\r\n ", s[l - 1]))
                s[--l] = 0;
        return s;
}

static int set_connection_error(Db *db, int error, const char *context) {
        _cleanup_free_ char *m = strdup(PQerrorMessage(pg_conn(db)));

        return db_set_error(db, error, "%s%s", context, m ? trim_newlines(m) : "Out of memory");
}

/* Turns a failed result into negative errno and remembers the server's message. */
static int set_result_error(Db *db, const PGresult *res) {
        const char *state, *primary, *detail;
        int r = -EIO;

        if (!res)
                return set_connection_error(db, -EIO, "");

        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (streq_ptr(state, "23505"))
                r = -EEXIST;
        else if (streq_ptr(state, "23503"))
                r = -ENOLINK;
        else if (streq_ptr(state, "40001") || streq_ptr(state, "40P01") || streq_ptr(state, "55P03"))
                /* serialization failure, deadlock, lock not available: worth a retry */
                r = -EBUSY;

        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (!primary) {
                _cleanup_free_ char *m = strdup(PQresultErrorMessage(res));

                return db_set_error(db, r, "%s", m ? trim_newlines(m) : "Out of memory");
        }

        detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        if (detail)
                return db_set_error(db, r, "%s: %s", primary, detail);
        return db_set_error(db, r, "%s", primary);
}

/* After the server went away, the next statement reconnects rather than failing for
 * the rest of the daemon's life. A transaction open at the time is lost either way. */
static int ensure_connected(Db *db) {
        PGconn *conn = pg_conn(db);

        if (PQstatus(conn) == CONNECTION_OK)
                return 0;

        PQreset(conn);
        if (PQstatus(conn) != CONNECTION_OK)
                return set_connection_error(db, -EIO, "Cannot reconnect to PostgreSQL: ");
        return 0;
}

static bool result_ok(const PGresult *res) {
        ExecStatusType status = PQresultStatus(res);

        return res && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
}

static int result_copy(const PGresult *res, DbResult **ret) {
        _cleanup_(db_result_freep) DbResult *result = NULL;
        int n_columns = PQnfields(res), n_rows = PQntuples(res);

        result = db_result_new(n_columns);
        if (!result)
                return -ENOMEM;

        for (int c = 0; c < n_columns; c++)
                if (db_result_set_column_name(result, c, PQfname(res, c)) < 0)
                        return -ENOMEM;

        for (int row = 0; row < n_rows; row++) {
                if (db_result_add_row(result) < 0)
                        return -ENOMEM;

                for (int c = 0; c < n_columns; c++) {
                        if (PQgetisnull(res, row, c))
                                continue;
                        if (db_result_set_cell(result, c, PQgetvalue(res, row, c), PQgetlength(res, row, c)) < 0)
                                return -ENOMEM;
                }
        }

        *ret = TAKE_PTR(result);
        return 0;
}

static int pg_query(Db *db, DbResult **ret, const char *sql, size_t n_params, const char *const *params) {
        PGresult *res;
        int r;

        if (n_params > 65535)
                return db_set_error(db, -EINVAL, "Too many parameters (%zu) for PostgreSQL", n_params);

        r = ensure_connected(db);
        if (r < 0)
                return r;

        /* No parameter types: the server infers them from the statement, so "1" and "0"
         * work for BOOLEAN columns and digits for BIGINT ones. */
        res = PQexecParams(pg_conn(db), sql, (int) n_params, NULL, params, NULL, NULL, 0);
        if (!result_ok(res))
                r = set_result_error(db, res);
        else if (ret) {
                r = result_copy(res, ret);
                if (r < 0)
                        db_set_error(db, r, "Out of memory");
        }

        PQclear(res);
        return r;
}

/* Runs simple-protocol SQL (several statements allowed); ret_tag gets the command tag of
 * the last one. */
static int pg_exec(Db *db, const char *sql, char **ret_tag) {
        PGresult *res;
        int r;

        r = ensure_connected(db);
        if (r < 0)
                return r;

        res = PQexec(pg_conn(db), sql);
        if (!result_ok(res))
                r = set_result_error(db, res);
        else if (ret_tag) {
                *ret_tag = strdup(PQcmdStatus(res));
                if (!*ret_tag)
                        r = db_set_error(db, -ENOMEM, "Out of memory");
        }

        PQclear(res);
        return r;
}

static int pg_exec_script(Db *db, const char *sql) {
        return pg_exec(db, sql, NULL);
}

static int pg_begin(Db *db) {
        return pg_exec(db, "BEGIN", NULL);
}

static int pg_commit(Db *db) {
        _cleanup_free_ char *tag = NULL;
        int r;

        r = pg_exec(db, "COMMIT", &tag);
        if (r < 0)
                return r;

        /* COMMIT of a transaction in which a statement failed "succeeds" as a ROLLBACK. */
        if (streq(tag, "ROLLBACK"))
                return db_set_error(db, -EIO, "Transaction was rolled back because a statement in it failed");
        return 0;
}

static int pg_rollback(Db *db) {
        return pg_exec(db, "ROLLBACK", NULL);
}

static void pg_close(Db *db) {
        PQfinish(pg_conn(db));
        db->backend_data = NULL;
}

static int pg_open(Db *db, const char *url) {
        /* Later entries win: the URL's own settings override these defaults. */
        static const char *const keywords[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
        const char *const values[] = { "10", "pipelitd", url, NULL };
        PGconn *conn;
        int r;

        conn = PQconnectdbParams(keywords, values, /* expand_dbname= */ 1);
        if (!conn)
                return db_set_error(db, -ENOMEM, "Out of memory");
        db->backend_data = conn;

        if (PQstatus(conn) != CONNECTION_OK) {
                r = set_connection_error(db, -EIO, "Cannot connect to PostgreSQL: ");
                pg_close(db);
                return r;
        }

        PQsetNoticeProcessor(conn, notice_drop, NULL);
        return 0;
}

const DbVTable db_pg_vtable = {
        .backend = DB_POSTGRES,
        .open = pg_open,
        .close = pg_close,
        .query = pg_query,
        .exec_script = pg_exec_script,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
};
