/*
 * profiles/default.h - the default profile: all five families, TLS and the
 * LLM providers, sized for a home server or a Raspberry-class board. Static
 * plan <= 20 MiB (CFG_RAM_BUDGET_BYTES below); `roostd --budget` prints it.
 *
 * Build: make (or make PROFILE=default), into build/.
 *
 * Sizes come from the high-water marks /metrics showed over the whole
 * integration suite on the server profile (ROOST_HW_LOG=file make
 * integration records them), the heaviest test named:
 *   chat heap      3,930,128 B with 200 chats streaming (test_chat_soak):
 *                  about 20 KiB per chat
 *   out heap       6,042,496 B, same run: 7 KiB per slot at init
 *                  (256 slots) + about 22 KiB per running call
 *   tls heap       1,461,168 B (test_chat: CA bundle parsed + handshakes)
 *   sqlite heap    1,377,280 B (test_chat, many turns), page cache 222
 *   bus ring       17,009 B in 134 events (test_chat_agents)
 *   streams        200 at once (the 200 chat streams), body slots 1
 *
 * The plan (`roostd --budget`): 17,721,892 B of 17,825,792. The largest
 * lines: chat 2.6 MiB (2 MiB heap, 64 requests, 256 agents, the message
 * scratch), lent buffers 2.1 MiB (128 x 17 KiB), tls heap 1.75 MiB,
 * sqlite heap 1.5 MiB, bus ring 1.2 MiB, fleet's content and skill
 * buffers 1.1 MiB, the render scratch 1.06 MiB, body slot 1 MiB, out heap
 * 1 MiB, LLM slots 0.8 MiB, child process slots 0.5 MiB (8 x 66 KiB,
 * config.h's; pages a child never wrote stay out of the resident set);
 * 2,048 connections cost 0.3 MiB with their HTTP state.
 */
#ifndef ROOST_PROFILE_DEFAULT_H
#define ROOST_PROFILE_DEFAULT_H

#define CFG_PROFILE_NAME "default"

/* ---- network: at least 1,024 connections (issue 10); an idle one costs
 * its state only (about 150 B), so 2,048. */
#ifndef CFG_MAX_CONNS
#define CFG_MAX_CONNS 2048
#endif
/* The lent buffer pool (net/conn.h): 128 buffers serve 64 chat streams
 * and 64 other connections with bytes in flight at once; a quarter is kept
 * for responses. The render scratch holds the largest rendered answer (a
 * 256 KiB soul, escaped) and a list row. */
#ifndef CFG_BUFS
#define CFG_BUFS 128
#endif
#ifndef CFG_BUF_TX_RESERVE
#define CFG_BUF_TX_RESERVE 32
#endif
#ifndef CFG_BUF_BYTES
#define CFG_BUF_BYTES 17408
#endif
#ifndef CFG_RENDER_BYTES
#define CFG_RENDER_BYTES ((1024u * 1024u) + (64u * 1024u))
#endif
/* One request body above rx at a time (measured high water: 1); a second
 * concurrent one is answered 503 + Retry-After. 1 MiB keeps
 * max_json_body_bytes' default honoured. */
#ifndef CFG_BODY_SLOTS
#define CFG_BODY_SLOTS 1
#endif
/* 4 sockets per LLM slot (2 connect attempts + DNS), 3 per child process
 * slot and its SIGCHLD pipe (25), and room to spare. */
#ifndef CFG_NET_WATCHES
#define CFG_NET_WATCHES 256
#endif

/* A roost.conf is a few dozen lines. */
#ifndef CFG_CONF_FILE_BYTES
#define CFG_CONF_FILE_BYTES 16384
#endif
/* Timers in use at once: one per LLM call (first byte), two per chat
 * (budget pause, budget update), one per observability stop, one per
 * child process (its deadline) and a few of the loop's own: about 190 at
 * most. */
#ifndef CFG_MAX_TIMERS
#define CFG_MAX_TIMERS 256
#endif
/* A SKILL.md above 64 KiB is treated as invalid (the upstream skills are a
 * few KiB); two buffers of it are static. */
#ifndef CFG_FLEET_SKILL_MD_BYTES
#define CFG_FLEET_SKILL_MD_BYTES (64u * 1024u)
#endif

/* Nothing allocates from the init arena yet: 4 KiB keeps its API honest. */
#ifndef CFG_INIT_ARENA_BYTES
#define CFG_INIT_ARENA_BYTES (4u * 1024u)
#endif

/* ---- JSON: 4,096 values per document (20 B each: 80 KiB); a 1 MiB body
 * of small values can hold more, and is answered 413. Bot, soul and chat
 * bodies hold a few dozen. */
