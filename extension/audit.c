/*-------------------------------------------------------------------------
 *
 * audit.c
 *		The audit trail: one LOG line per event, and two bounded rings in
 *		shared memory -- recent events, and recent refusals ("blocked
 *		requests", which approve() turns into approvals).
 *
 * Log lines begin "deletion_firewall:" and carry key=value fields; a value
 * with spaces or quotes is double-quoted with embedded quotes doubled.
 * Rings keep the newest entries and drop the oldest; they have their own
 * LWLock (the second of the "deletion_firewall" tranche), under which
 * nothing but copying happens.  Text that came from an agent is escaped
 * (dfw_escape) before it is logged or shown, and cut with a visible mark.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "commands/dbcommands.h"
#include "utils/acl.h"
#include "common/hashfn.h"
#include "utils/backend_status.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#define DFW_EVENTS	256
#define DFW_BLOCKED	128

typedef struct DfwAuditShared
{
	LWLock	   *lock;
	uint64		nevents;		/* total ever written; ring index = n % size */
	uint64		nblocked;
	DfwEvent	events[DFW_EVENTS];
	DfwBlocked	blocked[DFW_BLOCKED];
} DfwAuditShared;

static DfwAuditShared *audit = NULL;

/* Set around dfw_audit("replaced", ...): logged as old_definition=. */
const char *dfw_audit_old_definition = NULL;

Size
dfw_audit_shmem_size(void)
{
	return sizeof(DfwAuditShared);
}

void
dfw_audit_shmem_init(void)
{
	bool		found;

	audit = ShmemInitStruct("deletion_firewall audit", sizeof(DfwAuditShared),
							&found);
	if (!found)
	{
		memset(audit, 0, sizeof(DfwAuditShared));
		audit->lock = &(GetNamedLWLockTranche("deletion_firewall"))[1].lock;
	}
}

/*
 * Request ids.  A request id names a refusal for approve(); it is no
 * secret (only an approver can approve).  It is derived from what was
 * refused -- database, agent, action, statement text -- and the refusal's
 * ordinal in this backend, then made unique among the remembered requests
 * under the lock: so the same test run gives the same ids (the primary
 * message carries one, and expected output can show it), while two live
 * requests never share one.
 */
static uint32 refusals_in_backend = 0;

static const char *
current_dbname(void)
{
	char	   *name = IsTransactionState() ? get_database_name(MyDatabaseId) : NULL;

	return name ? name : "";
}

static void
request_id_candidate(char *out, const char *action, const char *dbname,
					 const char *agent, uint32 salt)
{
	const char *stmt = debug_query_string ? debug_query_string : "";
	uint64		h;

	h = hash_bytes_extended((const unsigned char *) stmt, strlen(stmt),
							refusals_in_backend);
	h = hash_combine64(h, hash_bytes_extended((const unsigned char *) dbname,
											  strlen(dbname), salt));
	h = hash_combine64(h, hash_bytes_extended((const unsigned char *) agent,
											  strlen(agent), 0));
	h = hash_combine64(h, hash_bytes_extended((const unsigned char *) action,
											  strlen(action), 0));
	snprintf(out, DFW_ID_LEN, "req_%010llx",
			 (unsigned long long) (h & UINT64CONST(0xffffffffff)));
}

/*
 * A request id for a warning in warn mode: like a refusal's, but nothing
 * is remembered (there is nothing to approve).
 */
void
dfw_warned_request_id(char *request_id, const char *action)
{
	const char *agent = dfw_agent_name();

	refusals_in_backend++;
	request_id_candidate(request_id, action, current_dbname(),
						 agent ? agent : "", 0);
}

/* Caller holds audit->lock. */
static bool
request_id_taken(const char *id)
{
	for (int i = 0; i < DFW_BLOCKED; i++)
		if (strcmp(audit->blocked[i].request_id, id) == 0)
			return true;
	return false;
}

/*
 * A UTF-8 character that a terminal or log viewer would not show as itself:
 * a C1 control (U+0080..U+009F) or a bidirectional mark or override.
 */
static bool
hidden_code_point(const unsigned char *p)
{
	pg_wchar	c;

	if (!pg_utf8_islegal(p, pg_utf_mblen(p)))
		return false;
	c = utf8_to_unicode(p);
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
		c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
		(c >= 0x2066 && c <= 0x2069);
}

/*
 * Text that came from an agent (statement text, parameter values, object
 * names), made safe to print: control characters become \n, \r, \t or
 * \xNN, C1 controls and bidirectional marks \uXXXX (UTF-8 databases), and
 * a backslash is doubled, so a log viewer or a terminal shows
 * exactly what was sent and cannot be fooled into showing another line.
 */
