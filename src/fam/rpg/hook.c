/*
 * hook.c - POST /event: a Claude Code hook (spec/rpg.md §4.2, §5; hooks.md).
 *
 * The body must be a JSON object (else 400 INVALID_JSON, nothing
 * recorded anywhere). Its type is the first non-empty of the five type
 * fields, normalised to snake_case; its pane is pane_id/paneId, or
 * tmux_target/tmuxTarget resolved through the current state. A hook with a
 * tool_use_id seen with the same type and session in the last 5 minutes is
 * a duplicate and ignored entirely (CFG_RPG_DEDUP remembered keys, 64-bit
 * hashes; when every entry is younger than 5 minutes the oldest goes).
 *
 * rpg side (this part of the family): the pane session's status, error,
 * active sub-agents and link (§5 table, §6.2), the pane link of hooks.md
 * §6, the bus event as a low-priority `event` on /ws (§10). Personas, XP
 * and companion stats are the family's part 2 (not built yet).
 * Observability side (Decision 9): every hook that is not a duplicate is
 * handed to observability through xfam_hook_record (hooks.md §4-§7), with
 * or without a pane; what happens there never changes this answer, which
 * is always {"success":true,"data":{"received":true},"ok":true}.
 */
#include "fam/rpg/rpg_int.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "fam/shared/xfam.h"
#include "json/read.h"

#define DEDUP_MS (5u * 60u * 1000u)

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    uint64_t key;
    uint64_t at_ms;                     /* 0: free */
} g_dedup[CFG_RPG_DEDUP];
static uint32_t g_dedup_next;

/* Seen in the last 5 minutes? Remembers it when not. */
static bool duplicate(uint64_t key, uint64_t now)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_RPG_DEDUP; i++) {
        if ((g_dedup[i].at_ms != 0u) && (g_dedup[i].key == key) &&
            ((now - g_dedup[i].at_ms) < DEDUP_MS)) {
            return true;
        }
    }
    g_dedup[g_dedup_next].key = key;
    g_dedup[g_dedup_next].at_ms = (now == 0u) ? 1u : now;
    g_dedup_next = (g_dedup_next + 1u) % (uint32_t)CFG_RPG_DEDUP;
    return false;
}

static uint64_t fnv_more(uint64_t h0, const char *p, size_t n)
{
    uint64_t h = h0;
    size_t i;
    for (i = 0u; i < n; i++) {
        h ^= (uint64_t)(unsigned char)p[i];
        h *= 1099511628211uLL;
    }
    return h;
}

/* A member's token, the first present of the names; -1 when none. */
static int member(const json_doc *d, const char *const *names, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        int t = json_obj_get(d, json_root(d), names[i]);
        if ((t >= 0) && !json_is_null(d, t)) {
            return t;
        }
    }
    return -1;
}

/* A string member's decoded text into buf; "" when absent or not a string. */
static size_t str_of(const json_doc *d, int t, char *buf, size_t cap)
{
    size_t n = 0u;
    if ((t < 0) || (json_type(d, t) != JSON_STRING) ||
        (json_get_str(d, t, buf, cap, &n) != ST_OK)) {
        n = 0u;
    }
    buf[n] = '\0';
    return n;
}

/* §5 step 1: PreToolUse -> pre_tool_use; a value with '_' is only lower-cased. */
static size_t normalise(const char *in, size_t n, char *out, size_t cap)
{
    size_t k = 0u;
    size_t i;
    bool snake = memchr(in, '_', n) != NULL;
    for (i = 0u; (i < n) && ((k + 2u) < cap); i++) {
        char c = in[i];
        if ((c >= 'A') && (c <= 'Z')) {
            if (!snake && (i > 0u)) {
                out[k] = '_';
                k++;
            }
            /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
            c = (char)(c + ('a' - 'A'));
        }
        out[k] = c;
        k++;
    }
    out[k] = '\0';
    return k;
}

