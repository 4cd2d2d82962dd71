/*
 * hooks.c - a Claude Code hook posted to rpg's POST /event, recorded as
 * observability events (Decision 9, spec/hooks.md §4-§7): the answer to
 * rpg's xfam_hook_record (fam/shared/xfam.h), registered by obs_init.
 * rpg has parsed the body, resolved the type and dropped duplicates; this
 * file maps the hook (§4.2), starts the session implicitly (§4.3), reads
 * the Stop transcript's last message (§5) and records each event with the
 * effects of POST /events (obs_record).
 *
 * Implementation notes:
 * - Each event is recorded by obs_record, in a transaction of its own,
 *   committed (and then broadcast) before the next one is recorded and
 *   before rpg writes its answer: the order of §7 (implicit start, mapped
 *   event, transcript message) holds for the store and for /ws alike, and
 *   nothing rpg acknowledges is left uncommitted. A hook costs one commit
 *   per event (at most three); hooks come one per tool use, not in
 *   bursts that a shared transaction would pay off for.
 * - Validation is POST /events' (§2.1): a session id that is not a string
 *   of 1 to 256 characters (null included: the scripts would have sent
 *   null), a tool_name that is not a string of at most 256 characters
 *   (or null), a tool_input that is not an object (or null), an error that
 *   is not a string (or null) or an event whose `event` message does not
 *   fit its room in the render scratch is not recorded: logged with a
 *   running count (so also counted in roost_log_warnings_total), and rpg's
 *   answer is the same. An implicit start is recorded only for a mapped
 *   event that will be recorded (checked before, message size included).
 * - Memory: the render scratch (http_render_scratch, CFG_RENDER_BYTES) is
 *   free during the call (rpg answers POST /event with a fixed body, into
 *   tx, after it) and holds everything, so the module keeps no buffer of
 *   its own: its start holds the hook's session id, decoded, for all of
 *   the hook's events (HOOK_SID_BYTES); the rest is the work area.
 *   obs_record serializes each `event` message into the room it is given
 *   before it writes, and that room must not hold the event's own views
 *   (the session id, and what the next lines build), so the work area is
 *   split per event (cap: its size):
 *     prompt message  [0, cap - n): the messages; [cap - n, cap): the
 *                     content [{"type":"text","text":<prompt>}] built
 *                     around the prompt's literal (n bytes);
 *     transcript      [0, 4 paths): the path, its real path, a directory
 *                     and its real path, while the file is opened; then
 *                     [cap - t, cap): the file's last t bytes (at most
 *                     HOOK_TAIL_BYTES); the last line in them starts at L;
 *                     [0, L): first the parser's tokens, then, when the
 *                     content must be built (a string, or an array with
 *                     items that are not objects), the content just below
 *                     L, and below that the message. Role and an array
 *                     content of objects only stay views into the line.
 *   So a line of up to 1 MiB is read (in profiles whose scratch holds
 *   1 MiB and a little: default and server), and its message is recorded
 *   when it fits in what the line leaves below it: about (cap - line) for
 *   a content kept in the line, (cap - line) / 2 for one that is built.
 *   The small profile (33 KiB scratch) reads lines of up to 16 KiB.
 * - The transcript's last line is what Python's readlines()[-1] (the
 *   upstream stop script) and `tail -n 1` give: a newline at the end of
 *   the file ends the last line and does not make an empty line after it;
 *   a file ending in "\n\n" has an empty last line (not JSON: skipped).
 *   Only '\n' separates lines ('\r' before it is JSON whitespace).
 * - The path comes from the request body: its real path (port_realpath:
 *   symlinks and ".." resolved) must lie inside one of
 *   observability.transcript_dirs (each resolved too, at every use, so a
 *   directory made after the start counts), and the file is then opened
 *   beneath that directory (port_file_open_beneath: the kernel refuses a
 *   resolution that leaves it, so a link swapped in after the check does
 *   not escape either; a FIFO does not block; only a regular file is
 *   read). `~` in the list is expanded with HOME as it was at the start.
 */
#include "fam/obs/obs_int.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "port.h"

/* A path, as Linux's PATH_MAX. */
#define HOOK_PATH_BYTES 4096u
/* §5: at most the final 1 MiB: a line of up to 1 MiB, its newline and the
 * one before it. */
#define HOOK_TAIL_BYTES ((1024u * 1024u) + 2u)
/* Kept below the file's tail for the tokens and the message, at least. */
#define HOOK_TAIL_RESERVE 16384u

