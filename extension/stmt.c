/*-------------------------------------------------------------------------
 *
 * stmt.c
 *		Per-statement state: what one client statement has been confirmed
 *		for and what it has deleted and updated so far.
 *
 * Over the extended protocol several portals can be open at once and run
 * interleaved: Bind A (a SELECT portal's executor starts here), Bind and
 * Execute B, Execute A.  "The statement now running" is therefore a portal,
 * not a global (STYLE habit 17): a confirmation obtained by B, or the rows B
 * counted, must be invisible to A, and the rows A deletes over several
 * Execute messages (a fetch in slices) add up whatever ran in between.
 *
 * So the state of a statement (a DfwStmtState) belongs to the portal that
 * runs it.  It is allocated, on first need, in the portal's own memory
 * context, and a reset callback on that context forgets it when the portal
 * is dropped; a short list (a backend holds a handful of portals) finds it
 * by Portal pointer.  Queries that run outside any portal (deferred
 * triggers fired at COMMIT, functions run while planning) share one more
 * state, whose row counts last for one client message (its statement start
 * timestamp) as before.
 *
 * Which portal "runs" a piece of work is decided at the outermost frame:
 * hooks.c brackets ProcessUtility and, for guarded sessions, ExecutorRun
 * and ExecutorFinish with dfw_stmt_enter()/dfw_stmt_leave().  The outermost
 * frame records ActivePortal (for FETCH and MOVE, the cursor's portal);
 * everything nested in it (functions through SPI, the cursors they open
 * and fetch, triggers, utility commands) belongs to that statement, even
 * when PostgreSQL makes another portal active for a nested cursor.
 * Outside any frame the statement is ActivePortal's (a Bind's
 * ExecutorStart).
 *
 * A portal that holds several planned statements (the products of a rule)
 * counts rows together, and each planned statement spends a confirmation
 * of its own: dfw_stmt_begin(), called by decision.c at each statement
 * start, forgets confirmations but not row counts.
 *
 * Humans do not pay: nothing here allocates unless a decision or a row
 * count of a guarded session asks for its statement; dfw_stmt_begin() on a
 * session that never did is a test of an empty list.
 *
 * Copyright (c) 2026, deletion_firewall developers
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/xlog.h"

#include "access/xact.h"
#include "tcop/pquery.h"
#include "utils/memutils.h"
#include "utils/portal.h"

/* states of live portals (the list cells live in TopMemoryContext) */
static List *states = NIL;

/* the state of work outside any portal, and where its lists live */
static DfwStmtState noportal;
static bool noportal_used = false;

/* ids of states: a new id for each portal's state and no-portal message */
static uint64 next_id = 0;

/* one-entry cache of the last lookup: a row count asks for every row */
static Portal last_portal = NULL;
static DfwStmtState *last_state = NULL;

/* frames (ProcessUtility, guarded ExecutorRun/Finish) and the outermost's portal */
static int	frame_depth = 0;
static Portal frame_portal = NULL;

static void
state_forget(void *arg)
{
	DfwStmtState *s = (DfwStmtState *) arg;

	/* the statement is over: its confirmed rows are final */
	dfw_confirmations_flush(s);
	states = list_delete_ptr(states, s);
	if (last_state == s)
	{
		last_state = NULL;
		last_portal = NULL;
	}
}

/* The portal whose statement is running now (NULL: none). */
static Portal
current_portal(void)
{
	return frame_depth > 0 ? frame_portal : ActivePortal;
}

static DfwStmtState *
find_state(Portal portal)
{
	ListCell   *lc;

	if (portal == NULL)
		return noportal_used ? &noportal : NULL;
	if (portal == last_portal && last_state != NULL)
		return last_state;
	foreach(lc, states)
	{
		DfwStmtState *s = lfirst(lc);

		if (s->portal == portal)
		{
			last_portal = portal;
			last_state = s;
			return s;
		}
	}
	return NULL;
}

/* Reset the counts of the no-portal state for a new client message. */
static void
noportal_new_message(void)
{
	TimestampTz ts = GetCurrentStatementStartTimestamp();

	if (noportal.stmt_ts == ts)
		return;
	dfw_confirmations_flush(&noportal);
	noportal.stmt_ts = ts;
	noportal.lsn = GetXLogInsertRecPtr();
	noportal.id = ++next_id;
	noportal.rows[0] = noportal.rows[1] = 0;
	noportal.relids[0] = noportal.relids[1] = NIL;
	noportal.relids_version[0] = noportal.relids_version[1] = 1;
	noportal.decided_version[0] = noportal.decided_version[1] = 0;
	MemoryContextReset(noportal.cxt);
}

