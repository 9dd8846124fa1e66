-- The web UI asks who the caller is (GET /api/v1/me) on every page, and
-- counts the inbox's views (GET /api/v1/tasks/count). Every role may read
-- who it is; admin (/*) and auditor (/api/v1/* GET) already may.

-- +goose Up
INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'analyst', '/api/v1/me', '^GET$'),
    ('p', 'staff', '/api/v1/me', '^GET$'),
    ('p', 'developer', '/api/v1/me', '^GET$'),
    ('p', 'staff', '/api/v1/tasks/count', '^GET$');

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v1 IN ('/api/v1/me', '/api/v1/tasks/count') AND v0 IN ('analyst', 'staff', 'developer');
