/*-------------------------------------------------------------------------
 *
 * tokens.c
 *		Confirmation tokens and approvals, kept in shared memory.
 *
 * A token is "dfw_" and 32 hex digits (128 bits from pg_strong_random()).
 * The server keeps only its SHA-256 hash, next to the scope a human gave it
 * (actions, target pattern, database, agent, row cap, uses, expiry, and the
 * oldest transaction still running when it was issued, which tells what
 * catalog rows are newer than the token).  A token issued without an agent
 * is claimed by the login role of the first agent session that spends it.
 *
 * An approval (approve() of a refused request) is a slot of the same array
 * bound to the refused backend (pid and start time) -- or, with
 * any_session, to the refused agent's login role -- and to the statement:
 * the hash of its text, of its bound parameter values, and the set of
 * objects that were refused (DfwObjSet, by address, so it follows the
 * objects themselves and not names that can be cut or reused).
 *
 * A slot that is spent or revoked keeps its hash until it expires, so that
 * a refusal can say truthfully why a token confirms nothing; only when no
 * expired slot is left is such a slot reused (then the token is "unknown").
 *
 * Shared memory lives as long as the postmaster, so a restart voids every
 * token: the firewall fails closed.
 *
 * Finding the session's token takes a few probes from the slot its hash
 * picks (open addressing), so a decision costs the same at any max_tokens.
 *
 * Locking: the token array has its own LWLock (the first of the
 * "deletion_firewall" tranche; the audit rings use the second).  Nothing
 * slow happens under it: no catalog access, no ereport, no palloc.
 * Spending is done in two steps: under the shared lock, find the slot and
 * copy its scope; with no lock, check the scope (this may read role
 * memberships from the catalog, and match patterns); then under the
 * exclusive lock, check that the slot still holds the same token and has a
 * use left, claim it, and spend the use.  Two sessions racing for the last
 * use: exactly one wins, at the last step.
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "commands/dbcommands.h"

#include "common/cryptohash.h"
#include "common/hashfn.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

typedef struct DfwTokenSlot
{
	bool		ever_used;		/* ends a token's probe sequence when false */
	bool		in_use;			/* holds a token or approval, maybe spent */
	uint8		hash[DFW_HASH_LEN];		/* tokens only */
	int			backend_pid;	/* approvals bound to one backend */
	TimestampTz backend_start;
	DfwStmtKey	key;			/* approvals only */
	DfwObjSet	objs;			/* approvals only */
	char		statement[DFW_STMT_LEN];	/* approvals: the approved text */
	DfwTokenView v;
} DfwTokenSlot;

typedef struct DfwTokenShared
{
	LWLock	   *lock;
	int			nslots;
	TimestampTz approvals_until;	/* no approval lives past this */
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
		dfw_shared->lock = &(GetNamedLWLockTranche("deletion_firewall"))[0].lock;
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

static bool
slot_live(const DfwTokenSlot *s, TimestampTz now)
{
	return s->in_use && !s->v.revoked && s->v.uses_left > 0 &&
		s->v.expires_at > now;
}

/*
 * Where a token's search starts: its hash picks the slot, so that finding
 * it takes a few probes whatever max_tokens is (open addressing, linear
 * probing).  A token is stored at the first reusable slot from there on,
 * and searched from there up to a slot that was never used: slots are
 * reused but never become unused again, so a probe sequence never breaks.
 */
static int
probe_start(const uint8 *hash)
{
	uint32		h;

	memcpy(&h, hash, sizeof(h));
	return (int) (h % (uint32) dfw_shared->nslots);
}

/*
 * A slot to fill, searched from index start: an unused or expired one,
 * else (the array is full of unexpired slots) one that is spent or
 * revoked.  NULL when every slot holds a live token or approval.  Caller
 * holds the lock exclusively.
 */
static DfwTokenSlot *
free_slot(int start)
{
	TimestampTz now = GetCurrentTimestamp();
	DfwTokenSlot *dead = NULL;

	for (int k = 0; k < dfw_shared->nslots; k++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[(start + k) % dfw_shared->nslots];

		if (!s->in_use || s->v.expires_at <= now)
			return s;
		if (dead == NULL && !slot_live(s, now))
			dead = s;
	}
	return dead;
}

static void
report_full(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("no free deletion_firewall token slot"),
			 errdetail("All %d slots hold live tokens or approvals.", dfw_shared->nslots),
			 errhint("Revoke unused tokens, or raise deletion_firewall.max_tokens and restart.")));
}

