/*
 * The audit trail per target (issue 13): samples, events, the samplers'
 * counters and the jobs' downtime name the Medplum database they are
 * about, this one or a remote target, and are keyed by it.  What 0.2
 * recorded is about this database: its target is the database's name as
 * the sample or event recorded it (current_database() for all but rows
 * restored from a database of another name), which is the name status()
 * and medup.fleet give the local target.  The defaults fill every row
 * without rewriting the tables; only rows of another name are updated.
 */
ALTER TABLE medup.sample ADD COLUMN target text NOT NULL DEFAULT current_database();
UPDATE medup.sample SET target = database_name WHERE database_name <> current_database();
ALTER TABLE medup.sample DROP CONSTRAINT sample_pkey;
ALTER TABLE medup.sample ADD CONSTRAINT sample_pkey PRIMARY KEY (target, sampled_at);
COMMENT ON TABLE medup.sample IS
    'One row per sample and target: Medplum''s migration state and PostgreSQL''s live progress';

ALTER TABLE medup.event ADD COLUMN target text NOT NULL DEFAULT current_database();
UPDATE medup.event SET target = database_name WHERE database_name <> current_database();
DROP INDEX medup.event_migration_idx;
CREATE INDEX event_migration_idx ON medup.event (target, data_version, event_at);

ALTER TABLE medup.sampler ADD COLUMN target text NOT NULL DEFAULT current_database();
UPDATE medup.sampler SET target = database_name WHERE database_name <> current_database();
ALTER TABLE medup.sampler DROP CONSTRAINT sampler_pkey;
ALTER TABLE medup.sampler ALTER COLUMN database_name SET NOT NULL;
ALTER TABLE medup.sampler ADD CONSTRAINT sampler_pkey PRIMARY KEY (target);

ALTER TABLE medup.job_downtime ADD COLUMN target text NOT NULL DEFAULT current_database();
UPDATE medup.job_downtime SET target = database_name WHERE database_name <> current_database();
ALTER TABLE medup.job_downtime DROP CONSTRAINT job_downtime_pkey;
ALTER TABLE medup.job_downtime ADD CONSTRAINT job_downtime_pkey PRIMARY KEY (target, job_id);

-- A remote target that cannot be read is a sample of state 'unreachable'
-- with its error, and an event when that starts and ends (its kinds:
-- 20-event-kinds.sql).
ALTER TABLE medup.sample ADD COLUMN error text;
