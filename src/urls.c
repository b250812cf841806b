/*
 * Endpoint lists: the -u of every client and worker, "URL[,URL...]",
 * one broker each (DESIGN.md 2.10).  Each item is checked here, before
 * anything touches the network, so that a typo is a usage error naming
 * the item rather than a connection that never comes.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

/* Transports libzmq may offer, and whether their address ends in :PORT. */
static const struct {
	const char	*name;
	int		 port;
} transports[] = {
	{ "tcp", 1 }, { "ws", 1 }, { "wss", 1 }, { "udp", 1 },
	{ "ipc", 0 }, { "inproc", 0 }, { "tipc", 0 }, { "vmci", 0 },
	{ "pgm", 0 }, { "epgm", 0 }, { "norm", 0 }
};

/* Why url is not an endpoint a client can connect to, or NULL. */
static const char *
check(const char *url)
{
	const char	*sep, *addr, *colon, *p;
	size_t		 i, len;
	long		 port;

	for (p = url; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return ("blanks and control characters are not allowed");
	}
	if ((sep = strstr(url, "://")) == NULL)
		return ("not an endpoint (TRANSPORT://ADDRESS, e.g. "
		    WAHA_BROKER_URL ")");
	len = sep - url;
	addr = sep + 3;
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		if (strlen(transports[i].name) == len &&
		    strncmp(url, transports[i].name, len) == 0)
			break;
	}
	if (i == sizeof(transports) / sizeof(transports[0]))
		return ("unknown transport (tcp://, ipc://, inproc://...)");
	if (*addr == '\0')
		return ("no address after the transport");
	if (!transports[i].port)
		return (NULL);
	if ((colon = strrchr(addr, ':')) == NULL || colon == addr)
		return ("HOST:PORT expected after the transport");
	for (p = colon + 1, port = 0; *p != '\0' && *p != '/'; p++) {
		if (!isdigit((unsigned char)*p) || (port = port * 10 +
		    (*p - '0')) > 65535)
			return ("the port must be a number from 1 to 65535");
	}
	if (port == 0)
		return ("the port must be a number from 1 to 65535");
	return (NULL);
}

/*
 * Split list into its endpoints, each checked; no empty item, no item
 * twice, at most WAHA_MAX_BROKERS.  0, or -1 with a cause naming the
 * item.
 */
int
urls_parse(const char *list, struct urls *u, char **cause)
{
	const char	*p = list, *comma, *why;
	char		*item;
	unsigned	 i;

	memset(u, 0, sizeof(*u));
	for (;;) {
		comma = strchr(p, ',');
		item = comma != NULL ? xstrndup(p, comma - p) : xstrdup(p);
		if (*item == '\0')
			why = "empty endpoint in the list";
		else if ((why = check(item)) == NULL) {
			for (i = 0; i < u->n; i++) {
				if (strcmp(u->url[i], item) == 0)
					why = "appears twice in the list";
			}
		}
		if (why == NULL && u->n == WAHA_MAX_BROKERS)
			why = "more endpoints than " WAHA_MAX_BROKERS_STR;
		if (why != NULL) {
			if (*item == '\0')
				xasprintf(cause, "%s: %s", list, why);
			else
				xasprintf(cause, "%s: %s", item, why);
			free(item);
			urls_free(u);
			return (-1);
		}
		u->url = xreallocarray(u->url, u->n + 1, sizeof(*u->url));
		u->url[u->n++] = item;
		if (comma == NULL)
			return (0);
		p = comma + 1;
	}
}

/* Free the endpoints of u (not u itself). */
void
urls_free(struct urls *u)
{
	unsigned	 i;

	for (i = 0; i < u->n; i++)
		free(u->url[i]);
	free(u->url);
	u->url = NULL;
	u->n = 0;
}
