/*-------------------------------------------------------------------------
 *
 * tamper.c
 *		What an agent may never do, whatever its privileges, superuser
 *		included, and whatever token it holds.
 *
 *	- change deletion_firewall.* settings other than the token (SET, SET
 *	  LOCAL, RESET, ALTER DATABASE ... SET; set_config() and friends are
 *	  caught by the settings' check hooks in settings.c), ALTER SYSTEM at
 *	  all, LOAD;
 *	- CREATE/ALTER/DROP EXTENSION deletion_firewall, and creating, altering
 *	  or dropping anything that belongs to it or lives in its schema;
 *	- role management: CREATE/ALTER/DROP ROLE, renaming roles, granting or
 *	  revoking role membership;
 *	- INSERT/UPDATE/DELETE (and COPY FROM) on system catalogs, checked at
 *	  execution in ExecutorStart (before the executor's own permission
 *	  checks; COPY FROM in ProcessUtility), so a cached plan in a
 *	  function cannot skip it;
 *	- COPY ... PROGRAM, COPY to or from server files, functions or DO blocks
 *	  in untrusted languages, CREATE LANGUAGE;
 *	- reaching around the server through other sessions: subscriptions,
 *	  foreign-data wrappers, servers, user mappings, and foreign-table
 *	  options that run a program or read a server file;
 *	- settings and triggers that outlive the statement: ALTER DATABASE (SET,
 *	  RESET, options), CREATE/ALTER EVENT TRIGGER;
 *	- publications the session did not create, REPLICA IDENTITY NOTHING on
 *	  a published table (tamper_feeds.c);
 *	- DDL on system catalogs (with allow_system_table_mods).
 *
 * dfw_tamper_check_utility dispatches over the statement's node type, one
 * small function per kind of statement.  The types an agent may run form a
 * known-safe set, listed there by what they are; every other type, and any
 * a future PostgreSQL adds, is refused by the switch's default branch.
 * Built-in admin functions (lo_import, slots, origins, ...) are in
 * tamper_feeds.c's table.
 *
 * Calling confirm/approve/revoke is refused inside those functions
 * (identity.c, dfw_require_approver), so a renamed copy of them is refused
 * too.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "utils/lsyscache.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_depend.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "parser/parse_node.h"
#include "utils/acl.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"

/*
 * Refuse tampering.  No token or approval can allow it, so the refusal is
 * recorded in events (not in blocked) and carries no request id.
 */
void
dfw_tamper_refuse(const char *what, const char *detail)
{
	dfw_audit("refused", "tamper", what, -1, NULL, NULL, NULL, "tamper");
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("deletion_firewall refused %s for agent \"%s\": this cannot be approved",
					what, dfw_agent_name()),
			 errdetail("%s No token or approval can allow this.", detail),
			 errhint("Ask a human to do it from a session that is not an agent's.")));
}

static bool
is_guarded_setting(const char *name)
{
	return name != NULL &&
		pg_strncasecmp(name, "deletion_firewall.", 18) == 0 &&
		pg_strcasecmp(name, "deletion_firewall.token") != 0;
}

static void
refuse_setting(const char *name)
{
	dfw_tamper_refuse(psprintf("changing setting \"%s\"", name),
					  "Agents may change no deletion_firewall setting but deletion_firewall.token.");
}

/* Is the named procedural language untrusted (C, internal, plpython3u...)? */
static bool
language_untrusted(const char *lang)
{
	HeapTuple	tup;
	bool		untrusted;

	if (lang == NULL)
		return false;
	tup = SearchSysCache1(LANGNAME, PointerGetDatum(lang));
	if (!HeapTupleIsValid(tup))
		return false;			/* the command itself will fail */
	untrusted = !((Form_pg_language) GETSTRUCT(tup))->lanpltrusted;
	ReleaseSysCache(tup);
	return untrusted;
}

static char *
option_language(List *options, const char *dflt)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "language") == 0)
			return defGetString(d);
	}
	return (char *) dflt;
}

static bool
list_has_name(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, String) && strcmp(strVal(n), name) == 0)
			return true;
	}
	return false;
}

/* ---------------- the extension's schema, by name ---------------- */

#define FW_SCHEMA "deletion_firewall"

