/* Running jq programs on JSON text with libjq, inside the evaluator process (pipelit-jq).
 *
 * Compiling a program costs milliseconds (libjq compiles its builtins each time), running
 * it microseconds, so the evaluator keeps its last few compiled programs. A program runs
 * with $ENV and env emptied, so a workflow cannot read the environment, and stderr
 * silenced; import and include are not available (the wrapper makes them syntax errors).
 * Single-threaded: one evaluator process per worker thread of the daemon. */
#pragma once

#include <stddef.h>

#include "jq/jq-protocol.h"

typedef struct JqEvaluator JqEvaluator;

JqEvaluator *jq_evaluator_new(void);
JqEvaluator *jq_evaluator_free(JqEvaluator *e);

/* Runs program over input (JSON text). JQ_OK: *ret_text is the JSON array of its results
 * (at most output_limit bytes of them); otherwise *ret_text says what went wrong. Negative
 * errno only when out of memory. */
int jq_evaluate(JqEvaluator *e, const char *program, const char *input, size_t input_len, size_t output_limit,
                JqStatus *ret_status, char **ret_text);
