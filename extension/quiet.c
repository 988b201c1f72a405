/*-------------------------------------------------------------------------
 *
 * quiet.c
 *		What destroys without saying DROP, TRUNCATE or DELETE, and what
 *		replaces a definition in place.
 *
 * For guarded sessions (dfw_is_guarded()), each route below is decided by
 * dfw_decide(); objects that are exempt (temporary, created by the session)
 * are not guarded.
 *
 *	drop		ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY (the server
 *				removes the identity sequence as an internal deletion, which
 *				hooks.c does not guard), ALTER DOMAIN ... DROP DEFAULT,
 *				DROP NOT NULL, DROP CONSTRAINT.
 *	truncate	ALTER TABLE/SEQUENCE ... SET UNLOGGED of a permanent relation
 *				(crash recovery empties it; replicas and backups lose it),
 *				REFRESH MATERIALIZED VIEW ... WITH NO DATA.
 *	update		writing into a large object the session did not create (one
 *				row per large object);  and, whatever max_rows says, ALTER
 *				TYPE ... RENAME VALUE of an enum a non-exempt table uses,
 *				moving a sequence backwards (setval lower, ALTER SEQUENCE
 *				RESTART/INCREMENT/CYCLE/MINVALUE/MAXVALUE, an identity's
 *				RESTART/SET ...), and replacing a function that stored data
 *				depends on (index expression, partition key, generated
 *				column, CHECK or domain constraint).
 *	replaced	CREATE OR REPLACE VIEW/FUNCTION/PROCEDURE/RULE/TRIGGER and
 *				SET DEFAULT over an existing default go through, but the
 *				previous definition is first written to the server log
 *				(event=replaced, old_definition=...).
 *
 * Utility statements are examined before they run (dfw_quiet_check_utility,
 * from hooks.c's ProcessUtility).  Functions (setval, lo_open, lo_put,
 * lowrite, lo_truncate, lo_truncate64) are seen at OAT_FUNCTION_EXECUTE,
 * which gives the function's OID but not its arguments, and built-in
 * functions never pass the fmgr hook (fmgr_info takes a fast path for
 * them).  So the arguments are read from the query whose ExecutorStart is
 * running (hooks.c sets dfw_quiet_starting around it): when it is a plain
 * SELECT of such calls over constants and parameters with fixed values
 * ("SELECT setval('s', 42)", "SELECT lo_open($1, $2)" over the extended
 * protocol, a SQL function's "SELECT setval($1, 1)"), every call of the
 * query is known and is checked with its arguments; initializing such a
 * query runs no other code, so the call being initialized is one of them.
 * Anything else (a subquery or PL/pgSQL variable as argument, a PL/pgSQL
 * expression evaluated without the executor, the fast-path protocol)
 * cannot be told apart and fails closed:
 *	- setval and lo_put are refused unless confirmed (the target named is
 *	  the function, as the sequence or large object is unknown);
 *	- lo_open is allowed (reading large objects over libpq uses it), but the
 *	  transaction is then marked: an unseen open may have been for writing,
 *	  so lowrite/lo_truncate/lo_truncate64 are refused for the rest of it;
 *	- lowrite/lo_truncate/lo_truncate64 are allowed only in an analysable
 *	  statement of a transaction whose every open was checked (a descriptor
 *	  open for writing then passed the check at lo_open).
 * Large objects created by the session (OAT_POST_CREATE of a large object)
 * are its own, forgotten when their (sub)transaction aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "libpq/libpq-fs.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "rewrite/rewriteSupport.h"
#include "storage/bufmgr.h"
#include "executor/execdesc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#define MAX_FUNC_DEPTH	8

/* ---------------- small helpers ---------------- */

static ObjectAddress
make_addr(Oid classId, Oid objectId)
{
	ObjectAddress a;

	a.classId = classId;
	a.objectId = objectId;
	a.objectSubId = 0;
	return a;
}

static bool
rel_exempt(Oid relid)
{
	ObjectAddress a = make_addr(RelationRelationId, relid);

	return dfw_object_is_exempt(&a);
}

static List *
rel_target(Oid relid)
{
	ObjectAddress a = make_addr(RelationRelationId, relid);

	return list_make1(dfw_make_target(&a));
}

