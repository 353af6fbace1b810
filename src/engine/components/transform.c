/* transform: reshapes data with a jq program, in process (libjq).
 *
 * extra_config.program runs with the template context as its input ".": {"trigger": …,
 * "<node_id>": {port: value, …}, …}. Output: {"output": result}; a program producing
 * several results gives the array of them, one producing none gives null.
 *
 * Compiling a program costs milliseconds (libjq compiles its builtins each time), running
 * it microseconds, so each worker thread keeps its last few compiled programs. A jq_state
 * is never shared between threads. The program runs with $ENV and env emptied, so a
 * workflow cannot read the daemon's environment, and stderr silenced; import and include
 * are not available (the wrapper makes them syntax errors).
 *
 * libjq gives no way to interrupt a program: a jq loop that never ends holds its worker.
 * Between results the run stops when cancelled or past its deadline. */

#include <errno.h>
#include <jq.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/components.h"

#define JQ_CACHE_SIZE 16
#define JQ_OUTPUT_LIMIT_DEFAULT (16u * 1024 * 1024)
#define JQ_ERROR_MAX 2000

/* Kept on the same line as the program so that line numbers in errors stay right. */
#define JQ_PROGRAM_PREFIX "def env: {}; def stderr: .; def input_filename: null; {} as $ENV | "

typedef struct JqProgram {
        char *text;             /* the program as the user wrote it */
        jq_state *jq;           /* compiled, or NULL when it does not compile */
        char *error;            /* why it does not compile */
        uint64_t last_used;
} JqProgram;

typedef struct JqCache {
        JqProgram programs[JQ_CACHE_SIZE];
        uint64_t clock;
} JqCache;

static pthread_key_t jq_cache_key;
static pthread_once_t jq_cache_once = PTHREAD_ONCE_INIT;
static int jq_cache_key_error;

static void jq_program_done(JqProgram *p) {
        free(p->text);
        free(p->error);
        if (p->jq)
                jq_teardown(&p->jq);
        *p = (JqProgram) {};
}

static void jq_cache_free(void *userdata) {
        JqCache *cache = userdata;

        if (!cache)
                return;
        for (size_t i = 0; i < JQ_CACHE_SIZE; i++)
                jq_program_done(&cache->programs[i]);
        free(cache);
}

static void jq_cache_key_init(void) {
        jq_cache_key_error = pthread_key_create(&jq_cache_key, jq_cache_free);
}

static JqCache *jq_cache_get(void) {
        JqCache *cache;

        if (pthread_once(&jq_cache_once, jq_cache_key_init) != 0 || jq_cache_key_error != 0)
                return NULL;
        cache = pthread_getspecific(jq_cache_key);
        if (cache)
                return cache;
        cache = calloc(1, sizeof(JqCache));
        if (!cache)
                return NULL;
        if (pthread_setspecific(jq_cache_key, cache) != 0) {
                free(cache);
                return NULL;
        }
        return cache;
}

void transform_cache_flush(void) {
        JqCache *cache;

        if (pthread_once(&jq_cache_once, jq_cache_key_init) != 0 || jq_cache_key_error != 0)
                return;
        cache = pthread_getspecific(jq_cache_key);
        if (cache) {
                (void) pthread_setspecific(jq_cache_key, NULL);
                jq_cache_free(cache);
        }
}

typedef struct JqErrors {
        char *text;
        size_t len;
} JqErrors;

/* libjq reports a compile error as "jq: error: <what> at <top-level>, line N:\n<source>"
 * and then "jq: N compile error(s)"; keep the first line of each error, without the
 * command-line advice. */
