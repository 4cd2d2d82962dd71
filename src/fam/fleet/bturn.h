/*
 * bturn.h - the builder's texts (spec/fleet.md §2.9, §10.1, §10.3, §5.8):
 * what Forge is told (system prompts), what it answers (BuilderTurn and the
 * skill generation reply, parsed and validated), what a user answers
 * (BuilderAnswer), and what assemble writes (SOUL.md, IDENTITY.md, USER.md
 * and a stub SKILL.md from a BuilderConfig).
 *
 * Pure functions over caller buffers: no I/O, no state, no heap. Parsing
 * uses the shared JSON token pool (json_parse) and releases it before
 * returning; the caller must not hold a document from that pool meanwhile,
 * except where a function takes the caller's document (d, tok).
 *
 * Every function that writes text into out[0..cap) NUL-terminates it and
 * sets *len to its length without the terminator; ST_TOOBIG when it does not
 * fit (out is then not to be used). Every function with a reason buffer
 * writes there, on failure, a one-line English reason that fits the spec's
 * messages ("Builder parse error: <reason>", "Invalid field ...").
 */
#ifndef ROOST_FLEET_BTURN_H
#define ROOST_FLEET_BTURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"
#include "json/read.h"

/* ---- phases and modes ------------------------------------------------------ */

typedef enum {
    BPHASE_BASICS = 0,
    BPHASE_PERSONALITY,
    BPHASE_MODEL,
    BPHASE_SKILLS,
    BPHASE_REVIEW
} bphase;
#define BPHASE_COUNT 5u

/* "basics", "personality", "model", "skills", "review". */
const char *bphase_name(bphase p);
/* "Setting up basics...", "Defining personality...", "Choosing model...",
 * "Selecting skills...", "Final review..." (§10.1). */
const char *bphase_label(bphase p);
/* The lowercase name s into *out; false when s is not a BuilderPhase. */
bool bphase_parse(strv s, bphase *out);

/* new bot creation, bot reconfiguration, new skill creation (§10.1 item 2). */
typedef enum { BMODE_BOT = 0, BMODE_RECONFIGURE, BMODE_SKILL } bmode;

/* ---- BuilderTurn (§2.9, parsing §10.1) --------------------------------------- */

typedef enum { BT_ASK = 0, BT_PREVIEW, BT_READY, BT_CLARIFY } baction;

/* What roost itself needs of a validated turn. */
typedef struct {
    baction action;
    bool has_phase;            /* ask_question and show_preview carry one */
    bphase phase;
} bturn_info;

/*
 * Parse the model's reply text[0..n) as §10.1 says: strip surrounding
 * whitespace and one pair of Markdown code fences (``` or ```json ...
 * ```, the closing one may be missing) if present; take the text from the
 * first '{' to its matching '}' (braces inside JSON strings do not count;
 * prose before and after is ignored); parse; validate against §2.9:
 * action known; required fields present with the right types; phase a
 * BuilderPhase; options[].id and .label strings, options[].description a
 * string, null or missing (-> null); phase_label a string, null or missing
 * (-> null); preview.skills an array of strings; the ready_to_assemble
 * config a valid BuilderConfig (bconfig_check). Unknown members are
 * dropped; nullable preview members may be missing too (-> null).
 * ST_OK: out holds the turn as roost sends it (compact JSON), members in
 * the §2.9 order with action first, and *info describes it; a config is
 * written whole: name trimmed, and what was absent or null given its
 * default (description "", category "assistant", tags [], traits [],
 * boundaries null, skills []). ST_BAD: reason says what was wrong ("no JSON
 * object in the reply", "invalid JSON: <reader's reason>", "unknown action
 * 'x'", "field 'question' missing", "field 'options[1].label' is not a
 * string", "field 'phase' is not a BuilderPhase", "field 'message'
 * contains U+0000" (no string of a turn may), bconfig_check's reason,
 * ...); a bad reply is ST_BAD even when out is also too small.
 * ST_TOOBIG: out too small.
 */
st_t bturn_parse(const char *text, size_t n, char *out, size_t cap, size_t *len,
                 bturn_info *info, char *reason, size_t rcap);

