/*-------------------------------------------------------------------------
 *
 * tamper_feeds.c
 *		What replicas, backups and change feeds depend on, and the
 *		state-changing admin functions an agent may not call.
 *
 * Owns:
 *	- the ONE table of built-in state-changing admin functions refused to
 *	  agents (guarded_functions[], grouped by what they break), and the
 *	  bitmap behind DFW_FUNCTION_GUARDED() that OAT_FUNCTION_EXECUTE tests
 *	  for every call;
 *	- replication slots: OAT_FUNCTION_EXECUTE does not see a call's
 *	  arguments, and builtin functions bypass fmgr_hook, so the firewall
 *	  cannot tell which slot a call names.  It allows an agent to consume,
 *	  advance or drop a slot only when every slot the call could name is
 *	  provably the session's own: a temporary slot this backend holds
 *	  (PostgreSQL keeps a temporary slot acquired by the backend that made
 *	  it).  Any other slot present -- a CDC consumer's, a standby's -- and
 *	  the call is refused (fail closed);
 *	- ClientAuthentication_hook: an agent role's replication connection
 *	  (physical or logical walsender) is refused at authentication, since
 *	  walsender commands (DROP_REPLICATION_SLOT, ...) pass no other hook;
 *	- publications the session did not create, and REPLICA IDENTITY
 *	  NOTHING on a published table (called from tamper.c's dispatch).
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
/*
 * libpq-be.h pulls in <gssapi/gssapi.h> when the server was built with
 * GSSAPI, a header an extension build may not have.  Only Port's user_name
 * is read here, which lies before any GSSAPI field, and the GSSAPI field
 * itself is a pointer either way, so the layout does not change.
 */
#undef ENABLE_GSS
#include "libpq/libpq-be.h"
#include "libpq/auth.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "replication/walsender.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* What the firewall does with a call of a listed function by an agent. */
typedef enum DfwFnCheck
{
	DFW_FN_REFUSE,				/* always refused */
	DFW_FN_OWN_SLOT,			/* refused unless every slot it could name is
								 * a temporary slot this backend holds */
	DFW_FN_OWN_LOGICAL_SLOT		/* the same, over this database's logical
								 * slots (the only ones it can name) */
} DfwFnCheck;

typedef struct DfwGuardedFunction
{
	Oid			fn;
	const char *what;			/* for the refusal message */
	DfwFnCheck	check;
	const char *breaks;			/* the group: what it breaks */
} DfwGuardedFunction;

/*
 * State-changing admin functions, grouped by what they break.  Read-only
 * monitoring (pg_replication_slots, pg_logical_slot_peek_changes,
 * pg_replication_origin_progress, ...) is not listed: agents may use it.
 */