/* §5 step 4: success of a tool, and its output text (into out). */
static bool tool_success(const json_doc *d, char *out, size_t cap, size_t *out_n)
{
    int root = json_root(d);
    int t = json_obj_get(d, root, "success");
    int resp = json_obj_get(d, root, "tool_response");
    bool ok = true;
    bool b = false;
    int e = json_obj_get(d, root, "error");
    if ((t >= 0) && (json_get_bool(d, t, &b) == ST_OK)) {
        ok = b;
    } else if ((e >= 0) && (json_type(d, e) == JSON_STRING) && (json_raw(d, e).n > 2u)) {
        ok = false;
    } else if ((resp >= 0) && (json_type(d, resp) == JSON_OBJECT)) {
        int ie = json_obj_get(d, resp, "is_error");
        if ((ie >= 0) && (json_get_bool(d, ie, &b) == ST_OK) && b) {
            ok = false;
        }
    } else {
        /* true */
    }
    *out_n = 0u;
    t = json_obj_get(d, root, "output");
    if ((t >= 0) && (json_type(d, t) == JSON_STRING)) {
        *out_n = str_of(d, t, out, cap);
    } else if ((resp >= 0) && (json_type(d, resp) == JSON_STRING)) {
        *out_n = str_of(d, resp, out, cap);
    } else if ((resp >= 0) && (json_type(d, resp) == JSON_OBJECT)) {
        int so = json_obj_get(d, resp, "stdout");
        int se = json_obj_get(d, resp, "stderr");
        int er = json_obj_get(d, resp, "error");
        if ((so >= 0) && (json_type(d, so) == JSON_STRING)) {
            size_t n = str_of(d, so, out, cap);
            if ((se >= 0) && (json_type(d, se) == JSON_STRING) && ((n + 2u) < cap)) {
                out[n] = '\n';
                n++;
                n += str_of(d, se, out + n, cap - n);
            }
            *out_n = n;
        } else if ((er >= 0) && (json_type(d, er) == JSON_STRING)) {
            *out_n = str_of(d, er, out, cap);
        } else {
            /* no text */
        }
    } else {
        /* no text */
    }
    return ok;
}

static void clear_error(rpg_csession *cs)
{
    cs->has_error = false;
}

static void sub_add(rpg_csession *cs, const char *id, const char *desc, uint64_t now_ms)
{
    if (cs->nsub >= RPG_SUBAGENTS) {
        (void)memmove(&cs->sub[0], &cs->sub[1], sizeof cs->sub[0] * (RPG_SUBAGENTS - 1u));
        cs->nsub--;
    }
    (void)memcpy(cs->sub[cs->nsub].id, id, strlen(id) + 1u);
    (void)memcpy(cs->sub[cs->nsub].desc, desc, strlen(desc) + 1u);
    cs->sub[cs->nsub].started_ms = now_ms;
    cs->nsub++;
}

static void sub_remove(rpg_csession *cs, const char *id)
{
    uint32_t i;
    for (i = 0u; i < cs->nsub; i++) {
        if (strcmp(cs->sub[i].id, id) == 0) {
            (void)memmove(&cs->sub[i], &cs->sub[i + 1u],
                          sizeof cs->sub[0] * (cs->nsub - i - 1u));
            cs->nsub--;
            return;
        }
    }
}

/* The raw text of a member (a JSON value as received), or a NULL view. */
static strv raw_of(const json_doc *d, const char *const *names, size_t n)
{
    /* the first present, an explicit null included (xfam.h: a NULL view
     * only for an absent field; observability maps null as upstream does) */
    strv v = STRV_NULL;
    size_t i;
    for (i = 0u; (i < n) && (v.p == NULL); i++) {
        int t = json_obj_get(d, json_root(d), names[i]);
        if (t >= 0) {
            v = json_raw(d, t);
        }
    }
    return v;
}

static strv raw_one(const json_doc *d, const char *name)
{
    return raw_of(d, &name, 1u);
}

static void to_obs(const json_doc *d, const char *type, size_t type_n, uint64_t wall_us)
{
    static const char *const k_sid[] = { "session_id", "sessionId" };
    static const char *const k_tool[] = { "tool_name", "toolName" };
    xfam_hook hk;
    int t = json_obj_get(d, json_root(d), "pid");
    int64_t pid = 0;
    (void)memset(&hk, 0, sizeof hk);
    hk.type = strv_make(type, type_n);
    hk.session_id = raw_of(d, k_sid, 2u);
    hk.tool_name = raw_of(d, k_tool, 2u);
    hk.tool_input = raw_one(d, "tool_input");
    hk.tool_response = raw_one(d, "tool_response");
    hk.error = raw_one(d, "error");
    hk.prompt = raw_one(d, "prompt");
    hk.transcript_path = raw_one(d, "transcript_path");
    if ((t >= 0) && (json_type(d, t) == JSON_NUMBER) && (json_get_i64(d, t, &pid) == ST_OK) &&
        (pid >= 1) && (pid <= 2147483647)) {
        hk.has_pid = true;
        hk.pid = pid;
    }
    hk.wall_us = wall_us;
    xfam_hook_record(&hk);
}

