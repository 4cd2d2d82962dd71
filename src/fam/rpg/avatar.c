/*
 * avatar.c - GET /api/avatars/{seed} (spec/rpg.md §4.9, as the issue
 * changed it: avatars are made here from the seed, never fetched).
 *
 * What is answered:
 *   - a seed that is not ^[A-Za-z0-9_-]{1,64}$ (after the router's one
 *     percent-decoding): the 404 envelope;
 *   - <data_dir>/rpg/avatars/<seed>.svg when it is a regular file (one the
 *     user placed there, or one written here earlier): the file as it is,
 *     streamed from the file (hctx_end_file), never copied;
 *   - otherwise the seed's own avatar, drawn below, written to that file
 *     (port_file_write_atomic: temporary file, fsync, rename; a crash
 *     between them leaves "<seed>.svg.tmp.<pid>", which no seed names) and
 *     served from memory (it fits tx in every profile that builds rpg;
 *     where it did not, the family's 500). A cache that cannot be written
 *     (a read-only directory, a file where the directory should be, a
 *     full disk) is logged once per episode (again only after a write has
 *     worked) and changes nothing for the client;
 *   - a file that exists but cannot be opened (permissions, out of
 *     descriptors): the generated avatar, the file left alone (logged once);
 *   - a placed file larger than CFG_RPG_AVATAR_FILE_BYTES: 500 (logged
 *     once). Its ETag is a hash of its content, read on every request; that
 *     much work for one avatar is a mistake to fix, not to serve.
 * Every 200 is image/svg+xml with Cache-Control: public, max-age=31536000,
 * immutable, a strong ETag (the first 128 bits of the body's SHA-256 in
 * hex, quoted: the same bytes have the same tag on every build and after a
 * restart), nosniff and a CSP that keeps a placed SVG opened on its own
 * from running scripts or fetching anything. If-None-Match that matches
 * (RFC 9110's weak comparison, `*`, lists: spa_etag_match) is 304 with the
 * ETag and Cache-Control and no body. HEAD is GET without the body.
 *
 * The spec's "?" placeholder (Cache-Control: no-cache) is never needed:
 * every valid seed has an avatar of its own.
 *
 * The drawing: a bust on a rounded square, 100x100 user units (viewBox
 * only, so it scales; readable from 32 px): background, skin, hair (eight
 * styles, some fantasy colours), eyes, brows, mouth, headgear (wizard hat,
 * helmet, hood, crown, headband or none), a tunic with a trimmed collar,
 * and sometimes cheeks and an accessory (glasses, eyepatch, beard,
 * moustache, scar, freckles, earring). Every choice is a draw from
 * splitmix64 seeded by FNV-1a 64 of the seed's bytes, made in a fixed
 * order, and every coordinate is a constant of its template: integer
 * arithmetic only, so the bytes of a seed are the same on every build and
 * platform (tests/integration/test_rpg_avatars.py pins two seeds'
 * bytes). Changing a template or the order of the draws changes the
 * avatars not yet cached; cached files keep their look (they are
 * immutable to clients too). About 1-2 KiB each, at most AV_BUF_BYTES.
 *
 * Static storage: the directory's path and one buffer (the avatar being
 * drawn, or the chunks of a placed file being hashed): the server runs one
 * handler at a time and nothing of either is kept after it returns.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "config.h"
#include "core/assert.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/sha256.h"
#include "fam/rpg/rpg_int.h"
#include "fam/shared/spa.h"
#include "http/parse.h"
#include "port.h"

#define AV_SEED_MAX 64u
#define AV_BUF_BYTES 4096u                  /* an avatar, or a chunk of a placed file */
#define AV_ETAG_BYTES 35u                   /* '"' + 32 hex digits + '"' + NUL */
#define AV_ETAG_HASH_BYTES 16u              /* of the SHA-256 */
#define AV_FILE_MODE 0644u
#define AV_CACHE_CONTROL "public, max-age=31536000, immutable"
#define AV_CSP "default-src 'none'; style-src 'unsafe-inline'"

static const char k_sub[] = "/rpg/avatars";

/* <data_dir>/rpg/avatars; g_dir_len 0: unknown (avatars are not cached). */
static char g_dir[(size_t)CFG_CONF_VALUE_BYTES + sizeof(k_sub)];
static size_t g_dir_len;
static char g_buf[AV_BUF_BYTES];
static bool g_write_warned;
static bool g_open_warned;
static bool g_big_warned;

