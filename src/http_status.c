/*
 * GET /status: the broker's mmi.stats as one HTML page for a person,
 * with a chart of each service's request rate and latency over the last
 * minutes, from the ring of http_samples.c; the tables come from the
 * document fetched for the request.  The page has no script and loads
 * nothing: it reloads itself with a meta refresh, and every name in it
 * comes from a peer and is escaped.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "waha.h"
#include "http.h"

#define CHART_W		300	/* the viewBox of a chart */
#define CHART_H		40
#define CHART_SHOW_W	200	/* its size on the page, in px */
#define CHART_SHOW_H	32

/* Append s, escaped for HTML text and attribute values. */
static void
esc(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				evbuffer_add(b, "\xef\xbf\xbd", 3);
			else
				evbuffer_add(b, s, 1);
			break;
		}
	}
}

/* A cell with v to prec decimals, or a dash for NAN. */
static void
td_num(struct evbuffer *b, double v, int prec)
{
	evbuffer_add(b, "<td>", 4);
	if (isnan(v))
		evbuffer_add(b, "&ndash;", 7);
	else
		evbuffer_add_printf(b, "%.*f", prec, v);
	evbuffer_add(b, "</td>", 5);
}

/* The largest value of field (an offset in a point) of n points. */
static double
window_max(const struct http_point *pt, size_t n, size_t field)
{
	double	 max = 0, v;
	size_t	 i;

	for (i = 0; i < n; i++) {
		v = *(const float *)((const char *)&pt[i] + field);
		if (!isnan(v) && v > max)
			max = v;
	}
	return (max);
}

/*
 * One line of a chart: field of n points scaled to max, the last at the
 * right edge, cut where there is no value.
 */
static void
line(struct evbuffer *b, const struct http_point *pt, size_t n,
    size_t field, double max, const char *cls)
{
	double	 v;
	size_t	 i;
	int	 pen = 0;

	evbuffer_add_printf(b, "<path class=\"%s\" d=\"", cls);
	for (i = 0; i < n; i++) {
		v = *(const float *)((const char *)&pt[i] + field);
		if (isnan(v)) {
			pen = 0;
			continue;
		}
		evbuffer_add_printf(b, "%c%d %d", pen ? 'L' : 'M',
		    (int)((HTTP_STATUS_SAMPLES - n + i) * CHART_W /
		    (HTTP_STATUS_SAMPLES - 1)),
		    (int)(CHART_H - 1 - (max > 0 ? v / max : 0) *
		    (CHART_H - 2)));
		pen = 1;
	}
	evbuffer_add(b, "\"/>", 3);
}

/* The chart cell of n points: the rate and p99 over the window. */
static void
chart(struct evbuffer *b, const struct http_point *pt, size_t n, int interval)
{
	double	 rmax, lmax;

	if (n < 2) {
		evbuffer_add_printf(b, "<td class=\"chart\">&ndash;</td>");
		return;
	}
	rmax = window_max(pt, n, offsetof(struct http_point, rate));
	lmax = window_max(pt, n, offsetof(struct http_point, p99));
	evbuffer_add_printf(b, "<td class=\"chart\"><svg viewBox=\"0 0 %d %d\""
	    " width=\"%d\" height=\"%d\" preserveAspectRatio=\"none\" "
	    "role=\"img\"><title>", CHART_W, CHART_H, CHART_SHOW_W,
	    CHART_SHOW_H);
	evbuffer_add_printf(b, "requests/s (max %.1f) and p99 latency "
	    "(max %.1f ms) over the last %.0f s</title>", rmax, lmax,
	    (double)interval * (n - 1) / 1000);
	line(b, pt, n, offsetof(struct http_point, rate), rmax, "rate");
	line(b, pt, n, offsetof(struct http_point, p99), lmax, "lat");
	evbuffer_add_printf(b, "</svg><span class=\"max\"><b class=\"rate\">"
	    "%.1f/s</b> <b class=\"lat\">%.1f ms</b></span></td>", rmax, lmax);
}

static void
errors_cell(struct evbuffer *b, json_t *errors)
{
	const char	*k;
	json_t		*v;
	int		 any = 0;

	evbuffer_add(b, "<td class=\"err\">", 16);
	json_object_foreach(errors, k, v) {
		evbuffer_add_printf(b, "%s", any++ ? "<br>" : "");
		esc(b, k);
		evbuffer_add_printf(b, ": %lld", (long long)json_integer_value(v));
	}
	if (!any)
		evbuffer_add(b, "0", 1);
	evbuffer_add(b, "</td>", 5);
}

