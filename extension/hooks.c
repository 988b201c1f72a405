/*-------------------------------------------------------------------------
 *
 * hooks.c
 *		Where the firewall plugs into the server: ProcessUtility, object
 *		access, the executor and transaction callbacks.
 *
 * Each hook is a thin adapter: it finds out what an agent's statement is
 * about to destroy and asks decision.c.  Every hook chains to the previous
 * one (or the standard function) on every path.
 *
 * Drops and truncates are seen in the object access hook (OAT_DROP,
 * OAT_TRUNCATE), which the server calls for every object it removes,
 * whatever the path: DROP of any kind, DROP OWNED, CASCADE, ALTER TABLE
 * DROP COLUMN/CONSTRAINT, TRUNCATE ... CASCADE, partitions, lo_unlink.
 * Objects are named (while they still exist) and queued; the queue is
 * decided on as one request when the utility command that removed them
 * ends, so the DETAIL can list everything that was not covered.  Nothing a
 * queued drop did can commit before that: a refusal aborts the statement,
 * and a pre-commit callback decides on anything still queued.  Removals
 * that take effect outside the transaction (DROP DATABASE, TABLESPACE,
 * SUBSCRIPTION) are decided on at once.  Deletions the server makes
 * internally (PERFORM_DELETION_INTERNAL: rewrites, transient tables) are
 * not removals asked for by anyone and are not guarded -- except the
 * cleanup of a temporary schema (DISCARD TEMP), which may reach a
 * permanent object; at the end of a session that cleanup is never
 * refused, only logged when it reaches a permanent object (tempdeps.c).
 * A refusal caught inside the command (an exception block in a trigger it
 * fires) leaves the command's own entries queued.
 *
 * Statements: dfw_nesting_level counts ProcessUtility frames, kept right
 * on error with PG_CATCH.  A utility command entered at level 0, or a query
 * started outside every frame that is one of the active portal's own
 * statements (not one a function runs through SPI), starts a new top-level
 * statement.  Frames (stmt.c) are ProcessUtility and, in guarded sessions
 * only, ExecutorRun and ExecutorFinish: the outermost one names the portal
 * whose statement everything nested in it belongs to, so that a portal
 * bound earlier and executed later runs as itself, with its own
 * confirmations and row counts (stmt.c).  Humans' queries pay no PG_TRY.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/xact.h"
#include "access/transam.h"
#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_subscription.h"
#include "catalog/pg_tablespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "utils/memutils.h"

int			dfw_nesting_level = 0;

typedef struct Pending
{
	int			action;
	DfwTarget  *target;
	SubTransactionId subid;		/* (sub)transaction that removed it */
} Pending;

static List *pending = NIL;
static MemoryContext pending_cxt = NULL;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static object_access_hook_type prev_object_access = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;

/* ---------------- the queue of removals ---------------- */

static void
pending_clear(void)
{
	pending = NIL;
	if (pending_cxt)
		MemoryContextReset(pending_cxt);
}

/*
 * Decide on what was queued from position "from" on: one request per
 * action.  Allowed entries leave the queue; on a refusal they stay, so that
 * a refusal caught by the agent's own code (a PL/pgSQL exception block in a
 * trigger or event trigger run by the command) cannot make the command's
 * removals go undecided: the subtransaction the refusal rolls back forgets
 * only its own entries (dfw_subxact_callback), and the command that queued
 * the rest decides them again when it ends.
 */
static void
flush_pending_from(int from)
{
	static const int actions[] = {DFW_ACT_DROP, DFW_ACT_TRUNCATE};

	if (list_length(pending) <= from)
		return;
	for (int i = 0; i < lengthof(actions); i++)
	{
		List	   *targets = NIL;

		for (int j = from; j < list_length(pending); j++)
		{
			Pending    *p = list_nth(pending, j);

			if (p->action == actions[i])
				targets = lappend(targets, p->target);
		}
		dfw_decide(actions[i], targets, -1);
	}
	pending = list_truncate(pending, from);
	if (pending == NIL)
		pending_clear();
}

/* Decide on everything queued. */
void
dfw_flush_pending(void)
{
	flush_pending_from(0);
}

static bool
decided_at_once(Oid classId)
{
	return classId == DatabaseRelationId ||
		classId == TableSpaceRelationId ||
		classId == SubscriptionRelationId ||
		classId == AuthIdRelationId;
}

