/*
 * llm_wire.h - what roost says to an LLM provider and what it reads back,
 * for the two wire protocols of fleet.md §7.8: the Anthropic Messages API
 * and OpenAI-compatible chat completions, each streaming or whole (one
 * JSON reply, fleet.md §10.1's builder turns). Pure functions over caller
 * buffers: request headers and body out; one SSE event (as
 * src/out/sse_in.h dispatches it), a whole 200 reply or a non-2xx error
 * body in. No I/O.
 *
 * Decoding one event (llm_wire_decode) fills an llm_event with what the
 * event says; most events say little (a ping, a content_block_start, an
 * OpenAI role-only first chunk) and come back ST_OK with nothing set.
 *
 *   anthropic (by SSE event name; an unnamed event, "message", goes by the
 *   JSON "type" member instead):
 *     message_start        message.usage -> input_tokens, output_tokens,
 *                          cache_creation_input_tokens,
 *                          cache_read_input_tokens (each when present)
 *     content_block_delta  delta.type "text_delta" -> text (delta.text);
 *                          other delta types are ignored
 *     message_delta        delta.stop_reason -> stop_reason; usage -> the
 *                          same token fields as message_start
 *     message_stop         done
 *     error                ST_IO, detail "<error.type>: <error.message>"
 *     ping, anything else  ignored (the data is not even parsed)
 *   openai (event names are not looked at):
 *     data "[DONE]"        done
 *     {"error": ...}       ST_IO, detail "<type>: <message>" or "<message>"
 *     choices[0].delta.content -> text; choices[0].finish_reason ->
 *     stop_reason; usage.prompt_tokens / completion_tokens -> input_tokens
 *     / output_tokens. choices may be empty (the usage chunk); a chunk with
 *     neither choices nor usage is malformed.
 *   In both, a member that is absent or null is "not reported"; a member
 *   present with the wrong type is malformed. Token counts reported later
 *   replace earlier ones (Anthropic's message_delta usage is cumulative).
 *
 * Decoding a whole reply (llm_wire_decode_whole) fills one llm_event with
 * all of it: the text of every text part joined, usage, stop reason, done.
 *
 *   anthropic  {"content":[{"type":"text","text":...},...],"stop_reason",
 *              "usage":{...}}: the texts of the "text" blocks in order
 *              (other block types, thinking or tool_use, are skipped);
 *              usage as message_start's; "content" must be an array
 *   openai     {"choices":[{"message":{"content":...},"finish_reason"}],
 *              "usage":{...}}: choices[0] only; content a string, or
 *              null/absent (no text: a refusal, a tool call); choices must
 *              be a non-empty array
 *   An "error" member that is not null (and for anthropic a "type" of
 *   "error") is the provider's error: ST_IO as in a stream.
 */
#ifndef ROOST_OUT_LLM_WIRE_H
#define ROOST_OUT_LLM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "json/read.h"

typedef enum {
    LLM_ANTHROPIC = 0,   /* kind "anthropic" */
    LLM_OPENAI           /* kind "openai-compatible" */
} llm_kind;

/* Static RAM of this module (its JSON token array), for the RAM plan. */
#define LLM_WIRE_STATIC_BYTES ((size_t)CFG_LLM_JSON_TOKENS * sizeof(jsmntok_t))
/* Headers llm_wire_headers writes at most. */
#define LLM_WIRE_MAX_HEADERS 3u
/* A stop reason kept in an llm_event, NUL included ("end_turn", "length"). */
#define LLM_WIRE_REASON_BYTES 32u
/* Bytes of a non-JSON error body quoted by llm_wire_error_message. */
#define LLM_WIRE_RAW_ERROR_BYTES 200u

/* ---- requests ----------------------------------------------------------- */

/* The path appended to the provider's base_url: "/v1/messages" or
 * "/chat/completions". Never NULL. */
const char *llm_wire_path(llm_kind kind);

typedef struct {
    strv name;           /* e.g. "content-type" */
    strv value;          /* e.g. "application/json" */
    const char *line;    /* "name: value", NUL-terminated (for curl_slist) */
} llm_header;

/* The request headers of kind: anthropic x-api-key (when key is not empty),
 * anthropic-version: 2023-06-01, content-type: application/json; openai
 * Authorization: Bearer <key> (when key is not empty), content-type. Every
 * view and line points into buf[0..cap) (the key is copied), so the table
 * outlives key. *n receives the number of headers (<= LLM_WIRE_MAX_HEADERS).
 * Returns ST_OK; ST_TOOBIG when buf is too small (out and *n are then
 * unspecified); ST_INVAL when the key holds a byte outside visible ASCII
 * (0x21-0x7E), which would corrupt the header. */
st_t llm_wire_headers(llm_kind kind, strv key, char *buf, size_t cap,
                      llm_header out[LLM_WIRE_MAX_HEADERS], size_t *n);

/* One message of the conversation; role "user" or "assistant" (passed
 * through as it is). Views, not owned. */
typedef struct {
    strv role;
    strv content;
} llm_msg;

