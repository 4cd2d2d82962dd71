/*
 * test_multipart.c - the streaming multipart/form-data parser
 * (src/http/multipart.c): mp_boundary, parts and their headers, the body
 * fed whole, cut at every point and byte by byte, truncated at every point,
 * the limits, and the bound on the bytes it leaves unconsumed.
 *
 * The driver (feed) plays the caller: it keeps the unconsumed bytes at the
 * front of its buffer, appends what "arrives" and calls mp_next until
 * MP_NEED, checking every answer against the contract (views inside the
 * buffer given, used <= n, progress on every event, at most MP_KEEP_MAX
 * bytes left after MP_NEED).
 */
#include <stdio.h>
#include <string.h>

#include "t.h"

#include "http/multipart.h"

#define BND "XyZ-b0undary"
#define DL "\r\n--" BND

#define T_PARTS_MAX 8u
#define T_DATA_MAX 4608u
#define T_BUF_MAX (T_DATA_MAX + MP_KEEP_MAX)

typedef struct {
    mp_part part;
    char data[T_DATA_MAX];
    size_t data_len;
    bool ended; /* MP_PART_END seen */
} tpart;

typedef struct {
    mp_event last;  /* MP_END, MP_ERROR, or MP_NEED when the input ran out */
    mp_err err;
    size_t nparts;
    tpart parts[T_PARTS_MAX];
    bool contract_ok;
    size_t max_keep;
} tresult;

static tresult g_r;
static tresult g_r2;
static char g_buf[T_BUF_MAX];
static char g_body[T_DATA_MAX];

static bool contract(bool ok, const char *what, size_t at)
{
    if (!ok) {
        fprintf(stderr, "  contract broken at byte %zu: %s\n", at, what);
    }
    return ok;
}

/* Feed body[0..len) to a fresh parser in pieces: the k-th piece ends at
 * cuts[k] (increasing, the last one len), a piece of `step` bytes at a time
 * when step is not 0 (cuts then unused). eof with the last piece. */
static void feed(const char *body, size_t len, const size_t *cuts, size_t ncuts, size_t step,
                 bool eof_at_end, tresult *r)
{
    mp_parser mp;
    size_t have = 0u;
    size_t fed = 0u;
    size_t k = 0u;
    bool stop = false;

    memset(r, 0, sizeof(*r));
    r->last = MP_NEED;
    r->contract_ok = true;
    mp_init(&mp, STRV_LIT(BND));
    while (!stop) {
        size_t upto;
        bool eof;
        if (step > 0u) {
            upto = ((len - fed) > step) ? (fed + step) : len;
        } else {
            upto = (k < ncuts) ? cuts[k] : len;
            k++;
        }
        memcpy(g_buf + have, body + fed, upto - fed);
        have += upto - fed;
        fed = upto;
        eof = eof_at_end && (fed == len);
        for (;;) {
            size_t used = 99999u;
            strv data = { NULL, 7u };
            mp_event ev = mp_next(&mp, g_buf, have, eof, &used, &data);
            r->contract_ok &= contract(used <= have, "used <= n", fed);
            if (ev == MP_DATA) {
                tpart *p = (r->nparts > 0u) ? &r->parts[r->nparts - 1u] : NULL;
                r->contract_ok &= contract((data.p >= g_buf) && (data.n > 0u) &&
                                               (data.p + data.n <= g_buf + have),
                                           "MP_DATA inside buf", fed);
                r->contract_ok &= contract(used >= data.n, "MP_DATA consumed", fed);
                if ((p != NULL) && (p->data_len + data.n <= T_DATA_MAX)) {
                    memcpy(p->data + p->data_len, data.p, data.n);
                    p->data_len += data.n;
                } else {
                    r->contract_ok = contract(false, "MP_DATA outside a part", fed);
                }
            } else if (ev == MP_PART) {
                if (r->nparts < T_PARTS_MAX) {
                    r->parts[r->nparts].part = mp.part;
                    r->nparts++;
                }
            } else if (ev == MP_PART_END) {
                if (r->nparts > 0u) {
                    r->parts[r->nparts - 1u].ended = true;
                }
            } else if (ev == MP_END) {
                r->last = MP_END;
                r->contract_ok &= contract(mp.ended, "ended after MP_END", fed);
            } else if (ev == MP_ERROR) {
                r->last = MP_ERROR;
                r->err = mp.err;
                r->contract_ok &= contract(mp.err != MP_ERR_NONE, "err set", fed);
            } else {
                /* MP_NEED */
            }
            if ((ev != MP_NEED) && (ev != MP_ERROR)) {
                r->contract_ok &= contract(used > 0u, "an event consumes", fed);
            }
            memmove(g_buf, g_buf + used, have - used);
            have -= used;
            if (ev == MP_ERROR) {
                stop = true;
                break;
            }
            if (ev == MP_NEED) {
                r->contract_ok &= contract(have <= MP_KEEP_MAX, "kept <= MP_KEEP_MAX", fed);
                r->contract_ok &= contract(!eof || (mp.ended && (have == 0u)),
                                           "MP_NEED at eof only after MP_END", fed);
                if (have > r->max_keep) {
                    r->max_keep = have;
                }
                break;
            }
        }
        if (fed == len) {
            stop = true;
        }
    }
    if (r->last == MP_ERROR) {
        /* sticky */
        size_t used = 1u;
        strv data;
        r->contract_ok &= contract(mp_next(&mp, "x", 1u, false, &used, &data) == MP_ERROR,
                                   "the error sticks", len);
    }
}

