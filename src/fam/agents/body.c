/*
 * body.c - the bodies of POST /agents (AgentCreate) and PATCH
 * /agents/{name} (AgentUpdate), spec/agents.md §3.2 and §4.4.
 *
 * Validation follows pydantic v2 on upstream's models, in field order
 * (AgentCreate: name, description, system_prompt, mcp_servers, skills;
 * AgentUpdate the same without name; MCPServerConfig: command, args, env),
 * one 422 entry per problem:
 *   a required field absent        missing      (input: the object holding it)
 *   a string that is not           string_type  (null too, where required)
 *   mcp_servers, env not an object dict_type
 *   a server not an object         model_type   (ctx class_name)
 *   args, skills not an array      list_type
 *   an item or env value           string_type at [..., index] / [..., key]
 * Then the 400s in the order of §4.4: the name (empty, longer than 60,
 * the pattern), an empty description, then the other limits of §3.2 in
 * field order. Nothing is decoded: what is kept are the fields' literals
 * in the body, which stays in place for the whole request.
 */
#include "fam/agents/agents_int.h"

#include <string.h>

/* ---- 422 entries ---------------------------------------------------------------- */

/* One entry at body.<field>(.<more>...), input tok of d. */
static void err_at(fapi_errs *e, const json_doc *d, int tok, const char *field,
                   const fapi_loc *more, size_t nmore, const char *type, const char *msg)
{
    fapi_err x;
    (void)memset(&x, 0, sizeof x);
    x.type = type;
    x.msg = msg;
    x.loc0 = "body";
    x.field = field;
    x.index = -1;
    x.more = more;
    x.nmore = nmore;
    x.input_json = json_raw(d, tok);
    fapi_err_add(e, &x);
}

static void not_string(fapi_errs *e, const json_doc *d, int tok, const char *field,
                       const fapi_loc *more, size_t nmore)
{
    err_at(e, d, tok, field, more, nmore, "string_type", "Input should be a valid string");
}

/* A string field: its literal (p NULL when absent or null and optional). */
static strv str_field(fapi_errs *e, const json_doc *d, const char *key, bool required)
{
    int t = json_obj_get(d, json_root(d), key);
    strv lit = STRV_NULL;
    if (t < 0) {
        if (required) {
            fapi_err_missing(e, d, key);
        }
    } else if (json_is_null(d, t) && !required) {
        /* null: not given */
    } else if (json_type(d, t) != JSON_STRING) {
        not_string(e, d, t, key, NULL, 0u);
    } else {
        lit = json_raw(d, t);
    }
    return lit;
}

/* The items of array arr are strings; loc body.<field>(.<more>...).<i>. */
static bool strings_at(fapi_errs *e, const json_doc *d, int arr, const char *field,
                       fapi_loc *more, size_t nmore)
{
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    int i = 0;
    bool ok = true;
    while (json_arr_next(d, arr, &it, &v)) {
        if (json_type(d, v) != JSON_STRING) {
            more[nmore] = (fapi_loc){ NULL, STRV_NULL, i };
            not_string(e, d, v, field, more, nmore + 1u);
            ok = false;
        }
        i++;
    }
    return ok;
}