static void
refuse_extension_object(void)
{
	dfw_tamper_refuse("changing an object of the deletion_firewall extension",
					  "The deletion_firewall schema and everything in it belong to the extension.");
}

static bool
firewall_schema_in_path(void)
{
	Oid			nsp = get_namespace_oid(FW_SCHEMA, true);

	return OidIsValid(nsp) && list_member_oid(fetch_search_path(false), nsp);
}

/*
 * A statement names an object by a qualified name; does it name one in the
 * extension's schema?  Qualified names are judged by their schema part;
 * unqualified ones are resolved only when the schema is on the search_path
 * (get_object_address, missing objects ignored).  This runs before
 * PostgreSQL's own ownership and dependency checks, so the refusal is the
 * firewall's whatever the agent's privileges.
 */
static void
check_named_object(ObjectType type, Node *object)
{
	List	   *names = NIL;
	ObjectAddress addr;
	Relation	rel = NULL;

	if (object == NULL)
		return;
	switch (type)
	{
		case OBJECT_SCHEMA:
		case OBJECT_EXTENSION:
			if (IsA(object, String) && strcmp(strVal(object), FW_SCHEMA) == 0)
				refuse_extension_object();
			return;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
			if (IsA(object, ObjectWithArgs))
				names = ((ObjectWithArgs *) object)->objname;
			break;
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			if (IsA(object, TypeName))
				names = ((TypeName *) object)->names;
			break;
		case OBJECT_TRIGGER:
		case OBJECT_POLICY:
		case OBJECT_RULE:
		case OBJECT_TABCONSTRAINT:
			/* table name first, the object's own name last */
			if (IsA(object, List))
				names = list_truncate(list_copy((List *) object),
									  list_length((List *) object) - 1);
			break;
		default:
			if (IsA(object, List))
				names = (List *) object;
			break;
	}
	if (names == NIL)
		return;
	if (list_length(names) >= 2)
	{
		Node	   *schema = list_nth(names, list_length(names) - 2);

		if (IsA(schema, String) && strcmp(strVal(schema), FW_SCHEMA) == 0)
			refuse_extension_object();
		return;
	}
	if (!firewall_schema_in_path())
		return;
	addr = get_object_address(type, object, &rel, AccessShareLock, true);
	if (rel != NULL)
		relation_close(rel, NoLock);
	if (OidIsValid(addr.objectId) && dfw_is_extension_object(&addr))
		refuse_extension_object();
}

static void
check_named_relation(RangeVar *rv)
{
	Oid			relid;
	ObjectAddress addr;

	if (rv == NULL)
		return;
	if (rv->schemaname != NULL)
	{
		if (strcmp(rv->schemaname, FW_SCHEMA) == 0)
			refuse_extension_object();
		return;
	}
	if (!firewall_schema_in_path())
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return;
	addr.classId = RelationRelationId;
	addr.objectId = relid;
	addr.objectSubId = 0;
	if (dfw_is_extension_object(&addr))
		refuse_extension_object();
}

static void
check_grant(GrantStmt *g)
{
	ListCell   *lc;

	if (g->targtype == ACL_TARGET_ALL_IN_SCHEMA)
	{
		foreach(lc, g->objects)
			if (strcmp(strVal(lfirst(lc)), FW_SCHEMA) == 0)
				refuse_extension_object();
		return;
	}
	if (g->targtype != ACL_TARGET_OBJECT)
		return;
	foreach(lc, g->objects)
	{
		Node	   *o = lfirst(lc);

		if (IsA(o, RangeVar))
			check_named_relation((RangeVar *) o);
		else
			check_named_object(g->objtype, o);
	}
}

/* COPY FROM into a system catalog, refused before PostgreSQL's own check. */
static void
check_copy_into_catalog(CopyStmt *c)
{
	Oid			relid;

	if (!c->is_from || c->relation == NULL)
		return;
	relid = RangeVarGetRelid(c->relation, NoLock, true);
	if (OidIsValid(relid) && IsCatalogRelationOid(relid))
		dfw_tamper_refuse(psprintf("writing to system catalog \"%s\"", get_rel_name(relid)),
						  "Agents may not insert, update or delete rows of system catalogs.");
}

static bool
type_is_temporary(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	bool		temp = false;

	if (HeapTupleIsValid(tup))
	{
		temp = isAnyTempNamespace(((Form_pg_type) GETSTRUCT(tup))->typnamespace);
		ReleaseSysCache(tup);
	}
	return temp;
}

