--
-- Red-team routes (outside review).  Each attack by an agent must be
-- refused (42501) and the data shown intact afterwards.  The first section
-- holds routes that were OPEN when this file was written (the expected
-- output states the safe behaviour, so they fail until closed); the second
-- holds routes that were refused, kept as regression tests.
--
\set VERBOSITY sqlstate
CREATE SCHEMA rt;
-- only the SQLSTATE: the wording of the refusals is not what is tested here
CREATE FUNCTION rt.st(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused ' || SQLSTATE;
END
$$;
GRANT USAGE ON SCHEMA rt TO PUBLIC;
GRANT CREATE ON SCHEMA rt TO agent;

-- tables a human made and gave to the agent: not the agent session's own
CREATE TABLE rt.small (id int);
INSERT INTO rt.small VALUES (1), (2), (3);
CREATE TABLE rt.win (id int PRIMARY KEY);
INSERT INTO rt.win SELECT generate_series(1, 1500);
CREATE TABLE rt.hp (id int PRIMARY KEY, v int);
INSERT INTO rt.hp SELECT g, g FROM generate_series(1, 500) g;
CREATE TABLE rt.h (id int PRIMARY KEY, v int);
INSERT INTO rt.h SELECT g, g FROM generate_series(1, 300) g;
CREATE TABLE rt.h2 (id int PRIMARY KEY);
INSERT INTO rt.h2 SELECT generate_series(1, 300);
CREATE TABLE rt.hd (id int);
INSERT INTO rt.hd SELECT generate_series(1, 300);
CREATE TYPE rt.comp AS (a int, b text);
CREATE TABLE rt.typed OF rt.comp;
INSERT INTO rt.typed VALUES (1, 'x');
CREATE SEQUENCE rt.s1;
SELECT count(nextval('rt.s1')) FROM generate_series(1, 10);
CREATE TABLE rt.idt (id int GENERATED ALWAYS AS IDENTITY, v int);
INSERT INTO rt.idt (v) SELECT generate_series(1, 10);
CREATE TYPE rt.foo AS (a int);
CREATE TYPE rt.bar AS (a int);
CREATE FUNCTION rt.f(rt.foo) RETURNS int LANGUAGE sql AS 'SELECT 1';   -- scratch
CREATE FUNCTION rt.f(rt.bar) RETURNS int LANGUAGE sql AS 'SELECT 2';   -- precious
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS n FROM pg_class c
              WHERE c.relnamespace = 'rt'::regnamespace AND c.relkind IN ('r', 'S')
                AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO agent', r.n);
    END LOOP;
END
$$;
ALTER TYPE rt.comp OWNER TO agent;
ALTER TYPE rt.foo OWNER TO agent;
ALTER TYPE rt.bar OWNER TO agent;
ALTER FUNCTION rt.f(rt.foo) OWNER TO agent;
ALTER FUNCTION rt.f(rt.bar) OWNER TO agent;

-- ======================================================================
-- A. routes that were open
-- ======================================================================
\c - agent
SHOW deletion_firewall.require_where;
SHOW deletion_firewall.window_rows;

-- A1. require_where: a DELETE/UPDATE with no (or a constant-true) WHERE on
-- a non-exempt table is refused at its first row, however small the table.
SELECT rt.st('DELETE FROM rt.small');
SELECT rt.st('UPDATE rt.small SET id = 0 WHERE true');
SELECT rt.st('DELETE FROM rt.small WHERE 1 = 1');

-- A2. the window: ten deletes of max_rows rows pass, the eleventh would
-- bring the table past window_rows (1000) and is refused.
-- (each a statement of its own)
SELECT format('SELECT rt.st(%L)', format('DELETE FROM rt.win WHERE id <= %s', n * 100))
  FROM generate_series(1, 11) n \gexec

-- A3. INSERT ... ON CONFLICT DO UPDATE through a partitioned root the agent
-- just created (exempt) writes a human's table attached under it: every
-- updated row of that partition counts.
CREATE TABLE rt.proot (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
ALTER TABLE rt.proot ATTACH PARTITION rt.hp FOR VALUES FROM (1) TO (1000);
SELECT rt.st('INSERT INTO rt.proot SELECT g, 0 FROM generate_series(1, 500) g ON CONFLICT (id) DO UPDATE SET v = 0');

-- A4. a cursor fetched from inside functions: each slice counts in the
-- statement that called the function, not with the cursor's other fetches
-- (a direct FETCH/MOVE adds up over the cursor; see B3).  OPEN: 120 rows in
-- two 60-row slices go through; window_rows (1000 by default) caps the
-- split, as for any work split over statements.
CREATE FUNCTION rt.del1(i int) RETURNS int LANGUAGE plpgsql
    AS $$ BEGIN DELETE FROM rt.h WHERE id = i; RETURN i; END $$;
CREATE FUNCTION rt.del2(i int) RETURNS int LANGUAGE plpgsql
    AS $$ BEGIN DELETE FROM rt.h2 WHERE id = i; RETURN i; END $$;
BEGIN;
DECLARE c2 CURSOR FOR SELECT rt.del2(id) FROM generate_series(1, 300) id;
SELECT rt.st('MOVE 60 IN c2');
SELECT rt.st('MOVE 60 IN c2');
COMMIT;

-- A5. a token for the scratch function rt.f(rt.foo); the agent renames the
-- types so that the precious rt.f(rt.bar) takes that identity: the token must not cover
-- it (its identity names an argument type renamed since the issue)
\c - alice
SELECT deletion_firewall.confirm('drop', 'rt.f(rt.foo)', agent => 'agent') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
ALTER TYPE rt.foo RENAME TO foo_old;
ALTER TYPE rt.bar RENAME TO foo;
SELECT rt.st('DROP FUNCTION rt.f(rt.foo)');
RESET deletion_firewall.token;

\c - postgres
SELECT oid::regprocedure AS fn, prosrc FROM pg_proc WHERE proname = 'f' AND pronamespace = 'rt'::regnamespace ORDER BY 2;

\c - postgres
SELECT count(*) AS h2_rows FROM rt.h2;
SELECT count(*) AS small_rows FROM rt.small;
SELECT count(*) AS win_rows FROM rt.win;
SELECT count(*) AS hp_rows, sum(v) AS hp_sum FROM rt.hp;

-- ======================================================================
-- B. routes that were refused (regression tests)
-- ======================================================================
\c - agent
-- B1. the same partition, through the exempt root, by the other writers
SELECT rt.st('MERGE INTO rt.proot p USING (SELECT generate_series(1, 500) id) s ON p.id = s.id WHEN MATCHED THEN DELETE');
SELECT rt.st('MERGE INTO rt.proot p USING (SELECT generate_series(1, 500) id) s ON p.id = s.id WHEN MATCHED THEN UPDATE SET v = 1');
SELECT rt.st('DELETE FROM rt.proot WHERE id > 0');
SELECT rt.st('UPDATE rt.proot SET v = -1 WHERE id > 0');
SELECT rt.st('EXPLAIN ANALYZE DELETE FROM rt.proot WHERE id > 0');

-- B2. ALTER TYPE ... DROP ATTRIBUTE CASCADE drops the column of a typed table
SELECT rt.st('ALTER TYPE rt.comp DROP ATTRIBUTE b CASCADE');

-- B3. a WITH HOLD cursor whose rows each delete one row through a
-- function: its fetches, and its materialisation at COMMIT, count together
BEGIN;
DECLARE c CURSOR WITH HOLD FOR SELECT rt.del1(id) FROM generate_series(1, 300) id;
MOVE 60 IN c;
MOVE 30 IN c;
COMMIT;
-- the same cursor, without hold, fetched in slices within one transaction
BEGIN;
DECLARE c3 CURSOR FOR SELECT rt.del1(id) FROM generate_series(1, 300) id;
MOVE 60 IN c3;
MOVE 60 IN c3;
ROLLBACK;
-- a refcursor a function opens and the client fetches
CREATE FUNCTION rt.opencur() RETURNS refcursor LANGUAGE plpgsql AS $$
DECLARE r refcursor := 'rc';
BEGIN OPEN r FOR SELECT rt.del1(id) FROM generate_series(1, 300) id; RETURN r; END $$;
BEGIN;
SELECT rt.opencur();
MOVE 60 IN rc;
MOVE 60 IN rc;
ROLLBACK;

-- B4. a deferred constraint trigger that deletes one row each, fired at COMMIT
CREATE TABLE rt.q (i int);
CREATE FUNCTION rt.qdel() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN DELETE FROM rt.hd WHERE id = NEW.i; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER qt AFTER INSERT ON rt.q DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rt.qdel();
BEGIN;
INSERT INTO rt.q SELECT generate_series(1, 300);
COMMIT;
-- ... and at PREPARE TRANSACTION
BEGIN;
INSERT INTO rt.q SELECT generate_series(1, 300);
PREPARE TRANSACTION 'rt_x1';
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'rt_x1';
-- ... and by SET CONSTRAINTS ALL IMMEDIATE
BEGIN;
INSERT INTO rt.q SELECT generate_series(1, 300);
SELECT rt.st('SET CONSTRAINTS ALL IMMEDIATE');
ROLLBACK;

-- B5. a procedure that commits part of a statement's deletes
CREATE PROCEDURE rt.chunks() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0..2 LOOP
        DELETE FROM rt.hd WHERE id > i * 90 AND id <= (i + 1) * 90;
        COMMIT;
    END LOOP;
END $$;
CALL rt.chunks();

-- B6. quiet sequence moves: back by is_called, unlogged, identity options
SELECT rt.st('SELECT setval(''rt.s1'', 10, false)');
SELECT rt.st('ALTER SEQUENCE rt.s1 SET UNLOGGED');
SELECT rt.st('ALTER TABLE rt.idt ALTER COLUMN id SET INCREMENT BY -1');
SELECT rt.st('ALTER TABLE rt.idt ALTER COLUMN id SET CYCLE');
SELECT rt.st('ALTER SEQUENCE rt.s1 MAXVALUE 11 CYCLE');

\c - postgres
SELECT count(*) AS h_rows FROM rt.h;
SELECT count(*) AS hd_rows FROM rt.hd;
SELECT count(*) AS hp_rows FROM rt.hp;
SELECT * FROM rt.typed;
SELECT last_value, is_called FROM rt.s1;
SELECT relpersistence FROM pg_class WHERE oid = 'rt.s1'::regclass;
SELECT seqincrement, seqcycle FROM pg_sequence WHERE seqrelid = 'rt.idt_id_seq'::regclass;
SELECT count(*) AS prepared_left FROM pg_prepared_xacts WHERE gid = 'rt_x1';
