/*-------------------------------------------------------------------------
 *
 * dfwctl.c
 *		dfwctl, the command-line tool of a human approver of
 *		deletion_firewall: list refused requests, approve them, issue and
 *		revoke confirmation tokens, read the audit events, and watch for
 *		new refusals live.
 *
 *	dfwctl [OPTION]... pending
 *	dfwctl [OPTION]... approve REQUEST_ID [--for DURATION]
 *	dfwctl [OPTION]... confirm ACTION TARGET [--for DURATION] [--max-rows N]
 *						[--agent ROLE] [--uses N] [--dbname DB | --any-database]
 *	dfwctl [OPTION]... tokens | revoke TOKEN_ID | events
 *	dfwctl [OPTION]... watch [--for DURATION]
 *
 * It is a thin libpq client of the SQL API in schema deletion_firewall
 * (confirm, approve, revoke and the views tokens, blocked and events); the
 * server decides who may do what, so this file holds no policy.  Every
 * value from the command line reaches the server as a query parameter,
 * never spliced into SQL text.
 *
 * It connects like psql: -d takes a database name or a conninfo string,
 * -h/-p/-U the usual, and the PG* environment variables fill in the rest.
 * Results go to stdout as aligned tables; errors to stderr as one line
 * "dfwctl: error: ...", with exit status 1 (2 for a usage error).
 *
 * watch polls deletion_firewall.blocked twice a second.  Requests present
 * when it starts are not asked about.  Each new one is shown and answered
 * by a line on stdin: "y" or "yes" approves it, anything else (Enter, "n")
 * skips it.  On a terminal, what was typed before the question is thrown
 * away, so that a stray "y" never approves a request nobody has seen.
 * From a pipe or file, lines are answers to the coming questions, in
 * order.  watch ends cleanly, with status 0, on end of input (Ctrl-D) or
 * on SIGINT/SIGTERM (Ctrl-C).
 *
 * Copyright (c) 2026, deletion_firewall developers
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "libpq-fe.h"

#ifndef DFWCTL_VERSION
#define DFWCTL_VERSION "1.0"
#endif

#define WATCH_INTERVAL_MS	500
#define TARGET_WIDTH		60
#define STATEMENT_WIDTH		80

static const char *progname = "dfwctl";
static PGconn *conn = NULL;
static int	client_encoding = 0;	/* PG_SQL_ASCII until connected */
static volatile sig_atomic_t got_signal = 0;

/* ---------------- messages and exits ---------------- */

static void
usage(FILE *out)
{
	fprintf(out,
			"%s manages deletion_firewall confirmations as a human approver.\n"
			"\n"
			"Usage:\n"
			"  %s [OPTION]... pending                 refused requests not yet approved\n"
			"  %s [OPTION]... approve REQUEST_ID [--for DURATION]\n"
			"                                          let the refused session retry its statement once\n"
			"  %s [OPTION]... confirm ACTION TARGET [--for DURATION] [--max-rows N]\n"
			"                 [--agent ROLE] [--uses N] [--dbname DB | --any-database]\n"
			"                                          issue a token; prints the token alone\n"
			"  %s [OPTION]... tokens                  live tokens and approvals\n"
			"  %s [OPTION]... revoke TOKEN_ID         revoke a token or approval\n"
			"  %s [OPTION]... events                  recent audit events, newest first\n"
			"  %s [OPTION]... watch [--for DURATION]  follow new refusals and ask y/N for each\n"
			"\n"
			"ACTION is drop, truncate, delete, update or all.  TARGET is an object identity\n"
			"such as public.orders; a trailing '*' matches any suffix, '*' alone anything.\n"
			"DURATION is 30s, 10m, 2h, 1d or any PostgreSQL interval (default 10 minutes,\n"
			"capped by deletion_firewall.max_valid_for).\n"
			"\n"
			"Connection options (before the command):\n"
			"  -d, --dbname=CONNINFO    database name or connection string\n"
			"  -h, --host=HOST          database server host or socket directory\n"
			"  -p, --port=PORT          database server port\n"
			"  -U, --username=USER      database user name\n"
			"Unset options come from PGDATABASE, PGHOST, PGPORT, PGUSER and the other\n"
			"PG* environment variables, as for psql.  After the word confirm, --dbname\n"
			"names the database the token is valid in (default: the one connected to).\n"
			"\n"
			"Other options:\n"
			"  -V, --version            print the version and exit\n"
			"  -?, --help               show this help and exit\n",
			progname, progname, progname, progname, progname, progname,
			progname, progname);
}

