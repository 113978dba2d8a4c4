/*
 * medup.h
 *		Settings and entry points shared between medup's source files.
 */
#ifndef MEDUP_H
#define MEDUP_H

extern char *medup_databases;
extern int	medup_naptime;

extern void medup_register_workers(void);

#endif							/* MEDUP_H */
