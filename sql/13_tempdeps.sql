--
-- No permanent object may come to depend on a temporary one (issue 9,
-- section 1): the removal of temporary objects (ON COMMIT DROP, DISCARD,
-- the end of the session, autovacuum) would take it along unchecked.  An
-- agent's statement that would make such a link is refused (42501, cannot
-- be approved), whatever the path; after each attack the data is intact.
--
-- Everything this file creates lives in schema t13.
--
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA t13 AUTHORIZATION agent;
-- a human's partition-key function and its partitioned table of 1,000 rows
-- (the agent owns the function, so it may replace it)
CREATE FUNCTION t13.bucket(i int) RETURNS int LANGUAGE sql IMMUTABLE
    AS 'SELECT i % 2';
ALTER FUNCTION t13.bucket(int) OWNER TO agent;
CREATE TABLE t13.parts (id int, v text) PARTITION BY LIST (t13.bucket(id));
CREATE TABLE t13.parts0 PARTITION OF t13.parts FOR VALUES IN (0);
CREATE TABLE t13.parts1 PARTITION OF t13.parts FOR VALUES IN (1);
INSERT INTO t13.parts SELECT g, 'v' || g FROM generate_series(1, 1000) g;
-- older objects of the agent's, made by a human
CREATE TABLE t13.h (a int, b int);
INSERT INTO t13.h SELECT g, g FROM generate_series(1, 100) g;
CREATE DOMAIN t13.dd AS int;
CREATE VIEW t13.v AS SELECT a FROM t13.h;
ALTER TABLE t13.parts OWNER TO agent;
ALTER TABLE t13.h OWNER TO agent;
ALTER DOMAIN t13.dd OWNER TO agent;
ALTER VIEW t13.v OWNER TO agent;

-- what must not change
CREATE FUNCTION t13.state() RETURNS text LANGUAGE sql STABLE AS $$
SELECT format('parts=%s h=%s cols=%s defaults=%s constraints=%s indexes=%s triggers=%s rules=%s policies=%s objects=%s bucket=%s',
    (SELECT count(*) FROM t13.parts),
    (SELECT count(*) FROM t13.h),
    (SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
       FROM pg_attribute WHERE attrelid = 't13.h'::regclass AND attnum > 0 AND NOT attisdropped),
    (SELECT count(*) FROM pg_attrdef WHERE adrelid = 't13.h'::regclass),
    (SELECT count(*) FROM pg_constraint WHERE conrelid = 't13.h'::regclass
                                           OR contypid = 't13.dd'::regtype),
    (SELECT count(*) FROM pg_index WHERE indrelid = 't13.h'::regclass),
    (SELECT count(*) FROM pg_trigger WHERE tgrelid = 't13.h'::regclass),
    (SELECT count(*) FROM pg_rewrite WHERE ev_class = 't13.h'::regclass),
    (SELECT count(*) FROM pg_policy WHERE polrelid = 't13.h'::regclass),
    (SELECT count(*) FROM pg_class WHERE relnamespace = 't13'::regnamespace),
    (SELECT prosrc FROM pg_proc WHERE oid = 't13.bucket(int)'::regprocedure))
$$;
-- links from permanent objects to temporary ones: the query dfwctl doctor
-- runs.  Temporary: what the removal of the temporary schemas would take
-- (their objects, and objects without a schema that belong to one).
CREATE FUNCTION t13.links(OUT permanent_object text, OUT temporary_object text)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
WITH RECURSIVE temp_obj(classid, objid) AS (
    SELECT 'pg_namespace'::regclass::oid, n.oid
      FROM pg_namespace n
     WHERE n.nspname ~ '^pg_(toast_)?temp_[0-9]+$'
  UNION
    SELECT d.classid, d.objid
      FROM pg_depend d
      JOIN temp_obj t ON d.refclassid = t.classid AND d.refobjid = t.objid
     WHERE coalesce((pg_identify_object(d.classid, d.objid, 0)).schema
                    ~ '^pg_(toast_)?temp_[0-9]+$',
                    d.deptype IN ('a', 'i'))
)
SELECT pg_describe_object(d.classid, d.objid, d.objsubid),
       regexp_replace(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid),
                      'pg_temp_[0-9]+', 'pg_temp_N', 'g')
  FROM pg_depend d
  JOIN temp_obj t ON d.refclassid = t.classid AND d.refobjid = t.objid
 WHERE NOT EXISTS (SELECT FROM temp_obj u
                    WHERE u.classid = d.classid AND u.objid = d.objid)
 ORDER BY 1, 2
