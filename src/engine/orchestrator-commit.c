/* The transactions that commit a node run: its output or error, its log, the node runs it
 * makes runnable (or rules out), loop iterations, retries, and the end of the execution. */

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "common/json-util.h"
#include "common/log.h"
#include "engine/budget.h"
#include "engine/events.h"
#include "engine/orchestrator.h"
#include "engine/run-plan.h"
#include "engine/run-scope.h"
#include "store/store-flow.h"

/* Inputs logged larger than this are summarised: the outputs they came from are kept. */
#define LOG_INPUT_MAX ((size_t) 64 * 1024)
/* node_status events carry outputs with long strings cut, as the reference does. */
#define EVENT_STRING_MAX ((size_t) 2048)

/* --- Transactions ------------------------------------------------------------------------ */

/* A run kept in memory (orchestrator-memory.c): the mirror is all there is. */
static bool in_memory(const Job *j) {
        return j->mirror && j->mirror->in_memory;
}

static void mirror_drop(Job *j) {
        run_mirror_done(&j->own_mirror);
        j->mirror = NULL;
}

int job_create_execution(Job *j) {
        int r;

        assert(j->start && j->start->step.n_run == 1);
        /* Created with its entry run claimed: whichever transaction creates it claims it. */
        j->start->claim_entry = true;
        j->claim_at_commit = false;
        r = execution_start_insert(j->db, j->start_request, NULL, j->start, j->info.id);
        if (r < 0)
                return r;
        j->row.id = j->broker_job.node_run_id = j->start->run_ids[0];
        return 0;
}

/* Begins and locks the execution: 1 when it is live (pending or running), 0 when not (the
 * transaction stays open), negative on error (rolled back). A run that started unclaimed
 * is claimed here: -ESTALE when another worker or a cancel came first. An execution not
 * created yet is created first. */
static int begin_locked(Job *j, ExecutionState *ret) {
        int r;

        r = db_begin(j->db);
        if (r < 0)
                return r;
        if (j->start) {
                /* Created here: running, with the deadline it was prepared with. */
                r = job_create_execution(j);
                *ret = (ExecutionState) { .status = EXECUTION_RUNNING, .deadline = j->start->deadline };
        } else
                r = store_execution_lock(j->db, j->info.id, ret);
        if (r < 0) {
                (void) db_rollback(j->db);
                return r;
        }
        /* A loop's iterations would all be read for every node of one of them. */
        j->own_mirror = (RunMirror) {
                .execution_id = j->info.id,
                .execution_running = ret->status == EXECUTION_RUNNING,
                .enabled = !j->execution->has_loops,
        };
        j->mirror = &j->own_mirror;
        /* Created here: the mirror knows its runs without reading them back (else it reads
         * them when first asked). */
        if (j->start && j->own_mirror.enabled && j->start->step.n_wait == 0)
                (void) run_mirror_load_created(j->mirror, j->row.id, j->row.node_id);
        j->deadline = ret->deadline;
        /* Interrupted: some node waits for an answer, the other branches go on. */
        if (!execution_status_is_live(ret->status))
                return 0;
        if (j->claim_at_commit) {
                r = run_mirror_claim(j->mirror, j->db, j->row.id);
                if (r < 0) {
                        (void) db_rollback(j->db);
                        mirror_drop(j);
                        return r;
                }
        }
        return 1;
}

/* Commits when r >= 0 (then enqueues and publishes), else rolls back and forgets. */
static int end_transaction(Job *j, int r) {
        mirror_drop(j);
        if (r >= 0)
                r = db_commit(j->db);
        if (r < 0) {
                j->ledger_written = false;
                (void) db_rollback(j->db);
                job_reset_pending(j);
                return r;
        }
        j->start = NULL;
        job_after_commit(j);
        return 0;
}

/* --- Logs and events ----------------------------------------------------------------- */

