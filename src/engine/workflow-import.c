/* Creating a workflow from an import document (workflow-import.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "api/webhook-secret.h"
#include "common/crypto.h"
#include "common/json-util.h"
#include "engine/workflow-checks.h"
#include "engine/workflow-import.h"

/* An optional array member of the import document; absent means empty. */
static json_t *import_array(json_t *doc, const char *field, json_t *messages) {
        json_t *v = json_object_get(doc, field);

        if (!v || json_is_null(v))
                return json_array();
        if (!json_is_array(v)) {
                (void) check_message_append(messages, "%s: Input should be a valid list", field);
                return NULL;
        }
        return json_incref(v);
}

static int import_check_workflow(const WorkflowImporter *im, json_t *doc, json_t *messages) {
        _cleanup_json_ json_t *errors = NULL;
        json_t *format, *version, *workflow;
        int r;

        format = json_object_get(doc, "format");
        if (format && !streq_ptr(json_string_value(format), WORKFLOW_EXPORT_FORMAT))
                (void) check_message_append(messages, "format: Input should be '%s'", WORKFLOW_EXPORT_FORMAT);

        version = json_object_get(doc, "version");
        if (version && !(json_is_integer(version) && json_integer_value(version) == WORKFLOW_EXPORT_VERSION))
                (void) check_message_append(messages, "version: Input should be %d", WORKFLOW_EXPORT_VERSION);

        workflow = json_object_get(doc, "workflow");
        if (!workflow)
                return check_message_append(messages, "workflow: Field required");
        if (!json_is_object(workflow))
                return check_message_append(messages, "workflow: Input should be a valid dictionary");

        errors = json_array();
        if (!errors)
                return -ENOMEM;
        r = workflow_body_check(im->db, &im->owner, workflow, true, errors);
        if (r < 0)
                return r;
        return check_errors_to_messages(errors, "workflow", messages);
}

/* Checks every node, gives those without a node_id one, and fills node_types. */
static int import_check_nodes(const WorkflowImporter *im, json_t *nodes, json_t *node_types, json_t *messages) {
        json_t *node;
        size_t i;
        int r;

        if (im->max_nodes > 0 && (int64_t) json_array_size(nodes) > im->max_nodes)
                return check_message_append(messages, "nodes: Workflow has reached the limit of %" PRIi64 " nodes",
                                            im->max_nodes);

        json_array_foreach(nodes, i, node) {
                _cleanup_json_ json_t *errors = NULL;
                _cleanup_free_ char *prefix = NULL;
                const char *node_id;

                if (asprintf(&prefix, "nodes[%zu]", i) < 0)
                        return -ENOMEM;
                if (!json_is_object(node)) {
                        r = check_message_append(messages, "%s: Input should be a valid dictionary", prefix);
                        if (r < 0)
                                return r;
                        continue;
                }

                errors = json_array();
                if (!errors)
                        return -ENOMEM;
                r = node_body_check(im->db, &im->owner, node, NULL, errors);
                if (r < 0)
                        return r;
                r = check_errors_to_messages(errors, prefix, messages);
                if (r < 0)
                        return r;
                if (json_array_size(errors) > 0)
                        continue;

                if (!json_get_string(node, "node_id", NULL)) {
                        _cleanup_free_ char *generated = NULL;
                        char hex[9];

                        r = random_hex(hex, 8);
                        if (r < 0)
                                return r;
                        if (asprintf(&generated, "%s_%s", json_get_string(node, "component_type", "node"),
                                     hex) < 0)
                                return -ENOMEM;
                        if (json_object_set_new(node, "node_id", json_string(generated)) < 0)
                                return -ENOMEM;
                }

                node_id = json_get_string(node, "node_id", "");
                if (json_object_get(node_types, node_id)) {
                        r = check_message_append(messages, "%s.node_id: Node '%s' appears more than once",
                                                 prefix, node_id);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (json_object_set_new(node_types, node_id,
                                        json_string(json_get_string(node, "component_type", ""))) < 0)
                        return -ENOMEM;
        }

        return 0;
}

/* Checks every edge against the imported nodes; fills complete with the edges as stored. */
static int import_check_edges(json_t *edges, json_t *node_types, json_t *complete, json_t *messages) {
        json_t *edge;
        size_t i;
        int r;

        json_array_foreach(edges, i, edge) {
                _cleanup_json_ json_t *errors = NULL, *edge_messages = NULL, *full = NULL;
                _cleanup_free_ char *prefix = NULL;
                json_t *m;
                size_t j;

                if (asprintf(&prefix, "edges[%zu]", i) < 0)
                        return -ENOMEM;
                if (!json_is_object(edge)) {
                        r = check_message_append(messages, "%s: Input should be a valid dictionary", prefix);
                        if (r < 0)
                                return r;
                        continue;
                }

                errors = json_array();
                edge_messages = json_array();
                if (!errors || !edge_messages)
                        return -ENOMEM;
                if (edge_body_check(edge, true, errors) > 0) {
                        r = check_errors_to_messages(errors, prefix, messages);
                        if (r < 0)
                                return r;
                        continue;
                }

                full = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}",
                                 "source_node_id", json_get_string(edge, "source_node_id", ""),
                                 "target_node_id", json_get_string(edge, "target_node_id", ""),
                                 "edge_type", json_get_string(edge, "edge_type", "direct"),
                                 "edge_label", json_get_string(edge, "edge_label", ""),
                                 "condition_value", json_get_string(edge, "condition_value", ""),
                                 "priority", (json_int_t) json_get_integer(edge, "priority", 0));
                if (!full)
                        return -ENOMEM;

                if (edge_graph_check(full, node_types, edge_messages) == 0)
                        (void) edge_model_check(full, complete, 0, edge_messages);
                json_array_foreach(edge_messages, j, m) {
                        r = check_message_append(messages, "%s: %s", prefix, json_string_value(m));
                        if (r < 0)
                                return r;
                }

                if (json_array_append(complete, full) < 0)
                        return -ENOMEM;
        }

        return 0;
}

