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
 * Exemptions: temporary objects, and objects this agent session created
 * (remembered at OAT_POST_CREATE, forgotten if their (sub)transaction rolls
 * back).  An old table attached under a new one is not exempt: exemption is
 * decided on the object itself, never inherited from what it belongs to.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "catalog/pg_largeobject.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#define MAX_COVER_DEPTH		8
#define MAX_COVERS			64
#define MAX_CREATED			100000

/*
 * Does objectaddress.c know this catalog's columns (OID, namespace)?  Some
 * classes that can be dropped are not in its property table (pg_attrdef,
 * pg_largeobject): asking about them raises an error, so ask once per
 * class, catching that error, and remember the answer.
 */
bool
dfw_class_has_properties(Oid classId)
{
	static Oid	known[32];
	static bool answer[32];
	static int	nknown = 0;
	volatile bool ok = true;
	MemoryContext mcxt = CurrentMemoryContext;

	for (int i = 0; i < nknown; i++)
		if (known[i] == classId)
			return answer[i];

	PG_TRY();
	{
		(void) get_object_attnum_oid(classId);
	}
	PG_CATCH();
	{
		/* a pure table lookup failed: nothing to clean up but the error */
		MemoryContextSwitchTo(mcxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();

	if (nknown < lengthof(known))
	{
		known[nknown] = classId;
		answer[nknown++] = ok;
	}
	return ok;
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

static bool
addr_in_list(List *addrs, const ObjectAddress *a)
{
	ListCell   *lc;

	foreach(lc, addrs)
	{
		ObjectAddress *b = lfirst(lc);

		if (a->classId == b->classId && a->objectId == b->objectId &&
			a->objectSubId == b->objectSubId)
			return true;
	}
	return false;
}

/* The objects addr belongs to (not including itself), nearest first. */
static List *
owners_of(const ObjectAddress *addr)
{
	List	   *result = NIL;
	List	   *queue = list_make1(palloc(sizeof(ObjectAddress)));
	Relation	depRel;
	int			depth = 0;

	*(ObjectAddress *) linitial(queue) = *addr;
	depRel = table_open(DependRelationId, AccessShareLock);

	while (queue != NIL && depth++ < MAX_COVER_DEPTH &&
		   list_length(result) < MAX_COVERS)
	{
		List	   *next = NIL;
		ListCell   *lc;

		foreach(lc, queue)
		{
			ObjectAddress *cur = lfirst(lc);
			ScanKeyData key[3];
			int			nkeys = 2;
			SysScanDesc scan;
			HeapTuple	tup;

			/* a column belongs to its table */
			if (cur->objectSubId != 0)
			{
				ObjectAddress *whole = palloc(sizeof(ObjectAddress));

				*whole = *cur;
				whole->objectSubId = 0;
				if (!addr_in_list(result, whole))
				{
					result = lappend(result, whole);
					next = lappend(next, whole);
				}
			}

			ScanKeyInit(&key[0], Anum_pg_depend_classid,
						BTEqualStrategyNumber, F_OIDEQ,
						ObjectIdGetDatum(cur->classId));
			ScanKeyInit(&key[1], Anum_pg_depend_objid,
						BTEqualStrategyNumber, F_OIDEQ,
						ObjectIdGetDatum(cur->objectId));
			if (cur->objectSubId != 0)
			{
				ScanKeyInit(&key[2], Anum_pg_depend_objsubid,
							BTEqualStrategyNumber, F_INT4EQ,
							Int32GetDatum(cur->objectSubId));
				nkeys = 3;
			}
			scan = systable_beginscan(depRel, DependDependerIndexId, true,
									  NULL, nkeys, key);
			while (HeapTupleIsValid(tup = systable_getnext(scan)))
			{
				Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
				ObjectAddress *owner;

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
				 * issued, and drop it with the token.
				 */
				if (cur->classId == RelationRelationId &&
					dep->refclassid == RelationRelationId &&
					cur->objectSubId == 0 && dep->refobjsubid == 0 &&
					get_rel_namespace(cur->objectId) != get_rel_namespace(dep->refobjid) &&
					get_rel_relkind(cur->objectId) != RELKIND_INDEX &&
					get_rel_relkind(cur->objectId) != RELKIND_TOASTVALUE)
					continue;
				owner = palloc(sizeof(ObjectAddress));
				owner->classId = dep->refclassid;
				owner->objectId = dep->refobjid;
				owner->objectSubId = dep->refobjsubid;
				if (addr_in_list(result, owner) || addr_in_list(list_make1((void *) addr), owner))
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

DfwTarget *
dfw_make_target(const ObjectAddress *addr)
{
	DfwTarget  *t = palloc0(sizeof(DfwTarget));
	ListCell   *lc;

	t->addr = *addr;
	t->identity = identity_or_fail(addr);
	foreach(lc, owners_of(addr))
	{
		char	   *id = getObjectIdentity((ObjectAddress *) lfirst(lc), true);

		if (id != NULL)
			t->covers = lappend(t->covers, id);
	}
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

/* Is the target, or something it belongs to, named by the pattern? */
bool
dfw_target_covered(const DfwTarget *t, const char *pattern)
{
	ListCell   *lc;

	if (dfw_pattern_matches(pattern, t->identity,
							t->addr.classId == NamespaceRelationId))
		return true;
	foreach(lc, t->covers)
		if (dfw_pattern_matches(pattern, (char *) lfirst(lc), false))
			return true;
	return false;
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

typedef struct CreatedKey
{
	Oid			classId;
	Oid			objectId;
	int32		objectSubId;
} CreatedKey;

typedef struct CreatedEntry
{
	CreatedKey	key;
	SubTransactionId subid;		/* creating subxact; 0 once committed */
} CreatedEntry;

static HTAB *created = NULL;
static int	created_pending = 0;	/* entries with subid != 0 */

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

		foreach(lc, owners_of(addr))
		{
			ObjectAddress *o = lfirst(lc);

			if (o->classId == RelationRelationId)
				return get_rel_persistence(o->objectId) == RELPERSISTENCE_TEMP;
		}
	}
	return false;
}

bool
dfw_object_is_exempt(const ObjectAddress *addr)
{
	if (created != NULL)
	{
		CreatedKey	key;

		memset(&key, 0, sizeof(key));
		key.classId = addr->classId;
		key.objectId = addr->objectId;
		key.objectSubId = addr->objectSubId;
		if (hash_search(created, &key, HASH_FIND, NULL) != NULL)
			return true;
		/* a column of a table the session created */
		key.objectSubId = 0;
		if (addr->objectSubId != 0 &&
			hash_search(created, &key, HASH_FIND, NULL) != NULL)
			return true;
	}
	return is_temp_object(addr);
}

/*
 * Find an object's catalog row by OID under the given snapshot.  Returns
 * whether it is there; with attnum, also that column's OID value (or
 * InvalidOid when NULL).  Only for classes objectaddress.c knows.
 */
static bool
catalog_row(const ObjectAddress *addr, Snapshot snapshot, AttrNumber attnum,
			Oid *value)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	rel = table_open(addr->classId, AccessShareLock);
	ScanKeyInit(&key, get_object_attnum_oid(addr->classId),
				BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(addr->objectId));
	scan = systable_beginscan(rel, get_object_oid_index(addr->classId), true,
							  snapshot, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
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
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Did the object exist before the running command?  CREATE OR REPLACE (and
 * a few others) report an existing object as created; it must not become
 * exempt.  The active snapshot predates the command's own catalog writes,
 * so the object is new exactly when the snapshot cannot see it.  When we
 * cannot tell, we say it existed: fail closed.
 */
bool
dfw_object_existed_before(const ObjectAddress *addr)
{
	if (addr->objectSubId != 0 || !ActiveSnapshotSet() ||
		!dfw_class_has_properties(addr->classId))
		return true;
	return catalog_row(addr, GetActiveSnapshot(), InvalidAttrNumber, NULL);
}

/*
 * The namespace of an object created by the running command.  Its catalog
 * row is not visible to the syscache yet, so read it with SnapshotSelf.
 */
Oid
dfw_new_object_namespace(const ObjectAddress *addr)
{
	AttrNumber	attnum;
	Oid			nsp = InvalidOid;

	if (!dfw_class_has_properties(addr->classId))
		return InvalidOid;
	attnum = get_object_attnum_namespace(addr->classId);
	if (attnum == InvalidAttrNumber)
		return InvalidOid;
	if (!catalog_row(addr, SnapshotSelf, attnum, &nsp))
		return InvalidOid;
	return nsp;
}

void
dfw_remember_created(const ObjectAddress *addr)
{
	CreatedKey	key;
	CreatedEntry *e;
	bool		found;

	if (created == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(CreatedKey);
		ctl.entrysize = sizeof(CreatedEntry);
		ctl.hcxt = TopMemoryContext;
		created = hash_create("deletion_firewall created objects", 256, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	/* past the cap, stop exempting: fail closed */
	if (hash_get_num_entries(created) >= MAX_CREATED)
		return;

	memset(&key, 0, sizeof(key));
	key.classId = addr->classId;
	key.objectId = addr->objectId;
	key.objectSubId = addr->objectSubId;
	e = hash_search(created, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->subid = GetCurrentSubTransactionId();
		created_pending++;
	}
}

static void
created_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS seq;
	CreatedEntry *e;

	if (created == NULL || created_pending == 0)
		return;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;

	hash_seq_init(&seq, created);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->subid == 0)
			continue;
		if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
			hash_search(created, &e->key, HASH_REMOVE, NULL);
		else
			e->subid = 0;
	}
	created_pending = 0;
}

static void
created_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS seq;
	CreatedEntry *e;

	if (created == NULL || created_pending == 0)
		return;
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;

	hash_seq_init(&seq, created);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			hash_search(created, &e->key, HASH_REMOVE, NULL);
			created_pending--;
		}
		else
			e->subid = parentSubid;
	}
}

void
dfw_objects_init(void)
{
	RegisterXactCallback(created_xact_callback, NULL);
	RegisterSubXactCallback(created_subxact_callback, NULL);
}
