/* files.c - fleet handlers (see handlers.h). Not implemented yet: 501. */
#include "fam/fleet/handlers.h"

#include "fam/fleet/api.h"

void files_identity_get(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void files_identity_put(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void files_user_get(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void files_user_put(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}