static void feed_whole(const char *body, size_t len, tresult *r)
{
    size_t cut = len;
    feed(body, len, &cut, 1u, 0u, true, r);
}

static void feed_str(const char *body, tresult *r)
{
    feed_whole(body, strlen(body), r);
}

static bool same(const tresult *a, const tresult *b)
{
    size_t i;
    if ((a->last != b->last) || (a->err != b->err) || (a->nparts != b->nparts)) {
        return false;
    }
    for (i = 0u; i < a->nparts; i++) {
        const tpart *x = &a->parts[i];
        const tpart *y = &b->parts[i];
        if ((strcmp(x->part.name, y->part.name) != 0) || (x->part.name_len != y->part.name_len) ||
            (x->part.has_filename != y->part.has_filename) ||
            (strcmp(x->part.filename, y->part.filename) != 0) ||
            (x->part.filename_len != y->part.filename_len) ||
            (strcmp(x->part.ctype, y->part.ctype) != 0) || (x->part.ctype_len != y->part.ctype_len) ||
            (x->data_len != y->data_len) || (memcmp(x->data, y->data, x->data_len) != 0) ||
            (x->ended != y->ended)) {
            return false;
        }
    }
    return true;
}

static mp_err error_of(const char *body)
{
    feed_str(body, &g_r);
    T_CHECK(g_r.contract_ok);
    return (g_r.last == MP_ERROR) ? g_r.err : MP_ERR_NONE;
}

/* The one part of a form: its headers, its data. */
static size_t one_part(char *out, size_t cap, const char *headers, const char *data)
{
    int n = snprintf(out, cap, "--" BND "\r\n%s\r\n%s" DL "--\r\n", headers, data);
    return ((n > 0) && ((size_t)n < cap)) ? (size_t)n : 0u;
}

/* ---- mp_boundary ---------------------------------------------------------- */

static void expect_boundary(const char *ct, const char *want)
{
    strv b = { "junk", 4u };
    strv v = strv_from_cstr(ct);
    st_t st = mp_boundary(v, &b);
    if (want == NULL) {
        if (st != ST_BAD) {
            fprintf(stderr, "  mp_boundary(%s) should fail\n", ct);
        }
        T_EQ_INT(st, ST_BAD);
        T_CHECK(b.p == NULL);
        return;
    }
    if (st != ST_OK) {
        fprintf(stderr, "  mp_boundary(%s) failed\n", ct);
    }
    T_EQ_INT(st, ST_OK);
    T_CHECK((b.n == strlen(want)) && (memcmp(b.p, want, b.n) == 0));
    /* a view into content_type */
    T_CHECK((b.p >= v.p) && (b.p + b.n <= v.p + v.n));
}

static void test_boundary(void)
{
    strv b;
    expect_boundary("multipart/form-data; boundary=abc", "abc");
    expect_boundary("multipart/form-data;boundary=abc", "abc");
    expect_boundary("Multipart/Form-Data; BOUNDARY=abc", "abc");
    expect_boundary("  multipart/form-data ; charset=utf-8; boundary = \"abc\" ; x=y  ", "abc");
    expect_boundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                    "----WebKitFormBoundary7MA4YWxkTrZu0gW");
    expect_boundary("multipart/form-data; boundary=\"a b'()+_,-./:=?Z\"", "a b'()+_,-./:=?Z");
    expect_boundary("multipart/form-data;; boundary=q;", "q");
    /* 70 characters, the most */
    expect_boundary("multipart/form-data; boundary="
                    "0123456789012345678901234567890123456789012345678901234567890123456789",
                    "0123456789012345678901234567890123456789012345678901234567890123456789");

    expect_boundary("multipart/form-data; boundary="
                    "01234567890123456789012345678901234567890123456789012345678901234567890",
                    NULL);
    expect_boundary("text/plain; boundary=abc", NULL);
    expect_boundary("multipart/mixed; boundary=abc", NULL);
    expect_boundary("multipart/form-data", NULL);
    expect_boundary("multipart/form-data;", NULL);
    expect_boundary("multipart/form-data; charset=utf-8", NULL);
    expect_boundary("multipart/form-data; boundary=", NULL);
    expect_boundary("multipart/form-data; boundary=\"\"", NULL);
    expect_boundary("multipart/form-data; boundary=\"ab \"", NULL);    /* ends in a space */
    expect_boundary("multipart/form-data; boundary=a!b", NULL);        /* not a bchar */
    expect_boundary("multipart/form-data; boundary=\"a\\\"b\"", NULL); /* a backslash */
    expect_boundary("multipart/form-data; boundary=\"abc", NULL);
    expect_boundary("multipart/form-data; boundary=a; boundary=a", NULL);
    expect_boundary("multipart/form-data boundary=abc", NULL);
    expect_boundary("multipart/form-data; boundary=abc def", NULL);
    expect_boundary("multipart/form-data; =abc", NULL);
    expect_boundary("multipart/form-dataX; boundary=abc", NULL);
    expect_boundary("multipart form-data; boundary=abc", NULL);
    expect_boundary("/form-data; boundary=abc", NULL);
    expect_boundary("", NULL);
    T_EQ_INT(mp_boundary(STRV_NULL, &b), ST_BAD);
}

