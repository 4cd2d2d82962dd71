/*
 * bturn.c - the builder's texts (see bturn.h).
 *
 * Implementation notes:
 * - Strings of a parsed document are read straight from their JSON
 *   literal (lit_next: one character per call, escapes decoded), so a
 *   limit in characters, a trim and a copy into an output need no buffer
 *   of their own. The reader accepted the literal, so it is well-formed
 *   UTF-8 with valid escapes and paired surrogates.
 * - Every text output goes through a small builder (tb) that keeps one byte
 *   for the terminator and turns "does not fit" into ST_TOOBIG.
 * - IDENTITY.md takes the default file's body from templates_identity,
 *   rendered on the stack (under 2 KiB for a checked name) and copied
 *   behind the config's frontmatter.
 * - Scratch space is on the stack (the SKILL.md parse is about 6 KiB), so
 *   the module has no storage of its own to account for.
 * - A turn is validated and written in one pass; a validation failure
 *   wins over a full output buffer, so the retry message names the real
 *   problem.
 * - A generated SKILL.md is fixed line by line inside md (splice): the
 *   frontmatter's `name` and metadata's `skill-type` lines are rewritten or
 *   added. skillmd_parse then validates it, but it unescapes quoted scalars
 *   in place, so the description it finds is moved to the end of md and
 *   the text is built again in front of it.
 */
#include "fam/fleet/bturn.h"

#include <string.h>

#include "core/fmt.h"
#include "core/utf8.h"
#include "fam/fleet/api.h"
#include "fam/fleet/skillmd.h"
#include "fam/fleet/templates.h"
#include "json/write.h"

/* §2.9 limits beyond the Bot's (api.h: name, description, tags). */
#define BC_TONE_MAX 200u
#define BC_TRAITS_MAX 20u
#define BC_TRAIT_MAX 50u
#define BC_PURPOSE_MAX 2000u
#define BC_BOUNDARIES_MAX 2000u
#define BC_TEMP_MAX 2.0
#define BC_MAX_TOKENS_MAX 200000
#define BC_SKILLS_MAX 20u
#define BC_SKILL_DESC_MAX 1000u
#define BC_NO_LIMIT SIZE_MAX

/* Question/answer pairs a turn prompt shows. */
#define QA_SHOWN 5u
/* The default IDENTITY.md rendered for a checked name: its template is
 * under 1 KiB and holds {name} twice. */
#define IDENTITY_TPL_BYTES (1024u + (2u * FLEET_NAME_BYTES) + 16u)
/* A field path in a reason ("options[19].description"). */
#define PATH_BYTES 64u
/* What an unknown action is quoted with in a reason. */
#define ACTION_QUOTE_BYTES 40u

static const char *const k_phase_names[BPHASE_COUNT] = {
    "basics", "personality", "model", "skills", "review",
};
static const char *const k_phase_labels[BPHASE_COUNT] = {
    "Setting up basics...", "Defining personality...", "Choosing model...",
    "Selecting skills...",  "Final review...",
};
static const bphase k_phases[BPHASE_COUNT] = {
    BPHASE_BASICS, BPHASE_PERSONALITY, BPHASE_MODEL, BPHASE_SKILLS, BPHASE_REVIEW,
};
static const char *const k_categories[] = { "assistant", "creative", "research", "utility" };
#define CATEGORY_COUNT 4u

static const char k_default_boundaries[] =
    "Be helpful within your defined purpose. Decline requests outside your expertise area.";
static const char k_answer_rule[] =
    "answer must be one of OptionIndex, FreeText, Confirm or \"Back\"";

/* ---- the prompts' texts ------------------------------------------------------ */

static const char k_forge_identity[] =
    "<forge_identity>\n"
    "You are Forge, the craftsman of the bot workshop. You help people build AI bots, and the\n"
    "skills those bots use, through a short and friendly conversation.\n"
    "\n"
    "How you work:\n"
    "- You are warm and encouraging. Every idea is worth building: take the user's idea\n"
    "  seriously and help them shape it into something they are proud of.\n"
    "- You ask one smart question at a time. Each question moves the build forward, is easy\n"
    "  to answer and offers well-chosen options, while leaving room for the user's own words.\n"
    "- You explain your suggestions. When you propose a name, a tone, a model or a skill, you\n"
    "  say in a sentence why it fits what the user described.\n"
    "- You build on what you know. You never ask for something the user already told you;\n"
    "  you infer sensible defaults from the description and offer them as options.\n"
    "- You never create a bot without the user's explicit confirmation. At the final review\n"
    "  you show the complete configuration and wait until the user confirms it.\n"
    "</forge_identity>";

static const char k_rules_common[] =
    "Rules:\n"
    "1. Ask ONE question at a time, as multiple choice: two to five options that fit this\n"
    "   user's request, each with a short description saying what it means or why you\n"
    "   suggest it.\n"
    "2. Always include an \"Other\" option (id \"other\", label \"Other\") so the user can\n"
    "   answer in their own words, and set allow_free_text to true.\n"
    "3. Adapt the depth to the purpose: 3-5 questions in all for a simple utility, 6-10 for\n"
    "   an analyst or research bot, 4-7 for a creative bot. Skip every question whose answer\n"
    "   is already clear from the context.\n"
    "4. Set phase to the phase the question belongs to and phase_label to its label:\n"
    "   basics \"Setting up basics...\", personality \"Defining personality...\", model\n"
    "   \"Choosing model...\", skills \"Selecting skills...\", review \"Final review...\".\n"
    "5. Explain your reasoning: a question may open with one short sentence on what you\n"
    "   understood so far or why you suggest these options.\n"
    "6. When an answer is unclear or contradicts an earlier one, reply with clarify and a\n"
    "   short message that asks about it.\n"
    "7. Write in the language the user writes in.";

static const char k_rules_bot[] =
    "8. Go through the phases in order: basics (name, description, category, tags),\n"
    "   personality (tone, traits, purpose, boundaries), model (model, temperature,\n"
    "   max_tokens), skills (abilities beyond conversation, if the bot needs any), review.\n"
    "9. When there is enough context, move to review: reply with show_preview (phase\n"
    "   \"review\") summarising the complete configuration you propose. When the user confirms\n"
    "   it (\"Yes, confirmed.\"), reply with ready_to_assemble and the full config. When the\n"
    "   user wants changes, ask what to change. Never reply with ready_to_assemble before\n"
    "   that explicit confirmation.\n"
    "10. Keep the config within the schema's limits: name 1-100 characters; description up\n"
    "   to 1000; category one of assistant, creative, research, utility; up to 20 tags of\n"
    "   1-50 characters; tone up to 200 characters; up to 20 traits of up to 50 characters;\n"
    "   purpose up to 2000 characters; boundaries up to 2000 characters or null; temperature\n"
    "   0-2; max_tokens 1-200000; up to 20 skills, each named with lowercase letters, digits\n"
    "   and hyphens, skill_type \"local\" (a prompt skill) or \"wasm\" (a tool skill).\n"
    "11. For the model, claude-sonnet-4-20250514 is a sound default. Suggest a low\n"
    "   temperature (0.2-0.4) for precise or analytical bots, about 0.7 for general\n"
    "   assistants and 0.9-1.2 for creative ones; max_tokens 4096 suits most bots.";

static const char k_mode_bot[] =
    "Mode: new bot creation.\n"
    "\n"
    "The user described the bot they want in the initial description. Help them turn it\n"
    "into a complete configuration: a name, a description, a category and tags, a\n"
    "personality, a model and, when useful, skills.";

static const char k_mode_reconfigure[] =
    "Mode: bot reconfiguration.\n"
    "\n"
    "The user is changing an existing bot; its current configuration is in\n"
    "<current_config>. First show the current configuration: reply with show_preview (phase\n"
    "\"review\") summarising it. Then ask what the user would like to adjust, with an option\n"
    "for each area (basics, personality, model, skills) and one for keeping everything as it\n"
    "is. Change only what the user asks for and keep every other field as it is.";

static const char k_mode_skill[] =
    "Mode: new skill creation.\n"
    "\n"
    "The user is creating a skill, not a bot. Ask, one question at a time, for: the skill's\n"
    "name (lowercase letters, digits and hyphens, at most 64 characters); its description\n"
    "(what it does); its type, local (a prompt skill: instructions the bot follows) or wasm\n"
    "(a tool skill: Rust code compiled to WebAssembly); its trigger conditions (when a bot\n"
    "should use it); and the capabilities it needs, chosen from read_file, write_file,\n"
    "http_get, http_post, exec_command, read_env, recall_memory and get_secret (suggest the\n"
    "fewest that work, and say why). Use phase basics for the name and description, skills\n"
    "for the type, triggers and capabilities, and review for the summary.";

static const char k_rules_skill[] =
    "8. At review reply with show_preview (phase \"review\"): name = the skill's name,\n"
    "   description = its description, personality_summary = its type and trigger\n"
    "   conditions, model = null, skills = its capabilities. When the user confirms it,\n"
    "   reply with clarify and a message saying the skill is ready to be generated. Never\n"
    "   reply with ready_to_assemble in this mode.";

static const char k_respond[] =
    "Respond with exactly one JSON object matching this schema and nothing else:";

/* §2.9 as JSON Schema; every object schema has additionalProperties false.
 * Shared shapes are $defs, which also keeps it within 8 levels of nesting
 * (the unit tests' JSON depth). Two literals: C11 compilers need take only
 * 4095 bytes of one. */
