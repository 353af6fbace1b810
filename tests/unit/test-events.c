/* Live events: the envelope each publish produces, the channels it goes to, and
 * publishing from several threads at once through the in-process broker. */

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "broker/broker.h"
#include "common/json-util.h"
#include "common/time-util.h"
#include "engine/events.h"

typedef struct Received {
        json_t *messages;       /* [[channel, parsed envelope, raw text, handed over], …] */
} Received;

static void on_message(const char *channel, const char *message, size_t len, json_t *handed, void *userdata) {
        Received *r = userdata;
        json_t *parsed = json_loadb(message, len, 0, NULL);

        /* What the publisher handed over is what the text says (the text's timestamp has
         * 15 digits). */
        if (handed) {
                json_t *a = json_copy(handed), *b = json_copy(parsed);

                ck_assert(fabs(json_real_value(json_object_get(a, "timestamp")) -
                               json_real_value(json_object_get(b, "timestamp"))) < 1e-3);
                json_object_del(a, "timestamp");
                json_object_del(b, "timestamp");
                ck_assert(json_equal(a, b));
                json_decref(a);
                json_decref(b);
        }
        json_array_append_new(r->messages, json_pack("[s, o, s%, b]", channel, parsed ?: json_null(), message, len,
                                                     handed != NULL));
}

static bool handed_over_at(json_t *messages, size_t i) {
        return json_is_true(json_array_get(json_array_get(messages, i), 3));
}

typedef struct Fixture {
        sd_event *event;
        Broker *broker;
        Received received;
} Fixture;

static void fixture_setup(Fixture *f) {
        *f = (Fixture) { .received.messages = json_array() };
        ck_assert_int_ge(sd_event_new(&f->event), 0);
        ck_assert_int_eq(broker_new_local(f->event, &f->broker), 0);
        broker_set_subscriber(f->broker, on_message, &f->received);
        events_set_broker(f->broker);
        /* A WebSocket client is subscribed somewhere. */
        events_listeners_changed(+1);
}

static void fixture_teardown(Fixture *f) {
        events_listeners_changed(-1);
        events_set_broker(NULL);
        broker_free(f->broker);
        sd_event_unref(f->event);
        json_decref(f->received.messages);
}

static void deliver(Fixture *f) {
        while (sd_event_run(f->event, 0) > 0)
                ;
}

static json_t *envelope_at(Fixture *f, size_t i) {
        return json_array_get(json_array_get(f->received.messages, i), 1);
}

static const char *channel_at(Fixture *f, size_t i) {
        return json_string_value(json_array_get(json_array_get(f->received.messages, i), 0));
}

START_TEST(test_envelope) {
        Fixture f;
        double before = (double) now_realtime_usec() / 1e6, ts;
        json_t *e;

        fixture_setup(&f);
        events_publish("workflow:demo", "node_created", NULL, json_pack("{s:s, s:i}", "node_id", "a", "n", 3));
        deliver(&f);

        ck_assert_int_eq(json_array_size(f.received.messages), 1);
        ck_assert_str_eq(channel_at(&f, 0), "workflow:demo");
        e = envelope_at(&f, 0);
        ck_assert(json_is_object(e));
        ck_assert_int_eq(json_object_size(e), 4);
        ck_assert_str_eq(json_get_string(e, "type", ""), "node_created");
        ck_assert_str_eq(json_get_string(e, "channel", ""), "workflow:demo");
        ck_assert(!json_object_get(e, "execution_id"));
        ck_assert(json_is_real(json_object_get(e, "timestamp")));
        ts = json_real_value(json_object_get(e, "timestamp"));
        ck_assert(ts >= before - 0.001 && ts <= (double) now_realtime_usec() / 1e6 + 0.001);
        ck_assert_str_eq(json_get_string(json_object_get(e, "data"), "node_id", ""), "a");
        ck_assert_int_eq(json_get_integer(json_object_get(e, "data"), "n", 0), 3);

        /* The hub relies on the type coming first. */
        ck_assert(strncmp(json_string_value(json_array_get(json_array_get(f.received.messages, 0), 2)),
                          "{\"type\":\"node_created\"", 22) == 0);
        fixture_teardown(&f);
}
END_TEST

START_TEST(test_null_data_and_execution_id) {
        Fixture f;
        json_t *e;

        fixture_setup(&f);
        events_publish("execution:x", "execution_cancelled", "x", NULL);
        deliver(&f);
        ck_assert_int_eq(json_array_size(f.received.messages), 1);
        e = envelope_at(&f, 0);
        ck_assert_str_eq(json_get_string(e, "execution_id", ""), "x");
        ck_assert(json_is_object(json_object_get(e, "data")));
        ck_assert_int_eq(json_object_size(json_object_get(e, "data")), 0);
        fixture_teardown(&f);
}
END_TEST

