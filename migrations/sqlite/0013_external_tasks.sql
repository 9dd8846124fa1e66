-- External tasks (the Camunda 7 pull protocol over work jobs): a worker's
-- lock is the job's lease (lease_owner = the worker id, lease_until = the
-- lock's expiry). priority is camunda:taskPriority, process_key the
-- instance's process key, both copied at job creation so that
-- fetch-and-lock filters and orders on the jobs table alone; jobs_work
-- serves its priority order. Developers (and admins, through '/*') work
-- external tasks; auditors read them through their GET rule of 0006.

-- +goose Up
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN process_key TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_work ON jobs (topic, priority DESC, created_at, id) WHERE state = 'active';
INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'developer', '/api/v1/external-tasks', '^GET$'),
    ('p', 'developer', '/api/v1/external-tasks/fetch-and-lock', '^POST$'),
    ('p', 'developer', '/api/v1/external-tasks/:id/:action', '^POST$');

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v0 = 'developer' AND v1 IN ('/api/v1/external-tasks',
    '/api/v1/external-tasks/fetch-and-lock', '/api/v1/external-tasks/:id/:action');
DROP INDEX jobs_work;
ALTER TABLE jobs DROP COLUMN process_key;
ALTER TABLE jobs DROP COLUMN priority;