/*
 * ALTER TABLE on a permanent table that would make it (or one of its
 * columns) depend on a temporary type: the cleanup of the temporary schema
 * at the end of the session would then drop the table (ALTER TABLE ... OF)
 * or the column, with its data, as an internal deletion nobody decides on.
 */
static void
check_temp_type_use(AlterTableStmt *stmt)
{
	ListCell   *lc;
	Oid			relid;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) ||
		get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);
		TypeName   *tn = NULL;
		Oid			typid;

		if (cmd->subtype == AT_AddOf && cmd->def && IsA(cmd->def, TypeName))
			tn = (TypeName *) cmd->def;
		else if ((cmd->subtype == AT_AlterColumnType ||
				  cmd->subtype == AT_AddColumn) &&
				 cmd->def && IsA(cmd->def, ColumnDef))
			tn = ((ColumnDef *) cmd->def)->typeName;
		if (tn == NULL)
			continue;
		typid = LookupTypeNameOid(NULL, tn, true);
		if (OidIsValid(typid) && type_is_temporary(typid))
			dfw_tamper_refuse(psprintf("making table \"%s\" depend on a temporary type",
									   get_rel_name(relid)),
							  "The end of the session would drop it, or its column, with the temporary type.");
	}
}

/* ---------------- one function per kind of statement ---------------- */

/* SET / RESET of a firewall setting in the session. */
static void
check_set(VariableSetStmt *s)
{
	if (is_guarded_setting(s->name))
		refuse_setting(s->name);
}

/*
 * ALTER DATABASE: SET/RESET of any setting outlives the statement for
 * everyone who connects later (session_replication_role switches off
 * foreign-key cascades, session_preload_libraries locks humans out, role
 * makes them act as another); its options (ALLOW_CONNECTIONS, CONNECTION
 * LIMIT, IS_TEMPLATE, TABLESPACE) and REFRESH COLLATION VERSION likewise.
 */
static void
check_alter_database(Node *parsetree)
{
	if (IsA(parsetree, AlterDatabaseSetStmt))
	{
		VariableSetStmt *s = ((AlterDatabaseSetStmt *) parsetree)->setstmt;

		if (is_guarded_setting(s->name))
			refuse_setting(s->name);
		dfw_tamper_refuse(s->kind == VAR_RESET_ALL ? pstrdup("ALTER DATABASE ... RESET ALL") :
						  psprintf("ALTER DATABASE ... %s %s",
								   s->kind == VAR_RESET ? "RESET" : "SET",
								   s->name ? s->name : ""),
						  "A database setting applies to every later session, humans' included.");
	}
	dfw_tamper_refuse(IsA(parsetree, AlterDatabaseRefreshCollStmt) ?
					  "ALTER DATABASE ... REFRESH COLLATION VERSION" : "ALTER DATABASE",
					  "A database's options apply to every later session, humans' included.");
}

/* The server's configuration and code. */
static void
check_server(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_AlterSystemStmt:
			dfw_tamper_refuse("ALTER SYSTEM",
							  "Agents may not change the server configuration.");
			break;
		case T_LoadStmt:
			dfw_tamper_refuse("LOAD", "Agents may not load libraries.");
			break;
		case T_CreatePLangStmt:
			dfw_tamper_refuse("CREATE LANGUAGE", "Agents may not add procedural languages.");
			break;
		default:
			break;
	}
}

/* The firewall's own extension. */
static void
check_extension(Node *parsetree)
{
	const char *extname = NULL;

	if (IsA(parsetree, CreateExtensionStmt))
		extname = ((CreateExtensionStmt *) parsetree)->extname;
	else if (IsA(parsetree, AlterExtensionStmt))
		extname = ((AlterExtensionStmt *) parsetree)->extname;
	else if (IsA(parsetree, AlterExtensionContentsStmt))
		extname = ((AlterExtensionContentsStmt *) parsetree)->extname;

	if (extname && strcmp(extname, "deletion_firewall") == 0)
		dfw_tamper_refuse(IsA(parsetree, CreateExtensionStmt) ?
						  "CREATE EXTENSION deletion_firewall" : "ALTER EXTENSION deletion_firewall",
						  "Agents may not create, alter or drop the firewall's extension.");
	/* membership widens what a token for the extension covers */
	if (IsA(parsetree, AlterExtensionContentsStmt) &&
		((AlterExtensionContentsStmt *) parsetree)->action > 0)
		dfw_tamper_refuse("ALTER EXTENSION ... ADD",
						  "An object added to an extension would be covered by a token for the extension.");
}

