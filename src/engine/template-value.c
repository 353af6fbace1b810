/* What values mean to templates: their truth, how they print, how they compare. Numbers
 * print as Python prints them; objects and lists print as compact JSON (not as Python
 * reprs), which is what prompts and request bodies want. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/template-internal.h"

int buffer_append(Buffer *b, const char *s, size_t n) {
        if (n > b->limit || b->length > b->limit - n)
                return -E2BIG;
        if (b->length + n + 1 > b->allocated) {
                size_t a = MAX(MAX(b->allocated * 2, b->length + n + 1), (size_t) 64);
                char *d = realloc(b->data, a);

                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->allocated = a;
        }
        memcpy(b->data + b->length, s, n);
        b->length += n;
        b->data[b->length] = '\0';
        return 0;
}

void buffer_done(Buffer *b) {
        if (!b)
                return;
        free(b->data);
        *b = (Buffer) {};
}

const char *value_type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a float";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "none";
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "a list";
        }
        return "a value";
}

bool value_is_number(const json_t *v) {
        return json_is_integer(v) || json_is_real(v);
}

double value_number(const json_t *v) {
        return json_number_value(v);
}

bool value_truth(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_STRING:
                return json_string_length(v) > 0;
        case JSON_INTEGER:
                return json_integer_value(v) != 0;
        case JSON_REAL:
                return json_real_value(v) != 0.0;
        case JSON_TRUE:
                return true;
        case JSON_FALSE:
        case JSON_NULL:
                return false;
        case JSON_OBJECT:
                return json_object_size(v) > 0;
        case JSON_ARRAY:
                return json_array_size(v) > 0;
        }
        return false;
}

int real_new(double v, json_t **ret) {
        json_t *j;

        if (!isfinite(v))
                return -ERANGE;
        j = json_real(v);
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

void format_real(double v, char buf[static 32]) {
        char e[40], digits[20], *p = buf;
        int exponent, n_digits = 0;
        const char *s;

        if (isnan(v)) {
                strcpy(buf, "nan");
                return;
        }
        if (isinf(v)) {
                strcpy(buf, v < 0 ? "-inf" : "inf");
                return;
        }

        /* the fewest significant digits that read back as v */
        for (int precision = 0; precision < 17; precision++) {
                snprintf(e, sizeof e, "%.*e", precision, v);
                if (strtod(e, NULL) == v)
                        break;
        }

        /* e is "[-]d[.ddd]e±xx"; collect the digits whatever the locale's decimal point */
        s = e;
        if (*s == '-') {
                *p++ = '-';
                s++;
        }
        for (; *s && *s != 'e'; s++)
                if (*s >= '0' && *s <= '9' && n_digits < (int) sizeof digits)
                        digits[n_digits++] = *s;
        exponent = *s == 'e' ? atoi(s + 1) : 0;
        while (n_digits > 1 && digits[n_digits - 1] == '0')
                n_digits--;

        if (exponent < -4 || exponent >= 16) {
                /* 1e+20, 1.5e-05 */
                *p++ = digits[0];
                if (n_digits > 1) {
                        *p++ = '.';
                        memcpy(p, digits + 1, n_digits - 1);
                        p += n_digits - 1;
                }
                sprintf(p, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
        } else if (exponent < 0) {
                /* 0.001 */
                *p++ = '0';
                *p++ = '.';
                for (int i = -1; i > exponent; i--)
                        *p++ = '0';
                memcpy(p, digits, n_digits);
                p[n_digits] = '\0';
        } else {
                /* 2.0, 1234.5 */
                for (int i = 0; i <= exponent; i++)
                        *p++ = i < n_digits ? digits[i] : '0';
                *p++ = '.';
                if (n_digits > exponent + 1) {
                        memcpy(p, digits + exponent + 1, n_digits - exponent - 1);
                        p += n_digits - exponent - 1;
                } else
                        *p++ = '0';
                *p = '\0';
        }
}

