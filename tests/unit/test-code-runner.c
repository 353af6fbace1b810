/* The code socket without systemd: pipelit-code-runner started by hand on a socket pair
 * (as systemd starts it on an accepted connection), driven by the code socket backend or by
 * hand. Its protocol; what comes back (output, exit code, signal, limits); the timeout, the
 * output limit and cancelling (closing the connection) kill everything the program started;
 * a runner that dies, is stopped or talks nonsense never hangs or fools the daemon; and
 * sandbox_run() picks the code socket when one answers. The sandbox around the runner is the
 * unit file's: tests/system/test-sandbox-systemd.py runs it under systemd. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/code-protocol.h"
#include "sandbox/sandbox-internal.h"

#define SEC UINT64_C(1000000)

/* --- the protocol ----------------------------------------------------------------------------- */

START_TEST(test_request_round_trip) {
        static char *const argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo \"$1\"", (char *) "", NULL };
        CodeRequestHeader limits = { .timeout_usec = 5 * SEC, .max_stdout = 100 }, h;
        _cleanup_free_ char *buf = NULL;
        char **split = NULL;
        size_t size;

        ck_assert_int_eq(code_request_build(&limits, argv, NULL, 12, &buf, &size), 0);
        ck_assert_uint_eq(size, sizeof(h) + strlen("/bin/sh") + 1 + 3 + strlen("echo \"$1\"") + 1 + 1);
        memcpy(&h, buf, sizeof(h));
        ck_assert_int_eq(code_request_check(&h), 0);
        ck_assert_uint_eq(h.argc, 4);
        ck_assert_uint_eq(h.input_size, 12);
        ck_assert_uint_eq(h.timeout_usec, 5 * SEC);
        ck_assert_uint_eq(h.max_stdout, 100);

        ck_assert_int_eq(code_request_split_argv(buf + sizeof(h), (size_t) h.argv_size, h.argc, &split), 0);
        for (size_t i = 0; i < 4; i++)
                ck_assert_str_eq(split[i], argv[i]);
        ck_assert_ptr_null(split[4]);
        free(split);
}
END_TEST

START_TEST(test_request_refused) {
        static char *const relative[] = { (char *) "sh", NULL };
        static char *const none[] = { NULL };
        CodeRequestHeader limits = {}, h = { .magic = CODE_PROTOCOL_MAGIC, .argc = 1, .argv_size = 8 };
        char *buf = NULL, **split = NULL;
        size_t size;

        ck_assert_int_eq(code_request_build(&limits, relative, NULL, 0, &buf, &size), -EINVAL);
        ck_assert_int_eq(code_request_build(&limits, none, NULL, 0, &buf, &size), -EINVAL);

        ck_assert_int_eq(code_request_check(&h), 0);
        h.magic = CODE_PROTOCOL_MAGIC + 1;              /* another version */
        ck_assert_int_eq(code_request_check(&h), -EPROTO);
        h.magic = CODE_PROTOCOL_MAGIC;
        h.argc = 0;
        ck_assert_int_eq(code_request_check(&h), -E2BIG);
        h.argc = CODE_ARGC_MAX + 1;
        ck_assert_int_eq(code_request_check(&h), -E2BIG);
        h.argc = 1;
        h.argv_size = CODE_ARGV_SIZE_MAX + 1;
        ck_assert_int_eq(code_request_check(&h), -E2BIG);

        /* Arguments that are not exactly argc strings, or not a program by its path. */
        ck_assert_int_eq(code_request_split_argv("/bin/sh", 7, 1, &split), -EPROTO);     /* no NUL */
        ck_assert_int_eq(code_request_split_argv("/bin/sh\0-c\0", 11, 1, &split), -EPROTO);
        ck_assert_int_eq(code_request_split_argv("/bin/sh\0", 8, 2, &split), -EPROTO);
        ck_assert_int_eq(code_request_split_argv("sh\0", 3, 1, &split), -EPROTO);
        ck_assert_int_eq(code_request_split_argv("", 0, 1, &split), -EPROTO);
        ck_assert_ptr_null(split);
}
END_TEST

