/*
 * blueprint.c - an agent read from disk and checked (spec/agents.md §2),
 * every time it is asked for: nothing is cached, so a blueprint edited by
 * hand (or by upstream's tools) is what the next request sees.
 *
 * A directory is a valid agent when agent.json exists, parses as an
 * object, has non-empty string name and description and, if present and
 * not null, skills as an array of strings; and agent.mcp.json, if
 * present, parses as an object whose mcpServers (absent, null or an
 * object) holds servers with a string command, an array-of-strings args
 * and, if present and not null, an object of strings env. An
 * agent.system-prompt.md that is a directory makes it invalid too (upstream
 * could not read it). A file larger than AGENTS_FILE_MAX, or one that
 * cannot be read, makes the directory invalid as well.
 *
 * An invalid directory is logged once: the FNV-1a hashes of the names
 * already logged are kept in a ring of AGENTS_LOGGED_NAMES, and a name is
 * taken out again when its agent is found valid (so it is logged again if
 * it breaks again). A list over more invalid directories than the ring
 * holds logs some of them again on each request: the bound is memory, not
 * log lines.
 *
 * Times: created_at is agent.json's birth time where the filesystem keeps
 * one, else its status-change time (upstream's st_ctime); modified_at its
 * modification time; both rounded to the microsecond, in naive local time
 * (clock_local_us: the port's time zone).
 */
#include "fam/agents/agents_int.h"

#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "port.h"

static uint64_t g_logged[AGENTS_LOGGED_NAMES];
static unsigned g_logged_next;

_Static_assert(((sizeof g_logged) + (sizeof g_logged_next) + (2u * sizeof(void *))) <=
               AGENTS_STATIC_BYTES, "AGENTS_STATIC_BYTES is the family's plan line");

/* ---- invalid directories, logged once ---------------------------------------- */

static int logged_at(uint64_t hash)
{
    int at = -1;
    unsigned i;
    for (i = 0u; (i < AGENTS_LOGGED_NAMES) && (at < 0); i++) {
        if (g_logged[i] == hash) {
            at = (int)i;
        }
    }
    return at;
}

static uint64_t name_hash(const char *name)
{
    uint64_t hash = strv_fnv1a(name, strlen(name));
    return (hash == 0u) ? 1u : hash;   /* 0 is an empty slot */
}

static void skipped(const char *name, const char *why)
{
    uint64_t hash = name_hash(name);
    if (logged_at(hash) < 0) {
        LOG_W("agents", "directory %s is not a valid agent (%s): skipped", name, why);
        g_logged[g_logged_next] = hash;
        g_logged_next = (g_logged_next + 1u) % AGENTS_LOGGED_NAMES;
    }
}

static void found_valid(const char *name)
{
    int at = logged_at(name_hash(name));
    if (at >= 0) {
        g_logged[at] = 0u;
    }
}

/* ---- the checks of §2 ---------------------------------------------------------- */

static bool nonempty_str(const json_doc *d, int t)
{
    return (json_type(d, t) == JSON_STRING) && (json_raw(d, t).n > 2u);
}

static bool all_strings(const json_doc *d, int arr, bool values_of_object)
{
    json_iter it = JSON_ITER_INIT;
    int k = -1;
    int v = -1;
    bool ok = true;
    if (values_of_object) {
        while (ok && json_obj_next(d, arr, &it, &k, &v)) {
            ok = (json_type(d, v) == JSON_STRING);
        }
    } else {
        while (ok && json_arr_next(d, arr, &it, &v)) {
            ok = (json_type(d, v) == JSON_STRING);
        }
    }
    return ok;
}

static bool absent(const json_doc *d, int t)
{
    return (t < 0) || json_is_null(d, t);
}

/* agent.json's text: NULL when valid (the view filled), else why not. */
static const char *check_json(const char *text, size_t n, agent_view *v)
{
    json_doc d;
    const char *why = NULL;
    if (json_parse(&d, text, n, NULL) != ST_OK) {
        return "agent.json is not valid JSON";
    }
    if (json_type(&d, json_root(&d)) != JSON_OBJECT) {
        why = "agent.json is not an object";
    } else {
        int tn = json_obj_get(&d, json_root(&d), "name");
        int td = json_obj_get(&d, json_root(&d), "description");
        int ts = json_obj_get(&d, json_root(&d), "skills");
        if (!nonempty_str(&d, tn)) {
            why = "agent.json has no name";
        } else if (!nonempty_str(&d, td)) {
            why = "agent.json has no description";
        } else if (!absent(&d, ts) &&
                   ((json_type(&d, ts) != JSON_ARRAY) || !all_strings(&d, ts, false))) {
            why = "agent.json's skills is not a list of strings";
        } else {
            v->desc = json_raw(&d, td);
            v->skills = absent(&d, ts) ? STRV_NULL : json_raw(&d, ts);
        }
    }
    json_release(&d);
    return why;
}

static bool server_ok(const json_doc *d, int s)
{
    int cmd = json_obj_get(d, s, "command");
    int args = json_obj_get(d, s, "args");
    int env = json_obj_get(d, s, "env");
    return (json_type(d, s) == JSON_OBJECT) && (json_type(d, cmd) == JSON_STRING) &&
           (json_type(d, args) == JSON_ARRAY) && all_strings(d, args, false) &&
           (absent(d, env) || ((json_type(d, env) == JSON_OBJECT) && all_strings(d, env, true)));
}

