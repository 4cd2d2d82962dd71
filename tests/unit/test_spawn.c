/*
 * test_spawn.c - the text rules of fleet sub-agents (src/engine/spawn.c,
 * spec/fleet.md §7.4): finding the spawn block, its mode and its raw tasks,
 * decoding a task, the task key of cycle detection, trimming, the cut of a
 * result summary and XML escaping for the synthesis message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/strv.h"
#include "engine/spawn.h"
#include "t.h"

#define MAX_TASKS 8
#define GUARD 0x5A

/* ---- helpers -------------------------------------------------------------- */

static bool find_s(const char *text, spawn_block *b)
{
    (void)memset(b, 0xEE, sizeof *b);
    return spawn_find(strv_from_cstr(text), b);
}

/* The raw tasks of text's block, in order; returns how many. */
static int tasks_of(strv text, strv raw[MAX_TASKS])
{
    spawn_block b;
    size_t pos = 0u;
    int n = 0;
    if (!spawn_find(text, &b)) {
        return -1;
    }
    while ((n < MAX_TASKS) && spawn_next_task(text, &b, &pos, &raw[n])) {
        /* every raw task lies inside the block */
        T_CHECK(raw[n].p >= &text.p[b.start]);
        T_CHECK(&raw[n].p[raw[n].n] <= &text.p[b.end]);
        n++;
    }
    return n;
}

/* Decode raw into out (NUL-terminated for T_EQ_STR); returns the length. */
static size_t dec(strv raw, char *out, size_t outsz)
{
    size_t n;
    T_CHECK(raw.n < outsz);
    n = spawn_decode(raw, out, raw.n);
    T_CHECK(n <= raw.n);
    out[n] = '\0';
    return n;
}

/* ---- spawn_find ------------------------------------------------------------ */

static void test_no_block(void)
{
    spawn_block b;
    T_CHECK(!spawn_find(STRV_NULL, &b));
    T_CHECK(!find_s("", &b));
    T_CHECK(!find_s("just an answer, no sub-agents", &b));
    T_CHECK(!find_s("<spawn_agent task=\"a\"></spawn_agents>", &b));
    T_CHECK(!find_s("task=\"a\" </spawn_agents>", &b));
    /* a closing before the opening does not close it */
    T_CHECK(!find_s("</spawn_agents> <spawn_agents task=\"a\">", &b));
    /* case matters */
    T_CHECK(!find_s("<SPAWN_AGENTS task=\"a\"></SPAWN_AGENTS>", &b));
}

static void test_open_without_close(void)
{
    spawn_block b;
    T_CHECK(!find_s("<spawn_agents task=\"a\">", &b));
    T_CHECK(!find_s("<spawn_agents task=\"a\"></spawn_agents", &b));
    T_CHECK(!find_s("<spawn_agents", &b));
    T_CHECK(!find_s("<spawn_agents task=\"a\"></spawn_agent>", &b));
}

static void test_block_bounds(void)
{
    static const char text[] = "Plan:\n<spawn_agents>\n  <agent task=\"a\"/>\n</spawn_agents>\ntail";
    spawn_block b;
    T_CHECK(find_s(text, &b));
    T_EQ_INT(b.start, 6);
    T_EQ_INT(b.end, strlen(text) - 5u);
    T_CHECK(memcmp(&text[b.start], "<spawn_agents", 13u) == 0);
    T_CHECK(memcmp(&text[b.end - 15u], "</spawn_agents>", 15u) == 0);
    T_CHECK(!b.sequential);
    /* the whole text a block */
    T_CHECK(find_s("<spawn_agents></spawn_agents>", &b));
    T_EQ_INT(b.start, 0);
    T_EQ_INT(b.end, 29);
    /* an opening that is only a prefix of a longer name still counts */
    T_CHECK(find_s("<spawn_agentsX></spawn_agents>", &b));
    T_EQ_INT(b.start, 0);
}

static void test_first_of_two(void)
{
    static const char text[] = "pre <spawn_agents task=\"a\"></spawn_agents> mid "
                               "<spawn_agents mode=\"sequential\" task=\"b\"></spawn_agents>";
    spawn_block b;
    strv raw[MAX_TASKS];
    T_CHECK(find_s(text, &b));
    T_EQ_INT(b.start, 4);
    T_EQ_INT(b.end, 4u + strlen("<spawn_agents task=\"a\"></spawn_agents>"));
    T_CHECK(!b.sequential);
    T_EQ_INT(tasks_of(strv_from_cstr(text), raw), 1);
    T_EQ_MEM(raw[0].p, raw[0].n, "a");
    /* two openings, one closing: the block runs from the first */
    T_CHECK(find_s("<spawn_agents x <spawn_agents y </spawn_agents>", &b));
    T_EQ_INT(b.start, 0);
    T_EQ_INT(b.end, 47);
}

