-- The job executor: jobs are work for service-like tasks or timers. A
-- process's timer start event has a job of its definition and no instance
-- (process_instance_id 0). Due jobs are claimed with a lease (lease_owner,
-- lease_until, columns of 0001) by any node: jobs_claim serves the claim
-- query, which skips rows other nodes hold (FOR UPDATE SKIP LOCKED).

-- +goose Up
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'work';
ALTER TABLE jobs ADD COLUMN definition_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN timer TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN fired INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_claim ON jobs (due_at) WHERE state = 'active';
CREATE INDEX jobs_definition ON jobs (definition_id) WHERE definition_id <> 0;

-- +goose Down
DROP INDEX jobs_definition;
DROP INDEX jobs_claim;
ALTER TABLE jobs DROP COLUMN fired;
ALTER TABLE jobs DROP COLUMN timer;
ALTER TABLE jobs DROP COLUMN definition_id;
ALTER TABLE jobs DROP COLUMN kind;
