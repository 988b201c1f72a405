--
-- Routes around the firewall found by a red-team review, each closed.
--
CREATE SCHEMA rt AUTHORIZATION agent;
CREATE SCHEMA rt_other AUTHORIZATION agent;
CREATE TABLE rt.t AS SELECT g AS id, g::text AS data FROM generate_series(1, 500) g;
ALTER TABLE rt.t ADD PRIMARY KEY (id);
CREATE TABLE rt.u AS SELECT g AS id, g::text AS data FROM generate_series(1, 500) g;
CREATE TABLE rt_other.keep AS SELECT g AS id FROM generate_series(1, 10) g;
ALTER TABLE rt.t OWNER TO agent;
ALTER TABLE rt.u OWNER TO agent;
ALTER TABLE rt_other.keep OWNER TO agent;
CREATE DATABASE rt;                 -- a database named like the schema
ALTER DATABASE rt OWNER TO agent;
CREATE ROLE rt_super LOGIN SUPERUSER;
GRANT deletion_firewall_agent TO rt_super;
CREATE EXTENSION IF NOT EXISTS pg_surgery;

\c - agent
\set VERBOSITY terse
SET client_min_messages = warning;
-- 1. a refusal caught by the agent's own trigger does not let TRUNCATE
--    (or the ALTER TABLE that runs it) through
CREATE FUNCTION rt.swallow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        CREATE TEMP TABLE IF NOT EXISTS swallowed ();
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    RETURN NULL;
END $$;
CREATE TRIGGER rt_swallow BEFORE TRUNCATE ON rt.t
    FOR EACH STATEMENT EXECUTE FUNCTION rt.swallow();
TRUNCATE rt.t;
CREATE FUNCTION rt.swallow_b(int) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        CREATE TEMP TABLE IF NOT EXISTS swallowed ();
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    RETURN true;
END $$;
ALTER TABLE rt.u DROP COLUMN data, ADD CONSTRAINT sw CHECK (rt.swallow_b(id));

-- 2. a permanent table may not depend on a temporary type (the end of the
--    session would drop it unasked)
CREATE TYPE pg_temp.ty AS (id int, data text);
ALTER TABLE rt.u OF pg_temp.ty;
ALTER TABLE rt.u ADD COLUMN tmp pg_temp.ty;

-- 3. INSERT ... ON CONFLICT DO UPDATE counts its updates (and only them)
INSERT INTO rt.t SELECT id, 'x' FROM rt.t ON CONFLICT (id) DO UPDATE SET data = 'wiped';
INSERT INTO rt.t SELECT id, 'x' FROM rt.t WHERE id <= 100
    ON CONFLICT (id) DO UPDATE SET data = 'ok';
INSERT INTO rt.t SELECT g, 'new' FROM generate_series(1001, 1500) g
    ON CONFLICT (id) DO UPDATE SET data = 'x';

-- 4. ALTER TYPE ... ALTER ATTRIBUTE ... CASCADE rewrites its typed tables
CREATE TYPE rt.tty AS (id int, data text);
\c - postgres
CREATE TABLE rt.typed OF rt.tty;
INSERT INTO rt.typed SELECT g, g::text FROM generate_series(1, 500) g;
ALTER TABLE rt.typed OWNER TO agent;
\c - agent
\set VERBOSITY terse
SET client_min_messages = warning;
ALTER TYPE rt.tty ALTER ATTRIBUTE data TYPE "char" CASCADE;

-- 5. COMMIT inside a procedure, after rows were deleted, is refused: no
--    part of a refused statement survives
CREATE PROCEDURE rt.chunked() LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rt.t WHERE id <= 90;
    COMMIT;
    DELETE FROM rt.t WHERE id <= 180;
    COMMIT;
END $$;
CALL rt.chunked();

-- 6. everyone connecting as the agent: refused
ALTER DATABASE rt SET role = 'agent';

-- 7. a column of a table the session created is the session's
CREATE TABLE rt.mine (a int, b int);
ALTER TABLE rt.mine DROP COLUMN b;

-- 8. an old table attached under a partitioned table of another schema is
--    not covered by a token for that schema; nor can an agent add objects
--    to an extension
CREATE TABLE rt.p (id int) PARTITION BY LIST (id);
ALTER TABLE rt.p ATTACH PARTITION rt_other.keep DEFAULT;
\c - alice
SELECT deletion_firewall.confirm('drop', 'rt.*', agent => 'agent') AS tok \gset
SELECT deletion_firewall.confirm('drop', 'rt.*', agent => 'agent2') AS tok2 \gset
\c - agent
\set VERBOSITY terse
SET client_min_messages = warning;
SET deletion_firewall.token = :'tok';
DROP TABLE rt.p;
ALTER EXTENSION pg_surgery ADD TABLE rt.mine;

-- 9. 'rt.*' names the schema rt, not the database rt
DROP DATABASE rt;

-- 10. a token for another agent stays theirs, even for a superuser agent
--     that can SET ROLE to it
\c - postgres
GRANT USAGE, CREATE ON SCHEMA rt TO agent2;
ALTER TABLE rt.mine OWNER TO agent2;
\c - rt_super
\set VERBOSITY terse
SET client_min_messages = warning;
SET deletion_firewall.token = :'tok2';
SET ROLE agent2;
DROP TABLE rt.mine;
RESET ROLE;

-- 11. contrib functions that reach around the executor or the roles
SELECT heap_force_kill('rt.t'::regclass, array_agg(ctid)) FROM rt.t;

-- nothing of it happened
\c - postgres
SELECT (SELECT count(*) FROM rt.t) AS t_rows,
       (SELECT count(*) FROM rt.t WHERE data IN ('wiped', 'ok')) AS t_upserted,
       (SELECT count(*) FROM rt.t WHERE id > 1000) AS t_new,
       (SELECT count(*) FROM rt.u) AS u_rows,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'rt.u'::regclass
          AND attname = 'data' AND NOT attisdropped) AS u_data_column,
       (SELECT reloftype = 0 FROM pg_class WHERE oid = 'rt.u'::regclass) AS u_not_typed,
       (SELECT count(*) FROM rt.typed WHERE length(data) > 1) AS typed_intact,
       (SELECT count(*) FROM rt_other.keep) AS keep_rows,
       (SELECT count(*) FROM pg_database WHERE datname = 'rt') AS rt_database,
       (SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
         WHERE d.datname = 'rt') AS rt_db_settings,
       to_regclass('rt.mine') IS NOT NULL AS mine_exists;
SELECT attname FROM pg_attribute WHERE attrelid = 'rt.mine'::regclass
   AND attnum > 0 AND NOT attisdropped;
DROP DATABASE rt;
DROP EXTENSION pg_surgery;
DROP ROLE rt_super;

-- 12. the server-start setting too is the firewall's refusal for an agent
\c - agent
\set VERBOSITY terse
SELECT set_config('deletion_firewall.max_tokens', '50', false);
\c - postgres
SET deletion_firewall.max_tokens = 50;
SHOW deletion_firewall.max_tokens;
