/* Filters on text and numbers, and the table of all filters. Like Jinja's, text filters
 * accept any value and work on its printed form. Case changes cover ASCII letters only. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "engine/template-filters.h"

int argument_integer(Render *R, const Node *n, json_t *arg, const char *name, int64_t def, int64_t *ret) {
        if (!arg || json_is_null(arg)) {
                *ret = def;
                return 0;
        }
        if (!json_is_integer(arg))
                return render_error(R, &n->pos, -EINVAL, "argument '%s' must be an integer, not %s",
                                    name, value_type_name(arg));
        *ret = json_integer_value(arg);
        return 0;
}

int argument_string(Render *R, const Node *n, json_t *arg, const char *name, const char **ret, size_t *ret_length) {
        if (!json_is_string(arg))
                return render_error(R, &n->pos, -EINVAL, "argument '%s' must be a string, not %s",
                                    name, value_type_name(arg));
        *ret = json_string_value(arg);
        *ret_length = json_string_length(arg);
        return 0;
}

int string_result(Render *R, const Node *n, Buffer *b, int r, json_t **ret) {
        if (r >= 0) {
                *ret = json_stringn(b->data ?: "", b->length);
                if (!*ret)
                        r = -ENOMEM;
        }
        buffer_done(b);
        return r < 0 ? print_error(R, n, r) : 0;
}

static int filter_default(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        if (subject && !(args[1] && value_truth(args[1]) && !value_truth(subject))) {
                *ret = json_incref(subject);
                return 0;
        }
        *ret = args[0] ? json_incref(args[0]) : json_string("");
        return *ret ? 0 : -ENOMEM;
}

typedef enum CaseChange {
        CASE_UPPER,
        CASE_LOWER,
        CASE_CAPITALIZE,
        CASE_TITLE,
} CaseChange;

static char ascii_upper(char c) {
        return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int change_case(Render *R, const Node *n, json_t *subject, CaseChange change, json_t **ret) {
        _cleanup_json_ json_t *text = NULL;
        _cleanup_free_ char *s = NULL;
        bool word_start = true;
        size_t length;
        int r;

        r = value_to_text(R, n, subject, &text);
        if (r < 0)
                return r;
        length = json_string_length(text);
        s = malloc(length + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, json_string_value(text), length + 1);

        for (size_t i = 0; i < length; i++) {
                bool upper = change == CASE_UPPER || (change == CASE_CAPITALIZE && i == 0) ||
                        (change == CASE_TITLE && word_start);

                /* Jinja's title() starts a word after whitespace, '-' and opening brackets */
                word_start = IN_SET(s[i], ' ', '\t', '\n', '\r', '\v', '\f', '-', '(', '{', '[', '<');
                s[i] = upper ? ascii_upper(s[i]) : ascii_lower(s[i]);
        }

        *ret = json_stringn(s, length);
        return *ret ? 0 : -ENOMEM;
}

int filter_upper(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return change_case(R, n, subject, CASE_UPPER, ret);
}

int filter_lower(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return change_case(R, n, subject, CASE_LOWER, ret);
}

int filter_capitalize(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return change_case(R, n, subject, CASE_CAPITALIZE, ret);
}

int filter_title(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return change_case(R, n, subject, CASE_TITLE, ret);
}

static size_t char_length_at(const char *s, size_t n, size_t i) {
        size_t end = i + 1;

        while (end < n && ((unsigned char) s[end] & 0xC0) == 0x80)
                end++;
        return end - i;
}

static bool strip_char(const char *c, size_t n, const char *chars, size_t n_chars) {
        if (!chars)
                return n == 1 && IN_SET(*c, ' ', '\t', '\n', '\r', '\v', '\f');
        /* UTF-8 synchronises itself: a whole character found in chars is one of them */
        return memmem(chars, n_chars, c, n) != NULL;
}

