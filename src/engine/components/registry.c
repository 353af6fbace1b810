/* The node components this build can run. */

#include "engine/components/components.h"
#include "engine/components/registry.h"

const Component components[] = {
        { "switch",       component_switch },
        { "assertion",    component_assertion },
        { "filter",       component_filter },
        { "merge",        component_merge },
        { "loop",         component_loop },
        { "wait",         component_wait },
        { "reply_chat",   component_reply_chat },
        { "transform",    component_transform },
        { "http_request", component_http_request },
        { "code",         component_code },
        { "human_confirmation", component_human_confirmation },
        { "workflow",     component_workflow },
        {}
};
