/*
 * hooks_merge.c - roost's handlers in Claude Code's settings document (the
 * contract: hooks_merge.h).
 *
 * Implementation notes
 * - Values are copied token by token without recursion: emit() keeps its
 *   own stack, as deep as the reader allows (CFG_JSON_MAX_DEPTH).
 * - One walk, event_walk(), both decides and writes: called without a
 *   writer it only counts (roost's handlers, exact ones, groups kept and
 *   dropped), so what is dropped as "left empty" is known before its key
 *   is written, and the same code decides both times.
 * - Install puts the wanted handler in place of the first of roost's
 *   handlers of an event (in whatever group holds it), removes the others,
 *   and appends a group when the event has none; a group, an event or the
 *   `hooks` object that only roost's handlers filled goes with them.
 */
#include "app/hooks_merge.h"

#include <stdio.h>
#include <string.h>

#include "app/hooks_cli.h"

/* hooks.md §1: the rpg installer's set, and SessionStart so observability
 * sees session starts. */
const char *const hooks_events[HOOKS_EVENTS] = {
    "PreToolUse", "PostToolUse", "Stop", "UserPromptSubmit", "Notification", "SessionStart"
};
#define EV_COUNT ((size_t)HOOKS_EVENTS)
#define EV_TOOLS 2u         /* the first two take a matcher */
#define CMD_BYTES HOOKS_CMD_BYTES

typedef struct {
    int ours;               /* roost's handlers met */
    int exact;              /* of those, the wanted one exactly */
    int kept;               /* elements of the array as written */
    int dropped;            /* groups dropped: only roost's handlers in them */
} ev_count;

typedef struct {
    int ours[EV_COUNT];
    int exact[EV_COUNT];
    bool present[EV_COUNT]; /* an array under that key */
    int ours_other;         /* roost's handlers under other events */
    int kept;               /* events written */
    int dropped;            /* events dropped: left empty */
} hooks_count;

/* ---- recognising roost's handlers ----------------------------------------- */

static bool word_end(char c)
{
    return (c == '\0') || (c == ' ') || (c == '\t') || (c == '\n') || (c == ';') ||
           (c == '&') || (c == '|');
}

/* The next word of a shell command as sh would read it (quotes and
 * backslashes removed), into out; false when there is none or it does not
 * fit. */
static bool shell_word(const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0u;
    bool ok = (cap > 0u);
    while ((*p == ' ') || (*p == '\t')) {
        p++;
    }
    if (word_end(*p)) {
        return false;
    }
    while (ok && !word_end(*p)) {
        char c = *p;
        char q = '\0';
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((c == '\'') || (c == '"')) {
            q = c;
            p++;
        }
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while (ok && (*p != '\0') && ((q != '\0') ? (*p != q) : !word_end(*p)) &&
               ((q != '\0') || ((*p != '\'') && (*p != '"')))) {
            /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
            if ((*p == '\\') && (q != '\'') && (p[1] != '\0')) {
                p++;
            }
            if ((n + 1u) < cap) {
                out[n] = *p;
                n++;
            } else {
                ok = false;
            }
            p++;
        }
        if (q != '\0') {
            ok = ok && (*p == q);
            if (*p != '\0') {
                p++;
            }
        }
    }
    if (ok) {
        out[n] = '\0';
        *pp = p;
    }
    return ok;
}

/* roost's: a program named roostd whose first argument is `hook`. */
static bool command_is_ours(const char *cmd)
{
    char w[CMD_BYTES];
    const char *p = cmd;
    const char *base;
    if (!shell_word(&p, w, sizeof w)) {
        return false;
    }
    base = strrchr(w, '/');
    if (base == NULL) {
        base = w;
    } else {
        base = &base[1];
    }
    return (strcmp(base, "roostd") == 0) && shell_word(&p, w, sizeof w) &&
           (strcmp(w, "hook") == 0);
}

static bool handler_is_ours(const json_doc *d, int h)
{
    char cmd[CMD_BYTES];
    return (json_type(d, h) == JSON_OBJECT) &&
           (json_get_str(d, json_obj_get(d, h, "command"), cmd, sizeof cmd, NULL) == ST_OK) &&
           command_is_ours(cmd);
}

/* Exactly the handler install writes. */
static bool handler_exact(const json_doc *d, int h, const char *cmd)
{
    int64_t t = 0;
    return (json_obj_len(d, h) == 3) && json_str_eq(d, json_obj_get(d, h, "type"), "command") &&
           json_str_eq(d, json_obj_get(d, h, "command"), cmd) &&
           (json_get_i64(d, json_obj_get(d, h, "timeout"), &t) == ST_OK) &&
           (t == (int64_t)HOOKS_TIMEOUT_S);
}

/* A group's handler array, or -1 when g is not a group. */
static int group_hooks(const json_doc *d, int g)
{
    int hs = json_obj_get(d, g, "hooks");
    return (json_type(d, hs) == JSON_ARRAY) ? hs : -1;
}

