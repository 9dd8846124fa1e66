-- Tables of the pgbench baseline for `make bench-store` (bench/store). The
-- command creates them in a schema of their own, fills bench_instances with
-- rows 1..N (its -pgbench-rows flag) and drops the schema after the run.
--
-- They are shaped like the two tables a straight-through Baton command
-- writes most: an instance row with a revision and a history counter, and
-- append-only history rows keyed by (instance, seq).
CREATE TABLE bench_instances (
    id           BIGINT PRIMARY KEY,
    key          TEXT NOT NULL,
    state        TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    history_seq  BIGINT NOT NULL DEFAULT 0,
    started_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);

CREATE TABLE bench_history (
    process_instance_id  BIGINT NOT NULL,
    seq                  BIGINT NOT NULL,
    element_instance_id  BIGINT NOT NULL,
    element_id           TEXT NOT NULL,
    type                 TEXT NOT NULL,
    command              TEXT NOT NULL,
    at                   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (process_instance_id, seq)
);