/* ---- parts ---------------------------------------------------------------- */

static const char k_three[] =
    "--" BND "\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"report q3.pdf\"\r\n"
    "Content-Type: application/pdf\r\n"
    "\r\n"
    "%PDF-1.4\r\n\x00\x01\xff binary\r\nbytes"
    DL "\r\n"
    "content-disposition: form-data; name=tags\r\n"
    "\r\n"
    "alpha,beta"
    DL "\r\n"
    "Content-Disposition: form-data; name=\"metadata\"\r\n"
    "Content-Type:   application/json ; charset=utf-8  \r\n"
    "X-Other: ignored\r\n"
    "\r\n"
    "{\"a\": 1}"
    DL "--\r\n";

static void check_three(const tresult *r)
{
    T_CHECK(r->contract_ok);
    T_EQ_INT(r->last, MP_END);
    T_EQ_INT(r->nparts, 3);
    T_EQ_STR(r->parts[0].part.name, "file");
    T_EQ_INT(r->parts[0].part.name_len, 4);
    T_CHECK(r->parts[0].part.has_filename);
    T_EQ_STR(r->parts[0].part.filename, "report q3.pdf");
    T_EQ_INT(r->parts[0].part.filename_len, 13);
    T_EQ_STR(r->parts[0].part.ctype, "application/pdf");
    T_EQ_INT(r->parts[0].part.ctype_len, 15);
    T_EQ_MEM(r->parts[0].data, r->parts[0].data_len, "%PDF-1.4\r\n\x00\x01\xff binary\r\nbytes");
    T_CHECK(r->parts[0].ended);
    T_EQ_STR(r->parts[1].part.name, "tags");
    T_CHECK(!r->parts[1].part.has_filename);
    T_EQ_STR(r->parts[1].part.filename, "");
    T_EQ_STR(r->parts[1].part.ctype, "");
    T_EQ_MEM(r->parts[1].data, r->parts[1].data_len, "alpha,beta");
    T_CHECK(r->parts[1].ended);
    T_EQ_STR(r->parts[2].part.name, "metadata");
    T_EQ_STR(r->parts[2].part.ctype, "application/json ; charset=utf-8");
    T_EQ_MEM(r->parts[2].data, r->parts[2].data_len, "{\"a\": 1}");
    T_CHECK(r->parts[2].ended);
}

static void test_three_parts(void)
{
    feed_whole(k_three, sizeof(k_three) - 1u, &g_r);
    check_three(&g_r);
}

/* Every cut, every pair of cuts, one byte at a time: the same parts. */
static void test_every_split(void)
{
    size_t len = sizeof(k_three) - 1u;
    size_t i;
    size_t j;
    size_t bad = 0u;
    size_t cuts[3];

    feed_whole(k_three, len, &g_r);
    check_three(&g_r);
    for (i = 0u; i <= len; i++) {
        cuts[0] = i;
        cuts[1] = len;
        feed(k_three, len, cuts, 2u, 0u, true, &g_r2);
        if (!same(&g_r, &g_r2) || !g_r2.contract_ok) {
            if (bad == 0u) {
                fprintf(stderr, "  split at %zu differs\n", i);
            }
            bad++;
        }
        for (j = i; j <= len; j += 7u) {
            cuts[1] = j;
            cuts[2] = len;
            feed(k_three, len, cuts, 3u, 0u, true, &g_r2);
            if (!same(&g_r, &g_r2) || !g_r2.contract_ok) {
                if (bad == 0u) {
                    fprintf(stderr, "  splits at %zu, %zu differ\n", i, j);
                }
                bad++;
            }
        }
    }
    for (i = 1u; i <= 80u; i++) {
        feed(k_three, len, NULL, 0u, i, true, &g_r2);
        if (!same(&g_r, &g_r2) || !g_r2.contract_ok) {
            if (bad == 0u) {
                fprintf(stderr, "  %zu bytes at a time differs\n", i);
            }
            bad++;
        }
    }
    T_EQ_INT(bad, 0);
    /* one byte at a time, and checked field by field */
    feed(k_three, len, NULL, 0u, 1u, true, &g_r2);
    check_three(&g_r2);
}

