/* The template parser: recursive descent over the tokens, with Jinja's precedence:
 *
 *   a if b else c  <  or  <  and  <  not  <  comparisons, in  <  + -  <  ~  <  * / // %
 *   <  **  <  unary - +  <  filters | and tests is  <  .attr [index] (call)
 *
 * Every level of recursion is counted, and every node knows the height of its subtree, so
 * no input can make parsing or evaluation recurse without bound. Unknown filters and tests
 * are errors here, before anything is evaluated. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/template-parser.h"

const Token *parser_peek(const Parser *P) {
        return &P->tokens[P->i];
}

const Token *parser_peek_at(const Parser *P, size_t k) {
        return &P->tokens[MIN(P->i + k, P->n - 1)];
}

const Token *parser_next(Parser *P) {
        const Token *t = &P->tokens[P->i];

        if (t->type != TOKEN_EOF)
                P->i++;
        return t;
}

bool token_is_operator(const Token *t, Operator op) {
        return t->type == TOKEN_OPERATOR && t->op == op;
}

bool parser_is_name(const Parser *P, const Token *t, const char *name) {
        return t->type == TOKEN_NAME && t->length == strlen(name) &&
                strncmp(P->source + t->offset, name, t->length) == 0;
}

char *parser_token_name(const Parser *P, const Token *t) {
        return strndup(P->source + t->offset, t->length);
}

/* How a token appears in messages: 'foo', '}}', a string, the end of the template. */
static const char *describe(const Parser *P, const Token *t, char buf[static 64]) {
        switch (t->type) {
        case TOKEN_EOF:
                return "the end of the template";
        case TOKEN_STRING:
                return "a string";
        case TOKEN_TEXT:
                return "text";
        default:
                snprintf(buf, 64, "'%.*s'", (int) MIN(t->length, (size_t) 40), P->source + t->offset);
                return buf;
        }
}

int parser_error(Parser *P, const Position *pos, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = template_error_setv(P->error, P->source, pos, -EINVAL, fmt, ap);
        va_end(ap);
        return r;
}

int parser_unexpected(Parser *P, const Token *t, const char *expected) {
        char buf[64];

        if (expected)
                return parser_error(P, &t->pos, "expected %s, got %s", expected, describe(P, t, buf));
        return parser_error(P, &t->pos, "unexpected %s", describe(P, t, buf));
}

int parser_expect_operator(Parser *P, Operator op, const Token **ret) {
        const Token *t = parser_peek(P);
        char what[16];

        if (!token_is_operator(t, op)) {
                snprintf(what, sizeof what, "'%s'", operator_to_string(op));
                return parser_unexpected(P, t, what);
        }
        parser_next(P);
        if (ret)
                *ret = t;
        return 0;
}

int parser_expect_type(Parser *P, TokenType type, const char *what, const Token **ret) {
        const Token *t = parser_peek(P);

        if (t->type != type)
                return parser_unexpected(P, t, what);
        parser_next(P);
        if (ret)
                *ret = t;
        return 0;
}

static int enter(Parser *P, const Token *t) {
        if (P->depth >= TEMPLATE_NESTING_MAX)
                return parser_error(P, &t->pos, "expression nested more than %d deep", TEMPLATE_NESTING_MAX);
        P->depth++;
        return 0;
}

/* Records child (which may be NULL) below parent: the parent's text and height grow. */
static int adopt(Parser *P, Node *parent, const Node *child) {
        if (!child)
                return 0;
        parent->start = MIN(parent->start, child->start);
        parent->end = MAX(parent->end, child->end);
        parent->height = MAX(parent->height, child->height + 1);
        if (parent->height > TEMPLATE_HEIGHT_MAX)
                return parser_error(P, &parent->pos, "expression is too complex (more than %d levels)",
                                   TEMPLATE_HEIGHT_MAX);
        return 0;
}

