# SPDX-License-Identifier: BSD-2-Clause
# The backend upgrade test (tests/integration/be_upgrade.py): a backend whose
# hand-off wire version is not ours, to upgrade a real one into.
check_PROGRAMS += tests/upgrade/bactrian-backend-ho2
tests_upgrade_bactrian_backend_ho2_SOURCES = backend/main.c tests/upgrade/ho_version.c
tests_upgrade_bactrian_backend_ho2_LDADD = $(backend_bactrian_backend_LDADD)
tests_upgrade_bactrian_backend_ho2_LDFLAGS = $(backend_bactrian_backend_LDFLAGS)
