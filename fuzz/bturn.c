/*
 * fuzz/bturn.c - libFuzzer target for the builder's reply parsers
 * (src/fam/fleet/bturn.c): bturn_parse and bskill_parse.
 *
 * Input: byte 0 picks the parser (bit 0: turn or skill reply; bit 1: a wasm
 * skill) and byte 1 an output capacity; the rest is the model's reply. One
 * input:
 *   - turn: a documented status, the token pool free again, a reason that
 *     is NUL-terminated valid UTF-8 on ST_BAD; on ST_OK the turn is valid
 *     JSON with "action" first, parses again to the same bytes and info,
 *     answers bturn_question and (ask_question) every option's label and
 *     ST_NOTFOUND past the last, and into a smaller buffer it is the same
 *     bytes or ST_TOOBIG exactly when it does not fit; a ready_to_assemble
 *     config checks again and renders SOUL.md, USER.md and an IDENTITY.md
 *     whose frontmatter parses back to the config's name;
 *   - skill reply: a documented status; on ST_OK the SKILL.md parses with
 *     the requested name, the skill-type of the kind asked for and the
 *     description reported, wasm has a source and local none, and the same
 *     reply into a buffer of exactly the room reported fits while one byte
 *     less does not.
 * Built with tests/unit/tiny_config.h (pool of 64 tokens, depth 8).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fam/fleet/bturn.h"
#include "fam/fleet/identity.h"
#include "fam/fleet/skillmd.h"
#include "json/read.h"
#include "ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_IN 16384u
#define FUZZ_OUT (FUZZ_MAX_IN * 8u + 1024u)
#define FUZZ_TOKS 4096u

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fuzz/bturn.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static char g_out[FUZZ_OUT];
static char g_out2[FUZZ_OUT];
static char g_small[FUZZ_OUT];
static char g_file[FUZZ_OUT];
static char g_text[FUZZ_OUT];
static char g_reason[160];
static jsmntok_t g_toks[FUZZ_TOKS];
static skillmd g_md;

static void check_reason(void)
{
    size_t n = strlen(g_reason);
    CHECK(n > 0u);
    CHECK(n < sizeof g_reason);
    CHECK(utf8_valid((const uint8_t *)g_reason, n));
}

static void check_config(const json_doc *d, int cfg)
{
    size_t len = 0u;
    identity_fm fm;
    char name[512];
    size_t nn = 0u;
    CHECK(bconfig_check(d, cfg, g_reason, sizeof g_reason) == ST_OK);
    CHECK(json_field_str(d, cfg, "name", name, sizeof name, &nn) == ST_OK);
    CHECK(bconfig_soul(d, cfg, g_file, sizeof g_file, &len) == ST_OK);
    CHECK(strlen(g_file) == len);
    CHECK(bconfig_user(d, cfg, g_file, sizeof g_file, &len) == ST_OK);
    CHECK(strlen(g_file) == len);
    CHECK(bconfig_identity(d, cfg, "anthropic", g_file, sizeof g_file, &len) == ST_OK);
    CHECK(strlen(g_file) == len);
    /* the identity parser trims Unicode White_Space, the config ASCII's */
    if (identity_parse(strv_make(g_file, len), &fm) && (fm.display_name.n > 0u)) {
        CHECK(memmem(name, nn, fm.display_name.p, fm.display_name.n) != NULL);
    }
}

