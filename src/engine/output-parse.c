/* Parsers for a model's text answer (output-parse.h). */

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/output-parse.h"
#include "engine/regex-limits.h"

/* Openings of {…} or […] tried before giving up on text that holds none that parses. */
#define JSON_CANDIDATES_MAX 64
/* Deepest nesting the bracket scanner follows (jansson's own limit is 2048). */
#define JSON_SCAN_DEPTH_MAX 2048
#define REGEX_PATTERN_MAX 4096
#define REGEX_GROUPS_MAX 64
/* The part of an answer searched for a choice's name. */
#define CHOICE_SCAN_MAX (64U * 1024U)

_printf_(2, 3)
static int fail(char **ret_error, const char *format, ...) {
        char *message = NULL;
        va_list ap;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (!message)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = message;
        return -EINVAL;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A JSON string of n bytes that may not be valid UTF-8 (a match may end inside a
 * character): each bad byte becomes U+FFFD. */
static json_t *json_text(const char *s, size_t n) {
        _cleanup_free_ char *clean = NULL;
        size_t i = 0, k = 0;
        json_t *v = json_stringn(s, n);

        if (v)
                return v;
        clean = malloc(n * 3 + 1);
        if (!clean)
                return NULL;
        while (i < n) {
                unsigned char c = (unsigned char) s[i];
                size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
                bool ok = len > 0 && i + len <= n && c != 0;

                for (size_t j = 1; ok && j < len; j++)
                        ok = ((unsigned char) s[i + j] & 0xC0) == 0x80;
                if (ok && json_stringn(s + i, len) == NULL)
                        ok = false; /* overlong forms, surrogates */
                if (ok) {
                        memcpy(clean + k, s + i, len);
                        k += len;
                        i += len;
                } else {
                        memcpy(clean + k, "\xEF\xBF\xBD", 3);
                        k += 3;
                        i++;
                }
        }
        return json_stringn(clean, k);
}

/* --- JSON ---------------------------------------------------------------------------- */

static json_t *load_container(const char *s, size_t n) {
        json_t *v;

        while (n > 0 && is_space(*s))
                s++, n--;
        while (n > 0 && is_space(s[n - 1]))
                n--;
        if (n == 0 || (*s != '{' && *s != '['))
                return NULL;
        v = json_loadb(s, n, 0, NULL);
        if (v && !json_is_object(v) && !json_is_array(v)) {
                json_decref(v);
                return NULL;
        }
        return v;
}

/* Where the object or array opening at s[start] ends (one past its closing bracket), with
 * strings skipped; 0 when it does not close. */
static size_t container_end(const char *s, size_t n, size_t start) {
        size_t depth = 0;
        bool in_string = false;

        for (size_t i = start; i < n; i++) {
                char c = s[i];

                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '{' || c == '[') {
                        if (++depth > JSON_SCAN_DEPTH_MAX)
                                return 0;
                } else if (c == '}' || c == ']') {
                        if (depth == 0)
                                return 0;
                        if (--depth == 0)
                                return i + 1;
                }
        }
        return 0;
}

static json_t *json_in_fences(const char *s, size_t n) {
        const char *end = s + n, *p = s;

        for (;;) {
                const char *open = memmem(p, (size_t) (end - p), "```", 3), *body, *close;
                json_t *v;

                if (!open)
                        return NULL;
                body = memchr(open + 3, '\n', (size_t) (end - open - 3));
                if (!body)
                        return NULL;
                body++;
                close = memmem(body, (size_t) (end - body), "```", 3);
                if (!close)
                        close = end;
                v = load_container(body, (size_t) (close - body));
                if (v)
                        return v;
                if (close == end)
                        return NULL;
                p = close + 3;
        }
}

static json_t *json_in_text(const char *s, size_t n) {
        unsigned tried = 0;

        for (size_t i = 0; i < n && tried < JSON_CANDIDATES_MAX; i++) {
                size_t stop;
                json_t *v;

                if (s[i] != '{' && s[i] != '[')
                        continue;
                tried++;
                stop = container_end(s, n, i);
                if (stop == 0)
                        continue;
                v = load_container(s + i, stop - i);
                if (v)
                        return v;
        }
        return NULL;
}

json_t *output_parse_json(const char *text) {
        size_t n;
        json_t *v;

        if (!text)
                return NULL;
        n = strnlen(text, OUTPUT_PARSE_TEXT_MAX);
        v = load_container(text, n);
        if (!v)
                v = json_in_fences(text, n);
        if (!v)
                v = json_in_text(text, n);
        return v;
}

