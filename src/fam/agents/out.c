/*
 * out.c - the answers of the agents family: an Agent (§3.1) and the list
 * of every valid agent sorted by name (§4.2), streamed from disk by a
 * producer (hctx_end_stream) in fixed memory, however many agents there
 * are and however long a system prompt is.
 *
 * Implementation notes:
 * - An Agent goes out in three segments:
 *     A  [,]{"name":…,"description":…,"system_prompt":   then  null  or  "
 *     P  the prompt file, escaped part by part (json_escape_part) from the
 *        byte offset where the last part stopped; it is never held whole
 *     B  ["],"mcp_servers":…,"skills":…,"status":…,"created_at":…,"modified_at":…}
 *   A and B are rendered from the agent's files each time they are needed
 *   (straight into tx when they fit the room left, else into the scratch's
 *   last half and sent in windows, the length and hash of the first
 *   rendering checked at each next window: an agent changed meanwhile cuts
 *   the answer, logged, as fam/shared/list.c does for a row).
 * - The list keeps only the last name it finished. Each producer call
 *   lists the directory once (port_dir_list, in no order) and keeps the
 *   AGENTS_BATCH smallest valid names above that one, in order, on its
 *   stack; it sends those, and lists again only when the part still has
 *   room and the batch was full. Memory is fixed; a list of n agents costs
 *   about n / AGENTS_BATCH + (its bytes / tx) directory listings
 *   (bench/README.md: 1,000 agents). Names that break the rule (§1) are
 *   not agents: nothing could address them.
 * - Each call reads the agent it works on again (blueprint.c), so there is
 *   no state about an agent between calls but its name and an offset.
 */
#include "fam/agents/agents_int.h"

#include <string.h>

#include "core/clock.h"
#include "core/assert.h"
#include "core/log.h"
#include "fam/shared/fam.h"
#include "port.h"

/* Names of one directory listing kept in order (on the producer's stack). */
#define AGENTS_BATCH 32u

typedef enum { PH_OPEN, PH_NEXT, PH_A, PH_P, PH_B, PH_CLOSE, PH_END } out_phase;

/* The producer's state (copied into the response's state by the server). */
typedef struct {
    uint8_t phase;
    bool list;
    bool any;           /* list: an agent is out (a comma before the next) */
    bool prompt;        /* this agent's prompt is a string (fixed by A) */
    char last[AGENTS_NAME_BYTES];   /* list: the greatest name done */
    char cur[AGENTS_NAME_BYTES];    /* the agent being written */
    uint64_t off;       /* A, B: bytes of the segment sent; P: of the file escaped */
    size_t seg_len;     /* A, B in windows: the first rendering's length, hash */
    uint64_t seg_hash;
} out_state;

_Static_assert(sizeof(out_state) <= HCTX_PRODUCER_STATE_BYTES, "the producer's state");

/* One call of the producer. */
typedef struct {
    out_state *s;
    char *room;             /* the render scratch (agents_int.h's layout) */
    size_t cap;
    bool loaded;            /* v holds s->cur, read in this call */
    agent_view v;
    char batch[AGENTS_BATCH][AGENTS_NAME_BYTES];
    size_t nbatch;
    size_t next;
    bool listed;            /* the directory was listed in this call */
} out_call;

/* ---- segments A and B ------------------------------------------------------------- */

/* Bytes appended to out[0..cap): a failure sticks. */
typedef struct {
    char *p;
    size_t cap;
    size_t n;
    bool full;
} seg_buf;

static void put_raw(seg_buf *b, const char *s, size_t n)
{
    if (!b->full && (n <= (b->cap - b->n))) {
        (void)memcpy(b->p + b->n, s, n);
        b->n += n;
    } else {
        b->full = true;
    }
}

static void put_cstr(seg_buf *b, const char *s)
{
    put_raw(b, s, strlen(s));
}

/* A JSON value appended by a writer over the room left. */
static void put_done(seg_buf *b, const json_w *w)
{
    size_t n = 0u;
    if (b->full || (json_w_finish(w, &n) != ST_OK)) {
        b->full = true;
    } else {
        b->n += n;
    }
}

