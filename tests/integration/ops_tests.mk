# Operations tests (install layout, init scripts, docs, signals). Included by
# tests/local.mk so the ops tests can change without touching shared lines.
bx_ops_tests = tests/integration/ops_docs.sh tests/integration/ops_initd.sh \
	tests/integration/ops_reload.py tests/integration/ops_makerun.sh
TESTS += $(bx_ops_tests)
EXTRA_DIST += $(bx_ops_tests) tests/integration/ops_tests.mk