/* From a turn as bturn_parse wrote it (turn[0..n)): the label of option
 * index (ST_NOTFOUND when the turn is not ask_question or has no such
 * option), and the text a recorded answer pairs with: ask_question's
 * question, clarify's message, show_preview's "Preview" and
 * ready_to_assemble's "Ready to assemble" (never fails on a valid turn
 * that fits the token pool: members written for missing ones make a turn
 * larger than the reply it came from; ST_BAD on text that does not parse). */
st_t bturn_option_label(const char *turn, size_t n, uint32_t index, char *out, size_t cap,
                        size_t *len);
st_t bturn_question(const char *turn, size_t n, char *out, size_t cap, size_t *len);

/* ---- BuilderAnswer (§2.9) ------------------------------------------------------ */

/* Longest FreeText accepted, in characters. */
#define BANSWER_TEXT_MAX_CHARS 4000u

typedef enum { BA_OPTION = 0, BA_FREE, BA_CONFIRM, BA_BACK } banswer_kind;

typedef struct {
    banswer_kind kind;
    uint32_t index;            /* BA_OPTION */
    bool confirm;              /* BA_CONFIRM */
    size_t text_n;             /* BA_FREE: the text's bytes in text[] */
} banswer;

/*
 * The answer at tok of d: exactly one of {"OptionIndex": <integer >= 0>},
 * {"FreeText": "<1..BANSWER_TEXT_MAX_CHARS characters>"}, {"Confirm":
 * true|false} or the string "Back". FreeText is decoded into text[0..cap)
 * (NUL-terminated; U+0000 refused; the index must fit uint32_t). ST_BAD
 * with reason otherwise: "answer must be one of OptionIndex, FreeText,
 * Confirm or \"Back\"" for any other shape (extra members, other strings),
 * else what is wrong with the one member ("OptionIndex must be a
 * non-negative integer", "FreeText must not be empty", "FreeText must be at
 * most 4000 characters", "Confirm must be true or false", ...). ST_TOOBIG:
 * a valid FreeText that does not fit text (4 bytes a character always do).
 */
st_t banswer_parse(const json_doc *d, int tok, banswer *out, char *text, size_t cap,
                   char *reason, size_t rcap);

/* The user message of an answer (§10.1): "Selected option {index}:
 * {label}" (label from bturn_option_label), the free text as it is, "Yes,
 * confirmed." / "No, I'd like to make changes.", and for Back "The user
 * went back. Ask the appropriate question for this phase again." */
st_t banswer_message(const banswer *a, const char *text, strv label, char *out, size_t cap,
                     size_t *len);

/* ---- BuilderConfig (§2.9) ------------------------------------------------------ */

/*
 * Check the BuilderConfig at tok of d against the §2.9 limits: name 1-100
 * characters (trimmed of ASCII whitespace, no control character left, as
 * it becomes a frontmatter line), description <= 1000, category a string
 * (any),
 * tags as Bot (<= 20 x 1-50), personality {tone <= 200, traits <= 20 x
 * <= 50, purpose <= 2000, boundaries <= 2000 or null}, model_config {model
 * a string, non-empty once trimmed, no control character within,
 * temperature 0-2, max_tokens an integer 1-200000}, skills <= 20 of {name
 * (skill name rule), description <= 1000, skill_type a string}. No string
 * may hold U+0000. Missing (or null) optional parts: description (""),
 * category ("assistant"), tags ([]), personality.traits ([]),
 * personality.boundaries (null), skills ([]). Counts are characters
 * (Unicode scalar values). Unknown members are ignored.
 * ST_BAD: reason "Invalid field 'config.<path>': <why>" (path like
 * "personality.tone" or "skills[2].name"; "Invalid field 'config': ..."
 * when tok is -1 or not an object).
 */
st_t bconfig_check(const json_doc *d, int tok, char *reason, size_t rcap);

/* The category of a checked config for the bot: one of the four, unknown
 * values (and none) "assistant". */
const char *bconfig_category(const json_doc *d, int tok);

