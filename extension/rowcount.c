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
 * A wrapper finds its counter in a short list; each entry is removed by a
 * reset callback on the query's memory context, so it never outlives its
 * plan, on success or on error.
 *
 * Row counts reset when a new client statement starts (a new statement
 * timestamp); several statements sent in one simple-protocol message count
 * together, which can only refuse more, never less.
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
#include "catalog/pg_inherits.h"
#include "nodes/parsenodes.h"
#include "utils/snapmgr.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
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
	bool		noted[2];		/* relids added to the statement's set */
	MemoryContextCallback cb;
} Counter;

/* active counters (entries live in the query's memory context) */
static List *counters = NIL;

/* per statement */
static TimestampTz rows_stmt_ts = 0;
static int64 stmt_rows[2];
static List *stmt_relids[2];
static uint64 stmt_relids_version[2];
static uint64 decided_version[2];
static MemoryContext stmt_cxt = NULL;

#define IDX(action)	((action) == DFW_ACT_DELETE ? 0 : 1)

void
dfw_rowcount_reset(void)
{
	TimestampTz ts = GetCurrentStatementStartTimestamp();

	/* confirmations were reset: every later row decision asks again */
	decided_version[0] = decided_version[1] = 0;
	if (ts == rows_stmt_ts)
		return;
	rows_stmt_ts = ts;
	stmt_rows[0] = stmt_rows[1] = 0;
	stmt_relids[0] = stmt_relids[1] = NIL;
	stmt_relids_version[0] = stmt_relids_version[1] = 1;
	if (stmt_cxt)
		MemoryContextReset(stmt_cxt);
}

/* Rows of this action the current statement deleted or updated so far. */
int64
dfw_rowcount_rows(int action)
{
	return stmt_rows[IDX(action)];
}

