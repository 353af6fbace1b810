-- Starting an execution reads its workflow's graph, and most starts find it as the last
-- one left it. graph_version changes with every change of the workflow's row, nodes or
-- edges, so one read of it tells whether a graph kept in memory is still the workflow's
-- (src/engine/graph-cache.c). Only "differs" means anything: one change may count more
-- than once (a new node bumps it, and so does the node_count it changes).
ALTER TABLE workflows ADD COLUMN graph_version INTEGER NOT NULL DEFAULT 0;

-- Any other change of the row. The trigger's own UPDATE changes graph_version, which the
-- WHEN clause leaves alone (and SQLite does not fire a trigger from within itself).
CREATE TRIGGER workflows_graph_version AFTER UPDATE ON workflows
        WHEN NEW.graph_version = OLD.graph_version BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id = NEW.id;
END;

-- A node or an edge added, changed, moved or removed. A workflow being deleted takes its
-- rows with it; the UPDATE then finds no row, as the counts' triggers do.
CREATE TRIGGER workflow_nodes_graph_insert AFTER INSERT ON workflow_nodes BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id = NEW.workflow_id;
END;
CREATE TRIGGER workflow_nodes_graph_update AFTER UPDATE ON workflow_nodes BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id IN (OLD.workflow_id, NEW.workflow_id);
END;
CREATE TRIGGER workflow_nodes_graph_delete AFTER DELETE ON workflow_nodes BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id = OLD.workflow_id;
END;

CREATE TRIGGER workflow_edges_graph_insert AFTER INSERT ON workflow_edges BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id = NEW.workflow_id;
END;
CREATE TRIGGER workflow_edges_graph_update AFTER UPDATE ON workflow_edges BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id IN (OLD.workflow_id, NEW.workflow_id);
END;
CREATE TRIGGER workflow_edges_graph_delete AFTER DELETE ON workflow_edges BEGIN
        UPDATE workflows SET graph_version = graph_version + 1 WHERE id = OLD.workflow_id;
END;
