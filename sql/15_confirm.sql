--
-- Confirmations, version 1.1: confirm() checks its arguments and its
-- target; tokens are claimed by the first agent login that spends them;
-- reasons stay true after a token is spent or revoked; approvals follow
-- the refused objects (not names), hold a large cascade whole, bind the
-- statement text, work from another session with any_session, and say so
-- when a retry differs; the audit records what a confirmed statement did.
--
\c - postgres
CREATE SCHEMA c15;
GRANT USAGE, CREATE ON SCHEMA c15 TO agent, agent2;
CREATE TABLE c15.spare (a int);
CREATE TABLE c15.important (id int);
INSERT INTO c15.important SELECT generate_series(1, 500);
CREATE TABLE c15.a (a int); CREATE TABLE c15.b (a int);
CREATE TABLE c15.big (id int);
INSERT INTO c15.big SELECT generate_series(1, 5000);
CREATE TABLE c15.audit (a int);
CREATE TABLE c15.shared (a int);
ALTER TABLE c15.spare OWNER TO agent; ALTER TABLE c15.important OWNER TO agent;
ALTER TABLE c15.a OWNER TO agent; ALTER TABLE c15.b OWNER TO agent;
ALTER TABLE c15.big OWNER TO agent; ALTER TABLE c15.audit OWNER TO agent;
ALTER TABLE c15.shared OWNER TO agent;
GRANT ALL ON c15.shared TO agent2;
-- a schema of 30 tables with long names, for a cascade too large to show
CREATE SCHEMA c15_wide AUTHORIZATION agent;
DO $$
BEGIN
    FOR i IN 1..30 LOOP
        EXECUTE format('CREATE TABLE c15_wide.%I (a int)',
                       'a_table_with_a_rather_long_name_number_' || i);
        EXECUTE format('ALTER TABLE c15_wide.%I OWNER TO agent',
                       'a_table_with_a_rather_long_name_number_' || i);
    END LOOP;
END $$;

-- 1. bad arguments are errors, each with its SQLSTATE
\c - alice
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.spare', agent => 0::oid::regrole)$$);
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.spare', agent => 4000000000::oid::regrole)$$);
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.spare', uses => NULL)$$);
SELECT public.try($$SELECT deletion_firewall.confirm(NULL, 'c15.spare')$$);
-- fractions of a second are kept, not truncated
SELECT deletion_firewall.confirm('drop', 'c15.spare', valid_for => '1.5 seconds') IS NOT NULL AS issued;
SELECT expires_at - issued_at AS lifetime FROM deletion_firewall.tokens
 WHERE target = 'c15.spare';

-- 2. a target that names nothing is refused when issued, with the identity
--    to use where the name resolves; other databases are not checked
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'spare')$$);
\c - postgres
SET search_path = c15, public;
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'spare')$$);
RESET search_path;
CREATE FUNCTION c15.f(i integer) RETURNS integer LANGUAGE sql AS 'SELECT i';
\c - alice
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.nothing_here')$$);
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.important.no_col')$$);
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.nofunc(integer)')$$);
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.nothing_here', dbname => NULL)$$);
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.important.id')$$) AS column_ok;
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15')$$) AS schema_ok;
SELECT public.try($$SELECT deletion_firewall.confirm('drop', 'c15.f(integer)')$$) AS function_ok;

-- 3. a token without agent is claimed by the first agent login that
--    spends it: read by another agent (pg_stat_activity,
--    pg_stat_statements), it is worth nothing
SELECT deletion_firewall.confirm('delete', 'c15.shared', uses => 5) AS tok_claim \gset
\c - postgres
INSERT INTO c15.shared SELECT generate_series(1, 300);
\c - agent
SET deletion_firewall.token = :'tok_claim';
DELETE FROM c15.shared WHERE a <= 150;
\c - agent2
SET deletion_firewall.token = :'tok_claim';
SELECT public.try('DELETE FROM c15.shared WHERE a > 150');
SELECT count(*) AS shared_left FROM c15.shared;
-- the first agent may use it again
\c - agent
SET deletion_firewall.token = :'tok_claim';
DELETE FROM c15.shared WHERE a > 150;
SELECT count(*) AS shared_left FROM c15.shared;

-- 4. reasons stay true: spent, revoked
\c - alice
SELECT deletion_firewall.confirm('drop', 'c15.a', agent => 'agent') AS tok_a \gset
SELECT deletion_firewall.confirm('drop', 'c15.b', agent => 'agent') AS tok_b \gset
SELECT deletion_firewall.revoke(token_id) FROM deletion_firewall.tokens WHERE target = 'c15.b';
\c - agent
SET deletion_firewall.token = :'tok_a';
DROP TABLE c15.a;
CREATE TABLE c15.a2 (a int);
SELECT public.try('DROP TABLE c15.spare');
SET deletion_firewall.token = :'tok_b';
SELECT public.try('DROP TABLE c15.b');
SELECT to_regclass('c15.b') IS NOT NULL AS b_kept, to_regclass('c15.spare') IS NOT NULL AS spare_kept;

