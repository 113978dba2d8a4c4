/*
 * The event kinds of 0.3, in one step: a jump of "dataVersion" beyond the
 * manifest and the events over the cap (hostile neighbours, issue 14), a
 * remote target that cannot be read and one that can again (issue 13).
 */
ALTER TABLE medup.event DROP CONSTRAINT event_kind_check;
ALTER TABLE medup.event ADD CONSTRAINT event_kind_check CHECK (kind IN (
    'sampling_started', 'migration_started', 'migration_retried',
    'migration_completed', 'migration_failed', 'migration_cancelled',
    'schema_changed', 'lock_taken', 'lock_released',
    'stall_started', 'stall_ended', 'invalid_index',
    'deploy', 'server_ok', 'server_not_ok', 'server_unreachable',
    'server_error', 'catalog_refreshed', 'data_version_jump',
    'events_suppressed', 'target_unreachable', 'target_reachable'));
