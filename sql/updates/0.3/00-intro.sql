/*
 * medup 0.2 -> 0.3: the steps on what holds state (tables, the version
 * type), one file per concern in this folder, run in name order after
 * sql/updates/prologue.sql and before the code of sql/install/ and the
 * shipped catalog: functions, views and grants need nothing here.  A change
 * to a STATE block of sql/install/ needs its step here, leaving the object
 * as a fresh install creates it (columns in the same order: add new ones at
 * the end).
 */
