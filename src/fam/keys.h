/*
 * keys.h - a config key as a row of a table, shared by the app (its own
 * keys, app/cfg_keys.c) and the families (each descriptor's keys, fam/desc.h),
 * so the app walks every family's keys without naming one.
 *
 * A row says where its value lives in one of two ways:
 *   ptr != NULL  the value itself, in the storage of the table's owner (a
 *                family's static struct in its desc.c: FAM_KEY below)
 *   ptr == NULL  off bytes into a struct the reader passes (the app's
 *                roost_cfg, or an LLM provider's fields)
 * Parsing, the ROOST_* names, --help and the config dump all walk the rows
 * (app/cfg_int.h); a value is always parsed by the same setter, from the
 * default text first, so `def` is the default as a user would write it.
 */
#ifndef ROOST_FAM_KEYS_H
#define ROOST_FAM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"

/* Value types (app/cfg.h lists their syntax). */
/* cppcheck-suppress [misra-c2012-2.4, misra-c2012-5.7] ; false positive: an untagged enum has no tag */
enum { K_STR, K_LIST, K_URL, K_BOOL, K_UINT, K_AUTH, K_LEVEL, K_KIND };

#define F_NONEMPTY 0x01u /* "" is not a valid value */
#define F_CLAMP 0x02u    /* out-of-range integers are clamped, not refused */
#define F_FAMILY 0x04u   /* listener key: --help lists it once, generically */
#define F_NAMES 0x08u    /* list items are provider names */
#define F_LIVE 0x10u     /* a SIGHUP reload applies a new value at once (app/cfg.h) */

typedef struct {
    const char *name;   /* "rpg.poll_interval_ms" */
    uint8_t kind;       /* K_* */
    uint8_t flags;      /* F_* */
    uint8_t max_items;  /* K_LIST: most items allowed, 0 = no limit */
    size_t off;         /* ptr == NULL: into the struct the reader passes */
    size_t size;        /* of the value (a char array's capacity) */
    uint64_t min;       /* K_UINT range */
    uint64_t max;
    const char *def;    /* default as text; NULL = derived by a finish hook */
    const char *meta;   /* placeholder in --help */
    const char *hdef;   /* default shown by --help instead of def */
    void *ptr;          /* the value itself, or NULL (see above) */
} cfg_key_def;

/* An upstream environment name (spec 2.2) that sets a key. */
typedef struct {
    const char *env;
    const char *key;
} cfg_alias;

/* A key of a family, its value in the family's own storage var (a static
 * struct of its desc.c): FAM_KEY("rpg.web_dir", K_STR, 0, g_keys, web_dir, 0,
 * 0, "dist/client", "DIR", NULL). */
/* cppcheck-suppress misra-c2012-20.7 ; a member name cannot be parenthesised */
#define FAM_KEY(nm, kd, fl, var, m, lo, hi, dflt, mt, hd)                          \
    { (nm), (kd), (fl), 0u, 0u, sizeof((var).m), (lo), (hi), (dflt), (mt), (hd), \
      (void *)&(var).m }

/* Range ends the key tables share. */
#define KEY_MAX_U32 4294967295ULL
#define KEY_MS_DAY 86400000ULL

/* Room a family's key storage may take: each desc.c asserts its struct
 * against it, and the app's plan counts it for every family (app/cfg.h). */
#define FAM_KEYS_STATIC_BYTES ((2u * (size_t)CFG_CONF_VALUE_BYTES) + 64u)

/* What a family's finish hook gets, after every source was applied: the
 * values loaded so far by name (as fam_env's str/num), whether a source set
 * a key (else its value is the default, or nothing for a derived key), and
 * where a failure is written (one line, no newline, NUL-terminated when
 * errcap > 0; err may be NULL). */
typedef struct {
    const char *cwd;                    /* the working directory, may be "" */
    bool (*set)(const char *key);
    const char *(*str)(const char *key);
    uint64_t (*num)(const char *key);
    char *err;
    size_t errcap;
} fam_keys_env;

#endif
