/* code: runs a snippet in python3 or sh inside the sandbox (sandbox/sandbox.h).
 *
 * extra_config.code in extra_config.language ("python", the default, or "sh"), killed
 * after extra_config.timeout seconds (default 60; the execution's own deadline and a
 * cancel kill it sooner). Nothing runs when no sandbox exists (sandbox.h: the code socket,
 * a transient unit when pipelitd runs as root under systemd, or bubblewrap): the node fails
 * with error_code "sandbox".
 *
 * The snippet reads its data as JSON on standard input: {"input", "trigger",
 * "node_outputs", "loop"?}. A python snippet also has them as variables (input, trigger,
 * node_outputs, and state holding all three), runs as a function body, so it may
 * "return" its value, or set "result". Output: {"output": the returned value, else result,
 * else what it printed (text)}; for sh, what it printed. A non-zero exit fails the node
 * with its standard error. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "sandbox/sandbox.h"

#define CODE_TIMEOUT_DEFAULT_SEC 60
#define CODE_TIMEOUT_MAX_SEC (24 * 3600)
#define CODE_OUTPUT_MAX ((size_t) 1024 * 1024)
#define CODE_STDERR_MAX ((size_t) 64 * 1024)
#define CODE_ERROR_STDERR_MAX 2000
/* One command-line argument (Linux MAX_ARG_STRLEN is 128 KiB). */
#define CODE_SIZE_MAX ((size_t) 128 * 1024 - 1)
#define CODE_MEMORY_MAX (UINT64_C(1) << 30)

/* Reads the JSON input, runs the snippet (argv[1]) with the variables set and its standard
 * output captured in a file, then prints one JSON envelope: {"result": value} when it
 * returned a value or set result, else {"stdout": text}. */
static const char code_python_wrapper[] =
        "import ast, io, json, os, sys, tempfile, traceback\n"
        "def _run():\n"
        "    source = sys.argv[1]\n"
        "    raw = sys.stdin.read()\n"
        "    data = json.loads(raw) if raw.strip() else {}\n"
        "    sys.stdin = io.StringIO(raw)\n"
        "    names = {'__name__': '__main__', '__builtins__': __builtins__, 'result': None,\n"
        "             'input': data.get('input'), 'trigger': data.get('trigger'),\n"
        "             'node_outputs': data.get('node_outputs') or {}, 'state': data}\n"
        "    tree = ast.parse(source, '<code>')\n"
        "    function = False\n"
        "    try:\n"
        "        compiled = compile(tree, '<code>', 'exec')\n"
        "    except SyntaxError as e:\n"
        "        if 'outside function' not in str(e):\n"
        "            raise\n"
        "        wrapper = ast.parse('def _snippet():\\n    global result\\n')\n"
        "        wrapper.body[0].body.extend(tree.body)\n"
        "        ast.fix_missing_locations(wrapper)\n"
        "        compiled = compile(wrapper, '<code>', 'exec')\n"
        "        function = True\n"
        "    sys.stdout.flush()\n"
        "    capture = tempfile.TemporaryFile()\n"
        "    saved = os.dup(1)\n"
        "    os.dup2(capture.fileno(), 1)\n"
        "    returned = None\n"
        "    try:\n"
        "        exec(compiled, names)\n"
        "        if function:\n"
        "            returned = names['_snippet']()\n"
        "    except SystemExit as e:\n"
        "        if e.code not in (None, 0):\n"
        "            raise\n"
        "    finally:\n"
        "        sys.stdout.flush()\n"
        "        os.dup2(saved, 1)\n"
        "    value = returned if returned is not None else names.get('result')\n"
        "    if value is not None:\n"
        "        try:\n"
        "            envelope = json.dumps({'result': value}, allow_nan=False, default=str)\n"
        "        except (TypeError, ValueError):\n"
        "            envelope = json.dumps({'result': str(value)})\n"
        "    else:\n"
        "        capture.seek(0)\n"
        "        envelope = json.dumps({'stdout': capture.read().decode('utf-8', 'replace')})\n"
        "    sys.stdout.write(envelope)\n"
        "    sys.stdout.flush()\n"
        "try:\n"
        "    _run()\n"
        "except SystemExit:\n"
        "    raise\n"
        "except BaseException as e:\n"
        "    tb = e.__traceback__\n"
        "    while tb is not None and tb.tb_frame.f_code.co_filename != '<code>':\n"
        "        tb = tb.tb_next\n"
        "    traceback.print_exception(type(e), e, tb)\n"
        "    sys.exit(1)\n";