/* Targets for a list of relation OIDs that are not exempt. */
static List *
rel_targets(List *relids)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, relids)
	{
		ObjectAddress a = make_addr(RelationRelationId, lfirst_oid(lc));

		if (!dfw_object_is_exempt(&a))
			result = lappend(result, dfw_make_target(&a));
	}
	return result;
}

/* The audit line for a definition replaced in place. */
static void
audit_replaced(const ObjectAddress *addr, const char *old_definition)
{
	char	   *identity = getObjectIdentity(addr, true);

	/* the log line escapes it (dfw_escape): one line, restorable */
	dfw_audit_old_definition = old_definition ? old_definition : "";
	PG_TRY();
	{
		dfw_audit("replaced", NULL, identity ? identity : "?", -1,
				  NULL, NULL, NULL, NULL);
	}
	PG_FINALLY();
	{
		dfw_audit_old_definition = NULL;
	}
	PG_END_TRY();
}

static char *
text_result(Datum d)
{
	return TextDatumGetCString(d);
}

/* ---------------- tables whose rows hold a type ---------------- */

/*
 * The types whose values contain a value of one of these types: the types
 * themselves, their arrays, domains over them, ranges of them and composite
 * types with a column of them, to a fixed point.
 */
static List *
types_containing(List *types)
{
	bool		grew = true;

	while (grew)
	{
		Relation	rel;
		SysScanDesc scan;
		HeapTuple	tup;

		grew = false;
		/* arrays and domains */
		rel = table_open(TypeRelationId, AccessShareLock);
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_type t = (Form_pg_type) GETSTRUCT(tup);

			if (list_member_oid(types, t->oid))
				continue;
			if ((t->typtype == TYPTYPE_DOMAIN && list_member_oid(types, t->typbasetype)) ||
				(OidIsValid(t->typelem) && IsTrueArrayType(t) &&
				 list_member_oid(types, t->typelem)))
			{
				types = lappend_oid(types, t->oid);
				grew = true;
			}
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);

		/* ranges */
		rel = table_open(RangeRelationId, AccessShareLock);
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_range r = (Form_pg_range) GETSTRUCT(tup);

			if (list_member_oid(types, r->rngsubtype) &&
				!list_member_oid(types, r->rngtypid))
			{
				types = lappend_oid(types, r->rngtypid);
				if (OidIsValid(r->rngmultitypid))
					types = lappend_oid(types, r->rngmultitypid);
				grew = true;
			}
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);

		/* composite types (and row types of tables) with such a column */
		rel = table_open(AttributeRelationId, AccessShareLock);
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_attribute a = (Form_pg_attribute) GETSTRUCT(tup);
			Oid			rowtype;

			if (a->attnum <= 0 || a->attisdropped ||
				!list_member_oid(types, a->atttypid))
				continue;
			rowtype = get_rel_type_id(a->attrelid);
			if (OidIsValid(rowtype) && !list_member_oid(types, rowtype))
			{
				types = lappend_oid(types, rowtype);
				grew = true;
			}
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	return types;
}

/* Tables, partitioned tables and materialized views with a column of type. */
static List *
tables_using_type(Oid typid)
{
	List	   *types = types_containing(list_make1_oid(typid));
	List	   *result = NIL;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	rel = table_open(AttributeRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_attribute a = (Form_pg_attribute) GETSTRUCT(tup);
		char		relkind;

		if (a->attnum <= 0 || a->attisdropped ||
			!list_member_oid(types, a->atttypid))
			continue;
		relkind = get_rel_relkind(a->attrelid);
		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
			relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE)
			continue;
		result = list_append_unique_oid(result, a->attrelid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* ---------------- sequences ---------------- */

typedef struct SeqState
{
	int64		last_value;
	bool		is_called;
	int64		increment;
	int64		minv;
	int64		maxv;
	int64		start;
	bool		cycle;
} SeqState;

/* Read a sequence's parameters and current position.  False if not one. */
static bool
seq_state(Oid seqid, SeqState *s)
{
	HeapTuple	tup;
	Form_pg_sequence ps;
	Relation	rel;
	Buffer		buf;
	Page		page;
	ItemId		lp;
	HeapTupleHeader th;
	Form_pg_sequence_data data;

	if (get_rel_relkind(seqid) != RELKIND_SEQUENCE)
		return false;
	tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seqid));
	if (!HeapTupleIsValid(tup))
		return false;
	ps = (Form_pg_sequence) GETSTRUCT(tup);
	s->increment = ps->seqincrement;
	s->minv = ps->seqmin;
	s->maxv = ps->seqmax;
	s->start = ps->seqstart;
	s->cycle = ps->seqcycle;
	ReleaseSysCache(tup);

	rel = relation_open(seqid, AccessShareLock);
	buf = ReadBuffer(rel, 0);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	lp = PageGetItemId(page, FirstOffsetNumber);
	th = (HeapTupleHeader) PageGetItem(page, lp);
	data = (Form_pg_sequence_data) ((char *) th + th->t_hoff);
	s->last_value = data->last_value;
	s->is_called = data->is_called;
	UnlockReleaseBuffer(buf);
	relation_close(rel, AccessShareLock);
	return true;
}

