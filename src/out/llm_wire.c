/*
 * llm_wire.c - Anthropic and OpenAI-compatible request and stream formats.
 *
 * Implementation notes:
 *   - Events and error bodies are parsed into this module's own token array
 *     (json_parse_into), not the reader's shared pool: a provider stream is
 *     decoded while a request body may still be live in that pool. Every
 *     function releases its document before it returns, so one array does.
 *   - Reasons shown to people (ev->detail, error messages) are written by a
 *     small bounded builder (sbuf) that appends whole characters only and
 *     stops at the first one that does not fit, so a cut never splits a
 *     UTF-8 sequence. Provider strings are unescaped straight from the
 *     parsed source (sb_json) because json_get_str cannot give a prefix of
 *     a string that is too long; the reader has already validated the
 *     string (escapes, surrogate pairs, UTF-8), so the walk is simple.
 *   - Text deltas are decoded whole (json_get_mem): a cut there would lose
 *     model output, so a text that does not fit is an error instead. A
 *     whole reply's text parts are decoded one after the other into the
 *     same buffer, each whole.
 */
#include "out/llm_wire.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/utf8.h"
#include "json/write.h"

static jsmntok_t g_toks[CFG_LLM_JSON_TOKENS];
_Static_assert(sizeof(g_toks) == LLM_WIRE_STATIC_BYTES, "the RAM plan counts g_toks");

/* ---- bounded text builder ------------------------------------------------ */

typedef struct {
    char *p;
    size_t cap;      /* >= 1: room for the NUL */
    size_t n;
    bool full;       /* a character did not fit: nothing more is added */
} sbuf;

static void sb_init(sbuf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->n = 0u;
    b->full = false;
    p[0] = '\0';
}

/* One character (k bytes) whole, or nothing from here on. */
static void sb_unit(sbuf *b, const char *s, size_t k)
{
    if (b->full || (k > ((b->cap - 1u) - b->n))) {
        b->full = true;
    } else {
        (void)memcpy(b->p + b->n, s, k);
        b->n += k;
        b->p[b->n] = '\0';
    }
}

static void sb_char(sbuf *b, char c)
{
    if (b->full || (b->n >= (b->cap - 1u))) {
        b->full = true;
    } else {
        b->p[b->n] = c;
        b->n++;
        b->p[b->n] = '\0';
    }
}

/* Bytes as characters: ill-formed UTF-8 becomes U+FFFD; with `flat`,
 * control characters become spaces (for quoting a raw body on one line). */
static void sb_bytes(sbuf *b, const char *s, size_t n, bool flat)
{
    static const char k_repl[3] = { '\xEF', '\xBF', '\xBD' };
    size_t i = 0u;

    while ((i < n) && !b->full) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80u) {
            bool ctl = (c < 0x20u) || (c == 0x7Fu);
            sb_char(b, (flat && ctl) ? ' ' : s[i]);
            i++;
        } else {
            bool ok = false;
            size_t k = utf8_scan((const unsigned char *)&s[i], n - i, &ok);
            if (ok) {
                sb_unit(b, &s[i], k);
            } else {
                sb_unit(b, k_repl, sizeof(k_repl));
            }
            i += k;
        }
    }
}

static void sb_cstr(sbuf *b, const char *s)
{
    sb_bytes(b, s, strlen(s), false);
}

/* Four hex digits at s.p[at]; -1 when one is not a digit or s ends. */
static long hex4(strv s, size_t at)
{
    long v = 0;
    size_t i;
    if ((at > s.n) || ((s.n - at) < 4u)) {
        return -1;
    }
    for (i = 0u; i < 4u; i++) {
        int d = strv_hex_digit((unsigned char)s.p[at + i]);
        if (d < 0) {
            return -1;
        }
        v = (v * 16) + (long)d;
    }
    return v;
}

/* The byte a one-letter escape stands for ('"', '\\' and '/' for
 * themselves; the reader has rejected every other letter). */
