#include "http/router.h"

#include <string.h>

/* Next segment of s starting at *pos (which points at a '/'); false at end. */
static bool next_seg(strv s, size_t *pos, strv *seg)
{
    size_t i;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((*pos >= s.n) || (s.p[*pos] != '/')) {
        return false;
    }
    i = *pos + 1u;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((i < s.n) && (s.p[i] != '/')) {
        i++;
    }
    seg->p = s.p + *pos + 1u;
    seg->n = i - *pos - 1u;
    *pos = i;
    return true;
}

/* Match one pattern; raw parameter views go to raw[]. */
static bool match_one(const char *pattern, strv path, strv *raw, size_t *nraw)
{
    strv pat = strv_from_cstr(pattern);
    size_t pp = 0u;
    size_t sp = 0u;
    strv pseg;
    strv sseg;
    *nraw = 0u;
    for (;;) {
        bool has_p = next_seg(pat, &pp, &pseg);
        bool has_s;
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if (has_p && (pseg.n == 1u) && (pseg.p[0] == '*')) {
            /* The tail starts after a '/'. For a pattern that is only the
             * tail, nothing has checked that the path starts with one
             * ("*" of OPTIONS does not). */
            if ((*nraw >= (size_t)CFG_HTTP_MAX_PARAMS) || (sp >= path.n) ||
                /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
                (path.p[sp] != '/')) {
                return false;
            }
            raw[*nraw].p = path.p + sp + 1u;
            raw[*nraw].n = path.n - sp - 1u;
            (*nraw)++;
            return true;
        }
        has_s = next_seg(path, &sp, &sseg);
        if (!has_p || !has_s) {
            return (!has_p && !has_s);
        }
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((pseg.n >= 2u) && (pseg.p[0] == '{') && (pseg.p[pseg.n - 1u] == '}')) {
            if ((sseg.n == 0u) || (*nraw >= (size_t)CFG_HTTP_MAX_PARAMS)) {
                return false;
            }
            raw[*nraw] = sseg;
            (*nraw)++;
        } else if (!strv_eq(pseg, sseg)) {
            return false;
        } else {
            /* equal literal segments: go on */
        }
    }
}

route_result router_match(const route *table, size_t n, http_method m, strv path,
                          char *pbuf, size_t pcap, route_match_t *out)
{
    strv raw[CFG_HTTP_MAX_PARAMS];
    size_t nraw = 0u;
    size_t i;
    size_t used = 0u;
    const route *hit = NULL;
    out->rt = NULL;
    out->allow = 0u;
    out->nparams = 0u;
    for (i = 0u; i < n; i++) {
        if (match_one(table[i].pattern, path, raw, &nraw)) {
            out->allow |= table[i].methods;
            if ((hit == NULL) && ((table[i].methods & RM(m)) != 0u)) {
                size_t k;
                hit = &table[i];
                out->nparams = nraw;
                for (k = 0u; k < nraw; k++) {
                    size_t dn = 0u;
                    if (http_pct_decode(raw[k], pbuf + used, pcap - used, &dn) != ST_OK) {
                        return ROUTE_BAD_PARAM;
                    }
                    out->params[k].p = pbuf + used;
                    out->params[k].n = dn;
                    used += dn;
                }
            }
        }
    }
    if (hit != NULL) {
        out->rt = hit;
        return ROUTE_FOUND;
    }
    return (out->allow != 0u) ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
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
