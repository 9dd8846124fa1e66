-- Baton's first schema, PostgreSQL dialect. Ids are BIGINT chosen by the
-- engine (from the ids sequence, a block at a time), never serial. Every row
-- that belongs to a process instance carries process_instance_id, so the
-- schema can be sharded by it. Times are TIMESTAMPTZ (microseconds, UTC).
-- Variable values are typed JSON (see engine/sqlstore/value.go).

-- +goose Up

-- ids hands out blocks of ids: each nextval returns the first id of a block
-- of 65536 (sqlstore.idChunk); the store hands them out from memory. A
-- sequence never waits on a lock and is not rolled back, so reserving a block
-- costs one short statement per node per 65536 ids.
CREATE SEQUENCE ids AS BIGINT INCREMENT BY 65536 MINVALUE 1 START WITH 1 NO CYCLE;

CREATE TABLE deployments (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX deployments_created ON deployments (created_at, id);

CREATE TABLE process_definitions (
    id             BIGINT PRIMARY KEY,
    deployment_id  BIGINT NOT NULL REFERENCES deployments (id),
    key            TEXT NOT NULL,
    version        INTEGER NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    checksum       TEXT NOT NULL,
    resource_name  TEXT NOT NULL DEFAULT '',
    xml            BYTEA NOT NULL,
    suspended      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT process_definitions_key_version UNIQUE (key, version)
);
CREATE INDEX process_definitions_deployment ON process_definitions (deployment_id);

-- history_seq counts the history rows of the instance: the next command's
-- rows follow it, so history needs no global sequence.
CREATE TABLE process_instances (
    id             BIGINT PRIMARY KEY,
    definition_id  BIGINT NOT NULL REFERENCES process_definitions (id),
    key            TEXT NOT NULL,
    version        INTEGER NOT NULL,
    business_key   TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL,
    revision       BIGINT NOT NULL,
    history_seq    BIGINT NOT NULL DEFAULT 0,
    started_at     TIMESTAMPTZ NOT NULL,
    ended_at       TIMESTAMPTZ
);
CREATE INDEX process_instances_started ON process_instances (started_at, id);
CREATE INDEX process_instances_key ON process_instances (key, started_at, id);
CREATE INDEX process_instances_state ON process_instances (state, started_at, id);
CREATE INDEX process_instances_business_key ON process_instances (business_key, started_at, id);
CREATE INDEX process_instances_definition ON process_instances (definition_id);

-- Live rows only: an element instance that ends is deleted.
CREATE TABLE element_instances (
    id                   BIGINT PRIMARY KEY,
    process_instance_id  BIGINT NOT NULL,
    scope_id             BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    state                TEXT NOT NULL,
    phase                TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX element_instances_instance ON element_instances (process_instance_id);

-- Live variables by (scope, name); value is typed JSON.
CREATE TABLE variables (
    process_instance_id  BIGINT NOT NULL,
    scope_id             BIGINT NOT NULL,
    name                 TEXT NOT NULL,
    value                JSONB NOT NULL,
    PRIMARY KEY (process_instance_id, scope_id, name)
);

-- Tokens waiting at a joining gateway; a row with count 0 is deleted.
CREATE TABLE join_tokens (
    process_instance_id  BIGINT NOT NULL,
    scope_id             BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    flow_id              TEXT NOT NULL,
    count                INTEGER NOT NULL,
    PRIMARY KEY (process_instance_id, scope_id, element_id, flow_id)
);

-- User tasks keep their row when they end, with their final state.
CREATE TABLE user_tasks (
    id                   BIGINT PRIMARY KEY,
    process_instance_id  BIGINT NOT NULL,
    element_instance_id  BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    name                 TEXT NOT NULL DEFAULT '',
    state                TEXT NOT NULL,
    assignee             TEXT NOT NULL DEFAULT '',
    due_date             TIMESTAMPTZ,
    follow_up_date       TIMESTAMPTZ,
    priority             INTEGER NOT NULL DEFAULT 0,
    form_key             TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    ended_at             TIMESTAMPTZ
);
CREATE INDEX user_tasks_instance ON user_tasks (process_instance_id, state);
CREATE INDEX user_tasks_assignee ON user_tasks (assignee, state, created_at, id);
CREATE INDEX user_tasks_state ON user_tasks (state, created_at, id);
CREATE INDEX user_tasks_created ON user_tasks (created_at, id);

-- Candidate users (kind 'user') and groups (kind 'group') of a task, in the
-- order the model gives them (pos). "Tasks of candidate group G" is a
-- lookup in user_task_candidates_name.
CREATE TABLE user_task_candidates (
    task_id              BIGINT NOT NULL,
    kind                 TEXT NOT NULL,
    pos                  INTEGER NOT NULL,
    name                 TEXT NOT NULL,
    process_instance_id  BIGINT NOT NULL,
    PRIMARY KEY (task_id, kind, pos)
);
CREATE INDEX user_task_candidates_name ON user_task_candidates (kind, name, task_id);
CREATE INDEX user_task_candidates_instance ON user_task_candidates (process_instance_id);

-- Jobs keep their row when they end, with their final state. lease_owner
-- and lease_until are for the job executor's claims.
CREATE TABLE jobs (
    id                   BIGINT PRIMARY KEY,
    process_instance_id  BIGINT NOT NULL,
    element_instance_id  BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    topic                TEXT NOT NULL DEFAULT '',
    state                TEXT NOT NULL,
    retries              INTEGER NOT NULL,
    due_at               TIMESTAMPTZ,
    error_message        TEXT NOT NULL DEFAULT '',
    error_details        TEXT NOT NULL DEFAULT '',
    headers              TEXT NOT NULL DEFAULT '',
    business_key         TEXT NOT NULL DEFAULT '',
    lease_owner          TEXT NOT NULL DEFAULT '',
    lease_until          TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_instance ON jobs (process_instance_id, state);
CREATE INDEX jobs_topic ON jobs (topic, state, created_at, id);
CREATE INDEX jobs_state ON jobs (state, created_at, id);
CREATE INDEX jobs_due ON jobs (state, due_at);
CREATE INDEX jobs_created ON jobs (created_at, id);

-- Incidents keep their row when resolved.
CREATE TABLE incidents (
    id                   BIGINT PRIMARY KEY,
    process_instance_id  BIGINT NOT NULL,
    element_instance_id  BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    type                 TEXT NOT NULL,
    message              TEXT NOT NULL DEFAULT '',
    job_id               BIGINT NOT NULL DEFAULT 0,
    state                TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    resolved_at          TIMESTAMPTZ
);
CREATE INDEX incidents_instance ON incidents (process_instance_id, state);
CREATE INDEX incidents_state ON incidents (state, created_at, id);
CREATE INDEX incidents_created ON incidents (created_at, id);

-- history is append-only: one row per engine.HistoryEvent, numbered per
-- instance in write order (seq). command, actor, request_id and at describe
-- the command that wrote it; var_* are set for variable writes, with the
-- old and new values as typed JSON (JSON null for nil) and whether the
-- write created the variable; all NULL for other events.
CREATE TABLE history (
    process_instance_id  BIGINT NOT NULL,
    seq                  BIGINT NOT NULL,
    element_instance_id  BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    type                 TEXT NOT NULL,
    command              TEXT NOT NULL,
    actor                TEXT NOT NULL DEFAULT '',
    request_id           TEXT NOT NULL DEFAULT '',
    at                   TIMESTAMPTZ NOT NULL,
    detail               TEXT NOT NULL DEFAULT '',
    var_scope_id         BIGINT,
    var_name             TEXT,
    var_old              JSONB,
    var_new              JSONB,
    var_created          BOOLEAN,
    PRIMARY KEY (process_instance_id, seq)
);

-- +goose Down
DROP TABLE history;
DROP TABLE incidents;
DROP TABLE jobs;
DROP TABLE user_task_candidates;
DROP TABLE user_tasks;
DROP TABLE join_tokens;
DROP TABLE variables;
DROP TABLE element_instances;
DROP TABLE process_instances;
DROP TABLE process_definitions;
DROP TABLE deployments;
DROP SEQUENCE ids;
