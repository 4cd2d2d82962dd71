/* secrets.c - fleet handlers (see handlers.h). Not implemented yet: 501. */
#include "fam/fleet/handlers.h"

#include "fam/fleet/api.h"

void secrets_list(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void secrets_put(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void secrets_delete(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}
