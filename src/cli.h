/*
 * waha-cli: the console client's options and its input and output codecs.
 */
#ifndef WAHA_CLI_H
#define WAHA_CLI_H

/* Exit statuses, documented in waha-cli(1). */
#define CLI_EXIT_OK		0
#define CLI_EXIT_USAGE		1	/* bad options or bad input */
#define CLI_EXIT_CONNECT	2	/* cannot connect, broker lost, malformed
					   reply */
#define CLI_EXIT_TIMEOUT	3
#define CLI_EXIT_4XX		4
#define CLI_EXIT_5XX		5
#define CLI_EXIT_AUTH		6	/* key refused, or wrong server key */
#define CLI_EXIT_INTERRUPTED	130	/* SIGINT or SIGTERM: cancelled */

/* The monitor of the broker connection; a handshake means connected. */
#define CLI_MONITOR		"inproc://waha-cli.monitor"
#ifdef ZMQ_EVENT_HANDSHAKE_SUCCEEDED
#define CLI_EVENT_CONNECTED	ZMQ_EVENT_HANDSHAKE_SUCCEEDED
#else
#define CLI_EVENT_CONNECTED	ZMQ_EVENT_CONNECTED	/* libzmq < 4.3 */
#endif

/* With several brokers: ms to wait for each connection, ZMTP heartbeats. */
#define CLI_CONNECT_WAIT	1000
#define CLI_HEARTBEAT		1000
#define CLI_HEARTBEAT_TIMEOUT	3000

/* The connection to one broker. */
struct cli_conn {
	void		*ctx;
	void		*sock;
	void		*mon;		/* NULL if it cannot be watched */
	const char	*url;
	int		 up;		/* connected */
	int		 refused;	/* a connection attempt failed */
	int		 lost;		/* connected, then disconnected */
	struct curve_event fail;	/* a failed CURVE handshake */
};

enum cli_input { CLI_IN_ARGS, CLI_IN_PLAIN, CLI_IN_DELIMITED, CLI_IN_JSON };
enum cli_output { CLI_OUT_EMPTY, CLI_OUT_PLAIN, CLI_OUT_DELIMITED,
	CLI_OUT_JSON };
enum cli_codec { CLI_PLAIN, CLI_BASE64, CLI_HEX };

struct cli_env {
	const char	*name;
	struct urls	 urls;		/* of -u */
	int		 timeout;	/* ms, -1 none */
	enum cli_input	 input;
	enum cli_output	 output;
	enum cli_codec	 decode;	/* of input fields */
	enum cli_codec	 encode;	/* of output fields */
	char		 in_sep;
	char		 out_sep;
	int		 pretty;
	const char	*curve_server;	/* the broker's public cert */
	const char	*curve_secret;	/* our own secret cert */
	int		 stream;	/* --stream: stream=1, partials */
	long long	 window;	/* --window: the opening window, or 0 */
};

/* cli_io.c */
int	 cli_io_parse_sep(const char *, char *);
int	 cli_io_read(struct cli_env *, const char **, struct waha_msg *,
	    char **);
int	 cli_io_write(struct cli_env *, struct waha_msg *, size_t, FILE *);

/* cli.c */
void	 cli_say(const char *, ...) WAHA_ATTR_PRINTF(1, 2);
void	 cli_monitor(struct cli_conn *);
int	 cli_output(struct cli_env *, struct waha_msg *, int, size_t);

/* cli_stream.c */
int	 cli_stream_recv(struct cli_env *, struct cli_conn *, int64_t);
void	 cli_cancel(void *);

#endif