START_TEST(test_frame_check) {
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { CODE_FRAME_STDOUT, 1 }), 0);
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { CODE_FRAME_STDERR, CODE_FRAME_DATA_MAX }), 0);
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { CODE_FRAME_END, sizeof(CodeEndPayload) }), 0);

        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { CODE_FRAME_STDOUT, 0 }), -EPROTO);
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { CODE_FRAME_STDOUT, CODE_FRAME_DATA_MAX + 1 }), -EPROTO);
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { CODE_FRAME_END, 4 }), -EPROTO);
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { 0, 4 }), -EPROTO);
        ck_assert_int_eq(code_frame_check(&(CodeFrameHeader) { 7, 4 }), -EPROTO);
}
END_TEST

/* --- a runner on a socket pair ----------------------------------------------------------------- */

/* Starts program (the runner) with one end of a socket pair as its standard input and
 * output, as systemd does with StandardInput=socket; returns our end. */
static int spawn_on_socket(const char *program, pid_t *ret_pid) {
        int sv[2];
        pid_t pid;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
                        _exit(126);
                execl(program, program, NULL);
                _exit(127);
        }
        close(sv[1]);
        *ret_pid = pid;
        return sv[0];
}

static int wait_exit(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs o through a fresh runner; returns the runner's exit status. */
static int run_on_runner(const SandboxOptions *o, SandboxResult *result) {
        pid_t pid;
        int fd = spawn_on_socket(CODE_RUNNER, &pid);

        ck_assert_int_eq(sandbox_run_socket(o, fd, result), 0);
        return wait_exit(pid);
}

/* How many processes have marker in their command line. */
static unsigned processes_with(const char *marker) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                char path[300], cmdline[4096];
                ssize_t k;
                int fd;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                k = read(fd, cmdline, sizeof(cmdline) - 1);
                close(fd);
                if (k <= 0)
                        continue;
                for (ssize_t i = 0; i < k; i++)
                        if (cmdline[i] == '\0')
                                cmdline[i] = ' ';
                cmdline[k] = '\0';
                n += strstr(cmdline, marker) != NULL;
        }
        closedir(d);
        return n;
}

static void assert_no_process_with(const char *marker) {
        /* Killed with SIGKILL: gone as soon as the kernel reaped them. */
        for (int i = 0; i < 50 && processes_with(marker) > 0; i++)
                usleep(20000);
        ck_assert_uint_eq(processes_with(marker), 0);
}

#define SH(script) ((char *const[]) { (char *) "/bin/sh", (char *) "-c", (char *) (script), NULL })

START_TEST(test_output_input_and_exit_status) {
        _cleanup_free_ char *input = malloc(512 * 1024);
        SandboxOptions o = {
                .argv = SH("wc -c; printf '%s\\n' '$$ ${HOME}' \"$HOME $TMPDIR $PWD\"; echo oops >&2; exit 7"),
                .input = input,
                .input_size = 512 * 1024,
                .timeout_usec = 20 * SEC,
        };
        SandboxResult result = {};

        memset(input, 'x', 512 * 1024);
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "exited");
        ck_assert_int_eq(result.exit_status, 7);
        /* All the input, "$" as it was, and the environment every backend gives. */
        ck_assert_str_eq(result.stdout_data, "524288\n$$ ${HOME}\n/tmp /tmp /tmp\n");
        ck_assert_str_eq(result.stderr_data, "oops\n");
        ck_assert(!result.stderr_truncated);
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_input_the_program_does_not_read) {
        _cleanup_free_ char *input = malloc(4 * 1024 * 1024);
        SandboxOptions o = { .argv = SH("echo done"), .input = input, .input_size = 4 * 1024 * 1024,
                             .timeout_usec = 20 * SEC };
        SandboxResult result = {};

        /* More than any socket buffer holds: the runner takes it and drops it. */
        memset(input, 'x', 4 * 1024 * 1024);
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "exited");
        ck_assert_int_eq(result.exit_status, 0);
        ck_assert_str_eq(result.stdout_data, "done\n");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_what_the_program_gets) {
        static char *const argv[] = {
                (char *) "/usr/bin/python3", (char *) "-I", (char *) "-c",
                (char *) "import os, resource\n"
                         "print(sorted(os.listdir('/proc/self/fd')))\n"
                         "print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)\n"
                         "print(resource.getrlimit(resource.RLIMIT_FSIZE)[0])\n"
                         "print(resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
                         "print(os.getpgrp() == os.getpid())\n",
                NULL,
        };
        SandboxOptions o = { .argv = argv, .timeout_usec = 20 * SEC, .max_address_space = UINT64_C(512) << 20,
                             .max_file_size = 4096 };
        SandboxResult result = {};

        if (access(argv[0], X_OK) < 0) {
                fprintf(stderr, "python3 is not installed: skipping this test\n");
                return;
        }
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_msg(result.end == SANDBOX_EXITED && result.exit_status == 0, "%s", result.stderr_data);
        /* Its three streams and what it opened to list them; not the connection. A group of
         * its own, and the limits asked for. */
        ck_assert_str_eq(result.stdout_data, "['0', '1', '2', '3']\n512\n4096\n0\nTrue\n");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_killed_by_a_signal) {
        SandboxOptions o = { .argv = SH("echo before; kill -TERM $$"), .timeout_usec = 20 * SEC };
        SandboxResult result = {};

        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "signaled");
        ck_assert_int_eq(result.exit_status, SIGTERM);
        ck_assert_str_eq(result.stdout_data, "before\n");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_program_that_cannot_start) {
        static char *const argv[] = { (char *) "/nonexistent/program", NULL };
        SandboxOptions o = { .argv = argv, .timeout_usec = 20 * SEC };
        SandboxResult result = {};

        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "setup-failed");
        ck_assert_str_eq(result.stderr_data,
                         "pipelit-code-runner: cannot run /nonexistent/program: No such file or directory\n");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_timeout_kills_everything) {
        SandboxOptions o = { .argv = SH("echo started; sleep 4331.5 & sleep 4331.5; echo never"),
                             .timeout_usec = SEC / 2 };
        SandboxResult result = {};

        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "timed-out");
        ck_assert_str_eq(result.stdout_data, "started\n");
        ck_assert_uint_ge(result.duration_usec, SEC / 2);
        ck_assert_uint_lt(result.duration_usec, 3 * SEC);
        assert_no_process_with("4331.5");
        sandbox_result_done(&result);
}
END_TEST