static void
guard_removal(int action, Oid classId, Oid objectId, int subId)
{
	ObjectAddress addr;
	MemoryContext old;
	Pending    *p;

	addr.classId = classId;
	addr.objectId = objectId;
	addr.objectSubId = subId;

	/* the extension's own objects: never, token or not */
	if (action == DFW_ACT_DROP)
		dfw_tamper_check_object(OAT_DROP, &addr);

	if (dfw_object_is_exempt(&addr))
		return;

	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext,
											"deletion_firewall pending",
											ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(pending_cxt);
	p = palloc(sizeof(Pending));
	p->action = action;
	p->target = dfw_make_target(&addr);
	p->subid = GetCurrentSubTransactionId();
	pending = lappend(pending, p);
	MemoryContextSwitchTo(old);

	if (decided_at_once(classId))
		flush_pending_from(list_length(pending) - 1);
}

/* ---------------- statements ---------------- */

/*
 * Is this query a client's statement, not one run by a function, trigger
 * or rule action on behalf of another?  The portal being run holds the
 * client's statements; queries run through SPI or SQL functions are not
 * among them.  Outside any portal (deferred triggers fired at COMMIT) a
 * query counts as a statement of its own.  Callers also ask that no frame
 * (stmt.c) is open: a cursor a function opens is a portal of its own, but
 * runs inside the statement that called the function.
 */
static bool
top_level_query(QueryDesc *queryDesc)
{
	return ActivePortal == NULL ||
		list_member_ptr(ActivePortal->stmts, queryDesc->plannedstmt);
}

static void
maybe_begin_statement(bool may_write)
{
	if (dfw_nesting_level == 0)
	{
		if (pending != NIL)
			dfw_flush_pending();
		dfw_statement_begin(may_write);
	}
}

/* ---------------- ProcessUtility ---------------- */

/*
 * The portal whose statement a utility command runs: for FETCH and MOVE,
 * the cursor's (its rows add up over all its fetches); else the command's.
 */
static Portal
fetched_portal(Node *parsetree)
{
	if (IsA(parsetree, FetchStmt) && dfw_stmt_outermost())
	{
		FetchStmt  *fetch = (FetchStmt *) parsetree;
		Portal		cursor;

		if (fetch->portalname != NULL && fetch->portalname[0] != '\0')
		{
			cursor = GetPortalByName(fetch->portalname);
			if (PortalIsValid(cursor))
				return cursor;
		}
	}
	return ActivePortal;
}

static void
dfw_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	int			saved_len;
	int			saved_kind;

	maybe_begin_statement(!IsA(pstmt->utilityStmt, TransactionStmt));

	/* one identity question per command (humans: one cached test) */
	if (dfw_is_guarded())
	{
		if (dfw_is_agent())
			dfw_tamper_check_utility(pstmt->utilityStmt);
		dfw_rowcount_alter_type(pstmt->utilityStmt);
		dfw_quiet_check_utility(pstmt->utilityStmt);
	}

	saved_len = list_length(pending);
	saved_kind = dfw_objects_statement_enter(pstmt->utilityStmt);
	dfw_nesting_level++;
	dfw_stmt_enter_portal(fetched_portal(pstmt->utilityStmt));
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		/*
		 * The failed command's entries stay queued: its subtransaction or
		 * transaction, rolled back by this error, forgets them.  Dropping
		 * them here would let an error caught inside the same subtransaction
		 * leave its removals undecided.
		 */
		dfw_nesting_level--;
		dfw_objects_statement_exit(saved_kind);
		dfw_stmt_leave();
		PG_RE_THROW();
	}
	PG_END_TRY();
	dfw_nesting_level--;
	dfw_objects_statement_exit(saved_kind);
	dfw_stmt_leave();

	/* decide what this command (and what it ran) removed */
	flush_pending_from(saved_len);

	/* no permanent object may have come to depend on a temporary one */
	dfw_tempdeps_after_utility(pstmt->utilityStmt,
							   context == PROCESS_UTILITY_SUBCOMMAND);
}

/* ---------------- object access ---------------- */

