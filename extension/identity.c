/*-------------------------------------------------------------------------
 *
 * identity.c
 *		Who is an agent, who is an approver.
 *
 * A session is an agent's while the authenticated user, the session user
 * or the current user is a member -- direct or indirect, INHERIT or not,
 * superuser status ignored -- of deletion_firewall.agent_role.  Looking at
 * all three means SET ROLE, SET SESSION AUTHORIZATION and SECURITY DEFINER
 * functions never turn an agent into a human.
 *
 * An approver is a session in which none of the three is an agent and the
 * session user is a superuser or a member of deletion_firewall.approver_role.
 *
 * Guarded sessions (dfw_is_guarded) are agents' and, with
 * deletion_firewall.guard_all on, every other session but an approver's:
 * destruction is decided for them as for agents; tamper rules and the
 * refusal of replication connections stay for tagged agents only.
 *
 * The answer is cached for the user triple (and the agent role); a change to
 * roles or memberships arrives as a syscache invalidation, which clears the
 * cache, so a tag granted or revoked takes effect at the agent's next
 * statement.  Humans thus pay a few comparisons per statement, not a
 * membership lookup.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "utils/builtins.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/syscache.h"

typedef struct RoleCache
{
	bool		valid;
	const char *setting;		/* the GUC's string when looked up */
	char		name[NAMEDATALEN];
	Oid			oid;
} RoleCache;

static RoleCache agent_role_cache;
static RoleCache approver_role_cache;

/* last answer of dfw_is_agent() */
static bool agent_cache_valid = false;
static Oid	agent_cache_role;
static Oid	agent_cache_users[3];
static bool agent_cache_answer;

/* last answer of dfw_is_guarded() for a session that is not an agent's */
static bool guard_cache_valid = false;
static Oid	guard_cache_users[3];
static bool guard_cache_answer;

static void
identity_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	agent_role_cache.valid = false;
	approver_role_cache.valid = false;
	agent_cache_valid = false;
	guard_cache_valid = false;
}

void
dfw_identity_init(void)
{
	CacheRegisterSyscacheCallback(AUTHOID, identity_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHNAME, identity_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, identity_invalidate, (Datum) 0);
}

static Oid
cached_role_oid(RoleCache *cache, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return InvalidOid;
	/* a changed setting is a new string: the pointer test is enough */
	if (cache->valid && cache->setting == name)
		return cache->oid;
	if (!cache->valid || strcmp(cache->name, name) != 0)
	{
		cache->oid = get_role_oid(name, true);
		strlcpy(cache->name, name, NAMEDATALEN);
	}
	cache->setting = name;
	cache->valid = true;
	return cache->oid;
}

static void
session_users(Oid users[3])
{
	users[0] = GetSessionUserId();
	users[1] = GetAuthenticatedUserId();
	users[2] = GetUserId();
}

/* Is any of the three users a member of (or equal to) role? */
static bool
any_user_member_of(const Oid users[3], Oid role)
{
	for (int i = 0; i < 3; i++)
	{
		if (i > 0 && users[i] == users[i - 1])
			continue;
		if (OidIsValid(users[i]) && dfw_member_nosuper(users[i], role))
			return true;
	}
	return false;
}

/*
 * Is this session an agent's right now?  Catalog lookups need a valid
 * transaction; outside one no destructive command can run, so the answer
 * there is "no" and the callers that must fail closed check for it.  In
 * binary-upgrade mode (pg_upgrade restoring a schema) nothing is guarded.
 */
bool
dfw_is_agent(void)
{
	Oid			users[3];
	Oid			agent;

	/* pg_upgrade's restore runs as the bootstrap superuser: never an agent */
	if (!dfw_enabled || IsBinaryUpgrade || !IsTransactionState())
		return false;

	session_users(users);
	agent = cached_role_oid(&agent_role_cache, dfw_agent_role);
	if (agent_cache_valid && agent_cache_role == agent &&
		agent_cache_users[0] == users[0] &&
		agent_cache_users[1] == users[1] &&
		agent_cache_users[2] == users[2])
		return agent_cache_answer;

	agent_cache_answer = OidIsValid(agent) && any_user_member_of(users, agent);
	memcpy(agent_cache_users, users, sizeof(users));
	agent_cache_role = agent;
	agent_cache_valid = true;
	return agent_cache_answer;
}

