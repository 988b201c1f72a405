/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The deletion_firewall.* configuration parameters.
 *
 * Who may change each setting is the SPEC's (see README, "Settings"): the
 * configuration file only (enabled, agent_role, approver_role,
 * max_valid_for, guard_all), superusers too (max_rows, guard_update,
 * window_seconds, window_rows, require_where, mode; per role and database
 * as well), anyone (token), server start (max_tokens, window_entries,
 * enforced by their check hooks against the shared memory already sized).  Agents may
 * change none but the token, superuser agents included, whatever route the
 * new value takes -- SET, set_config() under any name, a function's SET
 * clause, connection options, ALTER ROLE/DATABASE ... SET -- because all of
 * those end in set_config_option() with a session, client or test source,
 * which calls the check hook below.  See check_setting() for why the
 * settings are declared PGC_USERSET and enforce their context themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include <ctype.h>
#include <limits.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"

bool		dfw_enabled = true;
char	   *dfw_agent_role = NULL;
char	   *dfw_approver_role = NULL;
int			dfw_max_rows = 100;
bool		dfw_guard_update = true;
int			dfw_max_valid_for = 3600;
int			dfw_max_tokens = 1024;
int			dfw_window_entries = 4096;
char	   *dfw_token = NULL;
int			dfw_window_seconds = 3600;
int			dfw_window_rows = 1000;
bool		dfw_require_where = true;
bool		dfw_guard_all = false;
int			dfw_mode = DFW_MODE_ENFORCE;

static const struct config_enum_entry mode_options[] = {
	{"enforce", DFW_MODE_ENFORCE, false},
	{"warn", DFW_MODE_WARN, false},
	{NULL, 0, false}
};

/* Who may change a setting, beside the configuration file. */
typedef enum SettingOwner
{
	CONFIG_FILE_ONLY,			/* postgresql.conf (and ALTER SYSTEM) only */
	SUPERUSER_TOO				/* also superusers: SET, ALTER ROLE/DATABASE */
} SettingOwner;

/*
 * May this change to a firewall setting go ahead?
 *
 * The settings are defined PGC_USERSET so that every change, whoever makes
 * it, reaches this check hook: with PGC_SUSET or PGC_SIGHUP, PostgreSQL
 * would refuse an agent's set_config() itself (with its own message, or
 * 55P02) before the firewall could say 42501.  The hook then enforces what
 * the context would have: changes from a session (SET, set_config() under
 * any name, a function's SET clause), from connection options, or from
 * ALTER ROLE/DATABASE ... SET (validated with PGC_S_TEST) are refused to
 * agents always, to everyone for the config-file-only settings, and to
 * non-superusers for the others.  Values from the configuration file,
 * ALTER SYSTEM, the command line, and role or database settings a
 * superuser made apply as usual.
 */
static bool
check_setting(const char *name, GucSource source, SettingOwner owner)
{
	/*
	 * Fail closed: the sources listed here apply as usual (they come from
	 * files, the command line, or role and database settings that were
	 * checked here when they were made); every other source, including one
	 * a future PostgreSQL adds, is checked.
	 */
	switch (source)
	{
		case PGC_S_DEFAULT:
		case PGC_S_DYNAMIC_DEFAULT:
		case PGC_S_ENV_VAR:
		case PGC_S_FILE:
		case PGC_S_ARGV:
		case PGC_S_GLOBAL:
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
		case PGC_S_OVERRIDE:
			return true;
		default:
			break;
	}

	/* a parallel worker restores what its leader was already allowed */
	if (IsParallelWorker())
		return true;

	/* cannot tell who is asking: fail closed */
	if (!IsTransactionState() || dfw_is_agent())
	{
		char	   *what = psprintf("changing setting \"%s\"", name);

		dfw_audit("refused", "tamper", what, -1, NULL, NULL, NULL, "tamper");
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("deletion_firewall refused %s for agent \"%s\": this cannot be approved",
						 what, IsTransactionState() ? dfw_agent_name() : "?");
		GUC_check_errdetail("Agents may change no deletion_firewall setting but deletion_firewall.token. No token or approval can allow this.");
		GUC_check_errhint("A human can change it in postgresql.conf%s.",
						  owner == SUPERUSER_TOO ? " or with ALTER ROLE/DATABASE ... SET" : "");
		return false;
	}
	if (owner == CONFIG_FILE_ONLY)
	{
		GUC_check_errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM);
		GUC_check_errmsg("parameter \"%s\" can only be set in the configuration file", name);
		GUC_check_errhint("Change it in postgresql.conf (or with ALTER SYSTEM) and reload.");
		return false;
	}
	if (!superuser())
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("permission denied to set parameter \"%s\"", name);
		return false;
	}
	return true;
}

static bool
check_enabled(bool *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.enabled", source, CONFIG_FILE_ONLY);
}

static bool
check_agent_role(char **newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.agent_role", source, CONFIG_FILE_ONLY);
}

static bool
check_approver_role(char **newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.approver_role", source, CONFIG_FILE_ONLY);
}

static bool
check_max_valid_for(int *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.max_valid_for", source, CONFIG_FILE_ONLY);
}

/*
 * max_tokens sizes shared memory: it behaves as PGC_POSTMASTER (changed
 * only by a restart), but is declared PGC_USERSET like the others so that
 * an agent's set_config() of it is the firewall's 42501 too.
 */