static json_t *log_input(json_t *input) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;

        if (!input)
                return NULL;
        text = json_write(input, &size);
        if (text && size <= LOG_INPUT_MAX)
                return json_incref(input);
        return json_pack("{s:b, s:I}", "truncated", true, "bytes", (json_int_t) size);
}

static int log_run(Job *j, const char *status, const NodeOutcome *o, json_t *output) {
        _cleanup_json_ json_t *input = NULL, *metadata = NULL;

        /* Only a success gets this far in memory, and its data is not kept. */
        if (in_memory(j))
                return 0;
        input = log_input(o->input);

        metadata = json_pack("{s:I, s:s?, s:s?, s:O?}", "attempt", (json_int_t) j->row.attempt,
                             "route", o->route, "iteration", isempty(j->row.iteration) ? NULL : j->row.iteration,
                             "worker", j->engine->worker_label);
        if (!metadata || (o->input && !input))
                return -ENOMEM;

        return store_execution_log_add(j->db, &(ExecutionLogEntry) {
                .execution_id = j->info.id,
                .node_id = j->row.node_id,
                .status = status,
                .input = input,
                .output = output,
                .error = o->error,
                .error_code = o->error_code,
                .metadata = metadata,
                .retry_count = j->row.attempt > 0 ? j->row.attempt - 1 : 0,
                .duration_ms = o->duration_ms,
        });
}

/* A copy of v whose strings are cut at max bytes (on a UTF-8 boundary). */
static json_t *truncate_strings(json_t *v, size_t max) {
        json_t *copy, *item;
        const char *key;
        size_t i, n;

        switch (json_typeof(v)) {
        case JSON_STRING:
                n = json_string_length(v);
                if (n <= max)
                        return json_incref(v);
                n = max;
                while (n > 0 && ((unsigned char) json_string_value(v)[n] & 0xc0) == 0x80)
                        n--;
                return json_stringn(json_string_value(v), n);
        case JSON_OBJECT:
                copy = json_object();
                json_object_foreach(v, key, item)
                        if (!copy || json_object_set_new(copy, key, truncate_strings(item, max)) < 0)
                                return json_decref(copy), NULL;
                return copy;
        case JSON_ARRAY:
                copy = json_array();
                json_array_foreach(v, i, item)
                        if (!copy || json_array_append_new(copy, truncate_strings(item, max)) < 0)
                                return json_decref(copy), NULL;
                return copy;
        default:
                return json_incref(v);
        }
}

static int event_node_success(Job *j, const char *node_id, const char *iteration, json_t *output,
                              uint64_t duration_ms) {
        json_t *data, *usage = json_object_get(output, "token_usage");

        if (!events_wanted("node_status"))
                return 0;
        data = job_node_status(j, node_id, iteration, "success");

        if (!data ||
            json_object_set_new(data, "duration_ms", json_integer((json_int_t) duration_ms)) < 0 ||
            json_object_set_new(data, "output", output ? truncate_strings(output, EVENT_STRING_MAX) : json_null()) < 0 ||
            /* A node that called a model: what it used and cost, beside the output. */
            (json_is_object(usage) && json_object_set(data, "token_usage", usage) < 0)) {
                json_decref(data);
                return -ENOMEM;
        }
        return job_add_event(j, "node_status", data);
}

/* --- Node runs of a scope ------------------------------------------------------------------ */

static const NodeRunRow *find_row(const NodeRunRow *rows, size_t n, const char *node_id, const char *iteration) {
        for (size_t i = 0; i < n; i++)
                if (streq(rows[i].node_id, node_id) && streq(rows[i].iteration, iteration))
                        return rows + i;
        return NULL;
}