/* The start of the scratch holds the hook's session id, decoded
 * (obs_event's session_id is text), for all of the hook's events; the
 * rest, from this 8-byte aligned offset, is the work area. */
#define HOOK_SID_BYTES ((UTF8_BYTES(SESSION_ID_MAX) + 7u) & ~7u)

/* observability.transcript_dirs (the config's copy, for the life of the
 * process) and the HOME it expands `~` with, as they were at the start. */
static const char *g_dirs;
static const char *g_home;
/* Events of hooks not recorded (validation, room, storage). */
static uint64_t g_dropped;

_Static_assert(((sizeof g_dirs) + (sizeof g_home) + (sizeof g_dropped)) <=
                   OBS_HOOKS_STATIC_BYTES,
               "OBS_HOOKS_STATIC_BYTES is the plan of this module");
_Static_assert(CFG_RENDER_BYTES >= (2u * HOOK_SID_BYTES),
               "the scratch holds a session id and more");

typedef enum { MAP_NONE, MAP_START, MAP_PRE, MAP_POST, MAP_PROMPT, MAP_STOP } hook_map;

/* ---- observability.transcript_dirs ---------------------------------------- */

static const char *env_home(const char *const *envp)
{
    const char *home = NULL;
    size_t i;
    for (i = 0u; (envp != NULL) && (envp[i] != NULL) && (home == NULL); i++) {
        if (strncmp(envp[i], "HOME=", 5u) == 0) {
            home = &envp[i][5];
        }
    }
    return home;
}

/* Is the item `~` or `~/...` (`~user` is not expanded)? */
static bool is_tilde(strv item)
{
    bool tilde = false;
    if (item.n > 0u) {
        char c0 = item.p[0];
        tilde = (c0 == '~');
    }
    if (tilde && (item.n > 1u)) {
        char c1 = item.p[1];
        tilde = (c1 == '/');
    }
    return tilde;
}

/* The item at *at of the comma-separated list (trimmed), *at moved past
 * it; false at the end of the list. */
static bool next_dir(const char *list, size_t *at, strv *item)
{
    size_t len = strlen(list);
    bool found = false;
    while ((*at < len) && !found) {
        size_t end = *at;
        while ((end < len) && (list[end] != ',')) {
            end++;
        }
        *item = strv_trim_ws((strv){ &list[*at], end - *at });
        found = (item->n > 0u);
        *at = end + 1u;
    }
    return found;
}

/* The directory of item into buf[0..cap) as a C string, `~` replaced by
 * HOME; false when it does not fit or has `~` without a HOME. */
static bool expand_dir(strv item, char *buf, size_t cap)
{
    strv head = STRV_NULL;
    strv rest = item;
    if (is_tilde(item)) {
        if ((g_home == NULL) || (g_home[0] == '\0')) {
            return false;
        }
        head = strv_from_cstr(g_home);
        rest = (strv){ &item.p[1], item.n - 1u };
    }
    if ((head.n + rest.n) >= cap) {
        return false;
    }
    if (head.n > 0u) {
        (void)memcpy(buf, head.p, head.n);
    }
    (void)memcpy(&buf[head.n], rest.p, rest.n);
    buf[head.n + rest.n] = '\0';
    return true;
}

void obs_hooks_init(const fam_env *env)
{
    size_t at = 0u;
    strv item = STRV_NULL;
    g_dirs = env->str("observability.transcript_dirs");
    g_home = env_home(env->envp);
    while (next_dir(g_dirs, &at, &item)) {
        if (is_tilde(item) && ((g_home == NULL) || (g_home[0] == '\0'))) {
            LOG_W("obs", "observability.transcript_dirs: %.*s left out: HOME is not set",
                  (int)item.n, item.p);
        }
    }
}

/* ---- JSON literals as rpg passes them ------------------------------------- */

/* The first byte of the value (its type: '{', '[', '"', 'n', 't', 'f',
 * else a number). */
static char lit_first(strv raw)
{
    char c = '\0';
    size_t i;
    for (i = 0u; (i < raw.n) && (c == '\0'); i++) {
        char ch = raw.p[i];
        if ((ch != ' ') && (ch != '\t') && (ch != '\n') && (ch != '\r')) {
            c = ch;
        }
    }
    return c;
}

/* The string literal raw decoded into buf[0..cap) (cap > 0), its length
 * in *n, NUL-terminated: ST_BAD when raw is not a string, ST_FULL when it
 * does not fit. */