static usec_t stop_at;

static bool stop_requested(void *userdata) {
        return now_monotonic_usec() >= stop_at;
}

START_TEST(test_cancel_kills_everything) {
        SandboxOptions o = { .argv = SH("sleep 4332.5 & sleep 4332.5"), .timeout_usec = 20 * SEC,
                             .should_stop = stop_requested };
        SandboxResult result = {};
        usec_t start = now_monotonic_usec();

        stop_at = start + SEC / 2;
        /* Closing the connection is all it takes: the runner kills the program and exits. */
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "stopped");
        ck_assert_uint_lt(now_monotonic_usec() - start, 3 * SEC);
        assert_no_process_with("4332.5");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_output_limit) {
        static char *const yes[] = { (char *) "/usr/bin/yes", NULL };
        SandboxOptions o = { .argv = yes, .timeout_usec = 20 * SEC, .max_stdout = 10000 };
        SandboxResult result = {};
        char expected[10001];

        for (size_t i = 0; i < 10000; i += 2)
                memcpy(expected + i, "y\n", 2);
        expected[10000] = '\0';

        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "output-limit");
        ck_assert_uint_eq(result.stdout_size, 10000);
        ck_assert_str_eq(result.stdout_data, expected);
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_stderr_limit) {
        SandboxOptions o = { .argv = SH("head -c 100000 /dev/zero >&2; echo fine"), .timeout_usec = 20 * SEC,
                             .max_stderr = 1000 };
        SandboxResult result = {};

        /* Standard error past its limit is dropped, and the program goes on. */
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "exited");
        ck_assert_int_eq(result.exit_status, 0);
        ck_assert_str_eq(result.stdout_data, "fine\n");
        ck_assert_uint_eq(result.stderr_size, 1000);
        ck_assert(result.stderr_truncated);
        sandbox_result_done(&result);
}
END_TEST

/* --- the runner by hand: what it enforces itself ------------------------------------------------ */

typedef struct Answer {
        char out[65536], err[65536];
        size_t out_size, err_size;
        bool ended;
        CodeEndPayload end;
} Answer;

static void read_exact(int fd, void *buf, size_t n) {
        char *p = buf;

        while (n > 0) {
                ssize_t k = read(fd, p, n);

                ck_assert_int_gt(k, 0);
                p += k;
                n -= (size_t) k;
        }
}

