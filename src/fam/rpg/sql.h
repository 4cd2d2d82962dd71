/*
 * sql.h - the prepared statements of the rpg family (stmts.def, which
 * includes quest_stmts.def for the quests).
 *
 * rpg_stmt(RPG_SQL_NAME) is the statement, reset and unbound, as
 * store_stmt is (store/store.h). The table reaches the store through the
 * family's descriptor (desc.c: store_add before store_init).
 */
#ifndef ROOST_FAM_RPG_SQL_H
#define ROOST_FAM_RPG_SQL_H

#include "store/store.h"

typedef enum {
#define STMT(name, sql) RPG_SQL_##name,
#include "fam/rpg/stmts.def"
#undef STMT
    RPG_SQL_COUNT
} rpg_sql_id;

/* The table handed to the store (desc.c). */
extern store_stmts rpg_stmts;

sqlite3_stmt *rpg_stmt(rpg_sql_id id);

#endif