/* --- lists ----------------------------------------------------------------------------- */

/* The length of the bullet or number starting the line, with the space after it; 0 when
 * there is none. */
static size_t list_marker(const char *s, size_t n) {
        size_t i = 0;

        if (n >= 2 && strchr("-*+", s[0]) && is_space(s[1]))
                return 2;
        if (n >= 4 && memcmp(s, "\xE2\x80\xA2", 3) == 0 && is_space(s[3]))    /* • */
                return 4;
        if (n >= 3 && memcmp(s, "\xE2\x80\xA2", 3) == 0)
                return 3;
        if (n > 0 && s[0] == '(')
                i = 1;
        while (i < n && i < 10 && is_digit(s[i]))
                i++;
        if (i == 0 || (i == 1 && s[0] == '(') || i >= n)
                return 0;
        if (s[0] == '(' ? s[i] != ')' : s[i] != '.' && s[i] != ')')
                return 0;
        i++;
        if (i < n && !is_space(s[i]))
                return 0;
        return i < n ? i + 1 : i;
}

static int list_add(json_t *items, const char *s, size_t n) {
        while (n > 0 && is_space(*s))
                s++, n--;
        while (n > 0 && is_space(s[n - 1]))
                n--;
        if (n == 0 || json_array_size(items) >= OUTPUT_PARSE_ITEMS_MAX)
                return 0;
        return json_array_append_new(items, json_text(s, n)) < 0 ? -ENOMEM : 0;
}

json_t *output_parse_list(const char *text) {
        _cleanup_json_ json_t *marked = json_array(), *plain = json_array();
        const char *p = text ?: "", *end = p + strnlen(p, OUTPUT_PARSE_TEXT_MAX), *only_line = NULL;
        size_t lines = 0, only_len = 0;

        if (!marked || !plain)
                return NULL;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *line = p;
                size_t n = (size_t) ((nl ?: end) - p), marker;

                p = nl ? nl + 1 : end;
                while (n > 0 && is_space(*line))
                        line++, n--;
                while (n > 0 && is_space(line[n - 1]))
                        n--;
                if (n == 0)
                        continue;
                lines++;
                only_line = line;
                only_len = n;
                marker = list_marker(line, n);
                if (list_add(marker > 0 ? marked : plain, line + marker, n - marker) < 0)
                        return NULL;
        }

        if (json_array_size(marked) > 0)
                return TAKE_PTR(marked);
        if (lines != 1)
                return TAKE_PTR(plain);

        /* One line: a comma separated list. */
        json_array_clear(plain);
        for (const char *s = only_line, *stop = only_line + only_len; s < stop;) {
                const char *comma = memchr(s, ',', (size_t) (stop - s));
                size_t n = (size_t) ((comma ?: stop) - s);

                if (list_add(plain, s, n) < 0)
                        return NULL;
                s = comma ? comma + 1 : stop;
        }
        return TAKE_PTR(plain);
}

/* --- regular expressions ------------------------------------------------------------------ */

typedef struct RegexGroup {
        bool visible;           /* false: a "(?:…)" group, which POSIX captures anyway */
        char *name;
} RegexGroup;

typedef struct Regex {
        char *pattern;          /* translated to POSIX extended syntax */
        size_t len, allocated;
        RegexGroup groups[REGEX_GROUPS_MAX];
        size_t n_groups;        /* POSIX groups, visible or not */
        bool icase;
} Regex;

static void regex_done(Regex *x) {
        free(x->pattern);
        for (size_t i = 0; i < x->n_groups; i++)
                free(x->groups[i].name);
        *x = (Regex) {};
}

static int emit(Regex *x, const char *s, size_t n) {
        if (x->len + n + 1 > x->allocated) {
                size_t want = MAX(x->allocated * 2, x->len + n + 64);
                char *p = realloc(x->pattern, want);

                if (!p)
                        return -ENOMEM;
                x->pattern = p;
                x->allocated = want;
        }
        memcpy(x->pattern + x->len, s, n);
        x->len += n;
        x->pattern[x->len] = '\0';
        return 0;
}

static int emits(Regex *x, const char *s) {
        return emit(x, s, strlen(s));
}

/* "(" seen at p: records the group it opens and returns how much of the pattern its
 * opening takes, or a negative errno. */