/* ---- the drawing ---------------------------------------------------------- */

/* The template arguments, $0-$6 in the templates below. */
#define A_BG 0u         /* background */
#define A_SKIN 1u
#define A_SHADE 2u      /* skin in shadow: ears' inside, neck */
#define A_HAIR 3u
#define A_TUNIC 4u
#define A_TRIM 5u       /* the tunic's trim, the wizard hat's band */
#define A_GEAR 6u       /* headgear: the hood's and hat's cloth, the helmet's steel */
#define A_N 7u

typedef struct {
    char *p;
    size_t cap;
    size_t n;
    bool over;
} svg_w;

typedef struct {
    const char *back;   /* drawn behind the neck and body ("" for none) */
    const char *front;  /* drawn over the face */
} av_layer;

static const char *const k_bg[] = {
    "#93c5fd", "#a5b4fc", "#c4b5fd", "#f0abfc", "#fda4af", "#fdba74",
    "#fcd34d", "#bef264", "#86efac", "#5eead4", "#67e8f9", "#cbd5e1",
};

/* Skin and its shade; the last two (elf green, frost blue) are rarer. */
static const char *const k_skin[][2] = {
    { "#ffe0c7", "#f0c2a0" }, { "#f9cfa8", "#e5b088" }, { "#eab38a", "#d39770" },
    { "#d39972", "#b97d57" }, { "#a86b4a", "#8d5639" }, { "#7a4a32", "#613925" },
    { "#f5d0b5", "#e2b393" }, { "#a7d6a0", "#86bb7e" }, { "#b9d4f0", "#94b6da" },
};
#define AV_SKIN_COMMON 7u

/* Hair; the last three (violet, sky, rose) are rarer. */
static const char *const k_hair[] = {
    "#1f1611", "#3b2416", "#5c3820", "#8a4b24", "#c2521c", "#e0b45e",
    "#efe2bd", "#b8bcc4", "#7c3aed", "#0ea5e9", "#db2777",
};
#define AV_HAIR_COMMON 8u

/* Tunic and trim. */
static const char *const k_tunic[][2] = {
    { "#1d4ed8", "#fbbf24" }, { "#b91c1c", "#fde68a" }, { "#047857", "#fcd34d" },
    { "#6d28d9", "#f0abfc" }, { "#b45309", "#fef3c7" }, { "#0f766e", "#99f6e4" },
    { "#374151", "#d1d5db" }, { "#9d174d", "#fbcfe8" },
};