/* SOUL.md of a checked config (§5.8 assemble step 2, exact text). */
st_t bconfig_soul(const json_doc *d, int tok, char *out, size_t cap, size_t *len);
/* IDENTITY.md: the full frontmatter (display_name = name, category as
 * bconfig_category, model (trimmed), provider (NULL: "anthropic"),
 * temperature (shortest form that reads back), max_tokens) then the
 * default identity body (templates.h), §5.8 step 3. */
st_t bconfig_identity(const json_doc *d, int tok, const char *provider, char *out, size_t cap,
                      size_t *len);
/* USER.md (§5.8 step 4, exact text). */
st_t bconfig_user(const json_doc *d, int tok, char *out, size_t cap, size_t *len);
/* The stub SKILL.md of §5.8 step 5 (skill-type tool when tool, else
 * prompt). */
st_t bskill_stub(strv name, strv description, bool tool, char *out, size_t cap, size_t *len);

/* ---- system prompts (§10.1, §10.3) --------------------------------------------- */

/* One recorded question/answer pair, views. */
typedef struct {
    bphase phase;
    strv question;
    strv answer;
} bqa;

typedef struct {
    bmode mode;
    strv initial_description;
    bphase phase;
    const bqa *qa;             /* the last pairs, oldest first (at most 5 used:
                                * the last five) */
    size_t nqa;
    strv config;               /* a JSON object of the non-empty config
                                * fields gathered so far; empty: omitted */
} bprompt;

/* The turn system prompt (§10.1 items 1-4, joined by blank lines), with
 * the BuilderTurn JSON Schema (every object additionalProperties false). */
st_t bprompt_system(const bprompt *p, char *out, size_t cap, size_t *len);

/* The skill generation system prompt (§10.3), for a local (prompt) or a
 * wasm (tool, with Rust source for boternity:skill/execute) skill. */
st_t bprompt_skill_system(bool wasm, char *out, size_t cap, size_t *len);
/* Its user message: the requested name, description, type and the
 * capabilities asked for (caps: a JSON array text, or empty for none). */
st_t bprompt_skill_user(strv name, strv description, bool wasm, strv caps, char *out,
                        size_t cap, size_t *len);

/* ---- skill generation reply (§10.3) ----------------------------------------- */

typedef struct {
    size_t md_len;             /* SKILL.md bytes in md[] */
    size_t src_len;            /* source bytes in src[] (0: none) */
    strv description;          /* the SKILL.md's description, a view into md */
    uint32_t caps;             /* suggested capabilities: bit i = Capability i
                                * (skillmd_cap_index), valid ones only */
} bskill_reply;

/*
 * Parse the reply text[0..n) (fences and first '{' as bturn_parse) as
 * {"skill_md": string, "capabilities": [{"capability": string, "reason":
 * string}] | null, "source_code": string | null}; a capabilities item may
 * also be a bare string, and items that name no Capability are skipped.
 * The SKILL.md (from its first non-whitespace character) has its
 * frontmatter `name` set to name and metadata `skill-type` to tool (wasm)
 * or prompt (local), rewritten or added where absent (skill-type as
 * metadata's first key, `metadata:` added at the frontmatter's end when it
 * has none, `metadata: {}`/null made a block), and is then validated with
 * skillmd_parse (frontmatter parses, description present). md[0..md_len)
 * holds the result, NUL-terminated; the description, decoded, is kept at
 * md's far end (a view into md), so md needs md_len + 1 + description + 1
 * bytes. For wasm a non-empty source_code is required and copied to
 * src[0..src_cap) (NUL-terminated); for local it is ignored (src unused).
 * ST_BAD with reason when anything is missing or wrong ("field 'skill_md'
 * missing", "field 'source_code' missing (a wasm skill needs its Rust
 * source)", "SKILL.md has no frontmatter", "SKILL.md frontmatter does not
 * parse or has no description", ...); ST_TOOBIG when md or src is too
 * small.
 */
st_t bskill_parse(const char *text, size_t n, strv name, bool wasm, char *md, size_t md_cap,
                  char *src, size_t src_cap, bskill_reply *out, char *reason, size_t rcap);

#endif
