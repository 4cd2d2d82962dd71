#include "fam/shared/list.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "fam/shared/fam.h"
#include "store/store.h"

#define LIST_TAIL_RESERVE 1024u   /* room kept in each part for the tail */

/* The rows of the last list whose rows all went out in its first part,
 * valid while the store's generation is the one they were rendered at. */
typedef struct {
    bool valid;
    uint64_t gen;
    fam_list_query query;
    fam_list_row row;
    size_t ctx_len;
    uint64_t ctx[(FAM_LIST_CTX_BYTES + 7u) / 8u];
    size_t len;
    char rows[CFG_LIST_CACHE_BYTES];
} list_cache;

_Static_assert(sizeof(list_cache) <= FAM_LIST_STATIC_BYTES, "the plan's line is too small");

static list_cache g_cache;

typedef struct {
    fam_list_query query;
    fam_list_row row;
    fam_list_tail tail;
    int64_t next;                 /* rows sent so far */
    uint8_t phase;                /* 0 head, 1 rows, 2 done */
    bool any;                     /* a row was written (comma before the next) */
    bool ended;                   /* the query ran out of rows (not an error) */
    size_t ctx_len;
    size_t row_off;               /* bytes of a row larger than a part already sent */
    size_t row_len;               /* its length (comma included) and hash */
    uint64_t row_hash;
    char head[FAM_LIST_HEAD_BYTES];
    uint64_t ctx[(FAM_LIST_CTX_BYTES + 7u) / 8u];            /* 8-aligned copies */
    uint64_t tail_ctx[(FAM_LIST_TAIL_CTX_BYTES + 7u) / 8u];
} list_state;

_Static_assert(sizeof(list_state) <= HCTX_PRODUCER_STATE_BYTES,
               "list_state must fit the producer state");

/* Render the current row of q, comma first when one is due, into the
 * render scratch; its length, 0 when it does not fit there either. */
static size_t row_render(list_state *st, struct sqlite3_stmt *q, const char **out)
{
    size_t cap = 0u;
    char *scratch = http_render_scratch(&cap);
    size_t comma = st->any ? 1u : 0u;
    size_t n = 0u;
    json_w w;
    json_w_init(&w, scratch + comma, cap - comma);
    st->row(q, &w);
    if (json_w_finish(&w, &n) != ST_OK) {
        return 0u;
    }
    if (comma > 0u) {
        scratch[0] = ',';
    }
    *out = scratch;
    return comma + n;
}

/* Copy the next window of a row larger than the part (rendered again from
 * the store at each part; a row that changed in between cuts the list). */
static size_t row_window(list_state *st, struct sqlite3_stmt *q, char *dst, size_t room)
{
    const char *r = NULL;
    size_t len = row_render(st, q, &r);
    size_t n;
    if (st->row_off == 0u) {
        st->row_len = len;
        st->row_hash = (len > 0u) ? strv_fnv1a(r, len) : 0u;
    } else if ((len != st->row_len) || (strv_fnv1a(r, len) != st->row_hash)) {
        len = 0u;
    } else {
        /* the same row */
    }
    if (len == 0u) {
        LOG_E("list", "row %lld larger than the render scratch or changed while sent: "
              "list cut", (long long)st->next);
        st->phase = 2u;
        st->row_off = 0u;
        return 0u;
    }
    n = len - st->row_off;
    if (n > room) {
        n = room;
    }
    (void)memcpy(dst, r + st->row_off, n);
    st->row_off += n;
    if (st->row_off == len) {
        st->row_off = 0u;
        st->any = true;
        st->next++;
    }
    return n;
}

/* As many rows as fit in this part (less the tail's reserve); a row larger
 * than what is left goes out in windows. */
static size_t put_rows(list_state *st, char *buf, size_t cap, size_t len)
{
    struct sqlite3_stmt *q;
    bool part_full = false;       /* this part is full: the next row waits */
    bool row = false;
    size_t end = len;
    if ((end + LIST_TAIL_RESERVE + 16u) >= cap) {
        return end;               /* too little room: the next call has more */
    }
    q = st->query(st->ctx, st->next);
    if (q == NULL) {
        st->phase = 2u;
    }
    while ((st->phase == 1u) && !part_full) {
        json_w w;
        size_t comma = st->any ? 1u : 0u;
        size_t n = 0u;
        size_t room = cap - end - LIST_TAIL_RESERVE;
        st_t step = store_step(q, &row);
        if ((step != ST_OK) || !row) {
            st->phase = 2u;
            st->ended = (step == ST_OK);    /* the last row was sent */
        } else if ((end + comma + 16u + LIST_TAIL_RESERVE) >= cap) {
            part_full = true;
        } else if (st->row_off > 0u) {
            end += row_window(st, q, buf + end, room);
            part_full = (st->row_off > 0u);
        } else {
            json_w_init(&w, buf + end + comma, room - comma);
            st->row(q, &w);
            if (json_w_finish(&w, &n) != ST_OK) {
                /* larger than what is left of the part: in windows */
                end += row_window(st, q, buf + end, room);
                part_full = (st->row_off > 0u);
            } else {
                if (comma > 0u) {
                    buf[end] = ',';
                }
                end += comma + n;
                st->any = true;
                st->next++;
            }
        }
    }
    if (q != NULL) {
        store_done(q);
    }
    return end;
}

