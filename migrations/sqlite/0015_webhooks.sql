-- Webhooks (issue 6): a row with a topic delivers the jobs of that topic
-- (service tasks) by POST to url; a row with events instead sends user-task
-- notifications (task.created, task.assigned, task.completed, task.overdue)
-- of the processes of process_key (every process when empty). Every node
-- reads the table at start and every few seconds (webhook.Service), so a
-- change reaches the whole cluster. The secret signs the requests
-- (HMAC-SHA256) and is never shown by the API. Only admins manage webhooks
-- (their '/*' rule of 0006 covers the routes); auditors read them through
-- their GET rule of 0006. No casbin rows are needed.

-- +goose Up
CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL DEFAULT '',
    topic        TEXT NOT NULL DEFAULT '',
    events       TEXT NOT NULL DEFAULT '',
    process_key  TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    timeout_ms   INTEGER NOT NULL,
    concurrency  INTEGER NOT NULL,
    variables    TEXT NOT NULL DEFAULT '',
    enabled      BOOLEAN NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);
CREATE UNIQUE INDEX webhooks_topic ON webhooks (topic) WHERE topic <> '';

-- +goose Down
DROP TABLE webhooks;
