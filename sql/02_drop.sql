--
-- drop: every removal of an object by an agent is refused without a token,
-- whatever path removes it, and nothing it did survives.
--
CREATE SCHEMA app AUTHORIZATION agent;
SET ROLE agent;
SET client_min_messages = warning;
-- these belong to agent, but the agent's own session (after \c) did not
-- create them, so they are not exempt
CREATE TABLE app.orders (id serial PRIMARY KEY, email text DEFAULT 'x',
                         qty int CHECK (qty >= 0));
CREATE INDEX orders_email ON app.orders (email);
CREATE TABLE app.items (id int, order_id int REFERENCES app.orders ON DELETE CASCADE);
CREATE VIEW app.v_orders AS SELECT * FROM app.orders;
CREATE MATERIALIZED VIEW app.mv AS SELECT 1 AS one;
CREATE FUNCTION app.f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE SEQUENCE app.seq;
CREATE TYPE app.mood AS ENUM ('ok', 'sad');
CREATE FUNCTION app.trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER orders_trg BEFORE INSERT ON app.orders FOR EACH ROW EXECUTE FUNCTION app.trg();
CREATE POLICY p ON app.orders USING (true);
CREATE RULE r AS ON INSERT TO app.v_orders DO INSTEAD NOTHING;
ALTER TABLE app.orders ADD COLUMN note text;
INSERT INTO app.orders (email, qty) SELECT 'a' || g, g FROM generate_series(1, 10) g;
INSERT INTO app.items SELECT g, g FROM generate_series(1, 10) g;
RESET client_min_messages;
RESET ROLE;
SELECT lo_create(4242);
ALTER LARGE OBJECT 4242 OWNER TO agent;

\c - agent
\set VERBOSITY terse
DROP TABLE app.orders;
DROP TABLE app.orders CASCADE;
DROP TABLE app.items;
DROP VIEW app.v_orders;
DROP MATERIALIZED VIEW app.mv;
DROP FUNCTION app.f(int);
DROP SEQUENCE app.seq;
DROP TYPE app.mood;
DROP INDEX app.orders_email;
DROP TRIGGER orders_trg ON app.orders;
DROP POLICY p ON app.orders;
DROP RULE r ON app.v_orders;
DROP SCHEMA app CASCADE;
ALTER TABLE app.orders DROP COLUMN note;
ALTER TABLE app.orders DROP CONSTRAINT orders_qty_check;
ALTER TABLE app.items DROP CONSTRAINT items_order_id_fkey;
ALTER TABLE app.orders ALTER COLUMN email DROP DEFAULT;
DROP OWNED BY agent;
SELECT lo_unlink(4242);
-- a removal undone with its subtransaction is forgotten, not refused later
DO $$
BEGIN
    BEGIN
        PERFORM lo_unlink(4242);
        RAISE EXCEPTION 'changed my mind';
    EXCEPTION WHEN raise_exception THEN
        RAISE NOTICE 'rolled back: %', SQLERRM;
    END;
END $$;
-- through a DO block and a function
DO $$ BEGIN EXECUTE 'DROP TABLE app.items'; END $$;
CREATE FUNCTION public.dropper() RETURNS void LANGUAGE plpgsql
    AS $$ BEGIN DROP TABLE app.items; END $$;
SELECT public.dropper();
-- an exception handler sees the refusal, and the drop is undone with it
DO $$
BEGIN
    DROP TABLE app.items;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END $$;
-- the full error: action, object, agent; DETAIL with the reason and a
-- request id; HINT with the confirm() call
\set VERBOSITY default
SELECT public.try('DROP TABLE app.orders');
SELECT public.try('DROP TABLE app.orders CASCADE');

-- everything is still there
\c - postgres
SELECT relname, relkind FROM pg_class
 WHERE relnamespace = 'app'::regnamespace ORDER BY relname;
SELECT count(*) AS orders FROM app.orders;
SELECT count(*) AS items FROM app.items;
SELECT attname FROM pg_attribute
 WHERE attrelid = 'app.orders'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT conname FROM pg_constraint WHERE conrelid IN ('app.orders'::regclass, 'app.items'::regclass) AND contype <> 'n' ORDER BY 1;
SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'app.orders'::regclass ORDER BY adnum;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'app.orders'::regclass AND NOT tgisinternal;
SELECT polname FROM pg_policy;
SELECT rulename FROM pg_rules WHERE schemaname = 'app';
SELECT proname FROM pg_proc WHERE pronamespace = 'app'::regnamespace ORDER BY 1;
SELECT typname FROM pg_type WHERE typnamespace = 'app'::regnamespace AND typname = 'mood';
SELECT count(*) AS large_objects FROM pg_largeobject_metadata WHERE oid = 4242;

-- DROP DATABASE, from a database where CREATE EXTENSION never ran
CREATE DATABASE victim OWNER agent;
CREATE DATABASE noext;
\c noext
CREATE TABLE public.t AS SELECT g FROM generate_series(1, 5) g;
ALTER TABLE public.t OWNER TO agent;
SELECT count(*) FROM pg_extension WHERE extname = 'deletion_firewall';
\c noext agent
\set VERBOSITY terse
DROP DATABASE victim;
DROP TABLE public.t;
TRUNCATE public.t;
\set VERBOSITY default
\c noext postgres
SELECT count(*) AS t_rows FROM public.t;
SELECT datname FROM pg_database WHERE datname = 'victim';
\c regression postgres
DROP DATABASE noext;