/*
 * Would putting the sequence at (value, is_called) let a later nextval
 * return a value it already handed out?  Positions compare as (value,
 * is_called) pairs in the direction of the increment.
 */
static bool
seq_moves_back(const SeqState *s, int64 increment, int64 value, bool is_called)
{
	if (increment > 0)
		return value < s->last_value ||
			(value == s->last_value && s->is_called && !is_called);
	return value > s->last_value ||
		(value == s->last_value && s->is_called && !is_called);
}

static void
decide_sequence(Oid seqid)
{
	dfw_decide(DFW_ACT_UPDATE, rel_target(seqid), -1);
}

/*
 * ALTER SEQUENCE options, or an identity column's ALTER ... SET/RESTART
 * options, on a sequence the session did not create.
 */
static void
check_sequence_options(Oid seqid, List *options)
{
	SeqState	s;
	int64		increment;
	int64		start;
	bool		cycle;
	bool		bounds = false;
	DefElem    *restart = NULL;
	ListCell   *lc;
	bool		back = false;

	if (!OidIsValid(seqid) || rel_exempt(seqid) || !seq_state(seqid, &s))
		return;
	increment = s.increment;
	start = s.start;
	cycle = s.cycle;
	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "increment") == 0)
			increment = defGetInt64(d);
		else if (strcmp(d->defname, "start") == 0)
			start = defGetInt64(d);
		else if (strcmp(d->defname, "restart") == 0)
			restart = d;
		else if (strcmp(d->defname, "cycle") == 0)
			cycle = defGetBoolean(d);
		else if (strcmp(d->defname, "minvalue") == 0 ||
				 strcmp(d->defname, "maxvalue") == 0 ||
				 strcmp(d->defname, "as") == 0)
			bounds = true;
	}
	/* turned around */
	if ((increment > 0) != (s.increment > 0))
		back = true;
	/* wraps to where it has been: newly cycling, or cycling in new bounds */
	if (cycle && (!s.cycle || bounds))
		back = true;
	if (restart != NULL &&
		seq_moves_back(&s, increment,
					   restart->arg ? defGetInt64(restart) : start, false))
		back = true;
	if (back)
		decide_sequence(seqid);
}

/* The identity sequence of a column, or InvalidOid. */
static Oid
identity_sequence(Oid relid, AttrNumber attnum)
{
#ifdef DFW_GETIDENTITYSEQUENCE_TAKES_RELATION
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			seq = getIdentitySequence(rel, attnum, true);

	relation_close(rel, AccessShareLock);
	return seq;
#else
	return getIdentitySequence(relid, attnum, true);
#endif
}

/* ---------------- utility statements ---------------- */

