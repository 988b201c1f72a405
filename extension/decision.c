/*-------------------------------------------------------------------------
 *
 * decision.c
 *		The one decision point: may this agent do this to these objects now?
 *
 * Every hook that sees destruction by an agent (drop and truncate in
 * hooks.c, mass delete and update in rowcount.c) calls dfw_decide() with
 * the action, the objects (DfwTarget, with what they belong to) and, for
 * delete/update, the rows counted so far.  dfw_decide() returns if the
 * statement is confirmed, and raises SQLSTATE 42501 otherwise.  Nothing
 * else in the extension refuses destruction.
 *
 * A statement is confirmed for an action by, in this order:
 *	1. a confirmation it already obtained for that action (a token is spent
 *	   once per statement, however many objects or rows the statement then
 *	   touches within the token's scope);
 *	2. an approval attached to this very session for this statement text;
 *	3. the token in deletion_firewall.token, one use of which is spent.
 *
 * A statement, here, is a top-level statement: hooks.c calls
 * dfw_statement_begin() for each client statement (see its header).  What
 * it was confirmed for is kept in that statement's own state (stmt.c),
 * with the portal that runs it: a confirmation never reaches another
 * portal, bound earlier or run in between.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "commands/dbcommands.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "access/xlog.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "utils/memutils.h"

/* WAL insert position when the current guarded statement began */
static XLogRecPtr stmt_lsn = InvalidXLogRecPtr;

static int
action_index(int action)
{
	switch (action)
	{
		case DFW_ACT_DROP:
			return 0;
		case DFW_ACT_TRUNCATE:
			return 1;
		case DFW_ACT_DELETE:
			return 2;
		case DFW_ACT_UPDATE:
			return 3;
	}
	elog(ERROR, "unexpected deletion_firewall action %d", action);
	return 0;					/* keep compiler quiet */
}

const char *
dfw_action_name(int action)
{
	switch (action)
	{
		case DFW_ACT_DROP:
			return "drop";
		case DFW_ACT_TRUNCATE:
			return "truncate";
		case DFW_ACT_DELETE:
			return "delete";
		case DFW_ACT_UPDATE:
			return "update";
		case DFW_ACT_ALL:
			return "all";
	}
	return "?";
}

int
dfw_action_from_name(const char *name)
{
	if (pg_strcasecmp(name, "drop") == 0)
		return DFW_ACT_DROP;
	if (pg_strcasecmp(name, "truncate") == 0)
		return DFW_ACT_TRUNCATE;
	if (pg_strcasecmp(name, "delete") == 0)
		return DFW_ACT_DELETE;
	if (pg_strcasecmp(name, "update") == 0)
		return DFW_ACT_UPDATE;
	if (pg_strcasecmp(name, "all") == 0)
		return DFW_ACT_ALL;
	return 0;
}

const char *
dfw_result_reason(DfwTokenResult r)
{
	switch (r)
	{
		case DFW_TOKEN_OK:
			return "ok";
		case DFW_TOKEN_NONE:
			return "no_token";
		case DFW_TOKEN_UNKNOWN:
			return "unknown_token";
		case DFW_TOKEN_REVOKED:
			return "revoked";
		case DFW_TOKEN_EXPIRED:
			return "expired";
		case DFW_TOKEN_SPENT:
			return "spent";
		case DFW_TOKEN_WRONG_ACTION:
			return "wrong_action";
		case DFW_TOKEN_WRONG_DB:
			return "wrong_database";
		case DFW_TOKEN_WRONG_AGENT:
			return "wrong_agent";
		case DFW_TOKEN_CLAIMED:
			return "claimed_by_another_agent";
		case DFW_TOKEN_WRONG_TARGET:
			return "wrong_target";
		case DFW_TOKEN_TOO_MANY_ROWS:
			return "too_many_rows";
		case DFW_TOKEN_WRONG_STATEMENT:
			return "other_statement";
		case DFW_TOKEN_WRONG_PARAMS:
			return "other_parameters";
	}
	return "?";
}

