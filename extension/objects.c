/*-------------------------------------------------------------------------
 *
 * objects.c
 *		What an object is called, what it belongs to, and whether it is
 *		exempt from the firewall.
 *
 * Identity: the text pg_identify_object() gives (public.orders,
 * public.orders.email, public.f(integer), a schema's bare name, ...).
 *
 * Belonging: a table's columns, row and array types, TOAST table, indexes,
 * constraints, defaults, owned sequences, triggers, rules, policies and
 * partitions belong to it; an extension's members belong to it.  We find
 * them by following pg_depend from the object towards what it depends on,
 * along AUTO, INTERNAL, PARTITION and EXTENSION edges only.  NORMAL edges
 * (a view over a table, another table's foreign key, a function that uses
 * it) mean "depends on", not "belongs to", and are not followed.
 *
 * Age: a target carries since when it has had its name (identity_since:
 * its row type's row for a table, else its own row, and its schema's) and,
 * for each object it belongs to, since when it has belonged (the pg_depend
 * rows followed).  A token covers a target only through names and links
 * older than its issue (dfw_target_covered_at with the token's issued_xmin):
 * not what was renamed, moved, attached or made OWNED BY since.
 *
 * Exemptions: temporary objects, and objects this agent session created
 * new: by a CREATE, or added by an ALTER (a column, its default, a
 * constraint) other than by rebuilding.  What PostgreSQL rebuilds under a
 * new OID (REINDEX CONCURRENTLY, ALTER COLUMN TYPE, CLUSTER, VACUUM FULL,
 * rewrites) keeps the status of the table it is for.  Existence before the
 * statement is judged on the latest committed catalogs, not the transaction
 * snapshot.  The set forgets what is dropped, and a (sub)transaction that
 * rolls back undoes its changes to it.  An old table attached under a new
 * one is not exempt: only internal parts (TOAST, row type, a key's index)
 * share their object's exemption.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "catalog/pg_largeobject.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_largeobject_metadata.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define MAX_COVER_DEPTH		8
#define MAX_COVERS			64
#define MAX_CREATED			100000
#define MAX_PART_DEPTH		4

/* ---------------- catalog rows ---------------- */

/*
 * Does objectaddress.c know this catalog's columns (OID, namespace)?  A
 * plain table lookup: no error to catch.  Large objects are listed there
 * under pg_largeobject but live in pg_largeobject_metadata: not "known"
 * for the generic paths, catalog_of() handles them.
 */
bool
dfw_class_has_properties(Oid classId)
{
	return classId != LargeObjectRelationId &&
		is_objectclass_supported(classId);
}

/*
 * The catalog that holds an object's own row, its OID index and its OID
 * column; false for classes we cannot read (callers fail closed).
 */
static bool
catalog_of(Oid classId, Oid *catalog, Oid *index, AttrNumber *oidcol)
{
	if (classId == LargeObjectRelationId)
	{
		*catalog = LargeObjectMetadataRelationId;
		*index = LargeObjectMetadataOidIndexId;
		*oidcol = Anum_pg_largeobject_metadata_oid;
		return true;
	}
	if (classId == AttrDefaultRelationId)
	{
		*catalog = AttrDefaultRelationId;
		*index = AttrDefaultOidIndexId;
		*oidcol = Anum_pg_attrdef_oid;
		return true;
	}
	if (!dfw_class_has_properties(classId))
		return false;
	*catalog = classId;
	*index = get_object_oid_index(classId);
	*oidcol = get_object_attnum_oid(classId);
	return OidIsValid(*index) && *oidcol != InvalidAttrNumber;
}

/* What we keep of one version of a catalog row, to follow its history. */
typedef struct RowVersion
{
	ItemPointerData self;
	ItemPointerData next;		/* t_ctid: the version that replaced it */
	TransactionId xmin;
	NameData	name;
	Oid			nsp;
} RowVersion;

static void
read_version(HeapTuple tup, TupleDesc desc, AttrNumber namecol,
			 AttrNumber nspcol, RowVersion *v)
{
	bool		isnull;
	Datum		d;

	memset(v, 0, sizeof(*v));
	v->self = tup->t_self;
	v->next = tup->t_data->t_ctid;
	v->xmin = HeapTupleHeaderGetXmin(tup->t_data);
	if (namecol != InvalidAttrNumber)
	{
		d = fastgetattr(tup, namecol, desc, &isnull);
		if (!isnull)
			namestrcpy(&v->name, NameStr(*DatumGetName(d)));
	}
	if (nspcol != InvalidAttrNumber)
	{
		d = fastgetattr(tup, nspcol, desc, &isnull);
		v->nsp = isnull ? InvalidOid : DatumGetObjectId(d);
	}
}

static bool
xmin_committed(TransactionId xid)
{
	return !TransactionIdIsNormal(xid) ||
		TransactionIdIsCurrentTransactionId(xid) ||
		TransactionIdDidCommit(xid);
}

/*
 * Since when has this row had its present name and namespace?  Later
 * updates that keep them (TRUNCATE's new relfilenode, ALTER TABLE, GRANT)
 * do not change what the object is called.  We read every version of the
 * row still on disk (SnapshotAny) and walk back from the present one, over
 * committed predecessors that had the same name and namespace; the xmin of
 * the oldest is the answer.  Where history has been pruned, the walk stops
 * early: a newer answer, which only ever covers less.
 */
