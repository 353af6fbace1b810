/* Spend limits applied to model calls: the check before a call, the ledger after it. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/log.h"
#include "common/message-ids.h"
#include "engine/budget-limits.h"
#include "engine/budget.h"
#include "engine/events.h"
#include "engine/prices.h"
#include "store/store-usage.h"

double budget_cost(const NodeRun *run, const char *model, const LlmUsage *usage, bool *ret_known) {
        return price_table_cost(run->prices, model, usage, ret_known);
}

/* The ledger's record of a call answered now. */
static UsageCall usage_call(const NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd,
                            char day[static BUDGET_DAY_BUFSZ]) {
        return (UsageCall) {
                .day = budget_day(now_realtime_usec(), day),
                .workflow_id = run->workflow_id,
                .user_id = run->user_id,
                .model = model,
                .input_tokens = usage->input_tokens,
                .output_tokens = usage->output_tokens,
                .cost_usd = cost_usd,
                .cost_known = price_table_find(run->prices, model) != NULL,
        };
}

static int ledger_write(NodeRun *run, const UsageCall *call) {
        int r = store_usage_add(run->db, call);

        if (r < 0)
                log_execution_errno(LOG_WARNING, r, run->workflow_slug, run->execution_id, run->node_id, NULL,
                                    "Execution %s, node %s: cannot add a model call to the usage ledger: %m (%s)",
                                    run->execution_id, run->node_id, db_last_error(run->db));
        return r;
}

int budget_record(NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd) {
        char day[BUDGET_DAY_BUFSZ];
        UsageCall call;

        if (!run->db || run->workflow_id <= 0 || !usage)
                return 0;
        call = usage_call(run, model, usage, cost_usd, day);
        return ledger_write(run, &call);
}

int budget_keep(NodeRun *run, BudgetLedgerEntry **slot, const char *model, const LlmUsage *usage,
                double cost_usd) {
        BudgetLedgerEntry *e;

        if (!run->db || run->workflow_id <= 0 || !usage)
                return 0;
        e = *slot ? NULL : calloc(1, sizeof(BudgetLedgerEntry));
        if (e && model && !(e->model = strdup(model)))
                e = budget_ledger_entry_free(e);
        if (!e)
                return budget_record(run, model, usage, cost_usd);
        e->call = usage_call(run, e->model, usage, cost_usd, e->day);
        *slot = e;
        return 0;
}

void budget_record_kept(NodeRun *run, BudgetLedgerEntry **slot) {
        if (!*slot)
                return;
        (void) ledger_write(run, &(*slot)->call);
        *slot = budget_ledger_entry_free(*slot);
}

int budget_record_at_commit(NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd) {
        /* Only a run the engine commits has a commit to go into; the engine gives every run
         * that may suspend a waker. */
        if (!run->waker)
                return budget_record(run, model, usage, cost_usd);
        return budget_keep(run, &run->ledger_at_commit, model, usage, cost_usd);
}

BudgetLedgerEntry *budget_ledger_entry_free(BudgetLedgerEntry *e) {
        if (e) {
                free(e->model);
                free(e);
        }
        return NULL;
}

typedef struct BudgetStop {
        UsageScope scope;
        BudgetLimitKind kind;
        const BudgetPeriod *period;
        BudgetSpent spent;
        double allowed;
} BudgetStop;

static double stop_spent(const BudgetStop *s) {
        return budget_limit_is_usd(s->kind) ? s->spent.usd : (double) s->spent.tokens;
}

static json_t *amount_json(const BudgetStop *s, double value) {
        return budget_limit_is_usd(s->kind) ? json_real(value) : json_integer((json_int_t) value);
}

static void publish_stop(NodeRun *run, const BudgetHolders *h, const BudgetStop *s) {
        char resets[TIMESTAMP_BUFSZ];
        json_t *data;

        if (!events_wanted("budget_exceeded"))
                return;
        data = json_pack("{s:s, s:I, s:s?, s:o, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s}",
                         "workflow", h->workflow_slug,
                         "workflow_id", (json_int_t) run->workflow_id,
                         "user", h->username,
                         "user_id", h->user_id > 0 ? json_integer(h->user_id) : json_null(),
                         "scope", s->scope == USAGE_USER ? "user" : "workflow",
                         "limit", budget_limit_to_string(s->kind),
                         "period", s->period->label,
                         "spent", amount_json(s, stop_spent(s)),
                         "allowed", amount_json(s, s->allowed),
                         "resets_at", timestamp_format(resets, s->period->resets_at),
                         "node_id", run->node_id,
                         "execution_id", run->execution_id);
        events_publish_workflow(run->workflow_slug, "budget_exceeded", run->execution_id, data);
}

