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
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/catcache.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "access/htup_details.h"
#include "nodes/makefuncs.h"
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

static void
null_argument(const char *name, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s must not be null", name),
			 hint ? errhint("%s", hint) : 0));
}

/*
 * valid_for as microseconds, capped by deletion_firewall.max_valid_for;
 * fractions of a second are kept.
 */
static int64
lifetime_usecs(Interval *span)
{
	int64		usecs;

	usecs = span->time +
		(int64) span->day * USECS_PER_DAY +
		(int64) span->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (usecs <= 0)
		bad_argument("valid_for must be a positive interval", NULL);
	if (usecs > (int64) dfw_max_valid_for * USECS_PER_SEC)
	{
		ereport(NOTICE,
				(errmsg("valid_for capped at %d seconds by deletion_firewall.max_valid_for",
						dfw_max_valid_for)));
		usecs = (int64) dfw_max_valid_for * USECS_PER_SEC;
	}
	return usecs;
}

static const char *
actions_text(int actions)
{
	return actions == DFW_ACT_ALL ? "all" : dfw_action_name(actions);
}

/*
 * The oldest transaction still running when this call began: catalog rows
 * written by it or a later one are newer than what is being issued (rows
 * the issuing transaction itself wrote are older: issued_xid).
 */
static TransactionId
issue_xmin(void)
{
	if (ActiveSnapshotSet())
		return GetActiveSnapshot()->xmin;
	return GetTransactionSnapshot()->xmin;
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

/* ---------------- checking a target when it is issued ---------------- */

static void
target_names_nothing(const char *target, const char *suggestion)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("target \"%s\" names no object in database \"%s\"",
					target, get_database_name(MyDatabaseId)),
			 errdetail("A target is matched against object identities as pg_identify_object() gives them; a token for this target could never confirm anything."),
			 suggestion ?
			 errhint("Did you mean %s?", suggestion) :
			 errhint("Name the object as schema.name (schema.table.column for a column, schema.function(argument types) for a function), or end the target with '*'.")));
}

/*
 * A function's identity, schema.name(argument types): compare it with the
 * identities of the functions of that name (no privilege on the schema is
 * needed to issue a token for it).
 */
static void
check_function_target(const char *target)
{
	const char *paren = strchr(target, '(');
	const char *start = paren;
	char	   *name;
	CatCList   *list;
	bool		found = false;

	while (start > target && start[-1] != '.')
		start--;
	name = pnstrdup(start, paren - start);
	if (name[0] == '"' && strlen(name) >= 2)
		name = pnstrdup(name + 1, strlen(name) - 2);
	list = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(name));
	for (int i = 0; i < list->n_members && !found; i++)
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&list->members[i]->tuple);
		ObjectAddress addr;
		char	   *id;

		ObjectAddressSet(addr, ProcedureRelationId, proc->oid);
		id = getObjectIdentity(&addr, true);
		found = (id != NULL && strcmp(id, target) == 0);
	}
	ReleaseSysCacheList(list);
	if (!found)
		target_names_nothing(target, NULL);
}

/*
 * Does the target (no '*' in it) name an object of this database?  Tables,
 * views, sequences and other relations, columns, functions, types, schemas
 * and databases are checked; an identity of another shape ("trigger on
 * table", ...) is accepted as it is, with a notice.  An unqualified name
 * that resolves through search_path is refused with the identity to use.
 */