/* A type of the §5 table (the rest is ignored by rpg). */
static bool hook_type_known(const char *type)
{
    return (strcmp(type, "pre_tool_use") == 0) || (strcmp(type, "post_tool_use") == 0) ||
           (strcmp(type, "user_prompt_submit") == 0) || (strcmp(type, "user_prompt") == 0) ||
           (strcmp(type, "stop") == 0) || (strcmp(type, "notification") == 0);
}

/* The bus event of a processed hook (§10), as an `event` on /ws. */
static void bus_event(const char *type, uint32_t pane)
{
    const char *ev = NULL;
    if (strcmp(type, "pre_tool_use") == 0) {
        ev = "hook:pre_tool_use";
    } else if (strcmp(type, "post_tool_use") == 0) {
        ev = "hook:post_tool_use";
    } else if ((strcmp(type, "user_prompt_submit") == 0) || (strcmp(type, "user_prompt") == 0)) {
        ev = "hook:user_prompt";
    } else if (strcmp(type, "stop") == 0) {
        ev = "hook:stop";
    } else if (strcmp(type, "notification") == 0) {
        ev = "hook:notification";
    } else {
        /* ignored types publish nothing */
    }
    if (ev != NULL) {
        rpg_ws_event(ev, pane, type);
    }
}

void rpg_post_event(hctx *h)
{
    static const char *const k_type[] = {
        "hook_event_name", "hookType", "hook_type", "event_type", "eventType"
    };
    static const char *const k_pane[] = { "pane_id", "paneId" };
    static const char *const k_target[] = { "tmux_target", "tmuxTarget" };
    static const char *const k_sid[] = { "session_id", "sessionId" };
    static const char *const k_tuid[] = { "tool_use_id", "toolUseId" };
    static const char *const k_tool[] = { "tool_name", "toolName" };
    json_doc d;
    json_err e;
    char raw_type[64];
    char type[80];
    char sid[RPG_SID_BYTES];
    char tuid[128];
    char tool[64];
    char buf[64];
    size_t type_n = 0u;
    size_t sid_n;
    size_t i;
    rpg_pane *p = NULL;
    uint64_t now = clock_mono_ms();
    uint64_t wall_us = clock_wall_us();
    uint32_t pn = 0u;
    (void)memset(&d, 0, sizeof(d));     /* released below even when never parsed */
    if ((h->body.n == 0u) || (json_parse(&d, h->body.p, h->body.n, &e) != ST_OK) ||
        (json_type(&d, json_root(&d)) != JSON_OBJECT)) {
        json_release(&d);
        rpg_error(h, 400, "INVALID_JSON", "Invalid JSON body");
        return;
    }
    /* §5 step 1 */
    raw_type[0] = '\0';
    for (i = 0u; i < (sizeof(k_type) / sizeof(k_type[0])); i++) {
        int t = json_obj_get(&d, json_root(&d), k_type[i]);
        if (str_of(&d, t, raw_type, sizeof raw_type) > 0u) {
            break;
        }
    }
    if (raw_type[0] == '\0') {
        (void)memcpy(raw_type, "unknown", 8u);
    }
    type_n = normalise(raw_type, strlen(raw_type), type, sizeof type);
    sid_n = str_of(&d, member(&d, k_sid, 2u), sid, sizeof sid);
    /* §5 step 2 */
    if (str_of(&d, member(&d, k_pane, 2u), buf, sizeof buf) > 0u) {
        if (rpg_parse_id(strv_from_cstr(buf), '%', &pn)) {
            p = rpg_pane_find(pn);
            if (p == NULL) {
                pn = 0u;
            }
        }
    } else if (str_of(&d, member(&d, k_target, 2u), buf, sizeof buf) > 0u) {
        p = rpg_pane_by_target(strv_from_cstr(buf));
    } else {
        /* no pane */
    }
    /* §5 step 3 */
    if (str_of(&d, member(&d, k_tuid, 2u), tuid, sizeof tuid) > 0u) {
        uint64_t key = 1469598103934665603uLL;
        key = fnv_more(key, type, type_n);
        key = fnv_more(key, ":", 1u);
        key = fnv_more(key, sid, sid_n);
        key = fnv_more(key, ":", 1u);
        key = fnv_more(key, tuid, strlen(tuid));
        if (duplicate(key, now)) {
            json_release(&d);
            rpg_ok_raw(h, "{\"received\":true}");
            return;
        }
    }
    /* Decision 9: observability's side first, in this hook's order */
    to_obs(&d, type, type_n, wall_us);
    (void)str_of(&d, member(&d, k_tool, 2u), tool, sizeof tool);
    if (p != NULL) {
        rpg_csession *cs = rpg_cs_of(p);
        if (sid_n > 0u) {
            rpg_link_record(p->id, strv_make(sid, sid_n));
        }
        if (cs != NULL) {
            if (sid_n > 0u) {
                rpg_cs_link(cs, strv_make(sid, sid_n));
            }
            if (hook_type_known(type)) {
                /* §6.2: before the status change, so its pane_update has it */
                cs->hook_wall_ms = wall_us / 1000u;
                cs->hook_mono_ms = (now == 0u) ? 1u : now;
            }
            if (strcmp(type, "pre_tool_use") == 0) {
                clear_error(cs);
                if (strcmp(tool, "Task") == 0) {
                    char desc[128];
                    int ti = json_obj_get(&d, json_root(&d), "tool_input");
                    desc[0] = '\0';
                    if ((ti >= 0) && (json_type(&d, ti) == JSON_OBJECT)) {
                        (void)str_of(&d, json_obj_get(&d, ti, "description"), desc, sizeof desc);
                    }
                    sub_add(cs, tuid, desc, wall_us / 1000u);
                }
                rpg_set_status(cs, RPG_ST_WORKING, RPG_SRC_HOOK);
            } else if (strcmp(type, "post_tool_use") == 0) {
                static char s_out[RPG_ERR_BYTES * 4u];
                size_t on = 0u;
                bool ok = tool_success(&d, s_out, sizeof s_out, &on);
                if (strcmp(tool, "Task") == 0) {
                    sub_remove(cs, tuid);
                }
                if (!ok) {
                    size_t k = (on < (RPG_ERR_BYTES - 1u)) ? on : (RPG_ERR_BYTES - 1u);
                    while ((k > 0u) && (k < on) && ((((unsigned char)s_out[k]) & 0xC0u) == 0x80u)) {
                        k--;
                    }
                    cs->has_error = true;
                    (void)memcpy(cs->err_tool, tool, strlen(tool) + 1u);
                    (void)memcpy(cs->err_msg, s_out, k);
                    cs->err_msg[k] = '\0';
                    cs->err_wall_ms = wall_us / 1000u;
                    cs->err_class = rpg_error_class(tool, strlen(tool), s_out, on);
                    cs->error_mono_ms = now;
                    rpg_set_status(cs, RPG_ST_ERROR, RPG_SRC_HOOK);
                } else {
                    clear_error(cs);
                }
            } else if ((strcmp(type, "user_prompt_submit") == 0) ||
                       (strcmp(type, "user_prompt") == 0)) {
                clear_error(cs);
                rpg_set_status(cs, RPG_ST_TYPING, RPG_SRC_HOOK);
            } else if (strcmp(type, "stop") == 0) {
                clear_error(cs);
                cs->nsub = 0u;
                rpg_set_status(cs, RPG_ST_IDLE, RPG_SRC_HOOK);
            } else {
                /* notification and the rest: no status effect */
            }
        }
    }
    bus_event(type, (p != NULL) ? p->id : RPG_NO_PANE);
    json_release(&d);
    rpg_ok_raw(h, "{\"received\":true}");
}

void rpg_hooks_init(void)
{
    xfam_set_session_pid(rpg_session_pid);
}
