/*
 * spawn.h - the text rules of the agent engine's sub-agents (spec/fleet.md
 * §7.4): finding a spawn block in an agent's response, reading its tasks,
 * the task key of cycle detection, the result summary, and XML escaping
 * for the synthesis message. Pure functions over caller buffers; no state,
 * no I/O.
 *
 * Part of the agent engine (engine/agent.h), between out/ and the families.
 *
 * A spawn block is the first `<spawn_agents` ... `</spawn_agents>` of the
 * text (an opening without its closing is no block). Its mode is
 * sequential when the block contains `mode="sequential"`, else parallel.
 * Its tasks are the values of `task="…"` attributes (the name preceded by
 * whitespace, so `subtask="…"` is not one), in order: inside a
 * value a backslash takes the next byte literally, and the entities
 * &quot; &amp; &lt; &gt; &apos; are decoded (anything else is kept as it
 * is). An unterminated value ends the task list.
 */
#ifndef ROOST_ENGINE_SPAWN_H
#define ROOST_ENGINE_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strv.h"

typedef struct spawn_block {
    size_t start;        /* offset of `<spawn_agents` in the text */
    size_t end;          /* offset just past `</spawn_agents>` */
    bool sequential;
} spawn_block;

/* Find the first spawn block of text. false: none. */
bool spawn_find(strv text, spawn_block *out);

/* The next raw task value of block text[b->start..b->end) after *pos
 * (start with *pos = 0; it is advanced). false when there is none left.
 * *raw views the undecoded value (between the quotes). */
bool spawn_next_task(strv text, const spawn_block *b, size_t *pos, strv *raw);

/* Decode a raw task value into out (cap >= raw.n always suffices: decoding
 * never lengthens); returns the decoded length. */
size_t spawn_decode(strv raw, char *out, size_t cap);

/* The task key of cycle detection: trimmed of ASCII whitespace and ASCII
 * lower-cased, into out (cap >= task.n suffices); returns its length. out
 * may overlap task when it starts at or before task.p (in place). */
size_t spawn_normalise(strv task, char *out, size_t cap);

/* text without leading and trailing ASCII whitespace (space, \t \n \v
 * \f \r). */
strv spawn_trim(strv text);

/* Bytes of text kept by a result summary of at most max bytes: max, or up
 * to 3 less so that no UTF-8 sequence is cut (text that is not UTF-8 there
 * is cut at max); text.n when it fits whole. */
size_t spawn_cut(strv text, size_t max);

/* text with & < > " ' escaped as entities, into out[0..cap); returns the
 * length written, or the length needed when it does not fit (out is then
 * incomplete). spawn_xml_len gives that length without writing. */
size_t spawn_xml_escape(strv text, char *out, size_t cap);
size_t spawn_xml_len(strv text);

#endif
