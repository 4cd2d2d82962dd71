/*
 * sql.c - the fleet family's statement table (stmts.def) for the store.
 */
#include "fam/fleet/sql.h"

static const char *const k_sql[FLEET_SQL_COUNT] = {
#define STMT(name, sql) sql,
#include "fam/fleet/stmts.def"
#undef STMT
};

store_stmts fleet_stmts = { k_sql, (uint16_t)FLEET_SQL_COUNT, 0u, false };

sqlite3_stmt *fleet_stmt(fleet_sql_id id)
{
    return store_stmt_in(&fleet_stmts, (unsigned)id);
}
