-- deletion_firewall, a short scene.  Run by `make demo` on a throwaway
-- cluster with shared_preload_libraries = 'deletion_firewall'.
\set VERBOSITY default
\pset footer off

\echo
\echo '=== The DBA installs the firewall, tags an agent and names an approver'
CREATE EXTENSION deletion_firewall;
CREATE ROLE cursor_agent LOGIN;
GRANT deletion_firewall_agent TO cursor_agent;
CREATE ROLE alice LOGIN;
GRANT deletion_firewall_approver TO alice;
CREATE TABLE public.orders AS SELECT g AS id, 'customer ' || g AS who FROM generate_series(1, 5000) g;
ALTER TABLE public.orders OWNER TO cursor_agent;

\echo
\echo '=== The agent hits a problem and reaches for DROP and TRUNCATE: refused'
\c - cursor_agent
DROP TABLE public.orders;
TRUNCATE public.orders;
DELETE FROM public.orders;
\echo '--- even from a DO block'
DO $$ BEGIN EXECUTE 'DROP TABLE public.orders'; END $$;
\echo '--- and it cannot switch the firewall off'
SET deletion_firewall.max_rows = -1;
SELECT set_config('deletion_firewall.max_rows', '-1', false);

\echo
\echo '=== A human approver reads the hint and issues a one-use token'
\c - alice
SELECT deletion_firewall.confirm(action => 'drop', target => 'public.orders',
                                 agent => 'cursor_agent', valid_for => '10 minutes') AS token \gset
SELECT token_id, action, target, agent, uses_left, expires_at - issued_at AS valid_for
  FROM deletion_firewall.tokens;

\echo
\echo '=== The agent sets the token: the DROP goes through, once'
\c - cursor_agent
SET deletion_firewall.token = :'token';
DROP TABLE public.orders;
\c - postgres
CREATE TABLE public.invoices AS SELECT g AS id FROM generate_series(1, 10) g;
ALTER TABLE public.invoices OWNER TO cursor_agent;
\c - cursor_agent
SET deletion_firewall.token = :'token';
\echo '--- the spent token confirms nothing more'
DROP TABLE public.invoices;

\echo
\echo '=== Or no token at all: the approver approves the refused request itself'
\c - postgres
CREATE TABLE public.carts AS SELECT g AS id FROM generate_series(1, 300) g;
ALTER TABLE public.carts OWNER TO cursor_agent;
\c - cursor_agent
DELETE FROM public.carts WHERE id > 50;
\c - alice
SELECT request_id, agent, action, target, rows, statement, alive
  FROM deletion_firewall.blocked WHERE statement LIKE 'DELETE FROM public.carts%';
\echo '--- (the agent's session ended, so the approval is for any session of that agent)'
SELECT deletion_firewall.approve(request_id, any_session => true) AS approval
  FROM deletion_firewall.blocked WHERE statement LIKE 'DELETE FROM public.carts%' LIMIT 1;
\c - cursor_agent
DELETE FROM public.carts WHERE id > 50;
\echo '--- once: the same statement again is refused'
DELETE FROM public.carts WHERE id > 50;
SELECT count(*) AS carts_left FROM public.carts;

\echo
\echo '=== Trying it out first: warn mode for one new agent'
\c - postgres
CREATE ROLE trial_agent LOGIN;
GRANT deletion_firewall_agent TO trial_agent;
ALTER ROLE trial_agent SET deletion_firewall.mode = 'warn';
CREATE TABLE public.scratch_old (a int);
ALTER TABLE public.scratch_old OWNER TO trial_agent;
\c - trial_agent
\echo '--- what would be refused goes through, with a WARNING and an event=warned'
DROP TABLE public.scratch_old;
\echo '--- tampering is refused in warn mode too'
SET deletion_firewall.mode = 'enforce';

\echo
\echo '=== What the approvers see'
\c - alice
SELECT at::time(0), event, action, target, agent, rows, reason, lsn FROM deletion_firewall.events;
SELECT to_regclass('public.orders') AS orders, to_regclass('public.invoices') AS invoices,
       to_regclass('public.scratch_old') AS scratch_old;
