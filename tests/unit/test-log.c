/* Log lines about executions: their PIPELIT_* fields as standard error shows them (the
 * journal gets the same fields and MESSAGE_ID=), levels and %m. */

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/message-ids.h"

#define EXECUTION "5f0c8a9e-3b7d-4a51-9c2e-7d1f0b6a4e21"

static int saved_stderr = -1;
static FILE *captured;

/* Standard error goes to a file until capture_end(), which returns what was written. */
static void capture_begin(void) {
        fflush(stderr);
        captured = tmpfile();
        ck_assert_ptr_nonnull(captured);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(saved_stderr, 0);
        ck_assert_int_ge(dup2(fileno(captured), STDERR_FILENO), 0);
}

static char *capture_end(void) {
        char *text = calloc(1, 4096);
        size_t n;

        fflush(stderr);
        ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
        close(saved_stderr);
        rewind(captured);
        n = fread(text, 1, 4095, captured);
        text[n] = '\0';
        fclose(captured);
        return text;
}

static void setup(void) {
        /* Not the journal: standard error, whatever runs the tests. */
        unsetenv("JOURNAL_STREAM");
        log_open();
        log_set_max_level(LOG_INFO);
}

START_TEST(test_execution_fields) {
        _cleanup_free_ char *text = NULL;

        capture_begin();
        log_execution(LOG_NOTICE, "weather-report", EXECUTION, "fetch", MESSAGE_ID_EXECUTION_FAILED,
                      "Execution %s of workflow '%s' failed: %s", EXECUTION, "weather-report", "Node fetch: 500");
        text = capture_end();

        /* MESSAGE_ID= is for the journal only. */
        ck_assert_str_eq(text, "pipelitd[notice]: Execution " EXECUTION " of workflow 'weather-report' failed: "
                               "Node fetch: 500 PIPELIT_WORKFLOW=weather-report PIPELIT_EXECUTION=" EXECUTION
                               " PIPELIT_NODE=fetch\n");
}
END_TEST

START_TEST(test_missing_fields_left_out) {
        _cleanup_free_ char *text = NULL;

        capture_begin();
        log_execution(LOG_WARNING, NULL, EXECUTION, NULL, NULL, "Cannot create execution %s yet", EXECUTION);
        log_execution(LOG_INFO, "", NULL, "", NULL, "nothing to say");
        log_message_id(LOG_INFO, MESSAGE_ID_DAEMON_STARTED, "pipelitd serving on %s", "127.0.0.1:8080");
        text = capture_end();

        ck_assert_str_eq(text, "pipelitd[warning]: Cannot create execution " EXECUTION " yet PIPELIT_EXECUTION="
                               EXECUTION "\n"
                               "pipelitd[info]: nothing to say\n"
                               "pipelitd[info]: pipelitd serving on 127.0.0.1:8080\n");
}
END_TEST

START_TEST(test_errno) {
        _cleanup_free_ char *text = NULL;
        int r, saved_errno;

        capture_begin();
        errno = EAGAIN;
        r = log_execution_errno(LOG_ERR, -ENOENT, "w", EXECUTION, "n", NULL, "Cannot commit node '%s': %m", "n");
        saved_errno = errno;
        text = capture_end();

        ck_assert_int_eq(r, -ENOENT);
        /* %m shows the error passed in; errno itself is left alone. */
        ck_assert_int_eq(saved_errno, EAGAIN);
        ck_assert_str_eq(text, "pipelitd[err]: Cannot commit node 'n': No such file or directory "
                               "PIPELIT_WORKFLOW=w PIPELIT_EXECUTION=" EXECUTION " PIPELIT_NODE=n\n");
}
END_TEST

START_TEST(test_filtered_level) {
        _cleanup_free_ char *text = NULL;
        int r;

        log_set_max_level(LOG_NOTICE);
        capture_begin();
        r = log_execution_errno(LOG_INFO, EIO, "w", EXECUTION, NULL, NULL, "not shown");
        log_execution(LOG_NOTICE, "w", EXECUTION, NULL, NULL, "shown");
        text = capture_end();

        ck_assert_int_eq(r, -EIO);
        ck_assert_str_eq(text, "pipelitd[notice]: shown PIPELIT_WORKFLOW=w PIPELIT_EXECUTION=" EXECUTION "\n");
}
END_TEST

START_TEST(test_longest_values_whole) {
        _cleanup_free_ char *text = NULL, *wanted = NULL;
        char slug[256], node[65];

        /* The longest slug and node id the store accepts. */
        memset(slug, 'w', sizeof slug - 1);
        slug[sizeof slug - 1] = '\0';
        memset(node, 'n', sizeof node - 1);
        node[sizeof node - 1] = '\0';

        capture_begin();
        log_execution(LOG_INFO, slug, EXECUTION, node, NULL, "long");
        text = capture_end();

        ck_assert_int_ge(asprintf(&wanted, "pipelitd[info]: long PIPELIT_WORKFLOW=%s PIPELIT_EXECUTION=%s "
                                  "PIPELIT_NODE=%s\n", slug, EXECUTION, node), 0);
        ck_assert_str_eq(text, wanted);
}
END_TEST

START_TEST(test_message_ids) {
        static const char *const ids[] = {
                MESSAGE_ID_DAEMON_STARTED,
                MESSAGE_ID_DAEMON_STOPPING,
                MESSAGE_ID_EXECUTION_FAILED,
                MESSAGE_ID_BUDGET_EXCEEDED,
        };

        /* 128 bits in lowercase hex, as journalctl MESSAGE_ID=… and the catalog want them. */
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                ck_assert_uint_eq(strlen(ids[i]), 32);
                ck_assert_uint_eq(strspn(ids[i], "0123456789abcdef"), 32);
                for (size_t j = 0; j < i; j++)
                        ck_assert_str_ne(ids[i], ids[j]);
        }
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("execution");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_execution_fields);
        tcase_add_test(tc, test_missing_fields_left_out);
        tcase_add_test(tc, test_errno);
        tcase_add_test(tc, test_filtered_level);
        tcase_add_test(tc, test_longest_values_whole);
        tcase_add_test(tc, test_message_ids);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(log_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
