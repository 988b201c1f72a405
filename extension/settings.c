/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The deletion_firewall.* configuration parameters.
 *
 * Each setting has the least context that works (see README, "Settings").
 * Only deletion_firewall.token may be set by anyone.  max_rows and
 * guard_update are PGC_SUSET so that a DBA can set them per role and per
 * database; their check hook refuses them to agents (superuser agents
 * included) whatever route the new value takes -- SET, set_config() under
 * any name, a function's SET clause, or connection options -- because all
 * of those end in set_config_option() with a session or client source.
 * Values from the configuration file and from ALTER ROLE/DATABASE ... SET
 * (which tamper.c refuses to agents) apply to agents as usual.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include <ctype.h>
#include <limits.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "utils/guc.h"

bool		dfw_enabled = true;
char	   *dfw_agent_role = NULL;
char	   *dfw_approver_role = NULL;
int			dfw_max_rows = 100;
bool		dfw_guard_update = true;
int			dfw_max_valid_for = 3600;
int			dfw_max_tokens = 1024;
char	   *dfw_token = NULL;

/*
 * May this change to a guarded setting go ahead?  Refused to agents when it
 * comes from the session (SET, set_config, function SET clauses) or from
 * the client's connection options.
 */
static bool
check_guarded_setting(GucSource source)
{
	if (source != PGC_S_CLIENT && source != PGC_S_SESSION &&
		source != PGC_S_INTERACTIVE)
		return true;

	/* a parallel worker restores what its leader was already allowed */
	if (IsParallelWorker())
		return true;

	/* cannot tell who is asking: fail closed */
	if (!IsTransactionState() || dfw_is_agent())
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("deletion_firewall refuses to let an agent change its settings");
		GUC_check_errdetail("Only deletion_firewall.token may be set in an agent's session.");
		GUC_check_errhint("A human can change this setting in postgresql.conf or with ALTER ROLE/DATABASE ... SET.");
		return false;
	}
	return true;
}

static bool
check_max_rows(int *newval, void **extra, GucSource source)
{
	return check_guarded_setting(source);
}

static bool
check_guard_update(bool *newval, void **extra, GucSource source)
{
	return check_guarded_setting(source);
}

bool
dfw_token_is_wellformed(const char *s)
{
	size_t		plen = strlen(DFW_TOKEN_PREFIX);

	if (strncmp(s, DFW_TOKEN_PREFIX, plen) != 0 ||
		strlen(s) != plen + DFW_TOKEN_HEXLEN)
		return false;
	for (s += plen; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static bool
check_token(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (dfw_token_is_wellformed(*newval))
		return true;

	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("invalid deletion_firewall confirmation token");
	GUC_check_errdetail("A token is \"%s\" followed by %d lowercase hexadecimal digits.",
						DFW_TOKEN_PREFIX, DFW_TOKEN_HEXLEN);
	GUC_check_errhint("Use the text returned by deletion_firewall.confirm() exactly as it is.");
	return false;
}

void
dfw_settings_init(void)
{
	DefineCustomBoolVariable("deletion_firewall.enabled",
							 "Master switch of the deletion firewall.",
							 NULL,
							 &dfw_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("deletion_firewall.agent_role",
							   "Role whose members (direct or indirect) are agents.",
							   NULL,
							   &dfw_agent_role,
							   "deletion_firewall_agent",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("deletion_firewall.approver_role",
							   "Role whose members may issue confirmations.",
							   NULL,
							   &dfw_approver_role,
							   "deletion_firewall_approver",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.max_rows",
							"Rows an agent statement may delete (or update) without a token.",
							"-1 means no limit, 0 means none.",
							&dfw_max_rows,
							100, -1, INT_MAX,
							PGC_SUSET, 0,
							check_max_rows, NULL, NULL);

	DefineCustomBoolVariable("deletion_firewall.guard_update",
							 "Count UPDATE like DELETE against max_rows.",
							 NULL,
							 &dfw_guard_update,
							 true,
							 PGC_SUSET, 0,
							 check_guard_update, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.max_valid_for",
							"Longest lifetime of a token or approval.",
							NULL,
							&dfw_max_valid_for,
							3600, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.max_tokens",
							"Shared-memory slots for tokens and approvals.",
							NULL,
							&dfw_max_tokens,
							1024, 16, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("deletion_firewall.token",
							   "The session's confirmation token.",
							   NULL,
							   &dfw_token,
							   "",
							   PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   check_token, NULL, NULL);

	MarkGUCPrefixReserved("deletion_firewall");
}