static bool cache_matches(const list_state *st)
{
    /* an open batch holds writes a query would commit and see first */
    return g_cache.valid && !store_batch_open() && (g_cache.gen == store_generation()) &&
           (g_cache.query == st->query) && (g_cache.row == st->row) &&
           (g_cache.ctx_len == st->ctx_len) && (memcmp(g_cache.ctx, st->ctx, st->ctx_len) == 0);
}

/* The whole list from the cache when it holds this list and it fits the
 * part; false: query and render. */
static bool rows_from_cache(list_state *st, char *buf, size_t cap, size_t *len)
{
    if (!cache_matches(st) || ((*len + g_cache.len + LIST_TAIL_RESERVE + 16u) >= cap)) {
        return false;
    }
    (void)memcpy(buf + *len, g_cache.rows, g_cache.len);
    *len += g_cache.len;
    st->phase = 2u;
    return true;
}

/* The first part held every row: keep them for the next time. */
static void cache_keep(const list_state *st, const char *rows, size_t n, uint64_t gen)
{
    if ((n > sizeof g_cache.rows) || (gen != store_generation())) {
        return;
    }
    g_cache.valid = true;
    g_cache.gen = gen;
    g_cache.query = st->query;
    g_cache.row = st->row;
    g_cache.ctx_len = st->ctx_len;
    (void)memcpy(g_cache.ctx, st->ctx, st->ctx_len);
    g_cache.len = n;
    (void)memcpy(g_cache.rows, rows, n);
}

static size_t list_produce(void *state, char *buf, size_t cap, bool *done)
{
    list_state *st = (list_state *)state;
    size_t len = 0u;
    *done = false;
    if (st->phase == 0u) {
        len = strlen(st->head);
        (void)memcpy(buf, st->head, len);
        st->phase = 1u;
        if (!rows_from_cache(st, buf, cap, &len)) {
            size_t start = len;
            uint64_t gen = store_generation();
            len = put_rows(st, buf, cap, len);
            if (st->ended) {
                cache_keep(st, buf + start, len - start, gen);
            }
        }
    } else if (st->phase == 1u) {
        len = put_rows(st, buf, cap, len);
    } else {
        /* done: the tail */
    }
    if (st->phase == 2u) {
        len += st->tail(st->tail_ctx, buf + len, cap - len);
        *done = true;
    }
    return len;
}

/* Fill the producer state of a list; false (answered 500) on a bad call. */
static bool list_setup(hctx *h, list_state *st, const char *head, fam_list_query query,
                       fam_list_row row, const void *ctx, size_t ctx_len, fam_list_tail tail,
                       const void *tail_ctx, size_t tail_len)
{
    if (NEVER((ctx_len > sizeof st->ctx) || (tail_len > sizeof st->tail_ctx) ||
              (strlen(head) >= sizeof st->head))) {
        h->svc->error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return false;
    }
    (void)memset(st, 0, sizeof *st);
    st->query = query;
    st->row = row;
    st->tail = tail;
    (void)snprintf(st->head, sizeof st->head, "%s", head);
    (void)memcpy(st->ctx, ctx, ctx_len);
    st->ctx_len = ctx_len;
    (void)memcpy(st->tail_ctx, tail_ctx, tail_len);
    return true;
}

void fam_list_stream(hctx *h, const char *head, fam_list_query query, fam_list_row row,
                     const void *ctx, size_t ctx_len, fam_list_tail tail,
                     const void *tail_ctx, size_t tail_len)
{
    static list_state st;
    if (list_setup(h, &st, head, query, row, ctx, ctx_len, tail, tail_ctx, tail_len)) {
        hctx_begin(h, 200);
        hctx_header(h, "Content-Type", "application/json");
        hctx_end_stream(h, list_produce, &st, sizeof st);
    }
}

void fam_list_ws_snapshot(hctx *h, stream_sub *s, const char *head, fam_list_query query,
                          fam_list_row row, const void *ctx, size_t ctx_len,
                          fam_list_tail tail, const void *tail_ctx, size_t tail_len)
{
    static list_state st;
    if ((s != NULL) &&
        list_setup(h, &st, head, query, row, ctx, ctx_len, tail, tail_ctx, tail_len)) {
        hctx_ws_snapshot(h, s, list_produce, &st, sizeof st);
    }
}
