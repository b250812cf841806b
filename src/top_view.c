/*
 * waha-top's output: the same lines as a plain table (-b, or when
 * stdout is not a terminal) or on an ncurses screen that is redrawn
 * after each poll and takes keys to sort and to quit.
 */
#include "config.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "waha.h"
#include "top.h"

#define LINE_MAX_	512

static const char *const sort_names[] = {
	"rate", "queue", "errors", "latency", "name"
};

/* The name of a sort order, as the header shows it. */
const char *
top_view_sort_name(enum top_sort s)
{
	return (sort_names[s]);
}

/* v to prec decimals in a field of width, or a dash for NAN. */
static char *
fmt(char *buf, size_t len, double v, int prec)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v);
	return (buf);
}

/* The broker's line: who it is, how long it has run, its load. */
static void
header(struct top_env *top, char *buf, size_t len)
{
	char	 up[32], cpu[32];
	size_t	 o;

	if (top->doc == NULL) {
		snprintf(buf, len, "waha-top: %s", top->url);
		return;
	}
	stats_age(up, sizeof(up), stats_int(top->doc, "uptime_ms"));
	o = snprintf(buf, len, "waha-top: %s  broker %s pid %lld up %s",
	    top->url, json_string_value(json_object_get(top->doc, "version")),
	    (long long)stats_int(top->doc, "pid"), up);
	if (o < len && json_object_get(top->doc, "rss_bytes") != NULL)
		o += snprintf(buf + o, len - o, "  RSS %.1fM",
		    stats_int(top->doc, "rss_bytes") / 1048576.0);
	if (o < len)
		snprintf(buf + o, len - o, "  CPU %s%%", fmt(cpu, sizeof(cpu),
		    top->cpu, 0));
}

static void
totals(struct top_env *top, char *buf, size_t len)
{
	json_t	*t = json_object_get(top->doc, "totals");

	snprintf(buf, len, "%lld services, %lld workers, %lld queued, "
	    "%lld in flight, %lld requests, %llu errors; sorted by %s",
	    (long long)stats_int(top->doc, "services_known"),
	    (long long)stats_int(top->doc, "workers_known"),
	    (long long)stats_int(top->doc, "queued"),
	    (long long)stats_int(top->doc, "in_flight"),
	    (long long)stats_int(t, "requests"),
	    (unsigned long long)stats_errors(t), sort_names[top->sort]);
}

static const char services_title[] =
    "SERVICE                     WORKERS  CAP INFLT QUEUED OLDEST"
    "    REQ/S  ERR/S  ERRORS   P50ms   P99ms";
static const char workers_title[] =
    "WORKER       SERVICE                       CAP INFLT   SERVED"
    "  HEARD STATE";

static void
service_line(const struct top_service *s, char *buf, size_t len)
{
	char	 old[32], r[32], e[32], p50[32], p99[32], *name;

	name = codec_printable(s->name, strlen(s->name));
	if (s->queued > 0)
		stats_age(old, sizeof(old), s->oldest);
	else
		snprintf(old, sizeof(old), "-");
	snprintf(buf, len, "%-27s %7lld %4lld %5lld %6lld %6s %8s %6s %7llu "
	    "%7s %7s", name, (long long)s->workers, (long long)s->capacity,
	    (long long)s->in_flight, (long long)s->queued, old,
	    fmt(r, sizeof(r), s->rate, 1), fmt(e, sizeof(e), s->err_rate, 1),
	    (unsigned long long)s->errors, fmt(p50, sizeof(p50), s->p50, 2),
	    fmt(p99, sizeof(p99), s->p99, 2));
	free(name);
}

static void
worker_line(const struct top_worker *w, char *buf, size_t len)
{
	char	 heard[32], *svc, *id;

	svc = codec_printable(w->service, strlen(w->service));
	id = codec_printable(w->identity, strlen(w->identity));
	stats_age(heard, sizeof(heard), w->heard);
	snprintf(buf, len, "%-12s %-29s %3lld %5lld %8lld %6s %s", id, svc,
	    (long long)w->capacity, (long long)w->in_flight,
	    (long long)w->served, heard, w->state);
	free(svc);
	free(id);
}

