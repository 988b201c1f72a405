/*-------------------------------------------------------------------------
 *
 * window.c
 *		The sliding window: rows an agent (by login role) deleted or updated
 *		per table over deletion_firewall.window_seconds, across all its
 *		sessions, in shared memory.
 *
 * The counts live in a shared hash keyed by (database, login role, table),
 * sized by deletion_firewall.window_entries at server start, under its own
 * LWLock (tranche "deletion_firewall_window").  Each entry holds a ring of
 * WIN_BUCKETS buckets, each bucket the rows counted during one slice of
 * ceil(window_seconds / (WIN_BUCKETS - 2)) seconds; a bucket counts while
 * any part of it lies inside the window, so rows leave the window between
 * window_seconds and window_seconds plus one slice after they were written
 * (never earlier: fail closed).  When no bucket is free, the oldest one is
 * folded into the current one (rows counted longer, never shorter).
 *
 * Cost: no lock per row.  A session reserves rows from the shared count in
 * chunks that double from one row up to WIN_CHUNK within a statement (never
 * past window_rows) and spends them locally; what is left unspent goes back when the query ends (or at the
 * next statement after an error, or when the backend exits).  Reserved
 * rows are counted as written, so a statement that rolls back, or a backend
 * that dies, can only count too many rows, never too few.  Near the limit,
 * another session's unspent reservation of the same agent and table may
 * refuse a row that would have fitted (fail closed).
 *
 * When the table is full and no entry has left its window, a reservation
 * fails: the caller refuses the agent's delete or update (fail closed).  A
 * restart clears every count.
 *
 * Copyright (c) 2026, deletion_firewall developers
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"

#define WIN_BUCKETS		32
#define WIN_CHUNK		64
#define WIN_LOCAL_SLOTS 16

typedef struct WinKey
{
	Oid			dbid;
	Oid			role;
	Oid			relid;
} WinKey;

typedef struct WinBucket
{
	int64		start;			/* seconds since the PostgreSQL epoch */
	int32		width;			/* seconds; 0 = free */
	int32		rows;
} WinBucket;

typedef struct WinEntry
{
	WinKey		key;			/* hash key: first */
	int32		seconds;		/* the longest window it was counted for */
	int32		cur;			/* the bucket added to last */
	WinBucket	b[WIN_BUCKETS];
} WinEntry;

typedef struct WinShared
{
	LWLock	   *lock;
	int			max_entries;
	uint64		removals;		/* entries removed so far: voids caches */
} WinShared;

static WinShared *win_shared = NULL;
static HTAB *win_hash = NULL;

/*
 * This backend's entries, by table: a shared entry never moves while it
 * exists, and the database and login role of a backend never change, so a
 * table's entry is looked up once (until an entry is removed anywhere).
 */
#define WIN_CACHE	8
static struct
{
	Oid			relid;
	WinEntry   *entry;
	uint64		removals;
}			win_cache[WIN_CACHE];

/* this session's reservations, per table; emptied at each statement */
typedef struct WinLocal
{
	Oid			relid;
	int64		reserved;		/* rows taken from the shared count */
	int64		spent;			/* rows written (or about to be) */
	int64		stmt[2];		/* spent by the current statement, per action */
	int64		bstart;			/* bucket of the last reservation */
	int32		bwidth;
} WinLocal;

static WinLocal win_local[WIN_LOCAL_SLOTS];
int			dfw_window_nlocal = 0;
#define win_nlocal dfw_window_nlocal

/* rows reserved and not yet given back: the end of the query settles them */
bool		dfw_window_unsettled = false;
static bool exit_registered = false;

static void window_exit(int code, Datum arg);

Size
dfw_window_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(WinShared)),
					hash_estimate_size(dfw_window_entries, sizeof(WinEntry)));
}