typedef enum CodeLanguage {
        CODE_PYTHON,
        CODE_SH,
} CodeLanguage;

static bool code_should_stop(void *userdata) {
        return node_run_should_stop(userdata);
}

/* {"input", "trigger", "node_outputs", "loop"?} as JSON text. */
static char *code_input_text(const NodeRun *run, size_t *ret_size) {
        _cleanup_json_ json_t *data = NULL, *outputs = json_object();
        const char *key;
        json_t *value;
        char *text;

        if (!outputs)
                return NULL;
        json_object_foreach(run->context, key, value)
                if (!streq(key, "trigger") && !streq(key, "loop") && json_object_set(outputs, key, value) < 0)
                        return NULL;

        data = json_pack("{s:O, s:O, s:O}",
                         "input", run->input ?: json_null(),
                         "trigger", json_object_get(run->context, "trigger") ?: json_null(),
                         "node_outputs", outputs);
        if (!data)
                return NULL;
        value = json_object_get(run->context, "loop");
        if (value && json_object_set(data, "loop", value) < 0)
                return NULL;

        text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text)
                *ret_size = strlen(text);
        return text;
}

static char *code_stderr_excerpt(const SandboxResult *result) {
        size_t n = result->stderr_size;
        const char *s = result->stderr_data;
        _cleanup_json_ json_t *text = NULL;
        char *excerpt;

        /* The end of standard error says most: the exception, the last message. */
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                n--;
        if (n > CODE_ERROR_STDERR_MAX) {
                s += n - CODE_ERROR_STDERR_MAX;
                n = CODE_ERROR_STDERR_MAX;
        }
        text = json_string_from_bytes(s, n);
        if (!text)
                return NULL;
        if (asprintf(&excerpt, "%s%s", s != result->stderr_data ? "…" : "",
                     json_string_value(text)) < 0)
                return NULL;
        return excerpt;
}

static int code_fail_exit(NodeRun *run, const SandboxResult *result) {
        _cleanup_free_ char *excerpt = code_stderr_excerpt(result);

        if (result->end == SANDBOX_SIGNALED)
                return node_run_fail(run, "code", "The snippet was killed by signal %d%s%s", result->exit_status,
                                     isempty(excerpt) ? "" : ": ", excerpt ?: "");
        return node_run_fail(run, "code", "The snippet exited with status %d%s%s", result->exit_status,
                             isempty(excerpt) ? "" : ": ", excerpt ?: "");
}

static int code_output(NodeRun *run, CodeLanguage language, const SandboxResult *result) {
        _cleanup_json_ json_t *envelope = NULL;
        size_t n = result->stdout_size;
        json_t *value;

        if (language == CODE_SH) {
                /* What echo printed, without its final newline. */
                if (n > 0 && result->stdout_data[n - 1] == '\n')
                        n--;
                value = json_string_from_bytes(result->stdout_data, n);
                if (!value)
                        return node_run_fail_oom(run);
                return node_run_output(run, "output", value);
        }

        envelope = json_loadb(result->stdout_data, result->stdout_size, JSON_ALLOW_NUL, NULL);
        if (json_object_get(envelope, "result"))
                value = json_incref(json_object_get(envelope, "result"));
        else if (json_is_string(json_object_get(envelope, "stdout"))) {
                const char *text = json_string_value(json_object_get(envelope, "stdout"));

                n = json_string_length(json_object_get(envelope, "stdout"));
                if (n > 0 && text[n - 1] == '\n')
                        n--;
                value = json_stringn(text, n);
        } else
                return node_run_fail(run, "code", "The snippet's output could not be read");
        if (!value)
                return node_run_fail_oom(run);
        return node_run_output(run, "output", value);
}