/* eof at every byte before the end of the close delimiter: never a success. */
static void test_truncated(void)
{
    size_t len = sizeof(k_three) - 1u;
    size_t end = len - 2u; /* the close delimiter's "--"; its CRLF is epilogue */
    size_t i;
    size_t bad = 0u;

    feed_whole(k_three, len, &g_r);
    for (i = 0u; i < end; i++) {
        feed_whole(k_three, i, &g_r2);
        if ((g_r2.last != MP_ERROR) || !g_r2.contract_ok ||
            ((g_r2.err != MP_ERR_TRUNCATED) && (g_r2.err != MP_ERR_SYNTAX))) {
            if (bad == 0u) {
                fprintf(stderr, "  eof at %zu: last %d err %d\n", i, (int)g_r2.last, (int)g_r2.err);
            }
            bad++;
        }
        /* past the first delimiter it is always "truncated" */
        if ((i > sizeof("--" BND) - 1u) && (g_r2.err != MP_ERR_TRUNCATED)) {
            bad++;
        }
        feed(k_three, i, NULL, 0u, 1u, true, &g_r2);
        if ((g_r2.last != MP_ERROR) || !g_r2.contract_ok) {
            bad++;
        }
    }
    for (i = end; i <= len; i++) {
        feed_whole(k_three, i, &g_r2);
        if (!same(&g_r, &g_r2)) {
            fprintf(stderr, "  eof at %zu after the close delimiter differs\n", i);
            bad++;
        }
    }
    T_EQ_INT(bad, 0);
    T_EQ_INT(error_of(""), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("no delimiter here\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("--" BND), MP_ERR_TRUNCATED);
    T_EQ_INT(error_of("--" BND "\r\n\r\ndata"), MP_ERR_TRUNCATED);
    T_EQ_INT(error_of("--" BND "\r\n\r\ndata" DL), MP_ERR_TRUNCATED);
    T_EQ_INT(error_of("--" BND "\r\n\r\ndata" DL "-"), MP_ERR_TRUNCATED);
    T_EQ_INT(error_of("--" BND "\r\nContent-Type: x"), MP_ERR_TRUNCATED);
}

static void test_preamble_epilogue(void)
{
    feed_str("This is the preamble. --" BND " is not a delimiter here.\r\n"
             "--" BND "x is data of the preamble too\r\n\r\n"
             "\r\n--" BND "  \t \r\n"
             "Content-Disposition: form-data; name=a\r\n\r\n"
             "1"
             DL "--  \r\nthe epilogue " DL "\r\n garbage \x00 --" BND "--",
             &g_r);
    /* "--BNDx" after a CRLF in the preamble is a bad delimiter line */
    T_EQ_INT(g_r.last, MP_ERROR);
    T_EQ_INT(g_r.err, MP_ERR_SYNTAX);

    feed_str("This is the preamble. --" BND " is not a delimiter here.\r\n"
             "\r\n--" BND "  \t \r\n"
             "Content-Disposition: form-data; name=a\r\n\r\n"
             "1"
             DL "--  \r\nthe epilogue " DL "\r\n garbage \x01 --" BND "--",
             &g_r);
    T_CHECK(g_r.contract_ok);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.nparts, 1);
    T_EQ_STR(g_r.parts[0].part.name, "a");
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, "1");

    /* the first delimiter right after a CRLF at byte 0 */
    feed_str(DL "\r\n\r\nv" DL "--", &g_r);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.nparts, 1);
    T_EQ_STR(g_r.parts[0].part.name, "");
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, "v");

    /* no part at all */
    feed_str("--" BND "--", &g_r);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.nparts, 0);
}

static void test_padding(void)
{
    feed_str("--" BND " \t\r\n"
             "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
             "x"
             DL "\t\t  \r\n"
             "Content-Disposition: form-data; name=\"b\"\r\n\r\n"
             "y"
             DL "--",
             &g_r);
    T_CHECK(g_r.contract_ok);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.nparts, 2);
    T_EQ_MEM(g_r.parts[1].data, g_r.parts[1].data_len, "y");

    T_EQ_INT(error_of("--" BND " x\r\n\r\n" DL "--"), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("--" BND " --"), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("--" BND "-x"), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("--" BND "\rx"), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("--" BND "\n\r\n" DL "--"), MP_ERR_SYNTAX);
    T_EQ_INT(error_of("--" BND "\r\n\r\ndata" DL "X\r\n"), MP_ERR_SYNTAX);
}

