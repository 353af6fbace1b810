/* The sandbox's backends and how one is chosen: the rules of sandbox.h (an explicit choice,
 * $PIPELIT_SANDBOX, the code socket, root in a system service under a reachable systemd,
 * else bubblewrap); what a transient unit gets (its name, the directories it hides, its
 * limits); the bubblewrap backend through the same interface; and the refusal to run
 * anything when the chosen backend is missing. The code socket's runner: test-code-runner.c.
 * Running a transient unit or the socket's units needs systemd as PID 1: see
 * tests/system/test-sandbox-systemd.py. */

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "sandbox/sandbox-internal.h"

static unsigned socket_probes, systemd_probes;
static bool socket_answer, systemd_answer;

static bool fake_socket_probe(void *userdata) {
        socket_probes++;
        return socket_answer;
}

static bool fake_systemd_probe(void *userdata) {
        systemd_probes++;
        return systemd_answer;
}

static const SandboxProbes fake_probes = {
        .code_socket = fake_socket_probe,
        .systemd = fake_systemd_probe,
};

static void probes_reset(bool socket, bool systemd) {
        socket_probes = systemd_probes = 0;
        socket_answer = socket;
        systemd_answer = systemd;
}

static SandboxBackend select_ok(SandboxBackend requested, const SandboxHost *host) {
        SandboxBackend b = _SANDBOX_BACKEND_INVALID;

        ck_assert_int_eq(sandbox_backend_select(requested, host, &fake_probes, &b), 0);
        return b;
}

/* pipelitd.service as packaged: user pipelit, a service of the system manager. */
static const SandboxHost system_service = {
        .booted = 1,
        .invocation_id = "0123456789abcdef0123456789abcdef",
};

static const SandboxHost root_system_service = {
        .booted = 1,
        .root = true,
        .invocation_id = "0123456789abcdef0123456789abcdef",
};

START_TEST(test_select_code_socket_first) {
        const SandboxHost *hosts[] = { &system_service, &root_system_service, &(SandboxHost) {} };

        /* Wherever we run: a code socket that answers is used, nothing else is asked. */
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++) {
                probes_reset(true, true);
                ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, hosts[i]), SANDBOX_BACKEND_SOCKET);
                ck_assert_uint_eq(socket_probes, 1);
                ck_assert_uint_eq(systemd_probes, 0);
        }
}
END_TEST

START_TEST(test_select_without_code_socket) {
        SandboxHost host = root_system_service;

        /* Root in a system service whose systemd answers: a transient unit. */
        probes_reset(false, true);
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_SYSTEMD);
        ck_assert_uint_eq(socket_probes, 1);
        ck_assert_uint_eq(systemd_probes, 1);

        /* systemd does not answer on the bus: bubblewrap. */
        probes_reset(false, false);
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);

        /* Not root (the packaged service runs as pipelit): never a transient unit, which
         * would need a polkit grant worth root; systemd is not even asked. */
        probes_reset(false, true);
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &system_service), SANDBOX_BACKEND_BUBBLEWRAP);
        ck_assert_uint_eq(systemd_probes, 0);
}
END_TEST

START_TEST(test_select_not_a_system_service) {
        SandboxHost host = root_system_service;

        /* None of these is a system service; the bus is not even asked. */
        probes_reset(false, true);

        host.booted = 0;                        /* no systemd as PID 1 */
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);
        host.booted = -ENOENT;
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);

        host = root_system_service;
        host.invocation_id = NULL;              /* started by hand */
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);
        host.invocation_id = "";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);

        host = root_system_service;
        host.manager_pid = "1234";              /* a user manager's service */
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);

        ck_assert_uint_eq(systemd_probes, 0);
}
END_TEST

START_TEST(test_select_forced) {
        SandboxHost host = {};
        SandboxBackend b;

        probes_reset(true, false);

        /* The options win over everything, without probing. */
        host.forced = "bubblewrap";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_SYSTEMD, &host), SANDBOX_BACKEND_SYSTEMD);
        host = root_system_service;
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_BUBBLEWRAP, &host), SANDBOX_BACKEND_BUBBLEWRAP);
        probes_reset(false, true);
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_SOCKET, &host), SANDBOX_BACKEND_SOCKET);

        /* Then $PIPELIT_SANDBOX. */
        host = (SandboxHost) { .forced = "systemd" };
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_SYSTEMD);
        host.forced = "socket";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_SOCKET);
        host = root_system_service;
        host.forced = "bwrap";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);
        host.forced = "bubblewrap";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_BUBBLEWRAP);
        ck_assert_uint_eq(socket_probes, 0);
        ck_assert_uint_eq(systemd_probes, 0);

        /* "auto" and empty fall through to the rules. */
        host.forced = "auto";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_SYSTEMD);
        host.forced = "";
        ck_assert_int_eq(select_ok(SANDBOX_BACKEND_AUTO, &host), SANDBOX_BACKEND_SYSTEMD);

        /* A value we do not know is refused, never guessed at. */
        host.forced = "none";
        ck_assert_int_eq(sandbox_backend_select(SANDBOX_BACKEND_AUTO, &host, &fake_probes, &b), -EINVAL);
        host.forced = "Systemd";
        ck_assert_int_eq(sandbox_backend_select(SANDBOX_BACKEND_AUTO, &host, &fake_probes, &b), -EINVAL);
        ck_assert_int_eq(sandbox_backend_select(_SANDBOX_BACKEND_MAX, &system_service, &fake_probes, &b), -EINVAL);
}
END_TEST