static st_t lit_decode(strv raw, char *buf, size_t cap, size_t *n)
{
    jsmntok_t tok[1];
    json_doc d;
    st_t st = json_parse_into(&d, raw.p, raw.n, tok, 1u, NULL);
    *n = 0u;
    if ((st == ST_OK) && (json_type(&d, 0) != JSON_STRING)) {
        st = ST_BAD;
    }
    if (st == ST_OK) {
        st = json_get_mem(&d, 0, buf, cap - 1u, n);
    }
    if (st == ST_OK) {
        buf[*n] = '\0';
    }
    json_release(&d);
    return st;
}

/* ---- the mapping (§4.2) ------------------------------------------------------ */

static hook_map map_of(strv type)
{
    hook_map m = MAP_NONE;
    if (strv_eq_cstr(type, "session_start")) {
        m = MAP_START;
    } else if (strv_eq_cstr(type, "pre_tool_use")) {
        m = MAP_PRE;
    } else if (strv_eq_cstr(type, "post_tool_use")) {
        m = MAP_POST;
    } else if (strv_eq_cstr(type, "user_prompt_submit") || strv_eq_cstr(type, "user_prompt")) {
        m = MAP_PROMPT;
    } else if (strv_eq_cstr(type, "stop")) {
        m = MAP_STOP;
    } else {
        /* notification, subagent_stop, session_end, pre_compact, ...: none */
    }
    return m;
}

static const char *event_type_of(hook_map m)
{
    static const char *const k_types[] = { "", "session_start", "pre_tool", "post_tool",
                                           "message", "session_stop" };
    return k_types[m];
}

/* The session id: "unknown" when absent (the scripts' default), else a
 * string of 1..256 characters (POST /events' rule), decoded into
 * buf[0..HOOK_SID_BYTES). NULL, or why it is not one. */
static const char *session_id(strv raw, char *buf, strv *out)
{
    const char *why = NULL;
    size_t n = 0u;
    if (raw.p == NULL) {
        *out = strv_from_cstr("unknown");
    } else if (lit_decode(raw, buf, HOOK_SID_BYTES, &n) != ST_OK) {
        why = "session_id is not a string of at most 256 characters";
    } else if ((n == 0u) || (fapi_chars(buf, n) > SESSION_ID_MAX)) {
        why = "session_id is not a string of 1 to 256 characters";
    } else {
        *out = (strv){ buf, n };
    }
    return why;
}

/* pre_tool / post_tool: the scripts' defaults for absent fields ("unknown",
 * {}, ""), then POST /events' types; tmp: room to decode tool_name in.
 * NULL, or why the event is not recorded. */
static const char *tool_fields(const xfam_hook *hk, bool post, char *tmp, obs_event *ev)
{
    const char *why = NULL;
    size_t n = 0u;
    char c = lit_first(hk->tool_name);
    if (hk->tool_name.p == NULL) {
        ev->tool_name = strv_from_cstr("\"unknown\"");
    } else if (c == 'n') {
        /* null */
    } else if ((lit_decode(hk->tool_name, tmp, UTF8_BYTES(TOOL_NAME_MAX), &n) != ST_OK) ||
               (fapi_chars(tmp, n) > TOOL_NAME_MAX)) {
        why = "tool_name is not a string of at most 256 characters";
    } else {
        ev->tool_name = hk->tool_name;
    }
    c = lit_first(hk->tool_input);
    if (hk->tool_input.p == NULL) {
        ev->tool_input = strv_from_cstr("{}");
    } else if (c == '{') {
        ev->tool_input = hk->tool_input;
    } else if (c != 'n') {
        why = (why != NULL) ? why : "tool_input is not an object";
    } else {
        /* null */
    }
    if (post) {
        c = lit_first(hk->tool_response);
        if (hk->tool_response.p == NULL) {
            ev->tool_output = strv_from_cstr("\"\"");
        } else if (c != 'n') {
            ev->tool_output = hk->tool_response;
        } else {
            /* null */
        }
        c = lit_first(hk->error);
        if (c == '"') {
            ev->error = hk->error;
        } else if ((hk->error.p != NULL) && (c != 'n')) {
            why = (why != NULL) ? why : "error is not a string";
        } else {
            /* absent or null */
        }
    }
    return why;
}

/* The user prompt's message: role "user", content built at the top of the
 * work area; *room: what is left below it for the messages. */
