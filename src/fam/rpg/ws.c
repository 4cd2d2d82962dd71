/*
 * ws.c - the rpg family's WebSocket /ws (spec/rpg.md §9).
 *
 * Broadcasts go through the event ring (topic RPG_TOPIC) with the
 * priorities of §9.2: pane_update, pane_removed and terminal_output high,
 * windows, companions and quest messages normal, bus events low. The
 * stream policy applies §9.4 (http/stream.h, a watermark policy): above
 * rpg.ws_pause_bytes a client is paused and its normal/low messages are
 * skipped; below rpg.ws_resume_bytes, or drained, it resumes; a high
 * message that would leave more than rpg.ws_max_buffer_bytes queued closes
 * it with 1013 "backpressure", as does being overtaken by the event ring
 * (its high messages are lost then; the ring, 1.1 MiB, is smaller than the
 * default cap). A client that skipped a `windows` (or
 * `companions`) message while paused is sent the current one when it
 * resumes (on_skip notes it, on_resume sends it).
 *
 * Snapshots (on connect: connected, windows, companions, quests_init, in
 * that order; on resume) are produced for the one client straight into its
 * tx from the current state, piece by piece (a window with its panes'
 * terminals is larger than tx), with ring events held back until the last
 * is out (stream_hold_events). GET /api/windows is produced the same way
 * (chunked): a state that changes between pieces still gives valid JSON. A `windows` broadcast is rendered once into
 * the render scratch; when it would exceed CFG_RPG_WINDOWS_MSG_BYTES the
 * panes' terminalContent is left out of it (terminal_output carries it).
 * It is sent when the windows without terminalContent differ from the last
 * broadcast (an FNV-1a hash of that rendering).
 *
 * A client's own `companions` and `quests_init` are produced page by page
 * from sqlite (project.c, quest.c: rpg_companions_prod,
 * rpg_quests_init_prod); the companions broadcast comes from project.c,
 * quest_update from quest.c.
 */
#include "fam/rpg/rpg_int.h"

#include "fam/rpg/game.h"

#include <string.h>

#include "bus/ring.h"
#include "core/clock.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/uuid.h"
#include "http/stream.h"

/* Per subscriber (stream_user). */
typedef struct {
    uint8_t owe;                        /* OWE_* still to send, in bit order */
    bool holding;                       /* ring events held until the last is out */
    bool skipped_windows;
    bool skipped_companions;
} ws_user;
_Static_assert(sizeof(ws_user) <= STREAM_USER_BYTES, "stream user data");

#define OWE_WINDOWS 0x1u
#define OWE_COMPANIONS 0x2u
#define OWE_QUESTS 0x4u

static uint64_t g_windows_hash;
static bool g_windows_sent;

static void on_skip(stream_sub *s, const char *data, size_t n);
static void on_resume(stream_sub *s);
static void on_writable(stream_sub *s);

static stream_policy g_ws = {
    .name = "rpg /ws",
    .topics = RPG_TOPIC,
    .priorities = true,
    .lag_skips = false,             /* overtaken by the ring: high messages lost, 1013 */
    .pause_bytes = 65536u,
    .resume_bytes = 16384u,
    .max_queue_bytes = 4194304u,
    .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 30000u,
    .pong_timeout_ms = 30000u,
    .max_message = CFG_WS_MAX_MESSAGE,  /* client messages are ignored (§9.3) */
    .on_skip = on_skip,
    .on_resume = on_resume,
    .on_writable = on_writable,
};

void rpg_ws_streams(uint32_t heartbeat_ms, uint64_t pause, uint64_t resume, uint64_t max)
{
    g_ws.heartbeat_ms = heartbeat_ms;
    g_ws.pong_timeout_ms = heartbeat_ms;   /* no pong for 2x the period: closed */
    g_ws.pause_bytes = (size_t)pause;
    g_ws.resume_bytes = (size_t)resume;
    g_ws.max_queue_bytes = (size_t)max;
    stream_register(&g_ws);
}

void rpg_publish(const char *json, size_t n, bool high)
{
    st_t st = ring_publish(RPG_TOPIC, high ? RING_PRIO_HIGH : RING_PRIO_NORMAL, json, n, NULL);
    if (st != ST_OK) {
        LOG_W("rpg", "a /ws message of %lu bytes not sent: %s", (unsigned long)n,
              status_str(st));
    }
}

