/* The workflows' graph cache and the graph_version it trusts, against SQLite in a temporary
 * folder and, when PIPELIT_TEST_PG_URL names a database we may create schemas in, against
 * PostgreSQL: every change of a workflow's row, nodes or edges changes the version, and the
 * cache answers the graph as it is now, reading it only after a change. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json-util.h"
#include "engine/graph-cache.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/store-workflows.h"

enum { BACKEND_SQLITE, BACKEND_PG };

static char basedir[] = "/tmp/test-graph-cache-XXXXXX";
static char tmpdir[sizeof(basedir) + 8];
static const char *pg_url;
static char pg_schema[64];
static pid_t run_pid;
static int backend;
static char owner[DB_INT_BUFSZ];

/* A connection to this test's database: the same file or schema on every call. */
static Db *open_db(void) {
        _cleanup_free_ char *error = NULL;
        char url[256], sql[256];
        Db *db = NULL;

        if (backend == BACKEND_SQLITE)
                snprintf(url, sizeof url, "sqlite://%s/test.db", tmpdir);
        else
                snprintf(url, sizeof url, "%s", pg_url);
        ck_assert_msg(db_open(url, &db, &error) >= 0, "db_open(%s): %s", url, error);
        if (backend == BACKEND_PG) {
                snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s", pg_schema,
                         pg_schema);
                ck_assert_int_eq(db_exec_script(db, sql), 0);
        }
        return db;
}

/* A fresh database, migrated, with one user. */
static void setup_backend(int b) {
        static unsigned n_tests = 0;
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_free_ char *error = NULL;

        backend = b;
        snprintf(tmpdir, sizeof tmpdir, "%s/XXXXXX", basedir);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(pg_schema, sizeof pg_schema, "pipelit_test_%ld_%ld_%u", (long) run_pid, (long) getpid(),
                 ++n_tests);
        db = open_db();
        ck_assert_msg(db_migrate(db, &error) >= 0, "db_migrate: %s", error);
        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO users (username, password_hash, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?) RETURNING id", "alice", "hash", "t", "t"), 0);
        db_int(owner, db_result_get_int64(res, 0, 0));
}

static int64_t make_workflow(Db *db, const char *slug) {
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO workflows (owner_id, name, slug, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?, ?) RETURNING id", owner, slug, slug, "t", "t"), 0);
        return db_result_get_int64(res, 0, 0);
}

static void add_node(Db *db, int64_t workflow, const char *node_id, const char *type, const char *extra_config) {
        char wf[DB_INT_BUFSZ];

        ck_assert_int_eq(db_queryv(db, NULL,
                                   "INSERT INTO workflow_nodes (workflow_id, node_id, component_type, extra_config, "
                                   "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                                   db_int(wf, workflow), node_id, type, extra_config ?: "{}", "t", "t"), 0);
}

static int64_t add_edge(Db *db, int64_t workflow, const char *source, const char *target) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char wf[DB_INT_BUFSZ];

        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO workflow_edges (workflow_id, source_node_id, target_node_id, "
                                   "created_at) VALUES (?, ?, ?, ?) RETURNING id",
                                   db_int(wf, workflow), source, target, "t"), 0);
        return db_result_get_int64(res, 0, 0);
}

static void exec(Db *db, const char *sql, int64_t id) {
        char id_text[DB_INT_BUFSZ];

        ck_assert_msg(db_queryv(db, NULL, sql, db_int(id_text, id)) == 0, "%s: %s", sql, db_last_error(db));
}

static int64_t version_of(Db *db, int64_t workflow) {
        int64_t v = -1;

        ck_assert_int_eq(store_workflow_graph_version(db, workflow, &v), 0);
        return v;
}

/* The one integer sql answers, given the workflow's id as its one parameter. */
static int64_t query_int(Db *db, const char *sql, int64_t workflow) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char id_text[DB_INT_BUFSZ];

        ck_assert_int_eq(db_queryv(db, &res, sql, db_int(id_text, workflow)), 0);
        return db_result_get_int64(res, 0, 0);
}

/* The version after sql (with the workflow's id as its one parameter) differs from the one
 * before. */
#define ck_assert_bumps(db, w, sql, param)                                              \
        do {                                                                            \
                int64_t _before = version_of(db, w);                                   \
                exec(db, sql, param);                                                   \
                ck_assert_msg(version_of(db, w) != _before, "not seen: %s", sql);      \
        } while (0)