/* One row of the services table; the rate is that of the last sample. */
static void
service_row(struct evbuffer *b, struct http_env *env, const char *name,
    json_t *s)
{
	struct http_point	 pt[HTTP_STATUS_SAMPLES];
	char			 age[32];
	size_t			 n;

	n = http_samples_window(env->samples, name, pt);
	stats_age(age, sizeof(age), stats_int(s, "oldest_queued_ms"));
	evbuffer_add_printf(b, "<tr%s><th scope=\"row\">",
	    stats_int(s, "workers") == 0 ? " class=\"bad\"" :
	    stats_int(s, "queued") > 0 ? " class=\"warn\"" : "");
	esc(b, name);
	evbuffer_add_printf(b, "</th><td>%lld</td><td>%lld</td><td>%lld</td>"
	    "<td>%lld</td><td>%s</td>", (long long)stats_int(s, "workers"),
	    (long long)stats_int(s, "capacity"),
	    (long long)stats_int(s, "in_flight"),
	    (long long)stats_int(s, "queued"),
	    stats_int(s, "queued") > 0 ? age : "&ndash;");
	td_num(b, n > 0 ? pt[n - 1].rate : NAN, 1);
	evbuffer_add_printf(b, "<td>%lld</td>",
	    (long long)stats_int(s, "requests"));
	errors_cell(b, json_object_get(s, "errors"));
	td_num(b, stats_recent(s, "p50"), 2);
	td_num(b, stats_recent(s, "p99"), 2);
	chart(b, pt, n, env->status_interval);
	evbuffer_add(b, "</tr>\n", 6);
}

static void
services_table(struct evbuffer *b, struct http_env *env, json_t *all)
{
	const char	*name;
	json_t		*s;

	evbuffer_add_printf(b, "<h3>Services</h3>\n<table><thead><tr>"
	    "<th>service</th><th>workers</th><th>capacity</th>"
	    "<th>in flight</th><th>queued</th><th>oldest queued</th>"
	    "<th>req/s</th><th>requests</th><th>errors</th>"
	    "<th>p50 ms</th><th>p99 ms</th><th>last %d min: "
	    "<b class=\"rate\">req/s</b>, <b class=\"lat\">p99</b></th>"
	    "</tr></thead>\n<tbody>\n",
	    (int)((double)env->status_interval * HTTP_STATUS_SAMPLES / 60000 +
	    0.5));
	json_object_foreach(all, name, s)
		service_row(b, env, name, s);
	if (json_object_size(all) == 0)
		evbuffer_add(b, "<tr><td colspan=\"12\">no services</td></tr>\n",
		    44);
	evbuffer_add(b, "</tbody></table>\n", 17);
}

static int
by_worker(const void *a, const void *b)
{
	json_t *const	*wa = a, *const *wb = b;
	int		 c;

	c = strcmp(json_string_value(json_object_get(*wa, "service")),
	    json_string_value(json_object_get(*wb, "service")));
	return (c != 0 ? c : strcmp(json_string_value(json_object_get(*wa,
	    "identity")), json_string_value(json_object_get(*wb,
	    "identity"))));
}

static void
worker_row(struct evbuffer *b, json_t *w, int64_t heartbeat)
{
	const char	*state = "live", *cls = "";
	char		 age[32];
	int64_t		 ms = stats_int(w, "last_heartbeat_ms");

	if (json_is_true(json_object_get(w, "leaving")))
		state = "leaving", cls = " class=\"warn\"";
	if (heartbeat > 0 && ms > 2 * heartbeat)
		state = "silent", cls = " class=\"bad\"";
	stats_age(age, sizeof(age), ms);
	evbuffer_add_printf(b, "<tr%s><td>", cls);
	esc(b, json_string_value(json_object_get(w, "service")));
	evbuffer_add(b, "</td><td class=\"id\"><code>", 26);
	esc(b, json_string_value(json_object_get(w, "identity")));
	evbuffer_add_printf(b, "</code></td><td>%lld</td><td>%lld</td>"
	    "<td>%lld</td><td>%s</td><td>%s</td></tr>\n",
	    (long long)stats_int(w, "capacity"), (long long)stats_int(w, "in_flight"),
	    (long long)stats_int(w, "served"), age, state);
}

static void
workers_table(struct evbuffer *b, json_t *all, int64_t heartbeat)
{
	json_t	**v;
	size_t	 n = 0, i;

	evbuffer_add_printf(b, "<h3>Workers</h3>\n<table><thead><tr>"
	    "<th>service</th><th>identity</th><th>capacity</th>"
	    "<th>in flight</th><th>served</th><th>last heard</th>"
	    "<th>state</th></tr></thead>\n<tbody>\n");
	v = xreallocarray(NULL, json_array_size(all) + 1, sizeof(*v));
	for (i = 0; i < json_array_size(all); i++) {
		if (json_is_string(json_object_get(json_array_get(all, i),
		    "service")) && json_is_string(json_object_get(
		    json_array_get(all, i), "identity")))
			v[n++] = json_array_get(all, i);
	}
	qsort(v, n, sizeof(*v), by_worker);
	for (i = 0; i < n; i++)
		worker_row(b, v[i], heartbeat);
	if (n == 0)
		evbuffer_add(b, "<tr><td colspan=\"7\">no workers</td></tr>\n",
		    41);
	free(v);
	evbuffer_add(b, "</tbody></table>\n", 17);
}