void
dfw_window_shmem_init(void)
{
	bool		found;
	HASHCTL		info;

	win_shared = ShmemInitStruct("deletion_firewall window",
								 sizeof(WinShared), &found);
	if (!found)
	{
		win_shared->lock =
			&(GetNamedLWLockTranche("deletion_firewall_window"))->lock;
		win_shared->max_entries = dfw_window_entries;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(WinKey);
	info.entrysize = sizeof(WinEntry);
	win_hash = ShmemInitHash("deletion_firewall window counts",
							 dfw_window_entries, dfw_window_entries,
							 &info, HASH_ELEM | HASH_BLOBS);
}

int
dfw_window_slots(void)
{
	return win_shared ? win_shared->max_entries : 0;
}

static int64
now_seconds(void)
{
	return GetCurrentTimestamp() / USECS_PER_SEC;
}

static int32
slice_width(int seconds)
{
	return Max(1, (seconds + WIN_BUCKETS - 3) / (WIN_BUCKETS - 2));
}

/* Rows of an entry inside a window of "seconds" ending now. */
static int64
entry_rows(WinEntry *e, int64 now, int seconds)
{
	int64		rows = 0;

	for (int i = 0; i < WIN_BUCKETS; i++)
		if (e->b[i].width > 0 && e->b[i].start + e->b[i].width > now - seconds)
			rows += e->b[i].rows;
	return rows;
}

/* Caller holds the lock exclusively: drop entries no window counts any more. */
static void
sweep_expired(int64 now)
{
	HASH_SEQ_STATUS status;
	WinEntry   *e;

	hash_seq_init(&status, win_hash);
	while ((e = hash_seq_search(&status)) != NULL)
		if (entry_rows(e, now, e->seconds) == 0)
		{
			hash_search(win_hash, &e->key, HASH_REMOVE, NULL);
			win_shared->removals++;
		}
}

/* Caller holds the lock exclusively.  NULL when the table is full. */
static WinEntry *
entry_for(Oid relid, int64 now)
{
	WinKey		key;
	WinEntry   *e;
	bool		found;
	int			ci = relid % WIN_CACHE;

	if (win_cache[ci].relid == relid && win_cache[ci].entry != NULL &&
		win_cache[ci].removals == win_shared->removals)
		return win_cache[ci].entry;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.role = GetAuthenticatedUserId();
	key.relid = relid;
	e = hash_search(win_hash, &key, HASH_FIND, NULL);
	if (e != NULL)
		goto cache;
	if (hash_get_num_entries(win_hash) >= win_shared->max_entries)
		sweep_expired(now);
	if (hash_get_num_entries(win_hash) >= win_shared->max_entries)
		return NULL;
	e = hash_search(win_hash, &key, HASH_ENTER_NULL, &found);
	if (e == NULL)
		return NULL;
	if (!found)
	{
		memset(e->b, 0, sizeof(e->b));
		e->seconds = 0;
		e->cur = 0;
	}
cache:
	win_cache[ci].relid = relid;
	win_cache[ci].entry = e;
	win_cache[ci].removals = win_shared->removals;
	return e;
}

/* Caller holds the lock exclusively: add rows to the bucket of "now". */
static void
entry_add(WinEntry *e, int64 now, int seconds, int32 rows,
		  int64 *bstart, int32 *bwidth)
{
	int32		width = slice_width(seconds);
	int64		start = now - now % width;
	int			victim = -1;

	if (seconds > e->seconds)
		e->seconds = seconds;
	*bstart = start;
	*bwidth = width;
	/* usually the bucket added to last */
	if (e->b[e->cur].width == width && e->b[e->cur].start == start)
	{
		e->b[e->cur].rows += rows;
		return;
	}
	for (int i = 0; i < WIN_BUCKETS; i++)
	{
		WinBucket  *b = &e->b[i];

		if (b->width == width && b->start == start)
		{
			b->rows += rows;
			e->cur = i;
			return;
		}
		if (b->width == 0 || b->start + b->width <= now - e->seconds)
			b->width = 0;		/* free, or out of every window */
		if (victim < 0 || b->width == 0 ||
			(e->b[victim].width != 0 && b->start < e->b[victim].start))
			victim = i;
	}
	/* an oldest bucket still counting is folded into the new one */
	if (e->b[victim].width != 0)
		rows += e->b[victim].rows;
	e->b[victim].start = start;
	e->b[victim].width = width;
	e->b[victim].rows = rows;
	e->cur = victim;
}

static WinLocal *
local_slot(Oid relid)
{
	for (int i = 0; i < win_nlocal; i++)
		if (win_local[i].relid == relid)
			return &win_local[i];
	if (win_nlocal == WIN_LOCAL_SLOTS)
		return NULL;			/* reserve exactly, in shared memory */
	memset(&win_local[win_nlocal], 0, sizeof(WinLocal));
	win_local[win_nlocal].relid = relid;
	return &win_local[win_nlocal++];
}

/*
 * Count n rows of action removed from table relid by this agent.  Returns
 * DFW_WINDOW_OK if they fit in window_rows, DFW_WINDOW_PASSED if they would
 * pass it (nothing is counted; *in_window is what the window holds), or
 * DFW_WINDOW_FULL if the shared table has no room for a new entry.
 */
DfwWindowResult
dfw_window_take(Oid relid, int action, int64 n, int64 *in_window)
{
	WinLocal   *l = local_slot(relid);
	int			ai = (action == DFW_ACT_DELETE) ? 0 : 1;
	int64		now;
	int64		unspent = l ? l->reserved - l->spent : 0;
	int64		extra;
	int64		rows;
	int64		grant;
	int64		bstart;
	int32		bwidth;
	WinEntry   *e;

	/* the common case: spend from this session's reservation */
	if (l != NULL && n <= unspent)
	{
		l->spent += n;
		l->stmt[ai] += n;
		return DFW_WINDOW_OK;
	}

	if (win_shared == NULL)
		return DFW_WINDOW_FULL;
	extra = n - unspent;
	now = now_seconds();
	LWLockAcquire(win_shared->lock, LW_EXCLUSIVE);
	e = entry_for(relid, now);
	if (e == NULL)
	{
		LWLockRelease(win_shared->lock);
		*in_window = -1;
		return DFW_WINDOW_FULL;
	}
	rows = entry_rows(e, now, dfw_window_seconds);
	if (rows + extra > dfw_window_rows)
	{
		LWLockRelease(win_shared->lock);
		/* what was written: less what this session reserved unspent */
		*in_window = rows - unspent;
		return DFW_WINDOW_PASSED;
	}
	/*
	 * Chunks double from one row to WIN_CHUNK within a statement: a
	 * one-row statement takes the lock once and leaves nothing to give
	 * back; a long one takes it once per WIN_CHUNK rows.
	 */
	grant = extra;
	if (l != NULL)
		grant = Min(Max(extra, Min(Max(l->reserved, 1), WIN_CHUNK)),
					dfw_window_rows - rows);
	grant = Min(grant, PG_INT32_MAX / 2);
	entry_add(e, now, dfw_window_seconds, (int32) grant, &bstart, &bwidth);
	LWLockRelease(win_shared->lock);

	if (l != NULL)
	{
		l->reserved += grant;
		l->spent += n;
		l->stmt[ai] += n;
		l->bstart = bstart;
		l->bwidth = bwidth;
		if (l->reserved > l->spent)
			dfw_window_unsettled = true;
		if (!exit_registered)
			before_shmem_exit(window_exit, 0);
		exit_registered = true;
	}
	return DFW_WINDOW_OK;
}

/*
 * The statement was confirmed for action: its rows of that action do not
 * count.  They become unspent reservation, given back at settlement.
 */
void
dfw_window_forget_statement(int action)
{
	int			ai = (action == DFW_ACT_DELETE) ? 0 : 1;

	for (int i = 0; i < win_nlocal; i++)
	{
		win_local[i].spent -= win_local[i].stmt[ai];
		win_local[i].stmt[ai] = 0;
		if (win_local[i].reserved > win_local[i].spent)
			dfw_window_unsettled = true;
	}
}

/* Give one slot's unspent rows back.  Caller holds the lock exclusively. */
static void
give_back(WinLocal *l)
{
	int64		unspent = l->reserved - l->spent;
	WinEntry   *e;
	WinKey		key;

	l->reserved = l->spent;
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.role = GetAuthenticatedUserId();
	key.relid = l->relid;
	e = hash_search(win_hash, &key, HASH_FIND, NULL);
	if (e == NULL)
		return;
	for (int j = 0; j < WIN_BUCKETS; j++)
		if (e->b[j].width == l->bwidth && e->b[j].start == l->bstart)
			e->b[j].rows -= (int32) Min(unspent, (int64) e->b[j].rows);
}

/*
 * Give unspent reservations back to the shared count: when a query ends,
 * and when the next statement starts (after an error).  With "forget", the
 * slots are emptied too (a new statement).
 */
void
dfw_window_settle(bool forget)
{
	bool		locked = false;

	dfw_window_unsettled = false;
	for (int i = 0; i < win_nlocal; i++)
	{
		WinLocal   *l = &win_local[i];

		if (l->reserved - l->spent <= 0 || win_shared == NULL)
			continue;
		if (!locked)
		{
			LWLockAcquire(win_shared->lock, LW_EXCLUSIVE);
			locked = true;
		}
		give_back(l);
	}
	if (locked)
		LWLockRelease(win_shared->lock);
	if (forget)
		win_nlocal = 0;
}

/* A backend that ends gives its unspent rows back. */
static void
window_exit(int code, Datum arg)
{
	if (dfw_window_unsettled)
		dfw_window_settle(true);
}
