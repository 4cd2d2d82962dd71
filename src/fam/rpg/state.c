/*
 * state.c - the rpg family's current tmux state (spec/rpg.md §3, §6).
 *
 * The poll: every rpg.poll_interval_ms one tmux child (net/child.h) runs
 * one command list: list-windows -a, list-panes -a and, for the Claude
 * panes whose capture is due (§3.3 cadence; due within half a poll), a
 * marker line and capture-pane for each, taken in turn from where the last
 * poll stopped. Its output goes to a buffer of the poll's own
 * (CFG_RPG_POLL_OUT_BYTES, not a child slot's) and is parsed into the
 * static tables (CFG_RPG_WINDOWS, CFG_RPG_PANES): a pane or window not
 * listed any more is gone (pane_removed); new panes are classified (§3.2)
 * from /proc through the port (again when their pid or current command
 * changes, and every 2 s for their working directory). Captures are
 * batched so that their expected size (each pane's last capture) stays
 * within three quarters of that buffer; a batch cut by it (the child is
 * killed) keeps the captures that arrived whole, and the panes it cut are
 * taken alone the next time. One child per poll keeps
 * the cost of running tmux (a few ms of CPU per client) at a few per
 * second. No tmux server (or no tmux at all) is an empty state, not an
 * error; a poll that cannot get a child slot is skipped (counted). A
 * poll that fails keeps the last state.
 *
 * Claude panes get a pane session (§2.2) from CFG_RPG_CLAUDE slots, each
 * with its terminal (the last CFG_RPG_TERM_BYTES of the capture, cut at a
 * line start). A changed capture is broadcast (terminal_output), detected
 * (§6.3) and reconciled with the hook status (§6.4). Status changes send
 * pane_update at most once per 50 ms per pane (a short timer sends the
 * held ones). After each poll `windows` is broadcast when the windows
 * (without terminalContent) differ from the last broadcast (ws.c).
 *
 * Links (§3.4, hooks.md §6): the latest Claude session id a hook named for
 * each pane, and each session's latest pane, in CFG_RPG_LINKS entries
 * (the least recently used goes first).
 */
#include "fam/rpg/rpg_int.h"

#include "fam/rpg/game.h"

#include <string.h>

#include "core/clock.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/timer.h"
#include "core/uuid.h"
#include "net/child.h"
#include "port.h"

rpg_window g_rpg_win[CFG_RPG_WINDOWS];
uint32_t g_rpg_nwin;
rpg_pane g_rpg_pane[CFG_RPG_PANES];
uint32_t g_rpg_npane;
rpg_csession g_rpg_cs[CFG_RPG_CLAUDE];
rpg_stats_t g_rpg_stats;

/* The poll child's stdout: the listing and the captures riding along. */
static char g_poll_out[CFG_RPG_POLL_OUT_BYTES];

#define CLASSIFY_MS 2000u
#define UPDATE_GAP_MS 50u
#define POLL_ARGS (16u + (16u * (size_t)CFG_RPG_CLAUDE))
/* The poll's output: fields cut by FS, a capture starts after a MARK line. */
#define FS "\x1f"
#define MARK "\x1e"

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    bool on;
    char tmux[256];
    uint32_t poll_ms;
    char lines_arg[16];                 /* "-150" */
    timer_id tick;
    bool running;                       /* a poll child is out */
    bool again;                         /* poll again as soon as it ends */
    timer_id flush;                     /* held pane_updates */
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    struct {
        void (*fn)(void *ctx);
        void *ctx;
    } wait[RPG_POLL_WAITERS];
    uint32_t nwait;
    uint32_t nwait_run;                 /* waiters the running poll answers */
    /* the captures of the running poll */
    uint32_t cap_pane[CFG_RPG_CLAUDE];
    uint32_t ncap;
    char cap_target[CFG_RPG_CLAUDE][16];
    uint32_t cap_size[CFG_RPG_CLAUDE];  /* per session slot: last capture's bytes */
    uint32_t cap_slot[CFG_RPG_CLAUDE];  /* the session slot of each capture */
    uint32_t cap_next;                  /* the slot the next poll looks at first */
    bool warned_panes;
    bool warned_claude;
    uint32_t next_order;                /* listing rank of the next window line */
    uint32_t rank[CFG_RPG_WINDOWS];
} g;

/* ---- lookups ---------------------------------------------------------------- */

