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
 *	- the replication slots this session created, and the check that an
 *	  agent consumes, advances or drops only those.  OAT_FUNCTION_EXECUTE does not
 *	  see arguments, so the slot functions are also routed through
 *	  fmgr_hook (needs_fmgr_hook says yes for them only), which sees the
 *	  call's expression (flinfo->fn_expr): the slot is the session's own
 *	  only when its name is a constant the session created a slot under
 *	  (recorded at FHET_END of pg_create_*_replication_slot and
 *	  pg_copy_*_replication_slot, so a failed creation records nothing).
 *	  A name from a parameter, a column or the fast-path protocol cannot be
 *	  told: refused (fail closed);
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
#include "nodes/primnodes.h"
#include "replication/walsender.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* What the firewall does with a call of a listed function by an agent. */
typedef enum DfwFnCheck
{
	DFW_FN_REFUSE,				/* always refused */
	DFW_FN_OWN_SLOT,			/* refused unless arg 0 names the session's slot
								 * (a dropped one is forgotten) */
	DFW_FN_RECORD_SLOT			/* allowed; records the slot it creates */
} DfwFnCheck;

typedef struct DfwGuardedFunction
{
	Oid			fn;
	const char *what;			/* for the refusal message */
	DfwFnCheck	check;
	int			slot_arg;		/* DFW_FN_RECORD_SLOT: the new slot's name */
	const char *breaks;			/* the group: what it breaks */
} DfwGuardedFunction;

/*
 * State-changing admin functions, grouped by what they break.  Read-only
 * monitoring (pg_replication_slots, pg_logical_slot_peek_changes,
 * pg_replication_origin_progress, ...) is not listed: agents may use it.
 */