static const char k_open[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 100\">\n";
static const char k_close[] = "</svg>\n";

static const char k_base[] =
    "<rect width=\"100\" height=\"100\" rx=\"18\" fill=\"$0\"/>\n"
    "<circle cx=\"50\" cy=\"46\" r=\"36\" fill=\"#fff\" fill-opacity=\".22\"/>\n";

static const char k_body[] =
    "<rect x=\"43\" y=\"60\" width=\"14\" height=\"16\" fill=\"$2\"/>\n"
    "<path d=\"M20 100C20 83 32 72 50 72C68 72 80 83 80 100Z\" fill=\"$4\"/>\n"
    "<path d=\"M41 72L50 83L59 72\" fill=\"$2\" stroke=\"$5\" stroke-width=\"3\" "
    "stroke-linejoin=\"round\"/>\n"
    "<g fill=\"$1\"><circle cx=\"28\" cy=\"49\" r=\"5\"/><circle cx=\"72\" cy=\"49\" r=\"5\"/>"
    "</g>\n"
    "<g fill=\"$2\"><circle cx=\"28\" cy=\"49\" r=\"2.5\"/><circle cx=\"72\" cy=\"49\" "
    "r=\"2.5\"/></g>\n"
    "<ellipse cx=\"50\" cy=\"46\" rx=\"22\" ry=\"24\" fill=\"$1\"/>\n";

/* Hair styles: short, swept, spiky, bun, mohawk, long, curly, bald. */
static const av_layer k_hair_style[] = {
    { "", "<path d=\"M27 46C25 24 36 18 50 18C64 18 75 24 73 46C71 37 66 32 61 30"
          "C53 34 41 34 34 31C31 35 28 40 27 46Z\" fill=\"$3\"/>\n" },
    { "", "<path d=\"M27 48C24 22 40 16 54 18C68 20 76 30 73 48C71 39 67 33 63 30"
          "C53 37 39 38 31 34C29 38 28 43 27 48Z\" fill=\"$3\"/>\n" },
    { "", "<path d=\"M28 44L25 28L33 30L32 19L41 25L45 14L51 23L58 14L61 25L69 19L68 30"
          "L75 28L72 44C68 35 60 31 50 31C40 31 32 35 28 44Z\" fill=\"$3\"/>\n" },
    { "", "<circle cx=\"50\" cy=\"15\" r=\"8\" fill=\"$3\"/>\n"
          "<path d=\"M27 46C25 24 36 18 50 18C64 18 75 24 73 46C71 37 66 31 50 30"
          "C34 31 29 37 27 46Z\" fill=\"$3\"/>\n" },
    { "", "<path d=\"M45 34C44 24 46 15 50 9C54 15 56 24 55 34Z\" fill=\"$3\"/>\n" },
    { "<path d=\"M24 46C22 22 36 16 50 16C64 16 78 22 76 46L79 88L21 88Z\" fill=\"$3\"/>\n",
      "<path d=\"M27 48C25 22 38 17 50 17C62 17 75 22 73 48C70 35 60 28 50 26"
      "C40 28 30 35 27 48Z\" fill=\"$3\"/>\n" },
    { "", "<g fill=\"$3\"><circle cx=\"29\" cy=\"37\" r=\"7\"/>"
          "<circle cx=\"35\" cy=\"26\" r=\"8\"/>"
          "<circle cx=\"45\" cy=\"20\" r=\"8\"/><circle cx=\"56\" cy=\"20\" r=\"8\"/>"
          "<circle cx=\"66\" cy=\"26\" r=\"8\"/><circle cx=\"71\" cy=\"37\" r=\"7\"/></g>\n" },
    { "", "" },
};

/* How often each hair style is drawn: an index of k_hair_style per draw
 * (long hair 3 in 14, bald and mohawk 1 in 14 each). */
static const uint8_t k_hair_draw[] = { 0u, 0u, 1u, 1u, 2u, 2u, 3u, 4u, 5u, 5u, 5u, 6u, 6u, 7u };

/* Headgear: wizard hat, helmet, hood (these three hide the hair's front),
 * crown, headband; the draws past the table are "none". */
static const av_layer k_gear[] = {
    { "", "<ellipse cx=\"50\" cy=\"33\" rx=\"32\" ry=\"6\" fill=\"$6\"/>\n"
          "<path d=\"M28 33C37 24 42 10 66 1C58 14 62 24 72 33Z\" fill=\"$6\"/>\n"
          "<path d=\"M31 28L69 28L72 33L28 33Z\" fill=\"$5\"/>\n"
          "<path d=\"M52 12L53.5 16L57.5 16L54.3 18.5L55.5 22.5L52 20L48.5 22.5L49.7 18.5"
          "L46.5 16L50.5 16Z\" fill=\"$5\"/>\n" },
    { "", "<path d=\"M26 47C26 25 36 16 50 16C64 16 74 25 74 47L68 47C68 33 62 29 50 29"
          "C38 29 32 33 32 47Z\" fill=\"$6\"/>\n"
          "<rect x=\"26\" y=\"29\" width=\"48\" height=\"5\" fill=\"#6b7280\"/>\n"
          "<path d=\"M46 17L50 7L54 17Z\" fill=\"#6b7280\"/>\n" },
    { "<path d=\"M16 86C12 32 26 10 50 10C74 10 88 32 84 86Z\" fill=\"$6\"/>\n",
      "<path d=\"M26 52C24 27 36 19 50 19C64 19 76 27 74 52C72 35 62 28 50 28"
      "C38 28 28 35 26 52Z\" fill=\"$6\"/>\n" },
    { "", "<path d=\"M32 29L32 14L41 22L50 10L59 22L68 14L68 29Z\" fill=\"#f59e0b\"/>\n"
          "<circle cx=\"50\" cy=\"24\" r=\"2.5\" fill=\"#ef4444\"/>\n" },
    { "", "<rect x=\"27\" y=\"31\" width=\"46\" height=\"5\" rx=\"2\" fill=\"$5\"/>\n" },
};
#define AV_GEAR_HIDES 3u        /* the first three hide the hair's front */
#define AV_GEAR_DRAWS 12u       /* 5 of 12 wear something */

static const char *const k_eyes[] = {
    "<g fill=\"#1f2937\"><circle cx=\"41\" cy=\"47\" r=\"3.2\"/>"
    "<circle cx=\"59\" cy=\"47\" r=\"3.2\"/></g>\n",
    "<g fill=\"#fff\"><ellipse cx=\"41\" cy=\"47\" rx=\"4.5\" ry=\"5.5\"/>"
    "<ellipse cx=\"59\" cy=\"47\" rx=\"4.5\" ry=\"5.5\"/></g>\n"
    "<g fill=\"#1f2937\"><circle cx=\"42\" cy=\"48\" r=\"2.8\"/>"
    "<circle cx=\"60\" cy=\"48\" r=\"2.8\"/></g>\n",
    "<path d=\"M37 48Q41 43 45 48M55 48Q59 43 63 48\" fill=\"none\" stroke=\"#1f2937\" "
    "stroke-width=\"2.6\" stroke-linecap=\"round\"/>\n",
    "<path d=\"M37 47Q41 50 45 47M55 47Q59 50 63 47\" fill=\"none\" stroke=\"#1f2937\" "
    "stroke-width=\"2.6\" stroke-linecap=\"round\"/>\n",
    "<circle cx=\"41\" cy=\"47\" r=\"3.2\" fill=\"#1f2937\"/>\n"
    "<path d=\"M55 48Q59 43 63 48\" fill=\"none\" stroke=\"#1f2937\" stroke-width=\"2.6\" "
    "stroke-linecap=\"round\"/>\n",
};

static const char *const k_brows[] = {
    "",
    "<path d=\"M36 40L45 39M55 39L64 40\" stroke=\"$3\" stroke-width=\"2.5\" "
    "stroke-linecap=\"round\"/>\n",
    "<path d=\"M36 38L45 41M55 41L64 38\" stroke=\"$3\" stroke-width=\"2.5\" "
    "stroke-linecap=\"round\"/>\n",
    "<path d=\"M36 40Q40 36 45 39M55 39Q60 36 64 40\" fill=\"none\" stroke=\"$3\" "
    "stroke-width=\"2.5\" stroke-linecap=\"round\"/>\n",
};

static const char *const k_mouth[] = {
    "<path d=\"M43 57Q50 63 57 57\" fill=\"none\" stroke=\"#1f2937\" stroke-width=\"2.4\" "
    "stroke-linecap=\"round\"/>\n",
    "<path d=\"M42 56Q50 67 58 56Z\" fill=\"#7f1d1d\"/>\n",
    "<path d=\"M45 59L55 59\" stroke=\"#1f2937\" stroke-width=\"2.4\" "
    "stroke-linecap=\"round\"/>\n",
    "<ellipse cx=\"50\" cy=\"59\" rx=\"3\" ry=\"3.5\" fill=\"#7f1d1d\"/>\n",
    "<path d=\"M44 59Q52 61 57 55\" fill=\"none\" stroke=\"#1f2937\" stroke-width=\"2.4\" "
    "stroke-linecap=\"round\"/>\n",
    "<path d=\"M41 56Q50 66 59 56Z\" fill=\"#fff\" stroke=\"#1f2937\" stroke-width=\"2\" "
    "stroke-linejoin=\"round\"/>\n",
};

static const char k_cheeks[] =
    "<g fill=\"#f43f5e\" fill-opacity=\".28\"><circle cx=\"35\" cy=\"55\" r=\"4\"/>"
    "<circle cx=\"65\" cy=\"55\" r=\"4\"/></g>\n";

/* Accessories under the eyes (beard, moustache, scar, freckles) and over
 * the hair (glasses, eyepatch, earring); the draws past the table are
 * "none". */
static const av_layer k_extra[] = {
    { "", "<g fill=\"none\" stroke=\"#111827\" stroke-width=\"2\"><circle cx=\"41\" cy=\"47\" "
          "r=\"6.5\"/><circle cx=\"59\" cy=\"47\" r=\"6.5\"/>"
          "<path d=\"M47.5 47L52.5 47M34.5 46L28 44M65.5 46L72 44\"/></g>\n" },
    { "", "<path d=\"M28 38L72 53\" stroke=\"#111827\" stroke-width=\"2\"/>\n"
          "<ellipse cx=\"59\" cy=\"47\" rx=\"6.5\" ry=\"6\" fill=\"#111827\"/>\n" },
    { "<path d=\"M28 50C28 70 38 77 50 77C62 77 72 70 72 50C70 60 64 64 58 62"
      "C54 60 46 60 42 62C36 64 30 60 28 50Z\" fill=\"$3\"/>\n", "" },
    { "<path d=\"M41 57C45 51 50 54 50 54C50 54 55 51 59 57C55 57 50 55 50 55"
      "C50 55 45 57 41 57Z\" fill=\"$3\"/>\n", "" },
    { "<path d=\"M63 38L68 52M62 43L67 41M64 48L69 46\" stroke=\"#be123c\" "
      "stroke-width=\"1.6\" stroke-linecap=\"round\" stroke-opacity=\".7\"/>\n", "" },
    { "<g fill=\"#92400e\" fill-opacity=\".45\"><circle cx=\"34\" cy=\"52\" r=\"1.1\"/>"
      "<circle cx=\"38\" cy=\"55\" r=\"1.1\"/><circle cx=\"33\" cy=\"57\" r=\"1.1\"/>"
      "<circle cx=\"66\" cy=\"52\" r=\"1.1\"/><circle cx=\"62\" cy=\"55\" r=\"1.1\"/>"
      "<circle cx=\"67\" cy=\"57\" r=\"1.1\"/></g>\n", "" },
    { "", "<circle cx=\"72\" cy=\"56\" r=\"2.2\" fill=\"#fbbf24\"/>\n" },
};
#define AV_EXTRA_DRAWS 12u      /* 7 of 12 have one */

#define AV_COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* splitmix64: the next draw of the stream. */
static uint64_t av_next(uint64_t *s)
{
    uint64_t z;
    *s += 0x9E3779B97F4A7C15u;
    z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A draw in [0, n). */
static uint32_t av_pick(uint64_t *s, uint32_t n)
{
    return (uint32_t)((av_next(s) >> 32) % (uint64_t)n);
}

static void w_put(svg_w *w, const char *p, size_t n)
{
    if (w->over || (n > (w->cap - w->n))) {
        w->over = true;
        return;
    }
    (void)memcpy(w->p + w->n, p, n);
    w->n += n;
}

/* tpl with $0..$6 replaced by arg[0..6]. */
static void w_tpl(svg_w *w, const char *tpl, const char *const arg[A_N])
{
    size_t i = 0u;
    size_t run = 0u;
    while (tpl[i] != '\0') {
        unsigned char d = (unsigned char)tpl[i + 1u];
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((tpl[i] == '$') && (d >= (unsigned char)'0') &&
            (d < ((unsigned char)'0' + (unsigned char)A_N))) {
            const char *a = arg[d - (unsigned char)'0'];
            w_put(w, &tpl[run], i - run);
            w_put(w, a, strlen(a));
            i += 2u;
            run = i;
        } else {
            i++;
        }
    }
    w_put(w, &tpl[run], i - run);
}

/* The avatar of seed into out; its length, 0 when it does not fit. */
static size_t av_draw(strv seed, char *out, size_t cap)
{
    uint64_t s = strv_fnv1a(seed.p, seed.n);
    svg_w w = { out, cap, 0u, false };
    const char *arg[A_N];
    uint32_t k;
    uint32_t hair_style;
    uint32_t gear;
    uint32_t eyes;
    uint32_t brows;
    uint32_t mouth;
    uint32_t extra;
    bool cheeks;
    /* The draws, in this order (the order is part of every seed's look). */
    arg[A_BG] = k_bg[av_pick(&s, AV_COUNT(k_bg))];
    k = av_pick(&s, 16u);
    if (k < 14u) {
        k %= AV_SKIN_COMMON;
    } else {
        k = AV_SKIN_COMMON + (k - 14u);
    }
    arg[A_SKIN] = k_skin[k][0];
    arg[A_SHADE] = k_skin[k][1];
    k = av_pick(&s, 20u);
    if (k < 17u) {
        k %= AV_HAIR_COMMON;
    } else {
        k = AV_HAIR_COMMON + (k - 17u);
    }
    arg[A_HAIR] = k_hair[k];
    k = av_pick(&s, AV_COUNT(k_tunic));
    arg[A_TUNIC] = k_tunic[k][0];
    arg[A_TRIM] = k_tunic[k][1];
    hair_style = k_hair_draw[av_pick(&s, AV_COUNT(k_hair_draw))];
    gear = av_pick(&s, AV_GEAR_DRAWS);
    eyes = av_pick(&s, AV_COUNT(k_eyes));
    brows = av_pick(&s, AV_COUNT(k_brows));
    mouth = av_pick(&s, AV_COUNT(k_mouth));
    cheeks = (av_pick(&s, 2u) == 0u);
    extra = av_pick(&s, AV_EXTRA_DRAWS);
    /* the helmet is steel, other headgear the tunic's cloth */
    arg[A_GEAR] = (gear == 1u) ? "#9ca3af" : arg[A_TUNIC];

    w_put(&w, k_open, sizeof(k_open) - 1u);
    w_tpl(&w, k_base, arg);
    if (gear < AV_COUNT(k_gear)) {
        w_tpl(&w, k_gear[gear].back, arg);
    }
    w_tpl(&w, k_hair_style[hair_style].back, arg);
    w_tpl(&w, k_body, arg);
    if (cheeks) {
        w_tpl(&w, k_cheeks, arg);
    }
    if (extra < AV_COUNT(k_extra)) {
        w_tpl(&w, k_extra[extra].back, arg);
    }
    w_tpl(&w, k_eyes[eyes], arg);
    w_tpl(&w, k_brows[brows], arg);
    w_tpl(&w, k_mouth[mouth], arg);
    if (gear >= AV_GEAR_HIDES) {
        w_tpl(&w, k_hair_style[hair_style].front, arg);
    }
    if (gear < AV_COUNT(k_gear)) {
        w_tpl(&w, k_gear[gear].front, arg);
    }
    if (extra < AV_COUNT(k_extra)) {
        w_tpl(&w, k_extra[extra].front, arg);
    }
    w_put(&w, k_close, sizeof(k_close) - 1u);
    return w.over ? 0u : w.n;
}

/* ---- serving -------------------------------------------------------------- */

static bool seed_ok(strv seed)
{
    size_t i;
    if ((seed.p == NULL) || (seed.n == 0u) || (seed.n > AV_SEED_MAX)) {
        return false;
    }
    for (i = 0u; i < seed.n; i++) {
        unsigned char c = (unsigned char)seed.p[i];
        bool ok = ((c >= (unsigned char)'a') && (c <= (unsigned char)'z')) ||
                  ((c >= (unsigned char)'A') && (c <= (unsigned char)'Z')) ||
                  ((c >= (unsigned char)'0') && (c <= (unsigned char)'9')) ||
                  (c == (unsigned char)'_') || (c == (unsigned char)'-');
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* "<dir>/<seed>.svg" into out (cap bytes); false when the directory is
 * unknown or it does not fit. */
static bool av_path(strv seed, char *out, size_t cap)
{
    static const char ext[] = ".svg";
    if ((g_dir_len == 0u) || ((g_dir_len + 1u + seed.n + sizeof(ext)) > cap)) {
        return false;
    }
    (void)memcpy(out, g_dir, g_dir_len);
    out[g_dir_len] = '/';
    (void)memcpy(&out[g_dir_len + 1u], seed.p, seed.n);
    (void)memcpy(&out[g_dir_len + 1u + seed.n], ext, sizeof ext);
    return true;
}

static void av_etag(sha256_ctx *c, char etag[AV_ETAG_BYTES])
{
    uint8_t d[SHA256_BYTES];
    sha256_final(c, d);
    etag[0] = '"';
    fmt_hex_bytes(&etag[1], d, AV_ETAG_HASH_BYTES);
    etag[AV_ETAG_BYTES - 2u] = '"';
    etag[AV_ETAG_BYTES - 1u] = '\0';
}

/* The head of a 200 or a 304; true when it is the 304 (already ended). */
static bool av_begin(hctx *h, const char *etag)
{
    strv inm = http_header_get(h->req, "If-None-Match");
    bool not_modified = (inm.p != NULL) && spa_etag_match(inm, etag);
    hctx_begin(h, not_modified ? 304 : 200);
    if (!not_modified) {
        hctx_header(h, "Content-Type", "image/svg+xml");
    }
    hctx_header(h, "Cache-Control", AV_CACHE_CONTROL);
    hctx_header(h, "ETag", etag);
    if (not_modified) {
        hctx_end(h);
    } else {
        hctx_header(h, "X-Content-Type-Options", "nosniff");
        hctx_header(h, "Content-Security-Policy", AV_CSP);
    }
    return not_modified;
}

/* A placed (or earlier cached) file: hashed for its ETag, then streamed. */
static void av_serve_file(hctx *h, port_file f, uint64_t size, const char *path)
{
    sha256_ctx c;
    char etag[AV_ETAG_BYTES];
    uint64_t off = 0u;
    st_t st = ST_OK;
    if (size > (uint64_t)CFG_RPG_AVATAR_FILE_BYTES) {
        if (!g_big_warned) {
            g_big_warned = true;
            LOG_W("rpg", "avatar %s is larger than %u bytes: answered 500 (said once)", path,
                  (unsigned)CFG_RPG_AVATAR_FILE_BYTES);
        }
        port_file_close(f);
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    sha256_init(&c);
    while ((st == ST_OK) && (off < size)) {
        uint64_t left = size - off;
        size_t want = (left < (uint64_t)sizeof(g_buf)) ? (size_t)left : sizeof(g_buf);
        size_t got = 0u;
        st = port_file_read_at(f, off, g_buf, want, &got);
        if ((st == ST_OK) && (got == 0u)) {
            st = ST_IO;         /* shorter than it was a moment ago */
        }
        if (st == ST_OK) {
            sha256_update(&c, g_buf, got);
            off += got;
        }
    }
    if (st != ST_OK) {
        LOG_W("rpg", "avatar %s: %s", path, status_str(st));
        port_file_close(f);
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    av_etag(&c, etag);
    if (av_begin(h, etag)) {
        port_file_close(f);
        return;
    }
    hctx_end_file(h, f, 0u, size);
}

/* The generated avatar, from g_buf. */
static void av_serve_bytes(hctx *h, size_t n)
{
    sha256_ctx c;
    char etag[AV_ETAG_BYTES];
    size_t room = 0u;
    char *body;
    sha256_init(&c);
    sha256_update(&c, g_buf, n);
    av_etag(&c, etag);
    if (av_begin(h, etag)) {
        return;
    }
    body = hctx_body(h, &room);
    if (room >= n) {
        (void)memcpy(body, g_buf, n);
    }
    hctx_body_commit(h, n);     /* more than room: the family's 500 */
    hctx_end(h);
}

static void av_cache(const char *path, size_t n)
{
    st_t st = port_file_write_atomic(path, g_buf, n, AV_FILE_MODE);
    if (st == ST_OK) {
        g_write_warned = false;
    } else if (!g_write_warned) {
        g_write_warned = true;
        LOG_W("rpg", "cannot cache avatar %s: %s (served anyway; said once until a write "
              "works)", path, status_str(st));
    } else {
        /* said already */
    }
}

void rpg_avatar_get(hctx *h)
{
    strv seed = hctx_param(h, 0u);
    char path[sizeof(g_dir) + 1u + AV_SEED_MAX + sizeof(".svg")];
    bool cache = false;
    size_t n;
    if (!seed_ok(seed)) {
        rpg_error(h, 404, "NOT_FOUND", "Avatar not found");
        return;
    }
    if (av_path(seed, path, sizeof path)) {
        port_file f = PORT_FILE_NONE;
        port_file_info fi;
        st_t st = port_file_open(path, &f, &fi);
        if (st == ST_OK) {
            av_serve_file(h, f, fi.size, path);
            return;
        }
        cache = (st == ST_NOTFOUND);
        if (!cache && !g_open_warned) {
            g_open_warned = true;
            LOG_W("rpg", "cannot open avatar %s: %s (a generated one is served; said once)",
                  path, status_str(st));
        }
    }
    n = av_draw(seed, g_buf, sizeof g_buf);
    if (NEVER(n == 0u)) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    if (cache) {
        av_cache(path, n);
    }
    av_serve_bytes(h, n);
}

void rpg_avatar_init(const char *data_dir)
{
    size_t n = strlen(data_dir);
    st_t st;
    g_dir_len = 0u;
    if ((n == 0u) || ((n + sizeof(k_sub)) > sizeof(g_dir))) {
        LOG_W("rpg", "data directory path of %lu bytes: avatars are not cached",
              (unsigned long)n);
        return;
    }
    (void)memcpy(g_dir, data_dir, n);
    (void)memcpy(&g_dir[n], k_sub, sizeof(k_sub));
    g_dir_len = n + sizeof(k_sub) - 1u;
    st = port_mkdir_p(g_dir, 0755u);
    if (st != ST_OK) {
        LOG_W("rpg", "cannot make %s: %s (avatars are generated; caching them fails until "
              "it exists)", g_dir, status_str(st));
    }
}
