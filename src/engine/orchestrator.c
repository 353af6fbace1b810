/* One node run: claim it, prepare what its component sees (rendered settings, template
 * context, input), run the component on this worker thread, and hand the outcome to the
 * commit. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/log.h"
#include "common/message-ids.h"
#include "engine/budget.h"
#include "engine/events.h"
#include "engine/node-types.h"
#include "engine/orchestrator.h"
#include "engine/run-scope.h"
#include "engine/template.h"

/* A commit that meets a busy database or a broken connection is tried this many times. */
#define COMMIT_ATTEMPTS 5
#define COMMIT_RETRY_USEC (200U * 1000)

void job_done(Job *j) {
        cached_execution_unref(j->execution);
        node_run_row_done(&j->row);
        free(j->loop_id);
        free(j->loop_outer);
        free(j->pending);
        json_decref(j->events);
        json_decref(j->final_output);
        child_start_free(j->handler);
        *j = (Job) {};
}

void job_reset_pending(Job *j) {
        j->n_pending = 0;
        json_array_clear(j->events);
        j->child = NULL;
        j->children = NULL;
        j->handler = child_start_free(j->handler);
        j->ended = EXECUTION_PENDING;
}

int job_add_pending(Job *j, int64_t id, usec_t run_at) {
        if (j->n_pending == j->n_pending_alloc) {
                size_t n = MAX(j->n_pending_alloc * 2, (size_t) 8);
                PendingRun *p = reallocarray(j->pending, n, sizeof(PendingRun));

                if (!p)
                        return -ENOMEM;
                j->pending = p;
                j->n_pending_alloc = n;
        }
        /* A run due after the deadline is taken at the deadline, which fails the execution
         * on time instead of when the wait is over. */
        if (j->deadline > 0 && (run_at == 0 || run_at > j->deadline))
                run_at = run_at == 0 ? 0 : j->deadline;
        j->pending[j->n_pending++] = (PendingRun) { .id = id, .run_at = run_at };
        return 0;
}

int job_add_event(Job *j, const char *type, json_t *data) {
        if (!data)
                return -ENOMEM;
        if (!events_wanted(type)) {
                json_decref(data);
                return 0;
        }
        if (!j->events) {
                j->events = json_array();
                if (!j->events) {
                        json_decref(data);
                        return -ENOMEM;
                }
        }
        return json_array_append_new(j->events, json_pack("[s, o]", type, data)) < 0 ? -ENOMEM : 0;
}

/* A child's node_status goes to the top-level execution too. */
static void forward_to_root(const ExecutionInfo *info, const char *type, json_t *data) {
        if (info->root_execution_id && streq(type, "node_status"))
                events_forward_child_status(info->root_workflow_slug, info->root_execution_id, info->root_node_id,
                                            info->id, data);
}

void execution_events_publish(const ExecutionInfo *info, json_t *events) {
        json_t *event;
        size_t i;

        json_array_foreach(events, i, event) {
                const char *type = json_string_value(json_array_get(event, 0));

                events_publish_workflow(info->workflow_slug, type, info->id, json_incref(json_array_get(event, 1)));
                forward_to_root(info, type, json_array_get(event, 1));
                /* Execution events are always collected: this is where a failure is final. */
                if (streq_ptr(type, "execution_failed"))
                        log_execution(LOG_NOTICE, info->workflow_slug, info->id, NULL, MESSAGE_ID_EXECUTION_FAILED,
                                      "Execution %s of workflow '%s' failed: %s", info->id, info->workflow_slug,
                                      json_get_string(json_array_get(event, 1), "error", "no error message"));
        }
}

void job_after_commit(Job *j) {
        ExecutionStatus ended = j->ended;

        /* Events first: a successor taken at once by another worker must not announce
         * itself before the node it follows. */
        execution_events_publish(&j->info, j->events);
        for (size_t k = 0; k < j->n_pending; k++)
                engine_enqueue(j->engine, j->info.id, &j->pending[k].id, 1, j->pending[k].run_at);
        if (j->child)
                execution_start_announce(j->engine, &j->child->request, &j->child->start, j->child->id);
        for (size_t k = 0; j->children && k < j->children->n; k++) {
                ChildStart *c = j->children->starts[k];

                if (c)
                        execution_start_announce(j->engine, &c->request, &c->start, c->id);
        }
        if (j->handler) {
                log_execution(LOG_INFO, j->info.workflow_slug, j->info.id, NULL, NULL,
                              "Execution %s of workflow '%s' failed; its error handler runs as execution %s.",
                              j->info.id, j->info.workflow_slug, j->handler->id);
                execution_start_announce(j->engine, &j->handler->request, &j->handler->start, j->handler->id);
        }

        job_reset_pending(j);
        if (ended != EXECUTION_PENDING)
                engine_execution_ended(j->engine, j->db, j->info.id, &j->info, ended);
}

