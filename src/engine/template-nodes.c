/* The nodes of a parsed template: making, collecting and freeing them. */

#include <errno.h>
#include <stdlib.h>

#include "engine/template-parser.h"

void node_list_done(NodeList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                node_free(l->items[i]);
        free(l->items);
        *l = (NodeList) {};
}

Node *node_free(Node *n) {
        if (!n)
                return NULL;

        switch (n->type) {
        case NODE_LITERAL:
                json_decref(n->literal);
                break;
        case NODE_NAME:
                free(n->name);
                break;
        case NODE_ATTRIBUTE:
                node_free(n->attribute.object);
                free(n->attribute.name);
                break;
        case NODE_ITEM:
                node_free(n->item.object);
                node_free(n->item.index);
                break;
        case NODE_SLICE:
                node_free(n->slice.object);
                node_free(n->slice.start);
                node_free(n->slice.stop);
                node_free(n->slice.step);
                break;
        case NODE_LIST:
        case NODE_DICT:
                node_list_done(&n->list);
                break;
        case NODE_UNARY:
                node_free(n->unary.operand);
                break;
        case NODE_BINARY:
        case NODE_LOGICAL:
                node_free(n->binary.left);
                node_free(n->binary.right);
                break;
        case NODE_COMPARE:
                node_free(n->compare.first);
                free(n->compare.ops);
                node_list_done(&n->compare.operands);
                break;
        case NODE_CONDITIONAL:
                node_free(n->conditional.then);
                node_free(n->conditional.condition);
                node_free(n->conditional.otherwise);
                break;
        case NODE_FILTER:
                node_free(n->filter.subject);
                node_list_done(&n->filter.args);
                break;
        case NODE_TEST:
                node_free(n->test.subject);
                node_list_done(&n->test.args);
                break;
        case NODE_CALL:
                node_free(n->call.callee);
                node_list_done(&n->call.args);
                break;
        case NODE_TEXT:
                break;
        case NODE_OUTPUT:
                node_free(n->output);
                break;
        case NODE_IF:
                for (size_t i = 0; i < n->if_.conditions.n; i++)
                        node_list_done(&n->if_.bodies[i]);
                free(n->if_.bodies);
                node_list_done(&n->if_.conditions);
                node_list_done(&n->if_.otherwise);
                break;
        case NODE_FOR:
                free(n->for_.targets[0]);
                free(n->for_.targets[1]);
                node_free(n->for_.iterable);
                node_free(n->for_.condition);
                node_list_done(&n->for_.body);
                node_list_done(&n->for_.otherwise);
                break;
        }
        free(n->keyword);
        free(n);
        return NULL;
}

int node_list_append(NodeList *l, Node *n) {
        /* capacity doubles at 4, 8, 16 … */
        if (l->n == 0 || (l->n >= 4 && (l->n & (l->n - 1)) == 0)) {
                Node **items = reallocarray(l->items, l->n == 0 ? 4 : l->n * 2, sizeof(Node *));

                if (!items)
                        return -ENOMEM;
                l->items = items;
        }
        l->items[l->n++] = n;
        return 0;
}

Node *node_new(NodeType type, const Token *t) {
        Node *n = calloc(1, sizeof(Node));

        if (!n)
                return NULL;
        n->type = type;
        n->pos = t->pos;
        n->start = t->offset;
        n->end = t->offset + t->length;
        n->height = 1;
        return n;
}
