/*-------------------------------------------------------------------------
 *
 * rowcount.c
 *		Count the rows an agent's statement deletes or updates, and stop it
 *		as soon as the count passes deletion_firewall.max_rows.
 *
 * After ExecutorStart of an agent's query, every ModifyTable node that
 * deletes, updates or merges into a non-exempt table gets a counter placed
 * in front of it: its subplan's ExecProcNodeReal is replaced by a wrapper
 * that counts each row handed to the ModifyTable (for MERGE, the node's own
 * deleted/updated counters are read instead).  The counts add up over the
 * whole top-level statement: foreign-key cascades and SET NULL actions,
 * triggers, rules, functions, DO blocks and data-modifying CTEs all run
 * their own ModifyTable nodes under the same statement.  When a count
 * passes the limit, decision.c is asked with every table the statement
 * has written so far; it refuses before row max_rows + 1 is deleted, so a
 * refusal costs what touching max_rows + 1 rows costs.
 *
 * The same counter feeds the window (window.c): each row counts toward
 * the table it is written to (read from the row's tableoid when the
 * ModifyTable writes several), a partition's toward its top-most
 * partitioned table, and is refused before it is written if it would take
 * that table past window_rows; rows of a statement confirmed for every
 * table it wrote do not count.  With require_where on, a result relation
 * that the plan scans with no condition at all (a sequential scan with no
 * filter, through projections and appends only: no WHERE, or one the
 * planner reduced to true) is decided on at its first row.  Exemption is
 * per table actually written: an upsert through a partitioned table is
 * counted at its non-exempt leaves.  A write a foreign-data wrapper pushes
 * down whole (direct modify) hands the ModifyTable no rows: its count is
 * read from es_processed at ExecutorFinish (postgres_fdw reports it), and
 * where the wrapper reports none it is decided on before it runs.
 *
 * A wrapper finds its counter in a short list; each entry is removed by a
 * reset callback on the query's memory context, so it never outlives its
 * plan, on success or on error.
 *
 * The counts and the set of tables written belong to the statement's own
 * state (stmt.c), kept with the portal that runs it: a portal fetched in
 * slices adds up over its Execute messages, whatever other portals run in
 * between, and each statement of a simple-protocol message, having a portal
 * of its own, counts alone.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "foreign/foreign.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "nodes/parsenodes.h"
#include "utils/snapmgr.h"
#include "catalog/pg_class.h"
#include "commands/tablecmds.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_type.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "pgstat.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

typedef struct Counter
{
	PlanState  *child;			/* subplan whose ExecProcNodeReal we wrapped */
	ExecProcNodeMtd orig;
	ModifyTableState *mt;
	bool		is_merge;
	bool		is_upsert;		/* INSERT ... ON CONFLICT DO UPDATE */
	int			action;			/* DELETE or UPDATE; unused for MERGE */
	double		merge_deleted;	/* MERGE counters already accounted */
	double		merge_updated;
	int64		upsert_updated; /* ON CONFLICT updates already accounted */
	List	   *relids;			/* non-exempt result relations */
	uint64		noted[2];		/* statement (id) whose set has relids */
	MemoryContextCallback cb;

	/* the window and require_where, per result relation */
	int			nrels;
	Oid		   *reloid;			/* the result relation */
	Oid		   *wkey;			/* its window key; InvalidOid: not counted */
	bool	   *whole;			/* scanned with no condition */
	int			last;			/* result relation of the last row */
	Oid			root_key;		/* MERGE, upsert: the target's window key */
	bool		where_ok;		/* a whole-table write was confirmed */

	/* upsert into a partitioned table: the non-exempt leaves */
	int			nleaves;		/* -1: too many to read, count every row */
	Oid		   *leaves;

	/* a write pushed down to a foreign server whole (direct modify) */
	EState	   *estate;
	int			direct;			/* result relation, or -1 */
	uint64		pulled;			/* rows handed to the ModifyTable */
} Counter;

/* active counters (entries live in the query's memory context) */
static List *counters = NIL;