static const char k_turn_schema[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"title\": \"BuilderTurn\",\n"
    "  \"oneOf\": [\n"
    "    {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"action\": { \"const\": \"ask_question\" },\n"
    "        \"phase\": { \"$ref\": \"#/$defs/BuilderPhase\" },\n"
    "        \"question\": { \"type\": \"string\" },\n"
    "        \"options\": { \"type\": \"array\", \"items\": { \"$ref\": \"#/$defs/BuilderOption\" } },\n"
    "        \"allow_free_text\": { \"type\": \"boolean\" },\n"
    "        \"phase_label\": { \"type\": [\"string\", \"null\"] }\n"
    "      },\n"
    "      \"required\": [\"action\", \"phase\", \"question\", \"options\", \"allow_free_text\", \"phase_label\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"action\": { \"const\": \"show_preview\" },\n"
    "        \"phase\": { \"$ref\": \"#/$defs/BuilderPhase\" },\n"
    "        \"preview\": { \"$ref\": \"#/$defs/BuilderPreview\" }\n"
    "      },\n"
    "      \"required\": [\"action\", \"phase\", \"preview\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"action\": { \"const\": \"ready_to_assemble\" },\n"
    "        \"config\": { \"$ref\": \"#/$defs/BuilderConfig\" }\n"
    "      },\n"
    "      \"required\": [\"action\", \"config\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"action\": { \"const\": \"clarify\" },\n"
    "        \"message\": { \"type\": \"string\" }\n"
    "      },\n"
    "      \"required\": [\"action\", \"message\"],\n"
    "      \"additionalProperties\": false\n"
    "    }\n"
    "  ],\n";
static const char k_turn_schema_defs[] =
    "  \"$defs\": {\n"
    "    \"BuilderPhase\": {\n"
    "      \"type\": \"string\",\n"
    "      \"enum\": [\"basics\", \"personality\", \"model\", \"skills\", \"review\"]\n"
    "    },\n"
    "    \"BuilderOption\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"id\": { \"type\": \"string\" },\n"
    "        \"label\": { \"type\": \"string\" },\n"
    "        \"description\": { \"type\": [\"string\", \"null\"] }\n"
    "      },\n"
    "      \"required\": [\"id\", \"label\", \"description\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    \"BuilderPreview\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"name\": { \"type\": [\"string\", \"null\"] },\n"
    "        \"description\": { \"type\": [\"string\", \"null\"] },\n"
    "        \"personality_summary\": { \"type\": [\"string\", \"null\"] },\n"
    "        \"model\": { \"type\": [\"string\", \"null\"] },\n"
    "        \"skills\": { \"type\": \"array\", \"items\": { \"type\": \"string\" } },\n"
    "        \"phase\": { \"$ref\": \"#/$defs/BuilderPhase\" }\n"
    "      },\n"
    "      \"required\": [\"name\", \"description\", \"personality_summary\", \"model\", \"skills\", \"phase\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    \"BuilderConfig\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"name\": { \"type\": \"string\", \"minLength\": 1, \"maxLength\": 100 },\n"
    "        \"description\": { \"type\": \"string\", \"maxLength\": 1000 },\n"
    "        \"category\": { \"enum\": [\"assistant\", \"creative\", \"research\", \"utility\"] },\n"
    "        \"tags\": {\n"
    "          \"type\": \"array\",\n"
    "          \"maxItems\": 20,\n"
    "          \"items\": { \"type\": \"string\", \"minLength\": 1, \"maxLength\": 50 }\n"
    "        },\n"
    "        \"personality\": { \"$ref\": \"#/$defs/Personality\" },\n"
    "        \"model_config\": { \"$ref\": \"#/$defs/ModelConfig\" },\n"
    "        \"skills\": { \"type\": \"array\", \"maxItems\": 20, \"items\": { \"$ref\": \"#/$defs/SkillRequest\" } }\n"
    "      },\n"
    "      \"required\": [\"name\", \"description\", \"category\", \"tags\", \"personality\", \"model_config\",\n"
    "                   \"skills\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    \"Personality\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"tone\": { \"type\": \"string\", \"maxLength\": 200 },\n"
    "        \"traits\": {\n"
    "          \"type\": \"array\",\n"
    "          \"maxItems\": 20,\n"
    "          \"items\": { \"type\": \"string\", \"maxLength\": 50 }\n"
    "        },\n"
    "        \"purpose\": { \"type\": \"string\", \"maxLength\": 2000 },\n"
    "        \"boundaries\": { \"type\": [\"string\", \"null\"], \"maxLength\": 2000 }\n"
    "      },\n"
    "      \"required\": [\"tone\", \"traits\", \"purpose\", \"boundaries\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    \"ModelConfig\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"model\": { \"type\": \"string\", \"minLength\": 1 },\n"
    "        \"temperature\": { \"type\": \"number\", \"minimum\": 0, \"maximum\": 2 },\n"
    "        \"max_tokens\": { \"type\": \"integer\", \"minimum\": 1, \"maximum\": 200000 }\n"
    "      },\n"
    "      \"required\": [\"model\", \"temperature\", \"max_tokens\"],\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    \"SkillRequest\": {\n"
    "      \"type\": \"object\",\n"
    "      \"properties\": {\n"
    "        \"name\": { \"type\": \"string\", \"pattern\": \"^[a-z0-9][a-z0-9-]{0,63}$\" },\n"
    "        \"description\": { \"type\": \"string\", \"maxLength\": 1000 },\n"
    "        \"skill_type\": { \"enum\": [\"local\", \"wasm\"] }\n"
    "      },\n"
    "      \"required\": [\"name\", \"description\", \"skill_type\"],\n"
    "      \"additionalProperties\": false\n"
    "    }\n"
    "  }\n"
    "}";

static const char k_skill_intro[] =
    "<skill_builder_instructions>\n"
    "You are Forge, the craftsman of the bot workshop. Write one skill: a SKILL.md file that\n"
    "teaches a bot a new ability";

static const char k_skill_layout_a[] =
    "Write the SKILL.md in the agentskills.io layout, YAML frontmatter between --- lines and\n"
    "then a markdown body:\n"
    "\n"
    "---\n"
    "name: <the requested name, exactly as given>\n"
    "description: <one or two sentences: what the skill does and when to use it>\n"
    "metadata:\n"
    "  version: \"0.1.0\"\n";

static const char k_skill_layout_b[] =
    "  capabilities: [<the capabilities it needs, snake_case>]\n"
    "  author: \"builder\"\n"
    "  categories: [<one to three short categories>]\n"
    "---\n"
    "\n"
    "# <name>\n"
    "\n"
    "<what the skill does, in a few sentences>\n"
    "\n"
    "## Usage\n"
    "\n"
    "<instructions for the bot: when to use the skill, how to use it step by step, what to\n"
    "return, and what to do when something fails>\n"
    "\n"
    "Frontmatter rules: one `key: value` per line, lists in flow form [a, b], a value in\n"
    "double quotes when it contains a colon or starts with a special character, no\n"
    "multi-line values.\n"
    "\n"
    "Capabilities: choose only from read_file, write_file, http_get, http_post, exec_command,\n"
    "read_env, recall_memory and get_secret, and only those the skill really needs. When the\n"
    "request names capabilities, use exactly those. List the same capabilities in the\n"
    "frontmatter and in the reply's capabilities, each with a one-line reason.\n";

static const char k_skill_local[] =
    "\n"
    "This is a local skill: a prompt skill (skill-type: prompt) made of instructions only.\n"
    "Make the usage instructions complete enough for a bot to follow them alone. Set\n"
    "source_code to null.\n";

static const char k_skill_wasm[] =
    "\n"
    "This is a wasm skill: a tool skill (skill-type: tool) whose code runs as a WebAssembly\n"
    "component. Also write its Rust source (src/lib.rs) implementing the\n"
    "boternity:skill/execute WIT interface, the world skill-plugin of package\n"
    "boternity:skill:\n"
    "- exports: get-name: func() -> string; get-description: func() -> string;\n"
    "  execute: func(input: string) -> result<string, string>;\n"
    "- imports (interface host): get-context, recall-memory, http-get, http-post, read-file,\n"
    "  write-file, get-secret, read-env and log; call only those the declared capabilities\n"
    "  allow.\n"
    "Use wit_bindgen::generate!({ world: \"skill-plugin\", path: \"wit\" }), a struct that\n"
    "implements Guest, and export!(...). execute receives the bot's input as text (JSON when\n"
    "it is structured) and returns Ok with the result text or Err with a clear message. No\n"
    "panics, no unwrap on input. Put the whole source in source_code.\n";

static const char k_skill_reply[] =
    "\n"
    "Respond with exactly one JSON object and nothing else:\n"
    "{\"skill_md\": \"<the whole SKILL.md>\", \"capabilities\": [{\"capability\": \"<name>\","
    " \"reason\": \"<why>\"}], \"source_code\": ";

/* ---- text builder ---------------------------------------------------------------- */

typedef struct {
    char *buf;      /* NULL: only count (tb_end then says ST_TOOBIG) */
    size_t cap;
    size_t len;
    bool full;
} tb;

static void tb_init(tb *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0u;
    t->full = false;
}

static void tb_put(tb *t, const char *s, size_t n)
{
    if (t->full) {
        return;
    }
    if (t->buf == NULL) {
        t->len += n;
    } else if ((t->cap - t->len) <= n) {
        t->full = true;     /* one byte stays for the terminator */
    } else {
        if (n > 0u) {
            (void)memcpy(t->buf + t->len, s, n);
        }
        t->len += n;
    }
}

static void tb_cstr(tb *t, const char *s)
{
    tb_put(t, s, strlen(s));
}

static void tb_sv(tb *t, strv s)
{
    if (s.p != NULL) {
        tb_put(t, s.p, s.n);
    }
}

static void tb_u64(tb *t, uint64_t v)
{
    char num[FMT_U64_MAX];
    size_t n = fmt_u64(num, sizeof num, v);
    tb_put(t, num, n);
}

/* NUL-terminate; ST_TOOBIG when the text did not fit. */
static st_t tb_end(tb *t, size_t *len)
{
    if ((t->buf == NULL) || t->full || (t->len >= t->cap)) {
        if ((t->buf != NULL) && (t->cap > 0u)) {
            t->buf[0] = '\0';
        }
        return ST_TOOBIG;
    }
    t->buf[t->len] = '\0';
    *len = t->len;
    return ST_OK;
}

/* ---- JSON string literals, character by character --------------------------------- */

/* The inside of string token tok's literal (between its quotes). */
static strv lit_body(const json_doc *d, int tok)
{
    strv raw = json_raw(d, tok);
    strv body = STRV_NULL;
    if ((raw.p != NULL) && (raw.n >= 2u)) {
        body = strv_make(raw.p + 1, raw.n - 2u);
    }
    return body;
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0u;
    size_t i;
    for (i = 0u; i < 4u; i++) {
        int h = strv_hex_digit((unsigned char)p[i]);
        v = (v << 4) | ((h >= 0) ? (uint32_t)h : 0u);
    }
    return v;
}

static uint32_t escape_cp(char e)
{
    uint32_t cp;
    switch (e) {
    case 'n':
        cp = 0x0Au;
        break;
    case 't':
        cp = 0x09u;
        break;
    case 'r':
        cp = 0x0Du;
        break;
    case 'b':
        cp = 0x08u;
        break;
    case 'f':
        cp = 0x0Cu;
        break;
    default:
        cp = (uint32_t)(unsigned char)e;   /* \" \\ \/ */
        break;
    }
    return cp;
}

/* The character at s.p[*i] of a literal body (*i < s.n); *i moves past it. */
static uint32_t lit_next(strv s, size_t *i)
{
    const char *p = s.p;
    size_t k = *i;
    uint32_t cp;
    unsigned char b = (unsigned char)p[k];
    if ((b == (unsigned char)'\\') && ((k + 1u) < s.n)) {
        char e = p[k + 1u];
        k += 2u;
        if ((e == 'u') && ((k + 4u) <= s.n)) {
            cp = hex4(p + k);
            k += 4u;
            if ((cp >= 0xD800u) && (cp <= 0xDBFFu) && ((k + 6u) <= s.n) && (p[k] == '\\') &&
                (p[k + 1u] == 'u')) {
                uint32_t lo = hex4(p + k + 2u);
                if ((lo >= 0xDC00u) && (lo <= 0xDFFFu)) {
                    cp = 0x10000u + ((cp - 0xD800u) << 10) + (lo - 0xDC00u);
                    k += 6u;
                }
            }
        } else {
            cp = escape_cp(e);
        }
    } else if (b < 0x80u) {
        cp = b;
        k++;
    } else {
        size_t len = 2u;
        uint32_t mask = 0x1Fu;
        size_t j;
        if (b >= 0xF0u) {
            len = 4u;
            mask = 0x07u;
        } else if (b >= 0xE0u) {
            len = 3u;
            mask = 0x0Fu;
        } else {
            /* a two-byte sequence */
        }
        cp = (uint32_t)b & mask;
        for (j = 1u; (j < len) && ((k + j) < s.n); j++) {
            cp = (cp << 6) | ((uint32_t)(unsigned char)p[k + j] & 0x3Fu);
        }
        k += len;
    }
    *i = (k < s.n) ? k : s.n;
    return cp;
}

static bool cp_is_ws(uint32_t cp)
{
    return (cp == 0x20u) || ((cp >= 0x09u) && (cp <= 0x0Du));
}

typedef struct {
    size_t chars;       /* characters (Unicode scalar values) */
    size_t trimmed;     /* characters without leading/trailing ASCII whitespace */
    size_t start;       /* byte offset in the body of the first one of those */
    size_t end;         /* byte offset after the last one */
    bool ctrl;          /* a character below U+0020 among those */
    bool nul;           /* U+0000 anywhere */
} lit_info;

static lit_info lit_scan(strv body)
{
    lit_info li = { 0u, 0u, 0u, 0u, false, false };
    size_t i = 0u;
    size_t first = 0u;
    size_t last = 0u;
    size_t ctrl_at = 0u;    /* the first control character after first, 0: none */
    bool seen = false;
    while (i < body.n) {
        size_t at = i;
        uint32_t cp = lit_next(body, &i);
        li.chars++;
        if (cp == 0u) {
            li.nul = true;
        }
        if (!cp_is_ws(cp)) {
            if (!seen) {
                seen = true;
                first = li.chars;
                li.start = at;
            }
            last = li.chars;
            li.end = i;
        }
        if (seen && (cp < 0x20u) && (ctrl_at == 0u)) {
            ctrl_at = li.chars;
        }
    }
    li.trimmed = seen ? ((last - first) + 1u) : 0u;
    li.ctrl = (ctrl_at != 0u) && (ctrl_at <= last);
    return li;
}

/* Append the characters of a literal body from byte i to byte end. */
static void tb_chars(tb *t, strv body, size_t from, size_t end)
{
    size_t i = from;
    while (i < end) {
        unsigned char u8[4];
        uint32_t cp = lit_next(body, &i);
        size_t n;
        if ((cp > 0x10FFFFu) || ((cp >= 0xD800u) && (cp <= 0xDFFFu))) {
            cp = 0xFFFDu;   /* cannot happen on an accepted literal */
        }
        n = utf8_encode((unsigned long)cp, u8);
        tb_put(t, (const char *)u8, n);
    }
}

/* Append the decoded string tok (trimmed of ASCII whitespace when trim). */
static void tb_lit(tb *t, const json_doc *d, int tok, bool trim)
{
    strv body = lit_body(d, tok);
    if (trim) {
        lit_info li = lit_scan(body);
        tb_chars(t, body, li.start, li.end);
    } else {
        tb_chars(t, body, 0u, body.n);
    }
}

/* The decoded string tok, trimmed, into buf (NUL-terminated). */
static st_t lit_copy(const json_doc *d, int tok, bool trim, char *buf, size_t cap, size_t *n)
{
    tb t;
    tb_init(&t, buf, cap);
    tb_lit(&t, d, tok, trim);
    return tb_end(&t, n);
}

/* ---- reasons ------------------------------------------------------------------------ */

/* len, or less so that buf[0..len) does not end inside a character. */
static size_t utf8_cut(const char *buf, size_t len)
{
    size_t s = len;
    size_t out = len;
    while ((s > 0u) && ((((unsigned char)buf[s - 1u]) & 0xC0u) == 0x80u)) {
        s--;
    }
    if (s > 0u) {
        unsigned char lead = (unsigned char)buf[s - 1u];
        size_t need = 1u;
        if (lead >= 0xF0u) {
            need = 4u;
        } else if (lead >= 0xE0u) {
            need = 3u;
        } else if (lead >= 0xC0u) {
            need = 2u;
        } else {
            /* ASCII */
        }
        if (((s - 1u) + need) > len) {
            out = s - 1u;
        }
    }
    return out;
}

/* reason = the parts (NULL ones skipped), cut to rcap on a character
 * boundary. */
static void reason_parts(char *reason, size_t rcap, const char *const *part, size_t nparts)
{
    size_t len = 0u;
    size_t k;
    bool cut = false;
    if ((reason == NULL) || (rcap == 0u)) {
        return;
    }
    for (k = 0u; k < nparts; k++) {
        const char *s = part[k];
        size_t i = 0u;
        while ((s != NULL) && (s[i] != '\0')) {
            if ((len + 1u) < rcap) {
                reason[len] = s[i];
                len++;
            } else {
                cut = true;
            }
            i++;
        }
    }
    if (cut) {
        len = utf8_cut(reason, len);
    }
    reason[len] = '\0';
}

static void reason4(char *reason, size_t rcap, const char *a, const char *b, const char *c,
                    const char *d)
{
    const char *part[4];
    part[0] = a;
    part[1] = b;
    part[2] = c;
    part[3] = d;
    reason_parts(reason, rcap, part, 4u);
}

/* "field '<path>' <why>"; false, for `return bad(...)`. */
static bool bad(char *reason, size_t rcap, const char *path, const char *why)
{
    reason4(reason, rcap, "field '", path, "' ", why);
    return false;
}

/* path = base "[i]" rest into buf. */
static const char *path_at(char *buf, size_t cap, const char *base, size_t i, const char *rest)
{
    tb t;
    size_t n = 0u;
    tb_init(&t, buf, cap);
    tb_cstr(&t, base);
    tb_cstr(&t, "[");
    tb_u64(&t, (uint64_t)i);
    tb_cstr(&t, "]");
    tb_cstr(&t, rest);
    if (tb_end(&t, &n) != ST_OK) {
        return base;
    }
    return buf;
}

/* ---- phases ----------------------------------------------------------------------- */

const char *bphase_name(bphase p)
{
    size_t i = (size_t)p;
    return (i < BPHASE_COUNT) ? k_phase_names[i] : k_phase_names[0];
}

const char *bphase_label(bphase p)
{
    size_t i = (size_t)p;
    return (i < BPHASE_COUNT) ? k_phase_labels[i] : k_phase_labels[0];
}

bool bphase_parse(strv s, bphase *out)
{
    size_t i;
    for (i = 0u; i < BPHASE_COUNT; i++) {
        if (strv_eq_cstr(s, k_phase_names[i])) {
            *out = k_phases[i];
            return true;
        }
    }
    return false;
}

/* A string token naming a phase. */
static bool tok_phase(const json_doc *d, int tok, bphase *out)
{
    char buf[16];
    size_t n = 0u;
    if (json_get_str(d, tok, buf, sizeof buf, &n) != ST_OK) {
        return false;
    }
    return bphase_parse(strv_make(buf, n), out);
}

/* ---- the model's reply: the JSON object in it ----------------------------------------- */

/* p[0..n) is lit (no terminator compared). */
static bool bytes_are(const char *p, const char *lit, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        if (p[i] != lit[i]) {
            return false;
        }
    }
    return true;
}

