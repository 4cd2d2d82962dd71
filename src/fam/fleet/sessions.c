/* sessions.c - fleet handlers (see handlers.h). Not implemented yet: 501. */
#include "fam/fleet/handlers.h"

#include "fam/fleet/api.h"

void sessions_list(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void sessions_get(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void sessions_messages(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void sessions_delete(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void sessions_clear(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void sessions_stats(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}
