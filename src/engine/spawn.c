/*
 * spawn.c - spawn blocks, tasks, summaries (see spawn.h).
 */
#include "engine/spawn.h"

#include <string.h>

static const char k_open[] = "<spawn_agents";
static const char k_close[] = "</spawn_agents>";
static const char k_seq[] = "mode=\"sequential\"";
static const char k_task[] = "task=\"";

/* Offset of the first needle in hay[from..), or hay.n when absent. */
static size_t find(strv hay, size_t from, const char *needle)
{
    size_t nl = strlen(needle);
    size_t i;
    if ((nl == 0u) || (hay.n < nl)) {
        return hay.n;
    }
    for (i = from; (i + nl) <= hay.n; i++) {
        if (strncmp(&hay.p[i], needle, nl) == 0) {
            return i;
        }
    }
    return hay.n;
}

bool spawn_find(strv text, spawn_block *out)
{
    size_t a = find(text, 0u, k_open);
    size_t z;
    strv block;
    if (a == text.n) {
        return false;
    }
    z = find(text, a, k_close);
    if (z == text.n) {
        return false;
    }
    out->start = a;
    out->end = z + ((sizeof k_close) - 1u);
    block.p = &text.p[a];
    block.n = out->end - a;
    out->sequential = find(block, 0u, k_seq) != block.n;
    return true;
}

bool spawn_next_task(strv text, const spawn_block *b, size_t *pos, strv *raw)
{
    strv block = { &text.p[b->start], b->end - b->start };
    size_t at = find(block, *pos, k_task);
    size_t i;
    /* an attribute: task=" after whitespace (not subtask=", data-task=") */
    while ((at < block.n) && (at > 0u) && (strv_trim_ws((strv){ &block.p[at - 1u], 1u }).n != 0u)) {
        at = find(block, at + 1u, k_task);
    }
    if (at == block.n) {
        *pos = block.n;
        return false;
    }
    at += (sizeof k_task) - 1u;
    i = at;
    while (i < block.n) {
        char c = block.p[i];
        if (c == '"') {
            break;
        }
        /* a backslash takes the next byte into the value */
        i += (c == '\\') ? 2u : 1u;
    }
    if (i >= block.n) {
        *pos = block.n;      /* unterminated: no more tasks */
        return false;
    }
    raw->p = &text.p[b->start + at];
    raw->n = i - at;
    *pos = i + 1u;
    return true;
}

typedef struct {
    const char *name;
    char ch;
} entity;

static const entity k_entities[] = {
    { "&quot;", '"' }, { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&apos;", '\'' },
};

size_t spawn_decode(strv raw, char *out, size_t cap)
{
    size_t i = 0u;
    size_t o = 0u;
    while ((i < raw.n) && (o < cap)) {
        char c = raw.p[i];
        size_t used = 1u;
        if ((c == '\\') && ((i + 1u) < raw.n)) {
            c = raw.p[i + 1u];
            used = 2u;
        } else if (c == '&') {
            size_t k;
            for (k = 0u; k < ((sizeof k_entities) / (sizeof k_entities[0])); k++) {
                size_t el = strlen(k_entities[k].name);
                if (((i + el) <= raw.n) && (strncmp(&raw.p[i], k_entities[k].name, el) == 0)) {
                    c = k_entities[k].ch;
                    used = el;
                    break;
                }
            }
        } else {
            /* taken as it is */
        }
        out[o] = c;
        o++;
        i += used;
    }
    return o;
}

strv spawn_trim(strv text)
{
    return strv_trim_ws(text);
}

size_t spawn_normalise(strv task, char *out, size_t cap)
{
    strv t = spawn_trim(task);
    size_t i;
    size_t n = (t.n < cap) ? t.n : cap;
    for (i = 0u; i < n; i++) {
        char c = t.p[i];
        if ((c >= 'A') && (c <= 'Z')) {
            /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
            c = (char)(c + ('a' - 'A'));
        }
        out[i] = c;
    }
    return n;
}

size_t spawn_cut(strv text, size_t max)
{
    size_t n = max;
    if (text.n <= max) {
        return text.n;
    }
    /* back off continuation bytes so the cut is at a sequence start (at
     * most 3: a longer run is not UTF-8, and is cut where it is) */
    while ((n > 0u) && ((max - n) < 3u) && ((((unsigned char)text.p[n]) & 0xC0u) == 0x80u)) {
        n--;
    }
    if ((((unsigned char)text.p[n]) & 0xC0u) == 0x80u) {
        n = max;
    }
    return n;
}

static const char *xml_entity(char c)
{
    const char *e = NULL;
    switch (c) {
    case '&':
        e = "&amp;";
        break;
    case '<':
        e = "&lt;";
        break;
    case '>':
        e = "&gt;";
        break;
    case '"':
        e = "&quot;";
        break;
    case '\'':
        e = "&apos;";
        break;
    default:
        break;
    }
    return e;
}

size_t spawn_xml_escape(strv text, char *out, size_t cap)
{
    size_t i;
    size_t o = 0u;
    for (i = 0u; i < text.n; i++) {
        const char *e = xml_entity(text.p[i]);
        size_t el = (e != NULL) ? strlen(e) : 1u;
        if ((out != NULL) && ((o + el) <= cap)) {
            if (e != NULL) {
                (void)memcpy(&out[o], e, el);
            } else {
                out[o] = text.p[i];
            }
        }
        o += el;
    }
    return o;
}

size_t spawn_xml_len(strv text)
{
    return spawn_xml_escape(text, NULL, 0u);
}
