/* The fake LLM provider as a child process: started with a pipe on its standard input
 * (when the test dies, the pipe closes and the fake exits) and one on its standard
 * output, where it prints the port it listens on. */

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "fake-llm-process.h"

#define START_TIMEOUT_MSEC 15000

static const char *python(void) {
        const char *p = getenv("PYTHON3");

        return isempty(p) || streq(p, "no") ? "python3" : p;
}

static char *script_path(void) {
        const char *srcdir = getenv("PIPELIT_SRCDIR");
        char *path;

        if (isempty(srcdir))
                srcdir = TOP_SRCDIR;
        if (asprintf(&path, "%s/tests/fake-llm/fake_llm.py", srcdir) < 0)
                return NULL;
        return path;
}

int fake_llm_start(FakeLlm *f) {
        _cleanup_free_ char *script = script_path();
        int in[2], out[2];
        char line[32] = {};
        size_t n = 0;
        pid_t pid;

        *f = (FakeLlm) { .pid = -1, .stdin_fd = -1 };
        if (!script)
                return -ENOMEM;
        if (access(script, R_OK) < 0)
                return -ENOENT;
        if (pipe2(in, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(out, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return -errno;
        }

        pid = fork();
        if (pid < 0) {
                int r = -errno;

                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                return r;
        }
        if (pid == 0) {
                dup2(in[0], STDIN_FILENO);
                dup2(out[1], STDOUT_FILENO);
                execlp(python(), python(), script, "--port", "0", "--watch-stdin", (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        f->pid = pid;
        f->stdin_fd = in[1];

        /* The first line is the port; EOF means python3 could not run the script. */
        while (n < sizeof(line) - 1 && !memchr(line, '\n', n)) {
                struct pollfd p = { .fd = out[0], .events = POLLIN };
                ssize_t k;

                if (poll(&p, 1, START_TIMEOUT_MSEC) <= 0)
                        break;
                k = read(out[0], line + n, sizeof(line) - 1 - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(out[0]);
        f->port = (unsigned) strtoul(line, NULL, 10);
        if (f->port == 0) {
                fake_llm_stop(f);
                return -ENOENT;
        }
        snprintf(f->openai_url, sizeof(f->openai_url), "http://127.0.0.1:%u/v1", f->port);
        snprintf(f->anthropic_url, sizeof(f->anthropic_url), "http://127.0.0.1:%u", f->port);
        return 0;
}

void fake_llm_stop(FakeLlm *f) {
        if (f->stdin_fd >= 0)
                close(f->stdin_fd);
        f->stdin_fd = -1;
        if (f->pid > 0) {
                kill(f->pid, SIGTERM);
                (void) waitpid(f->pid, NULL, 0);
        }
        f->pid = -1;
}

typedef struct Body {
        char *data;
        size_t len;
} Body;

static size_t on_data(char *data, size_t size, size_t n, void *userdata) {
        Body *b = userdata;
        char *grown = realloc(b->data, b->len + size * n + 1);

        if (!grown)
                return 0;
        memcpy(grown + b->len, data, size * n);
        b->len += size * n;
        grown[b->len] = '\0';
        b->data = grown;
        return size * n;
}

/* One blocking request to the control endpoint; the answer's body in *ret. */
static int control(const FakeLlm *f, const char *path, const char *post, char **ret) {
        CURL *easy = curl_easy_init();
        char url[128];
        Body b = {};
        long status = 0;
        CURLcode c;

        if (!easy)
                return -ENOMEM;
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
        curl_easy_setopt(easy, CURLOPT_URL, url);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        if (post)
                curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post);
        c = curl_easy_perform(easy);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(easy);
        if (c != CURLE_OK || status != 200) {
                free(b.data);
                return -EIO;
        }
        if (ret)
                *ret = b.data;
        else
                free(b.data);
        return 0;
}

int fake_llm_script(const FakeLlm *f, const char *scenario, const char *replies_json, const char *default_json) {
        _cleanup_free_ char *body = NULL;

        if (asprintf(&body, "{\"scenario\": \"%s\", \"replies\": %s%s%s}", scenario, replies_json ?: "[]",
                     default_json ? ", \"default\": " : "", default_json ?: "") < 0)
                return -ENOMEM;
        return control(f, "/_script", body, NULL);
}

json_t *fake_llm_requests(const FakeLlm *f, const char *scenario) {
        _cleanup_free_ char *text = NULL;
        char path[256];

        snprintf(path, sizeof(path), "/_requests?scenario=%s", scenario);
        if (control(f, path, NULL, &text) < 0)
                return NULL;
        return json_loads(text, 0, NULL);
}
