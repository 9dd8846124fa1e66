-- The user task lifecycle (issue 5, items 3 and 4): a delegated task keeps
-- its owner (who gets it back when the delegate resolves it) and its
-- delegation state ('' never delegated, 'pending', 'resolved'); comments
-- on tasks, each with its author (the actor who wrote it).
--
-- Policies for the task routes: staff may claim, unclaim, delegate,
-- resolve, comment on and read the form of the tasks they see (the server
-- checks that they see the task). Assign is granted to staff too, but the
-- server lets only a member of the group "managers" (or an admin) assign:
-- being a manager is a group, not a role, so that a manager is staff too.

-- +goose Up
ALTER TABLE user_tasks ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE user_tasks ADD COLUMN delegation TEXT NOT NULL DEFAULT '';

CREATE TABLE comments (
    id                   BIGINT PRIMARY KEY,
    task_id              BIGINT NOT NULL,
    process_instance_id  BIGINT NOT NULL,
    author               TEXT NOT NULL DEFAULT '',
    text                 TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX comments_task ON comments (task_id, created_at, id);
CREATE INDEX comments_instance ON comments (process_instance_id);

INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'staff', '/api/v1/tasks/:id/claim', '^POST$'),
    ('p', 'staff', '/api/v1/tasks/:id/unclaim', '^POST$'),
    ('p', 'staff', '/api/v1/tasks/:id/assign', '^POST$'),
    ('p', 'staff', '/api/v1/tasks/:id/delegate', '^POST$'),
    ('p', 'staff', '/api/v1/tasks/:id/resolve', '^POST$'),
    ('p', 'staff', '/api/v1/tasks/:id/comments', '^(GET|POST)$'),
    ('p', 'staff', '/api/v1/tasks/:id/form', '^GET$');

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v0 = 'staff' AND v1 IN ('/api/v1/tasks/:id/claim',
    '/api/v1/tasks/:id/unclaim', '/api/v1/tasks/:id/assign', '/api/v1/tasks/:id/delegate',
    '/api/v1/tasks/:id/resolve', '/api/v1/tasks/:id/comments', '/api/v1/tasks/:id/form');
DROP TABLE comments;
ALTER TABLE user_tasks DROP COLUMN delegation;
ALTER TABLE user_tasks DROP COLUMN owner;