/* Has the current statement deleted or updated guarded rows? */
bool
dfw_rowcount_active(void)
{
	return stmt_rows[0] > 0 || stmt_rows[1] > 0;
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

static void
account(Counter *c, int action, int64 n)
{
	int			i = IDX(action);

	if (n <= 0)
		return;
	stmt_rows[i] += n;

	if (!c->noted[i])
	{
		MemoryContext old = MemoryContextSwitchTo(stmt_cxt);
		ListCell   *lc;

		foreach(lc, c->relids)
			if (!list_member_oid(stmt_relids[i], lfirst_oid(lc)))
			{
				stmt_relids[i] = lappend_oid(stmt_relids[i], lfirst_oid(lc));
				stmt_relids_version[i]++;
			}
		MemoryContextSwitchTo(old);
		c->noted[i] = true;
	}

	if (dfw_max_rows < 0 || stmt_rows[i] <= dfw_max_rows)
		return;
	if (decided_version[i] == stmt_relids_version[i] &&
		dfw_rows_confirmed(action, stmt_rows[i]))
		return;
	dfw_decide(action, targets_of(stmt_relids[i]), stmt_rows[i]);
	decided_version[i] = stmt_relids_version[i];
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

/*
 * Rows updated so far in the upsert's target, read from the backend-local
 * table statistics (pgstat_count_heap_update counts every update, at every
 * (sub)transaction level; the sum over the levels never goes down within a
 * statement).  -1 when that cannot tell (track_counts off, a partitioned
 * target): the caller then counts every row as an update, failing closed.
 */
static int64
upsert_updates(Counter *c)
{
	int64		n = 0;

	for (int i = 0; i < c->mt->mt_nrels; i++)
	{
		Relation	rel = c->mt->resultRelInfo[i].ri_RelationDesc;
		PgStat_TableStatus *ps;

		/* a partitioned target updates its partitions: count every row */
		if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ||
			!rel->pgstat_enabled)
			return -1;
		/* stats are attached to a relation at its first counted event */
		if (rel->pgstat_info == NULL)
			pgstat_assoc_relation(rel);
		ps = rel->pgstat_info;
		if (ps == NULL)
			return -1;
		n += DFW_TABSTAT_UPDATED(ps);
		for (PgStat_TableXactStatus *t = ps->trans; t != NULL; t = t->upper)
			n += t->tuples_updated;
	}
	return n;
}

static TupleTableSlot *
counting_ExecProcNode(PlanState *child)
{
	Counter    *c = find_counter(child);
	TupleTableSlot *slot;

	if (c->is_upsert)
	{
		int64		now = upsert_updates(c);

		if (now < 0)
		{
			/* no statistics to tell: every row may be an update */
			slot = c->orig(child);
			if (!TupIsNull(slot))
				account(c, DFW_ACT_UPDATE, 1);
			return slot;
		}
		/* rows upserted so far were processed before this pull */
		account(c, DFW_ACT_UPDATE, now - c->upsert_updated);
		c->upsert_updated = now;
		return c->orig(child);
	}

	if (c->is_merge)
	{
		/* rows merged so far were processed before this pull */
		account(c, DFW_ACT_DELETE,
				(int64) (c->mt->mt_merge_deleted - c->merge_deleted));
		c->merge_deleted = c->mt->mt_merge_deleted;
		if (dfw_guard_update)
		{
			account(c, DFW_ACT_UPDATE,
					(int64) (c->mt->mt_merge_updated - c->merge_updated));
			c->merge_updated = c->mt->mt_merge_updated;
		}
		return c->orig(child);
	}

	slot = c->orig(child);
	if (!TupIsNull(slot))
		account(c, c->action, 1);
	return slot;
}

static void
counter_forget(void *arg)
{
	counters = list_delete_ptr(counters, arg);
}

static void
instrument_node(ModifyTableState *mt, EState *estate)
{
	PlanState  *child = outerPlanState(mt);
	CmdType		op = mt->operation;
	List	   *relids = NIL;
	Counter    *c;
	MemoryContext old;

	/* reached twice (a subplan is also in es_subplanstates): count once */
	bool		upsert = (op == CMD_INSERT &&
						  ((ModifyTable *) mt->ps.plan)->onConflictAction == ONCONFLICT_UPDATE);

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
	if (relids == NIL)
		return;

	old = MemoryContextSwitchTo(estate->es_query_cxt);
	c = palloc0(sizeof(Counter));
	c->child = child;
	c->orig = child->ExecProcNodeReal;
	c->mt = mt;
	c->is_merge = (op == CMD_MERGE);
	c->is_upsert = upsert;
	if (upsert)
		c->upsert_updated = upsert_updates(c);
	c->action = (op == CMD_DELETE) ? DFW_ACT_DELETE : DFW_ACT_UPDATE;
	c->relids = list_copy(relids);
	c->cb.func = counter_forget;
	c->cb.arg = c;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &c->cb);
	MemoryContextSwitchTo(old);

	old = MemoryContextSwitchTo(TopMemoryContext);
	counters = lappend(counters, c);
	MemoryContextSwitchTo(old);

	child->ExecProcNodeReal = counting_ExecProcNode;
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

	if (dfw_max_rows < 0 || (eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return;

	if (stmt_cxt == NULL)
		stmt_cxt = AllocSetContextCreate(TopMemoryContext,
										 "deletion_firewall statement",
										 ALLOCSET_SMALL_SIZES);

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
 * ALTER TABLE ... ALTER COLUMN ... TYPE rewrites every row, and with USING
 * (or a narrowing type) can destroy what a mass UPDATE would.  For agents it
 * counts as an update of every row of the table and its children: counted
 * by a plain scan (no row security) that stops at max_rows + 1, and decided
 * like any other update.
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

	if (!IsA(parsetree, AlterTableStmt) || !dfw_guard_update ||
		dfw_max_rows < 0)
		return;
	stmt = (AlterTableStmt *) parsetree;
	foreach(lc, stmt->cmds)
		if (((AlterTableCmd *) lfirst(lc))->subtype == AT_AlterColumnType)
			retypes = true;
	if (!retypes)
		return;
	relid = RangeVarGetRelid(stmt->relation, AccessShareLock, true);
	if (!OidIsValid(relid))
		return;					/* ALTER TABLE reports it */
	if (stmt->objtype == OBJECT_TYPE)
		relids = typed_tables(get_rel_type_id(relid));	/* ... CASCADE */
	else if (stmt->relation->inh)
		relids = find_all_inheritors(relid, AccessShareLock, NULL);
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
		rel = table_open(addr.objectId, AccessShareLock);
		if (rel->rd_rel->relkind != RELKIND_RELATION &&
			rel->rd_rel->relkind != RELKIND_MATVIEW)
		{
			table_close(rel, AccessShareLock);
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
		table_close(rel, AccessShareLock);
		if (rows > dfw_max_rows)
			break;
	}
	if (rows > dfw_max_rows)
		dfw_decide(DFW_ACT_UPDATE, targets_of(counted), rows);
}