static void
check_target(const char *target)
{
	List	   *names;
	Oid			relid;

	if (strchr(target, '(') != NULL)
	{
		check_function_target(target);
		return;
	}
	if (strstr(target, " on ") != NULL ||
		!SplitIdentifierString(pstrdup(target), '.', &names) ||
		list_length(names) < 1 || list_length(names) > 3)
	{
		ereport(NOTICE,
				(errmsg("target \"%s\" was not checked against the catalog", target),
				 errdetail("Only relations, columns, functions, types, schemas and databases are checked when a token is issued.")));
		return;
	}

	if (list_length(names) == 1)
	{
		const char *name = linitial(names);

		/* a large object's identity is its OID */
		if (strspn(name, "0123456789") == strlen(name) && strlen(name) <= 10)
		{
			if (!LargeObjectExists((Oid) strtoul(name, NULL, 10)))
				target_names_nothing(target, NULL);
			return;
		}

		if (OidIsValid(get_namespace_oid(name, true)) ||
			OidIsValid(get_database_oid(name, true)))
			return;
		relid = RangeVarGetRelid(makeRangeVar(NULL, (char *) name, -1),
								 NoLock, true);
		if (OidIsValid(relid))
		{
			ObjectAddress addr;

			ObjectAddressSet(addr, RelationRelationId, relid);
			target_names_nothing(target,
								 quote_literal_cstr(getObjectIdentity(&addr, false)));
		}
		target_names_nothing(target, NULL);
	}
	if (list_length(names) == 2)
	{
		Oid			nsp = get_namespace_oid(linitial(names), true);

		if (OidIsValid(nsp) &&
			(OidIsValid(get_relname_relid(lsecond(names), nsp)) ||
			 OidIsValid(GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum(lsecond(names)),
										ObjectIdGetDatum(nsp)))))
			return;
		/* table.column without the schema: say what to write */
		relid = RangeVarGetRelid(makeRangeVar(NULL, linitial(names), -1),
								 NoLock, true);
		if (OidIsValid(relid) &&
			get_attnum(relid, lsecond(names)) != InvalidAttrNumber)
			target_names_nothing(target,
								 quote_literal_cstr(psprintf("%s.%s",
															 get_namespace_name(get_rel_namespace(relid)),
															 target)));
		target_names_nothing(target, NULL);
	}
	/* schema.table.column */
	{
		Oid			nsp = get_namespace_oid(linitial(names), true);

		relid = OidIsValid(nsp) ? get_relname_relid(lsecond(names), nsp) : InvalidOid;
		if (OidIsValid(relid) &&
			get_attnum(relid, lthird(names)) != InvalidAttrNumber)
			return;
		target_names_nothing(target, NULL);
	}
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
	int64		usecs;

	dfw_require_approver("deletion_firewall.confirm");

	memset(&spec, 0, sizeof(spec));
	if (PG_ARGISNULL(0))
		null_argument("action", "Use 'drop', 'truncate', 'delete', 'update' or 'all'.");
	action = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec.actions = dfw_action_from_name(action);
	if (spec.actions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid deletion_firewall action \"%s\"", action),
				 errhint("Use 'drop', 'truncate', 'delete', 'update' or 'all'.")));

	if (PG_ARGISNULL(1))
		null_argument("target", "Use '*' to allow any object.");
	if (VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)) >= DFW_PATTERN_LEN)
		bad_argument("target is too long",
					 psprintf("A target may be at most %d bytes.", DFW_PATTERN_LEN - 1));
	text_to_cstring_buffer(PG_GETARG_TEXT_PP(1), spec.target, sizeof(spec.target));
	if (spec.target[0] == '\0')
		bad_argument("target must not be empty", "Use '*' to allow any object.");

	if (PG_ARGISNULL(2))
		null_argument("valid_for", NULL);
	usecs = lifetime_usecs(PG_GETARG_INTERVAL_P(2));

	spec.max_rows = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3);
	if (!PG_ARGISNULL(3) && spec.max_rows < 0)
		bad_argument("max_rows must be zero or more, or NULL for no limit", NULL);

	spec.agent = PG_ARGISNULL(4) ? InvalidOid : PG_GETARG_OID(4);
	if (!PG_ARGISNULL(4))
	{
		if (!OidIsValid(spec.agent))
			bad_argument("agent must name a role, or be NULL for any agent", NULL);
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(spec.agent)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role with OID %u does not exist", spec.agent)));
	}

	if (PG_ARGISNULL(5))
		null_argument("uses", "Give the number of statements the token may confirm (default 1).");
	spec.uses_left = PG_GETARG_INT32(5);
	if (spec.uses_left < 1)
		bad_argument("uses must be at least 1", NULL);

	if (!PG_ARGISNULL(6))
	{
		char	   *db = NameStr(*PG_GETARG_NAME(6));

		(void) get_database_oid(db, false);		/* must exist */
		strlcpy(spec.dbname, db, sizeof(spec.dbname));
	}

	/* a target that names nothing would make a token that never confirms */
	if (strchr(spec.target, '*') == NULL)
	{
		if (spec.dbname[0] != '\0' && MyDatabaseId == get_database_oid(spec.dbname, false))
			check_target(spec.target);
		else
			ereport(NOTICE,
					(errmsg("target \"%s\" was not checked against the catalog", spec.target),
					 errdetail("The token is valid in %s, whose catalogs cannot be read from database \"%s\".",
							   spec.dbname[0] ? psprintf("database \"%s\"", spec.dbname) : "every database",
							   get_database_name(MyDatabaseId))));
	}

	strlcpy(spec.issued_by, GetUserNameFromId(GetSessionUserId(), false),
			sizeof(spec.issued_by));
	spec.issued_at = GetCurrentTimestamp();
	spec.expires_at = spec.issued_at + usecs;
	spec.issued_xmin = issue_xmin();
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
 * approve(request_id, valid_for [, any_session]): allow one retry of a
 * refused request -- in the refused session, or with any_session in any
 * session of the same agent login (pooled connections).  Version 1.0's SQL
 * calls it with two arguments.
 */
