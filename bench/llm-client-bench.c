/* Drives bench/llm-client-concurrency.sh: N requests submitted at once to the fake LLM
 * provider, each answered after DELAY seconds, all waiting on the LLM client's one thread.
 * Prints the wall time from the first submission to the last answer and this process's
 * memory (resident set when all requests wait, and its peak).
 *
 * Usage: llm-client-bench [N [DELAY [openai|anthropic|mixed [stream]]]] */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../tests/fake-llm/fake-llm-process.h"
#include "common/time-util.h"
#include "llm/llm.h"

static atomic_uint finished, failed;
static atomic_ullong last_end;

static void on_done(LlmResponse *response, const LlmError *error, void *userdata) {
        if (!response) {
                if (atomic_fetch_add(&failed, 1) == 0)
                        fprintf(stderr, "first failure: %s: %s\n", llm_error_kind_to_string(error->kind), error->message);
        }
        llm_response_free(response);
        atomic_store(&last_end, now_monotonic_usec());
        atomic_fetch_add(&finished, 1);
}

static long rss_kib(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kib = -1;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static void raise_fd_limit(void) {
        struct rlimit rl;

        /* Each waiting request holds a socket. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int main(int argc, char *argv[]) {
        unsigned n = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 1000;
        const char *delay = argc > 2 ? argv[2] : "1";
        const char *dialect = argc > 3 ? argv[3] : "mixed";
        bool stream = argc > 4 && strcmp(argv[4], "stream") == 0;
        _cleanup_(llm_client_freep) LlmClient *c = NULL;
        LlmClientOptions opts = { .max_attempts = 1 };
        LlmMessage *messages = NULL;
        size_t n_messages = 0;
        char default_reply[128];
        long rss_idle, rss_waiting = -1;
        struct rusage ru;
        usec_t start;
        FakeLlm fake;
        int r;

        raise_fd_limit();
        r = fake_llm_start(&fake);
        if (r < 0) {
                fprintf(stderr, "the fake LLM provider did not start: %s\n", strerror(-r));
                return r == -ENOENT ? 77 : EXIT_FAILURE;
        }
        snprintf(default_reply, sizeof(default_reply), "{\"text\": \"done\", \"delay\": %s}", delay);
        if (fake_llm_script(&fake, "bench", "[]", default_reply) < 0) {
                fprintf(stderr, "scripting the fake failed\n");
                fake_llm_stop(&fake);
                return EXIT_FAILURE;
        }
        if (!llm_messages_add(&messages, &n_messages, LLM_ROLE_USER, "hello") ||
            llm_client_new(&opts, &c) < 0 || llm_client_start(c) < 0) {
                fprintf(stderr, "setting up failed\n");
                fake_llm_stop(&fake);
                return EXIT_FAILURE;
        }
        rss_idle = rss_kib();

        start = now_monotonic_usec();
        for (unsigned i = 0; i < n; i++) {
                bool anthropic = streq(dialect, "anthropic") || (streq(dialect, "mixed") && i % 2);
                LlmRequest req;

                llm_request_init(&req);
                req.provider = anthropic ? LLM_PROVIDER_ANTHROPIC : LLM_PROVIDER_OPENAI;
                req.base_url = anthropic ? fake.anthropic_url : fake.openai_url;
                req.api_key = anthropic ? FAKE_LLM_ANTHROPIC_KEY : FAKE_LLM_OPENAI_KEY;
                req.model = "bench";
                req.messages = messages;
                req.n_messages = n_messages;
                req.stream = stream;
                req.timeout = 30 * USEC_PER_SECOND;
                r = llm_client_submit(c, &req, on_done, NULL, NULL, NULL);
                if (r < 0) {
                        fprintf(stderr, "submit: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        while (atomic_load(&finished) < n) {
                /* Sampled half-way through the provider's delay, when all requests wait. */
                if (rss_waiting < 0 && now_monotonic_usec() - start > (usec_t) (strtod(delay, NULL) * 0.5 * USEC_PER_SECOND))
                        rss_waiting = rss_kib();
                usleep(5000);
        }
        getrusage(RUSAGE_SELF, &ru);

        printf("requests:      %u (%s%s), provider delay %s s, one client thread\n", n, dialect,
               stream ? ", streamed" : "", delay);
        printf("failed:        %u\n", atomic_load(&failed));
        printf("wall time:     %.3f s (first submission to last answer)\n",
               (double) (atomic_load(&last_end) - start) / USEC_PER_SECOND);
        printf("RSS:           %ld KiB idle, %ld KiB with all requests waiting, %ld KiB peak\n", rss_idle,
               rss_waiting, ru.ru_maxrss);
        printf("per request:   %.1f KiB\n", rss_waiting > rss_idle ? (double) (rss_waiting - rss_idle) / n : 0.0);
        printf("CPU:           %.3f s user, %.3f s system\n",
               ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);

        llm_client_stop(c);
        llm_messages_free(messages, n_messages);
        fake_llm_stop(&fake);
        return atomic_load(&failed) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