static bool is_letter(char ch)
{
    return ((ch >= 'a') && (ch <= 'z')) || ((ch >= 'A') && (ch <= 'Z'));
}

/* The reply without surrounding whitespace and one pair of code fences
 * (``` or ```json ... ```; the closing fence may be missing). */
static strv unfence(strv reply)
{
    strv s = strv_trim_ws(reply);
    const char *p = s.p;
    size_t i = 3u;
    if ((s.n < 3u) || !bytes_are(p, "```", 3u)) {
        return s;
    }
    while ((i < s.n) && is_letter(p[i])) {
        i++;    /* the fence's language tag */
    }
    s = strv_make(p + i, s.n - i);
    if ((s.n >= 3u) && bytes_are(s.p + (s.n - 3u), "```", 3u)) {
        s.n -= 3u;
    }
    return strv_trim_ws(s);
}

/* The object of a reply: from the first '{' to its matching '}', braces
 * inside JSON strings not counted. */
static bool reply_object(const char *text, size_t n, strv *obj, char *reason, size_t rcap)
{
    strv s = unfence(strv_make(text, n));
    const char *p = s.p;
    size_t i;
    size_t open = 0u;
    size_t depth = 0u;
    bool found = false;
    bool in_str = false;
    bool esc = false;
    for (i = 0u; (i < s.n) && !found; i++) {
        if (p[i] == '{') {
            open = i;
            found = true;
        }
    }
    if (!found) {
        reason4(reason, rcap, "no JSON object in the reply", NULL, NULL, NULL);
        return false;
    }
    for (i = open; i < s.n; i++) {
        char ch = p[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (ch == '\\') {
                esc = true;
            } else if (ch == '"') {
                in_str = false;
            } else {
                /* a character of the string */
            }
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{') {
            depth++;
        } else if (ch == '}') {
            depth--;
            if (depth == 0u) {
                *obj = strv_make(p + open, (i - open) + 1u);
                return true;
            }
        } else {
            /* outside strings, only braces count */
        }
    }
    reason4(reason, rcap, "unterminated JSON object in the reply", NULL, NULL, NULL);
    return false;
}

/* Parse the reply's object into d (the pool). */
static bool reply_parse(const char *text, size_t n, json_doc *d, char *reason, size_t rcap)
{
    strv obj = STRV_NULL;
    json_err err = { 0u, NULL };
    if (!reply_object(text, n, &obj, reason, rcap)) {
        return false;
    }
    if (json_parse(d, obj.p, obj.n, &err) != ST_OK) {
        reason4(reason, rcap, "invalid JSON: ", (err.reason != NULL) ? err.reason : "unknown", NULL,
                NULL);
        return false;
    }
    return true;
}

/* ---- BuilderConfig -------------------------------------------------------------------- */

typedef struct {
    const json_doc *d;
    char *reason;
    size_t rcap;
} chk;

/* "Invalid field 'config.<path>': <why>"; false. */
static bool bc_bad(chk *c, const char *path, const char *why)
{
    const char *part[5];
    part[0] = "Invalid field 'config";
    part[1] = (path[0] != '\0') ? "." : NULL;
    part[2] = path;
    part[3] = "': ";
    part[4] = why;
    reason_parts(c->reason, c->rcap, part, 5u);
    return false;
}

typedef struct {
    size_t min;             /* characters (after trimming when trim) */
    size_t max;
    bool trim;
    bool no_ctrl;
    bool required;
} str_rule;

static bool bc_str(chk *c, int tok, const char *path, const str_rule *r)
{
    const json_doc *d = c->d;
    lit_info li;
    size_t count;
    if ((tok < 0) || json_is_null(d, tok)) {
        return r->required ? bc_bad(c, path, "required") : true;
    }
    if (json_type(d, tok) != JSON_STRING) {
        return bc_bad(c, path, "expected a string");
    }
    li = lit_scan(lit_body(d, tok));
    count = r->trim ? li.trimmed : li.chars;
    if (li.nul) {
        return bc_bad(c, path, "must not contain U+0000");
    }
    if (r->no_ctrl && li.ctrl) {
        return bc_bad(c, path, "must not contain control characters");
    }
    if (count < r->min) {
        return bc_bad(c, path, "must not be empty");
    }
    if (count > r->max) {
        char why[48];
        tb t;
        size_t n = 0u;
        tb_init(&t, why, sizeof why);
        tb_cstr(&t, "must be at most ");
        tb_u64(&t, (uint64_t)r->max);
        tb_cstr(&t, " characters");
        (void)tb_end(&t, &n);
        return bc_bad(c, path, why);
    }
    return true;
}

/* An optional array of strings: tags (1..50 each) or traits (..50 each). */
static bool bc_str_list(chk *c, int tok, const char *path, size_t min_chars,
                         size_t max_chars, size_t max_items, const char *each_why,
                         const char *count_why)
{
    const json_doc *d = c->d;
    json_iter it = JSON_ITER_INIT;
    int v;
    size_t count = 0u;
    if ((tok < 0) || json_is_null(d, tok)) {
        return true;
    }
    if (json_type(d, tok) != JSON_ARRAY) {
        return bc_bad(c, path, "expected an array of strings");
    }
    while (json_arr_next(d, tok, &it, &v)) {
        lit_info li;
        if (json_type(d, v) != JSON_STRING) {
            return bc_bad(c, path, "expected an array of strings");
        }
        li = lit_scan(lit_body(d, v));
        if (li.nul) {
            return bc_bad(c, path, "must not contain U+0000");
        }
        if ((li.chars < min_chars) || (li.chars > max_chars)) {
            return bc_bad(c, path, each_why);
        }
        count++;
        if (count > max_items) {
            return bc_bad(c, path, count_why);
        }
    }
    return true;
}

/* A required object member: -1 and a reason when absent or not an object. */
static int bc_obj(chk *c, int obj, const char *key, bool *ok)
{
    int tok = json_obj_get(c->d, obj, key);
    if ((tok < 0) || json_is_null(c->d, tok)) {
        *ok = bc_bad(c, key, "required");
        return -1;
    }
    if (json_type(c->d, tok) != JSON_OBJECT) {
        *ok = bc_bad(c, key, "expected an object");
        return -1;
    }
    *ok = true;
    return tok;
}

static bool bc_personality(chk *c, int cfg)
{
    static const str_rule tone = { 0u, BC_TONE_MAX, false, false, true };
    static const str_rule purpose = { 0u, BC_PURPOSE_MAX, false, false, true };
    static const str_rule boundaries = { 0u, BC_BOUNDARIES_MAX, false, false, false };
    const json_doc *d = c->d;
    bool ok = true;
    int p = bc_obj(c, cfg, "personality", &ok);
    ok = ok && bc_str(c, json_obj_get(d, p, "tone"), "personality.tone", &tone);
    ok = ok && bc_str_list(c, json_obj_get(d, p, "traits"), "personality.traits", 0u,
                            BC_TRAIT_MAX, BC_TRAITS_MAX,
                            "each trait must be at most 50 characters", "at most 20 traits");
    ok = ok && bc_str(c, json_obj_get(d, p, "purpose"), "personality.purpose", &purpose);
    ok = ok && bc_str(c, json_obj_get(d, p, "boundaries"), "personality.boundaries",
                       &boundaries);
    return ok;
}

static bool bc_model(chk *c, int cfg)
{
    static const str_rule model = { 1u, BC_NO_LIMIT, true, true, true };
    const json_doc *d = c->d;
    bool ok = true;
    int m = bc_obj(c, cfg, "model_config", &ok);
    int t;
    double temp = 0.0;
    int64_t max_tokens = 0;
    st_t st;
    ok = ok && bc_str(c, json_obj_get(d, m, "model"), "model_config.model", &model);
    if (!ok) {
        return false;
    }
    t = json_obj_get(d, m, "temperature");
    if ((t < 0) || json_is_null(d, t)) {
        return bc_bad(c, "model_config.temperature", "required");
    }
    if (json_get_f64(d, t, &temp) != ST_OK) {
        return bc_bad(c, "model_config.temperature", "expected a number");
    }
    if ((temp < 0.0) || (temp > BC_TEMP_MAX)) {
        return bc_bad(c, "model_config.temperature", "must be between 0 and 2");
    }
    t = json_obj_get(d, m, "max_tokens");
    if ((t < 0) || json_is_null(d, t)) {
        return bc_bad(c, "model_config.max_tokens", "required");
    }
    st = json_get_i64(d, t, &max_tokens);
    if ((st != ST_OK) && (st != ST_RANGE)) {
        return bc_bad(c, "model_config.max_tokens", "expected an integer");
    }
    if ((st == ST_RANGE) || (max_tokens < 1) || (max_tokens > BC_MAX_TOKENS_MAX)) {
        return bc_bad(c, "model_config.max_tokens", "must be between 1 and 200000");
    }
    return true;
}

static bool bc_skill(chk *c, int s, size_t i)
{
    static const str_rule desc = { 0u, BC_SKILL_DESC_MAX, false, false, true };
    static const str_rule type = { 0u, BC_NO_LIMIT, false, false, true };
    const json_doc *d = c->d;
    char path[PATH_BYTES];
    char name[SKILLMD_NAME_MAX + 2u];
    size_t n = 0u;
    int t;
    if (json_type(d, s) != JSON_OBJECT) {
        return bc_bad(c, path_at(path, sizeof path, "skills", i, ""), "expected an object");
    }
    t = json_obj_get(d, s, "name");
    if ((t < 0) || json_is_null(d, t)) {
        return bc_bad(c, path_at(path, sizeof path, "skills", i, ".name"), "required");
    }
    if (json_type(d, t) != JSON_STRING) {
        return bc_bad(c, path_at(path, sizeof path, "skills", i, ".name"), "expected a string");
    }
    if ((json_get_str(d, t, name, sizeof name, &n) != ST_OK) ||
        !skillmd_name_ok(strv_make(name, n))) {
        return bc_bad(c, path_at(path, sizeof path, "skills", i, ".name"),
                       "must match ^[a-z0-9][a-z0-9-]{0,63}$");
    }
    if (!bc_str(c, json_obj_get(d, s, "description"),
                 path_at(path, sizeof path, "skills", i, ".description"), &desc)) {
        return false;
    }
    return bc_str(c, json_obj_get(d, s, "skill_type"),
                   path_at(path, sizeof path, "skills", i, ".skill_type"), &type);
}

static bool bc_skills(chk *c, int cfg)
{
    const json_doc *d = c->d;
    int t = json_obj_get(d, cfg, "skills");
    json_iter it = JSON_ITER_INIT;
    int v;
    size_t i = 0u;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_ARRAY) {
        return bc_bad(c, "skills", "expected an array");
    }
    if ((size_t)json_arr_len(d, t) > BC_SKILLS_MAX) {
        return bc_bad(c, "skills", "at most 20 skills");
    }
    while (json_arr_next(d, t, &it, &v)) {
        if (!bc_skill(c, v, i)) {
            return false;
        }
        i++;
    }
    return true;
}

