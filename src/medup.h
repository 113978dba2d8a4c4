/*
 * medup.h
 *		Settings shared between medup's source files.
 */
#ifndef MEDUP_H
#define MEDUP_H

extern char *medup_medplum_schema;

#endif							/* MEDUP_H */
