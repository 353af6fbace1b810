/* What the workflow-editing resources (api-workflows.c, api-nodes.c, api-edges.c) share:
 * the caller, the workflow named by the path, and how the checks of bodies
 * (engine/workflow-checks.h, which import shares) are answered: field errors as they are,
 * graph errors as {"detail": {"validation_errors": [...]}}. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/http.h"
#include "store/store-workflows.h"

StoreCaller api_caller(const HttpRequest *req);

/* The workflow {slug} of the path as the caller sees it. Returns 1 with *ret_id set, 0 when
 * resp already holds the 404, or a negative errno. */
int api_workflow_from_path(HttpRequest *req, HttpResponse *resp, int64_t *ret_id);

/* "Workflow has reached the limit of N nodes" when n_existing + n_new exceeds the limit. */
bool api_node_limit_reached(HttpRequest *req, int64_t n_existing, int64_t n_new, int64_t *ret_limit);

/* 422 {"detail": {"validation_errors": messages}}; takes ownership of messages. */
int api_reply_validation_errors(HttpResponse *resp, json_t *messages);

/* The trigger that fires a run: the one named, which must be a trigger of this workflow, or
 * the workflow's only manual trigger. Returns 1 with *ret_node_id (malloc'ed), 0 when resp
 * holds the 422, or a negative errno. (api-executions.c; the D-Bus Run shares it.) */
int api_execute_trigger(HttpRequest *req, HttpResponse *resp, int64_t workflow_id, const char *named,
                        char **ret_node_id);
