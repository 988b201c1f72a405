/* deletion_firewall--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION deletion_firewall UPDATE TO '1.1'" to load this file. \quit

-- The 1.0 objects' C entry points (dfw_blocked, dfw_events, dfw_approve with
-- two arguments) stay in the library with their 1.0 column lists, so a
-- database that has not run this update yet keeps working with a 1.1
-- library.  Enforcement never depends on the SQL version.

-- ---------------------------------------------------------------------------
-- approve(): any_session, for pooled connections.
-- ---------------------------------------------------------------------------
DROP FUNCTION approve(text, interval);

CREATE FUNCTION approve(request_id  text,
                        valid_for   interval DEFAULT '10 minutes',
                        any_session boolean  DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'dfw_approve'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION approve(text, interval, boolean) IS
'allow one retry of a refused request: in the refused session, or with any_session in any session of the same agent (approvers only)';

-- ---------------------------------------------------------------------------
-- blocked: bound parameter values and whether the refused session is alive;
-- events: the WAL position before each confirmed statement.
-- ---------------------------------------------------------------------------
DROP VIEW blocked;
DROP VIEW events;
DROP FUNCTION _blocked();
DROP FUNCTION _events();

CREATE FUNCTION _blocked(
    OUT request_id text, OUT at timestamptz, OUT dbname text, OUT agent text,
    OUT backend_pid integer, OUT action text, OUT target text, OUT rows bigint,
    OUT statement text, OUT params text, OUT reason text, OUT alive boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dfw_blocked_1_1'
LANGUAGE C VOLATILE;

CREATE FUNCTION _events(
    OUT at timestamptz, OUT event text, OUT action text, OUT target text,
    OUT agent text, OUT dbname text, OUT rows bigint, OUT request_id text,
    OUT token_id text, OUT by text, OUT reason text, OUT lsn pg_lsn)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dfw_events_1_1'
LANGUAGE C VOLATILE;

CREATE VIEW blocked AS SELECT * FROM _blocked();
CREATE VIEW events AS SELECT * FROM _events();
GRANT SELECT ON blocked, events TO PUBLIC;

-- ---------------------------------------------------------------------------
-- (sections below are added by the work on issues 9 and 14)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Backstop when the library is not preloaded (issue 9, section 6).
--
-- With deletion_firewall missing from shared_preload_libraries none of the
-- C hooks run.  This event trigger then refuses agents' DDL in the
-- databases that have the extension, with a message that says why.  It
-- does nothing while the library is loaded (the hooks decide then).  It
-- cannot see TRUNCATE, DML, DROP DATABASE, or commands on shared objects
-- and event triggers (PostgreSQL fires no event trigger for those).
--
-- "Loaded" is judged from what an agent cannot fake in its session:
-- deletion_firewall.enabled is a real boolean setting.  An unloaded
-- library's setting, from the configuration file or an agent's SET, is a
-- string placeholder, which pg_settings does not even show; and LOAD of
-- the library fails before it defines its settings when not preloaded.
-- (shared_preload_libraries itself is readable by superusers only.)
-- An agent is a login, session or current user that is a member, direct or
-- indirect, of deletion_firewall_agent or of the role the (placeholder)
-- setting deletion_firewall.agent_role names; superuser status is not
-- membership here (pg_has_role would count every superuser).
-- ---------------------------------------------------------------------------
CREATE FUNCTION _backstop() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $backstop$
DECLARE
    loaded boolean;
    is_agent boolean;
BEGIN
    SELECT EXISTS (SELECT FROM pg_catalog.pg_settings
                    WHERE name = 'deletion_firewall.enabled' AND vartype = 'bool')
      INTO loaded;
    IF loaded THEN
        RETURN;
    END IF;

    -- the login role too: pg_stat_activity keeps the role the session
    -- logged in as, which SET SESSION AUTHORIZATION does not change
    WITH RECURSIVE m(roleid) AS (
        SELECT r.oid FROM pg_catalog.pg_roles r
         WHERE r.rolname IN (session_user, current_user)
        UNION
        SELECT a.usesysid FROM pg_catalog.pg_stat_activity a
         WHERE a.pid = pg_catalog.pg_backend_pid() AND a.usesysid IS NOT NULL
        UNION
        SELECT am.roleid FROM pg_catalog.pg_auth_members am
          JOIN m ON am.member = m.roleid)
    SELECT EXISTS (
               SELECT FROM m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
                WHERE r.rolname IN ('deletion_firewall_agent',
                                    coalesce(
                                        nullif(pg_catalog.current_setting('deletion_firewall.agent_role', true), ''),
                                        'deletion_firewall_agent')))
      INTO is_agent;
    IF is_agent THEN
        RAISE EXCEPTION 'deletion_firewall is not loaded: % refused for agent "%"',
                        tg_tag, session_user
            USING ERRCODE = '42501',
                  DETAIL = 'deletion_firewall is missing from shared_preload_libraries, so only this SQL-level backstop guards the database, and it refuses all DDL by agents.',
                  HINT = 'Ask a human to add deletion_firewall to shared_preload_libraries and restart the server.';
    END IF;
END
$backstop$;

CREATE EVENT TRIGGER deletion_firewall_backstop ON ddl_command_start
    EXECUTE FUNCTION _backstop();
CREATE EVENT TRIGGER deletion_firewall_backstop_drop ON sql_drop
    EXECUTE FUNCTION _backstop();
-- fire whatever session_replication_role says
ALTER EVENT TRIGGER deletion_firewall_backstop ENABLE ALWAYS;
ALTER EVENT TRIGGER deletion_firewall_backstop_drop ENABLE ALWAYS;