/* a counter waits for its query's ExecutorFinish (a pushed-down write) */
bool		dfw_rowcount_direct_pending = false;

#define IDX(action)	((action) == DFW_ACT_DELETE ? 0 : 1)

/* Has the current statement deleted or updated guarded rows? */
bool
dfw_rowcount_active(void)
{
	DfwStmtState *s = dfw_stmt_peek();

	return s != NULL && (s->rows[0] > 0 || s->rows[1] > 0);
}

static List *
targets_of(List *relids)
{
	List	   *targets = NIL;
	ListCell   *lc;

	foreach(lc, relids)
	{
		ObjectAddress addr;

		addr.classId = RelationRelationId;
		addr.objectId = lfirst_oid(lc);
		addr.objectSubId = 0;
		targets = lappend(targets, dfw_make_target(&addr));
	}
	return targets;
}

/* The identity of a table, for a message. */
static char *
table_identity(Oid relid)
{
	ObjectAddress addr;

	addr.classId = RelationRelationId;
	addr.objectId = relid;
	addr.objectSubId = 0;
	return dfw_make_target(&addr)->identity;
}

/* The statement's tables so far, and "also" if it is not among them. */
static List *
targets_with(int i, Oid also)
{
	List	   *relids = list_copy(dfw_stmt_current()->relids[i]);

	if (OidIsValid(also))
		relids = list_append_unique_oid(relids, also);
	return targets_of(relids);
}

/* Is the statement confirmed for every table it wrote so far? */
static bool
all_confirmed(int action)
{
	int			i = IDX(action);
	DfwStmtState *s = dfw_stmt_current();

	return s->decided_version[i] == s->relids_version[i] &&
		dfw_rows_confirmed_by_human(action, s->rows[i]);
}

/*
 * Decide on rows for a reason other than max_rows: what the refusal names
 * and says instead.  Returns if confirmed.
 */
static void
decide_because(int action, Oid also, int64 rows, char *what, char *note)
{
	int			i = IDX(action);

	dfw_refusal_what = what;
	dfw_refusal_note = note;
	PG_TRY();
	{
		dfw_decide(action, targets_with(i, also), rows);
	}
	PG_FINALLY();
	{
		dfw_refusal_what = dfw_refusal_note = NULL;
	}
	PG_END_TRY();
	/* confirmed for every table the statement wrote so far, and "also" */
	{
		DfwStmtState *s = dfw_stmt_current();

		s->decided_version[i] = s->relids_version[i];
	}
}

/*
 * The window: n rows of action removed from the table with window key
 * wkey, by this agent.  Refused before they are written if they would take
 * the table past window_rows, unless the statement is confirmed.
 */
static void
window_account(int action, int64 n, Oid wkey)
{
	int			i = IDX(action);
	DfwStmtState *s = dfw_stmt_current();
	int64		in_window = 0;
	DfwWindowResult r;
	const char *verb = (action == DFW_ACT_DELETE) ? "deleted" : "updated";

	/* rows of a confirmed statement do not count, nor did its earlier rows */
	if (all_confirmed(action))
	{
		if (!s->window_forgotten[i])
			dfw_window_forget_statement(action);
		s->window_forgotten[i] = true;
		return;
	}
	r = dfw_window_take(wkey, action, n, &in_window);
	if (r == DFW_WINDOW_OK)
		return;
	if (r == DFW_WINDOW_PASSED)
		decide_because(action, wkey, s->rows[i],
					   psprintf("of more than %d rows from %s within %d seconds",
								dfw_window_rows, table_identity(wkey),
								dfw_window_seconds),
					   psprintf("This agent %s %lld rows of %s in the last %d seconds (deletion_firewall.window_rows = %d, across all its statements and sessions); splitting the work into smaller statements or sessions will be refused too: ask a human.",
								verb, (long long) Max(in_window, 0),
								table_identity(wkey), dfw_window_seconds,
								dfw_window_rows));
	else
		decide_because(action, wkey, s->rows[i],
					   psprintf("of rows from %s that cannot be counted",
								table_identity(wkey)),
					   psprintf("The firewall's shared table of window counts is full (deletion_firewall.window_entries = %d), so these rows cannot be counted, and uncounted rows are refused. Ask a human to approve, or a DBA to raise window_entries (takes a restart).",
								dfw_window_slots()));
	/*
	 * Confirmed: the statement's rows leave the window (not when warn mode
	 * merely let it through: window counts still accumulate then).
	 */
	if (dfw_rows_confirmed_by_human(action, s->rows[i]))
	{
		dfw_window_forget_statement(action);
		s->window_forgotten[i] = true;
	}
}

