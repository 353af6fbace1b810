-- Starting an execution reads its workflow's graph, and most starts find it as the last
-- one left it. graph_version changes with every change of the workflow's row, nodes or
-- edges, so one read of it tells whether a graph kept in memory is still the workflow's
-- (src/engine/graph-cache.c). Only "differs" means anything: one change may count more
-- than once (a new node bumps it, and so does the node_count it changes).
ALTER TABLE workflows ADD COLUMN graph_version BIGINT NOT NULL DEFAULT 0;

-- Any other change of the row: an UPDATE that sets graph_version itself (the triggers
-- below) is left as it is.
CREATE FUNCTION workflows_graph_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF NEW.graph_version = OLD.graph_version AND NEW IS DISTINCT FROM OLD THEN
                NEW.graph_version := OLD.graph_version + 1;
        END IF;
        RETURN NEW;
END
$$;
CREATE TRIGGER workflows_graph_version BEFORE UPDATE ON workflows
        FOR EACH ROW EXECUTE FUNCTION workflows_graph_version();

-- A node or an edge added, changed, moved or removed. A workflow being deleted takes its
-- rows with it; the UPDATE then finds no row, as the counts' triggers do.
CREATE FUNCTION workflow_graph_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
                UPDATE workflows SET graph_version = graph_version + 1 WHERE id = OLD.workflow_id;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.workflow_id <> OLD.workflow_id) THEN
                UPDATE workflows SET graph_version = graph_version + 1 WHERE id = NEW.workflow_id;
        END IF;
        RETURN NULL;
END
$$;
CREATE TRIGGER workflow_nodes_graph_version AFTER INSERT OR UPDATE OR DELETE ON workflow_nodes
        FOR EACH ROW EXECUTE FUNCTION workflow_graph_changed();
CREATE TRIGGER workflow_edges_graph_version AFTER INSERT OR UPDATE OR DELETE ON workflow_edges
        FOR EACH ROW EXECUTE FUNCTION workflow_graph_changed();