/*
 * Issue a token with the scope in spec.  Returns the token text (palloc'd);
 * its id goes to token_id_out.
 */
char *
dfw_token_issue(const DfwTokenView *spec, char *token_id_out)
{
	char		hex[DFW_TOKEN_HEXLEN + 1];
	char		idhex[16];
	uint8		hash[DFW_HASH_LEN];
	char	   *token;
	DfwTokenSlot *s;

	require_shmem();
	random_hex(hex, DFW_TOKEN_HEXLEN / 2);
	token = psprintf("%s%s", DFW_TOKEN_PREFIX, hex);
	hash_token(token, hash);
	random_hex(idhex, 6);

	LWLockAcquire(dfw_shared->lock, LW_EXCLUSIVE);
	s = free_slot(probe_start(hash));
	if (s != NULL)
	{
		memset(s, 0, offsetof(DfwTokenSlot, statement));
		s->ever_used = true;
		s->statement[0] = '\0';
		s->v = *spec;
		s->v.is_approval = false;
		s->v.revoked = false;
		s->v.claimed_by = InvalidOid;
		memcpy(s->hash, hash, DFW_HASH_LEN);
		snprintf(s->v.token_id, DFW_ID_LEN, "tok_%s", idhex);
		s->in_use = true;
	}
	LWLockRelease(dfw_shared->lock);
	if (s == NULL)
		report_full();
	snprintf(token_id_out, DFW_ID_LEN, "tok_%s", idhex);
	return token;
}

/*
 * Attach a one-statement approval: to the refused backend, or (spec's
 * any_session) to the agent login role in spec->claimed_by.  Approving a
 * request that already has a live approval returns that one: one retry,
 * not two.
 */
void
dfw_approval_issue(const DfwTokenView *spec, int backend_pid,
				   TimestampTz backend_start, const DfwStmtKey *key,
				   const DfwObjSet *objs, const char *statement,
				   char *token_id_out)
{
	char		hex[16];
	DfwTokenSlot *s = NULL;
	TimestampTz now = GetCurrentTimestamp();
	bool		existing = false;

	require_shmem();
	random_hex(hex, 6);
	LWLockAcquire(dfw_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *o = &dfw_shared->slots[i];

		if (slot_live(o, now) && o->v.is_approval &&
			strcmp(o->v.request_id, spec->request_id) == 0)
		{
			strlcpy(token_id_out, o->v.token_id, DFW_ID_LEN);
			existing = true;
			break;
		}
	}
	if (!existing && (s = free_slot(0)) != NULL)
	{
		memset(s, 0, offsetof(DfwTokenSlot, statement));
		s->ever_used = true;
		s->v = *spec;
		s->v.is_approval = true;
		s->v.revoked = false;
		s->backend_pid = spec->any_session ? 0 : backend_pid;
		s->backend_start = spec->any_session ? 0 : backend_start;
		s->key = *key;
		s->objs = *objs;
		strlcpy(s->statement, statement, sizeof(s->statement));
		snprintf(s->v.token_id, DFW_ID_LEN, "apr_%s", hex);
		if (spec->expires_at > dfw_shared->approvals_until)
			dfw_shared->approvals_until = spec->expires_at;
		strlcpy(token_id_out, s->v.token_id, DFW_ID_LEN);
		s->in_use = true;
	}
	LWLockRelease(dfw_shared->lock);
	if (!existing && s == NULL)
		report_full();
}

/* Revoke a live token or approval; its hash stays until it expires. */
bool
dfw_token_revoke(const char *token_id)
{
	bool		done = false;
	TimestampTz now = GetCurrentTimestamp();

	require_shmem();
	LWLockAcquire(dfw_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (slot_live(s, now) && strcmp(s->v.token_id, token_id) == 0)
		{
			s->v.revoked = true;
			done = true;
		}
	}
	LWLockRelease(dfw_shared->lock);
	return done;
}

