/* The work pool: blocking work on threads, its end reported on the event loop. */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/work-pool.h"

typedef struct Job {
        pthread_t ran_on;
        bool ran;
        bool done, cancelled;
        pthread_t done_on;
        unsigned sleep_ms;
        bool wait_for_stop;     /* runs until the pool stops */
        bool saw_stop;
        unsigned *n_done;
} Job;

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };

        nanosleep(&ts, NULL);
}

static void job_run(WorkPool *pool, void *userdata) {
        Job *job = userdata;

        job->ran_on = pthread_self();
        __atomic_store_n(&job->ran, true, __ATOMIC_RELEASE);
        sleep_ms(job->sleep_ms);
        /* At most 10 s, so a broken pool fails the test instead of hanging it. */
        for (unsigned i = 0; job->wait_for_stop && i < 10000; i++) {
                if (work_pool_stopping(pool)) {
                        job->saw_stop = true;
                        break;
                }
                sleep_ms(1);
        }
}

static void job_done(void *userdata, bool cancelled) {
        Job *job = userdata;

        ck_assert(!job->done);
        job->done = true;
        job->cancelled = cancelled;
        job->done_on = pthread_self();
        if (job->n_done)
                ++*job->n_done;
}

/* Runs the loop until *n_done reaches want (at most 20 s). */
static void run_until(sd_event *event, const unsigned *n_done, unsigned want) {
        for (unsigned i = 0; i < 200 && *n_done < want; i++)
                ck_assert_int_ge(sd_event_run(event, 100 * 1000), 0);
        ck_assert_uint_eq(*n_done, want);
}

START_TEST(test_work_and_done) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(work_pool_freep) WorkPool *pool = NULL;
        Job jobs[12] = {};
        unsigned n_done = 0;

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(work_pool_new(event, 3, 32, &pool), 0);

        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                jobs[i] = (Job) { .sleep_ms = 20, .n_done = &n_done };
                ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &jobs[i]), 0);
        }
        ck_assert_uint_eq(work_pool_pending(pool), ELEMENTSOF(jobs));
        /* Nothing is done before the loop runs: the callbacks belong to its thread. */
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++)
                ck_assert(!jobs[i].done);

        run_until(event, &n_done, ELEMENTSOF(jobs));
        ck_assert_uint_eq(work_pool_pending(pool), 0);
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                ck_assert(jobs[i].ran);
                ck_assert(jobs[i].done);
                ck_assert(!jobs[i].cancelled);
                ck_assert(!pthread_equal(jobs[i].ran_on, pthread_self()));
                ck_assert(pthread_equal(jobs[i].done_on, pthread_self()));
        }
}
END_TEST

START_TEST(test_limit) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(work_pool_freep) WorkPool *pool = NULL;
        Job jobs[3] = {}, extra = {};
        unsigned n_done = 0;

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(work_pool_new(event, 1, 3, &pool), 0);
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                jobs[i] = (Job) { .sleep_ms = 10, .n_done = &n_done };
                ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &jobs[i]), 0);
        }
        /* Full: refused, and its done callback never runs. */
        ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &extra), -EAGAIN);
        run_until(event, &n_done, 3);
        ck_assert(!extra.ran && !extra.done);

        /* Room again once the callbacks ran. */
        n_done = 0;
        extra = (Job) { .n_done = &n_done };
        ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &extra), 0);
        run_until(event, &n_done, 1);
        ck_assert(extra.done && !extra.cancelled);

        ck_assert_int_eq(work_pool_submit(NULL, job_run, job_done, &extra), -EINVAL);
        ck_assert_int_eq(work_pool_new(event, 0, 1, &(WorkPool *) { NULL }), -EINVAL);
}
END_TEST

/* Work that waits until every piece of its batch runs: on fewer threads than pieces, the
 * first ones give up waiting. */
typedef struct Meeting {
        unsigned expected, arrived, gave_up, n_done;
} Meeting;

static void meet(WorkPool *pool, void *userdata) {
        Meeting *m = userdata;

        __atomic_add_fetch(&m->arrived, 1, __ATOMIC_ACQ_REL);
        for (unsigned i = 0; i < 2000; i++) {
                if (__atomic_load_n(&m->arrived, __ATOMIC_ACQUIRE) >= m->expected)
                        return;
                sleep_ms(1);
        }
        __atomic_add_fetch(&m->gave_up, 1, __ATOMIC_ACQ_REL);
}

static void meeting_done(void *userdata, bool cancelled) {
        Meeting *m = userdata;

        ck_assert(!cancelled);
        m->n_done++;
}

START_TEST(test_idle_threads_are_not_promised_twice) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(work_pool_freep) WorkPool *pool = NULL;
        Job warm[2] = {};
        Meeting meeting = { .expected = 3 };
        unsigned n_done = 0;

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(work_pool_new(event, 3, 8, &pool), 0);
        /* Two threads, idle again. */
        for (size_t i = 0; i < ELEMENTSOF(warm); i++) {
                warm[i] = (Job) { .sleep_ms = 50, .n_done = &n_done };
                ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &warm[i]), 0);
        }
        run_until(event, &n_done, ELEMENTSOF(warm));

        /* Three at once: the two idle threads take two, a third thread the last, even
         * though the idle ones had not woken when it came. */
        for (unsigned i = 0; i < meeting.expected; i++)
                ck_assert_int_eq(work_pool_submit(pool, meet, meeting_done, &meeting), 0);
        run_until(event, &meeting.n_done, meeting.expected);
        ck_assert_uint_eq(meeting.gave_up, 0);
}
END_TEST

START_TEST(test_free_cancels) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        WorkPool *pool = NULL;
        Job running = {}, queued[4] = {};

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(work_pool_new(event, 1, 8, &pool), 0);

        running = (Job) { .wait_for_stop = true };
        ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &running), 0);
        for (size_t i = 0; i < ELEMENTSOF(queued); i++)
                ck_assert_int_eq(work_pool_submit(pool, job_run, job_done, &queued[i]), 0);
        /* Let the one thread take the first job. */
        for (unsigned i = 0; i < 5000 && !__atomic_load_n(&running.ran, __ATOMIC_ACQUIRE); i++)
                sleep_ms(1);
        ck_assert(running.ran);

        /* The running job is asked to stop, the queued ones never run; all get their done
         * callback, cancelled, before the free returns. */
        ck_assert_ptr_null(work_pool_free(pool));
        ck_assert(running.saw_stop);
        ck_assert(running.done && running.cancelled);
        for (size_t i = 0; i < ELEMENTSOF(queued); i++) {
                ck_assert(!queued[i].ran);
                ck_assert(queued[i].done && queued[i].cancelled);
        }
}
END_TEST

static Suite *work_pool_suite(void) {
        Suite *s = suite_create("work-pool");
        TCase *tc = tcase_create("pool");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_work_and_done);
        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_idle_threads_are_not_promised_twice);
        tcase_add_test(tc, test_free_cancels);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        sr = srunner_create(work_pool_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
