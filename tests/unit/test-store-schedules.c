/* Schedules in the store (SQLite in memory): when they are due, how a run's end is counted
 * (repeats, retries with backoff, done, dead), what pause, resume and edits do to the next
 * run, and who may see them. Times are given, not read from the clock. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "store/migrate.h"
#include "store/store-schedules.h"

#define SEC 1000000ULL
/* 2026-11-26T00:00:00Z */
#define T0 (1795651200ULL * SEC)

static Db *db;
static int64_t alice, bob, workflow;
static const StoreCaller admin = { .is_admin = true };

static int64_t add_user(const char *name) {
        _cleanup_(db_result_freep) DbResult *res = NULL;

        ck_assert_int_eq(db_queryv(db, &res,
                                   "INSERT INTO users (username, password_hash, created_at, updated_at) "
                                   "VALUES (?, 'x', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z') "
                                   "RETURNING id", name), 0);
        return db_result_get_int64(res, 0, 0);
}

static void setup(void) {
        _cleanup_free_ char *error = NULL;
        _cleanup_json_ json_t *in = json_pack("{s:s}", "name", "Report"), *w = NULL;

        ck_assert_int_eq(db_open("sqlite::memory:", &db, &error), 0);
        ck_assert_int_ge(db_migrate(db, &error), 0);
        alice = add_user("alice");
        bob = add_user("bob");
        ck_assert_int_eq(store_workflow_create(db, alice, in, &w), 0);
        workflow = json_get_integer(w, "id", 0);
}

static void teardown(void) {
        db = db_close(db);
}

/* A schedule of alice's workflow created at T0; fields: JSON text of more settings. */
static char *create(const char *fields) {
        _cleanup_json_ json_t *in = json_loads(fields, 0, NULL), *out = NULL;

        ck_assert_ptr_nonnull(in);
        ck_assert_int_eq(json_object_set_new(in, "name", json_string("nightly")), 0);
        ck_assert_int_eq(json_object_set_new(in, "trigger_node_id", json_string("clock")), 0);
        ck_assert_int_eq(store_schedule_create(db, alice, workflow, in, T0, &out), 0);
        return strdup(json_get_string(out, "id", ""));
}

static json_t *get(const char *id) {
        json_t *s = NULL;

        ck_assert_int_eq(store_schedule_get(db, &admin, id, &s), 0);
        return s;
}

static usec_t next_run(const char *id) {
        _cleanup_json_ json_t *s = get(id);
        const char *text = json_get_string(s, "next_run_at", NULL);
        usec_t t = 0;

        if (text)
                ck_assert_int_eq(timestamp_parse(text, &t), 0);
        return t;
}

static const char *status(const char *id) {
        static char buf[16];
        _cleanup_json_ json_t *s = get(id);

        snprintf(buf, sizeof buf, "%s", json_get_string(s, "status", "?"));
        return buf;
}

static int64_t field(const char *id, const char *name) {
        _cleanup_json_ json_t *s = get(id);

        return json_get_integer(s, name, -1);
}

static size_t n_due(usec_t now) {
        DueSchedule *due = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_schedules_due(db, now, 10, &due, &n), 0);
        due_schedules_free(due, n);
        return n;
}

/* Starts a run of id at now: records the execution, the next run an interval later. */
static void start(const char *id, const char *execution_id, usec_t now) {
        ck_assert_int_eq(db_begin(db), 0);
        ck_assert_int_eq(store_schedule_started(db, id, execution_id, now, now + (usec_t) field(id, "interval_seconds") * SEC), 0);
        ck_assert_int_eq(db_commit(db), 0);
}

START_TEST(test_retry_delay_doubles_up_to_ten_intervals) {
        ck_assert_uint_eq(schedule_retry_delay(60, 1), 60 * SEC);
        ck_assert_uint_eq(schedule_retry_delay(60, 2), 120 * SEC);
        ck_assert_uint_eq(schedule_retry_delay(60, 3), 240 * SEC);
        ck_assert_uint_eq(schedule_retry_delay(60, 4), 480 * SEC);
        ck_assert_uint_eq(schedule_retry_delay(60, 5), 600 * SEC);
        ck_assert_uint_eq(schedule_retry_delay(60, 1000), 600 * SEC);
        ck_assert_uint_eq(schedule_retry_delay(1, 1), 1 * SEC);
}
END_TEST