/*
 * Write the audit lines of a statement's confirmed deletes/updates, with
 * the rows the statement did in the end (not the count at which it was
 * confirmed).  Called when the statement's state goes (its portal is
 * dropped, or the transaction ends); reads no catalog.
 */
void
dfw_confirmations_flush(DfwStmtState *st)
{
	for (int i = 0; i < lengthof(st->confirmed); i++)
	{
		DfwConfirmation *c = &st->confirmed[i];

		if (!c->audit_pending)
			continue;
		c->audit_pending = false;
		dfw_audit_as("confirmed", dfw_action_name(1 << i), c->targets_text,
					 c->agent, c->dbname, st->rows[i == 2 ? 0 : 1],
					 c->v.is_approval ? c->v.request_id : NULL,
					 c->v.token_id, NULL, NULL, c->lsn);
		if (c->targets_text)
			pfree(c->targets_text);
		c->targets_text = NULL;
	}
}

void
dfw_statement_begin(bool may_write)
{
	/*
	 * A tag granted or revoked by another session applies from this
	 * statement on.  A new transaction has just taken in the catalog
	 * invalidations; inside a transaction block, take them in now, for a
	 * statement that may write (a plain SELECT, BEGIN or COMMIT need not
	 * pay for it).
	 */
	if (may_write && IsTransactionBlock() && IsTransactionState())
		AcceptInvalidationMessages();

	/* the running statement's confirmations, if it has any state yet */
	dfw_stmt_begin();

	/* the window's reservations of the last statement go back */
	if (dfw_window_nlocal > 0)
		dfw_window_settle(true);

	/* where a DBA would restore to, should a confirmation be regretted */
	if (may_write && dfw_is_guarded())
		stmt_lsn = GetXLogInsertRecPtr();
}

/* The transaction ends: statements without a portal are final. */
void
dfw_decision_xact_end(void)
{
	DfwStmtState *st = dfw_stmt_noportal();

	if (st != NULL)
		dfw_confirmations_flush(st);
}

/*
 * Confirmed by a token or approval (not merely let through by warn mode)
 * for this many rows?  Such rows do not count toward the window.
 */
bool
dfw_rows_confirmed_by_human(int action, int64 rows)
{
	DfwConfirmation *c = &dfw_stmt_current()->confirmed[action_index(action)];

	return c->valid && !c->warned &&
		(c->v.max_rows < 0 || rows <= c->v.max_rows);
}

/* Already confirmed for this many rows of this action in this statement? */
bool
dfw_rows_confirmed(int action, int64 rows)
{
	DfwConfirmation *c = &dfw_stmt_current()->confirmed[action_index(action)];

	return c->valid && (c->v.max_rows < 0 || rows <= c->v.max_rows);
}

/* ---------------- what the statement is ---------------- */

/*
 * The top-level statement, for an approval: its text and its bound
 * parameter values (extended protocol), hashed in full; the values also as
 * display text (escaped).  Computed only when a decision needs it, so
 * humans never pay for it.
 */
static void
statement_key(DfwStmtKey *key, char **params_text)
{
	ParamListInfo params = ActivePortal ? ActivePortal->portalParams : NULL;
	StringInfoData buf;

	key->stmt_hash = debug_query_string == NULL ? 0 :
		hash_bytes_extended((const unsigned char *) debug_query_string,
							strlen(debug_query_string), 0);
	key->params_hash = 0;
	*params_text = NULL;
	if (params == NULL || params->numParams == 0)
		return;

	initStringInfo(&buf);
	for (int i = 0; i < params->numParams; i++)
	{
		ParamExternData *prm = &params->params[i];
		ParamExternData workspace;

		if (params->paramFetch != NULL)
			prm = params->paramFetch(params, i + 1, false, &workspace);
		appendStringInfo(&buf, "%s$%d = ", i ? ", " : "", i + 1);
		if (prm == NULL || prm->isnull || !OidIsValid(prm->ptype))
			appendStringInfoString(&buf, "NULL");
		else
		{
			Oid			typoutput;
			bool		isvarlena;
			char	   *val;

			getTypeOutputInfo(prm->ptype, &typoutput, &isvarlena);
			val = OidOutputFunctionCall(typoutput, prm->value);
			appendStringInfo(&buf, "%s::%s", quote_literal_cstr(val),
							 format_type_be(prm->ptype));
		}
	}
	key->params_hash = hash_bytes_extended((const unsigned char *) buf.data,
										   buf.len, 1);
	*params_text = dfw_escape(buf.data);
}

