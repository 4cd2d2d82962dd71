/*
 * fuzz/spawn.c - libFuzzer target for the text rules of fleet sub-agents
 * (src/engine/spawn.c): an agent's response is untrusted text.
 *
 * Input: byte 0 picks the summary size and a short buffer capacity, the rest
 * is the response text. One input checks:
 *   - spawn_find against a reference search written here: the same answer,
 *     start < end <= n, `<spawn_agents` at start, `</spawn_agents>` just
 *     before end, and the mode as the block's own text says;
 *   - spawn_next_task against a reference scan: the same raw values in the
 *     same order, each inside the block, preceded by `task="` and followed by
 *     its closing quote, and pos strictly increasing;
 *   - spawn_decode of every task and of the whole text against a reference
 *     decoder: length <= raw length, nothing written at or past cap, and a
 *     short cap gives a prefix of the full decoding;
 *   - spawn_normalise of every decoded task and of the whole text: no ASCII
 *     upper case, no ASCII whitespace at either end, the trimmed text
 *     lower-cased (also in place, as a caller does it);
 *   - spawn_trim: a sub-view whose ends are not whitespace and whose removed
 *     bytes all are;
 *   - spawn_cut with several sizes: whole when it fits; else at most 3 bytes
 *     short of max: at a byte that is not a continuation byte with only
 *     continuation bytes after it up to max, or at max itself when the 3
 *     bytes before it are continuation bytes too (not UTF-8); on valid
 *     UTF-8, a valid prefix;
 *   - spawn_xml_escape with cap = spawn_xml_len: exactly that many bytes, no
 *     raw < > " ', every & one of the five entities, the entities read back
 *     to the input; with a short cap, the same length and nothing written at
 *     or past cap; decoding the escaped text gives the input back when the
 *     input holds no backslash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"
#include "engine/spawn.h"
#include "ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_IN 16384u
#define GUARD_BYTES 16u
#define GUARD 0xA5u

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fuzz/spawn.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static char g_dec[FUZZ_MAX_IN + GUARD_BYTES];
static char g_ref[FUZZ_MAX_IN + GUARD_BYTES];
static char g_short[FUZZ_MAX_IN + GUARD_BYTES];
static char g_norm[FUZZ_MAX_IN + GUARD_BYTES];
static char g_xml[(FUZZ_MAX_IN * 6u) + GUARD_BYTES];
static char g_back[(FUZZ_MAX_IN * 6u) + GUARD_BYTES];

static const char k_open[] = "<spawn_agents";
static const char k_close[] = "</spawn_agents>";
static const char k_seq[] = "mode=\"sequential\"";
static const char k_task[] = "task=\"";

static const struct {
    const char *name;
    char ch;
} k_ent[5] = { { "&quot;", '"' }, { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
               { "&apos;", '\'' } };

static void guard_set(char *p, size_t n)
{
    memset(p, (int)GUARD, n);
}

static bool guard_ok(const char *p, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        if ((unsigned char)p[i] != GUARD) {
            return false;
        }
    }
    return true;
}

static bool is_ws(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\n') || (c == '\v') || (c == '\f') || (c == '\r');
}

static bool is_cont(char c)
{
    return (((unsigned char)c) & 0xC0u) == 0x80u;
}

/* ---- references ------------------------------------------------------------ */

/* First offset >= from of lit in s[0..n), or n. */
static bool ref_space(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\n') || (c == '\v') || (c == '\f') ||
           (c == '\r');
}

static size_t ref_find(const char *s, size_t n, size_t from, const char *lit)
{
    size_t ln = strlen(lit);
    size_t i;
    for (i = from; (i < n) && (ln <= (n - i)); i++) {
        if (memcmp(s + i, lit, ln) == 0) {
            return i;
        }
    }
    return n;
}

static size_t ref_decode(const char *s, size_t n, char *out)
{
    size_t i = 0u;
    size_t o = 0u;
    while (i < n) {
        size_t k;
        bool done = false;
        if ((s[i] == '\\') && (i + 1u < n)) {
            out[o++] = s[i + 1u];
            i += 2u;
            continue;
        }
        if (s[i] == '&') {
            for (k = 0u; k < 5u; k++) {
                size_t el = strlen(k_ent[k].name);
                if ((el <= n - i) && (memcmp(s + i, k_ent[k].name, el) == 0)) {
                    out[o++] = k_ent[k].ch;
                    i += el;
                    done = true;
                    break;
                }
            }
        }
        if (!done) {
            out[o++] = s[i];
            i++;
        }
    }
    return o;
}

/* ---- checks ---------------------------------------------------------------- */

