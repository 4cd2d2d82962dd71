/*
 * config.h - the one options header of roost.
 *
 * Every statically sized pool, buffer and arena is set here. A port or a test
 * build overrides a value by defining it first (-DCFG_MAX_CONNS=4, or a file
 * named by -DROOST_CONFIG_OVERRIDE="file.h" that is included before the
 * defaults). Core code tests only CFG_* values, never platform macros.
 *
 * The unit tests build with tiny values (tests/unit/tiny_config.h) so every
 * exhaustion path runs on every test run.
 */
#ifndef ROOST_CONFIG_H
#define ROOST_CONFIG_H

#ifdef ROOST_CONFIG_OVERRIDE
#include ROOST_CONFIG_OVERRIDE
#endif
/* The build profile (make PROFILE=default|server|small): profiles/<name>.h,
 * named by the Makefile, sets its sizes before the defaults below, which are
 * the server profile's. An override above still wins over the profile. */
#ifdef ROOST_PROFILE_HEADER
#include ROOST_PROFILE_HEADER
#endif

#define ROOST_VERSION "0.1.0"

/* ---- build profile ------------------------------------------------------ */

#ifndef CFG_PROFILE_NAME
#define CFG_PROFILE_NAME "server"
#endif
/* Families and the outbound LLM stack (curl, c-ares, mbedtls) built in. The
 * Makefile sets them from profiles/<name>.mk (FAMILIES, WITH_LLM); code of a
 * family that is 0 is neither compiled nor linked. */
#ifndef CFG_FAM_FLEET
#define CFG_FAM_FLEET 1
#endif
#ifndef CFG_FAM_RPG
#define CFG_FAM_RPG 1
#endif
#ifndef CFG_FAM_OBS
#define CFG_FAM_OBS 1
#endif
#ifndef CFG_FAM_DOCS
#define CFG_FAM_DOCS 1
#endif
#ifndef CFG_FAM_AGENTS
#define CFG_FAM_AGENTS 1
#endif
#ifndef CFG_WITH_LLM
#define CFG_WITH_LLM 1
#endif

/* ---- network ------------------------------------------------------------ */

/* Connections in the fixed pool (all listeners together). */
#ifndef CFG_MAX_CONNS
#define CFG_MAX_CONNS 1100
#endif
/* Listeners: one per family. */
#ifndef CFG_MAX_LISTENERS
#define CFG_MAX_LISTENERS 5
#endif
/* The buffer pool (src/net/conn.h): rx and tx buffers are lent to a
 * connection while it has bytes in flight and given back as soon as they
 * are empty, so an idle keep-alive connection holds none. A buffer must
 * hold a maximal request head plus a little body (rx: 431 above
 * CFG_HTTP_MAX_HEAD_BYTES) and a whole ordinary response (tx). With every
 * buffer lent, reads wait (TCP pushes back) and output waits its turn in a
 * FIFO; the last CFG_BUF_TX_RESERVE buffers are lent only as tx. */
#ifndef CFG_BUF_BYTES
#define CFG_BUF_BYTES 17408
#endif
#ifndef CFG_BUFS
#define CFG_BUFS 512
#endif
#ifndef CFG_BUF_TX_RESERVE
#define CFG_BUF_TX_RESERVE 128        /* a quarter of CFG_BUFS */
#endif
/* While connections wait for an rx buffer, a head still incomplete this
 * long after its connection opened, or a body that has sent nothing for this
 * long, is answered 408 and closed, to lend its rx (net/conn.h). */
#ifndef CFG_RX_STALL_MS
#define CFG_RX_STALL_MS 1000
#endif
/* Request bodies that do not fit in rx borrow one of these slots; when none
 * is free the request is answered 503 + Retry-After. */
#ifndef CFG_BODY_SLOTS
#define CFG_BODY_SLOTS 4
#endif
#ifndef CFG_BODY_SLOT_BYTES
#define CFG_BODY_SLOT_BYTES (1024u * 1024u)
#endif
/* Responses that can be larger than tx (soul contents, metrics, a 422 that
 * echoes its input) are rendered whole into this one scratch area,
 * synchronously, and tx takes the window that fits; the next window is
 * rendered again from the request when tx drains (http/server.h,
 * hctx_render). Nothing holds it across turns. A response larger than it
 * is answered 500. */
#ifndef CFG_LIST_CACHE_BYTES
#define CFG_LIST_CACHE_BYTES ((unsigned)CFG_BUF_BYTES)   /* rows of the last short list (fam/shared/list.c) */
#endif
#ifndef CFG_RENDER_BYTES
#define CFG_RENDER_BYTES 2097152u
#endif
/* Static files (SPA) streaming through tx at once: each holds one file
 * descriptor until its response is written; when all are busy a file
 * request is answered 503 + Retry-After. */