int component_code(NodeRun *run) {
        const char *code = node_run_setting_string(run, "code", "");
        const char *language_name = node_run_setting_string(run, "language", "python");
        _cleanup_(sandbox_result_done) SandboxResult result = {};
        _cleanup_free_ char *input = NULL;
        CodeLanguage language;
        double timeout_sec;
        size_t input_size = 0;
        usec_t timeout;
        int r;

        if (streq(language_name, "python") || streq(language_name, "python3"))
                language = CODE_PYTHON;
        else if (streq(language_name, "sh") || streq(language_name, "shell"))
                language = CODE_SH;
        else
                return node_run_fail_config(run, "Unknown language '%s' (python or sh)", language_name);

        if (node_run_setting(run, "code") && !node_run_setting_string(run, "code", NULL))
                return node_run_fail_config(run, "code must be text");
        if (isempty(code))
                return node_run_fail_config(run, "The code node has no code");
        if (strlen(code) > CODE_SIZE_MAX)
                return node_run_fail_config(run, "The snippet is longer than %zu bytes", CODE_SIZE_MAX);

        if (node_run_setting_number(run, "timeout", CODE_TIMEOUT_DEFAULT_SEC, &timeout_sec) < 0 ||
            !(timeout_sec > 0) || timeout_sec > CODE_TIMEOUT_MAX_SEC)
                return node_run_fail_config(run, "timeout must be a number of seconds between 1 and %d",
                                            CODE_TIMEOUT_MAX_SEC);
        timeout = (usec_t) llround(timeout_sec * 1e6);
        if (run->deadline > 0) {
                usec_t now = now_monotonic_usec();

                if (now >= run->deadline)
                        return node_run_fail_stopped(run);
                timeout = MIN(timeout, run->deadline - now);
        }

        input = code_input_text(run, &input_size);
        if (!input)
                return node_run_fail_oom(run);

        char *const python_argv[] = { (char *) "/usr/bin/python3", (char *) "-I", (char *) "-c",
                                      (char *) code_python_wrapper, (char *) code, NULL };
        char *const sh_argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) code, (char *) "sh", NULL };
        SandboxOptions options = {
                .argv = language == CODE_PYTHON ? python_argv : sh_argv,
                .input = input,
                .input_size = input_size,
                .timeout_usec = timeout,
                .max_stdout = CODE_OUTPUT_MAX,
                .max_stderr = CODE_STDERR_MAX,
                .max_address_space = CODE_MEMORY_MAX,
                .should_stop = code_should_stop,
                .userdata = run,
        };

        r = sandbox_run(&options, &result);
        if (r == -ENOENT) {
                r = node_run_fail(run, "sandbox",
                                  "No sandbox is available to run code: start pipelit-code.socket (systemctl start "
                                  "pipelit-code.socket), run pipelitd as root under systemd, or install bubblewrap; "
                                  "refusing to run it unsandboxed");
                run->retryable = false;
                return r;
        }
        if (r < 0)
                return node_run_fail(run, "sandbox", "Could not start the sandbox: %s", strerror(-r));

        switch (result.end) {
        case SANDBOX_EXITED:
                if (result.exit_status != 0)
                        return code_fail_exit(run, &result);
                return code_output(run, language, &result);
        case SANDBOX_SIGNALED:
                return code_fail_exit(run, &result);
        case SANDBOX_TIMED_OUT:
                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
                return node_run_fail(run, "timeout", "The snippet ran longer than %.15g s and was killed", timeout_sec);
        case SANDBOX_STOPPED:
                return node_run_fail_stopped(run);
        case SANDBOX_OUTPUT_LIMIT:
                r = node_run_fail(run, "limit", "The snippet printed more than %zu bytes and was killed", CODE_OUTPUT_MAX);
                run->retryable = false;
                return r;
        case SANDBOX_SETUP_FAILED:
        default: {
                _cleanup_free_ char *excerpt = code_stderr_excerpt(&result);

                return node_run_fail(run, "sandbox", "The sandbox could not be set up%s%s",
                                     isempty(excerpt) ? "" : ": ", excerpt ?: "");
        }
        }
}
