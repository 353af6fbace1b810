/* Spend limits applied to model calls. A component that calls a model asks budget_check()
 * before each call and tells budget_record() after each answer; budget_cost() prices an
 * answer with the daemon's price table (run->prices). To save a write, an answer may
 * instead go into the node's commit (budget_record_at_commit()) or wait for the next call
 * to be on its way (budget_keep(), with budget_check_with() counting it meanwhile).
 *
 * Limits are per workflow (settings.budget) and per user (set by an admin): tokens and USD
 * per UTC day and per UTC month, counted in the usage ledger (store-usage.h). The user is
 * the one who started the run, else the workflow's owner.
 *
 * Concurrency: the check reads what was spent and the call is made after it, so agents of
 * the same workflow or user that check at the same moment may each make one more call than
 * the budget has left: a budget can be overshot by one call per agent running at once,
 * never by more. */
#pragma once

#include <stdbool.h>

#include "engine/budget-limits.h"
#include "engine/component.h"
#include "llm/llm.h"
#include "store/store-usage.h"

/* An answered call kept out of the ledger for a moment: a looping agent records it once
 * its next call is on its way, so that the write does not delay that call. */
typedef struct BudgetUnrecorded {
        bool set;
        char *model;
        LlmUsage usage;
        double cost_usd;
} BudgetUnrecorded;

/* 0: the call may be made. Otherwise the run fails (error_code "budget_exceeded", not
 * retried) with a message naming the limit, the period, what was spent and what is
 * allowed, a budget_exceeded event goes to the workflow's channels, and the (negative)
 * code is returned: the component returns it without calling the model. A database error
 * fails the run too ("internal"; retried). Without run->db (a component run alone)
 * nothing is checked. */
int budget_check(NodeRun *run);
/* The same, counting unrecorded (may be NULL) as if it were in the ledger already. */
int budget_check_with(NodeRun *run, const BudgetUnrecorded *unrecorded);

/* Adds one answered call of model to the ledger: its usage and cost_usd (from
 * budget_cost()). A failure is logged and returned; the call was made, so the component
 * goes on. */
int budget_record(NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd);
/* Keeps the call in u (empty before) for budget_record_kept(); -ENOMEM records it now. */
int budget_keep(NodeRun *run, BudgetUnrecorded *u, const char *model, const LlmUsage *usage, double cost_usd);
/* Records the call kept in u, if any, and empties u. */
void budget_record_kept(NodeRun *run, BudgetUnrecorded *u);

/* A model call whose ledger entry goes into the transaction that commits its node's
 * success (record_success()), one write transaction fewer than a write of its own; any
 * other end of the run writes it alone (job_ledger_write_alone()). */
typedef struct BudgetLedgerEntry {
        UsageCall call;
        char day[BUDGET_DAY_BUFSZ];
        char *model;
} BudgetLedgerEntry;

/* Leaves the call in run->ledger_at_commit; records it now when one is there already, or
 * on ENOMEM. */
int budget_record_at_commit(NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd);
BudgetLedgerEntry *budget_ledger_entry_free(BudgetLedgerEntry *e);

/* What usage of model cost under the daemon's price table; *ret_known (may be NULL) is
 * false when the table has no price for model (the cost is then 0). */
double budget_cost(const NodeRun *run, const char *model, const LlmUsage *usage, bool *ret_known);