/* Sends a request as pipelitd would, without input, and reads the whole answer. */
static void ask_runner(const CodeRequestHeader *limits, char *const *argv, Answer *a, int *ret_runner_status) {
        _cleanup_free_ char *request = NULL;
        size_t size;
        pid_t pid;
        int fd = spawn_on_socket(CODE_RUNNER, &pid);

        *a = (Answer) {};
        ck_assert_int_eq(code_request_build(limits, argv, NULL, 0, &request, &size), 0);
        ck_assert_int_eq(write(fd, request, size), (ssize_t) size);

        for (;;) {
                CodeFrameHeader h;
                char payload[CODE_FRAME_DATA_MAX];
                ssize_t k = read(fd, &h, sizeof(h));

                if (k == 0)
                        break;
                ck_assert_int_eq(k, sizeof(h));
                ck_assert_int_eq(code_frame_check(&h), 0);
                ck_assert(!a->ended);           /* nothing after the end */
                read_exact(fd, payload, h.size);
                if (h.type == CODE_FRAME_END) {
                        memcpy(&a->end, payload, sizeof(a->end));
                        a->ended = true;
                } else if (h.type == CODE_FRAME_STDOUT) {
                        ck_assert_uint_le(a->out_size + h.size, sizeof(a->out));
                        memcpy(a->out + a->out_size, payload, h.size);
                        a->out_size += h.size;
                } else {
                        ck_assert_uint_le(a->err_size + h.size, sizeof(a->err));
                        memcpy(a->err + a->err_size, payload, h.size);
                        a->err_size += h.size;
                }
        }
        close(fd);
        *ret_runner_status = wait_exit(pid);
}

START_TEST(test_runner_enforces_timeout) {
        CodeRequestHeader limits = { .timeout_usec = SEC / 2, .max_stdout = 1000, .max_stderr = 1000 };
        usec_t start = now_monotonic_usec();
        Answer a;
        int status;

        ask_runner(&limits, SH("echo started; sleep 4333.5 & sleep 4333.5"), &a, &status);
        ck_assert_int_eq(status, 0);
        ck_assert(a.ended);
        ck_assert_uint_eq(a.end.end, CODE_END_TIMED_OUT);
        ck_assert_uint_eq(a.out_size, strlen("started\n"));
        ck_assert_uint_ge(now_monotonic_usec() - start, SEC / 2);
        ck_assert_uint_lt(now_monotonic_usec() - start, 3 * SEC);
        assert_no_process_with("4333.5");
}
END_TEST

START_TEST(test_runner_enforces_output_limits) {
        CodeRequestHeader limits = { .timeout_usec = 20 * SEC, .max_stdout = 3000, .max_stderr = 10 };
        Answer a;
        int status;

        ask_runner(&limits, SH("echo 0123456789abcdef >&2; exec yes"), &a, &status);
        ck_assert_int_eq(status, 0);
        ck_assert(a.ended);
        ck_assert_uint_eq(a.end.end, CODE_END_OUTPUT_LIMIT);
        ck_assert_uint_eq(a.end.flags, CODE_END_STDERR_TRUNCATED);
        ck_assert_uint_eq(a.out_size, 3000);
        ck_assert_uint_eq(a.err_size, 10);
        ck_assert(memcmp(a.err, "0123456789", 10) == 0);
}
END_TEST

/* Reads one frame from the runner: its header, and the payload into buf. */
static CodeFrameHeader read_frame(int fd, void *buf) {
        CodeFrameHeader h;

        read_exact(fd, &h, sizeof(h));
        ck_assert_int_eq(code_frame_check(&h), 0);
        read_exact(fd, buf, h.size);
        return h;
}

