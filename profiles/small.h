/*
 * profiles/small.h - the small profile: observability, documents and agents
 * only (profiles/small.mk), no LLM providers, no TLS, 8 connections. Static
 * plan <= 512 KiB, sqlite's heap and page cache included; `roostd --budget`
 * prints it. For a board with a few MiB of RAM (the board port comes later;
 * this profile builds and runs on Linux).
 *
 * Build: make PROFILE=small (into build/small/).
 *
 * What shrinks, and what a client sees at the edges:
 *   connections    8 (a full pool reclaims idle keep-alive connections,
 *                  then answers 503)
 *   request head   4 KiB (431 above), target 2 KiB (414 above); rx holds a
 *                  head and 1 KiB of body, tx 2 KiB
 *   bodies         one 32 KiB body slot: a hook event or JSON body above it
 *                  is answered 413 (max_json_body_bytes and
 *                  max_hook_body_bytes above it are warned about at start),
 *                  a second large body at once 503
 *   buffers        8 of 5 KiB lent to connections with bytes in flight, 2
 *                  kept for responses; a 33 KiB render scratch holds the
 *                  largest rendered answer or list row (the largest event
 *                  a 32 KiB body carries, with the fields the store adds)
 *   WebSocket      4 subscribers (close 1013 beyond), client messages of
 *                  4 KiB (1009 beyond); the 33 KiB ring holds about 128
 *                  small events or one maximal one, and a client that falls
 *                  further behind is closed 1013 whatever
 *                  observability.ws_max_buffer_bytes says
 *   session_updated  8 KiB: a session whose JSON is larger (fields near the
 *                  spec's limits) is stored but not broadcast (logged)
 *   event batch    one event per transaction: a second member of a batch
 *                  runs in a savepoint, which keeps a copy of every page it
 *                  changes in sqlite's heap (20-30 KiB), more than this
 *                  heap has to spare; each event is still answered only
 *                  after its commit, and the lock and pread/pwrite savings
 *                  stay. A 4 KiB stage for its /ws message (a larger one
 *                  is recorded alone)
 *   JSON           768 values per document (413 beyond)
 *   sqlite         196 KiB heap and 4 cached pages: the schema of every
 *                  family (fleet's and rpg's statements are not prepared;
 *                  observability's and the documents family's are prepared
 *                  per use, CFG_OBS_SQL_ON_DEMAND, CFG_DOCS_SQL_ON_DEMAND),
 *                  measured high water 189,888 B over the whole suite on
 *                  this profile (store logs it at shutdown); memsys5 rounds
 *                  every block to a power of two, so some is kept spare
 *   roost.conf     2 KiB
 *   route tables   compiled for 16 rows, 4 segments, 12 literals each
 *                  (observability's needs 8, 3, 6; a larger one stops the
 *                  start)
 *
 * The plan (`build/small/roostd --budget`): 522,780 B of 524,288.
 */
#ifndef ROOST_PROFILE_SMALL_H
#define ROOST_PROFILE_SMALL_H

#define CFG_PROFILE_NAME "small"

/* ---- network ---------------------------------------------------------- */
#ifndef CFG_MAX_CONNS
#define CFG_MAX_CONNS 8
#endif
#ifndef CFG_MAX_LISTENERS
#define CFG_MAX_LISTENERS 3
#endif
#ifndef CFG_HTTP_MAX_HEAD_BYTES
#define CFG_HTTP_MAX_HEAD_BYTES 4096
#endif
#ifndef CFG_HTTP_MAX_TARGET_BYTES
#define CFG_HTTP_MAX_TARGET_BYTES 2048
#endif
#ifndef CFG_HTTP_MAX_HEADERS
#define CFG_HTTP_MAX_HEADERS 32
#endif
#ifndef CFG_WS_MAX_MESSAGE
#define CFG_WS_MAX_MESSAGE 4096
#endif
#ifndef CFG_BODY_SLOTS
#define CFG_BODY_SLOTS 1
#endif
#ifndef CFG_BODY_SLOT_BYTES
#define CFG_BODY_SLOT_BYTES (32u * 1024u)
#endif
#ifndef CFG_FILE_STREAMS
#define CFG_FILE_STREAMS 2
#endif
#ifndef CFG_ACCEPT_BUDGET
#define CFG_ACCEPT_BUDGET 8
#endif
/* No child processes: the rpg family (tmux) is not built. */
#ifndef CFG_CHILD_SLOTS
#define CFG_CHILD_SLOTS 0
#endif
/* No LLM calls and no children: no sockets of other modules to poll (one
 * entry kept, an array cannot be empty). */
#ifndef CFG_NET_WATCHES
#define CFG_NET_WATCHES 1
#endif
#ifndef CFG_LLM_SLOTS
#define CFG_LLM_SLOTS 0
#endif
/* The lent buffer pool (net/conn.h): 8 buffers of a head and 1 KiB, 2 of them kept for
 * responses. The render scratch holds the largest rendered answer or list
 * row (a session's JSON, about 30 KiB at the spec's limits; a 422 that
 * echoes a 32 KiB body). */
#ifndef CFG_BUFS
#define CFG_BUFS 8
#endif
#ifndef CFG_BUF_BYTES
#define CFG_BUF_BYTES (4096 + 1024)
#endif
#ifndef CFG_BUF_TX_RESERVE
#define CFG_BUF_TX_RESERVE 2
#endif
#ifndef CFG_RENDER_BYTES
#define CFG_RENDER_BYTES (33u * 1024u)
#endif
/* The compiled route tables (http/router.h), one in each family's service:
 * observability's is the largest, 8 rows of 3 segments and 6 literals. */
