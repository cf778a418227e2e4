-- Several gopy processes on one database. Periodic jobs (housekeeping and the retention purge,
-- reminders, the start-up moderation scan) take turns: a process runs one only while it holds
-- the job's advisory lock, and only when the last run recorded here is at least the job's
-- period ago, so each runs once per period however many replicas tick.
CREATE TABLE job_runs (
    job      TEXT PRIMARY KEY,
    last_at  TIMESTAMPTZ NOT NULL
);

-- Counters every process shares (moderation's flood control per person per group, the cap on
-- automatic actions): one row per key per fixed window, incremented with one upsert. Keys
-- carry no platform id in clear (a hash). Rows older than a day are forgotten by housekeeping.
CREATE TABLE rate_windows (
    key           TEXT NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_windows_start ON rate_windows (window_start);
