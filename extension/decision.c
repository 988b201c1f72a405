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
 * dfw_statement_begin() for each client statement (see its header).
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

typedef struct Confirmation
{
	bool		valid;
	DfwTokenView v;
} Confirmation;

static Confirmation confirmed[4];	/* indexed by action bit position */

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
		case DFW_TOKEN_WRONG_TARGET:
			return "wrong_target";
		case DFW_TOKEN_TOO_MANY_ROWS:
			return "too_many_rows";
		case DFW_TOKEN_WRONG_STATEMENT:
			return "other_statement";
	}
	return "?";
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

	/* only the flags: this runs for every statement of every role */
	for (int i = 0; i < lengthof(confirmed); i++)
		confirmed[i].valid = false;
	dfw_rowcount_reset();
}

/*
 * The top-level statement's text, hashed: what an approval is bound to.
 * Computed only when a decision needs it, so humans never pay for it.
 */
static uint64
statement_hash(void)
{
	if (debug_query_string == NULL)
		return 0;
	return hash_bytes_extended((const unsigned char *) debug_query_string,
							   strlen(debug_query_string), 0);
}

/* Already confirmed for this many rows of this action in this statement? */
bool
dfw_rows_confirmed(int action, int64 rows)
{
	Confirmation *c = &confirmed[action_index(action)];

	return c->valid && (c->v.max_rows < 0 || rows <= c->v.max_rows);
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

/* "a", "b" and 3 more */
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
						 ((DfwTarget *) lfirst(lc))->identity);
		n++;
	}
	return buf.data;
}

/* The identities, one a line (what an approval stores and matches). */
static char *
identities_lines(List *targets)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, display_order(targets))
		appendStringInfo(&buf, "%s%s", buf.len ? "\n" : "",
						 ((DfwTarget *) lfirst(lc))->identity);
	return buf.data;
}

static bool
pattern_covers_all(const char *pattern, List *targets)
{
	ListCell   *lc;

	foreach(lc, targets)
		if (!dfw_target_covered((DfwTarget *) lfirst(lc), pattern))
			return false;
	return true;
}

/*
 * The narrowest single pattern for the hint that names every target: one
 * of their own identities if it covers the rest (DROP TABLE t: "public.t"
 * covers its indexes and types), else their common prefix and '*'.
 */
static char *
hint_pattern(List *targets)
{
	List	   *shown = display_order(targets);
	const char *first = ((DfwTarget *) linitial(shown))->identity;
	size_t		common = strlen(first);
	ListCell   *lc;
	const char *dot;

	foreach(lc, shown)
	{
		const char *id = ((DfwTarget *) lfirst(lc))->identity;
		size_t		i = 0;

		if (pattern_covers_all(id, targets))
			return pstrdup(id);
		while (i < common && id[i] == first[i])
			i++;
		common = i;
	}
	/* the first object's schema, if that covers them all */
	dot = strchr(first, '.');
	if (dot != NULL)
	{
		char	   *schema_pattern = psprintf("%.*s.*", (int) (dot - first), first);

		if (pattern_covers_all(schema_pattern, targets))
			return schema_pattern;
	}
	return psprintf("%.*s*", (int) common, first);
}

static List *
uncovered_by(List *targets, const DfwTokenView *v)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, targets)
		if (!dfw_target_covered((DfwTarget *) lfirst(lc), v->target))
			result = lappend(result, lfirst(lc));
	return result;
}