/* Live tokens and approvals, as palloc'd DfwTokenView copies. */
List *
dfw_token_list(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;
	DfwTokenView *copies;
	List	   *result = NIL;

	require_shmem();
	/* allocate before taking the lock: nothing but copying under it */
	copies = palloc(sizeof(DfwTokenView) * dfw_shared->nslots);
	LWLockAcquire(dfw_shared->lock, LW_SHARED);
	for (int i = 0; i < dfw_shared->nslots; i++)
		if (slot_live(&dfw_shared->slots[i], now))
			copies[n++] = dfw_shared->slots[i].v;
	LWLockRelease(dfw_shared->lock);
	for (int i = 0; i < n; i++)
		result = lappend(result, &copies[i]);
	return result;
}

/* How many slots hold live tokens or approvals. */
int
dfw_token_live_count(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;

	require_shmem();
	LWLockAcquire(dfw_shared->lock, LW_SHARED);
	for (int i = 0; i < dfw_shared->nslots; i++)
		if (slot_live(&dfw_shared->slots[i], now))
			n++;
	LWLockRelease(dfw_shared->lock);
	return n;
}

/* ---------------- object sets ---------------- */

static uint64
addr_hash(const ObjectAddress *a)
{
	uint32		k[3];

	k[0] = a->classId;
	k[1] = a->objectId;
	k[2] = (uint32) a->objectSubId;
	return hash_bytes_extended((const unsigned char *) k, sizeof(k), 0);
}

