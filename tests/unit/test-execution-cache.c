/* The cache of the executions' immutable parts, against a SQLite database in a temporary
 * folder: what a job reads is what was stored, is loaded once, and stays valid while the
 * job holds it, whatever other threads drop or evict meanwhile. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json-util.h"
#include "engine/execution-cache.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/store-flow.h"

static char tmpdir[] = "/tmp/test-execution-cache-XXXXXX";
static char dbpath[sizeof tmpdir + 16];
static char url[sizeof dbpath + 16];
static int64_t workflow_id;

static Db *open_db(void) {
        _cleanup_free_ char *error = NULL;
        Db *db = NULL;

        ck_assert_msg(db_open(url, &db, &error) >= 0, "db_open: %s", error);
        return db;
}

static void create_database(void) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_free_ char *error = NULL;
        char owner[DB_INT_BUFSZ];

        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(dbpath, sizeof dbpath, "%s/test.db", tmpdir);
        snprintf(url, sizeof url, "sqlite://%s", dbpath);
        db = open_db();
        ck_assert_msg(db_migrate(db, &error) >= 0, "db_migrate: %s", error);
        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO users (username, password_hash, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?) RETURNING id", "alice", "hash", "t", "t"), 0);
        db_int(owner, db_result_get_int64(res, 0, 0));
        res = db_result_free(res);
        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO workflows (owner_id, name, slug, created_at, updated_at) "
                                   "VALUES (?, ?, ?, ?, ?) RETURNING id", owner, "Chain", "chain", "t", "t"), 0);
        workflow_id = db_result_get_int64(res, 0, 0);
}

static void remove_database(void) {
        char journal[sizeof dbpath + 8];

        snprintf(journal, sizeof journal, "%s-wal", dbpath);
        (void) unlink(journal);
        snprintf(journal, sizeof journal, "%s-shm", dbpath);
        (void) unlink(journal);
        (void) unlink(dbpath);
        (void) rmdir(tmpdir);
}

/* A pending execution of one code node "a" with a label, and its trigger payload, at
 * graph_version version of the workflow (the same version must mean the same label). */
static void create_execution_at(Db *db, char id[static EXECUTION_ID_LEN + 1], const char *label, int64_t version,
                                int64_t graph_id_hint) {
        _cleanup_json_ json_t *nodes = NULL, *edges = json_array(), *topology = NULL, *settings = NULL,
                              *payload = NULL;
        _cleanup_(topology_freep) Topology *t = NULL;
        _cleanup_free_ int64_t *run_ids = NULL;
        static const char *const run[] = { "a", NULL };

        nodes = json_pack("[{s:s, s:s, s:b, s:s, s:n}]", "node_id", "a", "component_type", "code",
                          "is_entry_point", true, "label", label, "config");
        ck_assert_int_eq(topology_build(nodes, edges, NULL, &t, NULL), 0);
        topology = topology_to_json(t);
        settings = json_pack("{s:{s:s, s:s, s:{}}}", "a", "component_type", "code", "label", label, "config");
        payload = json_pack("{s:s}", "text", label);
        ck_assert_ptr_nonnull(topology);
        ck_assert_ptr_nonnull(settings);
        ck_assert_ptr_nonnull(payload);

        ck_assert_int_eq(execution_id_new(id), 0);
        ck_assert_int_eq(store_execution_create(db, id, &(ExecutionNew) {
                                 .workflow_id = workflow_id,
                                 .trigger_payload = payload,
                                 .graph_version = version,
                                 .topology = topology,
                                 .nodes = settings,
                                 .graph_id_hint = graph_id_hint,
                                 .run = run,
                         }, &run_ids), 0);
}

/* Each label a version of its own. */
static void create_execution(Db *db, char id[static EXECUTION_ID_LEN + 1], const char *label) {
        static int64_t version = 1000;

        create_execution_at(db, id, label, ++version, 0);
}

static int64_t db_integer(Db *db, const char *sql, const char *arg) {
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_queryv(db, &res, sql, arg), 0);
        ck_assert_int_eq(db_result_rows(res), 1);
        return db_result_is_null(res, 0, 0) ? 0 : db_result_get_int64(res, 0, 0);
}

