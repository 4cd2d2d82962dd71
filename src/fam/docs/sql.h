/*
 * sql.h - the prepared statements of the documents family (stmts.def).
 *
 * docs_stmt(DOCS_SQL_NAME) is the statement, reset and unbound, as
 * store_stmt is (store/store.h). The table reaches the store through the
 * family's descriptor (desc.c: store_add before store_init).
 */
#ifndef ROOST_FAM_DOCS_SQL_H
#define ROOST_FAM_DOCS_SQL_H

#include "store/store.h"

typedef enum {
#define STMT(name, sql) DOCS_SQL_##name,
#include "fam/docs/stmts.def"
#undef STMT
    DOCS_SQL_COUNT
} docs_sql_id;

/* Columns of GET beyond the DocumentResponse's eight (stmts.def). */
#define DOCS_COL_SEQ 8
#define DOCS_COL_SHA256 9

/* The table handed to the store (desc.c). */
extern store_stmts docs_stmts;

sqlite3_stmt *docs_stmt(docs_sql_id id);

#endif
