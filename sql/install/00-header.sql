/*
 * medup: the SQL surface, one install script built from sql/install/ by
 * the Makefile, in this order:
 *
 *   05-schema-guard  refuses a "medup" schema a non-superuser controls
 *   10-version  the medup.version type, its operators and aggregates
 *   20-catalog  Medplum's releases and post-deploy migration manifest
 *   30-path     upgrade paths over the catalog
 *   40-inspect  reading Medplum's tables and PostgreSQL's progress
 *   45-estimate what each migration does, and what it will cost on this database
 *   47-targets  remote targets: registering them, reading their facts over dblink
 *   48-shards   sharded Medplum: a shard's jobs from its cluster's global database
 *   50-status   status() and the views built on it
 *   60-gate     check() and gate()
 *   70-audit    the worker's samples, events and history views
 *   80-servers  Medplum's servers' healthchecks and the catalog refresh (network)
 *   85-fleet    every target at once: medup.fleet, medup.clusters and fleet_gate()
 *   90-access   what medup_reader may use
 *
 * and the shipped catalog, generated from the .tsv files in sql/install/catalog.
 * What sits between "-- STATE:" and "-- END STATE" lines (tables, the
 * version type) is kept by updates; the rest is created again by them (see
 * sql/updates/prologue.sql).
 */
\echo Use "CREATE EXTENSION medup" to load this file. \quit