/* A column's default: its pg_attrdef OID and its text, or InvalidOid. */
static Oid
old_default(Oid relid, AttrNumber attnum, char **expr)
{
	Relation	rel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	rel = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum(attnum));
	scan = systable_beginscan(rel, AttrDefaultIndexId, true, NULL, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		bin = fastgetattr(tup, Anum_pg_attrdef_adbin,
									  RelationGetDescr(rel), &isnull);

		result = ((Form_pg_attrdef) GETSTRUCT(tup))->oid;
		if (!isnull)
			*expr = text_result(DirectFunctionCall2(pg_get_expr, bin,
													ObjectIdGetDatum(relid)));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid;
	ListCell   *lc;

	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;					/* ALTER TABLE reports it */

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);
		AttrNumber	attnum;

		switch (cmd->subtype)
		{
			case AT_DropIdentity:
				attnum = get_attnum(relid, cmd->name);
				if (attnum != InvalidAttrNumber)
				{
					Oid			seqid = identity_sequence(relid, attnum);

					if (OidIsValid(seqid) && !rel_exempt(seqid))
						dfw_decide(DFW_ACT_DROP, rel_target(seqid), -1);
				}
				break;
			case AT_SetIdentity:
				attnum = get_attnum(relid, cmd->name);
				if (attnum != InvalidAttrNumber)
					check_sequence_options(identity_sequence(relid, attnum),
										   (List *) cmd->def);
				break;
			case AT_SetUnLogged:
				if (get_rel_persistence(relid) == RELPERSISTENCE_PERMANENT &&
					!rel_exempt(relid))
					dfw_decide(DFW_ACT_TRUNCATE, rel_target(relid), -1);
				break;
			case AT_ColumnDefault:
				attnum = get_attnum(relid, cmd->name);
				if (cmd->def != NULL && attnum != InvalidAttrNumber)
				{
					char	   *expr = NULL;
					Oid			adoid = old_default(relid, attnum, &expr);

					if (OidIsValid(adoid))
					{
						ObjectAddress a = make_addr(AttrDefaultRelationId, adoid);

						if (!dfw_object_is_exempt(&a))
							audit_replaced(&a, expr);
					}
				}
				break;
			default:
				break;
		}
	}
}

static Oid
domain_oid(List *names)
{
	return LookupTypeNameOid(NULL, makeTypeNameFromNameList(names), true);
}

static void
check_alter_domain(AlterDomainStmt *stmt)
{
	Oid			typid = domain_oid(stmt->typeName);
	ObjectAddress a = make_addr(TypeRelationId, typid);
	HeapTuple	tup;
	Form_pg_type t;
	bool		has_default;
	bool		removes = false;

	if (!OidIsValid(typid) || dfw_object_is_exempt(&a))
		return;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return;
	t = (Form_pg_type) GETSTRUCT(tup);
	has_default = !heap_attisnull(tup, Anum_pg_type_typdefaultbin, NULL);
	switch (stmt->subtype)
	{
		case 'T':				/* SET/DROP DEFAULT */
			if (stmt->def == NULL)
				removes = has_default;
			else if (has_default)
			{
				bool		isnull;
				Datum		bin = SysCacheGetAttr(TYPEOID, tup,
												  Anum_pg_type_typdefaultbin,
												  &isnull);

				audit_replaced(&a, text_result(DirectFunctionCall2(pg_get_expr, bin,
																   ObjectIdGetDatum(InvalidOid))));
			}
			break;
		case 'N':				/* DROP NOT NULL */
			removes = t->typnotnull;
			break;
		case 'X':				/* DROP CONSTRAINT */
			removes = OidIsValid(get_domain_constraint_oid(typid, stmt->name, true));
			break;
		default:
			break;
	}
	ReleaseSysCache(tup);
	if (removes)
		dfw_decide(DFW_ACT_DROP, list_make1(dfw_make_target(&a)), -1);
}

static void
check_alter_enum(AlterEnumStmt *stmt)
{
	Oid			typid;
	List	   *targets;

	if (stmt->oldVal == NULL)
		return;					/* ADD VALUE changes no row */
	typid = domain_oid(stmt->typeName);
	if (!OidIsValid(typid))
		return;
	targets = rel_targets(tables_using_type(typid));
	if (targets != NIL)
		dfw_decide(DFW_ACT_UPDATE, targets, -1);
}

static void
check_refresh(RefreshMatViewStmt *stmt)
{
	Oid			relid;

	if (!stmt->skipData)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid) && !rel_exempt(relid))
		dfw_decide(DFW_ACT_TRUNCATE, rel_target(relid), -1);
}

/* ---------------- definitions replaced in place ---------------- */

