-- Hardening of the write paths (issue 6, item 5): Idempotency-Key answers
-- and the audit log.
--
-- idempotency_keys holds one row per caller (actor: the user's name,
-- "apikey:NAME", or '' without authentication) and Idempotency-Key of an
-- unsafe /api/v1 request: the request (method and path, SHA-256 of the
-- body), and once it has run its answer (status, content type, body).
-- state 'pending' marks a request still running, so that a concurrent
-- duplicate is refused instead of run twice. Rows expire after 24 hours
-- (expires_at); the server deletes expired rows now and then.
--
-- audit_log is append-only: one row per change made through the HTTP API
-- (and per refusal of one): when, who (actor), what (action: the method
-- and route template, e.g. "POST /api/v1/tasks/:id/complete"), on what
-- (target: the ids of the path, e.g. "tasks/42"), the request id, the
-- client address and the answer's status. Never bodies, never secrets.
-- GET /api/v1/audit reads it newest first (keyset paging on id); admins
-- and auditors (whose GET rule of 0006 covers /api/v1/*) may.

-- +goose Up
CREATE TABLE idempotency_keys (
    actor            TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    body_hash        TEXT NOT NULL,
    state            TEXT NOT NULL,
    status           INTEGER NOT NULL DEFAULT 0,
    content_type     TEXT NOT NULL DEFAULT '',
    body             BLOB,
    created_at       DATETIME NOT NULL,
    expires_at       DATETIME NOT NULL,
    PRIMARY KEY (actor, idempotency_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          DATETIME NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    address     TEXT NOT NULL,
    status      INTEGER NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE idempotency_keys;
