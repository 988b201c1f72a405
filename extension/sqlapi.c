/*-------------------------------------------------------------------------
 *
 * sqlapi.c
 *		The SQL-callable functions behind the deletion_firewall schema:
 *		confirm(), revoke(), approve() and the rows of the views tokens,
 *		blocked and events.
 *
 * Each function first asks identity.c whether the caller is an approver
 * (never an agent); the check lives in C, so it holds for any copy or
 * wrapper of these functions whatever EXECUTE grants say.  None of them
 * ever returns a token's text except confirm(), once, to its issuer.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(dfw_preloaded);
PG_FUNCTION_INFO_V1(dfw_confirm);
PG_FUNCTION_INFO_V1(dfw_revoke);
PG_FUNCTION_INFO_V1(dfw_approve);
PG_FUNCTION_INFO_V1(dfw_tokens);
PG_FUNCTION_INFO_V1(dfw_blocked);
PG_FUNCTION_INFO_V1(dfw_events);
PG_FUNCTION_INFO_V1(dfw_blocked_1_1);
PG_FUNCTION_INFO_V1(dfw_events_1_1);

static void
bad_argument(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 detail ? errdetail("%s", detail) : 0));
}

/* valid_for in seconds, capped by deletion_firewall.max_valid_for */
static int64
lifetime_seconds(Interval *span)
{
	int64		secs;

	secs = span->time / USECS_PER_SEC +
		(int64) span->day * SECS_PER_DAY +
		(int64) span->month * DAYS_PER_MONTH * SECS_PER_DAY;
	if (secs <= 0)
		bad_argument("valid_for must be a positive interval", NULL);
	if (secs > dfw_max_valid_for)
	{
		ereport(NOTICE,
				(errmsg("valid_for capped at %d seconds by deletion_firewall.max_valid_for",
						dfw_max_valid_for)));
		secs = dfw_max_valid_for;
	}
	return secs;
}

static const char *
actions_text(int actions)
{
	return actions == DFW_ACT_ALL ? "all" : dfw_action_name(actions);
}

/*
 * _preloaded(): true.  Calling it loads the library, which refuses to load
 * unless preloaded; the install script calls it first.
 */
Datum
dfw_preloaded(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(true);
}

/*
 * confirm(action, target, valid_for, max_rows, agent, uses, dbname)
 */
Datum
dfw_confirm(PG_FUNCTION_ARGS)
{
	DfwTokenView spec;
	char	   *action;
	char	   *token;
	char		token_id[DFW_ID_LEN];
	int64		secs;

	dfw_require_approver("deletion_firewall.confirm");

	memset(&spec, 0, sizeof(spec));
	if (PG_ARGISNULL(0))
		bad_argument("action must not be null", NULL);
	action = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec.actions = dfw_action_from_name(action);
	if (spec.actions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid deletion_firewall action \"%s\"", action),
				 errhint("Use 'drop', 'truncate', 'delete', 'update' or 'all'.")));

	if (PG_ARGISNULL(1))
		bad_argument("target must not be null", "Use '*' to allow any object.");
	text_to_cstring_buffer(PG_GETARG_TEXT_PP(1), spec.target, sizeof(spec.target));
	if (spec.target[0] == '\0')
		bad_argument("target must not be empty", "Use '*' to allow any object.");

	if (PG_ARGISNULL(2))
		bad_argument("valid_for must not be null", NULL);
	secs = lifetime_seconds(PG_GETARG_INTERVAL_P(2));

	spec.max_rows = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3);
	if (!PG_ARGISNULL(3) && spec.max_rows < 0)
		bad_argument("max_rows must be zero or more, or NULL for no limit", NULL);

	spec.agent = PG_ARGISNULL(4) ? InvalidOid : PG_GETARG_OID(4);

	spec.uses_left = PG_ARGISNULL(5) ? 1 : PG_GETARG_INT32(5);
	if (spec.uses_left < 1)
		bad_argument("uses must be at least 1", NULL);

	if (!PG_ARGISNULL(6))
	{
		char	   *db = NameStr(*PG_GETARG_NAME(6));

		(void) get_database_oid(db, false);		/* must exist */
		strlcpy(spec.dbname, db, sizeof(spec.dbname));
	}

	strlcpy(spec.issued_by, GetUserNameFromId(GetSessionUserId(), false),
			sizeof(spec.issued_by));
	spec.issued_at = GetCurrentTimestamp();
	spec.expires_at = spec.issued_at + secs * USECS_PER_SEC;
	/* objects named or linked by a transaction not ended by now: not covered */
	spec.issued_xmin = (ActiveSnapshotSet() ? GetActiveSnapshot() :
						GetTransactionSnapshot())->xmin;
	spec.issued_xid = GetTopTransactionIdIfAny();

	token = dfw_token_issue(&spec, token_id);
	dfw_audit("issued", actions_text(spec.actions), spec.target, spec.max_rows,
			  NULL, token_id, spec.issued_by, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(token));
}

