/*-------------------------------------------------------------------------
 *
 * audit.c
 *		The audit trail: one LOG line per event, and two bounded rings in
 *		shared memory -- recent events, and recent refusals ("blocked
 *		requests", which approve() turns into approvals).
 *
 * Log lines begin "deletion_firewall:" and carry key=value fields; a value
 * with spaces or quotes is double-quoted with embedded quotes doubled.
 * Rings keep the newest entries and drop the oldest; they are protected by
 * the extension's single LWLock (see tokens.c).
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
		audit->lock = &(GetNamedLWLockTranche("deletion_firewall"))->lock;
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

/* Caller holds audit->lock. */
static bool
request_id_taken(const char *id)
{
	for (int i = 0; i < DFW_BLOCKED; i++)
		if (strcmp(audit->blocked[i].request_id, id) == 0)
			return true;
	return false;
}

static void
append_field(StringInfo buf, const char *key, const char *value)
{
	bool		quote = (value != NULL && value[0] == '\0');

	if (value == NULL)
		return;
	for (const char *p = value; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\t')
			quote = true;
	appendStringInfo(buf, " %s=", key);
	if (quote)
		appendStringInfoChar(buf, '"');
	for (const char *p = value; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		/* a list of identities, one a line, is logged comma-separated */
		appendStringInfoChar(buf, *p == '\n' ? ',' : *p);
	}
	if (quote)
		appendStringInfoChar(buf, '"');
}

static const char *
current_dbname(void)
{
	char	   *name = IsTransactionState() ? get_database_name(MyDatabaseId) : NULL;

	return name ? name : "";
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
	StringInfoData buf;
	const char *agent = NULL;
	const char *dbname = current_dbname();
	char		rowsbuf[32];

	if (IsTransactionState() && strcmp(event, "refused") == 0)
		agent = dfw_agent_name();
	else if (IsTransactionState() && (strcmp(event, "confirmed") == 0 ||
										strcmp(event, "replaced") == 0))
		agent = dfw_agent_name();

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
	append_field(&buf, "old_definition", dfw_audit_old_definition);
	ereport(LOG, (errmsg_internal("%s", buf.data), errhidestmt(false)));

	if (audit == NULL)
		return;
	LWLockAcquire(audit->lock, LW_EXCLUSIVE);
	{
		DfwEvent   *e = &audit->events[audit->nevents++ % DFW_EVENTS];

		memset(e, 0, sizeof(*e));
		e->at = GetCurrentTimestamp();
		strlcpy(e->event, event, sizeof(e->event));
		strlcpy(e->action, action ? action : "", sizeof(e->action));
		strlcpy(e->target, target ? target : "", sizeof(e->target));
		strlcpy(e->agent, agent ? agent : "", sizeof(e->agent));
		strlcpy(e->dbname, dbname, sizeof(e->dbname));
		e->rows = rows;
		strlcpy(e->request_id, request_id ? request_id : "", sizeof(e->request_id));
		strlcpy(e->token_id, token_id ? token_id : "", sizeof(e->token_id));
		strlcpy(e->by, by ? by : "", sizeof(e->by));
		strlcpy(e->reason, reason ? reason : "", sizeof(e->reason));
	}
	LWLockRelease(audit->lock);
}

/*
 * Remember a refusal as a request an approver can approve; its new id goes
 * to request_id (DFW_ID_LEN bytes).
 */
void
dfw_blocked_remember(char *request_id, const char *action,
					 const char *target, int64 rows, const char *reason,
					 uint64 stmt_hash)
{
	DfwBlocked *b;
	const char *agent = dfw_agent_name();
	Oid			agent_oid = agent ? get_role_oid(agent, true) : InvalidOid;
	const char *dbname = current_dbname();
	uint32		salt = 0;

	refusals_in_backend++;
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
	b = &audit->blocked[audit->nblocked++ % DFW_BLOCKED];
	memset(b, 0, sizeof(*b));
	strlcpy(b->request_id, request_id, sizeof(b->request_id));
	b->at = GetCurrentTimestamp();
	strlcpy(b->dbname, dbname, sizeof(b->dbname));
	strlcpy(b->agent, agent ? agent : "", sizeof(b->agent));
	b->agent_oid = agent_oid;
	b->backend_pid = MyProcPid;
	b->backend_start = MyStartTimestamp;
	strlcpy(b->action, action, sizeof(b->action));
	strlcpy(b->target, target, sizeof(b->target));
	b->rows = rows;
	strlcpy(b->statement, debug_query_string ? debug_query_string : "",
			sizeof(b->statement));
	b->statement_cut = debug_query_string &&
		strlen(debug_query_string) >= sizeof(b->statement);
	strlcpy(b->reason, reason, sizeof(b->reason));
	b->stmt_hash = stmt_hash;
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
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);

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
