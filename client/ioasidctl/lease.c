/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor, acquire, release, revoke: the verbs that follow or hold leases. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ioasid-internal.h"
#include "macro.h"
#include "output.h"
#include "verbs.h"

static volatile sig_atomic_t stop;
static sigset_t wait_mask; /* the mask to wait with: SIGINT and SIGTERM let through */

static void on_signal(int sig)
{
        stop = 1;
}

/* SIGINT and SIGTERM end the waits of monitor and acquire --hold cleanly. They stay blocked
 * except while waiting (ppoll, sigsuspend), so that one arriving just before a wait is not lost,
 * and one arriving during an Acquire lets it finish and be released. */
static void catch_stop_signals(void)
{
        struct sigaction sa = { .sa_handler = on_signal };
        sigset_t stop_set;

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigemptyset(&stop_set);
        sigaddset(&stop_set, SIGINT);
        sigaddset(&stop_set, SIGTERM);
        sigprocmask(SIG_BLOCK, &stop_set, &wait_mask);
        sigdelset(&wait_mask, SIGINT);
        sigdelset(&wait_mask, SIGTERM);
}

static void print_event(const ioasid_event *e)
{
        const char *kind = ioasid_event_kind(e);
        char when[16] = "";
        struct tm tm;
        time_t now = time(NULL);

        if (arg.json != JSON_OFF) {
                json_print(ioasid_event_json_object(e));
                return;
        }
        if (localtime_r(&now, &tm))
                strftime(when, sizeof(when), "%H:%M:%S", &tm);
        printf("%s %s%s%s", when, colour_on(ANSI_BOLD), kind, colour_off());
        if (ioasid_event_address(e))
                printf(" %s", ioasid_event_address(e));
        if (ioasid_event_group(e) >= 0)
                printf(" group %d", ioasid_event_group(e));
        if (ioasid_event_previous_driver(e) || ioasid_event_driver(e))
                printf(" driver %s -> %s", ioasid_event_previous_driver(e) ?: "none",
                       ioasid_event_driver(e) ?: "none");
        if (ioasid_event_viable(e) >= 0)
                printf(" %s%s%s", colour_on(ioasid_event_viable(e) ? ANSI_GREEN : ANSI_RED),
                       ioasid_event_viable(e) ? "viable" : "not viable", colour_off());
        if (ioasid_event_lease(e))
                printf(" lease %s", ioasid_event_lease(e));
        putchar('\n');
        for (size_t i = 0; i < ioasid_event_n_reasons(e); i++)
                printf("         - %s\n", ioasid_event_reason(e, i));
        fflush(stdout);
}

int verb_monitor(int argc, char **argv)
{
        _cleanup_(ioasid_monitor_freep) ioasid_monitor *m = NULL;
        int r;

        catch_stop_signals();
        r = ioasid_monitor_new(arg.socket, &m);
        if (r < 0) {
                fprintf(stderr, "ioasidctl: cannot reach the broker: %s\n", strerror(-r));
                return EXIT_UNREACHABLE;
        }
        while (!stop) {
                struct pollfd p = { .fd = ioasid_monitor_get_fd(m), .events = POLLIN };

                if (ppoll(&p, 1, NULL, &wait_mask) < 0) {
                        if (errno == EINTR)
                                continue;
                        return EXIT_FAILED;
                }
                for (;;) {
                        _cleanup_(ioasid_event_freep) ioasid_event *e = NULL;

                        r = ioasid_monitor_process(m, &e);
                        if (r == 0)
                                break;
                        if (r < 0) {
                                fprintf(stderr, "ioasidctl: the broker ended the monitor: %s\n",
                                        strerror(-r));
                                return EXIT_UNREACHABLE;
                        }
                        print_event(e);
                }
        }
        return EXIT_OK;
}

static void print_lease(const ioasid_lease *l)
{
        if (arg.json != JSON_OFF) {
                json_print(ioasid_lease_json(l));
                return;
        }
        printf("Lease %s (backend %s)\n", ioasid_lease_id(l), ioasid_lease_backend(l));
        for (size_t i = 0; i < ioasid_lease_n_grants(l); i++)
                printf("  %s group %d%s%s\n", ioasid_lease_grant_address(l, i),
                       ioasid_lease_grant_group(l, i), ioasid_lease_grant_path(l, i) ? " " : "",
                       ioasid_lease_grant_path(l, i) ?: "");
        fflush(stdout);
}

int verb_acquire(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        _cleanup_(ioasid_acquire_options_freep) ioasid_acquire_options *o = NULL;
        _cleanup_(ioasid_lease_freep) ioasid_lease *l = NULL;
        char id[128];
        int r, code;

        if (ioasid_acquire_options_new(&o) < 0)
                return EXIT_FAILED;
        for (int i = 1; i < argc; i++)
                if (ioasid_acquire_options_add_device(o, argv[i]) < 0)
                        return EXIT_FAILED;
        if (arg.managed)
                ioasid_acquire_options_set_managed(o, true);
        if (arg.path_mode)
                ioasid_acquire_options_set_path_mode(o, true);
        if (ctl_connect(&c, &code) < 0)
                return code;
        catch_stop_signals();
        r = ioasid_acquire(c, o, &l);
        if (r < 0)
                return ctl_fail(c, r, "Acquire");
        print_lease(l);
        if (arg.hold) {
                if (arg.json == JSON_OFF)
                        fprintf(stderr, "Holding the lease; Ctrl-C releases it.\n");
                while (!stop)
                        sigsuspend(&wait_mask);
        }
        /* The fds go first, as a VMM's would: putting a managed device back on its driver
         * unbinds vfio-pci, which waits until every fd of the device is closed, and the
         * Release returns only once that is done. */
        snprintf(id, sizeof(id), "%s", ioasid_lease_id(l));
        l = ioasid_lease_free(l);
        r = ioasid_release(c, id);
        /* A revoke (or a release from elsewhere) may have ended it first: that is fine. */
        if (r < 0 && r != -ENOENT)
                return ctl_fail(c, r, "Release");
        return EXIT_OK;
}

static int lease_call(int (*call)(ioasid *c, const char *lease), const char *lease,
                      const char *what)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        r = call(c, lease);
        return r < 0 ? ctl_fail(c, r, what) : EXIT_OK;
}

int verb_release(int argc, char **argv)
{
        return lease_call(ioasid_release, argv[1], "Release");
}

int verb_revoke(int argc, char **argv)
{
        return lease_call(ioasid_revoke, argv[1], "Revoke");
}