START_TEST(test_every_change_changes_the_version) {
        _cleanup_(db_closep) Db *db = NULL;
        int64_t w, other, edge, v, id;

        setup_backend(_i);
        db = open_db();
        w = make_workflow(db, "main");
        other = make_workflow(db, "other");

        v = version_of(db, w);
        ck_assert_int_eq(version_of(db, w), v);     /* reading changes nothing */
        add_node(db, w, "trig", "trigger_manual", NULL);
        ck_assert_int_ne(version_of(db, w), v);
        add_node(db, w, "a", "code", NULL);

        v = version_of(db, w);
        edge = add_edge(db, w, "trig", "a");
        ck_assert_int_ne(version_of(db, w), v);

        ck_assert_bumps(db, w,
                        "UPDATE workflow_nodes SET extra_config = '{\"x\":1}' WHERE workflow_id = ? AND node_id = 'a'",
                        w);
        ck_assert_bumps(db, w, "UPDATE workflow_nodes SET is_active = FALSE WHERE workflow_id = ? AND node_id = 'a'",
                        w);
        ck_assert_bumps(db, w, "UPDATE workflow_edges SET priority = 3 WHERE id = ?", edge);
        ck_assert_bumps(db, w, "DELETE FROM workflow_edges WHERE id = ?", edge);
        ck_assert_bumps(db, w, "UPDATE workflows SET is_active = FALSE WHERE id = ?", w);
        ck_assert_bumps(db, w, "UPDATE workflows SET name = 'renamed', max_execution_seconds = 5 WHERE id = ?", w);
        ck_assert_bumps(db, w, "UPDATE workflows SET updated_at = 'later' WHERE id = ?", w);
        ck_assert_bumps(db, w, "DELETE FROM workflow_nodes WHERE node_id = 'a' AND workflow_id = ?", w);

        /* Another workflow's changes leave this one's version alone; a workflow it refers to
         * going away changes it (its reference is cleared). */
        v = version_of(db, w);
        add_node(db, other, "x", "code", NULL);
        exec(db, "UPDATE workflows SET name = 'other renamed' WHERE id = ?", other);
        ck_assert_int_eq(version_of(db, w), v);
        {
                char w_text[DB_INT_BUFSZ], other_text[DB_INT_BUFSZ];

                ck_assert_int_eq(db_queryv(db, NULL, "UPDATE workflows SET error_handler_workflow_id = ? WHERE id = ?",
                                           db_int(other_text, other), db_int(w_text, w)), 0);
        }
        v = version_of(db, w);
        exec(db, "DELETE FROM workflows WHERE id = ?", other);
        ck_assert_int_ne(version_of(db, w), v);
        ck_assert_int_eq(store_workflow_graph_version(db, other, &v), -ENOENT);

        /* The counts keep counting alongside. */
        add_node(db, w, "b", "code", NULL);
        add_edge(db, w, "trig", "b");
        ck_assert_int_eq(query_int(db, "SELECT node_count FROM workflows WHERE id = ?", w), 2);
        ck_assert_int_eq(query_int(db, "SELECT edge_count FROM workflows WHERE id = ?", w), 1);

        ck_assert_int_eq(store_workflow_graph_version_by_slug(db, "main", &id, &v), 0);
        ck_assert_int_eq(id, w);
        ck_assert_int_eq(v, version_of(db, w));
        ck_assert_int_eq(store_workflow_graph_version_by_slug(db, "nope", &id, &v), -ENOENT);

        /* Deleting a workflow still takes its nodes and edges with it. */
        exec(db, "DELETE FROM workflows WHERE id = ?", w);
        ck_assert_int_eq(store_workflow_graph_version(db, w, &v), -ENOENT);
        ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM workflow_nodes WHERE workflow_id = ?", w), 0);
        ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM workflow_edges WHERE workflow_id = ?", w), 0);
}
END_TEST

static char *mfree(char *p) {
        free(p);
        return NULL;
}

/* extra_config.message of a node of the graph, or of the start's snapshot. */
static const char *start_message(const GraphStart *start, const char *node_id) {
        return json_get_string(json_object_get(json_object_get(json_object_get(start->nodes, node_id), "config"),
                                               "extra_config"),
                               "message", NULL);
}

static const char *node_message(const CachedGraph *g, const char *node_id) {
        json_t *node;
        size_t i;

        json_array_foreach(g->nodes, i, node)
                if (streq(json_get_string(node, "node_id", ""), node_id))
                        return json_get_string(json_object_get(json_object_get(node, "config"), "extra_config"),
                                               "message", NULL);
        return NULL;
}