st_t bconfig_check(const json_doc *d, int tok, char *reason, size_t rcap)
{
    static const str_rule name = { 1u, FLEET_NAME_MAX_CHARS, true, true, true };
    static const str_rule desc = { 0u, FLEET_DESC_MAX_CHARS, false, false, false };
    static const str_rule category = { 0u, BC_NO_LIMIT, false, false, false };
    chk c;
    bool ok;
    c.d = d;
    c.reason = reason;
    c.rcap = rcap;
    if ((tok < 0) || json_is_null(d, tok)) {
        reason4(reason, rcap, "Invalid field 'config': required", NULL, NULL, NULL);
        return ST_BAD;
    }
    if (json_type(d, tok) != JSON_OBJECT) {
        reason4(reason, rcap, "Invalid field 'config': expected an object", NULL, NULL, NULL);
        return ST_BAD;
    }
    ok = bc_str(&c, json_obj_get(d, tok, "name"), "name", &name);
    ok = ok && bc_str(&c, json_obj_get(d, tok, "description"), "description", &desc);
    ok = ok && bc_str(&c, json_obj_get(d, tok, "category"), "category", &category);
    ok = ok && bc_str_list(&c, json_obj_get(d, tok, "tags"), "tags", 1u, FLEET_TAG_MAX_CHARS,
                            FLEET_TAGS_MAX, "each tag must be 1-50 characters", "at most 20 tags");
    ok = ok && bc_personality(&c, tok);
    ok = ok && bc_model(&c, tok);
    ok = ok && bc_skills(&c, tok);
    return ok ? ST_OK : ST_BAD;
}

const char *bconfig_category(const json_doc *d, int tok)
{
    int t = json_obj_get(d, tok, "category");
    size_t i;
    for (i = 0u; i < CATEGORY_COUNT; i++) {
        if (json_str_eq(d, t, k_categories[i])) {
            return k_categories[i];
        }
    }
    return k_categories[0];
}

/* An optional string member as the writer's value: absent or null -> dflt
 * (NULL: null). */
static void w_opt_str(json_w *w, const json_doc *d, int obj, const char *key, const char *dflt)
{
    int t = json_obj_get(d, obj, key);
    json_w_key(w, key);
    if ((t < 0) || (json_type(d, t) != JSON_STRING)) {
        json_w_cstr(w, dflt);
    } else {
        strv raw = json_raw(d, t);
        json_w_str_lit(w, raw.p, raw.n);
    }
}

