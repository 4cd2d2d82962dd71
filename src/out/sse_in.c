/*
 * sse_in.c - incremental client-side SSE parser.
 *
 * Implementation notes:
 *   - The parser never stores a whole line. A line is classified while it
 *     streams by: the field name is kept while it is short (every field we
 *     act on has at most 5 letters; a longer one is ignored anyway), and the
 *     bytes of a value go straight to their place: a data value to the end
 *     of the pending data in the caller's buffer (after the "\n" that joins
 *     it to the previous data line), an event value to the name array,
 *     anything else nowhere. So the buffer holds exactly the pending data,
 *     and a comment of any length costs nothing.
 *   - Runs of value bytes (up to the next CR or LF) are copied in one go;
 *     line ends and field names go byte by byte.
 *   - "\r" sets after_cr, and a "\n" right after it (in this piece or the
 *     next) is dropped, so CR LF split across pieces is one line end.
 *   - A leading BOM is matched byte by byte across pieces; on a mismatch the
 *     bytes held back (a prefix of EF BB BF, none of them a line end) are
 *     replayed through the parser before the byte that did not match.
 */
#include "out/sse_in.h"

#include <string.h>

#include "core/assert.h"

/* p->state */
#define S_START 0u   /* at the start of a line */
#define S_FIELD 1u   /* in the field name */
#define S_VALUE0 2u  /* right after the colon: one space is dropped */
#define S_VALUE 3u   /* in a data or event value */
#define S_SKIP 4u    /* in a comment or an ignored field: up to the line end */

/* p->field */
#define F_OTHER 0u
#define F_DATA 1u
#define F_EVENT 2u

#define BOM_DONE 3u

static const char k_bom[3] = { '\xEF', '\xBB', '\xBF' };

void sse_in_init(sse_in *p, char *buf, size_t cap, sse_in_fn fn, void *ctx)
{
    ASSERT(p != NULL);
    ASSERT((buf != NULL) || (cap == 0u));
    ASSERT(fn != NULL);
    (void)memset(p, 0, sizeof(*p));
    p->buf = buf;
    p->cap = (buf != NULL) ? cap : 0u;
    p->fn = fn;
    p->ctx = ctx;
    p->st = ST_OK;
    p->state = (unsigned char)S_START;
    p->field = (unsigned char)F_OTHER;
    p->bom = 0u;
}

static bool is_eol(char c)
{
    return (c == '\r') || (c == '\n');
}

/* Bytes before the next CR or LF in s[0..n). */
static size_t run_len(const char *s, size_t n)
{
    size_t i = 0u;
    while ((i < n) && !is_eol(s[i])) {
        i++;
    }
    return i;
}

static void fail(sse_in *p, st_t st)
{
    if (p->st == ST_OK) {
        p->st = st;
    }
}

static void put_data(sse_in *p, const char *s, size_t k)
{
    if (k > (p->cap - p->data_len)) {
        fail(p, ST_TOOBIG);
    } else if (k > 0u) {
        (void)memcpy(p->buf + p->data_len, s, k);
        p->data_len += k;
    } else {
        /* nothing to add */
    }
}

static void put_event(sse_in *p, const char *s, size_t k)
{
    if (k > ((sizeof(p->event) - 1u) - p->event_len)) {
        fail(p, ST_TOOBIG);
    } else if (k > 0u) {
        (void)memcpy(p->event + p->event_len, s, k);
        p->event_len += k;
    } else {
        /* nothing to add */
    }
}

/* The field name is lit (n letters)? */
static bool name_is(const sse_in *p, const char *lit, size_t n)
{
    size_t i;
    bool same = (p->name_len == n);
    for (i = 0u; same && (i < n); i++) {
        char have = p->fname[i];
        same = (have == lit[i]);
    }
    return same;
}

/* The field name is complete (at its colon or at the line end): decide
 * what its value is and start it. */
static void begin_value(sse_in *p)
{
    if (name_is(p, "data", 4u)) {
        p->field = (unsigned char)F_DATA;
        if (p->ndata > 0u) {
            put_data(p, "\n", 1u);
        }
        p->ndata++;
    } else if (name_is(p, "event", 5u)) {
        p->field = (unsigned char)F_EVENT;
        p->event_len = 0u;
    } else {
        p->field = (unsigned char)F_OTHER;
    }
}