/* DROP: the removal itself is decided elsewhere; here only the extension. */
static void
check_drop(DropStmt *s)
{
	ListCell   *lc;

	if (s->removeType == OBJECT_EXTENSION &&
		list_has_name(s->objects, "deletion_firewall"))
		dfw_tamper_refuse("DROP EXTENSION deletion_firewall",
						  "Agents may not create, alter or drop the firewall's extension.");
	foreach(lc, s->objects)
		check_named_object(s->removeType, lfirst(lc));
}

/*
 * Objects that reach around the server or that others depend on cannot be
 * renamed or given away by an agent either.
 */
static void
check_feed_object(ObjectType type, Node *object, const char *how)
{
	switch (type)
	{
		case OBJECT_SUBSCRIPTION:
		case OBJECT_FDW:
		case OBJECT_FOREIGN_SERVER:
		case OBJECT_EVENT_TRIGGER:
			dfw_tamper_refuse(psprintf("%s of %s", how,
									   type == OBJECT_SUBSCRIPTION ? "a subscription" :
									   type == OBJECT_FDW ? "a foreign-data wrapper" :
									   type == OBJECT_FOREIGN_SERVER ? "a foreign server" :
									   "an event trigger"),
							  "Agents may not manage subscriptions, foreign-data wrappers, foreign servers or event triggers.");
			break;
		case OBJECT_PUBLICATION:
			if (object && IsA(object, String))
				dfw_tamper_check_publication(strVal(object));
			break;
		default:
			break;
	}
}

static void
check_rename(RenameStmt *s)
{
	if (s->renameType == OBJECT_ROLE)
		dfw_tamper_refuse("ALTER ROLE ... RENAME", "Agents may not manage roles.");
	if (s->renameType == OBJECT_SCHEMA && s->subname &&
		strcmp(s->subname, FW_SCHEMA) == 0)
		refuse_extension_object();
	check_feed_object(s->renameType, s->object, "renaming");
	check_named_relation(s->relation);
	check_named_object(s->renameType, s->object);
}

static void
check_set_schema(AlterObjectSchemaStmt *s)
{
	if (s->newschema && strcmp(s->newschema, FW_SCHEMA) == 0)
		refuse_extension_object();
	check_named_relation(s->relation);
	check_named_object(s->objectType, s->object);
}

static void
check_owner(AlterOwnerStmt *s)
{
	check_feed_object(s->objectType, s->object, "changing the owner");
	check_named_relation(s->relation);
	check_named_object(s->objectType, s->object);
}

/* Role management: an agent must not mint a clean identity or shed its tag. */
static void
check_role(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_CreateRoleStmt:
			dfw_tamper_refuse("CREATE ROLE",
							  "Agents may not manage roles: a new role would be an identity without the agent tag.");
			break;
		case T_AlterRoleStmt:
		case T_AlterRoleSetStmt:
			dfw_tamper_refuse("ALTER ROLE", "Agents may not manage roles.");
			break;
		case T_DropRoleStmt:
			dfw_tamper_refuse("DROP ROLE", "Agents may not manage roles.");
			break;
		case T_GrantRoleStmt:
			dfw_tamper_refuse(((GrantRoleStmt *) parsetree)->is_grant ?
							  "GRANT of role membership" : "REVOKE of role membership",
							  "Agents may not grant or revoke role membership.");
			break;
		case T_ReassignOwnedStmt:
			dfw_tamper_refuse("REASSIGN OWNED",
							  "Agents may not move every object of a role to another.");
			break;
		default:
			break;
	}
}

/* COPY: client side only. */
static void
check_copy(CopyStmt *s)
{
	if (s->is_program)
		dfw_tamper_refuse("COPY ... PROGRAM",
						  "Agents may not run programs on the database server.");
	if (s->filename != NULL)
		dfw_tamper_refuse(s->is_from ? "COPY FROM a server file" : "COPY TO a server file",
						  "Agents may not read or write files on the database server; use COPY ... FROM STDIN or TO STDOUT.");
	check_copy_into_catalog(s);
}