Datum
dfw_approve(PG_FUNCTION_ARGS)
{
	DfwBlocked	b;
	DfwTokenView spec;
	char	   *reqid;
	char		token_id[DFW_ID_LEN];
	int64		usecs;
	bool		any_session = false;

	dfw_require_approver("deletion_firewall.approve");
	if (PG_ARGISNULL(0))
		null_argument("request_id", NULL);
	reqid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			null_argument("any_session", NULL);
		any_session = PG_GETARG_BOOL(2);
	}
	if (!dfw_blocked_find(reqid, &b))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("deletion_firewall request \"%s\" does not exist", reqid),
				 errdetail("It was never made, or it is older than what deletion_firewall.blocked keeps."),
				 errhint("See SELECT * FROM deletion_firewall.blocked;")));
	if (dfw_action_from_name(b.action) == 0 || b.key.stmt_hash == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deletion_firewall request \"%s\" cannot be approved", reqid)));
	if (!any_session && !dfw_backend_alive(b.backend_pid, b.backend_start))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the session of deletion_firewall request \"%s\" has ended", reqid),
				 errdetail("An approval is attached to the refused session, which is no longer connected."),
				 errhint("To allow the retry in another session of agent \"%s\" (a pooled connection), run: SELECT deletion_firewall.approve('%s', any_session => true); or issue a token with deletion_firewall.confirm().",
						 b.agent, reqid)));
	if (PG_ARGISNULL(1))
		null_argument("valid_for", NULL);
	usecs = lifetime_usecs(PG_GETARG_INTERVAL_P(1));

	memset(&spec, 0, sizeof(spec));
	spec.actions = dfw_action_from_name(b.action);
	strlcpy(spec.target, b.target, sizeof(spec.target));
	strlcpy(spec.dbname, b.dbname, sizeof(spec.dbname));
	spec.agent = b.agent_oid;
	spec.max_rows = -1;			/* the human saw the statement: run it to the end */
	spec.uses_left = 1;
	spec.any_session = any_session;
	spec.claimed_by = any_session ? b.login_oid : InvalidOid;
	strlcpy(spec.issued_by, GetUserNameFromId(GetSessionUserId(), false),
			sizeof(spec.issued_by));
	strlcpy(spec.request_id, reqid, sizeof(spec.request_id));
	spec.issued_at = GetCurrentTimestamp();
	spec.expires_at = spec.issued_at + usecs;
	spec.issued_xmin = issue_xmin();

	dfw_approval_issue(&spec, b.backend_pid, b.backend_start, &b.key, &b.objs,
					   b.statement, token_id);
	dfw_audit("approved", b.action, b.target, -1, reqid, token_id,
			  spec.issued_by, any_session ? "any_session" : NULL);
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