static TransactionId
identity_since(Relation rel, Oid index, ScanKey keys, int nkeys,
			   const RowVersion *present, AttrNumber namecol, AttrNumber nspcol)
{
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *versions = NIL;
	RowVersion	cur = *present;
	int			steps = 0;

	scan = systable_beginscan(rel, index, true, SnapshotAny, nkeys, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)) &&
		   list_length(versions) < 256)
	{
		RowVersion *v = palloc(sizeof(RowVersion));

		read_version(tup, RelationGetDescr(rel), namecol, nspcol, v);
		versions = lappend(versions, v);
	}
	systable_endscan(scan);

	while (steps++ < 256)
	{
		RowVersion *prev = NULL;
		ListCell   *lc;

		foreach(lc, versions)
		{
			RowVersion *v = lfirst(lc);

			if (ItemPointerEquals(&v->next, &cur.self) &&
				!ItemPointerEquals(&v->self, &cur.self))
			{
				prev = v;
				break;
			}
		}
		if (prev == NULL || !xmin_committed(prev->xmin) ||
			strncmp(NameStr(prev->name), NameStr(cur.name), NAMEDATALEN) != 0 ||
			prev->nsp != cur.nsp)
			break;
		cur = *prev;
	}
	list_free_deep(versions);
	return cur.xmin;
}

/*
 * Find one catalog row by an index under the given snapshot.  Returns
 * whether it is there; optionally since when it has had its name and
 * namespace (see identity_since) and the value of one OID column
 * (InvalidOid when NULL).
 */
static bool
scan_row(Oid catalog, Oid index, ScanKey keys, int nkeys, Snapshot snapshot,
		 TransactionId *xmin, AttrNumber attnum, Oid *value)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;
	RowVersion	present;
	ScanKeyData keys2[2];
	AttrNumber	namecol = InvalidAttrNumber;
	AttrNumber	nspcol = InvalidAttrNumber;

	if (xmin != NULL)
	{
		if (catalog == AttributeRelationId)
			namecol = Anum_pg_attribute_attname;
		else if (dfw_class_has_properties(catalog))
		{
			namecol = get_object_attnum_name(catalog);
			nspcol = get_object_attnum_namespace(catalog);
		}
	}

	/* systable_beginscan rewrites the keys for the index: keep a copy */
	Assert(nkeys <= 2);
	memcpy(keys2, keys, sizeof(ScanKeyData) * nkeys);

	rel = table_open(catalog, AccessShareLock);
	scan = systable_beginscan(rel, index, true, snapshot, nkeys, keys);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	if (found && xmin != NULL)
		read_version(tup, RelationGetDescr(rel), namecol, nspcol, &present);
	if (found && attnum != InvalidAttrNumber)
	{
		bool		isnull;

		/*
		 * fastgetattr, not heap_getattr: a catalog row has all its columns
		 * (no missing values), and heap_getattr's inline body in 17.12's
		 * headers calls heap_datum_check(), which older 17.x servers do not
		 * export, so a module built on newer headers would not load there.
		 */
		Datum		d = fastgetattr(tup, attnum, RelationGetDescr(rel), &isnull);

		*value = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	systable_endscan(scan);
	if (found && xmin != NULL)
		*xmin = identity_since(rel, index, keys2, nkeys, &present, namecol,
							   nspcol);
	table_close(rel, AccessShareLock);
	return found;
}

/* An object's own row, by OID (sub-objects: see attribute_row). */
static bool
object_row(Oid classId, Oid objectId, Snapshot snapshot, TransactionId *xmin,
		   Oid *nsp)
{
	Oid			catalog;
	Oid			index;
	AttrNumber	oidcol;
	AttrNumber	nspcol = InvalidAttrNumber;
	ScanKeyData key;

	if (nsp != NULL)
		*nsp = InvalidOid;
	if (!catalog_of(classId, &catalog, &index, &oidcol))
		return false;
	if (nsp != NULL && catalog == classId && dfw_class_has_properties(classId))
		nspcol = get_object_attnum_namespace(classId);
	ScanKeyInit(&key, oidcol, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(objectId));
	return scan_row(catalog, index, &key, 1, snapshot, xmin, nspcol, nsp);
}

/* A column's pg_attribute row. */
static bool
attribute_row(Oid relid, int attnum, Snapshot snapshot, TransactionId *xmin)
{
	ScanKeyData key[2];

	ScanKeyInit(&key[0], Anum_pg_attribute_attrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_attribute_attnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum((int16) attnum));
	return scan_row(AttributeRelationId, AttributeRelidNumIndexId, key, 2,
					snapshot, xmin, InvalidAttrNumber, NULL);
}

/*
 * The catalogs as they were committed now, without what the running
 * statement itself wrote: the latest snapshot (not the transaction's, which
 * under REPEATABLE READ can miss what others committed since), with the
 * command id of the active one.  NULL in parallel mode, where no new
 * snapshot may be taken (callers fail closed).  Unregister when done.
 */
static Snapshot
snapshot_before_statement(void)
{
	Snapshot	snap;

	if (IsInParallelMode())
		return NULL;
	snap = RegisterSnapshot(GetLatestSnapshot());
	if (ActiveSnapshotSet())
		snap->curcid = GetActiveSnapshot()->curcid;
	return snap;
}