#ifndef CFG_ROUTER_MAX_ROUTES
#define CFG_ROUTER_MAX_ROUTES 16
#endif
#ifndef CFG_ROUTER_MAX_SEGS
#define CFG_ROUTER_MAX_SEGS 4
#endif
#ifndef CFG_ROUTER_MAX_LITERALS
#define CFG_ROUTER_MAX_LITERALS 12
#endif

/* ---- JSON, core, configuration ---------------------------------------- */
#ifndef CFG_JSON_MAX_TOKENS
#define CFG_JSON_MAX_TOKENS 768
#endif
#ifndef CFG_MAX_TIMERS
#define CFG_MAX_TIMERS 32
#endif
#ifndef CFG_INIT_ARENA_BYTES
#define CFG_INIT_ARENA_BYTES 1024u
#endif
#ifndef CFG_CONF_FILE_BYTES
#define CFG_CONF_FILE_BYTES 2048
#endif
#ifndef CFG_CONF_VALUE_BYTES
#define CFG_CONF_VALUE_BYTES 256
#endif
#ifndef CFG_APP_TEXT_BYTES
#define CFG_APP_TEXT_BYTES 4096
#endif
#ifndef CFG_HELP_BYTES
#define CFG_HELP_BYTES 8192           /* --help is about 5.7 KiB */
#endif
#ifndef CFG_MAX_PROVIDERS
#define CFG_MAX_PROVIDERS 1
#endif

/* ---- store: the schema of every family, a few pages of cache. The
 * documents family's statements (about 50 KiB) and observability's are
 * prepared per use (CFG_DOCS_SQL_ON_DEMAND, CFG_OBS_SQL_ON_DEMAND): held
 * all the time, a statement keeps the largest row it handled in its
 * registers, and with the rpg family's tables in the schema (about 13 KiB)
 * observability's large events no longer found room. */
#ifndef CFG_SQLITE_HEAP_BYTES
#define CFG_SQLITE_HEAP_BYTES (196u * 1024u)
#endif
#ifndef CFG_SQLITE_PAGE_CACHE_PAGES
#define CFG_SQLITE_PAGE_CACHE_PAGES 4
#endif
#ifndef CFG_SQLITE_LOOKASIDE_COUNT
#define CFG_SQLITE_LOOKASIDE_COUNT 16
#endif
#ifndef CFG_DOCS_SQL_ON_DEMAND
#define CFG_DOCS_SQL_ON_DEMAND 1
#endif
#ifndef CFG_OBS_SQL_ON_DEMAND
#define CFG_OBS_SQL_ON_DEMAND 1
#endif

/* ---- documents -------------------------------------------------------- */
/* One upload at a time, with short text fields: tags and metadata longer
 * than 512 bytes each are 413 "Form field too large" here (the spec's 8 KiB
 * and 64 KiB in the other profiles), and no chunk buffer. */
#ifndef CFG_DOCS_UPLOAD_SLOTS
#define CFG_DOCS_UPLOAD_SLOTS 1
#endif
#ifndef CFG_DOCS_TAGS_BYTES
#define CFG_DOCS_TAGS_BYTES 512
#endif
#ifndef CFG_DOCS_META_BYTES
#define CFG_DOCS_META_BYTES 512
#endif
/* No chunk buffer: the body goes through rx. */
#ifndef CFG_DOCS_CHUNK_BYTES
#define CFG_DOCS_CHUNK_BYTES 0
#endif

/* ---- observability, bus, streams -------------------------------------- */
#ifndef CFG_OBS_STOP_SLOTS
#define CFG_OBS_STOP_SLOTS 4
#endif
#ifndef CFG_OBS_MSG_BYTES
#define CFG_OBS_MSG_BYTES (8u * 1024u)
#endif
#ifndef CFG_OBS_BATCH_EVENTS
#define CFG_OBS_BATCH_EVENTS 1
#endif
#ifndef CFG_OBS_BATCH_BYTES
#define CFG_OBS_BATCH_BYTES (4u * 1024u)
#endif
#ifndef CFG_BUS_SLOTS
#define CFG_BUS_SLOTS 64
#endif
#ifndef CFG_BUS_BYTES
#define CFG_BUS_BYTES (33u * 1024u)
#endif
#ifndef CFG_STREAM_SUBS
#define CFG_STREAM_SUBS 4
#endif
#ifndef CFG_STREAM_MSG_BYTES
#define CFG_STREAM_MSG_BYTES 512
#endif

/* sqlite's own state and tables, and every const table holding pointers
 * (relocated at load: .data.rel.ro, .got, .dynamic), measured: 27,232 B of
 * .data and sqlite's .bss. */
#ifndef CFG_LINKED_STATIC_BYTES
#define CFG_LINKED_STATIC_BYTES (28u * 1024u)
#endif

/* ---- the plan --------------------------------------------------------- */
#ifndef CFG_RAM_BUDGET_BYTES
#if defined(PORT_LWIP) && PORT_LWIP
/* The lwIP port (make PORT=lwip) carries its TCP/IP stack, which Linux
 * keeps in the kernel: lwIP's heap, pools and interface, about 64 KiB
 * (port/lwip/plan.h), are in the plan and in this budget. */
#define CFG_RAM_BUDGET_BYTES ((512u + 80u) * 1024u)
#else
#define CFG_RAM_BUDGET_BYTES (512u * 1024u)
#endif
#endif

#endif
