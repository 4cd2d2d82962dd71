/*
 * skillmd.c - the SKILL.md frontmatter subset (see skillmd.h).
 *
 * Implementation notes:
 * - Frontmatter is split as upstream does: the text must start with "---";
 *   the opening line's newline is skipped; the frontmatter runs to the first
 *   "\n---"; the body starts after the rest of that line, with leading
 *   newlines removed.
 * - The frontmatter is read line by line with a little state: whether we
 *   are inside `metadata:` (and its children's indentation), and what the
 *   last key left pending: nothing, a list waiting for `- item` lines, or an
 *   ignored key whose indented lines are skipped.
 * - Quoted scalars are unescaped in place: the output of a quoted scalar
 *   starts at its opening quote and is never longer than its input, so no
 *   byte is written before it is read and earlier views are never touched.
 */
#include "fam/fleet/skillmd.h"

#include <string.h>

static const char *const k_cap_names[SKILLMD_CAP_COUNT] = {
    "read_file", "write_file", "http_get", "http_post",
    "exec_command", "read_env", "recall_memory", "get_secret",
};

static const char *const k_cap_pascal[SKILLMD_CAP_COUNT] = {
    "ReadFile", "WriteFile", "HttpGet", "HttpPost",
    "ExecCommand", "ReadEnv", "RecallMemory", "GetSecret",
};

typedef enum { PEND_NONE, PEND_LIST, PEND_IGNORE } pend_kind;

typedef struct skillmd_state {
    bool in_meta;
    size_t meta_ind;              /* indentation of metadata's keys; 0 = not seen */
    pend_kind pend;
    size_t pend_ind;              /* indentation of the key that left pend */
    skillmd_list *list;           /* PEND_LIST */
} parse_state;

/* ---- small helpers ------------------------------------------------------ */

static bool is_blank(char ch)
{
    return (ch == ' ') || (ch == '\t') || (ch == '\r');
}

/* Trim spaces, tabs and CR on both sides of text[*a..*b). */
static void trim_range(const char *text, size_t *a, size_t *b)
{
    while ((*a < *b) && is_blank(text[*a])) {
        (*a)++;
    }
    while ((*b > *a) && is_blank(text[*b - 1u])) {
        (*b)--;
    }
}

/* p[0..3) is "---" (the caller checked there are 3 bytes). */
static bool is_dashes(const char *p)
{
    return (p[0] == '-') && (p[1] == '-') && (p[2] == '-');
}

static bool is_null_word(const char *p, size_t n)
{
    strv v = { p, n };
    return (n == 0u) || strv_eq_cstr(v, "null") || strv_eq_cstr(v, "Null") ||
           strv_eq_cstr(v, "NULL") || strv_eq_cstr(v, "~");
}

/* After a closing quote or bracket: only blanks or a comment may follow. */
static bool rest_is_empty(const char *p, size_t from, size_t n)
{
    size_t i = from;
    while ((i < n) && is_blank(p[i])) {
        i++;
    }
    return (i == n) || (p[i] == '#');
}

static char unescape_char(char ch)
{
    char out;
    switch (ch) {
    case 'n':
        out = '\n';
        break;
    case 't':
        out = '\t';
        break;
    case 'r':
        out = '\r';
        break;
    default:
        out = ch;   /* \" \\ \/ and anything else: the character itself */
        break;
    }
    return out;
}

/* A double-quoted scalar at p[0] == '"', unescaped to p[0..*len). */
static st_t dquoted(char *p, size_t n, size_t *len)
{
    size_t r = 1u;
    size_t w = 0u;
    bool closed = false;
    while ((r < n) && !closed) {
        char ch = p[r];
        if (ch == '"') {
            closed = true;
        } else if ((ch == '\\') && ((r + 1u) < n)) {
            p[w] = unescape_char(p[r + 1u]);
            w++;
            r++;
        } else {
            p[w] = ch;
            w++;
        }
        r++;
    }
    if (!closed || !rest_is_empty(p, r, n)) {
        return ST_BAD;
    }
    *len = w;
    return ST_OK;
}

