/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's side of sysfs writes, for generated trees only (--fake-kernel): on a real sysfs a
 * write to drivers_probe or a driver's unbind makes the kernel act before the write returns; on a
 * generated tree a program (the tree's generator) is run to do what the kernel would, sending
 * the uevents the kernel would send. Everything else is written as it is. */

/* A managed_write_fn; userdata is the program, run with the action and its arguments
 * ("unbind ADDR", "bind ADDR DRIVER", "probe ADDR"); it must exit 0. */
int fake_kernel_write(int root_fd, const char *path, const char *value, void *userdata);
