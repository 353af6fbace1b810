/* run_command: the model runs "sh -c <command>" in its agent's workspace, inside the sandbox
 * (sandbox/sandbox.h), never outside it: without a sandbox the tool refuses.
 *
 * The workspace is the agent node's own folder (engine/workspaces.h), its working directory
 * and $HOME, the one place of the host it may write to; what a command leaves there is
 * there for the next call and the next execution. The tool node's extra_config: timeout
 * (seconds, default 300; the execution's deadline and a cancel stop it sooner) and
 * allow_network (default false; bubblewrap and a transient unit can give it, the code
 * socket's unit cannot and the call fails saying so).
 *
 * The model reads the command's standard output, then its standard error as "[stderr] "
 * lines, then "[exit code: N]" when it failed, cut in the middle past 50,000 characters. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/agent-tool-command.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "engine/workspaces.h"
#include "sandbox/sandbox.h"

#define COMMAND_TIMEOUT_DEFAULT_SEC 300
#define COMMAND_TIMEOUT_MAX_SEC (24 * 3600)
/* One command-line argument (Linux MAX_ARG_STRLEN is 128 KiB). */
#define COMMAND_SIZE_MAX ((size_t) 128 * 1024 - 1)
/* What is kept of the streams; more standard output kills the command. */
#define COMMAND_STDOUT_MAX ((size_t) 1024 * 1024)
#define COMMAND_STDERR_MAX ((size_t) 256 * 1024)
/* Compilers and package managers want room; the sandbox's limits bound it further. */
#define COMMAND_MEMORY_MAX (UINT64_C(4) << 30)
#define COMMAND_FILE_SIZE_MAX (UINT64_C(256) << 20)

/* --- the output ------------------------------------------------------------------------- */

static bool append(char **buf, size_t *size, size_t *allocated, const char *s, size_t n) {
        if (*size + n + 1 > *allocated) {
                size_t a = MAX(*allocated * 2, *size + n + 1);
                char *grown = realloc(*buf, a);

                if (!grown)
                        return false;
                *buf = grown;
                *allocated = a;
        }
        memcpy(*buf + *size, s, n);
        *size += n;
        (*buf)[*size] = '\0';
        return true;
}

/* The bytes as UTF-8 text (malloc'ed), n bytes of it in *ret_size. */
static char *clean_text(const char *s, size_t n, size_t *ret_size) {
        _cleanup_json_ json_t *text = json_string_from_bytes(s ?: "", s ? n : 0);
        char *copy;

        if (!text)
                return NULL;
        *ret_size = json_string_length(text);
        copy = malloc(*ret_size + 1);
        if (copy)
                memcpy(copy, json_string_value(text), *ret_size + 1);
        return copy;
}

static bool is_continuation(char c) {
        return ((unsigned char) c & 0xc0) == 0x80;
}

/* Past max_chars characters: the first and last halves around a note. */
static char *cut_middle(char *text, size_t size, size_t max_chars) {
        size_t chars = 0, keep = max_chars / 2, head = 0, tail = size, seen;
        char *cut;

        for (size_t i = 0; i < size; i++)
                chars += !is_continuation(text[i]);
        if (chars <= max_chars)
                return text;

        for (seen = 0; head < size && seen <= keep; head++)
                if (!is_continuation(text[head]) && ++seen > keep)
                        break;
        for (seen = 0; tail > 0 && seen < keep; )
                if (!is_continuation(text[--tail]))
                        seen++;
        if (asprintf(&cut, "%.*s\n[... %zu characters left out ...]\n%s", (int) head, text, chars - 2 * keep,
                     text + tail) < 0)
                cut = NULL;
        free(text);
        return cut;
}

char *command_output_format(const char *out, size_t out_size, const char *err, size_t err_size,
                            const char *last_line, size_t max_chars) {
        _cleanup_free_ char *out_text = NULL, *err_text = NULL;
        char *buf = NULL;
        size_t size = 0, allocated = 0, out_n, err_n;

        out_text = clean_text(out, out_size, &out_n);
        err_text = clean_text(err, err_size, &err_n);
        if (!out_text || !err_text || !append(&buf, &size, &allocated, out_text, out_n))
                goto fail;

        for (const char *line = err_text, *end = err_text + err_n; line < end; ) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                size_t n = nl ? (size_t) (nl - line) : (size_t) (end - line);

                if ((size > 0 && buf[size - 1] != '\n' && !append(&buf, &size, &allocated, "\n", 1)) ||
                    !append(&buf, &size, &allocated, "[stderr] ", strlen("[stderr] ")) ||
                    !append(&buf, &size, &allocated, line, n) || !append(&buf, &size, &allocated, "\n", 1))
                        goto fail;
                line += n + 1;
        }
        if (last_line &&
            ((size > 0 && buf[size - 1] != '\n' && !append(&buf, &size, &allocated, "\n", 1)) ||
             !append(&buf, &size, &allocated, last_line, strlen(last_line))))
                goto fail;

        /* The last newline says nothing. */
        if (size > 0 && buf[size - 1] == '\n')
                buf[--size] = '\0';
        if (size == 0) {
                free(buf);
                return strdup("(no output)");
        }
        return cut_middle(buf, size, max_chars);

fail:
        free(buf);
        return NULL;
}

/* --- the tool ------------------------------------------------------------------------------- */

static bool command_should_stop(void *userdata) {
        return node_run_should_stop(userdata);
}

static char *stderr_text(const SandboxResult *result) {
        size_t n = result->stderr_size;

        while (n > 0 && (result->stderr_data[n - 1] == '\n' || result->stderr_data[n - 1] == ' '))
                n--;
        return command_output_format(result->stderr_data, n, NULL, 0, NULL, 2000);
}