static void check_decode(strv raw, unsigned char knob)
{
    size_t full;
    size_t rn;
    size_t c;
    size_t got;

    guard_set(g_dec, raw.n + GUARD_BYTES);
    full = spawn_decode(raw, g_dec, raw.n);
    CHECK(full <= raw.n);
    CHECK(guard_ok(g_dec + raw.n, GUARD_BYTES));
    rn = ref_decode(raw.p, raw.n, g_ref);
    CHECK(rn == full);
    CHECK((full == 0u) || (memcmp(g_dec, g_ref, full) == 0));

    /* a short cap: a prefix, nothing at or past cap */
    c = (raw.n > 0u) ? ((size_t)knob % (raw.n + 1u)) : 0u;
    guard_set(g_short, c + GUARD_BYTES);
    got = spawn_decode(raw, g_short, c);
    CHECK(got == ((full < c) ? full : c));
    CHECK(guard_ok(g_short + c, GUARD_BYTES));
    CHECK((got == 0u) || (memcmp(g_short, g_ref, got) == 0));
}

static void check_trim(strv t)
{
    strv r = spawn_trim(t);
    size_t i;
    CHECK(r.n <= t.n);
    if (r.n == 0u) {
        for (i = 0u; i < t.n; i++) {
            CHECK(is_ws(t.p[i]));
        }
        return;
    }
    CHECK((r.p >= t.p) && ((r.p + r.n) <= (t.p + t.n)));
    CHECK(!is_ws(r.p[0]) && !is_ws(r.p[r.n - 1u]));
    for (i = 0u; i < (size_t)(r.p - t.p); i++) {
        CHECK(is_ws(t.p[i]));
    }
    for (i = (size_t)(r.p - t.p) + r.n; i < t.n; i++) {
        CHECK(is_ws(t.p[i]));
    }
}

/* t must not live in g_norm or g_back. */
static void check_normalise(strv t)
{
    strv tr = spawn_trim(t);
    size_t n;
    size_t i;
    strv in_place;
    size_t m;

    check_trim(t);
    guard_set(g_norm, t.n + GUARD_BYTES);
    n = spawn_normalise(t, g_norm, t.n);
    CHECK(guard_ok(g_norm + t.n, GUARD_BYTES));
    CHECK(n == tr.n);
    for (i = 0u; i < n; i++) {
        char w = tr.p[i];
        if ((w >= 'A') && (w <= 'Z')) {
            w = (char)(w - 'A' + 'a');
        }
        CHECK(g_norm[i] == w);
        CHECK(!((g_norm[i] >= 'A') && (g_norm[i] <= 'Z')));
    }
    if (n > 0u) {
        CHECK(!is_ws(g_norm[0]) && !is_ws(g_norm[n - 1u]));
    }

    /* in place: the trimmed view of a buffer normalised into its start */
    if (t.n > 0u) {
        memcpy(g_back, t.p, t.n);
        in_place = spawn_trim((strv){ g_back, t.n });
        m = spawn_normalise(in_place, g_back, t.n);
        CHECK(m == n);
        CHECK((m == 0u) || (memcmp(g_back, g_norm, m) == 0));
    }
}

static void check_cut(strv t, size_t max)
{
    size_t c = spawn_cut(t, max);
    size_t i;
    if (t.n <= max) {
        CHECK(c == t.n);
        return;
    }
    CHECK(c <= max);
    CHECK((c + 3u) >= max);
    if (c < max) {
        /* backed off: to a sequence start, over continuation bytes only */
        CHECK(!is_cont(t.p[c]));
        for (i = c + 1u; i <= max; i++) {
            CHECK(is_cont(t.p[i]));
        }
    } else if (is_cont(t.p[c])) {
        /* kept at max: more than 3 continuation bytes before it (not UTF-8) */
        for (i = (max >= 3u) ? (max - 3u) : 0u; i <= max; i++) {
            CHECK(is_cont(t.p[i]));
        }
    } else {
        /* max itself is a sequence start */
    }
    if (utf8_valid((const uint8_t *)t.p, t.n)) {
        CHECK(utf8_valid((const uint8_t *)t.p, c));
        CHECK((c + 3u) >= max);
    }
}