static void publish_w(json_w *w, ring_prio prio)
{
    size_t n = 0u;
    st_t st = json_w_finish(w, &n);
    if (st == ST_OK) {
        st = ring_publish(RPG_TOPIC, prio, w->buf, n, NULL);
    }
    if (st != ST_OK) {
        LOG_W("rpg", "a /ws message not sent: %s", status_str(st));
    }
}

/* ---- the windows payload (§2.1) --------------------------------------------------- */

/* The window of rank r in tmux's order (the poll's), or NULL. */
static const rpg_window *window_at(uint32_t r)
{
    uint32_t i;
    for (i = 0u; i < g_rpg_nwin; i++) {
        if (g_rpg_win[i].order == r) {
            return &g_rpg_win[i];
        }
    }
    return NULL;
}

/* The pane of window wid with the smallest index >= from, or NULL. */
static const rpg_pane *pane_from(uint32_t wid, uint32_t from)
{
    const rpg_pane *best = NULL;
    uint32_t i;
    for (i = 0u; i < g_rpg_npane; i++) {
        const rpg_pane *p = &g_rpg_pane[i];
        if ((p->window == wid) && (p->index >= from) &&
            ((best == NULL) || (p->index < best->index))) {
            best = p;
        }
    }
    return best;
}

static void w_window_head(json_w *w, const rpg_window *win)
{
    char id[16];
    id[0] = '@';
    id[1u + fmt_u64(id + 1, sizeof(id) - 2u, win->id)] = '\0';
    json_w_kstr(w, "id", id);
    json_w_kstr(w, "sessionName", win->session);
    json_w_ku64(w, "windowIndex", win->index);
    json_w_kstr(w, "windowName", win->name);
}

void rpg_w_windows(json_w *w, bool with_terminal)
{
    uint32_t r;
    json_w_arr_begin(w);
    for (r = 0u; r < g_rpg_nwin; r++) {
        const rpg_window *win = window_at(r);
        const rpg_pane *p;
        if (win == NULL) {
            continue;
        }
        json_w_obj_begin(w);
        w_window_head(w, win);
        json_w_key(w, "panes");
        json_w_arr_begin(w);
        for (p = pane_from(win->id, 0u); p != NULL; p = pane_from(win->id, p->index + 1u)) {
            rpg_w_pane(w, p, with_terminal);
            if (p->index == UINT32_MAX) {
                break;
            }
        }
        json_w_arr_end(w);
        json_w_obj_end(w);
    }
    json_w_arr_end(w);
}

void rpg_ws_windows_changed(void)
{
    size_t cap = 0u;
    char *buf = http_render_scratch(&cap);
    json_w w;
    size_t n = 0u;
    uint64_t h;
    if (cap > CFG_RPG_WINDOWS_MSG_BYTES) {
        cap = CFG_RPG_WINDOWS_MSG_BYTES;
    }
    json_w_init(&w, buf, cap);
    rpg_w_windows(&w, false);
    if (json_w_finish(&w, &n) != ST_OK) {
        LOG_W("rpg", "the windows do not fit %lu bytes: not broadcast", (unsigned long)cap);
        return;
    }
    h = strv_fnv1a(buf, n);
    if (g_windows_sent && (h == g_windows_hash)) {
        return;
    }
    g_windows_hash = h;
    g_windows_sent = true;
    g_rpg_stats.windows_sent++;
    json_w_init(&w, buf, cap);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "windows");
    json_w_key(&w, "payload");
    rpg_w_windows(&w, true);
    json_w_obj_end(&w);
    if (json_w_status(&w) != ST_OK) {
        /* too large with the terminals: without them */
        json_w_init(&w, buf, cap);
        json_w_obj_begin(&w);
        json_w_kstr(&w, "type", "windows");
        json_w_key(&w, "payload");
        rpg_w_windows(&w, false);
        json_w_obj_end(&w);
    }
    publish_w(&w, RING_PRIO_NORMAL);
}

/* ---- messages ------------------------------------------------------------------ */

static void pane_id_text(char *out, size_t cap, uint32_t pane)
{
    out[0] = '%';
    out[1u + fmt_u64(out + 1, cap - 2u, pane)] = '\0';
}