/* The plan of scope, its nodes' states read from the database. */
static int scope_plan(Job *j, const char *scope, const char *loop_id, RunPlan **ret) {
        _cleanup_(scope_chain_freep) char **chain = scope_chain(scope);
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        _cleanup_(run_rows_done) RunRows runs = {};
        int r;

        if (!chain)
                return -ENOMEM;
        r = run_plan_new(j->topology, loop_id, &p);
        if (r < 0)
                return r;
        r = job_node_runs(j, &(NodeRunFilter) { .iterations = (const char *const *) chain }, &runs);
        if (r < 0)
                return r;
        r = scope_fill_plan(p, runs.rows, runs.n, scope);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

static int write_step(Job *j, const char *scope, const PlanStep *s, usec_t run_at) {
        int64_t id;
        int r;

        for (size_t i = 0; i < s->n_run; i++) {
                r = run_mirror_offer(j->mirror, j->db, s->run[i], scope, NODE_RUN_QUEUED, run_at, &id);
                if (r >= 0)
                        r = job_add_pending(j, id, run_at);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_wait; i++) {
                r = run_mirror_offer(j->mirror, j->db, s->wait[i], scope, NODE_RUN_WAITING, 0, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_rule_out; i++) {
                r = run_mirror_offer(j->mirror, j->db, s->rule_out[i], scope, NODE_RUN_RULED_OUT, 0, NULL);
                if (r >= 0)
                        r = job_add_event(j, "node_status", job_node_status(j, s->rule_out[i], scope, "skipped"));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- The end of the execution ------------------------------------------------------------ */

static bool is_type(const Job *j, const char *node_id, const char *type) {
        return streq_ptr(json_get_string(json_object_get(j->info.nodes, node_id), "component_type", NULL), type);
}

/* Inventory 2.9: a reply_chat's message; else the output of an agent that ends a branch;
 * else every top-level node's output. */
static json_t *final_output(const Job *j, const NodeRunRow *rows, size_t n) {
        const NodeRunRow *reply = NULL, *agent = NULL;
        json_t *outputs;

        for (size_t i = 0; i < n; i++) {
                const NodeRunRow *r = rows + i;
                const char *const *children;

                if (r->status != NODE_RUN_DONE || !isempty(r->iteration) || !r->output)
                        continue;
                if (is_type(j, r->node_id, "reply_chat"))
                        reply = r;
                else if ((is_type(j, r->node_id, "agent") || is_type(j, r->node_id, "deep_agent")) &&
                         topology_children(j->topology, r->node_id, &children) == 0)
                        agent = r;
        }
        if (reply || agent)
                return json_pack("{s:O}", "output",
                                 json_object_get((reply ?: agent)->output, "output") ?: json_null());

        outputs = json_object();
        for (size_t i = 0; outputs && i < n; i++)
                if (rows[i].status == NODE_RUN_DONE && isempty(rows[i].iteration) && rows[i].output &&
                    json_object_set(outputs, rows[i].node_id, rows[i].output) < 0)
                        return json_decref(outputs), NULL;
        return outputs ? json_pack("{s:o}", "node_outputs", outputs) : NULL;
}

/* A workflow that keeps nothing of its successful runs drops their data now, in the
 * transaction that completes them. */
static int finalize_retention(Job *j) {
        _cleanup_json_ json_t *settings = NULL;
        int r;

        r = store_workflow_settings(j->db, j->info.workflow_id, &settings);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (retention_policy(j->engine, settings).keep_successful)
                return 0;
        return store_execution_drop_data(j->db, j->info.id);
}

static int finalize(Job *j) {
        static const char *const top_level[] = { "", NULL };
        _cleanup_json_ json_t *output = NULL;
        ExecutionUsage usage;
        _cleanup_(run_rows_done) RunRows runs = {};
        int64_t steps;
        json_t *data;
        int r;

        r = job_node_runs(j, &(NodeRunFilter) { .iterations = top_level, .with_outputs = true }, &runs);
        if (r < 0)
                return r;
        output = final_output(j, runs.rows, runs.n);
        if (!output)
                return -ENOMEM;
        if (runs.borrowed)
                steps = (int64_t) run_mirror_count(j->mirror, NODE_RUN_DONE);
        else {
                r = store_node_runs_count(j->db, j->info.id, NODE_RUN_DONE, &steps);
                if (r < 0)
                        return r;
        }

        if (in_memory(j)) {
                /* Kept for its summary; nothing of it called a model (add_usage()). */
                json_decref(j->final_output);
                j->final_output = json_incref(output);
                usage = (ExecutionUsage) {};
        } else {
                r = store_execution_finish(j->db, j->info.id, EXECUTION_COMPLETED, output, NULL, NULL, &usage);
                if (r <= 0)
                        return r;
                r = finalize_retention(j);
                if (r < 0)
                        return r;
        }
        j->ended = EXECUTION_COMPLETED;
        data = json_pack("{s:O, s:{s:I, s:I, s:f, s:I, s:i, s:i}}", "output", output, "activity_summary",
                         "total_steps", (json_int_t) steps, "total_tokens", (json_int_t) usage.tokens,
                         "total_cost_usd", usage.cost_usd, "llm_calls", (json_int_t) usage.llm_calls,
                         "tool_invocations", 0, "child_count", 0);
        return job_add_event(j, "execution_completed", data);
}

static int execution_fail(Job *j, const char *error, const char *error_code) {
        int r;

        if (in_memory(j))
                return JOB_NEEDS_STORE;

        r = store_execution_finish(j->db, j->info.id, EXECUTION_FAILED, NULL, error, error_code, NULL);
        if (r <= 0)
                return r;
        r = run_mirror_cancel(j->mirror, j->db);
        if (r < 0)
                return r;
        j->ended = EXECUTION_FAILED;
        r = error_handler_insert(j, error, error_code, &j->handler);
        if (r < 0)
                return r;
        return job_add_event(j, "execution_failed", json_pack("{s:s, s:s?}", "error", error, "error_code", error_code));
}

/* --- Advancing, loops ------------------------------------------------------------------- */

static int advance(Job *j, const char *scope, const char *node_id, const char *route, usec_t delay_usec);

/* Starts iteration index of loop_id; *ret_busy is false when nothing in it can run. */
static int start_iteration(Job *j, const char *outer, const char *loop_id, unsigned index, bool *ret_busy) {
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        _cleanup_(plan_step_done) PlanStep step = {};
        _cleanup_free_ char *scope = scope_child(outer, loop_id, index);
        int r;

        if (!scope)
                return -ENOMEM;
        r = scope_plan(j, scope, loop_id, &p);
        if (r >= 0)
                r = run_plan_start(p, &step);
        if (r >= 0)
                r = write_step(j, scope, &step, 0);
        if (r < 0)
                return r;
        *ret_busy = run_plan_busy(p);
        return 0;
}

/* Every iteration ran: the loop's results are {completion_node_id: output} per iteration. */
static int loop_finish(Job *j, const char *outer, const char *loop_id, unsigned total) {
        _cleanup_json_ json_t *results = json_array(), *output = NULL;
        const char *const *completions;
        size_t n_completions = topology_loop_completions(j->topology, loop_id, &completions);
        _cleanup_free_ const char **node_ids = calloc(n_completions + 2, sizeof(char *));
        const NodeRunRow *loop_row;
        NodeRunRow *rows = NULL;
        size_t n = 0;
        int r;

        if (!results || !node_ids)
                return -ENOMEM;
        /* The completion nodes' runs of every iteration, and the loop's own. */
        memcpy(node_ids, completions, n_completions * sizeof(char *));
        node_ids[n_completions] = loop_id;
        r = store_node_runs_list(j->db, j->info.id, &(NodeRunFilter) { .node_ids = node_ids, .with_outputs = true },
                                 &rows, &n);
        if (r < 0)
                return r;
        for (unsigned k = 0; r >= 0 && k < total; k++) {
                _cleanup_free_ char *scope = scope_child(outer, loop_id, k);
                json_t *result = json_object();

                if (!scope || json_array_append_new(results, result) < 0) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t c = 0; c < n_completions; c++) {
                        const NodeRunRow *done = find_row(rows, n, completions[c], scope);

                        if (done && done->status == NODE_RUN_DONE && done->output &&
                            json_object_set(result, completions[c], done->output) < 0)
                                r = -ENOMEM;
                }
        }
        loop_row = find_row(rows, n, loop_id, outer);
        if (r >= 0 && !loop_row)
                r = -EBADMSG;
        if (r >= 0) {
                output = json_pack("{s:O}", "results", results);
                r = output ? run_mirror_finish(j->mirror, j->db, loop_row->id, &(NodeRunResult) {
                                .status = NODE_RUN_DONE, .output = output }) : -ENOMEM;
        }
        node_run_rows_free(rows, n);
        if (r < 0)
                return r;

        r = event_node_success(j, loop_id, outer, output, 0);
        if (r < 0)
                return r;
        return advance(j, outer, loop_id, NULL, 0);
}

/* Starts the iterations from first on until one has something to run; past the last, the
 * loop finishes. */
static int loop_continue(Job *j, const char *outer, const char *loop_id, unsigned first) {
        const char *const iterations[] = { outer, NULL }, *const node_ids[] = { loop_id, NULL };
        const NodeRunRow *loop_row;
        NodeRunRow *rows = NULL;
        size_t n = 0;
        unsigned total;
        int r;

        r = store_node_runs_list(j->db, j->info.id, &(NodeRunFilter) {
                .iterations = iterations, .node_ids = node_ids, .with_outputs = true }, &rows, &n);
        if (r < 0)
                return r;
        loop_row = find_row(rows, n, loop_id, outer);
        total = loop_row ? (unsigned) json_array_size(json_object_get(loop_row->output, "items")) : 0;
        node_run_rows_free(rows, n);
        if (!loop_row)
                return -EBADMSG;

        for (unsigned i = first; i < total; i++) {
                bool busy;

                r = start_iteration(j, outer, loop_id, i, &busy);
                if (r < 0)
                        return r;
                if (busy)
                        return 0;
        }
        return loop_finish(j, outer, loop_id, total);
}

/* Nothing of iteration scope is left to run: on to the next. */
static int iteration_done(Job *j, const char *scope) {
        _cleanup_free_ char *outer = NULL, *loop_id = NULL;
        unsigned index;
        int r;

        r = scope_parse(scope, &outer, &loop_id, &index);
        if (r < 0)
                return r;
        return loop_continue(j, outer, loop_id, index + 1);
}

static int advance(Job *j, const char *scope, const char *node_id, const char *route, usec_t delay_usec) {
        _cleanup_(run_plan_freep) RunPlan *p = NULL;
        _cleanup_(plan_step_done) PlanStep step = {}, unblocked = {};
        _cleanup_free_ char *outer = NULL, *loop_id = NULL;
        unsigned index;
        int r;

        if (!isempty(scope)) {
                r = scope_parse(scope, &outer, &loop_id, &index);
                if (r < 0)
                        return r;
        }
        r = scope_plan(j, scope, loop_id, &p);
        if (r >= 0)
                r = run_plan_advance(p, node_id, route, &step);
        if (r >= 0)
                r = write_step(j, scope, &step, delay_usec > 0 ? now_realtime_usec() + delay_usec : 0);
        if (r >= 0)
                r = run_plan_unblock(p, &unblocked);
        if (r < 0)
                return r;
        if (unblocked.n_run > 0) {
                log_execution(LOG_WARNING, j->info.workflow_slug, j->info.id, NULL, NULL,
                              "Execution %s: starting %zu node(s) whose parents can no longer finish.", j->info.id,
                              unblocked.n_run);
                r = write_step(j, scope, &unblocked, 0);
                if (r < 0)
                        return r;
        }

        if (run_plan_busy(p))
                return 0;
        return isempty(scope) ? finalize(j) : iteration_done(j, scope);
}

/* The node finished (output, route): store it and go on. */
static int node_done(Job *j, json_t *output, const char *route, usec_t delay_usec, uint64_t duration_ms) {
        int r;

        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_DONE, .output = output, .route = route });
        if (r >= 0)
                r = event_node_success(j, j->row.node_id, j->row.iteration, output, duration_ms);
        if (r < 0)
                return r;
        return advance(j, j->row.iteration, j->row.node_id, route, delay_usec);
}

/* A loop node with items and a body: it waits while its iterations run. */
static int loop_start(Job *j, json_t *output, json_t *items) {
        _cleanup_json_ json_t *looping = json_deep_copy(output);
        int r;

        if (!looping || json_object_set(looping, "items", items) < 0)
                return -ENOMEM;
        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_LOOPING, .output = looping });
        if (r < 0)
                return r;
        return loop_continue(j, j->row.iteration, j->row.node_id, 0);
}

