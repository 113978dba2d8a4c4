/*
 * medup.h
 *		Settings and entry points shared between medup's source files.
 */
#ifndef MEDUP_H
#define MEDUP_H

#include "datatype/timestamp.h"

extern char *medup_databases;
extern char *medup_medplum_roles;
extern int	medup_naptime;
extern int	medup_max_samplers;

/*
 * How long one sample may take, the worker's or one run by hand.  A
 * function's SET statement_timeout does not arm the timer (only a
 * client's top-level statement does), so the worker arms it itself and
 * medup.sample() arms it when its caller has not, sooner; this is its one
 * source.
 */
#define SAMPLE_TIMEOUT_MS (10 * 1000)

extern void medup_register_workers(void);
extern char *medup_worker_recover(MemoryContext context);
extern bool medup_sampler_gives_way(void);

/* Reaching Medplum's servers and its published catalog (http.c). */
extern char *medup_servers;
extern char *medup_releases_url;
extern char *medup_manifest_url;
extern char *medup_netrc_file;
extern int	medup_http_connect_timeout;
extern int	medup_http_timeout;
extern int	medup_http_max_kb;
extern int	medup_http_limit_kb(void);
extern int	medup_probe_interval;
extern int	medup_refresh_interval;

/*
 * The network tasks' memory (periodic.c), kept for each database in shared
 * memory: every sample's sampler is a new process.
 */
#define MEDUP_NETWORK_TASKS 2
typedef struct MedupTaskState
{
	TimestampTz last_run[MEDUP_NETWORK_TASKS];
	uint32		last_failure[MEDUP_NETWORK_TASKS];	/* hash of the failure logged; 0: none */
} MedupTaskState;

extern void medup_worker_network_tasks(const char *dbname, MedupTaskState *state);

/* Remote targets (target.c). */
extern int	medup_target_timeout;
extern void medup_define_target_settings(void);

#endif							/* MEDUP_H */