/* The broker's own line: version, uptime, memory, CPU, totals. */
static void
summary(struct evbuffer *b, struct http_env *env, json_t *doc)
{
	json_t	*t = json_object_get(doc, "totals");
	char	 up[32];
	double	 cpu = http_samples_cpu(env->samples);

	stats_age(up, sizeof(up), stats_int(doc, "uptime_ms"));
	evbuffer_add(b, "<p class=\"sum\">version ", 23);
	esc(b, json_string_value(json_object_get(doc, "version")));
	evbuffer_add_printf(b, ", pid %lld, up %s", (long long)stats_int(doc, "pid"),
	    up);
	if (json_object_get(doc, "rss_bytes") != NULL)
		evbuffer_add_printf(b, ", RSS %.1f MiB",
		    stats_int(doc, "rss_bytes") / 1048576.0);
	if (!isnan(cpu))
		evbuffer_add_printf(b, ", CPU %.0f%%", cpu);
	evbuffer_add_printf(b, "<br>%lld services, %lld workers, %lld queued, "
	    "%lld in flight, %lld requests, %lld replies, %llu errors%s</p>\n",
	    (long long)stats_int(doc, "services_known"),
	    (long long)stats_int(doc, "workers_known"), (long long)stats_int(doc, "queued"),
	    (long long)stats_int(doc, "in_flight"), (long long)stats_int(t, "requests"),
	    (long long)stats_int(t, "replies"), (unsigned long long)stats_errors(t),
	    json_is_true(json_object_get(doc, "draining")) ?
	    ", <b>shutting down</b>" : "");
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
    "h1{font-size:1.4em;margin:0}h2{font-size:1.2em}h3{font-size:1em}"
    "table{border-collapse:collapse;margin-bottom:1em}"
    "th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right;"
    "vertical-align:top}"
    "th:first-child,td:first-child,td.err,tbody th{text-align:left}"
    "thead th{background:#f2f2f2}tr.warn{background:#fff6d6}"
    "tr.bad{background:#fde0e0}code{font-size:.95em}"
    "td.chart{padding:1px 4px;white-space:nowrap;text-align:left}"
    "td.id{text-align:left}"
    "svg{background:#fafafa;"
    "border:1px solid #e4e4e4;vertical-align:middle}"
    "path{fill:none;stroke-width:1.5;vector-effect:non-scaling-stroke}path.rate{stroke:#1f6fd1}"
    "path.lat{stroke:#d9731f}b.rate{color:#1f6fd1}b.lat{color:#d9731f}"
    ".max{display:inline-block;min-width:7em;text-align:left;"
    "font-size:.85em;margin-left:4px;vertical-align:middle}.down{color:#b00;font-weight:bold}"
    "footer{color:#777;font-size:.85em}";

/*
 * The page (caller frees): the mmi.stats document of len bytes at text,
 * or, when the broker did not answer, why (error).
 */
struct evbuffer *
http_status_page(struct http_env *env, const char *text, size_t len,
    const char *error)
{
	struct evbuffer	*b;
	json_t		*doc = NULL;
	int		 refresh = (env->status_interval + 999) / 1000;

	if (text != NULL && (doc = json_loadb(text, len, 0, NULL)) == NULL)
		error = "mmi.stats is not JSON";
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
	    "content=\"%d\"><meta name=\"viewport\" content=\""
	    "width=device-width\"><title>WAHA status: ",
	    refresh);
	esc(b, env->url);
	evbuffer_add_printf(b, "</title><style>%s</style></head>\n<body>\n"
	    "<h1>WAHA status</h1>\n<section>\n<h2>Broker <code>", style);
	esc(b, env->url);
	evbuffer_add(b, "</code></h2>\n", 13);
	if (doc == NULL) {
		evbuffer_add(b, "<p class=\"down\">The broker does not answer: ",
		    44);
		esc(b, error);
		evbuffer_add(b, "</p>\n", 5);
	} else {
		summary(b, env, doc);
		services_table(b, env, json_object_get(doc, "services"));
		workers_table(b, json_object_get(doc, "workers"),
		    stats_int(doc, "heartbeat_ms"));
	}
	evbuffer_add_printf(b, "</section>\n<footer>waha-proxy-http %s; the "
	    "page reloads itself every %d s; a worker not heard from for two "
	    "heartbeats is silent; p50 and p99 are over the last 10 to 20 s."
	    "</footer>\n</body></html>\n", PACKAGE_VERSION, refresh);
	json_decref(doc);
	return (b);
}