START_TEST(test_backend_names) {
        for (SandboxBackend b = 0; b < _SANDBOX_BACKEND_MAX; b++)
                ck_assert_int_eq(sandbox_backend_from_string(sandbox_backend_to_string(b)), b);
        ck_assert_int_eq(sandbox_backend_from_string("bwrap"), SANDBOX_BACKEND_BUBBLEWRAP);
        ck_assert_int_eq(sandbox_backend_from_string(""), _SANDBOX_BACKEND_INVALID);
        ck_assert_int_eq(sandbox_backend_from_string(NULL), _SANDBOX_BACKEND_INVALID);
        ck_assert_ptr_null(sandbox_backend_to_string(_SANDBOX_BACKEND_MAX));
}
END_TEST

/* --- what a transient unit gets ------------------------------------------------------------------ */

START_TEST(test_unit_names) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        const char *hex;

        ck_assert_int_eq(sandbox_unit_name_new(&a), 0);
        ck_assert_int_eq(sandbox_unit_name_new(&b), 0);

        /* A name no unit file or other program uses. */
        ck_assert_uint_eq(strlen(a), strlen("pipelit-code-") + 32 + strlen(".service"));
        ck_assert(strncmp(a, "pipelit-code-", 13) == 0);
        ck_assert_str_eq(a + 13 + 32, ".service");
        hex = a + 13;
        for (size_t i = 0; i < 32; i++)
                ck_assert_msg(strchr("0123456789abcdef", hex[i]), "%s", a);
        ck_assert_str_ne(a, b);
}
END_TEST

static void make_entry(const char *root, const char *name, char kind) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, name);
        if (kind == 'd')
                ck_assert_int_eq(mkdir(path, 0755), 0);
        else if (kind == 'l')
                ck_assert_int_eq(symlink("usr/lib", path), 0);
        else {
                FILE *f = fopen(path, "w");

                ck_assert_ptr_nonnull(f);
                fclose(f);
        }
}

START_TEST(test_unit_hidden_dirs) {
        static const struct {
                const char *name;
                char kind;
        } entries[] = {
                { "usr", 'd' }, { "bin", 'l' }, { "lib", 'l' }, { "lib64", 'd' }, { "proc", 'd' },
                { "dev", 'd' }, { "sys", 'd' }, { "tmp", 'd' }, { "etc", 'd' }, { "var", 'd' },
                { "run", 'd' }, { "work", 'd' }, { "home", 'd' }, { "vmlinuz", 'f' },
                { "initrd.img", 'l' }, { ".hidden", 'd' },
        };
        char root[] = "/tmp/test-sandbox-XXXXXX";
        _cleanup_(sandbox_strv_freep) char **hidden = NULL;
        const char *expected[] = { "/etc", "/home", "/run", "/var", "/work" };
        size_t n = 0;
        char command[600];

        ck_assert_ptr_nonnull(mkdtemp(root));
        for (size_t i = 0; i < ELEMENTSOF(entries); i++)
                make_entry(root, entries[i].name, entries[i].kind);

        ck_assert_int_eq(sandbox_unit_hidden_dirs(root, &hidden), 0);
        for (char **p = hidden; *p; p++)
                n++;
        ck_assert_uint_eq(n, ELEMENTSOF(expected));
        /* In whatever order the directory lists them. */
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                bool found = false;

                for (char **p = hidden; *p; p++)
                        found = found || streq(*p, expected[i]);
                ck_assert_msg(found, "%s is not hidden", expected[i]);
        }

        ck_assert_int_eq(sandbox_unit_hidden_dirs("/nonexistent-root", &hidden), -ENOENT);

        snprintf(command, sizeof(command), "rm -rf '%s'", root);
        ck_assert_int_eq(system(command), 0);
}
END_TEST

