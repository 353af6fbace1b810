/* Configuration: defaults, file syntax and errors, drop-ins, environment, value parsers. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "common/conf.h"

static size_t strv_len(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

/* --- temporary configuration directories ----------------------------------------------- */

#define TMPDIR_TEMPLATE "/tmp/test-conf-XXXXXX"
static char tmpdir[] = TMPDIR_TEMPLATE;

static void tmpdir_setup(void) {
        strcpy(tmpdir, TMPDIR_TEMPLATE);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static char *tmp_path(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
        return p;
}

static void write_bytes(const char *name, const char *data, size_t n) {
        _cleanup_free_ char *p = tmp_path(name);
        FILE *f = fopen(p, "we");

        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *name, const char *text) {
        write_bytes(name, text, strlen(text));
}

static void make_dir(const char *name) {
        _cleanup_free_ char *p = tmp_path(name);

        ck_assert_int_eq(mkdir(p, 0755), 0);
}

/* --- defaults and config_finish -------------------------------------------------------- */

START_TEST(test_defaults) {
        Config c;

        config_init(&c);
        ck_assert_ptr_null(c.listen);
        ck_assert_ptr_null(c.listen_unix);
        ck_assert_uint_eq(c.max_body_size, 1024 * 1024);
        ck_assert_ptr_null(c.static_directory);
        ck_assert_uint_eq(c.idle_timeout_usec, 0);
        ck_assert_ptr_null(c.database);
        ck_assert_ptr_null(c.state_directory);
        ck_assert_int_eq(c.max_nodes_per_workflow, 1000);
        ck_assert_int_eq(c.log_level, LOG_INFO);
        config_done(&c);
        config_done(&c); /* twice is harmless */
        config_done(NULL);
}
END_TEST

START_TEST(test_finish_defaults) {
        _cleanup_free_ char *err = NULL;
        Config c;

        unsetenv("STATE_DIRECTORY");
        config_init(&c);
        ck_assert_int_eq(config_finish(&c, &err), 0);
        ck_assert_str_eq(c.state_directory, "/var/lib/pipelit");
        ck_assert_str_eq(c.database, "sqlite:///var/lib/pipelit/pipelit.db");
        ck_assert_ptr_null(err);
        config_done(&c);
}
END_TEST

START_TEST(test_finish_systemd_state_directory) {
        Config c;

        /* systemd lists one path per StateDirectory= entry; the first is ours. */
        setenv("STATE_DIRECTORY", "/var/lib/pipelit-a/:/var/lib/pipelit-b", 1);
        config_init(&c);
        ck_assert_int_eq(config_finish(&c, NULL), 0);
        ck_assert_str_eq(c.state_directory, "/var/lib/pipelit-a");
        ck_assert_str_eq(c.database, "sqlite:///var/lib/pipelit-a/pipelit.db");
        config_done(&c);

        /* An explicit StateDirectory= wins over the environment. */
        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Storage]\nStateDirectory=/srv/p/\n", NULL), 0);
        ck_assert_int_eq(config_finish(&c, NULL), 0);
        ck_assert_str_eq(c.state_directory, "/srv/p");
        ck_assert_str_eq(c.database, "sqlite:///srv/p/pipelit.db");
        config_done(&c);

        /* An empty variable means "not set". */
        setenv("STATE_DIRECTORY", "", 1);
        config_init(&c);
        ck_assert_int_eq(config_finish(&c, NULL), 0);
        ck_assert_str_eq(c.state_directory, "/var/lib/pipelit");
        config_done(&c);
        unsetenv("STATE_DIRECTORY");
}
END_TEST

START_TEST(test_finish_database) {
        _cleanup_free_ char *err = NULL;
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf",
                                             "[Storage]\nDatabase=postgresql://pipelit@db/pipelit\n", NULL), 0);
        ck_assert_int_eq(config_finish(&c, NULL), 0);
        ck_assert_str_eq(c.database, "postgresql://pipelit@db/pipelit");
        config_done(&c);

        /* Set behind the parser's back, as a command-line option would. */
        config_init(&c);
        c.database = strdup("mysql://root:hunter2@db/pipelit");
        ck_assert_int_eq(config_finish(&c, &err), -EINVAL);
        ck_assert_str_eq(err, "Database=mysql://…@db/pipelit: unsupported URL "
                         "(use sqlite:///path or postgresql://…)");
        ck_assert_ptr_null(strstr(err, "hunter2"));
        config_done(&c);
}
END_TEST

/* --- the file syntax --------------------------------------------------------------------- */