static const DfwGuardedFunction guarded_functions[] = {
	/* server files: a superuser could overwrite postgresql.auto.conf */
	{F_LO_IMPORT_TEXT, "lo_import of a server file", DFW_FN_REFUSE,
	"Agents may not read files on the database server."},
	{F_LO_IMPORT_TEXT_OID, "lo_import of a server file", DFW_FN_REFUSE,
	"Agents may not read files on the database server."},
	{F_LO_EXPORT, "lo_export to a server file", DFW_FN_REFUSE,
	"Agents may not write files on the database server."},

	/* replicas and backups: the WAL and changes a slot holds for them */
	{F_PG_DROP_REPLICATION_SLOT, "dropping a replication slot", DFW_FN_OWN_SLOT,
	"A replica, a backup or a change feed may depend on it."},
	{F_PG_REPLICATION_SLOT_ADVANCE, "advancing a replication slot", DFW_FN_OWN_SLOT,
	"A replica, a backup or a change feed would silently lose the changes it skips."},
	{F_PG_LOGICAL_SLOT_GET_CHANGES, "consuming a replication slot", DFW_FN_OWN_LOGICAL_SLOT,
	"The change feed that reads this slot would silently lose the changes consumed."},
	{F_PG_LOGICAL_SLOT_GET_BINARY_CHANGES, "consuming a replication slot", DFW_FN_OWN_LOGICAL_SLOT,
	"The change feed that reads this slot would silently lose the changes consumed."},

	/* logical replication subscribers: where an origin says they are */
	{F_PG_REPLICATION_ORIGIN_ADVANCE, "advancing a replication origin", DFW_FN_REFUSE,
	"A subscriber would skip or replay changes."},
	{F_PG_REPLICATION_ORIGIN_DROP, "dropping a replication origin", DFW_FN_REFUSE,
	"A subscriber would lose track of what it has applied."},
	{F_PG_REPLICATION_ORIGIN_SESSION_SETUP, "taking over a replication origin", DFW_FN_REFUSE,
	"The session's commits would advance the origin a subscriber depends on."},
	{F_PG_REPLICATION_ORIGIN_XACT_SETUP, "setting a replication origin's position", DFW_FN_REFUSE,
	"The commit would advance the origin a subscriber depends on."},

	/* the replication topology */
	{F_PG_PROMOTE, "promoting a standby", DFW_FN_REFUSE,
	"It splits the standby from its primary."},
	{F_PG_WAL_REPLAY_PAUSE, "pausing WAL replay", DFW_FN_REFUSE,
	"The standby would fall behind its primary until a human resumes it."},

	/* monitoring and autovacuum: the counters they act on */
	{F_PG_STAT_RESET, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SHARED, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SINGLE_TABLE_COUNTERS, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SINGLE_FUNCTION_COUNTERS, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SLRU, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_REPLICATION_SLOT, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SUBSCRIPTION_STATS, "resetting statistics", DFW_FN_REFUSE,
	"Autovacuum and monitoring depend on the counters."},
};

/* DFW_FUNCTION_GUARDED's bitmap, filled from guarded_functions[] */
bool		dfw_guarded_builtin[DFW_GUARDED_OID_LIMIT];

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

static const DfwGuardedFunction *
guarded_entry(Oid fn)
{
	for (int i = 0; i < lengthof(guarded_functions); i++)
		if (guarded_functions[i].fn == fn)
			return &guarded_functions[i];
	return NULL;
}

/*
 * Is every slot the call could name a temporary slot this backend holds?
 * Only a quick look at shared memory under the control lock (no catalog
 * access, nothing that can raise an error).
 */
static bool
only_own_slots(bool logical_here)
{
	bool		own = true;

	if (ReplicationSlotCtl == NULL)
		return true;			/* no slots at all */
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (int i = 0; i < max_replication_slots && own; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];
		bool		temporary;
		pid_t		holder;
		Oid			database;

		if (!s->in_use)
			continue;
		SpinLockAcquire(&s->mutex);
		temporary = s->data.persistency == RS_TEMPORARY;
		holder = s->active_pid;
		database = s->data.database;
		SpinLockRelease(&s->mutex);
		if (logical_here && database != MyDatabaseId)
			continue;			/* a logical call cannot name it */
		if (!temporary || holder != MyProcPid)
			own = false;
	}
	LWLockRelease(ReplicationSlotControlLock);
	return own;
}

/*
 * Called by OAT_FUNCTION_EXECUTE (hooks.c) for an agent's call of a
 * function DFW_FUNCTION_GUARDED names.
 */
void
dfw_tamper_check_function(Oid fn_oid)
{
	const DfwGuardedFunction *e = guarded_entry(fn_oid);

	if (e == NULL)
		return;
	if (e->check == DFW_FN_REFUSE)
		dfw_tamper_refuse(e->what, e->breaks);
	if (only_own_slots(e->check == DFW_FN_OWN_LOGICAL_SLOT))
		return;
	dfw_tamper_refuse(e->what,
					  psprintf("%s Agents may consume, advance or drop only temporary slots their own session holds, and only while no other slot exists that the call could name.",
							   e->breaks));
}

