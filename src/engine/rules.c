/* The rule operators of switch, assertion and filter. Values are compared the way the
 * reference did (Python's str(), float() and bool() coercions), so imported workflows route
 * the same; the differences are listed in rules.h. */

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "engine/regex-limits.h"
#include "engine/rules.h"

typedef enum RuleOperator {
        OP_EXISTS,
        OP_DOES_NOT_EXIST,
        OP_IS_EMPTY,
        OP_IS_NOT_EMPTY,
        OP_EQUALS,
        OP_NOT_EQUALS,
        OP_CONTAINS,
        OP_NOT_CONTAINS,
        OP_STARTS_WITH,
        OP_NOT_STARTS_WITH,
        OP_ENDS_WITH,
        OP_NOT_ENDS_WITH,
        OP_MATCHES_REGEX,
        OP_NOT_MATCHES_REGEX,
        OP_GT,
        OP_LT,
        OP_GTE,
        OP_LTE,
        OP_AFTER,
        OP_BEFORE,
        OP_AFTER_OR_EQUAL,
        OP_BEFORE_OR_EQUAL,
        OP_IS_TRUE,
        OP_IS_FALSE,
        OP_LENGTH_EQ,
        OP_LENGTH_NEQ,
        OP_LENGTH_GT,
        OP_LENGTH_LT,
        OP_LENGTH_GTE,
        OP_LENGTH_LTE,
        _OP_MAX,
        _OP_INVALID = -EINVAL,
} RuleOperator;

static const char *const operator_names[_OP_MAX + 1] = {
        [OP_EXISTS] = "exists",
        [OP_DOES_NOT_EXIST] = "does_not_exist",
        [OP_IS_EMPTY] = "is_empty",
        [OP_IS_NOT_EMPTY] = "is_not_empty",
        [OP_EQUALS] = "equals",
        [OP_NOT_EQUALS] = "not_equals",
        [OP_CONTAINS] = "contains",
        [OP_NOT_CONTAINS] = "not_contains",
        [OP_STARTS_WITH] = "starts_with",
        [OP_NOT_STARTS_WITH] = "not_starts_with",
        [OP_ENDS_WITH] = "ends_with",
        [OP_NOT_ENDS_WITH] = "not_ends_with",
        [OP_MATCHES_REGEX] = "matches_regex",
        [OP_NOT_MATCHES_REGEX] = "not_matches_regex",
        [OP_GT] = "gt",
        [OP_LT] = "lt",
        [OP_GTE] = "gte",
        [OP_LTE] = "lte",
        [OP_AFTER] = "after",
        [OP_BEFORE] = "before",
        [OP_AFTER_OR_EQUAL] = "after_or_equal",
        [OP_BEFORE_OR_EQUAL] = "before_or_equal",
        [OP_IS_TRUE] = "is_true",
        [OP_IS_FALSE] = "is_false",
        [OP_LENGTH_EQ] = "length_eq",
        [OP_LENGTH_NEQ] = "length_neq",
        [OP_LENGTH_GT] = "length_gt",
        [OP_LENGTH_LT] = "length_lt",
        [OP_LENGTH_GTE] = "length_gte",
        [OP_LENGTH_LTE] = "length_lte",
        [_OP_MAX] = NULL,
};

/* Longest pattern accepted, and the largest product of its repetition counts: glibc expands
 * "(a{1000}){1000}" into a million states at compile time. */
#define REGEX_PATTERN_MAX 4096
/* Containers nested deeper than this print as "..." when turned into text. */
#define STR_DEPTH_MAX 64

const char *const *rule_operators(void) {
        return operator_names;
}

static RuleOperator rule_operator_from_string(const char *s) {
        if (!s)
                return _OP_INVALID;
        for (RuleOperator op = 0; op < _OP_MAX; op++)
                if (streq(operator_names[op], s))
                        return op;
        return _OP_INVALID;
}

bool rule_operator_is_known(const char *op) {
        return rule_operator_from_string(op) >= 0;
}