static void dispatch(sse_in *p)
{
    if (p->ndata > 0u) {
        strv ev = (p->event_len > 0u) ? (strv){ p->event, p->event_len } : STRV_LIT("message");
        st_t st = p->fn(p->ctx, ev, (strv){ p->buf, p->data_len });
        fail(p, st);
    }
    p->data_len = 0u;
    p->ndata = 0u;
    p->event_len = 0u;
}

static void end_line(sse_in *p)
{
    if (p->state == (unsigned char)S_START) {
        dispatch(p);
    } else if (p->state == (unsigned char)S_FIELD) {
        begin_value(p);  /* a field without a colon: empty value */
    } else {
        /* the value, if any, is already in place */
    }
    p->state = (unsigned char)S_START;
}

/* A byte of the field name. */
static void field_byte(sse_in *p, char c)
{
    if (c == ':') {
        begin_value(p);
        p->state = (p->field == (unsigned char)F_OTHER) ? (unsigned char)S_SKIP
                                                         : (unsigned char)S_VALUE0;
    } else if (p->name_len < sizeof(p->fname)) {
        p->fname[p->name_len] = c;
        p->name_len++;
    } else {
        p->name_len = sizeof(p->fname) + 1u;  /* too long for any known field */
    }
}

/* Value bytes s[0..n) (no line end in them) of the current field. */
static void value_run(sse_in *p, const char *s, size_t n)
{
    if (p->field == (unsigned char)F_DATA) {
        put_data(p, s, n);
    } else if (p->field == (unsigned char)F_EVENT) {
        put_event(p, s, n);
    } else {
        /* ignored */
    }
}

/* Parse from s[0..n) (n >= 1); returns the bytes used (>= 1). */
static size_t step(sse_in *p, const char *s, size_t n)
{
    char c = s[0];
    size_t used = 1u;
    bool skip_lf = p->after_cr && (c == '\n');

    p->after_cr = false;
    if (skip_lf) {
        /* the LF of a CR LF */
    } else if (is_eol(c)) {
        end_line(p);
        p->after_cr = (c == '\r');
    } else if (p->state == (unsigned char)S_START) {
        if (c == ':') {
            p->state = (unsigned char)S_SKIP;
        } else {
            p->state = (unsigned char)S_FIELD;
            p->name_len = 0u;
            field_byte(p, c);
        }
    } else if (p->state == (unsigned char)S_FIELD) {
        field_byte(p, c);
    } else if (p->state == (unsigned char)S_SKIP) {
        used = run_len(s, n);
    } else {
        size_t from = 0u;
        if ((p->state == (unsigned char)S_VALUE0) && (c == ' ')) {
            from = 1u;
        }
        p->state = (unsigned char)S_VALUE;
        used = from + run_len(s + from, n - from);
        value_run(p, s + from, used - from);  /* used >= 1: s[0] is no line end */
    }
    return used;
}

static void feed_run(sse_in *p, const char *s, size_t n)
{
    size_t i = 0u;
    while ((i < n) && (p->st == ST_OK)) {
        i += step(p, s + i, n - i);
    }
}

st_t sse_in_feed(sse_in *p, const char *bytes, size_t n)
{
    size_t i = 0u;

    ASSERT(p != NULL);
    ASSERT((bytes != NULL) || (n == 0u));
    if (bytes == NULL) {
        return p->st;
    }
    /* A leading byte order mark, matched across pieces. */
    while ((p->bom < BOM_DONE) && (i < n) && (p->st == ST_OK)) {
        if (bytes[i] == k_bom[p->bom]) {
            p->bom++;
            i++;
        } else {
            size_t held = p->bom;
            p->bom = BOM_DONE;
            feed_run(p, k_bom, held);
        }
    }
    if (p->st == ST_OK) {
        feed_run(p, bytes + i, n - i);
    }
    return p->st;
}

bool sse_in_idle(const sse_in *p)
{
    ASSERT(p != NULL);
    return ((p->state == (unsigned char)S_START) && (p->ndata == 0u) && (p->event_len == 0u) &&
            ((p->bom == 0u) || (p->bom == BOM_DONE)));
}

st_t sse_in_status(const sse_in *p)
{
    ASSERT(p != NULL);
    return p->st;
}
