/* The workflow_create tool: the agent creates a new workflow, owned by the owner of its own
 * workflow, from a definition — the import document of docs/api.md ({"workflow", "nodes",
 * "edges"}, "format" and "version" optional) — with every check the import endpoint makes
 * (workflow-import.h): node types, edges, the node limit, references the owner may use,
 * webhook secrets sealed. Nothing is created unless all of it is right; what is wrong goes
 * back to the model, one problem a line, in the words the API uses.
 *
 * An ai_model node of the definition without llm_credential_id gets the credential of the
 * agent's own model (and its model_name when the node names none), so an agent can build
 * agents without knowing credential ids. The checks still apply: it must be a credential
 * the owner may use. */

#include <errno.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"
#include "engine/platform-link.h"
#include "engine/workflow-import.h"
#include "store/store-workflow-catalog.h"

/* The definition the model gave: {"definition": {…}} (an object, or its JSON text), or the
 * document's members right among the arguments. A copy: the import completes it in place. */
static int read_definition(json_t *arguments, json_t **ret, char **ret_error) {
        json_t *definition = json_object_get(arguments, "definition");
        json_error_t e;

        if (!definition && json_object_get(arguments, "workflow"))
                definition = arguments;
        if (json_is_string(definition)) {
                _cleanup_free_ char *message = NULL;

                *ret = json_loads(json_string_value(definition), JSON_REJECT_DUPLICATES, &e);
                if (json_is_object(*ret))
                        return 0;
                json_decref(*ret);
                *ret = NULL;
                if (asprintf(&message, "'definition' is not a JSON object: %s (line %d, column %d)", e.text, e.line,
                             e.column) < 0)
                        return -ENOMEM;
                *ret_error = TAKE_PTR(message);
                return -EINVAL;
        }
        if (!json_is_object(definition))
                return agent_tool_fail(ret_error, "The argument 'definition' is missing: an object {\"workflow\": "
                                       "{\"name\", …}, \"nodes\": […], \"edges\": […]}");
        *ret = json_deep_copy(definition);
        return *ret ? 0 : -ENOMEM;
}

/* The agent's own model: its ai_model attachment's config, or NULL. */
static json_t *own_model_config(const NodeRun *run) {
        json_t *attachment;
        size_t i;

        json_array_foreach(run->attachments, i, attachment)
                if (streq_ptr(json_get_string(attachment, "edge_label", NULL), "llm"))
                        return json_object_get(attachment, "config");
        return NULL;
}

/* ai_model nodes without a credential take the agent's own model's. */
static int inherit_model(const NodeRun *run, json_t *definition) {
        json_t *own = own_model_config(run), *credential = json_object_get(own, "llm_credential_id");
        json_t *model_name = json_object_get(own, "model_name"), *node;
        size_t i;

        if (!json_is_integer(credential))
                return 0;
        json_array_foreach(json_object_get(definition, "nodes"), i, node) {
                json_t *config = json_object_get(node, "config");

                if (!streq_ptr(json_get_string(node, "component_type", NULL), "ai_model"))
                        continue;
                if (!config || json_is_null(config)) {
                        config = json_object();
                        if (!config || json_object_set_new(node, "config", config) < 0)
                                return -ENOMEM;
                }
                if (!json_is_object(config) || json_is_integer(json_object_get(config, "llm_credential_id")))
                        continue;
                if (json_object_set(config, "llm_credential_id", credential) < 0)
                        return -ENOMEM;
                if (json_is_string(model_name) && isempty(json_get_string(config, "model_name", NULL)) &&
                    json_object_set(config, "model_name", model_name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int tool_workflow_create(NodeRun *run, const AgentTool *tool, json_t *arguments, char **ret_result,
                                char **ret_error) {
        _cleanup_json_ json_t *definition = NULL, *workflow = NULL, *detail = NULL, *answer = NULL;
        _cleanup_free_ char *problems = NULL;
        WorkflowImporter im = {
                .db = run->db,
                .vault = run->vault,
                .max_nodes = platform_link_max_nodes(run->platform),
        };
        int r;

        (void) tool;
        r = read_definition(arguments, &definition, ret_error);
        if (r < 0)
                return r;
        r = inherit_model(run, definition);
        if (r < 0)
                return r;

        r = store_workflow_owner(run->db, run->workflow_id, &im.owner);
        if (r == -ENOMEM)
                return r;
        if (r == -EPERM)
                return agent_tool_fail(ret_error, "The owner of this workflow is deactivated");
        if (r < 0)
                return agent_tool_fail(ret_error, "This workflow's owner cannot be read right now");

        r = workflow_import(&im, definition, &workflow, &detail);
        if (r == -EINVAL) {
                problems = workflow_import_detail_text(detail, "\n- ");
                if (!problems || asprintf(ret_error, "Nothing was created; fix the definition:\n- %s", problems) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return agent_tool_fail(ret_error, "The workflow cannot be created right now");

        answer = json_pack("{s:b, s:O, s:O, s:O, s:O, s:O}", "success", true,
                           "workflow_id", json_object_get(workflow, "id"),
                           "slug", json_object_get(workflow, "slug"),
                           "name", json_object_get(workflow, "name"),
                           "node_count", json_object_get(workflow, "node_count"),
                           "edge_count", json_object_get(workflow, "edge_count"));
        if (!answer)
                return -ENOMEM;
        *ret_result = json_dumps_compact(answer);
        return *ret_result ? 0 : -ENOMEM;
}

const AgentToolSpec agent_tool_workflow_create = {
        .component_type = "workflow_create",
        .description = "Creates a new workflow, owned by the owner of this one, from a definition: "
                       "{\"workflow\": {\"name\", \"slug\"?, \"description\"?, \"tags\"?}, \"nodes\": [{\"node_id\", "
                       "\"component_type\", \"config\"?, \"is_entry_point\"?}], \"edges\": [{\"source_node_id\", "
                       "\"target_node_id\", \"edge_label\"?, \"edge_type\"?, \"condition_value\"?}]} (the export "
                       "document of GET /api/v1/workflows/{slug}/export/). It is checked as an import is: "
                       "nothing is created unless all of it is right, and you are told what to fix. An "
                       "ai_model node without llm_credential_id uses your own model's credential (and model "
                       "name, when it names none). Returns {success, workflow_id, slug, name, node_count, "
                       "edge_count}.",
        .parameters = "{\"type\": \"object\", \"properties\": {\"definition\": {\"type\": \"object\", "
                      "\"description\": \"The workflow: {workflow, nodes, edges}\", \"properties\": {"
                      "\"workflow\": {\"type\": \"object\"}, \"nodes\": {\"type\": \"array\", \"items\": "
                      "{\"type\": \"object\"}}, \"edges\": {\"type\": \"array\", \"items\": {\"type\": \"object\"}}}, "
                      "\"required\": [\"workflow\"]}}, \"required\": [\"definition\"]}",
        .call = tool_workflow_create,
};
