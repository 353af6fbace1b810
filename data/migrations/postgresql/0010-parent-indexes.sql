-- Nearly every execution is top-level: indexing its empty parent columns cost two page
-- writes per execution for nothing. Lookups by parent (parent_execution_id = ?, and the
-- ON DELETE SET NULL of a parent) imply IS NOT NULL, so they still use these.
DROP INDEX executions_parent;
CREATE INDEX executions_parent ON executions(parent_execution_id) WHERE parent_execution_id IS NOT NULL;
DROP INDEX executions_parent_node_run;
CREATE INDEX executions_parent_node_run ON executions(parent_node_run_id) WHERE parent_node_run_id IS NOT NULL;