/* Up to 10 decimal digits, at most UINT32_MAX. */
static bool parse_u32(strv s, uint32_t *out)
{
    uint64_t v = 0u;
    if ((s.n > 10u) || !strv_to_u64(s, UINT32_MAX, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool rpg_parse_id(strv s, char sigil, uint32_t *id)
{
    const char *p = s.p;
    if ((s.n < 2u) || (s.n > 11u) || (p[0] != sigil)) {
        return false;
    }
    return parse_u32(strv_make(p + 1, s.n - 1u), id);
}

rpg_pane *rpg_pane_find(uint32_t id)
{
    uint32_t i;
    for (i = 0u; i < g_rpg_npane; i++) {
        if (g_rpg_pane[i].id == id) {
            return &g_rpg_pane[i];
        }
    }
    return NULL;
}

rpg_window *rpg_window_find(uint32_t id)
{
    uint32_t i;
    for (i = 0u; i < g_rpg_nwin; i++) {
        if (g_rpg_win[i].id == id) {
            return &g_rpg_win[i];
        }
    }
    return NULL;
}

rpg_csession *rpg_cs_of(const rpg_pane *p)
{
    return ((p != NULL) && (p->cs >= 0)) ? &g_rpg_cs[p->cs] : NULL;
}

rpg_pane *rpg_pane_by_target(strv target)
{
    /* session:window.pane; the session name may itself hold ':' */
    const char *t = target.p;
    size_t colon = target.n;
    size_t dot = target.n;
    size_t i;
    uint32_t widx = 0u;
    uint32_t pidx = 0u;
    for (i = target.n; i > 0u; i--) {
        if ((dot == target.n) && (t[i - 1u] == '.')) {
            dot = i - 1u;
        } else if ((dot != target.n) && (t[i - 1u] == ':')) {
            colon = i - 1u;
            break;
        } else {
            /* keep looking */
        }
    }
    if ((colon >= dot) || (dot == target.n) ||
        !parse_u32(strv_make(target.p + colon + 1u, dot - colon - 1u), &widx) ||
        !parse_u32(strv_make(target.p + dot + 1u, target.n - dot - 1u), &pidx)) {
        return NULL;
    }
    for (i = 0u; i < g_rpg_nwin; i++) {
        const rpg_window *w = &g_rpg_win[i];
        if ((w->index == widx) && strv_eq_cstr(strv_make(t, colon), w->session)) {
            uint32_t k;
            for (k = 0u; k < g_rpg_npane; k++) {
                if ((g_rpg_pane[k].window == w->id) && (g_rpg_pane[k].index == pidx)) {
                    return &g_rpg_pane[k];
                }
            }
        }
    }
    return NULL;
}

const char *rpg_tmux(void)
{
    return g.tmux;
}

/* ---- links (§3.4, hooks.md §6) ------------------------------------------------ */

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    uint32_t pane;
    uint64_t used;                      /* 0: free */
    char sid[RPG_SID_BYTES];
} g_link[CFG_RPG_LINKS];
static uint64_t g_link_clock;

static void copy_cut(char *dst, size_t cap, const char *src, size_t n)
{
    size_t k = (n < cap) ? n : (cap - 1u);
    /* never cut inside a UTF-8 character */
    while ((k > 0u) && (k < n) && ((((unsigned char)src[k]) & 0xC0u) == 0x80u)) {
        k--;
    }
    (void)memcpy(dst, src, k);
    dst[k] = '\0';
}

void rpg_link_record(uint32_t pane, strv sid)
{
    size_t i;
    size_t at = 0u;
    uint64_t oldest = UINT64_MAX;
    char key[RPG_SID_BYTES];
    copy_cut(key, sizeof key, sid.p, sid.n);
    for (i = 0u; i < (size_t)CFG_RPG_LINKS; i++) {
        /* one entry per session (its latest pane) and per pane (its latest
         * session): drop the older ones */
        if ((g_link[i].used != 0u) &&
            ((strcmp(g_link[i].sid, key) == 0) || (g_link[i].pane == pane))) {
            g_link[i].used = 0u;
        }
    }
    for (i = 0u; i < (size_t)CFG_RPG_LINKS; i++) {
        if (g_link[i].used < oldest) {
            oldest = g_link[i].used;
            at = i;
        }
    }
    g_link[at].pane = pane;
    g_link_clock++;
    g_link[at].used = g_link_clock;
    (void)memcpy(g_link[at].sid, key, sizeof key);
}

const char *rpg_link_sid_of_pane(uint32_t pane)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_RPG_LINKS; i++) {
        if ((g_link[i].used != 0u) && (g_link[i].pane == pane)) {
            return g_link[i].sid;
        }
    }
    return NULL;
}

st_t rpg_session_pid(strv sid, int64_t *pid)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_RPG_LINKS; i++) {
        if ((g_link[i].used != 0u) && strv_eq_cstr(sid, g_link[i].sid)) {
            const rpg_pane *p = rpg_pane_find(g_link[i].pane);
            if ((p != NULL) && (p->type == PT_CLAUDE) && (p->claude_pid > 0)) {
                *pid = p->claude_pid;
                return ST_OK;
            }
            return ST_NOTFOUND;
        }
    }
    return ST_NOTFOUND;
}

/* ---- pane sessions and status (§2.2, §6) ---------------------------------------- */

static uint64_t wall_ms(void)
{
    return clock_wall_us() / 1000u;
}

void rpg_cs_link(rpg_csession *cs, strv sid)
{
    copy_cut(cs->sid, sizeof cs->sid, sid.p, sid.n);
}

static void send_update(rpg_csession *cs)
{
    const rpg_pane *p = rpg_pane_find(cs->pane);
    cs->update_due = false;
    cs->update_sent_ms = clock_mono_ms();
    if (p != NULL) {
        rpg_ws_pane_update(p, cs);
    }
}

static void flush_updates(void *arg)
{
    uint64_t now = clock_mono_ms();
    uint32_t i;
    bool more = false;
    (void)arg;
    g.flush = TIMER_NONE;
    for (i = 0u; i < (uint32_t)CFG_RPG_CLAUDE; i++) {
        rpg_csession *cs = &g_rpg_cs[i];
        if (cs->used && cs->update_due) {
            if ((now - cs->update_sent_ms) >= UPDATE_GAP_MS) {
                send_update(cs);
            } else {
                more = true;
            }
        }
    }
    if (more) {
        g.flush = timer_again(UPDATE_GAP_MS);
    }
}

