/* The node runs of one execution as the transaction holding its lock sees them.
 *
 * A commit that runs many quick nodes (orchestrator-inline.c) would otherwise read the
 * execution's runs back from the database for every node: to build a node's template
 * context and to plan what follows it, each a read of every run so far, which makes a
 * chain cost quadratically. The mirror reads them once, when first asked, and every write
 * of the transaction goes through it, so it stays what the database holds. It lives as
 * long as the transaction and is dropped with it, committed or not.
 *
 * An in-memory mirror stands for a database that does not hold the execution (yet): a run
 * kept in memory until it ends (orchestrator-memory.c). Its writes do what the store's
 * would, on the mirror alone, with ids of its own; it never reads the database. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"
#include "store/store-executions.h"

typedef struct RunMirror {
        const char *execution_id;
        bool execution_running; /* the execution is running, not pending: claims leave it be */
        bool enabled;           /* reads may come from it (run_mirror_load()) */
        bool loaded;
        bool in_memory;         /* the database is never touched; loaded from the start */
        /* A run claimed by run_mirror_claim_unwritten(): its finish writes the claim. */
        int64_t claim_unwritten;
        NodeRunRow *rows;       /* every run of the execution, with outputs, in creation order */
        size_t n, n_alloc;
} RunMirror;

void run_mirror_done(RunMirror *m);
/* Reads the runs unless they were read already. */
int run_mirror_load(RunMirror *m, Db *db);
/* The transaction created the execution with one run, node_id's, claimed and nothing else
 * (store_execution_insert() with claim_entry, no waiting runs): the mirror holds all of it
 * without reading. */
int run_mirror_load_created(RunMirror *m, int64_t id, const char *node_id);

/* The writes of store-executions.h, done in the database and, once loaded, in the mirror. */
int run_mirror_offer(RunMirror *m, Db *db, const char *node_id, const char *iteration, NodeRunStatus status,
                     usec_t run_after, int64_t *ret_id);
int run_mirror_finish(RunMirror *m, Db *db, int64_t id, const NodeRunResult *result);
int run_mirror_claim(RunMirror *m, Db *db, int64_t id);
/* The same for a run this transaction will finish (a quick node run inline): when the
 * mirror holds it and the execution runs, only the mirror changes now and the finish
 * writes the claim with the rest — one statement less. One such claim at a time. */
int run_mirror_claim_unwritten(RunMirror *m, Db *db, int64_t id);
/* store_node_run_get(), from the mirror when it holds the run (without its output). */
int run_mirror_get(RunMirror *m, Db *db, int64_t id, NodeRunRow *ret);
int run_mirror_cancel(RunMirror *m, Db *db);

/* How many loaded runs have status. */
size_t run_mirror_count(const RunMirror *m, NodeRunStatus status);
