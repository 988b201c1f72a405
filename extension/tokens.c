/*-------------------------------------------------------------------------
 *
 * tokens.c
 *		Confirmation tokens and approvals, kept in shared memory.
 *
 * A token is "dfw_" and 32 hex digits (128 bits from pg_strong_random()).
 * The server keeps only its SHA-256 hash, next to the scope a human gave it
 * (actions, target pattern, database, agent, row cap, uses, expiry).  An
 * approval (approve() of a refused request) is a slot of the same array
 * bound to one backend (pid and start time) and one statement text hash,
 * with the exact identities that were refused as its targets.
 *
 * Shared memory lives as long as the postmaster, so a restart voids every
 * token: the firewall fails closed.
 *
 * Locking: one LWLock (tranche "deletion_firewall") guards the token array
 * and the audit rings.  Spending a use is a read-check-decrement under the
 * exclusive lock, so two sessions racing for the last use: exactly one wins.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "commands/dbcommands.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

typedef struct DfwTokenSlot
{
	bool		in_use;
	uint8		hash[DFW_HASH_LEN];		/* tokens only */
	int			backend_pid;			/* approvals only */
	TimestampTz backend_start;			/* approvals only */
	uint64		stmt_hash;				/* approvals only */
	DfwTokenView v;
} DfwTokenSlot;

typedef struct DfwTokenShared
{
	LWLock	   *lock;
	int			nslots;
	DfwTokenSlot slots[FLEXIBLE_ARRAY_MEMBER];
} DfwTokenShared;

static DfwTokenShared *dfw_shared = NULL;

Size
dfw_tokens_shmem_size(void)
{
	return add_size(offsetof(DfwTokenShared, slots),
					mul_size(dfw_max_tokens, sizeof(DfwTokenSlot)));
}

void
dfw_tokens_shmem_init(void)
{
	bool		found;

	dfw_shared = ShmemInitStruct("deletion_firewall tokens",
								 dfw_tokens_shmem_size(), &found);
	if (!found)
	{
		memset(dfw_shared, 0, dfw_tokens_shmem_size());
		dfw_shared->lock = &(GetNamedLWLockTranche("deletion_firewall"))->lock;
		dfw_shared->nslots = dfw_max_tokens;
	}
}

/* Slots in shared memory, or 0 before it is set up. */
int
dfw_tokens_slots(void)
{
	return dfw_shared ? dfw_shared->nslots : 0;
}

static void
require_shmem(void)
{
	if (dfw_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("deletion_firewall shared memory is not initialized"),
				 errhint("Add deletion_firewall to shared_preload_libraries and restart the server.")));
}

void
dfw_lock_exclusive(void)
{
	require_shmem();
	LWLockAcquire(dfw_shared->lock, LW_EXCLUSIVE);
}

void
dfw_lock_shared(void)
{
	require_shmem();
	LWLockAcquire(dfw_shared->lock, LW_SHARED);
}

void
dfw_unlock(void)
{
	LWLockRelease(dfw_shared->lock);
}

static void
hash_token(const char *token, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) token, strlen(token)) < 0 ||
		pg_cryptohash_final(ctx, out, DFW_HASH_LEN) < 0)
		elog(ERROR, "could not compute SHA-256 of a token");
	pg_cryptohash_free(ctx);
}

static void
random_hex(char *out, int nbytes)
{
	uint8		buf[32];

	Assert(nbytes <= (int) sizeof(buf));
	if (!pg_strong_random(buf, nbytes))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a token")));
	for (int i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", buf[i]);
	out[2 * nbytes] = '\0';
}

/* Caller holds the lock exclusively.  Frees dead slots on the way. */
static DfwTokenSlot *
free_slot(void)
{
	TimestampTz now = GetCurrentTimestamp();
	DfwTokenSlot *found = NULL;

	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (s->in_use && (s->v.expires_at <= now || s->v.uses_left <= 0))
			s->in_use = false;
		if (!s->in_use && found == NULL)
			found = s;
	}
	if (found == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no free deletion_firewall token slot"),
				 errdetail("All %d slots hold live tokens or approvals.", dfw_shared->nslots),
				 errhint("Revoke unused tokens, or raise deletion_firewall.max_tokens and restart.")));
	return found;
}