Datum
dfw_revoke(PG_FUNCTION_ARGS)
{
	char	   *id;
	bool		done;

	dfw_require_approver("deletion_firewall.revoke");
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	done = dfw_token_revoke(id);
	if (done)
		dfw_audit("revoked", NULL, NULL, -1, NULL, id,
				  GetUserNameFromId(GetSessionUserId(), false), NULL);
	PG_RETURN_BOOL(done);
}

/*
 * approve(request_id, valid_for): attach a one-statement approval to the
 * refused session.
 */
Datum
dfw_approve(PG_FUNCTION_ARGS)
{
	DfwBlocked	b;
	DfwTokenView spec;
	char	   *reqid;
	char		token_id[DFW_ID_LEN];
	int64		secs;

	dfw_require_approver("deletion_firewall.approve");
	if (PG_ARGISNULL(0))
		bad_argument("request_id must not be null", NULL);
	reqid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!dfw_blocked_find(reqid, &b))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("deletion_firewall request \"%s\" does not exist", reqid),
				 errdetail("It was never made, or it is older than what deletion_firewall.blocked keeps."),
				 errhint("See SELECT * FROM deletion_firewall.blocked;")));
	if (strcmp(b.action, "tamper") == 0 || b.stmt_hash == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deletion_firewall request \"%s\" cannot be approved", reqid)));
	if (b.statement_cut)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deletion_firewall request \"%s\" cannot be approved", reqid),
				 errdetail("Its statement is longer than the %d bytes deletion_firewall.blocked shows, so nobody has seen all of it.",
						   DFW_STMT_LEN - 1),
				 errhint("Issue a token with deletion_firewall.confirm() instead.")));
	if (PG_ARGISNULL(1))
		bad_argument("valid_for must not be null", NULL);
	secs = lifetime_seconds(PG_GETARG_INTERVAL_P(1));

	memset(&spec, 0, sizeof(spec));
	spec.actions = dfw_action_from_name(b.action);
	strlcpy(spec.target, b.target, sizeof(spec.target));
	strlcpy(spec.dbname, b.dbname, sizeof(spec.dbname));
	spec.agent = b.agent_oid;
	spec.max_rows = -1;			/* the human saw the statement: run it to the end */
	spec.uses_left = 1;
	strlcpy(spec.issued_by, GetUserNameFromId(GetSessionUserId(), false),
			sizeof(spec.issued_by));
	strlcpy(spec.request_id, reqid, sizeof(spec.request_id));
	spec.issued_at = GetCurrentTimestamp();
	spec.expires_at = spec.issued_at + secs * USECS_PER_SEC;

	dfw_approval_issue_slot(&spec, b.backend_pid, b.backend_start,
							b.stmt_hash, token_id);
	dfw_audit("approved", b.action, b.target, -1, reqid, token_id,
			  spec.issued_by, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(token_id));
}

/* ---------------- views ---------------- */

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL || s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