/* ---------------- refusal ---------------- */

/*
 * Targets for display: distinct identities, the object the statement named
 * first (removals are reported dependents-first, so we reverse).
 */
static List *
display_order(List *targets)
{
	List	   *result = NIL;
	List	   *seen = NIL;

	for (int i = list_length(targets) - 1; i >= 0; i--)
	{
		DfwTarget  *t = list_nth(targets, i);
		bool		dup = false;
		ListCell   *lc;

		foreach(lc, seen)
			if (strcmp((char *) lfirst(lc), t->identity) == 0)
				dup = true;
		if (dup)
			continue;
		seen = lappend(seen, t->identity);
		result = lappend(result, t);
	}
	return result;
}

/*
 * The targets worth naming in a message: those that do not belong to
 * another target of the same request (DROP TABLE t also removes t's row
 * type, TOAST table and indexes; the message names t).
 */
static List *
principal_targets(List *targets)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, targets)
	{
		DfwTarget  *t = lfirst(lc);
		bool		owned = false;
		ListCell   *lc2;

		foreach(lc2, targets)
		{
			DfwTarget  *o = lfirst(lc2);

			if (o != t && strcmp(o->identity, t->identity) != 0 &&
				dfw_target_covered(t, o->identity))
			{
				owned = true;
				break;
			}
		}
		if (!owned)
			result = lappend(result, t);
	}
	return result ? result : targets;
}

/* "a", "b" and 3 more (identities escaped) */
static char *
names_text(List *targets, int max)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = 0;
	List	   *shown = display_order(principal_targets(targets));

	initStringInfo(&buf);
	foreach(lc, shown)
	{
		if (n == max)
		{
			appendStringInfo(&buf, " and %d more", list_length(shown) - max);
			break;
		}
		appendStringInfo(&buf, "%s%s", n ? ", " : "",
						 dfw_escape(((DfwTarget *) lfirst(lc))->identity));
		n++;
	}
	return buf.data;
}

/* Every identity, comma-separated: the audit line's and blocked's target. */
static char *
identities_text(List *targets)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, display_order(targets))
		appendStringInfo(&buf, "%s%s", buf.len ? "," : "",
						 ((DfwTarget *) lfirst(lc))->identity);
	return buf.data;
}

/*
 * The target for the hint's confirm() call: one of the refused objects'
 * own identities if it covers all of them (DROP TABLE t: "public.t" covers
 * its indexes and types), else NULL -- no wider pattern is ever suggested
 * (two tables of one schema must not become 'schema.*', which would also
 * confirm DROP SCHEMA ... CASCADE).
 */
static char *
hint_target(List *targets)
{
	ListCell   *lc;

	foreach(lc, display_order(targets))
	{
		const char *id = ((DfwTarget *) lfirst(lc))->identity;
		ListCell   *lc2;
		bool		all = true;

		if (strchr(id, '*') != NULL)
			continue;			/* would be read as a pattern */
		foreach(lc2, targets)
			if (!dfw_target_covered((DfwTarget *) lfirst(lc2), id))
			{
				all = false;
				break;
			}
		if (all)
			return pstrdup(id);
	}
	return NULL;
}

static List *
uncovered_by(List *targets, const DfwTokenView *v, const DfwObjSet *objs)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, targets)
		if (!dfw_targets_allowed(v, objs, list_make1(lfirst(lc))))
			result = lappend(result, lfirst(lc));
	return result;
}

