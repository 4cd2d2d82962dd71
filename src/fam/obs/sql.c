/*
 * sql.c - the obs family's statement table (stmts.def) for the store.
 */
#include "fam/obs/sql.h"

static const char *const k_sql[OBS_SQL_COUNT] = {
#define STMT(name, sql) sql,
#include "fam/obs/stmts.def"
#undef STMT
};

store_stmts obs_stmts = { k_sql, (uint16_t)OBS_SQL_COUNT, 0u, CFG_OBS_SQL_ON_DEMAND != 0 };

sqlite3_stmt *obs_stmt(obs_sql_id id)
{
    return store_stmt_in(&obs_stmts, (unsigned)id);
}
