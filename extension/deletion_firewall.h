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
 *	stmt.c		per-statement state (confirmations, row counts), kept with
 *				the portal that runs the statement.
 *	window.c	shared memory: rows per agent and table over a sliding window.
 *	tamper.c	what an agent may never do (settings, roles, the extension
 *				itself, catalogs, server files, untrusted languages): the
 *				utility statements an agent may run, by node type.
 *	tamper_feeds.c	what replicas, backups and change feeds depend on: the
 *				table of refused admin functions, the session's own slots,
 *				replication connections, publications.
 *	quiet.c		what destroys without saying DROP, TRUNCATE or DELETE (DROP
 *				IDENTITY, SET UNLOGGED, large-object writes, sequences moved
 *				back, enum labels renamed, ...) and definitions replaced in
 *				place (logged as event=replaced).
 *	tempdeps.c	no permanent object may come to depend on a temporary
 *				one; the end of a session is never refused.
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
#include "utils/snapshot.h"
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
typedef struct DfwCover
{
	char	   *identity;		/* of an object the target belongs to */
	TransactionId xmin;			/* newest row on the way there, or Invalid */
} DfwCover;

typedef struct DfwTarget
{
	ObjectAddress addr;
	char	   *identity;		/* pg_identify_object(...).identity */
	TransactionId xmin;			/* newest of its identity rows, or Invalid */
	List	   *covers;			/* what it belongs to (DfwCover *) */
} DfwTarget;

/* a pg_depend row, seen from its dependent (dfw_dependencies_of) */
typedef struct DfwDependency
{
	int32		objsubid;		/* the dependent's sub-id */
	ObjectAddress ref;			/* what it depends on */
	char		deptype;
} DfwDependency;

extern void dfw_objects_init(void);
extern List *dfw_dependencies_of(const ObjectAddress *addr, Snapshot snapshot);
extern DfwTarget *dfw_make_target(const ObjectAddress *addr);
extern bool dfw_object_is_exempt(const ObjectAddress *addr);
extern void dfw_remember_created(const ObjectAddress *addr, bool is_internal);
extern void dfw_forget_created(const ObjectAddress *addr);
extern int	dfw_objects_statement_enter(Node *stmt);
extern void dfw_objects_statement_exit(int prev);
extern bool dfw_object_existed_before(const ObjectAddress *addr);
extern Oid	dfw_new_object_namespace(const ObjectAddress *addr);
extern bool dfw_pattern_matches(const char *pattern, const char *identity,
								bool is_schema);
extern bool dfw_target_covered(const DfwTarget *t, const char *pattern);
extern bool dfw_target_covered_at(const DfwTarget *t, const char *pattern,
								  TransactionId issued_xmin,
								  TransactionId issued_xid);
extern bool dfw_is_extension_object(const ObjectAddress *addr);
extern bool dfw_class_has_properties(Oid classId);

/* ---- tokens.c ---- */

/*
 * A set of objects by address (class, OID, sub-id), hashed: what an
 * approval holds of the objects that were refused.  Up to DFW_OBJSET_MAX
 * distinct objects are kept (sorted), so a retry may touch any subset of
 * them; a larger set keeps only its count and the hash of all of them, and
 * a retry must then touch exactly that set.
 */
#define DFW_OBJSET_MAX		64
typedef struct DfwObjSet
{
	int			n;				/* distinct objects in the set */
	uint64		all_hash;		/* hash of all of them, sorted */
	uint64		h[DFW_OBJSET_MAX];	/* sorted, when n <= DFW_OBJSET_MAX */
} DfwObjSet;

typedef struct DfwTokenView
{
	char		token_id[DFW_ID_LEN];
	int			actions;
	char		target[DFW_PATTERN_LEN];	/* pattern; approvals: display */
	char		dbname[NAMEDATALEN];	/* "" = every database */
	Oid			agent;
	int64		max_rows;		/* -1 = no limit */
	int			uses_left;
	char		issued_by[NAMEDATALEN];
	TimestampTz issued_at;
	TimestampTz expires_at;
	TransactionId issued_xmin;	/* issuing snapshot's xmin: objects named
								 * and linked before it are covered */
	TransactionId issued_xid;	/* the issuing transaction's, if any */
	bool		revoked;
	Oid			claimed_by;		/* tokens without agent: first login to use it */
	/* approvals only */
	bool		is_approval;
	bool		any_session;	/* bound to the agent login, not the backend */
	char		request_id[DFW_ID_LEN];
} DfwTokenView;

