--
-- Exempt: temporary objects and objects the agent's own session created;
-- but a removal of an exempt object that cascades to an older one is not.
--
CREATE TABLE app.old (id int, at int);
ALTER TABLE app.old OWNER TO agent;
INSERT INTO app.old SELECT g, 1 FROM generate_series(1, 10) g;
CREATE FUNCTION app.old_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION app.old_f() OWNER TO agent;

\c - agent
\set VERBOSITY terse
-- temporary objects
CREATE TEMP TABLE t_tmp AS SELECT generate_series(1, 500) g;
DELETE FROM t_tmp;
TRUNCATE t_tmp;
DROP TABLE t_tmp;
-- objects this session made, with their rows
CREATE TABLE app.mine AS SELECT generate_series(1, 500) g;
CREATE INDEX mine_g ON app.mine (g);
DELETE FROM app.mine WHERE g > 10;
UPDATE app.mine SET g = g + 1;
DROP INDEX app.mine_g;
TRUNCATE app.mine;
DROP TABLE app.mine;
-- CREATE OR REPLACE of an older function does not make it the session's
CREATE OR REPLACE FUNCTION app.old_f() RETURNS int LANGUAGE sql AS 'SELECT 2';
DROP FUNCTION app.old_f();
-- a new table that an old one was attached to: dropping it reaches the old
CREATE TABLE app.newparent (id int, at int) PARTITION BY RANGE (at);
ALTER TABLE app.newparent ATTACH PARTITION app.old FOR VALUES FROM (0) TO (100);
DROP TABLE app.newparent;
-- a new parent the old table inherits from: CASCADE reaches the old one
CREATE TABLE app.newbase (id int, at int);
ALTER TABLE app.newparent DETACH PARTITION app.old;
ALTER TABLE app.old INHERIT app.newbase;
DROP TABLE app.newbase CASCADE;
-- a new view over an old table can go; the old table stays
CREATE VIEW app.v_old AS SELECT * FROM app.old;
DROP VIEW app.v_old;

\c - postgres
SELECT count(*) AS old_rows FROM app.old;
SELECT to_regclass('app.newparent') IS NOT NULL AS newparent_exists,
       to_regprocedure('app.old_f()') IS NOT NULL AS old_f_exists;