void rpg_set_status(rpg_csession *cs, rpg_status to, rpg_source src)
{
    rpg_status from = cs->status;
    uint64_t now = clock_mono_ms();
    char ev[40];
    if (from == to) {
        return;
    }
    if ((src == RPG_SRC_HOOK) && !rpg_transition_ok(from, to)) {
        LOG_I("rpg", "pane %%%u: forced transition %s -> %s", (unsigned)cs->pane,
              rpg_status_name(from), rpg_status_name(to));
    }
    cs->status = to;
    cs->source = src;
    cs->status_wall_ms = wall_ms();
    cs->activity_wall_ms = cs->status_wall_ms;
    cs->status_mono_ms = now;
    (void)memcpy(ev, "session:status_changed", 23u);
    rpg_ws_event(ev, cs->pane, NULL);
    if ((cs->update_sent_ms == 0u) || ((now - cs->update_sent_ms) >= UPDATE_GAP_MS)) {
        send_update(cs);
    } else {
        cs->update_due = true;
        if (g.flush == TIMER_NONE) {
            g.flush = timer_start(UPDATE_GAP_MS, flush_updates, NULL);
        }
    }
}

static int32_t cs_open(rpg_pane *p)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_RPG_CLAUDE; i++) {
        rpg_csession *cs = &g_rpg_cs[i];
        if (!cs->used) {
            const char *sid = rpg_link_sid_of_pane(p->id);
            (void)memset(cs, 0, offsetof(rpg_csession, term));
            cs->used = true;
            cs->pane = p->id;
            if (uuid_v4(cs->id) != ST_OK) {
                cs->id[0] = '\0';
            }
            if (sid != NULL) {
                rpg_cs_link(cs, strv_from_cstr(sid));
            } else {
                /* a placeholder until a hook names the session (§3.4) */
                char ph[24];
                size_t n;
                (void)memcpy(ph, "pane-%", 6u);
                n = 6u + fmt_u64(ph + 6, sizeof(ph) - 7u, p->id);
                rpg_cs_link(cs, strv_make(ph, n));
            }
            cs->status = RPG_ST_IDLE;
            cs->source = RPG_SRC_HOOK;
            cs->created_ms = wall_ms();
            cs->status_wall_ms = cs->created_ms;
            cs->activity_wall_ms = cs->created_ms;
            cs->status_mono_ms = clock_mono_ms();
            cs->content_mono_ms = cs->status_mono_ms;
            cs->next_capture_ms = 0u;
            g.cap_size[i] = 0u;
            rpg_persona_attach(cs);         /* §3.4: its persona, or a placeholder */
            return (int32_t)i;
        }
    }
    g_rpg_stats.sessions_dropped++;
    if (!g.warned_claude) {
        g.warned_claude = true;
        LOG_W("rpg", "more than %u Claude panes: pane %%%u has no pane session",
              (unsigned)CFG_RPG_CLAUDE, (unsigned)p->id);
    }
    return -1;
}

static void cs_close(rpg_pane *p)
{
    if (p->cs >= 0) {
        g_rpg_cs[p->cs].used = false;
        g_rpg_cs[p->cs].update_due = false;
        p->cs = -1;
    }
}

/* ---- classification (§3.2) ------------------------------------------------------ */

static bool has_sub(const char *s, size_t n, const char *sub)
{
    size_t m = strlen(sub);
    size_t i;
    for (i = 0u; (i + m) <= n; i++) {
        if (strv_starts_with_cstr(strv_make(s + i, n - i), sub)) {
            return true;
        }
    }
    return false;
}

