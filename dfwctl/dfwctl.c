/*-------------------------------------------------------------------------
 *
 * dfwctl.c
 *		dfwctl, the command-line tool of a human approver of
 *		deletion_firewall: list refused requests, approve them, issue and
 *		revoke confirmation tokens, read the audit events, watch for new
 *		refusals live (asking y/N, or as JSON lines for a pipe or a hook),
 *		and check a deployment for what would let an agent past (doctor).
 *
 *	dfwctl [OPTION]... pending [--full]
 *	dfwctl [OPTION]... approve REQUEST_ID [--for DURATION] [--any-session]
 *	dfwctl [OPTION]... confirm ACTION TARGET [--for DURATION] [--max-rows N]
 *						[--agent ROLE] [--uses N] [--dbname DB | --any-database]
 *	dfwctl [OPTION]... tokens | revoke TOKEN_ID | events
 *	dfwctl [OPTION]... watch [--for DURATION] [--json] [--exec CMD]
 *	dfwctl [OPTION]... doctor [--strict]
 *
 * It is a thin libpq client of the SQL API in schema deletion_firewall
 * (confirm, approve, revoke and the views tokens, blocked and events); the
 * server decides who may do what, so this file holds no policy.  Every
 * value from the command line reaches the server as a query parameter,
 * never spliced into SQL text.  It works with the extension's SQL version
 * 1.0 (no blocked.params/alive, two-argument approve) and 1.1: what the
 * connected database has is looked up in the catalog (detect_api).
 *
 * It connects like psql: -d takes a database name or a conninfo string,
 * -h/-p/-U the usual, and the PG* environment variables fill in the rest.
 * Results go to stdout as aligned tables; errors to stderr as one line
 * "dfwctl: error: ...", with exit status 1 (2 for a usage error).
 *
 * Everything shown that an agent wrote (statements, parameters, object and
 * role names) goes through show_text(): control characters are escaped
 * (\n, \t, \x1b, and in UTF-8 the C1 controls and bidirectional overrides
 * as \uXXXX), a backslash is doubled, and a cut is marked "...[+N chars]".
 * pending and watch cut statements the same way (STATEMENT_WIDTH).
 *
 * watch polls deletion_firewall.blocked twice a second.  Requests present
 * when it starts are not asked about.  New ones queue and are asked one at
 * a time, oldest first; a request approved elsewhere, or whose session
 * ended, drops out of the queue (and out of an open question).  An answer
 * is a line on stdin: "y" or "yes" approves, "f" shows a cut statement in
 * full (a cut statement must be seen in full before "y" approves it),
 * anything else skips.  On a terminal, what was typed before the question
 * is thrown away, so that a stray "y" never approves a request nobody has
 * seen.  From a pipe or file, lines are answers to the coming questions,
 * in order.  watch ends cleanly, with status 0, on end of input (Ctrl-D)
 * or on SIGINT/SIGTERM (Ctrl-C).  With --json or --exec it never reads
 * stdin: each new refusal becomes one JSON object (json_request), printed
 * as a line and/or written to the standard input of CMD run by /bin/sh.
 *
 * doctor reads the catalogs (roles, pg_hba_file_rules, pg_db_role_setting,
 * pg_depend in every database) and prints one line per finding on stdout,
 * "RISK  what -- fix: how" or "NOTE  ...", and a count on stderr; exit
 * status 1 when there is a RISK (with --strict, any finding), else 0.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "libpq-fe.h"

#ifndef DFWCTL_VERSION
#define DFWCTL_VERSION "1.0"
#endif

#define WATCH_INTERVAL_MS	500
#define TARGET_WIDTH		60
#define STATEMENT_WIDTH		100
#define PARAMS_WIDTH		40
#define NAME_WIDTH			63

static const char *progname = "dfwctl";
static PGconn *conn = NULL;
static int	client_encoding = 0;	/* PG_SQL_ASCII until connected */
static bool client_utf8 = false;
static bool client_sql_ascii = false;	/* bytes unchecked: may be UTF-8 */
static volatile sig_atomic_t got_signal = 0;

/* what the connected database's SQL API has (1.0 or 1.1) */
typedef struct Api
{
	bool		known;
	bool		params;			/* blocked.params */
	bool		alive;			/* blocked.alive */
	bool		any_session;	/* approve(text, interval, boolean) */
	bool		lsn;			/* events.lsn */
	char		version[32];	/* pg_extension.extversion, "" if none */
} Api;

static Api	api;

/* ---------------- messages and exits ---------------- */

