/* workflow (subworkflow): the output of the child execution the node waited for.
 *
 * Starting the child and waiting for it without holding a worker is the orchestrator's
 * (engine/subworkflow.c); the component runs once the child ended. A completed child gives
 * {"output": its final_output}. A failed or cancelled child fails the node (the reference
 * let the node succeed with the error as its output), and since the child already ran, the
 * failure is not retried. */

#include "common/json-util.h"
#include "engine/components/components.h"

int component_workflow(NodeRun *run) {
        json_t *child = run->child_result;
        const char *status = json_get_string(child, "status", NULL);

        run->retryable = false;
        if (!status)
                return node_run_fail(run, "internal", "The subworkflow node ran without its child execution");
        if (streq(status, "completed"))
                return node_run_output(run, "output",
                                       json_incref(json_object_get(child, "final_output") ?: json_null()));
        if (streq(status, "cancelled"))
                return node_run_fail(run, "child_cancelled", "Child execution %s was cancelled",
                                     json_get_string(child, "execution_id", "?"));
        return node_run_fail(run, "child_failed", "Child execution failed: %s",
                             json_get_string(child, "error_message", NULL) ?: status);
}
