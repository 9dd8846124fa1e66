-- An instance remembers the Idempotency-Key it was started with, so that a
-- start repeated with the same key, on any node and after any restart,
-- returns the first instance. Keys are unique per process key.

-- +goose Up
ALTER TABLE process_instances ADD COLUMN start_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX process_instances_start_key ON process_instances (key, start_key) WHERE start_key <> '';

-- +goose Down
DROP INDEX process_instances_start_key;
ALTER TABLE process_instances DROP COLUMN start_key;
