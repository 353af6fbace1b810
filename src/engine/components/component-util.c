/* Helpers shared by the node components: settings, the rule document, node values. */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/rules.h"

json_t *node_run_setting(const NodeRun *run, const char *key) {
        json_t *v = json_object_get(json_object_get(run->config, "extra_config"), key);

        return json_is_null(v) ? NULL : v;
}

const char *node_run_setting_string(const NodeRun *run, const char *key, const char *def) {
        json_t *v = node_run_setting(run, key);

        return json_is_string(v) ? json_string_value(v) : def;
}

bool node_run_setting_bool(const NodeRun *run, const char *key, bool def) {
        json_t *v = node_run_setting(run, key);
        const char *s;

        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
                return json_integer_value(v) == 1;
        s = json_string_value(v);
        if (s && (strcasecmp(s, "true") == 0 || streq(s, "1")))
                return true;
        if (s && (strcasecmp(s, "false") == 0 || streq(s, "0") || streq(s, "")))
                return false;
        return def;
}

int node_run_setting_number(const NodeRun *run, const char *key, double def, double *ret) {
        json_t *v = node_run_setting(run, key);
        const char *s;
        char *end;
        double d;

        if (!v) {
                *ret = def;
                return 0;
        }
        if (json_is_number(v)) {
                *ret = json_number_value(v);
                return 0;
        }
        s = json_string_value(v);
        if (!s)
                return -EINVAL;
        while (*s == ' ')
                s++;
        if (*s == '\0')
                return -EINVAL;
        errno = 0;
        d = strtod(s, &end);
        while (*end == ' ')
                end++;
        if (errno != 0 || *end != '\0' || !isfinite(d))
                return -EINVAL;
        *ret = d;
        return 0;
}

int node_run_fail_config(NodeRun *run, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                message = NULL;

        r = node_run_fail(run, "config", "%s", message ?: "invalid configuration");
        run->retryable = false;
        return r;
}

int node_run_fail_oom(NodeRun *run) {
        return node_run_fail(run, "internal", "Out of memory");
}

int node_run_fail_stopped(NodeRun *run) {
        if (run->cancelled && *run->cancelled)
                return node_run_fail(run, "cancelled", "The execution was cancelled");
        return node_run_fail(run, "timeout", "The execution timed out");
}

static bool context_key_is_node(const char *key) {
        /* The context's own entries; everything else is a node's output. */
        return !streq(key, "trigger") && !streq(key, "loop");
}

json_t *node_run_rule_document(const NodeRun *run) {
        _cleanup_json_ json_t *document = json_object(), *outputs = json_object();
        const char *key;
        json_t *value;

        if (!document || !outputs)
                return NULL;

        json_object_foreach(run->context, key, value)
                if (context_key_is_node(key) && json_object_set(outputs, key, value) < 0)
                        return NULL;

        /* Node ids at the top level first, so the fixed names below win over a node that
         * happens to be called "input" or "trigger". */
        if (json_object_update(document, outputs) < 0)
                return NULL;
        if (json_object_set(document, "node_outputs", outputs) < 0)
                return NULL;
        if (json_object_set(document, "trigger", json_object_get(run->context, "trigger") ?: json_null()) < 0)
                return NULL;
        if (json_object_set(document, "input", run->input ?: json_null()) < 0)
                return NULL;
        value = json_object_get(run->context, "loop");
        if (value && json_object_set(document, "loop", value) < 0)
                return NULL;

        return TAKE_PTR(document);
}

static json_t *single_port_value(json_t *output) {
        const char *key;
        json_t *value;

        if (!json_is_object(output) || json_object_size(output) != 1)
                return NULL;
        json_object_foreach(output, key, value)
                return value;
        return NULL;
}

json_t *node_output_value(json_t *output, const char *field) {
        json_t *single = single_port_value(output), *v;

        if (isempty(field))
                return single ?: output;

        v = json_path_get(output, field);
        if (!v && single)
                v = json_path_get(single, field);
        return v;
}

int node_run_source_value(NodeRun *run, const char *source_node, const char *field, json_t **ret) {
        json_t *output, *v;

        if (isempty(source_node)) {
                output = run->input;
                if (!output) {
                        *ret = NULL;
                        return 0;
                }
        } else {
                output = json_object_get(run->context, source_node);
                if (!output || !context_key_is_node(source_node))
                        return node_run_fail_config(run, "Source node '%s' has no output in this run",
                                                    source_node);
        }

        v = node_output_value(output, field);
        if (!v && !isempty(field)) {
                if (isempty(source_node))
                        return node_run_fail_config(run, "Field '%s' is missing from the input", field);
                return node_run_fail_config(run, "Field '%s' is missing from the output of node '%s'",
                                            field, source_node);
        }

        *ret = v;
        return 0;
}

const char *json_type_name(const json_t *v) {
        if (!v)
                return "null";
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "object";
        case JSON_ARRAY:
                return "array";
        case JSON_STRING:
                return "string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "boolean";
        case JSON_NULL:
        default:
                return "null";
        }
}

bool node_run_input_is_parent_map(const NodeRun *run) {
        const char *key;
        json_t *value, *output;

        if (!json_is_object(run->input) || json_object_size(run->input) == 0)
                return false;

        json_object_foreach(run->input, key, value) {
                if (!context_key_is_node(key))
                        return false;
                output = json_object_get(run->context, key);
                if (!output || (output != value && !json_equal(output, value)))
                        return false;
        }
        return true;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

json_t *json_string_from_bytes(const char *text, size_t n) {
        const unsigned char *s = (const unsigned char *) text;
        _cleanup_free_ char *clean = NULL;
        size_t j = 0;

        clean = malloc(n * 3 + 1);
        if (!clean)
                return NULL;
        for (size_t i = 0; i < n; ) {
                size_t len = s[i] == 0 ? 0 : utf8_sequence_length(s + i, n - i);

                if (len > 0) {
                        memcpy(clean + j, s + i, len);
                        j += len;
                        i += len;
                } else {
                        memcpy(clean + j, "\xef\xbf\xbd", 3);
                        j += 3;
                        i++;
                }
        }
        return json_stringn(clean, j);
}