typedef enum DfwTokenResult
{
	DFW_TOKEN_OK,
	DFW_TOKEN_NONE,				/* no token set, or no approval */
	DFW_TOKEN_UNKNOWN,			/* not issued, or void after restart */
	DFW_TOKEN_REVOKED,
	DFW_TOKEN_EXPIRED,
	DFW_TOKEN_SPENT,
	DFW_TOKEN_WRONG_ACTION,
	DFW_TOKEN_WRONG_DB,
	DFW_TOKEN_WRONG_AGENT,
	DFW_TOKEN_CLAIMED,			/* claimed by another agent login */
	DFW_TOKEN_WRONG_TARGET,
	DFW_TOKEN_TOO_MANY_ROWS,
	DFW_TOKEN_WRONG_STATEMENT,
	DFW_TOKEN_WRONG_PARAMS
} DfwTokenResult;

/* What an approval is bound to, besides its objects. */
typedef struct DfwStmtKey
{
	uint64		stmt_hash;		/* the statement text */
	uint64		params_hash;	/* its bound parameter values (0: none) */
} DfwStmtKey;

extern Size dfw_tokens_shmem_size(void);
extern int	dfw_tokens_slots(void);
extern void dfw_tokens_shmem_init(void);
extern char *dfw_token_issue(const DfwTokenView *spec, char *token_id_out);
extern void dfw_approval_issue(const DfwTokenView *spec, int backend_pid,
							   TimestampTz backend_start,
							   const DfwStmtKey *key, const DfwObjSet *objs,
							   const char *statement, char *token_id_out);
extern bool dfw_token_revoke(const char *token_id);
extern void dfw_token_claim(const char *token);
extern List *dfw_token_list(void);
extern int	dfw_token_live_count(void);
extern DfwTokenResult dfw_token_spend(const char *token, int action,
									  List *targets, int64 rows,
									  DfwTokenView *used);
extern DfwTokenResult dfw_approval_spend(const DfwStmtKey *key, int action,
										 List *targets, DfwTokenView *used,
										 DfwObjSet *objs_out,
										 char *approved_stmt_out);
extern void dfw_objset_make(List *targets, DfwObjSet *set);
extern bool dfw_objset_covers(const DfwObjSet *set, List *targets);
extern bool dfw_targets_allowed(const DfwTokenView *v, const DfwObjSet *objs,
								List *targets);

/* ---- stmt.c ---- */
typedef struct DfwConfirmation
{
	bool		valid;
	bool		warned;			/* warn mode let it through: not confirmed */
	bool		audit_pending;	/* rows: logged when the statement ends */
	DfwTokenView v;
	DfwObjSet	objs;			/* approvals: the approved objects */
	XLogRecPtr	lsn;			/* WAL position before the statement */
	char	   *targets_text;	/* for the audit line (TopMemoryContext) */
	char		agent[NAMEDATALEN];
	char		dbname[NAMEDATALEN];
} DfwConfirmation;

/* What one statement has been confirmed for and has written so far. */
typedef struct DfwStmtState
{
	struct PortalData *portal;	/* NULL: work outside any portal */
	uint64		id;				/* unique in the backend, never 0 */
	/* decision.c: confirmations, indexed by action bit position */
	DfwConfirmation confirmed[4];
	/* rowcount.c: [0] delete, [1] update */
	int64		rows[2];
	List	   *relids[2];		/* tables written, allocated in cxt */
	uint64		relids_version[2];
	uint64		decided_version[2];
	bool		window_forgotten[2];	/* confirmed: rows left the window */
	MemoryContext cxt;			/* the portal's context, or our own */
	TimestampTz stmt_ts;		/* no-portal state: the message it counts */
	MemoryContextCallback cb;	/* forgets a portal's state */
	XLogRecPtr	lsn;			/* WAL insert position when it was made */
} DfwStmtState;

extern DfwStmtState *dfw_stmt_current(void);
extern DfwStmtState *dfw_stmt_peek(void);
extern DfwStmtState *dfw_stmt_noportal(void);
extern void dfw_stmt_begin(void);
extern bool dfw_stmt_outermost(void);
extern void dfw_stmt_enter(void);
extern void dfw_stmt_enter_portal(struct PortalData *portal);
extern void dfw_stmt_leave(void);

/* ---- decision.c ---- */
extern void dfw_statement_begin(bool may_write);
extern void dfw_decide(int action, List *targets, int64 rows);
extern bool dfw_rows_confirmed(int action, int64 rows);
extern bool dfw_rows_confirmed_by_human(int action, int64 rows);
extern void dfw_decision_xact_end(void);
extern void dfw_confirmations_flush(DfwStmtState *st);
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
extern void dfw_tamper_check_extension_function(Oid fn_oid);
extern void dfw_tamper_refuse(const char *what, const char *detail);
extern void dfw_tamper_init(void);
extern void dfw_tamper_check_perms(List *rangeTable, List *permInfos);

