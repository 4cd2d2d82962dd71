/*
 * agents.c - the agents family (spec/agents.md): its route table, init,
 * the name rule and paths, the common answers, and the routes that change
 * nothing or little: GET /agents/{name}, DELETE /agents/{name} (Decision
 * 8) and PATCH /agents/{name}/status. POST and PATCH are in edit.c.
 *
 * Check order of each route (FastAPI's: the body's validation runs before
 * the handler, so a 422 comes first):
 *   GET    name rule / valid agent (404)
 *   DELETE name rule / valid agent (404), a running session (409), then
 *          the directory is removed with everything in it (204)
 *   status body (422: missing, literal_error), name rule / valid agent
 *          (404); `inactive` writes an empty .disabled when there is
 *          none, `active` removes it; agent.json is not touched
 * A name that breaks the rule never reaches the disk: `..`, `a/b` (a
 * percent-encoded slash) and the like are 404 like a missing agent.
 */
#include "fam/agents/agents_int.h"

#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "fam/shared/fam.h"
#include "fam/shared/xfam.h"
#include "port.h"

/* agents.dir as loaded (its storage lives as long as the process). */
static const char *g_dir = "";
static size_t g_dir_len;

/* ---- names, paths, answers ------------------------------------------------- */

static bool name_char(char c, bool first)
{
    bool alnum = ((c >= 'a') && (c <= 'z')) || ((c >= 'A') && (c <= 'Z')) ||
                 ((c >= '0') && (c <= '9'));
    return alnum || (!first && ((c == '_') || (c == '-')));
}

bool agents_name_ok(const char *s, size_t n)
{
    size_t i;
    bool ok = (n >= 1u) && (n <= AGENTS_NAME_MAX);
    for (i = 0u; ok && (i < n); i++) {
        ok = name_char(s[i], i == 0u);
    }
    return ok;
}

static bool append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    bool ok = (*len + n) < cap;
    if (ok) {
        (void)memcpy(out + *len, s, n);
        *len += n;
        out[*len] = '\0';
    }
    return ok;
}

bool agents_path(char *out, size_t cap, const char *name, const char *file)
{
    size_t len = 0u;
    bool ok = (cap > 0u) && append(out, cap, &len, g_dir, g_dir_len);
    if (ok && (name != NULL)) {
        ok = append(out, cap, &len, "/", 1u) && append(out, cap, &len, name, strlen(name));
    }
    if (ok && (name != NULL) && (file != NULL)) {
        ok = append(out, cap, &len, "/", 1u) && append(out, cap, &len, file, strlen(file));
    }
    return ok;
}

void agents_detail(hctx *h, int status, const char *prefix, strv what)
{
    char msg[64u + (size_t)CFG_HTTP_PARAM_BYTES];
    size_t n = strlen(prefix);
    size_t k = what.n;
    json_w w;
    if (n > sizeof msg) {
        n = sizeof msg;
    }
    (void)memcpy(msg, prefix, n);
    if (k > ((sizeof msg) - n)) {
        k = (sizeof msg) - n;
    }
    if (k > 0u) {
        (void)memcpy(msg + n, what.p, k);
    }
    fam_json_begin(h, status, &w);
    json_w_obj_begin(&w);
    json_w_kstrn(&w, "detail", msg, n + k);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

void agents_not_found(hctx *h, strv name)
{
    agents_detail(h, 404, "Agent not found: ", name);
}

void agents_internal(hctx *h, const char *what, const char *name, st_t st)
{
    LOG_E("agents", "%s %s: %s", what, name, status_str(st));
    fam_fastapi_error(h, 500, "INTERNAL_ERROR", "Internal Server Error");
}

char *agents_room(size_t *cap)
{
    return http_render_scratch(cap);
}

/* The {name} parameter when it follows the rule, copied into name. */
static bool param_name(hctx *h, char name[AGENTS_NAME_BYTES])
{
    strv p = hctx_param(h, 0u);
    bool ok = agents_name_ok(p.p, p.n);
    if (ok) {
        (void)memcpy(name, p.p, p.n);
        name[p.n] = '\0';
    }
    return ok;
}

/* The agent of the {name} parameter, loaded into the scratch: true when it
 * is a valid agent; otherwise answered (404, 500). */
static bool find_agent(hctx *h, char name[AGENTS_NAME_BYTES], agent_view *v)
{
    size_t cap = 0u;
    char *room = agents_room(&cap);
    st_t st = ST_NOTFOUND;
    if (param_name(h, name)) {
        st = agents_load(name, room, v);
    }
    if ((st == ST_NOTFOUND) || (st == ST_BAD)) {
        agents_not_found(h, hctx_param(h, 0u));
    } else if (st != ST_OK) {
        agents_internal(h, "reading agent", name, st);
    } else {
        /* found */
    }
    return st == ST_OK;
}

/* ---- routes ------------------------------------------------------------------ */

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\"}");
}

static void list_agents(hctx *h)
{
    agents_answer_list(h);
}

static void get_agent(hctx *h)
{
    char name[AGENTS_NAME_BYTES];
    agent_view v;
    if (find_agent(h, name, &v)) {
        agents_answer_one(h, 200, name);
    }
}

