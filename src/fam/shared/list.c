#include "fam/shared/list.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "fam/shared/fam.h"
#include "store/store.h"

#define LIST_TAIL_RESERVE 1024u   /* room kept in each part for the tail */

typedef struct {
    fam_list_query query;
    fam_list_row row;
    fam_list_tail tail;
    int64_t next;                 /* rows sent so far */
    uint8_t phase;                /* 0 head, 1 rows, 2 done */
    bool any;                     /* a row was written (comma before the next) */
    char head[FAM_LIST_HEAD_BYTES];
    uint64_t ctx[(FAM_LIST_CTX_BYTES + 7u) / 8u];            /* 8-aligned copies */
    uint64_t tail_ctx[(FAM_LIST_TAIL_CTX_BYTES + 7u) / 8u];
} list_state;

_Static_assert(sizeof(list_state) <= HCTX_PRODUCER_STATE_BYTES,
               "list_state must fit the producer state");

/* As many whole rows as fit in this part (less the tail's reserve). */
static size_t put_rows(list_state *st, char *buf, size_t cap, size_t len)
{
    struct sqlite3_stmt *q = st->query(st->ctx, st->next);
    bool part_full = false;       /* this part is full: the next row waits */
    bool row = false;
    size_t end = len;
    if (q == NULL) {
        st->phase = 2u;
    }
    while ((st->phase == 1u) && !part_full) {
        json_w w;
        size_t comma = st->any ? 1u : 0u;
        size_t n = 0u;
        if ((store_step(q, &row) != ST_OK) || !row) {
            st->phase = 2u;
        } else if ((end + comma + LIST_TAIL_RESERVE) >= cap) {
            part_full = true;
        } else {
            json_w_init(&w, buf + end + comma, cap - end - comma - LIST_TAIL_RESERVE);
            st->row(q, &w);
            if (json_w_finish(&w, &n) != ST_OK) {
                if (end == 0u) {
                    /* one row larger than a whole slot: it can never be sent */
                    LOG_E("list", "row %lld larger than an out slot: list cut",
                          (long long)st->next);
                    st->phase = 2u;
                }
                part_full = true;   /* it goes first in the next part */
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

static size_t list_produce(void *state, char *buf, size_t cap, bool *done)
{
    list_state *st = (list_state *)state;
    size_t len = 0u;
    *done = false;
    if (st->phase == 0u) {
        len = strlen(st->head);
        (void)memcpy(buf, st->head, len);
        st->phase = 1u;
    }
    if (st->phase == 1u) {
        len = put_rows(st, buf, cap, len);
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
