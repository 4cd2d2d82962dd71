# vendor/lwip.mk - lwIP 2.1.3 for the lwIP port (make PORT=lwip), included
# by vendor/vendor.mk.
#
# The sources stay in the unpacked Debian package (vendor/fetch.sh applies
# vendor/lwip.patches); what is compiled is the IPv4 core, TCP and UDP,
# ARP and Ethernet, and the netconn and sockets APIs (api/tcpip.c only for
# the core lock and the API call path: no tcpip_thread is started). The
# options are port/lwip/lwipopts.h, sized from config.h's limits, so the
# objects are per BUILD with the profile's flags. lwIP must not reach the
# system heap nor start a thread; the rule checks the symbols.
LWIP_SRC  := $(call vendor_src,lwip)
LWIP_INCS := -Iport/lwip -I$(LWIP_SRC)/src/include
LWIP_FILES := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c \
              core/netif.c core/pbuf.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
              core/tcp_out.c core/timeouts.c core/udp.c \
              core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
              core/ipv4/ip4_frag.c \
              api/api_lib.c api/api_msg.c api/err.c api/netbuf.c api/sockets.c api/tcpip.c \
              netif/ethernet.c
LWIP_OBJS := $(patsubst %.c,$(BUILD)/vendor/lwip/%.o,$(LWIP_FILES))
LWIP_CFLAGS = -std=gnu11 -O2 -g -D_GNU_SOURCE $(EXTRA_CFLAGS) -I. -Isrc -Iport $(LWIP_INCS) \
              $(PROFILE_CFLAGS) $(FLAVOUR_CFLAGS)
LWIP_HEADERS := port/lwip/lwipopts.h port/lwip/lwip_hooks.h port/lwip/plan.h port/lwip/arch/cc.h port/lwip/arch/sys_arch.h

$(BUILD)/vendor/lwip/%.o: $(VENDOR_DIR)/src/lwip.key $(LWIP_HEADERS) $(PROFILE_DEPS) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(LWIP_CFLAGS) -c -o $@ $(LWIP_SRC)/src/$*.c
	@if nm -u $@ | grep -Ew '($(VENDOR_NO_HEAP)|$(VENDOR_NO_THREADS)|pthread_[a-z_]+)'; then \
	  echo "vendor: lwip $* references the system heap or threads (above)"; rm -f $@; exit 1; fi
