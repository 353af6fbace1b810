/* Runs tests/fake-llm/fake_llm.py as a child process for C tests and benchmarks, and
 * scripts it over its control endpoint. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

typedef struct FakeLlm {
        pid_t pid;
        int stdin_fd;           /* closing it ends the fake (--watch-stdin) */
        unsigned port;
        char openai_url[64];    /* base URL for OpenAI-style requests (…/v1) */
        char anthropic_url[64]; /* base URL for Anthropic requests */
} FakeLlm;

#define FAKE_LLM_OPENAI_KEY "sk-fake-openai"
#define FAKE_LLM_ANTHROPIC_KEY "sk-ant-fake"

/* Starts the fake with $PYTHON3 (else python3) from $PIPELIT_SRCDIR (else the source tree
 * this was built from). -ENOENT when python3 or the script is not there (skip the test),
 * other negative errno when it did not come up. */
int fake_llm_start(FakeLlm *f);
void fake_llm_stop(FakeLlm *f);

/* POST /_script {"scenario": scenario, "replies": replies_json, "default": default_json}
 * (default_json may be NULL). 0 or a negative errno. */
int fake_llm_script(const FakeLlm *f, const char *scenario, const char *replies_json, const char *default_json);
/* The recorded requests of a scenario (a JSON array), or NULL. */
json_t *fake_llm_requests(const FakeLlm *f, const char *scenario);
