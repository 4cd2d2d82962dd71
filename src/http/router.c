/*
 * router.c - compiling a route table, matching a path against it.
 *
 * Implementation notes. A row is a bit; the compiled table keeps, per
 * depth d (the (d+1)-th segment), the rows with a {param} there, the rows
 * whose '*' is there, the rows that end there, and each distinct literal
 * at d with the rows that have it. Matching walks the path's segments once,
 * left to right, with `cand` the rows whose segments so far all accept the
 * path's: at depth d a row whose '*' is at d is a hit (the path goes on
 * after a '/'), then cand keeps the rows whose segment d is the path's
 * literal, or a {param} when the path's segment is not empty. When the path
 * ends, the rows of cand that end at that depth are hits. An empty cand
 * ends the walk early. The hits, lowest row first, are the rows of the
 * linear algorithm (row order, first match wins) that match the path:
 * taking the first that allows the method gives the same row, and their
 * union of methods the same Allow set, as scanning every row did. The
 * literals of a depth are compared (length first) only while one of their
 * rows is still a candidate, and a path segment equals at most one of them.
 */
#include "http/router.h"

#include <string.h>

#define ROUTER_WORD_BITS 64u

static void set_add(route_set *s, size_t r)
{
    s->w[r / ROUTER_WORD_BITS] |= (uint64_t)1u << (r % ROUTER_WORD_BITS);
}

static bool set_has(const route_set *s, size_t r)
{
    return ((s->w[r / ROUTER_WORD_BITS] >> (r % ROUTER_WORD_BITS)) & 1u) != 0u;
}

static bool set_any(const route_set *s)
{
    uint64_t any = 0u;
    size_t k;
    for (k = 0u; k < ROUTER_WORDS; k++) {
        any |= s->w[k];
    }
    return any != 0u;
}

static bool set_meets(const route_set *a, const route_set *b)
{
    uint64_t any = 0u;
    size_t k;
    for (k = 0u; k < ROUTER_WORDS; k++) {
        any |= a->w[k] & b->w[k];
    }
    return any != 0u;
}

/* dst |= a & b */
static void set_or_and(route_set *dst, const route_set *a, const route_set *b)
{
    size_t k;
    for (k = 0u; k < ROUTER_WORDS; k++) {
        dst->w[k] |= a->w[k] & b->w[k];
    }
}

static bool is_slash(char ch)
{
    return ch == '/';
}

/* The segment after the '/' at p (a pattern: NUL-terminated). */
static strv pattern_seg_at(const char *p)
{
    strv seg;
    seg.p = p + 1u;
    seg.n = 0u;
    while ((p[seg.n + 1u] != '\0') && !is_slash(p[seg.n + 1u])) {
        seg.n++;
    }
    return seg;
}

/* Segment d of a pattern that starts with '/' (d below its count). */
static strv pattern_seg(const char *pattern, size_t d)
{
    strv seg = pattern_seg_at(pattern);
    size_t k;
    for (k = 0u; k < d; k++) {
        seg = pattern_seg_at(seg.p + seg.n);
    }
    return seg;
}

static bool seg_is_param(strv seg)
{
    const char *p = seg.p;
    return (seg.n >= 2u) && (p[0] == '{') && (p[seg.n - 1u] == '}');
}

static bool seg_is_tail(strv seg)
{
    const char *p = seg.p;
    return (seg.n == 1u) && (p[0] == '*');
}

/* Check one pattern; its segments before '*', whether it ends with one,
 * and its parameters (the tail counted). */
static st_t row_shape(const char *pattern, size_t *nfixed, bool *tail, size_t *nparams)
{
    const char *p = pattern;
    size_t nseg = 0u;
    st_t st = ST_OK;
    *nfixed = 0u;
    *tail = false;
    *nparams = 0u;
    if ((p == NULL) || !is_slash(p[0])) {
        return ST_INVAL;
    }
    do {
        strv seg = pattern_seg_at(p);
        nseg++;
        if (*tail) {
            st = ST_INVAL;                  /* '*' is the last segment only */
        } else if (seg_is_tail(seg)) {
            *tail = true;
            (*nparams)++;
        } else {
            (*nfixed)++;
            if (seg_is_param(seg)) {
                (*nparams)++;
            }
        }
        p = seg.p + seg.n;
    } while ((st == ST_OK) && (p[0] != '\0'));
    if ((st == ST_OK) && (nseg > (size_t)CFG_ROUTER_MAX_SEGS)) {
        st = ST_TOOBIG;
    }
    return st;
}