_printf_(2, 3)
static int set_error(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                char *s = NULL;

                va_start(ap, fmt);
                if (vasprintf(&s, fmt, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = s;
        }
        return -EINVAL;
}

static bool ascii_isdigit(char c) {
        return c >= '0' && c <= '9';
}

static bool ascii_isspace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char ascii_tolower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* Case-insensitive for ASCII letters only, whatever the locale (no Turkish dotless i). */
static bool ascii_strcaseeq(const char *s, size_t n, const char *lower) {
        if (strlen(lower) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (ascii_tolower(s[i]) != lower[i])
                        return false;
        return true;
}

/* --- Field lookup --------------------------------------------------------------------- */

static json_t *path_step(json_t *v, const char *name, size_t n) {
        size_t index = 0;

        if (json_is_object(v))
                return json_object_getn(v, name, n);
        if (!json_is_array(v) || n == 0 || n > 18)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (!ascii_isdigit(name[i]))
                        return NULL;
                index = index * 10 + (size_t) (name[i] - '0');
        }
        return json_array_get(v, index);
}

json_t *json_path_get(json_t *document, const char *dotted_path) {
        const char *p = dotted_path;
        json_t *v = document;

        if (!document || !p)
                return NULL;

        /* Rules address the run state; "state." only says so explicitly. */
        if (streq(p, "state"))
                return document;
        if (strncmp(p, "state.", 6) == 0)
                p += 6;
        if (*p == '\0')
                return document;

        for (;;) {
                const char *dot = strchrnul(p, '.');

                v = path_step(v, p, (size_t) (dot - p));
                if (!v || *dot == '\0')
                        return v;
                p = dot + 1;
        }
}

/* --- Text in the reference's str() form ------------------------------------------------ */

typedef struct Text {
        char *data;
        size_t len, allocated;
} Text;

static void text_done(Text *t) {
        free(t->data);
}

static int text_append(Text *t, const char *s, size_t n) {
        if (t->len + n + 1 > t->allocated) {
                size_t want = MAX(t->len + n + 1, t->allocated * 2);
                char *d = realloc(t->data, MAX(want, (size_t) 64));

                if (!d)
                        return -ENOMEM;
                t->data = d;
                t->allocated = MAX(want, (size_t) 64);
        }
        memcpy(t->data + t->len, s, n);
        t->len += n;
        t->data[t->len] = '\0';
        return 0;
}

static int text_puts(Text *t, const char *s) {
        return text_append(t, s, strlen(s));
}

static locale_t c_locale;

static void c_locale_init(void) {
        c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
}

/* strtod() that reads "0.5" whatever the process locale says. */
static double strtod_c(const char *s, char **end) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        pthread_once(&once, c_locale_init);
        return c_locale ? strtod_l(s, end, c_locale) : strtod(s, end);
}

/* The significant digits of |x| rounded to n of them, and its decimal exponent. Reads
 * printf's "%e" output digit by digit, so the locale's decimal point does not matter. */
static void float_digits(double x, int n, char digits[static 24], int *ret_exp10) {
        char buf[64];
        const char *p;
        size_t k = 0;

        snprintf(buf, sizeof buf, "%.*e", n - 1, fabs(x));
        for (p = buf; *p && *p != 'e'; p++)
                if (ascii_isdigit(*p) && k < 23)
                        digits[k++] = *p;
        digits[k] = '\0';
        *ret_exp10 = *p == 'e' ? (int) strtol(p + 1, NULL, 10) : 0;
}

static bool float_digits_round_trip(double x, const char *digits, int exp10) {
        char buf[64];

        snprintf(buf, sizeof buf, "%c.%se%d", digits[0], digits + 1, exp10);
        return strtod_c(buf, NULL) == fabs(x);
}

/* Python's repr() of a float: the shortest digits that read back as x, positional
 * notation for exponents -4 ≤ e < 16 (always with a fractional part, "5.0"), else
 * scientific ("1e+16", "1.5e-05"). */