static void delete_agent(hctx *h)
{
    char name[AGENTS_NAME_BYTES];
    char dir[AGENTS_PATH_BYTES];
    agent_view v;
    bool running = false;
    st_t st;
    if (!find_agent(h, name, &v)) {
        return;
    }
    st = xfam_agent_running(strv_from_cstr(name), &running);
    if (st != ST_OK) {
        agents_internal(h, "asking for running sessions of", name, st);
        return;
    }
    if (running) {
        agents_detail(h, 409, "Agent has running sessions: ", strv_from_cstr(name));
        return;
    }
    st = agents_path(dir, sizeof dir, name, NULL) ? port_remove_tree(dir) : ST_TOOBIG;
    if (st != ST_OK) {
        agents_internal(h, "deleting agent", name, st);
        return;
    }
    LOG_I("agents", "agent %s deleted", name);
    hctx_begin(h, 204);   /* no body, no Content-Type */
    hctx_end(h);
}

/* AgentStatusUpdate: {"status": "active" | "inactive"}; false: answered
 * 422 (or the body is not an object). */
static bool status_body(hctx *h, bool *inactive)
{
    static const char expected[] = "'active' or 'inactive'";
    fapi_errs e;
    json_doc d;
    int t;
    bool ok = false;
    fapi_errs_init(&e, h);
    if (!fapi_body_object(h, &d, &e)) {
        (void)fapi_errs_end(&e);
        return false;
    }
    t = json_obj_get(&d, json_root(&d), "status");
    if (t < 0) {
        fapi_err_missing(&e, &d, "status");
    } else if (json_str_eq(&d, t, "active") || json_str_eq(&d, t, "inactive")) {
        *inactive = json_str_eq(&d, t, "inactive");
        ok = true;
    } else {
        fapi_err x;
        (void)memset(&x, 0, sizeof x);
        x.type = "literal_error";
        x.msg = "Input should be 'active' or 'inactive'";
        x.loc0 = "body";
        x.field = "status";
        x.index = -1;
        x.input_json = json_raw(&d, t);
        x.ctx_key = "expected";
        x.ctx_str = expected;
        fapi_err_add(&e, &x);
    }
    json_release(&d);
    (void)fapi_errs_end(&e);
    return ok;
}

/* One pass of PATCH status (hctx_render): a 422 larger than tx (it echoes
 * the body) is written again from the request for each window; the change
 * is made on the first pass only. */
static void status_pass(hctx *h, const void *state)
{
    char name[AGENTS_NAME_BYTES];
    char path[AGENTS_PATH_BYTES];
    agent_view v;
    port_file_info fi;
    bool inactive = false;
    st_t st = ST_OK;
    (void)state;
    if (!status_body(h, &inactive) || !find_agent(h, name, &v)) {
        return;
    }
    if (NEVER(h->rerender)) {
        return;     /* only a 422 or a 404 is long enough for a second pass */
    }
    if (!agents_path(path, sizeof path, name, AGENTS_F_DISABLED)) {
        st = ST_TOOBIG;
    } else if (inactive) {
        if (port_file_stat(path, &fi) == ST_NOTFOUND) {
            st = port_file_write_atomic(path, "", 0u, AGENTS_FILE_MODE);
        }
    } else {
        st = port_file_remove(path);
        if (st == ST_NOTFOUND) {
            st = ST_OK;
        }
    }
    if (st != ST_OK) {
        agents_internal(h, "setting the status of", name, st);
        return;
    }
    agents_answer_one(h, 200, name);
}

static void set_status(hctx *h)
{
    hctx_render(h, status_pass, NULL, 0u);
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM_GET, "/agents", list_agents, 0u },
    { RM(HTTP_M_POST), "/agents", agents_create, ROUTE_BIG_OUT },
    { RM(HTTP_M_PATCH), "/agents/{name}/status", set_status, ROUTE_BIG_OUT },
    { RM_GET, "/agents/{name}", get_agent, 0u },
    { RM(HTTP_M_PATCH), "/agents/{name}", agents_update, ROUTE_BIG_OUT },
    { RM(HTTP_M_DELETE), "/agents/{name}", delete_agent, 0u },
};

const fam_routes agents_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };

/* The longest path under agents.dir: "/<name>/agent.system-prompt.md" and
 * the port's ".tmp.<pid>" of an atomic write, within CFG_CONF_VALUE_BYTES
 * + 32 (port_file_write_atomic's and port_mkdir_p's own room). */
#define AGENTS_DIR_ROOM \
    (((size_t)CFG_CONF_VALUE_BYTES + 32u) - \
     (2u + AGENTS_NAME_MAX + ((sizeof AGENTS_F_PROMPT) - 1u) + 5u + 10u + 1u))

st_t agents_init(const fam_env *env)
{
    g_dir = env->str("agents.dir");
    g_dir_len = strlen(g_dir);
    /* a trailing slash would double in every path */
    while ((g_dir_len > 1u) && (g_dir[g_dir_len - 1u] == '/')) {
        g_dir_len--;
    }
    if (g_dir_len > AGENTS_DIR_ROOM) {
        LOG_E("agents", "agents.dir is %lu bytes long: at most %lu leave room for the "
              "files of an agent under it", (unsigned long)g_dir_len,
              (unsigned long)AGENTS_DIR_ROOM);
        return ST_TOOBIG;
    }
    return ST_OK;
}