static void jq_errors_collect(void *userdata, jv message) {
        JqErrors *errors = userdata;
        jv formatted = jq_format_error(message);
        const char *s, *eol, *advice;
        size_t n;
        char *t;

        if (jv_get_kind(formatted) != JV_KIND_STRING) {
                jv_free(formatted);
                return;
        }
        s = jv_string_value(formatted);
        if (strncmp(s, "jq: error: ", 11) == 0)
                s += 11;
        else if (strncmp(s, "jq: ", 4) == 0 && strstr(s, "compile error")) {
                jv_free(formatted);
                return;
        }
        eol = strchrnul(s, '\n');
        n = (size_t) (eol - s);
        if (n > 0 && s[n - 1] == ':')
                n--;
        advice = memmem(s, n, " (Unix shell quoting issues?)", 29);
        if (errors->len < JQ_ERROR_MAX) {
                t = realloc(errors->text, errors->len + n + 3);
                if (t) {
                        errors->text = t;
                        if (errors->len > 0) {
                                memcpy(t + errors->len, "; ", 2);
                                errors->len += 2;
                        }
                        if (advice) {
                                size_t before = (size_t) (advice - s);

                                memcpy(t + errors->len, s, before);
                                memcpy(t + errors->len + before, advice + 29, n - before - 29);
                                errors->len += n - 29;
                        } else {
                                memcpy(t + errors->len, s, n);
                                errors->len += n;
                        }
                        t[errors->len] = '\0';
                }
        }
        jv_free(formatted);
}

static void jq_errors_discard(void *userdata, jv message) {
        jv_free(message);
}

static int jq_program_compile(JqProgram *p, const char *text) {
        _cleanup_free_ char *wrapped = NULL;
        JqErrors errors = {};
        const char *body = text;

        /* An empty program is the identity, as on the command line. */
        if (strspn(text, " \t\r\n") == strlen(text))
                body = ".";
        if (asprintf(&wrapped, JQ_PROGRAM_PREFIX "%s", body) < 0)
                return -ENOMEM;

        *p = (JqProgram) { .text = strdup(text) };
        p->jq = jq_init();
        if (!p->text || !p->jq) {
                jq_program_done(p);
                return -ENOMEM;
        }

        jq_set_error_cb(p->jq, jq_errors_collect, &errors);
        if (!jq_compile(p->jq, wrapped)) {
                jq_teardown(&p->jq);
                p->error = errors.text ?: strdup("the program does not compile");
                if (!p->error) {
                        jq_program_done(p);
                        return -ENOMEM;
                }
                return 0;
        }
        free(errors.text);
        /* Runtime errors come back through jq_next(); nothing should reach stderr. */
        jq_set_error_cb(p->jq, jq_errors_discard, NULL);
        return 0;
}

/* The compiled program for text from this thread's cache, compiling it when absent. */
static int jq_cache_lookup(const char *text, JqProgram **ret) {
        JqCache *cache = jq_cache_get();
        JqProgram *victim;
        int r;

        if (!cache)
                return -ENOMEM;

        victim = &cache->programs[0];
        for (size_t i = 0; i < JQ_CACHE_SIZE; i++) {
                JqProgram *p = &cache->programs[i];

                if (p->text && streq(p->text, text)) {
                        p->last_used = ++cache->clock;
                        *ret = p;
                        return 0;
                }
                if (!p->text || (victim->text && p->last_used < victim->last_used))
                        victim = p;
        }

        jq_program_done(victim);
        r = jq_program_compile(victim, text);
        if (r < 0)
                return r;
        victim->last_used = ++cache->clock;
        *ret = victim;
        return 0;
}

