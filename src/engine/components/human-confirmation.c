/* human_confirmation: turns the answer a paused run was resumed with into its output.
 *
 * Pausing is the orchestrator's (engine/confirmation.c); the component runs only once an
 * answer came. "yes", "y", "confirm", "true" and "1" (any case, blanks around ignored) and
 * JSON true confirm; anything else cancels. Output {"confirmed", "user_response"}; route
 * "confirmed" or "cancelled", for conditional edges of those names. */

#include <strings.h>

#include "common/json-util.h"
#include "engine/components/components.h"

bool confirmation_answer_is_yes(json_t *answer) {
        static const char *const yes[] = { "yes", "y", "confirm", "true", "1" };
        const char *s = json_string_value(answer);
        size_t n;

        if (json_is_true(answer))
                return true;
        if (!s)
                return false;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
                n--;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0)
                        return true;
        return false;
}

int component_human_confirmation(NodeRun *run) {
        _cleanup_free_ char *text = NULL;
        bool confirmed;
        int r;

        if (!run->resume_input) {
                run->retryable = false;
                return node_run_fail(run, "internal", "The confirmation ran without an answer");
        }
        confirmed = confirmation_answer_is_yes(run->resume_input);
        text = json_is_string(run->resume_input) ? strdup(json_string_value(run->resume_input))
                                                 : json_dumps_compact(run->resume_input);
        if (!text)
                return node_run_fail_oom(run);

        r = node_run_output(run, "confirmed", json_boolean(confirmed));
        if (r >= 0)
                r = node_run_output(run, "user_response", json_string(text));
        if (r < 0)
                return node_run_fail_oom(run);
        run->route = strdup(confirmed ? "confirmed" : "cancelled");
        return run->route ? 0 : node_run_fail_oom(run);
}