static char *
reason_sentence(DfwTokenResult r, int action, const DfwTokenView *v,
				List *targets, int64 rows)
{
	switch (r)
	{
		case DFW_TOKEN_NONE:
			return pstrdup("No confirmation token is set in this session.");
		case DFW_TOKEN_UNKNOWN:
			return pstrdup("The session's token is not known to the server: it was never issued, it was revoked, or the server restarted since.");
		case DFW_TOKEN_EXPIRED:
			return psprintf("The session's token %s has expired.", v->token_id);
		case DFW_TOKEN_SPENT:
			return psprintf("The session's token %s has no uses left.", v->token_id);
		case DFW_TOKEN_WRONG_ACTION:
			return psprintf("The session's token %s does not allow %s.",
							v->token_id, dfw_action_name(action));
		case DFW_TOKEN_WRONG_DB:
			return psprintf("The session's token %s is not valid in database \"%s\".",
							v->token_id, get_database_name(MyDatabaseId));
		case DFW_TOKEN_WRONG_AGENT:
			return psprintf("The session's token %s was issued for another agent.",
							v->token_id);
		case DFW_TOKEN_WRONG_TARGET:
			return psprintf("The session's token %s (target '%s') does not cover: %s.",
							v->token_id, v->target,
							names_text(uncovered_by(targets, v), 20));
		case DFW_TOKEN_TOO_MANY_ROWS:
			return psprintf("The statement touches %lld rows or more; the session's token %s allows at most %lld.",
							(long long) rows, v->token_id,
							(long long) v->max_rows);
		case DFW_TOKEN_WRONG_STATEMENT:
			return pstrdup("The approval attached to this session is for another statement.");
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

static void
refuse(int action, List *targets, int64 rows, DfwTokenResult r,
	   const DfwTokenView *v)
{
	char		reqid[DFW_ID_LEN];
	const char *agent = dfw_agent_name();
	bool		is_rows = (action == DFW_ACT_DELETE || action == DFW_ACT_UPDATE);
	char	   *what;
	char	   *why = reason_sentence(r, action, v, targets, rows);
	char	   *rows_note = "";
	char	   *dbname = get_database_name(MyDatabaseId);
	List	   *shown = targets;

	/* name what was not covered when a token covered part of it */
	if (r == DFW_TOKEN_WRONG_TARGET)
		shown = uncovered_by(targets, v);

	if (is_rows)
	{
		what = psprintf("%s of more than %lld rows from %s",
						dfw_action_name(action), (long long) (rows - 1),
						names_text(shown, 3));
		if (r == DFW_TOKEN_NONE)
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

	dfw_blocked_remember(reqid, dfw_action_name(action),
						 identities_lines(targets), rows,
						 dfw_result_reason(r), statement_hash());
	dfw_audit("refused", dfw_action_name(action), identities_lines(targets),
			  is_rows ? rows : -1, reqid,
			  (r == DFW_TOKEN_NONE || r == DFW_TOKEN_UNKNOWN) ? NULL : v->token_id,
			  NULL, dfw_result_reason(r));

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("deletion_firewall refused %s for agent \"%s\": a human must approve request %s",
					what, agent, reqid),
			 errdetail("%s%s Request id: %s.", why, rows_note, reqid),
			 errhint("Ask a human approver to run: SELECT deletion_firewall.approve('%s'); then retry the same statement. Or the approver issues a token with: SELECT deletion_firewall.confirm(action => '%s', target => %s, agent => %s, dbname => %s); and this session runs: SET deletion_firewall.token = '<token>';",
					 reqid, dfw_action_name(action),
					 quote_literal_cstr(hint_pattern(targets)),
					 quote_literal_cstr(quote_identifier(agent)),
					 quote_literal_cstr(dbname))));
}

/* ---------------- the decision ---------------- */

static void
note_confirmed(int action, List *targets, int64 rows, const DfwTokenView *v)
{
	Confirmation *c = &confirmed[action_index(action)];

	c->valid = true;
	c->v = *v;
	dfw_audit("confirmed", dfw_action_name(action), identities_lines(targets),
			  rows, v->is_approval ? v->request_id : NULL, v->token_id,
			  NULL, NULL);
}

/*
 * May the agent do action to targets (with rows counted so far, or -1)?
 * Returns if yes; raises 42501 if not.  Callers have established that the
 * session is an agent's and that targets holds no exempt object.
 */
void
dfw_decide(int action, List *targets, int64 rows)
{
	Confirmation *c = &confirmed[action_index(action)];
	DfwTokenView v;
	DfwTokenResult r;
	DfwTokenResult ra;

	if (targets == NIL)
		return;
	memset(&v, 0, sizeof(v));

	/* 1. confirmed earlier in this statement: no further use is spent */
	if (c->valid)
	{
		bool		covered = dfw_targets_allowed(&c->v, targets);

		if (covered && (c->v.max_rows < 0 || rows <= c->v.max_rows))
			return;
		if (covered)
			refuse(action, targets, rows, DFW_TOKEN_TOO_MANY_ROWS, &c->v);
		/* another token set since may cover the rest: fall through */
	}

	/* 2. an approval attached to this session for this statement */
	ra = dfw_approval_spend(statement_hash(), action, targets, &v);
	if (ra == DFW_TOKEN_OK)
	{
		note_confirmed(action, targets, rows, &v);
		return;
	}

	/* 3. the session's token */
	r = dfw_token_spend(dfw_token, action, targets, rows, &v);
	if (r == DFW_TOKEN_OK)
	{
		note_confirmed(action, targets, rows, &v);
		return;
	}
	/* without a token, say why the session's approval did not do */
	if (r == DFW_TOKEN_NONE && ra != DFW_TOKEN_NONE)
		r = ra;
	refuse(action, targets, rows, r, &v);
}