char *
dfw_escape(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '\\':
				appendStringInfoString(&buf, "\\\\");
				break;
			case '\n':
				appendStringInfoString(&buf, "\\n");
				break;
			case '\r':
				appendStringInfoString(&buf, "\\r");
				break;
			case '\t':
				appendStringInfoString(&buf, "\\t");
				break;
			default:
				if (*p < 0x20 || *p == 0x7f)
					appendStringInfo(&buf, "\\x%02x", *p);
				else if (*p >= 0xc2 && GetDatabaseEncoding() == PG_UTF8 &&
						 hidden_code_point(p))
				{
					/* C1 controls and bidirectional marks: \uXXXX */
					int			len = pg_utf_mblen(p);

					appendStringInfo(&buf, "\\u%04x",
									 (unsigned) utf8_to_unicode(p));
					p += len - 1;
				}
				else
					appendStringInfoChar(&buf, *p);
		}
	}
	return buf.data;
}

/*
 * Copy src (already escaped) into dst of size bytes; if it does not fit,
 * cut it at a character boundary and say so: "... [cut: N bytes in all]".
 */
void
dfw_cut_text(char *dst, size_t size, const char *src)
{
	size_t		len = strlen(src);
	char		mark[64];
	size_t		keep;

	if (len < size)
	{
		memcpy(dst, src, len + 1);
		return;
	}
	snprintf(mark, sizeof(mark), "... [cut: %zu bytes in all]", len);
	keep = size - strlen(mark) - 1;
	keep = pg_mbcliplen(src, len, keep);
	memcpy(dst, src, keep);
	strcpy(dst + keep, mark);
}

