------------------------------------------------------------------------
-- The medup.version type
------------------------------------------------------------------------

/*
 * The type, its operators, operator classes and aggregates are state.  Its
 * support functions are code between the STATE blocks: an update keeps
 * them (the prologue drops no function the type needs), and their CREATE
 * OR REPLACE, run again by it, points them at this release's C functions.
 */
-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TYPE medup.version;
-- END STATE

CREATE OR REPLACE FUNCTION medup.version_in(cstring) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_out(medup.version) RETURNS cstring
    AS 'MODULE_PATHNAME', 'medup_version_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_recv(internal) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_send(medup.version) RETURNS bytea
    AS 'MODULE_PATHNAME', 'medup_version_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TYPE medup.version (
    INPUT = medup.version_in,
    OUTPUT = medup.version_out,
    RECEIVE = medup.version_recv,
    SEND = medup.version_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = plain
);
COMMENT ON TYPE medup.version IS
    'A Medplum server version, MAJOR.MINOR.PATCH[-suffix]; the suffix takes no part in comparison';
-- END STATE

CREATE OR REPLACE FUNCTION medup.version_cmp(medup.version, medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_version_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_lt(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_version_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_le(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_version_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_eq(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_version_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_ne(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_version_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_ge(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_version_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_gt(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_version_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_hash(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_version_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_hash_extended(medup.version, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'medup_version_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
/*
 * The comparison operators live in pg_catalog, which every search_path
 * includes, so that a DBA's  WHERE version >= '4.1.0'  works without
 * adding medup to the search_path.  They take medup.version on both sides,
 * so they cannot capture any other type's comparisons.
 */
CREATE OPERATOR pg_catalog.< (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.= (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=), RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<), RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS medup.version_ops
    DEFAULT FOR TYPE medup.version USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 medup.version_cmp(medup.version, medup.version);

CREATE OPERATOR CLASS medup.version_hash_ops
    DEFAULT FOR TYPE medup.version USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 medup.version_hash(medup.version),
        FUNCTION 2 medup.version_hash_extended(medup.version, bigint);
-- END STATE

CREATE OR REPLACE FUNCTION medup.version_larger(medup.version, medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_smaller(medup.version, medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
-- Beside the operators, for the same reason: max(version) must just work.
CREATE AGGREGATE pg_catalog.max(medup.version) (
    SFUNC = medup.version_larger, STYPE = medup.version,
    COMBINEFUNC = medup.version_larger, SORTOP = OPERATOR(pg_catalog.>),
    PARALLEL = SAFE
);
CREATE AGGREGATE pg_catalog.min(medup.version) (
    SFUNC = medup.version_smaller, STYPE = medup.version,
    COMBINEFUNC = medup.version_smaller, SORTOP = OPERATOR(pg_catalog.<),
    PARALLEL = SAFE
);
-- END STATE
COMMENT ON FUNCTION medup.version_in(cstring) IS 'medup.version''s input function.';
COMMENT ON FUNCTION medup.version_out(medup.version) IS 'medup.version''s output function.';
COMMENT ON FUNCTION medup.version_recv(internal) IS 'medup.version''s binary input function.';
COMMENT ON FUNCTION medup.version_send(medup.version) IS 'medup.version''s binary output function.';
COMMENT ON FUNCTION medup.version_cmp(medup.version,medup.version) IS 'medup.version''s btree comparison (-1, 0, 1).';
COMMENT ON FUNCTION medup.version_lt(medup.version,medup.version) IS 'medup.version''s < operator.';
COMMENT ON FUNCTION medup.version_le(medup.version,medup.version) IS 'medup.version''s <= operator.';
COMMENT ON FUNCTION medup.version_eq(medup.version,medup.version) IS 'medup.version''s = operator.';
COMMENT ON FUNCTION medup.version_ne(medup.version,medup.version) IS 'medup.version''s <> operator.';
COMMENT ON FUNCTION medup.version_ge(medup.version,medup.version) IS 'medup.version''s >= operator.';
COMMENT ON FUNCTION medup.version_gt(medup.version,medup.version) IS 'medup.version''s > operator.';
COMMENT ON FUNCTION medup.version_hash(medup.version) IS 'medup.version''s hash (hash indexes and joins).';
COMMENT ON FUNCTION medup.version_hash_extended(medup.version,bigint) IS 'medup.version''s 64-bit seeded hash.';
COMMENT ON FUNCTION medup.version_larger(medup.version,medup.version) IS 'max(medup.version)''s transition function.';
COMMENT ON FUNCTION medup.version_smaller(medup.version,medup.version) IS 'min(medup.version)''s transition function.';

CREATE FUNCTION medup.major(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_version_major' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.major(medup.version) IS 'A version''s major number.';
CREATE FUNCTION medup.minor(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_version_minor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.minor(medup.version) IS 'A version''s minor number.';
CREATE FUNCTION medup.patch(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_version_patch' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.patch(medup.version) IS 'A version''s patch number.';
CREATE FUNCTION medup.base(medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_base' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.base(medup.version) IS
    'The version without its suffix: what Medplum compares';

