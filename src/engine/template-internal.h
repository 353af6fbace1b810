/* Internals of the template engine, shared by its files:
 *   template-lexer.c      text → tokens
 *   template-parser.c     tokens → expression trees (template-parser.h: the parser's state)
 *   template-blocks.c     tokens → statements ({% if %}, {% for %}, text, output)
 *   template-nodes.c      the tree's nodes
 *   template-eval.c       tree + context → value or output
 *   template-operators.c  arithmetic, comparisons, "in"
 *   template-filters.c    filters on text and numbers, the table of filters
 *   template-functions.c  filters on collections, tests, methods, range()
 *   template-value.c      what values mean: truth, text, JSON, order, UTF-8
 *   template.c            the public functions and error messages */
#pragma once

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/macro.h"
#include "engine/template.h"

/* Whether x equals one of the other arguments. */
#define IN_SET(x, first, ...)                                                           \
        ({                                                                              \
                const __typeof__(x) _in_set_[] = { first, __VA_ARGS__ };               \
                bool _in_set_found_ = false;                                            \
                for (size_t _in_set_i_ = 0; _in_set_i_ < ELEMENTSOF(_in_set_); _in_set_i_++) \
                        if (_in_set_[_in_set_i_] == (x)) {                              \
                                _in_set_found_ = true;                                  \
                                break;                                                  \
                        }                                                               \
                _in_set_found_;                                                         \
        })

/* Whether the string x equals one of the other arguments. */
#define IN_SET_STR(x, ...)                                                              \
        ({                                                                              \
                const char *const _in_set_str_[] = { __VA_ARGS__ };                     \
                bool _in_set_str_found_ = false;                                        \
                for (size_t _in_set_str_i_ = 0; _in_set_str_i_ < ELEMENTSOF(_in_set_str_); _in_set_str_i_++) \
                        if (streq(_in_set_str_[_in_set_str_i_], (x))) {                 \
                                _in_set_str_found_ = true;                              \
                                break;                                                  \
                        }                                                               \
                _in_set_str_found_;                                                     \
        })

/* Parentheses, brackets, unary operators and blocks nest at most this deep; the parser
 * recurses once per level, so hostile input cannot exhaust the stack. */
#define TEMPLATE_NESTING_MAX 64
/* Expression trees are at most this tall, which also bounds chains such as a ~ b ~ c …,
 * since evaluation recurses once per level. */
#define TEMPLATE_HEIGHT_MAX 256
/* Values walked recursively (printed, compared, rendered) nest at most this deep. */
#define TEMPLATE_DATA_DEPTH_MAX 256
/* Lists built by +, * and filters hold at most this many elements. */
#define TEMPLATE_LIST_MAX ((size_t) 100000)
/* Error messages quote at most this many bytes of the failing tag. */
#define TEMPLATE_SNIPPET_MAX 80

/* Where a token or node sits: its own line and column, and the tag around it, which error
 * messages quote. */
typedef struct Position {
        size_t tag_start, tag_end;
        unsigned line, column;
} Position;

/* Formats "<message> in <tag> at line L, column C" into e (when not NULL) and returns r. */
int template_error_setf(TemplateError *e, const char *source, const Position *pos, int r, const char *fmt, ...)
        _printf_(5, 6);
int template_error_setv(TemplateError *e, const char *source, const Position *pos, int r, const char *fmt, va_list ap)
        _printf_(5, 0);

/* ---- lexer ---- */

typedef enum TokenType {
        TOKEN_TEXT,
        TOKEN_VARIABLE_BEGIN,   /* {{ */
        TOKEN_VARIABLE_END,     /* }} */
        TOKEN_BLOCK_BEGIN,      /* {% */
        TOKEN_BLOCK_END,        /* %} */
        TOKEN_NAME,
        TOKEN_INTEGER,
        TOKEN_FLOAT,
        TOKEN_STRING,
        TOKEN_OPERATOR,
        TOKEN_EOF,
} TokenType;

typedef enum Operator {
        OP_ADD,
        OP_SUB,
        OP_MUL,
        OP_DIV,
        OP_FLOORDIV,
        OP_MOD,
        OP_POW,
        OP_TILDE,
        OP_EQ,
        OP_NE,
        OP_LT,
        OP_GT,
        OP_LE,
        OP_GE,
        OP_DOT,
        OP_COMMA,
        OP_COLON,
        OP_PIPE,
        OP_ASSIGN,
        OP_LPAREN,
        OP_RPAREN,
        OP_LBRACKET,
        OP_RBRACKET,
        OP_LBRACE,
        OP_RBRACE,
        /* written as words, never produced by the lexer */
        OP_IN,
        OP_NOT_IN,
        OP_NOT,
        OP_AND,
        OP_OR,
        _OP_MAX,
} Operator;

