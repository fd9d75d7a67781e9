-- Ferry ledger, version 1: replications, tasks, their history, and the cloud-side objects Ferry watches.
-- Times are written by the application clock (never now()), so tests can move time.

CREATE TABLE replications (
  id           text PRIMARY KEY,
  source_key   text NOT NULL UNIQUE,           -- the source image identity (see keys.ts): one row per accepted push
  source_kind  text NOT NULL,                  -- acr | swr | … (who sent the push)
  source       text NOT NULL,                  -- instance id / registry host
  region       text,
  namespace    text NOT NULL,
  repository   text NOT NULL,
  tag          text,
  digest       text,
  pushed_at    timestamptz,
  received_at  timestamptz NOT NULL,
  rules        jsonb NOT NULL DEFAULT '[]'::jsonb,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  state        text NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'in_progress', 'succeeded', 'partially_failed', 'failed', 'canceled')),
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);
CREATE INDEX replications_received ON replications (received_at);

CREATE TABLE tasks (
  id                    text PRIMARY KEY,
  replication_id        text NOT NULL REFERENCES replications (id) ON DELETE CASCADE,
  idempotency_key       text NOT NULL,
  provider              text NOT NULL CHECK (provider IN ('acr', 'swr', 'ecs')),
  scope                 text NOT NULL,           -- where the cloud task lives and is listed (ACR: source instance)
  target                jsonb NOT NULL,
  target_key            text NOT NULL,
  rule                  text,
  state                 text NOT NULL
                        CHECK (state IN ('pending', 'submitted', 'running', 'succeeded', 'failed', 'canceled', 'timed_out')),
  attempts              integer NOT NULL DEFAULT 0,
  max_attempts          integer NOT NULL DEFAULT 5,
  next_attempt_at       timestamptz,
  deadline_at           timestamptz,
  submit_started_at     timestamptz,             -- set before the cloud is called; with no cloud_ref = outcome in doubt
  cloud_ref             text,
  cloud_created_at      timestamptz,
  cloud_status          text,
  last_error_code       text,
  last_error_message    text,
  last_error_request_id text,
  lease_owner           text,
  lease_expires_at      timestamptz,
  cancel_requested_at   timestamptz,
  cancel_reason         text,
  policy                jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  finished_at           timestamptz,
  CONSTRAINT tasks_idempotency_key UNIQUE (idempotency_key)
);
CREATE INDEX tasks_replication ON tasks (replication_id);
CREATE INDEX tasks_listing ON tasks (created_at DESC, id DESC);
-- Due work and the sweep read open tasks only: history never enters these indexes.
CREATE INDEX tasks_due ON tasks (state, next_attempt_at) WHERE state IN ('pending', 'submitted', 'running');
CREATE INDEX tasks_open_scope ON tasks (provider, scope, created_at) WHERE state IN ('pending', 'submitted', 'running');
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;

-- Every cloud task ever created for a ledger task (retries create new ones): cancel and orphan checks read it.
CREATE TABLE task_cloud_refs (
  task_id      text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  cloud_ref    text NOT NULL,
  attempt      integer NOT NULL,
  created_at   timestamptz,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (task_id, cloud_ref)
);
CREATE INDEX task_cloud_refs_ref ON task_cloud_refs (cloud_ref);

-- Append-only: rows are inserted, never updated (deleted only with their task by retention).
CREATE TABLE task_events (
  id          bigserial PRIMARY KEY,
  task_id     text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  from_state  text,
  to_state    text NOT NULL,
  reason      text NOT NULL,
  actor       text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX task_events_task ON task_events (task_id, id);

-- ECS ImportImage/ExportImage tasks the sweep watches (and may cancel when stuck).
CREATE TABLE ecs_tasks (
  region            text NOT NULL,
  task_id           text NOT NULL,
  action            text NOT NULL,
  ferry_task_id     text REFERENCES tasks (id) ON DELETE SET NULL,
  resource_id       text,
  cloud_status      text,
  state             text NOT NULL DEFAULT 'watching'
                    CHECK (state IN ('watching', 'finished', 'failed', 'canceled', 'timed_out')),
  deadline_at       timestamptz,
  last_error_code   text,
  last_error_message text,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  finished_at       timestamptz,
  PRIMARY KEY (region, task_id)
);
CREATE INDEX ecs_tasks_open ON ecs_tasks (region, deadline_at) WHERE state = 'watching';

-- SWR automatic sync tasks (sync_repo) Ferry created or adopted; SWR gives them no id we can address,
-- so cancel finds them by Ferry's id and deletes by the natural key.
CREATE TABLE swr_sync_tasks (
  id                text PRIMARY KEY,
  region            text NOT NULL,
  namespace         text NOT NULL,
  repository        text NOT NULL,
  remote_region     text NOT NULL,
  remote_namespace  text NOT NULL,
  sync_auto         boolean NOT NULL DEFAULT true,
  override          boolean NOT NULL DEFAULT false,
  origin            text NOT NULL CHECK (origin IN ('created', 'adopted')),
  cloud_id          text,
  created_at        timestamptz NOT NULL,
  CONSTRAINT swr_sync_tasks_natural UNIQUE (region, namespace, repository, remote_region, remote_namespace)
);
