--
-- ALTER COLUMN ... TYPE counts as an update of every row only when
-- PostgreSQL converts the values (issue 10, item 9): a change that neither
-- rewrites nor converts (a longer varchar, a binary-coercible type without
-- USING) touches no row.  max_rows is 100; each table has 500 rows.
--
CREATE SCHEMA rty AUTHORIZATION agent;
CREATE DOMAIN rty.positive AS int CHECK (VALUE > 0);
CREATE DOMAIN rty.anyint AS int;
-- try(), first line only, request id masked
CREATE FUNCTION rty.try1(sql text) RETURNS text LANGUAGE sql
    AS $$ SELECT regexp_replace(split_part(public.try(sql), E'\n', 1),
                                'req_[0-9a-f]+', 'req_ID', 'g') $$;
SET ROLE agent;
CREATE TABLE rty.t (id int, name varchar(10), note text, n int, d int,
                    ts timestamp);
INSERT INTO rty.t SELECT g, 'n' || g, 'note ' || g, g, g, '2026-01-01'
  FROM generate_series(1, 500) g;
RESET ROLE;
\c - agent

-- no value changes: allowed
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN name TYPE varchar(20)$$) AS longer_varchar;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN name TYPE varchar$$) AS unbounded_varchar;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN note TYPE varchar$$) AS text_to_varchar;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN name TYPE text$$) AS varchar_to_text;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN d TYPE rty.anyint$$) AS domain_without_check;

-- values are converted or checked: an update of every row, refused
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN n TYPE bigint$$) AS int_to_bigint;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN note TYPE varchar(5)$$) AS shorter_varchar;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN name TYPE text USING name$$) AS with_using;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN id TYPE rty.positive$$) AS domain_with_check;
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN ts TYPE timestamptz$$) AS timestamp_to_tz;
-- one converting change among non-converting ones: refused
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN name TYPE varchar(30),
                               ALTER COLUMN n TYPE numeric$$) AS mixed;

\c - postgres
-- what was allowed changed the type and kept the values; nothing else moved
SELECT format_type(atttypid, atttypmod) AS type, attname
  FROM pg_attribute WHERE attrelid = 'rty.t'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT count(*), count(DISTINCT name), sum(n), min(note) FROM rty.t;

-- a timestamp to timestamptz with the session in UTC needs no rewrite
\c - agent
SET TimeZone = 'UTC';
SELECT rty.try1($$ALTER TABLE rty.t ALTER COLUMN ts TYPE timestamptz$$) AS timestamp_to_tz_utc;
\c - postgres
DROP SCHEMA rty CASCADE;