START_TEST(test_parse_all_keys) {
        static const char text[] =
                "# pipelitd.conf\n"
                "; another comment style\n"
                "\n"
                "[Server]\n"
                "Listen=127.0.0.1:8080\n"
                "  Listen = [::1]:9090  \r\n"
                "ListenUnix=/run/pipelit/pipelitd.sock\n"
                "MaxBodySize=64K\n"
                "StaticDirectory=/usr/share/pipelit/ui/\n"
                "IdleTimeoutSec=5min\n"
                "\t\n"
                "[Storage]\n"
                "Database=sqlite:///srv/pipelit.db\n"
                "StateDirectory=/srv/pipelit\n"
                "[Limits]\n"
                "MaxNodesPerWorkflow=250\n"
                "[Log]\n"
                "Level=debug"; /* no final newline */
        _cleanup_free_ char *err = NULL;
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "pipelitd.conf", text, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(strv_len(c.listen), 2);
        ck_assert_str_eq(c.listen[0], "127.0.0.1:8080");
        ck_assert_str_eq(c.listen[1], "[::1]:9090");
        ck_assert_str_eq(c.listen_unix, "/run/pipelit/pipelitd.sock");
        ck_assert_uint_eq(c.max_body_size, 64 * 1024);
        ck_assert_str_eq(c.static_directory, "/usr/share/pipelit/ui");
        ck_assert_uint_eq(c.idle_timeout_usec, 5 * 60 * UINT64_C(1000000));
        ck_assert_str_eq(c.database, "sqlite:///srv/pipelit.db");
        ck_assert_str_eq(c.state_directory, "/srv/pipelit");
        ck_assert_int_eq(c.max_nodes_per_workflow, 250);
        ck_assert_int_eq(c.log_level, LOG_DEBUG);

        ck_assert_int_eq(config_finish(&c, NULL), 0);
        ck_assert_str_eq(c.database, "sqlite:///srv/pipelit.db");
        config_done(&c);
}
END_TEST

START_TEST(test_listen_reset) {
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf",
                                             "[Server]\n"
                                             "Listen=:1\n"
                                             "Listen=:2\n"
                                             "Listen=\n"
                                             "Listen=:3\n"
                                             "Listen=localhost:4\n", NULL), 0);
        ck_assert_uint_eq(strv_len(c.listen), 2);
        ck_assert_str_eq(c.listen[0], ":3");
        ck_assert_str_eq(c.listen[1], "localhost:4");

        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Server]\nListen=\n", NULL), 0);
        ck_assert_uint_eq(strv_len(c.listen), 0);
        config_done(&c);
}
END_TEST

START_TEST(test_empty_value_restores_default) {
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "a.conf",
                                             "[Server]\nMaxBodySize=2M\nIdleTimeoutSec=30\n"
                                             "ListenUnix=/run/x.sock\n"
                                             "[Limits]\nMaxNodesPerWorkflow=5\n"
                                             "[Log]\nLevel=err\n"
                                             "[Storage]\nDatabase=sqlite::memory:\n", NULL), 0);
        ck_assert_int_eq(config_parse_string(&c, "b.conf",
                                             "[Server]\nMaxBodySize=\nIdleTimeoutSec=\nListenUnix=\n"
                                             "[Limits]\nMaxNodesPerWorkflow=\n"
                                             "[Log]\nLevel=\n"
                                             "[Storage]\nDatabase=\n", NULL), 0);
        ck_assert_uint_eq(c.max_body_size, 1024 * 1024);
        ck_assert_uint_eq(c.idle_timeout_usec, 0);
        ck_assert_ptr_null(c.listen_unix);
        ck_assert_int_eq(c.max_nodes_per_workflow, 1000);
        ck_assert_int_eq(c.log_level, LOG_INFO);
        ck_assert_ptr_null(c.database);
        config_done(&c);
}
END_TEST

START_TEST(test_limits_bounds) {
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Limits]\nMaxNodesPerWorkflow=1\n", NULL), 0);
        ck_assert_int_eq(c.max_nodes_per_workflow, 1);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Limits]\nMaxNodesPerWorkflow=100000\n", NULL), 0);
        ck_assert_int_eq(c.max_nodes_per_workflow, 100000);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Server]\nMaxBodySize=1\n", NULL), 0);
        ck_assert_uint_eq(c.max_body_size, 1);
        config_done(&c);
}
END_TEST

START_TEST(test_engine_settings) {
        Config c;

        config_init(&c);
        ck_assert_uint_eq(c.workers, 4);
        ck_assert_uint_eq(c.max_node_output_size, 1024 * 1024);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Engine]\nWorkers=16\n[Limits]\nMaxNodeOutputSize=64K\n",
                                             NULL), 0);
        ck_assert_uint_eq(c.workers, 16);
        ck_assert_uint_eq(c.max_node_output_size, 64 * 1024);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Engine]\nWorkers=0\n", NULL), 0);
        ck_assert_uint_eq(c.workers, 0);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Engine]\nWorkers=\n[Limits]\nMaxNodeOutputSize=\n",
                                             NULL), 0);
        ck_assert_uint_eq(c.workers, 4);
        ck_assert_uint_eq(c.max_node_output_size, 1024 * 1024);
        config_done(&c);
}
END_TEST

