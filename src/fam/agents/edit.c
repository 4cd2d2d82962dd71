/*
 * edit.c - the routes that write an agent's files (spec/agents.md §4.4,
 * §4.5): POST /agents and PATCH /agents/{name}.
 *
 * Check order:
 *   POST   body (422), the name (400 x3), an empty description (400), the
 *          other limits (400: §3.2, then a file that would be larger than
 *          roost reads back, AGENTS_FILE_MAX), the directory exists (409)
 *   PATCH  body (422), an empty description, the limits (400), the name
 *          rule / a valid agent (404), a file too large (400)
 * Nothing is written before every check passed. Then, as upstream, in
 * this order: POST makes agents.dir and <name>/, writes agent.json,
 * agent.system-prompt.md when the prompt is not empty and agent.mcp.json
 * when there are servers; PATCH rewrites agent.json (always, so
 * modified_at moves) and writes or removes the prompt and agent.mcp.json
 * as §4.5 says. Each file is replaced atomically (port_file_write_atomic:
 * a temporary file in the directory, fsync, rename); the other files of
 * the directory are never touched. A write that fails answers 500 (a POST
 * removes the directory it made).
 *
 * Memory: the files are built in the render scratch (agents_int.h) before
 * the answer begins (both routes are ROUTE_BIG_OUT: a 422 echoes the body
 * and may need windows, so its pass runs again from the request, changing
 * nothing). The answer is the Agent streamed from disk (out.c).
 */
#include "fam/agents/agents_int.h"

#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "port.h"

/* What one request writes, from the body's literals (and, for a PATCH, the
 * agent's current description and skills). */
typedef struct {
    const char *name;
    strv desc;
    strv skills;
    bool set_prompt;    /* write (non-empty) or remove (empty) the prompt */
    strv prompt;
    bool set_mcp;       /* write (servers) or remove (none) agent.mcp.json */
    strv servers;
    int nservers;
} agent_plan;

static st_t write_file(const char *name, const char *file, const char *data, size_t n)
{
    char path[AGENTS_PATH_BYTES];
    return agents_path(path, sizeof path, name, file) ?
           port_file_write_atomic(path, data, n, AGENTS_FILE_MODE) : ST_TOOBIG;
}

static st_t remove_file(const char *name, const char *file)
{
    char path[AGENTS_PATH_BYTES];
    st_t st = agents_path(path, sizeof path, name, file) ? port_file_remove(path) : ST_TOOBIG;
    return (st == ST_NOTFOUND) ? ST_OK : st;
}

/* The two JSON files fit what roost reads back: NULL, or the 400's detail.
 * Built at out (cap bytes) and thrown away. */
static const char *files_fit(const agent_plan *p, char *out, size_t cap)
{
    size_t n = agents_build_json(out, cap, p->name, p->desc, p->skills);
    const char *bad = NULL;
    if ((n == 0u) || (n > AGENTS_FILE_MAX)) {
        bad = "agent.json would be larger than roost can read back (CFG_RENDER_BYTES / 4)";
    } else if (p->set_mcp && (p->nservers > 0)) {
        n = agents_build_mcp(out, cap, p->servers);
        if ((n == 0u) || (n > AGENTS_FILE_MAX)) {
            bad = "agent.mcp.json would be larger than roost can read back "
                  "(CFG_RENDER_BYTES / 4)";
        }
    } else {
        /* no servers to write */
    }
    return bad;
}

/* The decoded prompt into out (cap bytes); ST_TOOBIG when it does not fit. */
static st_t decode_prompt(strv lit, char *out, size_t cap, size_t *n)
{
    json_doc d;
    st_t st = json_parse(&d, lit.p, lit.n, NULL);
    if (st == ST_OK) {
        st = json_get_mem(&d, json_root(&d), out, cap, n);
        json_release(&d);
    }
    return (st == ST_FULL) ? ST_TOOBIG : st;
}

/* Write the files of plan p (the checks passed): agent.json built at
 * json_room (apart from the text its literals may point into), then the
 * others at room. */
static st_t write_files(const agent_plan *p, char *json_room, size_t json_cap, char *room,
                        size_t cap)
{
    size_t n = agents_build_json(json_room, json_cap, p->name, p->desc, p->skills);
    st_t st = (n > 0u) ? write_file(p->name, AGENTS_F_JSON, json_room, n) : ST_TOOBIG;
    if ((st == ST_OK) && p->set_prompt) {
        if (p->prompt.n > 2u) {
            st = decode_prompt(p->prompt, room, cap, &n);
            if (st == ST_OK) {
                st = write_file(p->name, AGENTS_F_PROMPT, room, n);
            }
        } else {
            st = remove_file(p->name, AGENTS_F_PROMPT);
        }
    }
    if ((st == ST_OK) && p->set_mcp) {
        if (p->nservers > 0) {
            n = agents_build_mcp(room, cap, p->servers);
            st = (n > 0u) ? write_file(p->name, AGENTS_F_MCP, room, n) : ST_TOOBIG;
        } else {
            st = remove_file(p->name, AGENTS_F_MCP);
        }
    }
    return st;
}

