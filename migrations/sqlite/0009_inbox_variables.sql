-- The inbox's variable filter (see the PostgreSQL migration of the same
-- number): user_task_candidates_name_instance, which carries the process
-- instance of each task, replaces user_task_candidates_name, of which it
-- is an extension. SQLite checks a variable filter by the primary key of
-- variables and needs no variables_name_value.

-- +goose Up
CREATE INDEX user_task_candidates_name_instance ON user_task_candidates (kind, name, task_id, process_instance_id);
DROP INDEX user_task_candidates_name;

-- +goose Down
CREATE INDEX user_task_candidates_name ON user_task_candidates (kind, name, task_id);
DROP INDEX user_task_candidates_name_instance;