Datum
dfw_tokens(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	dfw_require_approver("deletion_firewall.tokens");
	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, dfw_token_list())
	{
		DfwTokenView *v = lfirst(lc);
		Datum		values[10];
		bool		nulls[10] = {0};

		values[0] = CStringGetTextDatum(v->token_id);
		values[1] = CStringGetTextDatum(actions_text(v->actions));
		values[2] = CStringGetTextDatum(v->target);
		values[3] = text_or_null(v->dbname, &nulls[3]);
		values[4] = ObjectIdGetDatum(v->agent);
		nulls[4] = !OidIsValid(v->agent);
		values[5] = Int64GetDatum(v->max_rows);
		nulls[5] = v->max_rows < 0;
		values[6] = Int32GetDatum(v->uses_left);
		values[7] = CStringGetTextDatum(v->issued_by);
		values[8] = TimestampTzGetDatum(v->issued_at);
		values[9] = TimestampTzGetDatum(v->expires_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The rows of deletion_firewall.blocked.  Version 1.0's view has ten
 * columns; 1.1 adds params (before reason) and alive.  Each SQL version
 * calls its own entry point, so a database not yet updated keeps working.
 */
static Datum
blocked_rows(FunctionCallInfo fcinfo, bool v11)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	dfw_require_approver("deletion_firewall.blocked");
	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, dfw_blocked_list())
	{
		DfwBlocked *b = lfirst(lc);
		Datum		values[12];
		bool		nulls[12] = {0};

		values[0] = CStringGetTextDatum(b->request_id);
		values[1] = TimestampTzGetDatum(b->at);
		values[2] = CStringGetTextDatum(b->dbname);
		values[3] = CStringGetTextDatum(b->agent);
		values[4] = Int32GetDatum(b->backend_pid);
		values[5] = CStringGetTextDatum(b->action);
		values[6] = CStringGetTextDatum(b->target);
		values[7] = Int64GetDatum(b->rows);
		nulls[7] = b->rows < 0;
		values[8] = CStringGetTextDatum(b->statement);
		if (v11)
		{
			values[9] = text_or_null(b->params, &nulls[9]);
			values[10] = CStringGetTextDatum(b->reason);
			values[11] = BoolGetDatum(dfw_backend_alive(b->backend_pid,
														b->backend_start));
		}
		else
			values[9] = CStringGetTextDatum(b->reason);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
dfw_blocked(PG_FUNCTION_ARGS)
{
	return blocked_rows(fcinfo, false);
}

Datum
dfw_blocked_1_1(PG_FUNCTION_ARGS)
{
	return blocked_rows(fcinfo, true);
}

/* The rows of deletion_firewall.events; 1.1 adds lsn. */
static Datum
events_rows(FunctionCallInfo fcinfo, bool v11)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	dfw_require_approver("deletion_firewall.events");
	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, dfw_events_list())
	{
		DfwEvent   *e = lfirst(lc);
		Datum		values[12];
		bool		nulls[12] = {0};

		values[0] = TimestampTzGetDatum(e->at);
		values[1] = CStringGetTextDatum(e->event);
		values[2] = text_or_null(e->action, &nulls[2]);
		values[3] = text_or_null(e->target, &nulls[3]);
		values[4] = text_or_null(e->agent, &nulls[4]);
		values[5] = text_or_null(e->dbname, &nulls[5]);
		values[6] = Int64GetDatum(e->rows);
		nulls[6] = e->rows < 0;
		values[7] = text_or_null(e->request_id, &nulls[7]);
		values[8] = text_or_null(e->token_id, &nulls[8]);
		values[9] = text_or_null(e->by, &nulls[9]);
		values[10] = text_or_null(e->reason, &nulls[10]);
		if (v11)
		{
			values[11] = LSNGetDatum(e->lsn);
			nulls[11] = (e->lsn == InvalidXLogRecPtr);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
dfw_events(PG_FUNCTION_ARGS)
{
	return events_rows(fcinfo, false);
}

Datum
dfw_events_1_1(PG_FUNCTION_ARGS)
{
	return events_rows(fcinfo, true);
}
