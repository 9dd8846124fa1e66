-- pgbench script for `make bench-store` (bench/store): one transaction of
-- about the shape of one straight-through Baton command. It updates one
-- instance row, picked at random among the :rows pre-created ones (pgbench
-- -D rows=N), advancing its revision and history counter, and inserts three
-- history rows numbered after that counter, in one multi-row INSERT as
-- Baton's store writes history. Tables: setup.sql.
\set id random(1, :rows)
BEGIN;
UPDATE bench_instances SET state = 'completed', revision = revision + 1, history_seq = history_seq + 3, ended_at = now() WHERE id = :id RETURNING history_seq \gset
INSERT INTO bench_history (process_instance_id, seq, element_instance_id, element_id, type, command, at) VALUES (:id, :history_seq - 2, :id, 'Activity_1', 'completed', 'start', now()), (:id, :history_seq - 1, :id, 'Activity_2', 'completed', 'start', now()), (:id, :history_seq, :id, 'Activity_3', 'completed', 'start', now());
END;
