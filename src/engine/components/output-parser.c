/* output_parser: a sub-component attached to an AI node (categorizer, router, extractor,
 * agent) through an 'output_parser' edge. When the node has its model's answer, the parser
 * reads it — or, with extra_config.source_node, that node's output — and its result becomes
 * the node's output "parsed":
 *   parser_type "json" (the default): the first JSON object or array in the text, also
 *     inside ``` fences; text without one fails the node (error_code "output_parser").
 *   "regex": extra_config.pattern matched against the text: {match, groups, named,
 *     matches} (output-parse.h); no match gives match null and empty lists.
 *   "list": one item per line, bullets and numbers taken off, or a comma separated line.
 * The node's own work (the categorizer's choice, the extractor's validation) reads the
 * model's answer as it is. A node takes at most one parser. */

#include <errno.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/components/llm-node.h"
#include "engine/output-parse.h"

/* Longest part of an answer quoted in a parser's failure. */
#define QUOTE_MAX 200

static json_t *find_parser(NodeRun *run, size_t *ret_count) {
        json_t *attachment, *found = NULL;
        size_t i, count = 0;

        json_array_foreach(run->attachments, i, attachment)
                if (streq_ptr(json_get_string(attachment, "edge_label", NULL), "output_parser")) {
                        count++;
                        found = found ?: attachment;
                }
        *ret_count = count;
        return found;
}

static int fail_no_json(NodeRun *run, const char *parser_id, const char *text) {
        size_t n = strlen(text), shown = MIN(n, (size_t) QUOTE_MAX);
        int r;

        /* Never cut a character in two. */
        while (shown < n && shown > 0 && ((unsigned char) text[shown] & 0xC0) == 0x80)
                shown--;
        r = node_run_fail(run, "output_parser", "The output parser '%s' found no JSON object or array in the text: "
                          "\"%.*s%s\"", parser_id, (int) shown, text, shown < n ? "…" : "");
        /* The same answer parses the same way on another attempt. */
        run->retryable = false;
        return r;
}

int llm_node_apply_output_parser(NodeRun *run, const char *text) {
        _cleanup_free_ char *error = NULL, *source_text = NULL;
        _cleanup_json_ json_t *parsed = NULL;
        json_t *parser, *extra;
        const char *parser_id, *type, *source_node;
        size_t count;
        int r;

        parser = find_parser(run, &count);
        if (!parser)
                return 0;
        parser_id = json_get_string(parser, "node_id", "");
        if (count > 1)
                return node_run_fail_config(run, "The node has %zu output parsers; attach at most one", count);
        if (!streq_ptr(json_get_string(parser, "component_type", NULL), "output_parser"))
                return node_run_fail_config(run, "The node on the 'output_parser' edge is not an output_parser");

        extra = json_object_get(json_object_get(parser, "config"), "extra_config");
        type = json_get_string(extra, "parser_type", "json");
        source_node = json_get_string(extra, "source_node", NULL);
        if (!isempty(source_node)) {
                json_t *value;

                r = node_run_source_value(run, source_node, NULL, &value);
                if (r < 0)
                        return r;
                source_text = llm_node_value_text(value);
                if (!source_text)
                        return node_run_fail_oom(run);
                text = source_text;
        }

        r = output_parse(type, json_get_string(extra, "pattern", NULL), text ?: "", &parsed, &error);
        if (r == -ENOMEM)
                return node_run_fail_oom(run);
        if (r == -ENODATA)
                return fail_no_json(run, parser_id, text ?: "");
        if (r < 0)
                return node_run_fail_config(run, "The output parser '%s': %s", parser_id, error ?: "invalid settings");
        if (node_run_output(run, "parsed", TAKE_PTR(parsed)) < 0)
                return node_run_fail_oom(run);
        return 0;
}