static char unescape(char e)
{
    char out = e;
    if (e == 'b') {
        out = '\b';
    } else if (e == 'f') {
        out = '\f';
    } else if (e == 'n') {
        out = '\n';
    } else if (e == 'r') {
        out = '\r';
    } else if (e == 't') {
        out = '\t';
    } else {
        /* as it is */
    }
    return out;
}

/* String token tok of a parsed document, unescaped, appended as whole
 * characters; U+0000 is dropped. */
static void sb_json(sbuf *b, const json_doc *d, int tok)
{
    strv raw = json_raw(d, tok);
    size_t i = 1u;
    size_t end;

    if ((json_type(d, tok) != JSON_STRING) || (raw.n < 2u)) {
        return;
    }
    end = raw.n - 1u;
    while ((i < end) && !b->full) {
        char c = raw.p[i];
        char e = '\0';
        if ((i + 1u) < end) {
            e = raw.p[i + 1u];
        }
        if (c != '\\') {
            size_t k = 1u;
            if ((unsigned char)c >= 0x80u) {
                bool ok = false;
                k = utf8_scan((const unsigned char *)&raw.p[i], end - i, &ok);
            }
            sb_unit(b, &raw.p[i], k);
            i += k;
        } else if (e != 'u') {
            if (e != '\0') {  /* '\0': a lone backslash, not in a validated string */
                sb_char(b, unescape(e));
            }
            i += 2u;
        } else {
            long cp = hex4(raw, i + 2u);
            i += 6u;
            if ((cp >= 0xD800) && (cp < 0xDC00)) {
                long lo = hex4(raw, i + 2u);
                cp = ((lo >= 0xDC00) && (lo < 0xE000))
                         ? ((0x10000 + ((cp - 0xD800) * 0x400)) + (lo - 0xDC00))
                         : -1;
                i += 6u;
            }
            if ((cp > 0) && ((cp < 0xD800) || (cp > 0xDFFF))) {
                unsigned char u[4];
                size_t k = utf8_encode((unsigned long)cp, u);
                sb_unit(b, (const char *)u, k);
            } else if (cp < 0) {
                i = end;  /* cannot happen in a validated string */
            } else {
                /* U+0000: dropped */
            }
        }
    }
}

static bool is_ws(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\r') || (c == '\n');
}

/* Up to LLM_WIRE_RAW_ERROR_BYTES of s (whitespace trimmed), not cutting a
 * well-formed character in two, as one line of valid UTF-8. */
static void sb_raw(sbuf *b, strv s)
{
    size_t start = 0u;
    size_t end = s.n;
    size_t i;
    size_t lim;

    if (s.n == 0u) {
        return;
    }
    while ((start < end) && is_ws(s.p[start])) {
        start++;
    }
    while ((end > start) && is_ws(s.p[end - 1u])) {
        end--;
    }
    lim = end;
    if ((end - start) > LLM_WIRE_RAW_ERROR_BYTES) {
        lim = start + LLM_WIRE_RAW_ERROR_BYTES;
    }
    i = start;
    while (i < lim) {
        size_t k = 1u;
        if ((unsigned char)s.p[i] >= 0x80u) {
            bool ok = false;
            k = utf8_scan((const unsigned char *)&s.p[i], end - i, &ok);
            if (!ok && (k > (lim - i))) {
                k = lim - i;
            }
        }
        if (k > (lim - i)) {
            lim = i;  /* a whole character that crosses the limit: leave it out */
        } else {
            i += k;
        }
    }
    sb_bytes(b, s.p + start, lim - start, true);
}

/* ---- shared decoding helpers -------------------------------------------- */

/* "<where>: <what>" into ev->detail; returns st. */
static st_t fail_at(llm_event *ev, const char *where, const char *what, st_t st)
{
    sbuf b;
    sb_init(&b, ev->detail, sizeof(ev->detail));
    sb_cstr(&b, where);
    sb_cstr(&b, ": ");
    sb_cstr(&b, what);
    return st;
}

static st_t bad(llm_event *ev, const char *where, const char *what)
{
    return fail_at(ev, where, what, ST_BAD);
}

static bool present(const json_doc *d, int tok)
{
    return (tok >= 0) && !json_is_null(d, tok);
}

