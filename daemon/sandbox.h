/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the daemon gives up once it is initialised: every capability but the few it uses (from
 * the bounding set too, so no later exec could get them back), and every system call but those
 * it and its workers make (a libseccomp allowlist; workers are forked and inherit it).
 *
 * IOASID_SECCOMP=log in the environment logs a call outside the allowlist (the kernel's audit
 * log, "journalctl -k") instead of killing the daemon: for finding what the list misses. */

#include <stdbool.h>

typedef enum sandbox_action {
        SANDBOX_KILL, /* a call outside the allowlist kills the process */
        SANDBOX_LOG,  /* it is logged and allowed */
} sandbox_action;

typedef struct sandbox_config {
        sandbox_action action;
} sandbox_config;

/* IOASID_SECCOMP: unset or "kill", or "log"; -EINVAL for anything else. */
int sandbox_action_from_env(sandbox_action *ret);

int sandbox_drop_capabilities(void);
int sandbox_install_seccomp(const sandbox_config *config);

/* Both, from the environment: what main() calls after initialisation. Logs its errors. With
 * --fake-kernel (tests on a generated sysfs) the daemon runs the tests' programs, which play the
 * kernel and would inherit both: neither is applied. */
int sandbox_apply(bool fake_kernel);