static int finish_cancelled(Job *j, const NodeOutcome *o) {
        int r;

        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_CANCELLED, .output = o->output, .error = o->error, .error_code = o->error_code });
        if (r < 0)
                return r;
        return log_run(j, "cancelled", o, o->output);
}

static int park_pause(Job *j, const NodeOutcome *o);

/* A node that called a model says so in its output's token_usage: the execution's totals
 * grow by it. */
static int add_usage(Job *j, json_t *output) {
        json_t *usage = json_object_get(output, "token_usage");

        if (!json_is_object(usage))
                return 0;
        if (in_memory(j))
                return JOB_NEEDS_STORE;
        return store_execution_add_usage(j->db, j->info.id, &(ExecutionUsage) {
                .tokens = json_get_integer(usage, "total_tokens", 0),
                .llm_calls = json_get_integer(usage, "llm_calls", 0),
                .cost_usd = json_number_value(json_object_get(usage, "cost_usd")),
        });
}

static int record_success(Job *j, const NodeOutcome *o) {
        const char *const *body;
        int r;

        if (!o->resumed_after) {
                r = add_usage(j, o->output);
                if (r < 0)
                        return r;
        }
        if (o->ledger_entry && !in_memory(j)) {
                r = store_usage_add(j->db, &o->ledger_entry->call);
                if (r < 0)
                        return r;
                j->ledger_written = true;
        }

        /* Resumed after it paused: its run was logged then. */
        if (!o->resumed_after) {
                r = log_run(j, "completed", o, o->output);
                if (r < 0)
                        return r;
        }
        if (in_memory(j) && (o->pause_after || json_array_size(o->loop_items) > 0))
                return JOB_NEEDS_STORE;
        if (o->pause_after) {
                r = event_node_success(j, j->row.node_id, j->row.iteration, o->output, o->duration_ms);
                return r < 0 ? r : park_pause(j, o);
        }
        if (json_array_size(o->loop_items) > 0 && topology_loop_body(j->topology, j->row.node_id, &body) > 0)
                return loop_start(j, o->output, o->loop_items);
        return node_done(j, o->output, o->route, o->delay_usec, o->duration_ms);
}

