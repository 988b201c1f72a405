--
-- truncate: TRUNCATE of any table, tables reached by CASCADE, partitions.
--
SET ROLE agent;
CREATE TABLE app.parent (id int PRIMARY KEY);
CREATE TABLE app.child (id int, parent_id int REFERENCES app.parent);
CREATE TABLE app.events (at date, what text) PARTITION BY RANGE (at);
CREATE TABLE app.events_2025 PARTITION OF app.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_2026 PARTITION OF app.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO app.parent SELECT generate_series(1, 5);
INSERT INTO app.child SELECT g, g FROM generate_series(1, 5) g;
INSERT INTO app.events VALUES ('2025-06-01', 'a'), ('2026-06-01', 'b');
RESET ROLE;

\c - agent
\set VERBOSITY terse
TRUNCATE app.child;
TRUNCATE app.parent CASCADE;
TRUNCATE app.parent, app.child;
TRUNCATE app.events;
TRUNCATE app.events_2026;
TRUNCATE ONLY app.events;
DO $$ BEGIN TRUNCATE app.child; END $$;

-- a token for the parent table does not cover what CASCADE reaches
\c - alice
SELECT deletion_firewall.confirm('truncate', 'app.parent', agent => 'agent') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
TRUNCATE app.parent CASCADE;
\set VERBOSITY default
SELECT public.try('TRUNCATE app.parent CASCADE');
\set VERBOSITY terse

-- a token for a partitioned table covers its partitions
\c - alice
SELECT deletion_firewall.confirm('truncate', 'app.events', agent => 'agent') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
TRUNCATE app.events;

\c - postgres
SELECT (SELECT count(*) FROM app.parent) AS parent,
       (SELECT count(*) FROM app.child) AS child,
       (SELECT count(*) FROM app.events_2025) AS events_2025,
       (SELECT count(*) FROM app.events_2026) AS events_2026;
