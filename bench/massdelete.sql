-- bench/massdelete.sql: psql script, run as the agent by bench/run.sh.
-- Every DELETE below must be refused by the firewall (42501); the
-- statements are interleaved so that machine load hits both sizes alike.
-- Two warm-up refusals each, then 20 timed pairs.
\set VERBOSITY verbose
\timing on
\echo warmup
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
\echo measure
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
DELETE FROM dfw_big;
DELETE FROM dfw_small;
