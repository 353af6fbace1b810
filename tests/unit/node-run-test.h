/* Building a NodeRun the way the orchestrator hands one to a component, for the component
 * tests: settings, template context and input given as JSON text. */
#pragma once

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

#include "engine/component.h"

typedef struct TestRun {
        NodeRun run;
        volatile bool cancelled;
} TestRun;

static inline json_t *test_json(const char *text) {
        json_error_t error;
        json_t *v;

        if (!text)
                return NULL;
        v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
        ck_assert_msg(v, "bad test JSON (%s): %s", error.text, text);
        return v;
}

/* extra_config, context and input are JSON text; context and input may be NULL. */
static inline TestRun *test_run_new(const char *component_type, const char *extra_config,
                                    const char *context, const char *input) {
        TestRun *t = calloc(1, sizeof(TestRun));

        ck_assert_ptr_nonnull(t);
        t->run.execution_id = "exec-1";
        t->run.workflow_slug = "wf";
        t->run.node_id = "node_under_test";
        t->run.component_type = component_type;
        t->run.config = json_pack("{s:o}", "extra_config", test_json(extra_config ?: "{}"));
        t->run.context = context ? test_json(context) : json_object();
        t->run.input = input ? test_json(input) : NULL;
        t->run.attempt = 1;
        t->run.cancelled = &t->cancelled;
        t->run.retryable = true;
        ck_assert_ptr_nonnull(t->run.config);
        return t;
}

static inline void test_run_free(TestRun *t) {
        if (!t)
                return;
        node_run_done(&t->run);
        json_decref(t->run.config);
        json_decref(t->run.context);
        json_decref(t->run.input);
        free(t);
}

/* Asserts that run->output equals the JSON text expected. */
#define ck_assert_output(t, expected)                                                   \
        do {                                                                            \
                json_t *_e = test_json(expected);                                       \
                char *_got = json_dumps((t)->run.output, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT); \
                ck_assert_msg(json_equal((t)->run.output, _e), "output %s, expected %s", \
                              _got ?: "(null)", expected);                              \
                free(_got);                                                             \
                json_decref(_e);                                                        \
        } while (0)

/* Asserts that the run failed with error_code code. */
#define ck_assert_failed(t, r, code)                                                    \
        do {                                                                            \
                ck_assert_msg((r) < 0, "expected a failure, got %d", (r));              \
                ck_assert_ptr_nonnull((t)->run.error);                                  \
                ck_assert_msg((t)->run.error_code && streq((t)->run.error_code, (code)), \
                              "error_code %s (%s), expected %s", (t)->run.error_code ?: "(null)", \
                              (t)->run.error, (code));                                  \
        } while (0)