static void
finish(int status)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	exit(status);
}

/* Copy of s on one line: each run of white space becomes one space. */
static char *
one_line(const char *s)
{
	char	   *r = strdup(s ? s : "");
	char	   *o = r;

	if (r == NULL)
	{
		fprintf(stderr, "%s: error: out of memory\n", progname);
		exit(1);
	}
	for (const char *p = r; *p; p++)
	{
		if (!isspace((unsigned char) *p))
			*o++ = *p;
		else if (o > r && !isspace((unsigned char) p[1]) && p[1] != '\0')
			*o++ = ' ';
	}
	*o = '\0';
	return r;
}

static void
fatal(const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: error: %s\n", progname, one_line(buf));
	finish(1);
}

static void
usage_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try \"%s --help\")\n", progname);
	finish(2);
}

static void *
xmalloc(size_t size)
{
	void	   *p = malloc(size);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char	   *p = strdup(s);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

/*
 * The error of a failed query, on one line: the server's primary message,
 * with a pointer to CREATE EXTENSION when the schema is missing.
 */
static char *
result_error(const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	char		buf[1024];

	if (msg == NULL)
		return one_line(PQerrorMessage(conn));
	if (state != NULL &&
		(strcmp(state, "3F000") == 0 || strcmp(state, "42P01") == 0 ||
		 strcmp(state, "42883") == 0) &&
		strstr(msg, "deletion_firewall") != NULL)
	{
		snprintf(buf, sizeof(buf),
				 "%s (is the extension created? run CREATE EXTENSION deletion_firewall in database \"%s\")",
				 msg, PQdb(conn));
		return one_line(buf);
	}
	return one_line(msg);
}

/* ---------------- connection and queries ---------------- */

typedef struct ConnOptions
{
	const char *dbname;
	const char *host;
	const char *port;
	const char *user;
} ConnOptions;

static void
connect_db(const ConnOptions *opts)
{
	const char *keywords[8];
	const char *values[8];
	int			n = 0;

	/* like psql: follow the locale unless told otherwise; -d may override */
	if (getenv("PGCLIENTENCODING") == NULL)
	{
		keywords[n] = "client_encoding";
		values[n++] = "auto";
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "dfwctl";
	keywords[n] = "dbname";
	values[n++] = opts->dbname;
	keywords[n] = "host";
	values[n++] = opts->host;
	keywords[n] = "port";
	values[n++] = opts->port;
	keywords[n] = "user";
	values[n++] = opts->user;
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL)
		fatal("out of memory");
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("%s", PQerrorMessage(conn));
	client_encoding = PQclientEncoding(conn);
}

/*
 * Run a query with text parameters.  Returns the result, or NULL after
 * printing the error when !fatal_error; exits when fatal_error.
 */
static PGresult *
query(const char *sql, int nparams, const char *const *params,
	  bool fatal_error)
{
	PGresult   *res;
	char	   *err;

	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
						PQresultStatus(res) == PGRES_COMMAND_OK))
		return res;

	err = res ? result_error(res) : one_line(PQerrorMessage(conn));
	PQclear(res);
	if (fatal_error || PQstatus(conn) != CONNECTION_OK)
		fatal("%s", err);
	fprintf(stderr, "%s: error: %s\n", progname, err);
	free(err);
	return NULL;
}

/* ---------------- formatting ---------------- */

