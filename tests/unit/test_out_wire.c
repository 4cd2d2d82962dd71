/*
 * test_out_wire.c - provider wire formats (src/out/llm_wire.c), alone and
 * behind the SSE parser (src/out/sse_in.c) the way an outbound call uses
 * them: real-shaped Anthropic and OpenAI streams fed whole, byte by byte
 * and in random pieces (with LF, CRLF and CR line ends) must all decode to
 * the same text, usage and stop reason; whole (non-streaming) replies of
 * both kinds.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "core/utf8.h"
#include "out/llm_wire.h"
#include "out/sse_in.h"
#include "t.h"

/* ---- a call: sse_in + llm_wire_decode ------------------------------------ */

typedef struct {
    llm_kind kind;
    char tbuf[1024];
    char text[2048];
    size_t text_n;
    int text_deltas;
    bool done;
    bool has_in;
    bool has_out;
    bool has_cc;
    bool has_cr;
    uint64_t in;
    uint64_t out;
    uint64_t cc;
    uint64_t cr;
    char stop[LLM_WIRE_REASON_BYTES];
    st_t st;
    char detail[CFG_LLM_DETAIL_BYTES];
} call;

static st_t on_event(void *ctx, strv event, strv data)
{
    static llm_event ev;
    call *c = ctx;
    st_t st = llm_wire_decode(c->kind, event, data, c->tbuf, sizeof(c->tbuf), &ev);

    if (st != ST_OK) {
        c->st = st;
        memcpy(c->detail, ev.detail, sizeof(c->detail));
        return st;
    }
    T_CHECK(!c->done);
    if (ev.text.n > 0u) {
        T_CHECK(ev.text.p == c->tbuf);
        if (ev.text.n <= (sizeof(c->text) - c->text_n)) {
            memcpy(c->text + c->text_n, ev.text.p, ev.text.n);
            c->text_n += ev.text.n;
        }
        c->text_deltas++;
    }
    if (ev.has_input_tokens) {
        c->has_in = true;
        c->in = ev.input_tokens;
    }
    if (ev.has_output_tokens) {
        c->has_out = true;
        c->out = ev.output_tokens;
    }
    if (ev.has_cache_creation) {
        c->has_cc = true;
        c->cc = ev.cache_creation_input_tokens;
    }
    if (ev.has_cache_read) {
        c->has_cr = true;
        c->cr = ev.cache_read_input_tokens;
    }
    if (ev.stop_reason[0] != '\0') {
        memcpy(c->stop, ev.stop_reason, sizeof(c->stop));
    }
    if (ev.done) {
        c->done = true;
    }
    return ST_OK;
}

static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* Line ends of s (written with "\n") turned into eol, into out. */
static size_t with_eol(const char *s, const char *eol, char *out, size_t cap)
{
    size_t n = 0u;
    size_t el = strlen(eol);
    for (; *s != '\0'; s++) {
        if (*s == '\n') {
            T_CHECK(n + el <= cap);
            memcpy(out + n, eol, el);
            n += el;
        } else {
            T_CHECK(n < cap);
            out[n] = *s;
            n++;
        }
    }
    return n;
}

/* mode 0 whole, 1 byte by byte, 2 random pieces of 0..40 bytes. */
static st_t run_call(llm_kind kind, const char *s, size_t n, int mode, uint32_t seed, call *c)
{
    static char buf[CFG_LLM_SSE_BYTES];
    sse_in p;
    size_t off = 0u;
    st_t st = ST_OK;

    memset(c, 0, sizeof(*c));
    c->kind = kind;
    sse_in_init(&p, buf, sizeof(buf), on_event, c);
    while ((off < n) && (st == ST_OK)) {
        size_t k = n - off;
        if (mode == 1) {
            k = 1u;
        } else if (mode == 2) {
            size_t want = (size_t)(next_rand(&seed) % 41u);
            k = (want < k) ? want : k;
        } else {
            /* whole */
        }
        st = sse_in_feed(&p, s + off, k);
        off += k;
    }
    if (st == ST_OK) {
        T_CHECK(sse_in_idle(&p));
    }
    return st;
}

static void same_call(const call *a, const call *b)
{
    T_EQ_INT(a->st, b->st);
    T_EQ_INT(a->text_n, b->text_n);
    T_CHECK(memcmp(a->text, b->text, a->text_n) == 0);
    T_EQ_INT(a->done, b->done);
    T_EQ_INT(a->has_in, b->has_in);
    T_EQ_INT(a->has_out, b->has_out);
    T_EQ_INT(a->has_cc, b->has_cc);
    T_EQ_INT(a->has_cr, b->has_cr);
    T_EQ_INT(a->in, b->in);
    T_EQ_INT(a->out, b->out);
    T_EQ_INT(a->cc, b->cc);
    T_EQ_INT(a->cr, b->cr);
    T_EQ_STR(a->stop, b->stop);
    T_EQ_STR(a->detail, b->detail);
}

/* Runs stream s with each line end and each feeding mode; every run must
 * equal the first, which is returned in *first. */
static void run_all(llm_kind kind, const char *s, call *first)
{
    static const char *const eols[] = { "\n", "\r\n", "\r" };
    static const uint32_t seeds[] = { 3u, 99u, 2024u, 0xDEADBEEFu };
    static char text[8192];
    static call other;
    size_t e;
    size_t i;
    bool have_first = false;

    for (e = 0u; e < (sizeof(eols) / sizeof(eols[0])); e++) {
        size_t n = with_eol(s, eols[e], text, sizeof(text));
        int mode;
        for (mode = 0; mode < 3; mode++) {
            size_t runs = (mode == 2) ? (sizeof(seeds) / sizeof(seeds[0])) : 1u;
            for (i = 0u; i < runs; i++) {
                call *c = have_first ? &other : first;
                st_t st = run_call(kind, text, n, mode, seeds[i], c);
                T_EQ_INT(st, c->st);
                if (have_first) {
                    same_call(first, &other);
                }
                have_first = true;
            }
        }
    }
}

