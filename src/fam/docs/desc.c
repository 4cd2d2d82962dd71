/*
 * desc.c - the documents family as a descriptor (fam/desc.h): the tagged file
 * store; listener default :8766, FastAPI style.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_DOCS. Its schema step is here too, outside that (every profile
 * writes the same schema).
 * Its config keys (fam/keys.h) are here too, outside that: their values
 * (its storage), its upstream environment names and the finish that
 * derives and cross-checks them, as a profile without the family still
 * knows its keys, to refuse them by name. The family reads them through
 * docs_public_url, docs_max_upload and docs_chunk_bytes (docs_int.h).
 */
#include "fam/desc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/assert.h"
#include "fam/docs/docs.h"
#include "fam/families.h"
#include "fam/shared/fam.h"

#if CFG_FAM_DOCS
#include "fam/docs/docs_int.h"
#include "fam/docs/sql.h"
#define STMTS (&docs_stmts)
#else
#define STMTS NULL
#endif

/* Its schema steps, in the one numbering of the database (store.h): a
 * released step is never edited; a change is a new step with the next free
 * number of the whole schema. */
static const store_migration k_steps[] = {
    { 4u,
    /* 4: documents (spec/documents.md §2). seq is the upload order (the
     * list's order); id the public "doc_" + 24 hex. created_at and
     * updated_at are naive timestamps (2025-11-25T10:11:12.123456).
     * tags_json is the JSON array of the tags in their order and
     * metadata_json the JSON object of strings, both written by roost and
     * returned verbatim; doc_tags holds the same tags one row each, for
     * the all-of filter (by tag, in document order), and is kept in the
     * same transaction as tags_json (pos: the tag's place). doc_tag_counts
     * is the number of documents of each tag (rows with n > 0 only), kept
     * in the same transactions, so GET /documents/tags walks an index
     * instead of sorting every tag in memory. No foreign keys and no
     * triggers: both make sqlite collect the rows of a DELETE in a
     * temporary table first (tens of KiB of its heap per statement), and
     * every write keeps the tables together itself. The bytes are the file
     * documents/<id> under the data directory. */
    "CREATE TABLE documents("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  filename TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  size_bytes INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  tags_json TEXT NOT NULL,"
    "  metadata_json TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE doc_tags("
    "  tag TEXT NOT NULL,"
    "  doc INTEGER NOT NULL,"
    "  pos INTEGER NOT NULL,"
    "  PRIMARY KEY(tag, doc)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX doc_tags_by_doc ON doc_tags(doc, pos);"
    "CREATE TABLE doc_tag_counts("
    "  tag TEXT PRIMARY KEY NOT NULL,"
    "  n INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX doc_tag_counts_by_n ON doc_tag_counts(n DESC, tag);" },
};

/* Its keys (fam/keys.h), their values here. */
/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    char public_url[CFG_CONF_VALUE_BYTES];
    uint64_t max_upload_bytes;
    uint32_t chunk_bytes;
} g_keys;
_Static_assert(sizeof(g_keys) <= FAM_KEYS_STATIC_BYTES, "the plan's room for a family's keys");

static const cfg_key_def k_keys[] = {
    FAM_KEY("documents.public_url", K_URL, F_NONEMPTY, g_keys, public_url, 0u, 0u, NULL, "URL",
            "http://localhost:<documents.port>"),
    FAM_KEY("documents.max_upload_bytes", K_UINT, 0u, g_keys, max_upload_bytes, 1u,
            1099511627776ULL, "67108864", "N", NULL),
    FAM_KEY("documents.chunk_bytes", K_UINT, 0u, g_keys, chunk_bytes, 1024u, 16777216u, "65536",
            "N", NULL),
};

/* Spec 2.2: the upstream document server's names. */
static const cfg_alias k_aliases[] = {
    { "CORS_ORIGINS", "documents.cors_origins" },
    { "DOCUMENT_SERVER_HOST", "documents.host" },
    { "DOCUMENT_SERVER_PORT", "documents.port" },
    { "DOCUMENT_SERVER_PUBLIC_URL", "documents.public_url" },
};

/* documents.public_url, when nobody set it: the listener's own address. */
static st_t finish_keys(const fam_keys_env *env)
{
    st_t st = ST_OK;
    if (!env->set("documents.public_url")) {
        int k = snprintf(g_keys.public_url, sizeof g_keys.public_url, "http://localhost:%u",
                         (unsigned)env->num("documents.port"));
        if (NEVER((k <= 0) || ((size_t)k >= sizeof g_keys.public_url))) {
            st = ST_INTERNAL;
        }
    }
    return st;
}

const fam_desc fam_docs = {
    .name = "documents",
    .prefix = "documents",
    .about = "tagged file store",
    .port = 8766u,
    .topic = 0u,
    .cors = CORS_STYLE_FASTAPI,
    .cors_origins = "http://localhost:5173,http://localhost:3000",
    .cors_credentials = false,
    .cors_methods = NULL,
    .cors_headers = NULL,
    .keys = k_keys,
    .nkeys = sizeof(k_keys) / sizeof(k_keys[0]),
    .aliases = k_aliases,
    .naliases = sizeof(k_aliases) / sizeof(k_aliases[0]),
    .keys_finish = finish_keys,
    /* the steps always (one schema in every profile), the statements when built */
    .store = { "documents", k_steps, sizeof(k_steps) / sizeof(k_steps[0]), STMTS },
#if CFG_FAM_DOCS
    .built = true,
    .routes = &docs_routes,
    .error = fam_fastapi_error,
    .init = docs_init,
    .setup = fam_fastapi_setup,
#endif
};

#if CFG_FAM_DOCS
const char *docs_public_url(void)
{
    return g_keys.public_url;
}

uint64_t docs_max_upload(void)
{
    return g_keys.max_upload_bytes;
}

uint32_t docs_chunk_bytes(void)
{
    return g_keys.chunk_bytes;
}
#endif