static int node_failed(Job *j, const NodeOutcome *o);

int record_outcome(Job *j, const NodeOutcome *o) {
        return o->error ? node_failed(j, o) : record_success(j, o);
}

/* Records the job's outcome and runs the quick nodes it made due, in one transaction. */
static int commit_outcome(Job *j, const NodeOutcome *o) {
        ExecutionState state;
        int r;

        if (j->start && !o->error) {
                r = commit_in_memory(j, o);
                if (r != JOB_NEEDS_STORE)
                        return r;
        }
        r = begin_locked(j, &state);
        if (r < 0)
                return r;
        if (r == 0)
                return end_transaction(j, finish_cancelled(j, o));

        r = record_outcome(j, o);
        if (r >= 0)
                r = job_run_inline(j);
        return end_transaction(j, r);
}

int commit_success(Job *j, const NodeOutcome *o) {
        assert(!o->error);
        return commit_outcome(j, o);
}

/* continue_on_fail, or a loop body node under on_error=continue. */
static bool failure_continues(const Job *j) {
        if (setting_bool(job_setting(j, "continue_on_fail"), false))
                return true;
        return j->loop_id && streq_ptr(json_string_value(job_node_setting(j, j->loop_id, "on_error")), "continue");
}

static usec_t retry_delay(const Job *j) {
        double base = setting_number(job_setting(j, "retry_backoff_seconds"), NODE_RETRY_BACKOFF_SECONDS_DEFAULT);
        double seconds = MAX(base, 0.0) * ldexp(1.0, (int) MIN(j->row.attempt, 30u) - 1);

        return (usec_t) (MIN(seconds, NODE_RETRY_DELAY_MAX_SECONDS) * 1e6);
}

