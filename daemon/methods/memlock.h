/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Acquire's lockedMemory: the holder's RLIMIT_MEMLOCK raised, soft and hard, to what the
 * caller asked, within the maximum the policy grants it. A VMM maps all guest RAM into the
 * IOMMU, which pins it and charges it to the VMM's own limit (iommufd with per-process
 * accounting, and the legacy type1 container alike); an ordinary user's limit is far too low
 * for any guest and only a privileged process can raise its hard limit. */

#include <stdint.h>
#include <sys/types.h>

#include "daemon-state.h"
#include "policy.h"
#include "varlink.h"

/* bytes 0: nothing to do. s: the caller as policy sees it, NULL for uid 0. pidfd and pid: the
 * holder (the pid is only trusted while the pidfd says the process is alive: checked after the
 * change, which is undone if it died meanwhile). A limit is only ever raised. Returns 0 when
 * done, 1 when it refused and replied on link (PermissionDenied naming the maximum), or a
 * negative errno. */
int memlock_raise(vl_link *link, daemon_state *m, const policy_subject *s, int pidfd, pid_t pid,
                  uint64_t bytes);
