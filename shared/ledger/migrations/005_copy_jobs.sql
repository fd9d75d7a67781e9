-- Ferry ledger, version 5: copies Ferry makes itself (the copy provider). One row per submission of a
-- task (its cloud_ref), holding where the copy got to, so any process continues it after a crash or a
-- sweep's budget ran out. Never credentials: the task's target names registries by their source name.

CREATE TABLE copy_jobs (
  ref              text PRIMARY KEY,           -- copy:<task id>:<attempt>, the task's cloud_ref
  task_id          text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt          integer NOT NULL,
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'running', 'done', 'failed', 'canceled')),
  -- Whoever advances the copy holds the lease; checkpoints are written only under it.
  lease_owner      text,
  lease_expires_at timestamptz,
  checkpoint       jsonb,
  result           jsonb,
  error            jsonb,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  finished_at      timestamptz
);
-- Retention deletes a task's jobs with it (ON DELETE CASCADE) through this index.
CREATE INDEX copy_jobs_task ON copy_jobs (task_id, created_at);
