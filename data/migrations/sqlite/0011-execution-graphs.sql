-- The graph an execution runs (its trigger-scoped topology and its nodes' settings) is the
-- same for every execution of one workflow version from one trigger. Kept in each row, it
-- made the row about 3 KB, one page per execution, two thirds of the database. It is now
-- kept once in execution_graphs and executions point at it; rows written before keep
-- their own copy in topology and nodes (src/store/store-executions.c reads either).
CREATE TABLE execution_graphs (
        id INTEGER PRIMARY KEY,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        graph_version INTEGER NOT NULL,
        trigger_node_id TEXT NOT NULL,  -- '' when every entry node runs
        topology TEXT NOT NULL,
        nodes TEXT NOT NULL,
        UNIQUE (workflow_id, graph_version, trigger_node_id)
);
ALTER TABLE executions ADD COLUMN graph_id INTEGER REFERENCES execution_graphs(id) ON DELETE SET NULL;
CREATE INDEX executions_graph ON executions(graph_id) WHERE graph_id IS NOT NULL;