START_TEST(test_the_cache_follows_changes) {
        _cleanup_(graph_cache_freep) GraphCache *c = NULL;
        _cleanup_(cached_graph_unrefp) CachedGraph *first = NULL, *again = NULL, *changed = NULL;
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_free_ char *error = NULL;
        const GraphStart *start, *start_again;
        int64_t w;

        setup_backend(_i);
        db = open_db();
        w = make_workflow(db, "flow");
        add_node(db, w, "trig", "trigger_manual", NULL);
        add_node(db, w, "say", "reply_chat", "{\"message\":\"one\"}");
        add_node(db, w, "lonely", "trigger_webhook", NULL);
        add_edge(db, w, "trig", "say");

        ck_assert_int_eq(graph_cache_new(8, &c), 0);
        ck_assert_int_eq(graph_cache_get(c, db, w, &first), 0);
        ck_assert_int_eq(first->workflow_id, w);
        ck_assert_str_eq(json_get_string(first->workflow, "slug", ""), "flow");
        ck_assert_ptr_null(json_object_get(first->workflow, "nodes"));
        ck_assert_uint_eq(json_array_size(first->nodes), 3);
        ck_assert_uint_eq(json_array_size(first->edges), 1);
        ck_assert_str_eq(node_message(first, "say"), "one");

        /* Unchanged: the same graph, and the same start. */
        ck_assert_int_eq(graph_cache_get(c, db, w, &again), 0);
        ck_assert_ptr_eq(first, again);
        ck_assert_int_eq(cached_graph_start(first, "trig", &start, NULL), 0);
        ck_assert_uint_eq(start->step.n_run, 1);
        ck_assert_str_eq(start->step.run[0], "say");
        ck_assert_str_eq(json_get_string(start->topology_json, "trigger_node_id", ""), "trig");
        ck_assert_str_eq(start_message(start, "say"), "one");
        ck_assert_str_eq(json_get_string(json_object_get(start->nodes, "say"), "component_type", ""), "reply_chat");
        ck_assert_ptr_null(json_object_get(start->nodes, "lonely"));
        ck_assert_int_eq(cached_graph_start(again, "trig", &start_again, NULL), 0);
        ck_assert_ptr_eq(start, start_again);

        /* Why a start cannot be: said each time, for a node and for a name that is none. */
        ck_assert_int_eq(cached_graph_start(first, "lonely", &start_again, &error), -EINVAL);
        ck_assert_ptr_nonnull(strstr(error, "nothing to run"));
        error = mfree(error);
        ck_assert_int_eq(cached_graph_start(first, "lonely", &start_again, &error), -EINVAL);
        ck_assert_ptr_nonnull(strstr(error, "nothing to run"));
        error = mfree(error);
        ck_assert_int_eq(cached_graph_start(first, "ghost", &start_again, &error), -EINVAL);
        ck_assert_ptr_nonnull(strstr(error, "not in the workflow"));
        error = mfree(error);

        /* Changed: a new graph; the one held stays as it was. */
        exec(db, "UPDATE workflow_nodes SET extra_config = '{\"message\":\"two\"}' WHERE node_id = 'say' "
                 "AND workflow_id = ?", w);
        ck_assert_int_eq(graph_cache_get(c, db, w, &changed), 0);
        ck_assert_ptr_ne(changed, first);
        ck_assert_str_eq(node_message(changed, "say"), "two");
        ck_assert_str_eq(node_message(first, "say"), "one");
        ck_assert_str_eq(start_message(start, "say"), "one");
        changed = cached_graph_unref(changed);

        /* An edge to the lonely trigger makes it a start. */
        add_node(db, w, "other", "reply_chat", "{\"message\":\"other\"}");
        add_edge(db, w, "lonely", "other");
        ck_assert_int_eq(graph_cache_get(c, db, w, &changed), 0);
        ck_assert_int_eq(cached_graph_start(changed, "lonely", &start, NULL), 0);
        ck_assert_str_eq(start->step.run[0], "other");
        changed = cached_graph_unref(changed);

        /* The workflow's row too. */
        exec(db, "UPDATE workflows SET slug = 'renamed' WHERE id = ?", w);
        ck_assert_int_eq(graph_cache_get_by_slug(c, db, "renamed", &changed), 0);
        ck_assert_str_eq(json_get_string(changed->workflow, "slug", ""), "renamed");
        changed = cached_graph_unref(changed);
        ck_assert_int_eq(graph_cache_get_by_slug(c, db, "flow", &changed), -ENOENT);

        exec(db, "DELETE FROM workflows WHERE id = ?", w);
        ck_assert_int_eq(graph_cache_get(c, db, w, &changed), -ENOENT);
        ck_assert_ptr_null(changed);
        ck_assert_str_eq(node_message(first, "say"), "one");
}
END_TEST

