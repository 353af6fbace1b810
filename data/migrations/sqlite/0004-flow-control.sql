-- Flow control: pauses for a person's answer, subworkflows, error handlers.
--
-- execution_nodes.resume_input: the answer a paused node run was resumed with (the
-- POST /executions/{id}/resume/ body's input, as JSON text); NULL until then.
-- pending_confirmations.node_run_id: the paused node run (a node pauses once per loop
-- iteration, so the node id alone does not say which run).
-- executions.parent_node_run_id: the subworkflow node run that waits for this child.
-- executions.error_of_execution_id: set on an error handler's run, the execution whose
-- failure it handles; such a run failing starts no other handler.
ALTER TABLE execution_nodes ADD COLUMN resume_input TEXT;
ALTER TABLE pending_confirmations ADD COLUMN node_run_id INTEGER;
ALTER TABLE executions ADD COLUMN parent_node_run_id INTEGER;
ALTER TABLE executions ADD COLUMN error_of_execution_id TEXT;

CREATE INDEX executions_parent_node_run ON executions(parent_node_run_id);
CREATE INDEX pending_confirmations_execution ON pending_confirmations(execution_id);
