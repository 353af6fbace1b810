/* The node runtime contract: one function per component type, run on a worker thread.
 *
 * The orchestrator prepares a NodeRun (the node with its config templates rendered, the
 * template context, the node's input), calls the component, and commits what it filled in:
 * output ports, route, error, delay, loop items. A component may block (outbound HTTP, a
 * sandboxed process, later an LLM call): it runs on a worker thread, never the I/O thread,
 * and must give up soon after *run->cancelled becomes true or the deadline passes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/macro.h"
#include "common/time-util.h"

/* A child execution a component asks for (node_run_add_child()). */
typedef struct ChildRequest {
        int64_t workflow_id;
        char *workflow_slug;            /* as the component named it, for its results */
        char *trigger_node_id;          /* NULL: the trigger this execution started from */
        json_t *payload;                /* the child's trigger payload */
} ChildRequest;

typedef struct NodeRun {
        /* --- in (owned by the orchestrator) --- */
        const char *execution_id;
        const char *workflow_slug;
        /* A child execution's top-level execution, its workflow and the node of it the child
         * descends from (NULL for a top-level run): node events of this run's own making (an
         * agent's tool calls) reach it as child_node_status too. */
        const char *root_execution_id, *root_workflow_slug, *root_node_id;
        int64_t workflow_id;
        int64_t user_id;         /* who started the execution; 0: nobody (a webhook) */
        const char *node_id;
        const char *component_type;
        json_t *config;          /* NodeOut "config", templates rendered; extra_config always an object */
        json_t *context;         /* template context: {"trigger": payload, "<node_id>": {ports…}, "loop": {item, index, total}} */
        json_t *input;           /* the node's input: the output object of its single flow parent,
                                  * or {parent_id: output, …} when several; the trigger payload for entry nodes */
        unsigned attempt;        /* 1 for the first run */
        const volatile bool *cancelled; /* becomes true when the execution is cancelled */
        usec_t deadline;         /* CLOCK_MONOTONIC µs when the execution times out; 0 = none */
        size_t max_output_size;  /* bytes of serialised output allowed */
        json_t *resume_input;    /* a paused node resumed: the answer it was given; else NULL */
        json_t *child_result;    /* workflow: the child execution that ended, {execution_id,
                                  * workflow_slug, status, final_output, error_message, error_code} */
        unsigned depth;          /* generations above this execution: 0 for a top-level one */
        unsigned max_depth;      /* the deepest a child may be (MaxSubworkflowDepth) */
        /* Taken again after the children it parked for ended (node_run_await_children()):
         * the state it kept and the children's ends in the order they were added,
         * [{workflow_slug, execution_id, status, output | error}]. Else both NULL. */
        json_t *awaited_state;
        json_t *children_results;
        json_t *attachments;     /* the nodes attached to this one by llm/tool/skill/output_parser
                                  * edges, [{node_id, edge_label, component_type, label, config}]
                                  * from the execution's snapshot (configs not rendered); NULL
                                  * when none */
        struct Db *db;           /* the worker's database connection, for lookups while the
                                  * component runs (no transaction is open) */
        const struct Vault *vault;      /* opens credentials: store_credential_load() */
        struct LlmClient *llm;   /* the daemon's LLM client; NULL: one per call */
        const struct PriceTable *prices; /* what model calls cost (prices.h); NULL: unknown */
        struct PlatformLink *platform;  /* the daemon's API address and limits (platform-link.h); NULL: unknown */
        /* Set for a component with a resume function when it may suspend (NULL: it may
         * not, and must finish in run()). */
        struct NodeRunWaker *waker;
        /* Set while a COMPONENT_PURE run goes on unclaimed: node_run_taking_long() calls it. */
        void (*claim_late)(struct NodeRun *run);
        void *claim_late_data;

        /* --- suspended: set by node_run_suspend(), the run is not over --- */
        void *suspended_state;
        void (*suspended_cancel)(void *state);  /* any thread: end the wait soon (then wake) */
        void (*suspended_free)(void *state);

        /* --- out (owned by the NodeRun; the orchestrator frees them) --- */
        json_t *output;          /* object: port name → value (required on success) */
        char *route;             /* routing nodes: the route taken (rule id, "pass", "fail", …) */
        char *error;             /* set on failure: a human message */
        char *error_code;        /* short machine code: "timeout", "cancelled", "sandbox", "http", … */
        bool retryable;          /* the failure may succeed on another attempt (default true) */
        usec_t delay_usec;       /* wait: successors become runnable this much later */
        json_t *loop_items;      /* loop: the array to iterate over */
        /* Parks instead of finishing: the children to start and the state to keep
         * (node_run_add_child(), node_run_await_children()). */
        ChildRequest *await_children;
        size_t n_await_children;
        json_t *await_state;
        /* A model call for the usage ledger, written with the run's commit (budget.h). */
        struct BudgetLedgerEntry *ledger_at_commit;
} NodeRun;

