/* deletion_firewall--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION deletion_firewall" to load this file. \quit

-- Loading the library first: unless it was preloaded, its _PG_init raises
-- "must be loaded via shared_preload_libraries" and CREATE EXTENSION stops.
CREATE FUNCTION _preloaded() RETURNS boolean
AS 'MODULE_PATHNAME', 'dfw_preloaded'
LANGUAGE C STRICT;
SELECT _preloaded();

-- The tag roles are cluster-wide; the first CREATE EXTENSION makes them,
-- later ones (in other databases) reuse them.  Their names follow the
-- deletion_firewall.agent_role / approver_role settings.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[current_setting('deletion_firewall.agent_role'),
                             current_setting('deletion_firewall.approver_role')]
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

CREATE FUNCTION confirm(
    action    text,
    target    text     DEFAULT '*',
    valid_for interval DEFAULT '10 minutes',
    max_rows  bigint   DEFAULT NULL,
    agent     regrole  DEFAULT NULL,
    uses      integer  DEFAULT 1,
    dbname    name     DEFAULT current_database())
RETURNS text
AS 'MODULE_PATHNAME', 'dfw_confirm'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION confirm(text, text, interval, bigint, regrole, integer, name) IS
'issue a confirmation token an agent sets in deletion_firewall.token (approvers only)';

CREATE FUNCTION revoke(token_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dfw_revoke'
LANGUAGE C VOLATILE;

CREATE FUNCTION approve(request_id text, valid_for interval DEFAULT '10 minutes')
RETURNS text
AS 'MODULE_PATHNAME', 'dfw_approve'
LANGUAGE C VOLATILE;

CREATE FUNCTION _tokens(
    OUT token_id text, OUT action text, OUT target text, OUT dbname text,
    OUT agent regrole, OUT max_rows bigint, OUT uses_left integer,
    OUT issued_by text, OUT issued_at timestamptz, OUT expires_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dfw_tokens'
LANGUAGE C VOLATILE;

CREATE FUNCTION _blocked(
    OUT request_id text, OUT at timestamptz, OUT dbname text, OUT agent text,
    OUT backend_pid integer, OUT action text, OUT target text, OUT rows bigint,
    OUT statement text, OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dfw_blocked'
LANGUAGE C VOLATILE;

CREATE FUNCTION _events(
    OUT at timestamptz, OUT event text, OUT action text, OUT target text,
    OUT agent text, OUT dbname text, OUT rows bigint, OUT request_id text,
    OUT token_id text, OUT by text, OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dfw_events'
LANGUAGE C VOLATILE;

CREATE VIEW tokens AS SELECT * FROM _tokens();
CREATE VIEW blocked AS SELECT * FROM _blocked();
CREATE VIEW events AS SELECT * FROM _events();

-- The C functions check who calls them; the grants only keep the schema
-- tidy for approvers.
GRANT USAGE ON SCHEMA deletion_firewall TO PUBLIC;
GRANT SELECT ON tokens, blocked, events TO PUBLIC;
