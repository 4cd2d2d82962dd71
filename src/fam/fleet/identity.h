/*
 * identity.h - IDENTITY.md frontmatter (spec/fleet.md §2.3), parsed the way
 * upstream parses it:
 *
 *   1. leading whitespace is skipped; the text must then start with "---";
 *   2. the frontmatter is what follows those three characters up to the
 *      first "\n---" (none: no frontmatter);
 *   3. each frontmatter line is trimmed; a line starting with one of the six
 *      keys followed by ':' sets that key to the rest of the line, trimmed
 *      (no quote processing; a later line wins over an earlier one);
 *      temperature must read as a decimal number (Rust f64 syntax, so "inf"
 *      and "NaN" too; they are written as JSON null) and max_tokens as a
 *      32-bit integer, else the key counts as absent;
 *   4. no frontmatter or no display_name: nothing parsed.
 * "Whitespace" and "trimmed" mean Unicode White_Space, as Rust's trim.
 */
#ifndef ROOST_FLEET_IDENTITY_H
#define ROOST_FLEET_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/strv.h"
#include "json/write.h"

typedef struct {
    strv display_name;   /* views into the parsed text, or static defaults */
    strv category;
    strv model;
    strv provider;
    double temperature;
    int64_t max_tokens;
} identity_fm;

/* Parse text. false: no frontmatter or no display_name (the spec's
 * `parsed: null`); *out then holds the defaults with an empty display_name.
 * true: *out has every field, absent ones set to the defaults. The views
 * stay valid while text does. */
bool identity_parse(strv text, identity_fm *out);

/* The identity response object {"raw": text, "parsed": {...} | null}. */
void identity_write_json(json_w *w, strv raw);

#endif