static int failure_event(Job *j, const NodeOutcome *o, bool will_retry) {
        json_t *data = job_node_status(j, j->row.node_id, j->row.iteration, "failed");

        if (!data ||
            json_object_set_new(data, "error", json_string(o->error)) < 0 ||
            json_object_set_new(data, "error_code", json_string(o->error_code)) < 0 ||
            json_object_set_new(data, "attempt", json_integer(j->row.attempt)) < 0 ||
            json_object_set_new(data, "will_retry", json_boolean(will_retry)) < 0) {
                json_decref(data);
                return -ENOMEM;
        }
        return job_add_event(j, "node_status", data);
}

static int node_failed(Job *j, const NodeOutcome *o) {
        _cleanup_json_ json_t *error_output = NULL;
        _cleanup_free_ char *message = NULL;
        bool retry = o->retryable && j->row.attempt < job_max_attempts(j);
        int r;

        /* A failure is kept, with its log, to be looked into. */
        if (in_memory(j))
                return JOB_NEEDS_STORE;

        r = log_run(j, "failed", o, NULL);
        if (r >= 0)
                r = failure_event(j, o, retry);
        if (r < 0)
                return r;

        if (retry) {
                usec_t run_after = now_realtime_usec() + retry_delay(j);

                r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                        .status = NODE_RUN_QUEUED, .error = o->error, .error_code = o->error_code,
                        .run_after = run_after, .keep_output = true });
                return r < 0 ? r : job_add_pending(j, j->row.id, run_after);
        }

        if (failure_continues(j)) {
                error_output = json_pack("{s:s, s:s}", "error", o->error, "error_code", o->error_code);
                return error_output ? node_done(j, error_output, NULL, 0, o->duration_ms) : -ENOMEM;
        }

        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_FAILED, .error = o->error, .error_code = o->error_code });
        if (r < 0)
                return r;
        if (asprintf(&message, "Node %s: %s", j->row.node_id, o->error) < 0)
                return -ENOMEM;
        return execution_fail(j, message, o->error_code);
}

