/*
 * sql.c - the rpg family's statement table (stmts.def) for the store.
 */
#include "fam/rpg/sql.h"

static const char *const k_sql[RPG_SQL_COUNT] = {
#define STMT(name, sql) sql,
#include "fam/rpg/stmts.def"
#undef STMT
};

store_stmts rpg_stmts = { k_sql, (uint16_t)RPG_SQL_COUNT, 0u, false };

sqlite3_stmt *rpg_stmt(rpg_sql_id id)
{
    return store_stmt_in(&rpg_stmts, (unsigned)id);
}