/* "10m" -> "10 minutes"; anything else is passed on as interval text. */
static char *
interval_text(const char *arg)
{
	size_t		len = strlen(arg);
	size_t		digits = strspn(arg, "0123456789");
	const char *unit = NULL;
	char	   *r;

	if (len >= 2 && digits == len - 1)
	{
		switch (arg[len - 1])
		{
			case 's':
				unit = "seconds";
				break;
			case 'm':
				unit = "minutes";
				break;
			case 'h':
				unit = "hours";
				break;
			case 'd':
				unit = "days";
				break;
		}
	}
	if (unit == NULL)
		return xstrdup(arg);
	r = xmalloc(len + strlen(unit) + 2);
	sprintf(r, "%.*s %s", (int) digits, arg, unit);
	return r;
}

/* seconds -> "42s", "4m05s", "2h05m", "3d04h" */
static char *
duration_text(const char *seconds)
{
	long long	s = seconds ? atoll(seconds) : 0;
	char		buf[64];

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, sizeof(buf), "%llds", s);
	else if (s < 3600)
		snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, sizeof(buf), "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
	return xstrdup(buf);
}

/* Display width of a string in the client encoding. */
static int
display_width(const char *s)
{
	int			w = 0;

	while (*s)
	{
		int			d = PQdsplen(s, client_encoding);

		w += d > 0 ? d : 0;
		s += PQmblenBounded(s, client_encoding);
	}
	return w;
}

/*
 * One line of at most max display columns: whitespace runs become one
 * space, newlines become newline_sep (target lists are one identity a
 * line), and a longer text is cut with "...".
 */
static char *
flatten(const char *s, const char *newline_sep, int max)
{
	size_t		cap = strlen(s) * (newline_sep ? strlen(newline_sep) + 1 : 1) + 4;
	char	   *r = xmalloc(cap);
	char	   *o = r;
	int			w = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	while (*s)
	{
		int			len;
		int			d;

		if (*s == '\n' && newline_sep != NULL)
		{
			strcpy(o, newline_sep);
			o += strlen(newline_sep);
			w += strlen(newline_sep);
			s++;
			continue;
		}
		if (isspace((unsigned char) *s))
		{
			while (isspace((unsigned char) *s) &&
				   !(*s == '\n' && newline_sep != NULL))
				s++;
			if (*s)
			{
				*o++ = ' ';
				w++;
			}
			continue;
		}
		len = PQmblenBounded(s, client_encoding);
		d = PQdsplen(s, client_encoding);
		if (w + d > max - 3 && display_width(s) + w > max)
		{
			strcpy(o, "...");
			return r;
		}
		memcpy(o, s, len);
		o += len;
		s += len;
		w += d > 0 ? d : 0;
	}
	*o = '\0';
	return r;
}

/* ---------------- tables ---------------- */

typedef struct Table
{
	int			ncols;
	const char *const *headers;
	int			nrows;
	int			cap;
	char	  **cells;			/* nrows * ncols, row-major */
} Table;

static void
table_init(Table *t, int ncols, const char *const *headers)
{
	t->ncols = ncols;
	t->headers = headers;
	t->nrows = 0;
	t->cap = 0;
	t->cells = NULL;
}

/* Start a new row; returns its cells, which take ownership of strings. */
static char **
table_add_row(Table *t)
{
	char	  **row;

	if (t->nrows == t->cap)
	{
		char	  **cells;

		t->cap = t->cap ? t->cap * 2 : 16;
		cells = realloc(t->cells, sizeof(char *) * t->cap * t->ncols);
		if (cells == NULL)
			fatal("out of memory");
		t->cells = cells;
	}
	row = &t->cells[t->nrows * t->ncols];
	for (int c = 0; c < t->ncols; c++)
		row[c] = NULL;
	t->nrows++;
	return row;
}

static void
print_padded(const char *s, int width, bool last)
{
	fputs(s, stdout);
	if (!last)
		for (int i = display_width(s); i < width + 2; i++)
			putchar(' ');
}