/* Code: trusted languages only, and not into the extension's schema. */
static void
check_create_function(CreateFunctionStmt *s)
{
	char	   *lang = option_language(s->options, s->sql_body ? "sql" : NULL);

	if (language_untrusted(lang))
		dfw_tamper_refuse(psprintf("creating a function in untrusted language \"%s\"", lang),
						  "Agents may create functions in trusted languages only.");
	/* a function created in (or replaced into) the schema */
	if (list_length(s->funcname) >= 2)
	{
		Node	   *schema = list_nth(s->funcname, list_length(s->funcname) - 2);

		if (strcmp(strVal(schema), FW_SCHEMA) == 0)
			refuse_extension_object();
	}
	else if (firewall_schema_in_path())
	{
		char	   *name;
		Oid			nsp = QualifiedNameGetCreationNamespace(s->funcname, &name);

		if (nsp == get_namespace_oid(FW_SCHEMA, true))
			refuse_extension_object();
	}
}

static void
check_do(DoStmt *s)
{
	char	   *lang = option_language(s->args, "plpgsql");

	if (language_untrusted(lang))
		dfw_tamper_refuse(psprintf("a DO block in untrusted language \"%s\"", lang),
						  "Agents may run code in trusted languages only.");
}

/*
 * Foreign-data options that run a program or read a server file
 * (file_fdw's program and filename).  Refused for any wrapper: the
 * firewall cannot know what another wrapper does with an option of that
 * name.
 */
static void
check_fdw_options(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (d->defname && (pg_strcasecmp(d->defname, "program") == 0 ||
						   pg_strcasecmp(d->defname, "filename") == 0))
			dfw_tamper_refuse(psprintf("a foreign table with option \"%s\"", d->defname),
							  "Agents may not run programs or read files on the database server.");
	}
}

static void
check_column_fdw_options(List *elts)
{
	ListCell   *lc;

	foreach(lc, elts)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, ColumnDef))
			check_fdw_options(((ColumnDef *) n)->fdwoptions);
	}
}

/*
 * Reaching around the server through other sessions: wrappers, servers
 * and user mappings carry credentials and commands (an agent-made mapping
 * to a human's role runs the agent's deletes as that human); a
 * subscription's apply worker deletes and truncates unchecked.
 */
static void
check_foreign_data(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_CreateFdwStmt:
		case T_AlterFdwStmt:
			dfw_tamper_refuse(IsA(parsetree, CreateFdwStmt) ?
							  "CREATE FOREIGN DATA WRAPPER" : "ALTER FOREIGN DATA WRAPPER",
							  "A foreign-data wrapper's handler and options act for every user of it.");
			break;
		case T_CreateForeignServerStmt:
		case T_AlterForeignServerStmt:
			dfw_tamper_refuse(IsA(parsetree, CreateForeignServerStmt) ?
							  "CREATE SERVER" : "ALTER SERVER",
							  "A foreign server's options say where every user of it connects.");
			break;
		case T_CreateUserMappingStmt:
		case T_AlterUserMappingStmt:
			dfw_tamper_refuse(IsA(parsetree, CreateUserMappingStmt) ?
							  "CREATE USER MAPPING" : "ALTER USER MAPPING",
							  "A user mapping carries credentials: the statements run through it would act as another role.");
			break;
		case T_CreateForeignTableStmt:
			{
				CreateForeignTableStmt *s = (CreateForeignTableStmt *) parsetree;

				check_named_relation(s->base.relation);
				check_fdw_options(s->options);
				check_column_fdw_options(s->base.tableElts);
				break;
			}
		case T_ImportForeignSchemaStmt:
			/* each foreign table it makes passes here as CREATE FOREIGN TABLE */
			check_fdw_options(((ImportForeignSchemaStmt *) parsetree)->options);
			break;
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
			dfw_tamper_refuse(IsA(parsetree, CreateSubscriptionStmt) ?
							  "CREATE SUBSCRIPTION" : "ALTER SUBSCRIPTION",
							  "A subscription's apply worker writes, deletes and truncates rows that no check of the firewall sees.");
			break;
		default:
			break;
	}
}

