/*
 * sql.c - the documents family's statement table (stmts.def) for the store.
 */
#include "fam/docs/sql.h"

#include "config.h"

static const char *const k_sql[DOCS_SQL_COUNT] = {
#define STMT(name, sql) sql,
#include "fam/docs/stmts.def"
#undef STMT
};

/* on demand in a profile whose sqlite heap cannot keep them (config.h) */
store_stmts docs_stmts = { k_sql, (uint16_t)DOCS_SQL_COUNT, 0u, CFG_DOCS_SQL_ON_DEMAND != 0 };

sqlite3_stmt *docs_stmt(docs_sql_id id)
{
    return store_stmt_in(&docs_stmts, (unsigned)id);
}