/* A single-quoted scalar at p[0] == '\'' ('' is one quote). */
static st_t squoted(char *p, size_t n, size_t *len)
{
    size_t r = 1u;
    size_t w = 0u;
    bool closed = false;
    while ((r < n) && !closed) {
        char ch = p[r];
        if ((ch == '\'') && ((r + 1u) < n) && (p[r + 1u] == '\'')) {
            p[w] = '\'';
            w++;
            r += 2u;
        } else if (ch == '\'') {
            closed = true;
            r++;
        } else {
            p[w] = ch;
            w++;
            r++;
        }
    }
    if (!closed || !rest_is_empty(p, r, n)) {
        return ST_BAD;
    }
    *len = w;
    return ST_OK;
}

/* One scalar value p[0..n) (already trimmed) into *out (STRV_NULL for a
 * null). Lists, flow mappings and block scalars are ST_BAD here. */
static st_t scalar(char *p, size_t n, strv *out)
{
    size_t len = 0u;
    size_t end = n;
    size_t i;
    st_t st = ST_OK;
    *out = STRV_NULL;
    if (n == 0u) {
        return ST_OK;
    }
    if (p[0] == '"') {
        st = dquoted(p, n, &len);
        *out = (strv){ p, len };
    } else if (p[0] == '\'') {
        st = squoted(p, n, &len);
        *out = (strv){ p, len };
    } else if ((p[0] == '[') || (p[0] == '{') || (p[0] == '|') || (p[0] == '>')) {
        st = ST_BAD;
    } else if (p[0] == '#') {
        /* `key: # comment` is a null */
    } else {
        for (i = 1u; i < n; i++) {
            if ((p[i] == '#') && is_blank(p[i - 1u]) && (end == n)) {
                end = i;
            }
        }
        i = 0u;
        trim_range(p, &i, &end);
        if (!is_null_word(p, end)) {
            *out = (strv){ p, end };
        }
    }
    if (st != ST_OK) {
        *out = STRV_NULL;
    }
    return st;
}

static st_t list_add(skillmd_list *l, char *p, size_t n)
{
    strv v = STRV_NULL;
    st_t st = scalar(p, n, &v);
    if ((st == ST_OK) && ((v.p == NULL) || (l->n >= SKILLMD_LIST_MAX))) {
        st = ST_BAD;
    }
    if (st == ST_OK) {
        l->item[l->n] = v;
        l->n++;
        l->present = true;
    }
    return st;
}

/* End (exclusive) of a flow item starting at p[i]: the closing quote + 1
 * for a quoted item, else the next ',' or ']'. n when unterminated. */
static size_t flow_item_end(const char *p, size_t i, size_t n)
{
    size_t k = i + 1u;
    char q = p[i];
    if ((q == '"') || (q == '\'')) {
        bool done = false;
        while ((k < n) && !done) {
            if ((q == '"') && (p[k] == '\\')) {
                k += 2u;
            } else if (p[k] == q) {
                if ((q == '\'') && ((k + 1u) < n) && (p[k + 1u] == '\'')) {
                    k += 2u;
                } else {
                    done = true;
                    k++;
                }
            } else {
                k++;
            }
        }
        return done ? k : n;
    }
    k = i;
    while ((k < n) && (p[k] != ',') && (p[k] != ']')) {
        k++;
    }
    return k;
}