/*
 * n rows of action, handed to the ModifyTable of counter c.  wkey is the
 * window key of the table they are written to (InvalidOid: not counted in
 * the window), whole says that table is written with no WHERE clause.
 */
static void
account(Counter *c, int action, int64 n, Oid wkey, bool whole)
{
	int			i = IDX(action);
	DfwStmtState *s;

	if (n <= 0)
		return;
	s = dfw_stmt_current();

	if (c->noted[i] != s->id)
	{
		MemoryContext old = MemoryContextSwitchTo(s->cxt);
		ListCell   *lc;

		foreach(lc, c->relids)
			if (!list_member_oid(s->relids[i], lfirst_oid(lc)))
			{
				s->relids[i] = lappend_oid(s->relids[i], lfirst_oid(lc));
				s->relids_version[i]++;
			}
		MemoryContextSwitchTo(old);
		c->noted[i] = s->id;
	}

	/* require_where: a whole-table write is decided at its first row */
	if (whole && dfw_require_where && !c->where_ok)
	{
		decide_because(action, wkey, Max(s->rows[i], 1),
					   psprintf("of every row of %s (no WHERE clause)",
								table_identity(wkey)),
					   psprintf("The statement has no WHERE clause (or a constant-true one), so it %ss every row of the table, however few (deletion_firewall.require_where). Name the rows in a WHERE clause, or ask a human.",
								dfw_action_name(action)));
		c->where_ok = true;
	}

	s->rows[i] += n;
	if (dfw_max_rows >= 0 && s->rows[i] > dfw_max_rows &&
		!(s->decided_version[i] == s->relids_version[i] &&
		  dfw_rows_confirmed(action, s->rows[i])))
	{
		dfw_decide(action, targets_of(s->relids[i]), s->rows[i]);
		s->decided_version[i] = s->relids_version[i];
	}

	if (OidIsValid(wkey) && dfw_window_rows >= 0)
		window_account(action, n, wkey);
}

static Counter *
find_counter(PlanState *child)
{
	ListCell   *lc;

	foreach(lc, counters)
	{
		Counter    *c = lfirst(lc);

		if (c->child == child)
			return c;
	}
	elog(ERROR, "deletion_firewall lost track of a counted plan node");
	return NULL;				/* keep compiler quiet */
}

/* Rows updated so far in a table, at every (sub)transaction level. */
static int64
tabstat_updates(PgStat_TableStatus *ps)
{
	int64		n;

	if (ps == NULL)
		return 0;
	n = DFW_TABSTAT_UPDATED(ps);
	for (PgStat_TableXactStatus *t = ps->trans; t != NULL; t = t->upper)
		n += t->tuples_updated;
	return n;
}

/*
 * Rows updated so far in the upsert's target, read from the backend-local
 * table statistics (pgstat_count_heap_update counts every update, at every
 * (sub)transaction level; the sum over the levels never goes down within a
 * statement).  A partitioned target is read at its non-exempt leaves, so
 * that exemption is decided per table actually written (an agent's own
 * partitioned table with a human's table attached under it).  -1 when that
 * cannot tell (track_counts off, too many leaves): the caller then counts
 * every row as an update, failing closed.
 */
