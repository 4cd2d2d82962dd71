/*
 * sql.h - the prepared statements of the obs family (stmts.def).
 *
 * obs_stmt(OBS_SQL_NAME) is the statement, reset and unbound, as
 * store_stmt is (store/store.h). The table reaches the store through the
 * family's descriptor (desc.c: store_add before store_init).
 */
#ifndef ROOST_FAM_OBS_SQL_H
#define ROOST_FAM_OBS_SQL_H

#include "store/store.h"

typedef enum {
#define STMT(name, sql) OBS_SQL_##name,
#include "fam/obs/stmts.def"
#undef STMT
    OBS_SQL_COUNT
} obs_sql_id;

/* The table handed to the store (desc.c). */
extern store_stmts obs_stmts;

sqlite3_stmt *obs_stmt(obs_sql_id id);

#endif
