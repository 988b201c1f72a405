--
-- Tampering: an agent, even a superuser one, cannot switch the firewall off,
-- loosen its settings, touch the extension, manage roles, write system
-- catalogs, or reach around the server (COPY PROGRAM, server files,
-- untrusted languages, confirm/approve/revoke).  Every attempt is refused
-- with 42501 and a message that names the firewall, and after each group we
-- check that nothing changed.  A human superuser can still do all of it.
--
-- Everything this file creates is named t8_* or lives in schema t8.
--
\set VERBOSITY terse
SET client_min_messages = warning;
SELECT current_database() AS db \gset
CREATE ROLE t8_sup_agent LOGIN SUPERUSER;        -- (wrongly) a superuser agent
GRANT deletion_firewall_agent TO t8_sup_agent;
CREATE ROLE t8_human LOGIN;                      -- a plain human
CREATE SCHEMA t8 AUTHORIZATION agent;
CREATE TABLE t8.victim (id int);                  -- must survive
CREATE TABLE t8.rows AS SELECT g AS id FROM generate_series(1, 200) g;
ALTER TABLE t8.victim OWNER TO agent;
ALTER TABLE t8.rows OWNER TO agent;
-- the data directory, for the file checks (agents cannot SHOW it)
CREATE TABLE t8.conf AS SELECT current_setting('data_directory') AS datadir;
GRANT SELECT ON t8.conf TO PUBLIC;
GRANT USAGE ON SCHEMA t8 TO PUBLIC;

-- What we check after each round of attempts.
-- The extension: every function, view, the schema and pg_extension row.
CREATE FUNCTION t8.ext_fp() RETURNS text LANGUAGE sql STABLE AS $$
SELECT md5(coalesce(string_agg(x, E'\n' ORDER BY x), 'nothing'))
  FROM (SELECT format('fn %s %s %s %s %s %s %s', p.oid::regprocedure, p.proowner::regrole,
                      p.prosrc, p.probin, p.prosecdef, p.proconfig, p.proacl) AS x
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'deletion_firewall'
        UNION ALL
        SELECT format('rel %s %s %s %s %s', c.oid::regclass, c.relowner::regrole, c.relkind,
                      c.relacl, pg_get_viewdef(c.oid))
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'deletion_firewall'
        UNION ALL
        SELECT format('ext %s %s %s %s', e.extname, e.extversion, e.extowner::regrole,
                      e.extnamespace::regnamespace)
          FROM pg_extension e WHERE e.extname = 'deletion_firewall'
        UNION ALL
        SELECT format('nsp %s %s %s', n.nspname, n.nspowner::regrole, n.nspacl)
          FROM pg_namespace n WHERE n.nspname LIKE 'deletion_firewall%'
        UNION ALL
        SELECT format('dep %s', pg_describe_object(d.classid, d.objid, d.objsubid))
          FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
         WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
           AND e.extname = 'deletion_firewall') s
$$;
-- Roles and memberships, all of them.
CREATE FUNCTION t8.roles_fp() RETURNS text LANGUAGE sql STABLE AS $$
SELECT md5((SELECT string_agg(format('%s %s %s %s %s %s', rolname, rolsuper, rolcreaterole,
                                     rolcanlogin, rolinherit, rolconfig), ',' ORDER BY rolname)
              FROM pg_roles)
           || '/' ||
           (SELECT coalesce(string_agg(format('%s>%s %s', roleid, member, admin_option), ','
                                       ORDER BY roleid, member), '')
              FROM pg_auth_members))
$$;
-- Per-role and per-database settings (all of them, as a fingerprint).
CREATE FUNCTION t8.dbrole_fp() RETURNS text LANGUAGE sql STABLE AS $$
SELECT md5(coalesce(string_agg(format('%s %s %s', setdatabase, setrole, setconfig), ','
                               ORDER BY setdatabase, setrole), ''))
  FROM pg_db_role_setting
$$;
CREATE VIEW t8.settings_now AS
SELECT current_setting('deletion_firewall.enabled') AS enabled,
       current_setting('deletion_firewall.max_rows') AS max_rows,
       current_setting('deletion_firewall.guard_update') AS guard_update;
