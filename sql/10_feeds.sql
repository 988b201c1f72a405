--
-- Issue 9 section 4 and issue 14 section 3: what replicas, backups and
-- change feeds depend on, and settings and triggers that outlive the
-- statement.  Each attack by an agent (an ordinary one, and a superuser
-- agent) is refused with 42501, the state is shown intact afterwards, and a
-- human does the same successfully.  Replication slots and connections
-- need wal_level = logical and a walsender: tests/t/042_tamper_feeds.pl.
--
-- Everything this file creates is named t10_* or lives in schema t10.
--
SET client_min_messages = warning;
CREATE ROLE t10_sup LOGIN SUPERUSER;            -- (wrongly) a superuser agent
GRANT deletion_firewall_agent TO t10_sup;
CREATE SCHEMA t10 AUTHORIZATION agent;
GRANT USAGE ON SCHEMA t10 TO PUBLIC;
CREATE TABLE t10.orders (id int PRIMARY KEY, note text);
INSERT INTO t10.orders SELECT g, 'o' || g FROM generate_series(1, 100) g;
ALTER TABLE t10.orders OWNER TO agent;
CREATE TABLE t10.plain (id int);                 -- in no publication
ALTER TABLE t10.plain OWNER TO agent;
-- a human's change feed over the agent's table
CREATE PUBLICATION t10_cdc FOR TABLE t10.orders;
ALTER PUBLICATION t10_cdc OWNER TO agent;        -- even as owner
CREATE FOREIGN DATA WRAPPER t10_fdw;
CREATE SERVER t10_srv FOREIGN DATA WRAPPER t10_fdw;
GRANT USAGE ON FOREIGN SERVER t10_srv TO agent;
CREATE VIEW t10.state AS
SELECT (SELECT count(*) FROM t10.orders) AS orders,
       (SELECT format('%s/%s/%s/%s', pubinsert, pubupdate, pubdelete, pubtruncate)
          FROM pg_publication WHERE pubname = 't10_cdc') AS cdc_publishes,
       (SELECT string_agg(pr.prrelid::regclass::text, ',')
          FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
         WHERE p.pubname = 't10_cdc') AS cdc_tables,
       (SELECT relreplident FROM pg_class WHERE oid = 't10.orders'::regclass) AS replident,
       (SELECT coalesce(string_agg(c, ','), '')
          FROM pg_db_role_setting, unnest(setconfig) c
         WHERE setrole = 0
           AND setdatabase = (SELECT oid FROM pg_database
                               WHERE datname = current_database())
           AND c ~ '^(session_replication_role|session_preload_libraries|search_path|role|work_mem)=') AS db_settings,
       (SELECT count(*) FROM pg_subscription) AS subscriptions,
       (SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 't10%') AS event_triggers,
       (SELECT count(*) FROM pg_foreign_data_wrapper WHERE fdwname LIKE 't10%') AS fdws,
       (SELECT string_agg(format('%s %s', srvname, srvoptions), ',')
          FROM pg_foreign_server WHERE srvname LIKE 't10%') AS servers,
       (SELECT count(*) FROM pg_user_mappings WHERE srvname LIKE 't10%') AS mappings;
GRANT SELECT ON t10.state TO PUBLIC;
SELECT * FROM t10.state;
-- the first line of an error: SQLSTATE and message
CREATE FUNCTION t10.show_refusal(r text) RETURNS text LANGUAGE sql AS $$
SELECT split_part(r, E'\n', 1)
$$;
CREATE FUNCTION t10.et_fn() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE 'event trigger'; END $$;
GRANT CREATE ON DATABASE regression TO agent;

