-- Ferry ledger, version 6: re-running finished tasks. An operator's retry (or a redelivered push) re-opens a
-- failed, canceled or timed-out task with a fresh attempt budget: attempts keep counting every submission
-- (copy jobs and cloud refs are numbered by it), max_attempts grows by the policy's, and attempt_base marks
-- where the current budget began. reruns numbers the re-openings (notifications are once per rerun).

ALTER TABLE tasks ADD COLUMN reruns integer NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN attempt_base integer NOT NULL DEFAULT 0;
-- Bulk retry walks finished tasks by when they ended.
CREATE INDEX tasks_rerunnable ON tasks (finished_at, id) WHERE state IN ('failed', 'canceled', 'timed_out');
