/*
 * What each post-deploy migration does, for estimates (45-estimate.sql):
 * the shipped layer (filled by the shipped catalog at the end of this
 * script) and the loaded layer, a configuration table pg_dump keeps.
 */
CREATE TABLE medup.migration_work_shipped (
    data_version integer PRIMARY KEY CHECK (data_version > 0),
    kind         text NOT NULL CHECK (kind IN ('reindex', 'custom')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    tables       text[] NOT NULL,
    max_version  integer,
    rewrites     text NOT NULL CHECK (rewrites IN ('eligible', 'all', 'some', 'none')),
    scans        integer NOT NULL CHECK (scans >= 0),
    statements   integer NOT NULL CHECK (statements >= 0),
    fixed_low    interval NOT NULL,
    fixed_high   interval NOT NULL,
    summary      text NOT NULL,
    CHECK (fixed_low >= interval '0' AND fixed_high >= fixed_low),
    CHECK ((kind = 'reindex') = (rewrites = 'eligible') AND (rewrites = 'eligible') = (max_version IS NOT NULL))
);

CREATE TABLE medup.migration_work_loaded (
    data_version integer PRIMARY KEY CHECK (data_version > 0),
    kind         text NOT NULL CHECK (kind IN ('reindex', 'custom')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    tables       text[] NOT NULL,
    max_version  integer,
    rewrites     text NOT NULL CHECK (rewrites IN ('eligible', 'all', 'some', 'none')),
    scans        integer NOT NULL CHECK (scans >= 0),
    statements   integer NOT NULL CHECK (statements >= 0),
    fixed_low    interval NOT NULL,
    fixed_high   interval NOT NULL,
    summary      text NOT NULL,
    source       text NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (fixed_low >= interval '0' AND fixed_high >= fixed_low),
    CHECK ((kind = 'reindex') = (rewrites = 'eligible') AND (rewrites = 'eligible') = (max_version IS NOT NULL))
);
SELECT pg_catalog.pg_extension_config_dump('medup.migration_work_loaded', '');

CREATE TABLE medup.migration_index_shipped (
    data_version integer NOT NULL CHECK (data_version > 0),
    table_name   text NOT NULL,
    index_name   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('btree', 'gin', 'gin_trgm', 'gist')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    PRIMARY KEY (data_version, index_name)
);
-- estimate_rates() looks builds up by the index name Medplum's durations
-- carry: without this, every look-up reads the whole catalog.
CREATE INDEX ON medup.migration_index_shipped (index_name);

CREATE TABLE medup.migration_index_loaded (
    data_version integer NOT NULL CHECK (data_version > 0),
    table_name   text NOT NULL,
    index_name   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('btree', 'gin', 'gin_trgm', 'gist')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    source       text NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (data_version, index_name)
);
SELECT pg_catalog.pg_extension_config_dump('medup.migration_index_loaded', '');

-- Index builds the samples watched, for estimates' rates.
CREATE TABLE medup.index_build (
    database_name name NOT NULL DEFAULT current_database(),
    index_name    text NOT NULL,
    table_name    text NOT NULL,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    PRIMARY KEY (database_name, index_name, first_seen)
);
SELECT pg_catalog.pg_extension_config_dump('medup.index_build', '');