static void w_open(seg_buf *b, json_w *w)
{
    json_w_init(w, b->full ? NULL : (b->p + b->n), b->full ? 0u : (b->cap - b->n));
}

static void put_time(seg_buf *b, uint64_t us)
{
    char t[40];
    size_t n = clock_format(us, CLOCK_FMT_ISO, t, sizeof t);
    put_raw(b, "\"", 1u);
    put_raw(b, t, n);
    put_raw(b, "\"", 1u);
}

/* mcp_servers' value: the servers of agent.mcp.json, or null. */
static void put_servers(seg_buf *b, const agent_view *v)
{
    json_doc d;
    json_w w;
    if (!v->servers) {
        put_cstr(b, "null");
    } else if (json_parse(&d, v->mcp.p, v->mcp.n, NULL) != ST_OK) {
        b->full = true;     /* it parsed when loaded: cannot happen */
    } else {
        w_open(b, &w);
        agents_w_servers(&w, &d, json_obj_get(&d, json_root(&d), "mcpServers"), true);
        json_release(&d);
        put_done(b, &w);
    }
}

/* skills' value: agent.json's list, or null. */
static void put_skills(seg_buf *b, const agent_view *v)
{
    json_doc d;
    json_w w;
    if (v->skills.p == NULL) {
        put_cstr(b, "null");
    } else if (json_parse(&d, v->skills.p, v->skills.n, NULL) != ST_OK) {
        b->full = true;
    } else {
        w_open(b, &w);
        agents_w_strings(&w, &d, json_root(&d));
        json_release(&d);
        put_done(b, &w);
    }
}

/* Segment A or B of agent v into out[0..cap): its length, 0 when it does
 * not fit. */
static size_t seg_render(const out_state *s, out_phase ph, const agent_view *v, char *out,
                         size_t cap)
{
    seg_buf b = { out, cap, 0u, false };
    json_w w;
    if (ph == PH_A) {
        if (s->any) {
            put_raw(&b, ",", 1u);
        }
        put_cstr(&b, "{\"name\":");
        w_open(&b, &w);
        json_w_cstr(&w, v->name);
        put_done(&b, &w);
        put_cstr(&b, ",\"description\":");
        w_open(&b, &w);
        json_w_str_lit(&w, v->desc.p, v->desc.n);
        put_done(&b, &w);
        put_cstr(&b, v->prompt ? ",\"system_prompt\":\"" : ",\"system_prompt\":null");
    } else {
        if (s->prompt) {
            put_raw(&b, "\"", 1u);
        }
        put_cstr(&b, ",\"mcp_servers\":");
        put_servers(&b, v);
        put_cstr(&b, ",\"skills\":");
        put_skills(&b, v);
        put_cstr(&b, v->inactive ? ",\"status\":\"inactive\"" : ",\"status\":\"active\"");
        put_cstr(&b, ",\"created_at\":");
        put_time(&b, v->created_us);
        put_cstr(&b, ",\"modified_at\":");
        put_time(&b, v->modified_us);
        put_raw(&b, "}", 1u);
    }
    return b.full ? 0u : b.n;
}

/* The agent being written, read in this call; false when it is no longer
 * a valid agent. */
static bool ensure_loaded(out_call *c)
{
    if (!c->loaded) {
        c->loaded = (agents_load(c->s->cur, c->room, &c->v) == ST_OK);
    }
    return c->loaded;
}

/* The next bytes of segment ph into dst[0..room); *complete when its last
 * byte is out, *cut when the agent changed or cannot be rendered. */
