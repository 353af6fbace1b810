/* The sandbox and the code component that runs snippets in it: python and sh snippets with
 * their input, results and output; failures (non-zero exit, exceptions, syntax errors);
 * what the sandbox keeps out (network, the host's files, capabilities, memory); the timeout,
 * a cancel and the output limit, each killing every process the snippet started; and the
 * refusal to run anything when bubblewrap is missing. Tests that need bubblewrap say so and
 * pass without running when it is not installed. */

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "engine/components/components.h"
#include "node-run-test.h"
#include "sandbox/sandbox.h"

static const char context_text[] =
        "{\"trigger\": {\"text\": \"hello\"},"
        " \"fetch\": {\"items\": [1, 2, 3]},"
        " \"cat_1\": {\"category\": \"billing\"}}";

static bool have_bwrap(void) {
        _cleanup_free_ char *path = NULL;

        if (sandbox_find_bwrap(&path) < 0) {
                fprintf(stderr, "bubblewrap is not installed: skipping this test\n");
                return false;
        }
        return true;
}

#define REQUIRE_BWRAP()                 \
        do {                            \
                if (!have_bwrap())      \
                        return;         \
        } while (0)

static TestRun *code_run_new(const char *language, const char *code, const char *extra, const char *input) {
        _cleanup_free_ char *config = NULL;
        json_t *settings = json_pack("{s:s, s:s}", "language", language, "code", code);
        char *text;

        if (extra) {
                json_t *more = test_json(extra);

                json_object_update(settings, more);
                json_decref(more);
        }
        text = json_dumps(settings, JSON_COMPACT);
        json_decref(settings);
        config = text;
        return test_run_new("code", config, context_text, input);
}

static TestRun *code_run(const char *language, const char *code, const char *extra, const char *input, int *ret) {
        TestRun *t = code_run_new(language, code, extra, input);

        *ret = component_code(&t->run);
        return t;
}

static void assert_code_output(const char *language, const char *code, const char *input, const char *expected) {
        int r;
        TestRun *t = code_run(language, code, NULL, input, &r);

        ck_assert_msg(r == 0, "%s failed: %s (%s)", code, t->run.error ?: "?", t->run.error_code ?: "?");
        ck_assert_output(t, expected);
        test_run_free(t);
}

/* How many processes have arg among their arguments. */
static unsigned processes_with_argument(const char *arg) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                char path[300], buf[4096];
                size_t len;
                FILE *f;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                len = fread(buf, 1, sizeof(buf) - 1, f);
                fclose(f);
                for (size_t i = 0; i < len; i += strnlen(buf + i, len - i) + 1)
                        if (strncmp(buf + i, arg, len - i) == 0 && strlen(arg) == strnlen(buf + i, len - i))
                                n++;
        }
        closedir(d);
        return n;
}

/* --- python -------------------------------------------------------------------------------- */

START_TEST(test_python_result_return_and_stdout) {
        REQUIRE_BWRAP();

        assert_code_output("python", "result = {'sum': sum(input['output']), 'n': len(node_outputs)}",
                           "{\"output\": [1, 2, 3]}", "{\"output\": {\"sum\": 6, \"n\": 2}}");
        assert_code_output("python", "text = trigger['text']\nreturn text.upper()", NULL, "{\"output\": \"HELLO\"}");
        assert_code_output("python", "def f(x):\n    return x * 2\nreturn [f(i) for i in node_outputs['fetch']['items']]",
                           NULL, "{\"output\": [2, 4, 6]}");
        assert_code_output("python", "print('hi there')", NULL, "{\"output\": \"hi there\"}");
        assert_code_output("python", "import sys, json\nprint(json.load(sys.stdin)['trigger']['text'])", NULL,
                           "{\"output\": \"hello\"}");
        assert_code_output("python", "print('ignored')\nresult = state['node_outputs']['cat_1']['category']", NULL,
                           "{\"output\": \"billing\"}");
        /* What a subprocess prints is captured too. */
        assert_code_output("python", "import subprocess\nsubprocess.run(['echo', 'from a child'])", NULL,
                           "{\"output\": \"from a child\"}");
        /* Values JSON cannot hold become text. */
        assert_code_output("python", "result = {1, 2} and 'set'", NULL, "{\"output\": \"set\"}");
        assert_code_output("python", "import sys\nprint('done')\nsys.exit(0)", NULL, "{\"output\": \"done\"}");
}
END_TEST