/* Parse data into *d; on success the root is an object and d is live. */
static st_t parse_obj(json_doc *d, strv data, const char *where, llm_event *ev)
{
    json_err e = { 0u, NULL };
    st_t st = json_parse_into(d, data.p, data.n, g_toks, (unsigned)CFG_LLM_JSON_TOKENS, &e);

    if (st != ST_OK) {
        char num[32];
        sbuf b;
        (void)snprintf(num, sizeof(num), " at byte %lu", (unsigned long)e.offset);
        sb_init(&b, ev->detail, sizeof(ev->detail));
        sb_cstr(&b, where);
        sb_cstr(&b, (st == ST_TOOBIG) ? ": JSON too large: " : ": malformed JSON: ");
        sb_cstr(&b, (e.reason != NULL) ? e.reason : "invalid");
        sb_cstr(&b, num);
        return (st == ST_TOOBIG) ? ST_TOOBIG : ST_BAD;
    }
    if (json_type(d, json_root(d)) != JSON_OBJECT) {
        json_release(d);
        return bad(ev, where, "not a JSON object");
    }
    return ST_OK;
}

/* A token count member of obj: absent or null leaves *has alone. */
static st_t get_count(const json_doc *d, int obj, const char *key, bool *has, uint64_t *out)
{
    int tok = json_obj_get(d, obj, key);
    if (!present(d, tok)) {
        return ST_OK;
    }
    if (json_get_u64(d, tok, out) != ST_OK) {
        return ST_BAD;
    }
    *has = true;
    return ST_OK;
}

static st_t get_usage(const json_doc *d, int obj, llm_kind kind, const char *where,
                      llm_event *ev)
{
    st_t st;

    if (json_type(d, obj) != JSON_OBJECT) {
        return bad(ev, where, "usage is not an object");
    }
    if (kind == LLM_ANTHROPIC) {
        st = get_count(d, obj, "input_tokens", &ev->has_input_tokens, &ev->input_tokens);
        if (st == ST_OK) {
            st = get_count(d, obj, "output_tokens", &ev->has_output_tokens, &ev->output_tokens);
        }
        if (st == ST_OK) {
            st = get_count(d, obj, "cache_creation_input_tokens", &ev->has_cache_creation,
                           &ev->cache_creation_input_tokens);
        }
        if (st == ST_OK) {
            st = get_count(d, obj, "cache_read_input_tokens", &ev->has_cache_read,
                           &ev->cache_read_input_tokens);
        }
    } else {
        st = get_count(d, obj, "prompt_tokens", &ev->has_input_tokens, &ev->input_tokens);
        if (st == ST_OK) {
            st = get_count(d, obj, "completion_tokens", &ev->has_output_tokens,
                           &ev->output_tokens);
        }
    }
    if (st != ST_OK) {
        return bad(ev, where, "a usage token count is not a non-negative integer");
    }
    return ST_OK;
}

/* A stop reason member of obj (string, null or absent). */
static st_t get_reason(const json_doc *d, int obj, const char *key, const char *where,
                       llm_event *ev)
{
    int tok = json_obj_get(d, obj, key);
    st_t st;

    if (!present(d, tok)) {
        return ST_OK;
    }
    if (json_type(d, tok) != JSON_STRING) {
        return bad(ev, where, "the stop reason is not a string");
    }
    st = json_get_str(d, tok, ev->stop_reason, sizeof(ev->stop_reason), NULL);
    if (st != ST_OK) {
        ev->stop_reason[0] = '\0';
        return bad(ev, where, "the stop reason is too long");
    }
    return ST_OK;
}

/* Text string tok decoded whole into text[0..cap). */
static st_t get_text(const json_doc *d, int tok, char *text, size_t cap, const char *where,
                     llm_event *ev)
{
    size_t n = 0u;
    st_t st = json_get_mem(d, tok, text, cap, &n);

    if (st == ST_FULL) {
        return fail_at(ev, where, "text delta larger than the text buffer", ST_TOOBIG);
    }
    if (st != ST_OK) {
        return bad(ev, where, "text is not a string");
    }
    if (n > 0u) {
        ev->text = (strv){ text, n };
    }
    return ST_OK;
}