START_TEST(test_flow_control_settings) {
        Config c;

        config_init(&c);
        ck_assert_uint_eq(c.max_subworkflow_depth, 5);
        ck_assert(c.retention_keep_successful);
        ck_assert_int_eq(c.retention_max_age_days, 0);
        ck_assert_int_eq(c.retention_max_count, 0);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Limits]\nMaxSubworkflowDepth=0\n[Retention]\n"
                                             "KeepSuccessful=none\nMaxAgeDays=30\nMaxCount=1000\n", NULL), 0);
        ck_assert_uint_eq(c.max_subworkflow_depth, 0);
        ck_assert(!c.retention_keep_successful);
        ck_assert_int_eq(c.retention_max_age_days, 30);
        ck_assert_int_eq(c.retention_max_count, 1000);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Limits]\nMaxSubworkflowDepth=\n[Retention]\n"
                                             "KeepSuccessful=\nMaxAgeDays=\nMaxCount=\n", NULL), 0);
        ck_assert_uint_eq(c.max_subworkflow_depth, 5);
        ck_assert(c.retention_keep_successful);
        ck_assert_int_eq(c.retention_max_age_days, 0);
        ck_assert_int_eq(c.retention_max_count, 0);
        config_done(&c);
}
END_TEST

static const struct {
        const char *text;
        const char *error;
} bad_files[] = {
        { "Listen=:80\n",                          "t.conf:1: key outside of any section" },
        { "# c\n\n[Server]\nFoo=1\n",              "t.conf:4: unknown key 'Foo' in section [Server]" },
        { "[Server]\nlisten=:80\n",                "t.conf:2: unknown key 'listen' in section [Server]" },
        { "[Log]\nListen=:80\n",                   "t.conf:2: unknown key 'Listen' in section [Log]" },
        { "\n\n[Foo]\nBar=1\n",                    "t.conf:3: unknown section [Foo]" },
        { "[server]\n",                            "t.conf:1: unknown section [server]" },
        { "[]\n",                                  "t.conf:1: unknown section []" },
        { "[Server\n",                             "t.conf:1: invalid section header '[Server'" },
        { "[Server] # trailing\n",                 "t.conf:1: invalid section header '[Server] # trailing'" },
        { "[Server]\r\n\r\ngarbage\r\n",           "t.conf:3: expected Key=Value" },
        { "garbage\n",                             "t.conf:1: expected Key=Value" },
        { "[Server]\n = 5\n",                      "t.conf:2: expected Key=Value" },
        { "[Server]\nMaxBodySize=abc\n",           "t.conf:2: invalid value 'abc' for MaxBodySize=" },
        { "[Server]\nMaxBodySize=-1\n",            "t.conf:2: invalid value '-1' for MaxBodySize=" },
        { "[Server]\nMaxBodySize=0\n",             "t.conf:2: invalid value '0' for MaxBodySize=" },
        { "[Server]\nMaxBodySize=1X\n",            "t.conf:2: invalid value '1X' for MaxBodySize=" },
        { "[Server]\nMaxBodySize=99999999999999999999999\n",
          "t.conf:2: invalid value '99999999999999999999999' for MaxBodySize=" },
        { "[Server]\nMaxBodySize=20000000000G\n",  "t.conf:2: invalid value '20000000000G' for MaxBodySize=" },
        { "[Server]\nIdleTimeoutSec=infinity\n",   "t.conf:2: invalid value 'infinity' for IdleTimeoutSec=" },
        { "[Server]\nIdleTimeoutSec=-5\n",         "t.conf:2: invalid value '-5' for IdleTimeoutSec=" },
        { "[Server]\nIdleTimeoutSec=5 days\n",     "t.conf:2: invalid value '5 days' for IdleTimeoutSec=" },
        { "[Server]\nIdleTimeoutSec=99999999999999h\n",
          "t.conf:2: invalid value '99999999999999h' for IdleTimeoutSec=" },
        { "[Server]\nListen=127.0.0.1\n",          "t.conf:2: invalid value '127.0.0.1' for Listen=" },
        { "[Server]\nListen=:0\n",                 "t.conf:2: invalid value ':0' for Listen=" },
        { "[Server]\nListen=:65536\n",             "t.conf:2: invalid value ':65536' for Listen=" },
        { "[Server]\nListen=::1:80\n",             "t.conf:2: invalid value '::1:80' for Listen=" },
        { "[Server]\nListen=host name:80\n",       "t.conf:2: invalid value 'host name:80' for Listen=" },
        { "[Server]\nListenUnix=pipelitd.sock\n",  "t.conf:2: invalid value 'pipelitd.sock' for ListenUnix=" },
        { "[Server]\nStaticDirectory=ui\n",        "t.conf:2: invalid value 'ui' for StaticDirectory=" },
        { "[Storage]\nStateDirectory=state\n",     "t.conf:2: invalid value 'state' for StateDirectory=" },
        { "[Storage]\nDatabase=pipelit.db\n",      "t.conf:2: invalid value 'pipelit.db' for Database=" },
        { "[Storage]\nDatabase=mysql://root:hunter2@db/x\n",
          "t.conf:2: invalid value 'mysql://…@db/x' for Database=" },
        { "[Limits]\nMaxNodesPerWorkflow=0\n",     "t.conf:2: invalid value '0' for MaxNodesPerWorkflow=" },
        { "[Limits]\nMaxNodesPerWorkflow=100001\n","t.conf:2: invalid value '100001' for MaxNodesPerWorkflow=" },
        { "[Limits]\nMaxNodesPerWorkflow=-3\n",    "t.conf:2: invalid value '-3' for MaxNodesPerWorkflow=" },
        { "[Limits]\nMaxNodesPerWorkflow=1e3\n",   "t.conf:2: invalid value '1e3' for MaxNodesPerWorkflow=" },
        { "[Limits]\nMaxNodesPerWorkflow=18446744073709551617\n",
          "t.conf:2: invalid value '18446744073709551617' for MaxNodesPerWorkflow=" },
        { "[Log]\nLevel=verbose\n",                "t.conf:2: invalid value 'verbose' for Level=" },
        { "[Engine]\nWorkers=1025\n",             "t.conf:2: invalid value '1025' for Workers=" },
        { "[Engine]\nWorkers=-1\n",               "t.conf:2: invalid value '-1' for Workers=" },
        { "[Limits]\nMaxNodeOutputSize=0\n",      "t.conf:2: invalid value '0' for MaxNodeOutputSize=" },
        { "[Limits]\nMaxSubworkflowDepth=1001\n", "t.conf:2: invalid value '1001' for MaxSubworkflowDepth=" },
        { "[Limits]\nMaxSubworkflowDepth=-1\n",   "t.conf:2: invalid value '-1' for MaxSubworkflowDepth=" },
        { "[Retention]\nKeepSuccessful=some\n",   "t.conf:2: invalid value 'some' for KeepSuccessful=" },
        { "[Retention]\nMaxAgeDays=0\n",          "t.conf:2: invalid value '0' for MaxAgeDays=" },
        { "[Retention]\nMaxCount=-5\n",           "t.conf:2: invalid value '-5' for MaxCount=" },
        { "[Retention]\nMaxCount=99999999999\n",  "t.conf:2: invalid value '99999999999' for MaxCount=" },
        /* The first error stops the file; later lines are not reached. */
        { "[Server]\nBad=1\nWorse\n",              "t.conf:2: unknown key 'Bad' in section [Server]" },
};

