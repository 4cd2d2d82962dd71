/*
 * tmux.c - the rpg family's window and pane actions (spec/rpg.md §4.3,
 * §4.4; GET /api/windows is ws.c's, a producer over the state).
 *
 * Each action is one tmux child (net/child.h; several tmux commands joined
 * with ";" where the spec sends more than one, so new-claude and a
 * submitted prompt are one child each), run from the loop: the handler
 * validates the request, checks the id against the current state and
 * starts the child, and its answer is given later (hctx_later), when the
 * child has ended (http_answer_later). An id the state does not know
 * first waits for an immediate poll (§3.1), then is 404 if still unknown.
 * refresh is two children 50 ms apart (send-keys C-l, then capture-pane).
 * A child that fails names its tmux error in the *_FAILED message (a
 * target tmux no longer finds is 404); one that hangs is killed at its
 * deadline (CFG_CHILD_DEADLINE_MS) and answered *_FAILED; a full child
 * pool, or all RPG_ACTIONS action slots busy, is 503 with Retry-After.
 * After a successful action the state is polled at once, so the change is
 * broadcast without waiting for the next poll. Arguments go to tmux as
 * argv (no shell). On a port without processes every action is 501
 * UNSUPPORTED (§1.5).
 *
 * The refresh answer carries the last lines of the capture that fit one
 * response (tx, CFG_BUF_BYTES); the terminal_output broadcast carries the
 * whole capture.
 */
#include "fam/rpg/rpg_int.h"

#include <string.h>

#include "core/fmt.h"
#include "core/log.h"
#include "core/timer.h"
#include "json/read.h"
#include "net/child.h"
#include "port.h"

#define RPG_ACTIONS 32u
#define REFRESH_LINES "-100"
#define REFRESH_WAIT_MS 50u
#define PROMPT_MAX_CHARS 100000u
#define NAME_MAX_CHARS 200u

typedef enum {
    A_CREATE = 0, A_RENAME, A_CLOSE_WIN, A_NEW_PANE, A_NEW_CLAUDE,
    A_PROMPT, A_SIGNAL, A_REFRESH, A_CLOSE_PANE, A_DISMISS
} act_kind;

typedef struct {
    bool used;
    uint32_t token;
    act_kind kind;
    uint32_t id;                        /* the window or pane */
    bool refresh_capture;               /* refresh: the capture step */
    timer_id wait;
} act;

static act g_act[RPG_ACTIONS];

/* What the failure codes and not-found messages are per action. */
static const char *const k_fail[] = {
    "CREATE_FAILED", "RENAME_FAILED", "CLOSE_FAILED", "SPLIT_FAILED", "CLAUDE_FAILED",
    "SEND_FAILED", "SIGNAL_FAILED", "REFRESH_FAILED", "CLOSE_FAILED", "NOT_FOUND"
};

static bool is_window_act(act_kind k)
{
    return (k == A_RENAME) || (k == A_CLOSE_WIN) || (k == A_NEW_PANE) || (k == A_NEW_CLAUDE);
}

/* ---- the body ------------------------------------------------------------------- */

/* An optional string member into buf (NUL-terminated): *has false when
 * absent or null; false when answered 400 (wrong type, too long). */
static bool opt_str(hctx *h, const json_doc *d, const char *key, char *buf, size_t cap,
                    size_t max_chars, bool *has)
{
    int t = json_obj_get(d, json_root(d), key);
    size_t n = 0u;
    *has = false;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if ((json_type(d, t) != JSON_STRING) || (json_get_str(d, t, buf, cap, &n) != ST_OK) ||
        (rpg_chars(buf, n) > max_chars)) {
        char msg[96];
        size_t k = 0u;
        (void)memcpy(msg, "Invalid ", 8u);
        k = 8u;
        (void)memcpy(msg + k, key, strlen(key) + 1u);
        rpg_error(h, 400, "VALIDATION_ERROR", msg);
        return false;
    }
    buf[n] = '\0';
    *has = true;
    return true;
}