void rpg_ws_pane_update(const rpg_pane *p, const rpg_csession *cs)
{
    static char s_msg[16384];
    char id[16];
    json_w w;
    pane_id_text(id, sizeof id, p->id);
    json_w_init(&w, s_msg, sizeof s_msg);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "pane_update");
    json_w_kstr(&w, "paneId", id);
    json_w_key(&w, "session");
    rpg_w_session(&w, cs);
    json_w_key(&w, "payload");
    rpg_w_pane(&w, p, false);
    json_w_obj_end(&w);
    publish_w(&w, RING_PRIO_HIGH);
}

void rpg_ws_pane_removed(uint32_t pane)
{
    char msg[128];
    char id[16];
    json_w w;
    pane_id_text(id, sizeof id, pane);
    json_w_init(&w, msg, sizeof msg);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "pane_removed");
    json_w_kstr(&w, "paneId", id);
    json_w_key(&w, "payload");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "paneId", id);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    publish_w(&w, RING_PRIO_HIGH);
}

void rpg_ws_terminal(uint32_t pane, const char *content, size_t n, bool with_ts)
{
    size_t cap = 0u;
    char *buf = http_render_scratch(&cap);
    char id[16];
    json_w w;
    pane_id_text(id, sizeof id, pane);
    json_w_init(&w, buf, cap);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "terminal_output");
    json_w_key(&w, "payload");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "paneId", id);
    json_w_kstr(&w, "target", id);
    json_w_kstrn(&w, "content", content, n);
    if (with_ts) {
        json_w_ku64(&w, "timestamp", clock_wall_us() / 1000u);
    }
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    publish_w(&w, RING_PRIO_HIGH);
}

void rpg_ws_event(const char *event_type, uint32_t pane, const char *hook_type)
{
    char msg[256];
    char ts[40];
    json_w w;
    (void)clock_format(clock_wall_us(), CLOCK_FMT_Z3, ts, sizeof ts);
    json_w_init(&w, msg, sizeof msg);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "event");
    json_w_key(&w, "payload");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "eventType", event_type);
    if (pane != RPG_NO_PANE) {
        char id[16];
        pane_id_text(id, sizeof id, pane);
        json_w_kstr(&w, "paneId", id);
    }
    json_w_kstr(&w, "timestamp", ts);
    json_w_kstr(&w, "type", (hook_type != NULL) ? hook_type : event_type);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    publish_w(&w, RING_PRIO_LOW);
}

/* ---- snapshots for one client --------------------------------------------------- */

/* Windows and panes produced piece by piece from the current state, for
 * the snapshots and GET /api/windows: the state may change between pieces
 * (a poll, a capture); what is written is always valid JSON (a window or
 * pane that went is skipped, a terminal that changed mid-way is cut where
 * its new content ends). A walk goes over the windows in rank order and
 * writes either TmuxWindow objects (with their panes) or the panes alone,
 * with or without their terminals, optionally only the windows of one
 * session (that of window sess_wid). */
typedef struct {
    bool heads;                         /* TmuxWindow objects, else panes only */
    bool terms;                         /* Claude panes with terminalContent */
    bool one_session;                   /* only the windows of sess_wid's session */
    uint32_t sess_wid;
    uint32_t rank;                      /* window rank */
    bool item_any;                      /* an item of the array is out (comma) */
    bool in_window;                     /* the window's head is out / its panes go */
    uint32_t wid;
    bool pane_any;                      /* a pane of it is out */
    uint32_t next_index;                /* the next pane index to look for */
    bool in_term;                       /* a terminal is being escaped */
    uint32_t term_pane;
    uint32_t term_off;
} walk;

/* Copy a piece into buf if it fits. */
static bool put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if ((*at + n) > cap) {
        return false;
    }
    (void)memcpy(buf + *at, s, n);
    *at += n;
    return true;
}

static void walk_init(walk *k, bool heads, bool terms)
{
    (void)memset(k, 0, sizeof(*k));
    k->heads = heads;
    k->terms = terms;
}

/* Does window win belong to the walk? */
static bool walk_takes(const walk *k, const rpg_window *win)
{
    const rpg_window *first;
    if (!k->one_session) {
        return true;
    }
    first = rpg_window_find(k->sess_wid);
    return (first != NULL) && (strcmp(first->session, win->session) == 0);
}

