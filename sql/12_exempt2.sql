--
-- Exemption comes from a CREATE by the session, never from PostgreSQL's
-- rebuilds; what the session added to an older table is its own; a token
-- covers the objects its target named when it was issued (issue 9 sec. 2-3).
--
CREATE TABLE app.hx (id int, email text);
INSERT INTO app.hx SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 1000) g;
CREATE INDEX hx_id ON app.hx (id);
CREATE INDEX hx_email ON app.hx (email);
ALTER TABLE app.hx ADD CONSTRAINT hx_pos CHECK (id > 0);
ALTER TABLE app.hx ALTER COLUMN email SET DEFAULT 'nobody';
ALTER TABLE app.hx OWNER TO agent;
CREATE TABLE app.important (id int);
INSERT INTO app.important SELECT generate_series(1, 1000);
CREATE TABLE app.spare (id int);
ALTER TABLE app.important OWNER TO agent; ALTER TABLE app.spare OWNER TO agent;
CREATE TABLE app.small (id int);
INSERT INTO app.small SELECT generate_series(1, 50);
CREATE INDEX small_id ON app.small (id);
ALTER TABLE app.small OWNER TO agent;
CREATE TABLE app.owner_t (id int);
CREATE SEQUENCE app.human_seq;
SELECT setval('app.human_seq', 500);
ALTER TABLE app.owner_t OWNER TO agent; ALTER SEQUENCE app.human_seq OWNER TO agent;

\c - agent
-- a REINDEX CONCURRENTLY copy is not the session's
REINDEX INDEX CONCURRENTLY app.hx_id;
SELECT try('DROP INDEX app.hx_id');
-- nor an index rebuilt by ALTER COLUMN TYPE, nor the rewritten table
ALTER TABLE app.small ALTER COLUMN id TYPE bigint;
SELECT try('DROP INDEX app.small_id');
SELECT try('DROP TABLE app.small');
-- nor what CLUSTER / VACUUM FULL / SET UNLOGGED make on the way
CLUSTER app.hx USING hx_email;
VACUUM FULL app.hx;
SELECT try('DROP TABLE app.hx');
-- a human's column, default and constraint stay guarded
SELECT try('ALTER TABLE app.hx DROP COLUMN email');
SELECT try('ALTER TABLE app.hx ALTER COLUMN email DROP DEFAULT');
SELECT try('ALTER TABLE app.hx DROP CONSTRAINT hx_pos');
-- SET DEFAULT over the human's default does not make it the session's
ALTER TABLE app.hx ALTER COLUMN email SET DEFAULT 'other';
SELECT try('ALTER TABLE app.hx ALTER COLUMN email DROP DEFAULT');

-- an ORM migration: what the session added to the older table is its own
ALTER TABLE app.hx ADD COLUMN c int DEFAULT 0;
ALTER TABLE app.hx ALTER COLUMN c DROP DEFAULT;
ALTER TABLE app.hx ALTER COLUMN c SET DEFAULT 1;
ALTER TABLE app.hx DROP COLUMN c;
ALTER TABLE app.hx ADD CONSTRAINT hx_small CHECK (id < 1000000);
ALTER TABLE app.hx DROP CONSTRAINT hx_small;
CREATE INDEX hx_mine ON app.hx (email, id);
DROP INDEX app.hx_mine;

-- the session's own table keeps its status through rebuilds
CREATE TABLE app.mine (id int PRIMARY KEY, t text);
INSERT INTO app.mine SELECT g, repeat('x', 3000) FROM generate_series(1, 20) g;
CREATE INDEX mine_t ON app.mine (t);
ALTER TABLE app.mine ALTER COLUMN id TYPE bigint;
REINDEX TABLE CONCURRENTLY app.mine;
VACUUM FULL app.mine;
ALTER TABLE app.mine SET UNLOGGED;
DROP INDEX app.mine_t;
DROP TABLE app.mine;

-- a dropped object is forgotten (also when dropped in a subtransaction
-- that commits); one dropped in a subtransaction that rolls back is not
BEGIN;
CREATE TABLE app.gone (id int);
SAVEPOINT s;
DROP TABLE app.gone;
ROLLBACK TO s;
DROP TABLE app.gone;
COMMIT;
SELECT to_regclass('app.gone') IS NULL AS gone_dropped;

\c - postgres
SELECT count(*) AS hx_rows, count(email) AS hx_emails FROM app.hx;
SELECT count(*) AS small_rows FROM app.small;
SELECT to_regclass('app.small_id') IS NOT NULL AS small_id_exists;
SELECT indexrelid::regclass AS index FROM pg_index
 WHERE indrelid = 'app.hx'::regclass ORDER BY 1;
SELECT conname FROM pg_constraint WHERE conrelid = 'app.hx'::regclass ORDER BY 1;

-- a token for app.spare does not cover what the agent renames to app.spare
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.spare', agent => 'agent') AS tok \gset
\c - agent
SET deletion_firewall.token = :'tok';
ALTER TABLE app.spare RENAME TO spare_old;
ALTER TABLE app.important RENAME TO spare;
SELECT try('DROP TABLE app.spare');
-- nor, in one transaction, the same
BEGIN;
ALTER TABLE app.spare RENAME TO important;
ALTER TABLE app.spare_old RENAME TO spare;
SELECT try('DROP TABLE app.spare');
ROLLBACK;
-- SET SCHEMA into a token's schema.* is not covered either
\c - postgres
CREATE SCHEMA other AUTHORIZATION agent;
CREATE TABLE other.moved (id int);
INSERT INTO other.moved SELECT generate_series(1, 1000);
ALTER TABLE other.moved OWNER TO agent;
CREATE SCHEMA tok AUTHORIZATION agent;
\c - alice
SELECT deletion_firewall.confirm('drop', 'tok.*', agent => 'agent') AS tok2 \gset
\c - agent
SET deletion_firewall.token = :'tok2';
ALTER TABLE other.moved SET SCHEMA tok;
SELECT try('DROP TABLE tok.moved');
-- a human's sequence made OWNED BY a covered table after the issue
\c - alice
SELECT deletion_firewall.confirm('drop', 'app.owner_t', agent => 'agent') AS tok3 \gset
\c - agent
SET deletion_firewall.token = :'tok3';
ALTER SEQUENCE app.human_seq OWNED BY app.owner_t.id;
SELECT try('DROP TABLE app.owner_t');
-- the real app.spare, unchanged since the issue, is covered
ALTER TABLE app.spare RENAME TO important;
ALTER TABLE app.spare_old RENAME TO spare;
\c - alice
SELECT deletion_firewall.confirm('all', 'app.spare', agent => 'agent', uses => 2) AS tok4 \gset
\c - agent
SET deletion_firewall.token = :'tok4';
TRUNCATE app.spare;
SELECT try('DROP TABLE app.spare');

\c - postgres
SELECT count(*) AS important_rows FROM app.important;
SELECT count(*) AS moved_rows FROM tok.moved;
SELECT last_value AS human_seq FROM app.human_seq;
SELECT to_regclass('app.spare') IS NULL AS spare_dropped;
