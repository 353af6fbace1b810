/* The node components this build can run. */

#include "engine/components/components.h"
#include "engine/components/llm-node.h"
#include "engine/components/registry.h"

const Component components[] = {
        { "switch",             component_switch,             COMPONENT_QUICK },
        { "assertion",          component_assertion,          COMPONENT_QUICK },
        { "filter",             component_filter,             COMPONENT_QUICK },
        { "merge",              component_merge,              COMPONENT_QUICK },
        { "reply_chat",         component_reply_chat,         COMPONENT_QUICK },
        { "loop",               component_loop,               COMPONENT_QUICK },
        { "wait",               component_wait,               COMPONENT_QUICK },
        { "transform",          component_transform,          COMPONENT_PURE },
        { "http_request",       component_http_request,       COMPONENT_CLAIMED },
        { "code",               component_code,               COMPONENT_CLAIMED },
        { "human_confirmation", component_human_confirmation, COMPONENT_CLAIMED },
        { "workflow",           component_workflow,           COMPONENT_CLAIMED },
        { "agent",              component_agent,              COMPONENT_CLAIMED, component_agent_resume },
        { "categorizer",        component_categorizer,        COMPONENT_CLAIMED, llm_node_resume },
        { "router",             component_router,             COMPONENT_CLAIMED, llm_node_resume },
        { "extractor",          component_extractor,          COMPONENT_CLAIMED, llm_node_resume },
        {}
};