static void test_mode(void)
{
    spawn_block b;
    T_CHECK(find_s("<spawn_agents task=\"a\"></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    T_CHECK(find_s("<spawn_agents mode=\"parallel\" task=\"a\"></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    T_CHECK(find_s("<spawn_agents mode=\"sequential\" task=\"a\"></spawn_agents>", &b));
    T_CHECK(b.sequential);
    /* anywhere inside the block counts, not only in the opening tag */
    T_CHECK(find_s("<spawn_agents>\n<agent task=\"a\" mode=\"sequential\"/>\n</spawn_agents>", &b));
    T_CHECK(b.sequential);
    /* the exact text only */
    T_CHECK(find_s("<spawn_agents mode='sequential'></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    T_CHECK(find_s("<spawn_agents mode=\"Sequential\"></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    T_CHECK(find_s("<spawn_agents mode = \"sequential\"></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    /* an escaped quote inside a task value is not the attribute */
    T_CHECK(find_s("<spawn_agents task=\"mode=\\\"sequential\\\"\"></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    /* outside the block it does not count */
    T_CHECK(find_s("mode=\"sequential\" <spawn_agents task=\"a\"></spawn_agents>", &b));
    T_CHECK(!b.sequential);
    T_CHECK(find_s("<spawn_agents task=\"a\"></spawn_agents> mode=\"sequential\"", &b));
    T_CHECK(!b.sequential);
    /* nor in a second block */
    T_CHECK(find_s("<spawn_agents></spawn_agents><spawn_agents mode=\"sequential\"></spawn_agents>",
                   &b));
    T_CHECK(!b.sequential);
}

/* ---- spawn_next_task ------------------------------------------------------- */

/* Only attributes named task count: subtask= and data-task= do not. */
static void test_task_attribute_boundary(void)
{
    strv raw[MAX_TASKS];
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents><agent subtask=\"no\" data-task=\"no\" "
                                     "task=\"yes\"/>\n<agent\ttask=\"tab\"/></spawn_agents>"),
                      raw), 2);
    T_EQ_MEM(raw[0].p, raw[0].n, "yes");
    T_EQ_MEM(raw[1].p, raw[1].n, "tab");
    /* right after the tag name's '<': not an attribute either */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents><task=\"x\"/></spawn_agents>"), raw), 0);
}

static void test_tasks_in_order(void)
{
    static const char text[] = "<spawn_agents mode=\"parallel\">\n"
                               "  <agent task=\"Research the history\"/>\n"
                               "  <agent id=\"2\" task=\"List companies\" extra=\"x\"/>\n"
                               "  <agent task=\"Summarise\"/>\n"
                               "</spawn_agents>";
    strv t = strv_from_cstr(text);
    strv raw[MAX_TASKS];
    spawn_block b;
    size_t pos = 0u;
    strv r;
    T_EQ_INT(tasks_of(t, raw), 3);
    T_EQ_MEM(raw[0].p, raw[0].n, "Research the history");
    T_EQ_MEM(raw[1].p, raw[1].n, "List companies");
    T_EQ_MEM(raw[2].p, raw[2].n, "Summarise");
    /* views into the text, and pos advances past each value */
    T_CHECK(raw[0].p == strstr(text, "Research"));
    T_CHECK(spawn_find(t, &b));
    T_CHECK(spawn_next_task(t, &b, &pos, &r));
    T_CHECK(pos > (size_t)(r.p - text - (ptrdiff_t)b.start));
    T_CHECK(spawn_next_task(t, &b, &pos, &r));
    T_CHECK(spawn_next_task(t, &b, &pos, &r));
    T_CHECK(!spawn_next_task(t, &b, &pos, &r));
    T_CHECK(!spawn_next_task(t, &b, &pos, &r));
    /* adjacent values: the second has no whitespace before it, so it is
     * not an attribute; with a space it is */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"x\"task=\"y\"></spawn_agents>"), raw), 1);
    T_EQ_MEM(raw[0].p, raw[0].n, "x");
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"x\" task=\"y\"></spawn_agents>"), raw), 2);
    T_EQ_MEM(raw[1].p, raw[1].n, "y");
    /* no task at all */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents mode=\"sequential\"></spawn_agents>"), raw), 0);
}