static void format_float(double x, char out[static 48]) {
        char digits[24], *p = out;
        int exp10 = 0, decpt;
        size_t n;

        if (isnan(x)) {
                strcpy(out, "nan");
                return;
        }
        if (isinf(x)) {
                strcpy(out, x < 0 ? "-inf" : "inf");
                return;
        }

        for (int prec = 1; prec <= 17; prec++) {
                float_digits(x, prec, digits, &exp10);
                if (float_digits_round_trip(x, digits, exp10))
                        break;
        }
        n = strlen(digits);
        while (n > 1 && digits[n - 1] == '0')
                digits[--n] = '\0';

        if (signbit(x))
                *p++ = '-';
        decpt = exp10 + 1;

        if (decpt <= -4 || decpt > 16) {
                *p++ = digits[0];
                if (n > 1) {
                        *p++ = '.';
                        memcpy(p, digits + 1, n - 1);
                        p += n - 1;
                }
                sprintf(p, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        } else if (decpt <= 0) {
                *p++ = '0';
                *p++ = '.';
                for (int i = 0; i < -decpt; i++)
                        *p++ = '0';
                memcpy(p, digits, n);
                p[n] = '\0';
        } else if ((size_t) decpt >= n) {
                memcpy(p, digits, n);
                p += n;
                for (size_t i = n; i < (size_t) decpt; i++)
                        *p++ = '0';
                strcpy(p, ".0");
        } else {
                memcpy(p, digits, (size_t) decpt);
                p += decpt;
                *p++ = '.';
                memcpy(p, digits + decpt, n - (size_t) decpt);
                p[n - (size_t) decpt] = '\0';
        }
}

/* A string inside a list or dict prints quoted, as Python's repr() does. */
static int text_append_quoted(Text *t, const char *s, size_t n) {
        char quote = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
        int r;

        r = text_append(t, &quote, 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                char esc[8];

                if (c == (unsigned char) quote || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char) c;
                        r = text_append(t, esc, 2);
                } else if (c == '\n')
                        r = text_puts(t, "\\n");
                else if (c == '\r')
                        r = text_puts(t, "\\r");
                else if (c == '\t')
                        r = text_puts(t, "\\t");
                else if (c < 0x20 || c == 0x7f) {
                        snprintf(esc, sizeof esc, "\\x%02x", c);
                        r = text_puts(t, esc);
                } else
                        r = text_append(t, (const char *) &s[i], 1);
        }
        if (r >= 0)
                r = text_append(t, &quote, 1);
        return r;
}