static bool
check_max_tokens(int *newval, void **extra, GucSource source)
{
	int			slots;

	if (!check_setting("deletion_firewall.max_tokens", source, CONFIG_FILE_ONLY))
		return false;
	slots = dfw_tokens_slots();
	if (slots > 0 && *newval != slots)
	{
		GUC_check_errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM);
		GUC_check_errmsg("parameter \"deletion_firewall.max_tokens\" cannot be changed without restarting the server");
		return false;
	}
	return true;
}

/* window_entries sizes shared memory too: the same as max_tokens */
static bool
check_window_entries(int *newval, void **extra, GucSource source)
{
	int			slots;

	if (!check_setting("deletion_firewall.window_entries", source, CONFIG_FILE_ONLY))
		return false;
	slots = dfw_window_slots();
	if (slots > 0 && *newval != slots)
	{
		GUC_check_errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM);
		GUC_check_errmsg("parameter \"deletion_firewall.window_entries\" cannot be changed without restarting the server");
		return false;
	}
	return true;
}

static bool
check_max_rows(int *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.max_rows", source, SUPERUSER_TOO);
}

static bool
check_guard_update(bool *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.guard_update", source, SUPERUSER_TOO);
}

static bool
check_window_seconds(int *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.window_seconds", source, SUPERUSER_TOO);
}

static bool
check_window_rows(int *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.window_rows", source, SUPERUSER_TOO);
}

static bool
check_require_where(bool *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.require_where", source, SUPERUSER_TOO);
}

static bool
check_guard_all(bool *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.guard_all", source, CONFIG_FILE_ONLY);
}

static bool
check_mode(int *newval, void **extra, GucSource source)
{
	return check_setting("deletion_firewall.mode", source, SUPERUSER_TOO);
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
	{
		/* an agent's session sets it: claim it for the agent's login now */
		if ((source == PGC_S_SESSION || source == PGC_S_INTERACTIVE ||
			 source == PGC_S_CLIENT) &&
			IsTransactionState() && dfw_is_agent())
			dfw_token_claim(*newval);
		return true;
	}

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
							 PGC_USERSET, 0,
							 check_enabled, NULL, NULL);

	DefineCustomStringVariable("deletion_firewall.agent_role",
							   "Role whose members (direct or indirect) are agents.",
							   NULL,
							   &dfw_agent_role,
							   "deletion_firewall_agent",
							   PGC_USERSET, 0,
							   check_agent_role, NULL, NULL);

	DefineCustomStringVariable("deletion_firewall.approver_role",
							   "Role whose members may issue confirmations.",
							   NULL,
							   &dfw_approver_role,
							   "deletion_firewall_approver",
							   PGC_USERSET, 0,
							   check_approver_role, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.max_rows",
							"Rows an agent statement may delete (or update) without a token.",
							"-1 means no limit, 0 means none.",
							&dfw_max_rows,
							100, -1, INT_MAX,
							PGC_USERSET, 0,
							check_max_rows, NULL, NULL);

	DefineCustomBoolVariable("deletion_firewall.guard_update",
							 "Count UPDATE like DELETE against max_rows.",
							 NULL,
							 &dfw_guard_update,
							 true,
							 PGC_USERSET, 0,
							 check_guard_update, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.max_valid_for",
							"Longest lifetime of a token or approval.",
							NULL,
							&dfw_max_valid_for,
							3600, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							check_max_valid_for, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.max_tokens",
							"Shared-memory slots for tokens and approvals.",
							NULL,
							&dfw_max_tokens,
							1024, 16, 1000000,
							PGC_USERSET, 0,
							check_max_tokens, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.window_entries",
							"Shared-memory entries for window counts (one per agent, table and database).",
							NULL,
							&dfw_window_entries,
							4096, 16, 10000000,
							PGC_USERSET, 0,
							check_window_entries, NULL, NULL);

	DefineCustomStringVariable("deletion_firewall.token",
							   "The session's confirmation token.",
							   NULL,
							   &dfw_token,
							   "",
							   PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   check_token, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.window_seconds",
							"The sliding window over which window_rows is counted.",
							NULL,
							&dfw_window_seconds,
							3600, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							check_window_seconds, NULL, NULL);

	DefineCustomIntVariable("deletion_firewall.window_rows",
							"Rows an agent may delete (or update) per table within the window without a token.",
							"-1 means no limit.",
							&dfw_window_rows,
							1000, -1, INT_MAX,
							PGC_USERSET, 0,
							check_window_rows, NULL, NULL);

	DefineCustomBoolVariable("deletion_firewall.require_where",
							 "Refuse an agent's DELETE/UPDATE with no (or a constant-true) WHERE clause.",
							 NULL,
							 &dfw_require_where,
							 true,
							 PGC_USERSET, 0,
							 check_require_where, NULL, NULL);

	DefineCustomBoolVariable("deletion_firewall.guard_all",
							 "Guard every session that is not an approver's as an agent's.",
							 NULL,
							 &dfw_guard_all,
							 false,
							 PGC_USERSET, 0,
							 check_guard_all, NULL, NULL);

	DefineCustomEnumVariable("deletion_firewall.mode",
							 "enforce: refuse destruction; warn: let it through with a WARNING.",
							 NULL,
							 &dfw_mode,
							 DFW_MODE_ENFORCE, mode_options,
							 PGC_USERSET, 0,
							 check_mode, NULL, NULL);

	MarkGUCPrefixReserved("deletion_firewall");
}
