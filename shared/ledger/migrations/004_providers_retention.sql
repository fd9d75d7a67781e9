-- Ferry ledger, version 4: any provider, no SWR sync-task registry, indexes for retention.

-- Providers are registered in code: a task may name any provider; only an empty name is refused.
ALTER TABLE tasks DROP CONSTRAINT tasks_provider_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_provider_check CHECK (provider <> '');

-- SWR automatic sync tasks are found by listing them at the cloud (cancel does), not kept here.
DROP TABLE swr_sync_tasks;

-- Retention runs in every sweep: its deletes reach old history through these indexes, never by
-- scanning it; deleting a task clears ecs_tasks.ferry_task_id (ON DELETE SET NULL) through the last one.
CREATE INDEX ecs_tasks_finished ON ecs_tasks (finished_at) WHERE state <> 'watching';
CREATE INDEX notifications_done ON notifications (updated_at) WHERE state IN ('sent', 'dead');
CREATE INDEX ecs_tasks_ferry_task ON ecs_tasks (ferry_task_id) WHERE ferry_task_id IS NOT NULL;