/* The newer of two xmins; InvalidTransactionId (unknown) wins. */
static TransactionId
newer_xmin(TransactionId a, TransactionId b)
{
	if (!TransactionIdIsValid(a) || !TransactionIdIsValid(b))
		return InvalidTransactionId;
	return TransactionIdFollows(a, b) ? a : b;
}

/*
 * Since when an object has been called what it is called: the newest of
 * identity_since() over its own row (a table: its row type's; a column: its
 * pg_attribute row and its table's) and its namespace's.  A rename, SET
 * SCHEMA or schema rename moves it forward; so may other updates of the
 * same row (an index's REINDEX), which only ever covers less.
 * InvalidTransactionId when a row cannot be read.
 */
static TransactionId
identity_xmin(const ObjectAddress *addr, Snapshot snap)
{
	TransactionId xmin;
	TransactionId nxmin;
	Oid			nsp;

	if (snap == NULL)
		return InvalidTransactionId;
	if (addr->objectSubId != 0)
	{
		ObjectAddress whole = *addr;

		if (addr->classId != RelationRelationId ||
			!attribute_row(addr->objectId, addr->objectSubId, snap, &xmin))
			return InvalidTransactionId;
		whole.objectSubId = 0;
		return newer_xmin(xmin, identity_xmin(&whole, snap));
	}
	if (addr->classId == RelationRelationId &&
		OidIsValid(get_rel_type_id(addr->objectId)))
	{
		/*
		 * A table's pg_class row is rewritten by TRUNCATE, VACUUM FULL,
		 * ALTER TABLE, GRANT and the DROP itself; its row type's pg_type row
		 * only when it is renamed, moved or given away.
		 */
		if (!object_row(TypeRelationId, get_rel_type_id(addr->objectId), snap,
						&xmin, &nsp))
			return InvalidTransactionId;
	}
	else if (!object_row(addr->classId, addr->objectId, snap, &xmin, &nsp))
		return InvalidTransactionId;
	if (OidIsValid(nsp))
	{
		if (!object_row(NamespaceRelationId, nsp, snap, &nxmin, NULL))
			return InvalidTransactionId;
		xmin = newer_xmin(xmin, nxmin);
	}
	/*
	 * A function's identity names its argument types: renaming a type (or
	 * its schema) gives the function another identity without touching its
	 * own row.
	 */
	if (addr->classId == ProcedureRelationId)
	{
		HeapTuple	tup = SearchSysCache1(PROCOID,
										  ObjectIdGetDatum(addr->objectId));
		Form_pg_proc proc;

		if (!HeapTupleIsValid(tup))
			return InvalidTransactionId;
		proc = (Form_pg_proc) GETSTRUCT(tup);
		for (int i = 0; i < proc->pronargs; i++)
		{
			ObjectAddress type;

			ObjectAddressSet(type, TypeRelationId, proc->proargtypes.values[i]);
			xmin = newer_xmin(xmin, identity_xmin(&type, snap));
		}
		ReleaseSysCache(tup);
	}
	return xmin;
}

static Oid
object_namespace(const ObjectAddress *addr)
{
	if (!dfw_class_has_properties(addr->classId))
		return InvalidOid;
	return get_object_namespace(addr);
}

/* ---------------- identities and belonging ---------------- */

static char *
identity_or_fail(const ObjectAddress *addr)
{
	char	   *id = getObjectIdentity(addr, true);

	/* lo_unlink() of a large object that does not exist: PostgreSQL's error */
	if (id == NULL && addr->classId == LargeObjectRelationId &&
		!LargeObjectExists(addr->objectId))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("large object %u does not exist", addr->objectId)));
	if (id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("deletion_firewall cannot identify the object being removed"),
				 errdetail("Object of catalog %u with OID %u (sub-object %d) has no identity; the firewall refuses what it cannot name.",
						   addr->classId, addr->objectId, addr->objectSubId)));
	return id;
}

/* What an object belongs to, and how it came to belong to it. */
typedef struct OwnerRef
{
	ObjectAddress addr;
	int			depth;			/* 1: a direct owner */
	TransactionId path_xmin;	/* newest xmin of the links followed */
} OwnerRef;

static bool
owner_in_list(List *owners, const ObjectAddress *a)
{
	ListCell   *lc;

	foreach(lc, owners)
	{
		ObjectAddress *b = &((OwnerRef *) lfirst(lc))->addr;

		if (a->classId == b->classId && a->objectId == b->objectId &&
			a->objectSubId == b->objectSubId)
			return true;
	}
	return false;
}

/*
 * The objects addr belongs to (not including itself), nearest first, as
 * OwnerRef.  With snap, path_xmin is the newest xmin of the pg_depend rows
 * (and, from a column to its table, the pg_attribute row) along the way:
 * when the object came to belong to the owner.
 */