/* Left-aligned columns two spaces apart, a rule under the header. */
static void
table_print(Table *t)
{
	int		   *width = xmalloc(sizeof(int) * t->ncols);

	for (int c = 0; c < t->ncols; c++)
	{
		width[c] = display_width(t->headers[c]);
		for (int r = 0; r < t->nrows; r++)
		{
			char	   *cell = t->cells[r * t->ncols + c];
			int			w = display_width(cell ? cell : "");

			if (w > width[c])
				width[c] = w;
		}
	}
	for (int c = 0; c < t->ncols; c++)
		print_padded(t->headers[c], width[c], c == t->ncols - 1);
	putchar('\n');
	for (int c = 0; c < t->ncols; c++)
	{
		for (int i = 0; i < width[c]; i++)
			putchar('-');
		if (c < t->ncols - 1)
			fputs("  ", stdout);
	}
	putchar('\n');
	for (int r = 0; r < t->nrows; r++)
	{
		for (int c = 0; c < t->ncols; c++)
		{
			char	   *cell = t->cells[r * t->ncols + c];

			print_padded(cell ? cell : "", width[c], c == t->ncols - 1);
			free(cell);
		}
		putchar('\n');
	}
	printf("(%d %s)\n", t->nrows, t->nrows == 1 ? "row" : "rows");
	free(width);
	free(t->cells);
}

/* The value of a column, or dflt if NULL. */
static const char *
value_or(const PGresult *res, int row, int col, const char *dflt)
{
	return PQgetisnull(res, row, col) ? dflt : PQgetvalue(res, row, col);
}

/* ---------------- commands ---------------- */

/*
 * Refusals not yet approved, oldest first, with the age in seconds.  An
 * approval is known from the events ring; once that forgot it, the request
 * shows again (approving it twice is harmless).
 */
static void
cmd_pending(void)
{
	static const char *const headers[] =
	{"REQUEST", "AGE", "AGENT", "DB", "ACTION", "TARGET", "ROWS", "STATEMENT"};
	PGresult   *res;
	Table		t;

	res = query("SELECT b.request_id,"
				" floor(extract(epoch FROM now() - b.at))::bigint,"
				" b.agent, b.dbname, b.action, b.target, b.rows, b.statement"
				" FROM deletion_firewall.blocked b"
				" WHERE NOT EXISTS (SELECT 1 FROM deletion_firewall.events e"
				"   WHERE e.event = 'approved' AND e.request_id = b.request_id)"
				" ORDER BY b.at, b.request_id",
				0, NULL, true);
	if (PQntuples(res) == 0)
	{
		printf("no pending requests\n");
		PQclear(res);
		return;
	}
	table_init(&t, 8, headers);
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	  **row = table_add_row(&t);

		row[0] = xstrdup(PQgetvalue(res, r, 0));
		row[1] = duration_text(PQgetvalue(res, r, 1));
		row[2] = xstrdup(PQgetvalue(res, r, 2));
		row[3] = xstrdup(PQgetvalue(res, r, 3));
		row[4] = xstrdup(PQgetvalue(res, r, 4));
		row[5] = flatten(PQgetvalue(res, r, 5), ", ", TARGET_WIDTH);
		row[6] = xstrdup(value_or(res, r, 6, ""));
		row[7] = flatten(PQgetvalue(res, r, 7), NULL, STATEMENT_WIDTH);
	}
	table_print(&t);
	PQclear(res);
}

/* Approve one request; returns false (error printed) if the server refused. */
static bool
approve_request(const char *request_id, const char *valid_for, bool fatal_error)
{
	const char *params[2];
	PGresult   *res;
	char	   *lifetime;

	params[0] = request_id;
	params[1] = valid_for;
	/* the lifetime as the server set it, max_valid_for applied */
	res = query("SELECT a.id, (SELECT round(extract(epoch FROM t.expires_at - now()))::bigint"
				"   FROM deletion_firewall.tokens t WHERE t.token_id = a.id)"
				" FROM (SELECT deletion_firewall.approve($1::text, $2::interval) AS id) a",
				2, params, fatal_error);
	if (res == NULL)
		return false;
	lifetime = duration_text(PQgetvalue(res, 0, 1));
	printf("approved %s as %s: the refused session may retry its statement once within %s\n",
		   request_id, PQgetvalue(res, 0, 0), lifetime);
	fflush(stdout);
	free(lifetime);
	PQclear(res);
	return true;
}