static const DfwGuardedFunction guarded_functions[] = {
	/* server files: a superuser could overwrite postgresql.auto.conf */
	{F_LO_IMPORT_TEXT, "lo_import of a server file", DFW_FN_REFUSE, 0,
	"Agents may not read files on the database server."},
	{F_LO_IMPORT_TEXT_OID, "lo_import of a server file", DFW_FN_REFUSE, 0,
	"Agents may not read files on the database server."},
	{F_LO_EXPORT, "lo_export to a server file", DFW_FN_REFUSE, 0,
	"Agents may not write files on the database server."},

	/* replicas and backups: the WAL and changes a slot holds for them */
	{F_PG_DROP_REPLICATION_SLOT, "dropping a replication slot", DFW_FN_OWN_SLOT, 0,
	"A replica, a backup or a change feed may depend on it."},
	{F_PG_REPLICATION_SLOT_ADVANCE, "advancing a replication slot", DFW_FN_OWN_SLOT, 0,
	"A replica, a backup or a change feed would silently lose the changes it skips."},
	{F_PG_LOGICAL_SLOT_GET_CHANGES, "consuming a replication slot", DFW_FN_OWN_SLOT, 0,
	"The change feed that reads this slot would silently lose the changes consumed."},
	{F_PG_LOGICAL_SLOT_GET_BINARY_CHANGES, "consuming a replication slot", DFW_FN_OWN_SLOT, 0,
	"The change feed that reads this slot would silently lose the changes consumed."},
	{F_PG_CREATE_PHYSICAL_REPLICATION_SLOT, NULL, DFW_FN_RECORD_SLOT, 0, NULL},
	{F_PG_CREATE_LOGICAL_REPLICATION_SLOT, NULL, DFW_FN_RECORD_SLOT, 0, NULL},
	{F_PG_COPY_PHYSICAL_REPLICATION_SLOT_NAME_NAME_BOOL, NULL, DFW_FN_RECORD_SLOT, 1, NULL},
	{F_PG_COPY_PHYSICAL_REPLICATION_SLOT_NAME_NAME, NULL, DFW_FN_RECORD_SLOT, 1, NULL},
	{F_PG_COPY_LOGICAL_REPLICATION_SLOT_NAME_NAME_BOOL_NAME, NULL, DFW_FN_RECORD_SLOT, 1, NULL},
	{F_PG_COPY_LOGICAL_REPLICATION_SLOT_NAME_NAME_BOOL, NULL, DFW_FN_RECORD_SLOT, 1, NULL},
	{F_PG_COPY_LOGICAL_REPLICATION_SLOT_NAME_NAME, NULL, DFW_FN_RECORD_SLOT, 1, NULL},

	/* logical replication subscribers: where an origin says they are */
	{F_PG_REPLICATION_ORIGIN_ADVANCE, "advancing a replication origin", DFW_FN_REFUSE, 0,
	"A subscriber would skip or replay changes."},
	{F_PG_REPLICATION_ORIGIN_DROP, "dropping a replication origin", DFW_FN_REFUSE, 0,
	"A subscriber would lose track of what it has applied."},
	{F_PG_REPLICATION_ORIGIN_SESSION_SETUP, "taking over a replication origin", DFW_FN_REFUSE, 0,
	"The session's commits would advance the origin a subscriber depends on."},
	{F_PG_REPLICATION_ORIGIN_XACT_SETUP, "setting a replication origin's position", DFW_FN_REFUSE, 0,
	"The commit would advance the origin a subscriber depends on."},

	/* the replication topology */
	{F_PG_PROMOTE, "promoting a standby", DFW_FN_REFUSE, 0,
	"It splits the standby from its primary."},
	{F_PG_WAL_REPLAY_PAUSE, "pausing WAL replay", DFW_FN_REFUSE, 0,
	"The standby would fall behind its primary until a human resumes it."},

	/* monitoring and autovacuum: the counters they act on */
	{F_PG_STAT_RESET, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SHARED, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SINGLE_TABLE_COUNTERS, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SINGLE_FUNCTION_COUNTERS, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SLRU, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_REPLICATION_SLOT, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
	{F_PG_STAT_RESET_SUBSCRIPTION_STATS, "resetting statistics", DFW_FN_REFUSE, 0,
	"Autovacuum and monitoring depend on the counters."},
};

/* DFW_FUNCTION_GUARDED's bitmap, filled from guarded_functions[] */
bool		dfw_guarded_builtin[DFW_GUARDED_OID_LIMIT];

/* replication slots created by this session (names, TopMemoryContext) */
static List *own_slots = NIL;

static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;
static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

static const DfwGuardedFunction *
guarded_entry(Oid fn)
{
	for (int i = 0; i < lengthof(guarded_functions); i++)
		if (guarded_functions[i].fn == fn)
			return &guarded_functions[i];
	return NULL;
}

static bool
slot_is_own(const char *name)
{
	ListCell   *lc;

	foreach(lc, own_slots)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * The name a call passes as argument argno, when it is a constant in the
 * call's expression; NULL when it cannot be told.
 */
static char *
const_name_arg(FmgrInfo *flinfo, int argno)
{
	Node	   *expr = flinfo->fn_expr;
	List	   *args;
	Node	   *arg;
	Const	   *c;

	if (expr == NULL || !IsA(expr, FuncExpr))
		return NULL;
	args = ((FuncExpr *) expr)->args;
	if (list_length(args) <= argno)
		return NULL;
	arg = list_nth(args, argno);
	while (arg && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (arg == NULL || !IsA(arg, Const))
		return NULL;
	c = (Const *) arg;
	if (c->constisnull)
		return NULL;
	if (c->consttype == NAMEOID)
		return pstrdup(NameStr(*DatumGetName(c->constvalue)));
	if (c->consttype == TEXTOID)
		return TextDatumGetCString(c->constvalue);
	return NULL;
}

/*
 * Called by OAT_FUNCTION_EXECUTE (hooks.c) for an agent's call of a
 * function DFW_FUNCTION_GUARDED names.
 */
void
dfw_tamper_check_function(Oid fn_oid)
{
	const DfwGuardedFunction *e = guarded_entry(fn_oid);

	if (e == NULL || e->check == DFW_FN_RECORD_SLOT)
		return;
	/* slot functions: without a slot of its own nothing can be the agent's */
	if (e->check == DFW_FN_OWN_SLOT && own_slots != NIL)
		return;					/* fmgr hook decides, with the slot's name */
	dfw_tamper_refuse(e->what, e->check == DFW_FN_OWN_SLOT ?
					  psprintf("%s Agents may consume or advance only the slots their session created.",
							   e->breaks) : e->breaks);
}

static bool
dfw_needs_fmgr_hook(Oid fn_oid)
{
	const DfwGuardedFunction *e;

	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	if (!DFW_FUNCTION_GUARDED(fn_oid))
		return false;
	e = guarded_entry(fn_oid);
	return e != NULL && e->check != DFW_FN_REFUSE;
}

static void
dfw_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	const DfwGuardedFunction *e;

	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);

	if (!DFW_FUNCTION_GUARDED(flinfo->fn_oid))
		return;
	e = guarded_entry(flinfo->fn_oid);
	if (e == NULL || e->check == DFW_FN_REFUSE || !dfw_is_agent())
		return;

	if (event == FHET_START && e->check == DFW_FN_OWN_SLOT)
	{
		char	   *name = const_name_arg(flinfo, 0);

		if (name == NULL)
			dfw_tamper_refuse(e->what,
							  psprintf("%s The slot is not named by a constant, so the firewall cannot tell that this session created it.",
									   e->breaks));
		if (!slot_is_own(name))
			dfw_tamper_refuse(psprintf("%s \"%s\"", e->what, name),
							  psprintf("%s Agents may consume or advance only the slots their session created.",
									   e->breaks));
	}
	else if (event == FHET_END && e->check == DFW_FN_RECORD_SLOT)
	{
		char	   *name = const_name_arg(flinfo, e->slot_arg);

		if (name != NULL && !slot_is_own(name))
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			own_slots = lappend(own_slots, pstrdup(name));
			MemoryContextSwitchTo(old);
		}
	}
	else if (event == FHET_END && flinfo->fn_oid == F_PG_DROP_REPLICATION_SLOT)
	{
		/* gone: a slot a human later creates under the name is not ours */
		char	   *name = const_name_arg(flinfo, 0);
		ListCell   *lc;

		foreach(lc, own_slots)
		{
			if (name != NULL && strcmp((char *) lfirst(lc), name) == 0)
			{
				pfree(lfirst(lc));
				own_slots = foreach_delete_current(own_slots, lc);
				break;
			}
		}
	}
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

	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = dfw_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = dfw_fmgr_hook;
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = dfw_client_auth;
}
