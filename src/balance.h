/*
 * waha-proxy-balance: the state shared by its main loop (balance.c) and
 * its upstream side (balance_up.c).
 */
#ifndef WAHA_BALANCE_H
#define WAHA_BALANCE_H

/*
 * Default capacity announced upstream: large enough that the pool behind
 * the balancer, not this number, limits how much it serves; what the
 * pool cannot take at once waits in the balancer's own queue, in order
 * and with its timeout, exactly as it would have in the broker's.
 */
#define BALANCE_CAPACITY	1024

/* Messages handled before the timers get another look. */
#define BALANCE_BATCH		1024

/*
 * One registration with the broker.  A withdrawn one is kept until the
 * requests it brought are answered (or the broker has surely given up on
 * it), so that their replies leave on the socket the broker knows.
 */
struct balance_up {
	struct worker_session	*ws;
	int			 gen;		/* pool_req.kind of its requests */
	unsigned		 inflight;
	int64_t			 retired;	/* ms; 0 while registered */
	TAILQ_ENTRY(balance_up)	 link;
};
TAILQ_HEAD(balance_ups, balance_up);

struct balance_env {
	void		*ctx;
	void		*back;		/* ROUTER facing the backend workers */
	struct pool	*pool;
	struct pool_config cf;
	struct worker_config wcf;	/* upstream: url, service, capacity */
	struct guard	*guard;		/* the backend's CURVE, keys, rules */
	struct curve_cert up_own;	/* upstream CURVE, if has_secret */
	struct curve_cert up_server;
	const char	*bind;
	char		 bound[256];	/* the backend endpoint actually bound */
	int		 max_frames;
	int		 max_msg_size;
	int		 grace;		/* ms */
	struct balance_up *cur;		/* the registration, NULL if withdrawn */
	struct balance_ups retired;	/* withdrawn, finishing their requests */
	unsigned	 nretired;
	int		 next_gen;
	unsigned	 nbrokers;	/* in the -u list: sockets a session has */
	int64_t		 register_at;	/* ms: retry a failed registration */
	uint64_t	 strangers;	/* backend messages not from workers */
	struct waha_msg	 in;
	struct waha_msg	 out;
	struct waha_msg	 body;
	zmq_msg_t	 token;
};

/* balance_up.c */
void	 balance_up_sync(struct balance_env *);
void	 balance_up_recv(struct balance_env *);
int	 balance_up_timeout(struct balance_env *, int64_t);
void	 balance_up_tick(struct balance_env *, int64_t);
void	 balance_up_reply(void *, struct pool_req *, int, struct waha_msg *,
	    size_t, const char *);
int	 balance_up_partial(void *, struct pool_req *, struct waha_msg *,
	    size_t);
int	 balance_up_sockets(struct balance_env *, zmq_pollitem_t *);
void	 balance_up_free(struct balance_env *);

#endif
