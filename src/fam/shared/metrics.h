/*
 * metrics.h - GET /metrics (fleet listener): Prometheus text exposition
 * (version 0.0.4) of pools, arenas, the loop, HTTP and the store. Metric
 * names are not part of the API contract.
 */
#ifndef ROOST_METRICS_H
#define ROOST_METRICS_H

#include <stddef.h>

/* Render into buf; returns the length, or 0 if it does not fit. */
size_t metrics_render(char *buf, size_t cap);

/* One unlabelled metric (HELP, TYPE and value lines) into buf; type is
 * "counter" or "gauge". Returns its length, or 0 if it does not fit. For
 * modules that add their own metrics to the page. */
size_t metrics_line(char *buf, size_t cap, const char *name, const char *type, const char *help,
                    unsigned long long v);

#endif