int hooks_event_index(const json_doc *d, int key)
{
    size_t i;
    int ev = -1;
    for (i = 0u; (i < EV_COUNT) && (ev < 0); i++) {
        if (json_str_eq(d, key, hooks_events[i])) {
            ev = (int)i;
        }
    }
    return ev;
}

/* The wanted command of event ev. */
static bool cmd_for(const hooks_merge *m, size_t ev, char *buf, size_t cap)
{
    int k = snprintf(buf, cap, "%s hook %s%s", m->prog, hooks_events[ev], m->tail);
    return (k > 0) && ((size_t)k < cap);
}

/* ---- writing ---------------------------------------------------------------- */

/* The value at tok, as it is, without recursion. */
static void emit(json_w *w, const json_doc *d, int tok)
{
    int left[CFG_JSON_MAX_DEPTH + 1];
    bool in_obj[CFG_JSON_MAX_DEPTH + 1];
    int depth = 0;
    int t = tok;
    bool done = false;
    while (!done && (t >= 0) && (t < json_count(d))) {
        json_type_t ty = json_type(d, t);
        strv raw = json_raw(d, t);
        bool value_done = true;
        if ((ty == JSON_OBJECT) || (ty == JSON_ARRAY)) {
            int size = d->toks[t].size;
            if (ty == JSON_OBJECT) {
                json_w_obj_begin(w);
            } else {
                json_w_arr_begin(w);
            }
            if ((size > 0) && (depth <= CFG_JSON_MAX_DEPTH)) {
                in_obj[depth] = (ty == JSON_OBJECT);
                left[depth] = size;
                depth++;
                value_done = false;
            } else if (ty == JSON_OBJECT) {
                json_w_obj_end(w);
            } else {
                json_w_arr_end(w);
            }
        } else if (ty == JSON_STRING) {
            json_w_str_lit(w, raw.p, raw.n);
        } else {
            json_w_raw(w, raw.p, raw.n);
        }
        t++;
        if (!value_done && in_obj[depth - 1]) {
            raw = json_raw(d, t);
            json_w_key_lit(w, raw.p, raw.n);
            t++;
        }
        while (value_done && !done) {
            if (depth == 0) {
                done = true;
            } else {
                left[depth - 1]--;
                if (left[depth - 1] > 0) {
                    if (in_obj[depth - 1]) {
                        raw = json_raw(d, t);
                        json_w_key_lit(w, raw.p, raw.n);
                        t++;
                    }
                    value_done = false;
                } else {
                    depth--;
                    if (in_obj[depth]) {
                        json_w_obj_end(w);
                    } else {
                        json_w_arr_end(w);
                    }
                }
            }
        }
    }
}

static void emit_key(json_w *w, const json_doc *d, int key)
{
    strv raw = json_raw(d, key);
    json_w_key_lit(w, raw.p, raw.n);
}

static void emit_handler(json_w *w, const char *cmd)
{
    json_w_obj_begin(w);
    json_w_kstr(w, "type", "command");
    json_w_kstr(w, "command", cmd);
    json_w_ki64(w, "timeout", (int64_t)HOOKS_TIMEOUT_S);
    json_w_obj_end(w);
}

static void emit_new_group(json_w *w, size_t ev, const char *cmd)
{
    json_w_obj_begin(w);
    if (ev < EV_TOOLS) {
        json_w_kstr(w, "matcher", "*");
    }
    json_w_key(w, "hooks");
    json_w_arr_begin(w);
    emit_handler(w, cmd);
    json_w_arr_end(w);
    json_w_obj_end(w);
}

/* Group g with its handler array hs: roost's handlers removed, the first
 * replaced by the wanted one when cmd is not NULL. */
static void emit_group(json_w *w, const json_doc *d, int g, int hs, const char *cmd)
{
    json_iter it = JSON_ITER_INIT;
    int k;
    int v;
    json_w_obj_begin(w);
    while (json_obj_next(d, g, &it, &k, &v)) {
        emit_key(w, d, k);
        if (v == hs) {
            json_iter hi = JSON_ITER_INIT;
            int h;
            bool placed = (cmd == NULL);
            json_w_arr_begin(w);
            while (json_arr_next(d, hs, &hi, &h)) {
                if (!handler_is_ours(d, h)) {
                    emit(w, d, h);
                } else if (!placed) {
                    emit_handler(w, cmd);
                    placed = true;
                } else {
                    /* another of roost's: removed */
                }
            }
            json_w_arr_end(w);
        } else {
            emit(w, d, v);
        }
    }
    json_w_obj_end(w);
}

/* An event's array arr (-1: absent): counts into *r and, with a writer,
 * writes it. cmd: the wanted handler (install), NULL: remove only. */