static void test_near_misses(void)
{
    static const char data[] = "a\r\n--XyZ-b0undar\r\n--XyZ\r\r\n--XyZ-b0undarx\r\n"
                               "--XyZ-b0undarY\r\n-\r\n\r\n--xyz-b0undary -\r";
    size_t len;
    size_t i;
    size_t bad = 0u;
    size_t cut[2];

    /* "--BND" right after the headers is data: no CRLF before it */
    len = one_part(g_body, sizeof(g_body), "", "--" BND "--\r\n");
    feed_whole(g_body, len, &g_r);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, "--" BND "--\r\n");

    /* "\r\n--" then near misses of the boundary, cut everywhere */
    len = one_part(g_body, sizeof(g_body), "Content-Disposition: form-data; name=n\r\n", data);
    feed_whole(g_body, len, &g_r);
    T_CHECK(g_r.contract_ok);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.nparts, 1);
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, data);
    for (i = 0u; i <= len; i++) {
        cut[0] = i;
        cut[1] = len;
        feed(g_body, len, cut, 2u, 0u, true, &g_r2);
        bad += same(&g_r, &g_r2) ? 0u : 1u;
    }
    feed(g_body, len, NULL, 0u, 1u, true, &g_r2);
    bad += same(&g_r, &g_r2) ? 0u : 1u;
    T_EQ_INT(bad, 0);

    /* CRLF at the very end of the data, and a CR */
    len = one_part(g_body, sizeof(g_body), "", "line\r\n");
    feed_whole(g_body, len, &g_r);
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, "line\r\n");
    len = one_part(g_body, sizeof(g_body), "", "\r\n\r\n");
    feed(g_body, len, NULL, 0u, 1u, true, &g_r);
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, "\r\n\r\n");
    len = one_part(g_body, sizeof(g_body), "", "cr\r");
    feed(g_body, len, NULL, 0u, 1u, true, &g_r);
    T_EQ_MEM(g_r.parts[0].data, g_r.parts[0].data_len, "cr\r");
}

static void test_empty_data(void)
{
    feed_str("--" BND "\r\n"
             "Content-Disposition: form-data; name=\"e1\"\r\n\r\n"
             DL "\r\n"
             "Content-Disposition: form-data; name=\"e2\"; filename=\"\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n"
             DL "\r\n\r\n" DL "--",
             &g_r);
    T_CHECK(g_r.contract_ok);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.nparts, 3);
    T_EQ_INT(g_r.parts[0].data_len, 0);
    T_CHECK(g_r.parts[0].ended);
    T_CHECK(g_r.parts[1].part.has_filename);
    T_EQ_STR(g_r.parts[1].part.filename, "");
    T_EQ_INT(g_r.parts[1].data_len, 0);
    T_EQ_STR(g_r.parts[2].part.name, "");
    T_EQ_INT(g_r.parts[2].data_len, 0);
    T_CHECK(g_r.parts[2].ended);
}

/* ---- Content-Disposition ---------------------------------------------------- */

/* The first part of a one-part form with these headers. */
static const mp_part *part_of(const char *headers)
{
    size_t len = one_part(g_body, sizeof(g_body), headers, "d");
    feed_whole(g_body, len, &g_r);
    T_CHECK(g_r.contract_ok);
    if ((g_r.last != MP_END) || (g_r.nparts != 1u)) {
        fprintf(stderr, "  headers \"%s\": last %d err %d\n", headers, (int)g_r.last, (int)g_r.err);
        T_EQ_INT(g_r.last, MP_END);
        memset(&g_r.parts[0].part, 0, sizeof(g_r.parts[0].part));
    }
    return &g_r.parts[0].part;
}

static mp_err header_error(const char *headers)
{
    size_t len = one_part(g_body, sizeof(g_body), headers, "d");
    feed_whole(g_body, len, &g_r);
    T_CHECK(g_r.contract_ok);
    return (g_r.last == MP_ERROR) ? g_r.err : MP_ERR_NONE;
}

