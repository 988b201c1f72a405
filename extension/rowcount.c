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
#include "catalog/pg_inherits.h"
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
} Counter;

/* active counters (entries live in the query's memory context) */
static List *counters = NIL;

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

static void
account(Counter *c, int action, int64 n)
{
	int			i = IDX(action);
	DfwStmtState *s;

	if (n <= 0)
		return;
	s = dfw_stmt_current();
	s->rows[i] += n;

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

	if (dfw_max_rows < 0 || s->rows[i] <= dfw_max_rows)
		return;
	if (s->decided_version[i] == s->relids_version[i] &&
		dfw_rows_confirmed(action, s->rows[i]))
		return;
	dfw_decide(action, targets_of(s->relids[i]), s->rows[i]);
	s->decided_version[i] = s->relids_version[i];
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