/* One table of every service and worker, for -b. */
void
top_view_batch(struct top_env *top, FILE *f)
{
	char	 buf[LINE_MAX_];
	size_t	 i;

	header(top, buf, sizeof(buf));
	fprintf(f, "%s\n", buf);
	if (top->error != NULL) {
		fprintf(f, "broker: %s\n\n", top->error);
		return;
	}
	totals(top, buf, sizeof(buf));
	fprintf(f, "%s\n\n%s\n", buf, services_title);
	for (i = 0; i < top->nservices; i++) {
		service_line(&top->services[i], buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	fprintf(f, "\n%s\n", workers_title);
	for (i = 0; i < top->nworkers; i++) {
		worker_line(&top->workers[i], buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	fprintf(f, "\n");
	fflush(f);
}

static void
put(int y, int attr, const char *s)
{
	if (y >= LINES)
		return;
	attrset(attr);
	mvaddnstr(y, 0, s, COLS);
	attrset(A_NORMAL);
}

static void
help(void)
{
	static const char *const lines[] = {
		"waha-top: keys",
		"",
		"  r   sort services by request rate (the default)",
		"  w   sort by requests waiting: queued, then oldest",
		"  e   sort by errors per second",
		"  l   sort by p99 latency",
		"  n   sort by name",
		"  h ? this help; any key goes back",
		"  q   quit",
		"",
		"Rates are over the last interval; p50 and p99 over the last",
		"10 to 20 s; a worker not heard from for two heartbeats is",
		"marked silent.",
		NULL
	};
	int	 i;

	erase();
	for (i = 0; lines[i] != NULL; i++)
		put(i, i == 0 ? A_BOLD : A_NORMAL, lines[i]);
	refresh();
}

static void
draw(struct top_env *top)
{
	char	 buf[LINE_MAX_], now[16];
	time_t	 t = time(NULL);
	size_t	 i;
	int	 y = 3;

	erase();
	header(top, buf, sizeof(buf));
	put(0, A_BOLD, buf);
	strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
	if (COLS > 10)
		mvaddstr(0, COLS - 9, now);
	if (top->error != NULL) {
		snprintf(buf, sizeof(buf), "broker: %s", top->error);
		put(1, A_BOLD, buf);
	} else {
		totals(top, buf, sizeof(buf));
		put(1, A_NORMAL, buf);
	}
	put(y++, A_REVERSE, services_title);
	for (i = 0; i < top->nservices; i++) {
		service_line(&top->services[i], buf, sizeof(buf));
		put(y++, top->services[i].workers == 0 ? A_BOLD : A_NORMAL,
		    buf);
	}
	y++;
	put(y++, A_REVERSE, workers_title);
	for (i = 0; i < top->nworkers; i++) {
		worker_line(&top->workers[i], buf, sizeof(buf));
		put(y++, strcmp(top->workers[i].state, "silent") == 0 ?
		    A_BOLD | A_STANDOUT : A_NORMAL, buf);
	}
	put(LINES - 1, A_NORMAL, "r w e l n: sort   h: help   q: quit");
	refresh();
}

/* A key: 1 to quit, 0 otherwise; sorting keys redraw at once. */
static int
key(struct top_env *top, int c, int *helping)
{
	static const char keys[] = "rweln";
	const char	*k;

	if (c == ERR)
		return (0);
	if (*helping) {
		*helping = 0;
		draw(top);
		return (c == 'q');
	}
	if (c == 'q')
		return (1);
	if (c == 'h' || c == '?') {
		*helping = 1;
		help();
	} else if ((k = strchr(keys, c)) != NULL) {
		top->sort = k - keys;
		top_poll_sort(top);
		draw(top);
	} else if (c == KEY_RESIZE)
		draw(top);
	return (0);
}

/* The screen: poll, draw, take keys until the next poll; 0 at q. */
int
top_view_run(struct top_env *top)
{
	int64_t	 next, now;
	int	 n = 0, helping = 0, quit = 0;

	initscr();
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	while (!quit && (top->iterations == 0 || n < top->iterations)) {
		next = util_now_ms() + top->interval;
		top_poll(top);
		n++;
		if (!helping)
			draw(top);
		while (!quit && (now = util_now_ms()) < next) {
			timeout((int)(next - now));
			quit = key(top, getch(), &helping);
		}
	}
	endwin();
	return (0);
}
