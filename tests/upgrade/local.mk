# SPDX-License-Identifier: BSD-2-Clause
# Backends built for the tests only, each the daemon's objects with one weak
# hand-off function replaced:
# - bactrian-backend-ho2 (be_upgrade.py): its workers speak a hand-off wire
#   version not ours, to upgrade a real one into;
# - bactrian-backend-hoans (ws_handoff.py): a new worker that answers 'R' or
#   nothing at all, for the old worker's paths on those answers.
check_PROGRAMS += tests/upgrade/bactrian-backend-ho2
tests_upgrade_bactrian_backend_ho2_SOURCES = backend/main.c tests/upgrade/ho_version.c
tests_upgrade_bactrian_backend_ho2_LDADD = $(backend_bactrian_backend_LDADD)
tests_upgrade_bactrian_backend_ho2_LDFLAGS = $(backend_bactrian_backend_LDFLAGS)
check_PROGRAMS += tests/upgrade/bactrian-backend-hoans
tests_upgrade_bactrian_backend_hoans_SOURCES = backend/main.c tests/upgrade/ho_answer.c
tests_upgrade_bactrian_backend_hoans_LDADD = $(backend_bactrian_backend_LDADD)
tests_upgrade_bactrian_backend_hoans_LDFLAGS = $(backend_bactrian_backend_LDFLAGS)
