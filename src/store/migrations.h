/*
 * migrations.h - the store's own schema steps (roost_meta, api_keys).
 *
 * Step i (0-based) takes the database from user_version i to i + 1. The
 * steps after the store's own are the parts' (store_add, store.h): one
 * numbering for the whole database. store_init applies the missing steps in
 * order, each in its own transaction together with the new user_version. A
 * released step is never edited: a change to the schema is a new step with
 * the next free number.
 */
#ifndef ROOST_STORE_MIGRATIONS_H
#define ROOST_STORE_MIGRATIONS_H

/* Number of the store's own steps. */
unsigned store_migration_count(void);
/* SQL of step i (one or more statements); NULL when i >= the count. */
const char *store_migration_sql(unsigned i);

#endif
