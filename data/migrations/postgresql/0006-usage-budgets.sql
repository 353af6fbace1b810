-- Spend and budgets.
--
-- usage_ledger: what model calls used, one row per UTC day, workflow, user and model, added
-- to after every call (src/store/store-usage.c). It is kept apart from the executions so
-- that spend outlives them: pruning runs (retention) does not give a budget back. No
-- foreign keys: a deleted workflow's spend still counts for its user. user_id is the user
-- who started the run, else the workflow's owner (0 when neither is known).
-- unpriced_calls counts the calls of models the price table did not know (costed at 0).
-- users.budget: the limits an admin set on the user, as JSON ({} or NULL: none); a
-- workflow's are in its settings.budget.
CREATE TABLE usage_ledger (
        day TEXT NOT NULL,
        workflow_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL DEFAULT 0,
        model TEXT NOT NULL,
        input_tokens BIGINT NOT NULL DEFAULT 0,
        output_tokens BIGINT NOT NULL DEFAULT 0,
        total_tokens BIGINT NOT NULL DEFAULT 0,
        llm_calls BIGINT NOT NULL DEFAULT 0,
        unpriced_calls BIGINT NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (day, workflow_id, user_id, model)
);
CREATE INDEX usage_ledger_workflow ON usage_ledger(workflow_id, day);
CREATE INDEX usage_ledger_user ON usage_ledger(user_id, day);

ALTER TABLE users ADD COLUMN budget TEXT;
