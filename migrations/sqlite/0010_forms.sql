-- Camunda Forms (form-js JSON, .form files) deployed beside the models and
-- linked from user tasks by camunda:formRef or zeebe:formDefinition formId.
-- A form keeps its own versions by its id: deploying identical content
-- again is not a new version.

-- +goose Up
CREATE TABLE forms (
    id             INTEGER PRIMARY KEY,
    form_id        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    deployment_id  INTEGER NOT NULL REFERENCES deployments (id),
    checksum       TEXT NOT NULL,
    json           BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    CONSTRAINT forms_form_id_version UNIQUE (form_id, version)
);
CREATE INDEX forms_deployment ON forms (deployment_id, form_id);

-- +goose Down
DROP TABLE forms;