json_t *job_node_status(const Job *j, const char *node_id, const char *iteration, const char *status) {
        json_t *node = json_object_get(j->info.nodes, node_id);
        const char *type = json_get_string(node, "component_type", "");
        const NodeTypeSpec *spec = node_type_find(type);
        json_t *data;

        data = json_pack("{s:s, s:s, s:s, s:s, s:O}", "node_id", node_id, "status", status, "component_type", type,
                         "display_name", spec ? spec->display_name : type,
                         "node_label", json_object_get(node, "label") ?: json_null());
        if (data && !isempty(iteration) && json_object_set_new(data, "iteration", json_string(iteration)) < 0)
                return json_decref(data), NULL;
        return data;
}

json_t *job_node_setting(const Job *j, const char *node_id, const char *key) {
        json_t *v = json_object_get(json_object_get(json_object_get(json_object_get(j->info.nodes, node_id), "config"),
                                                    "extra_config"), key);

        return json_is_null(v) ? NULL : v;
}

json_t *job_setting(const Job *j, const char *key) {
        return job_node_setting(j, j->row.node_id, key);
}

double setting_number(json_t *v, double def) {
        char *end;
        double d;

        if (json_is_number(v))
                return json_number_value(v);
        if (!json_is_string(v))
                return def;
        d = strtod(json_string_value(v), &end);
        return end != json_string_value(v) && *end == 0 && isfinite(d) ? d : def;
}

bool setting_bool(json_t *v, bool def) {
        const char *s = json_string_value(v);

        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_integer(v))
                return json_integer_value(v) != 0;
        if (s && (streq(s, "true") || streq(s, "True") || streq(s, "1") || streq(s, "yes")))
                return true;
        if (s && (streq(s, "false") || streq(s, "False") || streq(s, "0") || streq(s, "no")))
                return false;
        return def;
}

/* --- Loading and claiming -------------------------------------------------------------- */

/* What the job learns from its run's row, j->row. */
static int job_use_row(Job *j) {
        int r;

        j->node = json_object_get(j->info.nodes, j->row.node_id);
        j->component_type = json_get_string(j->node, "component_type", NULL);
        if (!j->component_type)
                return -EBADMSG;

        if (!isempty(j->row.iteration)) {
                r = scope_parse(j->row.iteration, &j->loop_outer, &j->loop_id, &j->loop_index);
                if (r < 0)
                        return r;
        }
        return 0;
}

int job_load_run(Job *j, int64_t node_run_id) {
        int r;

        /* Inside a commit (a quick node run inline) the run is usually in the mirror. */
        r = j->mirror ? run_mirror_get(j->mirror, j->db, node_run_id, &j->row)
                      : store_node_run_get(j->db, node_run_id, &j->row);
        if (r < 0)
                return r;
        return job_use_row(j);
}

/* The job's execution, from the cache. */
static int job_load_execution(Job *j) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = execution_cache_get(j->engine->executions, j->db, j->broker_job.execution_id, &j->execution, &error);
        if (r < 0) {
                if (error)
                        log_execution(LOG_ERR, NULL, j->broker_job.execution_id, NULL, NULL,
                                      "Execution %s has an unreadable graph: %s", j->broker_job.execution_id, error);
                return r;
        }
        j->info = j->execution->info;
        j->topology = j->execution->topology;
        return 0;
}

static int job_load(Job *j) {
        int r = job_load_execution(j);

        return r < 0 ? r : job_load_run(j, j->broker_job.node_run_id);
}

void run_rows_done(RunRows *r) {
        if (!r->borrowed)
                node_run_rows_free(r->rows, r->n);
        *r = (RunRows) {};
}

int job_node_runs(Job *j, const NodeRunFilter *filter, RunRows *ret) {
        int r;

        if (!j->mirror || !j->mirror->enabled) {
                *ret = (RunRows) {};
                return store_node_runs_list(j->db, j->info.id, filter, &ret->rows, &ret->n);
        }
        r = run_mirror_load(j->mirror, j->db);
        if (r < 0)
                return r;
        *ret = (RunRows) { .rows = j->mirror->rows, .n = j->mirror->n, .borrowed = true };
        return 0;
}

ComponentKind job_kind(const Job *j) {
        const Component *c = component_find(j->component_type);

        return c && !job_pauses(j) && !job_interrupts_after(j) ? c->kind : COMPONENT_CLAIMED;
}

unsigned job_max_attempts(const Job *j) {
        double retries = setting_number(job_setting(j, "retries"), NODE_RETRIES_DEFAULT);

        return (unsigned) MIN(MAX(retries, 0.0), (double) NODE_RETRIES_MAX) + 1;
}

/* A job for a parked run comes at its deadline: the execution's, or the expiry of its
 * question. Anything earlier (enqueued twice) is put back. */
