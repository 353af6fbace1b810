/* Execution watches: woken by the events that end an execution as the engine publishes
 * them (through the in-process broker), by their timeout, or ended when the registry goes. */

#include <check.h>
#include <errno.h>
#include <stdio.h>

#include "api/execution-watch.h"
#include "broker/broker.h"
#include "common/json-util.h"
#include "engine/events.h"

#define ID_A "6f1c0c3e-0000-4000-8000-00000000000a"
#define ID_B "6f1c0c3e-0000-4000-8000-00000000000b"

typedef struct Fixture {
        sd_event *event;
        Broker *broker;
        ExecutionWatch *watch;
        json_t *calls;          /* [[execution_id, reason], …] */
        json_t *last_event;     /* the envelope the last call got */
} Fixture;

static Fixture f;

static void on_message(const char *channel, const char *message, size_t len, json_t *parsed, void *userdata) {
        execution_watch_message(userdata, channel, message, len, parsed);
}

static void setup(void) {
        f = (Fixture) { .calls = json_array() };
        ck_assert_int_ge(sd_event_new(&f.event), 0);
        ck_assert_int_eq(broker_new_local(f.event, &f.broker), 0);
        ck_assert_int_eq(execution_watch_new(f.event, &f.watch), 0);
        broker_set_subscriber(f.broker, on_message, f.watch);
        events_set_broker(f.broker);
}

static void teardown(void) {
        events_set_broker(NULL);
        broker_free(f.broker);
        execution_watch_free(f.watch);
        sd_event_unref(f.event);
        json_decref(f.calls);
        json_decref(f.last_event);
}

static void record(const char *execution_id, ExecutionWatchReason reason, json_t *event, void *userdata) {
        json_array_append_new(f.calls, json_pack("[s, i]", execution_id, (int) reason));
        json_decref(f.last_event);
        f.last_event = json_incref(event);
}

static void deliver(void) {
        while (sd_event_run(f.event, 0) > 0)
                ;
}

static void assert_calls(const char *expected) {
        json_t *want = json_loads(expected, 0, NULL);

        ck_assert_ptr_nonnull(want);
        if (!json_equal(want, f.calls)) {
                char *got = json_dumps(f.calls, 0);

                ck_abort_msg("calls %s, expected %s", got, expected);
        }
        json_decref(want);
}

START_TEST(test_ending_events_wake_their_watch) {
        static const char *const endings[] = { "execution_completed", "execution_failed", "execution_cancelled" };

        for (size_t i = 0; i < ELEMENTSOF(endings); i++) {
                json_array_clear(f.calls);
                ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 60ULL * 1000000, record, NULL, NULL), 0);
                ck_assert_int_eq(execution_watch_add(f.watch, ID_B, 60ULL * 1000000, record, NULL, NULL), 0);

                /* Events that do not end it, or end another execution, or name it only on
                 * the workflow's channel, leave it waiting. */
                events_publish_workflow("wf", "node_status", ID_A, json_pack("{s:s}", "status", "completed"));
                events_publish_workflow("wf", "execution_started", ID_A, NULL);
                events_publish("workflow:wf", endings[i], ID_A, NULL);
                deliver();
                assert_calls("[]");
                ck_assert_uint_eq(execution_watch_count(f.watch), 2);

                events_publish_workflow("wf", endings[i], ID_A, json_pack("{s:s}", "error", "x"));
                deliver();
                assert_calls("[[\"" ID_A "\", 0]]");
                ck_assert_uint_eq(execution_watch_count(f.watch), 1);
                /* The watcher gets the event that ended it. */
                ck_assert_str_eq(json_get_string(f.last_event, "type", ""), endings[i]);
                ck_assert_str_eq(json_get_string(json_object_get(f.last_event, "data"), "error", ""), "x");

                /* An event comes once: the next one of the same execution finds no watch. */
                events_publish_workflow("wf", endings[i], ID_A, NULL);
                deliver();
                ck_assert_uint_eq(json_array_size(f.calls), 1);

                events_publish_workflow("wf", endings[i], ID_B, NULL);
                deliver();
                assert_calls("[[\"" ID_A "\", 0], [\"" ID_B "\", 0]]");
                ck_assert_uint_eq(execution_watch_count(f.watch), 0);
        }
}
END_TEST

/* An event from a dedicated worker's process comes as text alone: the watcher gets it
 * parsed all the same. */
START_TEST(test_an_event_as_text_alone) {
        static const char text[] = "{\"type\":\"execution_completed\",\"channel\":\"execution:" ID_A "\","
                                   "\"data\":{\"output\":{\"n\":3}}}";

        ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 60ULL * 1000000, record, NULL, NULL), 0);
        execution_watch_message(f.watch, "execution:" ID_A, text, strlen(text), NULL);
        assert_calls("[[\"" ID_A "\", 0]]");
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(f.last_event, "data"),
                                                                            "output"), "n")), 3);
}
END_TEST