static List *
owners_of(const ObjectAddress *addr, Snapshot snap)
{
	List	   *result = NIL;
	List	   *queue;
	OwnerRef   *start = palloc(sizeof(OwnerRef));
	Relation	depRel;
	int			depth = 0;

	start->addr = *addr;
	start->depth = 0;
	start->path_xmin = FrozenTransactionId;
	queue = list_make1(start);
	depRel = table_open(DependRelationId, AccessShareLock);

	while (queue != NIL && depth++ < MAX_COVER_DEPTH &&
		   list_length(result) < MAX_COVERS)
	{
		List	   *next = NIL;
		ListCell   *lc;

		foreach(lc, queue)
		{
			OwnerRef   *cur = lfirst(lc);
			ScanKeyData key[3];
			int			nkeys = 2;
			SysScanDesc scan;
			HeapTuple	tup;

			/* a column belongs to its table */
			if (cur->addr.objectSubId != 0)
			{
				OwnerRef   *whole = palloc(sizeof(OwnerRef));

				whole->addr = cur->addr;
				whole->addr.objectSubId = 0;
				whole->depth = depth;
				whole->path_xmin = InvalidTransactionId;
				if (snap != NULL && cur->addr.classId == RelationRelationId)
				{
					TransactionId axmin;

					if (attribute_row(cur->addr.objectId, cur->addr.objectSubId,
									  snap, &axmin))
						whole->path_xmin = newer_xmin(cur->path_xmin, axmin);
				}
				if (!owner_in_list(result, &whole->addr))
				{
					result = lappend(result, whole);
					next = lappend(next, whole);
				}
			}

			ScanKeyInit(&key[0], Anum_pg_depend_classid,
						BTEqualStrategyNumber, F_OIDEQ,
						ObjectIdGetDatum(cur->addr.classId));
			ScanKeyInit(&key[1], Anum_pg_depend_objid,
						BTEqualStrategyNumber, F_OIDEQ,
						ObjectIdGetDatum(cur->addr.objectId));
			if (cur->addr.objectSubId != 0)
			{
				ScanKeyInit(&key[2], Anum_pg_depend_objsubid,
							BTEqualStrategyNumber, F_INT4EQ,
							Int32GetDatum(cur->addr.objectSubId));
				nkeys = 3;
			}
			scan = systable_beginscan(depRel, DependDependerIndexId, true,
									  snap, nkeys, key);
			while (HeapTupleIsValid(tup = systable_getnext(scan)))
			{
				Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
				OwnerRef   *owner;

				if (dep->deptype != DEPENDENCY_AUTO &&
					dep->deptype != DEPENDENCY_INTERNAL &&
					dep->deptype != DEPENDENCY_PARTITION_PRI &&
					dep->deptype != DEPENDENCY_PARTITION_SEC &&
					dep->deptype != DEPENDENCY_EXTENSION)
					continue;
				/* a whole object's AUTO edge to a schema is not ownership */
				if (dep->refclassid == NamespaceRelationId)
					continue;

				/*
				 * A table belongs to the partitioned table it is attached
				 * to only within one schema: otherwise an agent could attach
				 * any table under one a token covers, after the token was
				 * issued, and drop it with the token.  (The link's xmin
				 * refuses that within one schema too.)
				 */
				if (cur->addr.classId == RelationRelationId &&
					dep->refclassid == RelationRelationId &&
					cur->addr.objectSubId == 0 && dep->refobjsubid == 0 &&
					get_rel_namespace(cur->addr.objectId) != get_rel_namespace(dep->refobjid) &&
					get_rel_relkind(cur->addr.objectId) != RELKIND_INDEX &&
					get_rel_relkind(cur->addr.objectId) != RELKIND_TOASTVALUE)
					continue;
				owner = palloc(sizeof(OwnerRef));
				owner->addr.classId = dep->refclassid;
				owner->addr.objectId = dep->refobjid;
				owner->addr.objectSubId = dep->refobjsubid;
				owner->depth = depth;
				owner->path_xmin = newer_xmin(cur->path_xmin,
											  HeapTupleHeaderGetXmin(tup->t_data));
				if (owner_in_list(result, &owner->addr) ||
					(owner->addr.classId == addr->classId &&
					 owner->addr.objectId == addr->objectId &&
					 owner->addr.objectSubId == addr->objectSubId))
					continue;
				result = lappend(result, owner);
				next = lappend(next, owner);
			}
			systable_endscan(scan);
		}
		queue = next;
	}
	table_close(depRel, AccessShareLock);
	return result;
}

/*
 * Name an object and what it belongs to, with the age of each: the xmins
 * that dfw_target_covered_at() compares with a token's issue.
 */
DfwTarget *
dfw_make_target(const ObjectAddress *addr)
{
	DfwTarget  *t = palloc0(sizeof(DfwTarget));
	Snapshot	snap = snapshot_before_statement();
	ListCell   *lc;

	t->addr = *addr;
	t->identity = identity_or_fail(addr);
	t->xmin = identity_xmin(addr, snap);
	foreach(lc, owners_of(addr, snap))
	{
		OwnerRef   *o = lfirst(lc);
		char	   *id = getObjectIdentity(&o->addr, true);
		DfwCover   *c;

		/*
		 * A constraint, trigger, default or index is named after its table:
		 * the table's identity rows are its own too.
		 */
		if (o->depth == 1 && o->addr.classId == RelationRelationId)
			t->xmin = newer_xmin(t->xmin, identity_xmin(&o->addr, snap));
		if (id == NULL)
			continue;
		c = palloc(sizeof(DfwCover));
		c->identity = id;
		c->xmin = newer_xmin(o->path_xmin, identity_xmin(&o->addr, snap));
		t->covers = lappend(t->covers, c);
	}
	if (snap != NULL)
		UnregisterSnapshot(snap);
	return t;
}

/*
 * Does a token's target pattern name this identity?  '*' matches anything;
 * a trailing '*' matches any suffix; 'schema.*' also names the schema.
 */
