/* pipelit-jq: the process that runs the jq programs of transform nodes for pipelitd.
 *
 * libjq cannot be interrupted, and a jq program can loop for ever; in a process of its own
 * it can be killed when its execution is cancelled or times out, which a thread cannot.
 * pipelitd starts one per worker thread and keeps it for the next programs (their
 * compiled form stays cached here). It reads requests on standard input and answers on
 * standard output, both one socket (jq-protocol.h), until standard input ends; it dies
 * with its parent. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "jq/jq-eval.h"

/* Programs and inputs larger than this are refused by pipelitd before they get here. */
#define REQUEST_MAX ((size_t) 1 << 30)

static int serve_one(JqEvaluator *e, JqReader *in) {
        char *program = NULL, *input = NULL, *text = NULL;
        JqRequestHeader request;
        JqAnswerHeader answer;
        JqStatus status;
        int r;

        r = jq_read_full(in, &request, sizeof request);
        if (r >= 0 && (request.program_len > REQUEST_MAX || request.input_len > REQUEST_MAX))
                r = -EMSGSIZE;
        if (r >= 0)
                r = jq_read_text(in, (size_t) request.program_len, &program);
        if (r >= 0)
                r = jq_read_text(in, (size_t) request.input_len, &input);
        if (r >= 0)
                r = jq_evaluate(e, program, input, (size_t) request.input_len, (size_t) request.output_limit,
                                &status, &text);
        if (r >= 0) {
                answer = (JqAnswerHeader) { .status = status, .text_len = strlen(text) };
                r = jq_send_all(STDOUT_FILENO, (struct iovec[]) {
                                        { .iov_base = &answer, .iov_len = sizeof answer },
                                        { .iov_base = text, .iov_len = answer.text_len } }, 2);
        }
        free(program);
        free(input);
        free(text);
        return r;
}

int main(int argc, char *argv[]) {
        static JqReader in = { .fd = STDIN_FILENO };
        JqEvaluator *e;
        int r;

        if (argc > 1) {
                fprintf(stderr, "%s takes no arguments: pipelitd runs it.\n", argv[0]);
                return EXIT_FAILURE;
        }
        /* Never outlives the daemon, never gains privileges. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

        e = jq_evaluator_new();
        if (!e)
                return EXIT_FAILURE;
        do
                r = serve_one(e, &in);
        while (r >= 0);
        jq_evaluator_free(e);
        /* Standard input ended: pipelitd let go of this process. */
        return r == -EPIPE ? EXIT_SUCCESS : EXIT_FAILURE;
}
