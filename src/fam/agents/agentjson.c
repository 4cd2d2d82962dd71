/*
 * agentjson.c - the JSON of an agent's files and answers, written from the
 * literals of parsed documents (a request body, the files themselves):
 * strings go through json_w_str_lit, so nothing is decoded into a buffer.
 *
 * Files are written as upstream's Python writes them, json.dump(obj, f,
 * indent=2) then "\n": two spaces a level, ": " after keys and
 * ensure_ascii (every character above U+007E as \uXXXX), so a blueprint
 * roost writes is byte for byte the one upstream's tools write. Keys of
 * agent.json in the order name, description, skills (skills only when
 * non-empty); a server as MCPServerConfig dumps it, command, args, env
 * (env only when present: exclude_none).
 */
#include "fam/agents/agents_int.h"

void agents_w_strings(json_w *w, const json_doc *d, int arr)
{
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    json_w_arr_begin(w);
    while (json_arr_next(d, arr, &it, &v)) {
        strv lit = json_raw(d, v);
        json_w_str_lit(w, lit.p, lit.n);
    }
    json_w_arr_end(w);
}

static void w_env(json_w *w, const json_doc *d, int env)
{
    json_iter it = JSON_ITER_INIT;
    int k = -1;
    int v = -1;
    json_w_obj_begin(w);
    while (json_obj_next(d, env, &it, &k, &v)) {
        strv key = json_raw(d, k);
        strv lit = json_raw(d, v);
        json_w_key_lit(w, key.p, key.n);
        json_w_str_lit(w, lit.p, lit.n);
    }
    json_w_obj_end(w);
}

void agents_w_servers(json_w *w, const json_doc *d, int obj, bool env_null)
{
    json_iter it = JSON_ITER_INIT;
    int k = -1;
    int s = -1;
    json_w_obj_begin(w);
    while (json_obj_next(d, obj, &it, &k, &s)) {
        strv key = json_raw(d, k);
        strv cmd = json_raw(d, json_obj_get(d, s, "command"));
        int env = json_obj_get(d, s, "env");
        json_w_key_lit(w, key.p, key.n);
        json_w_obj_begin(w);
        json_w_key(w, "command");
        json_w_str_lit(w, cmd.p, cmd.n);
        json_w_key(w, "args");
        agents_w_strings(w, d, json_obj_get(d, s, "args"));
        if ((env >= 0) && !json_is_null(d, env)) {
            json_w_key(w, "env");
            w_env(w, d, env);
        } else if (env_null) {
            json_w_knull(w, "env");
        } else {
            /* a file: left out */
        }
        json_w_obj_end(w);
    }
    json_w_obj_end(w);
}

/* Finish a file: the document and its "\n"; 0 when it does not fit. */
static size_t file_end(json_w *w, char *out, size_t cap)
{
    size_t n = 0u;
    if ((json_w_finish(w, &n) != ST_OK) || (n >= cap)) {
        return 0u;
    }
    out[n] = '\n';
    return n + 1u;
}

size_t agents_build_json(char *out, size_t cap, const char *name, strv desc, strv skills)
{
    json_w w;
    json_doc d;
    bool ok = true;
    json_w_init(&w, out, cap);
    json_w_style(&w, 2u, true);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "name", name);
    json_w_key(&w, "description");
    json_w_str_lit(&w, desc.p, desc.n);
    if (skills.p != NULL) {
        ok = (json_parse(&d, skills.p, skills.n, NULL) == ST_OK);
        if (ok) {
            if (json_arr_len(&d, json_root(&d)) > 0) {
                json_w_key(&w, "skills");
                agents_w_strings(&w, &d, json_root(&d));
            }
            json_release(&d);
        }
    }
    json_w_obj_end(&w);
    return ok ? file_end(&w, out, cap) : 0u;
}

size_t agents_build_mcp(char *out, size_t cap, strv servers)
{
    json_w w;
    json_doc d;
    if (json_parse(&d, servers.p, servers.n, NULL) != ST_OK) {
        return 0u;
    }
    json_w_init(&w, out, cap);
    json_w_style(&w, 2u, true);
    json_w_obj_begin(&w);
    json_w_key(&w, "mcpServers");
    agents_w_servers(&w, &d, json_root(&d), false);
    json_w_obj_end(&w);
    json_release(&d);
    return file_end(&w, out, cap);
}
