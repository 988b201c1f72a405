/*-------------------------------------------------------------------------
 *
 * tempdeps.c
 *		No permanent object may come to depend on a temporary one.
 *
 * Temporary objects are removed by internal deletions nobody decides on:
 * at COMMIT (ON COMMIT DROP), by DISCARD, at the end of the session, later
 * by autovacuum (an orphaned temporary schema) or by the next session that
 * gets the same backend id.  Whatever depends on a temporary object goes
 * with it.  So the dependency itself is refused, at the source: a guarded
 * session's statement that leaves a pg_depend row from an object that is
 * not temporary to one that is gets the tamper refusal (42501, no token or
 * approval allows it).
 *
 * How: rather than knowing every path that records a dependency (column
 * types through domains, arrays, ranges and composites, defaults,
 * constraints, index expressions, partition keys, views, BEGIN ATOMIC
 * function bodies, triggers, rules, policies, casts, operators, typed
 * tables, ...), we look at what was recorded.  At the end of each utility
 * command of a guarded session whose transaction has an xid (top-level or
 * run by a function; subcommands are looked at with their command), and
 * again before COMMIT/PREPARE when a guarded utility command ran since the
 * last complete look, we walk what the removal of the temporary schemas
 * would take -- from every temporary schema down pg_depend's index on the
 * referenced object, through temporary objects -- and refuse where that
 * reaches an object that is not temporary on a row this transaction wrote
 * (xmin one of its xids; read with a catalog snapshot taken after the
 * command, so rows the command deleted or replaced are not seen).  The
 * pre-commit look precedes ON COMMIT DROP, which runs after the pre-commit
 * callbacks, and cannot be caught by an exception block.
 *
 * "Temporary" (will be removed with the temporary schema): the temporary
 * schemas themselves (any backend's, TOAST ones included), relations with
 * temporary persistence and their columns, objects in a temporary schema,
 * and objects without a schema (defaults, triggers, rules, policies, a
 * range type's multirange cast) that belong (AUTO or INTERNAL dependency)
 * to a temporary object.  Anything else without a schema (a cast made by
 * CREATE CAST, a transform) is permanent, so a chain through it cannot link
 * a permanent object to a temporary one: its own dependency is refused.
 *
 * Cost: nothing for sessions that are not guarded (one cached identity
 * test per utility command), nothing for a guarded transaction without an
 * xid.  Otherwise, per utility command, a read of pg_namespace and one
 * index scan of pg_depend per temporary schema and per temporary object
 * (any session's), with a catalog look-up per dependent found: it grows
 * with the temporary objects that exist, not with the size of the
 * database.  (A sequential read of pg_depend, tried first, cost about
 * 20 ms a statement at 47,000 pg_depend rows.)  At the end of a session,
 * each object the temporary cleanup removes costs a catalog look-up or
 * two, in every session.
 *
 * The end of a session is never refused: the cleanup of the temporary
 * schema then (RemoveTempRelations from a before_shmem_exit callback, while
 * proc_exit_inprogress) goes through, and each permanent object it reaches
 * (a link a human made) is written to the log as event=temp_cleanup.
 * DISCARD TEMP/ALL, a statement, stays guarded like any removal (hooks.c).
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_namespace.h"
#include "storage/ipc.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* a guarded utility command ran since pg_depend was last looked at */
static bool unchecked = false;

/* ---------------- what is temporary ---------------- */

static bool
relation_is_temp(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		temp;

	if (!HeapTupleIsValid(tup))
		return false;
	temp = ((Form_pg_class) GETSTRUCT(tup))->relpersistence == RELPERSISTENCE_TEMP;
	ReleaseSysCache(tup);
	return temp;
}

#define MAX_OWNER_DEPTH		4

static bool object_is_temp_depth(const ObjectAddress *addr, int depth);

/*
 * Does an object without a schema (a default, trigger, rule, policy, the
 * cast a range type makes for its multirange) belong to a temporary object,
 * through an AUTO or INTERNAL dependency, so that it goes with it?
 */
static bool
owner_is_temp(const ObjectAddress *addr, int depth)
{
	ListCell   *lc;

	if (depth >= MAX_OWNER_DEPTH)
		return false;
	foreach(lc, dfw_dependencies_of(addr, NULL))
	{
		DfwDependency *dep = lfirst(lc);

		if ((dep->deptype == DEPENDENCY_AUTO ||
			 dep->deptype == DEPENDENCY_INTERNAL) &&
			object_is_temp_depth(&dep->ref, depth + 1))
			return true;
	}
	return false;
}

/* Will this object be removed with a temporary schema? */
static bool
object_is_temp_depth(const ObjectAddress *addr, int depth)
{
	if (addr->classId == RelationRelationId)
		return relation_is_temp(addr->objectId);
	if (addr->classId == NamespaceRelationId)
		return isAnyTempNamespace(addr->objectId);
	/*
	 * is_objectclass_supported, not dfw_class_has_properties: this runs at
	 * the end of a session too, where an error caught by PG_TRY is FATAL.
	 */
	if (is_objectclass_supported(addr->classId) &&
		get_object_attnum_namespace(addr->classId) != InvalidAttrNumber)
	{
		Oid			nsp = get_object_namespace(addr);

		return OidIsValid(nsp) && isAnyTempNamespace(nsp);
	}
	/* no schema: temporary with what it belongs to, if anything */
	return owner_is_temp(addr, depth);
}

static bool
object_is_temp(const ObjectAddress *addr)
{
	return object_is_temp_depth(addr, 0);
}

static char *
describe(const ObjectAddress *addr)
{
	char	   *d = getObjectDescription(addr, true);

	return d ? d : psprintf("object %u of catalog %u", addr->objectId,
							addr->classId);
}

