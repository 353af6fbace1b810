/* The node components, one file each, and the helpers they share (component-util.c).
 *
 * Every component follows the contract of engine/component.h: it reads run->config
 * (extra_config holds its settings, templates already rendered), run->context and
 * run->input, fills run->output (and route, delay_usec or loop_items when it is that kind
 * of node) and returns 0, or fails through node_run_fail() and returns its negative code. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "engine/component.h"

int component_switch(NodeRun *run);
int component_assertion(NodeRun *run);
int component_filter(NodeRun *run);
int component_merge(NodeRun *run);
int component_loop(NodeRun *run);
int component_wait(NodeRun *run);
int component_reply_chat(NodeRun *run);
int component_transform(NodeRun *run);
int component_http_request(NodeRun *run);
int component_code(NodeRun *run);
int component_human_confirmation(NodeRun *run);
int component_workflow(NodeRun *run);
int component_agent(NodeRun *run);
int component_agent_resume(NodeRun *run, void *state);

/* Whether a person's answer confirms: "yes", "y", "confirm", "true", "1" (any case) or
 * JSON true. */
bool confirmation_answer_is_yes(json_t *answer);

/* transform keeps each worker thread's recently compiled jq programs; this drops the
 * calling thread's (the cache of a thread that ends is freed with it). */
void transform_cache_flush(void);

/* --- shared helpers --------------------------------------------------------------------- */

/* run->config.extra_config[key] (borrowed), or NULL when absent or JSON null. */
json_t *node_run_setting(const NodeRun *run, const char *key);
/* The setting when it is a string, else def. */
const char *node_run_setting_string(const NodeRun *run, const char *key, const char *def);
/* A boolean setting; rendered templates may turn booleans into "true"/"false" text, so
 * those (and 0/1) are accepted too. Anything else gives def. */
bool node_run_setting_bool(const NodeRun *run, const char *key, bool def);
/* A numeric setting, also from numeric text. Returns 0 with *ret set (def when absent),
 * or -EINVAL when present but not a number. */
int node_run_setting_number(const NodeRun *run, const char *key, double def, double *ret);

/* Fails the run for a configuration mistake: error_code "config", not retryable (the same
 * settings fail the same way on every attempt). */
int node_run_fail_config(NodeRun *run, const char *format, ...) _printf_(2, 3);
/* Fails the run after an allocation failure. */
int node_run_fail_oom(NodeRun *run);
/* Fails the run because node_run_should_stop() became true: "cancelled" or "timeout". */
int node_run_fail_stopped(NodeRun *run);

/* The document that rules and dotted paths read, built from run->context:
 *   {"trigger": …, "node_outputs": {node_id: output, …}, "input": run->input,
 *    "loop": … (inside a loop body), node_id: output, …}
 * Node outputs sit both under "node_outputs" and at the top level, so that a path may be
 * written with or without the "node_outputs." prefix (and, per json_path_get(), with or
 * without "state."). The values are shared with the context, not copied. NULL on ENOMEM. */
json_t *node_run_rule_document(const NodeRun *run);

/* The value a node's output stands for: the output object itself, except that an output
 * with a single port stands for that port's value ({"output": [1, 2]} is the list). With
 * field, the value at that dotted path, looked up in the output object first and then in
 * its single port's value. Borrowed; NULL when missing. */
json_t *node_output_value(json_t *output, const char *field);

/* The data a node reads when configured with source_node (+ field): the value of that
 * node's output in run->context; without source_node, run->input's value. Borrowed; NULL
 * when run->input is missing. Fails the run (config error) and returns -EINVAL when
 * source_node has no output or field is missing from it. */
int node_run_source_value(NodeRun *run, const char *source_node, const char *field, json_t **ret);

/* A JSON string of n bytes of text that may hold bytes that are not UTF-8, or NULs (program
 * output, HTTP bodies): each such byte becomes U+FFFD. NULL on ENOMEM. */
json_t *json_string_from_bytes(const char *text, size_t n);

/* A short name of a JSON value's type for messages: "object", "array", "string", … */
const char *json_type_name(const json_t *v);

/* Whether run->input is the {parent_id: output} map the orchestrator passes to a node with
 * several parents: every key is a finished node whose output is that value. */
bool node_run_input_is_parent_map(const NodeRun *run);
