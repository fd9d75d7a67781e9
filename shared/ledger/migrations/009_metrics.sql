-- Ferry ledger, version 9: what /metrics and /healthz read that the rest of the ledger does not keep, so every
-- function instance reports the same numbers: the last completed sweep's summary (one row, replaced by
-- each sweep) and monotonic counters (webhook deliveries by kind and outcome, drift found and repaired),
-- one upsert per increment.

CREATE TABLE sweep_runs (
  id            text PRIMARY KEY CHECK (id = 'last'),
  owner         text NOT NULL,
  completed_at  timestamptz NOT NULL,
  duration_ms   integer NOT NULL,
  cloud_calls   integer NOT NULL,
  leftover      boolean NOT NULL,
  errors        integer NOT NULL,
  summary       jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE metric_counters (
  name        text NOT NULL,
  labels      jsonb NOT NULL DEFAULT '{}'::jsonb,
  value       bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (name, labels)
);

-- The lag histogram reads replications that succeeded recently; failures by code read failure events.
CREATE INDEX replications_succeeded ON replications (updated_at) WHERE state = 'succeeded';
CREATE INDEX task_events_failed ON task_events (task_id) WHERE to_state = 'failed';
