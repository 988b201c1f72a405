/*-------------------------------------------------------------------------
 *
 * deletion_firewall.h
 *		Declarations shared by the files of the deletion_firewall extension.
 *
 * The extension is split by concern:
 *
 *	main.c		_PG_init: refuses to load unless preloaded, calls each Init().
 *	settings.c	the deletion_firewall.* GUCs and their check hooks.
 *	identity.c	who is an agent, who is an approver.
 *	objects.c	object identities, what "belongs to" an object, exemptions.
 *	tokens.c	shared memory: confirmation tokens and approvals.
 *	decision.c	THE decision point: may this agent do this to these objects
 *				now?  Every hook asks it; nothing else refuses destruction.
 *	hooks.c		ProcessUtility, object access and transaction callbacks:
 *				collect what a statement removes and ask decision.c.
 *	rowcount.c	executor hooks: count rows deleted/updated per statement and
 *				stop as soon as the count passes the limit.
 *	window.c	shared memory: rows per agent and table over a sliding window.
 *	tamper.c	what an agent may never do (settings, roles, the extension
 *				itself, catalogs, server files, untrusted languages).
 *	audit.c		log lines, the events ring and the blocked-requests ring.
 *	sqlapi.c	the SQL-callable functions: confirm, revoke, approve, views.
 *
 * Copyright (c) 2026, deletion_firewall developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef DELETION_FIREWALL_H
#define DELETION_FIREWALL_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/pg_list.h"
#include "utils/fmgroids.h"
#include "access/xlogdefs.h"
#include "utils/timestamp.h"

#include "compat.h"

/* Actions, as a bit mask so that a token can allow several ('all'). */
#define DFW_ACT_DROP		0x01
#define DFW_ACT_TRUNCATE	0x02
#define DFW_ACT_DELETE		0x04
#define DFW_ACT_UPDATE		0x08
#define DFW_ACT_ALL			0x0F

#define DFW_TOKEN_PREFIX	"dfw_"
#define DFW_TOKEN_HEXLEN	32		/* 128 random bits, hex */
#define DFW_ID_LEN			24		/* "tok_..." / "req_..." + NUL */
#define DFW_PATTERN_LEN		512
#define DFW_STMT_LEN		1024
#define DFW_TEXT_LEN		256
#define DFW_HASH_LEN		32		/* SHA-256 */
#define DFW_PARAMS_LEN		512

/* ---- settings.c ---- */
extern bool dfw_enabled;
extern char *dfw_agent_role;
extern char *dfw_approver_role;
extern int	dfw_max_rows;
extern bool dfw_guard_update;
extern int	dfw_max_valid_for;
extern int	dfw_max_tokens;
extern char *dfw_token;
extern int	dfw_window_seconds;
extern int	dfw_window_rows;
extern bool dfw_require_where;
extern int	dfw_window_entries;
extern bool dfw_guard_all;
extern int	dfw_mode;
#define DFW_MODE_ENFORCE	0
#define DFW_MODE_WARN		1
extern void dfw_settings_init(void);
extern bool dfw_token_is_wellformed(const char *s);

/* ---- identity.c ---- */
extern void dfw_identity_init(void);
extern bool dfw_is_agent(void);
extern bool dfw_is_guarded(void);
extern bool dfw_is_approver(void);
extern const char *dfw_agent_name(void);
extern bool dfw_user_matches_agent(Oid agent);
extern void dfw_require_approver(const char *fname);

/* ---- objects.c ---- */
typedef struct DfwTarget
{
	ObjectAddress addr;
	char	   *identity;		/* pg_identify_object(...).identity */
	List	   *covers;			/* identities of what it belongs to (char *) */
} DfwTarget;

extern void dfw_objects_init(void);
extern DfwTarget *dfw_make_target(const ObjectAddress *addr);
extern bool dfw_object_is_exempt(const ObjectAddress *addr);
extern void dfw_remember_created(const ObjectAddress *addr);
extern bool dfw_object_existed_before(const ObjectAddress *addr);
extern Oid	dfw_new_object_namespace(const ObjectAddress *addr);
extern bool dfw_pattern_matches(const char *pattern, const char *identity,
								bool is_schema);
extern bool dfw_target_covered(const DfwTarget *t, const char *pattern);
extern bool dfw_is_extension_object(const ObjectAddress *addr);
extern bool dfw_class_has_properties(Oid classId);

/* ---- tokens.c ---- */
typedef struct DfwTokenView
{
	char		token_id[DFW_ID_LEN];
	int			actions;
	char		target[DFW_PATTERN_LEN];
	char		dbname[NAMEDATALEN];	/* "" = every database */
	Oid			agent;
	int64		max_rows;		/* -1 = no limit */
	int			uses_left;
	char		issued_by[NAMEDATALEN];
	TimestampTz issued_at;
	TimestampTz expires_at;
	/* approvals only */
	bool		is_approval;
	char		request_id[DFW_ID_LEN];
} DfwTokenView;

typedef enum DfwTokenResult
{
	DFW_TOKEN_OK,
	DFW_TOKEN_NONE,				/* no token set, or no approval */
	DFW_TOKEN_UNKNOWN,			/* not issued, revoked, or void after restart */
	DFW_TOKEN_EXPIRED,
	DFW_TOKEN_SPENT,
	DFW_TOKEN_WRONG_ACTION,
	DFW_TOKEN_WRONG_DB,
	DFW_TOKEN_WRONG_AGENT,
	DFW_TOKEN_WRONG_TARGET,
	DFW_TOKEN_TOO_MANY_ROWS,
	DFW_TOKEN_WRONG_STATEMENT
} DfwTokenResult;