/* A flow list p[0..n) with p[0] == '['. */
static st_t flow_list(char *p, size_t n, skillmd_list *l)
{
    size_t i = 1u;
    bool closed = false;
    st_t st = ST_OK;
    l->n = 0u;
    l->present = true;
    while ((st == ST_OK) && !closed) {
        size_t a;
        size_t b;
        while ((i < n) && is_blank(p[i])) {
            i++;
        }
        if (i >= n) {
            st = ST_BAD;
        } else if (p[i] == ']') {
            closed = true;
            i++;
        } else if ((p[i] == '[') || (p[i] == '{') || (p[i] == ',')) {
            st = ST_BAD;
        } else {
            a = i;
            b = flow_item_end(p, i, n);
            i = b;
            trim_range(p, &a, &b);
            st = list_add(l, p + a, b - a);
            while ((st == ST_OK) && (i < n) && is_blank(p[i])) {
                i++;
            }
            if ((st == ST_OK) && (i < n) && (p[i] == ',')) {
                i++;
            } else if ((st == ST_OK) && ((i >= n) || (p[i] != ']'))) {
                st = ST_BAD;
            } else {
                /* ']' is handled at the top of the loop */
            }
        }
    }
    if ((st == ST_OK) && !rest_is_empty(p, i, n)) {
        st = ST_BAD;
    }
    return st;
}

/* A list-typed key's inline value. */
static st_t list_value(char *p, size_t n, skillmd_list *l, parse_state *ps, size_t ind)
{
    strv v = STRV_NULL;
    st_t st = ST_OK;
    l->n = 0u;
    l->present = false;
    if (n == 0u) {
        ps->pend = PEND_LIST;
        ps->pend_ind = ind;
        ps->list = l;
    } else if (p[0] == '[') {
        st = flow_list(p, n, l);
    } else {
        /* only a null is allowed in scalar form */
        st = scalar(p, n, &v);
        if ((st == ST_OK) && (v.p != NULL)) {
            st = ST_BAD;
        }
    }
    return st;
}

/* ---- keys ----------------------------------------------------------------- */

static strv *top_scalar(skillmd *m, strv key)
{
    strv *f = NULL;
    if (strv_eq_cstr(key, "name")) {
        f = &m->name;
    } else if (strv_eq_cstr(key, "description")) {
        f = &m->description;
    } else if (strv_eq_cstr(key, "license")) {
        f = &m->license;
    } else if (strv_eq_cstr(key, "compatibility")) {
        f = &m->compatibility;
    } else if (strv_eq_cstr(key, "allowed-tools")) {
        f = &m->allowed_tools;
    } else {
        /* not a known scalar */
    }
    return f;
}

static strv *meta_scalar(skillmd *m, strv key)
{
    strv *f = NULL;
    if (strv_eq_cstr(key, "author")) {
        f = &m->author;
    } else if (strv_eq_cstr(key, "version")) {
        f = &m->version;
    } else if (strv_eq_cstr(key, "skill-type")) {
        f = &m->skill_type;
    } else if (strv_eq_cstr(key, "trust-tier")) {
        f = &m->trust_tier;
    } else {
        /* not a known scalar */
    }
    return f;
}

static skillmd_list *meta_list(skillmd *m, strv key)
{
    skillmd_list *l = NULL;
    if (strv_eq_cstr(key, "capabilities")) {
        l = &m->capabilities;
    } else if (strv_eq_cstr(key, "dependencies")) {
        l = &m->dependencies;
    } else if (strv_eq_cstr(key, "conflicts-with")) {
        l = &m->conflicts_with;
    } else if (strv_eq_cstr(key, "parents")) {
        l = &m->parents;
    } else if (strv_eq_cstr(key, "secrets")) {
        l = &m->secrets;
    } else if (strv_eq_cstr(key, "categories")) {
        l = &m->categories;
    } else {
        /* not a known list */
    }
    return l;
}

static st_t metadata_value(skillmd *m, char *p, size_t n, parse_state *ps)
{
    st_t st = ST_OK;
    if (n == 0u) {
        m->has_metadata = true;
        ps->in_meta = true;
        ps->meta_ind = 0u;
    } else if (is_null_word(p, n)) {
        m->has_metadata = false;
    } else if ((n == 2u) && (p[0] == '{') && (p[1] == '}')) {
        m->has_metadata = true;
    } else {
        st = ST_BAD;
    }
    return st;
}

