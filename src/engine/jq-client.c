/* This thread's jq evaluator process (jq-client.h). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "engine/jq-client.h"

/* How often a waiting run looks at its cancel flag and deadline. */
#define POLL_INTERVAL_MSEC 50
/* The answer: the results (bounded by the output limit) plus a little framing. */
#define ANSWER_SLACK 4096

typedef struct JqProcess {
        pid_t pid;
        JqReader socket;        /* our end of the socket pair: requests out, answers in */
} JqProcess;

static pthread_key_t process_key;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static int process_key_error;

static void process_end(JqProcess *p) {
        if (p->socket.fd >= 0)
                close(p->socket.fd);
        if (p->pid > 0) {
                (void) kill(p->pid, SIGKILL);
                (void) waitpid(p->pid, NULL, 0);
        }
        *p = (JqProcess) { .socket.fd = -1 };
}

static void process_free(void *userdata) {
        JqProcess *p = userdata;

        if (!p)
                return;
        process_end(p);
        free(p);
}

static void process_key_init(void) {
        process_key_error = pthread_key_create(&process_key, process_free);
}

static JqProcess *process_get(void) {
        JqProcess *p;

        if (pthread_once(&process_once, process_key_init) != 0 || process_key_error != 0)
                return NULL;
        p = pthread_getspecific(process_key);
        if (p)
                return p;
        p = malloc(sizeof(JqProcess));
        if (!p)
                return NULL;
        *p = (JqProcess) { .socket.fd = -1 };
        if (pthread_setspecific(process_key, p) != 0) {
                free(p);
                return NULL;
        }
        return p;
}

void jq_client_release(void) {
        JqProcess *p;

        if (pthread_once(&process_once, process_key_init) != 0 || process_key_error != 0)
                return;
        p = pthread_getspecific(process_key);
        if (p) {
                (void) pthread_setspecific(process_key, NULL);
                process_free(p);
        }
}

static int evaluator_path(char **ret) {
        const char *env = getenv("PIPELIT_JQ_EVALUATOR");
        char self[PATH_MAX], *slash;
        ssize_t n;

        if (env && *env)
                return (*ret = strdup(env)) ? 0 : -ENOMEM;
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = '\0';
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = '\0';
                        if (asprintf(ret, "%s/pipelit-jq", self) < 0)
                                return -ENOMEM;
                        if (access(*ret, X_OK) == 0)
                                return 0;
                        free(*ret);
                }
        }
        if (asprintf(ret, "%s/pipelit-jq", PKGLIBEXECDIR) < 0)
                return -ENOMEM;
        return access(*ret, X_OK) == 0 ? 0 : -ENOENT;
}

static int process_start(JqProcess *p) {
        _cleanup_free_ char *path = NULL;
        char *argv[] = { NULL, NULL }, *envp[] = { NULL };
        posix_spawn_file_actions_t actions;
        int pair[2], r;

        r = evaluator_path(&path);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;

        r = -posix_spawn_file_actions_init(&actions);
        if (r == 0)
                r = -posix_spawn_file_actions_adddup2(&actions, pair[1], STDIN_FILENO);
        if (r == 0)
                r = -posix_spawn_file_actions_adddup2(&actions, pair[1], STDOUT_FILENO);
        if (r == 0)
                r = -posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        argv[0] = path;
        if (r == 0)
                r = -posix_spawn(&p->pid, path, &actions, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&actions);
        close(pair[1]);
        if (r < 0) {
                close(pair[0]);
                p->pid = 0;
                return r;
        }
        p->socket = (JqReader) { .fd = pair[0] };
        return 0;
}

/* Waits for the answer to start, looking at the cancel flag and deadline meanwhile, and
 * saying once when it is slow. */
static int wait_answer(int fd, const JqWait *wait) {
        bool slow_told = !wait->slow;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int timeout = slow_told ? POLL_INTERVAL_MSEC : JQ_SLOW_MSEC, n;

                if (wait->cancelled && *wait->cancelled)
                        return -ECANCELED;
                if (wait->deadline > 0) {
                        usec_t now = now_monotonic_usec();

                        if (now >= wait->deadline)
                                return -ETIME;
                        timeout = (int) MIN((usec_t) timeout, (wait->deadline - now + 999) / 1000);
                }
                n = poll(&pfd, 1, timeout);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        return 0;
                if (n == 0 && !slow_told) {
                        slow_told = true;
                        wait->slow(wait->userdata);
                }
        }
}

int jq_client_evaluate(const char *program, const char *input, size_t input_len, size_t output_limit,
                       const JqWait *wait, JqStatus *ret_status, char **ret_text) {
        JqProcess *p = process_get();
        JqRequestHeader request = {
                .program_len = strlen(program),
                .input_len = input_len,
                .output_limit = output_limit,
        };
        JqAnswerHeader answer;
        int r;

        if (!p)
                return -ENOMEM;
        if (wait->cancelled && *wait->cancelled)
                return -ECANCELED;
        if (p->pid <= 0) {
                r = process_start(p);
                if (r < 0)
                        return r;
        }

        r = jq_send_all(p->socket.fd, (struct iovec[]) {
                                { .iov_base = &request, .iov_len = sizeof request },
                                { .iov_base = (char *) program, .iov_len = request.program_len },
                                { .iov_base = (char *) input, .iov_len = input_len } }, 3);
        if (r >= 0)
                r = wait_answer(p->socket.fd, wait);
        if (r >= 0)
                r = jq_read_full(&p->socket, &answer, sizeof answer);
        if (r >= 0 && (answer.status >= _JQ_STATUS_MAX || answer.text_len > output_limit + ANSWER_SLACK))
                r = -EBADMSG;
        if (r >= 0)
                r = jq_read_text(&p->socket, (size_t) answer.text_len, ret_text);
        if (r < 0) {
                /* Stopped, dead or confused: the next run starts a fresh one. */
                process_end(p);
                return r;
        }
        *ret_status = (JqStatus) answer.status;
        return 0;
}
