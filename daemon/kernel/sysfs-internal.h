/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between reading attributes (sysfs.c) and walking directories (sysfs-walk.c). */

#include <dirent.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)

#define DEVICES_DIR "bus/pci/devices"
#define GROUPS_DIR  "kernel/iommu_groups"

/* A copy of an untrusted name that is safe to put in a log line. */
const char *sysfs_escape(const char *s, char buf[static 48]);
