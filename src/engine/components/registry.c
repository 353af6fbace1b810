/* The node components this build can run. */

#include "engine/components/components.h"
#include "engine/components/registry.h"

const Component components[] = {
        { "switch",             component_switch,             COMPONENT_PURE_QUICK },
        { "assertion",          component_assertion,          COMPONENT_PURE_QUICK },
        { "filter",             component_filter,             COMPONENT_PURE_QUICK },
        { "merge",              component_merge,              COMPONENT_PURE_QUICK },
        { "reply_chat",         component_reply_chat,         COMPONENT_PURE_QUICK },
        { "loop",               component_loop,               COMPONENT_PURE },
        { "wait",               component_wait,               COMPONENT_PURE },
        { "transform",          component_transform,          COMPONENT_PURE },
        { "http_request",       component_http_request,       COMPONENT_EFFECTFUL },
        { "code",               component_code,               COMPONENT_EFFECTFUL },
        { "human_confirmation", component_human_confirmation, COMPONENT_EFFECTFUL },
        { "workflow",           component_workflow,           COMPONENT_EFFECTFUL },
        {}
};
