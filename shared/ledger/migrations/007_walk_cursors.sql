-- Ferry ledger, version 7: where a backfill or the drift audit got to in a source's inventory, one row per
-- (run, rule, source), so a walk cut off by its time, a crash or a kill resumes there instead of
-- starting over. The tasks it creates are keyed like a push's: resuming never duplicates one.

CREATE TABLE walk_cursors (
  run_id            text NOT NULL,            -- backfill:<hash of its arguments>, or audit
  rule              text NOT NULL,
  source            text NOT NULL,
  page_cursor       text,                     -- the inventory's cursor of the repository page being walked (null: the first)
  page_offset       integer NOT NULL DEFAULT 0, -- repositories of that page done
  tag_after         text,                     -- the next repository's tags are done up to this one (by name)
  counts            jsonb NOT NULL DEFAULT '{}'::jsonb, -- the pass's summary so far
  pass_started_at   timestamptz,
  finished_at       timestamptz,              -- the pass reached the end of the inventory
  last_full_pass_at timestamptz,              -- the audit: when a whole pass last ended
  -- Whoever walks holds the lease: two sweeps never walk one cursor at once.
  lease_owner       text,
  lease_expires_at  timestamptz,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (run_id, rule, source)
);