static void w_str_list(json_w *w, const json_doc *d, int obj, const char *key)
{
    int t = json_obj_get(d, obj, key);
    json_iter it = JSON_ITER_INIT;
    int v;
    json_w_key(w, key);
    json_w_arr_begin(w);
    while (json_arr_next(d, t, &it, &v)) {
        strv raw = json_raw(d, v);
        json_w_str_lit(w, raw.p, raw.n);
    }
    json_w_arr_end(w);
}

/* The trimmed name of a checked config (at most FLEET_NAME_MAX_CHARS). */
static void w_name(json_w *w, const json_doc *d, int obj)
{
    char buf[FLEET_NAME_BYTES];
    size_t n = 0u;
    json_w_key(w, "name");
    if (lit_copy(d, json_obj_get(d, obj, "name"), true, buf, sizeof buf, &n) == ST_OK) {
        json_w_str(w, buf, n);
    } else {
        json_w_cstr(w, "");   /* cannot happen on a checked config */
    }
}

/* The checked config at tok, normalised: §2.9 member order, defaults for
 * what was absent, unknown members dropped. */
static void w_config(json_w *w, const json_doc *d, int tok)
{
    int p = json_obj_get(d, tok, "personality");
    int m = json_obj_get(d, tok, "model_config");
    int s = json_obj_get(d, tok, "skills");
    json_iter it = JSON_ITER_INIT;
    int v;
    double temp = 0.0;
    int64_t max_tokens = 0;
    json_w_obj_begin(w);
    w_name(w, d, tok);
    w_opt_str(w, d, tok, "description", "");
    w_opt_str(w, d, tok, "category", TEMPLATES_DEFAULT_CATEGORY);
    w_str_list(w, d, tok, "tags");
    json_w_key(w, "personality");
    json_w_obj_begin(w);
    w_opt_str(w, d, p, "tone", "");
    w_str_list(w, d, p, "traits");
    w_opt_str(w, d, p, "purpose", "");
    w_opt_str(w, d, p, "boundaries", NULL);
    json_w_obj_end(w);
    json_w_key(w, "model_config");
    json_w_obj_begin(w);
    w_opt_str(w, d, m, "model", "");
    (void)json_field_f64(d, m, "temperature", &temp);
    (void)json_field_i64(d, m, "max_tokens", &max_tokens);
    json_w_kf64(w, "temperature", temp);
    json_w_ki64(w, "max_tokens", max_tokens);
    json_w_obj_end(w);
    json_w_key(w, "skills");
    json_w_arr_begin(w);
    while (json_arr_next(d, s, &it, &v)) {
        json_w_obj_begin(w);
        w_opt_str(w, d, v, "name", "");
        w_opt_str(w, d, v, "description", "");
        w_opt_str(w, d, v, "skill_type", "");
        json_w_obj_end(w);
    }
    json_w_arr_end(w);
    json_w_obj_end(w);
}

/* ---- BuilderTurn ---------------------------------------------------------------------- */

typedef struct {
    const json_doc *d;
    json_w *w;
    char *reason;
    size_t rcap;
} tctx;

/* A required string member, written. */
static bool t_str(tctx *t, int obj, const char *key, const char *path)
{
    int v = json_obj_get(t->d, obj, key);
    strv raw;
    if (v < 0) {
        return bad(t->reason, t->rcap, path, "missing");
    }
    if (json_type(t->d, v) != JSON_STRING) {
        return bad(t->reason, t->rcap, path, "is not a string");
    }
    if (lit_scan(lit_body(t->d, v)).nul) {
        return bad(t->reason, t->rcap, path, "contains U+0000");
    }
    raw = json_raw(t->d, v);
    json_w_key(t->w, key);
    json_w_str_lit(t->w, raw.p, raw.n);
    return true;
}

/* A string-or-null member (missing -> null), written. */
static bool t_opt_str(tctx *t, int obj, const char *key, const char *path)
{
    int v = json_obj_get(t->d, obj, key);
    json_w_key(t->w, key);
    if ((v < 0) || json_is_null(t->d, v)) {
        json_w_null(t->w);
        return true;
    }
    if (json_type(t->d, v) != JSON_STRING) {
        return bad(t->reason, t->rcap, path, "is not a string or null");
    }
    if (lit_scan(lit_body(t->d, v)).nul) {
        return bad(t->reason, t->rcap, path, "contains U+0000");
    }
    {
        strv raw = json_raw(t->d, v);
        json_w_str_lit(t->w, raw.p, raw.n);
    }
    return true;
}

static bool t_phase(tctx *t, int obj, const char *path, bphase *out)
{
    int v = json_obj_get(t->d, obj, "phase");
    if (v < 0) {
        return bad(t->reason, t->rcap, path, "missing");
    }
    if (!tok_phase(t->d, v, out)) {
        return bad(t->reason, t->rcap, path, "is not a BuilderPhase");
    }
    json_w_kstr(t->w, "phase", bphase_name(*out));
    return true;
}

static bool t_options(tctx *t, int obj)
{
    const json_doc *d = t->d;
    int arr = json_obj_get(d, obj, "options");
    json_iter it = JSON_ITER_INIT;
    int v;
    size_t i = 0u;
    char path[PATH_BYTES];
    if (arr < 0) {
        return bad(t->reason, t->rcap, "options", "missing");
    }
    if (json_type(d, arr) != JSON_ARRAY) {
        return bad(t->reason, t->rcap, "options", "is not an array");
    }
    json_w_key(t->w, "options");
    json_w_arr_begin(t->w);
    while (json_arr_next(d, arr, &it, &v)) {
        if (json_type(d, v) != JSON_OBJECT) {
            return bad(t->reason, t->rcap, path_at(path, sizeof path, "options", i, ""),
                       "is not an object");
        }
        json_w_obj_begin(t->w);
        if (!t_str(t, v, "id", path_at(path, sizeof path, "options", i, ".id")) ||
            !t_str(t, v, "label", path_at(path, sizeof path, "options", i, ".label")) ||
            !t_opt_str(t, v, "description",
                       path_at(path, sizeof path, "options", i, ".description"))) {
            return false;
        }
        json_w_obj_end(t->w);
        i++;
    }
    json_w_arr_end(t->w);
    return true;
}

static bool t_ask(tctx *t, int root, bturn_info *info)
{
    bool allow = false;
    int v;
    if (!t_phase(t, root, "phase", &info->phase) || !t_str(t, root, "question", "question") ||
        !t_options(t, root)) {
        return false;
    }
    v = json_obj_get(t->d, root, "allow_free_text");
    if (v < 0) {
        return bad(t->reason, t->rcap, "allow_free_text", "missing");
    }
    if (json_get_bool(t->d, v, &allow) != ST_OK) {
        return bad(t->reason, t->rcap, "allow_free_text", "is not a boolean");
    }
    json_w_kbool(t->w, "allow_free_text", allow);
    info->has_phase = true;
    return t_opt_str(t, root, "phase_label", "phase_label");
}

static bool t_preview(tctx *t, int root, bturn_info *info)
{
    const json_doc *d = t->d;
    int pv;
    int sk;
    int v;
    json_iter it = JSON_ITER_INIT;
    bphase inner = BPHASE_BASICS;
    if (!t_phase(t, root, "phase", &info->phase)) {
        return false;
    }
    info->has_phase = true;
    pv = json_obj_get(d, root, "preview");
    if (pv < 0) {
        return bad(t->reason, t->rcap, "preview", "missing");
    }
    if (json_type(d, pv) != JSON_OBJECT) {
        return bad(t->reason, t->rcap, "preview", "is not an object");
    }
    json_w_key(t->w, "preview");
    json_w_obj_begin(t->w);
    if (!t_opt_str(t, pv, "name", "preview.name") ||
        !t_opt_str(t, pv, "description", "preview.description") ||
        !t_opt_str(t, pv, "personality_summary", "preview.personality_summary") ||
        !t_opt_str(t, pv, "model", "preview.model")) {
        return false;
    }
    sk = json_obj_get(d, pv, "skills");
    if (sk < 0) {
        return bad(t->reason, t->rcap, "preview.skills", "missing");
    }
    if (json_type(d, sk) != JSON_ARRAY) {
        return bad(t->reason, t->rcap, "preview.skills", "is not an array of strings");
    }
    json_w_key(t->w, "skills");
    json_w_arr_begin(t->w);
    while (json_arr_next(d, sk, &it, &v)) {
        strv raw;
        if (json_type(d, v) != JSON_STRING) {
            return bad(t->reason, t->rcap, "preview.skills", "is not an array of strings");
        }
        if (lit_scan(lit_body(d, v)).nul) {
            return bad(t->reason, t->rcap, "preview.skills", "contains U+0000");
        }
        raw = json_raw(d, v);
        json_w_str_lit(t->w, raw.p, raw.n);
    }
    json_w_arr_end(t->w);
    if (!t_phase(t, pv, "preview.phase", &inner)) {
        return false;
    }
    json_w_obj_end(t->w);
    return true;
}

static bool t_ready(tctx *t, int root)
{
    int cfg = json_obj_get(t->d, root, "config");
    if (bconfig_check(t->d, cfg, t->reason, t->rcap) != ST_OK) {
        return false;
    }
    json_w_key(t->w, "config");
    w_config(t->w, t->d, cfg);
    return true;
}

static const char *const k_action_names[] = { "ask_question", "show_preview",
                                              "ready_to_assemble", "clarify" };
static const baction k_actions[] = { BT_ASK, BT_PREVIEW, BT_READY, BT_CLARIFY };
#define ACTION_COUNT 4u

static const char *action_name(baction a)
{
    size_t i = (size_t)a;
    return (i < ACTION_COUNT) ? k_action_names[i] : k_action_names[ACTION_COUNT - 1u];
}

/* The action of a turn's root; false with a reason when it is none. */
static bool t_action(const json_doc *d, int root, baction *out, char *reason, size_t rcap)
{
    int v = json_obj_get(d, root, "action");
    char quoted[ACTION_QUOTE_BYTES];
    size_t n = 0u;
    size_t i;
    if (v < 0) {
        return bad(reason, rcap, "action", "missing");
    }
    if (json_type(d, v) != JSON_STRING) {
        return bad(reason, rcap, "action", "is not a string");
    }
    for (i = 0u; i < ACTION_COUNT; i++) {
        if (json_str_eq(d, v, k_action_names[i])) {
            *out = k_actions[i];
            return true;
        }
    }
    if (lit_copy(d, v, false, quoted, sizeof quoted, &n) != ST_OK) {
        /* a long name: its first characters, then "..." */
        tb t;
        strv body = lit_body(d, v);
        tb_init(&t, quoted, (sizeof quoted) - 3u);
        tb_chars(&t, body, 0u, body.n);
        (void)memcpy(quoted + t.len, "...", 4u);   /* tb_chars wrote whole characters */
    }
    reason4(reason, rcap, "unknown action '", quoted, "'", NULL);
    return false;
}

