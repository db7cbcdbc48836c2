/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One function per verb: argv[0] is the verb; each returns an exit code of output.h. */

int verb_list(int argc, char **argv);
int verb_show(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_monitor(int argc, char **argv);
int verb_acquire(int argc, char **argv);
int verb_release(int argc, char **argv);
int verb_revoke(int argc, char **argv);
int verb_bind(int argc, char **argv);
int verb_unbind(int argc, char **argv);
int verb_rescan(int argc, char **argv);
int verb_policy(int argc, char **argv);