static int job_parked_due(Job *j, NodeRunStatus parked, usec_t due, usec_t now) {
        if (j->deadline > 0 && now >= j->deadline)
                return commit_timeout(j, false);
        if (parked == NODE_RUN_PAUSED && due > 0 && now >= due)
                return commit_expired(j) < 0 ? -EIO : 0;
        if (due > now)
                engine_enqueue(j->engine, j->info.id, &j->row.id, 1,
                               j->deadline > 0 ? MIN(due, j->deadline) : due);
        else if (j->deadline > 0)
                engine_enqueue(j->engine, j->info.id, &j->row.id, 1, j->deadline);
        return 0;
}

/* 1: claimed and ready to run; 0: nothing to do (already taken, cancelled, over); <0. */
static int job_claim(Job *j) {
        ExecutionState state;
        NodeRunRow fresh = {};
        usec_t now = now_realtime_usec();
        int r;

        r = db_begin(j->db);
        if (r < 0)
                return r;
        r = store_execution_lock(j->db, j->info.id, &state);
        if (r < 0)
                goto drop;
        j->deadline = state.deadline;
        if (!execution_status_is_live(state.status))
                goto drop;

        r = store_node_run_get(j->db, j->row.id, &fresh);
        if (r < 0)
                goto drop;
        j->row.attempt = fresh.attempt;
        if (fresh.status == NODE_RUN_PAUSED || fresh.status == NODE_RUN_AWAITING) {
                NodeRunStatus parked = fresh.status;
                usec_t due = fresh.run_after;

                node_run_row_done(&fresh);
                (void) db_rollback(j->db);
                return job_parked_due(j, parked, due, now);
        }
        if (fresh.status != NODE_RUN_QUEUED) {
                node_run_row_done(&fresh);
                goto drop;
        }
        node_run_row_done(&fresh);

        if (j->deadline > 0 && now >= j->deadline) {
                (void) db_rollback(j->db);
                return commit_timeout(j, false);
        }
        /* Taken early (enqueued twice): it comes back when it is due. */
        if (j->row.run_after > now + 1000) {
                (void) db_rollback(j->db);
                engine_enqueue(j->engine, j->info.id, &j->row.id, 1, j->row.run_after);
                return 0;
        }
        if (j->row.attempt >= job_max_attempts(j)) {
                NodeOutcome o = {
                        .error = "The node was interrupted (the daemon stopped) and has no attempts left",
                        .error_code = "interrupted",
                };

                (void) db_rollback(j->db);
                return commit_failure(j, &o) < 0 ? -EIO : 0;
        }

        r = store_node_run_claim(j->db, j->row.id, state.status != EXECUTION_RUNNING);
        if (r == -ESTALE)
                goto drop;
        if (r < 0)
                goto fail;
        r = db_commit(j->db);
        if (r < 0)
                goto fail;
        j->row.attempt++;
        return 1;

drop:
        (void) db_rollback(j->db);
        return r == -ENOENT || r == -ESTALE || r >= 0 ? 0 : r;
fail:
        (void) db_rollback(j->db);
        return r;
}

/* A quick node run needs no claim before it runs: its commit claims it, and finds out then
 * whether another worker or a cancel came first. What job_claim() checks under the lock is
 * looked at on the row read by job_load(); anything unusual takes the claimed path. */
static int job_take_unclaimed(Job *j) {
        usec_t now = now_realtime_usec();

        j->deadline = j->info.deadline;
        if (j->row.status != NODE_RUN_QUEUED || j->row.attempt >= job_max_attempts(j) ||
            (j->deadline > 0 && now >= j->deadline))
                return job_claim(j);
        if (j->row.run_after > now + 1000) {
                engine_enqueue(j->engine, j->info.id, &j->row.id, 1, j->row.run_after);
                return 0;
        }
        /* The attempt it will be recorded as. */
        j->row.attempt++;
        j->claim_at_commit = true;
        return 1;
}

/* A COMPONENT_PURE run taking a while (node_run_taking_long()): claimed now, in a
 * transaction of its own on this worker while the component waits. When a cancel or another
 * worker came first, the run goes on unclaimed and its commit finds that out. */
static void job_claim_late(NodeRun *run) {
        Job *j = run->claim_late_data;
        ExecutionState state;
        int r;

        r = db_begin(j->db);
        if (r < 0)
                return;
        /* Not created yet: now it is, claimed, so the API shows the run. */
        if (j->start)
                r = job_create_execution(j);
        else if ((r = store_execution_lock(j->db, j->info.id, &state)) >= 0 &&
                 execution_status_is_live(state.status))
                r = store_node_run_claim(j->db, j->row.id, state.status != EXECUTION_RUNNING);
        else if (r >= 0)
                r = -ESTALE;
        if (r >= 0)
                r = db_commit(j->db);
        if (r < 0) {
                (void) db_rollback(j->db);
                return;
        }
        j->claim_at_commit = false;
        j->start = NULL;
}

/* --- Preparing ------------------------------------------------------------------------------ */