bool
dfw_pattern_matches(const char *pattern, const char *identity, bool is_schema)
{
	size_t		plen = strlen(pattern);

	if (plen > 0 && pattern[plen - 1] == '*')
	{
		if (strncmp(identity, pattern, plen - 1) == 0)
			return true;
		/* 'x.*' names schema x too -- not a database or role called x */
		return is_schema && plen >= 2 && pattern[plen - 2] == '.' &&
			strlen(identity) == plen - 2 &&
			strncmp(identity, pattern, plen - 2) == 0;
	}
	return strcmp(pattern, identity) == 0;
}

/*
 * Was this row written before the issue?  issued_xmin is the issuing
 * snapshot's xmin: every transaction before it had ended.  A row written by
 * one that had not (or whose age we do not know) is newer than the token --
 * unless the issuing transaction itself wrote it (issued_xid): the human
 * who created a table and confirmed its drop in one transaction.
 */
static bool
written_before(TransactionId xmin, TransactionId issued_xmin,
			   TransactionId issued_xid)
{
	if (!TransactionIdIsValid(issued_xmin))
		return true;
	if (!TransactionIdIsValid(xmin))
		return false;
	return TransactionIdPrecedes(xmin, issued_xmin) ||
		(TransactionIdIsValid(issued_xid) &&
		 TransactionIdEquals(xmin, issued_xid));
}

/*
 * Is the target, or something it belongs to, named by the pattern, as
 * things stood when the token was issued?  A name or a belonging written
 * since does not count: the token covers the objects its target named
 * then, not what was later renamed, moved or attached into it.
 * issued_xmin InvalidTransactionId: no age check.
 */
bool
dfw_target_covered_at(const DfwTarget *t, const char *pattern,
					  TransactionId issued_xmin, TransactionId issued_xid)
{
	ListCell   *lc;

	if (dfw_pattern_matches(pattern, t->identity,
							t->addr.classId == NamespaceRelationId) &&
		written_before(t->xmin, issued_xmin, issued_xid))
		return true;
	foreach(lc, t->covers)
	{
		DfwCover   *c = lfirst(lc);

		if (dfw_pattern_matches(pattern, c->identity, false) &&
			written_before(c->xmin, issued_xmin, issued_xid))
			return true;
	}
	return false;
}

/* Is the target, or something it belongs to, named by the pattern? */
bool
dfw_target_covered(const DfwTarget *t, const char *pattern)
{
	return dfw_target_covered_at(t, pattern, InvalidTransactionId,
								 InvalidTransactionId);
}

/* ---------------- objects of the extension itself ---------------- */

bool
dfw_is_extension_object(const ObjectAddress *addr)
{
	Oid			ext = get_extension_oid("deletion_firewall", true);
	Oid			nsp;

	if (addr->classId == ExtensionRelationId)
		return OidIsValid(ext) && addr->objectId == ext;
	if (addr->classId == NamespaceRelationId)
	{
		char	   *name = get_namespace_name(addr->objectId);

		return name != NULL && strcmp(name, "deletion_firewall") == 0;
	}
	if (OidIsValid(ext) && getExtensionOfObject(addr->classId, addr->objectId) == ext)
		return true;
	nsp = object_namespace(addr);
	if (OidIsValid(nsp))
	{
		char	   *name = get_namespace_name(nsp);

		return name != NULL && strcmp(name, "deletion_firewall") == 0;
	}
	return false;
}

/* ---------------- exemptions ---------------- */

/*
 * What the running utility statement is, for OAT_POST_CREATE: only a
 * statement that creates new objects makes them the session's.  hooks.c
 * sets it around each ProcessUtility call (innermost wins).
 */
#define STMT_NONE		0		/* no utility statement: a query */
#define STMT_CREATE		1		/* CREATE ...: what it makes is new */
#define STMT_ALTER		2		/* adds to an existing object */
#define STMT_REBUILD	3		/* REINDEX, CLUSTER, VACUUM, rewrites */
#define STMT_OTHER		4

static int	stmt_kind = STMT_NONE;

static int
statement_kind(Node *stmt)
{
	if (stmt == NULL)
		return STMT_OTHER;
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
		case T_CreateTableAsStmt:
		case T_CreateSeqStmt:
		case T_ViewStmt:
		case T_IndexStmt:
		case T_CreateFunctionStmt:
		case T_DefineStmt:
		case T_CompositeTypeStmt:
		case T_CreateEnumStmt:
		case T_CreateRangeStmt:
		case T_CreateDomainStmt:
		case T_CreateSchemaStmt:
		case T_CreateTrigStmt:
		case T_RuleStmt:
		case T_CreatePolicyStmt:
		case T_CreateStatsStmt:
		case T_CreateCastStmt:
		case T_CreateConversionStmt:
		case T_CreateOpClassStmt:
		case T_CreateOpFamilyStmt:
		case T_CreatePLangStmt:
		case T_CreateTransformStmt:
		case T_CreateAmStmt:
		case T_CreateExtensionStmt:
		case T_CreateFdwStmt:
		case T_CreateForeignServerStmt:
		case T_CreateForeignTableStmt:
		case T_CreateUserMappingStmt:
		case T_CreatePublicationStmt:
		case T_CreateSubscriptionStmt:
		case T_CreateEventTrigStmt:
		case T_CreateRoleStmt:
		case T_CreatedbStmt:
		case T_CreateTableSpaceStmt:
		case T_ImportForeignSchemaStmt:
		case T_ExplainStmt:		/* EXPLAIN ANALYZE CREATE TABLE AS */
			return STMT_CREATE;
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				/* subcommands that rebuild indexes and constraints */
				foreach(lc, ((AlterTableStmt *) stmt)->cmds)
				{
					AlterTableCmd *cmd = lfirst(lc);

					if (IsA(cmd, AlterTableCmd) &&
						(cmd->subtype == AT_AlterColumnType ||
						 cmd->subtype == AT_SetLogged ||
						 cmd->subtype == AT_SetUnLogged ||
						 cmd->subtype == AT_SetAccessMethod))
						return STMT_REBUILD;
				}
				return STMT_ALTER;
			}
		case T_AlterDomainStmt:
		case T_AlterOpFamilyStmt:
			return STMT_ALTER;
		case T_ReindexStmt:
		case T_ClusterStmt:
		case T_VacuumStmt:
		case T_RefreshMatViewStmt:
			return STMT_REBUILD;
		default:
			return STMT_OTHER;
	}
}