START_TEST(test_python_failures) {
        int r;
        TestRun *t;

        REQUIRE_BWRAP();

        t = code_run("python", "x = 1\nraise ValueError('bad thing')", NULL, NULL, &r);
        ck_assert_failed(t, r, "code");
        ck_assert_ptr_nonnull(strstr(t->run.error, "ValueError: bad thing"));
        ck_assert_ptr_nonnull(strstr(t->run.error, "line 2"));
        test_run_free(t);

        t = code_run("python", "def broken(:\n  pass", NULL, NULL, &r);
        ck_assert_failed(t, r, "code");
        ck_assert_ptr_nonnull(strstr(t->run.error, "SyntaxError"));
        test_run_free(t);

        t = code_run("python", "import sys\nsys.exit(4)", NULL, NULL, &r);
        ck_assert_failed(t, r, "code");
        ck_assert_ptr_nonnull(strstr(t->run.error, "status 4"));
        test_run_free(t);
}
END_TEST

/* --- sh ---------------------------------------------------------------------------------------- */

START_TEST(test_sh_snippets) {
        int r;
        TestRun *t;
        json_t *input;

        REQUIRE_BWRAP();

        assert_code_output("sh", "echo hi", NULL, "{\"output\": \"hi\"}");
        assert_code_output("sh", "printf 'a\\nb\\n'", NULL, "{\"output\": \"a\\nb\"}");

        /* Its input arrives as JSON on standard input. */
        t = code_run("sh", "cat", NULL, "{\"output\": 42}", &r);
        ck_assert_int_eq(r, 0);
        input = test_json(json_string_value(json_object_get(t->run.output, "output")));
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(input, "input"), "output")), 42);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(input, "trigger"), "text")), "hello");
        ck_assert(json_is_object(json_object_get(json_object_get(input, "node_outputs"), "fetch")));
        json_decref(input);
        test_run_free(t);

        t = code_run("sh", "echo oops >&2; exit 3", NULL, NULL, &r);
        ck_assert_failed(t, r, "code");
        ck_assert_ptr_nonnull(strstr(t->run.error, "status 3"));
        ck_assert_ptr_nonnull(strstr(t->run.error, "oops"));
        test_run_free(t);
}
END_TEST

/* --- what stays out ----------------------------------------------------------------------------- */

START_TEST(test_sandbox_no_network) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(addr);
        char code[512];
        int fd;

        REQUIRE_BWRAP();

        /* A server on the host's loopback that the snippet must not reach. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof(addr)), 0);
        ck_assert_int_eq(listen(fd, 4), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &addr, &len), 0);

        snprintf(code, sizeof(code),
                 "import socket\n"
                 "try:\n"
                 "    socket.create_connection(('127.0.0.1', %u), timeout=2)\n"
                 "    result = 'connected'\n"
                 "except OSError:\n"
                 "    result = 'blocked'\n", ntohs(addr.sin_port));
        assert_code_output("python", code, NULL, "{\"output\": \"blocked\"}");
        close(fd);
}
END_TEST

START_TEST(test_sandbox_filesystem_and_capabilities) {
        REQUIRE_BWRAP();

        assert_code_output("sh",
                           "touch /usr/pipelit-test 2>/dev/null && echo usr-writable || echo usr-readonly;"
                           "test -e /etc/passwd && echo host-etc || echo no-etc;"
                           "test -e /work && echo host-work || echo no-work;"
                           "echo data > /tmp/file && cat /tmp/file;"
                           "grep CapEff /proc/self/status",
                           NULL, "{\"output\": \"usr-readonly\\nno-etc\\nno-work\\ndata\\nCapEff:\\t0000000000000000\"}");
}
END_TEST

START_TEST(test_sandbox_memory_limit) {
        int r;
        TestRun *t;

        REQUIRE_BWRAP();

        t = code_run("python", "x = bytearray(4 * 1024 * 1024 * 1024)", NULL, NULL, &r);
        ck_assert_failed(t, r, "code");
        ck_assert_ptr_nonnull(strstr(t->run.error, "MemoryError"));
        test_run_free(t);
}
END_TEST

/* --- stopping it ---------------------------------------------------------------------------------- */

