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