START_TEST(test_runner_asks_before_entering_a_workspace) {
        static char *const argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo ran-4351", NULL };
        CodeRequestHeader limits = { .timeout_usec = 10 * SEC, .max_stdout = 1000, .max_stderr = 1000 };
        _cleanup_free_ char *request = NULL;
        char payload[CODE_FRAME_DATA_MAX], granted = CODE_WORKSPACE_GRANTED, text[CODE_FRAME_DATA_MAX + 1] = "";
        CodeHelloPayload hello;
        CodeEndPayload end;
        CodeFrameHeader h;
        size_t size;
        pid_t pid;
        int fd;

        /* Names that are none never leave us. */
        ck_assert_int_eq(code_request_build(&limits, argv, "../etc", 0, &request, &size), -EINVAL);
        ck_assert_int_eq(code_request_build(&limits, argv, "7/agent", 0, &request, &size), 0);

        /* It says who it is, and waits: closing instead leaves nothing run. */
        fd = spawn_on_socket(CODE_RUNNER, &pid);
        ck_assert_int_eq(write(fd, request, size), (ssize_t) size);
        h = read_frame(fd, payload);
        ck_assert_uint_eq(h.type, CODE_FRAME_HELLO);
        memcpy(&hello, payload, sizeof(hello));
        ck_assert_uint_eq(hello.uid, getuid());
        close(fd);
        ck_assert_int_eq(wait_exit(pid), 0);

        /* Let in, it goes to the workspace where the unit binds them; here there is none, and
         * it says so instead of running elsewhere. */
        fd = spawn_on_socket(CODE_RUNNER, &pid);
        ck_assert_int_eq(write(fd, request, size), (ssize_t) size);
        h = read_frame(fd, payload);
        ck_assert_uint_eq(h.type, CODE_FRAME_HELLO);
        ck_assert_int_eq(write(fd, &granted, 1), 1);
        for (;;) {
                h = read_frame(fd, payload);
                if (h.type == CODE_FRAME_END)
                        break;
                ck_assert_uint_eq(h.type, CODE_FRAME_STDERR);
                strncat(text, payload, MIN((size_t) h.size, sizeof(text) - strlen(text) - 1));
        }
        memcpy(&end, payload, sizeof(end));
        ck_assert_uint_eq(end.end, CODE_END_SETUP_FAILED);
        ck_assert_ptr_nonnull(strstr(text, "cannot enter the workspace /run/workspaces/7/agent/home"));
        close(fd);
        ck_assert_int_eq(wait_exit(pid), 0);
}
END_TEST

START_TEST(test_socket_refuses_what_its_unit_cannot_do) {
        _cleanup_(sandbox_result_done) SandboxResult result = {};
        char root[] = "/tmp/pipelit-code-runner-XXXXXX";
        SandboxOptions o = { .argv = SH("echo ran"), .timeout_usec = 10 * SEC, .allow_network = true };
        gid_t group;

        /* No network for one run: the unit has none for anyone. */
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_int_eq(result.end, SANDBOX_SETUP_FAILED);
        ck_assert_ptr_nonnull(strstr(result.stderr_data, "has no network"));
        ck_assert_uint_eq(result.stdout_size, 0);

        /* A workspace for another user needs the group that shares it. */
        if (sandbox_workspace_group(&group) >= 0)
                return;
        ck_assert_ptr_nonnull(mkdtemp(root));
        o.allow_network = false;
        o.workspace_root = root;
        o.workspace = "1/agent";
        sandbox_result_done(&result);
        ck_assert_int_eq(run_on_runner(&o, &result), 0);
        ck_assert_int_eq(result.end, SANDBOX_SETUP_FAILED);
        ck_assert_ptr_nonnull(strstr(result.stderr_data, "pipelit-workspace does not exist"));
        ck_assert_int_eq(rmdir(root), 0);
}
END_TEST

START_TEST(test_runner_refuses_bad_requests) {
        static const char garbage[64] = "GET / HTTP/1.1\r\n\r\n";
        CodeRequestHeader h = { .magic = CODE_PROTOCOL_MAGIC, .argc = 1, .argv_size = 3 };
        pid_t pid;
        char c;
        int fd;

        /* Not our protocol: no answer, and nothing runs. */
        fd = spawn_on_socket(CODE_RUNNER, &pid);
        ck_assert_int_eq(write(fd, garbage, sizeof(garbage)), sizeof(garbage));
        ck_assert_int_eq(read(fd, &c, 1), 0);
        close(fd);
        ck_assert_int_eq(wait_exit(pid), 1);

        /* A relative program. */
        fd = spawn_on_socket(CODE_RUNNER, &pid);
        ck_assert_int_eq(write(fd, &h, sizeof(h)), sizeof(h));
        ck_assert_int_eq(write(fd, "sh", 3), 3);
        ck_assert_int_eq(read(fd, &c, 1), 0);
        close(fd);
        ck_assert_int_eq(wait_exit(pid), 1);

        /* Closed before asking anything (someone looked whether it answers): a quiet exit. */
        fd = spawn_on_socket(CODE_RUNNER, &pid);
        close(fd);
        ck_assert_int_eq(wait_exit(pid), 0);

        /* Not on a socket. */
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);

                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(126);
                execl(CODE_RUNNER, CODE_RUNNER, NULL);
                _exit(127);
        }
        ck_assert_int_eq(wait_exit(pid), 2);
}
END_TEST