static int write_json_string(Buffer *b, const char *s, size_t n) {
        size_t plain = 0;
        int r;

        r = buffer_append(b, "\"", 1);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];
                char esc[8];

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                r = buffer_append(b, s + plain, i - plain);
                if (r < 0)
                        return r;
                switch (c) {
                case '"':
                case '\\':
                        esc[0] = '\\';
                        esc[1] = c;
                        esc[2] = '\0';
                        break;
                case '\n':
                        strcpy(esc, "\\n");
                        break;
                case '\t':
                        strcpy(esc, "\\t");
                        break;
                case '\r':
                        strcpy(esc, "\\r");
                        break;
                case '\b':
                        strcpy(esc, "\\b");
                        break;
                case '\f':
                        strcpy(esc, "\\f");
                        break;
                default:
                        snprintf(esc, sizeof esc, "\\u%04x", c);
                }
                r = buffer_append_string(b, esc);
                if (r < 0)
                        return r;
                plain = i + 1;
        }
        r = buffer_append(b, s + plain, n - plain);
        if (r < 0)
                return r;
        return buffer_append(b, "\"", 1);
}

static int write_newline(Buffer *b, unsigned indent, unsigned level) {
        int r;

        if (indent == 0)
                return 0;
        r = buffer_append(b, "\n", 1);
        for (unsigned i = 0; r >= 0 && i < indent * level; i++)
                r = buffer_append(b, " ", 1);
        return r;
}

