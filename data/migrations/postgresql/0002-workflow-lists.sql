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
ALTER TABLE workflows ADD COLUMN node_count BIGINT NOT NULL DEFAULT 0,
                      ADD COLUMN edge_count BIGINT NOT NULL DEFAULT 0;
UPDATE workflows SET
        node_count = (SELECT COUNT(*) FROM workflow_nodes n WHERE n.workflow_id = workflows.id),
        edge_count = (SELECT COUNT(*) FROM workflow_edges e WHERE e.workflow_id = workflows.id);

CREATE FUNCTION workflow_nodes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
                UPDATE workflows SET node_count = node_count - 1 WHERE id = OLD.workflow_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE workflows SET node_count = node_count + 1 WHERE id = NEW.workflow_id;
        END IF;
        RETURN NULL;
END
$$;
CREATE TRIGGER workflow_nodes_count AFTER INSERT OR DELETE OR UPDATE OF workflow_id ON workflow_nodes
        FOR EACH ROW EXECUTE FUNCTION workflow_nodes_count();

CREATE FUNCTION workflow_edges_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
                UPDATE workflows SET edge_count = edge_count - 1 WHERE id = OLD.workflow_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE workflows SET edge_count = edge_count + 1 WHERE id = NEW.workflow_id;
        END IF;
        RETURN NULL;
END
$$;
CREATE TRIGGER workflow_edges_count AFTER INSERT OR DELETE OR UPDATE OF workflow_id ON workflow_edges
        FOR EACH ROW EXECUTE FUNCTION workflow_edges_count();
