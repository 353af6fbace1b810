/* The transform component: jq programs over the template context, their results, compile
 * and runtime errors, what a program may not see (the daemon's environment), the output
 * limit, and many threads running programs at once (libjq 1.6 has had thread bugs). */

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "engine/components/components.h"
#include "node-run-test.h"

static const char context_text[] =
        "{"
        "  \"trigger\": {\"text\": \"hello\", \"n\": 3},"
        "  \"fetch\": {\"items\": [{\"name\": \"a\", \"price\": 5}, {\"name\": \"b\", \"price\": 15}]},"
        "  \"cat_1\": {\"category\": \"billing\"}"
        "}";

static TestRun *transform(const char *program, int *ret) {
        _cleanup_free_ char *config = NULL;
        json_t *p = json_string(program);
        char *quoted = json_dumps(p, JSON_ENCODE_ANY);
        TestRun *t;

        ck_assert(asprintf(&config, "{\"program\": %s}", quoted) >= 0);
        free(quoted);
        json_decref(p);
        t = test_run_new("transform", config, context_text, NULL);
        *ret = component_transform(&t->run);
        return t;
}

static void assert_transform(const char *program, const char *expected_output) {
        int r;
        TestRun *t = transform(program, &r);

        ck_assert_msg(r == 0, "%s failed: %s", program, t->run.error ?: "?");
        ck_assert_output(t, expected_output);
        test_run_free(t);
}

static void assert_transform_fails(const char *program, const char *message_part) {
        int r;
        TestRun *t = transform(program, &r);

        ck_assert_failed(t, r, "jq");
        ck_assert_msg(strstr(t->run.error, message_part), "%s: error '%s' lacks '%s'", program,
                      t->run.error, message_part);
        ck_assert(!t->run.retryable);
        ck_assert_ptr_null(t->run.output);
        test_run_free(t);
}

START_TEST(test_transform_results) {
        assert_transform("{text: .trigger.text, total: ([.fetch.items[].price] | add)}",
                         "{\"output\": {\"text\": \"hello\", \"total\": 20}}");
        assert_transform(".fetch.items[].name", "{\"output\": [\"a\", \"b\"]}");
        assert_transform("empty", "{\"output\": null}");
        assert_transform(".trigger.n * 2", "{\"output\": 6}");
        assert_transform("def double: . * 2; .trigger.n | double", "{\"output\": 6}");
        assert_transform(".cat_1.category | ascii_upcase", "{\"output\": \"BILLING\"}");
        assert_transform("  ", "{\"output\": " "{\"trigger\": {\"text\": \"hello\", \"n\": 3},"
                         " \"fetch\": {\"items\": [{\"name\": \"a\", \"price\": 5}, {\"name\": \"b\", \"price\": 15}]},"
                         " \"cat_1\": {\"category\": \"billing\"}}}");
        assert_transform("\"a\\u0000b\"", "{\"output\": \"a\\u0000b\"}");
        /* halt ends the results without an error. */
        assert_transform("1, 2, halt", "{\"output\": [1, 2]}");
}
END_TEST

START_TEST(test_transform_same_program_twice) {
        /* The second run uses the compiled program kept by this thread. */
        for (int i = 0; i < 3; i++)
                assert_transform("[.fetch.items[] | select(.price > 10) | .name]", "{\"output\": [\"b\"]}");
        transform_cache_flush();
        assert_transform("[.fetch.items[] | select(.price > 10) | .name]", "{\"output\": [\"b\"]}");
        /* More programs than the cache holds, each still right when it comes back. */
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 20; i++) {
                        char program[64], expected[64];

                        snprintf(program, sizeof(program), ".trigger.n + %d", i);
                        snprintf(expected, sizeof(expected), "{\"output\": %d}", 3 + i);
                        assert_transform(program, expected);
                }
}
END_TEST

START_TEST(test_transform_compile_errors) {
        assert_transform_fails(".a | ]", "does not compile: syntax error");
        assert_transform_fails("no_such_function(1)", "no_such_function/1 is not defined");
        assert_transform_fails("import \"foo\" as foo; .", "does not compile");
        assert_transform_fails("include \"foo\"; .", "does not compile");

        /* The message is about the user's program, not the wrapper around it. */
        {
                int r;
                TestRun *t = transform(".a | ]", &r);

                ck_assert_ptr_null(strstr(t->run.error, "def env"));
                ck_assert_ptr_null(strstr(t->run.error, "shell quoting"));
                ck_assert_ptr_nonnull(strstr(t->run.error, "line 1"));
                test_run_free(t);
        }
        /* A program that did not compile fails again the same way (the failure is cached). */
        assert_transform_fails(".a | ]", "syntax error");
}
END_TEST