/*
 * The state of the statement running now, created on first need.
 */
DfwStmtState *
dfw_stmt_current(void)
{
	Portal		portal = current_portal();
	DfwStmtState *s = find_state(portal);
	MemoryContext old;

	if (portal == NULL)
	{
		if (!noportal_used)
		{
			memset(&noportal, 0, sizeof(noportal));
			noportal.cxt = AllocSetContextCreate(TopMemoryContext,
												 "deletion_firewall statement",
												 ALLOCSET_SMALL_SIZES);
			noportal.stmt_ts = -1;
			noportal_used = true;
		}
		noportal_new_message();
		return &noportal;
	}
	if (s != NULL)
		return s;

	/*
	 * Not zeroed whole: the confirmations are large (a token's scope, an
	 * approval's object set) and read only once marked valid, and zeroing
	 * them for every statement of an agent's would cost more than the rest
	 * of the firewall does per statement.
	 */
	s = MemoryContextAlloc(portal->portalContext, sizeof(DfwStmtState));
	memset(s, 0, offsetof(DfwStmtState, confirmed));
	for (int i = 0; i < lengthof(s->confirmed); i++)
	{
		s->confirmed[i].valid = false;
		s->confirmed[i].warned = false;
		s->confirmed[i].audit_pending = false;
		s->confirmed[i].targets_text = NULL;
	}
	memset(&s->rows, 0, sizeof(DfwStmtState) - offsetof(DfwStmtState, rows));
	s->portal = portal;
	s->id = ++next_id;
	s->cxt = portal->portalContext;
	s->relids_version[0] = s->relids_version[1] = 1;
	s->lsn = GetXLogInsertRecPtr();
	s->cb.func = state_forget;
	s->cb.arg = s;
	MemoryContextRegisterResetCallback(portal->portalContext, &s->cb);
	old = MemoryContextSwitchTo(TopMemoryContext);
	states = lappend(states, s);
	MemoryContextSwitchTo(old);
	last_portal = portal;
	last_state = s;
	return s;
}

/* The state of work outside any portal, if there was any. */
DfwStmtState *
dfw_stmt_noportal(void)
{
	return noportal_used ? &noportal : NULL;
}

/* The running statement's state if it has one yet, else NULL. */
DfwStmtState *
dfw_stmt_peek(void)
{
	Portal		portal = current_portal();
	DfwStmtState *s = find_state(portal);

	if (s == &noportal)
		noportal_new_message();
	return s;
}

/*
 * A (planned) statement begins in the running portal: what was confirmed
 * is forgotten, so that each spends a confirmation of its own; rows
 * counted by earlier fetches of the same portal stay.
 */
void
dfw_stmt_begin(void)
{
	DfwStmtState *s = dfw_stmt_peek();

	if (s == NULL)
		return;
	for (int i = 0; i < lengthof(s->confirmed); i++)
		s->confirmed[i].valid = false;
	/* confirmations were reset: every later row decision asks again */
	s->decided_version[0] = s->decided_version[1] = 0;
}

/* Outside every frame?  (A query started here is a client's statement.) */
bool
dfw_stmt_outermost(void)
{
	return frame_depth == 0;
}

/*
 * Frames: the outermost records the portal whose statement it runs.  Every
 * enter is matched by a leave, on error too (PG_FINALLY in hooks.c).
 */
void
dfw_stmt_enter(void)
{
	dfw_stmt_enter_portal(ActivePortal);
}

/*
 * A frame that runs another portal's statement: FETCH and MOVE of a cursor
 * run the cursor's query, which is the statement its rows belong to, over
 * all its fetches, as for an Execute of a portal in slices.
 */
void
dfw_stmt_enter_portal(Portal portal)
{
	if (frame_depth++ == 0)
		frame_portal = portal;
}

void
dfw_stmt_leave(void)
{
	Assert(frame_depth > 0);
	if (--frame_depth == 0)
		frame_portal = NULL;
}
