/* The statements of a template: text, {{ output }}, {% if %} and {% for %} blocks, and
 * the whole template, which is one body of statements. */

#include <errno.h>
#include <stdlib.h>

#include "engine/template-parser.h"

static int parse_body(Parser *P, const char *const *ends, const char *block, NodeList *ret, const Token **ret_end);

static int expect_block_end(Parser *P) {
        return parser_expect_type(P, TOKEN_BLOCK_END, "'%}'", NULL);
}

static int enter_block(Parser *P, const Token *t) {
        if (P->block_depth >= TEMPLATE_NESTING_MAX)
                return parser_error(P, &t->pos, "blocks nested more than %d deep", TEMPLATE_NESTING_MAX);
        P->block_depth++;
        return 0;
}

static int missing_end(Parser *P, const Token *begin, const char *end) {
        return parser_error(P, &begin->pos, "missing {%% %s %%}", end);
}

/* {% if c %} … {% elif c %} … {% else %} … {% endif %}; the "if" was consumed. The node
 * sits at the keyword; a missing end points at the whole tag. */
static int parse_if(Parser *P, const Token *begin, const Token *keyword, Node **ret) {
        static const char *const ends[] = { "elif", "else", "endif", NULL };
        static const char *const endif[] = { "endif", NULL };
        _cleanup_(node_freep) Node *n = node_new(NODE_IF, keyword);
        int r;

        if (!n)
                return -ENOMEM;
        r = enter_block(P, begin);
        if (r < 0)
                return r;

        for (;;) {
                _cleanup_(node_freep) Node *condition = NULL;
                const Token *end = NULL;
                NodeList *bodies;

                r = parse_expression(P, &condition);
                if (r < 0)
                        return r;
                r = expect_block_end(P);
                if (r < 0)
                        return r;

                bodies = reallocarray(n->if_.bodies, n->if_.conditions.n + 1, sizeof(NodeList));
                if (!bodies)
                        return -ENOMEM;
                n->if_.bodies = bodies;
                bodies[n->if_.conditions.n] = (NodeList) {};
                r = node_list_append(&n->if_.conditions, condition);
                if (r < 0)
                        return r;
                TAKE_PTR(condition);

                r = parse_body(P, ends, "if", &bodies[n->if_.conditions.n - 1], &end);
                if (r < 0)
                        return r;
                if (!end)
                        return missing_end(P, begin, "endif");
                if (parser_is_name(P, end, "elif"))
                        continue;
                if (parser_is_name(P, end, "else")) {
                        r = expect_block_end(P);
                        if (r < 0)
                                return r;
                        r = parse_body(P, endif, "if", &n->if_.otherwise, &end);
                        if (r < 0)
                                return r;
                        if (!end)
                                return missing_end(P, begin, "endif");
                }
                break;
        }

        r = expect_block_end(P);
        if (r < 0)
                return r;
        P->block_depth--;
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_target(Parser *P, char **ret) {
        const Token *t;
        int r;

        r = parser_expect_type(P, TOKEN_NAME, "a loop variable", &t);
        if (r < 0)
                return r;
        if (parser_is_reserved(P, t))
                return parser_unexpected(P, t, "a loop variable");
        *ret = parser_token_name(P, t);
        return *ret ? 0 : -ENOMEM;
}

/* {% for x in e [if c] %} … {% else %} … {% endfor %}; the "for" was consumed. */
static int parse_for(Parser *P, const Token *begin, const Token *keyword, Node **ret) {
        static const char *const ends[] = { "else", "endfor", NULL };
        static const char *const endfor[] = { "endfor", NULL };
        _cleanup_(node_freep) Node *n = node_new(NODE_FOR, keyword);
        const Token *end = NULL;
        int r;

        if (!n)
                return -ENOMEM;
        r = enter_block(P, begin);
        if (r < 0)
                return r;

        r = parse_target(P, &n->for_.targets[0]);
        if (r < 0)
                return r;
        if (token_is_operator(parser_peek(P), OP_COMMA)) {
                parser_next(P);
                r = parse_target(P, &n->for_.targets[1]);
                if (r < 0)
                        return r;
        }
        if (!parser_is_name(P, parser_peek(P), "in"))
                return parser_unexpected(P, parser_peek(P), "'in'");
        parser_next(P);
        r = parse_or(P, &n->for_.iterable);
        if (r < 0)
                return r;
        if (parser_is_name(P, parser_peek(P), "if")) {
                parser_next(P);
                r = parse_expression(P, &n->for_.condition);
                if (r < 0)
                        return r;
        }
        r = expect_block_end(P);
        if (r < 0)
                return r;

        r = parse_body(P, ends, "for", &n->for_.body, &end);
        if (r < 0)
                return r;
        if (!end)
                return missing_end(P, begin, "endfor");
        if (parser_is_name(P, end, "else")) {
                r = expect_block_end(P);
                if (r < 0)
                        return r;
                r = parse_body(P, endfor, "for", &n->for_.otherwise, &end);
                if (r < 0)
                        return r;
                if (!end)
                        return missing_end(P, begin, "endfor");
        }

        r = expect_block_end(P);
        if (r < 0)
                return r;
        P->block_depth--;
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_tag(Parser *P, const char *const *ends, const char *block, Node **ret, const Token **ret_end) {
        static const char *const block_ends[] = { "elif", "else", "endif", "endfor" };
        const Token *begin = parser_next(P), *keyword = parser_peek(P);
        _cleanup_free_ char *name = NULL;

        if (keyword->type != TOKEN_NAME)
                return parser_unexpected(P, keyword, "a tag name");
        for (size_t i = 0; ends && ends[i]; i++)
                if (parser_is_name(P, keyword, ends[i])) {
                        parser_next(P);
                        *ret_end = keyword;
                        return 0;
                }

        parser_next(P);
        if (parser_is_name(P, keyword, "if"))
                return parse_if(P, begin, keyword, ret);
        if (parser_is_name(P, keyword, "for"))
                return parse_for(P, begin, keyword, ret);

        name = parser_token_name(P, keyword);
        if (!name)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(block_ends); i++)
                if (streq(name, block_ends[i])) {
                        if (block)
                                return parser_error(P, &keyword->pos, "unexpected '%s' (the innermost open block is '%s')",
                                                   name, block);
                        return parser_error(P, &keyword->pos, "unexpected '%s'", name);
                }
        return parser_error(P, &keyword->pos, "unknown tag '%s'", name);
}

/* Statements up to one of the tags in ends (its name token goes to *ret_end, the rest of
 * the tag stays unread) or to the end of the template (*ret_end = NULL). */
static int parse_body(Parser *P, const char *const *ends, const char *block, NodeList *ret, const Token **ret_end) {
        int r;

        *ret_end = NULL;
        for (;;) {
                const Token *t = parser_peek(P);
                _cleanup_(node_freep) Node *n = NULL;

                switch (t->type) {
                case TOKEN_EOF:
                        return 0;

                case TOKEN_TEXT:
                        parser_next(P);
                        n = node_new(NODE_TEXT, t);
                        if (!n)
                                return -ENOMEM;
                        n->text.offset = t->offset;
                        n->text.length = t->length;
                        break;

                case TOKEN_VARIABLE_BEGIN:
                        parser_next(P);
                        n = node_new(NODE_OUTPUT, t);
                        if (!n)
                                return -ENOMEM;
                        r = parse_expression(P, &n->output);
                        if (r < 0)
                                return r;
                        r = parser_expect_type(P, TOKEN_VARIABLE_END, "'}}'", NULL);
                        if (r < 0)
                                return r;
                        break;

                case TOKEN_BLOCK_BEGIN:
                        r = parse_tag(P, ends, block, &n, ret_end);
                        if (r < 0)
                                return r;
                        if (*ret_end)
                                return 0;
                        break;

                default:
                        return parser_unexpected(P, t, NULL);
                }

                r = node_list_append(ret, n);
                if (r < 0)
                        return r;
                TAKE_PTR(n);
        }
}

int template_parse(const char *source, NodeList *ret, TemplateError *error) {
        _cleanup_(token_list_done) TokenList tokens = {};
        _cleanup_(node_list_done) NodeList body = {};
        const Token *end;
        Parser P;
        int r;

        r = template_lex(source, &tokens, error);
        if (r < 0)
                return r;

        P = (Parser) {
                .source = source,
                .tokens = tokens.tokens,
                .n = tokens.n,
                .error = error,
        };
        r = parse_body(&P, NULL, NULL, &body, &end);
        if (r < 0)
                return r;

        *ret = body;
        body = (NodeList) {};
        return 0;
}