static void
dfw_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				  int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);

	if (!dfw_enabled)
		return;

	switch (access)
	{
		case OAT_DROP:
			{
				ObjectAccessDrop *drop = (ObjectAccessDrop *) arg;

				/*
				 * The end of a session (the temporary schema's removal from
				 * a before_shmem_exit callback) is never refused: refusing
				 * it would only end the backend with FATAL and leave an
				 * orphaned schema that others drop unchecked.  Other
				 * internal deletions (table rewrites, transient tables) are
				 * not removals anyone asked for -- except the cleanup of a
				 * temporary schema (DISCARD TEMP), which may cascade to a
				 * permanent object: that one is guarded like any other.
				 */
				if (drop && (drop->dropflags & PERFORM_DELETION_INTERNAL) &&
					proc_exit_inprogress)
					dfw_tempdeps_session_end_drop(classId, objectId, subId);
				else if (!(drop && (drop->dropflags & PERFORM_DELETION_INTERNAL) &&
						   !(drop->dropflags & PERFORM_DELETION_SKIP_ORIGINAL)) &&
						 dfw_is_guarded())
					guard_removal(DFW_ACT_DROP, classId, objectId, subId);

				/* gone: whatever later gets its OID is not the session's */
				{
					ObjectAddress addr;

					ObjectAddressSubSet(addr, classId, objectId, subId);
					dfw_forget_created(&addr);
				}
				break;
			}
		case OAT_TRUNCATE:
			if (dfw_is_guarded())
				guard_removal(DFW_ACT_TRUNCATE, RelationRelationId, objectId, 0);
			break;
		case OAT_FUNCTION_EXECUTE:
			/* a constant test first: this runs for every function call */
			if (DFW_QUIET_FUNCTION(objectId) && dfw_is_guarded())
				dfw_quiet_check_function(objectId);
			if (DFW_FUNCTION_GUARDED(objectId) && dfw_is_agent())
				dfw_tamper_check_function(objectId);
			/* functions outside the core: a cached look at their symbol */
			else if (objectId >= FirstNormalObjectId && dfw_is_agent())
				dfw_tamper_check_extension_function(objectId);
			break;
		case OAT_POST_CREATE:
		case OAT_POST_ALTER:
			if (access == OAT_POST_CREATE)
				dfw_quiet_post_create(classId, objectId);	/* large objects */
			/*
			 * A guarded session's new objects are its own (exempt); the
			 * tamper checks are for tagged agents only.
			 */
			if (dfw_is_guarded())
			{
				ObjectAddress addr;
				bool		agent = dfw_is_agent();

				addr.classId = classId;
				addr.objectId = objectId;
				addr.objectSubId = subId;
				if (access == OAT_POST_CREATE &&
					!dfw_object_existed_before(&addr))
				{
					ObjectAccessPostCreate *pc = arg;

					if (agent)
					{
						dfw_tamper_check_new_object(&addr);
						if (subId != 0)		/* a column or default of a table */
							dfw_tamper_check_object(access, &addr);
					}
					dfw_remember_created(&addr, pc != NULL && pc->is_internal);
				}
				else if (agent)
					dfw_tamper_check_object(access, &addr);
			}
			break;
		default:
			break;
	}
}

/* ---------------- executor ---------------- */

/*
 * void on 15 to 18: 18's bool-returning ExecutorStart (for plans that went
 * stale while being locked) was reverted before 18.0.
 */
static void
dfw_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		writes = (queryDesc->operation != CMD_SELECT ||
						  queryDesc->plannedstmt->hasModifyingCTE);
	bool		agent_writes;
	bool		guarded_writes;
	struct QueryDesc *saved_starting;

	if (dfw_stmt_outermost() && top_level_query(queryDesc))
		maybe_begin_statement(writes);

	/*
	 * Only an agent's writes concern us.  Writes to system catalogs are
	 * refused here, before the executor's own permission checks, so that
	 * the refusal is the firewall's whatever the agent's privileges.  (COPY
	 * FROM, the one write that checks permissions without ExecutorStart, is
	 * checked in ProcessUtility.)
	 */
	guarded_writes = writes && dfw_is_guarded();
	agent_writes = guarded_writes && dfw_is_agent();
	if (agent_writes)
		dfw_tamper_check_perms(queryDesc->plannedstmt->rtable,
							   DFW_PERMINFOS(queryDesc->plannedstmt));

	/* quiet.c reads function arguments from it (reset on abort) */
	saved_starting = dfw_quiet_starting;
	dfw_quiet_starting = queryDesc;
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	dfw_quiet_starting = saved_starting;
	if (guarded_writes)
		dfw_rowcount_start(queryDesc, eflags);
}

/*
 * A guarded session's query runs as a frame (stmt.c): the outermost names
 * the portal whose statement it is -- at Execute, not at Bind, where a
 * SELECT portal's executor started.
 */
static void
dfw_ExecutorRun(DFW_EXECUTOR_RUN_ARGS)
{
	if (!dfw_is_guarded())
	{
		if (prev_ExecutorRun)
			DFW_EXECUTOR_RUN_CALL(prev_ExecutorRun);
		else
			DFW_EXECUTOR_RUN_CALL(standard_ExecutorRun);
		return;
	}
	dfw_stmt_enter();
	PG_TRY();
	{
		if (prev_ExecutorRun)
			DFW_EXECUTOR_RUN_CALL(prev_ExecutorRun);
		else
			DFW_EXECUTOR_RUN_CALL(standard_ExecutorRun);
	}
	PG_FINALLY();
	{
		dfw_stmt_leave();
	}
	PG_END_TRY();
}