#ifndef CFG_FILE_STREAMS
#define CFG_FILE_STREAMS 64
#endif
/* Bytes read / written per connection per loop turn (fairness budget). */
#ifndef CFG_READ_BUDGET_BYTES
#define CFG_READ_BUDGET_BYTES 65536
#endif
#ifndef CFG_WRITE_BUDGET_BYTES
#define CFG_WRITE_BUDGET_BYTES 65536
#endif
/* Timeouts (milliseconds). */
#ifndef CFG_IDLE_TIMEOUT_MS
#define CFG_IDLE_TIMEOUT_MS 60000      /* keep-alive connection with no request */
#endif
#ifndef CFG_HEADER_TIMEOUT_MS
#define CFG_HEADER_TIMEOUT_MS 10000    /* request head not complete -> 408 */
#endif
#ifndef CFG_BODY_TIMEOUT_MS
#define CFG_BODY_TIMEOUT_MS 30000      /* body stalls this long -> 408 (each body
                                        * byte restarts it; http.body_timeout_ms
                                        * overrides it at run time) */
#endif
#ifndef CFG_SEND_TIMEOUT_MS
#define CFG_SEND_TIMEOUT_MS 30000      /* peer reads nothing this long -> close */
#endif
#ifndef CFG_SHUTDOWN_GRACE_MS
#define CFG_SHUTDOWN_GRACE_MS 5000     /* finish responses after SIGTERM */
#endif
#ifndef CFG_LISTEN_BACKLOG
#define CFG_LISTEN_BACKLOG 511
#endif
/* Accepts per listener per loop turn. */
/* Accept failed for lack of descriptors (EMFILE, ENFILE): the listener is
 * not watched for this long, so the loop does not spin on a backlog it
 * cannot take (counted: roost_accept_pauses_total). */
#ifndef CFG_ACCEPT_PAUSE_MS
#define CFG_ACCEPT_PAUSE_MS 100
#endif
#ifndef CFG_ACCEPT_BUDGET
#define CFG_ACCEPT_BUDGET 64
#endif

/* Sockets of other modules the loop polls (net_watch): libcurl's
 * connections and c-ares' queries for the LLM request slots, and the child
 * processes' pipes (CFG_CHILD_WATCHES below). */
#ifndef CFG_NET_WATCHES
#define CFG_NET_WATCHES 1024  /* 4 per LLM slot: 2 connect attempts + DNS */
#endif

/* ---- child processes (src/net/child.h) ---------------------------------- */

/* Child processes running at once (the rpg family's tmux and git
 * commands); one more is refused (ST_FULL). 0: none (a build without
 * processes: the small profile). */
#ifndef CFG_CHILD_SLOTS
#define CFG_CHILD_SLOTS 8
#endif
/* Per slot: the bytes of stdout kept (a child writing more is killed and
 * its output cut there: a tmux capture of 500 lines of a wide pane with
 * its escapes fits), of stderr, and of stdin handed to it. */
#ifndef CFG_CHILD_OUT_BYTES
#define CFG_CHILD_OUT_BYTES (64u * 1024u)
#endif
#ifndef CFG_CHILD_ERR_BYTES
#define CFG_CHILD_ERR_BYTES 1024u
#endif
#ifndef CFG_CHILD_IN_BYTES
#define CFG_CHILD_IN_BYTES 1024u
#endif
/* A child still running this long after it started is killed (a caller
 * may ask for less, or more, per child). */
#ifndef CFG_CHILD_DEADLINE_MS
#define CFG_CHILD_DEADLINE_MS 5000u
#endif
/* Sockets the children watch at once: stdin, stdout and stderr of each
 * slot, and the SIGCHLD pipe. */
#if CFG_CHILD_SLOTS > 0
#define CFG_CHILD_WATCHES ((3 * CFG_CHILD_SLOTS) + 1)
#else
#define CFG_CHILD_WATCHES 0
#endif

/* ---- HTTP --------------------------------------------------------------- */

#ifndef CFG_HTTP_MAX_HEAD_BYTES
#define CFG_HTTP_MAX_HEAD_BYTES 16384  /* request line + headers; above: 431 */
#endif
#ifndef CFG_HTTP_MAX_TARGET_BYTES
#define CFG_HTTP_MAX_TARGET_BYTES 8192 /* request target; above: 414 */
#endif
#ifndef CFG_HTTP_MAX_HEADERS
#define CFG_HTTP_MAX_HEADERS 64        /* header fields; above: 431 */
#endif
#ifndef CFG_HTTP_MAX_PARAMS
#define CFG_HTTP_MAX_PARAMS 4          /* path parameters per route */
#endif
#ifndef CFG_HTTP_PARAM_BYTES
#define CFG_HTTP_PARAM_BYTES 512       /* decoded bytes of all params of one request */
#endif
/* A service's compiled route table (http/router.h), in its http_service:
 * rows of one table, segments of one pattern (the final `*` counted), and
 * distinct literal segments of one table (a literal at two depths counts
 * twice). A table beyond one of them fails the start (ST_TOOBIG, logged);
 * tests/unit/test_router.c compiles every family's table. */
#ifndef CFG_ROUTER_MAX_ROUTES
#define CFG_ROUTER_MAX_ROUTES 64
#endif
#ifndef CFG_ROUTER_MAX_SEGS
#define CFG_ROUTER_MAX_SEGS 8
#endif
#ifndef CFG_ROUTER_MAX_LITERALS
#define CFG_ROUTER_MAX_LITERALS 40
#endif
/* WebSocket client message (all fragments); above: close 1009. The default
 * of an endpoint that sets no limit of its own (stream_policy.max_message).
 * A single frame is decoded from rx, so rx must hold the largest one plus
 * its header. */