static const char *prompt_fields(strv prompt, char *work, size_t cap, obs_event *ev,
                                 size_t *room)
{
    static const char k_head[] = "[{\"type\":\"text\",\"text\":";
    static const char k_tail[] = "}]";
    const size_t hn = (sizeof k_head) - 1u;
    const size_t tn = (sizeof k_tail) - 1u;
    size_t n = hn + prompt.n + tn;
    char *c;
    if (n >= cap) {
        return "the prompt is larger than the render scratch";
    }
    c = &work[cap - n];
    (void)memcpy(c, k_head, hn);
    (void)memcpy(&c[hn], prompt.p, prompt.n);
    (void)memcpy(&c[hn + prompt.n], k_tail, tn);
    ev->role = strv_from_cstr("\"user\"");
    ev->content = (strv){ c, n };
    *room = cap - n;
    return NULL;
}

static void dropped(const obs_event *ev, const char *why)
{
    g_dropped++;
    LOG_W("obs", "hook: %s event of session %.*s not recorded: %s (%llu so far)",
          ev->event_type.p, (int)((ev->session_id.n < 64u) ? ev->session_id.n : 64u),
          (ev->session_id.p != NULL) ? ev->session_id.p : "", why,
          (unsigned long long)g_dropped);
}

/* §4.3: before ev (not a session_start or session_stop), a session_start
 * of the same session, timestamp and pid when the session does not exist
 * or is finished (a stopped one is not restarted). Only when ev itself
 * will be recorded: its message must fit msg[0..cap). */
static st_t implicit_start(const obs_event *ev, char *msg, size_t cap)
{
    sqlite3_stmt *q = NULL;
    bool need = false;
    st_t st = obs_session_get(ev->session_id, &q);
    if (st == ST_OK) {
        char status[16];
        (void)store_col_copy(q, 2, status, sizeof status);
        store_done(q);
        need = (strcmp(status, "finished") == 0);
    } else if (st == ST_NOTFOUND) {
        need = true;
        st = ST_OK;
    } else {
        /* storage error */
    }
    if (need && (obs_event_message(ev, msg, cap) == 0u)) {
        st = ST_TOOBIG;
    }
    if ((st == ST_OK) && need) {
        obs_event start;
        (void)memset(&start, 0, sizeof start);
        start.event_type = strv_from_cstr("session_start");
        start.session_id = ev->session_id;
        start.session_name = ev->session_name;
        start.timestamp = ev->timestamp;
        start.has_pid = ev->has_pid;
        start.pid = ev->pid;
        st = obs_record(&start, msg, cap);
    }
    return st;
}

/* ---- §5: the Stop transcript's last message ---------------------------------- */

/* The part of path below dir (both real paths), or NULL when path is not
 * strictly inside dir. */
static const char *beneath(const char *path, const char *dir)
{
    size_t dn = strlen(dir);
    const char *rel = NULL;
    if ((dn == 1u) && (dir[0] == '/')) {
        rel = (path[1] != '\0') ? &path[1] : NULL;
    } else if ((strncmp(path, dir, dn) == 0) && (path[dn] == '/') && (path[dn + 1u] != '\0')) {
        rel = &path[dn + 1u];
    } else {
        /* outside */
    }
    return rel;
}

/* Open the transcript the literal path names when its real path lies in
 * one of the directories, as a regular file; paths are worked out in
 * work[0, 4 * HOOK_PATH_BYTES) (a smaller work area reads no transcript:
 * the unit tests' tiny scratch). */
static bool transcript_open(strv path, char *work, size_t cap, port_file *f,
                            port_file_info *info)
{
    char *given = work;
    char *real = &work[HOOK_PATH_BYTES];
    char *named = &work[2u * HOOK_PATH_BYTES];
    char *dir = &work[3u * HOOK_PATH_BYTES];
    const char *rel = NULL;
    strv item = STRV_NULL;
    size_t at = 0u;
    size_t n = 0u;
    port_file root = PORT_FILE_NONE;
    bool ok = false;
    if ((path.p == NULL) || (g_dirs == NULL) || (cap < (4u * HOOK_PATH_BYTES)) ||
        (lit_decode(path, given, HOOK_PATH_BYTES, &n) != ST_OK) || (n == 0u) ||
        (given[0] != '/') || (memchr(given, 0, n) != NULL) ||
        (port_realpath(given, real, HOOK_PATH_BYTES) != ST_OK)) {
        return false;
    }
    while ((rel == NULL) && next_dir(g_dirs, &at, &item)) {
        if (expand_dir(item, named, HOOK_PATH_BYTES) &&
            (port_realpath(named, dir, HOOK_PATH_BYTES) == ST_OK)) {
            rel = beneath(real, dir);
        }
    }
    if ((rel != NULL) && (port_root_open(dir, &root) == ST_OK)) {
        ok = (port_file_open_beneath(root, rel, f, info) == ST_OK);
        port_file_close(root);
        if (ok && info->is_dir) {
            port_file_close(*f);
            ok = false;
        }
    }
    return ok;
}