START_TEST(test_transform_runtime_errors) {
        assert_transform_fails(".trigger.text + 1", "cannot be added");
        assert_transform_fails("error(\"custom failure\")", "custom failure");
        assert_transform_fails("error({code: 7})", "{\"code\":7}");
        assert_transform_fails("\"stopped here\" | halt_error", "stopped here");
        assert_transform_fails(".fetch.items[] | .name | tonumber", "Invalid numeric literal");
        /* Results before the error do not make it a success. */
        assert_transform_fails("1, error(\"late\")", "late");
}
END_TEST

START_TEST(test_transform_no_environment) {
        ck_assert_int_eq(setenv("PIPELIT_TEST_SECRET", "hunter2", 1), 0);
        assert_transform("[$ENV, env, ($ENV.PIPELIT_TEST_SECRET // \"none\")]", "{\"output\": [{}, {}, \"none\"]}");
        assert_transform("$__loc__ | .line", "{\"output\": 1}");
        /* stderr passes its input through without printing it. */
        assert_transform("\"quiet\" | stderr", "{\"output\": \"quiet\"}");
}
END_TEST

START_TEST(test_transform_output_limit) {
        int r;
        TestRun *t = test_run_new("transform", "{\"program\": \"[range(1000)]\"}", context_text, NULL);

        t->run.max_output_size = 100;
        r = component_transform(&t->run);
        ck_assert_failed(t, r, "limit");
        test_run_free(t);

        t = test_run_new("transform", "{\"program\": \"range(100000)\"}", context_text, NULL);
        t->run.max_output_size = 1000;
        r = component_transform(&t->run);
        ck_assert_failed(t, r, "limit");
        test_run_free(t);
}
END_TEST

/* Inputs and results larger than a read takes at once, in turn with small ones: each
 * message is read whole and nothing of one is left for the next. */
START_TEST(test_transform_large_messages) {
        for (int round = 0; round < 3; round++) {
                _cleanup_free_ char *context = NULL, *big = malloc(200001);
                TestRun *t;
                json_t *items;
                int r;

                ck_assert_ptr_nonnull(big);
                memset(big, 'x', 200000);
                big[200000] = 0;
                ck_assert(asprintf(&context, "{\"trigger\": {\"text\": \"%s\"}}", big) >= 0);
                t = test_run_new("transform", "{\"program\": \"{n: (.trigger.text | length), "
                                 "items: [range(30000)]}\"}", context, NULL);
                r = component_transform(&t->run);
                ck_assert_msg(r == 0, "failed: %s", t->run.error ?: "?");
                ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t->run.output, "output"), "n")),
                                 200000);
                items = json_object_get(json_object_get(t->run.output, "output"), "items");
                ck_assert_int_eq(json_array_size(items), 30000);
                ck_assert_int_eq(json_integer_value(json_array_get(items, 29999)), 29999);
                test_run_free(t);

                assert_transform(".trigger.n + 1", "{\"output\": 4}");
        }
}
END_TEST

START_TEST(test_transform_stops_when_cancelled) {
        int r;
        TestRun *t = test_run_new("transform", "{\"program\": \"range(1000000)\"}", context_text, NULL);

        t->cancelled = true;
        r = component_transform(&t->run);
        ck_assert_failed(t, r, "cancelled");
        test_run_free(t);
}
END_TEST

/* A program that would run for ages: no results for a long time. */
#define ENDLESS_PROGRAM "last(range(1e15))"

START_TEST(test_transform_endless_program_stops_at_the_deadline) {
        usec_t started = now_monotonic_usec();
        TestRun *t = test_run_new("transform", "{\"program\": \"" ENDLESS_PROGRAM "\"}", context_text, NULL);
        int r;

        t->run.deadline = started + 300 * 1000;
        r = component_transform(&t->run);
        ck_assert_failed(t, r, "timeout");
        ck_assert_uint_lt(now_monotonic_usec() - started, 2 * 1000 * 1000);
        test_run_free(t);

        /* The evaluator that was killed is replaced for the next program. */
        assert_transform(".trigger.n + 1", "{\"output\": 4}");
}
END_TEST

static void *cancel_soon(void *userdata) {
        TestRun *t = userdata;

        usleep(200 * 1000);
        t->cancelled = true;
        return NULL;
}

START_TEST(test_transform_endless_program_stops_when_cancelled) {
        usec_t started = now_monotonic_usec();
        TestRun *t = test_run_new("transform", "{\"program\": \"" ENDLESS_PROGRAM "\"}", context_text, NULL);
        pthread_t canceller;
        int r;

        ck_assert_int_eq(pthread_create(&canceller, NULL, cancel_soon, t), 0);
        r = component_transform(&t->run);
        ck_assert_int_eq(pthread_join(canceller, NULL), 0);
        ck_assert_failed(t, r, "cancelled");
        ck_assert_uint_lt(now_monotonic_usec() - started, 2 * 1000 * 1000);
        test_run_free(t);
        assert_transform("[.fetch.items[].price] | add", "{\"output\": 20}");
}
END_TEST

