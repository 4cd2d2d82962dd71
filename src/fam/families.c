/*
 * families.c - the descriptors of families.def, in its order.
 */
#include "fam/families.h"

const fam_desc *const fam_list[FAM_COUNT] = {
#define FAMILY(name, NAME) &fam_##name,
#include "fam/families.def"
#undef FAMILY
};
