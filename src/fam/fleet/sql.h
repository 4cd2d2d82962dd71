/*
 * sql.h - the prepared statements of the fleet family (stmts.def).
 *
 * fleet_stmt(FLEET_SQL_NAME) is the statement, reset and unbound, as
 * store_stmt is (store/store.h). The table reaches the store through the
 * family's descriptor (desc.c: store_add before store_init).
 */
#ifndef ROOST_FAM_FLEET_SQL_H
#define ROOST_FAM_FLEET_SQL_H

#include "store/store.h"

typedef enum {
#define STMT(name, sql) FLEET_SQL_##name,
#include "fam/fleet/stmts.def"
#undef STMT
    FLEET_SQL_COUNT
} fleet_sql_id;

/* The table handed to the store (desc.c). */
extern store_stmts fleet_stmts;

sqlite3_stmt *fleet_stmt(fleet_sql_id id);

#endif