START_TEST(test_transform_bad_setting) {
        int r;
        TestRun *t = test_run_new("transform", "{\"program\": 42}", context_text, NULL);

        r = component_transform(&t->run);
        ck_assert_failed(t, r, "config");
        test_run_free(t);
}
END_TEST

/* --- many threads ---------------------------------------------------------------------------- */

#define STRESS_THREADS 4
#define STRESS_PROGRAMS 500

typedef struct StressThread {
        pthread_t thread;
        unsigned index;
        unsigned failures;
        char first_failure[256];
} StressThread;

static void stress_fail(StressThread *s, const char *program, const char *what) {
        if (s->failures++ == 0)
                snprintf(s->first_failure, sizeof(s->first_failure), "%s: %s", program, what);
}

static void *stress_thread(void *userdata) {
        StressThread *s = userdata;

        for (unsigned i = 0; i < STRESS_PROGRAMS; i++) {
                char program[128];
                unsigned kind = (i + s->index) % 5, k = i % 2;
                NodeRun run = {
                        .component_type = "transform",
                        .retryable = true,
                };
                int r;

                /* Dropping the compiled programs now and then makes threads compile (and tear
                 * down) while others run. */
                if (i % 50 == 49)
                        transform_cache_flush();

                switch (kind) {
                case 0:
                case 1:
                        snprintf(program, sizeof(program), "[.trigger.n, %u] | add", k);
                        break;
                case 2:
                        snprintf(program, sizeof(program), "[.items[] | select(. > %u)] | length", k);
                        break;
                case 3:
                        snprintf(program, sizeof(program), ".trigger.n | error(\"e%u\")", k);
                        break;
                default:
                        snprintf(program, sizeof(program), ".trigger.n | ] %u", k);
                }
                run.config = json_pack("{s:{s:s}}", "extra_config", "program", program);
                run.context = json_pack("{s:{s:i}, s:[i,i,i,i,i]}", "trigger", "n", (int) s->index,
                                        "items", 1, 2, 3, 4, 5);
                if (!run.config || !run.context) {
                        stress_fail(s, program, "bad test data");
                        break;
                }

                r = component_transform(&run);
                switch (kind) {
                case 0:
                case 1: {
                        json_int_t got = json_integer_value(json_object_get(run.output, "output"));

                        if (r < 0 || got != (json_int_t) (s->index + k))
                                stress_fail(s, program, run.error ?: "wrong sum");
                        break;
                }
                case 2:
                        if (r < 0 || json_integer_value(json_object_get(run.output, "output")) != (json_int_t) (5 - k))
                                stress_fail(s, program, run.error ?: "wrong count");
                        break;
                case 3:
                        if (r >= 0 || !run.error || !strstr(run.error, "e"))
                                stress_fail(s, program, "runtime error not reported");
                        break;
                default:
                        if (r >= 0 || !run.error || !strstr(run.error, "syntax error"))
                                stress_fail(s, program, "compile error not reported");
                }

                node_run_done(&run);
                json_decref(run.config);
                json_decref(run.context);
        }
        return NULL;
}

START_TEST(test_transform_threads) {
        StressThread threads[STRESS_THREADS] = {};

        for (unsigned i = 0; i < STRESS_THREADS; i++) {
                threads[i].index = i;
                ck_assert_int_eq(pthread_create(&threads[i].thread, NULL, stress_thread, &threads[i]), 0);
        }
        for (unsigned i = 0; i < STRESS_THREADS; i++)
                ck_assert_int_eq(pthread_join(threads[i].thread, NULL), 0);
        for (unsigned i = 0; i < STRESS_THREADS; i++)
                ck_assert_msg(threads[i].failures == 0, "thread %u: %u failures, first: %s", i,
                              threads[i].failures, threads[i].first_failure);
}
END_TEST

/* The compiled programs this thread keeps go at the end of each test. libjq's stack is
 * only referenced through a pointer to its end, which LeakSanitizer does not follow. */
static void drop_compiled_programs(void) {
        transform_cache_flush();
}

static Suite *transform_suite(void) {
        Suite *s = suite_create("transform");
        TCase *tc = tcase_create("jq");

        tcase_add_checked_fixture(tc, NULL, drop_compiled_programs);
        tcase_add_test(tc, test_transform_results);
        tcase_add_test(tc, test_transform_same_program_twice);
        tcase_add_test(tc, test_transform_compile_errors);
        tcase_add_test(tc, test_transform_runtime_errors);
        tcase_add_test(tc, test_transform_no_environment);
        tcase_add_test(tc, test_transform_output_limit);
        tcase_add_test(tc, test_transform_large_messages);
        tcase_add_test(tc, test_transform_stops_when_cancelled);
        tcase_add_test(tc, test_transform_endless_program_stops_at_the_deadline);
        tcase_add_test(tc, test_transform_endless_program_stops_when_cancelled);
        tcase_add_test(tc, test_transform_bad_setting);
        suite_add_tcase(s, tc);

        tc = tcase_create("threads");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_transform_threads);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(transform_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