/* Python's strip(), lstrip(), rstrip(): whitespace, or any of the characters in chars. */
int strip(Render *R, const Node *n, json_t *subject, json_t *chars_arg, bool left, bool right, json_t **ret) {
        _cleanup_json_ json_t *text = NULL;
        const char *s, *chars = NULL;
        size_t start = 0, end, n_chars = 0;
        int r;

        r = value_to_text(R, n, subject, &text);
        if (r < 0)
                return r;
        if (chars_arg && !json_is_null(chars_arg)) {
                r = argument_string(R, n, chars_arg, "chars", &chars, &n_chars);
                if (r < 0)
                        return r;
        }
        s = json_string_value(text);
        end = json_string_length(text);

        while (left && start < end) {
                size_t k = char_length_at(s, end, start);
                if (!strip_char(s + start, k, chars, n_chars))
                        break;
                start += k;
        }
        while (right && end > start) {
                size_t c = end - 1;

                while (c > start && ((unsigned char) s[c] & 0xC0) == 0x80)
                        c--;
                if (!strip_char(s + c, end - c, chars, n_chars))
                        break;
                end = c;
        }

        *ret = json_stringn(s + start, end - start);
        return *ret ? 0 : -ENOMEM;
}

int filter_trim(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return strip(R, n, subject, args[0], true, true, ret);
}

static int filter_length(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        size_t length;

        if (json_is_string(subject))
                length = utf8_length(json_string_value(subject), json_string_length(subject));
        else if (json_is_array(subject))
                length = json_array_size(subject);
        else if (json_is_object(subject))
                length = json_object_size(subject);
        else
                return render_error(R, &n->pos, -EINVAL, "%s has no length", value_type_name(subject));
        *ret = json_integer(length);
        return *ret ? 0 : -ENOMEM;
}

int filter_replace(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *text = NULL, *old_text = NULL, *new_text = NULL;
        Buffer b = { .limit = R->budget->limits.max_output };
        const char *s, *old, *new;
        size_t length, n_old, n_new, i = 0;
        int64_t count = -1;
        int r;

        r = value_to_text(R, n, subject, &text);
        if (r >= 0)
                r = value_to_text(R, n, args[0], &old_text);
        if (r >= 0)
                r = value_to_text(R, n, args[1], &new_text);
        if (r >= 0)
                r = argument_integer(R, n, args[2], "count", -1, &count);
        if (r < 0)
                return r;
        s = json_string_value(text);
        length = json_string_length(text);
        old = json_string_value(old_text);
        n_old = json_string_length(old_text);
        new = json_string_value(new_text);
        n_new = json_string_length(new_text);

        r = buffer_append(&b, "", 0);
        if (n_old == 0) {
                /* as in Python, an empty pattern matches before every character and at the end */
                for (; r >= 0 && count != 0; count--) {
                        r = buffer_append(&b, new, n_new);
                        if (r < 0 || i >= length)
                                break;
                        size_t k = char_length_at(s, length, i);
                        r = buffer_append(&b, s + i, k);
                        i += k;
                }
        } else
                for (; r >= 0 && count != 0; count--) {
                        const char *m = memmem(s + i, length - i, old, n_old);

                        if (!m)
                                break;
                        r = buffer_append(&b, s + i, m - (s + i));
                        if (r >= 0)
                                r = buffer_append(&b, new, n_new);
                        i = m - s + n_old;
                }
        if (r >= 0 && i < length)
                r = buffer_append(&b, s + i, length - i);
        return string_result(R, n, &b, r, ret);
}

/* Jinja's truncate(): at most length characters counting end, cut at a space unless
 * killwords, and left alone when only leeway characters too long. */