const char *operator_to_string(Operator op);

typedef struct Token {
        TokenType type;
        Operator op;               /* TOKEN_OPERATOR */
        size_t offset, length;     /* the token's text in the source; TEXT: what remains after
                                    * whitespace control */
        Position pos;
        union {
                int64_t integer;   /* TOKEN_INTEGER */
                double real;       /* TOKEN_FLOAT */
                char *string;      /* TOKEN_STRING: decoded, valid UTF-8, no NUL */
        };
} Token;

typedef struct TokenList {
        Token *tokens;
        size_t n, allocated;
} TokenList;

/* Splits source into tokens, ending with TOKEN_EOF. */
int template_lex(const char *source, TokenList *ret, TemplateError *error);
void token_list_done(TokenList *l);

/* ---- parser ---- */

typedef struct Node Node;

typedef struct NodeList {
        Node **items;
        size_t n;
} NodeList;

typedef enum NodeType {
        /* expressions */
        NODE_LITERAL,
        NODE_NAME,
        NODE_ATTRIBUTE,      /* a.b */
        NODE_ITEM,           /* a[i], a.0 */
        NODE_SLICE,          /* a[i:j:k] */
        NODE_LIST,
        NODE_DICT,           /* keys and values alternate in list */
        NODE_UNARY,          /* -a, +a, not a */
        NODE_BINARY,         /* arithmetic and ~ */
        NODE_LOGICAL,        /* and, or */
        NODE_COMPARE,        /* a < b <= c … */
        NODE_CONDITIONAL,    /* a if b else c */
        NODE_FILTER,         /* a | f(args) */
        NODE_TEST,           /* a is [not] t(args) */
        NODE_CALL,           /* a.method(args), range(args) */
        /* statements */
        NODE_TEXT,
        NODE_OUTPUT,
        NODE_IF,
        NODE_FOR,
} NodeType;

typedef struct FilterSpec FilterSpec;
typedef struct TestSpec TestSpec;

struct Node {
        NodeType type;
        Position pos;              /* the token that names the node (name, operator, filter…) */
        size_t start, end;         /* expressions: the source text they were parsed from */
        unsigned height;
        char *keyword;             /* a call argument given as keyword=value */
        union {
                json_t *literal;
                char *name;
                struct {
                        Node *object;
                        char *name;
                } attribute;
                struct {
                        Node *object, *index;
                } item;
                struct {
                        Node *object, *start, *stop, *step;   /* bounds may be NULL */
                } slice;
                NodeList list;
                struct {
                        Operator op;
                        Node *operand;
                } unary;
                struct {
                        Operator op;
                        Node *left, *right;
                } binary;
                struct {
                        Node *first;
                        Operator *ops;
                        NodeList operands;   /* first ops[0] operands[0] ops[1] operands[1] … */
                } compare;
                struct {
                        Node *then, *condition, *otherwise;   /* otherwise may be NULL */
                } conditional;
                struct {
                        Node *subject;
                        NodeList args;
                        const FilterSpec *spec;
                } filter;
                struct {
                        Node *subject;
                        NodeList args;
                        const TestSpec *spec;
                        bool negated;
                } test;
                struct {
                        Node *callee;          /* NODE_ATTRIBUTE (a method) or NODE_NAME */
                        NodeList args;
                } call;
                struct {
                        size_t offset, length;
                } text;
                Node *output;
                struct {
                        NodeList conditions;   /* if, elif, elif … */
                        NodeList *bodies;      /* one per condition */
                        NodeList otherwise;
                } if_;
                struct {
                        char *targets[2];      /* the second is NULL unless "for k, v in" */
                        Node *iterable;
                        Node *condition;       /* "for x in items if condition", or NULL */
                        NodeList body, otherwise;
                } for_;
        };
};

Node *node_free(Node *n);
void node_list_done(NodeList *l);

/* Parses source into the list of its top-level statements. */
int template_parse(const char *source, NodeList *ret, TemplateError *error);

/* ---- evaluation ---- */

typedef struct Budget {
        TemplateLimits limits;
        size_t output;       /* bytes rendered so far */
        size_t iterations;   /* loop iterations so far */
} Budget;

/* A growing string that refuses to grow past limit bytes (-E2BIG). */
typedef struct Buffer {
        char *data;
        size_t length, allocated, limit;
} Buffer;

int buffer_append(Buffer *b, const char *s, size_t n);
static inline int buffer_append_string(Buffer *b, const char *s) {
        return buffer_append(b, s, strlen(s));
}
void buffer_done(Buffer *b);

typedef struct Scope Scope;