static int text_append_value(Text *t, json_t *v, bool nested, unsigned depth) {
        char buf[48];
        const char *key;
        json_t *item;
        size_t i;
        int r;

        switch (json_typeof(v)) {
        case JSON_STRING:
                if (nested)
                        return text_append_quoted(t, json_string_value(v), json_string_length(v));
                return text_append(t, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return text_puts(t, buf);
        case JSON_REAL:
                format_float(json_real_value(v), buf);
                return text_puts(t, buf);
        case JSON_TRUE:
                return text_puts(t, "True");
        case JSON_FALSE:
                return text_puts(t, "False");
        case JSON_NULL:
                return text_puts(t, "None");
        case JSON_ARRAY:
                if (depth >= STR_DEPTH_MAX)
                        return text_puts(t, "[...]");
                r = text_puts(t, "[");
                json_array_foreach(v, i, item) {
                        if (r >= 0 && i > 0)
                                r = text_puts(t, ", ");
                        if (r >= 0)
                                r = text_append_value(t, item, true, depth + 1);
                }
                return r < 0 ? r : text_puts(t, "]");
        case JSON_OBJECT:
                if (depth >= STR_DEPTH_MAX)
                        return text_puts(t, "{...}");
                r = text_puts(t, "{");
                i = 0;
                json_object_foreach(v, key, item) {
                        if (r >= 0 && i++ > 0)
                                r = text_puts(t, ", ");
                        if (r >= 0)
                                r = text_append_quoted(t, key, strlen(key));
                        if (r >= 0)
                                r = text_puts(t, ": ");
                        if (r >= 0)
                                r = text_append_value(t, item, true, depth + 1);
                }
                return r < 0 ? r : text_puts(t, "}");
        }
        return -EINVAL;
}

/* str(v), with a missing value printing as None like a null. */
static int value_to_text(json_t *v, Text *ret) {
        *ret = (Text) {};
        if (!v)
                return text_puts(ret, "None");
        return text_append_value(ret, v, false, 0);
}

/* --- Coercions ------------------------------------------------------------------------- */

/* Python's float(): numbers, booleans (1.0/0.0) and numeric strings (surrounding blanks
 * allowed, "inf" and "nan" too); anything else is not a number. */
static bool value_to_number(json_t *v, double *ret) {
        const char *s, *start, *end;
        char *parse_end, buf[128];
        size_t n;

        if (json_is_integer(v)) {
                *ret = (double) json_integer_value(v);
                return true;
        }
        if (json_is_real(v)) {
                *ret = json_real_value(v);
                return true;
        }
        if (json_is_boolean(v)) {
                *ret = json_is_true(v) ? 1.0 : 0.0;
                return true;
        }
        if (!json_is_string(v))
                return false;

        s = json_string_value(v);
        n = json_string_length(v);
        if (strlen(s) != n)
                return false;
        start = s;
        end = s + n;
        while (start < end && ascii_isspace(*start))
                start++;
        while (end > start && ascii_isspace(end[-1]))
                end--;
        n = (size_t) (end - start);
        if (n == 0 || n >= sizeof buf)
                return false;
        memcpy(buf, start, n);
        buf[n] = '\0';

        /* strtod() also reads hexadecimal and "nan(chars)", which float() refuses. */
        if (strpbrk(buf, "xX("))
                return false;

        *ret = strtod_c(buf, &parse_end);
        return parse_end == buf + n;
}

/* The reference's "float(v) or 0": whatever does not read as a number compares as 0. */
static double value_to_number_or_zero(json_t *v) {
        double d;

        return value_to_number(v, &d) ? d : 0.0;
}

/* Python's bool() with the reference's reading of strings. */
static bool value_to_bool(json_t *v) {
        if (!v)
                return false;
        switch (json_typeof(v)) {
        case JSON_TRUE:
                return true;
        case JSON_FALSE:
        case JSON_NULL:
                return false;
        case JSON_STRING: {
                static const char *const yes[] = { "true", "1", "yes" };
                const char *s = json_string_value(v);

                for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                        if (ascii_strcaseeq(s, json_string_length(v), yes[i]))
                                return true;
                return false;
        }
        case JSON_INTEGER:
                return json_integer_value(v) != 0;
        case JSON_REAL:
                return json_real_value(v) != 0.0;
        case JSON_ARRAY:
                return json_array_size(v) > 0;
        case JSON_OBJECT:
                return json_object_size(v) > 0;
        }
        return false;
}

/* Python's int(): integers, booleans, reals truncated toward zero, decimal strings. */
static bool value_to_integer(json_t *v, long long *ret) {
        if (json_is_integer(v)) {
                *ret = json_integer_value(v);
                return true;
        }
        if (json_is_boolean(v)) {
                *ret = json_is_true(v);
                return true;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);

                if (!isfinite(d) || fabs(d) >= 9.2e18)
                        return false;
                *ret = (long long) d;
                return true;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v), *end = s + json_string_length(v);
                bool negative = false, any = false;
                long long n = 0;

                while (s < end && ascii_isspace(*s))
                        s++;
                while (end > s && ascii_isspace(end[-1]))
                        end--;
                if (s < end && (*s == '+' || *s == '-'))
                        negative = *s++ == '-';
                for (; s < end; s++, any = true) {
                        if (!ascii_isdigit(*s) || n > (INT64_MAX - 9) / 10)
                                return false;
                        n = n * 10 + (*s - '0');
                }
                if (!any)
                        return false;
                *ret = negative ? -n : n;
                return true;
        }
        return false;
}

/* Characters of a string (UTF-8, which jansson guarantees), items of an array, keys of an
 * object; other values have no length. */
static bool value_length(json_t *v, long long *ret) {
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t n = json_string_length(v);
                long long count = 0;

                for (size_t i = 0; i < n; i++)
                        if (((unsigned char) s[i] & 0xC0) != 0x80)
                                count++;
                *ret = count;
                return true;
        }
        if (json_is_array(v)) {
                *ret = (long long) json_array_size(v);
                return true;
        }
        if (json_is_object(v)) {
                *ret = (long long) json_object_size(v);
                return true;
        }
        return false;
}