static int64
upsert_updates(Counter *c)
{
	int64		n = 0;
	Relation	target = c->mt->resultRelInfo[0].ri_RelationDesc;

	if (target->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		if (c->nleaves < 0 || !pgstat_track_counts)
			return -1;
		for (int i = 0; i < c->nleaves; i++)
			n += tabstat_updates(find_tabstat_entry(c->leaves[i]));
		return n;
	}
	if (!target->pgstat_enabled)
		return -1;
	/* stats are attached to a relation at its first counted event */
	if (target->pgstat_info == NULL)
		pgstat_assoc_relation(target);
	if (target->pgstat_info == NULL)
		return -1;
	return tabstat_updates(target->pgstat_info);
}

/* Which result relation a row handed to the ModifyTable is for (or -1). */
static int
row_relation(Counter *c, TupleTableSlot *slot)
{
	bool		isnull;
	Oid			relid;

	if (c->nrels == 1)
		return 0;
	if (c->mt->mt_resultOidAttno <= 0)
		return -1;
	relid = DatumGetObjectId(ExecGetJunkAttribute(slot,
												  c->mt->mt_resultOidAttno,
												  &isnull));
	if (isnull)
		return -1;
	if (c->reloid[c->last] == relid)
		return c->last;
	for (int i = 0; i < c->nrels; i++)
		if (c->reloid[i] == relid)
			return c->last = i;
	return -1;
}

static TupleTableSlot *
counting_ExecProcNode(PlanState *child)
{
	Counter    *c = find_counter(child);
	TupleTableSlot *slot;
	int			r;

	if (c->is_upsert)
	{
		int64		now = upsert_updates(c);

		if (now < 0)
		{
			/* no statistics to tell: every row may be an update */
			slot = c->orig(child);
			if (!TupIsNull(slot))
				account(c, DFW_ACT_UPDATE, 1, c->root_key, false);
			return slot;
		}
		/* rows upserted so far were processed before this pull */
		account(c, DFW_ACT_UPDATE, now - c->upsert_updated, c->root_key, false);
		c->upsert_updated = now;
		return c->orig(child);
	}

	if (c->is_merge)
	{
		/* rows merged so far were processed before this pull */
		account(c, DFW_ACT_DELETE,
				(int64) (c->mt->mt_merge_deleted - c->merge_deleted),
				c->root_key, false);
		c->merge_deleted = c->mt->mt_merge_deleted;
		if (dfw_guard_update)
		{
			account(c, DFW_ACT_UPDATE,
					(int64) (c->mt->mt_merge_updated - c->merge_updated),
					c->root_key, false);
			c->merge_updated = c->mt->mt_merge_updated;
		}
		return c->orig(child);
	}

	slot = c->orig(child);
	if (TupIsNull(slot))
		return slot;
	c->pulled++;
	r = row_relation(c, slot);
	if (r >= 0)
		account(c, c->action, 1, c->wkey[r], c->whole[r]);
	else
	{
		/* cannot tell which table: the first counted one, failing closed */
		bool		whole = false;
		Oid			wkey = InvalidOid;

		for (int i = 0; i < c->nrels; i++)
		{
			whole |= c->whole[i];
			if (!OidIsValid(wkey))
				wkey = c->wkey[i];
		}
		account(c, c->action, 1, wkey, whole);
	}
	return slot;
}

static void
counter_forget(void *arg)
{
	counters = list_delete_ptr(counters, arg);
}

/*
 * The key a table's rows count under in the window: its top-most
 * partitioned ancestor for a partition, else itself.
 */
static Oid
window_key(Relation rel)
{
	List	   *ancestors;

	if (!rel->rd_rel->relispartition)
		return RelationGetRelid(rel);
	ancestors = get_partition_ancestors(RelationGetRelid(rel));
	return ancestors ? llast_oid(ancestors) : RelationGetRelid(rel);
}

/* Tables whose rows the window counts: not views (their triggers write). */
static bool
counted_relkind(Relation rel)
{
	char		k = rel->rd_rel->relkind;

	return k == RELKIND_RELATION || k == RELKIND_PARTITIONED_TABLE ||
		k == RELKIND_MATVIEW || k == RELKIND_FOREIGN_TABLE;
}

