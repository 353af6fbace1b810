/* reply_chat: sets the message that becomes the execution's final output.
 *
 * extra_config.message (else the config's system_prompt, where older workflows keep it),
 * already rendered by the orchestrator. A value that is not text (a template that produced
 * an object) is sent as its JSON text. Output: {"output": message}. */

#include "engine/components/components.h"

int component_reply_chat(NodeRun *run) {
        json_t *message = node_run_setting(run, "message"), *output;

        if (!message || (json_is_string(message) && json_string_length(message) == 0)) {
                json_t *prompt = json_object_get(run->config, "system_prompt");

                if (json_is_string(prompt) && json_string_length(prompt) > 0)
                        message = prompt;
        }

        if (!message)
                output = json_string("");
        else if (json_is_string(message))
                output = json_incref(message);
        else {
                _cleanup_free_ char *text = json_dumps(message, JSON_COMPACT | JSON_ENCODE_ANY);

                output = text ? json_string(text) : NULL;
        }
        if (!output)
                return node_run_fail_oom(run);

        return node_run_output(run, "output", output);
}