static int
cmp_uint64(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The distinct object hashes of targets, sorted (palloc'd); count in *n. */
static uint64 *
sorted_hashes(List *targets, int *n)
{
	uint64	   *h = palloc(sizeof(uint64) * Max(list_length(targets), 1));
	int			m = 0;
	ListCell   *lc;

	foreach(lc, targets)
		h[m++] = addr_hash(&((DfwTarget *) lfirst(lc))->addr);
	qsort(h, m, sizeof(uint64), cmp_uint64);
	*n = 0;
	for (int i = 0; i < m; i++)
		if (i == 0 || h[i] != h[i - 1])
			h[(*n)++] = h[i];
	return h;
}

static uint64
hashes_hash(const uint64 *h, int n)
{
	return hash_bytes_extended((const unsigned char *) h, sizeof(uint64) * n, 0);
}

void
dfw_objset_make(List *targets, DfwObjSet *set)
{
	int			n;
	uint64	   *h = sorted_hashes(targets, &n);

	memset(set, 0, sizeof(*set));
	set->n = n;
	set->all_hash = hashes_hash(h, n);
	if (n <= DFW_OBJSET_MAX)
		memcpy(set->h, h, sizeof(uint64) * n);
}

/*
 * Are the objects with these sorted distinct hashes all in the set (or,
 * for a large set, exactly it)?  No allocation: callable under a lock.
 */
static bool
objset_covers_hashes(const DfwObjSet *set, const uint64 *h, int n,
					 uint64 all_hash)
{
	if (set->n > DFW_OBJSET_MAX)
		return n == set->n && all_hash == set->all_hash;
	for (int i = 0; i < n; i++)
		if (bsearch(&h[i], set->h, set->n, sizeof(uint64), cmp_uint64) == NULL)
			return false;
	return true;
}

/* Is every one of targets in the set (or, for a large set, exactly it)? */
bool
dfw_objset_covers(const DfwObjSet *set, List *targets)
{
	int			n;
	uint64	   *h = sorted_hashes(targets, &n);

	return objset_covers_hashes(set, h, n, hashes_hash(h, n));
}

/* Every target covered by the pattern, as the token was issued? */
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

bool
dfw_targets_allowed(const DfwTokenView *v, const DfwObjSet *objs,
					List *targets)
{
	return v->is_approval ? dfw_objset_covers(objs, targets)
		: targets_covered(targets, v);
}

/* ---------------- spending ---------------- */

/*
 * Check a copied scope against this request.  No lock is held: this may
 * read role memberships.
 */
static DfwTokenResult
check_scope(const DfwTokenView *v, const DfwObjSet *objs, int action,
			List *targets, int64 rows)
{
	if (v->revoked)
		return DFW_TOKEN_REVOKED;
	if (v->expires_at <= GetCurrentTimestamp())
		return DFW_TOKEN_EXPIRED;
	if (v->uses_left <= 0)
		return DFW_TOKEN_SPENT;
	if ((v->actions & action) == 0)
		return DFW_TOKEN_WRONG_ACTION;
	if (v->dbname[0] != '\0' &&
		strcmp(v->dbname, get_database_name(MyDatabaseId)) != 0)
		return DFW_TOKEN_WRONG_DB;
	/* an approval is bound to its backend or login already */
	if (!v->is_approval && !dfw_user_matches_agent(v->agent))
		return DFW_TOKEN_WRONG_AGENT;
	if (OidIsValid(v->claimed_by) && v->claimed_by != GetAuthenticatedUserId())
		return DFW_TOKEN_CLAIMED;
	if (!dfw_targets_allowed(v, objs, targets))
		return DFW_TOKEN_WRONG_TARGET;
	if (v->max_rows >= 0 && rows > v->max_rows)
		return DFW_TOKEN_TOO_MANY_ROWS;
	return DFW_TOKEN_OK;
}

/*
 * The last step of spending: under the exclusive lock, the slot found at
 * index i must still hold the same token or approval with a use left; the
 * first login to spend a token without agent claims it.  Returns OK, or
 * why the use could not be spent after all.
 */
static DfwTokenResult
spend_slot(int i, const char *token_id, DfwTokenView *used)
{
	DfwTokenSlot *s = &dfw_shared->slots[i];
	Oid			login = GetAuthenticatedUserId();
	DfwTokenResult r = DFW_TOKEN_OK;

	LWLockAcquire(dfw_shared->lock, LW_EXCLUSIVE);
	if (!s->in_use || strcmp(s->v.token_id, token_id) != 0)
		r = DFW_TOKEN_UNKNOWN;
	else if (s->v.revoked)
		r = DFW_TOKEN_REVOKED;
	else if (s->v.uses_left <= 0)
		r = DFW_TOKEN_SPENT;
	else if (!OidIsValid(s->v.agent) && OidIsValid(s->v.claimed_by) &&
			 s->v.claimed_by != login)
		r = DFW_TOKEN_CLAIMED;
	else
	{
		if (!OidIsValid(s->v.agent) && !s->v.is_approval)
			s->v.claimed_by = login;
		s->v.uses_left--;
	}
	*used = s->v;
	LWLockRelease(dfw_shared->lock);
	return r;
}

/*
 * The slot holding the token with this hash, or -1: probed from the slot
 * its hash picks up to one never used.  Caller holds the lock.
 */
static int
find_token(const uint8 *hash)
{
	for (int k = 0, i = probe_start(hash); k < dfw_shared->nslots;
		 k++, i = (i + 1) % dfw_shared->nslots)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (!s->ever_used)
			break;
		if (s->in_use && !s->v.is_approval &&
			memcmp(s->hash, hash, DFW_HASH_LEN) == 0)
			return i;
	}
	return -1;
}

/*
 * An agent session set this token: a token issued without an agent is
 * claimed for the session's login role now, before anything is spent, so
 * that a token read from pg_stat_activity or pg_stat_statements while its
 * agent holds it unspent is already worth nothing to another agent.  An
 * unknown token is left alone (the SET does not say whether it exists).
 */
void
dfw_token_claim(const char *token)
{
	uint8		hash[DFW_HASH_LEN];
	Oid			login = GetAuthenticatedUserId();
	int			i;

	if (dfw_shared == NULL || token == NULL || token[0] == '\0')
		return;
	hash_token(token, hash);
	LWLockAcquire(dfw_shared->lock, LW_EXCLUSIVE);
	i = find_token(hash);
	if (i >= 0)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];

		if (!OidIsValid(s->v.agent) && !OidIsValid(s->v.claimed_by))
			s->v.claimed_by = login;
	}
	LWLockRelease(dfw_shared->lock);
}

