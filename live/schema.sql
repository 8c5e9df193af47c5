-- The subset of attune's schema that racesim's model touches (spec 2.1, 2.3, 2.4), written
-- after migrations/20250101000006_workflow_system.sql at f93e922. Unqualified names: the
-- caller sets search_path to a per-run schema. Deviations from attune, on purpose:
--   * status columns are text, not execution_status_enum (IN/NOT IN over literals behaves
--     the same; no ordering on status is ever used);
--   * no foreign keys and no workflow_definition/action tables (the model never reads them);
--   * task_graph is nullable (the differential test stores states without a graph).
CREATE TABLE execution (
    id            BIGSERIAL PRIMARY KEY,
    action_ref    TEXT,
    parent        BIGINT,
    status        TEXT NOT NULL DEFAULT 'requested',
    result        JSONB,
    workflow_task JSONB,
    worker        BIGINT,
    updated       TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
-- The sibling queries filter on these JSON sub-fields compared as text.
CREATE INDEX idx_execution_workflow_task
    ON execution ((workflow_task->>'workflow_execution'), (workflow_task->>'task_name'));
CREATE INDEX idx_execution_parent ON execution (parent);

CREATE TABLE workflow_execution (
    id              BIGSERIAL PRIMARY KEY,
    execution       BIGINT NOT NULL,
    current_tasks   TEXT[] NOT NULL DEFAULT '{}',
    completed_tasks TEXT[] NOT NULL DEFAULT '{}',
    failed_tasks    TEXT[] NOT NULL DEFAULT '{}',
    skipped_tasks   TEXT[] NOT NULL DEFAULT '{}',
    variables       JSONB NOT NULL DEFAULT '{}',
    task_graph      JSONB,
    status          TEXT NOT NULL DEFAULT 'running',
    error_message   TEXT,
    updated         TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_workflow_execution_execution UNIQUE (execution)
);

CREATE TABLE workflow_task_dispatch (
    id                 BIGSERIAL PRIMARY KEY,
    workflow_execution BIGINT NOT NULL,
    task_name          TEXT NOT NULL,
    task_index         INT,
    execution_id       BIGINT
);
CREATE UNIQUE INDEX uq_workflow_task_dispatch_identity
    ON workflow_task_dispatch (workflow_execution, task_name, COALESCE(task_index, -1));
