/* The template lexer: splits text into literal text and the tokens inside {{ }} and {% %}
 * tags, drops {# comments #}, applies whitespace control ({%- -%}) and unpacks
 * {% raw %} blocks. Every token remembers its line and column and the tag around it. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/template-internal.h"

typedef struct Lexer {
        const char *source;
        size_t p;                  /* offset of the next byte */
        unsigned line, column;
        TokenList *tokens;
        TemplateError *error;
        bool strip_next;           /* the last tag ended with '-': trim the next text */
} Lexer;

static const char *const operator_table[_OP_MAX] = {
        [OP_ADD] = "+",
        [OP_SUB] = "-",
        [OP_MUL] = "*",
        [OP_DIV] = "/",
        [OP_FLOORDIV] = "//",
        [OP_MOD] = "%",
        [OP_POW] = "**",
        [OP_TILDE] = "~",
        [OP_EQ] = "==",
        [OP_NE] = "!=",
        [OP_LT] = "<",
        [OP_GT] = ">",
        [OP_LE] = "<=",
        [OP_GE] = ">=",
        [OP_DOT] = ".",
        [OP_COMMA] = ",",
        [OP_COLON] = ":",
        [OP_PIPE] = "|",
        [OP_ASSIGN] = "=",
        [OP_LPAREN] = "(",
        [OP_RPAREN] = ")",
        [OP_LBRACKET] = "[",
        [OP_RBRACKET] = "]",
        [OP_LBRACE] = "{",
        [OP_RBRACE] = "}",
        [OP_IN] = "in",
        [OP_NOT_IN] = "not in",
        [OP_NOT] = "not",
        [OP_AND] = "and",
        [OP_OR] = "or",
};

const char *operator_to_string(Operator op) {
        if (op < 0 || op >= _OP_MAX)
                return NULL;
        return operator_table[op];
}

void token_list_done(TokenList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                if (l->tokens[i].type == TOKEN_STRING)
                        free(l->tokens[i].string);
        free(l->tokens);
        *l = (TokenList) {};
}