\c - agent
SET client_min_messages = warning;
-- 1. reaching around the server through other sessions
SELECT t10.show_refusal(try($$CREATE SUBSCRIPTION t10_sub CONNECTION 'dbname=regression' PUBLICATION t10_cdc WITH (connect = false)$$));
SELECT t10.show_refusal(try($$CREATE FOREIGN DATA WRAPPER t10_fdw2$$));
SELECT t10.show_refusal(try($$ALTER FOREIGN DATA WRAPPER t10_fdw OPTIONS (ADD x 'y')$$));
SELECT t10.show_refusal(try($$CREATE SERVER t10_srv2 FOREIGN DATA WRAPPER t10_fdw$$));
SELECT t10.show_refusal(try($$ALTER SERVER t10_srv OPTIONS (ADD host 'evil')$$));
SELECT t10.show_refusal(try($$CREATE USER MAPPING FOR bob SERVER t10_srv OPTIONS (user 'postgres')$$));
SELECT t10.show_refusal(try($$CREATE USER MAPPING FOR agent SERVER t10_srv$$));
SELECT t10.show_refusal(try($$CREATE FOREIGN TABLE t10.ft_prog (a text) SERVER t10_srv OPTIONS (program 'rm -rf /')$$));
SELECT t10.show_refusal(try($$CREATE FOREIGN TABLE t10.ft_file (a text) SERVER t10_srv OPTIONS (filename '/etc/passwd')$$));
SELECT t10.show_refusal(try($$CREATE FOREIGN TABLE t10.ft_col (a text OPTIONS (filename '/etc/passwd')) SERVER t10_srv$$));
-- an ordinary foreign table on a human's server is fine, its options not
SELECT try($$CREATE FOREIGN TABLE t10.ft_ok (a text) SERVER t10_srv OPTIONS (table_name 'x')$$);
SELECT t10.show_refusal(try($$ALTER FOREIGN TABLE t10.ft_ok OPTIONS (ADD program 'id')$$));
SELECT t10.show_refusal(try($$ALTER FOREIGN TABLE t10.ft_ok ALTER COLUMN a OPTIONS (ADD filename '/etc/passwd')$$));
SELECT t10.show_refusal(try($$ALTER TABLE t10.ft_ok OPTIONS (ADD filename '/etc/passwd')$$));
SELECT t10.show_refusal(try($$ALTER FOREIGN TABLE t10.ft_ok ADD COLUMN b text OPTIONS (program 'id')$$));
-- 2. settings and triggers that outlive the statement
SELECT t10.show_refusal(try($$ALTER DATABASE regression SET session_replication_role = replica$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression SET search_path = t10$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression RESET work_mem$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression CONNECTION LIMIT 0$$));
SELECT t10.show_refusal(try($$CREATE EVENT TRIGGER t10_et ON ddl_command_start EXECUTE FUNCTION t10.et_fn()$$));
-- 3. change feeds: a publication the session did not create
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc SET (publish = 'insert')$$));
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc DROP TABLE t10.orders$$));
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc SET TABLE t10.plain$$));
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc ADD TABLE t10.plain$$));
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc RENAME TO t10_gone$$));
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc OWNER TO agent2$$));
SELECT t10.show_refusal(try($$ALTER TABLE t10.orders REPLICA IDENTITY NOTHING$$));
-- on an unpublished table it is the agent's business
SELECT try($$ALTER TABLE t10.plain REPLICA IDENTITY NOTHING$$);
-- a publication the agent's session creates is its own
SELECT try($$CREATE PUBLICATION t10_mine FOR TABLE t10.plain$$);
SELECT try($$ALTER PUBLICATION t10_mine SET (publish = 'insert')$$);
SELECT try($$ALTER PUBLICATION t10_mine ADD TABLE t10.orders$$);
-- (removing a table from it is a removal: decided by the destruction rules)
SELECT try($$ALTER PUBLICATION t10_mine DROP TABLE t10.orders$$);
-- 4. state-changing admin functions: an ordinary agent meets PostgreSQL's
-- own privilege checks first (the superuser agent below meets the firewall)
SELECT t10.show_refusal(try($$SELECT pg_replication_origin_drop('t10_origin')$$));
SELECT t10.show_refusal(try($$SELECT pg_replication_origin_advance('t10_origin', '0/1')$$));
SELECT t10.show_refusal(try($$SELECT pg_replication_origin_session_setup('t10_origin')$$));
SELECT t10.show_refusal(try($$SELECT pg_replication_slot_advance('t10_slot', '0/1')$$));
SELECT t10.show_refusal(try($$SELECT * FROM pg_logical_slot_get_changes('t10_slot', NULL, NULL)$$));
SELECT t10.show_refusal(try($$SELECT pg_stat_reset()$$));
-- 5. statement types outside the known-safe set fail closed
SELECT t10.show_refusal(try($$SECURITY LABEL ON TABLE t10.orders IS 'x'$$));
SELECT t10.show_refusal(try($$ALTER INDEX t10.orders_pkey DEPENDS ON EXTENSION plpgsql$$));
SELECT t10.show_refusal(try($$CREATE TABLESPACE t10_ts LOCATION '/tmp'$$));
SELECT t10.show_refusal(try($$CREATE CONVERSION t10_conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8$$));
-- ordinary agent work goes on: a migration
BEGIN;
CREATE TABLE t10.m (id serial PRIMARY KEY, status text NOT NULL DEFAULT 'new');
CREATE INDEX ON t10.m (status);
ALTER TABLE t10.m ADD COLUMN at timestamptz DEFAULT now();
CREATE VIEW t10.mv AS SELECT id FROM t10.m;
CREATE TYPE t10.mood AS ENUM ('ok', 'sad');
CREATE DOMAIN t10.pos AS int CHECK (VALUE > 0);
CREATE FUNCTION t10.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE SEQUENCE t10.s;
CREATE TRIGGER t10_trg BEFORE INSERT ON t10.m FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
COMMENT ON TABLE t10.m IS 'migrated';
GRANT SELECT ON t10.m TO bob;
ALTER DEFAULT PRIVILEGES IN SCHEMA t10 GRANT SELECT ON TABLES TO bob;
CREATE MATERIALIZED VIEW t10.mat AS SELECT 1 AS x;
REFRESH MATERIALIZED VIEW t10.mat;
CREATE TABLE t10.copy AS SELECT * FROM t10.m;
SAVEPOINT a;
SET LOCAL work_mem = '8MB';
SHOW work_mem;
LOCK TABLE t10.m IN SHARE MODE;
PREPARE q AS SELECT count(*) FROM t10.m;
EXECUTE q;
DEALLOCATE q;
DECLARE c CURSOR FOR SELECT 1;
FETCH c;
CLOSE c;
EXPLAIN (COSTS OFF) SELECT * FROM t10.m;
DO $$BEGIN PERFORM 1; END$$;
NOTIFY t10_chan;
RELEASE a;
COMMIT;
VACUUM t10.m;
ANALYZE t10.m;
REINDEX TABLE t10.m;
CLUSTER t10.m USING m_pkey;
LISTEN t10_chan;
UNLISTEN *;
DISCARD PLANS;
COPY t10.m (id) TO STDOUT;
SELECT * FROM t10.state;