/* ---- Anthropic ---------------------------------------------------------- */

static const char k_anthropic_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\","
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,"
    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,"
    "\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},"
    "\"output_tokens\":2,\"service_tier\":\"standard\"}}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n"
    "\n"
    ": a comment line from a proxy\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\", \\\"w\\u00f6rld\\\"\\n\\tcaf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80\\ud83d\\ude00\\/\\\\\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":15}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

static const char k_anthropic_text[] =
    "Hello, \"w\xC3\xB6rld\"\n\tcaf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80\xF0\x9F\x98\x80/\\";

static void test_anthropic_stream(void)
{
    static call c;
    run_all(LLM_ANTHROPIC, k_anthropic_stream, &c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.text_n, sizeof(k_anthropic_text) - 1u);
    T_CHECK(memcmp(c.text, k_anthropic_text, c.text_n) == 0);
    T_EQ_INT(c.text_deltas, 2);
    T_CHECK(c.done);
    T_CHECK(c.has_in && c.has_out && c.has_cc && c.has_cr);
    T_EQ_INT(c.in, 472);
    T_EQ_INT(c.out, 15);
    T_EQ_INT(c.cc, 0);
    T_EQ_INT(c.cr, 2048);
    T_EQ_STR(c.stop, "end_turn");
}

static void test_anthropic_stream_error(void)
{
    static call c;
    run_all(LLM_ANTHROPIC,
            "event: message_start\n"
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
            "\"output_tokens\":1}}}\n\n"
            "event: error\n"
            "data: {\"type\": \"error\", \"error\": {\"details\": null, \"type\": \"overloaded_error\", "
            "\"message\": \"Overloaded\"}}\n\n"
            "event: message_stop\n"
            "data: {\"type\":\"message_stop\"}\n\n",
            &c);
    T_EQ_INT(c.st, ST_IO);
    T_EQ_STR(c.detail, "overloaded_error: Overloaded");
    T_EQ_INT(c.in, 10);
    T_CHECK(!c.done);
}

/* Events without an `event:` line go by their JSON "type". */
static void test_anthropic_unnamed(void)
{
    static call c;
    run_all(LLM_ANTHROPIC,
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n"
            "data: {\"type\":\"ping\"}\n\n"
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":1}}\n\n"
            "data: {\"type\":\"message_stop\"}\n\n",
            &c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.text_n, 2);
    T_CHECK(memcmp(c.text, "hi", 2u) == 0);
    T_EQ_INT(c.in, 3);
    T_EQ_INT(c.out, 1);
    T_EQ_STR(c.stop, "max_tokens");
    T_CHECK(c.done);
}

static st_t dec(llm_kind kind, const char *event, const char *data, llm_event *ev)
{
    static char tbuf[256];
    return llm_wire_decode(kind, strv_from_cstr(event), strv_from_cstr(data), tbuf, sizeof(tbuf),
                           ev);
}