typedef struct RefusalInfo
{
	DfwTokenResult r;
	DfwTokenView v;				/* the token or approval it is about */
	DfwObjSet	objs;			/* approvals: their objects */
	char		approved_stmt[DFW_STMT_LEN];	/* other_statement: its text */
} RefusalInfo;

static char *
reason_sentence(const RefusalInfo *ri, int action, List *targets, int64 rows)
{
	const DfwTokenView *v = &ri->v;
	const char *what = v->is_approval ? "approval" : "token";

	switch (ri->r)
	{
		case DFW_TOKEN_NONE:
			return pstrdup("No confirmation token is set in this session.");
		case DFW_TOKEN_UNKNOWN:
			return pstrdup("The session's token is not known to the server: it was never issued, or the server restarted since.");
		case DFW_TOKEN_REVOKED:
			return psprintf("The session's %s %s was revoked.", what, v->token_id);
		case DFW_TOKEN_EXPIRED:
			return psprintf("The session's %s %s has expired.", what, v->token_id);
		case DFW_TOKEN_SPENT:
			return psprintf("The session's %s %s has no uses left.", what, v->token_id);
		case DFW_TOKEN_WRONG_ACTION:
			return psprintf("The session's %s %s does not allow %s.",
							what, v->token_id, dfw_action_name(action));
		case DFW_TOKEN_WRONG_DB:
			return psprintf("The session's %s %s is not valid in database \"%s\".",
							what, v->token_id, get_database_name(MyDatabaseId));
		case DFW_TOKEN_WRONG_AGENT:
			return psprintf("The session's %s %s was issued for another agent.",
							what, v->token_id);
		case DFW_TOKEN_CLAIMED:
			return psprintf("The session's token %s was already used by another agent login role, which claimed it.",
							v->token_id);
		case DFW_TOKEN_WRONG_TARGET:
			if (v->is_approval)
				return psprintf("The approval %s was given for other objects; it does not cover: %s.",
								v->token_id,
								names_text(uncovered_by(targets, v, &ri->objs), 20));
			return psprintf("The session's token %s (target '%s') does not cover: %s.",
							v->token_id, dfw_escape(v->target),
							names_text(uncovered_by(targets, v, &ri->objs), 20));
		case DFW_TOKEN_TOO_MANY_ROWS:
			return psprintf("The statement touches %lld rows or more; the session's token %s allows at most %lld.",
							(long long) rows, v->token_id,
							(long long) v->max_rows);
		case DFW_TOKEN_WRONG_STATEMENT:
			{
				char		shown[200];

				dfw_cut_text(shown, sizeof(shown), dfw_escape(ri->approved_stmt));
				return psprintf("An approval (%s) exists for this session, but for another statement: \"%s\". Only that exact text can be retried.",
								v->token_id, shown);
			}
		case DFW_TOKEN_WRONG_PARAMS:
			return psprintf("An approval (%s) exists for this statement, but with other parameter values.",
							v->token_id);
		case DFW_TOKEN_OK:
			break;
	}
	return pstrdup("");
}

/*
 * Set by a caller for its next dfw_decide() (rowcount.c: the window, a
 * statement with no WHERE clause, a wrapper that reports no count): what
 * the refusal names instead of "delete of more than N rows", and the
 * sentence that replaces the max_rows one.  The caller resets them.
 */
const char *dfw_refusal_what = NULL;
const char *dfw_refusal_note = NULL;

/*
 * Refuse (or, in warn mode, warn about) the action on targets.  In warn mode
 * the statement goes on: the caller marks it confirmed so that it warns
 * once.  Returns only in warn mode.
 */