/* ---------------- replication connections ---------------- */

/*
 * A walsender's role, once authenticated, must not be an agent's.  Runs in
 * the transaction InitPostgres opened for authentication; the shared
 * catalogs pg_authid and pg_auth_members are readable.  When it cannot
 * look, it refuses (fail closed).
 */
static void
dfw_client_auth(Port *port, int status)
{
	Oid			role;
	Oid			agent;
	bool		refuse = false;

	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	if (status != STATUS_OK || !am_walsender || !dfw_enabled)
		return;

	if (!IsTransactionState() || port->user_name == NULL)
		refuse = true;
	else
	{
		role = get_role_oid(port->user_name, true);
		agent = (dfw_agent_role && dfw_agent_role[0]) ?
			get_role_oid(dfw_agent_role, true) : InvalidOid;
		/* an unknown role fails later with PostgreSQL's own message */
		if (OidIsValid(role) && OidIsValid(agent) &&
			dfw_member_nosuper(role, agent))
			refuse = true;
	}
	if (!refuse)
		return;
	ereport(LOG,
			(errmsg_internal("deletion_firewall: event=refused action=tamper target=\"replication connection\" agent=\"%s\" reason=tamper",
							 port->user_name ? port->user_name : "")));
	ereport(FATAL,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("deletion_firewall refused a replication connection for agent \"%s\": this cannot be approved",
					port->user_name ? port->user_name : ""),
			 errdetail("Walsender commands (such as DROP_REPLICATION_SLOT) pass no check of the firewall, and replicas, backups and change feeds depend on what they change. No token or approval can allow this."),
			 errhint("Ask a human to do it from a session that is not an agent's.")));
}

/* ---------------- publications ---------------- */

/* ALTER PUBLICATION, its renaming or a new owner: the session's own only. */
void
dfw_tamper_check_publication(const char *pubname)
{
	ObjectAddress addr;

	addr.classId = PublicationRelationId;
	addr.objectId = get_publication_oid(pubname, true);
	addr.objectSubId = 0;
	if (!OidIsValid(addr.objectId))
		return;					/* PostgreSQL reports it missing */
	if (dfw_object_is_exempt(&addr))
		return;
	dfw_tamper_refuse(psprintf("changing publication \"%s\"", pubname),
					  "A change feed, a replica or an audit pipeline reads it; changing its tables or options silently changes what they receive. Agents may change only publications their session created.");
}

/* Is the table published, by itself, its schema, an ancestor, or all? */
static bool
relation_is_published(Oid relid)
{
	List	   *rels = list_make1_oid(relid);
	ListCell   *lc;

	if (GetAllTablesPublications() != NIL)
		return true;
	if (get_rel_relispartition(relid))
		rels = list_concat(rels, get_partition_ancestors(relid));
	foreach(lc, rels)
	{
		Oid			r = lfirst_oid(lc);

		if (GetRelationPublications(r) != NIL ||
			GetSchemaPublications(get_rel_namespace(r)) != NIL)
			return true;
	}
	return false;
}

/* ALTER TABLE ... REPLICA IDENTITY NOTHING on a published table. */
void
dfw_tamper_check_replica_identity(Oid relid, char identity_type)
{
	if (identity_type != REPLICA_IDENTITY_NOTHING || !OidIsValid(relid))
		return;
	if (relation_is_published(relid))
		dfw_tamper_refuse(psprintf("REPLICA IDENTITY NOTHING on published table \"%s\"",
								   get_rel_name(relid)),
						  "The change feed would no longer identify the rows updated or deleted.");
}

void
dfw_tamper_feeds_init(void)
{
	for (int i = 0; i < lengthof(guarded_functions); i++)
	{
		Assert(guarded_functions[i].fn < DFW_GUARDED_OID_LIMIT);
		dfw_guarded_builtin[guarded_functions[i].fn] = true;
	}

	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = dfw_client_auth;
}
