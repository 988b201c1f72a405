--
-- delete/update: one count per top-level statement, over everything it
-- sets off; stopped as soon as the count passes deletion_firewall.max_rows.
-- The window and require_where (14_window) are off here: this test counts
-- the rows of single statements, many of them whole-table deletes.
--
ALTER ROLE agent SET deletion_firewall.window_rows = -1;
ALTER ROLE agent SET deletion_firewall.require_where = off;
CREATE SCHEMA r AUTHORIZATION agent;
SET ROLE agent;
CREATE TABLE r.t (id int PRIMARY KEY, v int);
CREATE TABLE r.parent (id int PRIMARY KEY);
CREATE TABLE r.child (id int, parent_id int REFERENCES r.parent ON DELETE CASCADE);
CREATE TABLE r.nullme (id int, parent_id int REFERENCES r.parent ON DELETE SET NULL);
CREATE TABLE r.log (id int);
CREATE TABLE r.p (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE r.p1 PARTITION OF r.p FOR VALUES FROM (0) TO (50);
CREATE TABLE r.p2 PARTITION OF r.p FOR VALUES FROM (50) TO (1000);
CREATE VIEW r.v AS SELECT * FROM r.t WHERE v >= 0;
CREATE SEQUENCE r.seen;
CREATE FUNCTION r.count_seen() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM nextval('r.seen'); RETURN OLD; END $$;
CREATE TRIGGER t_seen BEFORE DELETE ON r.t FOR EACH ROW EXECUTE FUNCTION r.count_seen();
CREATE FUNCTION r.reset() RETURNS void LANGUAGE sql AS $$
    TRUNCATE r.t, r.parent, r.child, r.nullme, r.log, r.p;
    INSERT INTO r.t SELECT g, g FROM generate_series(1, 5000) g;
    INSERT INTO r.parent SELECT generate_series(1, 100);
    INSERT INTO r.child SELECT g, 1 + g % 100 FROM generate_series(1, 300) g;
    INSERT INTO r.nullme SELECT g, 1 + g % 100 FROM generate_series(1, 300) g;
    INSERT INTO r.log SELECT generate_series(1, 300);
    INSERT INTO r.p SELECT g, g % 100 FROM generate_series(1, 300) g;
    SELECT setval('r.seen', 1, false);
$$;
SELECT r.reset();
RESET ROLE;
CREATE FUNCTION r.counts() RETURNS TABLE (t bigint, parent bigint, child bigint, nulled bigint, log bigint, p bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM r.t), (SELECT count(*) FROM r.parent),
           (SELECT count(*) FROM r.child),
           (SELECT count(*) FROM r.nullme WHERE parent_id IS NULL),
           (SELECT count(*) FROM r.log), (SELECT count(*) FROM r.p)
$$;

\c - agent
\set VERBOSITY terse
SHOW deletion_firewall.max_rows;
-- up to max_rows is fine, one more is not
DELETE FROM r.t WHERE id <= 100;
DELETE FROM r.t WHERE id <= 201;
UPDATE r.t SET v = v + 1 WHERE id <= 300;
UPDATE r.t SET v = v + 1 WHERE id <= 150;
SELECT * FROM r.counts();

-- the early stop: a 4,900-row DELETE touched max_rows + 1 rows
-- (counted as a difference: moving r.seen back is an agent's update)
SELECT last_value AS seen_before FROM r.seen \gset
DELETE FROM r.t;
SELECT last_value - :seen_before AS rows_seen FROM r.seen;
SELECT count(*) AS t_rows FROM r.t;

-- foreign-key cascades (100 parents + 300 children) and SET NULL
DELETE FROM r.parent WHERE id <= 30;
DELETE FROM r.parent WHERE id <= 10;
SELECT * FROM r.counts();
\c - postgres
SELECT r.reset();
\c - agent
\set VERBOSITY terse

-- a DO block that deletes 90 rows 60 times is one statement
DO $$
BEGIN
    FOR i IN 0..59 LOOP
        DELETE FROM r.t WHERE id > i * 90 AND id <= (i + 1) * 90;
    END LOOP;
END $$;
-- a function, a data-modifying CTE, a prepared statement, EXPLAIN ANALYZE,
-- COPY (DELETE ... RETURNING), an updatable view, a partitioned table
CREATE FUNCTION r.wipe() RETURNS void LANGUAGE sql AS 'DELETE FROM r.t';
SELECT r.wipe();
WITH d AS (DELETE FROM r.t WHERE id <= 500 RETURNING id) SELECT count(*) FROM d;
WITH d AS (DELETE FROM r.t WHERE id <= 60 RETURNING id)
    DELETE FROM r.log WHERE id IN (SELECT id FROM d) OR id > 250;
PREPARE wipe_some(int) AS DELETE FROM r.t WHERE id <= $1;
EXECUTE wipe_some(50);
EXECUTE wipe_some(500);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) DELETE FROM r.t;
\o /dev/null
COPY (DELETE FROM r.t RETURNING id) TO STDOUT;
\o
DELETE FROM r.v WHERE id < 1000;
UPDATE r.v SET v = 0;
DELETE FROM r.p;
UPDATE r.p SET k = 1;
-- MERGE ... DELETE / UPDATE
MERGE INTO r.t USING (SELECT generate_series(1, 400) AS id) s ON t.id = s.id
    WHEN MATCHED THEN DELETE;
MERGE INTO r.t USING (SELECT generate_series(1, 400) AS id) s ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET v = 0;
MERGE INTO r.t USING (SELECT generate_series(1, 40) AS id) s ON t.id = s.id
    WHEN MATCHED THEN DELETE;
-- a trigger that deletes elsewhere, and a rule
\c - postgres
CREATE FUNCTION r.also_log() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN DELETE FROM r.log WHERE id <= 60; RETURN OLD; END $$;
CREATE TRIGGER t_log AFTER DELETE ON r.parent FOR EACH STATEMENT EXECUTE FUNCTION r.also_log();
CREATE RULE parent_rule AS ON DELETE TO r.parent DO ALSO DELETE FROM r.p WHERE k < 20;
\c - agent
\set VERBOSITY terse
SELECT * FROM r.counts();
DELETE FROM r.parent WHERE id = 1;     -- 1 + 3 children + 60 log + 60 p
SELECT * FROM r.counts();
\c - postgres
DROP RULE parent_rule ON r.parent;
DROP TRIGGER t_log ON r.parent;
\c - agent
\set VERBOSITY terse

-- each row counts once: exactly max_rows passes (PostgreSQL never runs the
-- write itself in parallel; parallel settings change nothing), and a
-- DELETE inside a function run by a cursor FETCH is counted
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
DELETE FROM r.t WHERE id IN (SELECT id FROM r.t WHERE id > 1000 AND id <= 1100);
SELECT count(*) FROM r.t WHERE id > 1000 AND id <= 1100;
DELETE FROM r.t WHERE id IN (SELECT id FROM r.t WHERE id > 2000 AND id <= 2101);
RESET parallel_setup_cost; RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;
BEGIN;
DECLARE c CURSOR FOR SELECT r.wipe();
FETCH c;
ROLLBACK;

-- the whole refusal, with the rows counted
\set VERBOSITY default
SELECT public.try('DELETE FROM r.t');

-- a token's max_rows caps what it confirms
\c - alice
SELECT deletion_firewall.confirm('delete', 'r.t', max_rows => 200) AS tok \gset
\c - agent
\set VERBOSITY terse
SET deletion_firewall.token = :'tok';
DELETE FROM r.t;
DELETE FROM r.t WHERE id <= 150;
SELECT count(*) AS t_rows FROM r.t;
\c - alice
SELECT deletion_firewall.confirm('delete', 'r.t') AS tok \gset
\c - agent
\set VERBOSITY terse
SET deletion_firewall.token = :'tok';
DELETE FROM r.parent;          -- the token does not cover the cascade
DELETE FROM r.t;
SELECT count(*) AS t_rows FROM r.t;
\c - postgres
SELECT r.reset();
\c - agent
\set VERBOSITY terse

-- rows of temporary tables and of the session's own tables do not count
CREATE TEMP TABLE tmp AS SELECT generate_series(1, 1000) g;
DELETE FROM tmp;
CREATE TABLE r.own AS SELECT generate_series(1, 1000) g;
UPDATE r.own SET g = 0;
DELETE FROM r.own;

-- per role and per database, set by a superuser
\c - postgres
ALTER ROLE agent SET deletion_firewall.max_rows = 0;
\c - agent
\set VERBOSITY terse
SHOW deletion_firewall.max_rows;
DELETE FROM r.t WHERE id = 1;
\c - postgres
ALTER ROLE agent RESET deletion_firewall.max_rows;
SELECT * FROM r.counts();
ALTER DATABASE regression SET deletion_firewall.max_rows = -1;
\c - agent
\set VERBOSITY terse
SHOW deletion_firewall.max_rows;
DELETE FROM r.t WHERE id <= 1000;
\c - postgres
ALTER DATABASE regression RESET deletion_firewall.max_rows;
SELECT * FROM r.counts();
ALTER ROLE agent SET deletion_firewall.guard_update = off;
\c - agent
\set VERBOSITY terse
UPDATE r.t SET v = 0;
DELETE FROM r.t;
\c - postgres
ALTER ROLE agent RESET deletion_firewall.guard_update;
SELECT * FROM r.counts();
SELECT count(*) FILTER (WHERE v = 0) AS updated FROM r.t;

-- ALTER COLUMN ... TYPE rewrites every row: an update of the whole table
\c - agent
\set VERBOSITY terse
ALTER TABLE r.t ALTER COLUMN v TYPE text USING NULL;
ALTER TABLE r.log ALTER COLUMN id TYPE bigint;
ALTER TABLE r.own ALTER COLUMN g TYPE text USING NULL;   -- empty: allowed
\c - postgres
SELECT count(v) AS t_v_kept, pg_typeof(min(v)) FROM r.t;
ALTER ROLE agent RESET deletion_firewall.window_rows;
ALTER ROLE agent RESET deletion_firewall.require_where;