/* ---- running the child ------------------------------------------------------------ */

/* The child's, the timer's and the poll waiter's ctx is the action's slot;
 * a later step's state is this (r: the child's result, or NULL). */
typedef struct {
    act *a;
    const child_result *r;
} step_arg;

static void act_free(act *a)
{
    if (a->wait != TIMER_NONE) {
        timer_cancel(a->wait);
        a->wait = TIMER_NONE;
    }
    a->used = false;
}

/* The first line of tmux's stderr, for a *_FAILED message. */
static void tmux_message(const child_result *r, char *out, size_t cap)
{
    const char *err = r->err;
    size_t n = 0u;
    if (r->st == ST_TIMEOUT) {
        (void)memcpy(out, "tmux did not answer in time", 28u);
        return;
    }
    while ((n < r->err_n) && (err[n] != '\n') && (n < (cap - 1u))) {
        n++;
    }
    if (n == 0u) {
        static const char k[] = "tmux command failed";
        (void)memcpy(out, k, sizeof k);
        return;
    }
    (void)memcpy(out, r->err, n);
    out[n] = '\0';
}

static bool has_text(const char *s, size_t n, const char *t)
{
    size_t m = strlen(t);
    size_t i;
    for (i = 0u; (i + m) <= n; i++) {
        if (strv_starts_with_cstr(strv_make(s + i, n - i), t)) {
            return true;
        }
    }
    return false;
}

static void answer_fail(hctx *h, const act *a, const child_result *r)
{
    char msg[200];
    if ((r->st == ST_OK) && (has_text(r->err, r->err_n, "can't find pane") ||
                             has_text(r->err, r->err_n, "can't find window"))) {
        rpg_error(h, 404, "NOT_FOUND", is_window_act(a->kind) ? "Window not found" :
                  "Pane not found");
        return;
    }
    if ((r->st == ST_OK) && (a->kind == A_CREATE) &&
        has_text(r->err, r->err_n, "can't find session")) {
        /* "can't find session: <name>" -> the spec's message */
        static const char k_pre[] = "tmux session not found: ";
        const char *p = r->err;
        size_t n = 0u;
        size_t from;
        size_t at = sizeof(k_pre) - 1u;
        while ((n < r->err_n) && (p[n] != ':')) {
            n++;
        }
        from = n + 2u;
        n = (from < r->err_n) ? (r->err_n - from) : 0u;
        while ((n > 0u) && ((p[(from + n) - 1u] == '\n') || (p[(from + n) - 1u] == '\r'))) {
            n--;
        }
        if ((n > 0u) && (p[from] == '=')) {
            from++;
            n--;
        }
        (void)memcpy(msg, k_pre, at);
        if (n > (sizeof(msg) - at - 1u)) {
            n = sizeof(msg) - at - 1u;
        }
        (void)memcpy(msg + at, p + from, n);
        msg[at + n] = '\0';
        rpg_error(h, 404, "NOT_FOUND", msg);
        return;
    }
    tmux_message(r, msg, sizeof msg);
    rpg_error(h, 400, k_fail[a->kind], msg);
}

/* The id tmux printed (-P -F): "@9" or "%12". */
static void answer_id(hctx *h, const char *key, const child_result *r)
{
    json_w w;
    const char *out = r->out;
    size_t n = 0u;
    while ((n < r->out_n) && (out[n] != '\n') && (n < 16u)) {
        n++;
    }
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_kstrn(&w, key, r->out, n);
    json_w_obj_end(&w);
    rpg_ok_end(h, &w);
}

