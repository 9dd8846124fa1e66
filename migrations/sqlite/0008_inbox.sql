-- The inbox (issue 5, item 5): indexes for the task list's sorts and
-- filters, and saved filters.
--
-- The open tasks sorted by due date or priority are index walks of
-- user_tasks_state_due and user_tasks_state_priority (created order walks
-- user_tasks_state of 0001); a user's own tasks by due date walk
-- user_tasks_assignee_due. Filters on the process key, business key and
-- process variables are lookups by primary key, needing no new index.
--
-- A saved filter belongs to its owner and may be shared with groups
-- (saved_filter_groups); query is the JSON object of the GET
-- /api/v1/tasks query parameters it applies. Staff may list, save and
-- delete filters; the server lets only the owner (or an admin) delete one.

-- +goose Up
CREATE INDEX user_tasks_state_due ON user_tasks (state, due_date, id);
CREATE INDEX user_tasks_state_priority ON user_tasks (state, priority, id);
CREATE INDEX user_tasks_assignee_due ON user_tasks (assignee, state, due_date, id);

CREATE TABLE saved_filters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       TEXT NOT NULL,
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX saved_filters_owner ON saved_filters (owner, id);

CREATE TABLE saved_filter_groups (
    filter_id   INTEGER NOT NULL,
    group_name  TEXT NOT NULL,
    PRIMARY KEY (filter_id, group_name)
);
CREATE INDEX saved_filter_groups_group ON saved_filter_groups (group_name, filter_id);

INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'staff', '/api/v1/filters', '^(GET|POST)$'),
    ('p', 'staff', '/api/v1/filters/:id', '^DELETE$');

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v0 = 'staff' AND v1 IN ('/api/v1/filters', '/api/v1/filters/:id');
DROP TABLE saved_filter_groups;
DROP TABLE saved_filters;
DROP INDEX user_tasks_assignee_due;
DROP INDEX user_tasks_state_priority;
DROP INDEX user_tasks_state_due;