static void fuzz_turn(const char *text, size_t n, size_t small_cap)
{
    bturn_info info;
    bturn_info info2;
    size_t len = 0u;
    size_t len2 = 0u;
    json_doc d;
    int root;
    st_t st;
    memset(g_reason, 0, sizeof g_reason);
    st = bturn_parse(text, n, g_out, sizeof g_out, &len, &info, g_reason, sizeof g_reason);
    CHECK((st == ST_OK) || (st == ST_BAD));
    CHECK(!json_pool_busy());
    if (st == ST_BAD) {
        check_reason();
        st = bturn_parse(text, n, g_small, small_cap, &len2, &info2, g_reason, sizeof g_reason);
        CHECK(st == ST_BAD);
        return;
    }
    CHECK(g_out[len] == '\0');
    CHECK(strlen(g_out) == len);
    CHECK(utf8_valid((const uint8_t *)g_out, len));
    CHECK(info.has_phase == ((info.action == BT_ASK) || (info.action == BT_PREVIEW)));

    CHECK(json_parse_into(&d, g_out, len, g_toks, FUZZ_TOKS, NULL) == ST_OK);
    if (json_count(&d) > CFG_JSON_MAX_TOKENS) {
        /* members written for missing ones can outgrow the pool: the turn
         * itself no longer parses there */
        CHECK(bturn_question(g_out, len, g_text, sizeof g_text, &len2) == ST_BAD);
        CHECK(!json_pool_busy());
        return;
    }

    /* the same bytes again, from the turn itself */
    st = bturn_parse(g_out, len, g_out2, sizeof g_out2, &len2, &info2, g_reason, sizeof g_reason);
    CHECK(st == ST_OK);
    CHECK((len2 == len) && (memcmp(g_out, g_out2, len) == 0));
    CHECK((info2.action == info.action) && (info2.has_phase == info.has_phase));
    CHECK(!info.has_phase || (info2.phase == info.phase));

    /* into a smaller buffer: the same bytes or ST_TOOBIG */
    st = bturn_parse(text, n, g_small, small_cap, &len2, &info2, g_reason, sizeof g_reason);
    if (len < small_cap) {
        CHECK(st == ST_OK);
        CHECK((len2 == len) && (memcmp(g_small, g_out, len + 1u) == 0));
    } else {
        CHECK(st == ST_TOOBIG);
    }

    CHECK(bturn_question(g_out, len, g_text, sizeof g_text, &len2) == ST_OK);
    CHECK(strlen(g_text) == len2);   /* a turn holds no U+0000 */
    CHECK(utf8_valid((const uint8_t *)g_text, len2));
    CHECK(!json_pool_busy());

    root = json_root(&d);
    CHECK(json_type(&d, root) == JSON_OBJECT);
    {
        json_iter it = JSON_ITER_INIT;
        int k;
        int v;
        CHECK(json_obj_next(&d, root, &it, &k, &v));
        CHECK(json_str_eq(&d, k, "action"));
    }
    if (info.action == BT_ASK) {
        int opts = json_obj_get(&d, root, "options");
        int count = json_arr_len(&d, opts);
        int i;
        CHECK(count >= 0);
        for (i = 0; i < count; i++) {
            CHECK(bturn_option_label(g_out, len, (uint32_t)i, g_text, sizeof g_text, &len2) ==
                  ST_OK);
        }
        CHECK(bturn_option_label(g_out, len, (uint32_t)count, g_text, sizeof g_text, &len2) ==
              ST_NOTFOUND);
    } else {
        CHECK(bturn_option_label(g_out, len, 0u, g_text, sizeof g_text, &len2) == ST_NOTFOUND);
    }
    if (info.action == BT_READY) {
        check_config(&d, json_obj_get(&d, root, "config"));
    }
    CHECK(!json_pool_busy());
}

static void fuzz_skill(const char *text, size_t n, bool wasm, size_t small_cap)
{
    bskill_reply r;
    bskill_reply r2;
    static const char name[] = "fuzz-skill";
    st_t st;
    memset(g_reason, 0, sizeof g_reason);
    st = bskill_parse(text, n, STRV_LIT(name), wasm, g_out, sizeof g_out, g_out2, sizeof g_out2,
                      &r, g_reason, sizeof g_reason);
    CHECK((st == ST_OK) || (st == ST_BAD));
    CHECK(!json_pool_busy());
    if (st == ST_BAD) {
        check_reason();
        return;
    }
    CHECK(g_out[r.md_len] == '\0');
    CHECK(r.md_len < sizeof g_out);
    CHECK(wasm ? (r.src_len > 0u) : (r.src_len == 0u));
    CHECK(r.caps < (1u << SKILLMD_CAP_COUNT));
    CHECK((r.description.p > g_out + r.md_len) &&
          (r.description.p + r.description.n < g_out + sizeof g_out));
    CHECK(r.description.n > 0u);
    memcpy(g_file, g_out, r.md_len);
    CHECK(skillmd_parse(g_file, r.md_len, &g_md) == ST_OK);
    CHECK(strv_eq_cstr(g_md.name, name));
    CHECK(strv_eq_cstr(g_md.skill_type, wasm ? "tool" : "prompt"));
    CHECK(strv_eq(g_md.description, r.description));

    /* the room it needs (text, the description after it) is enough */
    {
        size_t need = r.md_len + 1u + r.description.n + 1u;
        st = bskill_parse(text, n, STRV_LIT(name), wasm, g_small, need, g_out2, sizeof g_out2, &r2,
                          g_reason, sizeof g_reason);
        if (st == ST_OK) {
            CHECK((r2.md_len == r.md_len) && (memcmp(g_small, g_out, r.md_len + 1u) == 0));
            CHECK(strv_eq(r2.description, r.description));
        } else {
            /* only the first pass's text (before the fix) can be longer */
            CHECK(st == ST_TOOBIG);
        }
        st = bskill_parse(text, n, STRV_LIT(name), wasm, g_small, need - 1u, g_out2,
                          sizeof g_out2, &r2, g_reason, sizeof g_reason);
        CHECK(st == ST_TOOBIG);
        st = bskill_parse(text, n, STRV_LIT(name), wasm, g_small, small_cap, g_out2,
                          sizeof g_out2, &r2, g_reason, sizeof g_reason);
        CHECK((st == ST_TOOBIG) || ((st == ST_OK) && (small_cap >= need)));
    }
    CHECK(!json_pool_busy());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text;
    size_t n;
    size_t small_cap;
    if ((size < 2u) || (size > FUZZ_MAX_IN)) {
        return 0;
    }
    text = (const char *)data + 2;
    n = size - 2u;
    small_cap = ((size_t)data[1] * 8u) % (n + 64u);
    if ((data[0] & 1u) == 0u) {
        fuzz_turn(text, n, small_cap);
    } else {
        fuzz_skill(text, n, (data[0] & 2u) != 0u, small_cap);
    }
    return 0;
}
