/*-------------------------------------------------------------------------
 *
 * main.c
 *		Module entry point: refuse to work half-loaded, then set up each
 *		subsystem and its shared memory.
 *
 * The firewall only means something if it is loaded in every backend from
 * the start, so it must be listed in shared_preload_libraries.  Loaded any
 * other way (CREATE EXTENSION without preloading, LOAD), _PG_init raises an
 * error, which makes CREATE EXTENSION fail with a clear message.
 *
 * Shared memory (tokens, approvals, audit rings) is requested in
 * shmem_request_hook and attached in shmem_startup_hook; one named LWLock
 * tranche "deletion_firewall" with a single lock protects all of it, but
 * for the window counts (window.c), which have their own lock in the
 * tranche "deletion_firewall_window".
 *
 *-------------------------------------------------------------------------
 */
#include "deletion_firewall.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

DFW_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
dfw_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(add_size(add_size(dfw_tokens_shmem_size(),
											 dfw_audit_shmem_size()),
									dfw_window_shmem_size()));
	RequestNamedLWLockTranche("deletion_firewall", 2);
	RequestNamedLWLockTranche("deletion_firewall_window", 1);
}

static void
dfw_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	dfw_tokens_shmem_init();
	dfw_audit_shmem_init();
	dfw_window_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("deletion_firewall must be loaded via shared_preload_libraries"),
				 errdetail("The firewall guards every session of the cluster, so it cannot be loaded into one session."),
				 errhint("Add deletion_firewall to shared_preload_libraries in postgresql.conf and restart the server.")));

	dfw_settings_init();
	dfw_identity_init();
	dfw_objects_init();
	dfw_hooks_init();
	dfw_tamper_init();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = dfw_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = dfw_shmem_startup;
}