/* Webhook secrets are stored sealed; an export carries none (it shows the mask). -EINVAL
 * with *ret_detail when one cannot be. */
static int import_seal_secrets(const WorkflowImporter *im, json_t *nodes, json_t **ret_detail) {
        json_t *node;
        size_t i;

        json_array_foreach(nodes, i, node) {
                _cleanup_free_ char *text = NULL;
                const char *error = NULL;
                int r;

                r = webhook_secret_seal(im->vault, json_get_string(node, "component_type", NULL), node, NULL, &error);
                if (r == -EINVAL) {
                        if (asprintf(&text, "Node '%s': %s", json_get_string(node, "node_id", ""), error) < 0)
                                return -ENOMEM;
                        *ret_detail = json_string(text);
                        return *ret_detail ? -EINVAL : -ENOMEM;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int workflow_import(const WorkflowImporter *im, json_t *doc, json_t **ret_workflow, json_t **ret_detail) {
        _cleanup_json_ json_t *messages = NULL, *nodes = NULL, *edges = NULL,
                *node_types = NULL, *complete_edges = NULL;
        json_t *workflow = NULL;
        int r;

        messages = json_array();
        node_types = json_object();
        complete_edges = json_array();
        if (!messages || !node_types || !complete_edges)
                return -ENOMEM;

        r = import_check_workflow(im, doc, messages);
        if (r < 0)
                return r;

        nodes = import_array(doc, "nodes", messages);
        edges = import_array(doc, "edges", messages);
        if (nodes) {
                r = import_check_nodes(im, nodes, node_types, messages);
                if (r < 0)
                        return r;
        }
        if (nodes && edges) {
                r = import_check_edges(edges, node_types, complete_edges, messages);
                if (r < 0)
                        return r;
        }

        /* Nothing is created unless everything is right. */
        if (json_array_size(messages) > 0) {
                *ret_detail = json_pack("{s:O}", "validation_errors", messages);
                return *ret_detail ? -EINVAL : -ENOMEM;
        }
        r = import_seal_secrets(im, nodes, ret_detail);
        if (r < 0)
                return r;

        r = store_workflow_import(im->db, im->owner.user_id, json_object_get(doc, "workflow"), nodes,
                                  complete_edges, &workflow);
        if (r == -ENOLINK || r == -EEXIST) {
                /* Something it refers to went away between the checks and the transaction. */
                *ret_detail = json_string("The workflow refers to a workflow or credential that does not exist.");
                return *ret_detail ? -EINVAL : -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret_workflow = workflow;
        return 0;
}

char *workflow_import_detail_text(json_t *detail, const char *separator) {
        json_t *list = json_object_get(detail, "validation_errors"), *item;
        char *text = NULL;
        size_t size = 0, i;
        FILE *f;

        if (json_is_string(detail))
                return strdup(json_string_value(detail));
        f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        json_array_foreach(list, i, item)
                fprintf(f, "%s%s", i > 0 ? separator : "", json_string_value(item) ?: "");
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}
