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
\echo '=== What the approvers see'
\c - alice
SELECT at::time(0), event, action, target, agent, reason FROM deletion_firewall.events;
SELECT to_regclass('public.orders') AS orders, to_regclass('public.invoices') AS invoices;