/* A planted event trigger runs later in a human's DDL. */
static void
check_event_trigger(Node *parsetree)
{
	dfw_tamper_refuse(IsA(parsetree, CreateEventTrigStmt) ?
					  "CREATE EVENT TRIGGER" : "ALTER EVENT TRIGGER",
					  "An event trigger runs in every later session's DDL, humans' included.");
}

/*
 * ALTER TABLE (and ALTER INDEX/VIEW/SEQUENCE/FOREIGN TABLE): the
 * extension's tables, temporary types, foreign-table options, and REPLICA
 * IDENTITY NOTHING on a published table.
 */
static void
check_alter_table(AlterTableStmt *stmt)
{
	ListCell   *lc;
	Oid			relid = InvalidOid;

	check_named_relation(stmt->relation);
	check_temp_type_use(stmt);
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		switch (cmd->subtype)
		{
			case AT_GenericOptions:
			case AT_AlterColumnGenericOptions:
				if (cmd->def && IsA(cmd->def, List))
					check_fdw_options((List *) cmd->def);
				break;
			case AT_AddColumn:
				if (cmd->def && IsA(cmd->def, ColumnDef))
					check_fdw_options(((ColumnDef *) cmd->def)->fdwoptions);
				break;
			case AT_ReplicaIdentity:
				if (cmd->def && IsA(cmd->def, ReplicaIdentityStmt))
				{
					if (!OidIsValid(relid))
						relid = RangeVarGetRelid(stmt->relation, NoLock, true);
					dfw_tamper_check_replica_identity(relid,
													  ((ReplicaIdentityStmt *) cmd->def)->identity_type);
				}
				break;
			default:
				break;
		}
	}
}

/* Not in the known-safe set: refused, so what a new major adds fails closed. */
static void
refuse_unknown_statement(Node *parsetree)
{
	dfw_tamper_refuse(psprintf("statement %s",
							   GetCommandTagName(CreateCommandTag(parsetree))),
					  "It is not among the statements known to be safe for agents.");
}

/*
 * An agent's utility statement.  The statement types an agent may run form
 * a known-safe set, listed below by what they are; some are checked
 * further by the function named.  Every other type, including those a
 * future PostgreSQL adds, is refused by the default branch.
 */