-- a superuser agent: the same refusals, whatever its privileges
\c - t10_sup
SET client_min_messages = warning;
SELECT t10.show_refusal(try($$CREATE SUBSCRIPTION t10_sub CONNECTION 'dbname=regression' PUBLICATION t10_cdc WITH (connect = false)$$));
SELECT t10.show_refusal(try($$CREATE USER MAPPING FOR bob SERVER t10_srv$$));
SELECT t10.show_refusal(try($$ALTER SERVER t10_srv OWNER TO t10_sup$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression SET session_preload_libraries = 'nonexistent'$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression SET role = 'postgres'$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression RESET ALL$$));
SELECT t10.show_refusal(try($$ALTER DATABASE regression WITH ALLOW_CONNECTIONS false$$));
SELECT t10.show_refusal(try($$CREATE EVENT TRIGGER t10_et ON sql_drop EXECUTE FUNCTION t10.et_fn()$$));
SELECT t10.show_refusal(try($$ALTER EVENT TRIGGER deletion_firewall_backstop DISABLE$$));
SELECT t10.show_refusal(try($$ALTER PUBLICATION t10_cdc SET (publish = 'insert, update')$$));
SELECT t10.show_refusal(try($$ALTER TABLE t10.orders REPLICA IDENTITY NOTHING$$));
SELECT t10.show_refusal(try($$SELECT pg_replication_origin_drop('t10_origin')$$));
SELECT t10.show_refusal(try($$SELECT pg_replication_origin_advance('t10_origin', '0/1')$$));
SELECT t10.show_refusal(try($$SELECT pg_replication_origin_session_setup('t10_origin')$$));
-- no slot exists in this instance, so there is nothing to protect: the slot
-- functions reach PostgreSQL's own errors (slots: tests/t/042_tamper_feeds.pl)
SELECT t10.show_refusal(try($$SELECT pg_replication_slot_advance('t10_slot', '0/1')$$));
SELECT t10.show_refusal(try($$SELECT * FROM pg_logical_slot_get_changes('t10_slot', NULL, NULL)$$));
SELECT t10.show_refusal(try($$SELECT pg_drop_replication_slot('t10_slot')$$));
SELECT t10.show_refusal(try($$SELECT pg_promote()$$));
SELECT t10.show_refusal(try($$SELECT pg_stat_reset()$$));
SELECT t10.show_refusal(try($$SELECT pg_stat_reset_single_table_counters('t10.orders'::regclass)$$));
SELECT t10.show_refusal(try($$REASSIGN OWNED BY bob TO t10_sup$$));
SELECT t10.show_refusal(try($$CREATE ACCESS METHOD t10_am TYPE TABLE HANDLER heap_tableam_handler$$));
-- lo_unlink of a large object that does not exist: PostgreSQL's own 42704
SELECT try($$SELECT lo_unlink(987654321)$$);
SELECT * FROM t10.state;

-- a human does the same
\c - postgres
SET client_min_messages = warning;
SELECT pg_replication_origin_create('t10_origin') > 0 AS origin_created;
SELECT pg_replication_origin_drop('t10_origin');
ALTER PUBLICATION t10_cdc SET (publish = 'insert');
ALTER PUBLICATION t10_cdc ADD TABLE t10.plain;
ALTER TABLE t10.orders REPLICA IDENTITY NOTHING;
ALTER DATABASE regression SET work_mem = '7MB';
CREATE EVENT TRIGGER t10_et ON sql_drop EXECUTE FUNCTION t10.et_fn();
CREATE USER MAPPING FOR bob SERVER t10_srv;
CREATE SUBSCRIPTION t10_sub CONNECTION 'dbname=regression' PUBLICATION t10_cdc WITH (connect = false);
SELECT * FROM t10.state;
-- clean up
ALTER SUBSCRIPTION t10_sub SET (slot_name = NONE);
DROP SUBSCRIPTION t10_sub;
DROP EVENT TRIGGER t10_et;
ALTER DATABASE regression RESET work_mem;
DROP USER MAPPING FOR bob SERVER t10_srv;
DROP PUBLICATION t10_cdc, t10_mine;
DROP SCHEMA t10 CASCADE;
DROP SERVER t10_srv;
DROP FOREIGN DATA WRAPPER t10_fdw;
REVOKE CREATE ON DATABASE regression FROM agent;
DROP OWNED BY t10_sup;
DROP ROLE t10_sup;