-- 5. the hint never suggests a target wider than the refused objects:
--    two tables of one schema are not 'c15.*' (which would also confirm
--    DROP SCHEMA c15 CASCADE); one table is named exactly
RESET deletion_firewall.token;
CREATE TABLE c15.mine (a int);
SELECT public.try('DROP TABLE c15.b, c15.spare');
SELECT public.try('DROP TABLE c15.spare');

-- 6. an approval follows the refused objects, not their names: the agent
--    renames the approved table away and another into its name
\set VERBOSITY terse
DROP TABLE c15.spare;
\set VERBOSITY default
\c - alice
SELECT deletion_firewall.approve(request_id, any_session => true) IS NOT NULL AS approved
  FROM deletion_firewall.blocked
 WHERE statement = 'DROP TABLE c15.spare;' ORDER BY at DESC LIMIT 1;
\c - agent
ALTER TABLE c15.spare RENAME TO junk;
ALTER TABLE c15.important RENAME TO spare;
-- the very text that was approved, but another object now has the name
\set VERBOSITY terse
DROP TABLE c15.spare;
\set VERBOSITY default
SELECT count(*) AS important_rows FROM c15.spare;
\c - alice
SELECT reason FROM deletion_firewall.blocked
 WHERE statement = 'DROP TABLE c15.spare;' ORDER BY at DESC LIMIT 1;
\c - agent
ALTER TABLE c15.spare RENAME TO important;
ALTER TABLE c15.junk RENAME TO spare;
-- the approved object itself, under its name again: allowed, once
DROP TABLE c15.spare;
SELECT to_regclass('c15.spare') IS NULL AS spare_dropped;

-- 7. a cascade too large to show whole is still approved whole; what is
--    shown says it was cut
\set VERBOSITY terse
DROP SCHEMA c15_wide CASCADE;
\set VERBOSITY default
\c - alice
SELECT target LIKE '%[cut: % bytes in all]' AS shown_cut, length(target) < 512 AS fits
  FROM deletion_firewall.blocked
 WHERE statement = 'DROP SCHEMA c15_wide CASCADE;' ORDER BY at DESC LIMIT 1;
SELECT deletion_firewall.approve(request_id, any_session => true) IS NOT NULL AS approved
  FROM deletion_firewall.blocked
 WHERE statement = 'DROP SCHEMA c15_wide CASCADE;' ORDER BY at DESC LIMIT 1;
\c - agent
SET client_min_messages = warning;
DROP SCHEMA c15_wide CASCADE;
RESET client_min_messages;
SELECT to_regnamespace('c15_wide') IS NULL AS wide_dropped;

-- 8. a retry whose text differs: the DETAIL says an approval exists and
--    shows the approved text
\set VERBOSITY terse
TRUNCATE c15.audit;
\set VERBOSITY default
\c - alice
SELECT deletion_firewall.approve(request_id, any_session => true) IS NOT NULL AS approved
  FROM deletion_firewall.blocked
 WHERE statement = 'TRUNCATE c15.audit;' ORDER BY at DESC LIMIT 1;
\c - agent
SELECT public.try('truncate c15.audit');
TRUNCATE c15.audit;
-- and a spent approval says it is spent, not "another statement"
\set VERBOSITY terse
TRUNCATE c15.audit;
\set VERBOSITY default
\c - alice
SELECT reason FROM deletion_firewall.blocked
 WHERE statement = 'TRUNCATE c15.audit;' ORDER BY at DESC LIMIT 1;
\c - agent

-- 9. the audit records what a confirmed delete did, not where it was
--    confirmed
\set VERBOSITY terse
DELETE FROM c15.big WHERE id <= 4900;
\set VERBOSITY default
\c - alice
SELECT deletion_firewall.approve(request_id, any_session => true) IS NOT NULL AS approved
  FROM deletion_firewall.blocked
 WHERE statement = 'DELETE FROM c15.big WHERE id <= 4900;' ORDER BY at DESC LIMIT 1;
\c - agent
DELETE FROM c15.big WHERE id <= 4900;
\c - alice
SELECT event, action, target, rows, lsn IS NOT NULL AS has_lsn
  FROM deletion_firewall.events
 WHERE event = 'confirmed' AND target = 'c15.big' ORDER BY at DESC LIMIT 1;
\c - postgres
SELECT count(*) AS big_left FROM c15.big;
\c - alice

-- 10. approving a request whose session has ended: 55000, unless
--     any_session
SELECT public.try($$SELECT deletion_firewall.approve(request_id) FROM deletion_firewall.blocked WHERE statement LIKE '%DROP TABLE c15.b, c15.spare%' ORDER BY at DESC LIMIT 1$$);
SELECT deletion_firewall.approve(request_id, any_session => true) ~ '^apr_' AS any_session_ok
  FROM deletion_firewall.blocked WHERE statement LIKE '%DROP TABLE c15.b, c15.spare%' ORDER BY at DESC LIMIT 1;