/* The next pieces of the walk into buf from *at; true once it is complete,
 * false when buf is full (called again with room). */
static bool walk_step(walk *k, char *buf, size_t cap, size_t *at)
{
    bool room = true;
    bool end = false;
    while (room && !end) {
        if (k->in_term) {
            const rpg_csession *cs = rpg_cs_of(rpg_pane_find(k->term_pane));
            size_t used = 0u;
            if ((cs == NULL) || (k->term_off >= cs->term_n)) {
                room = put(buf, cap, at, "\"}", 2u);
                if (room) {
                    k->in_term = false;
                }
            } else if ((cap - *at) < 16u) {
                room = false;
            } else {
                size_t w = json_escape_part(cs->term + k->term_off, cs->term_n - k->term_off,
                                            true, buf + *at, cap - *at - 2u, &used);
                *at += w;
                k->term_off += (uint32_t)used;
                room = used > 0u;
            }
        } else if (!k->in_window) {
            const rpg_window *win = window_at(k->rank);
            if (k->rank >= g_rpg_nwin) {
                end = true;
            } else if ((win == NULL) || !walk_takes(k, win)) {
                k->rank++;
            } else if (!k->heads) {
                k->in_window = true;
                k->wid = win->id;
                k->next_index = 0u;
            } else {
                size_t mark = *at;
                if (k->item_any) {
                    room = put(buf, cap, at, ",", 1u);
                }
                if (room) {
                    json_w w;
                    json_w_init(&w, buf + *at, cap - *at);
                    json_w_obj_begin(&w);
                    w_window_head(&w, win);
                    json_w_key(&w, "panes");
                    json_w_raw(&w, "[", 1u);
                    if (json_w_status(&w) != ST_OK) {
                        *at = mark;
                        room = false;
                    } else {
                        *at += json_w_len(&w);
                        k->item_any = true;
                        k->in_window = true;
                        k->wid = win->id;
                        k->pane_any = false;
                        k->next_index = 0u;
                    }
                }
            }
        } else {
            const rpg_pane *p = (rpg_window_find(k->wid) != NULL) ?
                                pane_from(k->wid, k->next_index) : NULL;
            if (p == NULL) {
                room = !k->heads || put(buf, cap, at, "]}", 2u);
                if (room) {
                    k->in_window = false;
                    k->rank++;
                }
            } else {
                size_t mark = *at;
                const rpg_csession *cs = rpg_cs_of(p);
                bool term = k->terms && (p->type == PT_CLAUDE) && (cs != NULL) &&
                            (cs->term_gen != 0u);
                bool comma = k->heads ? k->pane_any : k->item_any;
                if (comma) {
                    room = put(buf, cap, at, ",", 1u);
                }
                if (room) {
                    json_w w;
                    size_t n;
                    json_w_init(&w, buf + *at, cap - *at);
                    rpg_w_pane(&w, p, false);
                    n = json_w_len(&w);
                    if ((json_w_status(&w) != ST_OK) || (term && ((cap - *at) < (n + 24u)))) {
                        *at = mark;
                        room = false;
                    } else {
                        *at += n;
                        if (term) {
                            /* reopen the object for its terminal */
                            static const char k_tc[] = ",\"terminalContent\":\"";
                            *at -= 1u;
                            (void)memcpy(buf + *at, k_tc, sizeof(k_tc) - 1u);
                            *at += sizeof(k_tc) - 1u;
                            k->in_term = true;
                            k->term_pane = p->id;
                            k->term_off = 0u;
                        }
                        k->pane_any = true;
                        k->item_any = true;
                        k->next_index = p->index + 1u;
                        if (p->index == UINT32_MAX) {
                            k->wid = UINT32_MAX;
                        }
                    }
                }
            }
        }
    }
    return end;
}

/* The `windows` message for one client. */
typedef struct {
    uint32_t phase;                     /* 0 head, 1 windows, 2 tail, 3 done */
    walk k;
} win_prod;