/* MCPServerConfig at mcp_servers.<key> (value s). */
static bool server_check(fapi_errs *e, const json_doc *d, int key, int s)
{
    fapi_loc loc[4];
    int cmd;
    int args;
    int env;
    bool ok = true;
    loc[0] = (fapi_loc){ NULL, json_raw(d, key), 0 };
    if (json_type(d, s) != JSON_OBJECT) {
        fapi_err x;
        (void)memset(&x, 0, sizeof x);
        x.type = "model_type";
        x.msg = "Input should be a valid dictionary or instance of MCPServerConfig";
        x.loc0 = "body";
        x.field = "mcp_servers";
        x.index = -1;
        x.more = loc;
        x.nmore = 1u;
        x.input_json = json_raw(d, s);
        x.ctx_key = "class_name";
        x.ctx_str = "MCPServerConfig";
        fapi_err_add(e, &x);
        return false;
    }
    cmd = json_obj_get(d, s, "command");
    args = json_obj_get(d, s, "args");
    env = json_obj_get(d, s, "env");
    loc[1] = (fapi_loc){ "command", STRV_NULL, 0 };
    if (cmd < 0) {
        err_at(e, d, s, "mcp_servers", loc, 2u, "missing", "Field required");
        ok = false;
    } else if (json_type(d, cmd) != JSON_STRING) {
        not_string(e, d, cmd, "mcp_servers", loc, 2u);
        ok = false;
    } else {
        /* a string */
    }
    loc[1] = (fapi_loc){ "args", STRV_NULL, 0 };
    if (args < 0) {
        err_at(e, d, s, "mcp_servers", loc, 2u, "missing", "Field required");
        ok = false;
    } else if (json_type(d, args) != JSON_ARRAY) {
        err_at(e, d, args, "mcp_servers", loc, 2u, "list_type", "Input should be a valid list");
        ok = false;
    } else {
        ok = strings_at(e, d, args, "mcp_servers", loc, 2u) && ok;
    }
    loc[1] = (fapi_loc){ "env", STRV_NULL, 0 };
    if ((env < 0) || json_is_null(d, env)) {
        /* optional */
    } else if (json_type(d, env) != JSON_OBJECT) {
        err_at(e, d, env, "mcp_servers", loc, 2u, "dict_type",
               "Input should be a valid dictionary");
        ok = false;
    } else {
        json_iter it = JSON_ITER_INIT;
        int k = -1;
        int v = -1;
        while (json_obj_next(d, env, &it, &k, &v)) {
            if (json_type(d, v) != JSON_STRING) {
                loc[2] = (fapi_loc){ NULL, json_raw(d, k), 0 };
                not_string(e, d, v, "mcp_servers", loc, 3u);
                ok = false;
            }
        }
    }
    return ok;
}

/* mcp_servers: dict[str, MCPServerConfig] | null. */
static strv servers_field(fapi_errs *e, const json_doc *d, int *count)
{
    int t = json_obj_get(d, json_root(d), "mcp_servers");
    strv lit = STRV_NULL;
    *count = 0;
    if ((t < 0) || json_is_null(d, t)) {
        /* not given */
    } else if (json_type(d, t) != JSON_OBJECT) {
        err_at(e, d, t, "mcp_servers", NULL, 0u, "dict_type",
               "Input should be a valid dictionary");
    } else {
        json_iter it = JSON_ITER_INIT;
        int k = -1;
        int s = -1;
        bool ok = true;
        while (json_obj_next(d, t, &it, &k, &s)) {
            ok = server_check(e, d, k, s) && ok;
        }
        if (ok) {
            lit = json_raw(d, t);
            *count = json_obj_len(d, t);
        }
    }
    return lit;
}

/* skills: list[str] | null. */
static strv skills_field(fapi_errs *e, const json_doc *d, int *count)
{
    int t = json_obj_get(d, json_root(d), "skills");
    strv lit = STRV_NULL;
    fapi_loc loc[1];
    *count = 0;
    if ((t < 0) || json_is_null(d, t)) {
        /* not given */
    } else if (json_type(d, t) != JSON_ARRAY) {
        err_at(e, d, t, "skills", NULL, 0u, "list_type", "Input should be a valid list");
    } else if (strings_at(e, d, t, "skills", loc, 0u)) {
        lit = json_raw(d, t);
        *count = json_arr_len(d, t);
    } else {
        /* entries added */
    }
    return lit;
}

void agents_body_check(fapi_errs *e, const json_doc *d, bool create, agent_body *b)
{
    (void)memset(b, 0, sizeof *b);
    if (create) {
        b->name = str_field(e, d, "name", true);
    }
    b->desc = str_field(e, d, "description", create);
    b->prompt = str_field(e, d, "system_prompt", false);
    b->servers = servers_field(e, d, &b->nservers);
    b->skills = skills_field(e, d, &b->nskills);
    if (b->prompt.p != NULL) {
        (void)json_get_mem(d, json_obj_get(d, json_root(d), "system_prompt"), NULL, 0u,
                           &b->prompt_bytes);
    }
}

/* ---- 400s ------------------------------------------------------------------------ */