/* --- a runner that fails the daemon ------------------------------------------------------------- */

START_TEST(test_runner_that_dies) {
        static char *const sleep_argv[] = { (char *) "/bin/sleep", (char *) "4334.5", NULL };
        SandboxOptions o = { .argv = sleep_argv, .timeout_usec = 20 * SEC };
        SandboxResult result = {};
        pid_t pid;
        int fd = spawn_on_socket(CODE_RUNNER, &pid);

        /* Killed while the program runs: no answer, and the program dies with it (what it
         * started in turn goes with the unit's cgroup: tests/system). */
        if (fork() == 0) {
                usleep(300000);
                kill(pid, SIGKILL);
                _exit(0);
        }
        ck_assert_int_eq(sandbox_run_socket(&o, fd, &result), 0);
        ck_assert_int_eq(wait_exit(pid), 128 + SIGKILL);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "setup-failed");
        ck_assert_ptr_nonnull(strstr(result.stderr_data, "ended without an answer"));
        assert_no_process_with("4334.5");
        sandbox_result_done(&result);

        /* Nothing behind the connection at all. */
        fd = spawn_on_socket("/bin/true", &pid);
        ck_assert_int_eq(sandbox_run_socket(&o, fd, &result), 0);
        ck_assert_int_eq(wait_exit(pid), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "setup-failed");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_runner_stopped_by_the_service_manager) {
        SandboxOptions o = { .argv = SH("echo started; sleep 4335.5"), .timeout_usec = 20 * SEC };
        SandboxResult result = {};
        pid_t pid;
        int fd = spawn_on_socket(CODE_RUNNER, &pid);

        /* What systemd does at RuntimeMaxSec= or a stop (KillMode=mixed). */
        if (fork() == 0) {
                usleep(300000);
                kill(pid, SIGTERM);
                _exit(0);
        }
        ck_assert_int_eq(sandbox_run_socket(&o, fd, &result), 0);
        ck_assert_int_eq(wait_exit(pid), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "signaled");
        ck_assert_int_eq(result.exit_status, SIGKILL);
        ck_assert_str_eq(result.stdout_data, "started\n");
        ck_assert_ptr_nonnull(strstr(result.stderr_data, "the service manager stopped the sandbox"));
        assert_no_process_with("4335.5");
        sandbox_result_done(&result);
}
END_TEST

/* A fake runner that answers with a frame the protocol does not have. */
START_TEST(test_runner_talking_nonsense) {
        SandboxOptions o = { .argv = SH("true"), .timeout_usec = 20 * SEC };
        SandboxResult result = {};
        int sv[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(write(sv[1], &(CodeFrameHeader) { CODE_FRAME_STDOUT, CODE_FRAME_DATA_MAX * 2 },
                               sizeof(CodeFrameHeader)), sizeof(CodeFrameHeader));
        ck_assert_int_eq(sandbox_run_socket(&o, sv[0], &result), -EPROTO);
        close(sv[1]);
}
END_TEST

/* --- sandbox_run() and the code socket ----------------------------------------------------------- */

/* Serves a listening socket as systemd does with Accept=yes: a runner per connection. */
static pid_t serve_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;
        pid_t pid;

        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 16), 0);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* A group of its own: killing it ends the listening at once, also in a
                 * child that has not yet let go of the socket. */
                if (setpgid(0, 0) < 0)
                        _exit(1);
                for (;;) {
                        int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

                        if (conn < 0)
                                _exit(1);
                        if (fork() == 0) {
                                /* Not listening a moment longer than the server. */
                                close(fd);
                                if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
                                        _exit(126);
                                execl(CODE_RUNNER, CODE_RUNNER, NULL);
                                _exit(127);
                        }
                        close(conn);
                        while (waitpid(-1, NULL, WNOHANG) > 0)
                                ;
                }
        }
        close(fd);
        (void) setpgid(pid, pid);
        return pid;
}