static void
cmd_approve(const char *request_id, const char *valid_for)
{
	approve_request(request_id, valid_for, true);
}

typedef struct ConfirmArgs
{
	const char *action;
	const char *target;
	const char *valid_for;		/* NULL: the function's default */
	const char *max_rows;		/* NULL: no limit */
	const char *agent;			/* NULL: any agent */
	const char *uses;			/* NULL: 1 */
	const char *dbname;			/* NULL: the current database */
	bool		any_database;
} ConfirmArgs;

/*
 * Named arguments for exactly what was given, so that the SQL defaults
 * (notably dbname => current_database()) apply to the rest.
 */
static void
cmd_confirm(const ConfirmArgs *a)
{
	char		sql[512];
	const char *params[7];
	int			n = 0;
	PGresult   *res;

	strcpy(sql, "SELECT deletion_firewall.confirm(action => $1::text, target => $2::text");
	params[n++] = a->action;
	params[n++] = a->target;
#define ADD_ARG(value, fmt) \
	do { \
		if ((value) != NULL) \
		{ \
			params[n++] = (value); \
			snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), fmt, n); \
		} \
	} while (0)
	ADD_ARG(a->valid_for, ", valid_for => $%d::interval");
	ADD_ARG(a->max_rows, ", max_rows => $%d::bigint");
	ADD_ARG(a->agent, ", agent => $%d::text::regrole");
	ADD_ARG(a->uses, ", uses => $%d::integer");
	ADD_ARG(a->dbname, ", dbname => $%d::name");
#undef ADD_ARG
	if (a->any_database)
		strcat(sql, ", dbname => NULL");
	strcat(sql, ")");

	res = query(sql, n, params, true);
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static void
cmd_tokens(void)
{
	static const char *const headers[] =
	{"TOKEN", "ACTION", "TARGET", "DB", "AGENT", "MAX ROWS", "USES LEFT",
	"ISSUED BY", "EXPIRES IN"};
	PGresult   *res;
	Table		t;

	res = query("SELECT token_id, action, target, dbname, agent::text,"
				" max_rows, uses_left, issued_by,"
				" ceil(extract(epoch FROM expires_at - now()))::bigint"
				" FROM deletion_firewall.tokens"
				" ORDER BY issued_at, token_id",
				0, NULL, true);
	if (PQntuples(res) == 0)
	{
		printf("no live tokens\n");
		PQclear(res);
		return;
	}
	table_init(&t, 9, headers);
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	  **row = table_add_row(&t);

		row[0] = xstrdup(PQgetvalue(res, r, 0));
		row[1] = xstrdup(PQgetvalue(res, r, 1));
		row[2] = flatten(PQgetvalue(res, r, 2), ", ", TARGET_WIDTH);
		row[3] = xstrdup(value_or(res, r, 3, "(any)"));
		row[4] = xstrdup(value_or(res, r, 4, "(any)"));
		row[5] = xstrdup(value_or(res, r, 5, "no limit"));
		row[6] = xstrdup(PQgetvalue(res, r, 6));
		row[7] = xstrdup(PQgetvalue(res, r, 7));
		row[8] = duration_text(PQgetvalue(res, r, 8));
	}
	table_print(&t);
	PQclear(res);
}

static void
cmd_revoke(const char *token_id)
{
	const char *params[1] = {token_id};
	PGresult   *res;

	res = query("SELECT deletion_firewall.revoke($1::text)", 1, params, true);
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
	{
		PQclear(res);
		fatal("no live token or approval with id \"%s\"", token_id);
	}
	printf("revoked %s\n", token_id);
	PQclear(res);
}

static void
cmd_events(void)
{
	static const char *const headers[] =
	{"AT", "EVENT", "ACTION", "TARGET", "AGENT", "DB", "ROWS", "REQUEST",
	"TOKEN", "BY", "REASON"};
	PGresult   *res;
	Table		t;

	res = query("SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS'), event, action,"
				" target, agent, dbname, rows, request_id, token_id, by, reason"
				" FROM deletion_firewall.events",
				0, NULL, true);
	if (PQntuples(res) == 0)
	{
		printf("no events\n");
		PQclear(res);
		return;
	}
	table_init(&t, 11, headers);
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	  **row = table_add_row(&t);

		for (int c = 0; c < 11; c++)
			row[c] = c == 3 ? flatten(value_or(res, r, c, ""), ", ", TARGET_WIDTH)
				: xstrdup(value_or(res, r, c, ""));
	}
	table_print(&t);
	PQclear(res);
}