START_TEST(test_due_one_interval_after_creation_and_one_run_at_a_time) {
        _cleanup_free_ char *id = create("{\"interval_seconds\": 60, \"total_repeats\": 2}");
        DueSchedule *due = NULL;
        usec_t next;
        size_t n;

        ck_assert_uint_eq(next_run(id), T0 + 60 * SEC);
        ck_assert_int_eq(store_schedules_next_due(db, &next), 0);
        ck_assert_uint_eq(next, T0 + 60 * SEC);
        ck_assert_uint_eq(n_due(T0 + 59 * SEC), 0);
        ck_assert_int_eq(store_schedules_due(db, T0 + 60 * SEC, 10, &due, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(due[0].id, id);
        ck_assert_str_eq(due[0].trigger_node_id, "clock");
        ck_assert(due[0].user_active);
        ck_assert_int_eq(due[0].user_id, alice);
        ck_assert(json_is_object(due[0].trigger_payload));
        due_schedules_free(due, n);

        /* In flight: not due, not even long after; started twice is refused. */
        start(id, "11111111-1111-4111-8111-111111111111", T0 + 61 * SEC);
        ck_assert_uint_eq(n_due(T0 + 3600 * SEC), 0);
        ck_assert_int_eq(store_schedules_next_due(db, &next), 0);
        ck_assert_uint_eq(next, 0);
        ck_assert_int_eq(store_schedule_started(db, id, "22222222-2222-4222-8222-222222222222", T0, T0), -ESTALE);
        ck_assert_int_eq(store_schedule_start_failed(db, id, "no", T0, NULL), 0);

        /* Ended late: due at once (the next run was set an interval after the start). */
        ck_assert_int_eq(store_schedule_run_ended(db, "11111111-1111-4111-8111-111111111111", true, NULL,
                                                  T0 + 200 * SEC, NULL), 1);
        ck_assert_uint_eq(next_run(id), T0 + 121 * SEC);
        ck_assert_uint_eq(n_due(T0 + 200 * SEC), 1);
        ck_assert_int_eq(field(id, "run_count"), 1);
        /* Counted once. */
        ck_assert_int_eq(store_schedule_run_ended(db, "11111111-1111-4111-8111-111111111111", true, NULL,
                                                  T0 + 201 * SEC, NULL), 0);
        ck_assert_int_eq(field(id, "run_count"), 1);

        start(id, "33333333-3333-4333-8333-333333333333", T0 + 200 * SEC);
        ck_assert_int_eq(store_schedule_run_ended(db, "33333333-3333-4333-8333-333333333333", true, NULL,
                                                  T0 + 201 * SEC, NULL), 1);
        ck_assert_str_eq(status(id), "done");
        ck_assert_uint_eq(next_run(id), 0);
        ck_assert_int_eq(field(id, "current_repeat"), 2);
        ck_assert_uint_eq(n_due(T0 + 9999 * SEC), 0);
        ck_assert_int_eq(store_schedules_active(db), 0);
}
END_TEST

START_TEST(test_failures_back_off_until_dead_and_a_success_resets) {
        _cleanup_free_ char *id = create("{\"interval_seconds\": 10, \"max_retries\": 2}");
        ScheduleCount c;

        /* A failure: retried an interval after it ended, then two. */
        start(id, "11111111-1111-4111-8111-111111111111", T0 + 10 * SEC);
        ck_assert_int_eq(store_schedule_run_ended(db, "11111111-1111-4111-8111-111111111111", false, "boom",
                                                  T0 + 11 * SEC, &c), 1);
        ck_assert_str_eq(c.id, id);
        ck_assert_str_eq(c.name, "nightly");
        ck_assert_int_eq(c.status, SCHEDULE_ACTIVE);
        ck_assert_int_eq(c.retry, 1);
        ck_assert_uint_eq(c.next_run, T0 + 21 * SEC);
        ck_assert_uint_eq(next_run(id), T0 + 21 * SEC);
        ck_assert_int_eq(store_schedule_start_failed(db, id, "cannot start", T0 + 21 * SEC, &c), 1);
        ck_assert_int_eq(c.retry, 2);
        ck_assert_uint_eq(next_run(id), T0 + 41 * SEC);
        {
                _cleanup_json_ json_t *s = get(id);

                ck_assert_str_eq(json_get_string(s, "last_error", ""), "cannot start");
                ck_assert_int_eq(json_get_integer(s, "error_count", 0), 2);
        }

        /* A success resets the count of failures in a row. */
        start(id, "22222222-2222-4222-8222-222222222222", T0 + 41 * SEC);
        ck_assert_int_eq(store_schedule_run_ended(db, "22222222-2222-4222-8222-222222222222", true, NULL,
                                                  T0 + 42 * SEC, &c), 1);
        ck_assert_int_eq(c.retry, 0);
        ck_assert_str_eq(status(id), "active");

        /* Three failures in a row with max_retries 2: dead. The reason is read from the
         * execution, which is gone here. */
        for (int i = 0; i < 3; i++) {
                char execution[] = "33333333-3333-4333-8333-33333333333X";

                execution[35] = (char) ('0' + i);
                start(id, execution, T0 + (usec_t) (100 + i * 100) * SEC);
                ck_assert_int_eq(store_schedule_run_ended(db, execution, false, NULL, T0 + (usec_t) (101 + i * 100) * SEC,
                                                          &c), 1);
        }
        ck_assert_int_eq(c.status, SCHEDULE_DEAD);
        ck_assert_str_eq(status(id), "dead");
        ck_assert_uint_eq(next_run(id), 0);
        ck_assert_int_eq(field(id, "error_count"), 5);
        {
                _cleanup_json_ json_t *s = get(id);

                ck_assert_str_eq(json_get_string(s, "last_error", ""),
                                 "Execution 33333333-3333-4333-8333-333333333332 was deleted before it ended.");
        }
        ck_assert_uint_eq(n_due(T0 + 99999 * SEC), 0);
}
END_TEST

START_TEST(test_pause_resume_and_a_run_in_flight) {
        _cleanup_free_ char *id = create("{\"interval_seconds\": 30}");
        _cleanup_json_ json_t *s = NULL;
        ScheduleStatus was;

        start(id, "11111111-1111-4111-8111-111111111111", T0 + 30 * SEC);
        ck_assert_int_eq(store_schedule_pause(db, &admin, id, T0 + 31 * SEC, &s, &was), 0);
        ck_assert_str_eq(json_get_string(s, "status", ""), "paused");
        json_decref(TAKE_PTR(s));
        ck_assert_int_eq(store_schedule_pause(db, &admin, id, T0 + 31 * SEC, &s, &was), -ESTALE);
        ck_assert_int_eq(was, SCHEDULE_PAUSED);

        /* The run still counts; the schedule stays paused, and a failure does not kill it. */
        ck_assert_int_eq(store_schedule_run_ended(db, "11111111-1111-4111-8111-111111111111", false, "x",
                                                  T0 + 32 * SEC, NULL), 1);
        ck_assert_str_eq(status(id), "paused");
        ck_assert_uint_eq(next_run(id), 0);
        ck_assert_uint_eq(n_due(T0 + 9999 * SEC), 0);
        ck_assert_int_eq(store_schedules_active(db), 0);

        ck_assert_int_eq(store_schedule_resume(db, &admin, id, T0 + 100 * SEC, &s, &was), 0);
        ck_assert_str_eq(json_get_string(s, "status", ""), "active");
        ck_assert_uint_eq(next_run(id), T0 + 130 * SEC);
        ck_assert_int_eq(store_schedules_active(db), 1);
        json_decref(TAKE_PTR(s));
        ck_assert_int_eq(store_schedule_resume(db, &admin, id, T0, &s, &was), -ESTALE);
        ck_assert_int_eq(was, SCHEDULE_ACTIVE);
}
END_TEST

START_TEST(test_edits_move_the_next_run_and_the_status) {
        _cleanup_free_ char *id = create("{\"interval_seconds\": 60, \"total_repeats\": 1}");
        _cleanup_json_ json_t *patch = NULL, *s = NULL;

        patch = json_pack("{s:i}", "interval_seconds", 5);
        ck_assert_int_eq(store_schedule_update(db, &admin, id, patch, T0 + 10 * SEC, &s), 0);
        ck_assert_uint_eq(next_run(id), T0 + 15 * SEC);

        start(id, "11111111-1111-4111-8111-111111111111", T0 + 15 * SEC);
        ck_assert_int_eq(store_schedule_run_ended(db, "11111111-1111-4111-8111-111111111111", true, NULL,
                                                  T0 + 16 * SEC, NULL), 1);
        ck_assert_str_eq(status(id), "done");

        /* Room for more: active again, an interval from the change. */
        json_decref(patch);
        json_decref(TAKE_PTR(s));
        patch = json_pack("{s:i}", "total_repeats", 3);
        ck_assert_int_eq(store_schedule_update(db, &admin, id, patch, T0 + 100 * SEC, &s), 0);
        ck_assert_str_eq(status(id), "active");
        ck_assert_uint_eq(next_run(id), T0 + 105 * SEC);

        /* No room left: done. */
        json_decref(patch);
        json_decref(TAKE_PTR(s));
        patch = json_pack("{s:i, s:s, s:n}", "total_repeats", 1, "name", "renamed", "trigger_payload");
        ck_assert_int_eq(store_schedule_update(db, &admin, id, patch, T0 + 200 * SEC, &s), 0);
        ck_assert_str_eq(json_get_string(s, "status", ""), "done");
        ck_assert_str_eq(json_get_string(s, "name", ""), "renamed");
        /* null clears the payload: the runs get {}. */
        ck_assert(json_is_object(json_object_get(s, "trigger_payload")));
        ck_assert_uint_eq(json_object_size(json_object_get(s, "trigger_payload")), 0);
        ck_assert_uint_eq(next_run(id), 0);
}
END_TEST

START_TEST(test_only_the_workflow_owner_and_admins_see_it) {
        _cleanup_free_ char *id = create("{\"interval_seconds\": 60}");
        StoreCaller as_alice = { .user_id = alice }, as_bob = { .user_id = bob };
        ScheduleFilter all = { .limit = 50 };
        json_t *s = NULL, *items = NULL;
        int64_t total;

        ck_assert_int_eq(store_schedule_get(db, &as_alice, id, &s), 0);
        json_decref(s);
        ck_assert_int_eq(store_schedule_get(db, &as_bob, id, &s), -ENOENT);
        ck_assert_int_eq(store_schedule_pause(db, &as_bob, id, T0, &s, NULL), -ENOENT);
        ck_assert_int_eq(store_schedule_delete(db, &as_bob, id), -ENOENT);
        ck_assert_int_eq(store_schedule_list(db, &as_bob, &all, &items, &total), 0);
        ck_assert_int_eq(total, 0);
        json_decref(items);
        ck_assert_int_eq(store_schedule_list(db, &as_alice, &all, &items, &total), 0);
        ck_assert_int_eq(total, 1);
        json_decref(items);
        ck_assert_int_eq(store_schedule_delete(db, &as_alice, id), 0);
        ck_assert_int_eq(store_schedule_get(db, &admin, id, &s), -ENOENT);
}
END_TEST

START_TEST(test_uncounted_runs_are_found) {
        _cleanup_free_ char *id = create("{\"interval_seconds\": 60}");
        _cleanup_json_ json_t *list = NULL;

        start(id, "11111111-1111-4111-8111-111111111111", T0 + 60 * SEC);
        ck_assert_int_eq(store_schedules_uncounted(db, &list), 0);
        /* Its execution does not exist (deleted, say): it ended as far as we can tell. */
        ck_assert_uint_eq(json_array_size(list), 1);
        ck_assert_str_eq(json_string_value(json_array_get(json_array_get(list, 0), 0)),
                         "11111111-1111-4111-8111-111111111111");
        ck_assert(json_is_null(json_array_get(json_array_get(list, 0), 1)));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("store-schedules");
        TCase *tc = tcase_create("schedules");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_retry_delay_doubles_up_to_ten_intervals);
        tcase_add_test(tc, test_due_one_interval_after_creation_and_one_run_at_a_time);
        tcase_add_test(tc, test_failures_back_off_until_dead_and_a_success_resets);
        tcase_add_test(tc, test_pause_resume_and_a_run_in_flight);
        tcase_add_test(tc, test_edits_move_the_next_run_and_the_status);
        tcase_add_test(tc, test_only_the_workflow_owner_and_admins_see_it);
        tcase_add_test(tc, test_uncounted_runs_are_found);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