START_TEST(test_code_timeout_kills_everything) {
        usec_t start, elapsed;
        int r;
        TestRun *t;

        REQUIRE_BWRAP();

        start = now_monotonic_usec();
        t = code_run("sh", "sleep 4321.5 & sleep 4321.5; echo never", "{\"timeout\": 1}", NULL, &r);
        elapsed = now_monotonic_usec() - start;

        ck_assert_failed(t, r, "timeout");
        ck_assert_ptr_null(t->run.output);
        ck_assert_msg(elapsed >= 900000 && elapsed < 4000000, "took %llu us", (unsigned long long) elapsed);
        /* The background sleep went with the rest. */
        for (int i = 0; i < 20 && processes_with_argument("4321.5") > 0; i++)
                usleep(50000);
        ck_assert_uint_eq(processes_with_argument("4321.5"), 0);
        test_run_free(t);
}
END_TEST

typedef struct Canceller {
        TestRun *t;
        useconds_t after;
} Canceller;

static void *cancel_later(void *userdata) {
        Canceller *c = userdata;

        usleep(c->after);
        c->t->cancelled = true;
        return NULL;
}

START_TEST(test_code_cancel_kills_everything) {
        usec_t start, elapsed;
        pthread_t thread;
        Canceller c;
        TestRun *t;
        int r;

        REQUIRE_BWRAP();

        t = code_run_new("python",
                         "import subprocess, time\n"
                         "subprocess.Popen(['sleep', '4321.6'])\n"
                         "time.sleep(4321.6)\n", NULL, NULL);
        c = (Canceller) { .t = t, .after = 500000 };
        ck_assert_int_eq(pthread_create(&thread, NULL, cancel_later, &c), 0);

        start = now_monotonic_usec();
        r = component_code(&t->run);
        elapsed = now_monotonic_usec() - start;
        pthread_join(thread, NULL);

        ck_assert_failed(t, r, "cancelled");
        ck_assert_msg(elapsed >= 450000 && elapsed < 2500000, "took %llu us", (unsigned long long) elapsed);
        for (int i = 0; i < 20 && processes_with_argument("4321.6") > 0; i++)
                usleep(50000);
        ck_assert_uint_eq(processes_with_argument("4321.6"), 0);
        test_run_free(t);
}
END_TEST

START_TEST(test_code_execution_deadline) {
        usec_t start;
        TestRun *t;
        int r;

        REQUIRE_BWRAP();

        t = code_run_new("sh", "sleep 30", "{\"timeout\": 60}", NULL);
        start = now_monotonic_usec();
        t->run.deadline = start + 400000;
        r = component_code(&t->run);
        ck_assert_failed(t, r, "timeout");
        ck_assert_uint_lt(now_monotonic_usec() - start, 2500000);
        test_run_free(t);

        /* Already past it: nothing starts. */
        t = code_run_new("sh", "echo hi", NULL, NULL);
        t->run.deadline = now_monotonic_usec() - 1;
        r = component_code(&t->run);
        ck_assert_failed(t, r, "timeout");
        test_run_free(t);
}
END_TEST

START_TEST(test_code_output_limit) {
        int r;
        TestRun *t;

        REQUIRE_BWRAP();

        t = code_run("sh", "yes", "{\"timeout\": 20}", NULL, &r);
        ck_assert_failed(t, r, "limit");
        ck_assert(!t->run.retryable);
        test_run_free(t);
}
END_TEST

/* --- settings and refusal ------------------------------------------------------------------------- */