/*
 * require_where: mark the result relations the subplan scans with no
 * condition at all -- a sequential scan with no filter (or a full index
 * scan), reached through projections and appends only.  A one-time gate
 * (Result's constant qual) does not pick rows.  Index quals, TID scans,
 * joins, samples and foreign scans are conditions, or cannot be judged.
 */
static void
mark_whole(Counter *c, Plan *p)
{
	Index		rti = 0;
	ListCell   *lc;

	while (p != NULL && IsA(p, Result) && p->qual == NIL)
		p = outerPlan(p);
	if (p == NULL || p->qual != NIL)
		return;
	switch (nodeTag(p))
	{
		case T_Append:
			foreach(lc, ((Append *) p)->appendplans)
				mark_whole(c, (Plan *) lfirst(lc));
			return;
		case T_SeqScan:
			rti = ((Scan *) p)->scanrelid;
			break;
		case T_IndexScan:
			if (((IndexScan *) p)->indexqual == NIL)
				rti = ((Scan *) p)->scanrelid;
			break;
		case T_IndexOnlyScan:
			if (((IndexOnlyScan *) p)->indexqual == NIL)
				rti = ((Scan *) p)->scanrelid;
			break;
		default:
			return;
	}
	for (int i = 0; i < c->nrels; i++)
		if (c->mt->resultRelInfo[i].ri_RangeTableIndex == rti &&
			OidIsValid(c->wkey[i]))
			c->whole[i] = true;
}

/*
 * An upsert into a partitioned table: its leaves that are not exempt.
 * -1 leaves (count every row) past a number worth reading per row.
 */
static void
upsert_leaves(Counter *c, Relation target)
{
	List	   *all = find_all_inheritors(RelationGetRelid(target), NoLock, NULL);
	ListCell   *lc;

	c->leaves = palloc(sizeof(Oid) * list_length(all));
	c->nleaves = 0;
	foreach(lc, all)
	{
		ObjectAddress addr;

		addr.classId = RelationRelationId;
		addr.objectId = lfirst_oid(lc);
		addr.objectSubId = 0;
		if (get_rel_relkind(addr.objectId) != RELKIND_RELATION ||
			dfw_object_is_exempt(&addr))
			continue;
		c->leaves[c->nleaves++] = addr.objectId;
		c->relids = lappend_oid(c->relids, addr.objectId);
	}
	if (c->nleaves > 64)
		c->nleaves = -1;
}

/*
 * A write pushed down whole to a foreign server (direct modify, no
 * RETURNING) hands the ModifyTable no rows.  postgres_fdw reports the
 * remote count in es_processed, read at ExecutorFinish; a wrapper that
 * reports nothing is decided on now, before anything is written.
 */
static bool
reports_count(ResultRelInfo *rri, ModifyTableState *mt)
{
	ForeignTable *ft;
	ForeignServer *server;

	if (!mt->canSetTag)
		return false;
	ft = GetForeignTable(RelationGetRelid(rri->ri_RelationDesc));
	server = GetForeignServer(ft->serverid);
	return strcmp(GetForeignDataWrapper(server->fdwid)->fdwname,
				  "postgres_fdw") == 0;
}