static void test_escaped_quote(void)
{
    char out[64];
    strv raw[MAX_TASKS];
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"say \\\"hi\\\"\" task=\"next\">"
                                     "</spawn_agents>"),
                      raw),
             2);
    T_EQ_MEM(raw[0].p, raw[0].n, "say \\\"hi\\\"");
    T_EQ_INT(dec(raw[0], out, sizeof out), 8);
    T_EQ_STR(out, "say \"hi\"");
    T_EQ_MEM(raw[1].p, raw[1].n, "next");
    /* an escaped backslash before the closing quote */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a\\\\\" task=\"b\"></spawn_agents>"),
                      raw),
             2);
    T_EQ_MEM(raw[0].p, raw[0].n, "a\\\\");
    (void)dec(raw[0], out, sizeof out);
    T_EQ_STR(out, "a\\");
    T_EQ_MEM(raw[1].p, raw[1].n, "b");
}

static void test_entities(void)
{
    char out[128];
    strv raw[MAX_TASKS];
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a &quot;b&quot; &amp; &lt;c&gt; "
                                     "&apos;d&apos;\"></spawn_agents>"),
                      raw),
             1);
    (void)dec(raw[0], out, sizeof out);
    T_EQ_STR(out, "a \"b\" & <c> 'd'");
    /* decoded once: &amp;lt; is "&lt;" */
    (void)dec(strv_from_cstr("&amp;lt;"), out, sizeof out);
    T_EQ_STR(out, "&lt;");
    /* a backslash takes the next byte as it is (no entity, no escape letter) */
    (void)dec(strv_from_cstr("\\&amp; \\n \\\\ \\\""), out, sizeof out);
    T_EQ_STR(out, "&amp; n \\ \"");
    /* nothing to decode */
    (void)dec(strv_from_cstr("plain text"), out, sizeof out);
    T_EQ_STR(out, "plain text");
    T_EQ_INT(spawn_decode(STRV_NULL, out, sizeof out), 0);
}

static void test_unknown_entity(void)
{
    char out[128];
    (void)dec(strv_from_cstr("&nbsp; &#34; &#x22; &foo &amp &quot &AMP; &"), out, sizeof out);
    T_EQ_STR(out, "&nbsp; &#34; &#x22; &foo &amp &quot &AMP; &");
    /* a truncated entity at the very end */
    (void)dec(strv_from_cstr("x&apos"), out, sizeof out);
    T_EQ_STR(out, "x&apos");
    /* a known one right after an unknown one */
    (void)dec(strv_from_cstr("&&amp;&x;&lt;"), out, sizeof out);
    T_EQ_STR(out, "&&&x;<");
}

static void test_decode_cap(void)
{
    char out[16];
    (void)memset(out, GUARD, sizeof out);
    /* cap bounds the output; the prefix is the full decoding's */
    T_EQ_INT(spawn_decode(strv_from_cstr("a&amp;bc"), out, 3u), 3);
    T_CHECK(memcmp(out, "a&b", 3u) == 0);
    T_EQ_INT(out[3], GUARD);
    T_EQ_INT(spawn_decode(strv_from_cstr("abc"), out, 0u), 0);
    /* a lone backslash at the end of a raw value is kept */
    (void)memset(out, GUARD, sizeof out);
    T_EQ_INT(spawn_decode(strv_from_cstr("ab\\"), out, 3u), 3);
    T_CHECK(memcmp(out, "ab\\", 3u) == 0);
    T_EQ_INT(out[3], GUARD);
}

static void test_backslash_at_end(void)
{
    /* exact-size text without a NUL: any read past the block shows under ASan */
    static const char cut[] = { '<', 's', 'p', 'a', 'w', 'n', '_', 'a', 'g', 'e', 'n', 't',
                                's', ' ', 't', 'a', 's', 'k', '=', '"', 'a', 'b', '\\' };
    strv text = { cut, sizeof cut };
    spawn_block b = { 0u, sizeof cut, false };
    size_t pos = 0u;
    strv r;
    strv raw[MAX_TASKS];
    /* a backslash as the last byte of a block */
    T_CHECK(!spawn_next_task(text, &b, &pos, &r));
    /* ...and second to last, escaping the closing quote that ends the block */
    {
        static const char q[] = { '<', 's', 'p', 'a', 'w', 'n', '_', 'a', 'g', 'e', 'n', 't',
                                  's', ' ', 't', 'a', 's', 'k', '=', '"', 'a', '\\', '"' };
        spawn_block bq = { 0u, sizeof q, false };
        pos = 0u;
        T_CHECK(!spawn_next_task((strv){ q, sizeof q }, &bq, &pos, &r));
    }
    /* a backslash escaping the only closing quote: unterminated */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"abc\\\"</spawn_agents>"), raw), 0);
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a\" task=\"\\\"</spawn_agents>"), raw),
             1);
    T_EQ_MEM(raw[0].p, raw[0].n, "a");
}