$$;
-- an attempt in a subtransaction; the temporary schema's number masked
CREATE FUNCTION t13.try(sql text) RETURNS text LANGUAGE sql AS $$
SELECT regexp_replace(public.try(sql), 'pg_temp_[0-9]+', 'pg_temp_N', 'g')
$$;
GRANT USAGE ON SCHEMA t13 TO PUBLIC;
SELECT t13.state() AS before \gset
SELECT :'before';

\c - agent
\set VERBOSITY terse
-- the issue's attack, verbatim: refused at the statement, the partitioned
-- table and its rows are there after COMMIT
BEGIN;
CREATE TEMP TABLE t (a int) ON COMMIT DROP;
CREATE OR REPLACE FUNCTION t13.bucket(i int) RETURNS int LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC SELECT i % 2 + coalesce((NULL::pg_temp.t).a, 0); END;
COMMIT;
SELECT count(*) AS parts_after_commit FROM t13.parts;
-- the same in a subtransaction, the transaction then committed
BEGIN;
CREATE TEMP TABLE t (a int) ON COMMIT DROP;
SELECT t13.try($$CREATE OR REPLACE FUNCTION t13.bucket(i int) RETURNS int
    LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC SELECT i % 2 + coalesce((NULL::pg_temp.t).a, 0); END$$);
COMMIT;
SELECT count(*) AS parts_after_commit FROM t13.parts;