START_TEST(test_least_recently_used_goes_first) {
        _cleanup_(graph_cache_freep) GraphCache *c = NULL;
        _cleanup_(db_closep) Db *db = NULL;
        CachedGraph *held_a = NULL, *x = NULL;
        int64_t a, b, d;

        setup_backend(_i);
        db = open_db();
        a = make_workflow(db, "a");
        b = make_workflow(db, "b");
        d = make_workflow(db, "d");
        ck_assert_int_eq(graph_cache_new(2, &c), 0);
        ck_assert_int_eq(graph_cache_get(c, db, a, &held_a), 0);
        ck_assert_int_eq(graph_cache_get(c, db, b, &x), 0);
        x = cached_graph_unref(x);
        /* a is used again, so b is the one that goes when d comes. */
        ck_assert_int_eq(graph_cache_get(c, db, a, &x), 0);
        ck_assert_ptr_eq(x, held_a);
        x = cached_graph_unref(x);
        ck_assert_int_eq(graph_cache_get(c, db, d, &x), 0);
        x = cached_graph_unref(x);
        ck_assert_int_eq(graph_cache_get(c, db, a, &x), 0);
        ck_assert_ptr_eq(x, held_a);
        x = cached_graph_unref(x);

        /* Then a goes (b came back last, d before it); the copy held stays usable. */
        ck_assert_int_eq(graph_cache_get(c, db, b, &x), 0);
        x = cached_graph_unref(x);
        ck_assert_int_eq(graph_cache_get(c, db, d, &x), 0);
        x = cached_graph_unref(x);
        ck_assert_int_eq(graph_cache_get(c, db, a, &x), 0);
        ck_assert_ptr_ne(x, held_a);
        ck_assert_str_eq(json_get_string(held_a->workflow, "slug", ""), "a");
        x = cached_graph_unref(x);
        held_a = cached_graph_unref(held_a);
}
END_TEST

/* Threads with connections of their own start from the graph while it changes under them:
 * each gets a whole graph, old or new, never a mix or a freed one. */
typedef struct Starter {
        GraphCache *cache;
        int64_t workflow;
        unsigned n_seen;
        bool failed;
} Starter;

static void *starter_main(void *userdata) {
        Starter *s = userdata;
        _cleanup_(db_closep) Db *db = open_db();

        for (unsigned i = 0; i < 150; i++) {
                _cleanup_(cached_graph_unrefp) CachedGraph *g = NULL;
                const GraphStart *start;
                const char *message;

                if (graph_cache_get(s->cache, db, s->workflow, &g) < 0 ||
                    cached_graph_start(g, "trig", &start, NULL) < 0) {
                        s->failed = true;
                        break;
                }
                message = start_message(start, "say");
                if (!message || message[0] != 'v' || !streq_ptr(node_message(g, "say"), message))
                        s->failed = true;
                s->n_seen++;
        }
        return NULL;
}

START_TEST(test_threads_share_it_while_it_changes) {
        _cleanup_(graph_cache_freep) GraphCache *c = NULL;
        _cleanup_(db_closep) Db *db = NULL;
        Starter starters[3];
        pthread_t threads[3];
        int64_t w;

        setup_backend(_i);
        db = open_db();
        w = make_workflow(db, "busy");
        add_node(db, w, "trig", "trigger_manual", NULL);
        add_node(db, w, "say", "reply_chat", "{\"message\":\"v0\"}");
        add_edge(db, w, "trig", "say");
        ck_assert_int_eq(graph_cache_new(4, &c), 0);

        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                starters[i] = (Starter) { .cache = c, .workflow = w };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, starter_main, &starters[i]), 0);
        }
        for (unsigned v = 1; v <= 30; v++) {
                char sql[128];

                snprintf(sql, sizeof sql,
                         "UPDATE workflow_nodes SET extra_config = '{\"message\":\"v%u\"}' WHERE workflow_id = ? "
                         "AND node_id = 'say'", v);
                exec(db, sql, w);
        }
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
                ck_assert(!starters[i].failed);
                ck_assert_uint_eq(starters[i].n_seen, 150);
        }

        /* Once the changes are over, everybody sees the last. */
        {
                _cleanup_(cached_graph_unrefp) CachedGraph *g = NULL;

                ck_assert_int_eq(graph_cache_get(c, db, w, &g), 0);
                ck_assert_str_eq(node_message(g, "say"), "v30");
        }
}
END_TEST

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

static Suite *graph_cache_suite(void) {
        Suite *s = suite_create("graph-cache");
        TCase *tc = tcase_create("core");
        int n_backends = pg_url ? 2 : 1;

        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_every_change_changes_the_version, 0, n_backends);
        tcase_add_loop_test(tc, test_the_cache_follows_changes, 0, n_backends);
        tcase_add_loop_test(tc, test_least_recently_used_goes_first, 0, n_backends);
        tcase_add_loop_test(tc, test_threads_share_it_while_it_changes, 0, n_backends);
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

        sr = srunner_create(graph_cache_suite());
        srunner_run_all(sr, CK_NORMAL);
        n_failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        nftw(basedir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        remove_run_schemas();
        return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