START_TEST(test_several_watches_of_one_execution) {
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 60ULL * 1000000, record, NULL, NULL), 0);
        events_publish_workflow("wf", "execution_completed", ID_A, NULL);
        deliver();
        assert_calls("[[\"" ID_A "\", 0], [\"" ID_A "\", 0], [\"" ID_A "\", 0]]");
}
END_TEST

START_TEST(test_timeout) {
        usec_t started = now_monotonic_usec();

        ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 50 * 1000, record, NULL, NULL), 0);
        ck_assert_int_eq(execution_watch_add(f.watch, ID_B, 60ULL * 1000000, record, NULL, NULL), 0);
        while (json_array_size(f.calls) == 0)
                ck_assert_int_ge(sd_event_run(f.event, 2 * 1000000), 0);
        ck_assert_uint_ge(now_monotonic_usec() - started, 50 * 1000);
        ck_assert_uint_lt(now_monotonic_usec() - started, 1000 * 1000);
        assert_calls("[[\"" ID_A "\", 1]]");
        ck_assert_ptr_null(f.last_event);
        ck_assert_uint_eq(execution_watch_count(f.watch), 1);

        /* Ended by an event: its timer goes with it. */
        events_publish_workflow("wf", "execution_completed", ID_B, NULL);
        deliver();
        ck_assert_int_eq(sd_event_run(f.event, 100 * 1000), 0);
        assert_calls("[[\"" ID_A "\", 1], [\"" ID_B "\", 0]]");
}
END_TEST

START_TEST(test_removed_watch_is_never_called) {
        ExecutionWatcher *w;

        ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 20 * 1000, record, NULL, &w), 0);
        execution_watcher_remove(w);
        ck_assert_uint_eq(execution_watch_count(f.watch), 0);
        events_publish_workflow("wf", "execution_completed", ID_A, NULL);
        deliver();
        ck_assert_int_eq(sd_event_run(f.event, 100 * 1000), 0);
        assert_calls("[]");
}
END_TEST

static void add_again(const char *execution_id, ExecutionWatchReason reason, json_t *event, void *userdata) {
        record(execution_id, reason, event, userdata);
        if (json_array_size(f.calls) == 1)
                ck_assert_int_eq(execution_watch_add(f.watch, execution_id, 60ULL * 1000000, record, NULL, NULL), 0);
}

START_TEST(test_callback_may_add_a_watch) {
        ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 60ULL * 1000000, add_again, NULL, NULL), 0);
        events_publish_workflow("wf", "execution_completed", ID_A, NULL);
        deliver();
        /* The watch added during the event waits for an event of its own. */
        assert_calls("[[\"" ID_A "\", 0]]");
        ck_assert_uint_eq(execution_watch_count(f.watch), 1);
        events_publish_workflow("wf", "execution_completed", ID_A, NULL);
        deliver();
        assert_calls("[[\"" ID_A "\", 0], [\"" ID_A "\", 0]]");
}
END_TEST

START_TEST(test_free_aborts_what_is_left) {
        ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 60ULL * 1000000, record, NULL, NULL), 0);
        ck_assert_int_eq(execution_watch_add(f.watch, ID_B, 60ULL * 1000000, record, NULL, NULL), 0);
        broker_set_subscriber(f.broker, NULL, NULL);
        f.watch = execution_watch_free(f.watch);
        ck_assert_uint_eq(json_array_size(f.calls), 2);
        for (size_t i = 0; i < 2; i++)
                ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(f.calls, i), 1)),
                                 EXECUTION_WATCH_ABORTED);
}
END_TEST

START_TEST(test_bad_arguments) {
        char long_id[100];

        memset(long_id, 'a', sizeof long_id - 1);
        long_id[sizeof long_id - 1] = 0;
        ck_assert_int_eq(execution_watch_add(f.watch, "", 1000, record, NULL, NULL), -EINVAL);
        ck_assert_int_eq(execution_watch_add(f.watch, long_id, 1000, record, NULL, NULL), -EINVAL);
        ck_assert_int_eq(execution_watch_add(f.watch, ID_A, 1000, NULL, NULL, NULL), -EINVAL);
        /* A registry without watches ignores everything. */
        execution_watch_message(f.watch, "execution:" ID_A, "{\"type\":\"execution_completed\"}", 30, NULL);
        execution_watch_message(NULL, "execution:" ID_A, "{\"type\":\"execution_completed\"}", 30, NULL);
        assert_calls("[]");
}
END_TEST

static Suite *execution_watch_suite(void) {
        Suite *s = suite_create("execution-watch");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_ending_events_wake_their_watch);
        tcase_add_test(tc, test_an_event_as_text_alone);
        tcase_add_test(tc, test_several_watches_of_one_execution);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_removed_watch_is_never_called);
        tcase_add_test(tc, test_callback_may_add_a_watch);
        tcase_add_test(tc, test_free_aborts_what_is_left);
        tcase_add_test(tc, test_bad_arguments);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(execution_watch_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