static const char *label_of(const CachedExecution *x) {
        return json_get_string(json_object_get(x->info.nodes, "a"), "label", NULL);
}

START_TEST(test_loaded_once_and_shared) {
        _cleanup_(execution_cache_freep) ExecutionCache *c = NULL;
        _cleanup_(cached_execution_unrefp) CachedExecution *first = NULL, *second = NULL;
        _cleanup_(db_closep) Db *db = open_db();
        char id[EXECUTION_ID_LEN + 1];

        create_execution(db, id, "one");
        ck_assert_int_eq(execution_cache_new(4, &c), 0);
        ck_assert_int_eq(execution_cache_get(c, db, id, &first, NULL), 0);
        ck_assert_str_eq(first->info.id, id);
        ck_assert_str_eq(first->info.workflow_slug, "chain");
        ck_assert_str_eq(label_of(first), "one");
        ck_assert_str_eq(json_get_string(first->info.trigger_payload, "text", ""), "one");
        ck_assert(topology_contains(first->topology, "a"));

        /* The second job reads no database: with the row gone, it still gets the graph. */
        ck_assert_int_eq(db_queryv(db, NULL, "DELETE FROM executions WHERE execution_id = ?", id), 0);
        ck_assert_int_eq(execution_cache_get(c, db, id, &second, NULL), 0);
        ck_assert_ptr_eq(first, second);

        /* Once dropped, the next job asks the database again, which no longer has it. */
        execution_cache_drop(c, id);
        second = cached_execution_unref(second);
        ck_assert_int_eq(execution_cache_get(c, db, id, &second, NULL), -ENOENT);
        /* A job that held it keeps a usable copy. */
        ck_assert_str_eq(label_of(first), "one");
}
END_TEST