static void test_anthropic_decode(void)
{
    static llm_event ev;
    char small[4];

    /* ignored events are not even parsed */
    T_EQ_INT(dec(LLM_ANTHROPIC, "ping", "not json", &ev), ST_OK);
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_start", "{", &ev), ST_OK);
    T_EQ_INT(dec(LLM_ANTHROPIC, "something_new", "[]", &ev), ST_OK);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_stop", "", &ev), ST_OK);
    T_CHECK(ev.done);
    T_EQ_INT(ev.text.n, 0);

    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", "", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "content_block_delta: malformed JSON: Expecting value at byte 0");
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", "{\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}", &ev),
             ST_BAD);
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", "[1]", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "content_block_delta: not a JSON object");
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", "{\"delta\":\"x\"}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "content_block_delta: delta is not an object");
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", "{\"delta\":{}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "content_block_delta: delta.type is not a string");
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", "{\"delta\":{\"type\":\"text_delta\",\"text\":1}}", &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "content_block_delta: delta.text is not a string");
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta",
                 "{\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}", &ev),
             ST_OK);
    T_EQ_INT(ev.text.n, 0);
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta",
                 "{\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\u0000b\"}}", &ev),
             ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "a\0b");

    /* the text buffer: exactly enough, then one byte short */
    T_EQ_INT(llm_wire_decode(LLM_ANTHROPIC, STRV_LIT("content_block_delta"),
                             STRV_LIT("{\"delta\":{\"type\":\"text_delta\",\"text\":\"ab\\u00e9\"}}"),
                             small, 4u, &ev),
             ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "ab\xC3\xA9");
    T_EQ_INT(llm_wire_decode(LLM_ANTHROPIC, STRV_LIT("content_block_delta"),
                             STRV_LIT("{\"delta\":{\"type\":\"text_delta\",\"text\":\"abc\\u00e9\"}}"),
                             small, 4u, &ev),
             ST_TOOBIG);
    T_EQ_STR(ev.detail, "content_block_delta: text delta larger than the text buffer");

    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":null}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message_start: message is not an object");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":{}}", &ev), ST_OK);
    T_CHECK(!ev.has_input_tokens);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":{\"usage\":null}}", &ev), ST_OK);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start",
                 "{\"message\":{\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":null}}}", &ev),
             ST_OK);
    T_CHECK(ev.has_input_tokens && !ev.has_cache_read && !ev.has_output_tokens);
    T_EQ_INT(ev.input_tokens, 5);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":{\"usage\":{\"input_tokens\":\"5\"}}}", &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "message_start: a usage token count is not a non-negative integer");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":{\"usage\":{\"input_tokens\":-1}}}", &ev),
             ST_BAD);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":{\"usage\":{\"output_tokens\":1.5}}}", &ev),
             ST_BAD);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_start", "{\"message\":{\"usage\":[]}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message_start: usage is not an object");

    T_EQ_INT(dec(LLM_ANTHROPIC, "message_delta", "{\"usage\":{\"output_tokens\":3}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message_delta: delta is not an object");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_delta", "{\"delta\":{\"stop_reason\":null}}", &ev), ST_OK);
    T_EQ_STR(ev.stop_reason, "");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_delta", "{\"delta\":{\"stop_reason\":7}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message_delta: the stop reason is not a string");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_delta",
                 "{\"delta\":{\"stop_reason\":\"0123456789012345678901234567890123\"}}", &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "message_delta: the stop reason is too long");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message_delta",
                 "{\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"input_tokens\":9,"
                 "\"cache_creation_input_tokens\":4,\"output_tokens\":77}}",
                 &ev),
             ST_OK);
    T_EQ_STR(ev.stop_reason, "tool_use");
    T_EQ_INT(ev.output_tokens, 77);
    T_EQ_INT(ev.cache_creation_input_tokens, 4);
    T_CHECK(ev.has_cache_creation && ev.has_input_tokens);

    /* unnamed events need a type */
    T_EQ_INT(dec(LLM_ANTHROPIC, "message", "{\"x\":1}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: no \"type\" member");
    T_EQ_INT(dec(LLM_ANTHROPIC, "message", "{\"type\":\"content_block_stop\"}", &ev), ST_OK);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message", "{\"type\":\"message\"}", &ev), ST_OK);
    T_EQ_INT(dec(LLM_ANTHROPIC, "message",
                 "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal\"}}", &ev),
             ST_IO);
    T_EQ_STR(ev.detail, "api_error: Internal");

    /* error events of other shapes */
    T_EQ_INT(dec(LLM_ANTHROPIC, "error", "  upstream connect error \n", &ev), ST_IO);
    T_EQ_STR(ev.detail, "upstream connect error");
    T_EQ_INT(dec(LLM_ANTHROPIC, "error", "", &ev), ST_IO);
    T_EQ_STR(ev.detail, "error event without a message");
    T_EQ_INT(dec(LLM_ANTHROPIC, "error", "{\"error\":{\"message\":\"no type\"}}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "no type");
    T_EQ_INT(dec(LLM_ANTHROPIC, "error", "{\"error\":\"flat\"}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "flat");
    T_EQ_INT(dec(LLM_ANTHROPIC, "error", "{\"oops\":true}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "{\"oops\":true}");
}

static bool valid_utf8(const char *s, size_t n)
{
    size_t i = 0u;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80u) {
            i++;
        } else {
            bool ok = false;
            size_t k = utf8_scan((const unsigned char *)&s[i], n - i, &ok);
            if (!ok) {
                return false;
            }
            i += k;
        }
    }
    return true;
}

static void test_decode_limits(void)
{
    static char data[8192];
    static llm_event ev;
    size_t n = 0u;
    size_t i;
    size_t dn;

    /* a long provider message is cut at a character */
    n = (size_t)snprintf(data, sizeof(data), "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"");
    for (i = 0u; i < 600u; i++) {
        memcpy(data + n, "\xC3\xA9", 2u);
        n += 2u;
    }
    memcpy(data + n, "\"}}", 4u);
    T_EQ_INT(dec(LLM_ANTHROPIC, "error", data, &ev), ST_IO);
    dn = strlen(ev.detail);
    T_CHECK(dn < sizeof(ev.detail));
    T_CHECK(dn >= sizeof(ev.detail) - 3u);
    T_CHECK(valid_utf8(ev.detail, dn));
    T_CHECK(strncmp(ev.detail, "overloaded_error: \xC3\xA9", 20u) == 0);

    /* more values than CFG_LLM_JSON_TOKENS */
    n = (size_t)snprintf(data, sizeof(data), "{\"type\":\"content_block_delta\",\"pad\":[");
    for (i = 0u; i < (size_t)CFG_LLM_JSON_TOKENS; i++) {
        memcpy(data + n, "0,", 2u);
        n += 2u;
    }
    memcpy(data + n, "0]}", 4u);
    T_EQ_INT(dec(LLM_ANTHROPIC, "content_block_delta", data, &ev), ST_TOOBIG);
    T_CHECK(strncmp(ev.detail, "content_block_delta: JSON too large: too many tokens", 52u) == 0);

    /* nesting deeper than CFG_JSON_MAX_DEPTH */
    n = 0u;
    for (i = 0u; i < ((size_t)CFG_JSON_MAX_DEPTH + 2u); i++) {
        data[n] = '[';
        n++;
    }
    for (i = 0u; i < ((size_t)CFG_JSON_MAX_DEPTH + 2u); i++) {
        data[n] = ']';
        n++;
    }
    data[n] = '\0';
    T_EQ_INT(dec(LLM_OPENAI, "message", data, &ev), ST_TOOBIG);

    /* invalid UTF-8 inside a JSON string */
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[{\"delta\":{\"content\":\"\xC3\x28\"}}]}", &ev),
             ST_BAD);
    T_CHECK(strncmp(ev.detail, "chunk: malformed JSON: Invalid UTF-8", 36u) == 0);
}

/* ---- OpenAI ------------------------------------------------------------- */

static const char k_openai_stream[] =
    "data: {\"id\":\"chatcmpl-9xYz\",\"object\":\"chat.completion.chunk\",\"created\":1726000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_e2bde53e6e\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-9xYz\",\"object\":\"chat.completion.chunk\",\"created\":1726000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_e2bde53e6e\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-9xYz\",\"object\":\"chat.completion.chunk\",\"created\":1726000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\" th\xC3\xA9re \\u2014 \\ud83d\\udc4b\\n\xE4\xBD\xA0\xE5\xA5\xBD\"},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-9xYz\",\"object\":\"chat.completion.chunk\",\"created\":1726000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":"
    "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-9xYz\",\"object\":\"chat.completion.chunk\",\"created\":1726000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,"
    "\"completion_tokens\":7,\"total_tokens\":26,\"prompt_tokens_details\":{\"cached_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

static const char k_openai_text[] =
    "Hi th\xC3\xA9re \xE2\x80\x94 \xF0\x9F\x91\x8B\n\xE4\xBD\xA0\xE5\xA5\xBD";

static void test_openai_stream(void)
{
    static call c;
    run_all(LLM_OPENAI, k_openai_stream, &c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.text_n, sizeof(k_openai_text) - 1u);
    T_CHECK(memcmp(c.text, k_openai_text, c.text_n) == 0);
    T_EQ_INT(c.text_deltas, 2);
    T_CHECK(c.done);
    T_CHECK(c.has_in && c.has_out && !c.has_cc && !c.has_cr);
    T_EQ_INT(c.in, 19);
    T_EQ_INT(c.out, 7);
    T_EQ_STR(c.stop, "stop");
}

/* llama.cpp / Ollama shapes: usage in the last choice chunk, no [DONE]
 * spacing quirks. */
static void test_openai_local_shapes(void)
{
    static call c;
    run_all(LLM_OPENAI,
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":null}]}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"
            "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n"
            "data:[DONE]\n\n",
            &c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.text_n, 2);
    T_EQ_STR(c.stop, "length");
    T_EQ_INT(c.in, 4);
    T_EQ_INT(c.out, 2);
    T_CHECK(c.done);
}

static void test_openai_stream_error(void)
{
    static call c;
    run_all(LLM_OPENAI,
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n"
            "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\","
            "\"param\":null,\"code\":null}}\n\n"
            "data: [DONE]\n\n",
            &c);
    T_EQ_INT(c.st, ST_IO);
    T_EQ_STR(c.detail, "server_error: The server had an error");
    T_EQ_INT(c.text_n, 3);
    T_CHECK(!c.done);
}

static void test_openai_decode(void)
{
    static llm_event ev;

    T_EQ_INT(dec(LLM_OPENAI, "message", "[DONE]", &ev), ST_OK);
    T_CHECK(ev.done);
    T_EQ_INT(dec(LLM_OPENAI, "message", " [DONE] ", &ev), ST_OK);
    T_CHECK(ev.done);
    T_EQ_INT(dec(LLM_OPENAI, "message", "[DONE]x", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: malformed JSON: Expecting value at byte 1");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: neither choices nor usage");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":null,\"usage\":null}", &ev), ST_BAD);
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":{}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: choices is not an array");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[1]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: choices[0] is not an object");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[{\"delta\":[]}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: choices[0].delta is not an object");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[{\"delta\":{\"content\":5}}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: choices[0].delta.content is not a string");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[{\"delta\":{\"content\":null}}]}", &ev), ST_OK);
    T_EQ_INT(ev.text.n, 0);
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[{\"finish_reason\":false}]}", &ev), ST_BAD);
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[],\"usage\":7}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "chunk: usage is not an object");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"choices\":[],\"usage\":{\"prompt_tokens\":true}}", &ev),
             ST_BAD);
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", &ev),
             ST_OK);
    T_CHECK(ev.has_input_tokens && ev.has_output_tokens);
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"error\":\"model not found\"}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "model not found");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"error\":{\"message\":\"\"}}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "error without a message");
    T_EQ_INT(dec(LLM_OPENAI, "message", "{\"error\":null,\"choices\":[]}", &ev), ST_OK);
    /* event names do not matter for OpenAI */
    T_EQ_INT(dec(LLM_OPENAI, "whatever", "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}", &ev), ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "x");
}

