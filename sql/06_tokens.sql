--
-- Confirmation tokens: every field of confirm(), spending, expiry, revoke,
-- forged and malformed tokens, who may issue them.
--
CREATE TABLE app.t1 (a int); CREATE TABLE app.t2 (a int);
CREATE TABLE app.t3 (a int); CREATE TABLE app.t4 (a int);
CREATE TABLE app.keep (a int);
CREATE SCHEMA scratch AUTHORIZATION agent;
CREATE TABLE scratch.a (a int); CREATE TABLE scratch.b (a int);
ALTER TABLE app.t1 OWNER TO agent; ALTER TABLE app.t2 OWNER TO agent;
ALTER TABLE app.t3 OWNER TO agent; ALTER TABLE app.t4 OWNER TO agent;
ALTER TABLE app.keep OWNER TO agent;
ALTER TABLE scratch.a OWNER TO agent; ALTER TABLE scratch.b OWNER TO agent;

-- who may issue: not a plain human, not an agent
\c - bob
\set VERBOSITY terse
SELECT deletion_firewall.confirm('drop', 'app.t1');
\c - agent
SELECT deletion_firewall.confirm('drop', 'app.t1');
SELECT deletion_firewall.revoke('tok_000000000000');
SELECT * FROM deletion_firewall.tokens;

-- bad arguments (as an approver)
\c - alice
SELECT deletion_firewall.confirm('explode', 'app.t1');
SELECT deletion_firewall.confirm('drop', '');
SELECT deletion_firewall.confirm('drop', NULL);
SELECT deletion_firewall.confirm('drop', 'app.t1', valid_for => '-1 minute');
SELECT deletion_firewall.confirm('drop', 'app.t1', uses => 0);
SELECT deletion_firewall.confirm('drop', 'app.t1', max_rows => -5);
SELECT deletion_firewall.confirm('drop', 'app.t1', dbname => 'no_such_db');
SELECT deletion_firewall.confirm('drop', 'app.t1', agent => 'no_such_role');
\set VERBOSITY default

-- a token looks like dfw_ and 128 random bits in hex
SELECT deletion_firewall.confirm('drop', 'app.t1', agent => 'agent') AS tok_t1 \gset
SELECT :'tok_t1' ~ '^dfw_[0-9a-f]{32}$' AS well_formed;
-- the views never show it
SELECT count(*) AS leaks FROM deletion_firewall.tokens t WHERE t::text LIKE '%' || :'tok_t1' || '%';
SELECT action, target, dbname, agent, max_rows, uses_left, issued_by,
       expires_at - issued_at AS lifetime
  FROM deletion_firewall.tokens WHERE target = 'app.t1';

-- malformed (22023 at SET time) and forged tokens
\c - agent
SET deletion_firewall.token = 'not-a-token';
SET deletion_firewall.token = 'dfw_0123';
\set VERBOSITY terse
SET deletion_firewall.token = 'dfw_00000000000000000000000000000000';
DROP TABLE app.t1;
\set VERBOSITY default
SELECT public.try('DROP TABLE app.t1');

-- the right token: allowed once, then spent
SET deletion_firewall.token = :'tok_t1';
DROP TABLE app.t1;
\set VERBOSITY terse
CREATE TABLE app.t1 (a int);  -- (a new one is the session's own)
DROP TABLE app.t2;
\set VERBOSITY default
SELECT public.try('DROP TABLE app.t2');
\set VERBOSITY terse

-- action: a truncate token does not drop; 'all' does both
\c - alice
SELECT deletion_firewall.confirm('truncate', 'app.t2') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.t2;
TRUNCATE app.t2;
\c - alice
SELECT deletion_firewall.confirm('all', 'app.t2', uses => 2) AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
TRUNCATE app.t2;
DROP TABLE app.t2;

-- target patterns: exact, trailing '*', 'schema.*' (the schema itself too)
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.t3') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.t4;                 -- not covered
DROP TABLE app.t3;                 -- covered
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.t*') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.keep;               -- not covered
DROP TABLE app.t4;                 -- covered by the suffix
\c - alice
SELECT deletion_firewall.confirm('drop', 'scratch.*') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP SCHEMA scratch CASCADE;

-- agent: a token for agent2 does nothing for agent
\c - postgres
CREATE TABLE app.t5 (a int); ALTER TABLE app.t5 OWNER TO agent;
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.t5', agent => 'agent2') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.t5;

-- dbname: a token for another database does nothing here; NULL = anywhere
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.t5', dbname => 'postgres') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.t5;
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.t5', dbname => NULL) AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.t5;

-- uses: two statements, then spent; SET LOCAL works too
\c - postgres
CREATE TABLE app.u1 (a int); CREATE TABLE app.u2 (a int); CREATE TABLE app.u3 (a int);
ALTER TABLE app.u1 OWNER TO agent; ALTER TABLE app.u2 OWNER TO agent;
ALTER TABLE app.u3 OWNER TO agent;
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.u*', uses => 2) AS tok \gset
\c - agent
BEGIN;
SET LOCAL deletion_firewall.token = :'tok';
DROP TABLE app.u1;
COMMIT;
SET deletion_firewall.token = :'tok';
DROP TABLE app.u2;
DROP TABLE app.u3;
-- a refused statement does not spend a use; one statement, one use
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.u*') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.u3, app.keep;       -- refused: app.keep not covered
DROP TABLE app.u3;                 -- the use is still there

-- valid_for: expiry, and the cap at deletion_firewall.max_valid_for
\c - postgres
CREATE TABLE app.e1 (a int); ALTER TABLE app.e1 OWNER TO agent;
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.e1', valid_for => '1 second') AS tok \gset
SELECT deletion_firewall.confirm('drop', 'app.nothing*', valid_for => '2 days') IS NOT NULL AS capped;
SELECT expires_at - issued_at AS lifetime FROM deletion_firewall.tokens
 WHERE target = 'app.nothing*';
SELECT pg_sleep(1.5);
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.e1;

-- revoke
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.e1') AS tok \gset
SELECT token_id AS tok_id FROM deletion_firewall.tokens WHERE target = 'app.e1' \gset
SELECT deletion_firewall.revoke(:'tok_id');
SELECT deletion_firewall.revoke(:'tok_id');
SELECT deletion_firewall.revoke('tok_nonexistent');
SELECT count(*) FROM deletion_firewall.tokens WHERE token_id = :'tok_id';
\c - agent
SET deletion_firewall.token = :'tok';
DROP TABLE app.e1;

\c - postgres
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r'
   AND c.relname ~ '^(t[0-9]|u[0-9]|e1|keep)$' ORDER BY 1;
SELECT count(*) AS scratch_schema FROM pg_namespace WHERE nspname = 'scratch';