/* Read the file's last bytes (at most HOOK_TAIL_BYTES, leaving
 * HOOK_TAIL_RESERVE below, or half of a smaller area) into the top of
 * the work area and find its last line: work[*at, *at + *len); false when
 * there is none within them. */
static bool last_line(port_file f, uint64_t size, char *work, size_t cap, size_t *at,
                      size_t *len)
{
    size_t want = cap / 2u;
    size_t got = 0u;
    size_t end;
    size_t i;
    uint64_t off;
    char *tail;
    if (cap > (2u * HOOK_TAIL_RESERVE)) {
        want = cap - HOOK_TAIL_RESERVE;
    }
    if (want > HOOK_TAIL_BYTES) {
        want = HOOK_TAIL_BYTES;
    }
    if (size < (uint64_t)want) {
        want = (size_t)size;
    }
    off = size - (uint64_t)want;
    tail = &work[cap - want];
    while (got < want) {
        size_t k = 0u;
        if ((port_file_read_at(f, off + got, &tail[got], want - got, &k) != ST_OK) || (k == 0u)) {
            break;   /* an error, or the file got shorter: what was read */
        }
        got += k;
    }
    end = got;
    if ((end > 0u) && (tail[end - 1u] == '\n')) {
        end--;   /* the newline ending the last line */
    }
    i = end;
    while ((i > 0u) && (tail[i - 1u] != '\n')) {
        i--;
    }
    if ((i == 0u) && (off > 0u)) {
        return false;   /* no line start in the window: longer than it */
    }
    *at = (cap - want) + i;
    *len = end - i;
    return end > i;
}

/* The content of message m in the line (§5 step 3): an array's object
 * items, or a string as [{"type":"text","text":s}]; kept as a view when
 * it is an array of objects only, else built in the work area just below *low
 * (which moves down to it). False when there is none to record. */
static bool transcript_content(const json_doc *d, int content, char *work, size_t *low,
                               strv *out)
{
    static const char k_head[] = "[{\"type\":\"text\",\"text\":";
    const size_t hn = (sizeof k_head) - 1u;
    size_t toks = (size_t)json_count(d) * sizeof(jsmntok_t);
    strv raw = json_raw(d, content);
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    size_t objects = 0u;
    size_t items = 0u;
    size_t n;
    char *c;
    if (json_type(d, content) == JSON_STRING) {
        n = hn + raw.n + 2u;
        if ((raw.n <= 2u) || ((n + toks) > *low)) {
            return false;   /* "" (falsy), or no room */
        }
        c = &work[*low - n];
        (void)memcpy(c, k_head, hn);
        (void)memcpy(&c[hn], raw.p, raw.n);
        (void)memcpy(&c[hn + raw.n], "}]", 2u);
        *low -= n;
        *out = (strv){ c, n };
        return true;
    }
    if (json_type(d, content) != JSON_ARRAY) {
        return false;
    }
    while (json_arr_next(d, content, &it, &v)) {
        items++;
        if (json_type(d, v) == JSON_OBJECT) {
            objects++;
        }
    }
    if (objects == 0u) {
        return false;   /* [] (falsy), or nothing to keep */
    }
    if (objects == items) {
        *out = raw;
        return true;
    }
    if ((raw.n + toks) > *low) {
        return false;
    }
    c = &work[*low - raw.n];   /* the kept items take less than raw.n */
    n = 0u;
    c[n] = '[';
    n++;
    json_iter_init(&it);
    while (json_arr_next(d, content, &it, &v)) {
        if (json_type(d, v) == JSON_OBJECT) {
            strv item = json_raw(d, v);
            if (n > 1u) {
                c[n] = ',';
                n++;
            }
            (void)memcpy(&c[n], item.p, item.n);
            n += item.n;
        }
    }
    c[n] = ']';
    n++;
    *low -= raw.n;
    *out = (strv){ c, n };
    return true;
}

/* §5: after the session_stop stop, the last transcript message, when
 * there is one; every failure before recording skips it silently. */