static bool is_space(char c) {
        return IN_SET(c, ' ', '\t', '\n', '\r', '\v', '\f');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_name_start(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c) {
        return is_name_start(c) || is_digit(c);
}

static void advance(Lexer *L, size_t n) {
        for (; n > 0 && L->source[L->p]; n--, L->p++) {
                unsigned char c = L->source[L->p];

                if (c == '\n') {
                        L->line++;
                        L->column = 1;
                } else if ((c & 0xC0) != 0x80)
                        L->column++;
        }
}

static Position here(const Lexer *L, size_t tag_start) {
        return (Position) {
                .tag_start = tag_start,
                .tag_end = SIZE_MAX,
                .line = L->line,
                .column = L->column,
        };
}

/* Where the tag that starts at tag_start probably ends, for quoting it in an error raised
 * before its end was reached. */
static size_t guess_tag_end(const char *source, size_t tag_start) {
        const char *close = source[tag_start + 1] == '{' ? "}}" : source[tag_start + 1] == '%' ? "%}" : "#}";
        const char *e = strstr(source + tag_start + 2, close);

        return e ? (size_t) (e - source) + 2 : strlen(source);
}

_printf_(3, 4)
static int lex_error(Lexer *L, const Position *pos, const char *fmt, ...) {
        Position p = *pos;
        va_list ap;
        int r;

        if (p.tag_end == SIZE_MAX)
                p.tag_end = guess_tag_end(L->source, p.tag_start);
        va_start(ap, fmt);
        r = template_error_setv(L->error, L->source, &p, -EINVAL, fmt, ap);
        va_end(ap);
        return r;
}

static int emit(Lexer *L, const Token *t) {
        TokenList *l = L->tokens;

        if (l->n >= l->allocated) {
                size_t a = MAX(l->allocated * 2, (size_t) 64);
                Token *n = reallocarray(l->tokens, a, sizeof(Token));

                if (!n)
                        return -ENOMEM;
                l->tokens = n;
                l->allocated = a;
        }
        l->tokens[l->n++] = *t;
        return 0;
}

/* Text from start to end, which began at line and column of pos. */
static int emit_text(Lexer *L, size_t start, size_t end, const Position *pos) {
        Position p = *pos;

        if (L->strip_next)
                while (start < end && is_space(L->source[start]))
                        start++;
        L->strip_next = false;
        if (start == end)
                return 0;
        p.tag_start = start;
        p.tag_end = start;   /* no tag to quote */
        return emit(L, &(Token) {
                .type = TOKEN_TEXT,
                .offset = start,
                .length = end - start,
                .pos = p,
        });
}

/* "{%-" trims the whitespace before the tag, if the tag follows text directly. */
static void strip_last_text(Lexer *L) {
        Token *t;

        if (L->tokens->n == 0)
                return;
        t = &L->tokens->tokens[L->tokens->n - 1];
        if (t->type != TOKEN_TEXT)
                return;
        while (t->length > 0 && is_space(L->source[t->offset + t->length - 1]))
                t->length--;
        if (t->length == 0)
                L->tokens->n--;
}

static bool utf8_valid(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                size_t len;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        len = 2;
                        cp = c & 0x1F;
                } else if ((c & 0xF0) == 0xE0) {
                        len = 3;
                        cp = c & 0x0F;
                } else if ((c & 0xF8) == 0xF0) {
                        len = 4;
                        cp = c & 0x07;
                } else
                        return false;
                if (n - i < len)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if (((unsigned char) s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | ((unsigned char) s[i + k] & 0x3F);
                }
                if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += len;
        }
        return true;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int append_code_point(Buffer *b, uint32_t cp) {
        char s[4];
        size_t n;

        if (cp < 0x80) {
                s[0] = cp;
                n = 1;
        } else if (cp < 0x800) {
                s[0] = 0xC0 | (cp >> 6);
                s[1] = 0x80 | (cp & 0x3F);
                n = 2;
        } else if (cp < 0x10000) {
                s[0] = 0xE0 | (cp >> 12);
                s[1] = 0x80 | ((cp >> 6) & 0x3F);
                s[2] = 0x80 | (cp & 0x3F);
                n = 3;
        } else {
                s[0] = 0xF0 | (cp >> 18);
                s[1] = 0x80 | ((cp >> 12) & 0x3F);
                s[2] = 0x80 | ((cp >> 6) & 0x3F);
                s[3] = 0x80 | (cp & 0x3F);
                n = 4;
        }
        return buffer_append(b, s, n);
}

/* Decodes one backslash escape at s (just after the backslash) the way Python does;
 * *ret_n gets how many bytes it used. Unknown escapes keep their backslash. */
static int lex_escape(Lexer *L, const Position *pos, const char *s, Buffer *b, size_t *ret_n) {
        static const char simple[][2] = {
                { 'n', '\n' }, { 't', '\t' }, { 'r', '\r' }, { 'b', '\b' }, { 'f', '\f' },
                { 'v', '\v' }, { 'a', '\a' }, { '\\', '\\' }, { '\'', '\'' }, { '"', '"' },
        };
        unsigned digits;
        uint32_t cp = 0;

        for (size_t i = 0; i < ELEMENTSOF(simple); i++)
                if (s[0] == simple[i][0]) {
                        *ret_n = 1;
                        return buffer_append(b, &simple[i][1], 1);
                }

        switch (s[0]) {
        case '\n':      /* a backslash at the end of a line joins the lines */
                *ret_n = 1;
                return 0;
        case 'x':
                digits = 2;
                break;
        case 'u':
                digits = 4;
                break;
        case 'U':
                digits = 8;
                break;
        default:
                *ret_n = 0;
                return buffer_append(b, "\\", 1);
        }

        for (unsigned i = 1; i <= digits; i++) {
                int v = hex_value(s[i]);

                if (v < 0)
                        return lex_error(L, pos, "truncated \\%c escape in string", s[0]);
                cp = (cp << 4) | v;
        }
        if (cp == 0)
                return lex_error(L, pos, "NUL characters are not allowed in strings");
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return lex_error(L, pos, "\\%c escape is not a valid character", s[0]);
        *ret_n = 1 + digits;
        return append_code_point(b, cp);
}

static int lex_string(Lexer *L, size_t tag_start) {
        Position pos = here(L, tag_start);
        char quote = L->source[L->p];
        size_t offset = L->p;
        _cleanup_(buffer_done) Buffer b = { .limit = SIZE_MAX };
        int r;

        advance(L, 1);
        for (;;) {
                char c = L->source[L->p];

                if (c == '\0')
                        return lex_error(L, &pos, "unterminated string");
                if (c == quote) {
                        advance(L, 1);
                        break;
                }
                if (c == '\\') {
                        size_t n = 0;

                        advance(L, 1);
                        r = lex_escape(L, &pos, L->source + L->p, &b, &n);
                        if (r < 0)
                                return r;
                        advance(L, n);
                        continue;
                }
                r = buffer_append(&b, &c, 1);
                if (r < 0)
                        return r;
                advance(L, 1);
        }

        if (!utf8_valid(b.data, b.length))
                return lex_error(L, &pos, "string is not valid UTF-8");
        r = buffer_append(&b, "", 1);   /* the terminating NUL, and a buffer when empty */
        if (r < 0)
                return r;

        r = emit(L, &(Token) {
                .type = TOKEN_STRING,
                .offset = offset,
                .length = L->p - offset,
                .pos = pos,
                .string = b.data,
        });
        if (r < 0)
                return r;
        b.data = NULL;
        return 0;
}

/* Integers and floats; after a dot only digits, so that a.0.1 is a[0][1]. */
static int lex_number(Lexer *L, size_t tag_start, bool after_dot) {
        const char *s = L->source + L->p;
        Position pos = here(L, tag_start);
        _cleanup_free_ char *digits = NULL;
        bool is_float = false;
        size_t n = 0, k = 0;
        char *end;
        Token t = {
                .offset = L->p,
                .pos = pos,
        };

        while (is_digit(s[n]) || (s[n] == '_' && is_digit(s[n + 1]) && n > 0))
                n++;
        if (!after_dot && s[n] == '.' && is_digit(s[n + 1])) {
                is_float = true;
                for (n++; is_digit(s[n]) || (s[n] == '_' && is_digit(s[n + 1])); n++)
                        ;
        }
        if (!after_dot && IN_SET(s[n], 'e', 'E') &&
            (is_digit(s[n + 1]) || (IN_SET(s[n + 1], '+', '-') && is_digit(s[n + 2])))) {
                is_float = true;
                for (n += 2; is_digit(s[n]) || (s[n] == '_' && is_digit(s[n + 1])); n++)
                        ;
        }

        digits = malloc(n + 1);
        if (!digits)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (s[i] != '_')
                        digits[k++] = s[i];
        digits[k] = '\0';

        errno = 0;
        if (is_float) {
                t.type = TOKEN_FLOAT;
                t.real = strtod(digits, &end);
                if (errno == ERANGE && (t.real > 1 || t.real < -1))
                        return lex_error(L, &pos, "number %s is too large", digits);
        } else {
                t.type = TOKEN_INTEGER;
                t.integer = strtoll(digits, &end, 10);
                if (errno == ERANGE)
                        return lex_error(L, &pos, "integer %s is too large", digits);
        }
        if (*end != '\0')
                return lex_error(L, &pos, "invalid number %s", digits);

        t.length = n;
        advance(L, n);
        return emit(L, &t);
}

static bool lex_operator(const char *s, Operator *ret_op, size_t *ret_n) {
        /* two-character operators first, so that "**" is not read as two "*" */
        static const Operator order[] = {
                OP_FLOORDIV, OP_POW, OP_EQ, OP_NE, OP_LE, OP_GE,
                OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_TILDE, OP_LT, OP_GT,
                OP_DOT, OP_COMMA, OP_COLON, OP_PIPE, OP_ASSIGN,
                OP_LPAREN, OP_RPAREN, OP_LBRACKET, OP_RBRACKET, OP_LBRACE, OP_RBRACE,
        };

        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                const char *o = operator_table[order[i]];
                size_t n = strlen(o);

                if (strncmp(s, o, n) == 0) {
                        *ret_op = order[i];
                        *ret_n = n;
                        return true;
                }
        }
        return false;
}

