-- Call activities: an instance a call activity started knows the instance
-- and the call activity instance that started it, so that the child can
-- return to its caller and the caller can find, list and cancel its
-- children. Both are 0 for an instance started otherwise; the index holds
-- only children.

-- +goose Up
ALTER TABLE process_instances ADD COLUMN parent_instance_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE process_instances ADD COLUMN parent_element_instance_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX process_instances_parent ON process_instances (parent_instance_id, parent_element_instance_id, started_at, id) WHERE parent_instance_id <> 0;

-- +goose Down
DROP INDEX process_instances_parent;
ALTER TABLE process_instances DROP COLUMN parent_element_instance_id;
ALTER TABLE process_instances DROP COLUMN parent_instance_id;
