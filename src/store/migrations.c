#include "store/migrations.h"

#include <stddef.h>

/* The store's own steps, numbered from 1. Released steps are never edited;
 * steps 2 and on belong to the parts handed to store_add (the families'
 * desc.c), in the one numbering of store.h. */
static const char *const k_steps[] = {
    /* 1: store basics; the listeners' API keys (SHA-256 hex of each key,
     * never the key) */
    "CREATE TABLE roost_meta("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE api_keys("
    "  id INTEGER PRIMARY KEY,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL,"
    "  last_used_at TEXT"
    ") STRICT;",
};

#define MIGRATION_COUNT ((unsigned)(sizeof(k_steps) / sizeof(k_steps[0])))

unsigned store_migration_count(void)
{
    return MIGRATION_COUNT;
}

const char *store_migration_sql(unsigned i)
{
    return (i < MIGRATION_COUNT) ? k_steps[i] : NULL;
}
