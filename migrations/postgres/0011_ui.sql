-- What the web UI reads beside a task and before a start: staff may read
-- the diagram (the BPMN XML of the task's process version), the variables
-- and the history of the tasks they see (the server checks that they see
-- the task); analysts and developers, who may start processes, may read
-- their start forms. Auditors read every GET route already (0006).

-- +goose Up
INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'staff', '/api/v1/tasks/:id/diagram', '^GET$'),
    ('p', 'staff', '/api/v1/tasks/:id/variables', '^GET$'),
    ('p', 'staff', '/api/v1/tasks/:id/history', '^GET$'),
    ('p', 'analyst', '/api/v1/process-definitions/key/:key/start-form', '^GET$'),
    ('p', 'developer', '/api/v1/process-definitions/key/:key/start-form', '^GET$');

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v0 = 'staff' AND v1 IN ('/api/v1/tasks/:id/diagram',
    '/api/v1/tasks/:id/variables', '/api/v1/tasks/:id/history');
DELETE FROM casbin_rule WHERE ptype = 'p' AND v0 IN ('analyst', 'developer')
    AND v1 = '/api/v1/process-definitions/key/:key/start-form';