typedef int (*ComponentFunc)(NodeRun *run);

/* How a component's run may be scheduled (orchestrator.c). */
typedef enum ComponentKind {
        /* Has effects outside its output (a process, a request, a child execution, a
         * question): claimed in a transaction of its own before it runs, so the API shows it
         * running and a crash counts as an attempt. */
        COMPONENT_CLAIMED,
        /* Computes its output from its input alone but may take a while (a jq program):
         * runs unclaimed, as a job of its own, and is claimed only when it calls
         * node_run_taking_long() — most runs end first and save a transaction. */
        COMPONENT_PURE,
        /* Computes its output from its input in microseconds (rules, templates, a merge):
         * runs unclaimed, inside the transaction that committed its parent when there is
         * one, with the quick nodes after it — one commit for the lot. A crash before that
         * commit runs it again, which nobody can tell. */
        COMPONENT_QUICK,
} ComponentKind;

/* Called on a worker after node_run_wake(): goes on with the run that suspended, whose
 * NodeRun it gets back as it was, with the state it suspended with. Like run(), it
 * finishes the run or suspends again. */
typedef int (*ComponentResumeFunc)(NodeRun *run, void *state);

typedef struct Component {
        const char *component_type;
        ComponentFunc run;
        ComponentKind kind;
        /* Components that wait on the network (an agent waiting for its model) suspend
         * instead of holding a worker: run() starts the wait and suspends, resume() goes on
         * when woken. NULL: run() always finishes. */
        ComponentResumeFunc resume;
} Component;

/* Suspends run->waker's run with state (owned by the orchestrator from here on: it calls
 * free_state when the run is over or dropped). cancel (any thread) asks the wait to end
 * early: it must lead to node_run_wake() soon. The component returns 0 after this. A crash
 * while suspended runs the node again from the start, as another attempt. */
void node_run_suspend(NodeRun *run, void *state, void (*cancel)(void *state), void (*free_state)(void *state));
/* Any thread, once: what the suspended run waited for happened (or was cancelled); a
 * worker resumes it. */
void node_run_wake(struct NodeRunWaker *waker);

/* A COMPONENT_PURE run that has gone on for a while says so, once: its run is claimed then,
 * so the API shows it running and a crash from here on counts as an attempt. */
void node_run_taking_long(NodeRun *run);

/* Adds a child execution of workflow_id, started from trigger_node_id (NULL: the trigger of
 * this execution) with payload (taken, also on failure), to those the run will wait for.
 * The component checked that its owner may run it. -ENOMEM. */
int node_run_add_child(NodeRun *run, int64_t workflow_id, const char *workflow_slug, const char *trigger_node_id,
                       json_t *payload);
/* Once the component returns 0, the run parks instead of finishing: the commit that parks
 * it creates the children added, all at once, and keeps state (JSON, taken) with the run.
 * When the last of them ended, the component runs again, on any worker, after a restart
 * too, with run->awaited_state and run->children_results; it may then finish or park again.
 * A child that could not start is among the results as failed. */
void node_run_await_children(NodeRun *run, json_t *state);

/* The component for a type, or NULL when this build cannot run it. The registry in
 * node-types.c reports "implemented" from this. */
const Component *component_find(const char *component_type);

/* Sets run->error (formatted) and run->error_code; returns -EINVAL so a component can
 * 'return node_run_fail(run, "code", "…")'. */
int node_run_fail(NodeRun *run, const char *error_code, const char *format, ...) _printf_(3, 4);
/* run->output = {port: value} taking ownership of value. */
int node_run_output(NodeRun *run, const char *port, json_t *value);
/* Publishes a node_status event (data taken) on the run's channels and, for a child
 * execution's run, as child_node_status on its top-level execution's. */
void node_run_publish_status(const NodeRun *run, json_t *data);
/* True when the run should stop: cancelled or past its deadline. */
bool node_run_should_stop(const NodeRun *run);
void node_run_done(NodeRun *run);