/* A `key: value` line; line[0..n) starts at the key. */
static st_t key_line(skillmd *m, char *line, size_t n, size_t ind, parse_state *ps)
{
    size_t colon = 0u;
    bool found = false;
    size_t ka = 0u;
    size_t kb;
    size_t va;
    size_t vb = n;
    strv key;
    strv *f;
    skillmd_list *l;
    st_t st = ST_OK;
    while ((colon < n) && !found) {
        if ((line[colon] == ':') && (((colon + 1u) == n) || is_blank(line[colon + 1u]))) {
            found = true;
        } else {
            colon++;
        }
    }
    if (!found) {
        return ST_BAD;
    }
    kb = colon;
    trim_range(line, &ka, &kb);
    key = (strv){ line + ka, kb - ka };
    va = colon + 1u;
    trim_range(line, &va, &vb);
    ps->pend = PEND_NONE;
    if (ind == 0u) {
        f = top_scalar(m, key);
        l = NULL;
    } else {
        f = meta_scalar(m, key);
        l = meta_list(m, key);
    }
    if (f != NULL) {
        st = scalar(line + va, vb - va, f);
    } else if (l != NULL) {
        st = list_value(line + va, vb - va, l, ps, ind);
    } else if ((ind == 0u) && strv_eq_cstr(key, "metadata")) {
        st = metadata_value(m, line + va, vb - va, ps);
    } else {
        ps->pend = PEND_IGNORE;
        ps->pend_ind = ind;
    }
    return st;
}

/* One non-blank, non-comment line: rest[0..n) after ind spaces. */
static st_t yaml_line(skillmd *m, char *rest, size_t n, size_t ind, parse_state *ps)
{
    bool item = (rest[0] == '-') && ((n == 1u) || is_blank(rest[1]));
    bool below = (ps->pend != PEND_NONE) && (ind >= ps->pend_ind);
    size_t a = 1u;
    size_t b = n;
    if (item) {
        if (below && (ps->pend == PEND_IGNORE)) {
            return ST_OK;
        }
        if (!below || (ps->pend != PEND_LIST)) {
            return ST_BAD;
        }
        trim_range(rest, &a, &b);
        return list_add(ps->list, rest + a, b - a);
    }
    if (ind == 0u) {
        ps->in_meta = false;
        return key_line(m, rest, n, 0u, ps);
    }
    if (ps->in_meta && ((ps->meta_ind == 0u) || (ind == ps->meta_ind))) {
        ps->meta_ind = ind;
        return key_line(m, rest, n, ind, ps);
    }
    if ((ps->pend == PEND_IGNORE) && (ind > ps->pend_ind)) {
        return ST_OK;
    }
    return ST_BAD;
}

/* ---- frontmatter ------------------------------------------------------------ */

static st_t parse_yaml(skillmd *m, char *text, size_t a, size_t end)
{
    parse_state ps = { false, 0u, PEND_NONE, 0u, NULL };
    size_t ls = a;
    st_t st = ST_OK;
    while ((st == ST_OK) && (ls < end)) {
        size_t le = ls;
        size_t ind = 0u;
        size_t rb;
        while ((le < end) && (text[le] != '\n')) {
            le++;
        }
        while (((ls + ind) < le) && (text[ls + ind] == ' ')) {
            ind++;
        }
        rb = le;
        while ((rb > (ls + ind)) && is_blank(text[rb - 1u])) {
            rb--;
        }
        if ((rb > (ls + ind)) && (text[ls + ind] == '\t')) {
            st = ST_BAD;
        } else if ((rb > (ls + ind)) && (text[ls + ind] != '#')) {
            st = yaml_line(m, text + ls + ind, rb - (ls + ind), ind, &ps);
        } else {
            /* blank or comment line */
        }
        ls = le + 1u;
    }
    return st;
}

