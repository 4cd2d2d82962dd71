/*
 * app.h - roostd's entry: configuration, init order, the ready line, the
 * loop, graceful shutdown. The port's main() calls app_main.
 *
 * Exit codes: 0 clean (also after SIGTERM/SIGINT), 1 runtime failure (a
 * port in use, the data directory or database unusable), 2 usage or
 * configuration error.
 */
#ifndef ROOST_APP_H
#define ROOST_APP_H

int app_main(int argc, char *const *argv, const char *const *envp);

#endif
