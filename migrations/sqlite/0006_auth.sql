-- People and access: users (bcrypt password hashes), groups and
-- memberships; API keys for service accounts (only the SHA-256 of the
-- secret is kept: the secret is shown once); casbin policies (the model is
-- server/auth/model.conf, embedded) seeded with the default role rules;
-- auth_settings holds the generated session secret.
--
-- A policy row p, ROLE, PATH, METHODS allows ROLE the routes whose path
-- template matches PATH (casbin keyMatch2) with a method matching the
-- regular expression METHODS. Users and keys have one role each; an empty
-- role allows nothing.

-- +goose Up
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT '',
    display_name   TEXT NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT 0
);

CREATE TABLE groups (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE memberships (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id  BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX memberships_group ON memberships (group_id, user_id);

-- Bearer finds a key by the hash of its secret; Basic by its name.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    hash          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL,
    revoked_at    DATETIME,
    last_used_at  DATETIME
);

CREATE TABLE casbin_rule (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    ptype  TEXT NOT NULL,
    v0     TEXT NOT NULL DEFAULT '',
    v1     TEXT NOT NULL DEFAULT '',
    v2     TEXT NOT NULL DEFAULT '',
    v3     TEXT NOT NULL DEFAULT '',
    v4     TEXT NOT NULL DEFAULT '',
    v5     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX casbin_rule_unique ON casbin_rule (ptype, v0, v1, v2, v3, v4, v5);

CREATE TABLE auth_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'admin', '/*', '.*'),
    ('p', 'analyst', '/api/v1/deployments', '^(GET|POST)$'),
    ('p', 'analyst', '/api/v1/process-definitions', '^GET$'),
    ('p', 'analyst', '/api/v1/process-definitions/:id/xml', '^GET$'),
    ('p', 'analyst', '/api/v1/process-definitions/key/:key/start', '^POST$'),
    ('p', 'analyst', '/api/v1/process-instances', '^GET$'),
    ('p', 'analyst', '/api/v1/process-instances/:id', '^GET$'),
    ('p', 'analyst', '/api/v1/process-instances/:id/history', '^GET$'),
    ('p', 'staff', '/api/v1/tasks', '^GET$'),
    ('p', 'staff', '/api/v1/tasks/:id', '^GET$'),
    ('p', 'staff', '/api/v1/tasks/:id/complete', '^POST$'),
    ('p', 'developer', '/api/v1/process-definitions/key/:key/start', '^POST$'),
    ('p', 'developer', '/api/v1/messages', '^POST$'),
    ('p', 'developer', '/api/v1/signals', '^POST$'),
    ('p', 'developer', '/api/v1/jobs', '^GET$'),
    ('p', 'developer', '/api/v1/jobs/:id/:action', '^POST$'),
    ('p', 'developer', '/api/v1/incidents', '^GET$'),
    ('p', 'developer', '/api/v1/incidents/:id/retry', '^POST$'),
    ('p', 'auditor', '/api/v1/*', '^GET$');

-- +goose Down
DROP TABLE auth_settings;
DROP TABLE casbin_rule;
DROP TABLE api_keys;
DROP TABLE memberships;
DROP TABLE groups;
DROP TABLE users;