/*
 * Spend one use of the session's token on this request, if its scope
 * allows it.  *used gets a copy of the token's scope (on refusal too: the
 * DETAIL needs it).
 */
DfwTokenResult
dfw_token_spend(const char *token, int action, List *targets, int64 rows,
				DfwTokenView *used)
{
	uint8		hash[DFW_HASH_LEN];
	int			found = -1;
	DfwTokenResult r;

	if (token == NULL || token[0] == '\0')
		return DFW_TOKEN_NONE;
	require_shmem();
	hash_token(token, hash);

	LWLockAcquire(dfw_shared->lock, LW_SHARED);
	found = find_token(hash);
	if (found >= 0)
		*used = dfw_shared->slots[found].v;
	LWLockRelease(dfw_shared->lock);
	if (found < 0)
		return DFW_TOKEN_UNKNOWN;

	r = check_scope(used, NULL, action, targets, rows);
	if (r != DFW_TOKEN_OK)
		return r;
	return spend_slot(found, used->token_id, used);
}

/*
 * Spend the approval for this statement: one attached to this backend, or
 * an any-session approval for this agent login.  When there is none for
 * this very statement, says why: a live approval for these objects exists
 * for another statement text (its text goes to approved_stmt_out,
 * DFW_STMT_LEN bytes) or for other parameter values.
 */
DfwTokenResult
dfw_approval_spend(const DfwStmtKey *key, int action, List *targets,
				   DfwTokenView *used, DfwObjSet *objs_out,
				   char *approved_stmt_out)
{
	DfwTokenResult r = DFW_TOKEN_NONE;
	Oid			login = GetAuthenticatedUserId();
	int			found = -1;
	TimestampTz now = GetCurrentTimestamp();
	int			best_rank = 0;

	int			n;
	uint64	   *h;
	uint64		all_hash;

	approved_stmt_out[0] = '\0';
	if (dfw_shared == NULL)
		return DFW_TOKEN_NONE;
	h = sorted_hashes(targets, &n);
	all_hash = hashes_hash(h, n);

	/*
	 * Find the best candidate: this statement with these parameters (a live
	 * one before a spent one), else one for other parameters, else one for
	 * another statement.  Approvals are looked for by a scan of the slots,
	 * so none is made while no approval can be alive or have just expired
	 * (the usual case): the cost of a decision then does not grow with
	 * max_tokens.
	 */
	if (now > dfw_shared->approvals_until +
		(int64) dfw_max_valid_for * USECS_PER_SEC)
		return DFW_TOKEN_NONE;
	LWLockAcquire(dfw_shared->lock, LW_SHARED);
	for (int i = 0; i < dfw_shared->nslots; i++)
	{
		DfwTokenSlot *s = &dfw_shared->slots[i];
		int			rank;

		if (!s->in_use || !s->v.is_approval)
			continue;
		if (s->v.any_session ? s->v.claimed_by != login :
			(s->backend_pid != MyProcPid ||
			 s->backend_start != MyStartTimestamp))
			continue;
		if (s->key.stmt_hash == key->stmt_hash &&
			s->key.params_hash == key->params_hash)
			rank = slot_live(s, now) ? 4 : 3;
		else if (!slot_live(s, now) ||
				 !objset_covers_hashes(&s->objs, h, n, all_hash))
			continue;			/* not about these objects, or spent */
		else if (s->key.stmt_hash == key->stmt_hash)
			rank = 2;
		else
			rank = 1;
		if (rank <= best_rank)
			continue;
		best_rank = rank;
		found = i;
		*used = s->v;
		*objs_out = s->objs;
		if (rank == 1)
			strlcpy(approved_stmt_out, s->statement, DFW_STMT_LEN);
	}
	LWLockRelease(dfw_shared->lock);

	if (found < 0)
		return DFW_TOKEN_NONE;
	if (best_rank == 1)
		return DFW_TOKEN_WRONG_STATEMENT;
	if (best_rank == 2)
		return DFW_TOKEN_WRONG_PARAMS;
	r = check_scope(used, objs_out, action, targets, -1);
	if (r != DFW_TOKEN_OK)
		return r;
	return spend_slot(found, used->token_id, used);
}