static size_t seg_out(out_call *c, out_phase ph, char *dst, size_t room, bool *complete,
                      bool *cut)
{
    out_state *s = c->s;
    char *big = c->room + (2u * AGENTS_FILE_MAX);
    size_t big_cap = c->cap - (2u * AGENTS_FILE_MAX);
    size_t n;
    size_t k;
    *complete = false;
    *cut = false;
    if (!ensure_loaded(c)) {
        LOG_W("agents", "agent %s changed while it was being sent: answer cut", s->cur);
        *cut = true;
        return 0u;
    }
    if (s->off == 0u) {
        n = seg_render(s, ph, &c->v, dst, room);
        if (n > 0u) {
            *complete = true;
            return n;
        }
    }
    if (room == 0u) {
        return 0u;
    }
    /* larger than the room left: in windows of a rendering in the scratch */
    n = seg_render(s, ph, &c->v, big, big_cap);
    if (n == 0u) {
        LOG_W("agents", "agent %s does not fit the render scratch: answer cut", s->cur);
        *cut = true;
        return 0u;
    }
    if (s->off == 0u) {
        s->seg_len = n;
        s->seg_hash = strv_fnv1a(big, n);
    } else if ((n != s->seg_len) || (strv_fnv1a(big, n) != s->seg_hash) || (s->off > n)) {
        LOG_W("agents", "agent %s changed while it was being sent: answer cut", s->cur);
        *cut = true;
        return 0u;
    } else {
        /* the same rendering */
    }
    k = n - (size_t)s->off;
    if (k > room) {
        k = room;
    }
    (void)memcpy(dst, big + s->off, k);
    s->off += k;
    if (s->off == n) {
        s->off = 0u;
        *complete = true;
    }
    return k;
}

/* ---- segment P: the prompt file, part by part ----------------------------------- */

static size_t prompt_out(out_call *c, char *dst, size_t room, bool *complete)
{
    out_state *s = c->s;
    char path[AGENTS_PATH_BYTES];
    char *buf = c->room + (2u * AGENTS_FILE_MAX);
    size_t want = c->cap - (2u * AGENTS_FILE_MAX);
    port_file f = PORT_FILE_NONE;
    port_file_info fi;
    size_t got = 0u;
    size_t used = 0u;
    size_t n = 0u;
    st_t st;
    *complete = false;
    if (room == 0u) {
        return 0u;
    }
    if (want > room) {
        want = room;     /* each byte escapes to one byte at least */
    }
    st = agents_path(path, sizeof path, s->cur, AGENTS_F_PROMPT) ?
         port_file_open(path, &f, &fi) : ST_TOOBIG;
    if (st == ST_OK) {
        st = port_file_read_at(f, s->off, buf, want, &got);
        port_file_close(f);
    }
    if ((st != ST_OK) && (st != ST_NOTFOUND)) {
        LOG_W("agents", "agent %s: reading its system prompt: %s", s->cur, status_str(st));
    }
    if ((st != ST_OK) || (got == 0u)) {
        *complete = true;     /* the end of the file (or it went): the string ends */
    } else {
        bool final = (got < want);
        n = json_escape_part(buf, got, final, dst, room, &used);
        s->off += used;
        *complete = final && (used == got);
    }
    return n;
}

/* ---- the list: the next valid agent in name order ------------------------------------ */

typedef struct {
    out_call *c;
    const char *after;
} scan_ctx;

/* A directory, or a link to one (upstream's is_dir follows links). */
static bool is_agent_dir(const char *name, bool is_dir)
{
    char path[AGENTS_PATH_BYTES];
    port_file_info fi;
    return is_dir || (agents_path(path, sizeof path, name, NULL) &&
                      (port_file_stat(path, &fi) == ST_OK) && fi.is_dir);
}

static bool scan_entry(const char *name, bool is_dir, void *ctx)
{
    scan_ctx *sc = (scan_ctx *)ctx;
    out_call *c = sc->c;
    size_t n = strlen(name);
    size_t at;
    if (!agents_name_ok(name, n) || (strcmp(name, sc->after) <= 0)) {
        return true;
    }
    if ((c->nbatch == AGENTS_BATCH) && (strcmp(name, c->batch[AGENTS_BATCH - 1u]) >= 0)) {
        return true;    /* after every name kept */
    }
    if (!is_agent_dir(name, is_dir)) {
        return true;
    }
    at = c->nbatch;
    while ((at > 0u) && (strcmp(name, c->batch[at - 1u]) < 0)) {
        at--;
    }
    if (c->nbatch < AGENTS_BATCH) {
        c->nbatch++;
    }
    if ((at + 1u) < c->nbatch) {
        (void)memmove(c->batch[at + 1u], c->batch[at],
                      (c->nbatch - 1u - at) * sizeof c->batch[0]);
    }
    (void)memcpy(c->batch[at], name, n + 1u);
    return true;
}