static void
append_field(StringInfo buf, const char *key, const char *value)
{
	bool		quote = (value != NULL && value[0] == '\0');
	char	   *v;

	if (value == NULL)
		return;
	v = dfw_escape(value);
	for (const char *p = v; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=')
			quote = true;
	appendStringInfo(buf, " %s=", key);
	if (quote)
		appendStringInfoChar(buf, '"');
	for (const char *p = v; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	if (quote)
		appendStringInfoChar(buf, '"');
	pfree(v);
}

/*
 * One audit event: a LOG line and an entry in the events ring.  Fields
 * that do not apply are NULL (rows: negative).
 */
void
dfw_audit(const char *event, const char *action, const char *target,
		  int64 rows, const char *request_id, const char *token_id,
		  const char *by, const char *reason)
{
	dfw_audit_lsn(event, action, target, rows, request_id, token_id, by,
				  reason, InvalidXLogRecPtr);
}

/* The same, with the WAL position before a confirmed statement (lsn=). */
void
dfw_audit_lsn(const char *event, const char *action, const char *target,
			  int64 rows, const char *request_id, const char *token_id,
			  const char *by, const char *reason, XLogRecPtr lsn)
{
	const char *agent = NULL;

	if (IsTransactionState() &&
		(strcmp(event, "refused") == 0 || strcmp(event, "confirmed") == 0 ||
		 strcmp(event, "warned") == 0 || strcmp(event, "replaced") == 0))
		agent = dfw_agent_name();
	dfw_audit_as(event, action, target, agent, current_dbname(), rows,
				 request_id, token_id, by, reason, lsn);
}

/*
 * The same with the agent and database given: for events written when the
 * catalog cannot be read (at the end of a transaction).
 */
void
dfw_audit_as(const char *event, const char *action, const char *target,
			 const char *agent, const char *dbname, int64 rows,
			 const char *request_id, const char *token_id, const char *by,
			 const char *reason, XLogRecPtr lsn)
{
	StringInfoData buf;
	char		lsnbuf[32];
	char	   *shown;
	char		rowsbuf[32];

	if (dbname == NULL)
		dbname = "";
	initStringInfo(&buf);
	appendStringInfoString(&buf, "deletion_firewall:");
	append_field(&buf, "event", event);
	append_field(&buf, "action", action);
	append_field(&buf, "target", target);
	append_field(&buf, "agent", agent);
	append_field(&buf, "dbname", dbname);
	if (rows >= 0)
	{
		snprintf(rowsbuf, sizeof(rowsbuf), INT64_FORMAT, rows);
		append_field(&buf, "rows", rowsbuf);
	}
	append_field(&buf, "request_id", request_id);
	append_field(&buf, "token_id", token_id);
	append_field(&buf, "by", by);
	append_field(&buf, "reason", reason);
	if (lsn != InvalidXLogRecPtr)
	{
		snprintf(lsnbuf, sizeof(lsnbuf), "%X/%X", LSN_FORMAT_ARGS(lsn));
		append_field(&buf, "lsn", lsnbuf);
	}
	append_field(&buf, "old_definition", dfw_audit_old_definition);
	ereport(LOG, (errmsg_internal("%s", buf.data), errhidestmt(false)));

	if (audit == NULL)
		return;
	shown = dfw_escape(target ? target : "");
	LWLockAcquire(audit->lock, LW_EXCLUSIVE);
	{
		DfwEvent   *e = &audit->events[audit->nevents++ % DFW_EVENTS];

		memset(e, 0, sizeof(*e));
		e->at = GetCurrentTimestamp();
		strlcpy(e->event, event, sizeof(e->event));
		strlcpy(e->action, action ? action : "", sizeof(e->action));
		dfw_cut_text(e->target, sizeof(e->target), shown);
		strlcpy(e->agent, agent ? agent : "", sizeof(e->agent));
		strlcpy(e->dbname, dbname, sizeof(e->dbname));
		e->rows = rows;
		strlcpy(e->request_id, request_id ? request_id : "", sizeof(e->request_id));
		strlcpy(e->token_id, token_id ? token_id : "", sizeof(e->token_id));
		strlcpy(e->by, by ? by : "", sizeof(e->by));
		strlcpy(e->reason, reason ? reason : "", sizeof(e->reason));
		e->lsn = lsn;
	}
	LWLockRelease(audit->lock);
}

/*
 * Remember a refusal as a request an approver can approve; its new id goes
 * to request_id (DFW_ID_LEN bytes).  target is the display text of the
 * refused objects, targets the objects themselves (their set is what an
 * approval will hold), key the statement's and parameters' hashes, params
 * the parameter values for display.
 */
void
dfw_blocked_remember(char *request_id, const char *action,
					 const char *target, List *targets, int64 rows,
					 const char *reason, const DfwStmtKey *key,
					 const char *params)
{
	DfwBlocked *b = palloc0(sizeof(DfwBlocked));
	const char *agent = dfw_agent_name();
	const char *dbname = current_dbname();
	uint32		salt = 0;

	/* everything that needs the catalog or palloc, before the lock */
	refusals_in_backend++;
	b->at = GetCurrentTimestamp();
	strlcpy(b->dbname, dbname, sizeof(b->dbname));
	strlcpy(b->agent, agent ? agent : "", sizeof(b->agent));
	b->agent_oid = agent ? get_role_oid(agent, true) : InvalidOid;
	b->login_oid = GetAuthenticatedUserId();
	b->backend_pid = MyProcPid;
	b->backend_start = MyStartTimestamp;
	strlcpy(b->action, action, sizeof(b->action));
	dfw_cut_text(b->target, sizeof(b->target), dfw_escape(target));
	b->rows = rows;
	dfw_cut_text(b->statement, sizeof(b->statement),
				 dfw_escape(debug_query_string ? debug_query_string : ""));
	dfw_cut_text(b->params, sizeof(b->params), params ? params : "");
	strlcpy(b->reason, reason, sizeof(b->reason));
	b->key = *key;
	dfw_objset_make(targets, &b->objs);

	if (audit == NULL)
	{
		request_id_candidate(request_id, action, dbname, agent ? agent : "", 0);
		return;
	}
	LWLockAcquire(audit->lock, LW_EXCLUSIVE);
	do
		request_id_candidate(request_id, action, dbname, agent ? agent : "",
							 salt++);
	while (request_id_taken(request_id));
	strlcpy(b->request_id, request_id, sizeof(b->request_id));
	audit->blocked[audit->nblocked++ % DFW_BLOCKED] = *b;
	LWLockRelease(audit->lock);
}

/*
 * Is the backend with this pid, started at this time, still connected?
 * (A pid can be reused by a new backend: the start time tells them apart.)
 */
bool
dfw_backend_alive(int pid, TimestampTz started)
{
	int			n = pgstat_fetch_stat_numbackends();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = DFW_LOCAL_BEENTRY(i);

		if (l && l->backendStatus.st_procpid == pid)
			return l->backendStatus.st_proc_start_timestamp == started;
	}
	return false;
}

/* Copy out the rings, newest first, for the views.  Caller frees nothing. */
List *
dfw_events_list(void)
{
	List	   *result = NIL;

	if (audit == NULL)
		return NIL;
	LWLockAcquire(audit->lock, LW_SHARED);
	for (uint64 i = 0; i < Min(audit->nevents, DFW_EVENTS); i++)
	{
		DfwEvent   *e = palloc(sizeof(DfwEvent));

		*e = audit->events[(audit->nevents - 1 - i) % DFW_EVENTS];
		result = lappend(result, e);
	}
	LWLockRelease(audit->lock);
	return result;
}

List *
dfw_blocked_list(void)
{
	List	   *result = NIL;

	if (audit == NULL)
		return NIL;
	LWLockAcquire(audit->lock, LW_SHARED);
	for (uint64 i = 0; i < Min(audit->nblocked, DFW_BLOCKED); i++)
	{
		DfwBlocked *b = palloc(sizeof(DfwBlocked));

		*b = audit->blocked[(audit->nblocked - 1 - i) % DFW_BLOCKED];
		result = lappend(result, b);
	}
	LWLockRelease(audit->lock);
	return result;
}

/*
 * Find a blocked request by id; copies it into *out.  Returns false if it
 * is unknown (never made, or already dropped from the ring).
 */
bool
dfw_blocked_find(const char *request_id, DfwBlocked *out)
{
	bool		found = false;

	if (audit == NULL)
		return false;
	LWLockAcquire(audit->lock, LW_SHARED);
	for (int i = 0; i < DFW_BLOCKED; i++)
		if (audit->blocked[i].request_id[0] != '\0' &&
			strcmp(audit->blocked[i].request_id, request_id) == 0)
		{
			memcpy(out, &audit->blocked[i], sizeof(DfwBlocked));
			found = true;
			break;
		}
	LWLockRelease(audit->lock);
	return found;
}