/* An error the provider reported: err is the "error" member (an object
 * with "type"/"message", or a string); when it has neither shape the raw
 * data is quoted. Always ST_IO. */
static st_t provider_error(llm_event *ev, const json_doc *d, int err, strv raw)
{
    sbuf b;
    int msg = json_obj_get(d, err, "message");
    int type = json_obj_get(d, err, "type");

    sb_init(&b, ev->detail, sizeof(ev->detail));
    if (json_type(d, err) == JSON_STRING) {
        sb_json(&b, d, err);
    } else if (json_type(d, msg) == JSON_STRING) {
        if (json_type(d, type) == JSON_STRING) {
            sb_json(&b, d, type);
            sb_cstr(&b, ": ");
        }
        sb_json(&b, d, msg);
    } else {
        sb_raw(&b, raw);
    }
    if (b.n == 0u) {
        sb_cstr(&b, "error without a message");
    }
    return ST_IO;
}

/* ---- anthropic ---------------------------------------------------------- */

typedef enum {
    A_IGNORE = 0,
    A_START,
    A_BLOCK_DELTA,
    A_MSG_DELTA,
    A_STOP,
    A_ERROR,
    A_UNNAMED
} a_kind;

static const char *const k_a_names[] = {
    "event", "message_start", "content_block_delta", "message_delta", "message_stop", "error",
    "message"
};

static a_kind a_kind_of(strv name)
{
    a_kind k = A_IGNORE;
    unsigned i;
    for (i = (unsigned)A_START; i <= (unsigned)A_UNNAMED; i++) {
        if (strv_eq_cstr(name, k_a_names[i])) {
            k = (a_kind)i;
        }
    }
    return k;
}

/* The kind named by the "type" member of an unnamed event. */
static a_kind a_kind_of_type(const json_doc *d, int root)
{
    a_kind k = A_IGNORE;
    int t = json_obj_get(d, root, "type");
    unsigned i;
    for (i = (unsigned)A_START; i < (unsigned)A_UNNAMED; i++) {
        if (json_str_eq(d, t, k_a_names[i])) {
            k = (a_kind)i;
        }
    }
    return k;
}

static st_t a_block_delta(const json_doc *d, int root, char *text, size_t cap, llm_event *ev)
{
    const char *where = k_a_names[A_BLOCK_DELTA];
    int delta = json_obj_get(d, root, "delta");
    int type = json_obj_get(d, delta, "type");
    int t;

    if (json_type(d, delta) != JSON_OBJECT) {
        return bad(ev, where, "delta is not an object");
    }
    if (json_type(d, type) != JSON_STRING) {
        return bad(ev, where, "delta.type is not a string");
    }
    if (!json_str_eq(d, type, "text_delta")) {
        return ST_OK;  /* input_json_delta, thinking_delta, ...: not ours */
    }
    t = json_obj_get(d, delta, "text");
    if (json_type(d, t) != JSON_STRING) {
        return bad(ev, where, "delta.text is not a string");
    }
    return get_text(d, t, text, cap, where, ev);
}

static st_t a_decoded(a_kind k, const json_doc *d, strv data, char *text, size_t cap,
                      llm_event *ev)
{
    int root = json_root(d);
    const char *where = k_a_names[k];
    st_t st = ST_OK;

    if (k == A_START) {
        int msg = json_obj_get(d, root, "message");
        int usage = json_obj_get(d, msg, "usage");
        if (json_type(d, msg) != JSON_OBJECT) {
            st = bad(ev, where, "message is not an object");
        } else if (present(d, usage)) {
            st = get_usage(d, usage, LLM_ANTHROPIC, where, ev);
        } else {
            /* no usage reported */
        }
    } else if (k == A_BLOCK_DELTA) {
        st = a_block_delta(d, root, text, cap, ev);
    } else if (k == A_MSG_DELTA) {
        int delta = json_obj_get(d, root, "delta");
        int usage = json_obj_get(d, root, "usage");
        if (json_type(d, delta) != JSON_OBJECT) {
            st = bad(ev, where, "delta is not an object");
        } else {
            st = get_reason(d, delta, "stop_reason", where, ev);
        }
        if ((st == ST_OK) && present(d, usage)) {
            st = get_usage(d, usage, LLM_ANTHROPIC, where, ev);
        }
    } else if (k == A_STOP) {
        ev->done = true;
    } else if (k == A_ERROR) {
        st = provider_error(ev, d, json_obj_get(d, root, "error"), data);
    } else {
        /* ping, content_block_start/stop, newer event types */
    }
    return st;
}