void
dfw_tamper_check_utility(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
			/* sessions and transactions: change nothing that outlives them */
		case T_TransactionStmt:
		case T_VariableShowStmt:
		case T_DiscardStmt:
		case T_ConstraintsSetStmt:
		case T_PrepareStmt:
		case T_ExecuteStmt:
		case T_DeallocateStmt:
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_ExplainStmt:
		case T_CallStmt:
		case T_LockStmt:
		case T_ListenStmt:
		case T_UnlistenStmt:
		case T_NotifyStmt:
			break;
		case T_VariableSetStmt:
			check_set((VariableSetStmt *) parsetree);
			break;
		case T_DoStmt:
			check_do((DoStmt *) parsetree);
			break;
		case T_CopyStmt:
			check_copy((CopyStmt *) parsetree);
			break;

			/* maintenance: rewrites and statistics, same data */
		case T_VacuumStmt:
		case T_ReindexStmt:
		case T_ClusterStmt:
		case T_RefreshMatViewStmt:
		case T_CheckPointStmt:
			break;

			/* removal: decided by the destruction rules (hooks.c) */
		case T_TruncateStmt:
		case T_DropOwnedStmt:
		case T_DropUserMappingStmt:
		case T_DropSubscriptionStmt:
		case T_DropdbStmt:
			break;
		case T_DropStmt:
			check_drop((DropStmt *) parsetree);
			break;

			/* schema migrations: new or changed objects of one's own */
		case T_CreateSchemaStmt:
		case T_CreateSeqStmt:
		case T_AlterSeqStmt:
		case T_IndexStmt:
		case T_CreateTableAsStmt:
		case T_CompositeTypeStmt:
		case T_CreateEnumStmt:
		case T_AlterEnumStmt:
		case T_CreateRangeStmt:
		case T_AlterTypeStmt:
		case T_CreateDomainStmt:
		case T_AlterDomainStmt:
		case T_DefineStmt:
		case T_CreateTrigStmt:
		case T_RuleStmt:
		case T_CreatePolicyStmt:
		case T_AlterPolicyStmt:
		case T_CreateStatsStmt:
		case T_AlterStatsStmt:
		case T_CreateCastStmt:
		case T_AlterTSDictionaryStmt:
		case T_AlterTSConfigurationStmt:
		case T_CommentStmt:
		case T_AlterDefaultPrivilegesStmt:
		case T_CreatePublicationStmt:
		case T_CreatedbStmt:
			break;
		case T_CreateStmt:
			check_named_relation(((CreateStmt *) parsetree)->relation);
			break;
		case T_ViewStmt:
			check_named_relation(((ViewStmt *) parsetree)->view);
			break;
		case T_AlterTableStmt:
			check_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_CreateFunctionStmt:
			check_create_function((CreateFunctionStmt *) parsetree);
			break;
		case T_AlterFunctionStmt:
			check_named_object(((AlterFunctionStmt *) parsetree)->objtype,
							   (Node *) ((AlterFunctionStmt *) parsetree)->func);
			break;
		case T_RenameStmt:
			check_rename((RenameStmt *) parsetree);
			break;
		case T_AlterObjectSchemaStmt:
			check_set_schema((AlterObjectSchemaStmt *) parsetree);
			break;
		case T_AlterOwnerStmt:
			check_owner((AlterOwnerStmt *) parsetree);
			break;
		case T_GrantStmt:
			check_grant((GrantStmt *) parsetree);
			break;
		case T_CreateExtensionStmt:
		case T_AlterExtensionStmt:
		case T_AlterExtensionContentsStmt:
			check_extension(parsetree);
			break;

			/* change feeds: the session's own publications only */
		case T_AlterPublicationStmt:
			dfw_tamper_check_publication(((AlterPublicationStmt *) parsetree)->pubname);
			break;

			/* foreign tables without server programs or files */
		case T_CreateForeignTableStmt:
		case T_ImportForeignSchemaStmt:
			check_foreign_data(parsetree);
			break;

			/* refused: reaching around the server through other sessions */
		case T_CreateFdwStmt:
		case T_AlterFdwStmt:
		case T_CreateForeignServerStmt:
		case T_AlterForeignServerStmt:
		case T_CreateUserMappingStmt:
		case T_AlterUserMappingStmt:
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
			check_foreign_data(parsetree);
			break;

			/* refused: settings and triggers that outlive the statement */
		case T_AlterDatabaseSetStmt:
		case T_AlterDatabaseStmt:
		case T_AlterDatabaseRefreshCollStmt:
			check_alter_database(parsetree);
			break;
		case T_CreateEventTrigStmt:
		case T_AlterEventTrigStmt:
			check_event_trigger(parsetree);
			break;

			/* refused: the server's configuration and code */
		case T_AlterSystemStmt:
		case T_LoadStmt:
		case T_CreatePLangStmt:
			check_server(parsetree);
			break;

			/* refused: roles */
		case T_CreateRoleStmt:
		case T_AlterRoleStmt:
		case T_AlterRoleSetStmt:
		case T_DropRoleStmt:
		case T_GrantRoleStmt:
		case T_ReassignOwnedStmt:
			check_role(parsetree);
			break;

		default:
			refuse_unknown_statement(parsetree);
			break;
	}
}

/*
 * C functions of contrib extensions a human may have installed that would
 * let an agent around the firewall: a connection back into the server as
 * another role (dblink: over a trusting pg_hba line, a superuser agent can
 * come back as a human), rows destroyed below the executor (pg_surgery),
 * server files written or removed (adminpack).
 */
static const char *const refused_c_functions[] = {
	"dblink_connect", "dblink_connect_u", "dblink_exec", "dblink_record",
	"dblink_send_query",
	"heap_force_kill", "heap_force_freeze",
	"pg_file_write", "pg_file_write_v1_1", "pg_file_rename",
	"pg_file_rename_v1_1", "pg_file_unlink", "pg_file_unlink_v1_1",
	"pg_file_sync",
	NULL
};

static HTAB *c_function_cache = NULL;
static bool c_function_cache_stale = false;

/*
 * A function was created, replaced or dropped: look again.  (Only a flag:
 * this can run in the middle of c_function_refused's own catalog lookup.)
 */
static void
c_function_cache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	c_function_cache_stale = true;
}

