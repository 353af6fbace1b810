/* Workflows in the database, answered in the API's shapes (docs/api.md "Workflows").
 *
 * Every lookup by slug is made on behalf of a caller: a normal user reaches only the
 * workflows they own and gets -ENOENT for anyone else's, as if it did not exist; an admin
 * reaches all. Functions taking a workflow id expect the caller to have been checked.
 *
 * Bodies handed in are already validated by the API layer; the store only applies
 * defaults and writes. JSON columns are stored as compact text and answered parsed. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

typedef struct StoreCaller {
        int64_t user_id;
        bool is_admin;
} StoreCaller;

#define WORKFLOW_NAME_MAX 255
#define WORKFLOW_SLUG_MAX 255
#define WORKFLOW_DERIVED_SLUG_MAX 100

/* 1–255 of lowercase letters, digits, '-' and '_'. */
bool workflow_slug_is_valid(const char *slug);
/* Slugs that would shadow a literal path under /api/v1/workflows/ ("import", …). */
bool workflow_slug_is_reserved(const char *slug);
/* Lowercase, every run of other characters turned into one '-', trimmed, at most 100
 * characters; "workflow" when nothing is left. */
int workflow_slug_from_name(const char *name, char **ret);

/* The id of the workflow slug as the caller sees it; -ENOENT when absent or not theirs. */
int store_workflow_find(Db *db, const StoreCaller *caller, const char *slug, int64_t *ret_id);
/* 0 when workflow id exists and the caller may see it, else -ENOENT. */
int store_workflow_check_visible(Db *db, const StoreCaller *caller, int64_t id);

/* The workflow's graph_version, which changes with every change of its row, nodes or edges
 * (database triggers): a copy of its graph read at one version is current as long as the
 * version reads the same. -ENOENT when absent. */
int store_workflow_graph_version(Db *db, int64_t id, int64_t *ret_version);
/* The same by slug, whoever owns the workflow, with its id. */
int store_workflow_graph_version_by_slug(Db *db, const char *slug, int64_t *ret_id, int64_t *ret_version);

/* WorkflowOut; with_graph adds "nodes" and "edges". -ENOENT when absent. */
int store_workflow_get(Db *db, int64_t id, bool with_graph, json_t **ret);
/* The caller's workflows (all of them for an admin), newest first. */
int store_workflow_list(Db *db, const StoreCaller *caller, int64_t limit, int64_t offset,
                        json_t **ret_items, int64_t *ret_total);

/* Creates from a validated create body ({name, slug?, description?, …}); the slug (given
 * or derived from the name) is de-duplicated with -1, -2, …. Answers WorkflowOut. */
int store_workflow_create(Db *db, int64_t owner_id, json_t *in, json_t **ret);
/* Applies the fields present in a validated patch body. -EEXIST when a new slug is taken.
 * Answers WorkflowOut. */
int store_workflow_update(Db *db, int64_t id, json_t *patch, json_t **ret);
/* Deletes the workflow; nodes, edges and executions go with it. -ENOENT when absent. */
int store_workflow_delete(Db *db, int64_t id);
/* Deletes the workflows of slugs (a JSON array of strings) the caller can see, in one
 * transaction; the others are skipped. */
int store_workflow_delete_many(Db *db, const StoreCaller *caller, json_t *slugs, int64_t *ret_deleted);
/* Sets updated_at to now: every change of a node or an edge counts as a change of its
 * workflow. */
int store_workflow_touch(Db *db, int64_t id);

/* The export document of docs/api.md: {"format": "pipelit-workflow", "version": 1,
 * "workflow": {…}, "nodes": [NodeIn…], "edges": [EdgeIn…]}. */
#define WORKFLOW_EXPORT_FORMAT "pipelit-workflow"
#define WORKFLOW_EXPORT_VERSION 1
int store_workflow_export(Db *db, int64_t id, json_t **ret);
/* Creates workflow (a validated create body), then nodes (validated NodeIn objects with
 * node_id set) and edges (validated EdgeIn objects), all in one transaction: on any
 * failure nothing is left behind. Answers WorkflowOut with nodes and edges. */
int store_workflow_import(Db *db, int64_t owner_id, json_t *workflow, json_t *nodes, json_t *edges,
                          json_t **ret);

/* Column readers shared by the store files: SQL NULL answers JSON null. */
json_t *store_column_integer(const DbResult *r, size_t row, size_t col);
json_t *store_column_real(const DbResult *r, size_t row, size_t col);
json_t *store_column_string(const DbResult *r, size_t row, size_t col);
json_t *store_column_bool(const DbResult *r, size_t row, size_t col);
/* Parses a JSON text column; def (a new reference is taken) when NULL or unreadable. */
json_t *store_column_json(const DbResult *r, size_t row, size_t col, json_t *def);

/* Shortest text that reads back as the same double, for REAL parameters. */
#define STORE_REAL_BUFSZ 32
const char *store_real(char buf[static STORE_REAL_BUFSZ], double v);
