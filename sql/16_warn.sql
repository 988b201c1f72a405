--
-- Warn mode: what would be refused goes through with a WARNING carrying
-- the refusal's message, DETAIL (request id) and HINT; an event=warned row
-- in events, nothing in blocked.  Tampering is refused in both modes.  One
-- agent is trialled with ALTER ROLE ... SET, by a human.
--
\c - postgres
CREATE SCHEMA w16;
GRANT USAGE, CREATE ON SCHEMA w16 TO agent, agent2;
CREATE TABLE w16.t (id int); ALTER TABLE w16.t OWNER TO agent;
CREATE TABLE w16.u (id int); ALTER TABLE w16.u OWNER TO agent2;
CREATE TABLE w16.rows (id int); ALTER TABLE w16.rows OWNER TO agent;
INSERT INTO w16.rows SELECT generate_series(1, 300);
ALTER ROLE agent SET deletion_firewall.mode = 'warn';

-- the trialled agent: warned, and the statement goes on
\c - agent
SHOW deletion_firewall.mode;
DROP TABLE w16.t;
SELECT to_regclass('w16.t') IS NULL AS t_dropped;
DELETE FROM w16.rows WHERE id <= 250;
SELECT count(*) AS rows_left FROM w16.rows;
-- tampering is refused in warn mode too
\set VERBOSITY terse
SET deletion_firewall.mode = 'enforce';
SET deletion_firewall.max_rows = -1;
\set VERBOSITY default

-- another agent, not trialled, is still refused
\c - agent2
\set VERBOSITY terse
DROP TABLE w16.u;
\set VERBOSITY default
SELECT to_regclass('w16.u') IS NOT NULL AS u_kept;

-- what a DBA sees: warned events, and no blocked request to approve
\c - alice
SELECT event, action, target, rows, agent FROM deletion_firewall.events
 WHERE target LIKE 'w16.%' AND event IN ('warned', 'refused')
 ORDER BY at;
SELECT count(*) AS blocked_for_warned FROM deletion_firewall.blocked
 WHERE statement LIKE '%w16.t%' OR statement LIKE '%w16.rows%';

-- back to enforce: refused again
\c - postgres
ALTER ROLE agent RESET deletion_firewall.mode;
\c - agent
\set VERBOSITY terse
DELETE FROM w16.rows WHERE id > 250;
\set VERBOSITY default
SELECT count(*) AS rows_left FROM w16.rows;