static void check_xml(strv t, unsigned char knob)
{
    size_t xl = spawn_xml_len(t);
    size_t got;
    size_t i;
    size_t o;
    size_t c;
    bool has_bs = (t.n > 0u) && (memchr(t.p, '\\', t.n) != NULL);

    CHECK(xl >= t.n);
    CHECK(xl <= t.n * 6u);
    guard_set(g_xml, xl + GUARD_BYTES);
    got = spawn_xml_escape(t, g_xml, xl);
    CHECK(got == xl);
    CHECK(guard_ok(g_xml + xl, GUARD_BYTES));

    /* read back: only the five entities, every other byte as it is */
    i = 0u;
    o = 0u;
    while (i < xl) {
        char ch = g_xml[i];
        CHECK((ch != '<') && (ch != '>') && (ch != '"') && (ch != '\''));
        if (ch == '&') {
            size_t k;
            bool hit = false;
            for (k = 0u; k < 5u; k++) {
                size_t el = strlen(k_ent[k].name);
                if ((el <= xl - i) && (memcmp(g_xml + i, k_ent[k].name, el) == 0)) {
                    ch = k_ent[k].ch;
                    i += el;
                    hit = true;
                    break;
                }
            }
            CHECK(hit);
        } else {
            i++;
        }
        CHECK(o < t.n);
        CHECK(t.p[o] == ch);
        o++;
    }
    CHECK(o == t.n);

    /* spawn_decode undoes it when there is no backslash */
    if (!has_bs && (xl > 0u)) {
        size_t bn = spawn_decode((strv){ g_xml, xl }, g_back, xl);
        CHECK(bn == t.n);
        CHECK(memcmp(g_back, t.p, t.n) == 0);
    }

    /* a short cap: the same length, nothing at or past cap */
    c = (xl > 0u) ? ((size_t)knob % xl) : 0u;
    guard_set(g_short, c + GUARD_BYTES);
    CHECK(spawn_xml_escape(t, g_short, c) == xl);
    CHECK(guard_ok(g_short + c, GUARD_BYTES));
}

/* Tasks of the block against a reference scan. */
static void check_tasks(strv text, const spawn_block *b, unsigned char knob)
{
    const char *blk = text.p + b->start;
    size_t bn = b->end - b->start;
    size_t pos = 0u;
    size_t rpos = 0u;
    size_t count = 0u;
    strv raw;

    for (;;) {
        size_t at = ref_find(blk, bn, rpos, k_task);
        size_t i;
        while ((at < bn) && (at > 0u) && !ref_space(blk[at - 1u])) {
            at = ref_find(blk, bn, at + 1u, k_task);
        }
        bool want = false;
        size_t prev = pos;
        bool got = spawn_next_task(text, b, &pos, &raw);

        if (at < bn) {
            at += sizeof(k_task) - 1u;
            i = at;
            while ((i < bn) && (blk[i] != '"')) {
                i += (blk[i] == '\\') ? 2u : 1u;
            }
            if (i < bn) {
                want = true;
            }
        }
        CHECK(got == want);
        if (!got) {
            break;
        }
        CHECK(raw.p == blk + at);
        CHECK(raw.n == i - at);
        /* inside the block, after task=", before its closing quote */
        CHECK(raw.p >= blk + (sizeof(k_task) - 1u));
        CHECK(memcmp(raw.p - (sizeof(k_task) - 1u), k_task, sizeof(k_task) - 1u) == 0);
        CHECK(raw.p + raw.n < blk + bn);
        CHECK(raw.p[raw.n] == '"');
        CHECK(pos > prev);
        CHECK(pos <= bn);
        rpos = i + 1u;
        count++;
        CHECK(count <= bn);

        check_decode(raw, knob);
        {
            size_t dn = spawn_decode(raw, g_dec, raw.n);
            /* g_dec is reused by check_decode: keep a copy */
            memcpy(g_ref, g_dec, dn);
            check_normalise((strv){ g_ref, dn });
            check_xml((strv){ g_ref, dn }, knob);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strv text;
    spawn_block b;
    unsigned char knob;
    size_t a;
    size_t z;
    bool want;
    bool got;

    if ((size < 1u) || (size > FUZZ_MAX_IN + 1u)) {
        return 0;
    }
    knob = data[0];
    text.p = (const char *)data + 1;
    text.n = size - 1u;

    /* the block */
    a = ref_find(text.p, text.n, 0u, k_open);
    z = (a < text.n) ? ref_find(text.p, text.n, a, k_close) : text.n;
    want = (z < text.n);
    memset(&b, 0, sizeof b);
    got = spawn_find(text, &b);
    CHECK(got == want);
    if (got) {
        CHECK(b.start == a);
        CHECK(b.end == z + (sizeof(k_close) - 1u));
        CHECK(b.start < b.end);
        CHECK(b.end <= text.n);
        CHECK((b.end - b.start) >= (sizeof(k_open) - 1u) + (sizeof(k_close) - 1u));
        CHECK(memcmp(text.p + b.start, k_open, sizeof(k_open) - 1u) == 0);
        CHECK(memcmp(text.p + b.end - (sizeof(k_close) - 1u), k_close, sizeof(k_close) - 1u) ==
              0);
        CHECK(b.sequential ==
              (ref_find(text.p + b.start, b.end - b.start, 0u, k_seq) < (b.end - b.start)));
        check_tasks(text, &b, knob);
    }

    /* the whole text as a raw task, a task key, a summary and an attribute */
    check_decode(text, knob);
    check_normalise(text);
    check_cut(text, 200u);
    check_cut(text, (size_t)knob);
    check_cut(text, 0u);
    if (text.n > 0u) {
        check_cut(text, text.n - 1u);
        check_cut(text, (size_t)knob % text.n);
    }
    check_xml(text, knob);
    return 0;
}