/* {item, index, total} of the innermost loop, from its run's stored items. */
static json_t *job_loop_context(const Job *j, const NodeRunRow *rows, size_t n) {
        for (size_t i = 0; j->loop_id && i < n; i++) {
                json_t *items;

                if (!streq(rows[i].node_id, j->loop_id) || !streq(rows[i].iteration, j->loop_outer))
                        continue;
                items = json_object_get(rows[i].output, "items");
                return json_pack("{s:O, s:I, s:I}", "item", json_array_get(items, j->loop_index) ?: json_null(),
                                 "index", (json_int_t) j->loop_index, "total", (json_int_t) json_array_size(items));
        }
        return NULL;
}

/* Program text reaches its data through variables (code: input, trigger…; transform: "."):
 * rendering it as a template would splice data into a program, and "{{" is legal in both. */
static const struct {
        const char *component_type, *key;
} verbatim_keys[] = {
        { "code", "code" },
        { "transform", "program" },
};

/* The node's config with system_prompt and extra_config rendered against context. */
static int job_render_config(const Job *j, json_t *context, json_t **ret, TemplateError *error) {
        _cleanup_json_ json_t *config = NULL, *templates = NULL, *rendered = NULL, *extra = NULL;
        json_t *stored = json_object_get(j->node, "config"), *stored_extra;
        const char *type = j->component_type;
        int r;

        stored_extra = json_object_get(stored, "extra_config");
        extra = json_is_object(stored_extra) ? json_copy(stored_extra) : json_object();
        if (!extra)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(verbatim_keys); i++)
                if (streq_ptr(type, verbatim_keys[i].component_type))
                        (void) json_object_del(extra, verbatim_keys[i].key);

        templates = json_pack("{s:O, s:O}", "system_prompt", json_object_get(stored, "system_prompt") ?: json_null(),
                              "extra_config", extra);
        config = json_is_object(stored) ? json_copy(stored) : json_object();
        if (!templates || !config)
                return -ENOMEM;

        r = template_render_json(templates, context, &rendered, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(verbatim_keys); i++) {
                json_t *v = json_object_get(stored_extra, verbatim_keys[i].key);

                if (v && streq_ptr(type, verbatim_keys[i].component_type) &&
                    json_object_set(json_object_get(rendered, "extra_config"), verbatim_keys[i].key, v) < 0)
                        return -ENOMEM;
        }
        if (json_object_update(config, rendered) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(config);
        return 0;
}

/* Fills run's inputs. On a template error, *ret_error gets the message. */
static int job_prepare(Job *j, NodeRun *run, char **ret_error) {
        _cleanup_(scope_chain_freep) char **chain = scope_chain(j->row.iteration);
        _cleanup_json_ json_t *loop = NULL;
        _cleanup_(run_rows_done) RunRows runs = {};
        TemplateError error = {};
        int r;

        if (!chain)
                return -ENOMEM;
        /* Only the runs this scope can see: not every iteration of a loop. */
        r = job_node_runs(j, &(NodeRunFilter) { .iterations = (const char *const *) chain, .with_outputs = true },
                          &runs);
        if (r < 0)
                return r;
        loop = job_loop_context(j, runs.rows, runs.n);
        run->context = scope_context(j->info.trigger_payload, j->info.trigger_node_id, runs.rows, runs.n,
                                     j->row.iteration, loop);
        if (!run->context)
                return -ENOMEM;
        run->input = scope_input(j->topology, j->row.node_id, run->context, j->loop_id);
        if (!run->input)
                return -ENOMEM;

        r = job_render_config(j, run->context, &run->config, &error);
        if (r == -EINVAL || r == -E2BIG) {
                *ret_error = TAKE_PTR(error.message);
                return 0;
        }
        template_error_done(&error);
        return r;
}

/* The monotonic time of the realtime deadline. */
static usec_t monotonic_deadline(usec_t deadline) {
        usec_t now = now_realtime_usec(), mono = now_monotonic_usec();

        if (deadline == 0)
                return 0;
        return deadline > now ? mono + (deadline - now) : mono;
}

/* Checks a successful run's output; on a problem fills o with a failure and returns false. */
static bool job_output_acceptable(const Job *j, NodeRun *run, NodeOutcome *o, char **message) {
        size_t size = 0;
        char *text;

        if (!run->output)
                run->output = json_object();
        if (!json_is_object(run->output)) {
                o->error = "The component produced an output that is not an object";
                o->error_code = "internal";
                return false;
        }
        text = json_write(run->output, &size);
        free(text);
        if (!text) {
                o->error = "Out of memory";
                o->error_code = "internal";
                return false;
        }
        if (size > j->engine->max_output_size) {
                if (asprintf(message, "The node's output is %zu bytes, more than the limit of %zu "
                             "(MaxNodeOutputSize=)", size, j->engine->max_output_size) < 0)
                        *message = NULL;
                o->error = *message ?: "The node's output is too large";
                o->error_code = "output_too_large";
                return false;
        }
        return true;
}

/* The work is done: commit it, trying again while the database is busy or the connection
 * broke, since the node's effect happened and should not be run again for nothing. */