typedef struct Render {
        const char *source;
        json_t *context;
        Budget *budget;
        Scope *scope;
        Buffer out;
        /* Why the last value came out undefined, kept until someone needs it as an error. */
        char *undefined;
        Position undefined_pos;
        TemplateError *error;
} Render;

void render_done(Render *R);

/* Records an error at pos and returns r. */
int render_error(Render *R, const Position *pos, int r, const char *fmt, ...) _printf_(4, 5);
/* Marks the value being computed as undefined; returns 0 with *ret = NULL. */
int render_undefined(Render *R, const Position *pos, json_t **ret, const char *fmt, ...) _printf_(4, 5);

/* Evaluates n: returns 0 with a new reference in *ret, or with *ret = NULL if the value is
 * undefined (the reason is in R->undefined); or a negative errno. */
int eval_maybe_undefined(Render *R, const Node *n, json_t **ret);
/* Evaluates n, turning an undefined value into an error. */
int eval(Render *R, const Node *n, json_t **ret);
/* Renders the statements into R->out. */
int render_body(Render *R, const NodeList *body);

/* The source text of an expression, shortened for messages; free it. */
char *node_text(const Render *R, const Node *n);

/* ---- filters, tests, methods, functions ---- */

#define FILTER_PARAMS_MAX 4

typedef int (*FilterFunction)(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
typedef int (*TestFunction)(Render *R, const Node *n, json_t *subject, json_t **args);

struct FilterSpec {
        const char *name;
        const char *params[FILTER_PARAMS_MAX];  /* names in order, NULL-terminated if fewer */
        unsigned n_required;
        bool accepts_undefined;                 /* the subject may be undefined (NULL) */
        FilterFunction function;
};

struct TestSpec {
        const char *name;
        const char *params[FILTER_PARAMS_MAX];
        unsigned n_required;
        bool accepts_undefined;
        TestFunction function;                  /* returns 1 or 0, or a negative errno */
};

const FilterSpec *filter_find(const char *name);
const TestSpec *test_find(const char *name);

/* Evaluates n's arguments into args[FILTER_PARAMS_MAX] (NULL where not given), matching
 * them to params by position or keyword. */
int eval_arguments(
                Render *R,
                const Node *n,
                const char *what,
                const char *const *params,
                unsigned n_required,
                const NodeList *args,
                json_t **ret_args);
void arguments_done(json_t **args);

/* Python's arithmetic, + on strings and lists, and ~. */
int binary_operation(Render *R, const Node *n, Operator op, json_t *a, json_t *b, json_t **ret);
/* ==, !=, <, >, <=, >=, in, not in: returns 1 or 0, or a negative errno. */
int compare_operation(Render *R, const Node *n, Operator op, json_t *a, json_t *b);
/* The items a for loop visits: a list's items, an object's keys, a string's characters;
 * *ret is a list. */
int value_iterate(Render *R, const Node *n, json_t *v, json_t **ret);
/* The string a template would print for v. */
int value_to_text(Render *R, const Node *n, json_t *v, json_t **ret);
/* Turns a negative errno from value_print()/value_write_json() into an error at n. */
int print_error(Render *R, const Node *n, int r);

int call_method(Render *R, const Node *n, json_t *receiver, const char *name, const NodeList *args, json_t **ret);
int call_function(Render *R, const Node *n, const char *name, const NodeList *args, json_t **ret);
bool function_exists(const char *name);

/* ---- values ---- */

/* "a string", "an integer", "none"…, for messages. */
const char *value_type_name(const json_t *v);
bool value_is_number(const json_t *v);      /* integer or real, not boolean */
double value_number(const json_t *v);
bool value_truth(const json_t *v);

/* Appends v as the template prints it. */
int value_print(Buffer *b, const json_t *v);
/* Appends v as JSON; indent > 0 puts each element on its own line. */
int value_write_json(Buffer *b, const json_t *v, unsigned indent);
/* Shortest text that reads back as v, the way Python's repr() writes floats. */
void format_real(double v, char buf[static 32]);

/* Deep equality in which 1 == 1.0. Returns 1, 0 or -E2BIG (nested too deep). */
int value_equal(const json_t *a, const json_t *b);
/* Orders numbers, strings and lists of those: <0, 0, >0 in *ret; -EINVAL when a and b are
 * not comparable. */
int value_compare(const json_t *a, const json_t *b, bool case_sensitive, int *ret);

/* json_real() that refuses infinities and NaN. */
int real_new(double v, json_t **ret);

size_t utf8_length(const char *s, size_t n);
/* Byte offset of the character with index i (clamped to n). */
size_t utf8_offset(const char *s, size_t n, size_t i);