extern Size dfw_tokens_shmem_size(void);
extern int	dfw_tokens_slots(void);
extern void dfw_tokens_shmem_init(void);
extern char *dfw_token_issue(const DfwTokenView *spec, char *token_id_out);
extern bool dfw_token_revoke(const char *token_id);
extern List *dfw_token_list(void);
extern DfwTokenResult dfw_token_spend(const char *token, int action,
									  List *targets, int64 rows,
									  DfwTokenView *used);
extern DfwTokenResult dfw_approval_spend(uint64 stmt_hash, int action,
										 List *targets, DfwTokenView *used);
extern char *dfw_approval_issue_slot(const DfwTokenView *spec, int backend_pid,
									 TimestampTz backend_start,
									 uint64 stmt_hash, char *token_id_out);
extern bool dfw_targets_allowed(const DfwTokenView *v, List *targets);
extern void dfw_lock_exclusive(void);
extern void dfw_lock_shared(void);
extern void dfw_unlock(void);

/* ---- decision.c ---- */
extern void dfw_statement_begin(bool may_write);
extern void dfw_decide(int action, List *targets, int64 rows);
extern bool dfw_rows_confirmed(int action, int64 rows);
extern const char *dfw_action_name(int action);
extern int	dfw_action_from_name(const char *name);
extern const char *dfw_result_reason(DfwTokenResult r);
extern const char *dfw_refusal_what;
extern const char *dfw_refusal_note;

/* ---- hooks.c ---- */
extern void dfw_hooks_init(void);
extern int	dfw_nesting_level;
extern void dfw_flush_pending(void);

/* ---- rowcount.c ---- */
extern void dfw_rowcount_reset(void);
extern bool dfw_rowcount_active(void);
struct QueryDesc;
extern void dfw_rowcount_start(struct QueryDesc *queryDesc, int eflags);
extern void dfw_rowcount_alter_type(Node *parsetree);
extern bool dfw_rowcount_direct_pending;
extern void dfw_rowcount_finish(struct QueryDesc *queryDesc);

/* ---- window.c ---- */
typedef enum DfwWindowResult
{
	DFW_WINDOW_OK,
	DFW_WINDOW_PASSED,			/* the rows would pass window_rows */
	DFW_WINDOW_FULL				/* no room in shared memory: fail closed */
} DfwWindowResult;

extern bool dfw_window_unsettled;
extern int	dfw_window_nlocal;
extern Size dfw_window_shmem_size(void);
extern void dfw_window_shmem_init(void);
extern int	dfw_window_slots(void);
extern DfwWindowResult dfw_window_take(Oid relid, int action, int64 n,
									   int64 *in_window);
extern void dfw_window_forget_statement(int action);
extern void dfw_window_settle(bool forget);

/* ---- tamper.c ---- */
extern void dfw_tamper_check_utility(Node *parsetree);
extern void dfw_tamper_check_object(int access, const ObjectAddress *addr);
extern void dfw_tamper_check_new_object(const ObjectAddress *addr);
extern void dfw_tamper_check_function(Oid fn_oid);
extern void dfw_tamper_check_extension_function(Oid fn_oid);

/*
 * The built-in functions dfw_tamper_check_function() refuses: lo_import,
 * lo_export, pg_drop_replication_slot.  A macro of constants, as it is
 * tested for every function call.
 */
#define DFW_FUNCTION_GUARDED(fn) \
	((fn) == F_LO_IMPORT_TEXT || (fn) == F_LO_IMPORT_TEXT_OID || \
	 (fn) == F_LO_EXPORT || (fn) == F_PG_DROP_REPLICATION_SLOT)
extern void dfw_tamper_refuse(const char *what, const char *detail);
extern void dfw_tamper_init(void);
extern void dfw_tamper_check_perms(List *rangeTable, List *permInfos);

/* ---- audit.c ---- */
typedef struct DfwEvent
{
	TimestampTz at;
	char		event[16];
	char		action[16];
	char		target[DFW_TEXT_LEN];
	char		agent[NAMEDATALEN];
	char		dbname[NAMEDATALEN];
	int64		rows;
	char		request_id[DFW_ID_LEN];
	char		token_id[DFW_ID_LEN];
	char		by[NAMEDATALEN];
	char		reason[32];
	XLogRecPtr	lsn;			/* confirmed: WAL insert position before it */
} DfwEvent;

typedef struct DfwBlocked
{
	char		request_id[DFW_ID_LEN];
	TimestampTz at;
	char		dbname[NAMEDATALEN];
	char		agent[NAMEDATALEN];
	Oid			agent_oid;
	int			backend_pid;
	TimestampTz backend_start;
	char		action[16];
	char		target[DFW_PATTERN_LEN];	/* identities, one a line */
	int64		rows;
	char		statement[DFW_STMT_LEN];
	bool		statement_cut;	/* longer than what we keep: not approvable */
	char		params[DFW_PARAMS_LEN]; /* bound parameter values, escaped */
	bool		params_cut;		/* longer than what we keep: not approvable */
	uint64		params_hash;	/* of the full parameter values */
	char		reason[32];
	uint64		stmt_hash;
} DfwBlocked;


extern Size dfw_audit_shmem_size(void);
extern void dfw_audit_shmem_init(void);
extern void dfw_audit(const char *event, const char *action,
					  const char *target, int64 rows,
					  const char *request_id, const char *token_id,
					  const char *by, const char *reason);
extern void dfw_blocked_remember(char *request_id, const char *action,
								 const char *target, int64 rows,
								 const char *reason, uint64 stmt_hash);
extern List *dfw_events_list(void);
extern List *dfw_blocked_list(void);
extern bool dfw_backend_alive(int pid, TimestampTz started);
extern bool dfw_blocked_find(const char *request_id, DfwBlocked *out);

#endif							/* DELETION_FIREWALL_H */