/* The literals of depth d, from the live rows that have one there. */
static st_t compile_literals(router_table *t, size_t d, size_t *nlits)
{
    size_t r;
    st_t st = ST_OK;
    t->lit_first[d] = (uint16_t)*nlits;
    for (r = 0u; (r < t->n) && (st == ST_OK); r++) {
        strv seg = STRV_NULL;
        if (set_has(&t->live, r) && (d < (size_t)t->nfixed[r])) {
            seg = pattern_seg(t->table[r].pattern, d);
        }
        if ((seg.p != NULL) && !seg_is_param(seg)) {
            size_t i = t->lit_first[d];
            while ((i < *nlits) && !strv_eq(t->lits[i].seg, seg)) {
                i++;
            }
            if (i == *nlits) {
                if (*nlits < (size_t)CFG_ROUTER_MAX_LITERALS) {
                    t->lits[i].seg = seg;
                    (*nlits)++;
                } else {
                    st = ST_TOOBIG;
                }
            }
            if (st == ST_OK) {
                set_add(&t->lits[i].rows, r);
            }
        }
    }
    return st;
}

st_t router_compile(router_table *t, const route *table, size_t n)
{
    size_t r;
    size_t d;
    size_t nlits = 0u;
    st_t st = ST_OK;
    (void)memset(t, 0, sizeof *t);
    if (n > (size_t)CFG_ROUTER_MAX_ROUTES) {
        return ST_TOOBIG;
    }
    t->table = table;
    t->n = n;
    for (r = 0u; (r < n) && (st == ST_OK); r++) {
        size_t nfixed;
        size_t nparams;
        bool tail;
        st = row_shape(table[r].pattern, &nfixed, &tail, &nparams);
        if ((st == ST_OK) && (nparams <= (size_t)CFG_HTTP_MAX_PARAMS)) {
            set_add(&t->live, r);
            t->nfixed[r] = (uint8_t)nfixed;
            set_add(tail ? &t->tail[nfixed] : &t->end[nfixed], r);
            for (d = 0u; d < nfixed; d++) {
                if (seg_is_param(pattern_seg(table[r].pattern, d))) {
                    set_add(&t->param[d], r);
                }
            }
        }
    }
    for (d = 0u; (d < (size_t)CFG_ROUTER_MAX_SEGS) && (st == ST_OK); d++) {
        st = compile_literals(t, d, &nlits);
    }
    t->lit_first[CFG_ROUTER_MAX_SEGS] = (uint16_t)nlits;
    if (st != ST_OK) {
        (void)memset(t, 0, sizeof *t);      /* a failed table matches nothing */
    }
    return st;
}

/* cand &= the rows whose segment d accepts seg. */
static void narrow(const router_table *t, size_t d, strv seg, route_set *cand)
{
    route_set next = { { 0u } };
    size_t i;
    size_t k;
    if (seg.n > 0u) {
        next = t->param[d];
    }
    for (i = t->lit_first[d]; i < t->lit_first[d + 1u]; i++) {
        const route_lit *lit = &t->lits[i];
        if ((lit->seg.n == seg.n) && set_meets(&lit->rows, cand) && strv_eq(lit->seg, seg)) {
            for (k = 0u; k < ROUTER_WORDS; k++) {
                next.w[k] |= lit->rows.w[k];
            }
            break;
        }
    }
    for (k = 0u; k < ROUTER_WORDS; k++) {
        cand->w[k] &= next.w[k];
    }
}

