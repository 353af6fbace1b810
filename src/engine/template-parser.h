/* The parser's state and helpers, shared by template-parser.c (expressions),
 * template-blocks.c (statements) and template-nodes.c (the tree). */
#pragma once

#include "engine/template-internal.h"

typedef struct Parser {
        const char *source;
        const Token *tokens;
        size_t n, i;
        unsigned depth;         /* expression recursion */
        unsigned block_depth;   /* open {% if %} and {% for %} blocks */
        TemplateError *error;
} Parser;

/* Nodes */
Node *node_new(NodeType type, const Token *t);
int node_list_append(NodeList *l, Node *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Node *, node_free);

/* Tokens */
const Token *parser_peek(const Parser *P);
const Token *parser_peek_at(const Parser *P, size_t k);
const Token *parser_next(Parser *P);
bool token_is_operator(const Token *t, Operator op);
bool parser_is_name(const Parser *P, const Token *t, const char *name);
/* and, or, not, in, is, if, else: never variable names */
bool parser_is_reserved(const Parser *P, const Token *t);
char *parser_token_name(const Parser *P, const Token *t);

/* Errors: each records the message and returns -EINVAL. */
int parser_error(Parser *P, const Position *pos, const char *fmt, ...) _printf_(3, 4);
int parser_unexpected(Parser *P, const Token *t, const char *expected);
int parser_expect_operator(Parser *P, Operator op, const Token **ret);
int parser_expect_type(Parser *P, TokenType type, const char *what, const Token **ret);

/* a if b else c, and everything below it */
int parse_expression(Parser *P, Node **ret);
/* the same without "if", which after a for loop's items starts its condition */
int parse_or(Parser *P, Node **ret);