static size_t prod_windows(void *state, char *buf, size_t cap, bool *done)
{
    win_prod *st = (win_prod *)state;
    size_t at = 0u;
    bool room = true;
    while (room && (st->phase < 3u)) {
        if (st->phase == 0u) {
            static const char k_head[] = "{\"type\":\"windows\",\"payload\":[";
            room = put(buf, cap, &at, k_head, sizeof(k_head) - 1u);
            if (room) {
                walk_init(&st->k, true, true);
                st->phase = 1u;
            }
        } else if (st->phase == 1u) {
            room = walk_step(&st->k, buf, cap, &at);
            if (room) {
                st->phase = 2u;
            }
        } else {
            room = put(buf, cap, &at, "]}", 2u);
            if (room) {
                st->phase = 3u;
            }
        }
    }
    *done = st->phase == 3u;
    return at;
}

/* GET /api/windows (§4.3): the TmuxState in the envelope, chunked. */
typedef struct {
    uint32_t phase;
    uint32_t srank;                     /* sessions: the window rank looked at */
    bool sess_any;
    walk k;
} state_prod;

/* The first window of a session not written yet, from rank r on: its id,
 * or UINT32_MAX when none is left. */
static uint32_t next_session(uint32_t *r)
{
    while (*r < g_rpg_nwin) {
        const rpg_window *win = window_at(*r);
        bool first = win != NULL;
        uint32_t j;
        for (j = 0u; first && (j < *r); j++) {
            const rpg_window *o = window_at(j);
            if ((o != NULL) && (strcmp(o->session, win->session) == 0)) {
                first = false;
            }
        }
        if (first) {
            return win->id;
        }
        *r += 1u;
    }
    return UINT32_MAX;
}

static size_t prod_state(void *state, char *buf, size_t cap, bool *done)
{
    state_prod *st = (state_prod *)state;
    size_t at = 0u;
    bool room = true;
    while (room && (st->phase < 9u)) {
        switch (st->phase) {
        case 0u: {
            static const char k_h[] = "{\"success\":true,\"data\":{\"sessions\":[";
            room = put(buf, cap, &at, k_h, sizeof(k_h) - 1u);
            if (room) {
                st->phase = 1u;
            }
            break;
        }
        case 1u: {
            /* the next session's head */
            uint32_t wid = next_session(&st->srank);
            const rpg_window *win = rpg_window_find(wid);
            if (win == NULL) {
                st->phase = 3u;
            } else {
                size_t mark = at;
                json_w w;
                if (st->sess_any) {
                    room = put(buf, cap, &at, ",", 1u);
                }
                if (room) {
                    json_w_init(&w, buf + at, cap - at);
                    json_w_obj_begin(&w);
                    json_w_kstr(&w, "name", win->session);
                    json_w_kbool(&w, "attached", true);
                    json_w_key(&w, "windows");
                    json_w_raw(&w, "[", 1u);
                    if (json_w_status(&w) != ST_OK) {
                        at = mark;
                        room = false;
                    } else {
                        at += json_w_len(&w);
                        st->sess_any = true;
                        walk_init(&st->k, true, false);
                        st->k.one_session = true;
                        st->k.sess_wid = wid;
                        st->k.rank = st->srank;
                        st->phase = 2u;
                    }
                }
            }
            break;
        }
        case 2u:
            room = walk_step(&st->k, buf, cap, &at) && put(buf, cap, &at, "]}", 2u);
            if (room) {
                st->srank += 1u;
                st->phase = 1u;
            }
            break;
        case 3u: {
            static const char k_w[] = "],\"windows\":[";
            room = put(buf, cap, &at, k_w, sizeof(k_w) - 1u);
            if (room) {
                walk_init(&st->k, true, true);
                st->phase = 4u;
            }
            break;
        }
        case 4u:
            room = walk_step(&st->k, buf, cap, &at);
            if (room) {
                st->phase = 5u;
            }
            break;
        case 5u: {
            static const char k_p[] = "],\"panes\":[";
            room = put(buf, cap, &at, k_p, sizeof(k_p) - 1u);
            if (room) {
                walk_init(&st->k, false, true);
                st->phase = 6u;
            }
            break;
        }
        case 6u:
            room = walk_step(&st->k, buf, cap, &at);
            if (room) {
                st->phase = 7u;
            }
            break;
        default: {
            static const char k_t[] = "]},\"ok\":true}";
            room = put(buf, cap, &at, k_t, sizeof(k_t) - 1u);
            if (room) {
                st->phase = 9u;
            }
            break;
        }
        }
    }
    *done = st->phase == 9u;
    return at;
}