static st_t anthropic(strv event, strv data, char *text, size_t cap, llm_event *ev)
{
    json_doc d;
    a_kind k = a_kind_of(event);
    st_t st;

    if (k == A_IGNORE) {
        return ST_OK;
    }
    if (k == A_STOP) {
        ev->done = true;
        return ST_OK;
    }
    st = parse_obj(&d, data, k_a_names[k], ev);
    if (st != ST_OK) {
        if (k == A_ERROR) {
            sbuf b;
            sb_init(&b, ev->detail, sizeof(ev->detail));
            sb_raw(&b, data);
            if (b.n == 0u) {
                sb_cstr(&b, "error event without a message");
            }
            st = ST_IO;
        }
        return st;
    }
    if (k == A_UNNAMED) {
        if (json_type(&d, json_obj_get(&d, json_root(&d), "type")) != JSON_STRING) {
            st = bad(ev, k_a_names[A_UNNAMED], "no \"type\" member");
        } else {
            k = a_kind_of_type(&d, json_root(&d));
        }
    }
    if (st == ST_OK) {
        st = a_decoded(k, &d, data, text, cap, ev);
    }
    json_release(&d);
    return st;
}

/* ---- openai ------------------------------------------------------------- */

static st_t o_choice(const json_doc *d, int c0, char *text, size_t cap, llm_event *ev)
{
    static const char where[] = "chunk";
    int delta = json_obj_get(d, c0, "delta");
    st_t st = ST_OK;

    if (json_type(d, c0) != JSON_OBJECT) {
        return bad(ev, where, "choices[0] is not an object");
    }
    if (present(d, delta)) {
        int content = json_obj_get(d, delta, "content");
        if (json_type(d, delta) != JSON_OBJECT) {
            st = bad(ev, where, "choices[0].delta is not an object");
        } else if (!present(d, content)) {
            /* role-only or tool-call delta */
        } else if (json_type(d, content) != JSON_STRING) {
            st = bad(ev, where, "choices[0].delta.content is not a string");
        } else {
            st = get_text(d, content, text, cap, where, ev);
        }
    }
    if (st == ST_OK) {
        st = get_reason(d, c0, "finish_reason", where, ev);
    }
    return st;
}

static st_t openai(strv data, char *text, size_t cap, llm_event *ev)
{
    static const char where[] = "chunk";
    json_doc d;
    int root;
    int err;
    int choices;
    int usage;
    st_t st;

    if (strv_eq_cstr(strv_trim(data), "[DONE]")) {
        ev->done = true;
        return ST_OK;
    }
    st = parse_obj(&d, data, where, ev);
    if (st != ST_OK) {
        return st;
    }
    root = json_root(&d);
    err = json_obj_get(&d, root, "error");
    choices = json_obj_get(&d, root, "choices");
    usage = json_obj_get(&d, root, "usage");
    if (present(&d, err)) {
        st = provider_error(ev, &d, err, data);
    } else if (!present(&d, choices) && !present(&d, usage)) {
        st = bad(ev, where, "neither choices nor usage");
    } else if (present(&d, choices) && (json_type(&d, choices) != JSON_ARRAY)) {
        st = bad(ev, where, "choices is not an array");
    } else {
        if (json_arr_len(&d, choices) > 0) {
            st = o_choice(&d, json_arr_at(&d, choices, 0), text, cap, ev);
        }
        if ((st == ST_OK) && present(&d, usage)) {
            st = get_usage(&d, usage, LLM_OPENAI, where, ev);
        }
    }
    json_release(&d);
    return st;
}

