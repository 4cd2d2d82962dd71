/* skills.c - fleet handlers (see handlers.h). Not implemented yet: 501. */
#include "fam/fleet/handlers.h"

#include "fam/fleet/api.h"

void skills_list(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void skills_get(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void skills_bot_list(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void skills_attach(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void skills_patch(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void skills_detach(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}
