--
-- The sliding window: rows an agent deletes or updates per table, across
-- statements, transactions and sessions; and require_where.  window_rows is
-- lowered to 300 for the agents here (max_rows stays 100), so that batches
-- of 100 show the limit: 300 rows pass, row 301 is refused.
--
ALTER ROLE agent SET deletion_firewall.window_rows = 300;
ALTER ROLE agent2 SET deletion_firewall.window_rows = 300;
CREATE SCHEMA w;
CREATE ROLE w_owner NOLOGIN;
GRANT w_owner TO agent;
GRANT USAGE, CREATE ON SCHEMA w TO agent, agent2, w_owner;
CREATE FUNCTION w.fill(t regclass, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %s SELECT g, g FROM generate_series(1, %s) g', t, n);
END $$;
CREATE TABLE w.a (id int PRIMARY KEY, v int);
CREATE TABLE w.b (id int PRIMARY KEY, v int);
CREATE TABLE w.c (id int PRIMARY KEY, v int);
CREATE TABLE w.d (id int PRIMARY KEY, v int);
CREATE TABLE w.e (id int PRIMARY KEY, v int);
CREATE TABLE w.f (id int PRIMARY KEY, v int);
CREATE TABLE w.g (id int PRIMARY KEY, v int);
CREATE TABLE w.h (id int PRIMARY KEY, v int);
CREATE TABLE w.empty (id int PRIMARY KEY, v int);
CREATE TABLE w.human (id int PRIMARY KEY, v int);
SELECT w.fill('w.a', 400), w.fill('w.b', 400), w.fill('w.c', 400), w.fill('w.d', 400),
       w.fill('w.e', 400), w.fill('w.f', 700), w.fill('w.g', 3), w.fill('w.h', 700),
       w.fill('w.human', 1000);
ALTER TABLE w.c OWNER TO w_owner;
ALTER TABLE w.human OWNER TO w_owner;
GRANT ALL ON ALL TABLES IN SCHEMA w TO agent, agent2;

\c - agent
\set VERBOSITY sqlstate
SHOW deletion_firewall.window_rows;
SHOW deletion_firewall.window_seconds;

-- batches in one transaction: exactly window_rows passes, one more does not
BEGIN;
DELETE FROM w.a WHERE id IN (SELECT id FROM w.a ORDER BY id LIMIT 100);
DELETE FROM w.a WHERE id IN (SELECT id FROM w.a ORDER BY id LIMIT 100);
DELETE FROM w.a WHERE id IN (SELECT id FROM w.a ORDER BY id LIMIT 100);
SELECT public.try('DELETE FROM w.a WHERE id IN (SELECT id FROM w.a ORDER BY id LIMIT 1)');
COMMIT;
SELECT count(*) AS a_left FROM w.a;
-- one row more, in a later transaction: still refused
DELETE FROM w.a WHERE id = 400;
-- rows of a statement that rolled back still count
BEGIN;
DELETE FROM w.b WHERE id <= 100;
DELETE FROM w.b WHERE id <= 200;
ROLLBACK;
DELETE FROM w.b WHERE id <= 100;
DELETE FROM w.b WHERE id = 101;
SELECT count(*) AS b_left FROM w.b;

-- as SET ROLE owner of the table: counted for the login role
SET ROLE w_owner;
DELETE FROM w.c WHERE id <= 100;
DELETE FROM w.c WHERE id > 100 AND id <= 200;
DELETE FROM w.c WHERE id > 200 AND id <= 300;
\set VERBOSITY terse
DELETE FROM w.c WHERE id = 301;
\set VERBOSITY sqlstate
RESET ROLE;
SELECT count(*) AS c_left FROM w.c;

-- via UPDATE
UPDATE w.d SET v = -v WHERE id <= 100;
UPDATE w.d SET v = -v WHERE id > 100 AND id <= 200;
UPDATE w.d SET v = -v WHERE id > 200 AND id <= 300;
SELECT public.try('UPDATE w.d SET v = -v WHERE id > 300 AND id <= 310');
SELECT count(*) FILTER (WHERE v < 0) AS d_updated FROM w.d;

-- several agents keep separate counts
DELETE FROM w.e WHERE id <= 100;
DELETE FROM w.e WHERE id > 100 AND id <= 200;
DELETE FROM w.e WHERE id > 200 AND id <= 300;
\c - agent2
\set VERBOSITY sqlstate
DELETE FROM w.e WHERE id > 300 AND id <= 350;
\c - agent
\set VERBOSITY sqlstate
DELETE FROM w.e WHERE id = 400;
SELECT count(*) AS e_left FROM w.e;

-- in a DO loop, with max_rows out of the way: the window stops it
\c - postgres
ALTER ROLE agent SET deletion_firewall.max_rows = -1;
\c - agent
\set VERBOSITY sqlstate
DO $$
BEGIN
    FOR i IN 0..6 LOOP
        DELETE FROM w.f WHERE id > i * 100 AND id <= (i + 1) * 100;
    END LOOP;
END $$;
SELECT count(*) AS f_left FROM w.f;
\c - postgres
ALTER ROLE agent RESET deletion_firewall.max_rows;

-- confirmed rows do not count: a 200-row statement confirmed by a token,
-- then 300 more rows pass without one
\c - alice
SELECT deletion_firewall.confirm('delete', 'w.h', agent => 'agent') AS tok \gset
\c - agent
\set VERBOSITY sqlstate
SET deletion_firewall.token = :'tok';
DELETE FROM w.h WHERE id <= 200;
RESET deletion_firewall.token;
DELETE FROM w.h WHERE id > 200 AND id <= 300;
DELETE FROM w.h WHERE id > 300 AND id <= 400;
DELETE FROM w.h WHERE id > 400 AND id <= 500;
DELETE FROM w.h WHERE id = 501;
SELECT count(*) AS h_left FROM w.h;

-- require_where: a whole-table DELETE/UPDATE of a 3-row table is refused
\set VERBOSITY default
SELECT public.try('DELETE FROM w.g');
\set VERBOSITY sqlstate
UPDATE w.g SET v = 0;
DELETE FROM w.g WHERE 1 = 1;
DELETE FROM w.g WHERE true;
UPDATE w.g SET v = 0 WHERE 1 = 1;
-- at any nesting level: a function, a view
CREATE FUNCTION w.wipe() RETURNS void LANGUAGE sql AS 'DELETE FROM w.g';
SELECT w.wipe();
CREATE VIEW w.gv AS SELECT * FROM w.g;
DELETE FROM w.gv;
SELECT count(*) AS g_rows, count(*) FILTER (WHERE v = 0) AS g_zeroed FROM w.g;
-- a WHERE clause that names rows, an empty table, the agent's own table: fine
DELETE FROM w.g WHERE id = 3;
DELETE FROM w.empty;
UPDATE w.empty SET v = 0;
CREATE TABLE w.own AS SELECT g AS id FROM generate_series(1, 3) g;
DELETE FROM w.own;
SELECT count(*) AS g_rows FROM w.g;

-- an upsert through the agent's own partitioned table into a human's table
-- attached under it (the agent is a member of its owner): decided per table
-- actually written
CREATE TABLE w.pr (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE w.pr_own PARTITION OF w.pr FOR VALUES FROM (100001) TO (200001);
INSERT INTO w.pr SELECT g, 0 FROM generate_series(100001, 100200) g;
ALTER TABLE w.pr ATTACH PARTITION w.human FOR VALUES FROM (1) TO (100001);
-- the agent's own partition: its rows are its own
INSERT INTO w.pr SELECT g, 1 FROM generate_series(100001, 100200) g
    ON CONFLICT (id) DO UPDATE SET v = excluded.v;
-- the human's: refused
\set VERBOSITY terse
INSERT INTO w.pr SELECT g, 0 FROM generate_series(1, 1000) g
    ON CONFLICT (id) DO UPDATE SET v = excluded.v;
\c - postgres
SELECT count(*) AS human_rows, count(*) FILTER (WHERE v = id) AS human_intact FROM w.human;
SELECT count(*) FILTER (WHERE v = 1) AS own_upserted FROM w.pr_own;

-- the refusals were remembered with their reason and rows
SELECT action, target, reason, count(*) FROM deletion_firewall.blocked
 WHERE target IN ('w.a', 'w.d', 'w.g', 'w.human') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

ALTER ROLE agent RESET deletion_firewall.window_rows;
ALTER ROLE agent2 RESET deletion_firewall.window_rows;