static void
usage(FILE *out)
{
	fprintf(out,
			"%s manages deletion_firewall confirmations as a human approver.\n"
			"\n"
			"Usage:\n"
			"  %s [OPTION]... pending [--full]        refused requests not yet approved\n"
			"  %s [OPTION]... approve REQUEST_ID [--for DURATION] [--any-session]\n"
			"                                          let the refused session retry its statement once\n"
			"  %s [OPTION]... confirm ACTION TARGET [--for DURATION] [--max-rows N]\n"
			"                 [--agent ROLE] [--uses N] [--dbname DB | --any-database]\n"
			"                                          issue a token; prints the token alone\n"
			"  %s [OPTION]... tokens                  live tokens and approvals\n"
			"  %s [OPTION]... revoke TOKEN_ID         revoke a token or approval\n"
			"  %s [OPTION]... events                  recent audit events, newest first\n"
			"  %s [OPTION]... watch [--for DURATION]  follow new refusals and ask y/N for each\n"
			"  %s [OPTION]... watch --json [--exec CMD]\n"
			"                                          one JSON object per new refusal, never asks;\n"
			"                                          --exec runs CMD with it on standard input\n"
			"  %s [OPTION]... doctor [--strict]       check the deployment: one line per finding\n"
			"\n"
			"ACTION is drop, truncate, delete, update or all.  TARGET is an object identity\n"
			"such as public.orders; a trailing '*' matches any suffix, '*' alone anything.\n"
			"DURATION is 30s, 10m, 2h, 1d or any PostgreSQL interval (default 10 minutes,\n"
			"capped by deletion_firewall.max_valid_for).  --any-session lets any session of\n"
			"the refused agent role retry (pooled connections).  pending --full shows\n"
			"statements and targets uncut.  doctor exits 1 when it finds a RISK (with\n"
			"--strict, any finding).\n"
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
			progname, progname, progname, progname);
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

/* ---------------- growing strings ---------------- */

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_putn(Buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 64;
		char	   *data;

		while (b->len + n + 1 > cap)
			cap *= 2;
		data = realloc(b->data, cap);
		if (data == NULL)
			fatal("out of memory");
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_puts(Buf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

static void
buf_printf(Buf *b, const char *fmt,...)
{
	va_list		ap;
	char		tmp[1024];

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_puts(b, tmp);
}

/* The string built (never NULL); the Buf is reset. */
static char *
buf_take(Buf *b)
{
	char	   *r = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return r;
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
	const char *encoding;		/* NULL: PGCLIENTENCODING, else the locale */
} ConnOptions;

/*
 * Connect as told; other_db, if not NULL, replaces the database (doctor
 * visits every database with the same host, port and user).  Returns the
 * connection, which may have failed (check PQstatus).
 */
static PGconn *
open_conn(const ConnOptions *opts, const char *other_db)
{
	const char *keywords[10];
	const char *values[10];
	int			n = 0;

	/* like psql: follow the locale unless told otherwise; -d may override */
	if (opts->encoding != NULL)
	{
		keywords[n] = "client_encoding";
		values[n++] = opts->encoding;
	}
	else if (getenv("PGCLIENTENCODING") == NULL)
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
	/* only the first dbname is expanded as a conninfo; this one overrides */
	if (other_db != NULL)
	{
		keywords[n] = "dbname";
		values[n++] = other_db;
	}
	if (opts->encoding != NULL)
	{
		/* forced (JSON is UTF-8 whatever -d says) */
		keywords[n] = "client_encoding";
		values[n++] = opts->encoding;
	}
	keywords[n] = NULL;
	values[n] = NULL;

	return PQconnectdbParams(keywords, values, 1);
}

static void
connect_db(const ConnOptions *opts)
{
	const char *enc;

	conn = open_conn(opts, NULL);
	if (conn == NULL)
		fatal("out of memory");
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("%s", PQerrorMessage(conn));
	client_encoding = PQclientEncoding(conn);
	enc = PQparameterStatus(conn, "client_encoding");
	client_utf8 = enc != NULL && (strcmp(enc, "UTF8") == 0 || strcmp(enc, "UTF-8") == 0);
	client_sql_ascii = enc != NULL && strcmp(enc, "SQL_ASCII") == 0;
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

/*
 * Run a query on connection c; on failure return NULL and set *err (the
 * primary message, one line) instead of printing anything.
 */
static PGresult *
try_query(PGconn *c, const char *sql, int nparams, const char *const *params,
		  char **err)
{
	PGresult   *res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	const char *msg;

	*err = NULL;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	*err = one_line(msg ? msg : PQerrorMessage(c));
	PQclear(res);
	return NULL;
}

/*
 * What the connected database's SQL API has: the columns and the approve()
 * signature are looked up rather than inferred from the version, so that
 * a database in any state works.
 */
static void
detect_api(void)
{
	PGresult   *res;

	if (api.known)
		return;
	res = query("SELECT"
				" EXISTS (SELECT 1 FROM pg_attribute"
				"   WHERE attrelid = to_regclass('deletion_firewall.blocked')"
				"   AND attname = 'params' AND NOT attisdropped),"
				" EXISTS (SELECT 1 FROM pg_attribute"
				"   WHERE attrelid = to_regclass('deletion_firewall.blocked')"
				"   AND attname = 'alive' AND NOT attisdropped),"
				" to_regprocedure('deletion_firewall.approve(text,interval,boolean)') IS NOT NULL,"
				" (SELECT extversion FROM pg_extension WHERE extname = 'deletion_firewall'),"
				" EXISTS (SELECT 1 FROM pg_attribute"
				"   WHERE attrelid = to_regclass('deletion_firewall.events')"
				"   AND attname = 'lsn' AND NOT attisdropped)",
				0, NULL, true);
	api.params = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	api.alive = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	api.any_session = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	snprintf(api.version, sizeof(api.version), "%s", PQgetvalue(res, 0, 3));
	api.lsn = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	api.known = true;
	PQclear(res);
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

/* The code point of the UTF-8 character at s of len bytes. */
static uint32_t
utf8_code_point(const unsigned char *s, int len)
{
	switch (len)
	{
		case 2:
			return ((uint32_t) (s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		case 3:
			return ((uint32_t) (s[0] & 0x0f) << 12) |
				((uint32_t) (s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		case 4:
			return ((uint32_t) (s[0] & 0x07) << 18) |
				((uint32_t) (s[1] & 0x3f) << 12) |
				((uint32_t) (s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		default:
			return s[0];
	}
}

/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when
 * the bytes there are not one (SQL_ASCII data may hold anything).
 */
static int
utf8_seq_len(const unsigned char *s)
{
	int			len;
	unsigned char lo = 0x80,
				hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
	{
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;			/* no surrogates */
	}
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
	{
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	}
	else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Characters a terminal acts on or that reorder text: shown as \uXXXX. */
static bool
hidden_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||	/* C1 controls (CSI is 0x9b) */
		cp == 0x200e || cp == 0x200f ||		/* LRM, RLM */
		(cp >= 0x202a && cp <= 0x202e) ||	/* bidi embeddings, overrides */
		(cp >= 0x2066 && cp <= 0x2069) ||	/* bidi isolates */
		cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
}

/*
 * Text an agent wrote, made safe to print on one line: control characters
 * escaped (\n \t \r, others \xHH; in UTF-8 also C1 controls and
 * bidirectional overrides as \uXXXX), backslashes doubled.  newline_sep,
 * if not NULL, replaces newlines instead (target lists are one identity a
 * line).  max > 0 limits the display width: a longer text is cut between
 * characters (never inside an escape) and marked "...[+N chars]", N the
 * characters of s left out; *cut (if not NULL) says whether it was.
 */
static char *
show_text(const char *s, const char *newline_sep, int max, bool *cut)
{
	Buf			b = {0};
	int			w = 0;

	if (cut)
		*cut = false;
	if (s == NULL)
		s = "";
	while (*s)
	{
		unsigned char c = (unsigned char) *s;
		int			len = 1;
		char		piece[16];
		const char *out = piece;
		int			outlen;
		int			outw;

		/*
		 * A backslash is shown as it is: the server already escaped what
		 * an agent wrote (control characters as \xNN, a backslash
		 * doubled), so the text is unambiguous; what is escaped here is
		 * only what still could reach the terminal raw.
		 */
		if (c == '\n' && newline_sep != NULL)
			out = newline_sep;
		else if (c == '\n')
			out = "\\n";
		else if (c == '\t')
			out = "\\t";
		else if (c == '\r')
			out = "\\r";
		else if (c < 0x20 || c == 0x7f)
			snprintf(piece, sizeof(piece), "\\x%02x", c);
		else if (c >= 0x80 && (client_utf8 || client_sql_ascii))
		{
			/* in SQL_ASCII, what is not UTF-8 is shown as bytes */
			len = utf8_seq_len((const unsigned char *) s);
			if (len == 0)
			{
				len = 1;
				snprintf(piece, sizeof(piece), "\\x%02x", c);
			}
			else if (hidden_code_point(utf8_code_point((const unsigned char *) s, len)))
				snprintf(piece, sizeof(piece), "\\u%04x",
						 (unsigned) utf8_code_point((const unsigned char *) s, len));
			else
			{
				memcpy(piece, s, len);
				piece[len] = '\0';
			}
		}
		else if (c >= 0x80)
		{
			len = PQmblenBounded(s, client_encoding);
			if (len < 1)
				len = 1;
			if (client_utf8 &&
				hidden_code_point(utf8_code_point((const unsigned char *) s, len)))
				snprintf(piece, sizeof(piece), "\\u%04x",
						 (unsigned) utf8_code_point((const unsigned char *) s, len));
			else
			{
				memcpy(piece, s, len);
				piece[len] = '\0';
			}
		}
		else
		{
			piece[0] = c;
			piece[1] = '\0';
		}
		outlen = strlen(out);
		outw = (out == piece && c >= 0x80 && piece[0] != '\\')
			? (client_sql_ascii ? 1 : PQdsplen(s, client_encoding)) : outlen;
		if (outw < 0)
			outw = 0;
		if (max > 0 && w + outw > max)
		{
			long		left = 0;

			for (const char *p = s; *p; left++)
			{
				int			l = PQmblenBounded(p, client_encoding);

				p += l > 0 ? l : 1;
			}
			buf_printf(&b, "...[+%ld chars]", left);
			if (cut)
				*cut = true;
			break;
		}
		buf_putn(&b, out, outlen);
		w += outw;
		s += len;
	}
	return buf_take(&b);
}

/* A name (role, database) for a message, escaped and never very long. */
static char *
show_name(const char *s)
{
	return show_text(s, NULL, NAME_WIDTH, NULL);
}

/*
 * s as a JSON string (null for NULL): control characters as \u00XX, C1
 * controls and bidirectional overrides as \uXXXX too (the JSON may reach a
 * terminal), and bytes that are not UTF-8 as \u00XX, so that the output is
 * valid UTF-8 JSON even from an SQL_ASCII database.
 */
static void
json_string(Buf *b, const char *s)
{
	if (s == NULL)
	{
		buf_puts(b, "null");
		return;
	}
	buf_puts(b, "\"");
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '"':
				buf_puts(b, "\\\"");
				break;
			case '\\':
				buf_puts(b, "\\\\");
				break;
			case '\n':
				buf_puts(b, "\\n");
				break;
			case '\r':
				buf_puts(b, "\\r");
				break;
			case '\t':
				buf_puts(b, "\\t");
				break;
			case '\b':
				buf_puts(b, "\\b");
				break;
			case '\f':
				buf_puts(b, "\\f");
				break;
			default:
				if (c < 0x20 || c == 0x7f)
					buf_printf(b, "\\u%04x", c);
				else if (c < 0x80)
					buf_putn(b, (const char *) &c, 1);
				else
				{
					int			len = utf8_seq_len((const unsigned char *) s);
					uint32_t	cp;

					/* not UTF-8 (an SQL_ASCII database): the byte as U+00XX */
					if (len == 0)
					{
						buf_printf(b, "\\u%04x", c);
						break;
					}
					cp = utf8_code_point((const unsigned char *) s, len);
					if (hidden_code_point(cp))
						buf_printf(b, "\\u%04x", (unsigned) cp);
					else
						buf_putn(b, s, len);
					s += len - 1;
				}
		}
	}
	buf_puts(b, "\"");
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

/* ---------------- refused requests ---------------- */

/* columns of fetch_blocked() */
enum
{
	B_ID, B_AGE, B_HMS, B_AT, B_DB, B_AGENT, B_PID, B_ACTION, B_TARGET,
	B_ROWS, B_STATEMENT, B_PARAMS, B_REASON, B_ALIVE, B_APPROVED, B_NCOLS
};

/*
 * The refusals in deletion_firewall.blocked, oldest first, with whether an
 * approval of each is known from the events ring (once that forgot it, the
 * request shows again; approving it twice is harmless).  On a 1.0 database
 * params and alive are NULL.
 */
static PGresult *
fetch_blocked(void)
{
	char		sql[2048];

	detect_api();
	snprintf(sql, sizeof(sql),
			 "SELECT b.request_id,"
			 " floor(extract(epoch FROM now() - b.at))::bigint,"
			 " to_char(b.at, 'HH24:MI:SS'),"
			 " to_char(b.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
			 " b.dbname, b.agent, b.backend_pid, b.action, b.target, b.rows,"
			 " b.statement, %s, b.reason, %s,"
			 " EXISTS (SELECT 1 FROM deletion_firewall.events e"
			 "   WHERE e.event = 'approved' AND e.request_id = b.request_id)"
			 " FROM deletion_firewall.blocked b"
			 " ORDER BY b.at, b.request_id",
			 api.params ? "b.params::text" : "NULL::text",
			 api.alive ? "b.alive" : "NULL::boolean");
	return query(sql, 0, NULL, true);
}

static bool
is_true(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static bool
is_false(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && strcmp(PQgetvalue(res, row, col), "f") == 0;
}

/* The value of a column, or dflt if NULL. */
static const char *
value_or(const PGresult *res, int row, int col, const char *dflt)
{
	return PQgetisnull(res, row, col) ? dflt : PQgetvalue(res, row, col);
}

/* ---------------- commands ---------------- */

/* Refusals not yet approved, oldest first. */
static void
cmd_pending(bool full)
{
	static const char *const headers[] =
	{"REQUEST", "AGE", "ALIVE", "AGENT", "DB", "ACTION", "TARGET", "ROWS",
	"PARAMS", "STATEMENT"};
	PGresult   *res;
	Table		t;
	bool		any_cut = false;

	res = fetch_blocked();
	table_init(&t, 10, headers);
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	  **row;
		bool		cut;

		if (is_true(res, r, B_APPROVED))
			continue;
		row = table_add_row(&t);
		row[0] = show_name(PQgetvalue(res, r, B_ID));
		row[1] = duration_text(PQgetvalue(res, r, B_AGE));
		row[2] = xstrdup(PQgetisnull(res, r, B_ALIVE) ? "?" :
						 is_true(res, r, B_ALIVE) ? "yes" : "no");
		row[3] = show_name(PQgetvalue(res, r, B_AGENT));
		row[4] = show_name(PQgetvalue(res, r, B_DB));
		row[5] = show_name(PQgetvalue(res, r, B_ACTION));
		row[6] = show_text(PQgetvalue(res, r, B_TARGET), ", ",
						   full ? 0 : TARGET_WIDTH, &cut);
		any_cut |= cut;
		row[7] = xstrdup(value_or(res, r, B_ROWS, ""));
		row[8] = show_text(value_or(res, r, B_PARAMS, ""), NULL,
						   full ? 0 : PARAMS_WIDTH, &cut);
		any_cut |= cut;
		row[9] = show_text(PQgetvalue(res, r, B_STATEMENT), NULL,
						   full ? 0 : STATEMENT_WIDTH, &cut);
		any_cut |= cut;
	}
	PQclear(res);
	if (t.nrows == 0)
	{
		free(t.cells);
		printf("no pending requests\n");
		return;
	}
	table_print(&t);
	if (any_cut)
		printf("Some values were cut (...[+N chars]): dfwctl pending --full shows them whole.\n");
}

/*
 * Approve one request; returns false (error printed) if the server
 * refused.  any_session needs the 1.1 approve().
 */
static bool
approve_request(const char *request_id, const char *valid_for,
				bool any_session, bool fatal_error)
{
	const char *params[2];
	PGresult   *res;
	char	   *lifetime;
	char		sql[512];

	detect_api();
	if (any_session && !api.any_session)
	{
		char		msg[512];

		snprintf(msg, sizeof(msg),
				 "--any-session needs version 1.1 of the extension in database \"%s\" (it has %s): run ALTER EXTENSION deletion_firewall UPDATE there",
				 PQdb(conn), api.version[0] ? api.version : "none");
		if (fatal_error)
			fatal("%s", msg);
		fprintf(stderr, "%s: error: %s\n", progname, msg);
		return false;
	}
	params[0] = request_id;
	params[1] = valid_for;
	/* the lifetime as the server set it, max_valid_for applied */
	snprintf(sql, sizeof(sql),
			 "SELECT a.id, (SELECT round(extract(epoch FROM t.expires_at - now()))::bigint"
			 "   FROM deletion_firewall.tokens t WHERE t.token_id = a.id)"
			 " FROM (SELECT deletion_firewall.approve($1::text, $2::interval%s) AS id) a",
			 any_session ? ", any_session => true" : "");
	res = query(sql, 2, params, fatal_error);
	if (res == NULL)
		return false;
	lifetime = duration_text(PQgetvalue(res, 0, 1));
	if (any_session)
		printf("approved %s as %s: any session of the refused agent role may retry its statement once within %s\n",
			   request_id, PQgetvalue(res, 0, 0), lifetime);
	else
		printf("approved %s as %s: the refused session may retry its statement once within %s\n",
			   request_id, PQgetvalue(res, 0, 0), lifetime);
	fflush(stdout);
	free(lifetime);
	PQclear(res);
	return true;
}

static void
cmd_approve(const char *request_id, const char *valid_for, bool any_session)
{
	approve_request(request_id, valid_for, any_session, true);
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

		row[0] = show_name(PQgetvalue(res, r, 0));
		row[1] = show_name(PQgetvalue(res, r, 1));
		row[2] = show_text(PQgetvalue(res, r, 2), ", ", TARGET_WIDTH, NULL);
		row[3] = show_name(value_or(res, r, 3, "(any)"));
		row[4] = show_name(value_or(res, r, 4, "(any)"));
		row[5] = xstrdup(value_or(res, r, 5, "no limit"));
		row[6] = xstrdup(PQgetvalue(res, r, 6));
		row[7] = show_name(PQgetvalue(res, r, 7));
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
		char	   *id = show_name(token_id);

		PQclear(res);
		fatal("no live token or approval with id \"%s\"", id);
	}
	printf("revoked %s\n", token_id);
	PQclear(res);
}

/*
 * Recent events, newest first; with the 1.1 SQL also the WAL position
 * recorded before each confirmed statement (a recovery_target_lsn).
 */
static void
cmd_events(void)
{
	static const char *const headers[] =
	{"AT", "EVENT", "ACTION", "TARGET", "AGENT", "DB", "ROWS", "REQUEST",
	"TOKEN", "BY", "REASON", "LSN"};
	PGresult   *res;
	Table		t;
	int			ncols;
	char		sql[512];

	detect_api();
	ncols = api.lsn ? 12 : 11;
	snprintf(sql, sizeof(sql),
			 "SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS'), event, action,"
			 " target, agent, dbname, rows, request_id, token_id, by, reason%s"
			 " FROM deletion_firewall.events",
			 api.lsn ? ", lsn" : "");
	res = query(sql, 0, NULL, true);
	if (PQntuples(res) == 0)
	{
		printf("no events\n");
		PQclear(res);
		return;
	}
	table_init(&t, ncols, headers);
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	  **row = table_add_row(&t);

		for (int c = 0; c < ncols; c++)
			row[c] = c == 3 ? show_text(value_or(res, r, c, ""), ", ", TARGET_WIDTH, NULL)
				: show_name(value_or(res, r, c, ""));
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
 * Wait up to timeout_ms for stdin, and read what is there.  Returns early
 * on a signal.
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
			(void) poll(NULL, 0, timeout_ms);
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
 * Take one line of input, if a whole one (or the rest before end of
 * input) is there, into line (NUL-terminated, without newline).
 */
static bool
input_take_line(Input *in, char *line, size_t size)
{
	char	   *nl = in->len ? memchr(in->buf, '\n', in->len) : NULL;
	size_t		take;

	if (nl == NULL && !(in->eof && in->len > 0))
		return false;
	take = nl ? (size_t) (nl - in->buf) : in->len;
	snprintf(line, size, "%.*s", (int) take, in->buf);
	take = nl ? take + 1 : take;
	memmove(in->buf, in->buf + take, in->len - take);
	in->len -= take;
	return true;
}

/* The answer's first word, lower case, if it is the only word. */
static void
answer_word(const char *answer, char *word, size_t size)
{
	size_t		n = 0;

	while (isspace((unsigned char) *answer))
		answer++;
	while (*answer && !isspace((unsigned char) *answer) && n < size - 1)
		word[n++] = tolower((unsigned char) *answer++);
	word[n] = '\0';
	while (isspace((unsigned char) *answer))
		answer++;
	if (*answer != '\0')
		word[0] = '\0';
}

/* ids seen so far: a request is new if it is not among them */
typedef struct IdSet
{
	int			n;
	int			cap;
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
idset_add(IdSet *s, const char *id)
{
	if (s->n == s->cap)
	{
		char	  **ids;

		s->cap = s->cap ? s->cap * 2 : 64;
		ids = realloc(s->ids, sizeof(char *) * s->cap);
		if (ids == NULL)
			fatal("out of memory");
		s->ids = ids;
	}
	s->ids[s->n++] = xstrdup(id);
}

/* Row r of fetch_blocked() as one JSON object (no newline). */
static char *
json_request(const PGresult *res, int r)
{
	Buf			b = {0};

	buf_puts(&b, "{\"request_id\":");
	json_string(&b, PQgetvalue(res, r, B_ID));
	buf_puts(&b, ",\"at\":");
	json_string(&b, PQgetvalue(res, r, B_AT));
	buf_puts(&b, ",\"dbname\":");
	json_string(&b, value_or(res, r, B_DB, NULL));
	buf_puts(&b, ",\"agent\":");
	json_string(&b, value_or(res, r, B_AGENT, NULL));
	buf_puts(&b, ",\"action\":");
	json_string(&b, value_or(res, r, B_ACTION, NULL));
	buf_puts(&b, ",\"target\":");
	json_string(&b, value_or(res, r, B_TARGET, NULL));
	buf_puts(&b, ",\"rows\":");
	buf_puts(&b, value_or(res, r, B_ROWS, "null"));
	buf_puts(&b, ",\"statement\":");
	json_string(&b, value_or(res, r, B_STATEMENT, NULL));
	buf_puts(&b, ",\"params\":");
	json_string(&b, value_or(res, r, B_PARAMS, NULL));
	buf_puts(&b, ",\"reason\":");
	json_string(&b, value_or(res, r, B_REASON, NULL));
	buf_puts(&b, ",\"alive\":");
	buf_puts(&b, PQgetisnull(res, r, B_ALIVE) ? "null" :
			 is_true(res, r, B_ALIVE) ? "true" : "false");
	buf_puts(&b, "}");
	return buf_take(&b);
}

/*
 * Run cmd with /bin/sh -c, json and a newline on its standard input; its
 * standard output goes to ours, or to stderr when stdout carries JSON
 * lines.  A failure is reported on stderr; watch goes on.
 */
static void
run_hook(const char *cmd, const char *json, const char *id, bool stdout_is_json)
{
	int			fds[2];
	pid_t		pid;
	int			status;
	size_t		len = strlen(json);
	char	   *line = xmalloc(len + 2);
	char	   *shown_id = show_name(id);

	memcpy(line, json, len);
	line[len++] = '\n';
	line[len] = '\0';
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) != 0 || (pid = fork()) < 0)
	{
		fprintf(stderr, "%s: error: could not run the --exec command for %s: %s\n",
				progname, shown_id, strerror(errno));
		free(line);
		free(shown_id);
		return;
	}
	if (pid == 0)
	{
		/* the child: ignored signals would stay ignored across exec */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (stdout_is_json)
			dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
		_exit(127);
	}
	close(fds[0]);
	for (size_t off = 0; off < len;)
	{
		ssize_t		n = write(fds[1], line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;				/* the command does not read it all: fine */
		off += n;
	}
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			status = -1;
			break;
		}
	}
	if (status == -1)
		fprintf(stderr, "%s: error: the --exec command for %s was lost: %s\n",
				progname, shown_id, strerror(errno));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		fprintf(stderr, "%s: error: the --exec command for %s exited with status %d\n",
				progname, shown_id, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "%s: error: the --exec command for %s was killed by signal %d\n",
				progname, shown_id, WTERMSIG(status));
	fflush(stderr);
	free(line);
	free(shown_id);
}

static void
install_signals(void)
{
	struct sigaction sa;

	/* no SA_RESTART: a signal interrupts poll() and read() */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a hook that does not read its input must not kill watch */
	signal(SIGPIPE, SIG_IGN);
}

/*
 * watch --json / --exec: each new refusal as one JSON object, never asking.
 */
static void
watch_json(bool json, const char *exec_cmd)
{
	IdSet		seen = {0};
	PGresult   *res;

	install_signals();
	res = fetch_blocked();
	for (int r = 0; r < PQntuples(res); r++)
		idset_add(&seen, PQgetvalue(res, r, B_ID));
	fprintf(stderr, "%s: watching for refused requests (%d earlier ones not shown); Ctrl-C to stop\n",
			progname, PQntuples(res));
	fflush(stderr);
	PQclear(res);

	while (!got_signal)
	{
		res = fetch_blocked();
		for (int r = 0; r < PQntuples(res) && !got_signal; r++)
		{
			char	   *line;

			if (idset_has(&seen, PQgetvalue(res, r, B_ID)))
				continue;
			idset_add(&seen, PQgetvalue(res, r, B_ID));
			line = json_request(res, r);
			if (json)
			{
				printf("%s\n", line);
				if (fflush(stdout) != 0 || ferror(stdout))
				{
					/* the reader went away (| head -1): stop quietly */
					free(line);
					PQclear(res);
					finish(0);
				}
			}
			if (exec_cmd != NULL)
				run_hook(exec_cmd, line, PQgetvalue(res, r, B_ID), json);
			free(line);
		}
		PQclear(res);
		if (!got_signal)
			(void) poll(NULL, 0, WATCH_INTERVAL_MS);
	}
	finish(0);
}

/* A request waiting in the interactive watch's queue: its row, copied. */
typedef struct Queued
{
	char	   *v[B_NCOLS];		/* NULL for SQL NULL */
	bool		shown;			/* the question is open */
	bool		cut;			/* its statement or target was cut */
	bool		seen_full;		/* and shown in full after "f" */
} Queued;

static Queued *
queued_copy(const PGresult *res, int r)
{
	Queued	   *q = xmalloc(sizeof(Queued));

	for (int c = 0; c < B_NCOLS; c++)
		q->v[c] = PQgetisnull(res, r, c) ? NULL : xstrdup(PQgetvalue(res, r, c));
	q->shown = q->cut = q->seen_full = false;
	return q;
}

static void
queued_free(Queued *q)
{
	for (int c = 0; c < B_NCOLS; c++)
		free(q->v[c]);
	free(q);
}

/* Show a request (full: nothing cut) and the number still waiting. */
static void
show_request(Queued *q, int waiting, bool full)
{
	int			width = full ? 0 : STATEMENT_WIDTH;
	bool		cut1 = false,
				cut2 = false,
				cut3 = false;
	char	   *id = show_name(q->v[B_ID]);
	char	   *agent = show_name(q->v[B_AGENT]);
	char	   *db = show_name(q->v[B_DB]);
	char	   *target = show_text(q->v[B_TARGET], ", ", width, &cut1);
	char	   *statement = show_text(q->v[B_STATEMENT], NULL, width, &cut2);
	char	   *params = q->v[B_PARAMS] && q->v[B_PARAMS][0]
		? show_text(q->v[B_PARAMS], NULL, width, &cut3) : NULL;
	char	   *reason = show_name(q->v[B_REASON]);

	if (!full)
	{
		printf("\n[%s] %s: agent \"%s\" in database \"%s\" (pid %s) was refused\n",
			   q->v[B_HMS], id, agent, db, q->v[B_PID] ? q->v[B_PID] : "?");
		printf("  action:    %s\n", q->v[B_ACTION]);
	}
	printf("  target:    %s\n", target);
	if (!full && q->v[B_ROWS] != NULL)
		printf("  rows:      more than %lld\n", atoll(q->v[B_ROWS]) - 1);
	printf("  statement: %s\n", statement);
	if (params != NULL)
		printf("  params:    %s\n", params);
	if (!full)
	{
		printf("  reason:    %s\n", reason);
		if (q->v[B_ALIVE] != NULL)
			printf("  session:   %s\n", strcmp(q->v[B_ALIVE], "t") == 0
				   ? "still connected" : "ended");
		if (waiting > 0)
			printf("  queue:     %d more waiting\n", waiting);
		q->cut = cut1 || cut2 || cut3;
		if (q->cut)
			printf("  (cut: answer f to see it in full before approving)\n");
	}
	free(id);
	free(agent);
	free(db);
	free(target);
	free(statement);
	free(params);
	free(reason);
}

static void
prompt(const Queued *q)
{
	printf("approve? [y/N%s] ", q->cut ? "/f" : "");
	fflush(stdout);
}

/*
 * Interactive watch: new refusals queue and are asked one at a time; ones
 * approved elsewhere or whose session ended drop out.
 */
static void
watch_interactive(const char *valid_for)
{
	Input		in = {0};
	IdSet		seen = {0};
	Queued	  **queue = NULL;
	int			nqueue = 0;
	PGresult   *res;

	install_signals();
	in.tty = isatty(STDIN_FILENO);

	res = fetch_blocked();
	for (int r = 0; r < PQntuples(res); r++)
		idset_add(&seen, PQgetvalue(res, r, B_ID));
	printf("watching for refused requests (%d earlier ones not asked); %s to stop\n",
		   PQntuples(res), in.tty ? "Ctrl-C or Ctrl-D" : "end of input or SIGINT");
	fflush(stdout);
	PQclear(res);

	while (!got_signal)
	{
		char		line[256];
		char		word[8];

		res = fetch_blocked();

		/* drop what was approved elsewhere, whose session ended, or gone */
		for (int i = 0; i < nqueue;)
		{
			Queued	   *q = queue[i];
			const char *why = "is no longer listed in deletion_firewall.blocked";
			int			r;

			for (r = 0; r < PQntuples(res); r++)
				if (strcmp(PQgetvalue(res, r, B_ID), q->v[B_ID]) == 0)
					break;
			if (r < PQntuples(res))
			{
				if (is_true(res, r, B_APPROVED))
					why = "was approved elsewhere";
				else if (is_false(res, r, B_ALIVE))
					why = "can no longer be retried: its session ended";
				else
				{
					i++;
					continue;
				}
			}
			if (q->shown)
			{
				char	   *id = show_name(q->v[B_ID]);

				printf("\n%s %s: no longer asked\n", id, why);
				fflush(stdout);
				free(id);
			}
			queued_free(q);
			memmove(&queue[i], &queue[i + 1], sizeof(Queued *) * (nqueue - i - 1));
			nqueue--;
		}

		/* queue the new ones, oldest first */
		for (int r = 0; r < PQntuples(res); r++)
		{
			Queued	  **nq;

			if (idset_has(&seen, PQgetvalue(res, r, B_ID)))
				continue;
			idset_add(&seen, PQgetvalue(res, r, B_ID));
			if (is_true(res, r, B_APPROVED) || is_false(res, r, B_ALIVE))
				continue;
			nq = realloc(queue, sizeof(Queued *) * (nqueue + 1));
			if (nq == NULL)
				fatal("out of memory");
			queue = nq;
			queue[nqueue++] = queued_copy(res, r);
		}
		PQclear(res);

		/* ask about the oldest */
		if (nqueue > 0 && !queue[0]->shown)
		{
			show_request(queue[0], nqueue - 1, false);
			queue[0]->shown = true;
			if (in.tty)
				input_discard(&in);
			prompt(queue[0]);
		}

		/* wait; a whole line answers the open question */
		if (!(nqueue > 0 && in.len > 0 && memchr(in.buf, '\n', in.len)))
			input_fill(&in, WATCH_INTERVAL_MS);
		if (got_signal)
			break;
		if (nqueue == 0)
		{
			/* on a terminal, nothing typed now answers a later question */
			if (in.tty)
				in.len = 0;
			if (in.eof && in.len == 0)
				break;
			continue;
		}
		if (!input_take_line(&in, line, sizeof(line)))
		{
			if (in.eof && in.len == 0)
				break;
			continue;
		}
		if (!in.tty)
			printf("%s\n", line);	/* a terminal echoed it already */
		answer_word(line, word, sizeof(word));
		if (strcmp(word, "f") == 0 || strcmp(word, "full") == 0)
		{
			show_request(queue[0], 0, true);
			queue[0]->seen_full = true;
			prompt(queue[0]);
			continue;
		}
		if (strcmp(word, "y") == 0 || strcmp(word, "yes") == 0)
		{
			if (queue[0]->cut && !queue[0]->seen_full)
			{
				printf("not approved yet: the statement was cut; answer f to see it in full first\n");
				prompt(queue[0]);
				continue;
			}
			approve_request(queue[0]->v[B_ID], valid_for, false, false);
		}
		else
			printf("skipped %s\n", queue[0]->v[B_ID]);
		fflush(stdout);
		queued_free(queue[0]);
		memmove(&queue[0], &queue[1], sizeof(Queued *) * (nqueue - 1));
		nqueue--;
	}

	if (nqueue > 0 && queue[0]->shown)
	{
		char	   *id = show_name(queue[0]->v[B_ID]);

		printf("\nnot approved %s\n", id);
		free(id);
	}
	fflush(stdout);
	finish(0);
}

/* ---------------- doctor ---------------- */

static int	doctor_risks = 0;
static int	doctor_notes = 0;

/* One finding: severity, what (already escaped), and its fix. */
static void
finding(bool risk, const char *what, const char *fix)
{
	printf("%s  %s -- fix: %s\n", risk ? "RISK" : "NOTE", what, fix);
	if (risk)
		doctor_risks++;
	else
		doctor_notes++;
}

static void
findingf(bool risk, const char *fix, const char *fmt,...)
{
	va_list		ap;
	char		buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	finding(risk, buf, fix);
}

/* A check that could not run: a note saying so. */
static void
cannot_check(const char *what, const char *err, const char *fix)
{
	char	   *e = show_text(err, NULL, 200, NULL);

	findingf(false, fix, "cannot check %s: %s", what, e);
	free(e);
}

/*
 * The roles that are agents: the agent role and its members, recursively,
 * superuser status ignored (as the firewall decides).  $1 is the agent
 * role's name; "agents" is a CTE usable in the query that follows.
 */
#define AGENTS_CTE \
	"WITH RECURSIVE agents(oid) AS (" \
	" SELECT oid FROM pg_roles WHERE rolname = $1" \
	" UNION SELECT m.member FROM pg_auth_members m JOIN agents a ON m.roleid = a.oid)"

/* Does shared_preload_libraries (a list) name deletion_firewall? */
static bool
preload_lists_library(const char *list)
{
	const char *p = list;

	while (*p)
	{
		char		item[256];
		size_t		n = 0;
		const char *name;
		size_t		len;

		while (*p == ' ' || *p == ',' || *p == '"' || *p == '\t')
			p++;
		while (*p && *p != ',' && n < sizeof(item) - 1)
			item[n++] = *p++;
		while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '"' || item[n - 1] == '\t'))
			n--;
		item[n] = '\0';
		name = strrchr(item, '/') ? strrchr(item, '/') + 1 : item;
		len = strlen(name);
		if (len > 3 && strcmp(name + len - 3, ".so") == 0)
			len -= 3;
		if (len == strlen("deletion_firewall") &&
			strncmp(name, "deletion_firewall", len) == 0)
			return true;
	}
	return false;
}

/* The library: preloaded, loaded, enabled; settings in the config. */
static bool
doctor_server(void)
{
	PGresult   *res;
	char	   *err;
	bool		loaded;

	res = try_query(conn, "SELECT current_setting('shared_preload_libraries'),"
					" current_setting('deletion_firewall.enabled', true) IS NOT NULL",
					0, NULL, &err);
	if (res == NULL)
	{
		cannot_check("shared_preload_libraries", err,
					 "run doctor as a superuser or a member of pg_read_all_settings");
		free(err);
		/* this session, at least, shows whether the library is loaded */
		res = try_query(conn, "SELECT current_setting('deletion_firewall.enabled', true) IS NOT NULL",
						0, NULL, &err);
		if (res == NULL)
		{
			free(err);
			return true;
		}
		loaded = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (!loaded)
			finding(true, "deletion_firewall is not loaded in this session: it is not preloaded, nothing is enforced",
					"add it to shared_preload_libraries in postgresql.conf and restart the server");
		return loaded;
	}
	loaded = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (!preload_lists_library(PQgetvalue(res, 0, 0)))
	{
		char	   *list = show_text(PQgetvalue(res, 0, 0), NULL, 200, NULL);

		findingf(true,
				 "add it to the list in postgresql.conf (shared_preload_libraries = 'existing,deletion_firewall') and restart the server",
				 "deletion_firewall is not in shared_preload_libraries ('%s'): nothing is enforced",
				 list);
		free(list);
		loaded = false;
	}
	else if (!loaded)
		finding(true, "deletion_firewall is listed in shared_preload_libraries but not loaded: nothing is enforced",
				"restart the server");
	PQclear(res);
	if (!loaded)
		return false;

	/* settings as the server has them, not from a role or database */
	res = try_query(conn,
					"SELECT name, setting, source FROM pg_settings"
					" WHERE name IN ('deletion_firewall.enabled', 'deletion_firewall.mode',"
					"   'deletion_firewall.max_rows', 'deletion_firewall.window_rows')"
					" AND source NOT IN ('user', 'database', 'database user', 'session', 'client')"
					" ORDER BY name",
					0, NULL, &err);
	if (res == NULL)
	{
		cannot_check("the deletion_firewall settings", err, "run doctor as a superuser");
		free(err);
		return true;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *name = PQgetvalue(res, r, 0);
		const char *value = PQgetvalue(res, r, 1);
		char		fix[256];

		snprintf(fix, sizeof(fix), "remove %s from postgresql.conf (or set it back) and reload", name);
		if (strcmp(name, "deletion_firewall.enabled") == 0 && strcmp(value, "off") == 0)
			findingf(true, fix, "%s = off in the server configuration: nothing is enforced", name);
		else if (strcmp(name, "deletion_firewall.mode") == 0 && strcmp(value, "warn") == 0)
			findingf(true, fix, "%s = 'warn' in the server configuration: what would be refused goes through with a warning", name);
		else if (strcmp(value, "-1") == 0 && strcmp(name, "deletion_firewall.mode") != 0 &&
				 strcmp(name, "deletion_firewall.enabled") != 0)
			findingf(true, fix, "%s = -1 in the server configuration: agents may delete or update any number of rows", name);
	}
	PQclear(res);
	return true;
}

/* Roles: superuser, replication, human login roles, agent and approver. */
static void
doctor_roles(const char *agent_role, const char *approver_role)
{
	const char *params[2] = {agent_role, approver_role};
	PGresult   *res;
	char	   *err;

	res = try_query(conn, AGENTS_CTE
					" SELECT r.rolname, r.rolsuper, r.rolreplication"
					" FROM pg_roles r JOIN agents USING (oid)"
					" WHERE r.rolsuper OR r.rolreplication ORDER BY 1",
					1, params, &err);
	if (res == NULL)
	{
		cannot_check("the agent roles", err, "run doctor as a superuser");
		free(err);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *name = show_name(PQgetvalue(res, r, 0));
		char		fix[256];

		if (strcmp(PQgetvalue(res, r, 1), "t") == 0)
		{
			snprintf(fix, sizeof(fix), "ALTER ROLE %s NOSUPERUSER", name);
			findingf(true, fix, "agent role \"%s\" is a superuser: it can load code, edit files and turn the firewall off around itself", name);
		}
		if (strcmp(PQgetvalue(res, r, 2), "t") == 0)
		{
			snprintf(fix, sizeof(fix), "ALTER ROLE %s NOREPLICATION", name);
			findingf(true, fix, "agent role \"%s\" has REPLICATION: it can read and stream everything, and drop replication slots", name);
		}
		free(name);
	}
	PQclear(res);

	/* login roles, not agents, whose rights an agent can take (SET ROLE) */
	res = try_query(conn, AGENTS_CTE ","
					" up(agent, role) AS ("
					"  SELECT a.oid, m.roleid FROM agents a JOIN pg_auth_members m ON m.member = a.oid"
					"  UNION SELECT u.agent, m.roleid FROM up u JOIN pg_auth_members m ON m.member = u.role)"
					" SELECT DISTINCT ag.rolname, r.rolname"
					" FROM up JOIN pg_roles r ON r.oid = up.role JOIN pg_roles ag ON ag.oid = up.agent"
					" WHERE r.rolcanlogin AND r.oid NOT IN (SELECT oid FROM agents)"
					" ORDER BY 1, 2",
					1, params, &err);
	if (res == NULL)
	{
		cannot_check("the agents' role memberships", err, "run doctor as a superuser");
		free(err);
	}
	else
	{
		for (int r = 0; r < PQntuples(res); r++)
		{
			char	   *agent = show_name(PQgetvalue(res, r, 0));
			char	   *human = show_name(PQgetvalue(res, r, 1));
			char		fix[256];

			snprintf(fix, sizeof(fix), "REVOKE %s FROM %s", human, agent);
			findingf(true, fix, "agent role \"%s\" is a member of login role \"%s\", which is not an agent: with SET ROLE it acts as that role, unguarded", agent, human);
			free(agent);
			free(human);
		}
		PQclear(res);
	}

	/* both agent and approver */
	res = try_query(conn, AGENTS_CTE ","
					" approvers(oid) AS ("
					"  SELECT oid FROM pg_roles WHERE rolname = $2"
					"  UNION SELECT m.member FROM pg_auth_members m JOIN approvers a ON m.roleid = a.oid)"
					" SELECT rolname FROM pg_roles"
					" WHERE oid IN (SELECT oid FROM agents) AND oid IN (SELECT oid FROM approvers)"
					" ORDER BY 1",
					2, params, &err);
	if (res == NULL)
	{
		cannot_check("the approver roles", err, "run doctor as a superuser");
		free(err);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *name = show_name(PQgetvalue(res, r, 0));
		char	   *appr = show_name(approver_role);
		char		fix[256];

		snprintf(fix, sizeof(fix), "REVOKE %s FROM %s (or take it out of the agent role)", appr, name);
		findingf(true, fix, "role \"%s\" is both an agent and an approver: whoever holds it can stand for the human who confirms", name);
		free(name);
		free(appr);
	}
	PQclear(res);
}

/* pg_hba.conf: trust lines an agent can use, peer lines. */
static void
doctor_hba(const char *agent_role)
{
	const char *params[1] = {agent_role};
	PGresult   *res;
	char	   *err;

	/*
	 * A trust line lets agent A in if its user column names A, a +group A
	 * belongs to, or all, and no earlier line of the same kind, database
	 * and address catches A first (pg_hba.conf is first match); roles that
	 * cannot log in are left out.  Lines for
	 * the replication pseudo-database only are left to the REPLICATION
	 * check.
	 */
	res = try_query(conn, AGENTS_CTE ","
					" rules AS (SELECT line_number, type, database, user_name, address, netmask, auth_method"
					"   FROM pg_hba_file_rules WHERE error IS NULL),"
					" m AS (SELECT ru.*, ag.rolname FROM rules ru"
					"   JOIN pg_roles ag ON ag.oid IN (SELECT oid FROM agents) AND ag.rolcanlogin"
					"   WHERE 'all' = ANY (ru.user_name) OR ag.rolname = ANY (ru.user_name)"
					"   OR EXISTS (SELECT 1 FROM unnest(ru.user_name) u"
					"     WHERE u LIKE '+%' AND EXISTS (SELECT 1 FROM pg_roles g"
					"       WHERE g.rolname = substr(u, 2) AND pg_has_role(ag.oid, g.oid, 'MEMBER'))))"
					" SELECT m.line_number, m.type, string_agg(DISTINCT m.rolname, ', ')"
					" FROM m WHERE m.auth_method = 'trust' AND m.database <> ARRAY['replication']"
					" AND NOT EXISTS (SELECT 1 FROM m e WHERE e.rolname = m.rolname"
					"   AND e.line_number < m.line_number"
					"   AND (e.type = m.type OR (e.type = 'host' AND m.type IN ('hostssl', 'hostnossl')))"
					"   AND ('all' = ANY (e.database) OR m.database <@ e.database)"
					"   AND (e.type = 'local' OR e.address = 'all'"
					"     OR (e.address IS NOT DISTINCT FROM m.address AND e.netmask IS NOT DISTINCT FROM m.netmask)))"
					" GROUP BY m.line_number, m.type ORDER BY 1",
					1, params, &err);
	if (res == NULL)
	{
		cannot_check("pg_hba.conf (pg_hba_file_rules)", err,
					 "run doctor as a superuser, or check by hand that no trust line matches an agent role (by name, +group or all)");
		free(err);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *agents = show_text(PQgetvalue(res, r, 2), NULL, 200, NULL);

		findingf(true,
				 "give agents a line with scram-sha-256 (or cert) before it, or narrow its user column, then SELECT pg_reload_conf()",
				 "pg_hba.conf line %s (%s ... trust) lets agent role(s) %s connect without a password",
				 PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), agents);
		free(agents);
	}
	PQclear(res);

	res = try_query(conn, "SELECT line_number, array_to_string(user_name, ',')"
					" FROM pg_hba_file_rules WHERE error IS NULL AND auth_method = 'peer'"
					" ORDER BY 1", 0, NULL, &err);
	if (res == NULL)
	{
		free(err);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *users = show_text(PQgetvalue(res, r, 1), NULL, 200, NULL);

		findingf(false,
				 "make sure no agent runs as an OS user whose name (or pg_ident.conf map) is a human's role; use map= or scram-sha-256 otherwise",
				 "pg_hba.conf line %s uses peer for users %s: the OS account decides the role",
				 PQgetvalue(res, r, 0), users);
		free(users);
	}
	PQclear(res);
}

/* Per role and database settings: max_rows/window_rows -1, mode warn. */
static void
doctor_role_settings(const char *agent_role)
{
	const char *params[1] = {agent_role};
	PGresult   *res;
	char	   *err;

	res = try_query(conn, AGENTS_CTE
					" SELECT r.rolname, d.datname, s.cfg,"
					"  coalesce(s2.setrole IN (SELECT oid FROM agents), false)"
					" FROM pg_db_role_setting s2"
					" LEFT JOIN pg_roles r ON r.oid = s2.setrole"
					" LEFT JOIN pg_database d ON d.oid = s2.setdatabase,"
					" unnest(s2.setconfig) s(cfg)"
					" WHERE s.cfg ~* '^deletion_firewall\\.(max_rows|window_rows|mode)='"
					" ORDER BY 1, 2, 3",
					1, params, &err);
	if (res == NULL)
	{
		cannot_check("per-role and per-database settings (pg_db_role_setting)", err,
					 "run doctor as a superuser");
		free(err);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		bool		has_role = !PQgetisnull(res, r, 0);
		bool		has_db = !PQgetisnull(res, r, 1);
		char	   *role = show_name(value_or(res, r, 0, ""));
		char	   *db = show_name(value_or(res, r, 1, ""));
		const char *cfg = PQgetvalue(res, r, 2);
		const char *eq = strchr(cfg, '=');
		char		name[64];
		char		scope[512];
		char		fix[768];
		bool		agent_or_all = !has_role || is_true(res, r, 3);

		snprintf(name, sizeof(name), "%.*s", (int) (eq - cfg), cfg);
		for (char *p = name; *p; p++)
			*p = tolower((unsigned char) *p);
		if (has_role && has_db)
		{
			snprintf(scope, sizeof(scope), "for role \"%s\" in database \"%s\"", role, db);
			snprintf(fix, sizeof(fix), "ALTER ROLE %s IN DATABASE %s RESET %s", role, db, name);
		}
		else if (has_role)
		{
			snprintf(scope, sizeof(scope), "for role \"%s\"", role);
			snprintf(fix, sizeof(fix), "ALTER ROLE %s RESET %s", role, name);
		}
		else
		{
			snprintf(scope, sizeof(scope), "in database \"%s\"", db);
			snprintf(fix, sizeof(fix), "ALTER DATABASE %s RESET %s", db, name);
		}
		if (strcmp(name, "deletion_firewall.mode") == 0)
		{
			if (strcasecmp(eq + 1, "warn") == 0)
				findingf(true, fix, "%s = 'warn' %s: what would be refused goes through with a warning", name, scope);
		}
		else if (strcmp(eq + 1, "-1") == 0 && agent_or_all)
			findingf(true, fix, "%s = -1 %s: agents may delete or update any number of rows", name, scope);
		free(role);
		free(db);
	}
	PQclear(res);
}

/* In the database c is connected to: permanent objects on temporary ones. */
static void
doctor_temp_links(PGconn *c, const char *dbname)
{
	PGresult   *res;
	char	   *err;
	char	   *db = show_name(dbname);

	res = try_query(c,
					"WITH temp_ns AS (SELECT oid FROM pg_namespace"
					"   WHERE nspname LIKE 'pg\\_temp\\_%' OR nspname LIKE 'pg\\_toast\\_temp\\_%'),"
					" obj AS ("
					"  SELECT 'pg_class'::regclass AS classid, oid AS objid, relnamespace AS ns FROM pg_class"
					"  UNION ALL SELECT 'pg_proc'::regclass, oid, pronamespace FROM pg_proc"
					"  UNION ALL SELECT 'pg_type'::regclass, oid, typnamespace FROM pg_type)"
					" SELECT pg_describe_object(d.classid, d.objid, d.objsubid),"
					"  pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)"
					" FROM pg_depend d"
					" JOIN obj r ON r.classid = d.refclassid AND r.objid = d.refobjid"
					" JOIN obj o ON o.classid = d.classid AND o.objid = d.objid"
					" WHERE r.ns IN (SELECT oid FROM temp_ns) AND o.ns NOT IN (SELECT oid FROM temp_ns)"
					" ORDER BY 1, 2",
					0, NULL, &err);
	if (res == NULL)
	{
		char		what[256];

		snprintf(what, sizeof(what), "links to temporary objects in database \"%s\"", db);
		cannot_check(what, err, "run doctor as a superuser");
		free(err);
		free(db);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *obj = show_text(PQgetvalue(res, r, 0), NULL, 200, NULL);
		char	   *ref = show_text(PQgetvalue(res, r, 1), NULL, 200, NULL);

		findingf(true,
				 "drop it, or recreate it without the temporary object, and find out which session made it",
				 "in database \"%s\", permanent %s depends on temporary %s: it is dropped with it when that session ends, past the firewall",
				 db, obj, ref);
		free(obj);
		free(ref);
	}
	PQclear(res);
	free(db);
}

/* Token slots in use against max_tokens (needs the extension in c's db). */
static void
doctor_tokens(PGconn *c)
{
	PGresult   *res;
	char	   *err;
	long		used;
	long		max;

	res = try_query(c, "SELECT count(*), current_setting('deletion_firewall.max_tokens')::bigint"
					" FROM deletion_firewall.tokens", 0, NULL, &err);
	if (res == NULL)
	{
		cannot_check("token slots", err, "run doctor as an approver or a superuser");
		free(err);
		return;
	}
	used = atol(PQgetvalue(res, 0, 0));
	max = atol(PQgetvalue(res, 0, 1));
	if (max > 0 && used * 5 >= max * 4)
		findingf(false,
				 "revoke what is not needed (dfwctl tokens, dfwctl revoke), or raise deletion_firewall.max_tokens and restart",
				 "%ld of %ld token slots are in use: when they are full, new tokens and approvals are refused",
				 used, max);
	PQclear(res);
}

/* Every database that takes connections (templates ignored). */
static void
doctor_databases(const ConnOptions *opts, bool loaded)
{
	PGresult   *res;
	char	   *err;
	bool		tokens_checked = false;

	res = try_query(conn, "SELECT datname, datname = current_database(),"
					" (SELECT default_version FROM pg_available_extensions WHERE name = 'deletion_firewall')"
					" FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
					0, NULL, &err);
	if (res == NULL)
	{
		cannot_check("the databases", err, "run doctor as a superuser");
		free(err);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *dbname = PQgetvalue(res, r, 0);
		bool		current = strcmp(PQgetvalue(res, r, 1), "t") == 0;
		const char *default_version = value_or(res, r, 2, "");
		PGconn	   *c = current ? conn : open_conn(opts, dbname);
		PGresult   *ext;
		char	   *db = show_name(dbname);

		if (c == NULL || PQstatus(c) != CONNECTION_OK)
		{
			char		what[256];

			snprintf(what, sizeof(what), "database \"%s\"", db);
			cannot_check(what, c ? PQerrorMessage(c) : "out of memory",
						 "let doctor's role connect to it (CONNECT privilege, pg_hba.conf), or check it by hand");
			if (c)
				PQfinish(c);
			free(db);
			continue;
		}
		ext = try_query(c, "SELECT extversion FROM pg_extension WHERE extname = 'deletion_firewall'",
						0, NULL, &err);
		if (ext == NULL)
			free(err);
		else if (PQntuples(ext) == 0)
		{
			char		fix[256];

			snprintf(fix, sizeof(fix), "CREATE EXTENSION deletion_firewall in database \"%s\" (as a superuser)", db);
			findingf(false, fix,
					 "database \"%s\" has no deletion_firewall extension: agents are still guarded there, but refusals cannot be listed or approved from it",
					 db);
		}
		else
		{
			if (default_version[0] && strcmp(PQgetvalue(ext, 0, 0), default_version) != 0)
			{
				char		fix[256];

				snprintf(fix, sizeof(fix), "ALTER EXTENSION deletion_firewall UPDATE in database \"%s\"", db);
				findingf(false, fix, "database \"%s\" has version %s of the extension's SQL; the library is %s",
						 db, PQgetvalue(ext, 0, 0), default_version);
			}
			if (loaded && !tokens_checked)
			{
				doctor_tokens(c);
				tokens_checked = true;
			}
		}
		PQclear(ext);
		doctor_temp_links(c, dbname);
		if (!current)
			PQfinish(c);
		free(db);
	}
	PQclear(res);
}

/*
 * doctor: one line per finding, RISK or NOTE, each with its fix.  Exit 1
 * when there is a RISK (strict: any finding).
 */
static void
cmd_doctor(const ConnOptions *opts, bool strict)
{
	PGresult   *res;
	char	   *err;
	char	   *agent_role;
	char	   *approver_role;
	bool		loaded;

	res = try_query(conn, "SELECT coalesce(nullif(current_setting('deletion_firewall.agent_role', true), ''), 'deletion_firewall_agent'),"
					" coalesce(nullif(current_setting('deletion_firewall.approver_role', true), ''), 'deletion_firewall_approver'),"
					" (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
					0, NULL, &err);
	if (res == NULL)
		fatal("%s", err);
	agent_role = xstrdup(PQgetvalue(res, 0, 0));
	approver_role = xstrdup(PQgetvalue(res, 0, 1));
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		finding(false, "doctor is not connected as a superuser: pg_hba.conf and some settings may not be readable (see the cannot-check lines)",
				"run doctor as a superuser for a full check");
	PQclear(res);

	loaded = doctor_server();
	doctor_roles(agent_role, approver_role);
	doctor_hba(agent_role);
	doctor_role_settings(agent_role);
	doctor_databases(opts, loaded);

	/* stdout holds the findings only; the count goes to stderr */
	fflush(stdout);
	if (doctor_risks == 0 && doctor_notes == 0)
		fprintf(stderr, "%s: doctor: no findings\n", progname);
	else
		fprintf(stderr, "%s: doctor: %d risk%s, %d note%s\n", progname,
				doctor_risks, doctor_risks == 1 ? "" : "s",
				doctor_notes, doctor_notes == 1 ? "" : "s");
	free(agent_role);
	free(approver_role);
	finish(doctor_risks > 0 || (strict && doctor_notes > 0) ? 1 : 0);
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
	const char *exec_cmd = NULL;
	bool		json = false;
	bool		any_session = false;
	bool		full = false;
	bool		strict = false;
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
		if (command != NULL && strcmp(command, "watch") == 0)
		{
			if (strcmp(arg, "--json") == 0)
			{
				json = true;
				continue;
			}
			if (option_value(argc, argv, &i, NULL, "--exec", &exec_cmd))
				continue;
		}
		if (command != NULL && strcmp(command, "approve") == 0 &&
			strcmp(arg, "--any-session") == 0)
		{
			any_session = true;
			continue;
		}
		if (command != NULL && strcmp(command, "pending") == 0 &&
			strcmp(arg, "--full") == 0)
		{
			full = true;
			continue;
		}
		if (command != NULL && strcmp(command, "doctor") == 0 &&
			strcmp(arg, "--strict") == 0)
		{
			strict = true;
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
			 strcmp(command, "watch") == 0 || strcmp(command, "doctor") == 0)
		need_args(command, nargs, 0, "no argument");
	else if (strcmp(command, "revoke") == 0)
		need_args(command, nargs, 1, "a token id");
	else
		usage_error("unknown command \"%s\"", command);
	if ((json || exec_cmd != NULL) && valid_for != NULL)
		usage_error("watch --json and --exec never approve: --for does not apply");

	/* JSON is UTF-8, whatever the locale */
	if (json || exec_cmd != NULL)
		conn_opts.encoding = "UTF8";
	connect_db(&conn_opts);

	if (strcmp(command, "pending") == 0)
		cmd_pending(full);
	else if (strcmp(command, "approve") == 0)
		cmd_approve(args[0], interval, any_session);
	else if (strcmp(command, "confirm") == 0)
		cmd_confirm(&ca);
	else if (strcmp(command, "tokens") == 0)
		cmd_tokens();
	else if (strcmp(command, "revoke") == 0)
		cmd_revoke(args[0]);
	else if (strcmp(command, "events") == 0)
		cmd_events();
	else if (strcmp(command, "doctor") == 0)
		cmd_doctor(&conn_opts, strict);
	else if (json || exec_cmd != NULL)
		watch_json(json, exec_cmd);
	else
		watch_interactive(interval);

	free(interval);
	finish(0);
	return 0;
}