/* ---------------- watch ---------------- */

/*
 * Input for watch: bytes read from stdin, not yet consumed as answers.
 */
typedef struct Input
{
	bool		tty;
	bool		eof;
	char	   *buf;
	size_t		len;
	size_t		cap;
} Input;

static void
on_signal(int signo)
{
	got_signal = signo;
}

/*
 * Wait up to timeout_ms (-1: for ever) for stdin, and read what is there.
 * Returns early on a signal.
 */
static void
input_fill(Input *in, int timeout_ms)
{
	struct pollfd pfd;
	ssize_t		n;
	int			rc;

	if (in->eof)
	{
		if (timeout_ms != 0)
			(void) poll(NULL, 0, timeout_ms < 0 ? WATCH_INTERVAL_MS : timeout_ms);
		return;
	}
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc <= 0)
		return;					/* timeout, or EINTR: caller checks got_signal */
	if (in->len + 1024 > in->cap)
	{
		char	   *buf;

		in->cap = in->cap ? in->cap * 2 : 4096;
		buf = realloc(in->buf, in->cap);
		if (buf == NULL)
			fatal("out of memory");
		in->buf = buf;
	}
	n = read(STDIN_FILENO, in->buf + in->len, 1024);
	if (n > 0)
		in->len += n;
	else if (n == 0 || errno != EINTR)
		in->eof = true;
}

/* Throw away what was typed ahead (terminals only: it answers nothing). */
static void
input_discard(Input *in)
{
	in->len = 0;
	(void) tcflush(STDIN_FILENO, TCIFLUSH);
}

/*
 * Take one line of input into line (NUL-terminated, without newline).
 * Blocks until there is one.  Returns false on end of input or a signal.
 */
static bool
input_line(Input *in, char *line, size_t size)
{
	for (;;)
	{
		char	   *nl = in->len ? memchr(in->buf, '\n', in->len) : NULL;
		size_t		take;

		if (got_signal)
			return false;
		if (nl == NULL && in->eof && in->len == 0)
			return false;
		if (nl != NULL || in->eof)
		{
			take = nl ? (size_t) (nl - in->buf) : in->len;
			snprintf(line, size, "%.*s", (int) take, in->buf);
			take = nl ? take + 1 : take;
			memmove(in->buf, in->buf + take, in->len - take);
			in->len -= take;
			return true;
		}
		input_fill(in, -1);
	}
}

static bool
is_yes(const char *answer)
{
	char		word[8];
	size_t		n = 0;

	while (isspace((unsigned char) *answer))
		answer++;
	while (*answer && !isspace((unsigned char) *answer) && n < sizeof(word) - 1)
		word[n++] = tolower((unsigned char) *answer++);
	word[n] = '\0';
	while (isspace((unsigned char) *answer))
		answer++;
	return *answer == '\0' && (strcmp(word, "y") == 0 || strcmp(word, "yes") == 0);
}

/* ids seen in the previous poll: a request is new if it was not among them */
typedef struct IdSet
{
	int			n;
	char	  **ids;
} IdSet;

static bool
idset_has(const IdSet *s, const char *id)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->ids[i], id) == 0)
			return true;
	return false;
}

