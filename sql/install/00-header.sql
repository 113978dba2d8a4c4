/*
 * medup: the SQL surface.
 *
 * Read top to bottom, this file is the reference of everything medup shows
 * in SQL: the version type, the release and migration catalog, and the
 * upgrade path.
 */
\echo Use "CREATE EXTENSION medup" to load this file. \quit