static void
refuse(int action, List *targets, int64 rows, const RefusalInfo *ri)
{
	char		reqid[DFW_ID_LEN];
	const char *agent = dfw_agent_name();
	/* a token's agent is matched against the login role */
	const char *login = GetUserNameFromId(GetAuthenticatedUserId(), true);
	bool		is_rows = (action == DFW_ACT_DELETE || action == DFW_ACT_UPDATE);
	/* refused for passing max_rows (not a whole-object update) */
	bool		over_limit = is_rows && dfw_max_rows >= 0 && rows > dfw_max_rows;
	bool		warn = (dfw_mode == DFW_MODE_WARN);
	char	   *what;
	char	   *why = reason_sentence(ri, action, targets, rows);
	char	   *rows_note = "";
	char	   *dbname = get_database_name(MyDatabaseId);
	char	   *pattern = hint_target(targets);
	char	   *confirm_hint;
	List	   *shown = targets;
	DfwStmtKey	key;
	char	   *params;

	/* name what was not covered when a token covered part of it */
	if (ri->r == DFW_TOKEN_WRONG_TARGET)
		shown = uncovered_by(targets, &ri->v, &ri->objs);

	if (over_limit)
	{
		what = psprintf("%s of more than %lld rows from %s",
						dfw_action_name(action), (long long) (rows - 1),
						names_text(shown, 3));
		if (ri->r == DFW_TOKEN_NONE)
			rows_note = psprintf(" The statement %ss more than %d rows (deletion_firewall.max_rows).",
								 dfw_action_name(action), dfw_max_rows);
	}
	else
		what = psprintf("%s of %s", dfw_action_name(action),
						names_text(shown, 3));
	if (dfw_refusal_what)
		what = psprintf("%s %s", dfw_action_name(action), dfw_refusal_what);
	if (dfw_refusal_note)
		rows_note = psprintf(" %s", dfw_refusal_note);
	dfw_refusal_what = dfw_refusal_note = NULL;

	if (pattern != NULL)
		confirm_hint = psprintf("Or the approver issues a token with: SELECT deletion_firewall.confirm(action => '%s', target => %s, agent => %s, dbname => %s); and this session runs: SET deletion_firewall.token = '<token>';",
								dfw_action_name(action),
								quote_literal_cstr(pattern),
								quote_literal_cstr(quote_identifier(login)),
								quote_literal_cstr(dbname));
	else
		confirm_hint = pstrdup("No single confirm() target names exactly these objects, so approve the request rather than issue a token.");

	statement_key(&key, &params);
	if (warn)
	{
		/* nothing to approve: an id for the log, no blocked request */
		dfw_warned_request_id(reqid, dfw_action_name(action));
		dfw_audit("warned", dfw_action_name(action), identities_text(targets),
				  is_rows ? rows : -1, reqid, NULL, NULL, dfw_result_reason(ri->r));
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("deletion_firewall refused %s for agent \"%s\": a human must approve request %s",
						what, agent, reqid),
				 errdetail("%s%s Request id: %s. deletion_firewall.mode is 'warn', so the statement goes on.",
						   why, rows_note, reqid),
				 errhint("In enforce mode an approver would run: SELECT deletion_firewall.approve('%s'); %s",
						 reqid, confirm_hint)));
		return;
	}

	dfw_blocked_remember(reqid, dfw_action_name(action),
						 identities_text(targets), targets, rows,
						 dfw_result_reason(ri->r), &key, params);
	dfw_audit("refused", dfw_action_name(action), identities_text(targets),
			  is_rows ? rows : -1, reqid,
			  (ri->r == DFW_TOKEN_NONE || ri->r == DFW_TOKEN_UNKNOWN) ? NULL : ri->v.token_id,
			  NULL, dfw_result_reason(ri->r));

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("deletion_firewall refused %s for agent \"%s\": a human must approve request %s",
					what, agent, reqid),
			 errdetail("%s%s Request id: %s.", why, rows_note, reqid),
			 errhint("Ask a human approver to run: SELECT deletion_firewall.approve('%s'); then retry the same statement. %s",
					 reqid, confirm_hint)));
}

/* ---------------- the decision ---------------- */