static int filter_truncate(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *text = NULL, *end_text = NULL;
        Buffer b = { .limit = R->budget->limits.max_output };
        int64_t length = 0, leeway = 0;
        size_t n_chars, n_end, cut;
        const char *s;
        int r;

        r = value_to_text(R, n, subject, &text);
        if (r >= 0)
                r = argument_integer(R, n, args[0], "length", 255, &length);
        if (r >= 0 && args[2])
                r = value_to_text(R, n, args[2], &end_text);
        if (r >= 0)
                r = argument_integer(R, n, args[3], "leeway", 5, &leeway);
        if (r < 0)
                return r;
        if (!end_text) {
                end_text = json_string("...");
                if (!end_text)
                        return -ENOMEM;
        }

        s = json_string_value(text);
        n_chars = utf8_length(s, json_string_length(text));
        n_end = utf8_length(json_string_value(end_text), json_string_length(end_text));
        if (length < 0 || (uint64_t) length < n_end)
                return render_error(R, &n->pos, -EINVAL, "truncate length %" PRId64 " is shorter than the end text",
                                    length);
        if (leeway < 0)
                return render_error(R, &n->pos, -EINVAL, "truncate leeway cannot be negative");
        if (n_chars <= (uint64_t) length + (uint64_t) leeway) {
                *ret = TAKE_PTR(text);
                return 0;
        }

        cut = utf8_offset(s, json_string_length(text), length - n_end);
        if (!(args[1] && value_truth(args[1]))) {
                /* drop the last, partial word */
                const char *space = memrchr(s, ' ', cut);
                if (space)
                        cut = space - s;
        }
        r = buffer_append(&b, s, cut);
        if (r >= 0)
                r = buffer_append(&b, json_string_value(end_text), json_string_length(end_text));
        return string_result(R, n, &b, r, ret);
}

static bool only_space(const char *s) {
        for (; *s; s++)
                if (!IN_SET(*s, ' ', '\t', '\n', '\r', '\v', '\f'))
                        return false;
        return true;
}

/* Reads a whole string as a finite number the way Python's float() does. */
static bool parse_real(const char *s, double *ret) {
        char *end;
        double v;

        if (strpbrk(s, "xXpP_"))   /* strtod also reads hexadecimal; Python does not */
                return false;
        errno = 0;
        v = strtod(s, &end);
        if (end == s || errno == ERANGE || !isfinite(v) || !only_space(end))
                return false;
        *ret = v;
        return true;
}

static bool real_to_integer(double v, int64_t *ret) {
        v = trunc(v);
        if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
                return false;
        *ret = (int64_t) v;
        return true;
}

/* Jinja's int(): numbers are truncated, strings parsed as integers or else as floats; what
 * cannot be read gives the default. */
static int filter_int(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        int64_t base = 10, v = 0;
        bool ok = false;
        int r;

        r = argument_integer(R, n, args[1], "base", 10, &base);
        if (r < 0)
                return r;
        if (base != 0 && (base < 2 || base > 36))
                return render_error(R, &n->pos, -EINVAL, "int base must be 0 or between 2 and 36");

        if (json_is_integer(subject)) {
                *ret = json_incref(subject);
                return 0;
        }
        if (json_is_real(subject))
                ok = real_to_integer(json_real_value(subject), &v);
        else if (json_is_boolean(subject)) {
                v = json_is_true(subject);
                ok = true;
        } else if (json_is_string(subject)) {
                const char *s = json_string_value(subject);
                char *end;
                double d;

                errno = 0;
                v = strtoll(s, &end, base);
                ok = end != s && errno == 0 && only_space(end);
                if (!ok && parse_real(s, &d))
                        ok = real_to_integer(d, &v);
        }

        if (!ok) {
                *ret = args[0] ? json_incref(args[0]) : json_integer(0);
                return *ret ? 0 : -ENOMEM;
        }
        *ret = json_integer(v);
        return *ret ? 0 : -ENOMEM;
}

static int filter_float(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        double v = 0;
        bool ok = true;

        if (json_is_real(subject)) {
                *ret = json_incref(subject);
                return 0;
        }
        if (json_is_integer(subject))
                v = json_integer_value(subject);
        else if (json_is_boolean(subject))
                v = json_is_true(subject);
        else if (json_is_string(subject))
                ok = parse_real(json_string_value(subject), &v);
        else
                ok = false;

        if (!ok) {
                *ret = args[0] ? json_incref(args[0]) : json_real(0.0);
                return *ret ? 0 : -ENOMEM;
        }
        return real_new(v, ret);
}