static void
idset_replace(IdSet *s, const PGresult *res)
{
	for (int i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	s->n = PQntuples(res);
	s->ids = xmalloc(sizeof(char *) * (s->n ? s->n : 1));
	for (int i = 0; i < s->n; i++)
		s->ids[i] = xstrdup(PQgetvalue(res, i, 0));
}

static PGresult *
poll_blocked(void)
{
	return query("SELECT request_id, to_char(at, 'HH24:MI:SS'), dbname, agent,"
				 " backend_pid, action, target, rows, statement, reason"
				 " FROM deletion_firewall.blocked",
				 0, NULL, true);
}

/* Show request r of res and ask.  Returns false when input ended. */
static bool
ask(Input *in, const PGresult *res, int r, const char *valid_for)
{
	const char *id = PQgetvalue(res, r, 0);
	char	   *target = flatten(PQgetvalue(res, r, 6), ", ", 1000);
	char	   *statement = flatten(PQgetvalue(res, r, 8), NULL, 1000);
	char		answer[256];
	bool		more;

	printf("\n[%s] %s: agent \"%s\" in database \"%s\" (pid %s) was refused\n",
		   PQgetvalue(res, r, 1), id, PQgetvalue(res, r, 3),
		   PQgetvalue(res, r, 2), PQgetvalue(res, r, 4));
	printf("  action:    %s\n", PQgetvalue(res, r, 5));
	printf("  target:    %s\n", target);
	if (!PQgetisnull(res, r, 7))
		printf("  rows:      more than %lld\n",
			   atoll(PQgetvalue(res, r, 7)) - 1);
	printf("  statement: %s\n", statement);
	printf("  reason:    %s\n", PQgetvalue(res, r, 9));
	free(target);
	free(statement);

	if (in->tty)
		input_discard(in);
	printf("approve? [y/N] ");
	fflush(stdout);

	more = input_line(in, answer, sizeof(answer));
	if (!more)
	{
		printf("\nnot approved %s\n", id);
		fflush(stdout);
		return false;
	}
	if (!in->tty)
		printf("%s\n", answer);	/* a terminal echoed it already */
	if (is_yes(answer))
		approve_request(id, valid_for, false);
	else
		printf("skipped %s\n", id);
	fflush(stdout);
	return true;
}

static void
cmd_watch(const char *valid_for)
{
	struct sigaction sa;
	Input		in = {0};
	IdSet		seen = {0};
	PGresult   *res;

	/* no SA_RESTART: a signal interrupts poll() and read() */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	in.tty = isatty(STDIN_FILENO);

	res = poll_blocked();
	idset_replace(&seen, res);
	PQclear(res);
	printf("watching for refused requests (%d earlier ones not asked); %s to stop\n",
		   seen.n, in.tty ? "Ctrl-C or Ctrl-D" : "end of input or SIGINT");
	fflush(stdout);

	while (!got_signal)
	{
		/* oldest new request first; the view lists newest first */
		res = poll_blocked();
		for (int r = PQntuples(res) - 1; r >= 0 && !got_signal; r--)
		{
			if (idset_has(&seen, PQgetvalue(res, r, 0)))
				continue;
			if (!ask(&in, res, r, valid_for))
			{
				PQclear(res);
				finish(0);
			}
		}
		idset_replace(&seen, res);
		PQclear(res);

		/* wait; on a terminal, typed-ahead lines and Ctrl-D are seen here */
		input_fill(&in, WATCH_INTERVAL_MS);
		if (in.tty)
			in.len = 0;
		if (in.eof && in.len == 0)
			break;
	}
	finish(0);
}

/* ---------------- command line ---------------- */

/*
 * Is argv[*i] the option name (as "--name VALUE" or "--name=VALUE")?  If
 * so, store the value, advance *i past it and return true.
 */
static bool
option_value(int argc, char **argv, int *i, const char *shortname,
			 const char *longname, const char **value)
{
	const char *arg = argv[*i];
	size_t		len = strlen(longname);

	if (strncmp(arg, longname, len) == 0 && arg[len] == '=')
	{
		*value = arg + len + 1;
		return true;
	}
	if (strcmp(arg, longname) == 0 ||
		(shortname != NULL && strcmp(arg, shortname) == 0))
	{
		if (*i + 1 >= argc)
			usage_error("option %s needs a value", arg);
		*value = argv[++*i];
		return true;
	}
	if (shortname != NULL && strncmp(arg, shortname, 2) == 0 && arg[2] != '\0')
	{
		*value = arg + 2;		/* -dmydb, as getopt allows */
		return true;
	}
	return false;
}

static void
need_args(const char *command, int nargs, int want, const char *what)
{
	if (nargs < want)
		usage_error("%s needs %s", command, what);
	if (nargs > want)
		usage_error("too many arguments for %s", command);
}

int
main(int argc, char **argv)
{
	ConnOptions conn_opts = {0};
	ConfirmArgs ca = {0};
	const char *command = NULL;
	const char *args[2] = {0};
	int			nargs = 0;
	const char *valid_for = NULL;
	char	   *interval;

	for (int i = 1; i < argc; i++)
	{
		const char *arg = argv[i];
		const char *v;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-?") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
		{
			printf("dfwctl (deletion_firewall) %s\n", DFWCTL_VERSION);
			return 0;
		}
		/* after "confirm", --dbname is the token's database */
		if (command != NULL && strcmp(command, "confirm") == 0)
		{
			if (option_value(argc, argv, &i, NULL, "--dbname", &ca.dbname))
				continue;
			if (strcmp(arg, "--any-database") == 0)
			{
				ca.any_database = true;
				continue;
			}
			if (option_value(argc, argv, &i, NULL, "--max-rows", &ca.max_rows) ||
				option_value(argc, argv, &i, NULL, "--agent", &ca.agent) ||
				option_value(argc, argv, &i, NULL, "--uses", &ca.uses))
				continue;
		}
		if (option_value(argc, argv, &i, "-d", "--dbname", &conn_opts.dbname) ||
			option_value(argc, argv, &i, "-h", "--host", &conn_opts.host) ||
			option_value(argc, argv, &i, "-p", "--port", &conn_opts.port) ||
			option_value(argc, argv, &i, "-U", "--username", &conn_opts.user))
			continue;
		if (command != NULL &&
			(strcmp(command, "approve") == 0 || strcmp(command, "confirm") == 0 ||
			 strcmp(command, "watch") == 0) &&
			option_value(argc, argv, &i, NULL, "--for", &v))
		{
			valid_for = v;
			continue;
		}
		if (arg[0] == '-' && arg[1] != '\0' && strcmp(arg, "--") != 0)
			usage_error("unknown option \"%s\"%s%s", arg,
						command ? " for " : "", command ? command : "");
		if (command == NULL)
			command = arg;
		else if (nargs < 2)
			args[nargs++] = arg;
		else
			usage_error("too many arguments for %s", command);
	}

	if (command == NULL)
		usage_error("no command given");
	if (strcmp(command, "help") == 0)
	{
		usage(stdout);
		return 0;
	}

	interval = interval_text(valid_for ? valid_for : "10 minutes");
	if (strcmp(command, "pending") == 0)
		need_args(command, nargs, 0, "no argument");
	else if (strcmp(command, "approve") == 0)
		need_args(command, nargs, 1, "a request id");
	else if (strcmp(command, "confirm") == 0)
	{
		need_args(command, nargs, 2, "an action and a target");
		if (ca.dbname != NULL && ca.any_database)
			usage_error("--dbname and --any-database exclude each other");
		ca.action = args[0];
		ca.target = args[1];
		ca.valid_for = valid_for ? interval : NULL;
	}
	else if (strcmp(command, "tokens") == 0 || strcmp(command, "events") == 0 ||
			 strcmp(command, "watch") == 0)
		need_args(command, nargs, 0, "no argument");
	else if (strcmp(command, "revoke") == 0)
		need_args(command, nargs, 1, "a token id");
	else
		usage_error("unknown command \"%s\"", command);

	connect_db(&conn_opts);

	if (strcmp(command, "pending") == 0)
		cmd_pending();
	else if (strcmp(command, "approve") == 0)
		cmd_approve(args[0], interval);
	else if (strcmp(command, "confirm") == 0)
		cmd_confirm(&ca);
	else if (strcmp(command, "tokens") == 0)
		cmd_tokens();
	else if (strcmp(command, "revoke") == 0)
		cmd_revoke(args[0]);
	else if (strcmp(command, "events") == 0)
		cmd_events();
	else
		cmd_watch(interval);

	free(interval);
	finish(0);
	return 0;
}