st_t llm_wire_decode(llm_kind kind, strv event, strv data, char *text, size_t text_cap,
                     llm_event *ev)
{
    ASSERT(ev != NULL);
    ASSERT((text != NULL) || (text_cap == 0u));
    (void)memset(ev, 0, sizeof(*ev));
    if (kind == LLM_ANTHROPIC) {
        return anthropic(event, data, text, text_cap, ev);
    }
    return openai(data, text, text_cap, ev);
}

/* ---- whole replies ------------------------------------------------------ */

/* String tok decoded and appended to text[*used..cap). */
static st_t add_text(const json_doc *d, int tok, char *text, size_t cap, size_t *used,
                     const char *where, llm_event *ev)
{
    size_t n = 0u;
    char *at = (text != NULL) ? &text[*used] : NULL;
    st_t st = json_get_mem(d, tok, at, cap - *used, &n);

    if (st == ST_FULL) {
        return fail_at(ev, where, "text larger than the text buffer", ST_TOOBIG);
    }
    if (st != ST_OK) {
        return bad(ev, where, "text is not a string");
    }
    *used += n;
    return ST_OK;
}

/* One content block of an Anthropic message: a text block's text is
 * appended, other block types are skipped. */
static st_t a_block(const json_doc *d, int blk, char *text, size_t cap, size_t *used,
                    llm_event *ev)
{
    static const char where[] = "message";
    int type = json_obj_get(d, blk, "type");
    int t = json_obj_get(d, blk, "text");
    st_t st = ST_OK;

    if (json_type(d, blk) != JSON_OBJECT) {
        st = bad(ev, where, "a content block is not an object");
    } else if (json_type(d, type) != JSON_STRING) {
        st = bad(ev, where, "a content block's type is not a string");
    } else if (!json_str_eq(d, type, "text")) {
        /* thinking, tool_use, ...: not ours */
    } else if (json_type(d, t) != JSON_STRING) {
        st = bad(ev, where, "a text block's text is not a string");
    } else {
        st = add_text(d, t, text, cap, used, where, ev);
    }
    return st;
}

static st_t a_whole(const json_doc *d, strv body, char *text, size_t cap, size_t *used,
                    llm_event *ev)
{
    static const char where[] = "message";
    int root = json_root(d);
    int err = json_obj_get(d, root, "error");
    int content = json_obj_get(d, root, "content");
    int usage = json_obj_get(d, root, "usage");
    json_iter it = JSON_ITER_INIT;
    int blk = -1;
    st_t st = ST_OK;

    if (present(d, err) || json_str_eq(d, json_obj_get(d, root, "type"), "error")) {
        return provider_error(ev, d, err, body);
    }
    if (json_type(d, content) != JSON_ARRAY) {
        return bad(ev, where, "content is not an array");
    }
    while ((st == ST_OK) && json_arr_next(d, content, &it, &blk)) {
        st = a_block(d, blk, text, cap, used, ev);
    }
    if (st == ST_OK) {
        st = get_reason(d, root, "stop_reason", where, ev);
    }
    if ((st == ST_OK) && present(d, usage)) {
        st = get_usage(d, usage, LLM_ANTHROPIC, where, ev);
    }
    return st;
}

static st_t o_whole(const json_doc *d, strv body, char *text, size_t cap, size_t *used,
                    llm_event *ev)
{
    static const char where[] = "completion";
    int root = json_root(d);
    int err = json_obj_get(d, root, "error");
    int choices = json_obj_get(d, root, "choices");
    int usage = json_obj_get(d, root, "usage");
    int c0 = json_arr_at(d, choices, 0);
    int msg = json_obj_get(d, c0, "message");
    int content = json_obj_get(d, msg, "content");
    st_t st = ST_OK;

    if (present(d, err)) {
        return provider_error(ev, d, err, body);
    }
    if (json_type(d, choices) != JSON_ARRAY) {
        return bad(ev, where, "choices is not an array");
    }
    if (c0 < 0) {
        st = bad(ev, where, "choices is empty");
    } else if (json_type(d, c0) != JSON_OBJECT) {
        st = bad(ev, where, "choices[0] is not an object");
    } else if (json_type(d, msg) != JSON_OBJECT) {
        st = bad(ev, where, "choices[0].message is not an object");
    } else if (!present(d, content)) {
        /* a refusal or a tool call: no text */
    } else if (json_type(d, content) != JSON_STRING) {
        st = bad(ev, where, "choices[0].message.content is not a string");
    } else {
        st = add_text(d, content, text, cap, used, where, ev);
    }
    if (st == ST_OK) {
        st = get_reason(d, c0, "finish_reason", where, ev);
    }
    if ((st == ST_OK) && present(d, usage)) {
        st = get_usage(d, usage, LLM_OPENAI, where, ev);
    }
    return st;
}

