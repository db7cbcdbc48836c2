/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who may do what: the policy in force, and the subjects it is asked about. A subject is
 * resolved from what the kernel says about the peer (SO_PEERCRED, SO_PEERGROUPS, its pidfd),
 * never from anything the peer claims. */

#include "daemon-state.h"
#include "policy.h"
#include "varlink.h"

typedef struct access_subject {
        policy_subject s;
        /* Storage behind s. */
        char *user;
        gid_t *gids;
        char **group_names;
        char *unit;
} access_subject;

/* The peer of a connection: uid, primary and supplementary gids, their names, and the systemd
 * unit of its process (NULL when its pid cannot be trusted any more). needs: the
 * POLICY_NEEDS_* of the policy it will be checked against; what no rule reads stays unset. */
int access_subject_from_peer(const vl_peer *peer, unsigned needs, access_subject *ret);
/* A uid alone, for CheckPolicy: the groups its user database entry gives, no unit. */
int access_subject_from_uid(uid_t uid, access_subject *ret);
void access_subject_done(access_subject *s);

/* Loads the policy directory and puts it in force. On any error the policy in force stays,
 * the error is logged, and ret_error (optional) gets a malloc'd message. Returns the number
 * of rules or a negative errno. */
int access_reload(daemon_state *d, char **ret_error);
void access_done(daemon_state *d);

/* Whether s may take the device at address, and with it every device of its IOMMU group that
 * would come to the same owner (bridges the kernel tolerates in a viable group excepted), for
 * action; n_held: devices s holds already. -ENODEV when the model has no such device. */
int access_check_device(daemon_state *d, const policy_subject *s, const char *address,
                        policy_action a, unsigned n_held, policy_verdict *ret);

/* vl_interface.authorize for io.ioasid.Admin: root, or a subject a rule grants "admin". */
int access_authorize_admin(vl_link *link, const vl_method *method, void *userdata);