CREATE VIEW t8.my_roles AS
SELECT r.rolname, r.rolsuper, r.rolcreaterole,
       EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                WHERE m.member = r.oid
                  AND g.rolname = 'deletion_firewall_agent') AS tagged,
       EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                WHERE m.member = r.oid
                  AND g.rolname = 'deletion_firewall_approver') AS approver
  FROM pg_roles r
 WHERE r.rolname IN ('agent', 'alice', 'deletion_firewall_agent',
                     'deletion_firewall_approver') OR r.rolname LIKE 't8%'
 ORDER BY 1;
GRANT SELECT ON t8.settings_now, t8.my_roles TO PUBLIC;

SELECT t8.ext_fp() AS ext_fp, t8.roles_fp() AS roles_fp, t8.dbrole_fp() AS dbrole_fp \gset
SELECT pg_read_file('postgresql.auto.conf') AS auto_conf \gset
SELECT count(*) AS large_objects FROM pg_largeobject_metadata \gset
SELECT * FROM t8.my_roles;

-- The outcome of an attempt (run in a subtransaction):
--   'refused by firewall'  SQLSTATE 42501 and a message from the firewall,
--                          which is what the SPEC asks for every attempt;
--   'NOT REFUSED'          it went through;
--   'SQLSTATE: message'    refused by PostgreSQL itself before the firewall
--                          sees it.  Expected only where PostgreSQL checks
--                          first and nothing changes all the same: for an
--                          ordinary agent, lo_export (42501, PostgreSQL's
--                          own message: EXECUTE is not granted).  The
--                          superuser agent below shows the firewall's own
--                          refusal for the same call.
-- %db% and %me% and %dd% stand for the database, the session user and the
-- data directory.
CREATE FUNCTION t8.attempt(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text;
BEGIN
    sql := replace(replace(replace(sql,
               '%db%', quote_ident(current_database())),
               '%me%', quote_ident(session_user)),
               '%dd%', (SELECT datadir FROM t8.conf));
    EXECUTE sql;
    RETURN 'NOT REFUSED';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    IF st = '42501' AND msg ~ '^deletion_firewall refuse' THEN
        RETURN 'refused by firewall';
    END IF;
    RETURN st || ': ' || msg;
END
$$;

-- Wrappers a human made, that an agent might call to reach set_config(),
-- confirm() or catalog writes under another name.
CREATE FUNCTION t8.sql_sc(v text DEFAULT '-1') RETURNS text LANGUAGE sql
    AS $$ SELECT set_config('deletion_firewall.max_rows', v, false) $$;
CREATE FUNCTION t8.plpgsql_sc(v text DEFAULT '-1') RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN RETURN set_config('deletion_firewall.max_rows', v, false); END $$;
CREATE FUNCTION t8.plpgsql_set() RETURNS void LANGUAGE plpgsql
    AS $$ BEGIN SET deletion_firewall.guard_update = off; END $$;
CREATE FUNCTION t8.definer_sc() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT set_config('deletion_firewall.max_rows', '-1', false) $$;
CREATE FUNCTION t8.with_set() RETURNS text LANGUAGE sql
    SET deletion_firewall.max_rows = -1
    AS $$ SELECT current_setting('deletion_firewall.max_rows') $$;
CREATE FUNCTION t8.definer_with_set() RETURNS text LANGUAGE sql SECURITY DEFINER
    SET deletion_firewall.guard_update = off
    AS $$ SELECT current_setting('deletion_firewall.guard_update') $$;
-- a renamed copy of the C function behind set_config()
CREATE FUNCTION public.t8_sc(text, text, bool) RETURNS text
    AS 'set_config_by_name' LANGUAGE internal;
-- renamed copies of the firewall's own C functions, and a definer wrapper
CREATE FUNCTION public.t8_confirm_copy(text, text, interval, bigint, regrole, integer, name)
    RETURNS text AS '$libdir/deletion_firewall', 'dfw_confirm' LANGUAGE c;
CREATE FUNCTION public.t8_revoke_copy(text)
    RETURNS boolean AS '$libdir/deletion_firewall', 'dfw_revoke' LANGUAGE c;
CREATE FUNCTION t8.definer_confirm() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT deletion_firewall.confirm('drop', 't8.victim') $$;
-- catalog writes in plpgsql: the plan is cached after the first call
CREATE FUNCTION t8.cat_del() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    DELETE FROM pg_auth_members
     WHERE roleid = 'deletion_firewall_agent'::regrole
       AND member = session_user::text::regrole;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
CREATE FUNCTION t8.cat_upd() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    UPDATE pg_authid SET rolsuper = rolsuper WHERE rolname = session_user;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t8 TO PUBLIC;

-- Every attempt, run by each agent (through t8.attempt, in a subtransaction).
CREATE TABLE t8.attempts (n int PRIMARY KEY, sql text);
GRANT SELECT ON t8.attempts TO PUBLIC;
INSERT INTO t8.attempts VALUES
-- settings
 (101, 'SET deletion_firewall.max_rows = -1'),
 (102, 'SET LOCAL deletion_firewall.max_rows = -1'),
 (103, 'RESET deletion_firewall.max_rows'),
 (104, 'SET deletion_firewall.max_rows TO DEFAULT'),
 (105, 'SET deletion_firewall.guard_update = off'),
 (106, 'SET LOCAL deletion_firewall.guard_update = off'),
 (107, 'RESET deletion_firewall.guard_update'),
 (108, 'SET deletion_firewall.enabled = off'),
 (109, 'SET deletion_firewall.agent_role = ''t8_human'''),
 (110, 'SELECT set_config(''deletion_firewall.max_rows'', ''-1'', false)'),
 (111, 'SELECT set_config(''deletion_firewall.max_rows'', ''-1'', true)'),
 (112, 'SELECT set_config(''deletion_firewall.guard_update'', ''off'', false)'),
 (113, 'SELECT set_config(''deletion_firewall.enabled'', ''off'', false)'),
 (114, 'UPDATE pg_settings SET setting = ''-1'' WHERE name = ''deletion_firewall.max_rows'''),
 (115, 'SELECT t8.sql_sc()'),
 (116, 'SELECT t8.plpgsql_sc()'),
 (117, 'SELECT t8.plpgsql_set()'),
 (118, 'SELECT t8.definer_sc()'),
 (119, 'SELECT t8.with_set()'),
 (120, 'SELECT t8.definer_with_set()'),
 (121, 'SELECT public.t8_sc(''deletion_firewall.max_rows'', ''-1'', false)'),
 (122, 'ALTER ROLE %me% SET deletion_firewall.max_rows = -1'),
 (123, 'ALTER ROLE %me% IN DATABASE %db% SET deletion_firewall.guard_update = off'),
 (124, 'ALTER ROLE ALL SET deletion_firewall.max_rows = -1'),
 (125, 'ALTER ROLE agent RESET ALL'),
 (126, 'ALTER USER %me% SET deletion_firewall.max_rows = -1'),
 (127, 'ALTER DATABASE %db% SET deletion_firewall.max_rows = -1'),
 (128, 'ALTER DATABASE %db% RESET deletion_firewall.max_rows'),
 (129, 'ALTER DATABASE %db% RESET ALL'),
 (130, 'ALTER SYSTEM SET work_mem = ''64MB'''),
 (131, 'ALTER SYSTEM SET deletion_firewall.enabled = off'),
 (132, 'ALTER SYSTEM RESET ALL'),
 (133, 'LOAD ''deletion_firewall'''),
 (134, 'LOAD ''auto_explain'''),
-- the extension and its objects
 (201, 'DROP EXTENSION deletion_firewall'),
 (202, 'DROP EXTENSION IF EXISTS deletion_firewall CASCADE'),
 (203, 'CREATE EXTENSION IF NOT EXISTS deletion_firewall'),
 (204, 'ALTER EXTENSION deletion_firewall UPDATE'),
 (205, 'ALTER EXTENSION deletion_firewall DROP FUNCTION deletion_firewall.revoke(text)'),
 (206, 'ALTER EXTENSION deletion_firewall ADD TABLE t8.victim'),
 (223, 'ALTER EXTENSION deletion_firewall SET SCHEMA public'),
 (207, 'CREATE OR REPLACE FUNCTION deletion_firewall.confirm(action text, target text DEFAULT ''*'', valid_for interval DEFAULT ''10 minutes'', max_rows bigint DEFAULT NULL, agent regrole DEFAULT NULL, uses integer DEFAULT 1, dbname name DEFAULT current_database()) RETURNS text LANGUAGE sql AS $q$SELECT ''dfw_''$q$'),
 (208, 'CREATE OR REPLACE FUNCTION deletion_firewall.revoke(token_id text) RETURNS boolean LANGUAGE sql AS $q$SELECT true$q$'),
 (209, 'ALTER FUNCTION deletion_firewall.confirm(text, text, interval, bigint, regrole, integer, name) OWNER TO %me%'),
 (210, 'ALTER FUNCTION deletion_firewall.confirm(text, text, interval, bigint, regrole, integer, name) RENAME TO confirm_old'),
 (211, 'ALTER FUNCTION deletion_firewall.confirm(text, text, interval, bigint, regrole, integer, name) SECURITY DEFINER'),
 (212, 'ALTER FUNCTION deletion_firewall.revoke(text) SET search_path = t8'),
 (213, 'DROP FUNCTION deletion_firewall.revoke(text)'),
 (214, 'DROP VIEW deletion_firewall.tokens'),
 (215, 'CREATE OR REPLACE VIEW deletion_firewall.blocked AS SELECT * FROM deletion_firewall._blocked() WHERE false'),
 (216, 'ALTER VIEW deletion_firewall.events RENAME TO events_old'),
 (217, 'DROP SCHEMA deletion_firewall CASCADE'),
 (218, 'ALTER SCHEMA deletion_firewall RENAME TO dfw_old'),
 (219, 'ALTER SCHEMA deletion_firewall OWNER TO %me%'),
 (220, 'CREATE FUNCTION deletion_firewall.newf() RETURNS int LANGUAGE sql AS $q$SELECT 1$q$'),
 (221, 'CREATE TABLE deletion_firewall.t8_new (x int)'),
 (222, 'REVOKE EXECUTE ON FUNCTION deletion_firewall.revoke(text) FROM PUBLIC'),
-- roles
 (301, 'CREATE ROLE t8_incognito LOGIN'),
 (302, 'CREATE USER t8_incognito2'),
 (303, 'CREATE ROLE t8_incognito3 SUPERUSER LOGIN'),
 (304, 'ALTER ROLE %me% NOSUPERUSER'),
 (305, 'ALTER ROLE %me% RENAME TO t8_renamed'),
 (306, 'ALTER ROLE %me% PASSWORD ''x'''),
 (307, 'ALTER ROLE t8_human SUPERUSER'),
 (308, 'ALTER ROLE t8_human RENAME TO t8_human2'),
 (309, 'DROP ROLE t8_human'),
 (310, 'DROP ROLE IF EXISTS t8_nobody'),
 (311, 'GRANT t8_human TO %me%'),
 (312, 'GRANT deletion_firewall_approver TO %me%'),
 (313, 'REVOKE deletion_firewall_agent FROM %me%'),
 (314, 'REVOKE deletion_firewall_agent FROM agent CASCADE'),
 (315, 'ALTER GROUP deletion_firewall_agent DROP USER %me%'),
 (316, 'ALTER GROUP deletion_firewall_approver ADD USER %me%'),
-- system catalogs
 (401, 'DELETE FROM pg_auth_members WHERE member = session_user::text::regrole'),
 (402, 'UPDATE pg_authid SET rolsuper = true WHERE rolname = session_user'),
 (403, 'UPDATE pg_catalog.pg_authid SET rolname = rolname WHERE rolname = ''t8_human'''),
 (404, 'INSERT INTO pg_auth_members (roleid, member, grantor, admin_option) SELECT ''deletion_firewall_approver''::regrole, session_user::text::regrole, 10, false'),
 (405, 'INSERT INTO pg_db_role_setting SELECT 0, session_user::text::regrole, ''{deletion_firewall.max_rows=-1}'''),
 (406, 'DELETE FROM pg_catalog.pg_extension WHERE extname = ''deletion_firewall'''),
 (407, 'UPDATE pg_proc SET prosrc = ''dfw_events'' WHERE proname = ''confirm'''),
 (408, 'WITH d AS (DELETE FROM pg_auth_members WHERE member = session_user::text::regrole RETURNING 1) SELECT count(*) FROM d'),
 (409, 'SELECT t8.cat_del()'),
 (410, 'SELECT t8.cat_upd()'),
-- reach-around
 (501, 'COPY (SELECT 1) TO PROGRAM ''touch t8_prog_out'''),
 (502, 'COPY t8.victim FROM PROGRAM ''echo 1'''),
 (503, 'COPY (SELECT 1) TO ''%dd%/t8_copy_out'''),
 (504, 'COPY t8.victim TO ''%dd%/t8_copy_out2'''),
 (505, 'COPY t8.victim FROM ''%dd%/PG_VERSION'''),
 (506, 'SELECT lo_export(lo_from_bytea(0, ''\x31''::bytea), ''%dd%/t8_lo_out'')'),
 (507, 'CREATE FUNCTION t8.my_sc(text, text, bool) RETURNS text AS ''set_config_by_name'' LANGUAGE internal'),
 (508, 'CREATE FUNCTION t8.my_confirm(text) RETURNS text AS ''$libdir/deletion_firewall'', ''dfw_confirm'' LANGUAGE c'),
 (509, 'CREATE OR REPLACE FUNCTION t8.sql_sc(v text DEFAULT ''-1'') RETURNS text AS ''set_config_by_name'' LANGUAGE internal'),
 (510, 'CREATE LANGUAGE t8_lang HANDLER plpgsql_call_handler'),
 (511, 'DO LANGUAGE c $q$x$q$'),
-- plperlu, plpython3u and pltclu are not installed here, so a DO block or a
-- function in them cannot be tried; 'c' and 'internal' are the untrusted
-- languages every server has.
 (601, 'SELECT deletion_firewall.confirm(''drop'', ''t8.victim'')'),
 (602, 'SELECT deletion_firewall.confirm(''all'', ''*'', ''1 hour'', NULL, NULL, 1000, NULL)'),
 (603, 'SELECT deletion_firewall.approve(''req_00000000000000000000000000000000'')'),
 (604, 'SELECT deletion_firewall.revoke(''tok_0000000000000000'')'),
 (605, 'SELECT public.t8_confirm_copy(''drop'', ''t8.victim'', ''10 minutes'', NULL, NULL, 1, NULL)'),
 (606, 'SELECT public.t8_revoke_copy(''tok_0000000000000000'')'),
 (607, 'SELECT t8.definer_confirm()');
RESET client_min_messages;

-- A token the agents may set: deletion_firewall.token is theirs.
SELECT deletion_firewall.confirm('drop', 't8.nothing*', '10 minutes') AS tok \gset

--
-- 1. An ordinary agent.
--
\c - agent
\set VERBOSITY terse
SET client_min_messages = warning;
\pset format unaligned
SELECT n, sql, t8.attempt(sql) AS outcome FROM t8.attempts ORDER BY n;
\pset format aligned
RESET client_min_messages;
-- the same, top level (not inside a function)
SET deletion_firewall.max_rows = -1;
SET deletion_firewall.guard_update = off;
RESET deletion_firewall.max_rows;
BEGIN;
SET LOCAL deletion_firewall.max_rows = -1;
ROLLBACK;
ALTER ROLE agent SET deletion_firewall.max_rows = -1;
ALTER DATABASE :"db" SET deletion_firewall.max_rows = -1;
ALTER SYSTEM SET work_mem = '64MB';
LOAD 'deletion_firewall';
DROP EXTENSION deletion_firewall;
ALTER EXTENSION deletion_firewall UPDATE;
CREATE ROLE t8_incognito LOGIN;
GRANT t8_human TO agent;
REVOKE deletion_firewall_agent FROM agent;
COPY (SELECT 1) TO PROGRAM 'true';
COPY t8.victim FROM '/etc/hostname';
CREATE FUNCTION my_sc(text, text, bool) RETURNS text AS 'set_config_by_name' LANGUAGE internal;
SELECT deletion_firewall.confirm('drop', 't8.victim');
-- plpgsql functions called twice: the second call runs the cached plan
SELECT i, t8.attempt('SELECT t8.plpgsql_sc()') AS set_config,
       t8.attempt('SELECT t8.plpgsql_set()') AS set_stmt,
       t8.attempt('SELECT t8.cat_del()') AS cat_delete
  FROM generate_series(1, 2) i;
-- the token is the one setting an agent may change
SET deletion_firewall.token = :'tok';
SELECT current_setting('deletion_firewall.token') = :'tok' AS token_set;
SELECT set_config('deletion_firewall.token', '', false);
RESET deletion_firewall.token;
-- RESET ALL and DISCARD ALL go back to what the server and a human configured
RESET ALL;
DISCARD ALL;
-- nothing changed
SELECT * FROM t8.settings_now;
SELECT * FROM t8.my_roles;
SELECT t8.ext_fp() = :'ext_fp' AS extension_unchanged,
       t8.roles_fp() = :'roles_fp' AS roles_unchanged,
       t8.dbrole_fp() = :'dbrole_fp' AS role_db_settings_unchanged,
       (SELECT count(*) FROM t8.victim) AS victim_rows,
       (SELECT count(*) FROM pg_proc WHERE proname IN ('my_sc', 'my_confirm', 'newf')) AS new_functions;
-- a second session of the same agent is guarded
\c - agent
\set VERBOSITY terse
SELECT * FROM t8.settings_now;
DROP TABLE t8.victim;
DELETE FROM t8.rows;
SELECT to_regclass('t8.victim') AS victim, (SELECT count(*) FROM t8.rows) AS rows;

--
-- 2. A superuser agent: its native privileges change nothing.
--
\c - t8_sup_agent
\set VERBOSITY terse
SELECT rolsuper FROM pg_roles WHERE rolname = session_user;
SET client_min_messages = warning;
\pset format unaligned
SELECT n, sql, t8.attempt(sql) AS outcome FROM t8.attempts ORDER BY n;
\pset format aligned
RESET client_min_messages;
-- the same, top level
SET deletion_firewall.max_rows = -1;
SET deletion_firewall.guard_update = off;
RESET deletion_firewall.guard_update;
BEGIN;
SET LOCAL deletion_firewall.max_rows = -1;
ROLLBACK;
SELECT set_config('deletion_firewall.max_rows', '-1', false);
SELECT public.t8_sc('deletion_firewall.max_rows', '-1', false);
ALTER ROLE t8_sup_agent SET deletion_firewall.max_rows = -1;
ALTER DATABASE :"db" SET deletion_firewall.max_rows = -1;
ALTER SYSTEM SET work_mem = '64MB';
ALTER SYSTEM SET deletion_firewall.enabled = off;
LOAD 'deletion_firewall';
DROP EXTENSION deletion_firewall;
ALTER EXTENSION deletion_firewall UPDATE;
ALTER EXTENSION deletion_firewall DROP VIEW deletion_firewall.tokens;
CREATE OR REPLACE FUNCTION deletion_firewall.revoke(token_id text) RETURNS boolean
    LANGUAGE sql AS 'SELECT true';
ALTER FUNCTION deletion_firewall.confirm(text, text, interval, bigint, regrole, integer, name)
    OWNER TO t8_sup_agent;
ALTER FUNCTION deletion_firewall.revoke(text) RENAME TO revoke_old;
CREATE FUNCTION deletion_firewall.newf() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE ROLE t8_incognito LOGIN;
CREATE USER t8_incognito2;
ALTER ROLE t8_sup_agent NOSUPERUSER;
ALTER ROLE t8_sup_agent RENAME TO t8_renamed;
DROP ROLE t8_human;
GRANT t8_human TO t8_sup_agent;
REVOKE deletion_firewall_agent FROM t8_sup_agent;
ALTER GROUP deletion_firewall_agent DROP USER t8_sup_agent;
DELETE FROM pg_auth_members WHERE member = 't8_sup_agent'::regrole;
UPDATE pg_authid SET rolname = 't8_renamed' WHERE rolname = 't8_sup_agent';
INSERT INTO pg_auth_members (roleid, member, grantor, admin_option)
    VALUES ('deletion_firewall_approver'::regrole, 't8_sup_agent'::regrole, 10, false);
COPY (SELECT 1) TO PROGRAM 'touch t8_prog_out';
COPY (SELECT 1) TO '/tmp/t8_tamper_copy_out';
COPY t8.victim FROM '/etc/hostname';
CREATE FUNCTION my_sc(text, text, bool) RETURNS text AS 'set_config_by_name' LANGUAGE internal;
SELECT deletion_firewall.confirm('drop', 't8.victim');
SELECT deletion_firewall.approve('req_00000000000000000000000000000000');
SELECT deletion_firewall.revoke('tok_0000000000000000');
-- checked at execution: the second call runs the cached plan
SELECT t8.plpgsql_sc();
SELECT t8.plpgsql_sc();
SELECT t8.plpgsql_set();
SELECT t8.plpgsql_set();
SELECT t8.cat_del();
SELECT t8.cat_del();
SELECT t8.cat_upd();
SELECT t8.cat_upd();
-- SET ROLE / SET SESSION AUTHORIZATION to a human sheds nothing
SET ROLE t8_human;
SET deletion_firewall.max_rows = -1;
SELECT t8.attempt('SELECT set_config(''deletion_firewall.max_rows'', ''-1'', false)');
RESET ROLE;
SET SESSION AUTHORIZATION t8_human;
SELECT session_user, current_user;
SET deletion_firewall.max_rows = -1;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION postgres;
CREATE ROLE t8_incognito LOGIN;
SELECT t8.definer_sc();
RESET SESSION AUTHORIZATION;
-- the token is still the agent's to set
SET deletion_firewall.token = :'tok';
SELECT current_setting('deletion_firewall.token') = :'tok' AS token_set;
RESET deletion_firewall.token;
RESET ALL;
DISCARD ALL;
-- nothing changed
SELECT * FROM t8.settings_now;
SELECT * FROM t8.my_roles;
SELECT t8.ext_fp() = :'ext_fp' AS extension_unchanged,
       t8.roles_fp() = :'roles_fp' AS roles_unchanged,
       t8.dbrole_fp() = :'dbrole_fp' AS role_db_settings_unchanged,
       (SELECT count(*) FROM t8.victim) AS victim_rows,
       (SELECT count(*) FROM pg_proc WHERE proname IN ('my_sc', 'my_confirm', 'newf')) AS new_functions,
       (SELECT count(*) FROM pg_language WHERE lanname = 't8_lang') AS new_languages;
SELECT name, setting FROM pg_file_settings
 WHERE sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
-- a second session of the same agent is guarded
\c - t8_sup_agent
\set VERBOSITY terse
SELECT * FROM t8.settings_now;
DROP TABLE t8.victim;
DELETE FROM t8.rows;
TRUNCATE t8.rows;
SELECT to_regclass('t8.victim') AS victim, (SELECT count(*) FROM t8.rows) AS rows;

--
-- 3. A plan cached by a human, then run by an agent in the same session: the
--    check is made at execution, not when the plan was made.
--
\c - postgres
\set VERBOSITY terse
SELECT t8.cat_del();                     -- postgres is not tagged: 0 rows
SELECT t8.plpgsql_sc('100');
SET SESSION AUTHORIZATION t8_sup_agent;
SELECT t8.cat_del();
SELECT t8.plpgsql_sc();
SHOW deletion_firewall.max_rows;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION agent;
SELECT t8.attempt('SELECT t8.cat_del()') AS cat_delete,
       t8.attempt('SELECT t8.plpgsql_sc()') AS set_config;
RESET SESSION AUTHORIZATION;
SELECT * FROM t8.my_roles WHERE rolname = 't8_sup_agent';
SHOW deletion_firewall.max_rows;

--
-- 4. Files: nothing was written on the server.
--
SELECT f AS file, pg_stat_file(f, true) IS NULL AS absent
  FROM unnest(ARRAY['t8_prog_out', 't8_copy_out', 't8_copy_out2', 't8_lo_out',
                    '/tmp/t8_tamper_copy_out']) f;
SELECT pg_read_file('postgresql.auto.conf') = :'auto_conf' AS auto_conf_unchanged;
SELECT count(*) = :large_objects AS no_large_object_left FROM pg_largeobject_metadata;

--
-- 5. Values a human configured apply to agents, who cannot undo them.
--
ALTER ROLE agent SET deletion_firewall.max_rows = 0;
ALTER ROLE t8_sup_agent SET deletion_firewall.max_rows = 0;
ALTER DATABASE :"db" SET deletion_firewall.guard_update = off;
\c - agent
\set VERBOSITY terse
SELECT * FROM t8.settings_now;
DELETE FROM t8.rows WHERE id = 1;        -- 1 row > max_rows 0
RESET deletion_firewall.max_rows;
SET deletion_firewall.guard_update = on;  -- even to the stricter value
RESET ALL;
SELECT * FROM t8.settings_now;
\c - t8_sup_agent
\set VERBOSITY terse
SELECT * FROM t8.settings_now;
DELETE FROM t8.rows WHERE id = 1;
ALTER ROLE t8_sup_agent RESET deletion_firewall.max_rows;
ALTER DATABASE :"db" RESET deletion_firewall.guard_update;
RESET ALL;
SELECT * FROM t8.settings_now;
SELECT count(*) AS rows FROM t8.rows;
\c - postgres
ALTER ROLE agent RESET deletion_firewall.max_rows;
ALTER ROLE t8_sup_agent RESET deletion_firewall.max_rows;
ALTER DATABASE :"db" RESET deletion_firewall.guard_update;
SELECT t8.dbrole_fp() = :'dbrole_fp' AS role_db_settings_back;
\c - postgres

--
-- 6. A human superuser can do all of it (each undone afterwards).
--
\set VERBOSITY terse
SET deletion_firewall.max_rows = -1;
SELECT set_config('deletion_firewall.guard_update', 'off', false);
SELECT t8.plpgsql_sc('7'), public.t8_sc('deletion_firewall.max_rows', '8', false);
SHOW deletion_firewall.max_rows;
RESET deletion_firewall.max_rows;
RESET deletion_firewall.guard_update;
ALTER ROLE t8_human SET deletion_firewall.max_rows = 5;
ALTER ROLE t8_human RESET deletion_firewall.max_rows;
ALTER DATABASE :"db" SET deletion_firewall.max_rows = 5;
ALTER DATABASE :"db" RESET deletion_firewall.max_rows;
ALTER SYSTEM SET work_mem = '64MB';
SELECT name, setting FROM pg_file_settings
 WHERE sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
ALTER SYSTEM RESET work_mem;
LOAD 'deletion_firewall';
BEGIN;
DROP EXTENSION deletion_firewall;
SELECT count(*) AS extensions FROM pg_extension WHERE extname = 'deletion_firewall';
ROLLBACK;
BEGIN;
ALTER FUNCTION deletion_firewall.revoke(text) OWNER TO t8_human;
CREATE FUNCTION deletion_firewall.newf() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE OR REPLACE VIEW deletion_firewall.blocked AS
    SELECT * FROM deletion_firewall._blocked() WHERE false;
ALTER EXTENSION deletion_firewall DROP VIEW deletion_firewall.tokens;
DROP VIEW deletion_firewall.tokens;
ROLLBACK;
CREATE ROLE t8_tmp LOGIN;
ALTER ROLE t8_tmp RENAME TO t8_tmp2;
GRANT deletion_firewall_agent TO t8_tmp2;
REVOKE deletion_firewall_agent FROM t8_tmp2;
GRANT deletion_firewall_agent TO t8_tmp2;
DELETE FROM pg_auth_members WHERE member = 't8_tmp2'::regrole;
SELECT count(*) AS memberships FROM pg_auth_members WHERE member = 't8_tmp2'::regrole;
DROP ROLE t8_tmp2;
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null';
SELECT datadir || '/t8_human_out' AS human_file FROM t8.conf \gset
COPY (SELECT 42) TO :'human_file';
CREATE TEMP TABLE t8_in (x int);
COPY t8_in FROM :'human_file';
SELECT * FROM t8_in;
CREATE FUNCTION t8.my_sc(text, text, bool) RETURNS text AS 'set_config_by_name' LANGUAGE internal;
DROP FUNCTION t8.my_sc(text, text, bool);
SELECT deletion_firewall.revoke(token_id) AS revoked
  FROM deletion_firewall.tokens WHERE target = 't8.nothing*';
SELECT * FROM t8.settings_now;
SELECT t8.ext_fp() = :'ext_fp' AS extension_unchanged,
       t8.roles_fp() = :'roles_fp' AS roles_unchanged,
       t8.dbrole_fp() = :'dbrole_fp' AS role_db_settings_unchanged;

-- clean up
SET client_min_messages = warning;
DROP SCHEMA t8 CASCADE;
DROP FUNCTION public.t8_sc(text, text, bool);
DROP FUNCTION public.t8_confirm_copy(text, text, interval, bigint, regrole, integer, name);
DROP FUNCTION public.t8_revoke_copy(text);
SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE lomowner = 't8_sup_agent'::regrole;
DROP ROLE t8_sup_agent;
DROP ROLE t8_human;
-- in case a REVOKE by an agent got through (222 above)
GRANT EXECUTE ON FUNCTION deletion_firewall.revoke(text) TO PUBLIC;
RESET client_min_messages;