static int job_commit(Job *j, const NodeOutcome *o) {
        int r;

        for (unsigned attempt = 1;; attempt++) {
                if (j->deadline > 0 && now_realtime_usec() >= j->deadline)
                        r = commit_timeout(j, true);
                else if (o->pause || o->child || o->children)
                        r = commit_park(j, o);
                else if (o->error)
                        r = commit_failure(j, o);
                else
                        r = commit_success(j, o);
                if (r == -ESTALE) {
                        log_debug("Node run %" PRIi64 " of execution %s was taken or cancelled while it ran; "
                                  "its result is dropped.", j->row.id, j->info.id);
                        return 0;
                }
                if ((r != -EBUSY && r != -EIO) || attempt >= COMMIT_ATTEMPTS)
                        return r;

                log_execution_errno(LOG_WARNING, r, j->info.workflow_slug, j->info.id, j->row.node_id, NULL,
                                    "Cannot commit node '%s' of execution %s (%s), trying again: %m",
                                    j->row.node_id, j->info.id, db_last_error(j->db));
                (void) usleep(attempt * COMMIT_RETRY_USEC);
                if (r == -EIO) {
                        /* A broken connection: a new one, or give up (the next start runs
                         * the node again). */
                        r = engine_worker_reconnect(j->worker);
                        j->db = j->worker->db;
                        if (r < 0)
                                return r;
                }
        }
}

/* Pauses and subworkflows. 1 when o now says what happens instead of the component: the
 * run parks (a question, a child execution to wait for) or cannot start its child; 0 when
 * the component runs, with the answer it was resumed with or the child that ended. */
/* A node with interrupt_after that paused once has its output kept in its run: answered,
 * it goes on with that output instead of running again. 1 when o now holds it. */