/* ---- quiet.c ---- */
extern void dfw_quiet_check_utility(Node *parsetree);
extern void dfw_quiet_check_function(Oid fn);
extern void dfw_quiet_post_create(Oid classId, Oid objectId);
extern void dfw_quiet_init(void);
extern struct QueryDesc *dfw_quiet_starting;	/* ExecutorStart running */

/*
 * The built-in functions dfw_quiet_check_function() examines: setval and
 * the large-object writers.  A macro of constants, as it is tested for
 * every function call.
 */
#define DFW_QUIET_FUNCTION(fn) \
	((fn) == F_SETVAL_REGCLASS_INT8 || (fn) == F_SETVAL_REGCLASS_INT8_BOOL || \
	 (fn) == F_LO_OPEN || (fn) == F_LO_PUT || (fn) == F_LOWRITE || \
	 (fn) == F_LO_TRUNCATE || (fn) == F_LO_TRUNCATE64)

/* ---- tamper_feeds.c ---- */

/*
 * The built-in state-changing admin functions an agent may not call (or
 * may call only on its own replication slots), listed once in
 * guarded_functions[] in tamper_feeds.c.  Tested for every function call,
 * so a bitmap over built-in OIDs: one comparison and one load.
 */
#define DFW_GUARDED_OID_LIMIT	10000	/* FirstGenbkiObjectId */
extern PGDLLIMPORT bool dfw_guarded_builtin[DFW_GUARDED_OID_LIMIT];
#define DFW_FUNCTION_GUARDED(fn) \
	((fn) < DFW_GUARDED_OID_LIMIT && dfw_guarded_builtin[(fn)])
extern void dfw_tamper_check_function(Oid fn_oid);
extern void dfw_tamper_check_publication(const char *pubname);
extern void dfw_tamper_check_replica_identity(Oid relid, char identity_type);
extern void dfw_tamper_feeds_init(void);

/* ---- tempdeps.c ---- */
extern void dfw_tempdeps_init(void);
extern void dfw_tempdeps_after_utility(Node *parsetree, bool subcommand);
extern void dfw_tempdeps_session_end_drop(Oid classId, Oid objectId, int subId);

/* ---- audit.c ---- */
extern const char *dfw_audit_old_definition;	/* next line's old_definition */
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
	Oid			agent_oid;		/* the tagged role named in the message */
	Oid			login_oid;		/* the session's login role */
	int			backend_pid;
	TimestampTz backend_start;
	char		action[16];
	char		target[DFW_PATTERN_LEN];	/* for display: escaped, maybe cut */
	int64		rows;
	char		statement[DFW_STMT_LEN];	/* for display: escaped, maybe cut */
	char		params[DFW_PARAMS_LEN]; /* for display: escaped, maybe cut */
	char		reason[32];
	DfwStmtKey	key;			/* the full statement and parameters, hashed */
	DfwObjSet	objs;			/* every refused object */
} DfwBlocked;


extern Size dfw_audit_shmem_size(void);
extern void dfw_audit_shmem_init(void);
extern void dfw_audit(const char *event, const char *action,
					  const char *target, int64 rows,
					  const char *request_id, const char *token_id,
					  const char *by, const char *reason);
extern void dfw_audit_lsn(const char *event, const char *action,
						  const char *target, int64 rows,
						  const char *request_id, const char *token_id,
						  const char *by, const char *reason,
						  XLogRecPtr lsn);
extern void dfw_audit_as(const char *event, const char *action,
						 const char *target, const char *agent,
						 const char *dbname, int64 rows,
						 const char *request_id, const char *token_id,
						 const char *by, const char *reason, XLogRecPtr lsn);
extern void dfw_warned_request_id(char *request_id, const char *action);
extern void dfw_blocked_remember(char *request_id, const char *action,
								 const char *target, List *targets,
								 int64 rows, const char *reason,
								 const DfwStmtKey *key, const char *params);
extern char *dfw_escape(const char *s);
extern void dfw_cut_text(char *dst, size_t size, const char *src);
extern List *dfw_events_list(void);
extern List *dfw_blocked_list(void);
extern bool dfw_backend_alive(int pid, TimestampTz started);
extern bool dfw_blocked_find(const char *request_id, DfwBlocked *out);

#endif							/* DELETION_FIREWALL_H */
