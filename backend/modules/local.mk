# SPDX-License-Identifier: BSD-2-Clause
# Bundled page modules: each is one shared object NAME.so loaded with dlopen.
# The dev config loads them from the build tree's .libs.
BM_LDFLAGS = -module -avoid-version -shared -export-symbols-regex '^bactrian_module$$'

module_LTLIBRARIES += backend/modules/static.la
backend_modules_static_la_SOURCES = backend/modules/static.c \
	backend/modules/range.c backend/modules/range.h
backend_modules_static_la_LDFLAGS = $(BM_LDFLAGS)

module_LTLIBRARIES += backend/modules/status.la
# The scoreboard file's reader is compiled in: modules link nothing of ours.
backend_modules_status_la_SOURCES = backend/modules/status.c common/sbfile.c common/sbfile.h
backend_modules_status_la_LDFLAGS = $(BM_LDFLAGS)

# The skeleton for new modules (doc/modules.md), also the benchmark's fixed response.
module_LTLIBRARIES += backend/modules/hello.la
backend_modules_hello_la_SOURCES = backend/modules/hello.c
backend_modules_hello_la_LDFLAGS = $(BM_LDFLAGS)

# Answers with what it was given (a POST's body, ?whoami, ?stream=N): tests and demos.
module_LTLIBRARIES += backend/modules/mirror.la
backend_modules_mirror_la_SOURCES = backend/modules/mirror.c
backend_modules_mirror_la_LDFLAGS = $(BM_LDFLAGS)

all-local: backend-modules-dir
backend-modules-dir:
	@$(MKDIR_P) backend/modules/.libs
.PHONY: backend-modules-dir

# WebSocket modules: echo (the conformance target) and chat (rooms over pub/sub).
module_LTLIBRARIES += backend/modules/echo.la
backend_modules_echo_la_SOURCES = backend/modules/echo.c \
	backend/modules/json.c backend/modules/json.h
backend_modules_echo_la_LDFLAGS = $(BM_LDFLAGS)

module_LTLIBRARIES += backend/modules/chat.la
backend_modules_chat_la_SOURCES = backend/modules/chat.c \
	backend/modules/json.c backend/modules/json.h
backend_modules_chat_la_LDFLAGS = $(BM_LDFLAGS)