/*
 * Is this session guarded against destruction?  An agent's always; with
 * deletion_firewall.guard_all, every session that is not an approver's too
 * (applications whose roles cannot be told apart from agents).  Tamper
 * rules ask dfw_is_agent() instead: they stay for tagged agents only.
 */
bool
dfw_is_guarded(void)
{
	Oid			users[3];

	/* the usual case: without guard_all, guarded is tagged */
	if (!dfw_guard_all)
		return dfw_is_agent();
	if (dfw_is_agent())
		return true;
	if (!dfw_enabled || IsBinaryUpgrade || !IsTransactionState())
		return false;
	session_users(users);
	if (guard_cache_valid &&
		guard_cache_users[0] == users[0] &&
		guard_cache_users[1] == users[1] &&
		guard_cache_users[2] == users[2])
		return guard_cache_answer;
	guard_cache_answer = !dfw_is_approver();
	memcpy(guard_cache_users, users, sizeof(users));
	guard_cache_valid = true;
	return guard_cache_answer;
}

bool
dfw_is_approver(void)
{
	Oid			approver;
	Oid			agent;
	Oid			users[3];

	if (!IsTransactionState())
		return false;
	/* even with the firewall switched off, an agent never approves */
	session_users(users);
	agent = cached_role_oid(&agent_role_cache, dfw_agent_role);
	if (OidIsValid(agent) && any_user_member_of(users, agent))
		return false;
	if (superuser_arg(GetSessionUserId()))
		return true;
	approver = cached_role_oid(&approver_role_cache, dfw_approver_role);
	return OidIsValid(approver) &&
		dfw_member_nosuper(GetSessionUserId(), approver);
}

/* The agent's name for messages: the first of the three that is tagged. */
const char *
dfw_agent_name(void)
{
	Oid			users[3];
	Oid			agent = cached_role_oid(&agent_role_cache, dfw_agent_role);

	session_users(users);
	for (int i = 0; i < 3; i++)
		if (OidIsValid(agent) && OidIsValid(users[i]) &&
			dfw_member_nosuper(users[i], agent))
			return GetUserNameFromId(users[i], true);
	return GetUserNameFromId(GetSessionUserId(), true);
}

/*
 * Does a token restricted to role "agent" apply to this session?  Only the
 * login counts: a superuser agent could SET ROLE or SET SESSION
 * AUTHORIZATION to the agent a token was meant for.
 */
bool
dfw_user_matches_agent(Oid agent)
{
	if (!OidIsValid(agent))
		return true;
	return dfw_member_nosuper(GetAuthenticatedUserId(), agent);
}

/*
 * Raise an error unless this session may issue or manage confirmations
 * (fname names the SQL function, for the message).
 * Agents get the firewall's tamper refusal; other humans a plain
 * permission error.
 */
void
dfw_require_approver(const char *fname)
{
	Oid			users[3];
	Oid			agent = cached_role_oid(&agent_role_cache, dfw_agent_role);

	session_users(users);
	if (OidIsValid(agent) && any_user_member_of(users, agent))
		dfw_tamper_refuse(psprintf("calling %s", fname),
						  "Agents may not confirm, approve, revoke or list confirmations; only a human approver may.");

	if (!dfw_is_approver())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", fname),
				 errdetail("Only superusers and members of role \"%s\" may do this.",
						   dfw_approver_role),
				 errhint("A superuser can run: GRANT %s TO %s;",
						 quote_identifier(dfw_approver_role),
						 quote_identifier(GetUserNameFromId(GetSessionUserId(), false)))));
}
