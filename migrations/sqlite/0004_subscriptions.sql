-- Message and signal subscriptions, and buffered messages.
--
-- A subscription is live state: a catch event, receive task, boundary event
-- or event sub-process start waiting for a message or signal. Instance
-- subscriptions are deleted when they end; a message or signal start event
-- of the latest version of a process has a subscription of its definition
-- (process_instance_id 0), moved on redeploy. Messages are correlated by
-- name and correlation key (the key evaluated when the subscription opened).
--
-- messages keeps messages published with a time to live until a
-- subscription takes them or they expire, and every message id seen, so
-- that a message published twice with one id is correlated once.

-- +goose Up
CREATE TABLE subscriptions (
    id                   INTEGER PRIMARY KEY,
    process_instance_id  INTEGER NOT NULL,
    element_instance_id  INTEGER NOT NULL,
    element_id           TEXT NOT NULL,
    definition_id        INTEGER NOT NULL DEFAULT 0,
    kind                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    correlation_key      TEXT NOT NULL DEFAULT '',
    business_key         TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL
);
CREATE INDEX subscriptions_name ON subscriptions (kind, name, correlation_key, created_at, id);
CREATE INDEX subscriptions_instance ON subscriptions (process_instance_id);
CREATE INDEX subscriptions_definition ON subscriptions (definition_id) WHERE definition_id <> 0;

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    correlation_key  TEXT NOT NULL DEFAULT '',
    business_key     TEXT NOT NULL DEFAULT '',
    message_id       TEXT NOT NULL DEFAULT '',
    variables        TEXT,
    state            TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX messages_buffered ON messages (name, correlation_key, created_at) WHERE state = 'buffered';
CREATE UNIQUE INDEX messages_message_id ON messages (message_id) WHERE message_id <> '';

-- +goose Down
DROP TABLE messages;
DROP TABLE subscriptions;
