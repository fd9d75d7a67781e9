-- Ferry ledger, version 2: the notifications outbox. A notification is queued in the same transaction
-- as the change it reports, and at most once per (subject, kind, target).

CREATE TABLE notifications (
  id               text PRIMARY KEY,
  subject          text NOT NULL,              -- 'task:<id>' or 'replication:<id>'
  task_id          text REFERENCES tasks (id) ON DELETE CASCADE,
  replication_id   text REFERENCES replications (id) ON DELETE CASCADE,
  kind             text NOT NULL,
  target           text NOT NULL,
  payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 10,
  next_attempt_at  timestamptz NOT NULL,
  lease_owner      text,
  lease_expires_at timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  sent_at          timestamptz,
  CONSTRAINT notifications_once UNIQUE (subject, kind, target)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_task ON notifications (task_id);
CREATE INDEX notifications_replication ON notifications (replication_id);
