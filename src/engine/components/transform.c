/* transform: reshapes data with a jq program (libjq, in an evaluator process).
 *
 * extra_config.program runs with the template context as its input ".": {"trigger": …,
 * "<node_id>": {port: value, …}, …}. Output: {"output": result}; a program producing
 * several results gives the array of them, one producing none gives null.
 *
 * The program runs in this worker thread's jq evaluator (engine/jq-client.h), which keeps
 * compiled programs, empties $ENV and env and cannot import files; it is killed when the
 * execution is cancelled or runs out of time, however long the program would loop. */

#include <errno.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/jq-client.h"

#define JQ_OUTPUT_LIMIT_DEFAULT (16u * 1024 * 1024)

void transform_cache_flush(void) {
        jq_client_release();
}

/* A failure another attempt would meet again. */
static int transform_fail(NodeRun *run, const char *error_code, const char *message) {
        int r = node_run_fail(run, error_code, "%s", message);

        run->retryable = false;
        return r;
}

static void transform_taking_long(void *userdata) {
        node_run_taking_long(userdata);
}

int component_transform(NodeRun *run) {
        const char *program = node_run_setting_string(run, "program", ".");
        size_t limit = run->max_output_size > 0 ? run->max_output_size : JQ_OUTPUT_LIMIT_DEFAULT;
        _cleanup_free_ char *input = NULL, *text = NULL;
        _cleanup_json_ json_t *results = NULL;
        JqStatus status;
        int r;

        if (node_run_setting(run, "program") && !node_run_setting_string(run, "program", NULL))
                return node_run_fail_config(run, "program must be a jq program (text)");

        input = run->context ? json_dumps(run->context, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
        if (!input)
                return node_run_fail_oom(run);
        r = jq_client_evaluate(program, input, strlen(input), limit,
                               &(JqWait) { .cancelled = run->cancelled, .deadline = run->deadline,
                                           .slow = transform_taking_long, .userdata = run },
                               &status, &text);
        if (r == -ECANCELED || r == -ETIME)
                return node_run_fail_stopped(run);
        if (r == -ENOENT)
                return transform_fail(run, "internal", "The jq evaluator (pipelit-jq) is not installed");
        if (r < 0)
                return node_run_fail(run, "internal", "The jq evaluator failed: %s", strerror(-r));

        switch (status) {
        case JQ_OK:
                r = 0;
                break;
        case JQ_COMPILE_ERROR:
                r = node_run_fail(run, "jq", "The jq program does not compile: %s", text);
                break;
        case JQ_RUNTIME_ERROR:
                r = node_run_fail(run, "jq", "The jq program failed: %s", text);
                break;
        case JQ_OUTPUT_LIMIT:
                r = node_run_fail(run, "limit", "%s", text);
                break;
        default:
                r = node_run_fail(run, "internal", "%s", text);
        }
        if (status != JQ_OK) {
                run->retryable = false;
                return r;
        }

        results = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!json_is_array(results))
                return node_run_fail(run, "jq", "The jq program produced a value that is not valid JSON");
        switch (json_array_size(results)) {
        case 0:
                return node_run_output(run, "output", json_null());
        case 1:
                return node_run_output(run, "output", json_incref(json_array_get(results, 0)));
        default:
                return node_run_output(run, "output", TAKE_PTR(results));
        }
}
