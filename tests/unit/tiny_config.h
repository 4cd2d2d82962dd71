/* Unit-test pool sizes: tiny, so every exhaustion path runs on every run. */
#define CFG_MAX_CONNS 4
#define CFG_MAX_LISTENERS 2
#define CFG_HTTP_MAX_HEAD_BYTES 1024
#define CFG_HTTP_MAX_TARGET_BYTES 256
#define CFG_HTTP_MAX_HEADERS 8
#define CFG_HTTP_MAX_PARAMS 2
#define CFG_HTTP_PARAM_BYTES 64
#define CFG_BUF_BYTES 2048
#define CFG_BUFS 4
#define CFG_BUF_TX_RESERVE 1
#define CFG_BODY_SLOTS 2
#define CFG_BODY_SLOT_BYTES 8192
/* CFG_TIMER_USERS (config.h): 3 for the LLM engine, 5 for the chat, 2 for
 * the observability stops, 2 for the children. */
#define CFG_MAX_TIMERS 12
#define CFG_OBS_STOP_SLOTS 2
#define CFG_JSON_MAX_TOKENS 64
#define CFG_JSON_MAX_DEPTH 8
#define CFG_INIT_ARENA_BYTES 4096
#define CFG_SQLITE_HEAP_BYTES (2u * 1024u * 1024u)
#define CFG_SQLITE_PAGE_CACHE_PAGES 16
#define CFG_CONF_VALUE_BYTES 128
#define CFG_CONF_FILE_BYTES 2048
#define CFG_MAX_PROVIDERS 2
#define CFG_MAX_CORS_ORIGINS 2
#define CFG_HEADER_TIMEOUT_MS 200
#define CFG_BODY_TIMEOUT_MS 200
#define CFG_IDLE_TIMEOUT_MS 400
#define CFG_SEND_TIMEOUT_MS 400
#define CFG_SHUTDOWN_GRACE_MS 200
#define CFG_RENDER_BYTES 8192u
#define CFG_FILE_STREAMS 2
#define CFG_BUS_SLOTS 8
#define CFG_BUS_BYTES 512u
#define CFG_WS_MAX_MESSAGE 1024
#define CFG_STREAM_SUBS 3
#define CFG_STREAM_MSG_BYTES 256
#define CFG_STREAM_CONTROL_RESERVE 384
/* 3 for the LLM slot, 3 per child slot and the SIGCHLD pipe */
#define CFG_NET_WATCHES 10
#define CFG_LLM_SLOTS 1
#define CFG_CHAT_REQS 2
#define CFG_CHAT_AGENTS 4
#define CFG_CHAT_HEAP_BYTES 65536u
#define CFG_FLEET_AGENT_SLOTS 4
#define CFG_FLEET_PAUSED_SLOTS 2
#define CFG_FLEET_WS_RUNS 2
/* Two children at once; outputs of a few hundred bytes (1000 is not a
 * power of two: a flood is cut at exactly that), a default deadline long
 * enough for /bin/sh on a loaded machine (the tests ask for short ones). */
#define CFG_CHILD_SLOTS 2
#define CFG_CHILD_OUT_BYTES 1000u
#define CFG_CHILD_ERR_BYTES 200u
#define CFG_CHILD_IN_BYTES 64u
#define CFG_CHILD_DEADLINE_MS 20000u