START_TEST(test_parse_errors) {
        _cleanup_free_ char *err = NULL;
        Config c;

        config_init(&c);
        ck_assert_msg(config_parse_string(&c, "t.conf", bad_files[_i].text, &err) == -EINVAL,
                      "accepted: %s", bad_files[_i].text);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, bad_files[_i].error);
        config_done(&c);
}
END_TEST

START_TEST(test_parse_hostile) {
        _cleanup_free_ char *long_line = NULL, *err = NULL;
        size_t n = 100000;
        Config c;

        /* A very long key: rejected by name, not truncated into something valid. */
        long_line = malloc(n + 32);
        ck_assert_ptr_nonnull(long_line);
        strcpy(long_line, "[Server]\n");
        memset(long_line + 9, 'A', n);
        strcpy(long_line + 9 + n, "=1\n");

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", long_line, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "t.conf:2: unknown key 'AAAA"));
        config_done(&c);

        /* Only comments and blanks: nothing changes. */
        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "", NULL), 0);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "\n\n   \n#[Foo]\n;x\n", NULL), 0);
        ck_assert_uint_eq(c.max_body_size, 1024 * 1024);

        /* The value keeps everything after the first '='. */
        ck_assert_int_eq(config_parse_string(&c, "t.conf",
                                             "[Storage]\nDatabase=postgresql://h/db?sslmode=require\n", NULL), 0);
        ck_assert_str_eq(c.database, "postgresql://h/db?sslmode=require");

        /* A section seen in one file does not carry over into the next. */
        ck_assert_int_eq(config_parse_string(&c, "u.conf", "Listen=:80\n", NULL), -EINVAL);
        config_done(&c);
}
END_TEST

/* --- files and drop-ins ------------------------------------------------------------------ */

