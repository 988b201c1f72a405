-- bench/setup.sql: run once by the bootstrap superuser on the template
-- cluster, after 'pgbench -i' and with deletion_firewall preloaded.
\set ON_ERROR_STOP on

CREATE EXTENSION deletion_firewall;

-- 'agent' is tagged as an AI agent, 'human' is not; both may log in and both
-- may read and write the pgbench tables (pgbench's tpcb-like script updates
-- one row per statement, well under deletion_firewall.max_rows).
CREATE ROLE agent LOGIN IN ROLE deletion_firewall_agent;
CREATE ROLE human LOGIN;
GRANT ALL ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history
    TO agent, human;

-- The window (deletion_firewall.window_rows) stays on, set high enough that
-- the tpcb-like script (2,000 updates of the one pgbench_branches row) is
-- never refused: its cost is measured, not its refusal.  require_where is
-- off so that the mass-delete measure below still stops at max_rows + 1 rows
-- (with it on, DELETE FROM dfw_big is refused at its first row).  Per
-- database: SET SESSION AUTHORIZATION in the single-user backend applies no
-- per-role settings.
ALTER DATABASE postgres SET deletion_firewall.window_rows = 100000000;
ALTER DATABASE postgres SET deletion_firewall.require_where = off;

-- Mass-delete refusal: the same table at two sizes, owned by the agent.
CREATE TABLE dfw_big (id integer PRIMARY KEY, payload text NOT NULL);
CREATE TABLE dfw_small (id integer PRIMARY KEY, payload text NOT NULL);
INSERT INTO dfw_big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;
INSERT INTO dfw_small SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
ALTER TABLE dfw_big OWNER TO agent;
ALTER TABLE dfw_small OWNER TO agent;

-- Settle hint bits and the visibility map, so that every copy of this
-- cluster starts from the same state.
VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