/* Jinja's round(): "common" rounds as Python's round() does (halves to even, on the exact
 * binary value), "ceil" and "floor" always one way. Integers stay integers under
 * "common". */
static int filter_round(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        const char *method = "common";
        size_t method_length;
        int64_t precision = 0;
        double x, v, scale;
        int r;

        r = argument_integer(R, n, args[0], "precision", 0, &precision);
        if (r >= 0 && args[1])
                r = argument_string(R, n, args[1], "method", &method, &method_length);
        if (r < 0)
                return r;
        if (!IN_SET_STR(method, "common", "ceil", "floor"))
                return render_error(R, &n->pos, -EINVAL, "round method must be 'common', 'ceil' or 'floor'");
        if (!value_is_number(subject))
                return render_error(R, &n->pos, -EINVAL, "cannot round %s", value_type_name(subject));

        x = json_number_value(subject);
        precision = MAX(MIN(precision, (int64_t) 308), (int64_t) -308);
        if (streq(method, "common")) {
                if (json_is_integer(subject) && precision >= 0) {
                        *ret = json_incref(subject);
                        return 0;
                }
                if (precision >= 0) {
                        char buf[400];

                        /* printf rounds the exact binary value, as Python does */
                        snprintf(buf, sizeof buf, "%.*f", (int) MIN(precision, (int64_t) 17), x);
                        v = strtod(buf, NULL);
                } else {
                        scale = pow(10, (double) -precision);
                        v = rint(x / scale) * scale;
                }
                if (json_is_integer(subject)) {
                        int64_t i;

                        if (!real_to_integer(v, &i))
                                return render_error(R, &n->pos, -EINVAL, "result of round is out of range");
                        *ret = json_integer(i);
                        return *ret ? 0 : -ENOMEM;
                }
        } else {
                scale = pow(10, (double) precision);
                v = streq(method, "ceil") ? ceil(x * scale) / scale : floor(x * scale) / scale;
                if (!isfinite(v))
                        v = x;
        }
        return real_new(v, ret);
}

static int filter_abs(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        if (json_is_integer(subject)) {
                json_int_t v = json_integer_value(subject);

                if (v == INT64_MIN)
                        return render_error(R, &n->pos, -EINVAL, "integer overflow in abs");
                *ret = json_integer(v < 0 ? -v : v);
        } else if (json_is_real(subject))
                *ret = json_real(fabs(json_real_value(subject)));
        else
                return render_error(R, &n->pos, -EINVAL, "abs needs a number, not %s", value_type_name(subject));
        return *ret ? 0 : -ENOMEM;
}

/* JSON, compact unless indent is given, keys in their order, non-ASCII text as is. */
static int filter_tojson(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        Buffer b = { .limit = R->budget->limits.max_output };
        int64_t indent = 0;
        int r;

        r = argument_integer(R, n, args[0], "indent", 0, &indent);
        if (r < 0)
                return r;
        if (indent < 0 || indent > 16)
                return render_error(R, &n->pos, -EINVAL, "tojson indent must be between 0 and 16");
        r = value_write_json(&b, subject, indent);
        return string_result(R, n, &b, r, ret);
}

static int filter_fromjson(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        json_error_t error;

        if (!json_is_string(subject))
                return render_error(R, &n->pos, -EINVAL, "fromjson needs a string, not %s", value_type_name(subject));
        *ret = json_loadb(json_string_value(subject), json_string_length(subject), JSON_DECODE_ANY, &error);
        if (!*ret)
                return render_error(R, &n->pos, -EINVAL, "invalid JSON: %s (line %d, column %d)",
                                    error.text, error.line, error.column);
        return 0;
}

static int filter_string(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        return value_to_text(R, n, subject, ret);
}