-- temporary objects to link to
CREATE TYPE pg_temp.ty AS (x int);
CREATE DOMAIN pg_temp.d AS int CHECK (VALUE > 0);
CREATE TYPE pg_temp.rr AS RANGE (subtype = int);
CREATE FUNCTION pg_temp.f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION pg_temp.f0() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE FUNCTION pg_temp.f2(int, int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION pg_temp.trgf() RETURNS trigger LANGUAGE plpgsql
    AS 'BEGIN RETURN NEW; END';
CREATE FUNCTION pg_temp.castf(pg_temp.ty) RETURNS int LANGUAGE sql IMMUTABLE
    AS 'SELECT 1';
CREATE TEMP TABLE tt (a int);
-- DDL run by a function, not by the client
CREATE FUNCTION pg_temp.doit() RETURNS void LANGUAGE plpgsql
    AS $$BEGIN EXECUTE 'CREATE TABLE t13.x_fn (a pg_temp.ty)'; END$$;

-- every path: each refused, the schema unchanged
CREATE TEMP TABLE attacks (n int PRIMARY KEY, sql text);
INSERT INTO attacks VALUES
 -- column types, directly or through a domain, array, range or composite
 (1, 'CREATE TABLE t13.x1 (a pg_temp.ty)'),
 (2, 'CREATE TABLE t13.x2 (a pg_temp.ty[])'),
 (3, 'CREATE TABLE t13.x3 (a pg_temp.d)'),
 (4, 'CREATE TABLE t13.x4 (a pg_temp.rr)'),
 (5, 'CREATE TABLE t13.x5 (a pg_temp.tt)'),
 (6, 'CREATE TABLE t13.x6 OF pg_temp.ty'),
 (7, 'ALTER TABLE t13.h ADD COLUMN c pg_temp.ty'),
 (8, 'ALTER TABLE t13.h ALTER COLUMN b TYPE pg_temp.d'),
 (9, 'ALTER TABLE t13.h OF pg_temp.ty'),
 (10, 'CREATE TYPE t13.x10 AS (a pg_temp.ty)'),
 (11, 'CREATE TYPE t13.x11 AS RANGE (subtype = pg_temp.d)'),
 -- domains over temporary domains, domain defaults and constraints
 (12, 'CREATE DOMAIN t13.x12 AS pg_temp.d'),
 (13, 'CREATE DOMAIN t13.x13 AS int DEFAULT pg_temp.f0()'),
 (14, 'ALTER DOMAIN t13.dd SET DEFAULT pg_temp.f0()'),
 (15, 'ALTER DOMAIN t13.dd ADD CONSTRAINT c CHECK (pg_temp.f(VALUE) > 0)'),
 -- defaults, generated columns, constraints, indexes, partition keys
 (16, 'CREATE TABLE t13.x16 (a int DEFAULT pg_temp.f0())'),
 (17, 'ALTER TABLE t13.h ALTER COLUMN a SET DEFAULT pg_temp.f0()'),
 (18, 'ALTER TABLE t13.h ADD COLUMN g int GENERATED ALWAYS AS (pg_temp.f(a)) STORED'),
 (19, 'ALTER TABLE t13.h ADD CONSTRAINT c CHECK (pg_temp.f(a) > 0)'),
 (20, 'CREATE INDEX ON t13.h (pg_temp.f(a))'),
 (21, 'CREATE TABLE t13.x21 (a int) PARTITION BY RANGE (pg_temp.f(a))'),
 (22, 'CREATE STATISTICS t13.x22 ON (pg_temp.f(a)) FROM t13.h'),
 -- views and function bodies
 (23, 'CREATE OR REPLACE VIEW t13.v AS SELECT pg_temp.f(a) AS a FROM t13.h'),
 (24, 'CREATE VIEW t13.x24 AS SELECT pg_temp.f(a) FROM t13.h'),
 (25, 'CREATE MATERIALIZED VIEW t13.x25 AS SELECT pg_temp.f(1)'),
 (26, 'CREATE FUNCTION t13.x26() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT pg_temp.f(1); END'),
 (27, 'CREATE FUNCTION t13.x27(pg_temp.ty) RETURNS int LANGUAGE sql AS ''SELECT 1'''),
 (28, 'SELECT pg_temp.doit()'),
 -- triggers, rules, policies
 (29, 'CREATE TRIGGER x29 BEFORE INSERT ON t13.h FOR EACH ROW EXECUTE FUNCTION pg_temp.trgf()'),
 (30, 'CREATE RULE x30 AS ON INSERT TO t13.h DO ALSO SELECT pg_temp.f(1)'),
 (31, 'CREATE POLICY x31 ON t13.h USING (pg_temp.f(a) > 0)'),
 -- casts, operators, aggregates
 (32, 'CREATE CAST (pg_temp.ty AS int) WITH FUNCTION pg_temp.castf(pg_temp.ty)'),
 (33, 'CREATE OPERATOR t13.=== (leftarg = int, rightarg = int, function = pg_temp.f2)'),
 (34, 'CREATE AGGREGATE t13.x34(int) (sfunc = pg_temp.f2, stype = int)'),
 -- PostgreSQL's own refusals
 (35, 'CREATE OR REPLACE VIEW t13.v AS SELECT a FROM pg_temp.tt'),
 (36, 'CREATE TABLE t13.x36 (a int) INHERITS (pg_temp.tt)'),
 (37, 'ALTER FUNCTION pg_temp.f0() SET SCHEMA t13');
SELECT n, t13.try(sql) AS outcome FROM attacks ORDER BY n;
SELECT t13.state() = :'before' AS unchanged;
SELECT * FROM t13.links();

-- the other direction is fine: temporary objects over permanent ones
SELECT t13.try('CREATE TEMP VIEW tv AS SELECT a FROM t13.h') AS temp_view,
       t13.try('CREATE TEMP TABLE tx (a t13.dd DEFAULT t13.bucket(1), r pg_temp.rr)') AS temp_table,
       t13.try('CREATE INDEX ON pg_temp.tt (t13.bucket(a))') AS temp_index,
       t13.try('CREATE FUNCTION pg_temp.g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM t13.h; END') AS temp_function,
       t13.try('CREATE TEMP TABLE ts (a serial PRIMARY KEY, b pg_temp.d CHECK (b > 0))') AS temp_serial;
-- and a permanent object of the session's own, with no temporary link
SELECT t13.try('CREATE TABLE t13.mine (a t13.dd, b int CHECK (t13.bucket(b) = 0))') AS own_table,
       t13.try('DROP TABLE t13.mine') AS own_drop;
-- DISCARD TEMP of the session's own temporary objects
DISCARD TEMP;
SELECT count(*) AS temp_objects FROM pg_class WHERE relnamespace = pg_my_temp_schema();
SELECT t13.state() = :'before' AS unchanged;

-- a human may still make such a link (it is logged at session end and
-- reported by dfwctl doctor); the agent's DISCARD TEMP that would cascade
-- to it is a guarded drop
\c - postgres
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE TYPE pg_temp.hty AS (x int);
CREATE TABLE t13.hl (id int, c pg_temp.hty);
INSERT INTO t13.hl SELECT g FROM generate_series(1, 10) g;
SELECT * FROM t13.links();
SET ROLE agent;
SELECT t13.try('DISCARD TEMP') AS agent_discard;
RESET ROLE;
SELECT count(*) AS hl_rows FROM t13.hl;
SELECT attname FROM pg_attribute
 WHERE attrelid = 't13.hl'::regclass AND attnum > 0 AND NOT attisdropped;
-- the human's own DISCARD TEMP is not checked
DISCARD TEMP;
SELECT * FROM t13.links();
SELECT count(*) AS hl_rows FROM t13.hl;
SELECT count(*) AS parts FROM t13.parts;
DROP SCHEMA t13 CASCADE;