/* The OID of the existing function CREATE OR REPLACE would replace. */
static Oid
existing_function(CreateFunctionStmt *stmt)
{
	Oid			argtypes[FUNC_MAX_ARGS];
	int			nargs = 0;
	ListCell   *lc;

	foreach(lc, stmt->parameters)
	{
		FunctionParameter *fp = lfirst(lc);
		Oid			typid;

		if (fp->mode == FUNC_PARAM_TABLE ||
			(fp->mode == FUNC_PARAM_OUT && !stmt->is_procedure))
			continue;
		if (nargs >= FUNC_MAX_ARGS)
			return InvalidOid;
		typid = LookupTypeNameOid(NULL, fp->argType, true);
		if (!OidIsValid(typid))
			return InvalidOid;
		argtypes[nargs++] = typid;
	}
	return LookupFuncName(stmt->funcname, nargs, argtypes, true);
}

/*
 * The functions whose result depends on fn: fn, and functions whose
 * SQL-standard body (BEGIN ATOMIC / RETURN) calls one of them.  Bodies in
 * other languages record no dependencies and cannot be followed.
 */
static List *
functions_depending_on(Oid fn)
{
	List	   *result = list_make1_oid(fn);
	Relation	dep = table_open(DependRelationId, AccessShareLock);

	for (int i = 0; i < list_length(result) && i < 64; i++)
	{
		ScanKeyData key[2];
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(ProcedureRelationId));
		ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(list_nth_oid(result, i)));
		scan = systable_beginscan(dep, DependReferenceIndexId, true, NULL, 2, key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_depend d = (Form_pg_depend) GETSTRUCT(tup);

			if (d->classid == ProcedureRelationId)
				result = list_append_unique_oid(result, d->objid);
		}
		systable_endscan(scan);
	}
	table_close(dep, AccessShareLock);
	return result;
}

/*
 * The tables whose stored data depends on what fn computes: through an
 * index expression or predicate, a partition key, a generated column, a
 * CHECK constraint, or a domain constraint of a column's type.
 */
static List *
tables_depending_on_function(Oid fn)
{
	List	   *fns = functions_depending_on(fn);
	List	   *tables = NIL;
	Relation	dep = table_open(DependRelationId, AccessShareLock);
	ListCell   *lc;

	foreach(lc, fns)
	{
		ScanKeyData key[2];
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(ProcedureRelationId));
		ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(lfirst_oid(lc)));
		scan = systable_beginscan(dep, DependReferenceIndexId, true, NULL, 2, key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_depend d = (Form_pg_depend) GETSTRUCT(tup);

			if (d->classid == RelationRelationId)
			{
				char		relkind = get_rel_relkind(d->objid);

				if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
				{
					Oid			table = IndexGetRelation(d->objid, true);

					if (OidIsValid(table))
						tables = list_append_unique_oid(tables, table);
				}
				else if (relkind == RELKIND_RELATION ||
						 relkind == RELKIND_PARTITIONED_TABLE)
					tables = list_append_unique_oid(tables, d->objid);	/* partition key */
			}
			else if (d->classid == AttrDefaultRelationId)
			{
				ObjectAddress col = GetAttrDefaultColumnAddress(d->objid);

				if (OidIsValid(col.objectId) &&
					get_attgenerated(col.objectId, col.objectSubId) != '\0')
					tables = list_append_unique_oid(tables, col.objectId);
			}
			else if (d->classid == ConstraintRelationId)
			{
				HeapTuple	ctup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(d->objid));

				if (HeapTupleIsValid(ctup))
				{
					Form_pg_constraint c = (Form_pg_constraint) GETSTRUCT(ctup);

					if (OidIsValid(c->conrelid) && c->contype == CONSTRAINT_CHECK)
						tables = list_append_unique_oid(tables, c->conrelid);
					else if (OidIsValid(c->contypid))
						tables = list_concat_unique_oid(tables,
														tables_using_type(c->contypid));
					ReleaseSysCache(ctup);
				}
			}
		}
		systable_endscan(scan);
	}
	table_close(dep, AccessShareLock);
	return tables;
}

static void
check_replace_function(CreateFunctionStmt *stmt)
{
	Oid			fn;
	ObjectAddress a;
	List	   *targets;

	if (!stmt->replace)
		return;
	fn = existing_function(stmt);
	if (!OidIsValid(fn))
		return;
	a = make_addr(ProcedureRelationId, fn);
	if (dfw_object_is_exempt(&a))
		return;
	targets = rel_targets(tables_depending_on_function(fn));
	if (targets != NIL)
		dfw_decide(DFW_ACT_UPDATE, targets, -1);
	audit_replaced(&a, text_result(DirectFunctionCall1(pg_get_functiondef,
													   ObjectIdGetDatum(fn))));
}

