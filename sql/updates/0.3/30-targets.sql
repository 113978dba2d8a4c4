-- 0.3, targets (issue 13): the remote Medplum databases medup answers for.
CREATE TABLE medup.target (
    name           text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
    server_name    name NOT NULL,
    cluster        text CHECK (cluster ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
    role           text NOT NULL DEFAULT 'standalone' CHECK (role IN ('standalone', 'global', 'shard')),
    medplum_schema text NOT NULL DEFAULT 'public',
    added_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'standalone' OR cluster IS NOT NULL)
);
COMMENT ON TABLE medup.target IS
    'Remote Medplum databases medup answers for, each through a foreign server (credentials stay in its user mapping)';
SELECT pg_catalog.pg_extension_config_dump('medup.target', '');