/* Is fn_oid a C function in refused_c_functions?  Cached per function. */
static bool
c_function_refused(Oid fn_oid, char **name)
{
	typedef struct
	{
		Oid			fn;
		bool		refused;
		char		name[NAMEDATALEN];
	} Entry;
	Entry	   *e;
	bool		found;

	if (c_function_cache != NULL && c_function_cache_stale)
	{
		hash_destroy(c_function_cache);
		c_function_cache = NULL;
	}
	c_function_cache_stale = false;
	if (c_function_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(Entry);
		ctl.hcxt = TopMemoryContext;
		c_function_cache = hash_create("deletion_firewall functions", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(c_function_cache, &fn_oid, HASH_ENTER, &found);
	if (!found)
	{
		HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));

		e->refused = false;
		e->name[0] = '\0';
		if (HeapTupleIsValid(tup))
		{
			Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);

			if (proc->prolang == ClanguageId)
			{
				bool		isnull;
				Datum		src = SysCacheGetAttr(PROCOID, tup,
												  Anum_pg_proc_prosrc, &isnull);

				if (!isnull)
				{
					char	   *sym = TextDatumGetCString(src);

					for (int i = 0; refused_c_functions[i]; i++)
						if (strcmp(sym, refused_c_functions[i]) == 0)
							e->refused = true;
				}
				strlcpy(e->name, NameStr(proc->proname), NAMEDATALEN);
			}
			ReleaseSysCache(tup);
		}
	}
	*name = e->name;
	return e->refused;
}

/* Calls of functions outside the core an agent may not make. */
void
dfw_tamper_check_extension_function(Oid fn_oid)
{
	char	   *name;

	if (c_function_refused(fn_oid, &name))
		dfw_tamper_refuse(psprintf("calling %s()", name),
						  "It would let an agent act as another role, destroy rows below the executor, or write server files.");
}

/* Creating, altering or dropping the extension's objects, or catalogs. */
void
dfw_tamper_check_object(int access, const ObjectAddress *addr)
{
	if (access != OAT_DROP && addr->classId == RelationRelationId &&
		IsCatalogRelationOid(addr->objectId))
		dfw_tamper_refuse(psprintf("altering system catalog \"%s\"",
								   get_rel_name(addr->objectId)),
						  "Agents may not change system catalogs.");
	if (!dfw_is_extension_object(addr))
		return;
	dfw_tamper_refuse(psprintf("%s %s",
							   access == OAT_DROP ? "dropping" :
							   access == OAT_POST_CREATE ? "creating or replacing" : "altering",
							   getObjectDescription(addr, true) ?
							   getObjectDescription(addr, true) : "an object of deletion_firewall"),
					  "It belongs to the deletion_firewall extension.");
}

/* A new object: refused only if it is made in the extension's schema. */
void
dfw_tamper_check_new_object(const ObjectAddress *addr)
{
	Oid			nsp = dfw_new_object_namespace(addr);
	char	   *name = OidIsValid(nsp) ? get_namespace_name(nsp) : NULL;

	if (name != NULL && strcmp(name, "deletion_firewall") == 0)
		dfw_tamper_refuse("creating an object in schema deletion_firewall",
						  "The schema belongs to the deletion_firewall extension.");
}

static void
check_catalog_write(Oid relid, AclMode perms)
{
	if ((perms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) == 0)
		return;
	if (!IsCatalogRelationOid(relid))
		return;
	dfw_tamper_refuse(psprintf("writing to system catalog \"%s\"", get_rel_name(relid)),
					  "Agents may not insert, update or delete rows of system catalogs.");
}

/* Executor permission check: no writes to system catalogs. */
void
dfw_tamper_check_perms(List *rangeTable, List *permInfos)
{
	ListCell   *lc;

#if PG_VERSION_NUM >= 160000
	foreach(lc, permInfos)
	{
		RTEPermissionInfo *p = lfirst(lc);

		check_catalog_write(p->relid, p->requiredPerms);
	}
#else
	foreach(lc, rangeTable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION)
			check_catalog_write(rte->relid, rte->requiredPerms);
	}
#endif
}

void
dfw_tamper_init(void)
{
	CacheRegisterSyscacheCallback(PROCOID, c_function_cache_reset, (Datum) 0);
	dfw_tamper_feeds_init();
}