static const char *closing_bracket(char open) {
        return open == '(' ? ")" : open == '[' ? "]" : "}";
}

/* Lexes the inside of a {{ }} or {% %} tag, whose opening delimiter starts at tag_start
 * and has been consumed, up to its closing delimiter. Inside brackets "}}" closes
 * brackets, not the tag, so that {{ {'a': {'b': 1}} }} works. */
static int lex_tag(Lexer *L, TokenType begin, size_t tag_start, const Position *begin_pos) {
        const char close = begin == TOKEN_VARIABLE_BEGIN ? '}' : '%';
        const char *closer = begin == TOKEN_VARIABLE_BEGIN ? "}}" : "%}";
        char brackets[TEMPLATE_NESTING_MAX];   /* the brackets open at this point */
        size_t n_brackets = 0, first = L->tokens->n;
        bool strip_after = false;
        int r;

        r = emit(L, &(Token) {
                .type = begin,
                .offset = tag_start,
                .length = L->p - tag_start,
                .pos = *begin_pos,
        });
        if (r < 0)
                return r;

        for (;;) {
                const char *s;
                Position pos;
                Operator op;
                size_t n;

                while (is_space(L->source[L->p]))
                        advance(L, 1);
                s = L->source + L->p;
                pos = here(L, tag_start);

                if (*s == '\0') {
                        if (n_brackets > 0)
                                return lex_error(L, begin_pos, "missing '%s' and '%s'",
                                                 closing_bracket(brackets[n_brackets - 1]), closer);
                        return lex_error(L, begin_pos, "missing '%s'", closer);
                }

                if (n_brackets == 0 && (s[0] == '-' || s[0] == '+') && s[1] == close && s[2] == '}') {
                        strip_after = s[0] == '-';
                        n = 3;
                } else if (n_brackets == 0 && s[0] == close && s[1] == '}')
                        n = 2;
                else
                        n = 0;
                if (n > 0) {
                        r = emit(L, &(Token) {
                                .type = begin == TOKEN_VARIABLE_BEGIN ? TOKEN_VARIABLE_END : TOKEN_BLOCK_END,
                                .offset = L->p,
                                .length = n,
                                .pos = pos,
                        });
                        if (r < 0)
                                return r;
                        advance(L, n);
                        break;
                }

                if (is_name_start(*s)) {
                        for (n = 1; is_name_char(s[n]); n++)
                                ;
                        r = emit(L, &(Token) {
                                .type = TOKEN_NAME,
                                .offset = L->p,
                                .length = n,
                                .pos = pos,
                        });
                        advance(L, n);
                } else if (is_digit(*s)) {
                        const Token *last = &L->tokens->tokens[L->tokens->n - 1];

                        r = lex_number(L, tag_start, last->type == TOKEN_OPERATOR && last->op == OP_DOT);
                } else if (*s == '\'' || *s == '"')
                        r = lex_string(L, tag_start);
                else if (lex_operator(s, &op, &n)) {
                        if (IN_SET(op, OP_LPAREN, OP_LBRACKET, OP_LBRACE)) {
                                if (n_brackets >= ELEMENTSOF(brackets))
                                        return lex_error(L, &pos, "brackets nested more than %d deep",
                                                         TEMPLATE_NESTING_MAX);
                                brackets[n_brackets++] = *s;
                        } else if (IN_SET(op, OP_RPAREN, OP_RBRACKET, OP_RBRACE)) {
                                if (n_brackets == 0)
                                        return lex_error(L, &pos, "unexpected '%c'", *s);
                                if (*s != closing_bracket(brackets[n_brackets - 1])[0])
                                        return lex_error(L, &pos, "unexpected '%c', expected '%s'", *s,
                                                         closing_bracket(brackets[n_brackets - 1]));
                                n_brackets--;
                        }
                        r = emit(L, &(Token) {
                                .type = TOKEN_OPERATOR,
                                .op = op,
                                .offset = L->p,
                                .length = n,
                                .pos = pos,
                        });
                        advance(L, n);
                } else if ((unsigned char) *s >= 0x20 && (unsigned char) *s < 0x7F)
                        return lex_error(L, &pos, "unexpected character '%c'", *s);
                else
                        return lex_error(L, &pos, "unexpected character 0x%02x", (unsigned char) *s);
                if (r < 0)
                        return r;
        }

        for (size_t i = first; i < L->tokens->n; i++)
                L->tokens->tokens[i].pos.tag_end = L->p;
        L->strip_next = strip_after;
        return 0;
}