/* What its creator adds is there for the first job, without a row behind it. */
START_TEST(test_added_without_reading) {
        _cleanup_(execution_cache_freep) ExecutionCache *c = NULL;
        _cleanup_(cached_execution_unrefp) CachedExecution *x = NULL;
        _cleanup_(db_closep) Db *db = open_db();
        _cleanup_json_ json_t *nodes = NULL, *edges = json_array();
        _cleanup_(topology_freep) Topology *t = NULL;
        ExecutionInfo info;

        nodes = json_pack("[{s:s, s:s, s:b, s:s, s:n}]", "node_id", "a", "component_type", "code",
                          "is_entry_point", true, "label", "added", "config");
        ck_assert_int_eq(topology_build(nodes, edges, NULL, &t, NULL), 0);
        info = (ExecutionInfo) {
                .id = strdup("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
                .workflow_id = workflow_id,
                .workflow_slug = strdup("chain"),
                .trigger_payload = json_pack("{s:s}", "text", "added"),
                .topology = topology_to_json(t),
                .nodes = json_pack("{s:{s:s, s:s}}", "a", "component_type", "code", "label", "added"),
        };
        ExecutionInfo broken = {
                .id = strdup("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"),
                .workflow_slug = strdup("chain"),
                .trigger_payload = json_object(),
                .topology = json_string("not a graph"),
                .nodes = json_object(),
        };

        ck_assert_int_eq(execution_cache_new(4, &c), 0);
        ck_assert_int_eq(execution_cache_add(c, &info, NULL, NULL), 0);
        ck_assert_ptr_null(info.id);    /* taken */
        ck_assert_int_eq(execution_cache_get(c, db, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", &x, NULL), 0);
        ck_assert_str_eq(label_of(x), "added");
        ck_assert(topology_contains(x->topology, "a"));

        /* An unreadable graph is not kept (and not leaked). */
        ck_assert_int_eq(execution_cache_add(c, &broken, NULL, NULL), -EINVAL);
        x = cached_execution_unref(x);
        ck_assert_int_eq(execution_cache_get(c, db, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", &x, NULL), -ENOENT);
}
END_TEST

/* Executions of one workflow version share one stored graph; a wrong hint only costs a
 * lookup; a graph of an older version goes once no execution points at it. */
START_TEST(test_graphs_stored_once_per_version) {
        _cleanup_(db_closep) Db *db = open_db();
        char a[EXECUTION_ID_LEN + 1], b[EXECUTION_ID_LEN + 1], c[EXECUTION_ID_LEN + 1], d[EXECUTION_ID_LEN + 1];
        static const char graph_of[] = "SELECT graph_id FROM executions WHERE execution_id = ?";
        ExecutionInfo info = {};
        int64_t first, second, deleted;
        char text[DB_INT_BUFSZ];

        create_execution_at(db, a, "first", 1, 0);
        first = db_integer(db, graph_of, a);
        ck_assert_int_gt(first, 0);
        create_execution_at(db, b, "first", 1, first);
        create_execution_at(db, c, "second", 2, first);        /* the hint names another graph */
        second = db_integer(db, graph_of, c);
        ck_assert_int_eq(db_integer(db, graph_of, b), first);
        ck_assert_int_ne(second, first);
        ck_assert_int_eq(db_integer(db, "SELECT COUNT(*) FROM execution_graphs WHERE graph_version IN (1, 2) "
                                        "AND trigger_node_id = ?", ""), 2);

        ck_assert_int_eq(store_execution_info(db, b, &info), 0);
        ck_assert_str_eq(json_get_string(json_object_get(info.nodes, "a"), "label", ""), "first");
        execution_info_done(&info);
        ck_assert_int_eq(store_execution_info(db, c, &info), 0);
        ck_assert_str_eq(json_get_string(json_object_get(info.nodes, "a"), "label", ""), "second");
        ck_assert(json_is_object(info.topology));
        execution_info_done(&info);

        /* Version 3 is current: 1 and 2 are old, and go once nothing points at them. */
        ck_assert_int_eq(db_queryv(db, NULL, "UPDATE workflows SET graph_version = 3 WHERE slug = ?", "chain"), 0);
        ck_assert_int_eq(db_queryv(db, NULL, "DELETE FROM executions WHERE execution_id = ?", a), 0);
        ck_assert_int_eq(store_execution_graphs_prune(db, workflow_id, &deleted), 0);
        ck_assert_int_eq(deleted, 0);
        ck_assert_int_eq(db_queryv(db, NULL, "DELETE FROM executions WHERE execution_id = ?", b), 0);
        ck_assert_int_eq(store_execution_graphs_prune(db, workflow_id, &deleted), 0);
        ck_assert_int_eq(deleted, 1);
        ck_assert_int_eq(db_integer(db, "SELECT COUNT(*) FROM execution_graphs WHERE id = ?", db_int(text, first)), 0);

        /* A hint to a graph that is gone: stored again. */
        create_execution_at(db, d, "first", 1, first);
        ck_assert_int_ne(db_integer(db, graph_of, d), first);
        ck_assert_int_eq(store_execution_info(db, d, &info), 0);
        ck_assert_str_eq(json_get_string(json_object_get(info.nodes, "a"), "label", ""), "first");
        execution_info_done(&info);
}
END_TEST

/* Ids are UUIDs of version 7: they sort by creation time, so the primary key index grows
 * at its end. */
START_TEST(test_execution_ids_grow_with_time) {
        char first[EXECUTION_ID_LEN + 1], second[EXECUTION_ID_LEN + 1];

        ck_assert_int_eq(execution_id_new(first), 0);
        ck_assert(execution_id_is_valid(first));
        ck_assert_int_eq(first[14], '7');
        ck_assert(strchr("89ab", first[19]));
        usleep(2000);
        ck_assert_int_eq(execution_id_new(second), 0);
        ck_assert(execution_id_is_valid(second));
        ck_assert_int_lt(strcmp(first, second), 0);
        /* The random part differs too. */
        ck_assert_str_ne(first + 24, second + 24);
}
END_TEST

START_TEST(test_unknown_execution) {
        _cleanup_(execution_cache_freep) ExecutionCache *c = NULL;
        _cleanup_(db_closep) Db *db = open_db();
        CachedExecution *x = NULL;

        ck_assert_int_eq(execution_cache_new(4, &c), 0);
        ck_assert_int_eq(execution_cache_get(c, db, "00000000000000000000000000000000", &x, NULL), -ENOENT);
        ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_least_recently_used_goes_first) {
        _cleanup_(execution_cache_freep) ExecutionCache *c = NULL;
        _cleanup_(db_closep) Db *db = open_db();
        char a[EXECUTION_ID_LEN + 1], b[EXECUTION_ID_LEN + 1], d[EXECUTION_ID_LEN + 1];
        CachedExecution *held_a = NULL, *x = NULL, *again = NULL;

        create_execution(db, a, "a");
        create_execution(db, b, "b");
        create_execution(db, d, "d");
        ck_assert_int_eq(execution_cache_new(2, &c), 0);
        ck_assert_int_eq(execution_cache_get(c, db, a, &held_a, NULL), 0);
        ck_assert_int_eq(execution_cache_get(c, db, b, &x, NULL), 0);
        x = cached_execution_unref(x);
        /* a is used again, so b is the one that goes when d comes. */
        ck_assert_int_eq(execution_cache_get(c, db, a, &x, NULL), 0);
        ck_assert_ptr_eq(x, held_a);
        x = cached_execution_unref(x);
        ck_assert_int_eq(execution_cache_get(c, db, d, &x, NULL), 0);
        x = cached_execution_unref(x);

        ck_assert_int_eq(execution_cache_get(c, db, a, &again, NULL), 0);
        ck_assert_ptr_eq(again, held_a);
        again = cached_execution_unref(again);
        /* b was evicted: loaded anew, as a different copy with the same content. */
        ck_assert_int_eq(db_queryv(db, NULL, "DELETE FROM executions WHERE execution_id = ?", b), 0);
        ck_assert_int_eq(execution_cache_get(c, db, b, &x, NULL), -ENOENT);
        cached_execution_unref(held_a);
}
END_TEST

/* Jobs on several threads get, read, and let go, while one thread keeps dropping: every
 * reader sees a whole execution (ASan finds a use after free otherwise). */
#define N_THREADS 4
#define N_ROUNDS 300

typedef struct Shared {
        ExecutionCache *cache;
        char ids[3][EXECUTION_ID_LEN + 1];
        unsigned failures;
} Shared;

static void *reader(void *userdata) {
        Shared *s = userdata;
        _cleanup_(db_closep) Db *db = open_db();

        for (unsigned i = 0; i < N_ROUNDS; i++) {
                const char *id = s->ids[i % 3];
                CachedExecution *x = NULL;

                if (execution_cache_get(s->cache, db, id, &x, NULL) < 0 || !streq(x->info.id, id) ||
                    !label_of(x) || !topology_contains(x->topology, "a"))
                        __atomic_add_fetch(&s->failures, 1, __ATOMIC_RELAXED);
                if (i % 7 == 0)
                        execution_cache_drop(s->cache, s->ids[(i + 1) % 3]);
                cached_execution_unref(x);
        }
        return NULL;
}

START_TEST(test_threads) {
        _cleanup_(db_closep) Db *db = open_db();
        Shared s = {};
        pthread_t threads[N_THREADS];

        for (unsigned i = 0; i < 3; i++)
                create_execution(db, s.ids[i], "threaded");
        ck_assert_int_eq(execution_cache_new(2, &s.cache), 0);
        for (unsigned i = 0; i < N_THREADS; i++)
                ck_assert_int_eq(pthread_create(&threads[i], NULL, reader, &s), 0);
        for (unsigned i = 0; i < N_THREADS; i++)
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_uint_eq(s.failures, 0);
        execution_cache_free(s.cache);
}
END_TEST

static Suite *execution_cache_suite(void) {
        Suite *s = suite_create("execution-cache");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, create_database, remove_database);
        tcase_add_test(tc, test_loaded_once_and_shared);
        tcase_add_test(tc, test_unknown_execution);
        tcase_add_test(tc, test_added_without_reading);
        tcase_add_test(tc, test_execution_ids_grow_with_time);
        tcase_add_test(tc, test_graphs_stored_once_per_version);
        tcase_add_test(tc, test_least_recently_used_goes_first);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        sr = srunner_create(execution_cache_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