/* A utility statement starts (hooks.c); returns what to restore. */
int
dfw_objects_statement_enter(Node *stmt)
{
	int			prev = stmt_kind;

	stmt_kind = statement_kind(stmt);
	return prev;
}

void
dfw_objects_statement_exit(int prev)
{
	stmt_kind = prev;
}

/*
 * The objects this session created, and this transaction's changes to that
 * set, so that a (sub)transaction that rolls back undoes them: what it
 * created is forgotten, what it dropped is remembered again.
 */
typedef struct CreatedKey
{
	Oid			classId;
	Oid			objectId;
	int32		objectSubId;
} CreatedKey;

typedef struct CreatedChange
{
	CreatedKey	key;
	bool		added;			/* else removed */
	SubTransactionId subid;
} CreatedChange;

static HTAB *created = NULL;
static List *changes = NIL;
static MemoryContext changes_cxt = NULL;

static void
make_key(CreatedKey *key, const ObjectAddress *addr)
{
	memset(key, 0, sizeof(*key));
	key->classId = addr->classId;
	key->objectId = addr->objectId;
	key->objectSubId = addr->objectSubId;
}

static bool
created_has(const ObjectAddress *addr)
{
	CreatedKey	key;

	if (created == NULL || hash_get_num_entries(created) == 0)
		return false;
	make_key(&key, addr);
	return hash_search(created, &key, HASH_FIND, NULL) != NULL;
}

