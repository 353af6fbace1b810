/* The agent's answer as it is written: each piece of text the provider streams becomes a
 * chat_delta event, and each model call that ended with text a chat_message event (the
 * reference's), on the workflow's and the execution's channels. The chat panel shows the
 * reply growing while the node still runs.
 *
 * The deltas are published from the LLM client's thread, so the stream keeps its own copies
 * of the names it publishes under: the run may be suspended (and its job's strings gone)
 * while the answer arrives. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/events.h"

int agent_stream_init(AgentStream *s, const NodeRun *run, const AgentModel *model) {
        json_t *extra = json_object_get(model->config, "extra_config");
        json_t *stream = json_object_get(extra, "stream");

        *s = (AgentStream) {};
        s->enabled = !json_is_boolean(stream) || json_is_true(stream);
        s->workflow_slug = strdup(run->workflow_slug ?: "");
        s->execution_id = strdup(run->execution_id ?: "");
        s->node_id = strdup(run->node_id ?: "");
        if (!s->workflow_slug || !s->execution_id || !s->node_id) {
                agent_stream_done(s);
                return -ENOMEM;
        }
        return 0;
}

void agent_stream_done(AgentStream *s) {
        free(s->workflow_slug);
        free(s->execution_id);
        free(s->node_id);
        *s = (AgentStream) {};
}

void agent_stream_text(const char *text, size_t len, void *userdata) {
        AgentStream *s = userdata;
        json_t *data;

        if (!events_wanted("chat_delta"))
                return;
        data = json_pack("{s:s, s:s%, s:I}", "node_id", s->node_id, "text", text, len, "seq",
                         (json_int_t) s->seq++);
        if (data)
                events_publish_workflow(s->workflow_slug, "chat_delta", s->execution_id, data);
}

void agent_stream_message(AgentStream *s, const char *text) {
        if (isempty(text) || !events_wanted("chat_message"))
                return;
        events_publish_workflow(s->workflow_slug, "chat_message", s->execution_id,
                                json_pack("{s:s, s:s}", "node_id", s->node_id, "text", text));
}
