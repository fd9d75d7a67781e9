-- Ferry ledger, version 3: watched ECS tasks are claimed with a lease, like ledger tasks, so two
-- concurrent sweeps never poll or cancel the same import/export task.

ALTER TABLE ecs_tasks ADD COLUMN lease_owner text;
ALTER TABLE ecs_tasks ADD COLUMN lease_expires_at timestamptz;