static int job_resume_after(Job *j, JobResult *res) {
        const char *const iterations[] = { j->row.iteration, NULL }, *const node_ids[] = { j->row.node_id, NULL };
        NodeRunRow *rows = NULL;
        size_t n = 0;
        int r;

        if (!job_interrupts_after(j) || !res->run.resume_input)
                return 0;
        r = store_node_runs_list(j->db, j->info.id, &(NodeRunFilter) {
                .iterations = iterations, .node_ids = node_ids, .with_outputs = true }, &rows, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (rows[i].id == j->row.id && rows[i].output) {
                        res->kept_output = TAKE_PTR(rows[i].output);
                        res->kept_route = TAKE_PTR(rows[i].route);
                }
        node_run_rows_free(rows, n);
        if (!res->kept_output)
                return 0;
        res->outcome = (NodeOutcome) {
                .output = res->kept_output,
                .route = res->kept_route,
                .resumed_after = true,
        };
        return 1;
}

/* Pauses and subworkflows. 1 when o now says what happens instead of the component: the
 * run parks (a question, a child execution to wait for) or cannot start its child, or
 * goes on with the output it paused after; 0 when the component runs, with the answer it
 * was resumed with or the child (or children, spawn.c) that ended. */
static int job_park(Job *j, JobResult *res) {
        _cleanup_(child_execution_done) ChildExecution child = {};
        ChildStart **ret_child = &res->child;
        char **ret_text = &res->park_text;
        NodeOutcome *o = &res->outcome;
        NodeRun *run = &res->run;
        const char *error_code = NULL;
        int r;

        if (job_pauses(j) || job_interrupts_after(j)) {
                r = store_node_run_resume_input(j->db, j->row.id, &run->resume_input);
                if (r < 0)
                        return r;
        }
        r = job_resume_after(j, res);
        if (r != 0)
                return r;
        if (job_pauses(j) && !run->resume_input) {
                r = confirmation_prepare(j, run, ret_text, &o->expires_at);
                if (r < 0)
                        return r;
                o->pause = true;
                o->prompt = *ret_text;
                return 1;
        }
        if (!streq(j->component_type, "workflow"))
                return spawn_resume(j, res);

        r = store_execution_child_of(j->db, j->row.id, &child);
        if (r >= 0 && !execution_status_is_live(child.status)) {
                run->child_result = json_pack("{s:s, s:s, s:s, s:O?, s:s?, s:s?}", "execution_id", child.id,
                                              "workflow_slug", child.workflow_slug,
                                              "status", execution_status_to_string(child.status),
                                              "final_output", child.final_output,
                                              "error_message", child.error_message, "error_code", child.error_code);
                return run->child_result ? 0 : -ENOMEM;
        }
        if (r >= 0) {
                /* Its child still runs (the run was queued twice): wait for it again. */
                *ret_child = calloc(1, sizeof(ChildStart));
                if (!*ret_child)
                        return -ENOMEM;
                (*ret_child)->existing = true;
                memcpy((*ret_child)->id, child.id, sizeof child.id);
                o->child = *ret_child;
                return 1;
        }
        if (r != -ENOENT)
                return r;

        r = subworkflow_prepare(j, run, ret_child, ret_text, &error_code);
        if (r == -EINVAL) {
                o->error = *ret_text ?: "Cannot start the child execution";
                o->error_code = error_code ?: "config";
                o->retryable = false;
                return 1;
        }
        if (r < 0)
                return r;
        o->child = *ret_child;
        return 1;
}

void job_result_done(JobResult *res) {
        /* Dropped while suspended (the daemon stops): its state goes with it. */
        if (res->run.suspended_state && res->run.suspended_free)
                res->run.suspended_free(res->run.suspended_state);
        suspension_drop(res->run.waker);
        node_run_row_done(&res->row);
        json_decref(res->run.config);
        json_decref(res->run.context);
        json_decref(res->run.input);
        json_decref(res->run.resume_input);
        json_decref(res->run.child_result);
        json_decref(res->run.awaited_state);
        json_decref(res->run.children_results);
        node_run_done(&res->run);
        free(res->message);
        free(res->template_error);
        free(res->park_text);
        json_decref(res->kept_output);
        free(res->kept_route);
        child_start_free(res->child);
        child_batch_free(res->children);
        cached_execution_unref(res->pinned);
        *res = (JobResult) {};
}

_printf_(3, 4)
static const char *result_message(JobResult *res, const char *fallback, const char *format, ...) {
        va_list ap;

        free(res->message);
        va_start(ap, format);
        if (vasprintf(&res->message, format, ap) < 0)
                res->message = NULL;
        va_end(ap);
        return res->message ?: fallback;
}

int job_execute(Job *j, JobResult *res) {
        const Component *component = component_find(j->component_type);
        NodeOutcome *o = &res->outcome;
        NodeRun *run = &res->run;
        int r;

        res->started = now_monotonic_usec();

        *run = (NodeRun) {
                .execution_id = j->info.id,
                .workflow_slug = j->info.workflow_slug,
                .root_execution_id = j->info.root_execution_id,
                .root_workflow_slug = j->info.root_workflow_slug,
                .root_node_id = j->info.root_node_id,
                .workflow_id = j->info.workflow_id,
                .user_id = j->info.user_id,
                .node_id = j->row.node_id,
                .component_type = j->component_type,
                .attempt = j->row.attempt,
                .cancelled = &j->worker->cancelled,
                .deadline = monotonic_deadline(j->deadline),
                .max_output_size = j->engine->max_output_size,
                .attachments = json_object_get(j->node, "attachments"),
                .db = j->db,
                .vault = j->engine->vault,
                .llm = j->engine->llm,
                .prices = j->engine->prices,
                .platform = j->engine->platform,
                .depth = j->info.depth,
                .max_depth = j->engine->max_subworkflow_depth,
                .retryable = true,
        };
        if (j->claim_at_commit && component && component->kind == COMPONENT_PURE) {
                run->claim_late = job_claim_late;
                run->claim_late_data = j;
        }
        *o = (NodeOutcome) { .retryable = false };

        r = job_prepare(j, run, &res->template_error);
        if (r < 0) {
                o->error = result_message(res, "Cannot prepare the node", "Cannot prepare the node: %s", strerror(-r));
                o->error_code = "internal";
                o->retryable = true;
        } else if (res->template_error) {
                o->error = res->template_error;
                o->error_code = "template";
        } else if (!component) {
                o->error = result_message(res, "This component type cannot run yet", "component type '%s' cannot run yet",
                                          j->component_type);
                o->error_code = "not_implemented";
        } else if ((r = job_park(j, res)) < 0) {
                o->error = result_message(res, "Cannot prepare the node", "Cannot prepare the node: %s", strerror(-r));
                o->error_code = "internal";
                o->retryable = true;
        } else if (r == 0) {
                if (component->resume) {
                        run->waker = suspension_new(j);
                        if (!run->waker)
                                return -ENOMEM;
                }
                r = component->run(run);
                return job_component_ended(j, res, r);
        }

        o->input = run->input;
        o->duration_ms = (now_monotonic_usec() - res->started) / 1000;
        return 0;
}

int job_component_ended(Job *j, JobResult *res, int r) {
        NodeOutcome *o = &res->outcome;
        NodeRun *run = &res->run;

        if (run->suspended_state && r >= 0) {
                /* A call answered before this wait (a retry's first answer, say) goes into
                 * the ledger now, while the next is on its way: held over the wait, it
                 * would be lost when the run is dropped (the daemon stops, the execution is
                 * deleted). */
                budget_record_kept(run, &run->ledger_at_commit);
                /* It waits without this worker: the commit comes after its resume, which
                 * needs its row as it is now (nothing changes it while the run waits). */
                res->row = j->row;
                j->row = (NodeRunRow) {};
                suspension_park(run->waker, j, res);
                return JOB_SUSPENDED;
        }
        suspension_drop(run->waker);
        run->waker = NULL;

        /* Stopped by engine_stop(): not committed, it runs again after the restart. */
        if (j->worker->interrupted && (r < 0 || run->error)) {
                res->interrupted = true;
                return 0;
        }
        if (r >= 0 && !run->error && run->await_state) {
                /* It waits for children: the commit starts them and parks it. */
                r = spawn_prepare(j, run, &res->children);
                if (r >= 0)
                        o->children = res->children;
                else if (r == -E2BIG) {
                        o->error = result_message(res, "The node's state is too large", "The state the node keeps "
                                                  "while its children run is larger than the limit of %zu bytes "
                                                  "(MaxNodeOutputSize=)", j->engine->max_output_size);
                        o->error_code = "output_too_large";
                } else {
                        o->error = result_message(res, "Cannot prepare the child executions",
                                                  "Cannot prepare the child executions: %s", strerror(-r));
                        o->error_code = "internal";
                        o->retryable = true;
                }
        } else if (r >= 0 && !run->error && job_output_acceptable(j, run, o, &res->message)) {
                *o = (NodeOutcome) {
                        .output = run->output,
                        .route = run->route,
                        .delay_usec = run->delay_usec,
                        .loop_items = run->loop_items,
                        .ledger_entry = run->ledger_at_commit,
                };
                /* interrupt_after: the output is kept, the question asked. */
                if (job_interrupts_after(j)) {
                        r = confirmation_prepare(j, run, &res->park_text, &o->expires_at);
                        if (r < 0)
                                return r;
                        o->pause_after = true;
                        o->prompt = res->park_text;
                }
        } else if (!o->error) {
                o->error = run->error ?: "The component failed without saying why";
                o->error_code = run->error_code ?: "error";
                o->retryable = run->retryable;
        }

        o->input = run->input;
        o->duration_ms = (now_monotonic_usec() - res->started) / 1000;
        return 0;
}

/* Commits the outcome of a run that ended (r: how job_component_ended() went), unless
 * it was interrupted. A ledger entry its commit did not take is written alone: the call
 * was made whatever became of the run. */
static int job_commit_result(Job *j, JobResult *res, int r) {
        j->ledger_written = false;
        if (r >= 0 && !res->interrupted)
                r = job_commit(j, &res->outcome);
        if (j->ledger_written)
                res->run.ledger_at_commit = budget_ledger_entry_free(res->run.ledger_at_commit);
        else
                budget_record_kept(&res->run, &res->run.ledger_at_commit);
        return r;
}

static int job_run(Job *j) {
        _cleanup_(job_result_done) JobResult res = {};
        int r;

        if (events_wanted("node_status")) {
                (void) job_add_event(j, "node_status", job_node_status(j, j->row.node_id, j->row.iteration, "running"));
                job_after_commit(j);
        }

        r = job_execute(j, &res);
        if (r == JOB_SUSPENDED)
                return 0;
        return job_commit_result(j, &res, r);
}

/* A suspended run was woken: its component goes on, on this worker. */
static int job_resume(Job *j, NodeRunWaker *waker) {
        _cleanup_(job_result_done) JobResult res = {};
        const Component *component;
        bool cancelled;
        void *state;
        int r;

        suspension_unpark(waker, &res, &cancelled);
        j->row = res.row;
        res.row = (NodeRunRow) {};
        r = job_use_row(j);
        if (r < 0)
                return r;
        component = component_find(j->component_type);
        res.run.waker = suspension_new(j);
        if (!res.run.waker || !component || !component->resume)
                return -ENOMEM;
        res.run.cancelled = &j->worker->cancelled;
        res.run.db = j->db;
        res.run.node_id = j->row.node_id;
        res.run.attempt = j->row.attempt;
        res.run.deadline = monotonic_deadline(j->deadline);
        state = TAKE_PTR(res.run.suspended_state);

        if (cancelled)
                j->worker->cancelled = true;
        r = component->resume(&res.run, state);
        r = job_component_ended(j, &res, r);
        if (r == JOB_SUSPENDED)
                return 0;
        if (j->deadline == 0)
                j->deadline = j->info.deadline;
        return job_commit_result(j, &res, r);
}

/* Points a job of an execution not created yet at its entry node: 0 when it can run before
 * the execution exists, -EOPNOTSUPP when not. */
static int job_load_first(Job *j, const char *id) {
        _cleanup_free_ char *error = NULL;
        const char *node_id = j->start->step.run[0];
        int r;

        if (j->start->step.n_run != 1)
                return -EOPNOTSUPP;
        /* A dedicated worker's workflow runs there. */
        if (j->engine->hooks.routing && j->engine->hooks.routing(j->engine->hooks.userdata))
                return -EOPNOTSUPP;
        r = execution_start_cache(j->engine, j->start_request, j->start, id);
        if (r >= 0)
                r = execution_cache_get(j->engine->executions, j->db, id, &j->execution, &error);
        if (r < 0)
                return r;
        j->info = j->execution->info;
        j->topology = j->execution->topology;
        j->node = json_object_get(j->info.nodes, node_id);
        j->component_type = json_get_string(j->node, "component_type", NULL);
        j->row = (NodeRunRow) {
                .execution_id = strdup(id),
                .node_id = strdup(node_id),
                .iteration = strdup(""),
                .status = NODE_RUN_QUEUED,
        };
        if (!j->row.execution_id || !j->row.node_id || !j->row.iteration)
                return -ENOMEM;
        if (!j->component_type || job_kind(j) == COMPONENT_CLAIMED)
                return -EOPNOTSUPP;

        memcpy(j->broker_job.execution_id, id, EXECUTION_ID_LEN + 1);
        j->deadline = j->info.deadline;
        /* Its template context: the trigger, and no node run yet. */
        j->own_mirror = (RunMirror) { .execution_id = j->info.id, .enabled = true, .loaded = true };
        j->mirror = &j->own_mirror;
        j->row.attempt = 1;
        j->claim_at_commit = true;
        return 0;
}

int orchestrator_run_first(Worker *w, const EngineRequest *req, ExecutionStart *s, const char *id) {
        Job j = {
                .engine = w->engine,
                .worker = w,
                .db = w->db,
                .start_request = req,
                .start = s,
        };
        int r;

        r = job_load_first(&j, id);
        if (r < 0) {
                execution_cache_drop(w->engine->executions, id);
                job_done(&j);
                return 0;
        }

        execution_start_publish(req, s, id);
        engine_worker_begin(w, id);
        r = job_run(&j);
        engine_worker_end(w);
        if (r >= 0 && j.start)
                r = -EIO;       /* interrupted by engine_stop(): nothing was created */
        if (r < 0) {
                log_execution_errno(LOG_ERR, r, j.info.workflow_slug, id, j.row.node_id, NULL,
                                    "Cannot create execution %s: %m (%s)", id, db_last_error(j.db));
                execution_cache_drop(w->engine->executions, id);
        }
        job_done(&j);
        return r < 0 ? r : 1;
}

static int run_job(Worker *w, const BrokerJob *broker_job) {
        Job j = {
                .engine = w->engine,
                .worker = w,
                .db = w->db,
                .broker_job = *broker_job,
        };
        NodeRunWaker *waker;
        bool waiting = false;
        int r;

        /* A suspended run: resumed once woken; until then its job is a stray copy. */
        waker = suspension_take(w->engine, broker_job->node_run_id, &waiting);
        if (waiting)
                return 0;
        if (waker) {
                /* The waker has the run's row. */
                r = job_load_execution(&j);
                if (r >= 0) {
                        j.deadline = j.info.deadline;
                        r = job_resume(&j, waker);
                } else {
                        /* Its execution is gone: the run and its state go with the waker. */
                        _cleanup_(job_result_done) JobResult res = {};
                        bool cancelled;

                        suspension_unpark(waker, &res, &cancelled);
                }
                if (r < 0)
                        log_execution_errno(LOG_ERR, r, j.info.workflow_slug, broker_job->execution_id, NULL, NULL,
                                            "Node run %" PRIi64 " of execution %s cannot resume: %m (%s)",
                                            broker_job->node_run_id, broker_job->execution_id, db_last_error(j.db));
                job_done(&j);
                return 0;
        }

        r = job_load(&j);
        if (r >= 0)
                r = job_kind(&j) == COMPONENT_CLAIMED ? job_claim(&j) : job_take_unclaimed(&j);
        if (r == -ENOENT || r == 0) {
                /* Deleted, already taken, or over: nothing to do. */
                job_done(&j);
                return 0;
        }
        if (r == -EBUSY || r == -EIO) {
                /* Nothing changed yet: the job comes back. */
                log_execution_errno(LOG_WARNING, r, j.info.workflow_slug, broker_job->execution_id, NULL, NULL,
                                    "Cannot take node run %" PRIi64 " of execution %s, trying again later: %m (%s)",
                                    broker_job->node_run_id, broker_job->execution_id, db_last_error(j.db));
                job_done(&j);
                return -EAGAIN;
        }
        if (r < 0) {
                log_execution_errno(LOG_ERR, r, j.info.workflow_slug, broker_job->execution_id, NULL, NULL,
                                    "Cannot take node run %" PRIi64 " of execution %s: %m", broker_job->node_run_id,
                                    broker_job->execution_id);
                job_done(&j);
                return 0;
        }

        r = job_run(&j);
        /* The node run stays running in the database; the next start runs it again. */
        if (r < 0)
                log_execution_errno(LOG_ERR, r, j.info.workflow_slug, j.info.id, j.row.node_id, NULL,
                                    "Node '%s' of execution %s: %m (%s)", j.row.node_id, j.info.id,
                                    db_last_error(j.db));
        job_done(&j);
        return 0;
}

int orchestrator_run_job(Worker *w, const BrokerJob *broker_job) {
        int r;

        /* Marked as running the execution from before the job's claim (or its resume's
         * take) until its run was committed or parked: a cancel from then on finds this
         * worker (engine_interrupt(), suspension_park()), one before finds the execution
         * over when the job claims it. */
        engine_worker_begin(w, broker_job->execution_id);
        r = run_job(w, broker_job);
        engine_worker_end(w);
        return r;
}