/* The rows whose pattern matches path; seg[d] gets the path's segment d. */
static route_set path_hits(const router_table *t, strv path, strv *seg)
{
    route_set hits = { { 0u } };
    route_set cand = t->live;
    size_t pos = 0u;
    size_t d = 0u;
    bool more = (path.n > 0u) && is_slash(path.p[0]);
    while (more && set_any(&cand)) {
        size_t end = pos + 1u;
        while ((end < path.n) && !is_slash(path.p[end])) {
            end++;
        }
        seg[d].p = path.p + pos + 1u;
        seg[d].n = end - pos - 1u;
        set_or_and(&hits, &cand, &t->tail[d]);   /* '*' takes the rest, from seg[d] */
        narrow(t, d, seg[d], &cand);
        d++;
        if (end == path.n) {
            set_or_and(&hits, &cand, &t->end[d]);
            more = false;
        } else if (d == (size_t)CFG_ROUTER_MAX_SEGS) {
            more = false;                         /* deeper than every pattern */
        } else {
            pos = end;
        }
    }
    return hits;
}

/* Decode row r's parameters: its {param} segments, then its tail. */
static route_result take_params(const router_table *t, size_t r, strv path, const strv *seg,
                                char *pbuf, size_t pcap, route_match_t *out)
{
    strv raw[CFG_HTTP_MAX_PARAMS];
    size_t nraw = 0u;
    size_t nfixed = t->nfixed[r];
    size_t used = 0u;
    size_t d;
    size_t k;
    for (d = 0u; d < nfixed; d++) {
        if (set_has(&t->param[d], r)) {
            raw[nraw] = seg[d];
            nraw++;
        }
    }
    if (set_has(&t->tail[nfixed], r)) {
        size_t start = 1u;                  /* the tail's offset in the path */
        for (d = 0u; d < nfixed; d++) {
            start += seg[d].n + 1u;
        }
        raw[nraw].p = seg[nfixed].p;
        raw[nraw].n = path.n - start;
        nraw++;
    }
    for (k = 0u; k < nraw; k++) {
        size_t dn = 0u;
        if (http_pct_decode(raw[k], pbuf + used, pcap - used, &dn) != ST_OK) {
            out->nparams = 0u;
            return ROUTE_BAD_PARAM;
        }
        out->params[k].p = pbuf + used;
        out->params[k].n = dn;
        used += dn;
    }
    out->nparams = nraw;
    out->rt = &t->table[r];
    return ROUTE_FOUND;
}

route_result router_match(const router_table *t, http_method m, strv path, char *pbuf,
                          size_t pcap, route_match_t *out)
{
    strv seg[CFG_ROUTER_MAX_SEGS];
    route_set hits = path_hits(t, path, seg);
    uint32_t allow = 0u;
    size_t r;
    out->rt = NULL;
    out->allow = 0u;
    out->nparams = 0u;
    if (!set_any(&hits)) {
        return ROUTE_NOT_FOUND;
    }
    for (r = 0u; r < t->n; r++) {
        if (set_has(&hits, r) && ((t->table[r].methods & RM(m)) != 0u)) {
            return take_params(t, r, path, seg, pbuf, pcap, out);
        }
    }
    /* No row takes the method: the rows of the path make the Allow set. */
    for (r = 0u; r < t->n; r++) {
        if (set_has(&hits, r)) {
            allow |= t->table[r].methods;
        }
    }
    out->allow = allow;
    return (allow != 0u) ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}

size_t router_allow_str(uint32_t methods, char *buf, size_t cap)
{
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    static const struct { http_method m; const char *name; } names[] = {
        { HTTP_M_GET, "GET" },       { HTTP_M_HEAD, "HEAD" },   { HTTP_M_POST, "POST" },
        { HTTP_M_PUT, "PUT" },       { HTTP_M_PATCH, "PATCH" }, { HTTP_M_DELETE, "DELETE" },
        { HTTP_M_OPTIONS, "OPTIONS" },
    };
    size_t len = 0u;
    size_t i;
    if (cap == 0u) {
        return 0u;
    }
    buf[0] = '\0';
    for (i = 0u; i < (sizeof(names) / sizeof(names[0])); i++) {
        if ((methods & RM(names[i].m)) != 0u) {
            size_t k = strlen(names[i].name);
            size_t sep = 0u;
            if (len > 0u) {
                sep = 2u;
            }
            if ((len + sep + k + 1u) > cap) {
                break;
            }
            if (sep > 0u) {
                (void)memcpy(buf + len, ", ", 2u);
                len += 2u;
            }
            (void)memcpy(buf + len, names[i].name, k);
            len += k;
            buf[len] = '\0';
        }
    }
    return len;
}
