/*
 * One logging API for every program: stderr with a level tag by default,
 * syslog(LOG_DAEMON) with --syslog.  Modelled on OpenSMTPD's log.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "waha.h"

static int		 log_tosyslog;
static int		 log_level;
static const char	*log_name = "waha";

static void	vlog(int, const char *, const char *, va_list)
		    WAHA_ATTR_PRINTF(3, 0);
static void	vlog_err(int, int, const char *, va_list)
		    WAHA_ATTR_PRINTF(3, 0);

/* Choose the destination (stderr or syslog) and the verbosity. */
void
log_init(int tosyslog, int verbosity, const char *name)
{
	log_tosyslog = tosyslog;
	log_level = verbosity;
	if (name != NULL)
		log_name = name;
	if (log_tosyslog)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

/* Return the verbosity: 0 normal, 1 with -v, 2 with -vv. */
int
log_verbose(void)
{
	return (log_level);
}

static void
vlog(int pri, const char *tag, const char *fmt, va_list ap)
{
	int	 saved_errno = errno;

	if (log_tosyslog)
		vsyslog(pri, fmt, ap);
	else {
		fprintf(stderr, "%s: %s", log_name, tag);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	}
	errno = saved_errno;
}

static void
vlog_err(int pri, int with_errno, const char *fmt, va_list ap)
{
	char	 buf[1024];
	int	 saved_errno = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno)
		log_x(pri, "%s: %s", buf, strerror(saved_errno));
	else
		log_x(pri, "%s", buf);
	errno = saved_errno;
}

/* Log a message at a syslog priority, with the tag for stderr. */
void
log_x(int pri, const char *fmt, ...)
{
	va_list		 ap;
	const char	*tag;

	switch (pri) {
	case LOG_CRIT:
		tag = "fatal: ";
		break;
	case LOG_WARNING:
		tag = "warning: ";
		break;
	case LOG_INFO:
		tag = "";
		break;
	default:
		tag = "debug: ";
		break;
	}
	va_start(ap, fmt);
	vlog(pri, tag, fmt, ap);
	va_end(ap);
}

/* Log a warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_err(LOG_WARNING, 1, fmt, ap);
	va_end(ap);
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_err(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

/* Log startup, shutdown and other events an operator wants to see. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_err(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

/* Log a line per request and other detail; shown with -v. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog_err(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* Log per-message tracing; shown with -vv. */
void
log_trace(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	vlog_err(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* Log an error with strerror(errno) and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_err(LOG_CRIT, errno != 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log an error and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_err(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