static bool value_is_empty(json_t *v) {
        return !v || json_is_null(v) ||
                (json_is_string(v) && json_string_length(v) == 0) ||
                (json_is_array(v) && json_array_size(v) == 0) ||
                (json_is_object(v) && json_object_size(v) == 0);
}

/* Python's ==: numbers compare by value whatever their type, containers item by item. */
static bool values_equal(json_t *a, json_t *b) {
        const char *key;
        json_t *item;
        size_t i;

        if (!a || !b)
                return (!a || json_is_null(a)) && (!b || json_is_null(b));
        if (json_is_number(a) && json_is_number(b)) {
                if (json_is_integer(a) && json_is_integer(b))
                        return json_integer_value(a) == json_integer_value(b);
                return json_number_value(a) == json_number_value(b);
        }
        if (json_typeof(a) != json_typeof(b))
                return false;
        switch (json_typeof(a)) {
        case JSON_STRING:
                return json_string_length(a) == json_string_length(b) &&
                        memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
        case JSON_ARRAY:
                if (json_array_size(a) != json_array_size(b))
                        return false;
                json_array_foreach(a, i, item)
                        if (!values_equal(item, json_array_get(b, i)))
                                return false;
                return true;
        case JSON_OBJECT:
                if (json_object_size(a) != json_object_size(b))
                        return false;
                json_object_foreach(a, key, item)
                        if (!values_equal(item, json_object_get(b, key)))
                                return false;
                return true;
        default:
                return true; /* true, false, null: the type is the value */
        }
}

static bool array_contains(json_t *array, json_t *v) {
        json_t *item;
        size_t i;

        json_array_foreach(array, i, item)
                if (values_equal(item, v))
                        return true;
        return false;
}

/* ISO-8601 text as microseconds; anything else is not a time. */
static bool value_to_time(json_t *v, usec_t *ret) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return false;
        return timestamp_parse(json_string_value(v), ret) >= 0;
}

/* --- Regular expressions --------------------------------------------------------------- */

/* Rewrites the pattern for POSIX extended syntax: "\d" and "\D", which users write as in
 * Python and glibc would read as a literal "d", become digit classes. Backreferences are
 * refused: with them matching can take exponential time. */
static int regex_translate(const char *pattern, char **ret, char **ret_error) {
        bool in_bracket = false;
        Text t = {};
        int r = 0;

        for (const char *p = pattern; *p && r >= 0; p++) {
                if (in_bracket) {
                        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                                /* [:digit:] and friends end at the matching ":]". */
                                const char *close = strstr(p + 2, (char[]) { p[1], ']', '\0' });

                                if (!close) {
                                        r = text_puts(&t, p);
                                        break;
                                }
                                r = text_append(&t, p, (size_t) (close + 2 - p));
                                p = close + 1;
                        } else if (*p == '\\' && p[1] == 'd') {
                                r = text_puts(&t, "0-9");
                                p++;
                        } else {
                                if (*p == ']')
                                        in_bracket = false;
                                r = text_append(&t, p, 1);
                        }
                        continue;
                }

                if (*p == '\\' && p[1] >= '1' && p[1] <= '9') {
                        text_done(&t);
                        return set_error(ret_error, "invalid regular expression '%s': backreferences are not supported",
                                         pattern);
                } else if (*p == '\\' && p[1] == 'd') {
                        r = text_puts(&t, "[0-9]");
                        p++;
                } else if (*p == '\\' && p[1] == 'D') {
                        r = text_puts(&t, "[^0-9]");
                        p++;
                } else if (*p == '\\' && p[1]) {
                        r = text_append(&t, p, 2);
                        p++;
                } else if (*p == '[') {
                        /* A ']' right after "[" or "[^" is a member, not the end. */
                        size_t n = 1;

                        if (p[n] == '^')
                                n++;
                        if (p[n] == ']')
                                n++;
                        r = text_append(&t, p, n);
                        p += n - 1;
                        in_bracket = true;
                } else
                        r = text_append(&t, p, 1);
        }
        if (r >= 0 && !t.data)
                r = text_puts(&t, "");
        if (r < 0) {
                text_done(&t);
                return r;
        }
        *ret = t.data;
        return 0;
}

