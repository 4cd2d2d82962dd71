/*
 * profiles/server.h - the server profile: config.h's defaults as they are
 * (1,100 connections, 256 chats and LLM slots, 8 MiB sqlite heap, 4 MiB
 * event ring, 24 MiB chat heap). For a host with memory to spare; its
 * static plan is about 132 MiB (`build/server/roostd --budget`).
 *
 * Build: make PROFILE=server (into build/server/).
 */
#ifndef ROOST_PROFILE_SERVER_H
#define ROOST_PROFILE_SERVER_H

#define CFG_PROFILE_NAME "server"

#endif