static int adopt_list(Parser *P, Node *parent, const NodeList *l) {
        for (size_t i = 0; i < l->n; i++) {
                int r = adopt(P, parent, l->items[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_unary(Parser *P, bool with_filters, Node **ret);

static int parse_list_items(Parser *P, Operator close, bool pairs, Node *node) {
        const Token *end;
        int r;

        while (!token_is_operator(parser_peek(P), close)) {
                _cleanup_(node_freep) Node *item = NULL;

                r = parse_expression(P, &item);
                if (r < 0)
                        return r;
                r = node_list_append(&node->list, item);
                if (r < 0)
                        return r;
                TAKE_PTR(item);

                if (pairs) {
                        r = parser_expect_operator(P, OP_COLON, NULL);
                        if (r < 0)
                                return r;
                        r = parse_expression(P, &item);
                        if (r < 0)
                                return r;
                        r = node_list_append(&node->list, item);
                        if (r < 0)
                                return r;
                        TAKE_PTR(item);
                }

                if (!token_is_operator(parser_peek(P), OP_COMMA))
                        break;
                parser_next(P);
        }

        r = parser_expect_operator(P, close, &end);
        if (r < 0)
                return r;
        r = adopt_list(P, node, &node->list);
        if (r < 0)
                return r;
        node->end = end->offset + end->length;
        return 0;
}

static int parse_literal(const Token *t, Node **ret) {
        _cleanup_(node_freep) Node *n = node_new(NODE_LITERAL, t);

        if (!n)
                return -ENOMEM;
        switch (t->type) {
        case TOKEN_STRING:
                n->literal = json_string(t->string);
                break;
        case TOKEN_INTEGER:
                n->literal = json_integer(t->integer);
                break;
        case TOKEN_FLOAT:
                n->literal = json_real(t->real);
                break;
        default:
                return -EINVAL;
        }
        if (!n->literal)
                return -ENOMEM;
        *ret = TAKE_PTR(n);
        return 0;
}

bool parser_is_reserved(const Parser *P, const Token *t) {
        static const char *const reserved[] = { "and", "or", "not", "in", "is", "if", "else" };

        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (parser_is_name(P, t, reserved[i]))
                        return true;
        return false;
}

static int parse_primary(Parser *P, Node **ret) {
        const Token *t = parser_peek(P);
        _cleanup_(node_freep) Node *n = NULL;
        int r;

        switch (t->type) {
        case TOKEN_STRING:
        case TOKEN_INTEGER:
        case TOKEN_FLOAT:
                parser_next(P);
                return parse_literal(t, ret);

        case TOKEN_NAME: {
                static const struct {
                        const char *name;
                        json_t *(*make)(void);
                } constants[] = {
                        { "true", json_true }, { "True", json_true },
                        { "false", json_false }, { "False", json_false },
                        { "none", json_null }, { "None", json_null },
                };

                if (parser_is_reserved(P, t))
                        return parser_unexpected(P, t, NULL);
                parser_next(P);
                for (size_t i = 0; i < ELEMENTSOF(constants); i++)
                        if (parser_is_name(P, t, constants[i].name)) {
                                n = node_new(NODE_LITERAL, t);
                                if (!n)
                                        return -ENOMEM;
                                n->literal = constants[i].make();
                                *ret = TAKE_PTR(n);
                                return 0;
                        }
                n = node_new(NODE_NAME, t);
                if (!n)
                        return -ENOMEM;
                n->name = parser_token_name(P, t);
                if (!n->name)
                        return -ENOMEM;
                *ret = TAKE_PTR(n);
                return 0;
        }

        case TOKEN_OPERATOR:
                if (t->op == OP_LPAREN) {
                        parser_next(P);
                        r = parse_expression(P, &n);
                        if (r < 0)
                                return r;
                        if (token_is_operator(parser_peek(P), OP_COMMA))
                                return parser_error(P, &parser_peek(P)->pos, "tuples are not supported, use a list");
                        r = parser_expect_operator(P, OP_RPAREN, NULL);
                        if (r < 0)
                                return r;
                        *ret = TAKE_PTR(n);
                        return 0;
                }
                if (t->op == OP_LBRACKET || t->op == OP_LBRACE) {
                        parser_next(P);
                        n = node_new(t->op == OP_LBRACKET ? NODE_LIST : NODE_DICT, t);
                        if (!n)
                                return -ENOMEM;
                        r = parse_list_items(P, t->op == OP_LBRACKET ? OP_RBRACKET : OP_RBRACE,
                                             t->op == OP_LBRACE, n);
                        if (r < 0)
                                return r;
                        *ret = TAKE_PTR(n);
                        return 0;
                }
                return parser_unexpected(P, t, NULL);

        default:
                return parser_unexpected(P, t, "an expression");
        }
}

/* (args): positional arguments, then keyword=value ones. */
static int parse_arguments(Parser *P, NodeList *args, const Token **ret_end) {
        bool keywords = false;
        int r;

        r = parser_expect_operator(P, OP_LPAREN, NULL);
        if (r < 0)
                return r;

        while (!token_is_operator(parser_peek(P), OP_RPAREN)) {
                _cleanup_(node_freep) Node *arg = NULL;
                _cleanup_free_ char *keyword = NULL;
                const Token *t = parser_peek(P);

                if (t->type == TOKEN_NAME && token_is_operator(parser_peek_at(P, 1), OP_ASSIGN)) {
                        keyword = parser_token_name(P, t);
                        if (!keyword)
                                return -ENOMEM;
                        parser_next(P);
                        parser_next(P);
                        keywords = true;
                } else if (keywords)
                        return parser_error(P, &t->pos, "positional argument after keyword argument");

                r = parse_expression(P, &arg);
                if (r < 0)
                        return r;
                arg->keyword = TAKE_PTR(keyword);
                r = node_list_append(args, arg);
                if (r < 0)
                        return r;
                TAKE_PTR(arg);

                if (!token_is_operator(parser_peek(P), OP_COMMA))
                        break;
                parser_next(P);
        }

        return parser_expect_operator(P, OP_RPAREN, ret_end);
}

/* After '[': an index or a slice. */
static int parse_subscript(Parser *P, const Token *bracket, Node *object, Node **ret) {
        _cleanup_(node_freep) Node *n = NULL, *start = NULL, *stop = NULL, *step = NULL;
        bool slice = false;
        const Token *end;
        int r;

        if (!token_is_operator(parser_peek(P), OP_COLON)) {
                r = parse_expression(P, &start);
                if (r < 0)
                        return r;
        }
        if (token_is_operator(parser_peek(P), OP_COLON)) {
                slice = true;
                parser_next(P);
                if (!token_is_operator(parser_peek(P), OP_RBRACKET) && !token_is_operator(parser_peek(P), OP_COLON)) {
                        r = parse_expression(P, &stop);
                        if (r < 0)
                                return r;
                }
                if (token_is_operator(parser_peek(P), OP_COLON)) {
                        parser_next(P);
                        if (!token_is_operator(parser_peek(P), OP_RBRACKET)) {
                                r = parse_expression(P, &step);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        r = parser_expect_operator(P, OP_RBRACKET, &end);
        if (r < 0)
                return r;

        n = node_new(slice ? NODE_SLICE : NODE_ITEM, bracket);
        if (!n)
                return -ENOMEM;
        if (slice) {
                n->slice.start = TAKE_PTR(start);
                n->slice.stop = TAKE_PTR(stop);
                n->slice.step = TAKE_PTR(step);
                r = adopt(P, n, n->slice.start);
                if (r >= 0)
                        r = adopt(P, n, n->slice.stop);
                if (r >= 0)
                        r = adopt(P, n, n->slice.step);
        } else {
                n->item.index = TAKE_PTR(start);
                r = adopt(P, n, n->item.index);
        }
        if (r < 0) {
                /* the object stays with the caller */
                return r;
        }
        if (slice)
                n->slice.object = object;
        else
                n->item.object = object;
        r = adopt(P, n, object);
        n->end = end->offset + end->length;
        if (r < 0) {
                if (slice)
                        n->slice.object = NULL;
                else
                        n->item.object = NULL;
                return r;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

/* .name, .0, [index], [a:b], (args) */
static int parse_postfix(Parser *P, Node **node) {
        int r;

        for (;;) {
                const Token *t = parser_peek(P), *end;
                _cleanup_(node_freep) Node *n = NULL;

                if (token_is_operator(t, OP_DOT)) {
                        const Token *key;

                        parser_next(P);
                        key = parser_next(P);
                        if (key->type == TOKEN_NAME) {
                                n = node_new(NODE_ATTRIBUTE, key);
                                if (!n)
                                        return -ENOMEM;
                                n->attribute.name = parser_token_name(P, key);
                                if (!n->attribute.name)
                                        return -ENOMEM;
                        } else if (key->type == TOKEN_INTEGER) {
                                n = node_new(NODE_ITEM, key);
                                if (!n)
                                        return -ENOMEM;
                                r = parse_literal(key, &n->item.index);
                                if (r < 0)
                                        return r;
                        } else
                                return parser_unexpected(P, key, "a name after '.'");
                        r = adopt(P, n, *node);
                        if (r < 0)
                                return r;
                        if (n->type == NODE_ATTRIBUTE)
                                n->attribute.object = *node;
                        else
                                n->item.object = *node;
                        *node = TAKE_PTR(n);

                } else if (token_is_operator(t, OP_LBRACKET)) {
                        parser_next(P);
                        r = parse_subscript(P, t, *node, &n);
                        if (r < 0)
                                return r;
                        *node = TAKE_PTR(n);

                } else if (token_is_operator(t, OP_LPAREN)) {
                        Node *callee = *node;

                        if (!(callee->type == NODE_ATTRIBUTE ||
                              (callee->type == NODE_NAME && function_exists(callee->name)))) {
                                if (callee->type == NODE_NAME)
                                        return parser_error(P, &callee->pos, "unknown function '%s'", callee->name);
                                return parser_error(P, &t->pos, "this expression cannot be called");
                        }

                        n = node_new(NODE_CALL, t);
                        if (!n)
                                return -ENOMEM;
                        n->pos = callee->pos;
                        r = parse_arguments(P, &n->call.args, &end);
                        if (r < 0)
                                return r;
                        r = adopt_list(P, n, &n->call.args);
                        if (r >= 0)
                                r = adopt(P, n, callee);
                        if (r < 0)
                                return r;
                        n->end = end->offset + end->length;
                        n->call.callee = callee;
                        *node = TAKE_PTR(n);
                } else
                        return 0;
        }
}

/* | filter(args) and is [not] test(args), applied left to right. */
static int parse_filters(Parser *P, Node **node) {
        int r;

        for (;;) {
                const Token *t = parser_peek(P), *name = NULL, *end = NULL;
                _cleanup_(node_freep) Node *n = NULL;
                _cleanup_free_ char *s = NULL;
                bool negated = false;

                if (token_is_operator(t, OP_PIPE)) {
                        const FilterSpec *spec;

                        parser_next(P);
                        r = parser_expect_type(P, TOKEN_NAME, "a filter name", &name);
                        if (r < 0)
                                return r;
                        s = parser_token_name(P, name);
                        if (!s)
                                return -ENOMEM;
                        spec = filter_find(s);
                        if (!spec)
                                return parser_error(P, &name->pos, "unknown filter '%s'", s);
                        n = node_new(NODE_FILTER, name);
                        if (!n)
                                return -ENOMEM;
                        n->filter.spec = spec;
                        if (token_is_operator(parser_peek(P), OP_LPAREN)) {
                                r = parse_arguments(P, &n->filter.args, &end);
                                if (r < 0)
                                        return r;
                                n->end = end->offset + end->length;
                                r = adopt_list(P, n, &n->filter.args);
                                if (r < 0)
                                        return r;
                        }
                        r = adopt(P, n, *node);
                        if (r < 0)
                                return r;
                        n->filter.subject = *node;

                } else if (parser_is_name(P, t, "is")) {
                        const TestSpec *spec;

                        parser_next(P);
                        if (parser_is_name(P, parser_peek(P), "not")) {
                                parser_next(P);
                                negated = true;
                        }
                        r = parser_expect_type(P, TOKEN_NAME, "a test name", &name);
                        if (r < 0)
                                return r;
                        s = parser_token_name(P, name);
                        if (!s)
                                return -ENOMEM;
                        spec = test_find(s);
                        if (!spec)
                                return parser_error(P, &name->pos, "unknown test '%s'", s);
                        n = node_new(NODE_TEST, name);
                        if (!n)
                                return -ENOMEM;
                        n->test.spec = spec;
                        n->test.negated = negated;
                        if (token_is_operator(parser_peek(P), OP_LPAREN)) {
                                r = parse_arguments(P, &n->test.args, &end);
                                if (r < 0)
                                        return r;
                                n->end = end->offset + end->length;
                                r = adopt_list(P, n, &n->test.args);
                                if (r < 0)
                                        return r;
                        }
                        r = adopt(P, n, *node);
                        if (r < 0)
                                return r;
                        n->test.subject = *node;
                } else
                        return 0;

                *node = TAKE_PTR(n);
        }
}

static int parse_unary(Parser *P, bool with_filters, Node **ret) {
        const Token *t = parser_peek(P);
        _cleanup_(node_freep) Node *node = NULL;
        int r;

        if (token_is_operator(t, OP_SUB) || token_is_operator(t, OP_ADD)) {
                /* "- - - x" recurses */
                r = enter(P, t);
                if (r < 0)
                        return r;
                parser_next(P);
                node = node_new(NODE_UNARY, t);
                if (!node)
                        return -ENOMEM;
                node->unary.op = t->op;
                r = parse_unary(P, false, &node->unary.operand);
                if (r >= 0)
                        r = adopt(P, node, node->unary.operand);
                P->depth--;
        } else {
                r = parse_primary(P, &node);
                if (r >= 0)
                        r = parse_postfix(P, &node);
        }
        if (r >= 0 && with_filters)
                r = parse_filters(P, &node);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(node);
        return 0;
}

typedef int (*ParseFunction)(Parser *P, Node **ret);

/* Returns the binary operator at t if it is one of ops, else _OP_MAX. */
static Operator match_operator(const Token *t, const Operator *ops, size_t n_ops) {
        if (t->type != TOKEN_OPERATOR)
                return _OP_MAX;
        for (size_t i = 0; i < n_ops; i++)
                if (t->op == ops[i])
                        return ops[i];
        return _OP_MAX;
}

/* A left-associative chain of operands joined by any of ops. */
static int parse_binary_chain(Parser *P, NodeType type, const Operator *ops, size_t n_ops, ParseFunction operand, Node **ret) {
        _cleanup_(node_freep) Node *left = NULL;
        int r;

        r = operand(P, &left);
        if (r < 0)
                return r;

        for (;;) {
                const Token *t = parser_peek(P);
                _cleanup_(node_freep) Node *n = NULL;
                Operator op = match_operator(t, ops, n_ops);

                if (op == _OP_MAX) {
                        if (type != NODE_LOGICAL)
                                break;
                        /* and, or are words */
                        if (parser_is_name(P, t, operator_to_string(ops[0])))
                                op = ops[0];
                        else
                                break;
                }
                parser_next(P);
                n = node_new(type, t);
                if (!n)
                        return -ENOMEM;
                n->binary.op = op;
                r = operand(P, &n->binary.right);
                if (r < 0)
                        return r;
                r = adopt(P, n, n->binary.right);
                if (r < 0)
                        return r;
                r = adopt(P, n, left);
                if (r < 0)
                        return r;
                n->binary.left = TAKE_PTR(left);
                left = TAKE_PTR(n);
        }

        *ret = TAKE_PTR(left);
        return 0;
}

static int parse_unary_with_filters(Parser *P, Node **ret) {
        return parse_unary(P, true, ret);
}

static int parse_pow(Parser *P, Node **ret) {
        static const Operator ops[] = { OP_POW };
        return parse_binary_chain(P, NODE_BINARY, ops, ELEMENTSOF(ops), parse_unary_with_filters, ret);
}

static int parse_math2(Parser *P, Node **ret) {
        static const Operator ops[] = { OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD };
        return parse_binary_chain(P, NODE_BINARY, ops, ELEMENTSOF(ops), parse_pow, ret);
}

static int parse_concat(Parser *P, Node **ret) {
        static const Operator ops[] = { OP_TILDE };
        return parse_binary_chain(P, NODE_BINARY, ops, ELEMENTSOF(ops), parse_math2, ret);
}

static int parse_math1(Parser *P, Node **ret) {
        static const Operator ops[] = { OP_ADD, OP_SUB };
        return parse_binary_chain(P, NODE_BINARY, ops, ELEMENTSOF(ops), parse_concat, ret);
}

static int parse_compare(Parser *P, Node **ret) {
        _cleanup_(node_freep) Node *first = NULL, *n = NULL;
        int r;

        r = parse_math1(P, &first);
        if (r < 0)
                return r;

        for (;;) {
                static const Operator comparisons[] = { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE };
                const Token *t = parser_peek(P);
                _cleanup_(node_freep) Node *operand = NULL;
                Operator op = match_operator(t, comparisons, ELEMENTSOF(comparisons));
                Operator *ops;

                if (op != _OP_MAX)
                        parser_next(P);
                else if (parser_is_name(P, t, "in")) {
                        parser_next(P);
                        op = OP_IN;
                } else if (parser_is_name(P, t, "not") && parser_is_name(P, parser_peek_at(P, 1), "in")) {
                        parser_next(P);
                        parser_next(P);
                        op = OP_NOT_IN;
                } else
                        break;

                if (!n) {
                        n = node_new(NODE_COMPARE, t);
                        if (!n)
                                return -ENOMEM;
                }
                r = parse_math1(P, &operand);
                if (r < 0)
                        return r;
                ops = reallocarray(n->compare.ops, n->compare.operands.n + 1, sizeof(Operator));
                if (!ops)
                        return -ENOMEM;
                n->compare.ops = ops;
                ops[n->compare.operands.n] = op;
                r = adopt(P, n, operand);
                if (r < 0)
                        return r;
                r = node_list_append(&n->compare.operands, operand);
                if (r < 0)
                        return r;
                TAKE_PTR(operand);
        }

        if (!n) {
                *ret = TAKE_PTR(first);
                return 0;
        }
        r = adopt(P, n, first);
        if (r < 0)
                return r;
        n->compare.first = TAKE_PTR(first);
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_not(Parser *P, Node **ret) {
        const Token *t = parser_peek(P);
        _cleanup_(node_freep) Node *n = NULL;
        int r;

        if (!parser_is_name(P, t, "not"))
                return parse_compare(P, ret);

        r = enter(P, t);
        if (r < 0)
                return r;
        parser_next(P);
        n = node_new(NODE_UNARY, t);
        if (!n)
                return -ENOMEM;
        n->unary.op = OP_NOT;
        r = parse_not(P, &n->unary.operand);
        if (r < 0)
                return r;
        r = adopt(P, n, n->unary.operand);
        if (r < 0)
                return r;
        P->depth--;
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_and(Parser *P, Node **ret) {
        static const Operator ops[] = { OP_AND };
        return parse_binary_chain(P, NODE_LOGICAL, ops, ELEMENTSOF(ops), parse_not, ret);
}

int parse_or(Parser *P, Node **ret) {
        static const Operator ops[] = { OP_OR };
        return parse_binary_chain(P, NODE_LOGICAL, ops, ELEMENTSOF(ops), parse_and, ret);
}

/* a if b else c: the lowest precedence of all. */
int parse_expression(Parser *P, Node **ret) {
        _cleanup_(node_freep) Node *left = NULL;
        int r;

        r = enter(P, parser_peek(P));
        if (r < 0)
                return r;
        r = parse_or(P, &left);
        if (r < 0)
                return r;

        while (parser_is_name(P, parser_peek(P), "if")) {
                _cleanup_(node_freep) Node *n = node_new(NODE_CONDITIONAL, parser_next(P));

                if (!n)
                        return -ENOMEM;
                r = parse_or(P, &n->conditional.condition);
                if (r < 0)
                        return r;
                if (parser_is_name(P, parser_peek(P), "else")) {
                        parser_next(P);
                        r = parse_expression(P, &n->conditional.otherwise);
                        if (r < 0)
                                return r;
                }
                r = adopt(P, n, n->conditional.condition);
                if (r >= 0)
                        r = adopt(P, n, n->conditional.otherwise);
                if (r >= 0)
                        r = adopt(P, n, left);
                if (r < 0)
                        return r;
                n->conditional.then = TAKE_PTR(left);
                left = TAKE_PTR(n);
        }

        P->depth--;
        *ret = TAKE_PTR(left);
        return 0;
}