static void test_unterminated(void)
{
    strv raw[MAX_TASKS];
    /* an unterminated value ends the list */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a\" task=\"b</spawn_agents>"), raw), 1);
    T_EQ_MEM(raw[0].p, raw[0].n, "a");
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"b c d</spawn_agents>"), raw), 0);
    /* a value is not continued past the block's end */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a </spawn_agents> b\""), raw), 0);
    /* a quote missing: the value runs to the next quote */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a task=\"b\"></spawn_agents>"), raw), 1);
    T_EQ_MEM(raw[0].p, raw[0].n, "a task=");
}

static void test_empty_task(void)
{
    strv raw[MAX_TASKS];
    char out[8];
    /* returned with n == 0; dropping it is the caller's (spec: empty tasks
     * are dropped), and the list goes on */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"\" task=\"b\" task=\"\">"
                                     "</spawn_agents>"),
                      raw),
             3);
    T_EQ_INT(raw[0].n, 0);
    T_EQ_MEM(raw[1].p, raw[1].n, "b");
    T_EQ_INT(raw[2].n, 0);
    T_EQ_INT(spawn_decode(raw[0], out, 0u), 0);
    /* whitespace only: empty once trimmed */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\" \t\n\"></spawn_agents>"), raw), 1);
    T_EQ_INT(spawn_trim(raw[0]).n, 0);
}

static void test_outside_block(void)
{
    strv raw[MAX_TASKS];
    T_EQ_INT(tasks_of(strv_from_cstr("task=\"before\" <spawn_agents task=\"a\"></spawn_agents> "
                                     "task=\"after\""),
                      raw),
             1);
    T_EQ_MEM(raw[0].p, raw[0].n, "a");
    /* nor in a second block */
    T_EQ_INT(tasks_of(strv_from_cstr("<spawn_agents task=\"a\"></spawn_agents>"
                                     "<spawn_agents task=\"b\"></spawn_agents>"),
                      raw),
             1);
    T_EQ_MEM(raw[0].p, raw[0].n, "a");
    /* no block, no tasks */
    T_EQ_INT(tasks_of(strv_from_cstr("task=\"a\" <spawn_agents task=\"b\">"), raw), -1);
}

/* ---- spawn_normalise, spawn_trim -------------------------------------------- */

static void test_normalise(void)
{
    char out[64];
    char buf[64];
    size_t n;
    strv t;
    n = spawn_normalise(strv_from_cstr("  Research The HISTORY of X \t\r\n"), out, sizeof out);
    T_EQ_MEM(out, n, "research the history of x");
    n = spawn_normalise(strv_from_cstr("\v\fX\r"), out, sizeof out);
    T_EQ_MEM(out, n, "x");
    /* only ASCII: UTF-8 bytes (here Ä, É) are kept as they are */
    n = spawn_normalise(strv_from_cstr("\xC3\x84" "BC \xC3\x89t\xC3\xA9"), out, sizeof out);
    T_EQ_MEM(out, n, "\xC3\x84" "bc \xC3\x89t\xC3\xA9");
    /* the bytes around A..Z stay */
    n = spawn_normalise(strv_from_cstr("@AZ[`az{"), out, sizeof out);
    T_EQ_MEM(out, n, "@az[`az{");
    /* interior whitespace stays; non-ASCII whitespace (NBSP) is not trimmed */
    n = spawn_normalise(strv_from_cstr("\xC2\xA0" "A  B\xC2\xA0"), out, sizeof out);
    T_EQ_MEM(out, n, "\xC2\xA0" "a  b\xC2\xA0");
    /* empty and all-whitespace */
    T_EQ_INT(spawn_normalise(strv_from_cstr(""), out, sizeof out), 0);
    T_EQ_INT(spawn_normalise(strv_from_cstr(" \t\n\v\f\r"), out, sizeof out), 0);
    /* cap == task.n suffices */
    n = spawn_normalise(strv_from_cstr(" AbC "), out, 5u);
    T_EQ_MEM(out, n, "abc");
    /* in place, into the buffer the trimmed task views (as a caller does) */
    (void)memcpy(buf, "  Mixed Case  ", 14u);
    t = spawn_trim((strv){ buf, 14u });
    n = spawn_normalise(t, buf, 14u);
    T_EQ_MEM(buf, n, "mixed case");
}

