/*
 * skillmd.h - SKILL.md of the skill library (spec/fleet.md §2.8): the YAML
 * frontmatter subset roost reads, skill names, and the Capability enum.
 *
 * A SKILL.md is `---`, the frontmatter, a line starting with `---`, then
 * the markdown body. The frontmatter subset:
 *   - top-level `key: value` scalars (name, description, license,
 *     compatibility, allowed-tools; other keys are ignored with everything
 *     indented below them);
 *   - `metadata:` followed by lines indented by one or more spaces (all at
 *     the same indentation) holding `key: value`;
 *   - list values in flow form `[a, b]` or as `- item` lines below their key
 *     (indented further, or at the key's own indentation as YAML allows);
 *   - scalars plain (a ` #` comment is cut), or in "..." (escapes \" \\ \/
 *     \n \t \r) or '...' ('' is a quote); unquoted `null`, `~` and an empty
 *     value are null;
 *   - blank lines and `#` comment lines anywhere.
 * Not supported (the file does not parse): block scalars (`|`, `>`), plain
 * scalars continued on the next line, flow mappings other than `{}`, tabs
 * in indentation, a list where a scalar is due and the reverse, more than
 * SKILLMD_LIST_MAX items in one list.
 */
#ifndef ROOST_FLEET_SKILLMD_H
#define ROOST_FLEET_SKILLMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"

#define SKILLMD_NAME_MAX 64u      /* characters in a skill name */
#define SKILLMD_LIST_MAX 64u      /* items in one list */
#define SKILLMD_CAP_COUNT 8u      /* Capability values */

/* A list value: present false = null. */
typedef struct {
    strv item[SKILLMD_LIST_MAX];
    size_t n;
    bool present;
} skillmd_list;

/* Every strv points into the text given to skillmd_parse; p == NULL means
 * null (absent, `null`, `~` or empty). */
typedef struct {
    strv name;
    strv description;
    strv license;
    strv compatibility;
    strv allowed_tools;
    bool has_metadata;            /* false: "metadata": null */
    strv author;
    strv version;
    strv skill_type;              /* "prompt" | "tool", else null */
    strv trust_tier;              /* "local" | "verified" | "untrusted", else null */
    skillmd_list capabilities;    /* null when any value is not a Capability */
    skillmd_list dependencies;
    skillmd_list conflicts_with;
    skillmd_list parents;
    skillmd_list secrets;
    skillmd_list categories;
    strv body;                    /* markdown after the frontmatter */
} skillmd;

/* Parse text[0..n) (modified in place: quoted scalars are unescaped where
 * they stand). ST_OK: *out filled and name and description are non-empty.
 * ST_BAD: no frontmatter, outside the subset, or name/description missing.
 * The views stay valid as long as text is unchanged. */
st_t skillmd_parse(char *text, size_t n, skillmd *out);

/* True when s matches ^[a-z0-9][a-z0-9-]{0,63}$. */
bool skillmd_name_ok(strv s);

/* Index 0..7 of a Capability in the spec's order (read_file, write_file,
 * http_get, http_post, exec_command, read_env, recall_memory, get_secret),
 * or -1. */
int skillmd_cap_index(strv s);
/* Name of Capability i: snake_case, or the PascalCase form (ReadFile...).
 * i must be < SKILLMD_CAP_COUNT. */
const char *skillmd_cap_name(size_t i);
const char *skillmd_cap_pascal(size_t i);
/* Bit i set for each Capability i of the (non-null) capabilities list. */
uint32_t skillmd_cap_mask(const skillmd *m);

#endif
