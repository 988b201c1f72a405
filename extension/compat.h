/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Differences between PostgreSQL major versions, in one place.
 *
 * Supported: 15, 16, 17, 18.  Everything version-specific that the other
 * files need is spelled here, so that they read the same on every major.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DFW_COMPAT_H
#define DFW_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "deletion_firewall requires PostgreSQL 15 or later"
#endif

/*
 * ExecutorRun lost its execute_once argument in 18.
 */
#if PG_VERSION_NUM >= 180000
#define DFW_EXECUTOR_RUN_ARGS	QueryDesc *queryDesc, ScanDirection direction, \
								uint64 count
#define DFW_EXECUTOR_RUN_CALL(fn)	fn(queryDesc, direction, count)
#else
#define DFW_EXECUTOR_RUN_ARGS	QueryDesc *queryDesc, ScanDirection direction, \
								uint64 count, bool execute_once
#define DFW_EXECUTOR_RUN_CALL(fn)	fn(queryDesc, direction, count, execute_once)
#endif

/*
 * Permission info moved from the range table to PlannedStmt.permInfos in 16.
 */
#if PG_VERSION_NUM >= 160000
#define DFW_PERMINFOS(pstmt)	((pstmt)->permInfos)
#else
#define DFW_PERMINFOS(pstmt)	NIL
#endif

/* "Is member of, directly or not, superuser ignored": one name for it. */
#define dfw_member_nosuper(member, role)	is_member_of_role_nosuper(member, role)

/*
 * Rows a relation's backend-local statistics counted as updated and already
 * moved out of the (sub)transaction levels: renamed in 16.
 */
#if PG_VERSION_NUM >= 160000
#define DFW_TABSTAT_UPDATED(ps)		((ps)->counts.tuples_updated)
#else
#define DFW_TABSTAT_UPDATED(ps)		((ps)->t_counts.t_tuples_updated)
#endif

/*
 * The i-th (1-based) backend of the local pg_stat_activity snapshot:
 * pgstat_fetch_stat_local_beentry() became a lookup by backend id in 16,
 * and the lookup by index is pgstat_get_local_beentry_by_index().
 */
#if PG_VERSION_NUM >= 160000
#define DFW_LOCAL_BEENTRY(i)	pgstat_get_local_beentry_by_index(i)
#else
#define DFW_LOCAL_BEENTRY(i)	pgstat_fetch_stat_local_beentry(i)
#endif

/*
 * getIdentitySequence() takes the relation, not its OID, from 17 on
 * (quiet.c, the one caller, opens it there).
 */
#if PG_VERSION_NUM >= 170000
#define DFW_GETIDENTITYSEQUENCE_TAKES_RELATION 1
#endif

/* PG_MODULE_MAGIC_EXT arrived in 18. */
#if PG_VERSION_NUM >= 180000
#define DFW_MODULE_MAGIC	PG_MODULE_MAGIC_EXT(.name = "deletion_firewall", .version = DFW_VERSION)
#else
#define DFW_MODULE_MAGIC	PG_MODULE_MAGIC
#endif

#endif							/* DFW_COMPAT_H */
