# vendor/curl.mk - how roost configures libcurl (included by vendor/vendor.mk).
#
# libcurl is roost's HTTP/1.1 client to the LLM providers: HTTP and HTTPS,
# nothing else. It runs on roost's one thread, driven by the poll() loop
# through the multi interface, with every allocation in a roost heap
# (curl_global_init_mem, src/out/mem.c). configure runs once per change of
# this file or of the curl package (a stamp in $(CURL_BLD)); warm builds
# never configure again.

CURL_CONFIGURE :=
# A static library only, built from the release tarball's configure (no
# autoconf); no curl tool, no manual.
CURL_CONFIGURE += --disable-shared --enable-static --disable-manual
CURL_CONFIGURE += --disable-libcurl-option --without-zsh-functions-dir --without-fish-functions-dir
# Our compiler flags, not curl's: no debug build, no -Werror games.
CURL_CONFIGURE += --disable-debug --disable-curldebug --enable-optimize \
                  --disable-warnings --disable-werror
# Only make rebuilds what changed (headers included): a changed mbedtls
# option recompiles the objects that include mbedtls headers. A cross build
# (ARCH=) goes without: its curl is configured again instead (vendor.mk).
CURL_CONFIGURE += $(if $(VENDOR_HOST),--disable-dependency-tracking,--enable-dependency-tracking)
# TLS: our mbedtls (headers in $(VENDOR_DIR)/include, libraries in
# $(VENDOR_DIR)/lib). No other backend.
CURL_CONFIGURE += --with-mbedtls=$(abspath $(VENDOR_OUT)) --without-openssl \
                  --without-gnutls --without-wolfssl --without-bearssl --without-rustls
# No CA bundle or path compiled in: roost parses the CA bundle once at init
# and hands the chain to each connection (CURLOPT_SSL_CTX_FUNCTION); a
# compiled-in default would make every connection open and parse the file.
CURL_CONFIGURE += --without-ca-bundle --without-ca-path --without-ca-fallback
# Names resolve through c-ares on our poll loop (its sockets show up in
# curl_multi_socket_action): no resolver thread, no blocking getaddrinfo.
CURL_CONFIGURE += --enable-ares=$(abspath $(VENDOR_OUT)) --disable-threaded-resolver
# One thread: no pthreads at all (DESIGN.md hard property 2).
CURL_CONFIGURE += --disable-pthreads
# HTTP and HTTPS only: every other protocol off.
CURL_CONFIGURE += --enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps \
                  --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 \
                  --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-smb \
                  --disable-websockets --without-librtmp --without-libssh2 --without-libssh \
                  --without-wolfssh
# Bodies are JSON/SSE streams we parse ourselves: no content decoders.
CURL_CONFIGURE += --without-zlib --without-brotli --without-zstd
# HTTP/1.1 only (providers stream SSE fine over it); no HTTP/2 or 3.
CURL_CONFIGURE += --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche \
                  --without-msh3 --without-hyper
# Host names are ASCII; no public-suffix list (cookies are off anyway).
CURL_CONFIGURE += --without-libpsl --without-libidn2 --without-libgsasl
# Authentication is an API-key header: no NTLM, Kerberos, digest or SRP code.
CURL_CONFIGURE += --disable-ntlm --disable-ntlm-wb --disable-crypto-auth --disable-tls-srp \
                  --without-gssapi --disable-sspi
# Features that read or write files, or keep state between calls that roost
# does not want: cookies, .netrc, HSTS and Alt-Svc caches, DoH, MIME forms.
CURL_CONFIGURE += --disable-cookies --disable-netrc --disable-hsts --disable-alt-svc \
                  --disable-doh --disable-mime
# Proxies: roost talks to providers directly (no proxy code, no proxy
# environment variables read). Turn on with --enable-proxy if a deployment
# needs one.
CURL_CONFIGURE += --disable-proxy
# No AF_UNIX connections, no progress meter, no option-name tables.
CURL_CONFIGURE += --disable-unix-sockets --disable-progress-meter --disable-get-easy-options
# The compiler and flags of the vendor libraries (no sanitizers: see
# VENDOR_LIB_CFLAGS in vendor.mk). CPPFLAGS: none; the mbedtls options come
# with its headers (vendor/mbedtls_config.h installed as mbedtls/config.h).
CURL_CONFIGURE += CC='$(CC)' CFLAGS='$(VENDOR_LIB_CFLAGS)'
# A cross build (ARCH= in the Makefile) says which machine the library is for.
CURL_CONFIGURE += $(if $(VENDOR_HOST),--host=$(VENDOR_HOST))