size_t agents_lit_chars(strv lit)
{
    size_t i = 1u;
    size_t k = 0u;
    size_t end = (lit.n > 0u) ? (lit.n - 1u) : 0u;   /* without the quotes */
    const unsigned char *u = (const unsigned char *)lit.p;
    while (i < end) {
        if (u[i] == (unsigned char)'\\') {
            /* an escape; \uD8xx-\uDBxx and the low half after it are one */
            bool uni = ((i + 1u) < end) && (u[i + 1u] == (unsigned char)'u');
            bool pair = uni && ((i + 11u) < end) &&
                        ((u[i + 2u] == (unsigned char)'d') || (u[i + 2u] == (unsigned char)'D')) &&
                        (memchr("89abAB", (int)u[i + 3u], 6u) != NULL) &&
                        (u[i + 6u] == (unsigned char)'\\');
            if (pair) {
                i += 12u;
            } else {
                i += uni ? 6u : 2u;
            }
        } else {
            i++;
            while ((i < end) && ((u[i] & 0xC0u) == 0x80u)) {
                i++;
            }
        }
        k++;
    }
    return k;
}

/* Each key of object obj (or item of array arr) is 1..max characters. */
static bool lengths_ok(const json_doc *d, int t, bool keys, size_t max)
{
    json_iter it = JSON_ITER_INIT;
    int k = -1;
    int v = -1;
    bool ok = true;
    if (keys) {
        while (ok && json_obj_next(d, t, &it, &k, &v)) {
            size_t n = agents_lit_chars(json_raw(d, k));
            ok = (n >= 1u) && (n <= max);
        }
    } else {
        while (ok && json_arr_next(d, t, &it, &v)) {
            size_t n = agents_lit_chars(json_raw(d, v));
            ok = (n >= 1u) && (n <= max);
        }
    }
    return ok;
}

static const char *name_limits(const json_doc *d, strv lit, char name[AGENTS_NAME_BYTES])
{
    size_t chars = agents_lit_chars(lit);
    size_t n = 0u;
    const char *bad = NULL;
    if (chars == 0u) {
        bad = "Agent name is required";
    } else if (chars > AGENTS_NAME_MAX) {
        bad = "Agent name must be 60 characters or less";
    } else if ((json_get_mem(d, json_obj_get(d, json_root(d), "name"), name,
                             AGENTS_NAME_BYTES - 1u, &n) != ST_OK) ||
               !agents_name_ok(name, n)) {
        bad = "Agent name must start with letter/number and contain only alphanumeric "
              "characters, hyphens, and underscores";
    } else {
        name[n] = '\0';
    }
    return bad;
}

const char *agents_body_limits(const json_doc *d, bool create, agent_body *b,
                               char name[AGENTS_NAME_BYTES])
{
    const char *bad = NULL;
    int root = json_root(d);
    if (create) {
        bad = name_limits(d, b->name, name);
    }
    if ((bad == NULL) && (b->desc.p != NULL) && (b->desc.n <= 2u)) {
        bad = "Agent description is required";
    }
    if (bad != NULL) {
        /* the first that fails */
    } else if ((b->desc.p != NULL) && (agents_lit_chars(b->desc) > AGENTS_DESC_MAX)) {
        bad = "Agent description must be 2000 characters or less";
    } else if ((b->prompt.p != NULL) && (b->prompt_bytes > AGENTS_PROMPT_MAX)) {
        bad = "System prompt must be 262144 bytes or less";
    } else if ((b->servers.p != NULL) && (b->nservers > (int)AGENTS_SERVERS_MAX)) {
        bad = "At most 64 MCP servers are allowed";
    } else if ((b->servers.p != NULL) &&
               !lengths_ok(d, json_obj_get(d, root, "mcp_servers"), true,
                           AGENTS_SERVER_NAME_MAX)) {
        bad = "MCP server names must be 1-128 characters";
    } else if ((b->skills.p != NULL) && (b->nskills > (int)AGENTS_SKILLS_MAX)) {
        bad = "At most 100 skills are allowed";
    } else if ((b->skills.p != NULL) &&
               !lengths_ok(d, json_obj_get(d, root, "skills"), false, AGENTS_SKILL_MAX)) {
        bad = "Skill names must be 1-128 characters";
    } else {
        /* within every limit */
    }
    return bad;
}