static void
log_change(const CreatedKey *key, bool added)
{
	MemoryContext old;
	CreatedChange *c;

	if (changes_cxt == NULL)
		changes_cxt = AllocSetContextCreate(TopMemoryContext,
											"deletion_firewall created changes",
											ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(changes_cxt);
	c = palloc(sizeof(CreatedChange));
	c->key = *key;
	c->added = added;
	c->subid = GetCurrentSubTransactionId();
	changes = lappend(changes, c);
	MemoryContextSwitchTo(old);
}

/* Undo a change: forget what was added, remember again what was removed. */
static void
undo_change(const CreatedChange *c)
{
	if (c->added)
		hash_search(created, &c->key, HASH_REMOVE, NULL);
	else
		(void) hash_search(created, &c->key, HASH_ENTER, NULL);
}

static void
changes_clear(void)
{
	changes = NIL;
	if (changes_cxt != NULL)
		MemoryContextReset(changes_cxt);
}

static bool
is_temp_object(const ObjectAddress *addr)
{
	Oid			nsp;

	if (addr->classId == RelationRelationId)
		return get_rel_persistence(addr->objectId) == RELPERSISTENCE_TEMP;

	nsp = object_namespace(addr);
	if (OidIsValid(nsp))
		return isAnyTempNamespace(nsp);

	/* triggers, rules, policies, defaults: temporary with their table */
	{
		ListCell   *lc;

		foreach(lc, owners_of(addr, NULL))
		{
			ObjectAddress *o = &((OwnerRef *) lfirst(lc))->addr;

			if (o->classId == RelationRelationId)
				return get_rel_persistence(o->objectId) == RELPERSISTENCE_TEMP;
		}
	}
	return false;
}

/*
 * What addr depends on: the pg_depend rows in which it is the dependent,
 * read under snapshot (NULL: the catalog snapshot), as a List of
 * DfwDependency.  Read whole before the caller follows any of them, so no
 * scan stays open while it recurses.
 */
List *
dfw_dependencies_of(const ObjectAddress *addr, Snapshot snapshot)
{
	Relation	depRel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(addr->classId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(addr->objectId));
	scan = systable_beginscan(depRel, DependDependerIndexId, true,
							  snapshot, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		DfwDependency *d = palloc(sizeof(DfwDependency));

		d->objsubid = dep->objsubid;
		d->ref.classId = dep->refclassid;
		d->ref.objectId = dep->refobjid;
		d->ref.objectSubId = dep->refobjsubid;
		d->deptype = dep->deptype;
		result = lappend(result, d);
	}
	systable_endscan(scan);
	table_close(depRel, AccessShareLock);
	return result;
}

static bool exempt_by_creation(const ObjectAddress *addr, int depth);

/*
 * Is addr an internal part of an object the session created (its TOAST
 * table and that table's index, its row and array types, the index of its
 * primary key, its identity sequence, a view's rule)?  Those are made and
 * remade by PostgreSQL with their object (a rewrite gives a table a new
 * TOAST table); nobody can make their own object an internal part of
 * another.  INTERNAL edges only, and the AUTO edge from a TOAST table's
 * index: not AUTO edges in general, which a human's sequence gets by OWNED
 * BY and a human's index or trigger has on the agent's table.
 */
static bool
internal_part_of_exempt(const ObjectAddress *addr, int depth)
{
	ListCell   *lc;

	if (depth >= MAX_PART_DEPTH)
		return false;
	/* tables, views and the like are nobody's internal part */
	if (addr->classId == RelationRelationId && addr->objectSubId == 0)
	{
		char		relkind = get_rel_relkind(addr->objectId);

		if (relkind != RELKIND_TOASTVALUE && relkind != RELKIND_INDEX &&
			relkind != RELKIND_SEQUENCE)
			return false;
	}

	foreach(lc, dfw_dependencies_of(addr, NULL))
	{
		DfwDependency *dep = lfirst(lc);

		if (dep->deptype != DEPENDENCY_INTERNAL &&
			!(dep->deptype == DEPENDENCY_AUTO &&
			  dep->ref.classId == RelationRelationId &&
			  get_rel_relkind(dep->ref.objectId) == RELKIND_TOASTVALUE))
			continue;
		if (exempt_by_creation(&dep->ref, depth + 1))
			return true;
	}
	return false;
}

/* Created by the session: itself, its table, or what it is part of. */
static bool
exempt_by_creation(const ObjectAddress *addr, int depth)
{
	if (created == NULL || hash_get_num_entries(created) == 0)
		return false;
	if (created_has(addr))
		return true;
	/* a column of a table the session created */
	if (addr->objectSubId != 0)
	{
		ObjectAddress whole = *addr;

		whole.objectSubId = 0;
		if (created_has(&whole))
			return true;
	}
	return internal_part_of_exempt(addr, depth);
}

bool
dfw_object_is_exempt(const ObjectAddress *addr)
{
	return exempt_by_creation(addr, 0) || is_temp_object(addr);
}

/*
 * Did the object exist before the running statement?  CREATE OR REPLACE
 * (and a few others) report an existing object as created; it must not
 * become exempt.  Judged on what is committed now (not the transaction's
 * snapshot: under REPEATABLE READ it may not see what a human committed
 * since), without the statement's own writes.  A column: its pg_attribute
 * row (attnums are never reused).  When we cannot tell, we say it existed:
 * fail closed.
 */
bool
dfw_object_existed_before(const ObjectAddress *addr)
{
	Snapshot	snap;
	bool		found = true;

	/* a default: always a new pg_attrdef row (see dfw_remember_created) */
	if (addr->classId == AttrDefaultRelationId && addr->objectSubId != 0)
		return false;
	if (addr->objectSubId != 0 && addr->classId != RelationRelationId)
		return true;
	snap = snapshot_before_statement();
	if (snap == NULL)
		return true;
	if (addr->objectSubId != 0)
		found = attribute_row(addr->objectId, addr->objectSubId, snap, NULL);
	else
	{
		Oid			catalog;
		Oid			index;
		AttrNumber	oidcol;

		if (catalog_of(addr->classId, &catalog, &index, &oidcol))
			found = object_row(addr->classId, addr->objectId, snap, NULL, NULL);
	}
	UnregisterSnapshot(snap);
	return found;
}

/*
 * The namespace of an object created by the running command.  Its catalog
 * row is not visible to the syscache yet, so read it with SnapshotSelf.
 */
Oid
dfw_new_object_namespace(const ObjectAddress *addr)
{
	Oid			nsp = InvalidOid;

	if (!dfw_class_has_properties(addr->classId) ||
		get_object_attnum_namespace(addr->classId) == InvalidAttrNumber)
		return InvalidOid;
	if (!object_row(addr->classId, addr->objectId, SnapshotSelf, NULL, &nsp))
		return InvalidOid;
	return nsp;
}

/*
 * Does an object made by a rebuild replace part of an object the session
 * created?  A REINDEX CONCURRENTLY copy or an ALTER COLUMN TYPE rebuild of
 * an index or constraint belongs (AUTO/INTERNAL) to the table it is rebuilt
 * for; that table's status is its status.  Its pg_depend rows were written
 * by the running command: read them with SnapshotSelf.
 */
static bool
rebuilt_for_exempt(const ObjectAddress *addr, int depth)
{
	ListCell   *lc;

	if (depth >= MAX_PART_DEPTH || created == NULL ||
		hash_get_num_entries(created) == 0)
		return false;
	foreach(lc, dfw_dependencies_of(addr, SnapshotSelf))
	{
		DfwDependency *dep = lfirst(lc);
		ObjectAddress owner = dep->ref;

		if (dep->deptype != DEPENDENCY_AUTO &&
			dep->deptype != DEPENDENCY_INTERNAL)
			continue;
		owner.objectSubId = 0;
		if (owner.classId == RelationRelationId)
		{
			/* a table: is it the session's? (never a sequence's owner) */
			char		relkind = get_rel_relkind(owner.objectId);

			if (relkind != RELKIND_SEQUENCE && created_has(&owner))
				return true;
		}
		else if (owner.classId != NamespaceRelationId &&
				 (rebuilt_for_exempt(&owner, depth + 1) ||
				  created_has(&owner)))
			return true;
	}
	return false;
}

/*
 * The pg_attrdef row of a column's default: under snap, or (snap NULL) the
 * one the running command just wrote.
 */
static Oid
default_of(Oid relid, int attnum, Snapshot snap)
{
	ScanKeyData key[2];
	Oid			oid = InvalidOid;

	ScanKeyInit(&key[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum((int16) attnum));
	if (!scan_row(AttrDefaultRelationId, AttrDefaultIndexId, key, 2,
				  snap ? snap : SnapshotSelf, NULL, Anum_pg_attrdef_oid, &oid))
		return InvalidOid;
	return oid;
}

/* Had the column a default before this statement (SET DEFAULT)? */
static bool
replaces_a_default(Oid relid, int attnum)
{
	Snapshot	snap = snapshot_before_statement();
	bool		found;

	if (snap == NULL)
		return true;			/* cannot tell: fail closed */
	found = OidIsValid(default_of(relid, attnum, snap));
	UnregisterSnapshot(snap);
	return found;
}

static void
remember(const ObjectAddress *addr)
{
	CreatedKey	key;
	bool		found;

	if (created == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(CreatedKey);
		ctl.entrysize = sizeof(CreatedKey);
		ctl.hcxt = TopMemoryContext;
		created = hash_create("deletion_firewall created objects", 256, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	/* past the cap, stop exempting: fail closed */
	if (hash_get_num_entries(created) >= MAX_CREATED)
		return;

	make_key(&key, addr);
	(void) hash_search(created, &key, HASH_ENTER, &found);
	if (!found)
		log_change(&key, true);
}

/*
 * OAT_POST_CREATE of an object that did not exist before the statement:
 * is it the session's?  Yes when a CREATE made it (or a query: lo_create),
 * or an ALTER added it (a column, its default, a constraint) other than by
 * rebuilding; an object PostgreSQL rebuilt or copied under a new OID
 * (REINDEX CONCURRENTLY, ALTER COLUMN TYPE, CLUSTER, VACUUM FULL, a
 * rewrite's transient table) keeps the status of the table it is for.
 */
void
dfw_remember_created(const ObjectAddress *addr, bool is_internal)
{
	bool		mine;
	ObjectAddress def;

	/*
	 * A default's post-create hook names its column (pg_attrdef, table,
	 * attnum), not its pg_attrdef row: remember the row, which is what a
	 * DROP DEFAULT removes.  A default that replaces the column's previous
	 * one keeps that one's status, which is the column's.
	 */
	if (addr->classId == AttrDefaultRelationId && addr->objectSubId != 0)
	{
		ObjectAddress column;

		ObjectAddressSubSet(column, RelationRelationId, addr->objectId,
							addr->objectSubId);
		ObjectAddressSet(def, AttrDefaultRelationId,
						 default_of(addr->objectId, addr->objectSubId, NULL));
		if (!OidIsValid(def.objectId))
			return;
		if (replaces_a_default(addr->objectId, addr->objectSubId) &&
			!exempt_by_creation(&column, 0))
			return;
		addr = &def;
	}

	switch (stmt_kind)
	{
		case STMT_CREATE:
			mine = true;
			break;
		case STMT_NONE:
			mine = addr->classId == LargeObjectRelationId;
			break;
		case STMT_ALTER:
			mine = !is_internal;
			break;
		default:
			mine = false;
			break;
	}
	if (!mine)
		mine = rebuilt_for_exempt(addr, 0);
	if (mine)
		remember(addr);
}

/*
 * OAT_DROP, for every removal (internal ones too): the object is no longer
 * the session's, so an object that later gets its OID is not either.  A
 * table takes its columns along.
 */
void
dfw_forget_created(const ObjectAddress *addr)
{
	CreatedKey	key;

	if (created == NULL || hash_get_num_entries(created) == 0)
		return;
	make_key(&key, addr);
	if (hash_search(created, &key, HASH_REMOVE, NULL) != NULL)
		log_change(&key, false);
	if (addr->classId == RelationRelationId && addr->objectSubId == 0)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(addr->objectId));
		int			natts = 0;

		if (HeapTupleIsValid(tup))
		{
			natts = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
			ReleaseSysCache(tup);
		}

		for (int i = 1; i <= natts; i++)
		{
			key.objectSubId = i;
			if (hash_search(created, &key, HASH_REMOVE, NULL) != NULL)
				log_change(&key, false);
		}
	}
}

static void
created_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (changes == NIL)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			for (int i = list_length(changes) - 1; i >= 0; i--)
				undo_change(list_nth(changes, i));
			break;
		case XACT_EVENT_PREPARE:

			/*
			 * The prepared transaction is no longer ours: whoever commits
			 * or rolls it back, what it created is not the session's.
			 */
			foreach(lc, changes)
			{
				CreatedChange *c = lfirst(lc);

				if (c->added)
					hash_search(created, &c->key, HASH_REMOVE, NULL);
			}
			break;
		default:
			return;
	}
	changes_clear();
}

static void
created_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (changes == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		for (int i = list_length(changes) - 1; i >= 0; i--)
		{
			CreatedChange *c = list_nth(changes, i);

			if (c->subid == mySubid)
			{
				undo_change(c);
				changes = list_delete_nth_cell(changes, i);
			}
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		ListCell   *lc;

		foreach(lc, changes)
		{
			CreatedChange *c = lfirst(lc);

			if (c->subid == mySubid)
				c->subid = parentSubid;
		}
	}
}

void
dfw_objects_init(void)
{
	RegisterXactCallback(created_xact_callback, NULL);
	RegisterSubXactCallback(created_subxact_callback, NULL);
}