/* ---------------- the check ---------------- */

/*
 * Refuse if this transaction recorded a dependency of a permanent object on
 * a temporary one.  We walk what the removal of the temporary schemas
 * would take: from each temporary schema, down pg_depend's
 * referenced-object index, through the objects that are temporary
 * themselves.  A dependent that is not temporary, on a row this
 * transaction wrote, is the link we refuse; one on an older row (a link a
 * human made) is left alone, and not walked through.
 */
typedef struct SeenKey
{
	Oid			classId;
	Oid			objectId;
} SeenKey;

static void
check_new_dependencies(void)
{
	Relation	nspRel;
	Relation	depRel;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *queue = NIL;
	HTAB	   *seen;
	HASHCTL		ctl;

	if (!TransactionIdIsValid(GetTopTransactionIdIfAny()))
	{
		unchecked = false;
		return;					/* wrote nothing, so no dependency either */
	}

	/*
	 * One fresh catalog snapshot for the walk and the look-ups alike: it
	 * sees what the command just wrote, and not what it deleted (a
	 * replaced function body's old dependencies).
	 */
	CommandCounterIncrement();
	InvalidateCatalogSnapshot();

	ctl.keysize = sizeof(SeenKey);
	ctl.entrysize = sizeof(SeenKey);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("deletion_firewall temporary objects", 64, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* the temporary schemas, every backend's, TOAST ones included */
	nspRel = table_open(NamespaceRelationId, AccessShareLock);
	scan = systable_beginscan(nspRel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_namespace nsp = (Form_pg_namespace) GETSTRUCT(tup);

		if (isAnyTempNamespace(nsp->oid))
		{
			ObjectAddress *a = palloc(sizeof(ObjectAddress));

			ObjectAddressSet(*a, NamespaceRelationId, nsp->oid);
			queue = lappend(queue, a);
		}
	}
	systable_endscan(scan);
	table_close(nspRel, AccessShareLock);

	depRel = table_open(DependRelationId, AccessShareLock);
	while (queue != NIL)
	{
		ObjectAddress *cur = linitial(queue);
		ScanKeyData key[2];

		queue = list_delete_first(queue);
		ScanKeyInit(&key[0], Anum_pg_depend_refclassid,
					BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(cur->classId));
		ScanKeyInit(&key[1], Anum_pg_depend_refobjid,
					BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(cur->objectId));
		scan = systable_beginscan(depRel, DependReferenceIndexId, true,
								  NULL, 2, key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
			ObjectAddress obj;
			SeenKey		k;
			bool		found;

			ObjectAddressSubSet(obj, dep->classid, dep->objid, dep->objsubid);
			if (!object_is_temp(&obj))
			{
				ObjectAddress ref;

				if (!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
					continue;	/* an older link: not this statement's */
				/* the refusal aborts the transaction: no need to end scans */
				ObjectAddressSubSet(ref, dep->refclassid, dep->refobjid,
									dep->refobjsubid);
				dfw_tamper_refuse(psprintf("making %s depend on temporary %s",
										   describe(&obj), describe(&ref)),
								  "A permanent object may not depend on a temporary one: the removal of temporary objects (at commit, by DISCARD, at the end of the session) would take it, and what depends on it, along unchecked.");
			}
			/* a temporary object: walk what depends on it, once */
			memset(&k, 0, sizeof(k));
			k.classId = dep->classid;
			k.objectId = dep->objid;
			(void) hash_search(seen, &k, HASH_ENTER, &found);
			if (!found)
			{
				ObjectAddress *a = palloc(sizeof(ObjectAddress));

				ObjectAddressSet(*a, dep->classid, dep->objid);
				queue = lappend(queue, a);
			}
		}
		systable_endscan(scan);
	}
	table_close(depRel, AccessShareLock);
	hash_destroy(seen);

	/*
	 * Only now: after a refusal caught by an exception block, the next
	 * look (at the latest before COMMIT) looks again.
	 */
	unchecked = false;
}

/*
 * After a utility command (hooks.c calls this once the command and its
 * removals were decided on), at any nesting level, so that DDL run by a
 * function is refused where it runs.  A subcommand (the CREATE INDEX of a
 * CREATE TABLE ... PRIMARY KEY) is looked at with the command it is part
 * of.
 */
void
dfw_tempdeps_after_utility(Node *parsetree, bool subcommand)
{
	/* BEGIN/COMMIT/SAVEPOINT record nothing; COMMIT is checked pre-commit */
	if (IsA(parsetree, TransactionStmt) || !dfw_is_guarded())
		return;
	unchecked = true;
	if (!subcommand)
		check_new_dependencies();
}

/*
 * The end of a session removes the temporary schema (an internal deletion
 * run from a before_shmem_exit callback).  Never refused; an object it
 * reaches that is not temporary is logged.
 */
void
dfw_tempdeps_session_end_drop(Oid classId, Oid objectId, int subId)
{
	ObjectAddress addr;
	char	   *id;

	addr.classId = classId;
	addr.objectId = objectId;
	addr.objectSubId = subId;
	if (object_is_temp(&addr))
		return;
	id = getObjectIdentity(&addr, true);
	dfw_audit("temp_cleanup", "drop", id ? id : describe(&addr), -1,
			  NULL, NULL, NULL, "session_end");
}

static void
tempdeps_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (unchecked && !proc_exit_inprogress)
				check_new_dependencies();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			unchecked = false;
			break;
		default:
			break;
	}
}

void
dfw_tempdeps_init(void)
{
	RegisterXactCallback(tempdeps_xact_callback, NULL);
}