/* Python's str.split(): on runs of whitespace (ignoring it at both ends) without sep,
 * else on every sep; after maxsplit splits the rest is the last item. */
int filter_split(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *text = NULL, *result = json_array();
        const char *s, *sep = NULL;
        size_t length, n_sep = 0, i = 0;
        int64_t max_split = -1;
        int r;

        if (!result)
                return -ENOMEM;
        r = value_to_text(R, n, subject, &text);
        if (r >= 0 && args[0] && !json_is_null(args[0]))
                r = argument_string(R, n, args[0], "sep", &sep, &n_sep);
        if (r >= 0)
                r = argument_integer(R, n, args[1], "maxsplit", -1, &max_split);
        if (r < 0)
                return r;
        if (sep && n_sep == 0)
                return render_error(R, &n->pos, -EINVAL, "empty separator");
        s = json_string_value(text);
        length = json_string_length(text);

        if (sep) {
                for (;; max_split--) {
                        const char *m = max_split != 0 ? memmem(s + i, length - i, sep, n_sep) : NULL;
                        size_t end = m ? (size_t) (m - s) : length;

                        if (json_array_size(result) >= TEMPLATE_LIST_MAX)
                                return render_error(R, &n->pos, -E2BIG, "split gives more than %zu items",
                                                    TEMPLATE_LIST_MAX);
                        if (json_array_append_new(result, json_stringn(s + i, end - i)) < 0)
                                return -ENOMEM;
                        if (!m)
                                break;
                        i = end + n_sep;
                }
        } else
                for (;; max_split--) {
                        size_t end;

                        while (i < length && strip_char(s + i, 1, NULL, 0))
                                i++;
                        if (i >= length)
                                break;
                        if (max_split == 0) {
                                end = length;
                                while (end > i && strip_char(s + end - 1, 1, NULL, 0))
                                        end--;
                        } else
                                for (end = i; end < length && !strip_char(s + end, 1, NULL, 0); end++)
                                        ;
                        if (json_array_size(result) >= TEMPLATE_LIST_MAX)
                                return render_error(R, &n->pos, -E2BIG, "split gives more than %zu items",
                                                    TEMPLATE_LIST_MAX);
                        if (json_array_append_new(result, json_stringn(s + i, end - i)) < 0)
                                return -ENOMEM;
                        i = end;
                }

        *ret = TAKE_PTR(result);
        return 0;
}

static int percent_encode(Buffer *b, const char *s, size_t n, bool query) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                unsigned char c = s[i];
                char hex[4];

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    IN_SET(c, '_', '.', '-', '~') || (c == '/' && !query))
                        r = buffer_append(b, s + i, 1);
                else if (c == ' ' && query)
                        r = buffer_append(b, "+", 1);
                else {
                        snprintf(hex, sizeof hex, "%%%02X", c);
                        r = buffer_append(b, hex, 3);
                }
        }
        return r;
}

static int encode_pair(Render *R, const Node *n, Buffer *b, json_t *key, json_t *value, bool first) {
        _cleanup_json_ json_t *k = NULL, *v = NULL;
        int r;

        r = value_to_text(R, n, key, &k);
        if (r >= 0)
                r = value_to_text(R, n, value, &v);
        if (r < 0)
                return r;
        r = first ? 0 : buffer_append(b, "&", 1);
        if (r >= 0)
                r = percent_encode(b, json_string_value(k), json_string_length(k), true);
        if (r >= 0)
                r = buffer_append(b, "=", 1);
        if (r >= 0)
                r = percent_encode(b, json_string_value(v), json_string_length(v), true);
        return r < 0 ? print_error(R, n, r) : 0;
}

/* Jinja's urlencode(): text is quoted for a URL path ('/' stays); an object, or a list of
 * [key, value] pairs, becomes a query string. */