#ifndef CFG_WS_MAX_MESSAGE
#define CFG_WS_MAX_MESSAGE 16384
#endif

/* ---- JSON --------------------------------------------------------------- */

#ifndef CFG_JSON_MAX_TOKENS
#define CFG_JSON_MAX_TOKENS 32768      /* values in one parsed document (20 B each) */
#endif
#ifndef CFG_JSON_MAX_DEPTH
#define CFG_JSON_MAX_DEPTH 32
#endif

/* ---- core --------------------------------------------------------------- */

#ifndef CFG_MAX_TIMERS
#define CFG_MAX_TIMERS 1024
#endif
/* Fault injection (core/fault.h, the /_fault control channel): 1 in the
 * debug flavour (make debug, unit tests, the sanitizer build), 0 in the
 * release build, where it costs nothing. The Makefile sets it. */
#ifndef CFG_FAULT
#define CFG_FAULT 0
#endif
#ifndef CFG_INIT_ARENA_BYTES
#define CFG_INIT_ARENA_BYTES (64u * 1024u)
#endif
#ifndef CFG_LOG_LINE_BYTES
#define CFG_LOG_LINE_BYTES 512
#endif
/* SHA-256 with the x86 SHA extensions (core/sha256_x86.c): compiled in on
 * x86-64 with GCC or clang and used when CPUID reports SHA, SSSE3 and
 * SSE4.1, else the portable C runs. -DROOST_SHA256_PORTABLE=1 (or
 * -DCFG_SHA256_SHANI=0) builds the portable C only; other architectures
 * always get it. */
#ifndef CFG_SHA256_SHANI
#if defined(ROOST_SHA256_PORTABLE)
#if ROOST_SHA256_PORTABLE
#define CFG_SHA256_SHANI 0
#endif
#endif
#endif
#ifndef CFG_SHA256_SHANI
#if defined(__x86_64__) && defined(__GNUC__)
#define CFG_SHA256_SHANI 1
#else
#define CFG_SHA256_SHANI 0
#endif
#endif

/* ---- store -------------------------------------------------------------- */

/* sqlite3 runs entirely in this heap (SQLITE_CONFIG_HEAP, memsys5). */
#ifndef CFG_SQLITE_HEAP_BYTES
#define CFG_SQLITE_HEAP_BYTES (8u * 1024u * 1024u)
#endif
#ifndef CFG_SQLITE_MIN_ALLOC
#define CFG_SQLITE_MIN_ALLOC 64        /* memsys5 minimum allocation, power of 2 */
#endif
#ifndef CFG_SQLITE_PAGE_CACHE_PAGES
#define CFG_SQLITE_PAGE_CACHE_PAGES 256
#endif
#ifndef CFG_SQLITE_LOOKASIDE_SLOT
#define CFG_SQLITE_LOOKASIDE_SLOT 128
#endif
#ifndef CFG_SQLITE_LOOKASIDE_COUNT
#define CFG_SQLITE_LOOKASIDE_COUNT 64
#endif
#ifndef CFG_STORE_MAX_STMTS
#define CFG_STORE_MAX_STMTS 240        /* prepared statements made at init */
#endif
#ifndef CFG_STORE_MAX_PARTS
#define CFG_STORE_MAX_PARTS 8          /* parts handed to store_add (families) */
#endif
#ifndef CFG_STORE_BATCH_OWNERS
#define CFG_STORE_BATCH_OWNERS 4       /* modules sharing the turn's batch (store_batch_join) */
#endif
/* PRAGMA synchronous of the WAL database. 1 = NORMAL: a commit survives the
 * process being killed (kill -9); power loss may drop the last commits,
 * never consistency. 2 = FULL: one fsync per commit, survives power loss. */
#ifndef CFG_SQLITE_SYNCHRONOUS
#define CFG_SQLITE_SYNCHRONOUS 1
#endif

/* ---- runtime configuration ---------------------------------------------- */

#ifndef CFG_CONF_VALUE_BYTES
#define CFG_CONF_VALUE_BYTES 512       /* one config value (paths, lists) */
#endif
#ifndef CFG_CONF_FILE_BYTES
#define CFG_CONF_FILE_BYTES 65536      /* roost.conf read whole at init */
#endif
#ifndef CFG_HELP_BYTES
#define CFG_HELP_BYTES 12288           /* the --help text, built once */
#endif
/* Text roostd prints whole: the ready line, --budget, --limits. */
#ifndef CFG_APP_TEXT_BYTES
#define CFG_APP_TEXT_BYTES 8192
#endif
#ifndef CFG_MAX_PROVIDERS
#define CFG_MAX_PROVIDERS 8            /* llm.provider.<name>.* entries */
#endif
#ifndef CFG_MAX_CORS_ORIGINS
#define CFG_MAX_CORS_ORIGINS 8         /* origins per listener */
#endif
#ifndef CFG_CONF_HOST_BYTES
#define CFG_CONF_HOST_BYTES 64         /* <family>.host, NUL included */
#endif
#ifndef CFG_CONF_NAME_BYTES
#define CFG_CONF_NAME_BYTES 32         /* an LLM provider name, NUL included */
#endif