static void
instrument_node(ModifyTableState *mt, EState *estate)
{
	PlanState  *child = outerPlanState(mt);
	CmdType		op = mt->operation;
	List	   *relids = NIL;
	Counter    *c;
	MemoryContext old;
	Relation	target = mt->resultRelInfo[0].ri_RelationDesc;

	/* reached twice (a subplan is also in es_subplanstates): count once */
	bool		upsert = (op == CMD_INSERT &&
						  ((ModifyTable *) mt->ps.plan)->onConflictAction == ONCONFLICT_UPDATE);
	bool		partitioned_upsert = upsert &&
		target->rd_rel->relkind == RELKIND_PARTITIONED_TABLE;

	if (child == NULL || child->ExecProcNodeReal == counting_ExecProcNode)
		return;
	if (op != CMD_DELETE && op != CMD_UPDATE && op != CMD_MERGE && !upsert)
		return;
	if ((op == CMD_UPDATE || upsert) && !dfw_guard_update)
		return;

	for (int i = 0; i < mt->mt_nrels; i++)
	{
		Relation	rel = mt->resultRelInfo[i].ri_RelationDesc;
		ObjectAddress addr;

		addr.classId = RelationRelationId;
		addr.objectId = RelationGetRelid(rel);
		addr.objectSubId = 0;
		if (!dfw_object_is_exempt(&addr))
			relids = lappend_oid(relids, addr.objectId);
	}
	/* an upsert through a partitioned table is judged at its leaves */
	if (relids == NIL && !partitioned_upsert)
		return;

	old = MemoryContextSwitchTo(estate->es_query_cxt);
	c = palloc0(sizeof(Counter));
	c->child = child;
	c->orig = child->ExecProcNodeReal;
	c->mt = mt;
	c->is_merge = (op == CMD_MERGE);
	c->is_upsert = upsert;
	c->action = (op == CMD_DELETE) ? DFW_ACT_DELETE : DFW_ACT_UPDATE;
	c->relids = partitioned_upsert ? NIL : list_copy(relids);
	c->estate = estate;
	c->direct = -1;
	c->nrels = mt->mt_nrels;
	c->reloid = palloc0(sizeof(Oid) * c->nrels);
	c->wkey = palloc0(sizeof(Oid) * c->nrels);
	c->whole = palloc0(sizeof(bool) * c->nrels);
	c->root_key = window_key(mt->rootResultRelInfo ?
							 mt->rootResultRelInfo->ri_RelationDesc : target);
	if (partitioned_upsert)
		upsert_leaves(c, target);
	for (int i = 0; i < c->nrels; i++)
	{
		ResultRelInfo *rri = &mt->resultRelInfo[i];
		Relation	rel = rri->ri_RelationDesc;

		c->reloid[i] = RelationGetRelid(rel);
		if (list_member_oid(relids, c->reloid[i]) && counted_relkind(rel))
			c->wkey[i] = window_key(rel);
		if (rri->ri_usesFdwDirectModify && rri->ri_projectReturning == NULL &&
			list_member_oid(relids, c->reloid[i]) && c->direct < 0 &&
			!upsert && op != CMD_MERGE)
			c->direct = i;
	}
	if (op == CMD_DELETE || op == CMD_UPDATE)
		mark_whole(c, outerPlan(mt->ps.plan));
	if (upsert)
		c->upsert_updated = upsert_updates(c);
	c->cb.func = counter_forget;
	c->cb.arg = c;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &c->cb);
	MemoryContextSwitchTo(old);

	old = MemoryContextSwitchTo(TopMemoryContext);
	counters = lappend(counters, c);
	MemoryContextSwitchTo(old);

	child->ExecProcNodeReal = counting_ExecProcNode;

	/* a pushed-down write whose wrapper will not say how many rows it took */
	if (c->direct >= 0 &&
		!reports_count(&mt->resultRelInfo[c->direct], mt))
	{
		Oid			relid = c->reloid[c->direct];

		decide_because(c->action, relid,
					   Max(dfw_stmt_current()->rows[IDX(c->action)], 1),
					   psprintf("from %s through a foreign-data wrapper that reports no row count",
								table_identity(relid)),
					   pstrdup("The write is sent whole to the remote server, and the wrapper does not report how many rows it removes, so it cannot be counted; it is refused before it runs."));
		c->direct = -1;
	}
	if (c->direct >= 0)
		dfw_rowcount_direct_pending = true;
}

/*
 * After a query's ExecutorFinish: give the window's unspent reservations
 * back, and count the rows a pushed-down foreign write removed
 * (es_processed, less the rows the ModifyTable saw) like local ones.  A
 * refusal here aborts the transaction, and the remote one with it.
 */