/* ---- whole (non-streaming) replies -------------------------------------- */

static st_t whole(llm_kind kind, const char *body, llm_event *ev)
{
    static char tbuf[256];
    return llm_wire_decode_whole(kind, strv_from_cstr(body), tbuf, sizeof(tbuf), ev);
}

/* A Messages API reply as the API sends it: a thinking block, two text
 * blocks around a tool_use block, the cache fields and newer usage members. */
static const char k_anthropic_whole[] =
    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-sonnet-4-20250514\",\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"Let me think.\",\"signature\":\"EqQBCgIYAhIM\"},"
    "{\"type\":\"text\",\"text\":\"Hello\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"city\":\"Oslo\"}},"
    "{\"type\":\"text\",\"text\":\", w\\u00f6rld \\ud83d\\udc4b\\n\"}],"
    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,"
    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1500,\"cache_creation\":"
    "{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":503,"
    "\"service_tier\":\"standard\"}}";

static void test_anthropic_whole(void)
{
    static llm_event ev;
    static char exact[19];
    static char data[8192];
    size_t n;
    size_t i;

    T_EQ_INT(whole(LLM_ANTHROPIC, k_anthropic_whole, &ev), ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "Hello, w\xC3\xB6rld \xF0\x9F\x91\x8B\n");
    T_CHECK(ev.done);
    T_EQ_STR(ev.stop_reason, "end_turn");
    T_CHECK(ev.has_input_tokens && ev.has_output_tokens && ev.has_cache_creation && ev.has_cache_read);
    T_EQ_INT(ev.input_tokens, 2095);
    T_EQ_INT(ev.output_tokens, 503);
    T_EQ_INT(ev.cache_creation_input_tokens, 0);
    T_EQ_INT(ev.cache_read_input_tokens, 1500);
    T_EQ_STR(ev.detail, "");

    /* the text buffer: exactly enough for both blocks, then one byte short */
    T_EQ_INT(llm_wire_decode_whole(LLM_ANTHROPIC, STRV_LIT(k_anthropic_whole), exact,
                                   sizeof(exact), &ev),
             ST_OK);
    T_EQ_INT(ev.text.n, sizeof(exact));
    T_CHECK(ev.text.p == exact);
    T_EQ_INT(llm_wire_decode_whole(LLM_ANTHROPIC, STRV_LIT(k_anthropic_whole), exact,
                                   sizeof(exact) - 1u, &ev),
             ST_TOOBIG);
    T_EQ_STR(ev.detail, "message: text larger than the text buffer");
    T_CHECK(!ev.done);
    /* no buffer at all: fine while there is no text */
    T_EQ_INT(llm_wire_decode_whole(LLM_ANTHROPIC, STRV_LIT("{\"content\":[{\"type\":\"text\",\"text\":\"\"}]}"),
                                   NULL, 0u, &ev),
             ST_OK);
    T_EQ_INT(ev.text.n, 0);
    T_EQ_INT(llm_wire_decode_whole(LLM_ANTHROPIC, STRV_LIT("{\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}"),
                                   NULL, 0u, &ev),
             ST_TOOBIG);

    /* minimal shapes: no text, nothing reported but the content array */
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[]}", &ev), ST_OK);
    T_CHECK(ev.done && (ev.text.n == 0u) && !ev.has_input_tokens && !ev.has_output_tokens);
    T_EQ_STR(ev.stop_reason, "");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[{\"type\":\"text\",\"text\":\"a\\u0000b\"}],"
                                  "\"stop_reason\":\"max_tokens\",\"usage\":null}", &ev),
             ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "a\0b");
    T_EQ_STR(ev.stop_reason, "max_tokens");
    T_CHECK(!ev.has_input_tokens);
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[],\"stop_reason\":null,\"usage\":{\"output_tokens\":7}}",
                   &ev),
             ST_OK);
    T_CHECK(!ev.has_input_tokens && ev.has_output_tokens && !ev.has_cache_read);
    T_EQ_INT(ev.output_tokens, 7);

    /* not a Messages reply */
    T_EQ_INT(whole(LLM_ANTHROPIC, "", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: malformed JSON: Expecting value at byte 0");
    T_EQ_INT(whole(LLM_ANTHROPIC, "<html>502</html>", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: malformed JSON: Expecting value at byte 0");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[]", &ev), ST_BAD);
    T_EQ_INT(whole(LLM_ANTHROPIC, "event: message_start\ndata: {}\n\n", &ev), ST_BAD);
    T_EQ_INT(whole(LLM_ANTHROPIC, "[]", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: not a JSON object");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"type\":\"message\"}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: content is not an array");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":null}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: content is not an array");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":\"Hello\"}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: content is not an array");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[\"Hello\"]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: a content block is not an object");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[{\"text\":\"a\"}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: a content block's type is not a string");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[{\"type\":\"text\",\"text\":5}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: a text block's text is not a string");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[{\"type\":\"text\"}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: a text block's text is not a string");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[{\"type\":\"tool_use\",\"text\":5}]}", &ev), ST_OK);
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[],\"stop_reason\":7}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: the stop reason is not a string");
    T_EQ_INT(whole(LLM_ANTHROPIC,
                   "{\"content\":[],\"stop_reason\":\"0123456789012345678901234567890123\"}", &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "message: the stop reason is too long");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[],\"usage\":[]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: usage is not an object");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[],\"usage\":{\"input_tokens\":-1}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "message: a usage token count is not a non-negative integer");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"content\":[],\"usage\":{\"cache_read_input_tokens\":\"1\"}}",
                   &ev),
             ST_BAD);
    /* an OpenAI reply is not a Messages reply */
    T_EQ_INT(whole(LLM_ANTHROPIC,
                   "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}", &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "message: content is not an array");

    /* the provider's error object with status 200 */
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                                  "\"message\":\"Overloaded\"},\"request_id\":\"req_011\"}", &ev),
             ST_IO);
    T_EQ_STR(ev.detail, "overloaded_error: Overloaded");
    T_CHECK(!ev.done);
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"error\":\"flat\",\"content\":[]}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "flat");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"type\":\"error\"}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "{\"type\":\"error\"}");
    T_EQ_INT(whole(LLM_ANTHROPIC, "{\"error\":null,\"content\":[]}", &ev), ST_OK);

    /* more values than CFG_LLM_JSON_TOKENS */
    n = (size_t)snprintf(data, sizeof(data), "{\"content\":[");
    for (i = 0u; i < (size_t)CFG_LLM_JSON_TOKENS; i++) {
        memcpy(data + n, "0,", 2u);
        n += 2u;
    }
    memcpy(data + n, "0]}", 4u);
    T_EQ_INT(whole(LLM_ANTHROPIC, data, &ev), ST_TOOBIG);
    T_CHECK(strncmp(ev.detail, "message: JSON too large: too many tokens", 40u) == 0);
}

