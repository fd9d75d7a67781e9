-- Ferry ledger, version 11: the sweeps running now, so a webhook that left work wakes none while one
-- runs. A sweep adds its row when it starts and removes it with its summary; a sweep that dies leaves
-- a row that stops counting at expires_at (its budget and lease margin).

CREATE TABLE sweep_active (
  owner       text PRIMARY KEY,
  started_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