st_t bturn_parse(const char *text, size_t n, char *out, size_t cap, size_t *len,
                 bturn_info *info, char *reason, size_t rcap)
{
    json_doc d;
    json_w w;
    tctx t;
    int root;
    bool ok;
    size_t wlen = 0u;
    size_t room = 0u;   /* cap less one byte for the terminator */
    st_t st;
    if (cap > 0u) {
        room = cap - 1u;
    }
    info->action = BT_CLARIFY;
    info->has_phase = false;
    info->phase = BPHASE_BASICS;
    if (!reply_parse(text, n, &d, reason, rcap)) {
        return ST_BAD;
    }
    root = json_root(&d);
    json_w_init(&w, out, room);
    t.d = &d;
    t.w = &w;
    t.reason = reason;
    t.rcap = rcap;
    ok = t_action(&d, root, &info->action, reason, rcap);
    if (ok) {
        json_w_obj_begin(&w);
        json_w_kstr(&w, "action", action_name(info->action));
        if (info->action == BT_ASK) {
            ok = t_ask(&t, root, info);
        } else if (info->action == BT_PREVIEW) {
            ok = t_preview(&t, root, info);
        } else if (info->action == BT_READY) {
            ok = t_ready(&t, root);
        } else {
            ok = t_str(&t, root, "message", "message");
        }
        json_w_obj_end(&w);
    }
    json_release(&d);
    if (!ok) {
        info->has_phase = false;
        return ST_BAD;
    }
    st = json_w_finish(&w, &wlen);
    if ((st != ST_OK) || (wlen >= cap)) {
        return ST_TOOBIG;
    }
    out[wlen] = '\0';
    *len = wlen;
    return ST_OK;
}

/* Parse a turn written by bturn_parse; its action's name in *action. */
static bool turn_load(const char *turn, size_t n, json_doc *d, baction *action)
{
    char why[8];
    if (json_parse(d, turn, n, NULL) != ST_OK) {
        return false;
    }
    if (!t_action(d, json_root(d), action, why, sizeof why)) {
        json_release(d);
        return false;
    }
    return true;
}

st_t bturn_option_label(const char *turn, size_t n, uint32_t index, char *out, size_t cap,
                        size_t *len)
{
    json_doc d;
    baction action = BT_CLARIFY;
    st_t st = ST_NOTFOUND;
    if (!turn_load(turn, n, &d, &action)) {
        return ST_BAD;
    }
    if ((action == BT_ASK) && (index <= (uint32_t)INT32_MAX)) {
        int opts = json_obj_get(&d, json_root(&d), "options");
        int o = json_arr_at(&d, opts, (int)index);
        int label = json_obj_get(&d, o, "label");
        if (json_type(&d, label) == JSON_STRING) {
            st = lit_copy(&d, label, false, out, cap, len);
        }
    }
    json_release(&d);
    return st;
}

st_t bturn_question(const char *turn, size_t n, char *out, size_t cap, size_t *len)
{
    json_doc d;
    baction action = BT_CLARIFY;
    st_t st;
    tb t;
    if (!turn_load(turn, n, &d, &action)) {
        return ST_BAD;
    }
    tb_init(&t, out, cap);
    if (action == BT_ASK) {
        tb_lit(&t, &d, json_obj_get(&d, json_root(&d), "question"), false);
    } else if (action == BT_CLARIFY) {
        tb_lit(&t, &d, json_obj_get(&d, json_root(&d), "message"), false);
    } else if (action == BT_PREVIEW) {
        tb_cstr(&t, "Preview");
    } else {
        tb_cstr(&t, "Ready to assemble");
    }
    st = tb_end(&t, len);
    json_release(&d);
    return st;
}

/* ---- BuilderAnswer -------------------------------------------------------------------- */

st_t banswer_parse(const json_doc *d, int tok, banswer *out, char *text, size_t cap,
                   char *reason, size_t rcap)
{
    int key = -1;
    int v = -1;
    json_iter it = JSON_ITER_INIT;
    out->kind = BA_BACK;
    out->index = 0u;
    out->confirm = false;
    out->text_n = 0u;
    if ((text != NULL) && (cap > 0u)) {
        text[0] = '\0';
    }
    if (json_type(d, tok) == JSON_STRING) {
        if (json_str_eq(d, tok, "Back")) {
            return ST_OK;
        }
        reason4(reason, rcap, k_answer_rule, NULL, NULL, NULL);
        return ST_BAD;
    }
    if ((json_obj_len(d, tok) != 1) || !json_obj_next(d, tok, &it, &key, &v)) {
        reason4(reason, rcap, k_answer_rule, NULL, NULL, NULL);
        return ST_BAD;
    }
    if (json_str_eq(d, key, "OptionIndex")) {
        uint64_t idx = 0u;
        if ((json_get_u64(d, v, &idx) != ST_OK) || (idx > (uint64_t)UINT32_MAX)) {
            reason4(reason, rcap, "OptionIndex must be a non-negative integer", NULL, NULL, NULL);
            return ST_BAD;
        }
        out->kind = BA_OPTION;
        out->index = (uint32_t)idx;
        return ST_OK;
    }
    if (json_str_eq(d, key, "Confirm")) {
        if (json_get_bool(d, v, &out->confirm) != ST_OK) {
            reason4(reason, rcap, "Confirm must be true or false", NULL, NULL, NULL);
            return ST_BAD;
        }
        out->kind = BA_CONFIRM;
        return ST_OK;
    }
    if (json_str_eq(d, key, "FreeText")) {
        lit_info li;
        size_t n = 0u;
        if (json_type(d, v) != JSON_STRING) {
            reason4(reason, rcap, "FreeText must be a string", NULL, NULL, NULL);
            return ST_BAD;
        }
        li = lit_scan(lit_body(d, v));
        if (li.chars == 0u) {
            reason4(reason, rcap, "FreeText must not be empty", NULL, NULL, NULL);
            return ST_BAD;
        }
        if (li.chars > BANSWER_TEXT_MAX_CHARS) {
            reason4(reason, rcap, "FreeText must be at most 4000 characters", NULL, NULL, NULL);
            return ST_BAD;
        }
        if (li.nul) {
            reason4(reason, rcap, "FreeText must not contain U+0000", NULL, NULL, NULL);
            return ST_BAD;
        }
        if (lit_copy(d, v, false, text, cap, &n) != ST_OK) {
            return ST_TOOBIG;
        }
        out->kind = BA_FREE;
        out->text_n = n;
        return ST_OK;
    }
    reason4(reason, rcap, k_answer_rule, NULL, NULL, NULL);
    return ST_BAD;
}

st_t banswer_message(const banswer *a, const char *text, strv label, char *out, size_t cap,
                     size_t *len)
{
    tb t;
    tb_init(&t, out, cap);
    switch (a->kind) {
    case BA_OPTION:
        tb_cstr(&t, "Selected option ");
        tb_u64(&t, (uint64_t)a->index);
        tb_cstr(&t, ": ");
        tb_sv(&t, label);
        break;
    case BA_FREE:
        if (text != NULL) {
            tb_put(&t, text, a->text_n);
        }
        break;
    case BA_CONFIRM:
        tb_cstr(&t, a->confirm ? "Yes, confirmed." : "No, I'd like to make changes.");
        break;
    default:
        tb_cstr(&t, "The user went back. Ask the appropriate question for this phase again.");
        break;
    }
    return tb_end(&t, len);
}

/* ---- assemble's files --------------------------------------------------------------- */

st_t bconfig_soul(const json_doc *d, int tok, char *out, size_t cap, size_t *len)
{
    int p = json_obj_get(d, tok, "personality");
    int traits = json_obj_get(d, p, "traits");
    int tone = json_obj_get(d, p, "tone");
    int bounds = json_obj_get(d, p, "boundaries");
    json_iter it = JSON_ITER_INIT;
    int v;
    bool first = true;
    tb t;
    tb_init(&t, out, cap);
    tb_cstr(&t, "---\nname: ");
    tb_lit(&t, d, json_obj_get(d, tok, "name"), true);
    tb_cstr(&t, "\ntraits:\n");
    while (json_arr_next(d, traits, &it, &v)) {
        tb_cstr(&t, first ? "  - " : "\n  - ");
        tb_lit(&t, d, v, false);
        first = false;
    }
    tb_cstr(&t, "\ntone: ");
    tb_lit(&t, d, tone, false);
    tb_cstr(&t, "\n---\n\n# Personality\n\nYou embody a ");
    tb_lit(&t, d, tone, false);
    tb_cstr(&t, " personality with these core traits: ");
    json_iter_init(&it);
    first = true;
    while (json_arr_next(d, traits, &it, &v)) {
        if (!first) {
            tb_cstr(&t, ", ");
        }
        tb_lit(&t, d, v, false);
        first = false;
    }
    tb_cstr(&t, ".\n\nYou bring these qualities into every interaction, adapting your approach"
                " to match\nthe needs of the conversation while staying true to your core"
                " character.\n\n# Purpose\n\n");
    tb_lit(&t, d, json_obj_get(d, p, "purpose"), false);
    tb_cstr(&t, "\n\n# Boundaries\n\n");
    if (json_type(d, bounds) == JSON_STRING) {
        tb_lit(&t, d, bounds, false);
    } else {
        tb_cstr(&t, k_default_boundaries);
    }
    tb_cstr(&t, "\n");
    return tb_end(&t, len);
}

/* IDENTITY.md's frontmatter for a checked config. */
static void identity_front(tb *t, const json_doc *d, int tok, const char *category,
                           const char *provider)
{
    int m = json_obj_get(d, tok, "model_config");
    double temp = 0.0;
    int64_t max_tokens = 0;
    char num[40];
    json_w w;
    size_t n = 0u;
    (void)json_field_f64(d, m, "temperature", &temp);
    (void)json_field_i64(d, m, "max_tokens", &max_tokens);
    tb_cstr(t, "---\ndisplay_name: ");
    tb_lit(t, d, json_obj_get(d, tok, "name"), true);
    tb_cstr(t, "\ncategory: ");
    tb_cstr(t, category);
    tb_cstr(t, "\nmodel: ");
    tb_lit(t, d, json_obj_get(d, m, "model"), true);
    tb_cstr(t, "\nprovider: ");
    tb_cstr(t, provider);
    tb_cstr(t, "\ntemperature: ");
    json_w_init(&w, num, sizeof num);
    json_w_f64(&w, temp);
    if (json_w_finish(&w, &n) == ST_OK) {
        tb_put(t, num, n);
    }
    tb_cstr(t, "\nmax_tokens: ");
    tb_u64(t, (max_tokens > 0) ? (uint64_t)max_tokens : 0u);
    tb_cstr(t, "\n---\n");
}