/* A chat completion as OpenAI sends it. */
static const char k_openai_whole[] =
    "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion\","
    "\"created\":1741569952,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hi th\\u00e9re\\n\\\"you\\\"\",\"refusal\":null,"
    "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"length\"},{\"index\":1,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"second choice\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0}},"
    "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_e2bde53e6e\"}";

static void test_openai_whole(void)
{
    static llm_event ev;

    T_EQ_INT(whole(LLM_OPENAI, k_openai_whole, &ev), ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "Hi th\xC3\xA9re\n\"you\"");
    T_CHECK(ev.done);
    T_EQ_STR(ev.stop_reason, "length");
    T_CHECK(ev.has_input_tokens && ev.has_output_tokens && !ev.has_cache_creation && !ev.has_cache_read);
    T_EQ_INT(ev.input_tokens, 19);
    T_EQ_INT(ev.output_tokens, 10);

    /* null content (a refusal), no content (a tool call): no text */
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                               "\"refusal\":\"I can't help with that.\"},\"finish_reason\":\"stop\"}]}",
                   &ev),
             ST_OK);
    T_CHECK(ev.done && (ev.text.n == 0u) && !ev.has_input_tokens);
    T_EQ_STR(ev.stop_reason, "stop");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"tool_calls\":"
                               "[{\"id\":\"call_1\",\"type\":\"function\"}]},\"finish_reason\":"
                               "\"tool_calls\"}],\"usage\":null}",
                   &ev),
             ST_OK);
    T_EQ_INT(ev.text.n, 0);
    T_EQ_STR(ev.stop_reason, "tool_calls");
    /* llama.cpp / Ollama: fewer members */
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}],"
                               "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":null}}",
                   &ev),
             ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "ok");
    T_CHECK(ev.has_input_tokens && !ev.has_output_tokens);
    T_EQ_STR(ev.stop_reason, "");

    /* not a chat completion */
    T_EQ_INT(whole(LLM_OPENAI, "data: [DONE]", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: malformed JSON: Expecting value at byte 0");
    T_EQ_INT(whole(LLM_OPENAI, "\"text\"", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: not a JSON object");
    T_EQ_INT(whole(LLM_OPENAI, "{}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices is not an array");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":null,\"usage\":{\"prompt_tokens\":1}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices is not an array");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":{\"message\":{\"content\":\"x\"}}}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices is not an array");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices is empty");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[\"x\"]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices[0] is not an object");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"finish_reason\":\"stop\"}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices[0].message is not an object");
    /* a stream chunk is not a completion */
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices[0].message is not an object");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":\"x\"}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices[0].message is not an object");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":5}}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices[0].message.content is not a string");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\"}]}}]}", &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices[0].message.content is not a string");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{},\"finish_reason\":false}]}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: the stop reason is not a string");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{}}],\"usage\":7}", &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: usage is not an object");
    T_EQ_INT(whole(LLM_OPENAI, "{\"choices\":[{\"message\":{}}],\"usage\":{\"completion_tokens\":1.5}}",
                   &ev),
             ST_BAD);
    T_EQ_STR(ev.detail, "completion: a usage token count is not a non-negative integer");
    /* a Messages reply is not a completion */
    T_EQ_INT(whole(LLM_OPENAI, k_anthropic_whole, &ev), ST_BAD);
    T_EQ_STR(ev.detail, "completion: choices is not an array");

    /* the provider's error object with status 200 */
    T_EQ_INT(whole(LLM_OPENAI, "{\"error\":{\"message\":\"The server had an error\",\"type\":"
                               "\"server_error\",\"param\":null,\"code\":null}}",
                   &ev),
             ST_IO);
    T_EQ_STR(ev.detail, "server_error: The server had an error");
    T_EQ_INT(whole(LLM_OPENAI, "{\"error\":\"model 'llama9' not found\"}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "model 'llama9' not found");
    T_EQ_INT(whole(LLM_OPENAI, "{\"error\":{\"code\":500}}", &ev), ST_IO);
    T_EQ_STR(ev.detail, "{\"error\":{\"code\":500}}");
    T_EQ_INT(whole(LLM_OPENAI, "{\"error\":null,\"choices\":[{\"message\":{\"content\":\"y\"}}]}", &ev),
             ST_OK);
    T_EQ_MEM(ev.text.p, ev.text.n, "y");
}

/* ---- error bodies ------------------------------------------------------- */

static const char *errmsg(const char *body, char *buf, size_t cap)
{
    size_t n = llm_wire_error_message(strv_from_cstr(body), buf, cap);
    T_EQ_INT(n, strlen(buf));
    T_CHECK(valid_utf8(buf, n));
    return buf;
}

static void test_error_body(void)
{
    static char body[2048];
    char buf[256];
    char tiny[8];
    size_t n;
    size_t i;

    T_EQ_STR(errmsg("{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                    "\"message\":\"max_tokens: 100000 > 64000, which is the maximum\"},"
                    "\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}",
                    buf, sizeof(buf)),
             "max_tokens: 100000 > 64000, which is the maximum");
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"Incorrect API key provided: sk-abc.\","
                    "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}",
                    buf, sizeof(buf)),
             "Incorrect API key provided: sk-abc.");
    T_EQ_STR(errmsg("{\"error\":\"model 'llama9' not found\"}", buf, sizeof(buf)),
             "model 'llama9' not found");
    T_EQ_STR(errmsg("{\"message\":\"flat message\"}", buf, sizeof(buf)), "flat message");
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"a\\\"b\\u00e9\\ud83d\\ude00\\u0000c\\n\"}}", buf, sizeof(buf)),
             "a\"b\xC3\xA9\xF0\x9F\x98\x80" "c\n");
    /* other shapes: the body itself */
    T_EQ_STR(errmsg("{\"detail\":\"Not Found\"}", buf, sizeof(buf)), "{\"detail\":\"Not Found\"}");
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"\"}}", buf, sizeof(buf)), "{\"error\":{\"message\":\"\"}}");
    T_EQ_STR(errmsg("{\"error\":{\"message\":7}}", buf, sizeof(buf)), "{\"error\":{\"message\":7}}");
    T_EQ_STR(errmsg("\r\n  <html><body>502 Bad Gateway</body></html>\r\n", buf, sizeof(buf)),
             "<html><body>502 Bad Gateway</body></html>");
    T_EQ_STR(errmsg("line1\nline2\tx\x01y", buf, sizeof(buf)), "line1 line2 x y");
    T_EQ_STR(errmsg("bad \xFF\xC3 utf8 \xE2\x82", buf, sizeof(buf)),
             "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8 \xEF\xBF\xBD");
    T_EQ_STR(errmsg("", buf, sizeof(buf)), "");
    T_EQ_STR(errmsg(" \n ", buf, sizeof(buf)), "");
    T_EQ_INT(llm_wire_error_message(STRV_NULL, buf, sizeof(buf)), 0);

    /* the first 200 bytes */
    memset(body, 'x', 300u);
    body[300] = '\0';
    n = llm_wire_error_message(strv_from_cstr(body), buf, sizeof(buf));
    T_EQ_INT(n, LLM_WIRE_RAW_ERROR_BYTES);
    /* a character across byte 200 is left out, not cut */
    memset(body, 'x', 199u);
    memcpy(body + 199, "\xC3\xA9zzz", 6u);
    n = llm_wire_error_message(strv_from_cstr(body), buf, sizeof(buf));
    T_EQ_INT(n, 199);
    memset(body, 'x', 198u);
    memcpy(body + 198, "\xC3\xA9zzz", 6u);
    n = llm_wire_error_message(strv_from_cstr(body), buf, sizeof(buf));
    T_EQ_INT(n, 200);
    /* an ill-formed byte at the cut is replaced */
    memset(body, 'x', 199u);
    memcpy(body + 199, "\xFFzzz", 5u);
    n = llm_wire_error_message(strv_from_cstr(body), buf, sizeof(buf));
    T_EQ_INT(n, 202);

    /* a small buffer: cut at a character */
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"abcd\\u00e9f\"}}", tiny, 7u), "abcd\xC3\xA9");
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"abcde\\u00e9f\"}}", tiny, 7u), "abcde");
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"abcd\\u00e9f\"}}", tiny, 8u), "abcd\xC3\xA9" "f");
    T_EQ_STR(errmsg("{\"error\":{\"message\":\"ab\"}}", tiny, 1u), "");
    T_EQ_STR(errmsg("abcdefghijk", tiny, sizeof(tiny)), "abcdefg");

    /* a message with more values than the token array: quoted raw */
    n = (size_t)snprintf(body, sizeof(body), "{\"error\":{\"message\":\"m\",\"pad\":[");
    for (i = 0u; i < (size_t)CFG_LLM_JSON_TOKENS; i++) {
        memcpy(body + n, "0,", 2u);
        n += 2u;
    }
    memcpy(body + n, "0]}}", 5u);
    n = llm_wire_error_message(strv_from_cstr(body), buf, sizeof(buf));
    T_EQ_INT(n, LLM_WIRE_RAW_ERROR_BYTES);
    T_CHECK(strncmp(buf, "{\"error\":{\"message\":\"m\"", 23u) == 0);
}

