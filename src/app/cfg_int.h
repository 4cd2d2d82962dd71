/*
 * cfg_int.h - what the three parts of the runtime configuration share:
 * the key table (cfg_keys.c: every key, its type, place, range and
 * default, and the setters that parse a value into roost_cfg), the sources
 * (cfg.c: defaults, the file, the environment, flags, then finish) and
 * the text output (cfg_help.c: --help and cfg_dump). Not for other modules:
 * app/cfg.h is the contract.
 */
#ifndef ROOST_APP_CFG_INT_H
#define ROOST_APP_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/cfg.h"
#include "core/strv.h"

/* cppcheck-suppress misra-c2012-2.4 ; false positive: an untagged enum has no tag */
enum { K_STR, K_LIST, K_URL, K_BOOL, K_UINT, K_AUTH, K_LEVEL, K_KIND };

#define F_NONEMPTY 0x01u /* "" is not a valid value */
#define F_CLAMP 0x02u    /* out-of-range integers are clamped, not refused */
#define F_FAMILY 0x04u   /* per-family key: --help lists it once, generically */
#define F_NAMES 0x08u    /* list items are provider names */

typedef struct {
    const char *name;
    uint8_t kind;
    uint8_t flags;
    uint8_t max_items;  /* K_LIST: most items allowed, 0 = no limit */
    size_t off;         /* into roost_cfg (cfg_keys) or cfg_provider (cfg_pfields) */
    size_t size;
    uint64_t min;       /* K_UINT range */
    uint64_t max;
    const char *def;    /* default as text; NULL = derived in finish() */
    const char *meta;   /* placeholder in --help */
    const char *hdef;   /* default shown by --help instead of def */
} key_def;

/* The keys of roost_cfg (cfg_keys[]), the fields of an
 * llm.provider.<name>.<field> key (cfg_pfields[], offsets into
 * cfg_provider) and the upstream environment names (cfg_aliases[]). */
extern const key_def *const cfg_keys;
extern const size_t cfg_nkeys;
extern const key_def *const cfg_pfields;
extern const size_t cfg_npfields;

typedef struct {
    const char *env;
    const char *key;
} alias_def;

extern const alias_def *const cfg_aliases;
extern const size_t cfg_naliases;

extern const char *const *const cfg_auth_names;
extern const char *const *const cfg_level_names;
extern const char *const *const cfg_kind_names;

#define PROV_PREFIX "llm.provider."
#define ANTHROPIC_URL "https://api.anthropic.com"
#define ANTHROPIC_SECRET "ANTHROPIC_API_KEY"
#define ANTHROPIC_MODEL "claude-sonnet-4-20250514"

/* Room for the table's keys in cfg_ctx.set (checked in cfg_keys.c). */
#define CFG_KEYS_MAX 96u

/* One load: the config being filled, which keys a source set, where the
 * value being applied comes from, and the caller's error buffer. */
#define SHOW_MAX 64u /* bytes of a key or value quoted in an error */

typedef struct {
    roost_cfg *c;
    bool set[CFG_KEYS_MAX];
    char where[CFG_CONF_VALUE_BYTES + 64]; /* "" or "roost.conf:12", "flag --x" */
    char *err;
    size_t errcap;
} cfg_ctx;

/* ---- errors (every error is written once, as "<where>: <what>") ---- */
bool cfg_is_empty(const char *s);
int cfg_show_len(strv v);
st_t cfg_fail(cfg_ctx *x, st_t st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void cfg_where_set(cfg_ctx *x, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- text helpers ---- */
char cfg_lower(char ch);
char cfg_upper(char ch);
size_t cfg_span_to(const char *s, size_t n, char c);
strv cfg_trim_all(strv v);
/* The next item of a comma-separated list (trimmed); false at the end. */
bool cfg_list_next(strv *rest, strv *item);
bool cfg_name_ok(strv v);
uint64_t cfg_uint_load(const void *p, size_t size);

/* ---- the table ---- */
/* ROOST_<KEY> for a key ("fleet.port" -> ROOST_FLEET_PORT). */
void cfg_env_name_of(const char *key, char *buf, size_t cap);
/* The closest key to got (edit distance), in key or ROOST_* form, or NULL. */
const char *cfg_suggest(strv got, bool env_form, char *out, size_t cap);
/* The index of a key in cfg_keys, -1 when there is none; _cstr asserts it. */
int cfg_key_index(strv name);
size_t cfg_key_index_cstr(const char *name);
/* Parse v as key k into base (roost_cfg or cfg_provider); label names it in
 * errors. */
st_t cfg_value_set(cfg_ctx *x, const key_def *k, const char *label, void *base, strv v);

#endif