static int translate_group(Regex *x, const char *pattern, const char *p, char **ret_error) {
        RegexGroup g = { .visible = true };
        size_t taken = 1;

        if (x->n_groups >= REGEX_GROUPS_MAX)
                return fail(ret_error, "the pattern has more than %d groups", REGEX_GROUPS_MAX);

        if (p[1] == '?') {
                const char *name = NULL, *end;

                if (p[2] == 'P' && p[3] == '<')
                        name = p + 4;
                else if (p[2] == '<' && p[3] != '=' && p[3] != '!')
                        name = p + 3;
                else if (p[2] == ':') {
                        g.visible = false;
                        taken = 3;
                } else if (p[2] == 'i' && p[3] == ')' && p == pattern) {
                        x->icase = true;
                        return 4;
                } else
                        return fail(ret_error, "'(?%c' is not supported: only named groups (?P<name>…), "
                                    "(?:…) and a leading (?i)", p[2] ?: ' ');

                if (name) {
                        for (end = name; is_word(*end); end++)
                                ;
                        if (end == name || *end != '>' || is_digit(*name))
                                return fail(ret_error, "a group name must be letters, digits and '_', not starting "
                                            "with a digit, then '>'");
                        g.name = strndup(name, (size_t) (end - name));
                        if (!g.name)
                                return -ENOMEM;
                        for (size_t i = 0; i < x->n_groups; i++)
                                if (x->groups[i].name && streq(x->groups[i].name, g.name)) {
                                        int r = fail(ret_error, "the group name '%s' is used twice", g.name);

                                        free(g.name);
                                        return r;
                                }
                        taken = (size_t) (end + 1 - p);
                }
        }
        x->groups[x->n_groups++] = g;
        return emits(x, "(") < 0 ? -ENOMEM : (int) taken;
}

/* An escape inside [...], where POSIX reads a backslash as itself. */
static int translate_bracket_escape(Regex *x, char c, char **ret_error) {
        switch (c) {
        case 'd':
                return emits(x, "0-9");
        case 'w':
                return emits(x, "[:alnum:]_");
        case 's':
                return emits(x, "[:space:]");
        case 'n':
                return emits(x, "\n");
        case 't':
                return emits(x, "\t");
        case 'D': case 'W': case 'S': case ']': case '-': case '^': case '[':
                return fail(ret_error, "'\\%c' inside [...] is not supported: write a ']' first and a '-' last "
                            "in the brackets, and use [^...] for negated classes", c);
        default:
                return emit(x, &c, 1);
        }
}

static int translate_escape(Regex *x, char c, char **ret_error) {
        switch (c) {
        case 'd':
                return emits(x, "[0-9]");
        case 'D':
                return emits(x, "[^0-9]");
        case 'w':
                return emits(x, "[[:alnum:]_]");
        case 'W':
                return emits(x, "[^[:alnum:]_]");
        case 's':
                return emits(x, "[[:space:]]");
        case 'S':
                return emits(x, "[^[:space:]]");
        case 'n':
                return emits(x, "\n");
        case 't':
                return emits(x, "\t");
        case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
                return fail(ret_error, "backreferences (\\%c) are not supported", c);
        default:
                return emit(x, (char[]) { '\\', c }, 2);
        }
}

static int regex_translate(Regex *x, const char *pattern, char **ret_error) {
        bool in_bracket = false;
        int r = 0;

        for (const char *p = pattern; *p && r >= 0; p++) {
                if (in_bracket) {
                        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                                const char *close = strstr(p + 2, (char[]) { p[1], ']', '\0' });

                                if (!close)
                                        return fail(ret_error, "an unclosed '[%c' in brackets", p[1]);
                                r = emit(x, p, (size_t) (close + 2 - p));
                                p = close + 1;
                        } else if (*p == '\\' && p[1]) {
                                r = translate_bracket_escape(x, p[1], ret_error);
                                p++;
                        } else {
                                if (*p == ']')
                                        in_bracket = false;
                                r = emit(x, p, 1);
                        }
                } else if (*p == '\\' && p[1]) {
                        r = translate_escape(x, p[1], ret_error);
                        p++;
                } else if (*p == '[') {
                        /* A ']' right after "[" or "[^" is a member, not the end. */
                        size_t n = 1;

                        if (p[n] == '^')
                                n++;
                        if (p[n] == ']')
                                n++;
                        r = emit(x, p, n);
                        p += n - 1;
                        in_bracket = true;
                } else if (*p == '(') {
                        r = translate_group(x, pattern, p, ret_error);
                        if (r > 0) {
                                p += r - 1;
                                r = 0;
                        }
                } else
                        r = emit(x, p, 1);
        }
        if (r >= 0 && !x->pattern)
                r = emits(x, "");
        return r;
}