static void event_walk(json_w *w, const json_doc *d, int arr, size_t ev, const char *cmd,
                       ev_count *r)
{
    json_iter gi = JSON_ITER_INIT;
    int g;
    bool pending = (cmd != NULL);
    (void)memset(r, 0, sizeof *r);
    if (w != NULL) {
        json_w_arr_begin(w);
    }
    while (json_arr_next(d, arr, &gi, &g)) {
        int hs = group_hooks(d, g);
        json_iter hi = JSON_ITER_INIT;
        int h;
        int ours = 0;
        int other = 0;
        bool takes;
        while ((hs >= 0) && json_arr_next(d, hs, &hi, &h)) {
            if (handler_is_ours(d, h)) {
                ours++;
                if ((cmd != NULL) && handler_exact(d, h, cmd)) {
                    r->exact++;
                }
            } else {
                other++;
            }
        }
        r->ours += ours;
        takes = pending && (ours > 0);
        if ((ours > 0) && (other == 0) && !takes) {
            r->dropped++;               /* left empty */
        } else {
            r->kept++;
            if (w != NULL) {
                if (hs < 0) {
                    emit(w, d, g);
                } else {
                    emit_group(w, d, g, hs, takes ? cmd : NULL);
                }
            }
            pending = pending && !takes;
        }
    }
    if (pending) {
        r->kept++;
        if (w != NULL) {
            emit_new_group(w, ev, cmd);
        }
    }
    if (w != NULL) {
        json_w_arr_end(w);
    }
}

/* The `hooks` object (-1: absent): counts into *r and, with a writer,
 * writes it. */
static void hooks_walk(json_w *w, const hooks_merge *m, const json_doc *d, hooks_count *r)
{
    json_iter it = JSON_ITER_INIT;
    bool seen[EV_COUNT];
    int k;
    int v;
    size_t i;
    (void)memset(r, 0, sizeof *r);
    (void)memset(seen, 0, sizeof seen);
    if (w != NULL) {
        json_w_obj_begin(w);
    }
    while (json_obj_next(d, m->hooks, &it, &k, &v)) {
        int ev = hooks_event_index(d, k);
        char cmd[CMD_BYTES];
        const char *want = NULL;
        ev_count e;
        if (json_type(d, v) != JSON_ARRAY) {
            r->kept++;
            if (w != NULL) {
                emit_key(w, d, k);
                emit(w, d, v);
            }
            continue;
        }
        if (m->install && (ev >= 0) && !seen[ev] && cmd_for(m, (size_t)ev, cmd, sizeof cmd)) {
            want = cmd;
            seen[ev] = true;
            r->present[ev] = true;
        }
        event_walk(NULL, d, v, (ev >= 0) ? (size_t)ev : EV_COUNT, want, &e);
        if (ev >= 0) {
            r->ours[ev] += e.ours;
            r->exact[ev] += e.exact;
        } else {
            r->ours_other += e.ours;
        }
        if ((e.kept == 0) && (e.dropped > 0)) {
            r->dropped++;               /* left empty */
        } else {
            r->kept++;
            if (w != NULL) {
                emit_key(w, d, k);
                event_walk(w, d, v, (ev >= 0) ? (size_t)ev : EV_COUNT, want, &e);
            }
        }
    }
    for (i = 0u; m->install && (i < EV_COUNT); i++) {
        char cmd[CMD_BYTES];
        if (!seen[i] && cmd_for(m, i, cmd, sizeof cmd)) {
            r->kept++;
            if (w != NULL) {
                json_w_key(w, hooks_events[i]);
                json_w_arr_begin(w);
                emit_new_group(w, i, cmd);
                json_w_arr_end(w);
            }
        }
    }
    if (w != NULL) {
        json_w_obj_end(w);
    }
}

/* Would the walk change anything? */
static bool hooks_changed(const hooks_merge *m, const hooks_count *r)
{
    size_t i;
    bool changed = (r->ours_other > 0);
    for (i = 0u; i < EV_COUNT; i++) {
        if (m->install) {
            changed = changed || !r->present[i] || (r->ours[i] != 1) || (r->exact[i] != 1);
        } else {
            changed = changed || (r->ours[i] > 0);
        }
    }
    return changed;
}

void hooks_merge_render(json_w *w, const hooks_merge *m, const json_doc *d, bool drop_hooks)
{
    json_iter it = JSON_ITER_INIT;
    hooks_count r;
    int k;
    int v;
    json_w_obj_begin(w);
    while (json_obj_next(d, json_root(d), &it, &k, &v)) {
        if (v != m->hooks) {
            emit_key(w, d, k);
            emit(w, d, v);
        } else if (!drop_hooks) {
            emit_key(w, d, k);
            hooks_walk(w, m, d, &r);
        } else {
            /* left empty: dropped */
        }
    }
    if ((m->hooks < 0) && m->install) {
        json_w_key(w, "hooks");
        hooks_walk(w, m, d, &r);
    }
    json_w_obj_end(w);
}

bool hooks_merge_plan(const hooks_merge *m, const json_doc *d, bool *drop_hooks)
{
    hooks_count r;
    hooks_walk(NULL, m, d, &r);
    *drop_hooks = !m->install && (r.kept == 0) && (r.dropped > 0);
    return hooks_changed(m, &r);
}