static void test_disposition(void)
{
    const mp_part *p;

    p = part_of("Content-Disposition: form-data; name=\"a\\\"b\\\\c\\d\"\r\n");
    T_EQ_STR(p->name, "a\"b\\cd");
    T_EQ_INT(p->name_len, 6);
    p = part_of("CONTENT-DISPOSITION:FORM-DATA;NAME=x;FILENAME=\"a;b=c.txt\"\r\n");
    T_EQ_STR(p->name, "x");
    T_CHECK(p->has_filename);
    T_EQ_STR(p->filename, "a;b=c.txt");
    p = part_of("Content-Disposition: form-data ; name = \"sp\" ;; size=3; ;\r\n");
    T_EQ_STR(p->name, "sp");
    T_CHECK(!p->has_filename);
    /* raw UTF-8 in a quoted filename, as browsers send it */
    p = part_of("Content-Disposition: form-data; name=f; filename=\"na\xc3\xafve.txt\"\r\n");
    T_EQ_STR(p->filename, "na\xc3\xafve.txt");
    p = part_of("Content-Disposition: form-data; name=\"\"\r\n");
    T_EQ_STR(p->name, "");
    p = part_of("Content-Type: text/plain\r\n");
    T_EQ_STR(p->name, "");
    T_EQ_STR(p->ctype, "text/plain");
    p = part_of("Content-Type:\r\n");
    T_EQ_STR(p->ctype, "");

    T_EQ_INT(header_error("Content-Disposition: attachment; name=a\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data name=a\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; name=\"a\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; name=a b\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; name=\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; =a\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; name=a; name=b\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename=a; filename=b\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; name=a\r\n"
                          "Content-Disposition: form-data; name=b\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Type: a\r\nContent-Type: b\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("No colon here\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Name : space before the colon\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error(" folded: x\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("X-Bare-LF: x\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("X-Bare-CR: x\ry\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("X-Ctl: \x01\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("X-Del: \x7f\r\n"), MP_ERR_SYNTAX);
}

static void test_filename_star(void)
{
    const mp_part *p;

    p = part_of("Content-Disposition: form-data; name=f; "
                "filename*=UTF-8''na%C3%AFve%20r%c3%a9sum%C3%A9.txt\r\n");
    T_CHECK(p->has_filename);
    T_EQ_STR(p->filename, "na\xc3\xafve r\xc3\xa9sum\xc3\xa9.txt");
    T_EQ_INT(p->filename_len, strlen("na\xc3\xafve r\xc3\xa9sum\xc3\xa9.txt"));
    p = part_of("Content-Disposition: form-data; name=f; "
                "FILENAME*=iso-8859-1'en'%E9t%E9%20%A3.txt\r\n");
    T_EQ_STR(p->filename, "\xc3\xa9t\xc3\xa9 \xc2\xa3.txt");
    p = part_of("Content-Disposition: form-data; name=f; "
                "filename*=utf-8'en-GB'a!#$&+-.^_`|~b\r\n");
    T_EQ_STR(p->filename, "a!#$&+-.^_`|~b");
    /* filename* wins, in either order */
    p = part_of("Content-Disposition: form-data; name=f; filename=\"plain.txt\"; "
                "filename*=UTF-8''%E2%82%AC.txt\r\n");
    T_EQ_STR(p->filename, "\xe2\x82\xac.txt");
    p = part_of("Content-Disposition: form-data; name=f; filename*=UTF-8''%E2%82%AC.txt; "
                "filename=\"plain.txt\"\r\n");
    T_EQ_STR(p->filename, "\xe2\x82\xac.txt");
    T_EQ_INT(p->filename_len, 7);
    p = part_of("Content-Disposition: form-data; name=f; filename*=UTF-8''\r\n");
    T_CHECK(p->has_filename);
    T_EQ_STR(p->filename, "");

    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''%C3%28\r\n"),
             MP_ERR_SYNTAX); /* not UTF-8 */
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''%C3\r\n"),
             MP_ERR_SYNTAX); /* cut */
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''a%00\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''a%4\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''a%zz\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''a'b\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''a*b\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8'a.txt\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=a.txt\r\n"), MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=koi8-r''a\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8'e%6e'a\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=\"UTF-8''a\"\r\n"),
             MP_ERR_SYNTAX);
    T_EQ_INT(header_error("Content-Disposition: form-data; filename*=UTF-8''a; "
                          "filename*=UTF-8''b\r\n"),
             MP_ERR_SYNTAX);
}

/* ---- limits ---------------------------------------------------------------- */

static char g_hdr[4096];

static const char *repeat_header(const char *prefix, size_t fill, const char *suffix)
{
    size_t n = strlen(prefix);
    memcpy(g_hdr, prefix, n);
    memset(g_hdr + n, 'a', fill);
    strcpy(g_hdr + n + fill, suffix);
    return g_hdr;
}