static void check_enums(skillmd *m)
{
    size_t i;
    if ((m->skill_type.p != NULL) && !strv_eq_cstr(m->skill_type, "prompt") &&
        !strv_eq_cstr(m->skill_type, "tool")) {
        m->skill_type = STRV_NULL;
    }
    if ((m->trust_tier.p != NULL) && !strv_eq_cstr(m->trust_tier, "local") &&
        !strv_eq_cstr(m->trust_tier, "verified") &&
        !strv_eq_cstr(m->trust_tier, "untrusted")) {
        m->trust_tier = STRV_NULL;
    }
    for (i = 0u; i < m->capabilities.n; i++) {
        if (skillmd_cap_index(m->capabilities.item[i]) < 0) {
            m->capabilities.present = false;
        }
    }
    if (!m->capabilities.present) {
        m->capabilities.n = 0u;
    }
}

st_t skillmd_parse(char *text, size_t n, skillmd *out)
{
    size_t a = 3u;
    size_t close;
    size_t body;
    bool found = false;
    st_t st;
    (void)memset(out, 0, sizeof *out);
    if ((n < 3u) || !is_dashes(text)) {
        return ST_BAD;
    }
    if ((a < n) && (text[a] == '\r') && ((a + 1u) < n) && (text[a + 1u] == '\n')) {
        a++;
    }
    if ((a < n) && (text[a] == '\n')) {
        a++;
    }
    close = a;
    while (((close + 4u) <= n) && !found) {
        if ((text[close] == '\n') && is_dashes(text + close + 1u)) {
            found = true;
        } else {
            close++;
        }
    }
    if (!found) {
        return ST_BAD;
    }
    body = close + 4u;
    while ((body < n) && (text[body] != '\n')) {
        body++;   /* the rest of the closing line */
    }
    while ((body < n) && ((text[body] == '\n') || (text[body] == '\r'))) {
        body++;
    }
    st = parse_yaml(out, text, a, close);
    if (st == ST_OK) {
        check_enums(out);
        if ((out->name.n == 0u) || (out->description.n == 0u)) {
            st = ST_BAD;
        }
    }
    out->body = (strv){ text + body, n - body };
    return st;
}

/* ---- names and capabilities ------------------------------------------------- */

bool skillmd_name_ok(strv s)
{
    size_t i;
    bool ok = (s.n >= 1u) && (s.n <= SKILLMD_NAME_MAX);
    for (i = 0u; ok && (i < s.n); i++) {
        char ch = s.p[i];
        bool alnum = ((ch >= 'a') && (ch <= 'z')) || ((ch >= '0') && (ch <= '9'));
        ok = alnum || ((i > 0u) && (ch == '-'));
    }
    return ok;
}

int skillmd_cap_index(strv s)
{
    int found = -1;
    size_t i;
    for (i = 0u; (i < SKILLMD_CAP_COUNT) && (found < 0); i++) {
        if (strv_eq_cstr(s, k_cap_names[i])) {
            found = (int)i;
        }
    }
    return found;
}

const char *skillmd_cap_name(size_t i)
{
    return (i < SKILLMD_CAP_COUNT) ? k_cap_names[i] : "";
}

const char *skillmd_cap_pascal(size_t i)
{
    return (i < SKILLMD_CAP_COUNT) ? k_cap_pascal[i] : "";
}

uint32_t skillmd_cap_mask(const skillmd *m)
{
    uint32_t mask = 0u;
    if (m->capabilities.present) {
        size_t i;
        for (i = 0u; i < m->capabilities.n; i++) {
            int k = skillmd_cap_index(m->capabilities.item[i]);
            if (k >= 0) {
                mask |= (uint32_t)1u << (unsigned)k;
            }
        }
    }
    return mask;
}