static bool token_is_name(const Lexer *L, const Token *t, const char *name) {
        return t->type == TOKEN_NAME && t->length == strlen(name) &&
                strncmp(L->source + t->offset, name, t->length) == 0;
}

/* Matches "{%[-+] endraw [-+]%}" at s; returns its length, or 0. */
static size_t match_endraw(const char *s, bool *ret_strip_before, bool *ret_strip_after) {
        size_t n = 2;

        if (s[0] != '{' || s[1] != '%')
                return 0;
        *ret_strip_before = s[n] == '-';
        if (IN_SET(s[n], '-', '+'))
                n++;
        while (is_space(s[n]))
                n++;
        if (strncmp(s + n, "endraw", 6) != 0)
                return 0;
        n += 6;
        while (is_space(s[n]))
                n++;
        *ret_strip_after = s[n] == '-';
        if (IN_SET(s[n], '-', '+'))
                n++;
        if (s[n] != '%' || s[n + 1] != '}')
                return 0;
        return n + 2;
}

/* After {% raw %}: everything up to {% endraw %} is text. */
static int lex_raw(Lexer *L, const Position *raw_pos) {
        size_t start = L->p, end, n = 0;
        Position pos = here(L, start);
        bool strip_before = false, strip_after = false;
        const char *s;
        int r;

        /* the {% raw %} tag itself is no token */
        L->tokens->n -= 3;

        for (s = strstr(L->source + start, "{%"); s; s = strstr(s + 2, "{%")) {
                n = match_endraw(s, &strip_before, &strip_after);
                if (n > 0)
                        break;
        }
        if (!s)
                return lex_error(L, raw_pos, "missing {%% endraw %%}");

        end = s - L->source;
        if (strip_before)
                while (end > start && is_space(L->source[end - 1]))
                        end--;
        r = emit_text(L, start, end, &pos);
        if (r < 0)
                return r;
        advance(L, (size_t) (s - L->source) + n - L->p);
        L->strip_next = strip_after;
        return 0;
}