static void transcript_message(const obs_event *stop, strv path, char *work, size_t cap)
{
    port_file f = PORT_FILE_NONE;
    port_file_info info;
    size_t at = 0u;
    size_t len = 0u;
    json_doc d;
    obs_event ev;
    size_t low;
    size_t ntoks;
    int msg;
    int role;
    int content;
    bool ok;
    if (!transcript_open(path, work, cap, &f, &info)) {
        return;
    }
    ok = last_line(f, info.size, work, cap, &at, &len);
    port_file_close(f);
    if (!ok) {
        return;
    }
    /* the tokens from the work area's start (8-byte aligned) up to
     * the line, within the reader's usual limit */
    low = at;
    ntoks = low / sizeof(jsmntok_t);
    if (ntoks > (size_t)CFG_JSON_MAX_TOKENS) {
        ntoks = (size_t)CFG_JSON_MAX_TOKENS;
    }
    if ((ntoks == 0u) ||
        (json_parse_into(&d, &work[at], len, (jsmntok_t *)(void *)work,
                         (unsigned)ntoks, NULL) != ST_OK)) {
        return;
    }
    msg = json_obj_get(&d, json_root(&d), "message");
    role = json_obj_get(&d, msg, "role");
    content = json_obj_get(&d, msg, "content");
    (void)memset(&ev, 0, sizeof ev);
    ok = (json_type(&d, msg) == JSON_OBJECT) && (json_type(&d, role) == JSON_STRING) &&
         (json_raw(&d, role).n > 2u) && transcript_content(&d, content, work, &low,
                                                          &ev.content);
    if (ok) {
        ev.event_type = strv_from_cstr("message");
        ev.session_id = stop->session_id;
        ev.session_name = stop->session_name;
        ev.timestamp = stop->timestamp;
        ev.has_pid = stop->has_pid;
        ev.pid = stop->pid;
        ev.role = json_raw(&d, role);
    }
    json_release(&d);   /* the tokens below low are not needed any more */
    if (ok) {
        st_t st = obs_record(&ev, work, low);
        if ((st != ST_OK) && (st != ST_TOOBIG)) {
            dropped(&ev, status_str(st));
        }
    }
}

/* ---- the answer to rpg ----------------------------------------------------------- */

void obs_hook_record(const xfam_hook *hk)
{
    hook_map m = map_of(hk->type);
    char ts[40];
    obs_event ev;
    size_t cap = 0u;
    size_t room;
    char *scratch;
    char *work;
    const char *why;
    st_t st = ST_OK;
    if ((m == MAP_NONE) ||
        ((m == MAP_PROMPT) && ((hk->prompt.p == NULL) || obs_json_falsy(hk->prompt)))) {
        return;   /* §4.2: nothing is recorded */
    }
    scratch = http_render_scratch(&cap);
    work = &scratch[HOOK_SID_BYTES];
    cap -= HOOK_SID_BYTES;
    room = cap;
    (void)memset(&ev, 0, sizeof ev);
    ev.event_type = strv_from_cstr(event_type_of(m));
    ev.timestamp = (strv){ ts, clock_format(hk->wall_us, CLOCK_FMT_OFF6, ts, sizeof ts) };
    ev.has_pid = hk->has_pid && (hk->pid >= 1) && (hk->pid <= PID_MAX);
    ev.pid = ev.has_pid ? hk->pid : 0;
    why = session_id(hk->session_id, scratch, &ev.session_id);
    ev.session_name = ev.session_id;
    if ((why == NULL) && ((m == MAP_PRE) || (m == MAP_POST))) {
        why = tool_fields(hk, m == MAP_POST, work, &ev);
    }
    if ((why == NULL) && (m == MAP_PROMPT)) {
        why = prompt_fields(hk->prompt, work, cap, &ev, &room);
    }
    if (why != NULL) {
        dropped(&ev, why);
        return;
    }
    if ((m == MAP_PRE) || (m == MAP_POST) || (m == MAP_PROMPT)) {
        st = implicit_start(&ev, work, room);
    }
    if (st == ST_OK) {
        st = obs_record(&ev, work, room);
    }
    if (st != ST_OK) {
        dropped(&ev, (st == ST_TOOBIG) ? "its live message does not fit the render scratch"
                                       : status_str(st));
        return;
    }
    if (m == MAP_STOP) {
        transcript_message(&ev, hk->transcript_path, work, cap);
    }
}