/*
 * A definition about to be replaced in place: unless the object is the
 * session's own, write its current definition (deffn(oid)) to the log.
 */
static void
log_if_replaced(Oid classId, Oid objectId, PGFunction deffn)
{
	ObjectAddress a;

	if (!OidIsValid(objectId))
		return;
	a = make_addr(classId, objectId);
	if (dfw_object_is_exempt(&a))
		return;
	audit_replaced(&a, text_result(DirectFunctionCall1(deffn,
													   ObjectIdGetDatum(objectId))));
}

static void
check_replace_view(ViewStmt *stmt)
{
	Oid			relid;

	if (!stmt->replace)
		return;
	relid = RangeVarGetRelid(stmt->view, NoLock, true);
	if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_VIEW)
		log_if_replaced(RelationRelationId, relid, pg_get_viewdef);
}

static void
check_replace_rule(RuleStmt *stmt)
{
	Oid			relid;

	if (!stmt->replace)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid))
		log_if_replaced(RewriteRelationId,
						get_rewrite_oid(relid, stmt->rulename, true),
						pg_get_ruledef);
}

static void
check_replace_trigger(CreateTrigStmt *stmt)
{
	Oid			relid;

	if (!stmt->replace)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid))
		log_if_replaced(TriggerRelationId,
						get_trigger_oid(relid, stmt->trigname, true),
						pg_get_triggerdef);
}

/*
 * A guarded session's utility statement, before it runs.  Called from
 * hooks.c's ProcessUtility for guarded sessions only.
 */
void
dfw_quiet_check_utility(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			check_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_AlterSeqStmt:
			{
				AlterSeqStmt *stmt = (AlterSeqStmt *) parsetree;

				check_sequence_options(RangeVarGetRelid(stmt->sequence, NoLock, true),
									   stmt->options);
				break;
			}
		case T_AlterDomainStmt:
			check_alter_domain((AlterDomainStmt *) parsetree);
			break;
		case T_AlterEnumStmt:
			check_alter_enum((AlterEnumStmt *) parsetree);
			break;
		case T_RefreshMatViewStmt:
			check_refresh((RefreshMatViewStmt *) parsetree);
			break;
		case T_CreateFunctionStmt:
			check_replace_function((CreateFunctionStmt *) parsetree);
			break;
		case T_ViewStmt:
			check_replace_view((ViewStmt *) parsetree);
			break;
		case T_RuleStmt:
			check_replace_rule((RuleStmt *) parsetree);
			break;
		case T_CreateTrigStmt:
			check_replace_trigger((CreateTrigStmt *) parsetree);
			break;
		default:
			break;
	}
}

/* ---------------- large objects the session created ---------------- */

typedef struct OwnLo
{
	Oid			loid;
	SubTransactionId subid;		/* creating subxact; 0 once committed */
} OwnLo;

static List *own_los = NIL;		/* of OwnLo *, in TopMemoryContext */
static bool lo_unseen_open = false; /* an lo_open whose mode we could not see */

static void
quiet_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT && event != XACT_EVENT_PREPARE)
		return;
	/* large object descriptors are closed at transaction end */
	lo_unseen_open = false;
	dfw_quiet_starting = NULL;
	foreach(lc, own_los)
	{
		OwnLo	   *o = lfirst(lc);

		if (o->subid == 0)
			continue;
		if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		{
			own_los = foreach_delete_current(own_los, lc);
			pfree(o);
		}
		else
			o->subid = 0;
	}
}

static void
quiet_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		dfw_quiet_starting = NULL;
	foreach(lc, own_los)
	{
		OwnLo	   *o = lfirst(lc);

		if (o->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			own_los = foreach_delete_current(own_los, lc);
			pfree(o);
		}
		else
			o->subid = parentSubid;
	}
}

void
dfw_quiet_init(void)
{
	RegisterXactCallback(quiet_xact_callback, NULL);
	RegisterSubXactCallback(quiet_subxact_callback, NULL);
}