START_TEST(test_code_bad_settings) {
        static const char *const configs[] = {
                "{\"language\": \"ruby\", \"code\": \"puts 1\"}",
                "{\"language\": \"python\", \"code\": \"\"}",
                "{\"language\": \"python\"}",
                "{\"language\": \"python\", \"code\": 5}",
                "{\"language\": \"sh\", \"code\": \"echo\", \"timeout\": 0}",
                "{\"language\": \"sh\", \"code\": \"echo\", \"timeout\": \"forever\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                TestRun *t = test_run_new("code", configs[i], context_text, NULL);
                int r = component_code(&t->run);

                ck_assert_msg(r < 0 && t->run.error_code && streq(t->run.error_code, "config"),
                              "%s: %s", configs[i], t->run.error ?: "succeeded");
                test_run_free(t);
        }
}
END_TEST

START_TEST(test_code_refuses_without_bwrap) {
        _cleanup_free_ char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
        TestRun *t = code_run_new("sh", "echo should not run", NULL, NULL);
        int r;

        ck_assert_int_eq(setenv("PATH", "/nonexistent-dir", 1), 0);
        r = component_code(&t->run);
        if (saved)
                setenv("PATH", saved, 1);

        ck_assert_failed(t, r, "sandbox");
        ck_assert_ptr_nonnull(strstr(t->run.error, "bubblewrap"));
        ck_assert(!t->run.retryable);
        ck_assert_ptr_null(t->run.output);
        test_run_free(t);
}
END_TEST

/* --- the sandbox interface itself ------------------------------------------------------------------ */

START_TEST(test_sandbox_run_direct) {
        static char *const wc[] = { (char *) "/bin/sh", (char *) "-c", (char *) "wc -c; echo err >&2; exit 7", NULL };
        static char *const relative[] = { (char *) "sh", NULL };
        _cleanup_free_ char *input = malloc(512 * 1024);
        SandboxResult result = {};
        SandboxOptions o = {
                .argv = wc,
                .input = input,
                .input_size = 512 * 1024,
                .timeout_usec = 20 * 1000000ULL,
        };

        REQUIRE_BWRAP();

        memset(input, 'x', 512 * 1024);
        ck_assert_int_eq(sandbox_run(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "exited");
        ck_assert_int_eq(result.exit_status, 7);
        ck_assert_str_eq(result.stdout_data, "524288\n");
        ck_assert_str_eq(result.stderr_data, "err\n");
        sandbox_result_done(&result);

        /* stderr beyond its limit is dropped and flagged. */
        {
                static char *const noisy[] = { (char *) "/bin/sh", (char *) "-c",
                                               (char *) "head -c 100000 /dev/zero >&2", NULL };
                SandboxOptions n = { .argv = noisy, .max_stderr = 1000 };

                ck_assert_int_eq(sandbox_run(&n, &result), 0);
                ck_assert_int_eq(result.exit_status, 0);
                ck_assert_uint_eq(result.stderr_size, 1000);
                ck_assert(result.stderr_truncated);
                sandbox_result_done(&result);
        }

        o.argv = relative;
        ck_assert_int_eq(sandbox_run(&o, &result), -EINVAL);
        o.argv = wc;
        o.bwrap_path = "/nonexistent/bwrap";
        ck_assert_int_eq(sandbox_run(&o, &result), -ENOENT);
}
END_TEST

static Suite *code_suite(void) {
        Suite *s = suite_create("code");
        TCase *tc;

        tc = tcase_create("snippets");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_python_result_return_and_stdout);
        tcase_add_test(tc, test_python_failures);
        tcase_add_test(tc, test_sh_snippets);
        suite_add_tcase(s, tc);

        tc = tcase_create("confinement");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_sandbox_no_network);
        tcase_add_test(tc, test_sandbox_filesystem_and_capabilities);
        tcase_add_test(tc, test_sandbox_memory_limit);
        suite_add_tcase(s, tc);

        tc = tcase_create("stopping");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_code_timeout_kills_everything);
        tcase_add_test(tc, test_code_cancel_kills_everything);
        tcase_add_test(tc, test_code_execution_deadline);
        tcase_add_test(tc, test_code_output_limit);
        suite_add_tcase(s, tc);

        tc = tcase_create("settings");
        tcase_add_test(tc, test_code_bad_settings);
        tcase_add_test(tc, test_code_refuses_without_bwrap);
        tcase_add_test(tc, test_sandbox_run_direct);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(code_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