static int write_json(Buffer *b, const json_t *v, unsigned indent, unsigned level) {
        char num[32];
        int r;

        if (level > TEMPLATE_DATA_DEPTH_MAX)
                return -ELOOP;

        switch (json_typeof(v)) {
        case JSON_STRING:
                return write_json_string(b, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                snprintf(num, sizeof num, "%" PRId64, (int64_t) json_integer_value(v));
                return buffer_append_string(b, num);
        case JSON_REAL:
                format_real(json_real_value(v), num);
                return buffer_append_string(b, num);
        case JSON_TRUE:
                return buffer_append_string(b, "true");
        case JSON_FALSE:
                return buffer_append_string(b, "false");
        case JSON_NULL:
                return buffer_append_string(b, "null");

        case JSON_ARRAY: {
                size_t i;
                json_t *item;

                r = buffer_append(b, "[", 1);
                json_array_foreach(v, i, item) {
                        if (r >= 0 && i > 0)
                                r = buffer_append(b, ",", 1);
                        if (r >= 0)
                                r = write_newline(b, indent, level + 1);
                        if (r >= 0)
                                r = write_json(b, item, indent, level + 1);
                        if (r < 0)
                                return r;
                }
                if (r >= 0 && json_array_size(v) > 0)
                        r = write_newline(b, indent, level);
                if (r >= 0)
                        r = buffer_append(b, "]", 1);
                return r;
        }

        case JSON_OBJECT: {
                const char *key;
                json_t *item;
                bool first = true;

                r = buffer_append(b, "{", 1);
                json_object_foreach((json_t *) v, key, item) {
                        if (r >= 0 && !first)
                                r = buffer_append(b, ",", 1);
                        first = false;
                        if (r >= 0)
                                r = write_newline(b, indent, level + 1);
                        if (r >= 0)
                                r = write_json_string(b, key, strlen(key));
                        if (r >= 0)
                                r = buffer_append_string(b, indent > 0 ? ": " : ":");
                        if (r >= 0)
                                r = write_json(b, item, indent, level + 1);
                        if (r < 0)
                                return r;
                }
                if (r >= 0 && json_object_size(v) > 0)
                        r = write_newline(b, indent, level);
                if (r >= 0)
                        r = buffer_append(b, "}", 1);
                return r;
        }
        }
        return -EINVAL;
}

int value_write_json(Buffer *b, const json_t *v, unsigned indent) {
        return write_json(b, v, indent, 0);
}

int value_print(Buffer *b, const json_t *v) {
        char num[32];

        switch (json_typeof(v)) {
        case JSON_STRING:
                return buffer_append(b, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                snprintf(num, sizeof num, "%" PRId64, (int64_t) json_integer_value(v));
                return buffer_append_string(b, num);
        case JSON_REAL:
                format_real(json_real_value(v), num);
                return buffer_append_string(b, num);
        case JSON_TRUE:
                return buffer_append_string(b, "True");
        case JSON_FALSE:
                return buffer_append_string(b, "False");
        case JSON_NULL:
                return buffer_append_string(b, "None");
        case JSON_OBJECT:
        case JSON_ARRAY:
                return value_write_json(b, v, 0);
        }
        return -EINVAL;
}

static int equal(const json_t *a, const json_t *b, unsigned depth) {
        if (depth > TEMPLATE_DATA_DEPTH_MAX)
                return -ELOOP;

        if (value_is_number(a) && value_is_number(b)) {
                if (json_is_integer(a) && json_is_integer(b))
                        return json_integer_value(a) == json_integer_value(b);
                return json_number_value(a) == json_number_value(b);
        }
        if (json_typeof(a) != json_typeof(b))
                return 0;

        switch (json_typeof(a)) {
        case JSON_STRING:
                return json_string_length(a) == json_string_length(b) &&
                        memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
        case JSON_ARRAY:
                if (json_array_size(a) != json_array_size(b))
                        return 0;
                for (size_t i = 0; i < json_array_size(a); i++) {
                        int r = equal(json_array_get(a, i), json_array_get(b, i), depth + 1);
                        if (r <= 0)
                                return r;
                }
                return 1;
        case JSON_OBJECT: {
                const char *key;
                json_t *item;

                if (json_object_size(a) != json_object_size(b))
                        return 0;
                json_object_foreach((json_t *) a, key, item) {
                        json_t *other = json_object_get(b, key);
                        int r;

                        if (!other)
                                return 0;
                        r = equal(item, other, depth + 1);
                        if (r <= 0)
                                return r;
                }
                return 1;
        }
        default:
                return 1;   /* true, false, null */
        }
}

int value_equal(const json_t *a, const json_t *b) {
        return equal(a, b, 0);
}

static int compare_strings(const char *a, size_t na, const char *b, size_t nb, bool case_sensitive) {
        for (size_t i = 0; i < MIN(na, nb); i++) {
                unsigned char x = a[i], y = b[i];

                if (!case_sensitive) {
                        if (x >= 'A' && x <= 'Z')
                                x += 'a' - 'A';
                        if (y >= 'A' && y <= 'Z')
                                y += 'a' - 'A';
                }
                if (x != y)
                        return x < y ? -1 : 1;
        }
        return na == nb ? 0 : na < nb ? -1 : 1;
}

static int compare(const json_t *a, const json_t *b, bool case_sensitive, unsigned depth, int *ret) {
        if (depth > TEMPLATE_DATA_DEPTH_MAX)
                return -ELOOP;

        if (value_is_number(a) && value_is_number(b)) {
                if (json_is_integer(a) && json_is_integer(b)) {
                        json_int_t x = json_integer_value(a), y = json_integer_value(b);
                        *ret = x == y ? 0 : x < y ? -1 : 1;
                } else {
                        double x = json_number_value(a), y = json_number_value(b);
                        *ret = x == y ? 0 : x < y ? -1 : 1;
                }
                return 0;
        }
        if (json_is_string(a) && json_is_string(b)) {
                *ret = compare_strings(json_string_value(a), json_string_length(a),
                                       json_string_value(b), json_string_length(b), case_sensitive);
                return 0;
        }
        if (json_is_boolean(a) && json_is_boolean(b)) {
                *ret = json_is_true(a) - json_is_true(b);
                return 0;
        }
        if (json_is_array(a) && json_is_array(b)) {
                size_t na = json_array_size(a), nb = json_array_size(b);

                for (size_t i = 0; i < MIN(na, nb); i++) {
                        int r = compare(json_array_get(a, i), json_array_get(b, i), case_sensitive, depth + 1, ret);
                        if (r < 0)
                                return r;
                        if (*ret != 0)
                                return 0;
                }
                *ret = na == nb ? 0 : na < nb ? -1 : 1;
                return 0;
        }
        return -EINVAL;
}

int value_compare(const json_t *a, const json_t *b, bool case_sensitive, int *ret) {
        return compare(a, b, case_sensitive, 0, ret);
}

size_t utf8_length(const char *s, size_t n) {
        size_t count = 0;

        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        count++;
        return count;
}

size_t utf8_offset(const char *s, size_t n, size_t index) {
        size_t i = 0;

        for (; i < n; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80) {
                        if (index == 0)
                                return i;
                        index--;
                }
        return n;
}