/* ---- the hook commands: roostd hook, roostd hooks install (app/hooks_cli.h)
 * They run instead of the server, so they borrow its render scratch
 * (CFG_RENDER_BYTES) and have no static RAM of their own. */
#ifndef CFG_HOOK_BODY_BYTES
#define CFG_HOOK_BODY_BYTES (CFG_RENDER_BYTES - 1024u) /* largest hook body `roostd
                                        * hook` forwards; a larger one is dropped */
#endif
#ifndef CFG_HOOK_TIMEOUT_MS
#define CFG_HOOK_TIMEOUT_MS 1500       /* `roostd hook`: connect + send + answer */
#endif
#ifndef CFG_HOOKS_SETTINGS_BYTES
#define CFG_HOOKS_SETTINGS_BYTES (CFG_RENDER_BYTES / 4u) /* largest settings.json
                                        * `roostd hooks install` edits; the rest
                                        * of the scratch takes the file rewritten */
#endif
#ifndef CFG_HOOKS_SETTINGS_TOKENS
#define CFG_HOOKS_SETTINGS_TOKENS 16384 /* JSON values of that file: its token
                                        * array lives on the command's stack
                                        * (20 B each), not in the server's pool */
#endif

/* ---- fleet: skill library ---------------------------------------------- */

/* Skills listed by GET /skills (and parents followed by GET /skills/{name});
 * with more skill directories, the first ones by name are used (logged). */
#ifndef CFG_FLEET_SKILLS_MAX
#define CFG_FLEET_SKILLS_MAX 256
#endif
/* A SKILL.md larger than this is treated as invalid (two static buffers). */
#ifndef CFG_FLEET_SKILL_MD_BYTES
#define CFG_FLEET_SKILL_MD_BYTES (128u * 1024u)
#endif

/* A bot skill's overrides object, as compact JSON text; a larger one is
 * refused (400). Two static buffers of it. */
#ifndef CFG_FLEET_SKILL_OVERRIDES_BYTES
#define CFG_FLEET_SKILL_OVERRIDES_BYTES 8192u
#endif

/* ---- fleet: /ws/events command registries ------------------------------ */

/* Sub-agents that cancel_agent can reach at once (fam/fleet/events.h); one
 * more is refused with ST_FULL (the agent then runs uncancellable, logged). */
#ifndef CFG_FLEET_AGENT_SLOTS
#define CFG_FLEET_AGENT_SLOTS 1024
#endif
/* Requests paused on an exhausted token budget, waiting for budget_continue
 * or budget_stop, at once; one more is refused with ST_FULL. */
#ifndef CFG_FLEET_PAUSED_SLOTS
#define CFG_FLEET_PAUSED_SLOTS 256
#endif
/* subscribe_workflow run ids remembered per /ws/events connection (16 bytes
 * each, in the subscriber's user area); more are acknowledged, not kept. */
#ifndef CFG_FLEET_WS_RUNS
#define CFG_FLEET_WS_RUNS 8
#endif

/* ---- documents ------------------------------------------------------------ */

/* Prepare the family's statements per use instead of once at init
 * (store_stmts.on_demand, store/store.h): they then take sqlite heap (about
 * 50 KiB) only while one of its requests runs, for a profile whose heap
 * cannot hold them beside the other families' peaks (small). */
#ifndef CFG_DOCS_SQL_ON_DEMAND
#define CFG_DOCS_SQL_ON_DEMAND 0
#endif
/* The same for the observability family's statements (small: a held
 * statement keeps the largest event it handled in its registers). */
#ifndef CFG_OBS_SQL_ON_DEMAND
#define CFG_OBS_SQL_ON_DEMAND 0
#endif

/* ---- observability ------------------------------------------------------ */

/* Stops waiting for their SIGTERM grace period at once (spec
 * observability.md §5); each holds a timer. With all busy, a further stop
 * sends SIGINT only (logged). */
#ifndef CFG_OBS_STOP_SLOTS
#define CFG_OBS_STOP_SLOTS 16
#endif

/* documents uploads (spec/documents.md §3.2, fam/docs/upload.c): uploads
 * in progress at once, each a slot (the multipart parser, SHA-256, the
 * temporary file, the text fields); one more is answered 503 with
 * Retry-After before its body is read. The text fields' room: tags (the
 * spec's 8 KiB) and metadata (the spec's 64 KiB); longer is 413 "Form
 * field too large". */
#ifndef CFG_DOCS_UPLOAD_SLOTS
#define CFG_DOCS_UPLOAD_SLOTS 4
#endif
#ifndef CFG_DOCS_TAGS_BYTES
#define CFG_DOCS_TAGS_BYTES 8192
#endif
#ifndef CFG_DOCS_META_BYTES
#define CFG_DOCS_META_BYTES 65536
#endif
/* Each upload slot's chunk buffer: a Content-Length body is read into it
 * (at most documents.chunk_bytes at a time) instead of rx, in fewer and
 * larger reads. 0: none, the body goes through rx. */
#ifndef CFG_DOCS_CHUNK_BYTES
#define CFG_DOCS_CHUNK_BYTES 65536
#endif

/* The session_updated message a /ws client gets, serialized once: a Session
 * at the spec's field limits escapes to about 30 KiB. A session that does
 * not fit is logged and not broadcast (it is stored all the same). */
#ifndef CFG_OBS_MSG_BYTES
#define CFG_OBS_MSG_BYTES (40u * 1024u)
#endif

/* POST /events arriving in one loop turn share one transaction (the
 * turn's batch, store.h): their /ws messages wait for the commit here, at
 * most CFG_OBS_BATCH_EVENTS events and CFG_OBS_BATCH_BYTES bytes of
 * messages; one more commits the batch early. An event whose message is
 * larger than the whole stage is recorded in a transaction of its own. */
#ifndef CFG_OBS_BATCH_EVENTS
#define CFG_OBS_BATCH_EVENTS 256
#endif
#ifndef CFG_OBS_BATCH_BYTES
#define CFG_OBS_BATCH_BYTES (64u * 1024u)
#endif

/* ---- the rpg family (src/fam/rpg/) --------------------------------------- */

/* tmux windows and panes kept in the current state; more are left out
 * (logged, counted). */
#ifndef CFG_RPG_WINDOWS
#define CFG_RPG_WINDOWS 64
#endif
#ifndef CFG_RPG_PANES
#define CFG_RPG_PANES 256
#endif
/* Claude panes with a pane session and a terminal of their own. */
#ifndef CFG_RPG_CLAUDE
#define CFG_RPG_CLAUDE 16
#endif
/* The last bytes of a Claude pane's capture kept (cut at a line start). */
#ifndef CFG_RPG_TERM_BYTES
#define CFG_RPG_TERM_BYTES 32768u
#endif
/* The poll child's output (its own buffer, not a slot's): the listing and
 * the captures that ride along with it, at most three quarters of it (the
 * rest wait for the next poll, in turn). Eight wide panes streaming at
 * once, 150 lines each, fit one poll. */
#ifndef CFG_RPG_POLL_OUT_BYTES
#define CFG_RPG_POLL_OUT_BYTES (256u * 1024u)
#endif
/* Session id <-> pane links of hooks (hooks.md §6). */
#ifndef CFG_RPG_LINKS
#define CFG_RPG_LINKS 64
#endif
/* Companions in a `companions` message (§2.5): the most recently active
 * projects, at most this many, and the message's buffer (a broadcast is
 * rendered whole to be compared with the last one); a companion that does
 * not fit is left out (logged once). */
#ifndef CFG_RPG_COMPANIONS
#define CFG_RPG_COMPANIONS 64
#endif
#ifndef CFG_RPG_COMPANIONS_MSG_BYTES
#define CFG_RPG_COMPANIONS_MSG_BYTES (96u * 1024u)
#endif
/* A `windows` broadcast larger than this leaves out terminalContent (the
 * panes' terminal_output messages carry it); snapshots always have it. */
#ifndef CFG_RPG_WINDOWS_MSG_BYTES
#define CFG_RPG_WINDOWS_MSG_BYTES (256u * 1024u)
#endif
/* An avatar file placed in <data_dir>/rpg/avatars larger than this is
 * answered 500 (logged once): its strong ETag is a hash of its content,
 * read on every request, so this bounds the work of one request. */
#ifndef CFG_RPG_AVATAR_FILE_BYTES
#define CFG_RPG_AVATAR_FILE_BYTES 262144u     /* 256 KiB */
#endif

/* ---- bus: the event ring ------------------------------------------------ */

/* Events held at once (src/bus/ring.h): each slot is one published event's
 * header (sequence, topics, priority, place of its bytes). */
#ifndef CFG_BUS_SLOTS
#define CFG_BUS_SLOTS 4096
#endif
/* Serialized JSON of the events held at once (circular byte area). A larger
 * single event is refused (ST_TOOBIG); when slots or bytes run out, the
 * oldest events are overwritten. */
#ifndef CFG_BUS_BYTES
#define CFG_BUS_BYTES 4194304u         /* 4 MiB */
#endif

/* ---- streams: WebSocket and SSE subscribers ---------------------------- */

/* Connections in WebSocket or SSE mode at once (src/http/stream.h), all
 * families together; one more is answered with close 1013 (WebSocket) or
 * 503 (SSE). */
#ifndef CFG_STREAM_SUBS
#define CFG_STREAM_SUBS 256
#endif
/* A client text message a family reads (fleet commands) is reassembled
 * from its fragments into this many bytes per subscriber. */
#ifndef CFG_STREAM_MSG_BYTES
#define CFG_STREAM_MSG_BYTES 4096
#endif
/* tx room kept free of events so a pong, a ping and a close frame always
 * fit behind them. */
#ifndef CFG_STREAM_CONTROL_RESERVE
#define CFG_STREAM_CONTROL_RESERVE 384
#endif

/* ---- out: outbound LLM calls ------------------------------------------- */

/* Bytes of one provider SSE event's data (all its data lines joined) that a
 * call's stream parser holds (src/out/sse_in.h); a larger event or line fails
 * the call with ST_TOOBIG. Anthropic and OpenAI events are a few hundred
 * bytes; a text delta rarely exceeds a few KiB. A whole (non-streaming) call
 * holds its entire JSON reply in the same buffer (a larger one: ST_TOOBIG):
 * a builder turn of 2,048 tokens is about 8 KiB of text before JSON escaping. */
#ifndef CFG_LLM_SSE_BYTES
#define CFG_LLM_SSE_BYTES 32768u
#endif
/* Longest SSE `event:` name kept (NUL included); longer: ST_TOOBIG. */
#ifndef CFG_LLM_SSE_NAME_BYTES
#define CFG_LLM_SSE_NAME_BYTES 64u
#endif
/* jsmn tokens for one decoded provider event or error body
 * (src/out/llm_wire.c keeps one static array of them, 20 B each); an event
 * with more values fails its call (ST_TOOBIG). */
#ifndef CFG_LLM_JSON_TOKENS
#define CFG_LLM_JSON_TOKENS 512u
#endif
/* A decoded event's failure detail (provider error type and message, or
 * what was malformed), NUL included; longer text is cut at a character. */
#ifndef CFG_LLM_DETAIL_BYTES
#define CFG_LLM_DETAIL_BYTES 512u
#endif
/* Outbound LLM calls at once (src/out/llm.h): each slot is one libcurl easy
 * handle made at init (with its own c-ares channel: about 7 KiB of the
 * heap below) and its SSE parser buffer (CFG_LLM_SSE_BYTES, touched only as
 * far as events reach). One more call: ST_FULL (the chat endpoint's 503, or
 * a sub-agent waits). A small board that never runs more than a few chats
 * at once lowers this; both heaps below scale with it. */
#ifndef CFG_LLM_SLOTS
#define CFG_LLM_SLOTS 256
#endif
/* The heap of libcurl and c-ares (src/out/mem.c, curl_global_init_mem and
 * ares_library_init_mem): easy and multi handles, connections, the 16 KiB
 * receive buffer of each transfer, headers, DNS channels and queries: about
 * 7 KiB per slot at init and 22 KiB more per running call (measured: 200
 * streams at once peak at 6 MiB). All of it is static storage, committed
 * at init when providers are configured (resident from the start); when
 * it is full a call fails
 * (CURLE_OUT_OF_MEMORY), nothing else. /metrics shows its high-water mark. */
#ifndef CFG_OUT_HEAP_BYTES
#define CFG_OUT_HEAP_BYTES ((1024u * 1024u) + ((size_t)CFG_LLM_SLOTS * 40u * 1024u))
#endif
/* ---- TLS on the listeners (net/tls.c; <family>.tls_cert / .tls_key) ----
 * mbedtls 2.28: TLS 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305 only. Built
 * with mbedtls, i.e. with the LLM stack (CFG_WITH_TLS). */
#ifndef CFG_WITH_TLS
#define CFG_WITH_TLS CFG_WITH_LLM
#endif
/* Sessions: TLS connections open at once, over every TLS listener. Each
 * holds its record buffers on the TLS heap (MBEDTLS_SSL_IN_CONTENT_LEN
 * 16 KiB in + OUT_CONTENT_LEN 4 KiB out + about 1 KiB of state: 22 KiB, kept
 * with the slot between connections). A connection beyond them is closed
 * at accept and counted. */
#ifndef CFG_TLS_SESSIONS
#define CFG_TLS_SESSIONS 256
#endif
/* Handshakes in progress at once (a handshake takes its ECDHE and
 * signature state, about 12 KiB more, until it is done). Beyond: closed at
 * accept and counted. */
#ifndef CFG_TLS_HANDSHAKES
#define CFG_TLS_HANDSHAKES 32
#endif
/* Largest certificate (chain) or key file read, into the TLS heap and freed
 * once parsed. */
#ifndef CFG_TLS_FILE_BYTES
#define CFG_TLS_FILE_BYTES 65536u
#endif
/* Loaded certificates at once: each TLS listener's current one and those
 * replaced by a reload (SIGHUP) that connections opened before still use. A
 * reload that finds none free keeps the current certificate (logged). */
#ifndef CFG_TLS_CREDS
#define CFG_TLS_CREDS 15u    /* three per listener at CFG_MAX_LISTENERS 5 */
#endif
/* Default of tls.handshake_timeout_ms: a handshake not done by then is
 * closed and counted. */
#ifndef CFG_TLS_HANDSHAKE_TIMEOUT_MS
#define CFG_TLS_HANDSHAKE_TIMEOUT_MS 10000u
#endif
/* What the server side adds to the TLS heap: every session's buffers, the
 * handshakes' transient state, the certificates and one file being read. */
#if CFG_WITH_TLS
#define CFG_TLS_SERVER_HEAP_BYTES                                                  \
    (((size_t)CFG_TLS_SESSIONS * 24u * 1024u) + ((size_t)CFG_TLS_HANDSHAKES * 16u * 1024u) + \
     ((size_t)CFG_TLS_CREDS * 8u * 1024u) + CFG_TLS_FILE_BYTES)
#else
#define CFG_TLS_SERVER_HEAP_BYTES 0u
#endif

/* Largest CA bundle file llm_init reads (into the TLS heap, freed after it
 * is parsed). Debian's is about 220 KiB. */
#ifndef CFG_LLM_CA_FILE_BYTES
#define CFG_LLM_CA_FILE_BYTES (1024u * 1024u)
#endif
/* The heap of mbedtls (mbedtls_platform_set_calloc_free): the CA bundle
 * parsed once at init (Debian's ~140 roots: about 0.6 MiB), plus per TLS
 * connection its record buffers (16 KiB in + 4 KiB out) and handshake state
 * (peaks near 60 KiB while the handshake runs). Sized for every slot on TLS
 * at once with a quarter of them in a handshake. Committed at init, like
 * the heap above. */
#ifndef CFG_TLS_HEAP_BYTES
#define CFG_TLS_HEAP_BYTES ((2u * 1024u * 1024u) + ((size_t)CFG_LLM_SLOTS * 36u * 1024u) + \
                            CFG_TLS_SERVER_HEAP_BYTES)
#endif

/* A provider's API key (fleet secret or environment), NUL included; a
 * longer key fails the call. */
#ifndef CFG_LLM_KEY_BYTES
#define CFG_LLM_KEY_BYTES 2048u
#endif

/* ---- fleet chat (src/fam/fleet/chat.h) ---------------------------------- */

/* Chat requests streaming at once (POST /bots/{id}/chat/stream): one more
 * is answered 503. Each holds its ids, identity settings, budget and output
 * queue head (about 1 KiB); texts live in the chat heap. */
#ifndef CFG_CHAT_REQS
#define CFG_CHAT_REQS 256
#endif
/* Agents of all requests at once (the root of each request, every
 * sub-agent spawned and not yet finished with its request). A spawn that
 * finds none free fails that child ("no agent slot"). */
#ifndef CFG_CHAT_AGENTS
#define CFG_CHAT_AGENTS 1024
#endif
/* The chat heap: system prompts, history, request bodies, response texts,
 * tasks and queued SSE output of every request. A request that does not fit
 * at its start is answered 503; a sub-agent that does not fit fails. */
#ifndef CFG_CHAT_HEAP_BYTES
#define CFG_CHAT_HEAP_BYTES 25165824u     /* 24 MiB */
#endif
/* SSE output a request may hold for a client that reads slowly: above it
 * the request's provider streams are paused until the client catches up. */
#ifndef CFG_CHAT_QUEUE_BYTES
#define CFG_CHAT_QUEUE_BYTES 65536u
#endif
/* Longest response text of one agent (root, sub-agent or synthesis); a
 * longer one fails that call ("response too long"). */
#ifndef CFG_CHAT_TEXT_MAX
#define CFG_CHAT_TEXT_MAX 1048576u
#endif
/* One-shot LLM calls running at once (engine/call.h: the fleet builder's
 * turns and skill generation); beyond, the request is refused with 503. */
#ifndef CFG_ENGINE_CALLS
#define CFG_ENGINE_CALLS 16
#endif
/* The reply buffer of a one-shot call that asks for one (the builder's skill
 * generation; turns fit out/llm's slot buffer), in the chat heap while it
 * runs: half for the reply body (a generated skill of 4096 tokens, escaped
 * twice, stays well inside 48 KiB), half for its decoded text. */
#ifndef CFG_ENGINE_REPLY_BYTES
#define CFG_ENGINE_REPLY_BYTES 98304u          /* 96 KiB */
#endif
/* Builder WebSockets (/ws/builder/{id}) open at once; beyond, 1013. */
#ifndef CFG_BUILDER_WS
#define CFG_BUILDER_WS 32
#endif
/* Distinct sub-agent tasks counted per request for cycle detection; tasks
 * beyond it are not counted (and so never reported as a cycle). */
#ifndef CFG_CHAT_TASKS
#define CFG_CHAT_TASKS 64
#endif
/* `:` comment on a chat stream after this long without output (fleet.md
 * §6: 15 s). */
#ifndef CFG_CHAT_KEEPALIVE_MS
#define CFG_CHAT_KEEPALIVE_MS 15000u
#endif

/* ---- the whole static RAM plan ------------------------------------------ */

/* What the linker adds beyond roost's own buffers: sqlite3's state and
 * tables (with the LLM stack also curl's, c-ares' and mbedtls'), and every
 * const table holding pointers, which a PIE relocates at load (.data.rel.ro,
 * .got, .dynamic). Measured with size(1) on the linked binary and listed so
 * the plan is the binary's whole .data + .bss (test_plan.py checks it). */
#ifndef CFG_LINKED_STATIC_BYTES
#define CFG_LINKED_STATIC_BYTES (64u * 1024u)
#endif

/* `roostd --budget` prints the plan; the build fails when it exceeds this. */
#ifndef CFG_RAM_BUDGET_BYTES
#define CFG_RAM_BUDGET_BYTES (160u * 1024u * 1024u)
#endif

/* ---- bad combinations --------------------------------------------------- */

#if CFG_BUF_BYTES < CFG_HTTP_MAX_HEAD_BYTES + 1024
#error "CFG_BUF_BYTES must hold a maximal request head plus a little body"
#endif
#if CFG_BUFS < 2 || CFG_BUF_TX_RESERVE < 1 || CFG_BUF_TX_RESERVE >= CFG_BUFS
#error "CFG_BUFS must be at least 2 and CFG_BUF_TX_RESERVE in [1, CFG_BUFS)"
#endif
#if CFG_RENDER_BYTES < CFG_BUF_BYTES
#error "CFG_RENDER_BYTES must hold at least one buffer's worth"
#endif
#if CFG_HOOK_BODY_BYTES + 1024 > CFG_RENDER_BYTES
#error "CFG_HOOK_BODY_BYTES plus the hook's own fields (1 KiB) must fit CFG_RENDER_BYTES"
#endif
#if CFG_HOOKS_SETTINGS_BYTES * 2 > CFG_RENDER_BYTES
#error "CFG_HOOKS_SETTINGS_BYTES must leave at least as much of CFG_RENDER_BYTES for its rewrite"
#endif
#if CFG_HTTP_MAX_TARGET_BYTES >= CFG_HTTP_MAX_HEAD_BYTES
#error "CFG_HTTP_MAX_TARGET_BYTES must be below CFG_HTTP_MAX_HEAD_BYTES"
#endif
#if CFG_BUF_BYTES < 2048
#error "CFG_BUF_BYTES must hold at least an error response"
#endif
#if CFG_WS_MAX_MESSAGE + 14 > CFG_BUF_BYTES
#error "CFG_BUF_BYTES must hold the largest WebSocket frame (CFG_WS_MAX_MESSAGE + 14)"
#endif
#if CFG_STREAM_MSG_BYTES > CFG_WS_MAX_MESSAGE || CFG_STREAM_MSG_BYTES < 125
#error "CFG_STREAM_MSG_BYTES must be between 125 and CFG_WS_MAX_MESSAGE"
#endif
#if CFG_STREAM_CONTROL_RESERVE < 3 * 127 || CFG_STREAM_CONTROL_RESERVE * 4 > CFG_BUF_BYTES
#error "CFG_STREAM_CONTROL_RESERVE must hold three control frames and leave tx for events"
#endif
#if CFG_NET_WATCHES < (3 * CFG_LLM_SLOTS) + CFG_CHILD_WATCHES
#error "CFG_NET_WATCHES must cover every LLM slot's sockets (3 per call at least) and the children's (CFG_CHILD_WATCHES)"
#endif
#if CFG_CHILD_SLOTS > 65535 || (CFG_CHILD_SLOTS > 0 && (CFG_CHILD_OUT_BYTES < 1 || \
    CFG_CHILD_ERR_BYTES < 1 || CFG_CHILD_IN_BYTES < 1 || CFG_CHILD_DEADLINE_MS < 1))
#error "CFG_CHILD_SLOTS must be at most 65535, each child buffer and the deadline at least 1"
#endif
#if CFG_BUS_SLOTS < 2 || CFG_BUS_BYTES < 64
#error "CFG_BUS_SLOTS must be at least 2 and CFG_BUS_BYTES at least 64"
#endif
#if (CFG_SQLITE_MIN_ALLOC & (CFG_SQLITE_MIN_ALLOC - 1)) != 0
#error "CFG_SQLITE_MIN_ALLOC must be a power of two"
#endif
#if CFG_ROUTER_MAX_ROUTES < 1 || CFG_ROUTER_MAX_SEGS < 1 || CFG_ROUTER_MAX_SEGS > 255 || \
    CFG_ROUTER_MAX_LITERALS < 1 || CFG_ROUTER_MAX_LITERALS > 65535
#error "CFG_ROUTER_MAX_ROUTES, _LITERALS (<= 65535) and _SEGS (<= 255) must be at least 1"
#endif
#if CFG_MAX_CONNS > 65535
#error "connection ids are 16-bit"
#endif
#if CFG_SHA256_SHANI && !(defined(__x86_64__) && defined(__GNUC__))
#error "CFG_SHA256_SHANI needs an x86-64 target and GCC or clang"
#endif
#if CFG_FAM_FLEET && !CFG_WITH_LLM
#error "the fleet family needs the LLM stack (WITH_LLM := 1 in the profile's .mk)"
#endif
/* Timers in use at once, at most, by their users (each of which answers a
 * timer_start failure, but with this sum none should ever see one): the LLM
 * engine (curl's timer, the starved-call reaper, one first-byte timeout per
 * slot), the fleet chat (its pump, a budget pause and a budget update per
 * request), the observability stops (one grace timer per slot) and the
 * child processes (one deadline per slot). */
#define CFG_TIMER_USERS ((CFG_WITH_LLM ? (2 + CFG_LLM_SLOTS) : 0) + \
                         (CFG_FAM_FLEET ? (1 + (2 * CFG_CHAT_REQS)) : 0) + \
                         (CFG_FAM_OBS ? CFG_OBS_STOP_SLOTS : 0) + CFG_CHILD_SLOTS)
#if CFG_MAX_TIMERS < CFG_TIMER_USERS
#error "CFG_MAX_TIMERS must cover every timer user at its maximum (CFG_TIMER_USERS)"
#endif
#if CFG_LLM_SSE_NAME_BYTES < 32 || CFG_LLM_DETAIL_BYTES < 64 || CFG_LLM_JSON_TOKENS < 64
#error "CFG_LLM_SSE_NAME_BYTES must be >= 32, CFG_LLM_DETAIL_BYTES >= 64, CFG_LLM_JSON_TOKENS >= 64"
#endif

#endif /* ROOST_CONFIG_H */
