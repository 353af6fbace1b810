-- Workflow lists, one of the most frequent requests, without a sort or a count per row.
--
-- Lists are read newest first (ORDER BY created_at DESC, id DESC), by an admin across all
-- owners or by one owner: with indexes in that order a page is read straight off an index
-- instead of sorting the table. The owner index also serves every lookup by owner_id, so
-- it replaces workflows_owner.
CREATE INDEX workflows_created ON workflows(created_at, id);
CREATE INDEX workflows_owner_created ON workflows(owner_id, created_at, id);
DROP INDEX workflows_owner;

-- Every answer about a workflow carries its node and edge counts. Triggers keep them in
-- the workflow's row, rather than two subqueries counting them for every row answered.
ALTER TABLE workflows ADD COLUMN node_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workflows ADD COLUMN edge_count INTEGER NOT NULL DEFAULT 0;
UPDATE workflows SET
        node_count = (SELECT COUNT(*) FROM workflow_nodes n WHERE n.workflow_id = workflows.id),
        edge_count = (SELECT COUNT(*) FROM workflow_edges e WHERE e.workflow_id = workflows.id);

CREATE TRIGGER workflow_nodes_count_insert AFTER INSERT ON workflow_nodes BEGIN
        UPDATE workflows SET node_count = node_count + 1 WHERE id = NEW.workflow_id;
END;
CREATE TRIGGER workflow_nodes_count_delete AFTER DELETE ON workflow_nodes BEGIN
        UPDATE workflows SET node_count = node_count - 1 WHERE id = OLD.workflow_id;
END;
CREATE TRIGGER workflow_nodes_count_move AFTER UPDATE OF workflow_id ON workflow_nodes BEGIN
        UPDATE workflows SET node_count = node_count - 1 WHERE id = OLD.workflow_id;
        UPDATE workflows SET node_count = node_count + 1 WHERE id = NEW.workflow_id;
END;

CREATE TRIGGER workflow_edges_count_insert AFTER INSERT ON workflow_edges BEGIN
        UPDATE workflows SET edge_count = edge_count + 1 WHERE id = NEW.workflow_id;
END;
CREATE TRIGGER workflow_edges_count_delete AFTER DELETE ON workflow_edges BEGIN
        UPDATE workflows SET edge_count = edge_count - 1 WHERE id = OLD.workflow_id;
END;
CREATE TRIGGER workflow_edges_count_move AFTER UPDATE OF workflow_id ON workflow_edges BEGIN
        UPDATE workflows SET edge_count = edge_count - 1 WHERE id = OLD.workflow_id;
        UPDATE workflows SET edge_count = edge_count + 1 WHERE id = NEW.workflow_id;
END;