/* What the model learns of a run that did not end by itself in time. */
static int fail_timed_out(const SandboxResult *result, double timeout_sec, char **ret_error) {
        _cleanup_free_ char *output = NULL;

        output = command_output_format(result->stdout_data, result->stdout_size, result->stderr_data,
                                       result->stderr_size, NULL, COMMAND_OUTPUT_MAX_CHARS);
        if (!output)
                return -ENOMEM;
        if (asprintf(ret_error, "The command ran longer than %.15g s and was killed. Its output until then:\n%s",
                     timeout_sec, output) < 0)
                return -ENOMEM;
        return -ETIMEDOUT;
}

static int run_command_result(NodeRun *run, const SandboxResult *result, double timeout_sec, char **ret_result,
                              char **ret_error) {
        _cleanup_free_ char *why = NULL;
        char last[128];

        switch (result->end) {
        case SANDBOX_EXITED:
                if (result->exit_status != 0)
                        (void) snprintf(last, sizeof(last), "[exit code: %d]", result->exit_status);
                break;
        case SANDBOX_SIGNALED:
                (void) snprintf(last, sizeof(last), "[killed by signal %d]", result->exit_status);
                break;
        case SANDBOX_OUTPUT_LIMIT:
                (void) snprintf(last, sizeof(last), "[killed: it printed more than %zu bytes]", COMMAND_STDOUT_MAX);
                break;
        case SANDBOX_TIMED_OUT:
                if (node_run_should_stop(run))
                        return agent_tool_fail(ret_error, "The command was stopped: the execution was cancelled "
                                               "or ran out of time");
                return fail_timed_out(result, timeout_sec, ret_error);
        case SANDBOX_STOPPED:
                return agent_tool_fail(ret_error, "The command was stopped: the execution was cancelled or ran out "
                                       "of time");
        case SANDBOX_SETUP_FAILED:
        default:
                why = stderr_text(result);
                if (!why || asprintf(ret_error, "The sandbox could not be set up: %s", why) < 0)
                        return -ENOMEM;
                return -EIO;
        }

        *ret_result = command_output_format(result->stdout_data, result->stdout_size, result->stderr_data,
                                            result->stderr_size,
                                            result->end == SANDBOX_EXITED && result->exit_status == 0 ? NULL : last,
                                            COMMAND_OUTPUT_MAX_CHARS);
        return *ret_result ? 0 : -ENOMEM;
}

static int tool_run_command(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                            char **ret_error) {
        const char *command = json_get_string(arguments, "command", NULL);
        const NodeRun settings = { .config = tool->config };
        _cleanup_(sandbox_result_done) SandboxResult result = {};
        _cleanup_free_ char *workspace = NULL;
        double timeout_sec;
        usec_t timeout;
        int r;

        if (!command || isempty(command))
                return agent_tool_fail(ret_error, "The argument 'command' (a string) is missing");
        if (strlen(command) > COMMAND_SIZE_MAX)
                return agent_tool_fail(ret_error, "The command is longer than 131071 bytes");
        if (node_run_setting_number(&settings, "timeout", COMMAND_TIMEOUT_DEFAULT_SEC, &timeout_sec) < 0 ||
            !(timeout_sec > 0) || timeout_sec > COMMAND_TIMEOUT_MAX_SEC)
                return agent_tool_fail(ret_error, "The run_command node's timeout must be a number of seconds "
                                       "between 1 and 86400");
        if (!workspaces_root())
                return agent_tool_fail(ret_error, "Workspaces are not set up: pipelitd has no state directory");
        r = workspaces_name(run->workflow_id, run->node_id, &workspace);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return agent_tool_fail(ret_error, "This agent has no workspace (its node id cannot name one)");

        timeout = (usec_t) llround(timeout_sec * 1e6);
        if (run->deadline > 0) {
                usec_t now = now_monotonic_usec();

                if (now >= run->deadline)
                        return agent_tool_fail(ret_error, "The execution's time is up");
                timeout = MIN(timeout, run->deadline - now);
        }

        char *const argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) command, (char *) "sh", NULL };
        SandboxOptions options = {
                .argv = argv,
                .timeout_usec = timeout,
                .max_stdout = COMMAND_STDOUT_MAX,
                .max_stderr = COMMAND_STDERR_MAX,
                .max_address_space = COMMAND_MEMORY_MAX,
                .max_file_size = COMMAND_FILE_SIZE_MAX,
                .should_stop = command_should_stop,
                .userdata = run,
                .workspace_root = workspaces_root(),
                .workspace = workspace,
                .allow_network = node_run_setting_bool(&settings, "allow_network", false),
        };

        r = sandbox_run(&options, &result);
        if (r == -ENOENT)
                return agent_tool_fail(ret_error, "No sandbox is available to run commands: start "
                                       "pipelit-code.socket (systemctl start pipelit-code.socket), run pipelitd "
                                       "as root under systemd, or install bubblewrap; refusing to run it "
                                       "unsandboxed");
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (asprintf(ret_error, "Could not start the sandbox: %s", strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        return run_command_result(run, &result, timeout_sec, ret_result, ret_error);
}

const AgentToolSpec agent_tool_run_command = {
        .component_type = "run_command",
        .description = "Runs a shell command (sh -c) in your workspace, a folder of your own that keeps its "
                       "files between calls; it is the working directory and $HOME. Returns what the command "
                       "printed: its standard output, then its standard error as [stderr] lines, then "
                       "[exit code: N] when it failed.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"command\": {\"type\": \"string\", "
                      "\"description\": \"The command line, e.g. ls -la\"}}, \"required\": [\"command\"]}",
        .call = tool_run_command,
};
