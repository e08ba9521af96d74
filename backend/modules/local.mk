# Bundled page modules. The dev config loads them from the build tree's .libs.
all-local: backend-modules-dir
backend-modules-dir:
	@$(MKDIR_P) backend/modules/.libs
.PHONY: backend-modules-dir
