-- Ferry ledger, version 8: deletion replication. A task either copies an image to its target or deletes
-- the tag Ferry copied there; a replication row records which kind of source event it came from.

ALTER TABLE replications ADD COLUMN action text NOT NULL DEFAULT 'copy' CHECK (action IN ('copy', 'delete'));
ALTER TABLE tasks ADD COLUMN action text NOT NULL DEFAULT 'copy' CHECK (action IN ('copy', 'delete'));

-- A delete event asks which targets Ferry copied a source image to, then who last wrote each of them:
-- both reads go through these indexes, never a scan of history.
CREATE INDEX replications_image ON replications (source, namespace, repository) WHERE action = 'copy';
CREATE INDEX tasks_target_key ON tasks (target_key) WHERE action = 'copy' AND state = 'succeeded';