int commit_failure(Job *j, const NodeOutcome *o) {
        assert(o->error);
        return commit_outcome(j, o);
}

int commit_timeout(Job *j, bool claimed) {
        static const char message[] = "Execution timed out: it ran longer than the workflow's max_execution_seconds";
        NodeOutcome o = { .error = message, .error_code = "timeout" };
        ExecutionState state;
        int r;

        r = begin_locked(j, &state);
        if (r < 0)
                return r;
        if (r == 0)
                return end_transaction(j, claimed ? finish_cancelled(j, &o) : 0);

        if (claimed) {
                r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                        .status = NODE_RUN_FAILED, .error = message, .error_code = "timeout" });
                if (r >= 0)
                        r = log_run(j, "failed", &o, NULL);
                if (r >= 0)
                        r = failure_event(j, &o, false);
                if (r < 0)
                        return end_transaction(j, r);
        }
        return end_transaction(j, execution_fail(j, message, "timeout"));
}

/* --- Parking ------------------------------------------------------------------------------- */

static int park_pause(Job *j, const NodeOutcome *o) {
        char task_id[CONFIRMATION_TASK_ID_LEN + 1], expires[TIMESTAMP_BUFSZ];
        json_t *data;
        int r;

        /* Paused after it ran (interrupt_after): with the output it goes on with. */
        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_PAUSED, .output = o->output, .route = o->route, .run_after = o->expires_at });
        if (r >= 0)
                r = store_confirmation_add(j->db, &(ConfirmationNew) {
                        .execution_id = j->info.id,
                        .node_run_id = j->row.id,
                        .node_id = j->row.node_id,
                        .prompt = o->prompt,
                        .expires_at = o->expires_at,
                }, task_id);
        if (r >= 0)
                r = store_execution_set_status(j->db, j->info.id, EXECUTION_RUNNING, EXECUTION_INTERRUPTED);
        if (r < 0)
                return r;

        r = job_add_event(j, "node_status", job_node_status(j, j->row.node_id, j->row.iteration, "waiting"));
        if (r < 0)
                return r;
        data = json_pack("{s:s, s:s, s:s, s:s}", "node_id", j->row.node_id, "task_id", task_id,
                         "prompt", o->prompt ?: "", "expires_at", timestamp_format(expires, o->expires_at));
        if (data && !isempty(j->row.iteration) && json_object_set_new(data, "iteration", json_string(j->row.iteration)) < 0) {
                json_decref(data);
                data = NULL;
        }
        r = job_add_event(j, "execution_interrupted", data);
        if (r < 0)
                return r;
        /* The job comes back when the question expires (or the execution times out). */
        return job_add_pending(j, j->row.id, o->expires_at);
}

