/*
 * agents_int.h - what the parts of the agents family share (agents.h is
 * the family's contract): the limits of spec/agents.md §3.2, the on-disk
 * names of §2, paths and common answers (agents.c), an agent read from
 * disk (blueprint.c), request bodies and the files built from them
 * (body.c, agentjson.c) and the streamed answers (out.c).
 *
 * Memory: nothing of an agent is kept between requests. Its two JSON files
 * are read into the render scratch (http/server.h), which a handler of a
 * route that is not ROUTE_BIG_OUT, a ROUTE_BIG_OUT handler before it
 * begins its answer, and a producer during its call have to themselves:
 *
 *   [0, F)    agent.json           F = AGENTS_FILE_MAX, a quarter of the
 *   [F, 2F)   agent.mcp.json       scratch: a file larger than that is
 *   [2F, 4F)  room to build files  not a valid agent (and roost never
 *             or render a part     writes one)
 *
 * and the views below point into it, for one call.
 */
#ifndef ROOST_FAM_AGENTS_INT_H
#define ROOST_FAM_AGENTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "fam/agents/agents.h"
#include "fam/shared/fapi.h"
#include "http/server.h"
#include "json/read.h"
#include "json/write.h"

/* ---- limits (§1, §3.2) ------------------------------------------------------- */
#define AGENTS_NAME_MAX 60u                 /* characters (ASCII by the rule) */
#define AGENTS_NAME_BYTES (AGENTS_NAME_MAX + 1u)
#define AGENTS_DESC_MAX 2000u               /* characters */
#define AGENTS_PROMPT_MAX 262144u           /* bytes */
#define AGENTS_SERVERS_MAX 64u
#define AGENTS_SERVER_NAME_MAX 128u         /* characters */
#define AGENTS_SKILLS_MAX 100u
#define AGENTS_SKILL_MAX 128u               /* characters */

/* One JSON file of an agent, read or built (the scratch's quarter). */
#define AGENTS_FILE_MAX ((size_t)CFG_RENDER_BYTES / 4u)
_Static_assert(((size_t)CFG_RENDER_BYTES / 4u) >= 1024u, "room for an agent's files");

/* ---- the directory layout (§2) ----------------------------------------------- */
#define AGENTS_F_JSON "agent.json"
#define AGENTS_F_PROMPT "agent.system-prompt.md"
#define AGENTS_F_MCP "agent.mcp.json"
#define AGENTS_F_DISABLED ".disabled"
/* <agents.dir>/<name>/<file>: the longest file name is the prompt's. */
#define AGENTS_PATH_BYTES ((size_t)CFG_CONF_VALUE_BYTES + 96u)
/* Files and directories as upstream's Python makes them (umask 022). */
#define AGENTS_FILE_MODE 0644u
#define AGENTS_DIR_MODE 0755u

/* ---- agents.c: names, paths, answers ---------------------------------------- */
/* ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,59}$ (§1) */
bool agents_name_ok(const char *s, size_t n);
/* "<agents.dir>", "<agents.dir>/<name>" or "<agents.dir>/<name>/<file>"
 * (name, file NULL to stop earlier) into out; false when it does not fit. */
bool agents_path(char *out, size_t cap, const char *name, const char *file);
/* {"detail":"<prefix><what>"} with status. */
void agents_detail(hctx *h, int status, const char *prefix, strv what);
/* 404 {"detail":"Agent not found: <name>"} */
void agents_not_found(hctx *h, strv name);
/* 500, logged with what failed. */
void agents_internal(hctx *h, const char *what, const char *name, st_t st);
/* The render scratch and its size (the layout above). */
char *agents_room(size_t *cap);

/* ---- blueprint.c: an agent on disk (§2, §3.1) -------------------------------- */
typedef struct {
    char name[AGENTS_NAME_BYTES];   /* the directory's */
    strv desc;          /* description: its JSON string literal */
    strv skills;        /* skills: its JSON array literal; p NULL: absent or null */
    strv mcp;           /* agent.mcp.json's text; p NULL: no such file */
    bool servers;       /* its mcpServers is an object with members */
    bool prompt;        /* agent.system-prompt.md exists */
    bool inactive;      /* .disabled exists */
    uint64_t created_us;    /* agent.json's birth (else change) time, wall clock */
    uint64_t modified_us;   /* agent.json's modification time */
} agent_view;

/* Read and check agent `name` (a valid name) into room (the scratch, at
 * least 2 * AGENTS_FILE_MAX bytes; the view points into it). Uses the
 * JSON pool, which must be free, and leaves it free.
 *   ST_OK        a valid agent (§2)
 *   ST_NOTFOUND  nothing of that name, or a plain file
 *   ST_BAD       a directory that is not a valid agent, or that cannot be
 *                read: logged once per name (a bounded table), not per
 *                request */
st_t agents_load(const char *name, char *room, agent_view *v);

/* ---- agentjson.c: agents' JSON, from literals of parsed documents ------------ */
/* The strings of array arr of d, each written again by w. */
void agents_w_strings(json_w *w, const json_doc *d, int arr);
/* The servers object obj of d as MCPServerConfig dumps them: per server
 * command, args and env; env absent or null is written as null when
 * env_null (a response), else left out (a file, exclude_none). */
void agents_w_servers(json_w *w, const json_doc *d, int obj, bool env_null);
/* agent.json as upstream writes it (json.dump(indent=2) and "\n"): name,
 * description (a literal), skills (an array literal; left out when p is
 * NULL or it is empty). Uses the JSON pool. The length, 0 when it does
 * not fit cap. */
size_t agents_build_json(char *out, size_t cap, const char *name, strv desc, strv skills);
/* agent.mcp.json: {"mcpServers": <servers, an object literal>} the same
 * way. */
size_t agents_build_mcp(char *out, size_t cap, strv servers);

/* ---- body.c: request bodies (§3.2) -------------------------------------------- */
typedef struct {
    strv name;          /* literals into the body; p NULL: absent or null */
    strv desc;
    strv prompt;
    strv servers;
    strv skills;
    size_t prompt_bytes;    /* decoded */
    int nservers;
    int nskills;
} agent_body;

/* Field validation of AgentCreate (create) or AgentUpdate in pydantic v2's
 * order and words: every problem is an entry of e (the 422). Fills b. */
void agents_body_check(fapi_errs *e, const json_doc *d, bool create, agent_body *b);
/* The 400 checks, in the order of §4.4 (AgentUpdate: description and the
 * limits only): NULL when none fails, else the detail. create: the name,
 * checked, is decoded into name. */
const char *agents_body_limits(const json_doc *d, bool create, agent_body *b,
                               char name[AGENTS_NAME_BYTES]);
/* Characters of a JSON string literal once decoded. */
size_t agents_lit_chars(strv lit);

/* ---- edit.c: the routes that write an agent's files ------------------------- */
void agents_create(hctx *h);    /* POST /agents */
void agents_update(hctx *h);    /* PATCH /agents/{name} */

/* ---- out.c: answers streamed from disk (§3.1, §4.2) --------------------------- */
/* 200 the agents list, sorted by name, in fixed memory. */
void agents_answer_list(hctx *h);
/* status (200, 201) the Agent `name`, read from disk as it is sent. */
void agents_answer_one(hctx *h, int status, const char *name);

#endif