static int budget_fail(NodeRun *run, const BudgetHolders *h, const BudgetStop *s) {
        char resets[TIMESTAMP_BUFSZ], who[300], amounts[160];
        bool monthly = budget_limit_is_monthly(s->kind);
        int r;

        if (s->scope == USAGE_USER)
                snprintf(who, sizeof who, "user '%s'", h->username ?: "");
        else
                snprintf(who, sizeof who, "workflow '%s'", h->workflow_slug);
        if (budget_limit_is_usd(s->kind))
                snprintf(amounts, sizeof amounts, "has spent $%.6g of its limit of $%.6g", s->spent.usd, s->allowed);
        else
                snprintf(amounts, sizeof amounts, "has used %" PRIi64 " tokens of its limit of %.0f tokens",
                         s->spent.tokens, s->allowed);

        publish_stop(run, h, s);
        r = node_run_fail(run, "budget_exceeded", "Budget exceeded: %s %s per %s (%s, UTC); no model call was "
                          "made. The limit resets at %s", who, amounts, monthly ? "month" : "day", s->period->label,
                          timestamp_format(resets, s->period->resets_at));
        run->retryable = false;
        log_execution(LOG_NOTICE, run->workflow_slug, run->execution_id, run->node_id, MESSAGE_ID_BUDGET_EXCEEDED,
                      "Execution %s, node %s: budget exceeded: %s %s per %s (%s, UTC).", run->execution_id,
                      run->node_id, who, amounts, monthly ? "month" : "day", s->period->label);
        return r;
}

static int fail_internal(NodeRun *run, int r) {
        return node_run_fail(run, "internal", "Cannot check the budgets: %s (%s)", strerror(-r),
                             db_last_error(run->db));
}

static void spent_add(BudgetSpent *spent, const BudgetLedgerEntry *e) {
        if (!e)
                return;
        spent->tokens += (int64_t) (e->call.input_tokens + e->call.output_tokens);
        spent->usd += e->call.cost_usd;
}

/* The limits of one holder (a workflow or a user) against its spend in the current day
 * and month, the run's calls not written yet included: unrecorded (may be NULL) and the
 * one left for its commit. */
static int check_holder(NodeRun *run, const BudgetHolders *h, UsageScope scope, int64_t id, json_t *budget,
                        const BudgetLedgerEntry *unrecorded, usec_t now) {
        BudgetPeriod periods[2];
        BudgetSpent spent[2] = {};
        bool counted[2] = {};
        BudgetLimitKind kind;
        BudgetLimits limits;
        int r;

        budget_limits_from_json(budget, &limits);
        if (!budget_limits_any(&limits))
                return 0;
        for (int monthly = 0; monthly < 2; monthly++) {
                UsageTotals t;

                if (!budget_limits_any_in(&limits, monthly))
                        continue;
                r = budget_period(now, monthly, &periods[monthly]);
                if (r >= 0)
                        r = store_usage_sum(run->db, scope, id, periods[monthly].first_day, periods[monthly].next_day,
                                            &t);
                if (r < 0)
                        return fail_internal(run, r);
                spent[monthly] = (BudgetSpent) { .tokens = t.total_tokens, .usd = t.cost_usd };
                spent_add(&spent[monthly], unrecorded);
                spent_add(&spent[monthly], run->ledger_at_commit);
                counted[monthly] = true;
        }

        r = budget_limits_reached(&limits, counted[0] ? &spent[0] : NULL, counted[1] ? &spent[1] : NULL, &kind);
        if (r == -ENOENT)
                return 0;
        return budget_fail(run, h, &(BudgetStop) {
                .scope = scope,
                .kind = kind,
                .period = &periods[budget_limit_is_monthly(kind)],
                .spent = spent[budget_limit_is_monthly(kind)],
                .allowed = limits.allowed[kind],
        });
}

int budget_check(NodeRun *run) {
        return budget_check_with(run, NULL);
}

int budget_check_with(NodeRun *run, const BudgetLedgerEntry *unrecorded) {
        _cleanup_(budget_holders_done) BudgetHolders h = {};
        usec_t now = now_realtime_usec();
        int r;

        if (!run->db || run->workflow_id <= 0)
                return 0;
        r = store_budget_holders(run->db, run->workflow_id, run->user_id, &h);
        if (r == -ENOENT)
                return 0;       /* the workflow was deleted while it ran: nothing to hold it to */
        if (r < 0)
                return fail_internal(run, r);

        r = check_holder(run, &h, USAGE_WORKFLOW, run->workflow_id, h.workflow_budget, unrecorded, now);
        if (r == 0 && h.user_id > 0)
                r = check_holder(run, &h, USAGE_USER, h.user_id, h.user_budget, unrecorded, now);
        return r;
}
