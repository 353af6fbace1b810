/* jq programs on JSON text, with a cache of compiled programs (jq-eval.h). */

#include <errno.h>
#include <jq.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jq/jq-eval.h"

#define JQ_CACHE_SIZE 16
#define JQ_ERROR_MAX 2000

/* Kept on the same line as the program so that line numbers in errors stay right. */
#define JQ_PROGRAM_PREFIX "def env: {}; def stderr: .; def input_filename: null; {} as $ENV | "

typedef struct JqProgram {
        char *text;             /* the program as the user wrote it */
        jq_state *jq;           /* compiled, or NULL when it does not compile */
        char *error;            /* why it does not compile */
        uint64_t last_used;
} JqProgram;

struct JqEvaluator {
        JqProgram programs[JQ_CACHE_SIZE];
        uint64_t clock;
};

static void jq_program_done(JqProgram *p) {
        free(p->text);
        free(p->error);
        if (p->jq)
                jq_teardown(&p->jq);
        *p = (JqProgram) {};
}

JqEvaluator *jq_evaluator_new(void) {
        return calloc(1, sizeof(JqEvaluator));
}

JqEvaluator *jq_evaluator_free(JqEvaluator *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < JQ_CACHE_SIZE; i++)
                jq_program_done(&e->programs[i]);
        free(e);
        return NULL;
}

typedef struct JqErrors {
        char *text;
        size_t len;
} JqErrors;

static void errors_append(JqErrors *errors, const char *s, size_t n) {
        char *t;

        if (errors->len >= JQ_ERROR_MAX)
                return;
        t = realloc(errors->text, errors->len + n + 3);
        if (!t)
                return;
        errors->text = t;
        if (errors->len > 0) {
                memcpy(t + errors->len, "; ", 2);
                errors->len += 2;
        }
        memcpy(t + errors->len, s, n);
        errors->len += n;
        t[errors->len] = '\0';
}

/* libjq reports a compile error as "jq: error: <what> at <top-level>, line N:\n<source>"
 * and then "jq: N compile error(s)"; keep the first line of each error, without the
 * command-line advice. */
static void jq_errors_collect(void *userdata, jv message) {
        static const char advice[] = " (Unix shell quoting issues?)";
        JqErrors *errors = userdata;
        jv formatted = jq_format_error(message);
        const char *s, *eol, *found;
        char *line;
        size_t n;

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
        line = strndup(s, n);
        if (line) {
                found = strstr(line, advice);
                if (found)
                        memmove((char *) found, found + strlen(advice), strlen(found + strlen(advice)) + 1);
                errors_append(errors, line, strlen(line));
                free(line);
        }
        jv_free(formatted);
}

static void jq_errors_discard(void *userdata, jv message) {
        jv_free(message);
}

static int jq_program_compile(JqProgram *p, const char *text) {
        JqErrors errors = {};
        const char *body = text;
        char *wrapped = NULL;

        /* An empty program is the identity, as on the command line. */
        if (strspn(text, " \t\r\n") == strlen(text))
                body = ".";
        if (asprintf(&wrapped, JQ_PROGRAM_PREFIX "%s", body) < 0)
                return -ENOMEM;

        *p = (JqProgram) { .text = strdup(text) };
        p->jq = jq_init();
        if (!p->text || !p->jq) {
                free(wrapped);
                jq_program_done(p);
                return -ENOMEM;
        }

        jq_set_error_cb(p->jq, jq_errors_collect, &errors);
        if (!jq_compile(p->jq, wrapped)) {
                free(wrapped);
                jq_teardown(&p->jq);
                p->error = errors.text ?: strdup("the program does not compile");
                if (!p->error) {
                        jq_program_done(p);
                        return -ENOMEM;
                }
                return 0;
        }
        free(wrapped);
        free(errors.text);
        /* Runtime errors come back through jq_next(); nothing should reach stderr. */
        jq_set_error_cb(p->jq, jq_errors_discard, NULL);
        return 0;
}