/* agent.mcp.json's text: NULL when valid (the view filled), else why not. */
static const char *check_mcp(const char *text, size_t n, agent_view *v)
{
    json_doc d;
    const char *why = NULL;
    if (json_parse(&d, text, n, NULL) != ST_OK) {
        return "agent.mcp.json is not valid JSON";
    }
    if (json_type(&d, json_root(&d)) != JSON_OBJECT) {
        why = "agent.mcp.json is not an object";
    } else {
        int t = json_obj_get(&d, json_root(&d), "mcpServers");
        json_iter it = JSON_ITER_INIT;
        int k = -1;
        int s = -1;
        if (absent(&d, t)) {
            /* no servers */
        } else if (json_type(&d, t) != JSON_OBJECT) {
            why = "agent.mcp.json's mcpServers is not an object";
        } else {
            while ((why == NULL) && json_obj_next(&d, t, &it, &k, &s)) {
                if (!server_ok(&d, s)) {
                    why = "a server of agent.mcp.json lacks a string command or a list of "
                          "string args, or has an env that is not strings";
                }
            }
            v->servers = (why == NULL) && (json_obj_len(&d, t) > 0);
        }
    }
    v->mcp = (strv){ text, n };
    json_release(&d);
    return why;
}

/* A file of the agent into buf (at most AGENTS_FILE_MAX bytes): NULL when
 * read or missing (*missing), else why it is not usable. */
static const char *read_file(const char *name, const char *file, char *buf, size_t *n,
                             bool *missing)
{
    char path[AGENTS_PATH_BYTES];
    const char *why = NULL;
    st_t st = agents_path(path, sizeof path, name, file) ?
              port_file_read(path, buf, AGENTS_FILE_MAX, n) : ST_TOOBIG;
    *missing = (st == ST_NOTFOUND);
    if (st == ST_TOOBIG) {
        why = "a JSON file larger than a quarter of the render scratch (CFG_RENDER_BYTES)";
    } else if ((st != ST_OK) && (st != ST_NOTFOUND)) {
        why = "a file cannot be read";
    } else {
        /* read, or missing */
    }
    return why;
}

/* Nanoseconds since the epoch to the wall clock, in local time, to the
 * nearest microsecond. */
static uint64_t agents_local_us(uint64_t ns)
{
    return clock_local_us((ns + 500u) / 1000u);
}

/* What stat says of path: 1 a file, 2 a directory, 0 missing, -1 an error. */
static int what_is(const char *name, const char *file, port_file_info *fi)
{
    char path[AGENTS_PATH_BYTES];
    int kind = -1;
    st_t st = agents_path(path, sizeof path, name, file) ? port_file_stat(path, fi) : ST_TOOBIG;
    if (st == ST_OK) {
        kind = fi->is_dir ? 2 : 1;
    } else if (st == ST_NOTFOUND) {
        kind = 0;
    } else {
        /* an error */
    }
    return kind;
}

st_t agents_load(const char *name, char *room, agent_view *v)
{
    port_file_info fi;
    const char *why = NULL;
    size_t n = 0u;
    bool missing = false;
    int kind;
    (void)memset(v, 0, sizeof *v);
    if (NEVER(strlen(name) >= sizeof v->name)) {
        return ST_NOTFOUND;
    }
    (void)memcpy(v->name, name, strlen(name) + 1u);
    kind = what_is(name, NULL, &fi);
    if ((kind == 0) || (kind == 1)) {
        return ST_NOTFOUND;     /* nothing there, or a plain file */
    }
    if (kind < 0) {
        why = "the directory cannot be read";
    }
    if (why == NULL) {
        why = read_file(name, AGENTS_F_JSON, room, &n, &missing);
        if ((why == NULL) && missing) {
            why = "no agent.json";
        }
    }
    if (why == NULL) {
        why = check_json(room, n, v);
    }
    if ((why == NULL) && (what_is(name, AGENTS_F_JSON, &fi) != 1)) {
        why = "agent.json is not a file";
    }
    if (why == NULL) {
        v->created_us = agents_local_us((fi.btime_ns != 0u) ? fi.btime_ns : fi.ctime_ns);
        v->modified_us = agents_local_us(fi.mtime_ns);
        why = read_file(name, AGENTS_F_MCP, room + AGENTS_FILE_MAX, &n, &missing);
        if ((why == NULL) && !missing) {
            why = check_mcp(room + AGENTS_FILE_MAX, n, v);
        }
    }
    if (why == NULL) {
        kind = what_is(name, AGENTS_F_PROMPT, &fi);
        if ((kind < 0) || (kind == 2)) {
            why = "agent.system-prompt.md cannot be read";
        }
        v->prompt = (kind == 1);
        v->inactive = (what_is(name, AGENTS_F_DISABLED, &fi) != 0);
    }
    if (why != NULL) {
        skipped(name, why);
        return ST_BAD;
    }
    found_valid(name);
    return ST_OK;
}