/* The value re.findall() gives for one match. */
static json_t *findall_value(const Regex *x, const char *text, const regmatch_t *m) {
        _cleanup_json_ json_t *groups = json_array();
        json_t *single = NULL;
        size_t visible = 0;

        if (!groups)
                return NULL;
        for (size_t i = 0; i < x->n_groups; i++) {
                const regmatch_t *g = &m[i + 1];

                if (!x->groups[i].visible)
                        continue;
                visible++;
                /* findall gives "" for a group that took no part. */
                single = g->rm_so < 0 ? json_string("") : json_text(text + g->rm_so, (size_t) (g->rm_eo - g->rm_so));
                if (json_array_append_new(groups, single) < 0)
                        return NULL;
        }
        if (visible == 0)
                return json_text(text + m[0].rm_so, (size_t) (m[0].rm_eo - m[0].rm_so));
        if (visible == 1)
                return json_incref(json_array_get(groups, 0));
        return TAKE_PTR(groups);
}

static int describe_first(const Regex *x, const char *text, const regmatch_t *m, json_t *result) {
        json_t *groups = json_object_get(result, "groups"), *named = json_object_get(result, "named");

        if (json_object_set_new(result, "match", json_text(text + m[0].rm_so, (size_t) (m[0].rm_eo - m[0].rm_so))) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < x->n_groups; i++) {
                const regmatch_t *g = &m[i + 1];
                json_t *v;

                if (!x->groups[i].visible)
                        continue;
                v = g->rm_so < 0 ? json_null() : json_text(text + g->rm_so, (size_t) (g->rm_eo - g->rm_so));
                if (!v || json_array_append(groups, v) < 0 ||
                    (x->groups[i].name && json_object_set(named, x->groups[i].name, v) < 0)) {
                        json_decref(v);
                        return -ENOMEM;
                }
                json_decref(v);
        }
        return 0;
}

static int regex_collect(const Regex *x, const regex_t *re, const char *text, json_t *result, char **ret_error) {
        _cleanup_free_ regmatch_t *m = calloc(x->n_groups + 1, sizeof(regmatch_t));
        json_t *matches = json_object_get(result, "matches");
        size_t len = strnlen(text, OUTPUT_PARSE_TEXT_MAX), off = 0;

        if (!m)
                return -ENOMEM;
        while (off <= len && json_array_size(matches) < OUTPUT_PARSE_ITEMS_MAX) {
                int r;

                m[0].rm_so = (regoff_t) off;
                m[0].rm_eo = (regoff_t) len;
                r = regexec(re, text, x->n_groups + 1, m, REG_STARTEND);
                if (r == REG_NOMATCH)
                        break;
                if (r != 0)
                        return fail(ret_error, "the pattern could not be matched");
                if (json_array_size(matches) == 0 && describe_first(x, text, m, result) < 0)
                        return -ENOMEM;
                if (json_array_append_new(matches, findall_value(x, text, m)) < 0)
                        return -ENOMEM;
                off = (size_t) m[0].rm_eo;
                if (m[0].rm_eo == m[0].rm_so) {
                        /* An empty match: go on after the character it sits before. */
                        off++;
                        while (off < len && ((unsigned char) text[off] & 0xC0) == 0x80)
                                off++;
                }
        }
        return 0;
}

int output_parse_regex(const char *pattern, const char *text, json_t **ret, char **ret_error) {
        _cleanup_(regex_done) Regex x = {};
        _cleanup_json_ json_t *result = NULL;
        regex_t re;
        int r;

        if (!pattern || pattern[0] == '\0')
                return fail(ret_error, "the regex parser needs a pattern");
        if (strlen(pattern) > REGEX_PATTERN_MAX)
                return fail(ret_error, "the pattern is longer than %d characters", REGEX_PATTERN_MAX);
        if (!regex_repetitions_reasonable(pattern))
                return fail(ret_error, "the pattern's repetition counts are too large");

        r = regex_translate(&x, pattern, ret_error);
        if (r < 0)
                return r;
        r = regcomp(&re, x.pattern, REG_EXTENDED | REG_NEWLINE | (x.icase ? REG_ICASE : 0));
        if (r != 0) {
                char message[256];

                regerror(r, &re, message, sizeof message);
                return fail(ret_error, "invalid regular expression '%s': %s", pattern, message);
        }

        result = json_pack("{s:n, s:[], s:{}, s:[]}", "match", "groups", "named", "matches");
        if (!result) {
                regfree(&re);
                return -ENOMEM;
        }
        r = regex_collect(&x, &re, text ?: "", result, ret_error);
        regfree(&re);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(result);
        return 0;
}

