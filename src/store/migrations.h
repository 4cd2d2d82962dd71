/*
 * migrations.h - the schema of roost.db, as numbered steps compiled in.
 *
 * Step i (0-based) takes the database from user_version i to i + 1.
 * store_init applies the missing steps in order, each in its own transaction
 * together with the new user_version. A released step is never edited: a
 * change to the schema is a new step appended at the end (migrations.c).
 */
#ifndef ROOST_STORE_MIGRATIONS_H
#define ROOST_STORE_MIGRATIONS_H

/* Number of steps: the schema version this binary writes. */
unsigned store_migration_count(void);
/* SQL of step i (one or more statements); NULL when i >= the count. */
const char *store_migration_sql(unsigned i);

#endif
