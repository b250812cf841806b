/*
 * waha-broker: the state shared by its main loop and its mmi. services.
 */
#ifndef WAHA_BROKER_H
#define WAHA_BROKER_H

/* Kinds of client request, as stored in pool_req.kind. */
#define BROKER_NATIVE	0
#define BROKER_MDP	1

/* Replies held for one write to their clients (broker_flush). */
#define BROKER_OUTBOX	256

struct broker_env {
	void		*ctx;
	void		*sock;		/* the one ROUTER socket */
	struct pool	*pool;
	struct pool_config cf;
	struct guard	*guard;		/* CURVE, --clients, --acl */
	const char	*url;
	char		 bound[256];	/* the endpoint actually bound */
	int		 max_frames;
	int		 max_msg_size;
	int		 grace;		/* ms */
	int64_t		 started;	/* ms */
	uint64_t	 bad_requests;	/* malformed client messages */
	uint64_t	 mmi_requests;
	uint64_t	 commands;	/* WAHA01 cancel= and credit= */
	uint64_t	 refused;	/* client requests refused (403) */
	struct pool_counters mdp;	/* MDP requests dropped, by status */
	int64_t		 mdp_log_at;	/* ms: when the next line may be logged */
	const char	*cur_name;	/* service of the request being submitted */
	size_t		 cur_len;
	struct waha_msg	 in;
	struct waha_msg	 out;
	struct waha_msg	 outbox[BROKER_OUTBOX];
	size_t		 nout;
};

/* broker.c */
void	 broker_flush(struct broker_env *);
void	 broker_send(struct broker_env *, struct waha_msg *);
void	 broker_reply(struct broker_env *, struct waha_msg *, size_t, int,
	    int, const char *);
void	 broker_mdp_dropped(struct broker_env *, int, const char *, int,
	    const char *);

/* broker_mmi.c */
void	 broker_mmi(struct broker_env *, struct waha_msg *,
	    const struct proto_in *);
char	*broker_mmi_stats(struct broker_env *);

#endif