/* ---- requests ----------------------------------------------------------- */

static const llm_msg k_msgs[] = {
    { { "user", 4u }, { "Hi \"there\"\n", 11u } },
    { { "assistant", 9u }, { "Hello!", 6u } },
    { { "user", 4u }, { "caf\xC3\xA9 \xFF", 7u } },
};

static void test_body(void)
{
    static char buf[1024];
    llm_req req;
    size_t len = 0u;
    size_t cap;
    static const char want_a[] =
        "{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":4096,\"temperature\":0.7,"
        "\"system\":\"You are Ada.\\nBe brief.\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"Hi \\\"there\\\"\\n\"},{\"role\":\"assistant\",\"content\":\"Hello!\"},{\"role\":\"user\","
        "\"content\":\"caf\xC3\xA9 \xEF\xBF\xBD\"}],\"stream\":true}";
    static const char want_o[] =
        "{\"model\":\"llama3.1:8b\",\"messages\":[{\"role\":\"system\",\"content\":\"You are Ada.\\nBe "
        "brief.\"},{\"role\":\"user\",\"content\":\"Hi \\\"there\\\"\\n\"},{\"role\":\"assistant\","
        "\"content\":\"Hello!\"},{\"role\":\"user\",\"content\":\"caf\xC3\xA9 \xEF\xBF\xBD\"}],"
        "\"max_tokens\":4096,\"temperature\":0.7,\"stream\":true,\"stream_options\":"
        "{\"include_usage\":true}}";
    static const char want_o2[] =
        "{\"model\":\"llama3.1:8b\",\"messages\":[{\"role\":\"assistant\",\"content\":\"Hello!\"}],"
        "\"max_tokens\":1,\"temperature\":0,\"stream\":true}";
    static const char want_a2[] =
        "{\"model\":\"m\",\"max_tokens\":1,\"temperature\":1,\"messages\":[],\"stream\":true}";
    static const char want_a3[] =
        "{\"model\":\"m\",\"max_tokens\":1,\"temperature\":1,\"messages\":[],\"stream\":false}";
    static const char want_o3[] =
        "{\"model\":\"m\",\"messages\":[],\"max_tokens\":1,\"temperature\":1,\"stream\":false}";

    memset(&req, 0, sizeof(req));
    req.model = STRV_LIT("claude-sonnet-4-20250514");
    req.max_tokens = 4096;
    req.temperature = 0.7;
    req.system = STRV_LIT("You are Ada.\nBe brief.");
    req.msgs = k_msgs;
    req.nmsgs = 3u;
    req.stream_options = true;
    T_EQ_INT(llm_wire_body(LLM_ANTHROPIC, &req, buf, sizeof(buf), &len), ST_OK);
    T_EQ_MEM(buf, len, want_a);
    for (cap = 0u; cap < (sizeof(want_a) - 1u); cap++) {
        T_EQ_INT(llm_wire_body(LLM_ANTHROPIC, &req, buf, cap, &len), ST_TOOBIG);
        T_EQ_INT(len, 0);
    }
    T_EQ_INT(llm_wire_body(LLM_ANTHROPIC, &req, buf, sizeof(want_a) - 1u, &len), ST_OK);

    req.model = STRV_LIT("llama3.1:8b");
    T_EQ_INT(llm_wire_body(LLM_OPENAI, &req, buf, sizeof(buf), &len), ST_OK);
    T_EQ_MEM(buf, len, want_o);
    for (cap = 0u; cap < (sizeof(want_o) - 1u); cap++) {
        T_EQ_INT(llm_wire_body(LLM_OPENAI, &req, buf, cap, &len), ST_TOOBIG);
    }

    /* no system prompt, no stream_options */
    req.system = STRV_NULL;
    req.stream_options = false;
    req.msgs = &k_msgs[1];
    req.nmsgs = 1u;
    req.max_tokens = 1;
    req.temperature = 0.0;
    T_EQ_INT(llm_wire_body(LLM_OPENAI, &req, buf, sizeof(buf), &len), ST_OK);
    T_EQ_MEM(buf, len, want_o2);

    req.model = STRV_LIT("m");
    req.msgs = NULL;
    req.nmsgs = 0u;
    req.temperature = 1.0;
    T_EQ_INT(llm_wire_body(LLM_ANTHROPIC, &req, buf, sizeof(buf), &len), ST_OK);
    T_EQ_MEM(buf, len, want_a2);
    req.nmsgs = 1u;
    T_EQ_INT(llm_wire_body(LLM_ANTHROPIC, &req, buf, sizeof(buf), &len), ST_INVAL);

    /* whole: "stream":false, and no stream_options even when asked */
    req.nmsgs = 0u;
    req.whole = true;
    req.stream_options = true;
    T_EQ_INT(llm_wire_body(LLM_ANTHROPIC, &req, buf, sizeof(buf), &len), ST_OK);
    T_EQ_MEM(buf, len, want_a3);
    T_EQ_INT(llm_wire_body(LLM_OPENAI, &req, buf, sizeof(buf), &len), ST_OK);
    T_EQ_MEM(buf, len, want_o3);
    for (cap = 0u; cap < (sizeof(want_o3) - 1u); cap++) {
        T_EQ_INT(llm_wire_body(LLM_OPENAI, &req, buf, cap, &len), ST_TOOBIG);
    }
}