st_t bconfig_identity(const json_doc *d, int tok, const char *provider, char *out, size_t cap,
                      size_t *len)
{
    const char *category = bconfig_category(d, tok);
    const char *prov = (provider != NULL) ? provider : TEMPLATES_DEFAULT_PROVIDER;
    char name[FLEET_NAME_BYTES];
    char tpl[IDENTITY_TPL_BYTES];
    size_t name_n = 0u;
    size_t n = 0u;
    size_t body = 3u;
    bool found = false;
    tb t;
    if ((lit_copy(d, json_obj_get(d, tok, "name"), true, name, sizeof name, &name_n) != ST_OK) ||
        (templates_identity(name, category, tpl, sizeof tpl, &n) != ST_OK)) {
        return ST_TOOBIG;   /* cannot happen for a checked name */
    }
    /* the default file's body follows its frontmatter's "\n---\n" */
    while (((body + 5u) <= n) && !found) {
        found = bytes_are(tpl + body, "\n---\n", 5u);
        body++;
    }
    tb_init(&t, out, cap);
    identity_front(&t, d, tok, category, prov);
    if (found) {
        body += 4u;
        tb_put(&t, tpl + body, n - body);
    }
    return tb_end(&t, len);
}

st_t bconfig_user(const json_doc *d, int tok, char *out, size_t cap, size_t *len)
{
    int name = json_obj_get(d, tok, "name");
    int desc = json_obj_get(d, tok, "description");
    tb t;
    tb_init(&t, out, cap);
    tb_cstr(&t, "# User Context for ");
    tb_lit(&t, d, name, true);
    tb_cstr(&t, "\n\nThis bot was created with the following purpose: ");
    if (json_type(d, desc) == JSON_STRING) {
        tb_lit(&t, d, desc, false);
    }
    tb_cstr(&t, "\n\n## Preferences\n(Add your preferences here to help ");
    tb_lit(&t, d, name, true);
    tb_cstr(&t, " serve you better)\n\n## Important Context\n"
                "(Share relevant background information)\n");
    return tb_end(&t, len);
}

st_t bskill_stub(strv name, strv description, bool tool, char *out, size_t cap, size_t *len)
{
    tb t;
    tb_init(&t, out, cap);
    tb_cstr(&t, "---\nname: ");
    tb_sv(&t, name);
    tb_cstr(&t, "\ndescription: ");
    tb_sv(&t, description);
    tb_cstr(&t, "\nmetadata:\n  version: \"0.1.0\"\n  skill-type: ");
    tb_cstr(&t, tool ? "tool" : "prompt");
    tb_cstr(&t, "\n  author: builder\n---\n\n# ");
    tb_sv(&t, name);
    tb_cstr(&t, "\n\n");
    tb_sv(&t, description);
    tb_cstr(&t, "\n");
    return tb_end(&t, len);
}

/* ---- system prompts -------------------------------------------------------------------- */

st_t bprompt_system(const bprompt *p, char *out, size_t cap, size_t *len)
{
    size_t first = (p->nqa > QA_SHOWN) ? (p->nqa - QA_SHOWN) : 0u;
    tb t;
    tb_init(&t, out, cap);
    tb_cstr(&t, k_forge_identity);
    tb_cstr(&t, "\n\n<builder_instructions>\n");
    if (p->mode == BMODE_SKILL) {
        tb_cstr(&t, k_mode_skill);
        tb_cstr(&t, "\n\n");
        tb_cstr(&t, k_rules_common);
        tb_cstr(&t, "\n");
        tb_cstr(&t, k_rules_skill);
    } else {
        tb_cstr(&t, (p->mode == BMODE_RECONFIGURE) ? k_mode_reconfigure : k_mode_bot);
        tb_cstr(&t, "\n\n");
        tb_cstr(&t, k_rules_common);
        tb_cstr(&t, "\n");
        tb_cstr(&t, k_rules_bot);
    }
    tb_cstr(&t, "\n\n");
    tb_cstr(&t, k_respond);
    tb_cstr(&t, "\n");
    tb_cstr(&t, k_turn_schema);
    tb_cstr(&t, k_turn_schema_defs);
    tb_cstr(&t, "\n</builder_instructions>\n\n<accumulated_context>\nInitial description: ");
    tb_sv(&t, p->initial_description);
    tb_cstr(&t, "\nCurrent phase: ");
    tb_cstr(&t, bphase_name(p->phase));
    tb_cstr(&t, " (");
    tb_cstr(&t, bphase_label(p->phase));
    tb_cstr(&t, ")\n");
    if (p->nqa == 0u) {
        tb_cstr(&t, "Answers so far: none yet.\n");
    } else {
        size_t i;
        tb_cstr(&t, "Answers so far (oldest first");
        if (first > 0u) {
            tb_cstr(&t, "; the last ");
            tb_u64(&t, (uint64_t)QA_SHOWN);
            tb_cstr(&t, " of ");
            tb_u64(&t, (uint64_t)p->nqa);
        }
        tb_cstr(&t, "):\n");
        for (i = first; i < p->nqa; i++) {
            tb_cstr(&t, "- [");
            tb_cstr(&t, bphase_name(p->qa[i].phase));
            tb_cstr(&t, "] Q: ");
            tb_sv(&t, p->qa[i].question);
            tb_cstr(&t, "\n  A: ");
            tb_sv(&t, p->qa[i].answer);
            tb_cstr(&t, "\n");
        }
    }
    tb_cstr(&t, "</accumulated_context>");
    if (strv_trim_ws(p->config).n > 0u) {
        tb_cstr(&t, "\n\n<current_config>\n");
        tb_sv(&t, p->config);
        tb_cstr(&t, "\n</current_config>");
    }
    return tb_end(&t, len);
}

st_t bprompt_skill_system(bool wasm, char *out, size_t cap, size_t *len)
{
    tb t;
    tb_init(&t, out, cap);
    tb_cstr(&t, k_skill_intro);
    tb_cstr(&t, wasm ? ", together with the Rust source of its WebAssembly tool.\n\n" : ".\n\n");
    tb_cstr(&t, k_skill_layout_a);
    tb_cstr(&t, wasm ? "  skill-type: tool\n" : "  skill-type: prompt\n");
    tb_cstr(&t, k_skill_layout_b);
    tb_cstr(&t, wasm ? k_skill_wasm : k_skill_local);
    tb_cstr(&t, k_skill_reply);
    tb_cstr(&t, wasm ? "\"<the whole Rust source>\"}" : "null}");
    tb_cstr(&t, "\n</skill_builder_instructions>");
    return tb_end(&t, len);
}

st_t bprompt_skill_user(strv name, strv description, bool wasm, strv caps, char *out,
                        size_t cap, size_t *len)
{
    strv c = strv_trim_ws(caps);
    bool none = (c.n == 0u) || strv_eq_cstr(c, "null") || strv_eq_cstr(strv_trim_ws(c), "[]");
    tb t;
    tb_init(&t, out, cap);
    tb_cstr(&t, "Create a skill called \"");
    tb_sv(&t, name);
    tb_cstr(&t, "\".\n\nWhat it does: ");
    tb_sv(&t, description);
    tb_cstr(&t, wasm ? "\n\nType: wasm (a tool skill, skill-type: tool, with its Rust source)."
                     : "\n\nType: local (a prompt skill, skill-type: prompt, no source code).");
    if (none) {
        tb_cstr(&t, "\n\nCapabilities: none requested; choose the ones the skill needs.");
    } else {
        tb_cstr(&t, "\n\nCapabilities requested (use exactly these): ");
        tb_sv(&t, c);
    }
    return tb_end(&t, len);
}

/* ---- the skill generation reply ---------------------------------------------------- */

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
} mdtext;

/* Replace buf[at..at+del) with ins[0..insn). */
static bool splice(mdtext *m, size_t at, size_t del, const char *ins, size_t insn)
{
    size_t tail = m->len - (at + del);
    size_t newlen = (m->len - del) + insn;
    if (newlen >= m->cap) {
        return false;
    }
    (void)memmove(m->buf + at + insn, m->buf + at + del, tail);
    if (insn > 0u) {
        (void)memcpy(m->buf + at, ins, insn);
    }
    m->len = newlen;
    m->buf[newlen] = '\0';
    return true;
}

static bool is_blank(char ch)
{
    return (ch == ' ') || (ch == '\t') || (ch == '\r');
}

/* v without leading and trailing spaces, tabs and CRs (skillmd's blanks). */
static strv trim_blanks(strv v)
{
    const char *p = v.p;
    size_t a = 0u;
    size_t b = v.n;
    while ((a < b) && is_blank(p[a])) {
        a++;
    }
    while ((b > a) && is_blank(p[b - 1u])) {
        b--;
    }
    return strv_make(p + a, b - a);
}

/* A frontmatter line's key and value (trimmed), as skillmd reads them:
 * the key ends at the first ':' followed by a blank or the line's end.
 * false for blank, comment and list-item lines and lines with no key. */
static bool line_key(const char *p, size_t n, strv *key, strv *val)
{
    size_t colon = 0u;
    bool found = false;
    if ((n == 0u) || (p[0] == '#') || ((p[0] == '-') && ((n == 1u) || is_blank(p[1])))) {
        return false;
    }
    while ((colon < n) && !found) {
        if ((p[colon] == ':') && (((colon + 1u) == n) || is_blank(p[colon + 1u]))) {
            found = true;
        } else {
            colon++;
        }
    }
    if (!found) {
        return false;
    }
    *key = trim_blanks(strv_make(p, colon));
    *val = trim_blanks(strv_make(p + colon + 1u, n - (colon + 1u)));
    return true;
}

typedef struct {
    strv name;
    const char *type;       /* "tool" | "prompt" */
    bool name_seen;
    bool type_seen;
    bool in_meta;
    bool meta_seen;
    size_t meta_ind;        /* of the current metadata block's keys, 0 = none yet */
    size_t first_meta_ind;  /* of the first block's keys */
    size_t meta_end;        /* where the first block's keys start */
} mdfix;

/* A frontmatter line written by the fix: indentation, key, value. */
#define FIX_LINE_BYTES (SKILLMD_NAME_MAX + 96u)

/* Rewrite line [ls, *le) as ind spaces + key (+ ": " + value); *le and
 * *close move. ST_BAD: an indentation beyond any sane file's. */
static st_t set_line(mdtext *m, size_t ls, size_t *le, size_t ind, const char *key, strv value,
                     size_t *close)
{
    char line[FIX_LINE_BYTES];
    tb t;
    size_t n = 0u;
    size_t i;
    size_t old = *le - ls;
    tb_init(&t, line, sizeof line);
    for (i = 0u; i < ind; i++) {
        tb_put(&t, " ", 1u);
    }
    tb_cstr(&t, key);
    if (value.p != NULL) {
        tb_cstr(&t, ": ");
        tb_sv(&t, value);
    }
    if (tb_end(&t, &n) != ST_OK) {
        return ST_BAD;
    }
    if (!splice(m, ls, old, line, n)) {
        return ST_TOOBIG;
    }
    *le = (*le - old) + n;
    *close = (*close - old) + n;
    return ST_OK;
}

