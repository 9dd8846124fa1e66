-- The inbox's variable filter (GET /api/v1/tasks?variable=name:value) for
-- a caller who sees only some tasks: the tasks the caller may see are
-- read from user_task_candidates_name_instance, which carries the process
-- instance of each task, so the variable is checked there, before any task
-- row is read, by a probe of variables_name_value that needs no table row
-- either; only the tasks that match are then fetched.
--
-- variables_name_value holds (name, value) with the instance and scope; a
-- btree entry must stay under about 2,700 bytes, so the index is partial:
-- names up to 256 bytes and values whose JSON text is up to 1,024 bytes.
-- The store uses it only for a filter value far below that bound (and
-- repeats the predicate so that the planner may), and checks the variable
-- by its primary key otherwise.
--
-- user_task_candidates_name_instance replaces user_task_candidates_name,
-- of which it is an extension.

-- +goose Up
CREATE INDEX variables_name_value ON variables (name, value, process_instance_id, scope_id)
    WHERE octet_length(name) <= 256 AND octet_length(value::text) <= 1024;
CREATE INDEX user_task_candidates_name_instance ON user_task_candidates (kind, name, task_id, process_instance_id);
DROP INDEX user_task_candidates_name;

-- +goose Down
CREATE INDEX user_task_candidates_name ON user_task_candidates (kind, name, task_id);
DROP INDEX user_task_candidates_name_instance;
DROP INDEX variables_name_value;