static void test_trim(void)
{
    static const char ws[] = " \t\n\v\f\r";
    strv t;
    t = spawn_trim(strv_from_cstr(ws));
    T_EQ_INT(t.n, 0);
    t = spawn_trim(strv_from_cstr(""));
    T_EQ_INT(t.n, 0);
    t = spawn_trim(STRV_NULL);
    T_EQ_INT(t.n, 0);
    t = spawn_trim(strv_from_cstr("\r\n a b \t"));
    T_EQ_MEM(t.p, t.n, "a b");
    t = spawn_trim(strv_from_cstr("x"));
    T_EQ_MEM(t.p, t.n, "x");
    /* a view into the text */
    t = spawn_trim(strv_from_cstr(" \fkeep\v"));
    T_EQ_MEM(t.p, t.n, "keep");
    /* NUL is not whitespace */
    t = spawn_trim((strv){ " \0 ", 3u });
    T_EQ_INT(t.n, 1);
    T_EQ_INT(t.p[0], '\0');
}

/* ---- spawn_cut --------------------------------------------------------------- */

/* pad 'a' bytes, then seq, then 'b' bytes up to 260 in all. */
static strv with_seq_at(char *buf, size_t pad, const char *seq)
{
    size_t sl = strlen(seq);
    (void)memset(buf, 'a', pad);
    (void)memcpy(&buf[pad], seq, sl);
    (void)memset(&buf[pad + sl], 'b', 260u - pad - sl);
    return (strv){ buf, 260u };
}

static void test_cut(void)
{
    static const char e2[] = "\xC3\xA9";              /* é */
    static const char e3[] = "\xE2\x82\xAC";          /* € */
    static const char e4[] = "\xF0\x9F\x98\x80";      /* U+1F600 */
    char buf[260];
    /* shorter than max, or exactly max: whole */
    T_EQ_INT(spawn_cut(strv_from_cstr("abc"), 200u), 3);
    T_EQ_INT(spawn_cut(STRV_NULL, 200u), 0);
    (void)memset(buf, 'a', sizeof buf);
    T_EQ_INT(spawn_cut((strv){ buf, 200u }, 200u), 200);
    T_EQ_INT(spawn_cut((strv){ buf, 201u }, 200u), 200);
    T_EQ_INT(spawn_cut((strv){ buf, 260u }, 0u), 0);
    /* whole even when it ends inside a sequence: nothing is cut */
    T_EQ_INT(spawn_cut(strv_from_cstr("ab\xE2\x82"), 200u), 4);
    T_EQ_INT(spawn_cut(strv_from_cstr("\xC3\xA9"), 2u), 2);
    T_EQ_INT(spawn_cut(strv_from_cstr("\xC3\xA9"), 1u), 0);

    /* 2-byte sequence */
    T_EQ_INT(spawn_cut(with_seq_at(buf, 198u, e2), 200u), 200);   /* ends at the cut */
    T_EQ_INT(spawn_cut(with_seq_at(buf, 199u, e2), 200u), 199);   /* straddles */
    T_EQ_INT(spawn_cut(with_seq_at(buf, 200u, e2), 200u), 200);   /* starts at the cut */
    /* 3-byte sequence */
    T_EQ_INT(spawn_cut(with_seq_at(buf, 197u, e3), 200u), 200);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 198u, e3), 200u), 198);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 199u, e3), 200u), 199);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 200u, e3), 200u), 200);
    /* 4-byte sequence */
    T_EQ_INT(spawn_cut(with_seq_at(buf, 196u, e4), 200u), 200);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 197u, e4), 200u), 197);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 198u, e4), 200u), 198);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 199u, e4), 200u), 199);
    T_EQ_INT(spawn_cut(with_seq_at(buf, 200u, e4), 200u), 200);
    /* not UTF-8: a run of continuation bytes is cut at max, not backed over */
    buf[0] = '`';
    (void)memset(&buf[1], 0xBC, 259u);
    T_EQ_INT(spawn_cut((strv){ buf, 260u }, 200u), 200);
    T_EQ_INT(spawn_cut((strv){ buf, 260u }, 2u), 0);     /* back to the backtick */
    /* all multi-byte: a run of 3-byte sequences, 200 = 66 * 3 + 2 */
    {
        size_t i;
        for (i = 0u; (i + 3u) <= sizeof buf; i += 3u) {
            (void)memcpy(&buf[i], e3, 3u);
        }
        T_EQ_INT(spawn_cut((strv){ buf, 258u }, 200u), 198);
        T_EQ_INT(spawn_cut((strv){ buf, 258u }, 198u), 198);
        T_EQ_INT(spawn_cut((strv){ buf, 258u }, 199u), 198);
    }
}