int output_parse(const char *parser_type, const char *pattern, const char *text, json_t **ret, char **ret_error) {
        json_t *v;

        if (!parser_type || streq(parser_type, "json")) {
                v = output_parse_json(text);
                if (!v)
                        return -ENODATA;
        } else if (streq(parser_type, "list")) {
                v = output_parse_list(text);
                if (!v)
                        return -ENOMEM;
        } else if (streq(parser_type, "regex"))
                return output_parse_regex(pattern, text, ret, ret_error);
        else
                return fail(ret_error, "unknown parser_type '%s': json, regex or list", parser_type);
        *ret = v;
        return 0;
}

/* --- choosing one of several names ------------------------------------------------------ */

/* s[0..*n) without what models wrap a single word in. */
static const char *choice_strip(const char *s, size_t *n) {
        static const char *const labels[] = { "category:", "route:", "answer:", "choice:", "label:" };
        bool changed = true;

        while (changed) {
                changed = false;
                while (*n > 0 && (is_space(*s) || strchr("\"'`*_[(<", *s)))
                        s++, (*n)--, changed = true;
                while (*n > 0 && (is_space(s[*n - 1]) || strchr("\"'`*_])>.!;:,", s[*n - 1])))
                        (*n)--, changed = true;
                for (size_t i = 0; i < ELEMENTSOF(labels); i++) {
                        size_t l = strlen(labels[i]);

                        if (*n > l && strncasecmp(s, labels[i], l) == 0) {
                                s += l;
                                *n -= l;
                                changed = true;
                        }
                }
        }
        return s;
}

static ssize_t choice_exact(const char *s, size_t n, const char *const *names, size_t n_names) {
        s = choice_strip(s, &n);
        for (size_t i = 0; i < n_names; i++)
                if (names[i] && strlen(names[i]) == n && n > 0 && strncasecmp(s, names[i], n) == 0)
                        return (ssize_t) i;
        return -1;
}

static ssize_t choice_from_json(const char *answer, const char *const *names, size_t n_names) {
        static const char *const keys[] = { "category", "route", "choice", "label", "answer", "name" };
        _cleanup_json_ json_t *v = output_parse_json(answer);
        json_t *item;

        if (json_is_array(v) && json_array_size(v) == 1) {
                item = json_array_get(v, 0);
                if (json_is_string(item))
                        return choice_exact(json_string_value(item), json_string_length(item), names, n_names);
        }
        if (!json_is_object(v))
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                item = json_object_get(v, keys[i]);
                if (json_is_string(item))
                        return choice_exact(json_string_value(item), json_string_length(item), names, n_names);
        }
        return -1;
}

/* The first whole-word mention of a name in the answer. */
static ssize_t choice_search(const char *s, size_t n, const char *const *names, size_t n_names) {
        ssize_t best = -1;
        size_t best_at = SIZE_MAX, best_len = 0;

        for (size_t i = 0; i < n_names; i++) {
                size_t l = names[i] ? strlen(names[i]) : 0;

                if (l == 0 || l > n)
                        continue;
                for (size_t at = 0; at + l <= n && at <= best_at; at++) {
                        if (strncasecmp(s + at, names[i], l) != 0)
                                continue;
                        if (is_word(names[i][0]) && at > 0 && is_word(s[at - 1]))
                                continue;
                        if (is_word(names[i][l - 1]) && at + l < n && is_word(s[at + l]))
                                continue;
                        if (at < best_at || l > best_len) {
                                best = (ssize_t) i;
                                best_at = at;
                                best_len = l;
                        }
                        break;
                }
        }
        return best;
}

ssize_t output_match_choice(const char *answer, const char *const *names, size_t n) {
        size_t len;
        ssize_t i;

        if (!answer || n == 0)
                return -1;
        len = strnlen(answer, CHOICE_SCAN_MAX);
        i = choice_from_json(answer, names, n);
        if (i < 0)
                i = choice_exact(answer, len, names, n);
        if (i < 0)
                i = choice_search(answer, len, names, n);
        return i;
}