START_TEST(test_load_missing) {
        _cleanup_free_ char *err = NULL, *path = NULL, *expected = NULL;
        Config c;

        tmpdir_setup();
        path = tmp_path("pipelitd.conf");

        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, false, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(config_load_file(&c, path, true, &err), -ENOENT);
        ck_assert_int_ge(asprintf(&expected, "cannot read %s: No such file or directory", path), 0);
        ck_assert_str_eq(err, expected);
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_load_drop_ins) {
        _cleanup_free_ char *path = NULL, *err = NULL;
        Config c;

        tmpdir_setup();
        write_text("pipelitd.conf",
                   "[Server]\nListen=:1\nMaxBodySize=2M\n[Log]\nLevel=info\n[Limits]\nMaxNodesPerWorkflow=7\n");
        make_dir("pipelitd.conf.d");
        /* Read in lexical order, whatever order they were created in. */
        write_text("pipelitd.conf.d/20-last.conf", "[Log]\nLevel=warning\n");
        write_text("pipelitd.conf.d/10-listen.conf", "[Server]\nListen=\nListen=:2\n[Log]\nLevel=debug\n");
        write_text("pipelitd.conf.d/05-first.conf", "[Log]\nLevel=err\n[Server]\nListen=:9\n");
        /* Not drop-ins: wrong suffix, hidden, a directory. */
        write_text("pipelitd.conf.d/99-disabled.conf.bak", "garbage\n");
        write_text("pipelitd.conf.d/.hidden.conf", "garbage\n");
        make_dir("pipelitd.conf.d/50-dir.conf");
        path = tmp_path("pipelitd.conf");

        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, true, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(c.log_level, LOG_WARNING);
        ck_assert_uint_eq(strv_len(c.listen), 1);
        ck_assert_str_eq(c.listen[0], ":2");
        ck_assert_uint_eq(c.max_body_size, 2 * 1024 * 1024); /* untouched by drop-ins */
        ck_assert_int_eq(c.max_nodes_per_workflow, 7);
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

/* An empty drop-in folder (the last drop-in removed) reads as the main file alone. */
START_TEST(test_load_empty_drop_in_dir) {
        _cleanup_free_ char *path = NULL, *err = NULL;
        Config c;

        tmpdir_setup();
        write_text("pipelitd.conf", "[Limits]\nMaxNodesPerWorkflow=7\n");
        make_dir("pipelitd.conf.d");
        path = tmp_path("pipelitd.conf");

        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, true, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(c.max_nodes_per_workflow, 7);
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_load_drop_ins_without_main) {
        _cleanup_free_ char *path = NULL;
        Config c;

        tmpdir_setup();
        make_dir("pipelitd.conf.d");
        write_text("pipelitd.conf.d/listen.conf", "[Server]\nListen=[::]:8443\n");
        path = tmp_path("pipelitd.conf");

        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, false, NULL), 0);
        ck_assert_uint_eq(strv_len(c.listen), 1);
        ck_assert_str_eq(c.listen[0], "[::]:8443");
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_load_drop_in_error_names_file) {
        _cleanup_free_ char *path = NULL, *err = NULL, *expected = NULL;
        Config c;

        tmpdir_setup();
        write_text("pipelitd.conf", "[Server]\nListen=:1\n");
        make_dir("pipelitd.conf.d");
        write_text("pipelitd.conf.d/10-listen.conf", "# comment\n[Server]\nListen=:70000\n");
        path = tmp_path("pipelitd.conf");

        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, true, &err), -EINVAL);
        ck_assert_int_ge(asprintf(&expected, "%s.d/10-listen.conf:3: invalid value ':70000' for Listen=", path), 0);
        ck_assert_str_eq(err, expected);
        config_done(&c);

        /* An error in the main file names it, and the drop-ins are not read. */
        free(err);
        err = NULL;
        free(expected);
        write_text("pipelitd.conf", "[Server]\n\nWhat=1\n");
        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, true, &err), -EINVAL);
        ck_assert_int_ge(asprintf(&expected, "%s:3: unknown key 'What' in section [Server]", path), 0);
        ck_assert_str_eq(err, expected);
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_load_bad_files) {
        _cleanup_free_ char *path = NULL, *err = NULL, *expected = NULL, *big = NULL;
        size_t n = 1024 * 1024 + 1;
        Config c;

        tmpdir_setup();
        path = tmp_path("pipelitd.conf");

        /* A NUL byte would hide the rest of the file from the parser. */
        static const char with_nul[] = "[Server]\nListen=:1\0\nFoo=1\n";

        write_bytes("pipelitd.conf", with_nul, sizeof(with_nul) - 1);
        config_init(&c);
        ck_assert_int_lt(config_load_file(&c, path, true, &err), 0);
        ck_assert_int_ge(asprintf(&expected, "cannot read %s: file contains a NUL byte", path), 0);
        ck_assert_str_eq(err, expected);
        config_done(&c);

        /* Larger than any real configuration. */
        big = malloc(n);
        ck_assert_ptr_nonnull(big);
        memset(big, '#', n);
        write_bytes("pipelitd.conf", big, n);
        free(err);
        err = NULL;
        free(expected);
        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, true, &err), -EFBIG);
        ck_assert_int_ge(asprintf(&expected, "cannot read %s: File too large", path), 0);
        ck_assert_str_eq(err, expected);
        config_done(&c);

        /* A directory where the file should be. */
        unlink(path);
        make_dir("pipelitd.conf");
        free(err);
        err = NULL;
        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, false, &err), -EISDIR);
        ck_assert_ptr_nonnull(strstr(err, "Is a directory"));
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