static json_t *jq_value_to_json(jv value) {
        jv text = jv_dump_string(value, 0);
        json_t *json;

        if (jv_get_kind(text) != JV_KIND_STRING) {
                jv_free(text);
                return NULL;
        }
        json = json_loadb(jv_string_value(text), (size_t) jv_string_length_bytes(jv_copy(text)),
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        jv_free(text);
        return json;
}

static char *jq_value_to_message(jv value) {
        char *message;

        if (jv_get_kind(value) == JV_KIND_STRING)
                message = strdup(jv_string_value(value));
        else {
                jv text = jv_dump_string(jv_copy(value), 0);

                message = jv_get_kind(text) == JV_KIND_STRING ? strdup(jv_string_value(text)) : NULL;
                jv_free(text);
        }
        jv_free(value);
        return message;
}

static int transform_fail_runtime(NodeRun *run, char *message) {
        _cleanup_free_ char *m = message;
        int r;

        if (m && strlen(m) > JQ_ERROR_MAX)
                strcpy(m + JQ_ERROR_MAX - 3, "...");
        r = node_run_fail(run, "jq", "The jq program failed: %s", m ?: "unknown error");
        run->retryable = false;
        return r;
}

/* After jq_next() returned an invalid value: 0 at the normal end of the results, else the
 * run failed. */
static int transform_end(NodeRun *run, jq_state *jq, jv result) {
        if (jq_halted(jq)) {
                jv code = jq_get_exit_code(jq);
                bool failed = jv_is_valid(code) &&
                        !(jv_get_kind(code) == JV_KIND_NUMBER && jv_number_value(code) == 0);

                jv_free(code);
                jv_free(result);
                if (!failed)
                        return 0;
                return transform_fail_runtime(run, jq_value_to_message(jq_get_error_message(jq)));
        }

        if (!jv_invalid_has_msg(jv_copy(result))) {
                jv_free(result);
                return 0;
        }
        return transform_fail_runtime(run, jq_value_to_message(jv_invalid_get_msg(result)));
}

static int transform_run(NodeRun *run, jq_state *jq, json_t **ret) {
        _cleanup_json_ json_t *results = json_array();
        size_t limit = run->max_output_size > 0 ? run->max_output_size : JQ_OUTPUT_LIMIT_DEFAULT;
        _cleanup_free_ char *input_text = NULL;
        size_t input_len, total = 0;
        jv input;
        int r;

        input_text = run->context ? json_dumps(run->context, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
        if (!results || !input_text)
                return node_run_fail_oom(run);
        input_len = strlen(input_text);
        if (input_len > INT32_MAX)
                return node_run_fail(run, "limit", "The transform's input is too large");

        input = jv_parse_sized(input_text, (int) input_len);
        /* jq_start() aborts the process on an invalid value. */
        if (!jv_is_valid(input)) {
                jv_free(input);
                return node_run_fail(run, "internal", "The transform's input is not valid JSON for jq");
        }

        jq_start(jq, input, 0);
        for (;;) {
                jv result = jq_next(jq);
                json_t *value;

                if (!jv_is_valid(result)) {
                        r = transform_end(run, jq, result);
                        if (r < 0)
                                return r;
                        break;
                }

                value = jq_value_to_json(result);
                if (!value)
                        return node_run_fail(run, "jq", "The jq program produced a value that is not valid JSON");
                total += json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) + 1;
                if (json_array_append_new(results, value) < 0)
                        return node_run_fail_oom(run);
                if (total > limit) {
                        r = node_run_fail(run, "limit", "The jq program's output is larger than %zu bytes", limit);
                        run->retryable = false;
                        return r;
                }
                if (node_run_should_stop(run))
                        return node_run_fail_stopped(run);
        }

        switch (json_array_size(results)) {
        case 0:
                *ret = json_null();
                break;
        case 1:
                *ret = json_incref(json_array_get(results, 0));
                break;
        default:
                *ret = TAKE_PTR(results);
        }
        return 0;
}

int component_transform(NodeRun *run) {
        const char *program = node_run_setting_string(run, "program", ".");
        json_t *output = NULL;
        JqProgram *p;
        int r;

        if (node_run_setting(run, "program") && !node_run_setting_string(run, "program", NULL))
                return node_run_fail_config(run, "program must be a jq program (text)");

        r = jq_cache_lookup(program, &p);
        if (r < 0)
                return node_run_fail_oom(run);
        if (!p->jq) {
                r = node_run_fail(run, "jq", "The jq program does not compile: %s", p->error);
                run->retryable = false;
                return r;
        }

        r = transform_run(run, p->jq, &output);
        if (r < 0)
                return r;
        return node_run_output(run, "output", output);
}