static void test_headers(void)
{
    static char buf[256];
    llm_header h[LLM_WIRE_MAX_HEADERS];
    size_t n = 99u;
    size_t cap;

    T_EQ_STR(llm_wire_path(LLM_ANTHROPIC), "/v1/messages");
    T_EQ_STR(llm_wire_path(LLM_OPENAI), "/chat/completions");

    T_EQ_INT(llm_wire_headers(LLM_ANTHROPIC, STRV_LIT("sk-ant-api03-xyz"), buf, sizeof(buf), h, &n),
             ST_OK);
    T_EQ_INT(n, 3);
    T_EQ_STR(h[0].line, "x-api-key: sk-ant-api03-xyz");
    T_EQ_MEM(h[0].name.p, h[0].name.n, "x-api-key");
    T_EQ_MEM(h[0].value.p, h[0].value.n, "sk-ant-api03-xyz");
    T_EQ_STR(h[1].line, "anthropic-version: 2023-06-01");
    T_EQ_MEM(h[1].value.p, h[1].value.n, "2023-06-01");
    T_EQ_STR(h[2].line, "content-type: application/json");
    T_EQ_MEM(h[2].name.p, h[2].name.n, "content-type");
    T_EQ_MEM(h[2].value.p, h[2].value.n, "application/json");

    T_EQ_INT(llm_wire_headers(LLM_ANTHROPIC, STRV_NULL, buf, sizeof(buf), h, &n), ST_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(h[0].line, "anthropic-version: 2023-06-01");

    T_EQ_INT(llm_wire_headers(LLM_OPENAI, STRV_LIT("sk-proj-123"), buf, sizeof(buf), h, &n), ST_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(h[0].line, "Authorization: Bearer sk-proj-123");
    T_EQ_MEM(h[0].name.p, h[0].name.n, "Authorization");
    T_EQ_MEM(h[0].value.p, h[0].value.n, "Bearer sk-proj-123");
    T_EQ_STR(h[1].line, "content-type: application/json");

    T_EQ_INT(llm_wire_headers(LLM_OPENAI, STRV_NULL, buf, sizeof(buf), h, &n), ST_OK);
    T_EQ_INT(n, 1);
    T_EQ_STR(h[0].line, "content-type: application/json");

    /* exactly enough room, and one byte less */
    cap = sizeof("Authorization: Bearer sk-proj-123") + sizeof("content-type: application/json");
    T_EQ_INT(llm_wire_headers(LLM_OPENAI, STRV_LIT("sk-proj-123"), buf, cap, h, &n), ST_OK);
    T_EQ_INT(llm_wire_headers(LLM_OPENAI, STRV_LIT("sk-proj-123"), buf, cap - 1u, h, &n), ST_TOOBIG);
    T_EQ_INT(n, 0);
    T_EQ_INT(llm_wire_headers(LLM_ANTHROPIC, STRV_LIT("k"), NULL, 0u, h, &n), ST_TOOBIG);

    /* keys that would break the header */
    T_EQ_INT(llm_wire_headers(LLM_OPENAI, STRV_LIT("sk-1\r\nX-Evil: 1"), buf, sizeof(buf), h, &n),
             ST_INVAL);
    T_EQ_INT(llm_wire_headers(LLM_ANTHROPIC, STRV_LIT("sk 1"), buf, sizeof(buf), h, &n), ST_INVAL);
    T_EQ_INT(llm_wire_headers(LLM_ANTHROPIC, STRV_LIT("sk-\xC3\xA9"), buf, sizeof(buf), h, &n), ST_INVAL);
}

int main(void)
{
    T_RUN(test_anthropic_stream);
    T_RUN(test_anthropic_stream_error);
    T_RUN(test_anthropic_unnamed);
    T_RUN(test_anthropic_decode);
    T_RUN(test_decode_limits);
    T_RUN(test_openai_stream);
    T_RUN(test_openai_local_shapes);
    T_RUN(test_openai_stream_error);
    T_RUN(test_openai_decode);
    T_RUN(test_anthropic_whole);
    T_RUN(test_openai_whole);
    T_RUN(test_error_body);
    T_RUN(test_body);
    T_RUN(test_headers);
    return t_done("out_wire");
}