/* --- environment -------------------------------------------------------------------------- */

START_TEST(test_env) {
        char *const envp[] = {
                "HOME=/root",
                "PIPELITD=/usr/sbin/pipelitd",
                "PIPELIT_SRCDIR=/src/pipelit",
                "PIPELIT_SOMETHING_ELSE=whatever",
                "PIPELIT_LISTEN= 127.0.0.1:1 , [::1]:2",
                "PIPELIT_LISTEN_UNIX=/run/p.sock",
                "PIPELIT_MAX_BODY_SIZE=3M",
                "PIPELIT_STATIC_DIRECTORY=/opt/ui",
                "PIPELIT_IDLE_TIMEOUT_SEC=90",
                "PIPELIT_DATABASE=postgres://u@h/db?application_name=x",
                "PIPELIT_STATE_DIRECTORY=/tmp/state",
                "PIPELIT_MAX_NODES_PER_WORKFLOW=42",
                "PIPELIT_LOG_LEVEL=notice",
                "PIPELIT_NO_EQUALS_SIGN",
                NULL,
        };
        _cleanup_free_ char *err = NULL;
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Server]\nListen=:9\n[Log]\nLevel=debug\n", NULL), 0);
        ck_assert_int_eq(config_apply_env(&c, envp, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(strv_len(c.listen), 2);
        ck_assert_str_eq(c.listen[0], "127.0.0.1:1");
        ck_assert_str_eq(c.listen[1], "[::1]:2");
        ck_assert_str_eq(c.listen_unix, "/run/p.sock");
        ck_assert_uint_eq(c.max_body_size, 3 * 1024 * 1024);
        ck_assert_str_eq(c.static_directory, "/opt/ui");
        ck_assert_uint_eq(c.idle_timeout_usec, 90 * UINT64_C(1000000));
        ck_assert_str_eq(c.database, "postgres://u@h/db?application_name=x");
        ck_assert_str_eq(c.state_directory, "/tmp/state");
        ck_assert_int_eq(c.max_nodes_per_workflow, 42);
        ck_assert_int_eq(c.log_level, LOG_NOTICE);
        config_done(&c);

        /* NULL means no environment at all. */
        config_init(&c);
        ck_assert_int_eq(config_apply_env(&c, NULL, NULL), 0);
        config_done(&c);
}
END_TEST

START_TEST(test_env_listen_empty_clears) {
        char *const envp[] = { "PIPELIT_LISTEN=", NULL };
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_parse_string(&c, "t.conf", "[Server]\nListen=:9\nListen=:10\n", NULL), 0);
        ck_assert_int_eq(config_apply_env(&c, envp, NULL), 0);
        ck_assert_uint_eq(strv_len(c.listen), 0);
        config_done(&c);
}
END_TEST

START_TEST(test_env_overrides_files) {
        _cleanup_free_ char *path = NULL;
        char *const envp[] = { "PIPELIT_LOG_LEVEL=crit", "PIPELIT_LISTEN=:5", NULL };
        Config c;

        tmpdir_setup();
        write_text("pipelitd.conf", "[Log]\nLevel=debug\n[Server]\nListen=:1\n");
        make_dir("pipelitd.conf.d");
        write_text("pipelitd.conf.d/override.conf", "[Log]\nLevel=notice\n[Server]\nListen=:2\n");
        path = tmp_path("pipelitd.conf");

        config_init(&c);
        ck_assert_int_eq(config_load_file(&c, path, true, NULL), 0);
        ck_assert_int_eq(c.log_level, LOG_NOTICE);
        ck_assert_uint_eq(strv_len(c.listen), 2);
        ck_assert_int_eq(config_apply_env(&c, envp, NULL), 0);
        ck_assert_int_eq(c.log_level, LOG_CRIT);
        ck_assert_uint_eq(strv_len(c.listen), 1);
        ck_assert_str_eq(c.listen[0], ":5");
        config_done(&c);
        tmpdir_teardown();
}
END_TEST

static const struct {
        const char *var;
        const char *error;
} bad_env[] = {
        { "PIPELIT_MAX_BODY_SIZE=lots",         "environment variable PIPELIT_MAX_BODY_SIZE: invalid value 'lots'" },
        { "PIPELIT_LISTEN=:1,,:2",              "environment variable PIPELIT_LISTEN: invalid value ':1,,:2'" },
        { "PIPELIT_LISTEN=:1,nope",             "environment variable PIPELIT_LISTEN: invalid value ':1,nope'" },
        { "PIPELIT_LISTEN_UNIX=relative",       "environment variable PIPELIT_LISTEN_UNIX: invalid value 'relative'" },
        { "PIPELIT_IDLE_TIMEOUT_SEC=soon",      "environment variable PIPELIT_IDLE_TIMEOUT_SEC: invalid value 'soon'" },
        { "PIPELIT_DATABASE=oracle://a:pw@h/x", "environment variable PIPELIT_DATABASE: invalid value 'oracle://…@h/x'" },
        { "PIPELIT_MAX_NODES_PER_WORKFLOW=0",   "environment variable PIPELIT_MAX_NODES_PER_WORKFLOW: invalid value '0'" },
        { "PIPELIT_LOG_LEVEL=chatty",           "environment variable PIPELIT_LOG_LEVEL: invalid value 'chatty'" },
};