START_TEST(test_unit_limits) {
        SandboxOptions o = {};
        SandboxUnitLimits l;

        /* Nothing set: the defaults, and no deadline of systemd's own. */
        sandbox_unit_limits(&o, &l);
        ck_assert_uint_eq(l.memory_max, SANDBOX_MEMORY_MAX_DEFAULT);
        ck_assert_uint_eq(l.limit_as, 0);
        ck_assert_uint_eq(l.limit_fsize, UINT64_C(64) * 1024 * 1024);
        ck_assert_uint_eq(l.tasks_max, SANDBOX_TASKS_MAX);
        ck_assert_uint_eq(l.runtime_max_usec, UINT64_MAX);

        o.max_address_space = UINT64_C(512) << 20;
        o.max_file_size = 4096;
        o.timeout_usec = 2500000;
        sandbox_unit_limits(&o, &l);
        ck_assert_uint_eq(l.memory_max, UINT64_C(512) << 20);
        ck_assert_uint_eq(l.limit_as, UINT64_C(512) << 20);
        ck_assert_uint_eq(l.limit_fsize, 4096);
        ck_assert_uint_eq(l.runtime_max_usec, 2500000);
}
END_TEST

/* --- running ----------------------------------------------------------------------------------------- */

static bool have_bwrap(void) {
        _cleanup_free_ char *path = NULL;

        if (sandbox_find_bwrap(&path) < 0) {
                fprintf(stderr, "bubblewrap is not installed: skipping this test\n");
                return false;
        }
        return true;
}

START_TEST(test_run_forced_bubblewrap) {
        static char *const argv[] = { (char *) "/bin/sh", (char *) "-c",
                                      (char *) "echo \"$$ ${HOME}\"; wc -c; exit 3", NULL };
        SandboxOptions o = {
                .argv = argv,
                .input = "12345",
                .input_size = 5,
                .timeout_usec = 20 * 1000000ULL,
                .backend = SANDBOX_BACKEND_BUBBLEWRAP,
        };
        SandboxResult result = {};

        if (!have_bwrap())
                return;

        /* Even where $PIPELIT_SANDBOX says otherwise. */
        ck_assert_int_eq(setenv("PIPELIT_SANDBOX", "systemd", 1), 0);
        ck_assert_int_eq(sandbox_run(&o, &result), 0);
        ck_assert_int_eq(unsetenv("PIPELIT_SANDBOX"), 0);

        ck_assert_str_eq(sandbox_end_to_string(result.end), "exited");
        ck_assert_int_eq(result.exit_status, 3);
        /* The sandbox's pid namespace makes the shell pid 2 (bwrap is 1). */
        ck_assert_str_eq(result.stdout_data, "2 /tmp\n5\n");
        sandbox_result_done(&result);
}
END_TEST

START_TEST(test_run_refuses_without_backend) {
        static char *const argv[] = { (char *) "/bin/true", NULL };
        SandboxOptions o = { .argv = argv };
        SandboxResult result = {};
        SandboxBackend b;

        /* A bad $PIPELIT_SANDBOX: nothing runs. */
        ck_assert_int_eq(setenv("PIPELIT_SANDBOX", "none", 1), 0);
        ck_assert_int_eq(sandbox_pick_backend(&o, &b), -EINVAL);
        ck_assert_int_eq(sandbox_run(&o, &result), -EINVAL);

        /* systemd asked for, but no system bus to reach it on: nothing runs either. */
        ck_assert_int_eq(setenv("PIPELIT_SANDBOX", "systemd", 1), 0);
        ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1), 0);
        ck_assert_int_eq(sandbox_pick_backend(&o, &b), 0);
        ck_assert_int_eq(b, SANDBOX_BACKEND_SYSTEMD);
        ck_assert_int_eq(sandbox_run(&o, &result), -ENOENT);
        ck_assert(!sandbox_systemd_reachable());

        /* The code socket asked for where nothing listens. */
        ck_assert_int_eq(setenv("PIPELIT_SANDBOX", "socket", 1), 0);
        o.socket_path = "/nonexistent/code.socket";
        ck_assert_int_eq(sandbox_run(&o, &result), -ENOENT);

        /* Bubblewrap asked for where there is none. */
        ck_assert_int_eq(unsetenv("PIPELIT_SANDBOX"), 0);
        o.backend = SANDBOX_BACKEND_BUBBLEWRAP;
        o.bwrap_path = "/nonexistent/bwrap";
        ck_assert_int_eq(sandbox_run(&o, &result), -ENOENT);
        ck_assert_int_eq(unsetenv("DBUS_SYSTEM_BUS_ADDRESS"), 0);
}
END_TEST

static Suite *sandbox_suite(void) {
        Suite *s = suite_create("sandbox");
        TCase *tc;

        tc = tcase_create("choosing");
        tcase_add_test(tc, test_select_code_socket_first);
        tcase_add_test(tc, test_select_without_code_socket);
        tcase_add_test(tc, test_select_not_a_system_service);
        tcase_add_test(tc, test_select_forced);
        tcase_add_test(tc, test_backend_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("unit");
        tcase_add_test(tc, test_unit_names);
        tcase_add_test(tc, test_unit_hidden_dirs);
        tcase_add_test(tc, test_unit_limits);
        suite_add_tcase(s, tc);

        tc = tcase_create("running");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_run_forced_bubblewrap);
        tcase_add_test(tc, test_run_refuses_without_backend);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(sandbox_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