st_t llm_wire_decode_whole(llm_kind kind, strv body, char *text, size_t text_cap,
                           llm_event *ev)
{
    json_doc d;
    size_t used = 0u;
    st_t st;

    ASSERT(ev != NULL);
    ASSERT((text != NULL) || (text_cap == 0u));
    (void)memset(ev, 0, sizeof(*ev));
    st = parse_obj(&d, body, (kind == LLM_ANTHROPIC) ? "message" : "completion", ev);
    if (st != ST_OK) {
        return st;
    }
    if (kind == LLM_ANTHROPIC) {
        st = a_whole(&d, body, text, text_cap, &used, ev);
    } else {
        st = o_whole(&d, body, text, text_cap, &used, ev);
    }
    json_release(&d);
    if (st == ST_OK) {
        ev->done = true;
        if (used > 0u) {
            ev->text = (strv){ text, used };
        }
    }
    return st;
}

/* ---- error bodies ------------------------------------------------------- */

size_t llm_wire_error_message(strv body, char *buf, size_t cap)
{
    json_doc d;
    sbuf b;

    ASSERT((buf != NULL) && (cap >= 1u));
    sb_init(&b, buf, cap);
    if (json_parse_into(&d, body.p, body.n, g_toks, (unsigned)CFG_LLM_JSON_TOKENS, NULL) ==
        ST_OK) {
        int root = json_root(&d);
        int err = json_obj_get(&d, root, "error");
        int msg = json_obj_get(&d, err, "message");
        if (json_type(&d, err) == JSON_STRING) {
            sb_json(&b, &d, err);
        } else if (json_type(&d, msg) == JSON_STRING) {
            sb_json(&b, &d, msg);
        } else {
            sb_json(&b, &d, json_obj_get(&d, root, "message"));
        }
        json_release(&d);
    }
    if (b.n == 0u) {
        sb_init(&b, buf, cap);
        sb_raw(&b, body);
    }
    return b.n;
}

/* ---- requests ----------------------------------------------------------- */

const char *llm_wire_path(llm_kind kind)
{
    return (kind == LLM_ANTHROPIC) ? "/v1/messages" : "/chat/completions";
}

/* Appends "name: <prefix><value>\0" to buf at *used and fills h. */
static st_t put_header(llm_header *h, char *buf, size_t cap, size_t *used, const char *name,
                       const char *prefix, strv value)
{
    size_t nn = strlen(name);
    size_t pn = strlen(prefix);
    size_t need = nn + 2u + pn + value.n + 1u;
    char *line = buf + *used;

    if (need > (cap - *used)) {
        return ST_TOOBIG;
    }
    (void)memcpy(line, name, nn);
    line[nn] = ':';
    line[nn + 1u] = ' ';
    (void)memcpy(line + nn + 2u, prefix, pn);
    if (value.n > 0u) {
        (void)memcpy(line + nn + 2u + pn, value.p, value.n);
    }
    line[need - 1u] = '\0';
    h->name = (strv){ line, nn };
    h->value = (strv){ line + nn + 2u, pn + value.n };
    h->line = line;
    *used += need;
    return ST_OK;
}

static bool key_ok(strv key)
{
    size_t i;
    for (i = 0u; i < key.n; i++) {
        unsigned char c = (unsigned char)key.p[i];
        if ((c < 0x21u) || (c > 0x7Eu)) {
            return false;
        }
    }
    return true;
}