START_TEST(test_env_errors) {
        char *const envp[] = { "PIPELIT_SRCDIR=/x", (char *) bad_env[_i].var, NULL };
        _cleanup_free_ char *err = NULL;
        Config c;

        config_init(&c);
        ck_assert_int_eq(config_apply_env(&c, envp, &err), -EINVAL);
        ck_assert_str_eq(err, bad_env[_i].error);
        config_done(&c);
}
END_TEST

/* --- value parsers ------------------------------------------------------------------------- */

START_TEST(test_parse_size) {
        size_t v = 0;

        ck_assert_int_eq(parse_size("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(parse_size("512", &v), 0);
        ck_assert_uint_eq(v, 512);
        ck_assert_int_eq(parse_size("512B", &v), 0);
        ck_assert_uint_eq(v, 512);
        ck_assert_int_eq(parse_size("64K", &v), 0);
        ck_assert_uint_eq(v, 65536);
        ck_assert_int_eq(parse_size("1M", &v), 0);
        ck_assert_uint_eq(v, 1048576);
        ck_assert_int_eq(parse_size("3G", &v), 0);
        ck_assert_uint_eq(v, (size_t) 3 << 30);

        v = 77;
        ck_assert_int_lt(parse_size("", &v), 0);
        ck_assert_int_lt(parse_size("K", &v), 0);
        ck_assert_int_lt(parse_size("-1", &v), 0);
        ck_assert_int_lt(parse_size(" 1", &v), 0);
        ck_assert_int_lt(parse_size("+1", &v), 0);
        ck_assert_int_lt(parse_size("1 K", &v), 0);
        ck_assert_int_lt(parse_size("1k", &v), 0);
        ck_assert_int_lt(parse_size("1.5M", &v), 0);
        ck_assert_int_lt(parse_size("1KB", &v), 0);
        ck_assert_int_lt(parse_size("0x10", &v), 0);
        ck_assert_int_lt(parse_size("18446744073709551616", &v), 0);
        ck_assert_int_lt(parse_size("18014398509481984K", &v), 0);
        ck_assert_int_lt(parse_size(NULL, &v), 0);
        ck_assert_uint_eq(v, 77); /* untouched on failure */
}
END_TEST

START_TEST(test_parse_seconds) {
        uint64_t v = 0;

        ck_assert_int_eq(parse_seconds("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(parse_seconds("30", &v), 0);
        ck_assert_uint_eq(v, 30000000);
        ck_assert_int_eq(parse_seconds("30s", &v), 0);
        ck_assert_uint_eq(v, 30000000);
        ck_assert_int_eq(parse_seconds("30sec", &v), 0);
        ck_assert_uint_eq(v, 30000000);
        ck_assert_int_eq(parse_seconds("5min", &v), 0);
        ck_assert_uint_eq(v, 300000000);
        ck_assert_int_eq(parse_seconds("5m", &v), 0);
        ck_assert_uint_eq(v, 300000000);
        ck_assert_int_eq(parse_seconds("5 min", &v), 0);
        ck_assert_uint_eq(v, 300000000);
        ck_assert_int_eq(parse_seconds("2h", &v), 0);
        ck_assert_uint_eq(v, UINT64_C(7200000000));
        ck_assert_int_eq(parse_seconds("250ms", &v), 0);
        ck_assert_uint_eq(v, 250000);
        ck_assert_int_eq(parse_seconds("7us", &v), 0);
        ck_assert_uint_eq(v, 7);

        v = 77;
        ck_assert_int_lt(parse_seconds("", &v), 0);
        ck_assert_int_lt(parse_seconds("s", &v), 0);
        ck_assert_int_lt(parse_seconds("-1", &v), 0);
        ck_assert_int_lt(parse_seconds("1.5s", &v), 0);
        ck_assert_int_lt(parse_seconds("1d", &v), 0);
        ck_assert_int_lt(parse_seconds("1S", &v), 0);
        ck_assert_int_lt(parse_seconds("infinity", &v), 0);
        ck_assert_int_lt(parse_seconds("18446744073709551615s", &v), 0);
        ck_assert_int_lt(parse_seconds("99999999999999999999", &v), 0);
        ck_assert_int_lt(parse_seconds(NULL, &v), 0);
        ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_parse_bool) {
        static const char *const yes[] = { "1", "yes", "YES", "true", "True", "on", "y", "t" };
        static const char *const no[] = { "0", "no", "false", "FALSE", "off", "n", "f" };
        static const char *const bad[] = { "", "2", "maybe", "yes ", "enable" };
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                b = false;
                ck_assert_int_eq(parse_bool(yes[i], &b), 0);
                ck_assert(b);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                b = true;
                ck_assert_int_eq(parse_bool(no[i], &b), 0);
                ck_assert(!b);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(parse_bool(bad[i], &b), -EINVAL);
        ck_assert_int_eq(parse_bool(NULL, &b), -EINVAL);
}
END_TEST

static const struct {
        const char *input;
        const char *host; /* NULL: any address */
        uint16_t port;
} good_addresses[] = {
        { "127.0.0.1:8080",     "127.0.0.1",   8080 },
        { "[::1]:8080",         "::1",         8080 },
        { "[::]:443",           "::",          443 },
        { ":8080",              NULL,          8080 },
        { "localhost:80",       "localhost",   80 },
        { "pipelit.example.org:1", "pipelit.example.org", 1 },
        { "0.0.0.0:65535",      "0.0.0.0",     65535 },
        { "127.0.0.1:08080",    "127.0.0.1",   8080 },
};

static const char *const bad_addresses[] = {
        "", ":", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:99999999999", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1: 80",
        "127.0.0.1:80 ", " 127.0.0.1:80", "127.0.0.1:http", "::1:8080", "[::1]8080",
        "[::1]:", "[]:80", "[nonsense]:80", "[::1:80", "256.1.1.1:80", "1.2.3:80",
        "-bad.example:80", "bad-.example:80", "a..b:80", "host_name:80", "host name:80",
        "example.org.:80",
};

START_TEST(test_parse_listen_address) {
        for (size_t i = 0; i < ELEMENTSOF(good_addresses); i++) {
                _cleanup_free_ char *host = NULL;
                uint16_t port = 0;

                ck_assert_msg(parse_listen_address(good_addresses[i].input, &host, &port) == 0,
                              "rejected %s", good_addresses[i].input);
                if (good_addresses[i].host)
                        ck_assert_str_eq(host, good_addresses[i].host);
                else
                        ck_assert_ptr_null(host);
                ck_assert_uint_eq(port, good_addresses[i].port);
        }

        for (size_t i = 0; i < ELEMENTSOF(bad_addresses); i++) {
                char *host = (char *) "untouched";
                uint16_t port = 7;

                ck_assert_msg(parse_listen_address(bad_addresses[i], &host, &port) == -EINVAL,
                              "accepted '%s'", bad_addresses[i]);
                ck_assert_str_eq(host, "untouched");
                ck_assert_uint_eq(port, 7);
        }
        ck_assert_int_eq(parse_listen_address(NULL, NULL, NULL), -EINVAL);
        /* Validation alone, without outputs. */
        ck_assert_int_eq(parse_listen_address("[::1]:1", NULL, NULL), 0);
}
END_TEST

static Suite *conf_suite(void) {
        Suite *s = suite_create("conf");
        TCase *tc;

        tc = tcase_create("defaults");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_finish_defaults);
        tcase_add_test(tc, test_finish_systemd_state_directory);
        tcase_add_test(tc, test_finish_database);
        suite_add_tcase(s, tc);

        tc = tcase_create("syntax");
        tcase_add_test(tc, test_parse_all_keys);
        tcase_add_test(tc, test_listen_reset);
        tcase_add_test(tc, test_empty_value_restores_default);
        tcase_add_test(tc, test_limits_bounds);
        tcase_add_loop_test(tc, test_parse_errors, 0, ELEMENTSOF(bad_files));
        tcase_add_test(tc, test_parse_hostile);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        tcase_add_test(tc, test_load_missing);
        tcase_add_test(tc, test_load_drop_ins);
        tcase_add_test(tc, test_load_empty_drop_in_dir);
        tcase_add_test(tc, test_load_drop_ins_without_main);
        tcase_add_test(tc, test_load_drop_in_error_names_file);
        tcase_add_test(tc, test_load_bad_files);
        suite_add_tcase(s, tc);

        tc = tcase_create("environment");
        tcase_add_test(tc, test_env);
        tcase_add_test(tc, test_env_listen_empty_clears);
        tcase_add_test(tc, test_env_overrides_files);
        tcase_add_loop_test(tc, test_env_errors, 0, ELEMENTSOF(bad_env));
        suite_add_tcase(s, tc);

        tc = tcase_create("parsers");
        tcase_add_test(tc, test_parse_size);
        tcase_add_test(tc, test_engine_settings);
        tcase_add_test(tc, test_flow_control_settings);
        tcase_add_test(tc, test_parse_seconds);
        tcase_add_test(tc, test_parse_bool);
        tcase_add_test(tc, test_parse_listen_address);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(conf_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
