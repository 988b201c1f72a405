--
-- Who is an agent: the authenticated, session or current user is a member
-- (direct or indirect, INHERIT or not, superuser ignored) of the agent role.
--
CREATE TABLE public.victim AS SELECT g FROM generate_series(1, 3) g;
ALTER TABLE public.victim OWNER TO bob;
GRANT bob TO agent;                          -- the agent may SET ROLE bob
CREATE ROLE team NOLOGIN;
GRANT deletion_firewall_agent TO team;
CREATE ROLE chained LOGIN IN ROLE team;     -- agent through a chain
CREATE ROLE noinherit LOGIN NOINHERIT;
GRANT deletion_firewall_agent TO noinherit;  -- tagged, NOINHERIT
GRANT bob TO chained, noinherit;
CREATE ROLE super_agent LOGIN SUPERUSER;
GRANT deletion_firewall_agent TO super_agent;

\set VERBOSITY terse
-- SET ROLE to a human does not shed the tag
\c - agent
SET ROLE bob;
SELECT current_user, session_user;
DROP TABLE public.victim;
RESET ROLE;

-- a chain of roles, and NOINHERIT membership
\c - chained
SET ROLE bob;
DROP TABLE public.victim;
\c - noinherit
SET ROLE bob;
DROP TABLE public.victim;

-- a superuser agent: SET SESSION AUTHORIZATION to a human changes nothing,
-- since the authenticated user stays the agent
\c - super_agent
SET SESSION AUTHORIZATION bob;
SELECT current_user, session_user;
DROP TABLE public.victim;
TRUNCATE public.victim;
RESET SESSION AUTHORIZATION;

-- a superuser impersonating an agent is guarded while it does
\c - postgres
SET SESSION AUTHORIZATION agent;
DROP TABLE public.victim;
RESET SESSION AUTHORIZATION;

-- a SECURITY DEFINER function owned by a human runs as the human, but
-- the session user is still the agent
CREATE FUNCTION public.drop_victim() RETURNS void LANGUAGE sql
    SECURITY DEFINER AS 'DROP TABLE public.victim';
ALTER FUNCTION public.drop_victim() OWNER TO bob;
\c - agent
SELECT public.drop_victim();

-- the tag granted or revoked takes effect at the next statement
\c - postgres
CREATE TABLE public.scratch1 (a int);
CREATE TABLE public.scratch2 (a int);
ALTER TABLE public.scratch1 OWNER TO bob;
ALTER TABLE public.scratch2 OWNER TO bob;
GRANT deletion_firewall_agent TO bob;
SET SESSION AUTHORIZATION bob;
DROP TABLE public.scratch1;                  -- bob is an agent now
RESET SESSION AUTHORIZATION;
REVOKE deletion_firewall_agent FROM bob;
SET SESSION AUTHORIZATION bob;
DROP TABLE public.scratch1;                  -- and a human again
RESET SESSION AUTHORIZATION;

-- humans are never guarded: bob drops, truncates and deletes freely
\c - bob
CREATE TEMP TABLE dummy (a int);
DELETE FROM public.victim;
INSERT INTO public.victim SELECT generate_series(1, 1000);
DELETE FROM public.victim;
TRUNCATE public.victim;
DROP TABLE public.scratch2;

\c - postgres
SELECT to_regclass('public.victim') IS NOT NULL AS victim_exists,
       to_regclass('public.scratch1') AS scratch1,
       to_regclass('public.scratch2') AS scratch2;
DROP TABLE public.victim;
DROP FUNCTION public.drop_victim();