/*
 * Issue a token with the scope in spec.  Returns the token text (palloc'd);
 * its id goes to token_id_out.
 */
char *
dfw_token_issue(const DfwTokenView *spec, char *token_id_out)
{
	char		hex[DFW_TOKEN_HEXLEN + 1];
	char	   *token;
	DfwTokenSlot *s;

	random_hex(hex, DFW_TOKEN_HEXLEN / 2);
	token = psprintf("%s%s", DFW_TOKEN_PREFIX, hex);

	dfw_lock_exclusive();
	s = free_slot();
	memset(s, 0, sizeof(*s));
	s->v = *spec;
	s->v.is_approval = false;
	hash_token(token, s->hash);
	random_hex(hex, 6);
	snprintf(s->v.token_id, DFW_ID_LEN, "tok_%s", hex);
	strlcpy(token_id_out, s->v.token_id, DFW_ID_LEN);
	s->in_use = true;
	dfw_unlock();

	return token;
}

/*
 * Attach a one-statement approval to the refused backend.  The caller
 * filled *spec from the blocked request.
 */
char *
dfw_approval_issue_slot(const DfwTokenView *spec, int backend_pid,
						TimestampTz backend_start, uint64 stmt_hash,
						char *token_id_out)
{
	char		hex[16];
	DfwTokenSlot *s = NULL;
	TimestampTz now = GetCurrentTimestamp();

	dfw_lock_exclusive();

	/* approving a request twice gives it one retry, not two */
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *o = &dfw_shared->slots[i];

		if (o->in_use && o->v.is_approval && o->v.uses_left > 0 &&
			o->v.expires_at > now &&
			strcmp(o->v.request_id, spec->request_id) == 0)
		{
			strlcpy(token_id_out, o->v.token_id, DFW_ID_LEN);
			dfw_unlock();
			return token_id_out;
		}
	}

	s = free_slot();
	memset(s, 0, sizeof(*s));
	s->v = *spec;
	s->v.is_approval = true;
	s->backend_pid = backend_pid;
	s->backend_start = backend_start;
	s->stmt_hash = stmt_hash;
	random_hex(hex, 6);
	snprintf(s->v.token_id, DFW_ID_LEN, "apr_%s", hex);
	strlcpy(token_id_out, s->v.token_id, DFW_ID_LEN);
	s->in_use = true;
	dfw_unlock();
	return token_id_out;
}

bool
dfw_token_revoke(const char *token_id)
{
	bool		done = false;

	dfw_lock_exclusive();
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (s->in_use && strcmp(s->v.token_id, token_id) == 0)
		{
			s->in_use = false;
			done = true;
		}
	}
	dfw_unlock();
	return done;
}

/* Live tokens and approvals, as palloc'd DfwTokenView copies. */
List *
dfw_token_list(void)
{
	List	   *result = NIL;
	TimestampTz now = GetCurrentTimestamp();

	dfw_lock_shared();
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (s->in_use && s->v.expires_at > now && s->v.uses_left > 0)
		{
			DfwTokenView *v = palloc(sizeof(DfwTokenView));

			*v = s->v;
			result = lappend(result, v);
		}
	}
	dfw_unlock();
	return result;
}

/* Every target covered by the pattern? */
static bool
targets_covered(List *targets, const DfwTokenView *v)
{
	ListCell   *lc;

	foreach(lc, targets)
		if (!dfw_target_covered_at((DfwTarget *) lfirst(lc), v->target,
								   v->issued_xmin, v->issued_xid))
			return false;
	return true;
}

/*
 * An approval names the exact identities that were refused, one a line:
 * every target must be one of them.
 */