/*
 * OAT_POST_CREATE from hooks.c: a large object created by a guarded
 * session (lo_create, lo_creat, lo_from_bytea, over SQL or fast-path) is
 * its own.
 */
void
dfw_quiet_post_create(Oid classId, Oid objectId)
{
	MemoryContext old;
	OwnLo	   *o;

	if (classId != LargeObjectRelationId || !dfw_is_guarded())
		return;
	if (list_length(own_los) >= 10000)
		return;					/* past the cap, stop exempting: fail closed */
	old = MemoryContextSwitchTo(TopMemoryContext);
	o = palloc(sizeof(OwnLo));
	o->loid = objectId;
	o->subid = GetCurrentSubTransactionId();
	own_los = lappend(own_los, o);
	MemoryContextSwitchTo(old);
}

static bool
lo_is_own(Oid loid)
{
	ListCell   *lc;

	foreach(lc, own_los)
		if (((OwnLo *) lfirst(lc))->loid == loid)
			return true;
	return false;
}

/* ---------------- functions: reading their arguments ---------------- */

#define MAX_CALL_ARGS 3

typedef struct Call
{
	Oid			fn;
	int			nargs;
	bool		known[MAX_CALL_ARGS];
	Datum		value[MAX_CALL_ARGS];
	bool		isnull[MAX_CALL_ARGS];
} Call;

/* A constant or a bound parameter's value; false if it is neither. */
static bool
arg_value(Node *node, ParamListInfo params, Datum *value, bool *isnull)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL)
		return false;
	if (IsA(node, Const))
	{
		*value = ((Const *) node)->constvalue;
		*isnull = ((Const *) node)->constisnull;
		return true;
	}
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN &&
		params != NULL && params->paramFetch == NULL)
	{
		Param	   *p = (Param *) node;
		ParamExternData *prm;

		if (p->paramid <= 0 || p->paramid > params->numParams)
			return false;
		prm = &params->params[p->paramid - 1];
		if (prm->ptype != p->paramtype)
			return false;
		*value = prm->value;
		*isnull = prm->isnull;
		return true;
	}
	return false;
}

/*
 * Collect the calls of an expression made only of constants, bound
 * parameters and calls of the functions this file guards.  False if the
 * expression holds anything else (it could run other code).
 */
static bool
collect_calls(Node *node, ParamListInfo params, List **calls)
{
	Datum		v;
	bool		n;

	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL)
		return false;
	if (arg_value(node, params, &v, &n))
		return true;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;
		Call	   *c;
		ListCell   *lc;
		int			i = 0;

		if (!DFW_QUIET_FUNCTION(f->funcid) || f->funcretset ||
			list_length(f->args) > MAX_CALL_ARGS)
			return false;
		c = palloc0(sizeof(Call));
		c->fn = f->funcid;
		c->nargs = list_length(f->args);
		foreach(lc, f->args)
		{
			Node	   *arg = lfirst(lc);

			c->known[i] = arg_value(arg, params, &c->value[i], &c->isnull[i]);
			/* a nested call (lowrite(lo_open(...), ...)) is collected too */
			if (!c->known[i] && !collect_calls(arg, params, calls))
				return false;
			i++;
		}
		*calls = lappend(*calls, c);
		return true;
	}
	return false;
}

/*
 * The query whose ExecutorStart is running (set by hooks.c around it), or
 * NULL.  A function's OAT_FUNCTION_EXECUTE fires while its expression is
 * initialized, i.e. during the ExecutorStart of the query that calls it, or
 * outside any (fast-path, PL/pgSQL simple expressions, CALL): then NULL.
 * Reset when a (sub)transaction aborts, as an error may have left it set.
 */
struct QueryDesc *dfw_quiet_starting = NULL;

/*
 * The calls of the query being started, when it is a plain SELECT of
 * guarded-function calls over constants and parameters with fixed values;
 * false if it is anything else, or if no query is being started.
 */