/* The compiled program for text, compiling it when absent. */
static int jq_lookup(JqEvaluator *e, const char *text, JqProgram **ret) {
        JqProgram *victim = &e->programs[0];
        int r;

        for (size_t i = 0; i < JQ_CACHE_SIZE; i++) {
                JqProgram *p = &e->programs[i];

                if (p->text && strcmp(p->text, text) == 0) {
                        p->last_used = ++e->clock;
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
        victim->last_used = ++e->clock;
        *ret = victim;
        return 0;
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
        if (message && strlen(message) > JQ_ERROR_MAX)
                strcpy(message + JQ_ERROR_MAX - 3, "...");
        return message ?: strdup("unknown error");
}

/* After jq_next() returned an invalid value: NULL at the normal end of the results, else
 * why the run failed. */
static char *jq_end_error(jq_state *jq, jv result) {
        if (jq_halted(jq)) {
                jv code = jq_get_exit_code(jq);
                bool failed = jv_is_valid(code) &&
                        !(jv_get_kind(code) == JV_KIND_NUMBER && jv_number_value(code) == 0);

                jv_free(code);
                jv_free(result);
                return failed ? jq_value_to_message(jq_get_error_message(jq)) : NULL;
        }
        if (!jv_invalid_has_msg(jv_copy(result))) {
                jv_free(result);
                return NULL;
        }
        return jq_value_to_message(jv_invalid_get_msg(result));
}

typedef struct Results {
        char *text;
        size_t len, alloc;
} Results;

static int results_add(Results *out, const char *s, size_t n) {
        if (out->len + n + 2 > out->alloc) {
                size_t alloc = (out->len + n + 2) * 2;
                char *t = realloc(out->text, alloc);

                if (!t)
                        return -ENOMEM;
                out->text = t;
                out->alloc = alloc;
        }
        memcpy(out->text + out->len, s, n);
        out->len += n;
        out->text[out->len] = '\0';
        return 0;
}

int jq_evaluate(JqEvaluator *e, const char *program, const char *input, size_t input_len, size_t output_limit,
                JqStatus *ret_status, char **ret_text) {
        Results out = {};
        JqProgram *p;
        jv value;
        int r;

        r = jq_lookup(e, program, &p);
        if (r < 0)
                return r;
        if (!p->jq) {
                *ret_status = JQ_COMPILE_ERROR;
                *ret_text = strdup(p->error);
                return *ret_text ? 0 : -ENOMEM;
        }

        value = input_len <= INT32_MAX ? jv_parse_sized(input, (int) input_len) : jv_invalid();
        /* jq_start() aborts the process on an invalid value. */
        if (!jv_is_valid(value)) {
                jv_free(value);
                *ret_status = JQ_BAD_INPUT;
                *ret_text = strdup("The transform's input is not valid JSON for jq");
                return *ret_text ? 0 : -ENOMEM;
        }

        if (results_add(&out, "[", 1) < 0)
                return -ENOMEM;
        jq_start(p->jq, value, 0);
        for (size_t n = 0;; n++) {
                jv result = jq_next(p->jq), text;

                if (!jv_is_valid(result)) {
                        char *error = jq_end_error(p->jq, result);

                        if (error) {
                                free(out.text);
                                *ret_status = JQ_RUNTIME_ERROR;
                                *ret_text = error;
                                return 0;
                        }
                        break;
                }
                text = jv_dump_string(result, 0);
                if (jv_get_kind(text) != JV_KIND_STRING) {
                        jv_free(text);
                        free(out.text);
                        return -ENOMEM;
                }
                r = n > 0 ? results_add(&out, ",", 1) : 0;
                if (r >= 0)
                        r = results_add(&out, jv_string_value(text), (size_t) jv_string_length_bytes(jv_copy(text)));
                jv_free(text);
                if (r < 0) {
                        free(out.text);
                        return r;
                }
                if (out.len > output_limit) {
                        free(out.text);
                        *ret_status = JQ_OUTPUT_LIMIT;
                        return asprintf(ret_text, "The jq program's output is larger than %zu bytes", output_limit) < 0
                                ? -ENOMEM : 0;
                }
        }
        if (results_add(&out, "]", 1) < 0) {
                free(out.text);
                return -ENOMEM;
        }
        *ret_status = JQ_OK;
        *ret_text = out.text;
        return 0;
}