/* Write the refresh answer: the last lines of the capture that fit. */
static void answer_refresh(hctx *h, const child_result *r)
{
    json_w w;
    const char *out = r->out;
    size_t n = r->out_n;
    size_t from = 0u;
    size_t budget = ((size_t)CFG_BUF_BYTES / 8u);   /* escaped, at most 6x */
    if ((n > 0u) && (out[n - 1u] == '\n')) {
        n--;
    }
    if (n > budget) {
        from = n - budget;
        while ((from < n) && (out[from - 1u] != '\n')) {
            from++;
        }
    }
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "refreshed", true);
    json_w_kstrn(&w, "content", out + from, n - from);
    json_w_obj_end(&w);
    rpg_ok_end(h, &w);
}

static void step(hctx *h, const void *state);
static void done_poll(void *ctx);

static void finish(hctx *h, const void *state)
{
    const step_arg *sa = (const step_arg *)state;
    act *a = sa->a;
    const child_result *r = sa->r;
    bool ok = (r->st == ST_OK) && (r->code == 0);
    if (!ok) {
        answer_fail(h, a, r);
    } else if ((a->kind == A_REFRESH) && !a->refresh_capture) {
        /* C-l went: the capture follows after REFRESH_WAIT_MS */
        a->refresh_capture = true;
        a->token = hctx_later(h);
        return;
    } else {
        switch (a->kind) {
        case A_CREATE:
            answer_id(h, "windowId", r);
            break;
        case A_NEW_PANE:
        case A_NEW_CLAUDE:
            answer_id(h, "paneId", r);
            break;
        case A_RENAME:
        case A_CLOSE_WIN:
            rpg_ok_raw(h, "{\"success\":true}");
            break;
        case A_PROMPT:
        case A_SIGNAL:
            rpg_ok_raw(h, "{\"sent\":true}");
            break;
        case A_REFRESH: {
            const char *out = r->out;
            rpg_ws_terminal(a->id, out, ((r->out_n > 0u) && (out[r->out_n - 1u] == '\n')) ?
                            (r->out_n - 1u) : r->out_n, true);
            answer_refresh(h, r);
            break;
        }
        case A_CLOSE_PANE:
        default:
            rpg_ok_raw(h, "{\"closed\":true}");
            break;
        }
        (void)rpg_poll_now(NULL, NULL);
    }
    act_free(a);
}

static void refresh_go(void *ctx);

static void child_done(void *ctx, const child_result *r)
{
    act *a = (act *)ctx;
    step_arg sa;
    if (!a->used) {
        return;
    }
    sa.a = a;
    sa.r = r;
    if (!http_answer_later(a->token, finish, &sa)) {
        act_free(a);        /* the client left */
        return;
    }
    if (a->used && (a->kind == A_REFRESH) && a->refresh_capture) {
        a->wait = timer_start(REFRESH_WAIT_MS, refresh_go, a);
        if (a->wait == TIMER_NONE) {
            refresh_go(a);
        }
    }
}

/* Append s to the argument vector being built. */
static void arg(const char **argv, size_t *k, const char *s)
{
    argv[*k] = s;
    *k += 1u;
}