/* ---- spawn_xml_escape, spawn_xml_len ------------------------------------------- */

static void test_xml_escape(void)
{
    static const char want[] = "a&amp;b&lt;c&gt;d&quot;e&apos;f";
    strv in = strv_from_cstr("a&b<c>d\"e'f");
    char out[64];
    size_t n;
    (void)memset(out, GUARD, sizeof out);
    T_EQ_INT(spawn_xml_len(in), sizeof want - 1u);
    n = spawn_xml_escape(in, out, sizeof out);
    T_EQ_MEM(out, n, want);
    T_EQ_INT(out[n], GUARD);
    /* exactly the length: fits */
    (void)memset(out, GUARD, sizeof out);
    n = spawn_xml_escape(in, out, spawn_xml_len(in));
    T_EQ_MEM(out, n, want);
    T_EQ_INT(out[n], GUARD);
    /* one short: the length needed, nothing written at or past cap */
    (void)memset(out, GUARD, sizeof out);
    n = spawn_xml_escape(in, out, sizeof want - 2u);
    T_EQ_INT(n, sizeof want - 1u);
    T_EQ_INT(out[sizeof want - 2u], GUARD);
    T_EQ_INT(out[sizeof want - 1u], GUARD);
    (void)memset(out, GUARD, sizeof out);
    T_EQ_INT(spawn_xml_escape(strv_from_cstr("&"), out, 4u), 5);
    T_EQ_INT(out[4], GUARD);
    /* each character alone */
    T_EQ_INT(spawn_xml_len(strv_from_cstr("&")), 5);
    T_EQ_INT(spawn_xml_len(strv_from_cstr("<")), 4);
    T_EQ_INT(spawn_xml_len(strv_from_cstr(">")), 4);
    T_EQ_INT(spawn_xml_len(strv_from_cstr("\"")), 6);
    T_EQ_INT(spawn_xml_len(strv_from_cstr("'")), 6);
    /* nothing to escape; an existing entity is escaped again; UTF-8 and
     * backslashes are kept */
    n = spawn_xml_escape(strv_from_cstr("plain \xC3\xA9 \\n"), out, sizeof out);
    T_EQ_MEM(out, n, "plain \xC3\xA9 \\n");
    n = spawn_xml_escape(strv_from_cstr("&amp;"), out, sizeof out);
    T_EQ_MEM(out, n, "&amp;amp;");
    T_EQ_INT(spawn_xml_len(STRV_NULL), 0);
    T_EQ_INT(spawn_xml_escape(strv_from_cstr(""), out, sizeof out), 0);
    /* decoding an escaped task gives it back */
    {
        char back[64];
        n = spawn_xml_escape(in, out, sizeof out);
        T_EQ_INT(spawn_decode((strv){ out, n }, back, n), in.n);
        T_CHECK(memcmp(back, in.p, in.n) == 0);
    }
}

int main(void)
{
    T_RUN(test_no_block);
    T_RUN(test_open_without_close);
    T_RUN(test_block_bounds);
    T_RUN(test_first_of_two);
    T_RUN(test_mode);
    T_RUN(test_task_attribute_boundary);
    T_RUN(test_tasks_in_order);
    T_RUN(test_escaped_quote);
    T_RUN(test_entities);
    T_RUN(test_unknown_entity);
    T_RUN(test_decode_cap);
    T_RUN(test_backslash_at_end);
    T_RUN(test_unterminated);
    T_RUN(test_empty_task);
    T_RUN(test_outside_block);
    T_RUN(test_normalise);
    T_RUN(test_trim);
    T_RUN(test_cut);
    T_RUN(test_xml_escape);
    return t_done("spawn");
}