void
dfw_rowcount_finish(QueryDesc *queryDesc)
{
	ListCell   *lc;

	/* at the end of a client's query, not one a function runs */
	if (dfw_window_unsettled &&
		(ActivePortal == NULL ||
		 list_member_ptr(ActivePortal->stmts, queryDesc->plannedstmt)))
		dfw_window_settle(false);
	if (!dfw_rowcount_direct_pending)
		return;
	dfw_rowcount_direct_pending = false;
	foreach(lc, counters)
	{
		Counter    *c = lfirst(lc);
		int			d = c->direct;

		if (d < 0)
			continue;
		if (c->estate != queryDesc->estate)
		{
			dfw_rowcount_direct_pending = true; /* another query's, later */
			continue;
		}
		c->direct = -1;			/* once */
		account(c, c->action,
				(int64) c->estate->es_processed - (int64) c->pulled,
				c->wkey[d], false);
	}
}

static bool
find_modify_nodes(PlanState *ps, void *context)
{
	if (ps == NULL)
		return false;
	if (IsA(ps, ModifyTableState))
		instrument_node((ModifyTableState *) ps, (EState *) context);
	return planstate_tree_walker(ps, find_modify_nodes, context);
}

/*
 * After ExecutorStart of a query that writes, in an agent's session: put
 * counters in front of its row writers.
 */
void
dfw_rowcount_start(QueryDesc *queryDesc, int eflags)
{
	EState	   *estate = queryDesc->estate;
	ListCell   *lc;

	if ((dfw_max_rows < 0 && dfw_window_rows < 0 && !dfw_require_where) ||
		(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return;

	find_modify_nodes(queryDesc->planstate, estate);
	foreach(lc, estate->es_subplanstates)
		find_modify_nodes((PlanState *) lfirst(lc), estate);
}

/*
 * The tables made OF a composite type (CREATE TABLE ... OF, ALTER TABLE ...
 * OF), which ALTER TYPE ... ALTER ATTRIBUTE ... CASCADE rewrites.
 */
static List *
typed_tables(Oid typid)
{
	List	   *result = NIL;
	Relation	classRel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, Anum_pg_class_reloftype, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(typid));
	classRel = table_open(RelationRelationId, AccessShareLock);
	scan = systable_beginscan(classRel, InvalidOid, false, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		result = lappend_oid(result, ((Form_pg_class) GETSTRUCT(tup))->oid);
	systable_endscan(scan);
	table_close(classRel, AccessShareLock);
	return result;
}

/*
 * Does ALTER COLUMN ... TYPE (cmd) rewrite or convert the values of rel's
 * column?  The same test PostgreSQL makes (ATPrepAlterColumnType and
 * ATColumnChangeRequiresRewrite in tablecmds.c): the old value coerced to
 * the new type as an assignment, planned (a length coercion to a larger
 * typmod simplifies away), is still the bare column, perhaps relabeled, or
 * checked against a domain without constraints -- then no value changes,
 * as for varchar(10) to varchar(20), or text to varchar.  A USING clause
 * computes new values: it always counts.  What ALTER TABLE itself refuses
 * (no such column, no coercion) counts nothing: the command fails.
 */
static bool
retype_converts(Relation rel, AlterTableCmd *cmd)
{
	ColumnDef  *def = (ColumnDef *) cmd->def;
	AttrNumber	attnum;
	Form_pg_attribute att;
	Oid			targettype;
	int32		targettypmod;
	Node	   *expr;

	if (def == NULL || !IsA(def, ColumnDef) || def->raw_default != NULL ||
		def->cooked_default != NULL)
		return true;
	attnum = get_attnum(RelationGetRelid(rel), cmd->name);
	if (attnum <= 0)
		return false;
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (att->attisdropped)
		return false;
	typenameTypeIdAndMod(NULL, def->typeName, &targettype, &targettypmod);
	expr = (Node *) makeVar(1, attnum, att->atttypid, att->atttypmod,
							att->attcollation, 0);
	expr = coerce_to_target_type(NULL, expr, exprType(expr),
								 targettype, targettypmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST,
								 -1);
	if (expr == NULL)
		return false;
	assign_expr_collations(NULL, expr);
	expr = (Node *) expression_planner((Expr *) expr);

	for (;;)
	{
		if (IsA(expr, Var) && ((Var *) expr)->varattno == attnum)
			return false;
		else if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, CoerceToDomain))
		{
			CoerceToDomain *d = (CoerceToDomain *) expr;

			if (DomainHasConstraints(d->resulttype))
				return true;
			expr = (Node *) d->arg;
		}
		else if (IsA(expr, FuncExpr) &&
				 (((FuncExpr *) expr)->funcid == F_TIMESTAMPTZ_TIMESTAMP ||
				  ((FuncExpr *) expr)->funcid == F_TIMESTAMP_TIMESTAMPTZ) &&
				 !TimestampTimestampTzRequiresRewrite())
			expr = linitial(((FuncExpr *) expr)->args);
		else
			return true;
	}
}

