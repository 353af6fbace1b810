/* jq programs run in an evaluator process (pipelit-jq, src/jq/), one per worker thread,
 * started on first use and kept: libjq cannot be interrupted, and a process can be killed
 * when the run is cancelled or out of time, which a thread cannot.
 *
 * The evaluator is found at $PIPELIT_JQ_EVALUATOR, else next to the running program (a
 * build tree), else in the package's libexec folder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/time-util.h"
#include "jq/jq-protocol.h"

/* How a run waits for its answer. */
typedef struct JqWait {
        const volatile bool *cancelled; /* the run ends once it becomes true (NULL: never) */
        usec_t deadline;                /* CLOCK_MONOTONIC µs when the run ends; 0: none */
        /* Called once when the answer has not come after JQ_SLOW_MSEC (NULL: nobody asks). */
        void (*slow)(void *userdata);
        void *userdata;
} JqWait;

#define JQ_SLOW_MSEC 20

/* Runs program over input (JSON text) in this thread's evaluator. 0 with *ret_status and
 * *ret_text (jq-eval.h); -ECANCELED once *wait->cancelled became true and -ETIME at its
 * deadline, the evaluator killed in both cases; -ENOENT when there is no evaluator to run;
 * another negative errno when it could not be reached (it is started again next time). */
int jq_client_evaluate(const char *program, const char *input, size_t input_len, size_t output_limit,
                       const JqWait *wait, JqStatus *ret_status, char **ret_text);

/* Ends this thread's evaluator (it ends by itself with the thread, too). */
void jq_client_release(void);
