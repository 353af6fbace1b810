/* Short views of a workflow and of an execution, each read with one or two small queries:
 * what the D-Bus objects of src/bus/ publish as properties (docs/dbus.md). Whoever owns
 * the workflow: the callers check who may see it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"
#include "store/store-executions.h"

typedef struct WorkflowSummary {
        char *slug;
        char *name;
        char *description;
        char *owner;            /* the owner's username */
        bool active;
        int64_t node_count;
        char *last_execution;   /* the newest execution's id; "" when none */
        usec_t updated_at;      /* CLOCK_REALTIME µs */
} WorkflowSummary;

void workflow_summary_done(WorkflowSummary *s);
/* -ENOENT when no workflow has slug. */
int store_workflow_summary(Db *db, const char *slug, WorkflowSummary *ret);
/* Every workflow's slug, sorted; NULL-terminated. */
int store_workflow_slugs(Db *db, char ***ret);

typedef struct ExecutionSummary {
        char id[EXECUTION_ID_LEN + 1];
        char *workflow_slug;
        ExecutionStatus status;
        usec_t started_at;      /* CLOCK_REALTIME µs; 0 while pending */
        usec_t completed_at;    /* 0 while live */
        char **current_nodes;   /* NULL-terminated, sorted: the nodes whose runs are in progress
                                 * (running, a loop running its body, waiting for a person's
                                 * answer or for a child execution) */
        ExecutionUsage usage;
} ExecutionSummary;

void execution_summary_done(ExecutionSummary *s);
/* -ENOENT when no execution has id. */
int store_execution_summary(Db *db, const char *id, ExecutionSummary *ret);
/* The ids of the executions that have not ended (pending, running, interrupted), oldest
 * first; NULL-terminated. */
int store_executions_live_ids(Db *db, char ***ret);

/* Frees a NULL-terminated array of strings; NULL is fine. */
char **store_strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, store_strv_free);