st_t llm_wire_headers(llm_kind kind, strv key, char *buf, size_t cap,
                      llm_header out[LLM_WIRE_MAX_HEADERS], size_t *n)
{
    size_t used = 0u;
    size_t k = 0u;
    st_t st = ST_OK;

    ASSERT((out != NULL) && (n != NULL));
    ASSERT((buf != NULL) || (cap == 0u));
    ASSERT((key.p != NULL) || (key.n == 0u));
    *n = 0u;
    if (!key_ok(key)) {
        return ST_INVAL;
    }
    if (kind == LLM_ANTHROPIC) {
        if (key.n > 0u) {
            st = put_header(&out[k], buf, cap, &used, "x-api-key", "", key);
            k++;
        }
        if (st == ST_OK) {
            st = put_header(&out[k], buf, cap, &used, "anthropic-version", "",
                            STRV_LIT("2023-06-01"));
            k++;
        }
    } else if (key.n > 0u) {
        st = put_header(&out[k], buf, cap, &used, "Authorization", "Bearer ", key);
        k++;
    } else {
        /* a local server: no auth header */
    }
    if (st == ST_OK) {
        st = put_header(&out[k], buf, cap, &used, "content-type", "", STRV_LIT("application/json"));
        k++;
    }
    if (st == ST_OK) {
        *n = k;
    }
    return st;
}

static void put_msgs(json_w *w, const llm_req *req)
{
    size_t i;
    for (i = 0u; i < req->nmsgs; i++) {
        json_w_obj_begin(w);
        json_w_kstrn(w, "role", req->msgs[i].role.p, req->msgs[i].role.n);
        json_w_kstrn(w, "content", req->msgs[i].content.p, req->msgs[i].content.n);
        json_w_obj_end(w);
    }
}

st_t llm_wire_body(llm_kind kind, const llm_req *req, char *buf, size_t cap, size_t *len)
{
    json_w w;
    st_t st;

    ASSERT((req != NULL) && (len != NULL));
    ASSERT((buf != NULL) || (cap == 0u));
    *len = 0u;
    if ((req->msgs == NULL) && (req->nmsgs > 0u)) {
        return ST_INVAL;
    }
    json_w_init(&w, buf, cap);
    json_w_obj_begin(&w);
    json_w_kstrn(&w, "model", req->model.p, req->model.n);
    if (kind == LLM_ANTHROPIC) {
        json_w_ki64(&w, "max_tokens", req->max_tokens);
        json_w_kf64(&w, "temperature", req->temperature);
        if (req->system.n > 0u) {
            json_w_kstrn(&w, "system", req->system.p, req->system.n);
        }
        json_w_key(&w, "messages");
        json_w_arr_begin(&w);
        put_msgs(&w, req);
        json_w_arr_end(&w);
        json_w_kbool(&w, "stream", !req->whole);
    } else {
        json_w_key(&w, "messages");
        json_w_arr_begin(&w);
        if (req->system.n > 0u) {
            json_w_obj_begin(&w);
            json_w_kstr(&w, "role", "system");
            json_w_kstrn(&w, "content", req->system.p, req->system.n);
            json_w_obj_end(&w);
        }
        put_msgs(&w, req);
        json_w_arr_end(&w);
        json_w_ki64(&w, "max_tokens", req->max_tokens);
        json_w_kf64(&w, "temperature", req->temperature);
        json_w_kbool(&w, "stream", !req->whole);
        if (req->stream_options && !req->whole) {
            json_w_key(&w, "stream_options");
            json_w_obj_begin(&w);
            json_w_kbool(&w, "include_usage", true);
            json_w_obj_end(&w);
        }
        if (req->json_object) {
            json_w_key(&w, "response_format");
            json_w_obj_begin(&w);
            json_w_kstr(&w, "type", "json_object");
            json_w_obj_end(&w);
        }
    }
    json_w_obj_end(&w);
    st = json_w_finish(&w, len);
    if (st != ST_OK) {
        *len = 0u;
        return (st == ST_FULL) ? ST_TOOBIG : st;
    }
    return ST_OK;
}