/* Search semantics: a match anywhere in subject. */
static int regex_search(const char *pattern, const Text *subject, bool *ret_found, char **ret_error) {
        _cleanup_free_ char *translated = NULL;
        regmatch_t m[1];
        regex_t re;
        int r;

        if (strlen(pattern) > REGEX_PATTERN_MAX)
                return set_error(ret_error, "invalid regular expression: longer than %d characters",
                                 REGEX_PATTERN_MAX);
        if (!regex_repetitions_reasonable(pattern))
                return set_error(ret_error, "invalid regular expression '%s': repetition counts too large",
                                 pattern);

        r = regex_translate(pattern, &translated, ret_error);
        if (r < 0)
                return r;

        r = regcomp(&re, translated, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                char msg[256];

                regerror(r, &re, msg, sizeof msg);
                return set_error(ret_error, "invalid regular expression '%s': %s", pattern, msg);
        }

        /* REG_STARTEND: the subject may hold NUL characters. */
        m[0].rm_so = 0;
        m[0].rm_eo = (regoff_t) subject->len;
        r = regexec(&re, subject->data, 1, m, REG_STARTEND);
        regfree(&re);
        if (r != 0 && r != REG_NOMATCH)
                return -ENOMEM;

        *ret_found = r == 0;
        return 0;
}

/* --- Operators ----------------------------------------------------------------------- */

static int evaluate_string(RuleOperator op, json_t *actual, json_t *value, bool *ret, char **ret_error) {
        _cleanup_(text_done) Text a = {}, b = {};
        bool found = false;
        int r;

        /* A list field tests membership rather than substring. */
        if ((op == OP_CONTAINS || op == OP_NOT_CONTAINS) && json_is_array(actual)) {
                found = array_contains(actual, value);
                *ret = op == OP_CONTAINS ? found : !found;
                return 0;
        }

        r = value_to_text(actual, &a);
        if (r < 0)
                return r;
        r = value_to_text(value, &b);
        if (r < 0)
                return r;

        switch (op) {
        case OP_EQUALS:
        case OP_NOT_EQUALS:
                found = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
                *ret = op == OP_EQUALS ? found : !found;
                return 0;
        case OP_CONTAINS:
        case OP_NOT_CONTAINS:
                found = b.len == 0 || memmem(a.data, a.len, b.data, b.len);
                *ret = op == OP_CONTAINS ? found : !found;
                return 0;
        case OP_STARTS_WITH:
        case OP_NOT_STARTS_WITH:
                found = a.len >= b.len && memcmp(a.data, b.data, b.len) == 0;
                *ret = op == OP_STARTS_WITH ? found : !found;
                return 0;
        case OP_ENDS_WITH:
        case OP_NOT_ENDS_WITH:
                found = a.len >= b.len && memcmp(a.data + a.len - b.len, b.data, b.len) == 0;
                *ret = op == OP_ENDS_WITH ? found : !found;
                return 0;
        case OP_MATCHES_REGEX:
        case OP_NOT_MATCHES_REGEX:
                r = regex_search(b.data, &a, &found, ret_error);
                if (r < 0)
                        return r;
                *ret = op == OP_MATCHES_REGEX ? found : !found;
                return 0;
        default:
                return -EINVAL;
        }
}

static bool evaluate_number(RuleOperator op, json_t *actual, json_t *value) {
        double a = value_to_number_or_zero(actual), b = value_to_number_or_zero(value);

        switch (op) {
        case OP_GT:
                return a > b;
        case OP_LT:
                return a < b;
        case OP_GTE:
                return a >= b;
        default:
                return a <= b;
        }
}