START_TEST(test_run_picks_the_code_socket) {
        char dir[] = "/tmp/test-code-runner-XXXXXX", path[128];
        SandboxOptions o = { .argv = SH("echo via socket; exit 4"), .timeout_usec = 20 * SEC };
        SandboxResult result = {};
        SandboxBackend b;
        pid_t server;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/code.socket", dir);
        ck_assert_int_eq(unsetenv("PIPELIT_SANDBOX"), 0);

        /* Nothing there: not the code socket, whichever backend comes next. */
        ck_assert_int_eq(setenv("PIPELIT_CODE_SOCKET", path, 1), 0);
        ck_assert_int_eq(sandbox_pick_backend(&o, &b), 0);
        ck_assert_int_ne(b, SANDBOX_BACKEND_SOCKET);
        /* Asked for by name, it is refused as missing. */
        o.backend = SANDBOX_BACKEND_SOCKET;
        ck_assert_int_eq(sandbox_run(&o, &result), -ENOENT);
        o.backend = SANDBOX_BACKEND_AUTO;

        server = serve_socket(path);
        ck_assert_int_eq(sandbox_pick_backend(&o, &b), 0);
        ck_assert_int_eq(b, SANDBOX_BACKEND_SOCKET);
        ck_assert_int_eq(sandbox_run(&o, &result), 0);
        ck_assert_str_eq(sandbox_end_to_string(result.end), "exited");
        ck_assert_int_eq(result.exit_status, 4);
        ck_assert_str_eq(result.stdout_data, "via socket\n");
        sandbox_result_done(&result);

        /* The options' path comes before the environment's. */
        ck_assert_int_eq(setenv("PIPELIT_CODE_SOCKET", "/nonexistent/code.socket", 1), 0);
        o.socket_path = path;
        ck_assert_int_eq(sandbox_pick_backend(&o, &b), 0);
        ck_assert_int_eq(b, SANDBOX_BACKEND_SOCKET);
        ck_assert_str_eq(sandbox_code_socket_path(&o), path);
        o.socket_path = NULL;
        ck_assert_str_eq(sandbox_code_socket_path(&o), "/nonexistent/code.socket");
        ck_assert_int_eq(unsetenv("PIPELIT_CODE_SOCKET"), 0);
        ck_assert_str_eq(sandbox_code_socket_path(&o), "/run/pipelit/code.socket");

        ck_assert_int_eq(kill(-server, SIGKILL), 0);
        ck_assert_int_eq(waitpid(server, NULL, 0), server);
        ck_assert_int_eq(unlink(path), 0);

        /* A socket file with nobody listening on it (left behind) is no code socket either. */
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                _cleanup_close_ int stale = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                strcpy(sa.sun_path, path);
                ck_assert_int_ge(stale, 0);
                ck_assert_int_eq(bind(stale, (struct sockaddr *) &sa, sizeof(sa)), 0);
                ck_assert_int_eq(sandbox_pick_backend(&o, &b), 0);
                ck_assert_int_ne(b, SANDBOX_BACKEND_SOCKET);
        }

        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *code_runner_suite(void) {
        Suite *s = suite_create("code-runner");
        TCase *tc;

        tc = tcase_create("protocol");
        tcase_add_test(tc, test_request_round_trip);
        tcase_add_test(tc, test_request_refused);
        tcase_add_test(tc, test_frame_check);
        suite_add_tcase(s, tc);

        tc = tcase_create("running");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_output_input_and_exit_status);
        tcase_add_test(tc, test_input_the_program_does_not_read);
        tcase_add_test(tc, test_what_the_program_gets);
        tcase_add_test(tc, test_killed_by_a_signal);
        tcase_add_test(tc, test_program_that_cannot_start);
        tcase_add_test(tc, test_timeout_kills_everything);
        tcase_add_test(tc, test_cancel_kills_everything);
        tcase_add_test(tc, test_output_limit);
        tcase_add_test(tc, test_stderr_limit);
        suite_add_tcase(s, tc);

        tc = tcase_create("runner");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_runner_enforces_timeout);
        tcase_add_test(tc, test_runner_enforces_output_limits);
        tcase_add_test(tc, test_runner_refuses_bad_requests);
        tcase_add_test(tc, test_runner_asks_before_entering_a_workspace);
        tcase_add_test(tc, test_socket_refuses_what_its_unit_cannot_do);
        tcase_add_test(tc, test_runner_that_dies);
        tcase_add_test(tc, test_runner_stopped_by_the_service_manager);
        tcase_add_test(tc, test_runner_talking_nonsense);
        suite_add_tcase(s, tc);

        tc = tcase_create("choosing");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_run_picks_the_code_socket);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(code_runner_suite());
        int failed;

        /* A runner that goes away must not take the test with it. */
        signal(SIGPIPE, SIG_IGN);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
