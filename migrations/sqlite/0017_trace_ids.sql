-- Trace ids: the W3C trace id of the command that wrote each history row,
-- beside its request id; and the traceparent of the command that created a
-- job, which the job's run (a Go handler, a webhook, an external task's
-- worker) continues.

-- +goose Up
ALTER TABLE history ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE jobs DROP COLUMN traceparent;
ALTER TABLE history DROP COLUMN trace_id;
