/*
 * medup.version's support functions call the C symbols of 0.3, which carry
 * the prefix medup_ (src/compat.c keeps the old names for 0.1's and 0.2's
 * scripts).  The functions are state (the type, its operators and
 * aggregates depend on them), so they are kept, and pointed at the new
 * symbols here; the same signatures, so CREATE OR REPLACE keeps every
 * dependency.
 */
CREATE OR REPLACE FUNCTION medup.version_in(cstring) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_out(medup.version) RETURNS cstring
    AS 'MODULE_PATHNAME', 'medup_version_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_recv(internal) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_send(medup.version) RETURNS bytea
    AS 'MODULE_PATHNAME', 'medup_version_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
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
CREATE OR REPLACE FUNCTION medup.version_larger(medup.version, medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION medup.version_smaller(medup.version, medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'medup_version_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