START_TEST(test_workflow_and_execution_channels) {
        Fixture f;
        json_t *data = json_pack("{s:s, s:s}", "node_id", "n1", "status", "running");

        fixture_setup(&f);
        /* The caller's reference stays valid: the same object may be the HTTP response. */
        json_incref(data);
        events_publish_workflow("wf", "node_status", "e-1", data);
        events_publish_workflow("wf", "workflow_updated", NULL, json_object());
        deliver(&f);

        ck_assert_int_eq(json_array_size(f.received.messages), 3);
        ck_assert_str_eq(channel_at(&f, 0), "workflow:wf");
        ck_assert_str_eq(channel_at(&f, 1), "execution:e-1");
        ck_assert_str_eq(channel_at(&f, 2), "workflow:wf");
        for (size_t i = 0; i < 2; i++) {
                json_t *e = envelope_at(&f, i);

                ck_assert_str_eq(json_get_string(e, "type", ""), "node_status");
                ck_assert_str_eq(json_get_string(e, "channel", ""), channel_at(&f, i));
                ck_assert_str_eq(json_get_string(e, "execution_id", ""), "e-1");
                ck_assert(json_equal(json_object_get(e, "data"), data));
        }
        ck_assert_int_eq(data->refcount, 1);
        json_decref(data);
        fixture_teardown(&f);
}
END_TEST

START_TEST(test_without_listeners_only_execution_ends_go_out) {
        Fixture f;

        fixture_setup(&f);
        events_listeners_changed(-1);
        ck_assert(!events_wanted("node_status"));
        ck_assert(!events_wanted("execution_started"));
        ck_assert(events_wanted("execution_completed"));
        ck_assert(events_wanted("execution_failed"));
        ck_assert(events_wanted("execution_cancelled"));
        events_publish_workflow("wf", "node_status", "e-1", json_object());
        events_publish("workflow:wf", "node_created", NULL, json_object());
        events_publish_workflow("wf", "execution_started", "e-1", json_object());
        events_publish_workflow("wf", "execution_completed", "e-1", json_object());
        deliver(&f);
        /* Only on the execution's channel, which sync webhooks watch. */
        ck_assert_int_eq(json_array_size(f.received.messages), 1);
        ck_assert_str_eq(channel_at(&f, 0), "execution:e-1");
        ck_assert_str_eq(json_get_string(envelope_at(&f, 0), "type", ""), "execution_completed");
        /* Its watchers on the I/O thread need not parse it. */
        ck_assert(handed_over_at(f.received.messages, 0));

        /* A subscription comes: everything flows again, on both channels. */
        events_listeners_changed(+1);
        ck_assert(events_wanted("node_status"));
        events_publish_workflow("wf", "node_status", "e-1", json_object());
        deliver(&f);
        ck_assert_int_eq(json_array_size(f.received.messages), 3);
        ck_assert_str_eq(channel_at(&f, 1), "workflow:wf");
        ck_assert_str_eq(channel_at(&f, 2), "execution:e-1");
        /* Only the ends of executions are handed over: other data may still change. */
        ck_assert(!handed_over_at(f.received.messages, 1) && !handed_over_at(f.received.messages, 2));
        fixture_teardown(&f);
}
END_TEST

START_TEST(test_no_broker) {
        /* Unit tests and early start-up publish into nothing, without crashing or leaking. */
        events_set_broker(NULL);
        events_publish("workflow:a", "node_created", NULL, json_pack("{s:i}", "a", 1));
        events_publish_workflow("a", "node_status", "e", json_object());
}
END_TEST

#define THREADS 4
#define PER_THREAD 500

static void *publisher(void *arg) {
        intptr_t t = (intptr_t) arg;

        for (int i = 0; i < PER_THREAD; i++)
                events_publish("workflow:busy", "tick", NULL, json_pack("{s:i, s:i}", "thread", (int) t, "i", i));
        return NULL;
}

START_TEST(test_threads_keep_order_per_publisher) {
        pthread_t threads[THREADS];
        int next[THREADS] = {};
        Fixture f;

        fixture_setup(&f);
        for (intptr_t t = 0; t < THREADS; t++)
                ck_assert_int_eq(pthread_create(&threads[t], NULL, publisher, (void *) t), 0);
        for (int t = 0; t < THREADS; t++)
                pthread_join(threads[t], NULL);
        deliver(&f);

        ck_assert_int_eq(json_array_size(f.received.messages), THREADS * PER_THREAD);
        for (size_t i = 0; i < json_array_size(f.received.messages); i++) {
                json_t *d = json_object_get(envelope_at(&f, i), "data");
                int t = (int) json_get_integer(d, "thread", -1);

                ck_assert(t >= 0 && t < THREADS);
                ck_assert_int_eq(json_get_integer(d, "i", -1), next[t]);
                next[t]++;
        }
        fixture_teardown(&f);
}
END_TEST

static Suite *events_suite(void) {
        Suite *s = suite_create("events");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_envelope);
        tcase_add_test(tc, test_null_data_and_execution_id);
        tcase_add_test(tc, test_workflow_and_execution_channels);
        tcase_add_test(tc, test_without_listeners_only_execution_ends_go_out);
        tcase_add_test(tc, test_no_broker);
        tcase_add_test(tc, test_threads_keep_order_per_publisher);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(events_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