static bool
targets_listed(List *targets, const char *list)
{
	ListCell   *lc;

	foreach(lc, targets)
	{
		const char *id = ((DfwTarget *) lfirst(lc))->identity;
		size_t		len = strlen(id);
		const char *p = list;
		bool		found = false;

		while (p && *p)
		{
			const char *nl = strchr(p, '\n');
			size_t		plen = nl ? (size_t) (nl - p) : strlen(p);

			if (plen == len && strncmp(p, id, len) == 0)
			{
				found = true;
				break;
			}
			p = nl ? nl + 1 : NULL;
		}
		if (!found)
			return false;
	}
	return true;
}

bool
dfw_targets_allowed(const DfwTokenView *v, List *targets)
{
	return v->is_approval ? targets_listed(targets, v->target)
		: targets_covered(targets, v);
}

/*
 * Check a slot's scope against this request.  Caller holds the lock.
 */
static DfwTokenResult
check_scope(DfwTokenSlot *s, int action, List *targets, int64 rows,
			const char *dbname)
{
	if (s->v.expires_at <= GetCurrentTimestamp())
		return DFW_TOKEN_EXPIRED;
	if (s->v.uses_left <= 0)
		return DFW_TOKEN_SPENT;
	if ((s->v.actions & action) == 0)
		return DFW_TOKEN_WRONG_ACTION;
	if (s->v.dbname[0] != '\0' && strcmp(s->v.dbname, dbname) != 0)
		return DFW_TOKEN_WRONG_DB;
	if (!dfw_user_matches_agent(s->v.agent))
		return DFW_TOKEN_WRONG_AGENT;
	if (!dfw_targets_allowed(&s->v, targets))
		return DFW_TOKEN_WRONG_TARGET;
	if (s->v.max_rows >= 0 && rows > s->v.max_rows)
		return DFW_TOKEN_TOO_MANY_ROWS;
	return DFW_TOKEN_OK;
}

/*
 * Spend one use of the session's token on this request, if its scope
 * allows it.  On success *used gets a copy of the token's scope.
 */
DfwTokenResult
dfw_token_spend(const char *token, int action, List *targets, int64 rows,
				DfwTokenView *used)
{
	uint8		hash[DFW_HASH_LEN];
	DfwTokenResult r = DFW_TOKEN_UNKNOWN;
	const char *dbname;

	if (token == NULL || token[0] == '\0')
		return DFW_TOKEN_NONE;
	hash_token(token, hash);
	dbname = get_database_name(MyDatabaseId);

	/*
	 * The scope check may read role memberships (the syscache) while we hold
	 * the lock, for the one slot whose hash matched; that keeps
	 * check-and-spend one atomic step.
	 */
	dfw_lock_exclusive();
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (!s->in_use || s->v.is_approval ||
			memcmp(s->hash, hash, DFW_HASH_LEN) != 0)
			continue;
		r = check_scope(s, action, targets, rows, dbname);
		if (r == DFW_TOKEN_OK)
			s->v.uses_left--;
		*used = s->v;			/* on refusal too: the DETAIL needs its scope */
		break;
	}
	dfw_unlock();
	return r;
}

/*
 * Spend the approval attached to this backend for this statement, if any.
 */
DfwTokenResult
dfw_approval_spend(uint64 stmt_hash, int action, List *targets,
				   DfwTokenView *used)
{
	DfwTokenResult r = DFW_TOKEN_NONE;
	const char *dbname = get_database_name(MyDatabaseId);

	dfw_lock_exclusive();
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];
		DfwTokenResult sr;

		if (!s->in_use || !s->v.is_approval ||
			s->backend_pid != MyProcPid ||
			s->backend_start != MyStartTimestamp)
			continue;
		if (s->stmt_hash != stmt_hash)
		{
			r = DFW_TOKEN_WRONG_STATEMENT;
			continue;
		}
		sr = check_scope(s, action, targets, -1, dbname);
		*used = s->v;
		r = sr;
		if (sr == DFW_TOKEN_OK)
		{
			s->v.uses_left--;
			break;
		}
	}
	dfw_unlock();
	return r;
}