/* The body as an object with its 422 checks; false: answered. On true
 * the 400 checks passed too and d is released: b's literals stay valid
 * (they point into the body). */
static bool body_ok(hctx *h, bool create, agent_body *b, char name[AGENTS_NAME_BYTES])
{
    fapi_errs e;
    json_doc d;
    const char *bad;
    fapi_errs_init(&e, h);
    if (!fapi_body_object(h, &d, &e)) {
        (void)fapi_errs_end(&e);
        return false;
    }
    agents_body_check(&e, &d, create, b);
    if (fapi_errs_end(&e)) {
        json_release(&d);
        return false;
    }
    bad = agents_body_limits(&d, create, b, name);
    json_release(&d);
    if (bad != NULL) {
        agents_detail(h, 400, bad, STRV_NULL);
        return false;
    }
    return true;
}

/* ---- POST /agents ----------------------------------------------------------------- */

static void create_pass(hctx *h, const void *state)
{
    char name[AGENTS_NAME_BYTES];
    char dir[AGENTS_PATH_BYTES];
    agent_body b;
    agent_plan p;
    port_file_info fi;
    size_t cap = 0u;
    char *room = agents_room(&cap);
    const char *bad;
    st_t st;
    (void)state;
    if (!body_ok(h, true, &b, name) || NEVER(h->rerender)) {
        return;     /* answered; only a 422 is long enough for a second pass */
    }
    (void)memset(&p, 0, sizeof p);
    p.name = name;
    p.desc = b.desc;
    p.skills = b.skills;
    p.set_prompt = (b.prompt.p != NULL) && (b.prompt.n > 2u);
    p.prompt = b.prompt;
    p.set_mcp = (b.servers.p != NULL) && (b.nservers > 0);
    p.servers = b.servers;
    p.nservers = b.nservers;
    bad = files_fit(&p, room, cap);
    if (bad != NULL) {
        agents_detail(h, 400, bad, STRV_NULL);
        return;
    }
    if (!agents_path(dir, sizeof dir, name, NULL)) {
        agents_internal(h, "creating agent", name, ST_TOOBIG);
        return;
    }
    if (port_file_stat(dir, &fi) != ST_NOTFOUND) {
        agents_detail(h, 409, "Agent already exists: ", strv_from_cstr(name));
        return;
    }
    st = port_mkdir_p(dir, AGENTS_DIR_MODE);
    if (st == ST_OK) {
        st = write_files(&p, room, cap, room, cap);
        if (st != ST_OK) {
            (void)port_remove_tree(dir);
        }
    }
    if (st != ST_OK) {
        agents_internal(h, "creating agent", name, st);
        return;
    }
    LOG_I("agents", "agent %s created", name);
    agents_answer_one(h, 201, name);
}

void agents_create(hctx *h)
{
    hctx_render(h, create_pass, NULL, 0u);
}

/* ---- PATCH /agents/{name} ------------------------------------------------------------ */

static void update_pass(hctx *h, const void *state)
{
    char unused[AGENTS_NAME_BYTES];
    char name[AGENTS_NAME_BYTES];
    agent_body b;
    agent_plan p;
    agent_view v;
    strv param = hctx_param(h, 0u);
    size_t cap = 0u;
    char *room = agents_room(&cap);
    const char *bad;
    st_t st = ST_NOTFOUND;
    (void)state;
    if (!body_ok(h, false, &b, unused)) {
        return;
    }
    if (agents_name_ok(param.p, param.n)) {
        (void)memcpy(name, param.p, param.n);
        name[param.n] = '\0';
        st = agents_load(name, room, &v);
    }
    if (st != ST_OK) {
        agents_not_found(h, param);
        return;
    }
    if (NEVER(h->rerender)) {
        return;
    }
    (void)memset(&p, 0, sizeof p);
    p.name = name;
    p.desc = (b.desc.p != NULL) ? b.desc : v.desc;
    p.skills = (b.skills.p != NULL) ? b.skills : v.skills;
    p.set_prompt = (b.prompt.p != NULL);
    p.prompt = b.prompt;
    p.set_mcp = (b.servers.p != NULL);
    p.servers = b.servers;
    p.nservers = b.nservers;
    /* the agent's files stay in the scratch's first half while the new ones
     * are built in the second */
    bad = files_fit(&p, room + (2u * AGENTS_FILE_MAX), cap - (2u * AGENTS_FILE_MAX));
    if (bad != NULL) {
        agents_detail(h, 400, bad, STRV_NULL);
        return;
    }
    /* agent.json may keep literals of the agent's own agent.json, in the
     * scratch's first quarter: it is built past both files */
    st = write_files(&p, room + (2u * AGENTS_FILE_MAX), cap - (2u * AGENTS_FILE_MAX), room,
                     cap);
    if (st != ST_OK) {
        agents_internal(h, "updating agent", name, st);
        return;
    }
    LOG_I("agents", "agent %s updated", name);
    agents_answer_one(h, 200, name);
}

void agents_update(hctx *h)
{
    hctx_render(h, update_pass, NULL, 0u);
}
