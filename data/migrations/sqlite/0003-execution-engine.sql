-- What the execution engine keeps per run, so a restart resumes every execution on the
-- graph and the settings it started with, even when the workflow was edited meanwhile.
--
-- executions.topology: the trigger-scoped graph (topology_to_json()).
-- executions.nodes: {node_id: {component_type, label, config}} of the nodes in that graph.
ALTER TABLE executions ADD COLUMN topology TEXT;
ALTER TABLE executions ADD COLUMN nodes TEXT;

-- execution_nodes is the durable queue: one row per node run (per loop iteration in a
-- loop body), with status waiting (offered, waits for other parents), queued, running,
-- looping (a loop whose body runs), done, failed, ruled_out or cancelled.
ALTER TABLE execution_nodes ADD COLUMN started_at TEXT;
ALTER TABLE execution_nodes ADD COLUMN error TEXT;
ALTER TABLE execution_nodes ADD COLUMN error_code TEXT;

-- Lists are read newest first, by an admin across all workflows or per workflow.
CREATE INDEX executions_created ON executions(created_at, execution_id);
