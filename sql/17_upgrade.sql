--
-- Version 1.0 installed on production keeps working with the 1.1 library
-- (its views' C functions keep their 1.0 column lists), and ALTER
-- EXTENSION ... UPDATE brings it to 1.1: approve(any_session),
-- blocked.params and blocked.alive, events.lsn.  Enforcement never
-- depends on the SQL version.
--
\c - postgres
CREATE DATABASE dfw_upgrade;
\c dfw_upgrade
CREATE EXTENSION deletion_firewall VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'deletion_firewall';
CREATE SCHEMA u17 AUTHORIZATION agent;
CREATE TABLE u17.t (a int); ALTER TABLE u17.t OWNER TO agent;
-- enforcement is the library's, whatever the SQL version
\c - agent
\set VERBOSITY terse
DROP TABLE u17.t;
\set VERBOSITY default
\c - alice
-- the 1.0 views, served by the 1.1 library
SELECT action, target, reason FROM deletion_firewall.blocked
 WHERE statement = 'DROP TABLE u17.t;';
SELECT count(*) > 0 AS has_events FROM deletion_firewall.events WHERE target LIKE 'u17.t%';
SELECT pg_get_function_identity_arguments('deletion_firewall.approve'::regproc);
SELECT string_agg(attname, ', ' ORDER BY attnum) AS blocked_1_0
  FROM pg_attribute WHERE attrelid = 'deletion_firewall.blocked'::regclass AND attnum > 0;

\c - postgres
ALTER EXTENSION deletion_firewall UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'deletion_firewall';
SELECT string_agg(attname, ', ' ORDER BY attnum) AS blocked_1_1
  FROM pg_attribute WHERE attrelid = 'deletion_firewall.blocked'::regclass AND attnum > 0;
SELECT string_agg(attname, ', ' ORDER BY attnum) AS events_1_1
  FROM pg_attribute WHERE attrelid = 'deletion_firewall.events'::regclass AND attnum > 0;
SELECT pg_get_function_identity_arguments('deletion_firewall.approve'::regproc);
\c - alice
SELECT action, target, reason, alive FROM deletion_firewall.blocked
 WHERE statement = 'DROP TABLE u17.t;';
-- the same objects as a fresh 1.1 install: compare with the regression
-- database, which ran CREATE EXTENSION at 1.1
\c - postgres
SELECT string_agg(pg_describe_object(classid, objid, 0), E'\n' ORDER BY 1)
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'deletion_firewall')
   AND deptype = 'e' \gset upgraded_
\c regression
SELECT string_agg(pg_describe_object(classid, objid, 0), E'\n' ORDER BY 1) = :'upgraded_string_agg' AS same_objects
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'deletion_firewall')
   AND deptype = 'e';
DROP DATABASE dfw_upgrade;