static int filter_urlencode(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        Buffer b = { .limit = R->budget->limits.max_output };
        _cleanup_json_ json_t *text = NULL;
        int r = buffer_append(&b, "", 0);

        if (json_is_object(subject)) {
                const char *key;
                json_t *value;
                bool first = true;

                json_object_foreach(subject, key, value) {
                        _cleanup_json_ json_t *k = json_string(key);

                        r = k ? encode_pair(R, n, &b, k, value, first) : -ENOMEM;
                        if (r < 0)
                                break;
                        first = false;
                }
        } else if (json_is_array(subject)) {
                size_t i;
                json_t *pair;

                json_array_foreach(subject, i, pair) {
                        if (!json_is_array(pair) || json_array_size(pair) != 2) {
                                r = render_error(R, &n->pos, -EINVAL, "urlencode needs [key, value] pairs, not %s",
                                                 value_type_name(pair));
                                break;
                        }
                        r = encode_pair(R, n, &b, json_array_get(pair, 0), json_array_get(pair, 1), i == 0);
                        if (r < 0)
                                break;
                }
        } else {
                r = value_to_text(R, n, subject, &text);
                if (r >= 0)
                        r = percent_encode(&b, json_string_value(text), json_string_length(text), false);
        }
        return string_result(R, n, &b, r, ret);
}

/* Runs of letters, digits and '_'; any non-ASCII character counts as a letter. */
static int filter_wordcount(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret) {
        _cleanup_json_ json_t *text = NULL;
        size_t words = 0;
        bool in_word = false;
        int r;

        r = value_to_text(R, n, subject, &text);
        if (r < 0)
                return r;
        for (const char *s = json_string_value(text); *s; s++) {
                unsigned char c = *s;
                bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c >= 0x80;

                if (word && !in_word)
                        words++;
                in_word = word;
        }
        *ret = json_integer(words);
        return *ret ? 0 : -ENOMEM;
}

#define FILTER(n, f, ...) { .name = (n), .function = (f), .params = { __VA_ARGS__ } }

static const FilterSpec filter_table[] = {
        { .name = "default", .function = filter_default, .params = { "default_value", "boolean" }, .accepts_undefined = true },
        { .name = "d", .function = filter_default, .params = { "default_value", "boolean" }, .accepts_undefined = true },
        FILTER("upper", filter_upper),
        FILTER("lower", filter_lower),
        FILTER("title", filter_title),
        FILTER("capitalize", filter_capitalize),
        FILTER("trim", filter_trim, "chars"),
        FILTER("strip", filter_trim, "chars"),
        FILTER("length", filter_length),
        FILTER("count", filter_length),
        FILTER("join", filter_join, "d", "attribute"),
        FILTER("first", filter_first),
        FILTER("last", filter_last),
        { .name = "replace", .function = filter_replace, .params = { "old", "new", "count" }, .n_required = 2 },
        FILTER("truncate", filter_truncate, "length", "killwords", "end", "leeway"),
        FILTER("int", filter_int, "default", "base"),
        FILTER("float", filter_float, "default"),
        FILTER("round", filter_round, "precision", "method"),
        FILTER("abs", filter_abs),
        FILTER("tojson", filter_tojson, "indent"),
        FILTER("fromjson", filter_fromjson),
        FILTER("string", filter_string),
        FILTER("list", filter_list),
        FILTER("sort", filter_sort, "reverse", "case_sensitive", "attribute"),
        FILTER("reverse", filter_reverse),
        FILTER("unique", filter_unique, "case_sensitive", "attribute"),
        FILTER("min", filter_min, "case_sensitive", "attribute"),
        FILTER("max", filter_max, "case_sensitive", "attribute"),
        FILTER("sum", filter_sum, "attribute", "start"),
        FILTER("keys", filter_keys),
        FILTER("values", filter_values),
        FILTER("items", filter_items),
        FILTER("split", filter_split, "sep", "maxsplit"),
        FILTER("urlencode", filter_urlencode),
        FILTER("wordcount", filter_wordcount),
};

const FilterSpec *filter_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(filter_table); i++)
                if (streq(filter_table[i].name, name))
                        return &filter_table[i];
        return NULL;
}
