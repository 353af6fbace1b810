/* Spend limits applied to model calls. A component that calls a model asks budget_check()
 * before each call and tells budget_record() after each answer; budget_cost() prices an
 * answer with the daemon's price table (run->prices), and may leave its ledger entry to be
 * written later, with another write (BudgetLedgerEntry).
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

/* A model call's ledger entry, written later than its answer to save a write: with the
 * commit of its node's success (budget_record_at_commit()), or once an agent's next call is
 * on its way (budget_keep(); budget_check_with() counts it meanwhile). */
typedef struct BudgetLedgerEntry {
        UsageCall call;
        char day[BUDGET_DAY_BUFSZ];
        char *model;
} BudgetLedgerEntry;

/* 0: the call may be made. Otherwise the run fails (error_code "budget_exceeded", not
 * retried) with a message naming the limit, the period, what was spent and what is
 * allowed, a budget_exceeded event goes to the workflow's channels, and the (negative)
 * code is returned: the component returns it without calling the model. A database error
 * fails the run too ("internal"; retried). Without run->db (a component run alone)
 * nothing is checked. */
int budget_check(NodeRun *run);
/* The same, counting unrecorded (may be NULL) as if it were in the ledger already. Both
 * count the run's call left for its commit (run->ledger_at_commit). */
int budget_check_with(NodeRun *run, const BudgetLedgerEntry *unrecorded);

/* Adds one answered call of model to the ledger: its usage and cost_usd (from
 * budget_cost()). A failure is logged and returned; the call was made, so the component
 * goes on. */
int budget_record(NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd);
/* Keeps the call in *slot (empty before) to be written later; writes it now when *slot is
 * taken, or on ENOMEM. Without a database nothing is written, as with budget_record(). */
int budget_keep(NodeRun *run, BudgetLedgerEntry **slot, const char *model, const LlmUsage *usage,
                double cost_usd);
/* Writes the call kept in *slot, if any, and empties *slot. */
void budget_record_kept(NodeRun *run, BudgetLedgerEntry **slot);
/* budget_keep() into run->ledger_at_commit: the entry goes into the transaction that
 * commits the node's success (record_success()); any other end of the run writes it alone
 * (job_commit_result()), as does a suspension (job_component_ended()). A run the engine
 * does not commit (no run->waker) writes it now. */
int budget_record_at_commit(NodeRun *run, const char *model, const LlmUsage *usage, double cost_usd);
BudgetLedgerEntry *budget_ledger_entry_free(BudgetLedgerEntry *e);

/* What usage of model cost under the daemon's price table; *ret_known (may be NULL) is
 * false when the table has no price for model (the cost is then 0). */
double budget_cost(const NodeRun *run, const char *model, const LlmUsage *usage, bool *ret_known);