static int park_child(Job *j, ChildStart *child) {
        json_t *data;
        int r;

        if (!child->existing) {
                r = execution_start_insert(j->db, &child->request, &child->origin, &child->start, child->id);
                if (r < 0)
                        return r;
                j->child = child;
        }
        /* Waiting holds no worker: only the deadline brings the run back by itself. */
        r = run_mirror_finish(j->mirror, j->db, j->row.id, &(NodeRunResult) {
                .status = NODE_RUN_AWAITING, .run_after = j->deadline });
        if (r < 0)
                return r;

        data = job_node_status(j, j->row.node_id, j->row.iteration, "waiting");
        if (data && json_object_set_new(data, "child_execution_ids", json_pack("[s]", child->id)) < 0) {
                json_decref(data);
                data = NULL;
        }
        r = job_add_event(j, "node_status", data);
        if (r >= 0 && j->deadline > 0)
                r = job_add_pending(j, j->row.id, j->deadline);
        return r;
}

int commit_park(Job *j, const NodeOutcome *o) {
        ExecutionState state;
        int r;

        r = begin_locked(j, &state);
        if (r < 0)
                return r;
        if (r == 0)
                return end_transaction(j, finish_cancelled(j, o));
        if (o->children)
                return end_transaction(j, spawn_park(j, o->children));
        return end_transaction(j, o->child ? park_child(j, o->child) : park_pause(j, o));
}

int commit_expired(Job *j) {
        NodeOutcome o = { .error = "No answer came before the confirmation expired", .error_code = "expired" };
        ExecutionState state;
        NodeRunStatus status;
        NodeRunRow fresh = {};
        int64_t left;
        int r;

        r = begin_locked(j, &state);
        if (r < 0)
                return r;
        if (r == 0)
                return end_transaction(j, 0);

        /* Answered (or cancelled) meanwhile: nothing expires. */
        r = store_node_run_get(j->db, j->row.id, &fresh);
        status = fresh.status;
        node_run_row_done(&fresh);
        if (r == -ENOENT || (r >= 0 && status != NODE_RUN_PAUSED))
                return end_transaction(j, 0);

        if (r >= 0)
                r = store_confirmation_delete_run(j->db, j->row.id);
        if (r >= 0)
                r = store_confirmations_count(j->db, j->info.id, &left);
        if (r >= 0 && left == 0)
                r = store_execution_set_status(j->db, j->info.id, EXECUTION_INTERRUPTED, EXECUTION_RUNNING);
        if (r >= 0)
                r = node_failed(j, &o);
        return end_transaction(j, r);
}
