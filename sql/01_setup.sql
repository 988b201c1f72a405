--
-- Set-up shared by the regression tests: the extension, an agent, an
-- approver, a plain human, and a helper that shows an error with its
-- SQLSTATE, DETAIL and HINT (request and token ids masked).
--
CREATE EXTENSION deletion_firewall;
SELECT extversion FROM pg_extension WHERE extname = 'deletion_firewall';

-- CREATE EXTENSION made the tag roles, NOLOGIN
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname LIKE 'deletion_firewall%' ORDER BY 1;

CREATE ROLE agent LOGIN;
GRANT deletion_firewall_agent TO agent;
CREATE ROLE agent2 LOGIN;
GRANT deletion_firewall_agent TO agent2;
CREATE ROLE alice LOGIN;
GRANT deletion_firewall_approver TO alice;
CREATE ROLE bob LOGIN;
GRANT CREATE ON SCHEMA public TO PUBLIC;

CREATE FUNCTION public.try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg
        || E'\nDETAIL: ' || regexp_replace(regexp_replace(coalesce(det, ''),
               'req_[0-9a-f]+', 'req_ID', 'g'), '(tok|apr)_[0-9a-f]+', '\1_ID', 'g')
        || E'\nHINT: ' || regexp_replace(coalesce(hnt, ''), 'req_[0-9a-f]+', 'req_ID', 'g');
END
$$;

-- a second CREATE EXTENSION in another database reuses the roles
CREATE DATABASE dfw_other;
\c dfw_other
CREATE EXTENSION deletion_firewall;
SELECT count(*) FROM pg_roles WHERE rolname LIKE 'deletion_firewall%';
\c regression
DROP DATABASE dfw_other;