/* Does any ALTER COLUMN ... TYPE of stmt convert rel's values? */
static bool
retypes_convert(Relation rel, AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		if (cmd->subtype == AT_AlterColumnType && retype_converts(rel, cmd))
			return true;
	}
	return false;
}

/*
 * ALTER TABLE ... ALTER COLUMN ... TYPE rewrites every row, and with USING
 * (or a narrowing type) can destroy what a mass UPDATE would.  For agents,
 * when it converts the values (retype_converts), it counts as an update of
 * every row of the table and its children: counted by a plain scan (no row
 * security) that stops at max_rows + 1, and decided like any other update.
 *
 * The relation is looked up as ALTER TABLE itself does, with its checks and
 * the lock it is about to take (AccessExclusiveLock for a type change):
 * taking a weaker lock first would have two agents altering the same table
 * each wait for the other's.
 */
void
dfw_rowcount_alter_type(Node *parsetree)
{
	AlterTableStmt *stmt;
	ListCell   *lc;
	bool		retypes = false;
	Oid			relid;
	List	   *relids = NIL;
	List	   *counted = NIL;
	int64		rows = 0;
	LOCKMODE	lockmode;

	if (!IsA(parsetree, AlterTableStmt) || !dfw_guard_update ||
		dfw_max_rows < 0)
		return;
	stmt = (AlterTableStmt *) parsetree;
	foreach(lc, stmt->cmds)
		if (((AlterTableCmd *) lfirst(lc))->subtype == AT_AlterColumnType)
			retypes = true;
	if (!retypes)
		return;
	lockmode = AlterTableGetLockLevel(stmt->cmds);
	relid = AlterTableLookupRelation(stmt, lockmode);
	if (!OidIsValid(relid))
		return;					/* ALTER TABLE reports it */
	if (stmt->objtype == OBJECT_TYPE)
		relids = typed_tables(get_rel_type_id(relid));	/* ... CASCADE */
	else if (stmt->relation->inh)
		relids = find_all_inheritors(relid, lockmode, NULL);
	else
		relids = list_make1_oid(relid);

	foreach(lc, relids)
	{
		ObjectAddress addr;
		Relation	rel;
		TableScanDesc scan;
		TupleTableSlot *slot;

		addr.classId = RelationRelationId;
		addr.objectId = lfirst_oid(lc);
		addr.objectSubId = 0;
		if (dfw_object_is_exempt(&addr))
			continue;
		rel = table_open(addr.objectId, lockmode);
		if ((rel->rd_rel->relkind != RELKIND_RELATION &&
			 rel->rd_rel->relkind != RELKIND_MATVIEW) ||
			!retypes_convert(rel, stmt))
		{
			table_close(rel, NoLock);
			continue;
		}
		counted = lappend_oid(counted, addr.objectId);
		slot = table_slot_create(rel, NULL);
		scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		while (rows <= dfw_max_rows &&
			   table_scan_getnextslot(scan, ForwardScanDirection, slot))
			rows++;
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, NoLock);
		if (rows > dfw_max_rows)
			break;
	}
	if (rows > dfw_max_rows)
		dfw_decide(DFW_ACT_UPDATE, targets_of(counted), rows);
}
