/* run_command's output as the model reads it: standard output, "[stderr] " lines, the exit
 * code when it failed, text that is always UTF-8, and a cut in the middle past the limit. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "engine/components/agent-tool-command.h"

static char *format(const char *out, const char *err, const char *last) {
        char *text = command_output_format(out, out ? strlen(out) : 0, err, err ? strlen(err) : 0, last,
                                           COMMAND_OUTPUT_MAX_CHARS);

        ck_assert_ptr_nonnull(text);
        return text;
}

START_TEST(test_stdout_stderr_and_exit_code) {
        _cleanup_free_ char *plain = format("a\nb\n", "", NULL);
        _cleanup_free_ char *both = format("out", "first\nsecond\n", "[exit code: 2]");
        _cleanup_free_ char *only_err = format("", "no such file\n", "[exit code: 1]");
        _cleanup_free_ char *unterminated = format("line\n", "half", NULL);
        _cleanup_free_ char *blank_lines = format("", "\n\nx\n", NULL);

        ck_assert_str_eq(plain, "a\nb");
        ck_assert_str_eq(both, "out\n[stderr] first\n[stderr] second\n[exit code: 2]");
        ck_assert_str_eq(only_err, "[stderr] no such file\n[exit code: 1]");
        ck_assert_str_eq(unterminated, "line\n[stderr] half");
        ck_assert_str_eq(blank_lines, "[stderr] \n[stderr] \n[stderr] x");
}
END_TEST

START_TEST(test_nothing_printed) {
        _cleanup_free_ char *nothing = format("", "", NULL);
        _cleanup_free_ char *newline = format("\n", NULL, NULL);
        _cleanup_free_ char *failed = format("", "", "[exit code: 3]");

        ck_assert_str_eq(nothing, "(no output)");
        ck_assert_str_eq(newline, "(no output)");
        ck_assert_str_eq(failed, "[exit code: 3]");
}
END_TEST

START_TEST(test_not_utf8) {
        static const char out[] = { 'a', '\0', 'b', (char) 0xff, 'c', (char) 0xc3, (char) 0xa9 };
        _cleanup_free_ char *text = command_output_format(out, sizeof(out), NULL, 0, NULL, COMMAND_OUTPUT_MAX_CHARS);

        /* NUL and a stray byte become U+FFFD; é stays. */
        ck_assert_str_eq(text, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xc3\xa9");
}
END_TEST

START_TEST(test_cut_in_the_middle) {
        size_t n = 120000;
        _cleanup_free_ char *out = malloc(n + 1), *text = NULL, *short_text = NULL, *exact = NULL;
        const char *note;

        ck_assert_ptr_nonnull(out);
        /* "HEAD", then x…, then "TAIL": both ends survive. */
        memset(out, 'x', n);
        memcpy(out, "HEAD", 4);
        memcpy(out + n - 4, "TAIL", 4);
        out[n] = '\0';
        text = command_output_format(out, n, "oops\n", 5, "[exit code: 1]", COMMAND_OUTPUT_MAX_CHARS);
        ck_assert_ptr_nonnull(text);
        ck_assert(strncmp(text, "HEADxxx", 7) == 0);
        note = strstr(text, "\n[... ");
        ck_assert_ptr_nonnull(note);
        ck_assert_uint_eq((size_t) (note - text), 25000);
        /* What was left out, counted: all but 2 × 25,000 of the whole text. */
        ck_assert(strncmp(note, "\n[... 70029 characters left out ...]\n", 37) == 0);
        ck_assert_str_eq(text + strlen(text) - strlen("TAIL\n[stderr] oops\n[exit code: 1]"),
                         "TAIL\n[stderr] oops\n[exit code: 1]");
        ck_assert_uint_eq(strlen(note + 37), 25000);

        /* Characters, not bytes: 2-byte ones are cut whole. */
        short_text = command_output_format("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, NULL, 0, NULL, 4);
        ck_assert_str_eq(short_text, "\xc3\xa9\xc3\xa9\n[... 1 characters left out ...]\n\xc3\xa9\xc3\xa9");
        exact = command_output_format("abcd", 4, NULL, 0, NULL, 4);
        ck_assert_str_eq(exact, "abcd");
}
END_TEST

static Suite *command_suite(void) {
        Suite *s = suite_create("run_command");
        TCase *tc = tcase_create("output");

        tcase_add_test(tc, test_stdout_stderr_and_exit_code);
        tcase_add_test(tc, test_nothing_printed);
        tcase_add_test(tc, test_not_utf8);
        tcase_add_test(tc, test_cut_in_the_middle);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(command_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
