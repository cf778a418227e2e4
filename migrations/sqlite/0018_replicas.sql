-- Periodic jobs' last runs and shared counters (see the Postgres migration of the same
-- number). On SQLite there is one process: the counters are kept in memory by the caller and
-- these tables serve the same code path and its tests.
CREATE TABLE job_runs (
    job      TEXT PRIMARY KEY,
    last_at  TEXT NOT NULL
) STRICT;

CREATE TABLE rate_windows (
    key           TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT;
CREATE INDEX rate_windows_start ON rate_windows (window_start);