static void test_limits(void)
{
    static const char cd[] = "Content-Disposition: form-data; name=\"";
    static const char fn[] = "Content-Disposition: form-data; name=f; filename=\"";
    static const char ct[] = "Content-Type: ";
    static const char xh[] = "X-Long: ";
    const mp_part *p;
    size_t i;
    size_t len;

    /* a header line of MP_LINE_MAX bytes, CRLF included; one more */
    p = part_of(repeat_header(xh, MP_LINE_MAX - (sizeof(xh) - 1u) - 2u, "\r\n"));
    T_EQ_STR(p->name, "");
    T_EQ_INT(header_error(repeat_header(xh, MP_LINE_MAX - (sizeof(xh) - 1u) - 1u, "\r\n")),
             MP_ERR_TOOBIG);
    /* one cut byte by byte too: the line is kept, never more than MP_KEEP_MAX */
    len = one_part(g_body, sizeof(g_body),
                   repeat_header(xh, MP_LINE_MAX - (sizeof(xh) - 1u) - 2u, "\r\n"), "d");
    feed(g_body, len, NULL, 0u, 1u, true, &g_r);
    T_CHECK(g_r.contract_ok);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.max_keep, MP_LINE_MAX - 1u);
    len = one_part(g_body, sizeof(g_body),
                   repeat_header(xh, MP_LINE_MAX - (sizeof(xh) - 1u) - 1u, "\r\n"), "d");
    feed(g_body, len, NULL, 0u, 1u, true, &g_r);
    T_CHECK(g_r.contract_ok);
    T_EQ_INT(g_r.last, MP_ERROR);
    T_EQ_INT(g_r.err, MP_ERR_TOOBIG);

    /* MP_HEADERS_MAX header lines; one more */
    g_hdr[0] = '\0';
    for (i = 0u; i < MP_HEADERS_MAX; i++) {
        strcat(g_hdr, "X-H: v\r\n");
    }
    p = part_of(g_hdr);
    strcat(g_hdr, "X-H: v\r\n");
    T_EQ_INT(header_error(g_hdr), MP_ERR_TOOBIG);

    /* name, filename, content type: the longest that fits, one more */
    p = part_of(repeat_header(cd, MP_NAME_BYTES - 1u, "\"\r\n"));
    T_EQ_INT(p->name_len, MP_NAME_BYTES - 1u);
    T_EQ_INT(strlen(p->name), MP_NAME_BYTES - 1u);
    T_EQ_INT(header_error(repeat_header(cd, MP_NAME_BYTES, "\"\r\n")), MP_ERR_TOOBIG);
    p = part_of(repeat_header(fn, MP_FILENAME_BYTES - 1u, "\"\r\n"));
    T_EQ_INT(p->filename_len, MP_FILENAME_BYTES - 1u);
    T_EQ_INT(strlen(p->filename), MP_FILENAME_BYTES - 1u);
    T_EQ_INT(header_error(repeat_header(fn, MP_FILENAME_BYTES, "\"\r\n")), MP_ERR_TOOBIG);
    /* a too-long filename does not matter when filename* replaces it */
    p = part_of(repeat_header(fn, MP_FILENAME_BYTES, "\"; filename*=UTF-8''short\r\n"));
    T_EQ_STR(p->filename, "short");
    /* filename* decoded: "%E2%82%AC" then plain bytes up to the limit;
     * one more is too many */
    strcpy(g_hdr, "Content-Disposition: form-data; filename*=UTF-8''%E2%82%AC");
    for (i = 3u; i < (MP_FILENAME_BYTES - 1u); i++) {
        strcat(g_hdr, "a");
    }
    strcat(g_hdr, "\r\n");
    p = part_of(g_hdr);
    T_EQ_INT(p->filename_len, MP_FILENAME_BYTES - 1u);
    strcpy(g_hdr + strlen(g_hdr) - 2u, "a\r\n");
    T_EQ_INT(header_error(g_hdr), MP_ERR_TOOBIG);
    /* latin-1 doubles: "a" then (MP_FILENAME_BYTES - 2) / 2 bytes above
     * 0x7F fill it; one more is too many */
    strcpy(g_hdr, "Content-Disposition: form-data; filename*=ISO-8859-1''a");
    for (i = 0u; i < ((MP_FILENAME_BYTES - 2u) / 2u); i++) {
        strcat(g_hdr, "%E9");
    }
    strcat(g_hdr, "\r\n");
    p = part_of(g_hdr);
    T_EQ_INT(p->filename_len, MP_FILENAME_BYTES - 1u);
    strcpy(g_hdr + strlen(g_hdr) - 2u, "%E9\r\n");
    T_EQ_INT(header_error(g_hdr), MP_ERR_TOOBIG);
    p = part_of(repeat_header(ct, MP_CTYPE_BYTES - 1u, "  \r\n"));
    T_EQ_INT(p->ctype_len, MP_CTYPE_BYTES - 1u);
    T_EQ_INT(header_error(repeat_header(ct, MP_CTYPE_BYTES, "\r\n")), MP_ERR_TOOBIG);
}

/* A caller with a buffer of MP_KEEP_MAX + room bytes always makes progress,
 * and the parser never leaves more than MP_KEEP_MAX unconsumed. */
