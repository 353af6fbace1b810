/* The worker link's frames (src/worker/worker-wire.c) over a socket pair: whole frames
 * whatever the reads cut them into, in the order sent from any thread, and a peer that
 * sends nonsense or goes away ends the connection once. */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "worker/worker-wire.h"

#define MAX_FRAMES 2100

typedef struct Seen {
        unsigned n_frames;
        WireType types[MAX_FRAMES];
        size_t lens[MAX_FRAMES];
        char first[MAX_FRAMES][48];
        unsigned closed;
        int error;
        unsigned want;          /* exits the loop once this many frames came */
        sd_event *event;
} Seen;

static void on_frame(WireConn *c, WireType type, const void *data, size_t len, void *userdata) {
        Seen *s = userdata;

        ck_assert_uint_lt(s->n_frames, MAX_FRAMES);
        s->types[s->n_frames] = type;
        s->lens[s->n_frames] = len;
        memcpy(s->first[s->n_frames], data, MIN(len, sizeof s->first[0] - 1));
        s->first[s->n_frames][MIN(len, sizeof s->first[0] - 1)] = 0;
        if (++s->n_frames == s->want)
                (void) sd_event_exit(s->event, 0);
}

static void on_closed(WireConn *c, int error, void *userdata) {
        Seen *s = userdata;

        s->closed++;
        s->error = error;
        (void) sd_event_exit(s->event, 0);
}

static void loop_until_done(sd_event *event) {
        /* At most 10 s, so a broken link fails the test instead of hanging it. */
        for (unsigned i = 0; i < 1000; i++) {
                if (sd_event_get_state(event) == SD_EVENT_FINISHED)
                        return;
                ck_assert_int_ge(sd_event_run(event, 10000), 0);
        }
        ck_abort_msg("the loop did not finish");
}

static void header(char out[5], uint32_t len, uint8_t type) {
        memcpy(out, &len, sizeof len);
        out[4] = (char) type;
}

START_TEST(test_frames_cut_anywhere_arrive_whole) {
        sd_event *event = NULL;
        WireConn *c = NULL;
        Seen seen = { .want = 2 };
        char frame[64], job_frame[5 + sizeof(WireJob)];
        WireJob job = { .node_run_id = 42, .run_at = 7 }, parsed;
        size_t n;
        int fds[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_ge(sd_event_new(&event), 0);
        seen.event = event;
        ck_assert_int_eq(wire_conn_new(event, fds[0], on_frame, on_closed, &seen, &c), 0);

        header(frame, 5, WIRE_HELLO);
        memcpy(frame + 5, "hello", 5);
        n = 10;
        snprintf(job.execution_id, sizeof job.execution_id, "01a21778-c6e0-7cd6-9f6d-0ebed6720001");
        header(job_frame, sizeof job, WIRE_JOB);
        memcpy(job_frame + 5, &job, sizeof job);
        /* One byte at a time: the reader must put them together. */
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(write(fds[1], frame + i, 1), 1);
        for (size_t i = 0; i < sizeof job_frame; i++)
                ck_assert_int_eq(write(fds[1], job_frame + i, 1), 1);
        loop_until_done(event);

        ck_assert_uint_eq(seen.n_frames, 2);
        ck_assert_int_eq(seen.types[0], WIRE_HELLO);
        ck_assert_str_eq(seen.first[0], "hello");
        ck_assert_int_eq(seen.types[1], WIRE_JOB);
        ck_assert_uint_eq(seen.lens[1], sizeof(WireJob));
        ck_assert_int_eq(seen.closed, 0);
        ck_assert_int_eq(wire_job_parse(&job, sizeof job - 1, &parsed), -EBADMSG);

        wire_conn_unref(c);
        close(fds[1]);
        sd_event_unref(event);
}
END_TEST

typedef struct Sender {
        WireConn *conn;
        unsigned from, count;
} Sender;

static void *send_many(void *userdata) {
        Sender *s = userdata;
        char text[32];

        for (unsigned i = 0; i < s->count; i++) {
                int n = snprintf(text, sizeof text, "%u", s->from + i);

                ck_assert_int_eq(wire_conn_send(s->conn, WIRE_EVENT, text, (size_t) n), 0);
        }
        return NULL;
}

START_TEST(test_frames_from_threads_keep_each_threads_order) {
        sd_event *event = NULL;
        WireConn *writer = NULL, *reader = NULL;
        Seen ignored = {}, seen = { .want = 2000 };
        Sender senders[2];
        pthread_t threads[2];
        unsigned next[2] = { 0, 1000000 };
        int fds[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_ge(sd_event_new(&event), 0);
        ignored.event = seen.event = event;
        ck_assert_int_eq(wire_conn_new(event, fds[0], on_frame, on_closed, &ignored, &writer), 0);
        ck_assert_int_eq(wire_conn_new(event, fds[1], on_frame, on_closed, &seen, &reader), 0);

        for (unsigned i = 0; i < 2; i++) {
                senders[i] = (Sender) { .conn = writer, .from = next[i], .count = 1000 };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, send_many, &senders[i]), 0);
        }
        for (unsigned i = 0; i < 2; i++)
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        loop_until_done(event);

        ck_assert_uint_eq(seen.n_frames, 2000);
        for (unsigned i = 0; i < seen.n_frames; i++) {
                unsigned v = (unsigned) strtoul(seen.first[i], NULL, 10);
                unsigned t = v >= 1000000;

                ck_assert_int_eq(seen.types[i], WIRE_EVENT);
                ck_assert_uint_eq(v, next[t]);
                next[t]++;
        }

        /* The writer goes: the reader is told once, and sending to a closed link fails. */
        wire_conn_close(writer);
        ck_assert_int_eq(wire_conn_send(writer, WIRE_EVENT, "x", 1), -ENOTCONN);
        sd_event_unref(event);
        wire_conn_unref(writer);
        wire_conn_unref(reader);
}
END_TEST