static void
dfw_ExecutorFinish(QueryDesc *queryDesc)
{
	if (!dfw_is_guarded())
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	else
	{
		/* AFTER triggers run here: they belong to the statement too */
		dfw_stmt_enter();
		PG_TRY();
		{
			if (prev_ExecutorFinish)
				prev_ExecutorFinish(queryDesc);
			else
				standard_ExecutorFinish(queryDesc);
			if (dfw_rowcount_direct_pending || dfw_window_unsettled)
				dfw_rowcount_finish(queryDesc); /* window, pushed-down writes */
		}
		PG_FINALLY();
		{
			dfw_stmt_leave();
		}
		PG_END_TRY();
	}

	/*
	 * Removals made by functions (lo_unlink) in a top-level query.  Outside
	 * any portal (a SELECT portal's executor finishes when the portal is
	 * dropped: at the next Bind, or at commit) the decision is a statement
	 * of its own: what another portal's cleanup was confirmed for does not
	 * carry over.
	 */
	if (pending != NIL && dfw_nesting_level == 0 && dfw_stmt_outermost() &&
		top_level_query(queryDesc))
	{
		if (ActivePortal == NULL)
			dfw_stmt_begin();
		dfw_flush_pending();
	}
}

/* ---------------- transactions ---------------- */

/* Is this process a logical-replication apply or table-sync worker? */
static bool
dfw_replication_worker(void)
{
	return MyBackendType == B_BG_WORKER && MyBgworkerEntry != NULL &&
		strcmp(MyBgworkerEntry->bgw_library_name, "postgres") == 0 &&
		(strstr(MyBgworkerEntry->bgw_function_name, "Apply") != NULL ||
		 strstr(MyBgworkerEntry->bgw_function_name, "Tablesync") != NULL);
}

static void
dfw_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/*
			 * Nothing queued may commit undecided; outside every statement,
			 * decided as a statement of its own.
			 */
			if (pending != NIL)
			{
				if (dfw_stmt_outermost() && ActivePortal == NULL)
					dfw_stmt_begin();
				dfw_flush_pending();
			}

			/*
			 * A logical-replication apply worker whose subscription an agent
			 * owns runs as that agent, but replays changes through routines
			 * no hook sees (ExecSimpleRelationDelete, ExecuteTruncateGuts):
			 * fail closed, refuse to commit what it wrote.  The worker
			 * retries until a human changes the subscription's owner.
			 */
			if (dfw_replication_worker() && dfw_is_agent() &&
				TransactionIdIsValid(GetTopTransactionIdIfAny()))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("deletion_firewall refused replaying changes for agent \"%s\": this cannot be approved",
								dfw_agent_name()),
						 errdetail("A logical-replication apply worker runs as its subscription's owner, an agent here, and replays deletes and truncates that the firewall cannot check."),
						 errhint("A human makes a human role own the subscription: ALTER SUBSCRIPTION ... OWNER TO ...;")));

			/*
			 * A COMMIT inside a procedure (CALL) of an agent's, after the
			 * statement deleted or updated guarded rows: committing would
			 * let part of a statement survive its later refusal.
			 */
			if (dfw_nesting_level > 0 && dfw_rowcount_active() &&
				dfw_is_guarded())
				dfw_tamper_refuse("COMMIT inside a statement that deleted or updated rows",
								  "A statement's changes are decided on as a whole; a procedure of an agent's may not commit part of them.");
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			dfw_decision_xact_end();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			pending_clear();
			dfw_decision_xact_end();
			break;
		default:
			break;
	}
}

/*
 * A removal queued in a subtransaction that rolls back (a PL/pgSQL exception
 * block) never happened: forget it.  One that commits belongs to the parent.
 */
static void
dfw_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (pending == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending)
		{
			if (((Pending *) lfirst(lc))->subid == mySubid)
				pending = foreach_delete_current(pending, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending)
		{
			Pending    *p = lfirst(lc);

			if (p->subid == mySubid)
				p->subid = parentSubid;
		}
	}
}

void
dfw_hooks_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = dfw_ProcessUtility;
	prev_object_access = object_access_hook;
	object_access_hook = dfw_object_access;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = dfw_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = dfw_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = dfw_ExecutorFinish;
	RegisterXactCallback(dfw_xact_callback, NULL);
	RegisterSubXactCallback(dfw_subxact_callback, NULL);
	dfw_quiet_init();
	dfw_tempdeps_init();
}