static void test_small_buffer(void)
{
    static char body[T_DATA_MAX];
    static const size_t rooms[] = { 1u, 2u, 5u, 73u, 74u, 75u, 100u, 1000u };
    size_t len;
    size_t i;
    size_t k;
    size_t bad = 0u;

    for (i = 0u; i < 4000u; i++) {
        /* data full of CRs and near misses */
        static const char pat[] = "ab\r\n--XyZ-b0undar";
        g_body[i] = pat[i % (sizeof(pat) - 1u)];
    }
    g_body[4000] = '\0';
    len = one_part(body, sizeof(body), "Content-Disposition: form-data; name=big\r\n", g_body);
    feed_whole(body, len, &g_r);
    T_EQ_INT(g_r.last, MP_END);
    T_EQ_INT(g_r.parts[0].data_len, 4000);
    T_CHECK(g_r.max_keep <= MP_KEEP_MAX);
    for (k = 0u; k < sizeof(rooms) / sizeof(rooms[0]); k++) {
        /* the caller tops its buffer up to MP_KEEP_MAX + room each time */
        mp_parser mp;
        size_t have = 0u;
        size_t fed = 0u;
        size_t got = 0u;
        size_t calls = 0u;
        mp_event ev = MP_NEED;
        size_t cap = MP_KEEP_MAX + rooms[k];
        mp_init(&mp, STRV_LIT(BND));
        while ((ev != MP_END) && (ev != MP_ERROR) && (calls < 100000u)) {
            size_t used;
            strv data;
            size_t add = ((len - fed) < (cap - have)) ? (len - fed) : (cap - have);
            memcpy(g_buf + have, body + fed, add);
            have += add;
            fed += add;
            ev = mp_next(&mp, g_buf, have, fed == len, &used, &data);
            calls++;
            if (ev == MP_DATA) {
                got += data.n;
            }
            if ((ev == MP_NEED) && ((have - used) > MP_KEEP_MAX)) {
                bad++;
            }
            if ((ev == MP_NEED) && (used == 0u) && (add == 0u)) {
                bad++; /* no progress */
                break;
            }
            memmove(g_buf, g_buf + used, have - used);
            have -= used;
        }
        T_EQ_INT(ev, MP_END);
        T_EQ_INT(got, 4000);
    }
    T_EQ_INT(bad, 0);
}

static void test_api_edges(void)
{
    mp_parser mp;
    size_t used = 5u;
    strv data;

    /* empty calls before any byte */
    mp_init(&mp, STRV_LIT(BND));
    T_EQ_INT(mp_next(&mp, NULL, 0u, false, &used, &data), MP_NEED);
    T_EQ_INT(used, 0);
    T_EQ_INT(mp_next(&mp, "--XyZ", 5u, false, &used, &data), MP_NEED);
    T_EQ_INT(used, 0);
    T_EQ_INT(mp_next(&mp, NULL, 0u, true, &used, &data), MP_ERROR);
    T_EQ_INT(mp.err, MP_ERR_SYNTAX);
    T_EQ_INT(mp_next(&mp, "--" BND "--", sizeof("--" BND "--") - 1u, true, &used, &data),
             MP_ERROR);

    /* after MP_END: the epilogue is consumed, eof or not */
    mp_init(&mp, STRV_LIT(BND));
    T_EQ_INT(mp_next(&mp, "--" BND "--xyz", sizeof("--" BND "--xyz") - 1u, false, &used, &data),
             MP_END);
    T_EQ_INT(used, sizeof("--" BND "--") - 1u);
    T_CHECK(mp.ended);
    T_EQ_INT(mp_next(&mp, "xyz", 3u, false, &used, &data), MP_NEED);
    T_EQ_INT(used, 3);
    T_EQ_INT(mp_next(&mp, NULL, 0u, true, &used, &data), MP_NEED);
    T_EQ_INT(used, 0);

    /* MP_DATA is a view of the buffer given, from its front */
    {
        static const char b[] = "--" BND "\r\n\r\nhello" DL "--";
        size_t at;
        mp_init(&mp, STRV_LIT(BND));
        T_EQ_INT(mp_next(&mp, b, sizeof(b) - 1u, true, &used, &data), MP_PART);
        at = used;
        T_EQ_INT(mp_next(&mp, b + at, sizeof(b) - 1u - at, true, &used, &data), MP_DATA);
        T_CHECK(data.p == b + at);
        T_EQ_MEM(data.p, data.n, "hello");
        T_EQ_INT(used, 5);
        at += used;
        T_EQ_INT(mp_next(&mp, b + at, sizeof(b) - 1u - at, true, &used, &data), MP_PART_END);
        at += used;
        T_EQ_INT(mp_next(&mp, b + at, sizeof(b) - 1u - at, true, &used, &data), MP_END);
    }

    /* a boundary mp_boundary would refuse */
    mp_init(&mp, STRV_NULL);
    T_EQ_INT(mp_next(&mp, "--", 2u, false, &used, &data), MP_ERROR);
    T_EQ_INT(mp.err, MP_ERR_SYNTAX);
}

int main(void)
{
    T_RUN(test_boundary);
    T_RUN(test_three_parts);
    T_RUN(test_every_split);
    T_RUN(test_truncated);
    T_RUN(test_preamble_epilogue);
    T_RUN(test_padding);
    T_RUN(test_near_misses);
    T_RUN(test_empty_data);
    T_RUN(test_disposition);
    T_RUN(test_filename_star);
    T_RUN(test_limits);
    T_RUN(test_small_buffer);
    T_RUN(test_api_edges);
    return t_done("multipart");
}
