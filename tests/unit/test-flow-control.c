/* The pure parts of flow control: what counts as a yes, the human_confirmation and
 * workflow components given a resume answer or an ended child, what a run asks for when it
 * parks for children, and the retention policy a workflow's settings make over the
 * configured defaults. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "common/macro.h"
#include "engine/components/components.h"
#include "engine/engine-internal.h"
#include "node-run-test.h"

START_TEST(test_answers) {
        static const char *const yes[] = { "\"yes\"", "\"Y\"", "\"confirm\"", "\"TRUE\"", "\"1\"", "\" yes \"",
                                           "true" };
        static const char *const no[] = { "\"no\"", "\"yess\"", "\"\"", "\"confirmed\"", "false", "1", "null",
                                          "{\"yes\": true}", "[\"yes\"]", "\"ye\"" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                json_t *v = test_json(yes[i]);

                ck_assert_msg(confirmation_answer_is_yes(v), "%s should confirm", yes[i]);
                json_decref(v);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                json_t *v = test_json(no[i]);

                ck_assert_msg(!confirmation_answer_is_yes(v), "%s should not confirm", no[i]);
                json_decref(v);
        }
}
END_TEST

static TestRun *confirmation_run(const char *answer) {
        TestRun *t = test_run_new("human_confirmation", "{\"prompt\": \"ok?\"}", NULL, NULL);

        t->run.resume_input = answer ? test_json(answer) : NULL;
        return t;
}

START_TEST(test_confirmation_outputs) {
        TestRun *t = confirmation_run("\"Yes\"");
        int r;

        r = component_human_confirmation(&t->run);
        ck_assert_int_eq(r, 0);
        ck_assert_output(t, "{\"confirmed\": true, \"user_response\": \"Yes\"}");
        ck_assert_str_eq(t->run.route, "confirmed");
        json_decref(t->run.resume_input);
        test_run_free(t);

        t = confirmation_run("{\"why\": \"later\"}");
        r = component_human_confirmation(&t->run);
        ck_assert_int_eq(r, 0);
        ck_assert_output(t, "{\"confirmed\": false, \"user_response\": \"{\\\"why\\\":\\\"later\\\"}\"}");
        ck_assert_str_eq(t->run.route, "cancelled");
        json_decref(t->run.resume_input);
        test_run_free(t);

        /* Run without an answer: an internal mistake, not retried. */
        t = confirmation_run(NULL);
        r = component_human_confirmation(&t->run);
        ck_assert_failed(t, r, "internal");
        ck_assert(!t->run.retryable);
        test_run_free(t);
}
END_TEST

static TestRun *workflow_run(const char *child) {
        TestRun *t = test_run_new("workflow", "{\"target_workflow\": \"c\"}", NULL, NULL);

        t->run.child_result = child ? test_json(child) : NULL;
        return t;
}

static void workflow_run_free(TestRun *t) {
        json_decref(t->run.child_result);
        test_run_free(t);
}

START_TEST(test_workflow_outputs) {
        TestRun *t = workflow_run("{\"execution_id\": \"e\", \"status\": \"completed\", "
                                  "\"final_output\": {\"output\": \"hi\"}}");
        int r;

        r = component_workflow(&t->run);
        ck_assert_int_eq(r, 0);
        ck_assert_output(t, "{\"output\": {\"output\": \"hi\"}}");
        workflow_run_free(t);

        t = workflow_run("{\"execution_id\": \"e\", \"status\": \"failed\", \"error_message\": \"Node x: boom\"}");
        r = component_workflow(&t->run);
        ck_assert_failed(t, r, "child_failed");
        ck_assert_str_eq(t->run.error, "Child execution failed: Node x: boom");
        ck_assert(!t->run.retryable);
        workflow_run_free(t);

        t = workflow_run("{\"execution_id\": \"e1\", \"status\": \"cancelled\"}");
        r = component_workflow(&t->run);
        ck_assert_failed(t, r, "child_cancelled");
        ck_assert_str_eq(t->run.error, "Child execution e1 was cancelled");
        workflow_run_free(t);

        t = workflow_run(NULL);
        r = component_workflow(&t->run);
        ck_assert_failed(t, r, "internal");
        workflow_run_free(t);
}
END_TEST

static RetentionPolicy policy_of(const Engine *e, const char *settings) {
        json_t *s = settings ? test_json(settings) : NULL;
        RetentionPolicy p = retention_policy(e, s);

        json_decref(s);
        return p;
}

START_TEST(test_retention_policy) {
        Engine e = { .retention = { .keep_successful = true, .max_age_days = 30, .max_count = 0 } };
        RetentionPolicy p;

        /* Nothing said: the defaults. */
        p = policy_of(&e, NULL);
        ck_assert(p.keep_successful);
        ck_assert_int_eq(p.max_age_days, 30);
        ck_assert_int_eq(p.max_count, 0);
        p = policy_of(&e, "{\"retention\": null}");
        ck_assert_int_eq(p.max_age_days, 30);

        /* Each key overrides its default; null lifts a limit. */
        p = policy_of(&e, "{\"retention\": {\"keep_successful\": \"none\", \"max_count\": 10}}");
        ck_assert(!p.keep_successful);
        ck_assert_int_eq(p.max_age_days, 30);
        ck_assert_int_eq(p.max_count, 10);
        p = policy_of(&e, "{\"retention\": {\"max_age_days\": null, \"keep_successful\": null}}");
        ck_assert(p.keep_successful);
        ck_assert_int_eq(p.max_age_days, 0);

        e.retention.keep_successful = false;
        p = policy_of(&e, "{\"retention\": {\"keep_successful\": \"all\"}}");
        ck_assert(p.keep_successful);
}
END_TEST

START_TEST(test_await_children_request) {
        TestRun *t = test_run_new("agent", "{}", NULL, NULL);
        NodeRun *run = &t->run;

        ck_assert_int_eq(node_run_add_child(run, 7, "research", "start", test_json("{\"text\": \"a\"}")), 0);
        ck_assert_int_eq(node_run_add_child(run, 3, "self", NULL, test_json("{\"text\": \"b\"}")), 0);
        ck_assert_int_eq(node_run_add_child(run, 3, "self", NULL, NULL), -ENOMEM);
        node_run_await_children(run, test_json("{\"kept\": 1}"));

        ck_assert_uint_eq(run->n_await_children, 2);
        ck_assert_int_eq(run->await_children[0].workflow_id, 7);
        ck_assert_str_eq(run->await_children[0].workflow_slug, "research");
        ck_assert_str_eq(run->await_children[0].trigger_node_id, "start");
        ck_assert_str_eq(json_string_value(json_object_get(run->await_children[0].payload, "text")), "a");
        ck_assert_str_eq(run->await_children[1].workflow_slug, "self");
        ck_assert_ptr_null(run->await_children[1].trigger_node_id);
        ck_assert_int_eq(json_integer_value(json_object_get(run->await_state, "kept")), 1);

        /* A run's outcome is forgotten as a whole: the request with it. */
        node_run_done(run);
        ck_assert_ptr_null(run->await_children);
        ck_assert_uint_eq(run->n_await_children, 0);
        ck_assert_ptr_null(run->await_state);
        test_run_free(t);
}
END_TEST

static Suite *flow_control_suite(void) {
        Suite *s = suite_create("flow-control");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_answers);
        tcase_add_test(tc, test_confirmation_outputs);
        tcase_add_test(tc, test_workflow_outputs);
        tcase_add_test(tc, test_await_children_request);
        tcase_add_test(tc, test_retention_policy);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(flow_control_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