START_TEST(test_nonsense_ends_the_connection) {
        static const struct {
                uint32_t len;
                uint8_t type;
        } bad[] = { { WIRE_FRAME_MAX + 1, WIRE_JOB }, { 4, 0 }, { 4, _WIRE_TYPE_MAX } };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                sd_event *event = NULL;
                WireConn *c = NULL;
                Seen seen = {};
                char frame[9] = "";
                int fds[2];

                ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
                ck_assert_int_ge(sd_event_new(&event), 0);
                seen.event = event;
                ck_assert_int_eq(wire_conn_new(event, fds[0], on_frame, on_closed, &seen, &c), 0);
                header(frame, bad[i].len, bad[i].type);
                ck_assert_int_eq(write(fds[1], frame, sizeof frame), (ssize_t) sizeof frame);
                loop_until_done(event);
                ck_assert_uint_eq(seen.n_frames, 0);
                ck_assert_uint_eq(seen.closed, 1);
                ck_assert_int_eq(seen.error, -EBADMSG);
                ck_assert(!wire_conn_is_open(c));
                wire_conn_unref(c);
                close(fds[1]);
                sd_event_unref(event);
        }
}
END_TEST

START_TEST(test_peer_gone_is_told_once) {
        sd_event *event = NULL;
        WireConn *c = NULL;
        Seen seen = {};
        int fds[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_ge(sd_event_new(&event), 0);
        seen.event = event;
        ck_assert_int_eq(wire_conn_new(event, fds[0], on_frame, on_closed, &seen, &c), 0);
        close(fds[1]);
        loop_until_done(event);
        ck_assert_uint_eq(seen.closed, 1);
        ck_assert_int_eq(seen.error, 0);
        ck_assert_int_eq(wire_conn_send(c, WIRE_HELLO, "x", 1), -ENOTCONN);
        wire_conn_unref(c);
        sd_event_unref(event);
}
END_TEST

static Suite *wire_suite(void) {
        Suite *s = suite_create("worker-wire");
        TCase *tc = tcase_create("wire");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_frames_cut_anywhere_arrive_whole);
        tcase_add_test(tc, test_frames_from_threads_keep_each_threads_order);
        tcase_add_test(tc, test_nonsense_ends_the_connection);
        tcase_add_test(tc, test_peer_gone_is_told_once);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        sr = srunner_create(wire_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