static int lex_comment(Lexer *L, const Position *begin_pos) {
        const char *s = L->source + L->p, *e = strstr(s, "#}");

        if (!e)
                return lex_error(L, begin_pos, "missing '#}'");
        L->strip_next = e > s && e[-1] == '-';
        advance(L, e + 2 - s);
        return 0;
}

/* The next "{{", "{%" or "{#" at or after s, or NULL. */
static const char *find_tag(const char *s) {
        for (s = strchr(s, '{'); s; s = strchr(s + 1, '{'))
                if (IN_SET(s[1], '{', '%', '#'))
                        return s;
        return NULL;
}

int template_lex(const char *source, TokenList *ret, TemplateError *error) {
        _cleanup_(token_list_done) TokenList tokens = {};
        Lexer L = {
                .source = source,
                .line = 1,
                .column = 1,
                .tokens = &tokens,
                .error = error,
        };
        int r;

        for (;;) {
                const char *tag = find_tag(source + L.p);
                size_t text_start = L.p, tag_start;
                Position text_pos = here(&L, text_start), begin_pos;
                char kind;

                advance(&L, tag ? (size_t) (tag - source) - L.p : strlen(source + L.p));
                r = emit_text(&L, text_start, L.p, &text_pos);
                if (r < 0)
                        return r;
                if (!tag)
                        break;

                kind = tag[1];
                tag_start = L.p;
                begin_pos = here(&L, tag_start);
                if (tag[2] == '-')
                        strip_last_text(&L);
                advance(&L, IN_SET(tag[2], '-', '+') ? 3 : 2);

                if (kind == '#')
                        r = lex_comment(&L, &begin_pos);
                else if (kind == '{')
                        r = lex_tag(&L, TOKEN_VARIABLE_BEGIN, tag_start, &begin_pos);
                else {
                        size_t first = tokens.n;

                        r = lex_tag(&L, TOKEN_BLOCK_BEGIN, tag_start, &begin_pos);
                        if (r >= 0 && tokens.n == first + 3 && token_is_name(&L, &tokens.tokens[first + 1], "raw"))
                                r = lex_raw(&L, &tokens.tokens[first].pos);
                }
                if (r < 0)
                        return r;
        }

        r = emit(&L, &(Token) {
                .type = TOKEN_EOF,
                .offset = L.p,
                .pos = {
                        .tag_start = L.p,
                        .tag_end = L.p,
                        .line = L.line,
                        .column = L.column,
                },
        });
        if (r < 0)
                return r;

        *ret = tokens;
        tokens = (TokenList) {};
        return 0;
}