static void
note_confirmed(int action, List *targets, int64 rows, const DfwTokenView *v,
			   const DfwObjSet *objs)
{
	DfwStmtState *st = dfw_stmt_current();
	DfwConfirmation *c = &st->confirmed[action_index(action)];
	bool		is_rows = (action == DFW_ACT_DELETE || action == DFW_ACT_UPDATE);
	const char *agent = dfw_agent_name();
	const char *dbname = get_database_name(MyDatabaseId);
	XLogRecPtr	lsn = stmt_lsn;

	/* the earliest of the statement's start and its first guarded write */
	if (st->lsn != InvalidXLogRecPtr && (lsn == InvalidXLogRecPtr || st->lsn < lsn))
		lsn = st->lsn;

	if (c->audit_pending)
		dfw_confirmations_flush(st);
	c->valid = true;
	c->warned = false;
	c->v = *v;
	if (objs)
		c->objs = *objs;
	c->lsn = lsn;
	if (!is_rows)
	{
		dfw_audit_as("confirmed", dfw_action_name(action),
					 identities_text(targets), agent, dbname, -1,
					 v->is_approval ? v->request_id : NULL, v->token_id,
					 NULL, NULL, lsn);
		return;
	}
	/* rows: logged with the statement's final count when it ends */
	c->audit_pending = true;
	c->targets_text = MemoryContextStrdup(TopMemoryContext,
										  identities_text(targets));
	strlcpy(c->agent, agent ? agent : "", sizeof(c->agent));
	strlcpy(c->dbname, dbname ? dbname : "", sizeof(c->dbname));
}

/*
 * May the guarded session do action to targets (with rows counted so far,
 * or -1)?  Returns if yes (or, in warn mode, after a WARNING); raises 42501
 * if not.  Callers have established that the session is guarded and that
 * targets holds no exempt object.
 */
void
dfw_decide(int action, List *targets, int64 rows)
{
	DfwConfirmation *c = &dfw_stmt_current()->confirmed[action_index(action)];
	DfwTokenView v;
	DfwObjSet	objs;
	RefusalInfo ri;
	RefusalInfo ra;
	DfwStmtKey	key;
	char	   *params;

	if (targets == NIL)
		return;
	memset(&v, 0, sizeof(v));
	memset(&ri, 0, sizeof(ri));
	memset(&ra, 0, sizeof(ra));

	/* 1. confirmed earlier in this statement: no further use is spent */
	if (c->valid)
	{
		bool		covered = dfw_targets_allowed(&c->v, &c->objs, targets);

		if (covered && (c->v.max_rows < 0 || rows <= c->v.max_rows))
			return;
		if (covered)
		{
			ri.r = DFW_TOKEN_TOO_MANY_ROWS;
			ri.v = c->v;
			refuse(action, targets, rows, &ri);
			goto warned;
		}
		/* another token set since may cover the rest: fall through */
	}

	/* 2. an approval for this statement, in this session or this agent's */
	statement_key(&key, &params);
	ra.r = dfw_approval_spend(&key, action, targets, &ra.v, &ra.objs,
							  ra.approved_stmt);
	if (ra.r == DFW_TOKEN_OK)
	{
		note_confirmed(action, targets, rows, &ra.v, &ra.objs);
		return;
	}

	/* 3. the session's token */
	ri.r = dfw_token_spend(dfw_token, action, targets, rows, &ri.v);
	if (ri.r == DFW_TOKEN_OK)
	{
		note_confirmed(action, targets, rows, &ri.v, NULL);
		return;
	}
	/* without a token, say why the session's approval did not do */
	if (ri.r == DFW_TOKEN_NONE && ra.r != DFW_TOKEN_NONE)
		ri = ra;
	refuse(action, targets, rows, &ri);

warned:
	/* warn mode: the statement goes on, warned once for this action */
	memset(&v, 0, sizeof(v));
	v.max_rows = -1;
	strlcpy(v.target, "*", sizeof(v.target));
	memset(&objs, 0, sizeof(objs));
	c->valid = true;
	c->warned = true;
	c->v = v;
	c->objs = objs;
}