static bool is_shell(const char *name)
{
    static const char *const k_shells[] = { "bash", "zsh", "sh", "fish", "tcsh", "csh" };
    size_t i;
    for (i = 0u; i < (sizeof(k_shells) / sizeof(k_shells[0])); i++) {
        if (strcmp(name, k_shells[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Is pid a Claude process? *readable false when it cannot be read. The
 * executable name is the process name (a script's own name, not its
 * interpreter's); the command line is its arguments. */
static bool is_claude(int64_t pid, bool *readable, char *name, size_t cap)
{
    char cmd[1024];
    size_t n = 0u;
    size_t i;
    *readable = false;
    name[0] = '\0';
    if (port_proc_comm(pid, name, cap) != ST_OK) {
        return false;
    }
    if (port_proc_cmdline(pid, cmd, sizeof cmd, &n) != ST_OK) {
        n = 0u;
    }
    *readable = true;
    if (has_sub(name, strlen(name), "claude")) {
        return true;
    }
    /* the executable's name from argv[0] too (a wrapper may rename it) */
    for (i = 0u; (i < n) && (cmd[i] != '\0'); i++) {
        /* argv[0] */
    }
    if (has_sub(cmd, i, "claude") && !has_sub(cmd, i, "/")) {
        return true;
    }
    if ((strcmp(name, "node") == 0) || (strcmp(name, "bun") == 0)) {
        return has_sub(cmd, n, "claude") || has_sub(cmd, n, "@anthropic");
    }
    return false;
}

static void classify(rpg_pane *p)
{
    char name[64];
    bool readable = false;
    p->claude_pid = 0;
    if (is_claude(p->pid, &readable, name, sizeof name)) {
        p->type = PT_CLAUDE;
        p->claude_pid = p->pid;
    } else if (!readable) {
        p->type = PT_IDLE;
    } else if (is_shell(name)) {
        int64_t kids[32];
        size_t nk = 0u;
        p->type = PT_SHELL;
        if (port_proc_children(p->pid, kids, 32u, &nk) == ST_OK) {
            size_t i;
            for (i = 0u; i < nk; i++) {
                bool r = false;
                char kn[64];
                if (is_claude(kids[i], &r, kn, sizeof kn)) {
                    p->type = PT_CLAUDE;
                    p->claude_pid = kids[i];
                    break;
                }
            }
        }
    } else {
        p->type = PT_PROCESS;
    }
    /* cwd: the pane process's, or its first child's that has one */
    if (port_proc_cwd(p->pid, p->cwd, sizeof p->cwd) != ST_OK) {
        int64_t kids[8];
        size_t nk = 0u;
        bool got = false;
        if (port_proc_children(p->pid, kids, 8u, &nk) == ST_OK) {
            size_t i;
            for (i = 0u; (i < nk) && !got; i++) {
                got = port_proc_cwd(kids[i], p->cwd, sizeof p->cwd) == ST_OK;
            }
        }
        if (!got) {
            (void)memcpy(p->cwd, "/tmp", 5u);
        }
    }
    p->cls_pid = p->pid;
    (void)memcpy(p->cls_cmd, p->command, sizeof p->cls_cmd);
    p->cls_mono_ms = clock_mono_ms();
}

/* ---- parsing the poll's output ------------------------------------------------- */

/* The next field of a line cut by \x1f; the last one takes the rest. */
static strv next_field(strv *line, bool last)
{
    strv f = *line;
    if (!last) {
        size_t i;
        for (i = 0u; i < line->n; i++) {
            if (line->p[i] == '\x1f') {
                f.n = i;
                line->p += i + 1u;
                line->n -= i + 1u;
                return f;
            }
        }
    }
    line->p += line->n;
    line->n = 0u;
    return f;
}

static void parse_window(strv line)
{
    strv id = next_field(&line, false);
    strv sess = next_field(&line, false);
    strv idx = next_field(&line, false);
    strv act = next_field(&line, false);
    strv name = next_field(&line, true);
    uint32_t wid = 0u;
    uint32_t widx = 0u;
    rpg_window *w;
    if (!rpg_parse_id(id, '@', &wid) || !parse_u32(idx, &widx)) {
        return;
    }
    w = rpg_window_find(wid);
    if (w == NULL) {
        if (g_rpg_nwin >= (uint32_t)CFG_RPG_WINDOWS) {
            g_rpg_stats.panes_dropped++;
            return;
        }
        w = &g_rpg_win[g_rpg_nwin];
        g_rpg_nwin++;
        (void)memset(w, 0, sizeof *w);
        w->id = wid;
    }
    w->index = widx;
    w->order = g.next_order;
    g.next_order++;
    w->active = strv_eq_cstr(act, "1");
    copy_cut(w->session, sizeof w->session, sess.p, sess.n);
    copy_cut(w->name, sizeof w->name, name.p, name.n);
    w->seen = true;
}

static void parse_pane(strv line)
{
    strv id = next_field(&line, false);
    strv win = next_field(&line, false);
    strv idx = next_field(&line, false);
    strv act = next_field(&line, false);
    strv wd = next_field(&line, false);
    strv ht = next_field(&line, false);
    strv pid = next_field(&line, false);
    strv cmd = next_field(&line, true);
    uint32_t pn = 0u;
    uint32_t wn = 0u;
    uint32_t v = 0u;
    rpg_pane *p;
    if (!rpg_parse_id(id, '%', &pn) || !rpg_parse_id(win, '@', &wn)) {
        return;
    }
    p = rpg_pane_find(pn);
    if (p == NULL) {
        if (g_rpg_npane >= (uint32_t)CFG_RPG_PANES) {
            g_rpg_stats.panes_dropped++;
            if (!g.warned_panes) {
                g.warned_panes = true;
                LOG_W("rpg", "more than %u panes: the rest are left out",
                      (unsigned)CFG_RPG_PANES);
            }
            return;
        }
        p = &g_rpg_pane[g_rpg_npane];
        g_rpg_npane++;
        (void)memset(p, 0, sizeof *p);
        p->id = pn;
        p->cs = -1;
        p->cls_pid = -1;
    }
    p->window = wn;
    p->index = parse_u32(idx, &v) ? v : 0u;
    p->active = strv_eq_cstr(act, "1");
    p->width = parse_u32(wd, &v) ? v : 0u;
    p->height = parse_u32(ht, &v) ? v : 0u;
    p->pid = parse_u32(pid, &v) ? (int64_t)v : 0;
    copy_cut(p->command, sizeof p->command, cmd.p, cmd.n);
    p->seen = true;
}

/* Keep the last bytes of a capture that fit the terminal, from a line start. */
static void take_capture(rpg_csession *cs, uint32_t slot, const char *all, size_t all_n)
{
    size_t from = 0u;
    const char *s;
    size_t n;
    uint64_t now = clock_mono_ms();
    rpg_detection det;
    rpg_recon_in in;
    rpg_recon_out out;
    uint64_t since_content;
    g.cap_size[slot] = (uint32_t)all_n;
    if (all_n > (size_t)CFG_RPG_TERM_BYTES) {
        from = all_n - (size_t)CFG_RPG_TERM_BYTES;
        while ((from < all_n) && (all[from - 1u] != '\n')) {
            from++;
        }
    }
    s = all + from;
    n = all_n - from;
    g_rpg_stats.captures++;
    if ((n == cs->term_n) && (memcmp(cs->term, s, n) == 0)) {
        cs->unchanged++;
        return;
    }
    (void)memcpy(cs->term, s, n);
    cs->term_n = (uint32_t)n;
    cs->term_gen++;
    cs->unchanged = 0u;
    /* tT is measured to the change before this one (it is reconciled on
     * each changed capture, §6.2) */
    since_content = now - cs->content_mono_ms;
    cs->content_mono_ms = now;
    rpg_ws_terminal(cs->pane, cs->term, cs->term_n, false);
    /* §6.3, §6.4 */
    det = rpg_detect(cs->term, cs->term_n);
    cs->confidence = det.confidence;
    cs->has_conf = true;
    in.hook = cs->status;
    in.term = det;
    in.since_status_ms = now - cs->status_mono_ms;
    in.since_content_ms = since_content;
    in.since_hook_ms = (cs->hook_mono_ms == 0u) ? UINT64_MAX : (now - cs->hook_mono_ms);
    in.since_error_ms = (cs->error_mono_ms == 0u) ? UINT64_MAX : (now - cs->error_mono_ms);
    in.subagents = cs->nsub > 0u;
    out = rpg_reconcile(&in);
    if (out.status != cs->status) {
        rpg_set_status(cs, out.status, out.source);
    }
}

/* §3.3: when this pane session's next capture is due, from now. */
static uint64_t capture_gap(const rpg_csession *cs, uint64_t now)
{
    uint64_t gap = 2000u;
    if ((now - cs->content_mono_ms) < 2000u) {
        gap = 250u;
    } else if ((cs->status == RPG_ST_WORKING) || (cs->status == RPG_ST_WAITING)) {
        gap = 500u;
    } else if (cs->unchanged >= 5u) {
        gap = 5000u;
    } else {
        /* 2000 */
    }
    return gap;
}

static void parse_output(const char *out, size_t n, bool whole)
{
    size_t i = 0u;
    int32_t cap_slot = -1;
    size_t cap_from = 0u;
    uint32_t k;
    uint64_t now = clock_mono_ms();
    for (k = 0u; k < g_rpg_nwin; k++) {
        g_rpg_win[k].seen = false;
    }
    g.next_order = 0u;
    for (k = 0u; k < g_rpg_npane; k++) {
        g_rpg_pane[k].seen = false;
    }
    while (i < n) {
        size_t e = i;
        strv line;
        while ((e < n) && (out[e] != '\n')) {
            e++;
        }
        line = strv_make(out + i, e - i);
        if ((line.n >= 2u) && (line.p[0] == '\x1e')) {
            uint32_t pn = 0u;
            rpg_pane *p;
            if (cap_slot >= 0) {
                take_capture(&g_rpg_cs[cap_slot], (uint32_t)cap_slot, out + cap_from,
                             i - cap_from);
            }
            cap_slot = -1;
            p = rpg_parse_id(strv_make(line.p + 1, line.n - 1u), '%', &pn) ?
                rpg_pane_find(pn) : NULL;
            if ((p != NULL) && (p->cs >= 0)) {
                cap_slot = p->cs;
                cap_from = e + ((e < n) ? 1u : 0u);
            }
        } else if (cap_slot < 0) {
            if ((line.n > 2u) && strv_starts_with_cstr(line, "W" FS)) {
                parse_window(strv_make(line.p + 2, line.n - 2u));
            } else if ((line.n > 2u) && strv_starts_with_cstr(line, "P" FS)) {
                parse_pane(strv_make(line.p + 2, line.n - 2u));
            } else {
                /* not ours */
            }
        } else {
            /* a line of the capture */
        }
        i = e + ((e < n) ? 1u : 0u);     /* past the newline */
    }
    if ((cap_slot >= 0) && whole) {
        /* the last capture ends with the output (its final newline is tmux's) */
        size_t end = n;
        if ((end > cap_from) && (out[end - 1u] == '\n')) {
            end--;
        }
        take_capture(&g_rpg_cs[cap_slot], (uint32_t)cap_slot, out + cap_from,
                     end - cap_from);
    }
    /* gone: windows and panes not listed any more */
    k = 0u;
    while (k < g_rpg_npane) {
        rpg_pane *p = &g_rpg_pane[k];
        if (!p->seen) {
            uint32_t id = p->id;
            cs_close(p);
            g_rpg_pane[k] = g_rpg_pane[g_rpg_npane - 1u];
            g_rpg_npane--;
            rpg_ws_pane_removed(id);
        } else {
            k++;
        }
    }
    k = 0u;
    while (k < g_rpg_nwin) {
        if (!g_rpg_win[k].seen) {
            g_rpg_win[k] = g_rpg_win[g_rpg_nwin - 1u];
            g_rpg_nwin--;
        } else {
            k++;
        }
    }
    /* ranks dense again (a window listed then cut by the table keeps none) */
    for (k = 0u; k < g_rpg_nwin; k++) {
        uint32_t r = 0u;
        uint32_t j;
        for (j = 0u; j < g_rpg_nwin; j++) {
            if (g_rpg_win[j].order < g_rpg_win[k].order) {
                r++;
            }
        }
        g.rank[k] = r;
    }
    for (k = 0u; k < g_rpg_nwin; k++) {
        g_rpg_win[k].order = g.rank[k];
    }
    /* classify what is new or changed; pane sessions follow the type */
    for (k = 0u; k < g_rpg_npane; k++) {
        rpg_pane *p = &g_rpg_pane[k];
        if ((p->cls_pid != p->pid) || (strcmp(p->cls_cmd, p->command) != 0) ||
            ((now - p->cls_mono_ms) >= CLASSIFY_MS)) {
            classify(p);
        }
        if ((p->type == PT_CLAUDE) && (p->cs < 0)) {
            p->cs = cs_open(p);
        } else if ((p->type != PT_CLAUDE) && (p->cs >= 0)) {
            cs_close(p);
        } else {
            /* as it was */
        }
    }
}

/* ---- the poll ---------------------------------------------------------------- */

static void schedule(uint64_t delay);

static void poll_done(void *ctx, const child_result *r)
{
    uint32_t i;
    uint32_t nw = g.nwait_run;
    bool whole = (r->st == ST_OK);
    (void)ctx;
    g.running = false;
    if ((r->st == ST_OK) && (r->code != 0) && (r->out_n == 0u)) {
        /* no server (or no session): an empty state, not an error */
        parse_output("", 0u, true);
    } else if ((r->st == ST_OK) || (r->st == ST_TOOBIG)) {
        if (r->st == ST_TOOBIG) {
            LOG_W("rpg", "tmux output over %u bytes: captures cut",
                  (unsigned)CFG_RPG_POLL_OUT_BYTES);
            for (i = 0u; i < g.ncap; i++) {
                /* taken alone next time */
                g.cap_size[g.cap_slot[i]] = (uint32_t)CFG_RPG_POLL_OUT_BYTES;
            }
        }
        parse_output(r->out, r->out_n, whole);
    } else {
        g_rpg_stats.polls_failed++;
        LOG_W("rpg", "tmux poll failed (%s): the last state stays", status_str(r->st));
    }
    g_rpg_stats.polls++;
    rpg_projects_poll();                    /* §3.4: the projects of new cwds */
    rpg_ws_windows_changed();
    /* the waiters this poll answers, in order */
    for (i = 0u; i < nw; i++) {
        if (g.wait[i].fn != NULL) {
            g.wait[i].fn(g.wait[i].ctx);
        }
    }
    (void)memmove(g.wait, g.wait + nw, (g.nwait - nw) * sizeof g.wait[0]);
    g.nwait -= nw;
    g.nwait_run = 0u;
    if (g.again || (g.nwait > 0u)) {
        g.again = false;
        schedule(0u);
    }
}

/* Append s to the argument vector being built. */
static void arg(const char **argv, size_t *k, const char *s)
{
    argv[*k] = s;
    *k += 1u;
}

static void poll_start(void)
{
    static const char *argv[POLL_ARGS];
    size_t a = 0u;
    /* the listing takes a quarter at most; captures the rest */
    uint32_t budget = ((uint32_t)CFG_RPG_POLL_OUT_BYTES / 4u) * 3u;
    uint32_t used = 0u;
    uint64_t now = clock_mono_ms();
    uint32_t j;
    uint32_t next = g.cap_next;
    child_spec sp;
    st_t st;
    arg(argv, &a, g.tmux);
    arg(argv, &a, "list-windows");
    arg(argv, &a, "-a");
    arg(argv, &a, "-F");
    arg(argv, &a, "W" FS "#{window_id}" FS "#{session_name}" FS "#{window_index}" FS
        "#{window_active}" FS "#{window_name}");
    arg(argv, &a, ";");
    arg(argv, &a, "list-panes");
    arg(argv, &a, "-a");
    arg(argv, &a, "-F");
    arg(argv, &a, "P" FS "#{pane_id}" FS "#{window_id}" FS "#{pane_index}" FS "#{pane_active}" FS
        "#{pane_width}" FS "#{pane_height}" FS "#{pane_pid}" FS "#{pane_current_command}");
    g.ncap = 0u;
    /* from where the last poll stopped, so no pane starves the others */
    for (j = 0u; j < (uint32_t)CFG_RPG_CLAUDE; j++) {
        uint32_t i = (g.cap_next + j) % (uint32_t)CFG_RPG_CLAUDE;
        rpg_csession *cs = &g_rpg_cs[i];
        uint32_t est = (g.cap_size[i] == 0u) ? 4096u : g.cap_size[i];
        /* due: within half a poll of its time (a poll that comes a little
         * early must not push it to the next one) */
        if (!cs->used || ((now + (g.poll_ms / 2u)) < cs->next_capture_ms)) {
            continue;
        }
        if ((g.ncap > 0u) && ((used + est) > budget)) {
            continue;           /* the next poll takes it */
        }
        used += est;
        g.cap_slot[g.ncap] = i;
        next = (i + 1u) % (uint32_t)CFG_RPG_CLAUDE;
        g.cap_target[g.ncap][0] = '%';
        g.cap_target[g.ncap][1u + fmt_u64(&g.cap_target[g.ncap][1], 14u, cs->pane)] = '\0';
        arg(argv, &a, ";");
        arg(argv, &a, "display-message");
        arg(argv, &a, "-p");
        arg(argv, &a, "-t");
        arg(argv, &a, g.cap_target[g.ncap]);
        arg(argv, &a, MARK "#{pane_id}");
        arg(argv, &a, ";");
        arg(argv, &a, "capture-pane");
        arg(argv, &a, "-p");
        arg(argv, &a, "-J");
        arg(argv, &a, "-e");
        arg(argv, &a, "-S");
        arg(argv, &a, g.lines_arg);
        arg(argv, &a, "-E");
        arg(argv, &a, "-");
        arg(argv, &a, "-t");
        arg(argv, &a, g.cap_target[g.ncap]);
        cs->next_capture_ms = now + capture_gap(cs, now);
        g.cap_pane[g.ncap] = cs->pane;
        g.ncap++;
    }
    argv[a] = NULL;
    g.cap_next = next;
    (void)memset(&sp, 0, sizeof sp);
    sp.argv = argv;
    sp.out_buf = g_poll_out;
    sp.out_cap = sizeof(g_poll_out);
    sp.done = poll_done;
    st = child_run(&sp, NULL);
    if (st == ST_OK) {
        g.running = true;
        g.nwait_run = g.nwait;
    } else {
        g_rpg_stats.polls_skipped++;
        if (st != ST_FULL) {
            LOG_W("rpg", "tmux poll not started: %s", status_str(st));
        }
    }
}

static void tick(void *arg)
{
    (void)arg;
    g.tick = TIMER_NONE;
    if (!g.on) {
        return;
    }
    if (g.running) {
        g.again = true;
    } else {
        poll_start();
    }
    /* the next tick in this timer's own slot, so the poll never stops
     * (poll_start never schedules: its child ends in a later turn) */
    g.tick = timer_again(g.poll_ms);
}

static void schedule(uint64_t delay)
{
    uint64_t delay_ms = delay;
    if (!g.on) {
        return;
    }
    if (delay_ms == 0u) {
        if (!g.running) {
            poll_start();
        } else {
            g.again = true;
        }
        if (g.tick != TIMER_NONE) {
            return;
        }
        delay_ms = g.poll_ms;
    }
    if (g.tick != TIMER_NONE) {
        timer_cancel(g.tick);
    }
    g.tick = timer_start(delay_ms, tick, NULL);
}

bool rpg_poll_now(void (*done)(void *ctx), void *ctx)
{
    if (!g.on) {
        if (done != NULL) {
            done(ctx);
        }
        return true;
    }
    if (done != NULL) {
        if (g.nwait >= RPG_POLL_WAITERS) {
            return false;
        }
        g.wait[g.nwait].fn = done;
        g.wait[g.nwait].ctx = ctx;
        g.nwait++;
    }
    if (g.running) {
        g.again = true;
    } else {
        poll_start();
    }
    return true;
}

void rpg_state_start(uint32_t poll_ms, uint32_t capture_lines, const char *tmux_path)
{
    size_t n;
    g.poll_ms = (poll_ms == 0u) ? 250u : poll_ms;
    g.lines_arg[0] = '-';
    n = fmt_u64(g.lines_arg + 1, sizeof g.lines_arg - 2u, capture_lines);
    g.lines_arg[1u + n] = '\0';
    g.tick = TIMER_NONE;
    g.flush = TIMER_NONE;
    if ((tmux_path == NULL) || (tmux_path[0] == '\0')) {
        LOG_W("rpg", "tmux not found on PATH: the windows and panes stay empty");
        return;
    }
    copy_cut(g.tmux, sizeof g.tmux, tmux_path, strlen(tmux_path));
    g.on = true;
    schedule(0u);
}

void rpg_state_stop(void)
{
    g.on = false;
    if (g.tick != TIMER_NONE) {
        timer_cancel(g.tick);
        g.tick = TIMER_NONE;
    }
    if (g.flush != TIMER_NONE) {
        timer_cancel(g.flush);
        g.flush = TIMER_NONE;
    }
}

/* ---- writing the state (§2.1, §2.2) ---------------------------------------------- */

void rpg_w_iso(json_w *w, const char *key, uint64_t ms)
{
    char ts[40];
    (void)clock_format(ms * 1000u, CLOCK_FMT_Z3, ts, sizeof ts);
    json_w_kstr(w, key, ts);
}

void rpg_w_session(json_w *w, const rpg_csession *cs)
{
    json_w_obj_begin(w);
    json_w_kstr(w, "id", cs->id);
    {
        char pid[16];
        pid[0] = '%';
        pid[1u + fmt_u64(pid + 1, sizeof(pid) - 2u, cs->pane)] = '\0';
        json_w_kstr(w, "paneId", pid);
    }
    if (!rpg_empty(cs->pv.id)) {
        json_w_kstr(w, "personaId", cs->pv.id);
    } else {
        json_w_knull(w, "personaId");
    }
    if (cs->proj == RPG_PROJ_KNOWN) {
        json_w_kstr(w, "projectId", cs->project_id);
    } else {
        json_w_knull(w, "projectId");
    }
    json_w_kstr(w, "status", rpg_status_name(cs->status));
    json_w_kstr(w, "statusSource", rpg_source_name(cs->source));
    rpg_w_iso(w, "statusChangedAt", cs->status_wall_ms);
    rpg_w_iso(w, "lastActivityAt", cs->activity_wall_ms);
    if (cs->hook_wall_ms != 0u) {
        json_w_ku64(w, "lastHookUpdateAt", cs->hook_wall_ms);
    }
    if (cs->has_conf) {
        json_w_kf64(w, "terminalConfidence", cs->confidence);
    }
    if (cs->has_error) {
        json_w_key(w, "lastError");
        json_w_obj_begin(w);
        json_w_kstr(w, "tool", cs->err_tool);
        json_w_kstr(w, "message", cs->err_msg);
        json_w_ku64(w, "timestamp", cs->err_wall_ms);
        json_w_kstr(w, "errorClass", rpg_errclass_name(cs->err_class));
        json_w_obj_end(w);
    }
    if (cs->nsub > 0u) {
        uint32_t i;
        json_w_key(w, "activeSubagents");
        json_w_arr_begin(w);
        for (i = 0u; i < cs->nsub; i++) {
            const char *desc = cs->sub[i].desc;
            json_w_obj_begin(w);
            json_w_kstr(w, "id", cs->sub[i].id);
            if (desc[0] != '\0') {
                json_w_kstr(w, "description", cs->sub[i].desc);
            }
            json_w_ku64(w, "startedAt", cs->sub[i].started_ms);
            json_w_obj_end(w);
        }
        json_w_arr_end(w);
    }
    json_w_obj_end(w);
}

static const char *ptype_name(rpg_ptype t)
{
    static const char *const k[] = { "idle", "shell", "process", "claude" };
    return k[t];
}

void rpg_w_pane(json_w *w, const rpg_pane *p, bool with_terminal)
{
    char id[16];
    const rpg_csession *cs = rpg_cs_of(p);
    id[0] = '%';
    id[1u + fmt_u64(id + 1, sizeof(id) - 2u, p->id)] = '\0';
    json_w_obj_begin(w);
    json_w_kstr(w, "id", id);
    json_w_ku64(w, "index", p->index);
    json_w_kbool(w, "active", p->active);
    json_w_ku64(w, "width", p->width);
    json_w_ku64(w, "height", p->height);
    json_w_key(w, "process");
    json_w_obj_begin(w);
    json_w_kstr(w, "type", ptype_name(p->type));
    json_w_kstr(w, "command", p->command);
    json_w_ki64(w, "pid", p->pid);
    if ((p->type == PT_CLAUDE) && (cs != NULL)) {
        json_w_key(w, "claudeSession");
        json_w_obj_begin(w);
        json_w_kstr(w, "id", cs->sid);
        /* the persona's (a copy kept by the pane session, game.h) */
        json_w_kstr(w, "name", !rpg_empty(cs->pv.name) ? cs->pv.name : cs->sid);
        {
            char url[RPG_AVATAR_URL_BYTES];
            rpg_avatar_url(cs->sid, url);
            json_w_kstr(w, "avatarSvg", url);
        }
        json_w_kstr(w, "status", rpg_status_name(cs->status));
        json_w_kstr(w, "tier", rpg_tier_of((cs->pv.level == 0u) ? 1u : cs->pv.level));
        json_w_key(w, "badges");
        rpg_w_badges(w, cs->pv.badges);
        json_w_key(w, "health");
        json_w_obj_begin(w);
        json_w_ki64(w, "energy", !rpg_empty(cs->pv.id) ? cs->pv.energy : 100);
        json_w_ki64(w, "morale", !rpg_empty(cs->pv.id) ? cs->pv.morale : 100);
        rpg_w_iso(w, "lastUpdated", (cs->pv.health_ms != 0u) ? cs->pv.health_ms : cs->created_ms);
        json_w_obj_end(w);
        if (cs->has_error) {
            json_w_key(w, "lastError");
            json_w_obj_begin(w);
            json_w_kstr(w, "tool", cs->err_tool);
            json_w_kstr(w, "message", cs->err_msg);
            json_w_ku64(w, "timestamp", cs->err_wall_ms);
            json_w_obj_end(w);
        }
        json_w_ku64(w, "createdAt", cs->created_ms);
        json_w_ku64(w, "lastActivity", cs->activity_wall_ms);
        json_w_obj_end(w);
    }
    json_w_obj_end(w);
    json_w_kstr(w, "cwd", p->cwd);
    {
        /* repo: org = the parent directory's name, name = the last one */
        const char *c = p->cwd;
        size_t n = strlen(c);
        size_t last = n;
        size_t prev;
        while ((last > 1u) && (c[last - 1u] == '/')) {
            last--;
        }
        prev = last;
        while ((prev > 0u) && (c[prev - 1u] != '/')) {
            prev--;
        }
        if ((prev > 1u) && (prev < last)) {
            size_t pe = prev - 1u;
            size_t ps = pe;
            while ((ps > 0u) && (c[ps - 1u] != '/')) {
                ps--;
            }
            if (ps < pe) {
                json_w_key(w, "repo");
                json_w_obj_begin(w);
                json_w_kstrn(w, "path", c, last);
                json_w_kstrn(w, "name", c + prev, last - prev);
                json_w_kstrn(w, "org", c + ps, pe - ps);
                json_w_obj_end(w);
            }
        }
    }
    /* absent until a capture has brought content ("last captured text") */
    if (with_terminal && (p->type == PT_CLAUDE) && (cs != NULL) && (cs->term_gen != 0u)) {
        json_w_kstrn(w, "terminalContent", cs->term, cs->term_n);
    }
    json_w_obj_end(w);
}

int32_t rpg_sid_hash(const char *sid)
{
    /* h = (h << 5) - h + c over the UTF-16 code units, 32-bit wrapping */
    uint32_t h = 0u;
    const unsigned char *u = (const unsigned char *)sid;
    size_t i = 0u;
    while (u[i] != 0u) {
        uint32_t cp = u[i];
        size_t len = 1u;
        if ((cp >= 0xC0u) && (cp < 0xE0u) && (u[i + 1u] != 0u)) {
            cp = ((cp & 0x1Fu) << 6) | (u[i + 1u] & 0x3Fu);
            len = 2u;
        } else if ((cp >= 0xE0u) && (cp < 0xF0u) && (u[i + 1u] != 0u) && (u[i + 2u] != 0u)) {
            cp = ((cp & 0x0Fu) << 12) | ((u[i + 1u] & 0x3Fu) << 6) | (u[i + 2u] & 0x3Fu);
            len = 3u;
        } else if ((cp >= 0xF0u) && (u[i + 1u] != 0u) && (u[i + 2u] != 0u) &&
                   (u[i + 3u] != 0u)) {
            cp = ((cp & 0x07u) << 18) | ((u[i + 1u] & 0x3Fu) << 12) |
                 ((u[i + 2u] & 0x3Fu) << 6) | (u[i + 3u] & 0x3Fu);
            len = 4u;
        } else {
            /* ASCII, or a stray byte taken as it is */
        }
        if (cp > 0xFFFFu) {
            uint32_t v = cp - 0x10000u;
            h = (h << 5) - h + (0xD800u + (v >> 10));
            h = (h << 5) - h + (0xDC00u + (v & 0x3FFu));
        } else {
            h = (h << 5) - h + cp;
        }
        i += len;
    }
    return (int32_t)h;
}

void rpg_avatar_url(const char *sid, char url[RPG_AVATAR_URL_BYTES])
{
    static const char k_pre[] = "/api/avatars/";
    size_t n = sizeof(k_pre) - 1u;
    (void)memcpy(url, k_pre, n);
    n += fmt_u64(&url[n], RPG_AVATAR_URL_BYTES - n - 1u, rpg_avatar_seed(sid));
    url[n] = '\0';
}

uint64_t rpg_avatar_seed(const char *sid)
{
    int32_t sh = rpg_sid_hash(sid);
    return (sh < 0) ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
}
