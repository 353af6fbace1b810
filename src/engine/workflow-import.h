/* Creating a workflow from an import document (docs/api.md "Import": {"format":
 * "pipelit-workflow", "version": 1, "workflow": {…}, "nodes": [NodeIn…], "edges":
 * [EdgeIn…]}) with every check the create endpoints make. The import endpoint, D-Bus
 * ImportWorkflow and the agents' workflow_create tool share it; it needs a database
 * connection and the vault, no HTTP request. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "common/vault.h"
#include "store/db.h"
#include "store/store-workflows.h"

typedef struct WorkflowImporter {
        Db *db;
        const Vault *vault;     /* seals webhook secrets; NULL: a webhook with a secret is refused */
        StoreCaller owner;      /* who will own the workflow: what it refers to must be visible to them */
        int64_t max_nodes;      /* [Limits] MaxNodesPerWorkflow=; 0: none */
} WorkflowImporter;

/* Checks doc and creates the workflow, its nodes and edges in one transaction: nothing is
 * created unless everything is right. doc's nodes are completed in place (generated node
 * ids, sealed secrets). 0 with *ret_workflow (WorkflowOut with nodes and edges); -EINVAL
 * with *ret_detail, what is wrong as the API answers it in a 422's "detail": {"validation_errors":
 * [sentence…]}, or one sentence as a string; another negative errno when the database fails. */
int workflow_import(const WorkflowImporter *im, json_t *doc, json_t **ret_workflow, json_t **ret_detail);

/* A detail of workflow_import() as one text: the sentence, or the validation errors joined
 * with separator. NULL on ENOMEM. */
char *workflow_import_detail_text(json_t *detail, const char *separator);