/* The next valid agent after s->last into s->cur (loaded); false: none. */
static bool next_agent(out_call *c)
{
    out_state *s = c->s;
    bool found = false;
    bool more = true;
    c->loaded = false;
    while (!found && more) {
        if (c->next >= c->nbatch) {
            char dir[AGENTS_PATH_BYTES];
            scan_ctx sc = { c, s->last };
            bool full = (c->nbatch == AGENTS_BATCH);
            if (c->listed && !full) {
                break;      /* the last listing held every name left */
            }
            c->nbatch = 0u;
            c->next = 0u;
            c->listed = true;
            if (agents_path(dir, sizeof dir, NULL, NULL)) {
                (void)port_dir_list(dir, scan_entry, &sc);   /* none: no agents */
            }
            more = (c->nbatch > 0u);
        } else {
            const char *name = c->batch[c->next];
            c->next++;
            (void)memcpy(s->last, name, strlen(name) + 1u);   /* done, sent or not */
            if (agents_load(name, c->room, &c->v) == ST_OK) {
                (void)memcpy(s->cur, name, strlen(name) + 1u);
                c->loaded = true;
                found = true;
            }
        }
    }
    return found;
}

/* ---- the producer ------------------------------------------------------------------- */

static size_t produce(void *state, char *buf, size_t cap, bool *done)
{
    out_call c;
    size_t len = 0u;
    bool stop = false;
    (void)memset(&c, 0, sizeof c);
    c.s = (out_state *)state;
    c.room = agents_room(&c.cap);
    *done = false;
    while (!stop) {
        out_state *s = c.s;
        bool complete = false;
        bool cut = false;
        switch ((out_phase)s->phase) {
        case PH_OPEN:
            buf[len] = '[';
            len++;
            s->phase = (uint8_t)PH_NEXT;
            break;
        case PH_NEXT:
            s->phase = (uint8_t)(next_agent(&c) ? PH_A : PH_CLOSE);
            s->off = 0u;
            break;
        case PH_A:
        case PH_B:
            len += seg_out(&c, (out_phase)s->phase, buf + len, cap - len, &complete, &cut);
            if (cut) {
                s->phase = (uint8_t)PH_END;
            } else if (!complete) {
                stop = true;
            } else if (s->phase == (uint8_t)PH_A) {
                s->prompt = c.v.prompt;
                s->phase = (uint8_t)(s->prompt ? PH_P : PH_B);
            } else {
                s->any = true;
                s->phase = (uint8_t)(s->list ? PH_NEXT : PH_END);
            }
            break;
        case PH_P:
            len += prompt_out(&c, buf + len, cap - len, &complete);
            if (complete) {
                s->phase = (uint8_t)PH_B;
                s->off = 0u;
            } else {
                stop = true;
            }
            break;
        case PH_CLOSE:
            if (len < cap) {
                buf[len] = ']';
                len++;
                s->phase = (uint8_t)PH_END;
            } else {
                stop = true;
            }
            break;
        case PH_END:
        default:
            *done = true;
            stop = true;
            break;
        }
    }
    return len;
}

static void answer(hctx *h, int status, const out_state *s)
{
    hctx_begin(h, status);
    hctx_header(h, "Content-Type", "application/json");
    hctx_end_stream(h, produce, s, sizeof *s);
}

void agents_answer_list(hctx *h)
{
    out_state s;
    (void)memset(&s, 0, sizeof s);
    s.phase = (uint8_t)PH_OPEN;
    s.list = true;
    answer(h, 200, &s);
}

void agents_answer_one(hctx *h, int status, const char *name)
{
    out_state s;
    (void)memset(&s, 0, sizeof s);
    s.phase = (uint8_t)PH_A;
    (void)memcpy(s.cur, name, strlen(name) + 1u);
    answer(h, status, &s);
}