typedef struct {
    strv model;
    int64_t max_tokens;
    double temperature;     /* a non-finite value is written as null */
    strv system;            /* the system prompt; empty: none is sent */
    const llm_msg *msgs;    /* msgs[0..nmsgs); may be NULL when nmsgs is 0 */
    size_t nmsgs;
    bool stream_options;    /* openai: add stream_options.include_usage (the
                               retry after a 400 goes without it) */
    bool whole;             /* a non-streaming call: "stream":false, never
                               stream_options (false: a stream) */
    bool json_object;       /* openai: ask for a JSON object reply
                               (response_format json_object); anthropic has
                               no such mode: ignored */
} llm_req;

/* The JSON request body into buf[0..cap) (not NUL-terminated), *len its
 * length:
 *   anthropic {"model","max_tokens","temperature","system","messages":
 *             [{"role","content"}...],"stream":true}
 *   openai    {"model","messages":[{"role":"system","content"},
 *             {"role","content"}...],"max_tokens","temperature",
 *             "stream":true[,"stream_options":{"include_usage":true}]}
 * With req->whole, "stream":false and no stream_options in both; with
 * req->json_object, openai adds "response_format":{"type":"json_object"}.
 * Strings are escaped by the JSON writer (invalid UTF-8 becomes U+FFFD).
 * Returns ST_OK, ST_TOOBIG when buf is too small, ST_INVAL when nmsgs > 0
 * with msgs NULL. */
st_t llm_wire_body(llm_kind kind, const llm_req *req, char *buf, size_t cap, size_t *len);

/* ---- responses ---------------------------------------------------------- */

typedef struct {
    strv text;              /* a text delta (a whole reply's text), decoded,
                               in the caller's text buffer; n == 0: none
                               (empty deltas too) */
    bool done;              /* message_stop / [DONE] / a whole reply
                               decoded: the response is whole */
    bool has_input_tokens;
    bool has_output_tokens;
    bool has_cache_creation;
    bool has_cache_read;
    uint64_t input_tokens;
    uint64_t output_tokens;
    uint64_t cache_creation_input_tokens;
    uint64_t cache_read_input_tokens;
    char stop_reason[LLM_WIRE_REASON_BYTES];  /* "" when not reported */
    char detail[CFG_LLM_DETAIL_BYTES];        /* why, on a non-OK return */
} llm_event;

/* Decode one dispatched SSE event (name and data as sse_in hands them) of
 * a kind stream into *ev (cleared first). A text delta is JSON-decoded into
 * text[0..text_cap) (not NUL-terminated; may hold U+0000); the decoded text
 * is never longer than data, so text_cap >= data.n always suffices.
 * Returns:
 *   ST_OK      *ev says what the event said (possibly nothing)
 *   ST_IO      the provider reported an error (an error event or chunk)
 *   ST_BAD     malformed JSON or an unexpected shape
 *   ST_TOOBIG  the text does not fit text_cap, or the event has more than
 *              CFG_LLM_JSON_TOKENS values or is nested too deeply
 * Every non-OK return puts a one-line reason in ev->detail (valid UTF-8,
 * NUL-terminated, cut at a character when longer), naming the event and
 * what was wrong, e.g. "content_block_delta: delta.text is not a string",
 * ready for "stream error before first token: <detail>". text may be NULL
 * only with text_cap 0. Not reentrant (one static token array). */
st_t llm_wire_decode(llm_kind kind, strv event, strv data, char *text, size_t text_cap,
                     llm_event *ev);

/* Decode body, the whole JSON of a non-streaming kind reply (status 200),
 * into *ev (cleared first): the joined text into text[0..text_cap) (not
 * NUL-terminated; may hold U+0000), never longer than the body, so
 * text_cap >= body.n always suffices; usage, stop reason, done. Returns
 * ST_OK, or as llm_wire_decode:
 *   ST_IO      the provider's error object; detail "<type>: <message>"
 *   ST_BAD     not JSON, or not a reply of that kind (a member with the
 *              wrong type, no "content" array, no choices)
 *   ST_TOOBIG  the text does not fit text_cap, more than
 *              CFG_LLM_JSON_TOKENS values, nested too deeply
 * ST_BAD and ST_TOOBIG details name "message" (anthropic) or "completion"
 * (openai) and what was wrong, e.g. "message: content is not an array".
 * text may be NULL only with text_cap 0. Not reentrant (one static token
 * array). */
st_t llm_wire_decode_whole(llm_kind kind, strv body, char *text, size_t text_cap,
                           llm_event *ev);

/* The message of a non-2xx response body, into buf[0..cap) (cap >= 1),
 * NUL-terminated, always valid UTF-8; returns its length. Understood
 * shapes: {"error":{"message":"..."}} (Anthropic, with "type":"error"
 * around it, and OpenAI), {"error":"..."} and {"message":"..."}. Anything
 * else: the first LLM_WIRE_RAW_ERROR_BYTES bytes of the body, surrounding
 * whitespace trimmed, ill-formed UTF-8 replaced by U+FFFD. A message longer
 * than cap - 1 is cut at a character; U+0000 in a message is dropped. Not
 * reentrant (one static token array). */
size_t llm_wire_error_message(strv body, char *buf, size_t cap);

#endif
