/*
 * The server side of WAHA's security (DESIGN.md 2.9), shared by the
 * broker and the balancer's backend: their CURVE server key, the ZAP
 * handler polled in their own loop, --clients, --acl, SIGHUP reloads,
 * handshake failures from a socket monitor, and the check of each
 * message against the keys and rules.
 */
#ifndef WAHA_GUARD_H
#define WAHA_GUARD_H

struct guard_config {
	const char	*curve_secret;	/* own secret cert: CURVE server */
	const char	*clients;	/* directory of allowed public certs */
	const char	*acl;		/* rules file */
	const char	*who;		/* for log lines: "broker", "backend" */
};

/* The --curve-secret, --clients and --acl options, into guard_cf. */
extern struct guard_config guard_cf;
extern struct poptOption guard_options[];

#define GUARD_ITEMS	2	/* pollitems guard_items fills at most */

struct guard;

struct guard *guard_new(void *, const struct guard_config *, char **);
void	 guard_free(struct guard *);
int	 guard_on(const struct guard *);
int	 guard_curve(const struct guard *);
int	 guard_setup(struct guard *, void *, char **);
int	 guard_items(struct guard *, zmq_pollitem_t *);
void	 guard_events(struct guard *);
int	 guard_reload(struct guard *, char **);
void	 guard_sighup(struct guard *);
int	 guard_allows(struct guard *, struct waha_msg *, enum acl_action,
	    const char *, size_t);
uint64_t guard_refused(const struct guard *);
void	 guard_describe(const struct guard *, char *, size_t);

#endif