void rpg_get_windows(hctx *h)
{
    state_prod st;
    (void)memset(&st, 0, sizeof(st));
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "application/json");
    hctx_end_stream(h, prod_state, &st, sizeof(st));
}

static void send_owed(stream_sub *s)
{
    ws_user *u = (ws_user *)stream_user(s);
    while ((u->owe != 0u) && !stream_message_busy(s)) {
        if ((u->owe & OWE_WINDOWS) != 0u) {
            win_prod st;
            (void)memset(&st, 0, sizeof st);
            if (stream_send_message(s, prod_windows, &st, sizeof st) != ST_OK) {
                return;     /* on_writable comes back */
            }
            u->owe &= (uint8_t)~OWE_WINDOWS;
        } else if ((u->owe & OWE_COMPANIONS) != 0u) {
            rpg_comp_prod st;
            (void)memset(&st, 0, sizeof st);
            if (stream_send_message(s, rpg_companions_prod, &st, sizeof st) != ST_OK) {
                return;
            }
            u->owe &= (uint8_t)~OWE_COMPANIONS;
        } else {
            rpg_quests_prod st;
            (void)memset(&st, 0, sizeof st);
            if (stream_send_message(s, rpg_quests_init_prod, &st, sizeof st) != ST_OK) {
                return;
            }
            u->owe &= (uint8_t)~OWE_QUESTS;
        }
    }
    if ((u->owe == 0u) && !stream_message_busy(s)) {
        stream_hold_events(s, false);
        u->holding = false;
    }
}

static void on_writable(stream_sub *s)
{
    const ws_user *u = (const ws_user *)stream_user(s);
    if ((u->owe != 0u) || u->holding) {
        send_owed(s);       /* the next owed message, or the hold let go */
    }
}

static void on_skip(stream_sub *s, const char *data, size_t n)
{
    ws_user *u = (ws_user *)stream_user(s);
    static const char k_w[] = "{\"type\":\"windows\"";
    static const char k_c[] = "{\"type\":\"companions\"";
    if ((n >= (sizeof(k_w) - 1u)) && (memcmp(data, k_w, sizeof(k_w) - 1u) == 0)) {
        u->skipped_windows = true;
    } else if ((n >= (sizeof(k_c) - 1u)) && (memcmp(data, k_c, sizeof(k_c) - 1u) == 0)) {
        u->skipped_companions = true;
    } else {
        /* dropped for good (§9.4 rule 3) */
    }
}

static void on_resume(stream_sub *s)
{
    ws_user *u = (ws_user *)stream_user(s);
    if (u->skipped_windows) {
        u->owe |= OWE_WINDOWS;
    }
    if (u->skipped_companions) {
        u->owe |= OWE_COMPANIONS;
    }
    u->skipped_windows = false;
    u->skipped_companions = false;
    if (u->owe != 0u) {
        stream_hold_events(s, true);
        u->holding = true;
        send_owed(s);
    }
}

void rpg_ws_connect(hctx *h)
{
    stream_sub *s = hctx_ws_accept(h, &g_ws);
    char msg[128];
    char uuid[UUID_STR_BYTES];
    char ts[40];
    json_w w;
    size_t n = 0u;
    ws_user *u;
    if (s == NULL) {
        return;
    }
    u = (ws_user *)stream_user(s);
    if (uuid_v4(uuid) != ST_OK) {
        uuid[0] = '\0';
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_Z3, ts, sizeof ts);
    json_w_init(&w, msg, sizeof msg);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "connected");
    json_w_kstr(&w, "sessionId", uuid);
    json_w_kstr(&w, "timestamp", ts);
    json_w_obj_end(&w);
    stream_hold_events(s, true);
    u->holding = true;
    if ((json_w_finish(&w, &n) != ST_OK) || (stream_send_text(s, msg, n) != ST_OK)) {
        stream_close(s, WS_CLOSE_TRY_LATER, "try again later");
        return;
    }
    u->owe = OWE_WINDOWS | OWE_COMPANIONS | OWE_QUESTS;
    send_owed(s);
}