/* Start the child for a's current step; the answer is given later. */
static void run(hctx *h, act *a, const char *const *argv)
{
    child_spec sp;
    st_t st;
    (void)memset(&sp, 0, sizeof sp);
    sp.argv = argv;
    sp.done = child_done;
    sp.ctx = a;
    st = child_run(&sp, NULL);
    if (st == ST_OK) {
        a->token = hctx_later(h);
        return;
    }
    if ((st == ST_FULL) || (st == ST_NOMEM)) {
        rpg_error(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
    } else {
        rpg_error(h, 400, k_fail[a->kind], "tmux could not be run");
    }
    act_free(a);
}

static void refresh_step(hctx *h, const void *state)
{
    const step_arg *sa = (const step_arg *)state;
    act *a = sa->a;
    char target[16];
    const char *argv[16];
    size_t k = 0u;
    target[0] = '%';
    target[1u + fmt_u64(target + 1, 13u, a->id)] = '\0';
    arg(argv, &k, rpg_tmux());
    arg(argv, &k, "capture-pane");
    arg(argv, &k, "-p");
    arg(argv, &k, "-J");
    arg(argv, &k, "-e");
    arg(argv, &k, "-S");
    arg(argv, &k, REFRESH_LINES);
    arg(argv, &k, "-E");
    arg(argv, &k, "-");
    arg(argv, &k, "-t");
    arg(argv, &k, target);
    argv[k] = NULL;
    run(h, a, argv);
}

static void refresh_go(void *ctx)
{
    act *a = (act *)ctx;
    step_arg sa;
    if (!a->used) {
        return;
    }
    a->wait = TIMER_NONE;
    sa.a = a;
    sa.r = NULL;
    if (!http_answer_later(a->token, refresh_step, &sa)) {
        act_free(a);
    }
}

/* ---- the actions ---------------------------------------------------------------- */

/* The signal name -> tmux key (§4.4). */
static const char *signal_key(const char *sig)
{
    if (strcmp(sig, "SIGINT") == 0) {
        return "C-c";
    }
    if (strcmp(sig, "SIGQUIT") == 0) {
        return "C-\\";
    }
    if (strcmp(sig, "SIGTSTP") == 0) {
        return "C-z";
    }
    return sig;
}

/* Build and start the child of action a from the request (the handler's
 * first call, or again after an immediate poll). */
static void start(hctx *h, act *a)
{
    static char s_name[RPG_WNAME_BYTES + 8u];
    static char s_sess[RPG_SESSION_BYTES + 8u];
    const char *argv[24];
    char target[16];
    size_t k = 0u;
    json_doc d;
    bool has = false;
    bool submit = true;
    char *text = NULL;
    size_t text_n = 0u;
    if (is_window_act(a->kind)) {
        target[0] = '@';
    } else {
        target[0] = '%';
    }
    target[1u + fmt_u64(target + 1, 13u, a->id)] = '\0';
    arg(argv, &k, rpg_tmux());
    switch (a->kind) {
    case A_CREATE:
        if (!rpg_body_obj(h, &d)) {
            act_free(a);
            return;
        }
        s_sess[0] = '=';
        if (!opt_str(h, &d, "sessionName", s_sess + 1, sizeof(s_sess) - 3u, 256u, &has)) {
            json_release(&d);
            act_free(a);
            return;
        }
        if (!has || (s_sess[1] == '\0')) {
            (void)memcpy(s_sess + 1, "main", 5u);
        }
        (void)memcpy(s_sess + strlen(s_sess), ":", 2u);
        if (!opt_str(h, &d, "windowName", s_name, sizeof s_name, NAME_MAX_CHARS, &has)) {
            json_release(&d);
            act_free(a);
            return;
        }
        json_release(&d);
        arg(argv, &k, "new-window");
        arg(argv, &k, "-t");
        arg(argv, &k, s_sess);
        arg(argv, &k, "-P");
        arg(argv, &k, "-F");
        arg(argv, &k, "#{window_id}");
        if (has && (s_name[0] != '\0')) {
            arg(argv, &k, "-n");
            arg(argv, &k, s_name);
        }
        break;
    case A_RENAME:
        if (!rpg_body_obj(h, &d)) {
            act_free(a);
            return;
        }
        if (!opt_str(h, &d, "windowName", s_name, sizeof s_name, NAME_MAX_CHARS, &has) ||
            !has || (s_name[0] == '\0')) {
            if (!h->responded) {
                rpg_error(h, 400, "VALIDATION_ERROR", "windowName must be 1-200 characters");
            }
            json_release(&d);
            act_free(a);
            return;
        }
        json_release(&d);
        arg(argv, &k, "rename-window");
        arg(argv, &k, "-t");
        arg(argv, &k, target);
        arg(argv, &k, "--");
        arg(argv, &k, s_name);
        break;
    case A_CLOSE_WIN:
        arg(argv, &k, "kill-window");
        arg(argv, &k, "-t");
        arg(argv, &k, target);
        break;
    case A_NEW_PANE:
    case A_NEW_CLAUDE:
        arg(argv, &k, "split-window");
        arg(argv, &k, "-t");
        arg(argv, &k, target);
        arg(argv, &k, "-P");
        arg(argv, &k, "-F");
        arg(argv, &k, "#{pane_id}");
        if (a->kind == A_NEW_CLAUDE) {
            arg(argv, &k, ";");
            arg(argv, &k, "send-keys");
            arg(argv, &k, "-t");
            arg(argv, &k, target);
            arg(argv, &k, "claude");
            arg(argv, &k, ";");
            arg(argv, &k, "send-keys");
            arg(argv, &k, "-t");
            arg(argv, &k, target);
            arg(argv, &k, "Enter");
        }
        break;
    case A_PROMPT: {
        size_t cap = 0u;
        int t;
        if (!rpg_body_obj(h, &d)) {
            act_free(a);
            return;
        }
        t = json_obj_get(&d, json_root(&d), "prompt");
        text = http_render_scratch(&cap);
        if ((t < 0) || (json_type(&d, t) != JSON_STRING) ||
            (json_get_str(&d, t, text, cap - 1u, &text_n) != ST_OK) ||
            (rpg_chars(text, text_n) > PROMPT_MAX_CHARS)) {
            json_release(&d);
            rpg_error(h, 400, "VALIDATION_ERROR", "prompt must be a string of at most 100000 characters");
            act_free(a);
            return;
        }
        text[text_n] = '\0';
        t = json_obj_get(&d, json_root(&d), "submit");
        if ((t >= 0) && !json_is_null(&d, t) && (json_get_bool(&d, t, &submit) != ST_OK)) {
            json_release(&d);
            rpg_error(h, 400, "VALIDATION_ERROR", "submit must be a boolean");
            act_free(a);
            return;
        }
        json_release(&d);
        if (text_n > 0u) {
            arg(argv, &k, "send-keys");
            arg(argv, &k, "-t");
            arg(argv, &k, target);
            arg(argv, &k, "--");
            arg(argv, &k, text);
        }
        if (submit) {
            if (k > 1u) {
                arg(argv, &k, ";");
            }
            arg(argv, &k, "send-keys");
            arg(argv, &k, "-t");
            arg(argv, &k, target);
            arg(argv, &k, "Enter");
        }
        if (k == 1u) {
            rpg_ok_raw(h, "{\"sent\":true}");   /* nothing to send */
            act_free(a);
            return;
        }
        break;
    }
    case A_SIGNAL: {
        static char s_sig[64];
        const char *key;
        if (!rpg_body_obj(h, &d)) {
            act_free(a);
            return;
        }
        if (!opt_str(h, &d, "signal", s_sig, sizeof s_sig, 32u, &has) || !has ||
            (s_sig[0] == '\0')) {
            if (!h->responded) {
                rpg_error(h, 400, "VALIDATION_ERROR", "signal must be a non-empty string");
            }
            json_release(&d);
            act_free(a);
            return;
        }
        json_release(&d);
        key = signal_key(s_sig);
        arg(argv, &k, "send-keys");
        arg(argv, &k, "-t");
        arg(argv, &k, target);
        arg(argv, &k, "--");
        arg(argv, &k, key);
        break;
    }
    case A_REFRESH:
        arg(argv, &k, "send-keys");
        arg(argv, &k, "-t");
        arg(argv, &k, target);
        arg(argv, &k, "C-l");
        break;
    case A_DISMISS: {
        /* no child: waiting -> idle (§4.4) */
        rpg_csession *cs = rpg_cs_of(rpg_pane_find(a->id));
        if ((cs != NULL) && (cs->status == RPG_ST_WAITING)) {
            rpg_set_status(cs, RPG_ST_IDLE, RPG_SRC_HOOK);
        }
        rpg_ok_raw(h, "{\"dismissed\":true}");
        act_free(a);
        return;
    }
    case A_CLOSE_PANE:
    default:
        arg(argv, &k, "kill-pane");
        arg(argv, &k, "-t");
        arg(argv, &k, target);
        break;
    }
    argv[k] = NULL;
    run(h, a, argv);
}

/* After an immediate poll: the id is known now, or 404. */
static void step(hctx *h, const void *state)
{
    const step_arg *sa = (const step_arg *)state;
    act *a = sa->a;
    if (is_window_act(a->kind) ? (rpg_window_find(a->id) == NULL) :
        (rpg_pane_find(a->id) == NULL)) {
        rpg_error(h, 404, "NOT_FOUND", is_window_act(a->kind) ? "Window not found" :
                  "Pane not found");
        act_free(a);
        return;
    }
    start(h, a);
}

static void done_poll(void *ctx)
{
    act *a = (act *)ctx;
    step_arg sa;
    if (!a->used) {
        return;
    }
    sa.a = a;
    sa.r = NULL;
    if (!http_answer_later(a->token, step, &sa)) {
        act_free(a);
    }
}

static void begin(hctx *h, act_kind kind)
{
    uint32_t slot;
    act *a = NULL;
    uint32_t id = 0u;
    bool known = true;
    const char *tmux = rpg_tmux();
    if (!child_supported()) {
        rpg_error(h, 501, "UNSUPPORTED", "tmux is not supported on this platform");
        return;
    }
    if (kind != A_CREATE) {
        strv p = hctx_param(h, 0u);
        bool win = is_window_act(kind);
        if (!rpg_parse_id(p, win ? '@' : '%', &id)) {
            rpg_error(h, 404, "NOT_FOUND", win ? "Window not found" : "Pane not found");
            return;
        }
        known = win ? (rpg_window_find(id) != NULL) : (rpg_pane_find(id) != NULL);
    }
    if (tmux[0] == '\0') {
        if (kind == A_DISMISS) {
            rpg_error(h, 404, "NOT_FOUND", "Pane not found");
        } else {
            rpg_error(h, 400, k_fail[kind], "tmux is not installed");
        }
        return;
    }
    for (slot = 0u; slot < RPG_ACTIONS; slot++) {
        if (!g_act[slot].used) {
            a = &g_act[slot];
            break;
        }
    }
    if (a == NULL) {
        rpg_error(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
        return;
    }
    (void)memset(a, 0, sizeof *a);
    a->used = true;
    a->kind = kind;
    a->id = id;
    a->wait = TIMER_NONE;
    if (known) {
        start(h, a);
        return;
    }
    a->token = hctx_later(h);
    if (!rpg_poll_now(done_poll, a)) {
        h->later = false;
        rpg_error(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
        act_free(a);
    }
}

void rpg_window_create(hctx *h)
{
    begin(h, A_CREATE);
}

void rpg_window_rename(hctx *h)
{
    begin(h, A_RENAME);
}

void rpg_window_close(hctx *h)
{
    begin(h, A_CLOSE_WIN);
}

void rpg_window_new_pane(hctx *h)
{
    begin(h, A_NEW_PANE);
}

void rpg_window_new_claude(hctx *h)
{
    begin(h, A_NEW_CLAUDE);
}

void rpg_pane_prompt(hctx *h)
{
    begin(h, A_PROMPT);
}

void rpg_pane_signal(hctx *h)
{
    begin(h, A_SIGNAL);
}

void rpg_pane_refresh(hctx *h)
{
    begin(h, A_REFRESH);
}

void rpg_pane_close(hctx *h)
{
    begin(h, A_CLOSE_PANE);
}

void rpg_pane_dismiss(hctx *h)
{
    begin(h, A_DISMISS);
}
