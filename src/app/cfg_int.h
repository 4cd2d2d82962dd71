/*
 * cfg_int.h - what the three parts of the runtime configuration share:
 * the keys (cfg_keys.c: the app's table and the families' tables walked as
 * one, each key's type, place, range and default, and the setters that
 * parse a value into its place), the sources (cfg.c: defaults, the file,
 * the environment, flags, then finish) and the text output (cfg_help.c:
 * --help and cfg_dump). Not for other modules: app/cfg.h is the contract.
 */
#ifndef ROOST_APP_CFG_INT_H
#define ROOST_APP_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/cfg.h"
#include "core/strv.h"
#include "fam/keys.h"

/* The keys, in one index space (0 .. cfg_key_count()-1): the app's first
 * keys, the listener keys of every family (<prefix>.enabled, ...; made from
 * the descriptors), each family's own keys (fam/desc.h) in families.def
 * order, then the app's other keys. --help, the config dump and "did you
 * mean" walk them in this order. A row's value is cfg_key_value(k, c). */
size_t cfg_key_count(void);
const cfg_key_def *cfg_key(size_t i);
/* Where key k's value lives: its own storage, or k->off into base. */
void *cfg_key_value(const cfg_key_def *k, void *base);
const void *cfg_key_cvalue(const cfg_key_def *k, const void *base);

/* The fields of an llm.provider.<name>.<field> key (offsets into
 * cfg_provider). */
extern const cfg_key_def *const cfg_pfields;
extern const size_t cfg_npfields;

/* The upstream environment names of every family, in families.def order. */
size_t cfg_alias_count(void);
const cfg_alias *cfg_alias_at(size_t i);

extern const char *const *const cfg_auth_names;
extern const char *const *const cfg_level_names;
extern const char *const *const cfg_kind_names;

#define PROV_PREFIX "llm.provider."
#define ANTHROPIC_URL "https://api.anthropic.com"
#define ANTHROPIC_SECRET "ANTHROPIC_API_KEY"
#define ANTHROPIC_MODEL "claude-sonnet-4-20250514"

/* Room for every key in cfg_ctx.set (asserted when cfg_keys.c counts them). */
#define CFG_KEYS_MAX 96u

/* One load: the config being filled, which keys a source set, where the
 * value being applied comes from, and the caller's error buffer. */
#define SHOW_MAX 64u /* bytes of a key or value quoted in an error */

/* Where a value came from, for `roostd --check-config` (cfg_check_line):
 * the kind of source, the config file's line, the upstream name's index
 * (cfg_alias_at). A key no source set is CFG_SRC_DEFAULT. */
typedef enum { CFG_SRC_DEFAULT, CFG_SRC_FILE, CFG_SRC_ALIAS, CFG_SRC_ENV, CFG_SRC_FLAG } cfg_src_kind;
typedef struct {
    uint8_t kind;   /* cfg_src_kind */
    uint8_t alias;  /* CFG_SRC_ALIAS */
    uint16_t line;  /* CFG_SRC_FILE; 65535 for any line past it */
} cfg_src;

/* The sources of the last load: key i (cfg_key), field f of provider slot p
 * (as ordered after the load), and the config file read ("" when none). */
const cfg_src *cfg_src_key(size_t i);
const cfg_src *cfg_src_prov(uint32_t p, size_t f);
const char *cfg_src_file(void);

typedef struct {
    roost_cfg *c;
    cfg_src cur;             /* the source being applied */
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
/* The index of a key (cfg_key), -1 when there is none; _cstr asserts it. */
int cfg_key_index(strv name);
size_t cfg_key_index_cstr(const char *name);
/* Parse v as key k into base (roost_cfg or cfg_provider); label names it in
 * errors. */
st_t cfg_value_set(cfg_ctx *x, const cfg_key_def *k, const char *label, void *base, strv v);

#endif