#ifndef CFG_JSON_MAX_TOKENS
#define CFG_JSON_MAX_TOKENS 4096
#endif

/* ---- store: measured 1.31 MiB heap high water (statements, schema,
 * sorts; the page cache is separate and PRAGMA cache_size keeps sqlite to
 * it) before the rpg family's game half, whose ~60 statements take about
 * 0.35 MiB more (a 1 MiB observability event then still fits): 2 MiB. */
#ifndef CFG_SQLITE_HEAP_BYTES
#define CFG_SQLITE_HEAP_BYTES (2048u * 1024u)
#endif
#ifndef CFG_SQLITE_PAGE_CACHE_PAGES
#define CFG_SQLITE_PAGE_CACHE_PAGES 32
#endif

/* ---- fleet registries: 4 sub-agents per chat stream at most at once,
 * 1 paused request per stream. */
#ifndef CFG_FLEET_AGENT_SLOTS
#define CFG_FLEET_AGENT_SLOTS 256
#endif
#ifndef CFG_FLEET_PAUSED_SLOTS
#define CFG_FLEET_PAUSED_SLOTS 64
#endif

/* ---- bus: measured 134 events, 17 KiB at once in the chat tests; but an
 * observability client may hold up to observability.ws_max_buffer_bytes
 * (1 MiB by default) unread before its policy closes it 1013, so the ring
 * holds that and an eighth more: with less, the ring would overtake a
 * client the policy still allows. */
#ifndef CFG_BUS_SLOTS
#define CFG_BUS_SLOTS 4096
#endif
#ifndef CFG_BUS_BYTES
#define CFG_BUS_BYTES (1152u * 1024u)
#endif

/* ---- streams: 64 chat streams + 64 WebSocket/SSE clients. Client
 * messages (fleet commands, pings) are a few hundred bytes. */
#ifndef CFG_STREAM_SUBS
#define CFG_STREAM_SUBS 128
#endif
#ifndef CFG_STREAM_MSG_BYTES
#define CFG_STREAM_MSG_BYTES 1024
#endif

/* ---- out: 32 LLM calls at once (issue 10). Provider events are a few
 * hundred bytes, text deltas a few KiB: 16 KiB per parser. Heaps from the
 * measured per-call costs above with a third to spare. */
#ifndef CFG_LLM_SLOTS
#define CFG_LLM_SLOTS 32
#endif
#ifndef CFG_LLM_SSE_BYTES
#define CFG_LLM_SSE_BYTES 16384u
#endif
#ifndef CFG_OUT_HEAP_BYTES
#define CFG_OUT_HEAP_BYTES ((256u * 1024u) + ((size_t)CFG_LLM_SLOTS * 24u * 1024u))
#endif
/* TLS listeners: 32 sessions, 8 handshakes at once (issue 17): 1.1 MiB of TLS heap. */
#ifndef CFG_TLS_SESSIONS
#define CFG_TLS_SESSIONS 32
#endif
#ifndef CFG_TLS_HANDSHAKES
#define CFG_TLS_HANDSHAKES 8
#endif
#ifndef CFG_TLS_HEAP_BYTES
#define CFG_TLS_HEAP_BYTES ((1024u * 1024u) + ((size_t)CFG_LLM_SLOTS * 24u * 1024u) + \
                            CFG_TLS_SERVER_HEAP_BYTES)
#endif

/* ---- chat: 64 streams (issue 10), 4 agents each; measured 20 KiB of heap
 * per chat (1.25 MiB for 64), and one message at its 100,000-character
 * limit (test_chat) needs about 1.6 MiB on its own: 2 MiB. A chat that
 * does not fit is answered 503. */
#ifndef CFG_CHAT_REQS
#define CFG_CHAT_REQS 64
#endif
#ifndef CFG_CHAT_AGENTS
#define CFG_CHAT_AGENTS 256
#endif
#ifndef CFG_CHAT_HEAP_BYTES
#define CFG_CHAT_HEAP_BYTES (2u * 1024u * 1024u)
#endif

/* ---- the plan: at most 20 MiB (19 before the TLS listeners' 32 sessions
 * and 8 handshakes, 1.1 MiB of TLS heap; 16 before the documents family's four
 * upload slots, 552 KiB: each with the spec's 72 KiB of form fields and a
 * 64 KiB chunk to read the body into; 17 before the rpg family's tmux
 * state, 1.1 MiB, most of it 16 Claude terminals of 32 KiB and the
 * poll's 256 KiB output, and the 8 child process slots with their 64 KiB
 * output buffers, 530 KiB). */
#ifndef CFG_RAM_BUDGET_BYTES
#define CFG_RAM_BUDGET_BYTES (20u * 1024u * 1024u)
#endif

#endif