static bool evaluate_time(RuleOperator op, json_t *actual, json_t *value) {
        usec_t a, b;

        if (!value_to_time(actual, &a) || !value_to_time(value, &b))
                return false;

        switch (op) {
        case OP_AFTER:
                return a > b;
        case OP_BEFORE:
                return a < b;
        case OP_AFTER_OR_EQUAL:
                return a >= b;
        default:
                return a <= b;
        }
}

static int evaluate_length(RuleOperator op, json_t *actual, json_t *value, bool *ret, char **ret_error) {
        long long length, want;

        if (!value_to_integer(value, &want))
                return set_error(ret_error, "operator '%s' needs an integer value", operator_names[op]);

        /* Without a length only "differs" holds. */
        if (!value_length(actual, &length)) {
                *ret = op == OP_LENGTH_NEQ;
                return 0;
        }

        switch (op) {
        case OP_LENGTH_EQ:
                *ret = length == want;
                break;
        case OP_LENGTH_NEQ:
                *ret = length != want;
                break;
        case OP_LENGTH_GT:
                *ret = length > want;
                break;
        case OP_LENGTH_LT:
                *ret = length < want;
                break;
        case OP_LENGTH_GTE:
                *ret = length >= want;
                break;
        default:
                *ret = length <= want;
                break;
        }
        return 0;
}

static int evaluate(RuleOperator op, json_t *actual, json_t *value, bool *ret, char **ret_error) {
        switch (op) {
        case OP_EXISTS:
                *ret = actual && !json_is_null(actual);
                return 0;
        case OP_DOES_NOT_EXIST:
                *ret = !actual || json_is_null(actual);
                return 0;
        case OP_IS_EMPTY:
                *ret = value_is_empty(actual);
                return 0;
        case OP_IS_NOT_EMPTY:
                *ret = !value_is_empty(actual);
                return 0;
        case OP_EQUALS ... OP_NOT_MATCHES_REGEX:
                return evaluate_string(op, actual, value, ret, ret_error);
        case OP_GT ... OP_LTE:
                *ret = evaluate_number(op, actual, value);
                return 0;
        case OP_AFTER ... OP_BEFORE_OR_EQUAL:
                *ret = evaluate_time(op, actual, value);
                return 0;
        case OP_IS_TRUE:
                *ret = value_to_bool(actual);
                return 0;
        case OP_IS_FALSE:
                *ret = !value_to_bool(actual);
                return 0;
        case OP_LENGTH_EQ ... OP_LENGTH_LTE:
                return evaluate_length(op, actual, value, ret, ret_error);
        default:
                return -EINVAL;
        }
}

int rule_evaluate_full(json_t *rule, json_t *document, RuleResult *ret, char **ret_error) {
        _cleanup_json_ json_t *empty = NULL;
        json_t *field, *operator, *value, *actual;
        RuleOperator op;
        bool passed = false;
        int r;

        if (!json_is_object(rule))
                return set_error(ret_error, "rule must be an object");

        field = json_object_get(rule, "field");
        if (!json_is_string(field))
                return set_error(ret_error, "rule field must be a string");
        operator = json_object_get(rule, "operator");
        if (!json_is_string(operator))
                return set_error(ret_error, "rule operator must be a string");

        /* The reference let an unknown operator quietly not match; a typo then routed runs
         * down the wrong branch with no sign of why. Here it is an error. */
        op = rule_operator_from_string(json_string_value(operator));
        if (op < 0)
                return set_error(ret_error, "unknown operator '%s'", json_string_value(operator));

        value = json_object_get(rule, "value");
        if (!value) {
                value = empty = json_string("");
                if (!value)
                        return -ENOMEM;
        }

        actual = json_path_get(document, json_string_value(field));
        r = evaluate(op, actual, value, &passed, ret_error);
        if (r < 0)
                return r;

        *ret = (RuleResult) {
                .passed = passed,
                .actual = actual,
        };
        return 0;
}

int rule_evaluate(json_t *rule, json_t *document, bool *ret_passed, char **ret_error) {
        RuleResult result = {};
        int r;

        r = rule_evaluate_full(rule, document, &result, ret_error);
        if (r < 0)
                return r;
        *ret_passed = result.passed;
        return 0;
}