static bool
statement_calls(List **calls)
{
	QueryDesc  *qd = dfw_quiet_starting;
	PlannedStmt *ps;
	Plan	   *plan;
	ListCell   *lc;

	*calls = NIL;
	if (qd == NULL)
		return false;
	ps = qd->plannedstmt;
	if (ps == NULL || ps->commandType != CMD_SELECT ||
		ps->utilityStmt != NULL || ps->subplans != NIL || ps->hasModifyingCTE)
		return false;
	plan = ps->planTree;
	if (plan == NULL || !IsA(plan, Result) || plan->lefttree || plan->righttree ||
		plan->initPlan != NIL || plan->qual != NIL ||
		((Result *) plan)->resconstantqual != NULL)
		return false;
	foreach(lc, plan->targetlist)
		if (!collect_calls((Node *) ((TargetEntry *) lfirst(lc))->expr,
						   qd->params, calls))
			return false;
	return true;
}

static List *
function_target(Oid fn)
{
	ObjectAddress a = make_addr(ProcedureRelationId, fn);

	return list_make1(dfw_make_target(&a));
}

static void
decide_lo(Oid loid)
{
	ObjectAddress a = make_addr(LargeObjectRelationId, loid);

	if (lo_is_own(loid) || dfw_object_is_exempt(&a))
		return;
	dfw_decide(DFW_ACT_UPDATE, list_make1(dfw_make_target(&a)), 1);
}

/* setval(seq, value [, is_called]) with its arguments known. */
static void
check_setval_call(Call *c)
{
	Oid			seqid;
	SeqState	s;
	bool		is_called = true;

	if (!c->known[0] || c->isnull[0])
	{
		/* NULL: setval is strict and does nothing */
		if (c->known[0])
			return;
		dfw_decide(DFW_ACT_UPDATE, function_target(c->fn), -1);
		return;
	}
	seqid = DatumGetObjectId(c->value[0]);
	if (rel_exempt(seqid) || !seq_state(seqid, &s))
		return;					/* setval reports what is not a sequence */
	if (!c->known[1] || (c->nargs > 2 && !c->known[2]))
	{
		decide_sequence(seqid);
		return;
	}
	if (c->isnull[1] || (c->nargs > 2 && c->isnull[2]))
		return;					/* strict: does nothing */
	if (c->nargs > 2)
		is_called = DatumGetBool(c->value[2]);
	if (seq_moves_back(&s, s.increment, DatumGetInt64(c->value[1]), is_called))
		decide_sequence(seqid);
}

static void
check_call(Call *c)
{
	switch (c->fn)
	{
		case F_SETVAL_REGCLASS_INT8:
		case F_SETVAL_REGCLASS_INT8_BOOL:
			check_setval_call(c);
			break;
		case F_LO_OPEN:
			/* a mode we cannot see may be for writing */
			if (c->known[0] && !c->isnull[0] &&
				(!c->known[1] || c->isnull[1] ||
				 (DatumGetInt32(c->value[1]) & INV_WRITE) != 0))
				decide_lo(DatumGetObjectId(c->value[0]));
			else if (!c->known[0])
				dfw_decide(DFW_ACT_UPDATE, function_target(c->fn), 1);
			break;
		case F_LO_PUT:
			if (!c->known[0])
				dfw_decide(DFW_ACT_UPDATE, function_target(c->fn), 1);
			else if (!c->isnull[0])
				decide_lo(DatumGetObjectId(c->value[0]));
			break;
		default:
			/* lowrite, lo_truncate(64): written through a descriptor */
			if (lo_unseen_open)
				dfw_decide(DFW_ACT_UPDATE, function_target(c->fn), 1);
			break;
	}
}

/*
 * OAT_FUNCTION_EXECUTE of a DFW_QUIET_FUNCTION in a guarded session (see
 * the header comment for what is known here and what fails closed).
 */
void
dfw_quiet_check_function(Oid fn)
{
	List	   *calls;
	ListCell   *lc;

	if (statement_calls(&calls))
	{
		/* every call of this statement, with its arguments */
		foreach(lc, calls)
			check_call(lfirst(lc));
		return;
	}

	/* cannot tell which object, or with what: fail closed */
	switch (fn)
	{
		case F_LO_OPEN:
			/* allowed (reads use it), but writes now cannot be told apart */
			lo_unseen_open = true;
			break;
		case F_SETVAL_REGCLASS_INT8:
		case F_SETVAL_REGCLASS_INT8_BOOL:
			dfw_decide(DFW_ACT_UPDATE, function_target(fn), -1);
			break;
		default:
			dfw_decide(DFW_ACT_UPDATE, function_target(fn), 1);
			break;
	}
}
