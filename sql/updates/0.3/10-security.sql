/*
 * Hostile neighbours (issue 14): the samples keep a fingerprint of the set
 * of invalid indexes (one event per change of the set), events have two
 * new kinds (a jump of "dataVersion" beyond the manifest, and the events
 * over the cap), and medup.sampler counts the events over the cap.
 */
ALTER TABLE medup.sample ADD COLUMN invalid_index_set text;
ALTER TABLE medup.event DROP CONSTRAINT event_kind_check;
ALTER TABLE medup.event ADD CONSTRAINT event_kind_check CHECK (kind IN (
    'sampling_started', 'migration_started', 'migration_retried',
    'migration_completed', 'migration_failed', 'migration_cancelled',
    'schema_changed', 'lock_taken', 'lock_released',
    'stall_started', 'stall_ended', 'invalid_index',
    'deploy', 'server_ok', 'server_not_ok', 'server_unreachable',
    'server_error', 'catalog_refreshed', 'data_version_jump',
    'events_suppressed'));
ALTER TABLE medup.sampler ADD COLUMN events_suppressed bigint NOT NULL DEFAULT 0;