/* One frontmatter line [ls, *le). */
static st_t fix_line(mdtext *m, mdfix *f, size_t ls, size_t *le, size_t *close)
{
    const char *buf = m->buf;
    size_t ind = 0u;
    size_t rb = *le;
    strv key = STRV_NULL;
    strv val = STRV_NULL;
    st_t st = ST_OK;
    while (((ls + ind) < *le) && (buf[ls + ind] == ' ')) {
        ind++;
    }
    while ((rb > (ls + ind)) && is_blank(buf[rb - 1u])) {
        rb--;
    }
    if (!line_key(buf + ls + ind, rb - (ls + ind), &key, &val)) {
        return ST_OK;
    }
    if (ind == 0u) {
        f->in_meta = false;
        if (strv_eq_cstr(key, "name")) {
            st = set_line(m, ls, le, 0u, "name", f->name, close);
            f->name_seen = true;
        } else if (strv_eq_cstr(key, "metadata")) {
            if ((val.n == 0u) || strv_eq_cstr(val, "{}") || strv_eq_cstr(val, "null") ||
                strv_eq_cstr(val, "~")) {
                st = set_line(m, ls, le, 0u, "metadata:", STRV_NULL, close);
                f->in_meta = true;
                f->meta_ind = 0u;
                if (!f->meta_seen) {
                    f->meta_seen = true;
                    f->meta_end = *le + 1u;
                }
            }
        } else {
            /* another top-level key */
        }
    } else if (f->in_meta) {
        if (f->meta_ind == 0u) {
            f->meta_ind = ind;
            if (f->first_meta_ind == 0u) {
                f->first_meta_ind = ind;
            }
        }
        if ((ind == f->meta_ind) && strv_eq_cstr(key, "skill-type")) {
            st = set_line(m, ls, le, ind, "skill-type", strv_from_cstr(f->type), close);
            f->type_seen = true;
        }
    } else {
        /* below a key outside metadata */
    }
    return st;
}

/* Where the frontmatter's lines start (*a) and the '\n' before its
 * closing "---" (*close), found as skillmd_parse finds them. */
static bool md_bounds(const mdtext *m, size_t *a, size_t *close, char *reason, size_t rcap)
{
    const char *buf = m->buf;
    size_t i = 3u;
    if ((m->len < 3u) || !bytes_are(buf, "---", 3u)) {
        reason4(reason, rcap, "SKILL.md has no frontmatter", NULL, NULL, NULL);
        return false;
    }
    if (((i + 1u) < m->len) && (buf[i] == '\r') && (buf[i + 1u] == '\n')) {
        i++;
    }
    if ((i < m->len) && (buf[i] == '\n')) {
        i++;
    }
    *a = i;
    while ((i + 4u) <= m->len) {
        if ((buf[i] == '\n') && bytes_are(buf + i + 1u, "---", 3u)) {
            *close = i;
            return true;
        }
        i++;
    }
    reason4(reason, rcap, "SKILL.md frontmatter is not closed", NULL, NULL, NULL);
    return false;
}

/* The metadata line or lines that add skill-type where none was found. */
static st_t add_type(mdtext *m, const mdfix *f, size_t close)
{
    char ins[FIX_LINE_BYTES];
    size_t at = f->meta_seen ? f->meta_end : (close + 1u);
    size_t ind = (f->first_meta_ind > 0u) ? f->first_meta_ind : 2u;
    size_t n = 0u;
    size_t i;
    tb t;
    tb_init(&t, ins, sizeof ins);
    if (!f->meta_seen) {
        tb_cstr(&t, "metadata:\n");
    }
    for (i = 0u; i < ind; i++) {
        tb_put(&t, " ", 1u);
    }
    tb_cstr(&t, "skill-type: ");
    tb_cstr(&t, f->type);
    tb_cstr(&t, "\n");
    if (tb_end(&t, &n) != ST_OK) {
        return ST_BAD;
    }
    return splice(m, at, 0u, ins, n) ? ST_OK : ST_TOOBIG;
}

/* Set the frontmatter's name and metadata.skill-type of m. ST_BAD (with a
 * reason): no frontmatter; ST_TOOBIG: no room. */
static st_t md_fix(mdtext *m, strv name, bool wasm, char *reason, size_t rcap)
{
    mdfix f;
    size_t a = 0u;
    size_t close = 0u;
    size_t ls;
    st_t st = ST_OK;
    (void)memset(&f, 0, sizeof f);
    f.name = name;
    f.type = wasm ? "tool" : "prompt";
    if (!md_bounds(m, &a, &close, reason, rcap)) {
        return ST_BAD;
    }
    ls = a;
    while ((st == ST_OK) && (ls < close)) {
        const char *buf = m->buf;
        size_t le = ls;
        while ((le < close) && (buf[le] != '\n')) {
            le++;
        }
        st = fix_line(m, &f, ls, &le, &close);
        ls = le + 1u;
    }
    if ((st == ST_OK) && !f.type_seen) {
        st = add_type(m, &f, close);
    }
    if ((st == ST_OK) && !f.name_seen) {
        bool ok = splice(m, a, 0u, "name: ", 6u) && splice(m, a + 6u, 0u, name.p, name.n) &&
                  splice(m, a + 6u + name.n, 0u, "\n", 1u);
        st = ok ? ST_OK : ST_TOOBIG;
    }
    if (st == ST_BAD) {
        reason4(reason, rcap, "SKILL.md frontmatter does not parse or has no description", NULL,
                NULL, NULL);
    }
    return st;
}

/* The reply's SKILL.md (string tok) into md[0..cap), from its first
 * non-whitespace character, fixed by md_fix. */
static st_t md_build(const json_doc *d, int tok, strv name, bool wasm, char *md, size_t cap,
                     size_t *len, char *reason, size_t rcap)
{
    mdtext m;
    strv body = lit_body(d, tok);
    lit_info li = lit_scan(body);
    tb t;
    size_t n = 0u;
    st_t st;
    if (li.nul) {
        reason4(reason, rcap, "field 'skill_md' contains U+0000", NULL, NULL, NULL);
        return ST_BAD;
    }
    tb_init(&t, md, cap);
    tb_chars(&t, body, li.start, body.n);
    if (tb_end(&t, &n) != ST_OK) {
        return ST_TOOBIG;
    }
    m.buf = md;
    m.cap = cap;
    m.len = n;
    st = md_fix(&m, name, wasm, reason, rcap);
    *len = m.len;
    return st;
}

/* The suggested capabilities: [{"capability": s, ...} | s] | null. */
static bool reply_caps(const json_doc *d, int root, uint32_t *caps, char *reason, size_t rcap)
{
    int arr = json_obj_get(d, root, "capabilities");
    json_iter it = JSON_ITER_INIT;
    int v;
    *caps = 0u;
    if ((arr < 0) || json_is_null(d, arr)) {
        return true;
    }
    if (json_type(d, arr) != JSON_ARRAY) {
        return bad(reason, rcap, "capabilities", "is not an array or null");
    }
    while (json_arr_next(d, arr, &it, &v)) {
        int s = (json_type(d, v) == JSON_OBJECT) ? json_obj_get(d, v, "capability") : v;
        char name[24];
        size_t n = 0u;
        if (json_get_str(d, s, name, sizeof name, &n) == ST_OK) {
            int k = skillmd_cap_index(strv_make(name, n));
            if (k >= 0) {
                *caps |= (uint32_t)1u << (unsigned)k;
            }
        }
    }
    return true;
}

st_t bskill_parse(const char *text, size_t n, strv name, bool wasm, char *md, size_t md_cap,
                  char *src, size_t src_cap, bskill_reply *out, char *reason, size_t rcap)
{
    json_doc d;
    int root;
    int smd;
    int code;
    size_t len = 0u;
    size_t again = 0u;
    size_t dn;
    size_t tail;
    skillmd m;      /* 6 KiB: on the stack, so this module keeps no storage */
    st_t st;
    (void)memset(out, 0, sizeof *out);
    if (!reply_parse(text, n, &d, reason, rcap)) {
        return ST_BAD;
    }
    root = json_root(&d);
    smd = json_obj_get(&d, root, "skill_md");
    code = json_obj_get(&d, root, "source_code");
    if (smd < 0) {
        json_release(&d);
        (void)bad(reason, rcap, "skill_md", "missing");
        return ST_BAD;
    }
    if (json_type(&d, smd) != JSON_STRING) {
        json_release(&d);
        (void)bad(reason, rcap, "skill_md", "is not a string");
        return ST_BAD;
    }
    if (!reply_caps(&d, root, &out->caps, reason, rcap)) {
        json_release(&d);
        return ST_BAD;
    }
    if (wasm) {
        lit_info li = lit_scan(lit_body(&d, code));
        if ((json_type(&d, code) != JSON_STRING) || (li.trimmed == 0u)) {
            json_release(&d);
            (void)bad(reason, rcap, "source_code", "missing (a wasm skill needs its Rust source)");
            return ST_BAD;
        }
        if (li.nul) {
            json_release(&d);
            (void)bad(reason, rcap, "source_code", "contains U+0000");
            return ST_BAD;
        }
        st = lit_copy(&d, code, false, src, src_cap, &out->src_len);
        if (st != ST_OK) {
            json_release(&d);
            return ST_TOOBIG;
        }
    }
    st = md_build(&d, smd, name, wasm, md, md_cap, &len, reason, rcap);
    if (st != ST_OK) {
        json_release(&d);
        out->src_len = 0u;
        return st;
    }
    if (skillmd_parse(md, len, &m) != ST_OK) {
        json_release(&d);
        out->src_len = 0u;
        reason4(reason, rcap, "SKILL.md frontmatter does not parse or has no description", NULL,
                NULL, NULL);
        return ST_BAD;
    }
    /* The parse unescaped quoted scalars in place: keep the description at
     * the end of md and build the text again in front of it. */
    dn = m.description.n;
    if ((len + dn + 2u) > md_cap) {
        json_release(&d);
        out->src_len = 0u;
        return ST_TOOBIG;
    }
    tail = md_cap - (dn + 1u);
    (void)memmove(md + tail, m.description.p, dn);
    md[tail + dn] = '\0';
    st = md_build(&d, smd, name, wasm, md, tail, &again, reason, rcap);
    json_release(&d);
    if ((st != ST_OK) || (again != len)) {
        out->src_len = 0u;
        return ST_TOOBIG;
    }
    out->md_len = len;
    out->description = strv_make(md + tail, dn);
    return ST_OK;
}
