-- Ferry ledger, version 10: notifications that wait for their replication to settle. A grouped failure
-- notice (`group: replication`) is queued with the first failure and is due only once none of the
-- replication's tasks is open, so its message can list every failed target.

ALTER TABLE notifications ADD COLUMN until_settled boolean NOT NULL DEFAULT false;
