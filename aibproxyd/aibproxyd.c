/*
 * aibproxyd [-dhnVv] [-f file]: the parent.  The same binary, re-executed
 * by the parent with -P, is a proxy worker or the resolver.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aibproxyd.h"
#include "config.h"
#include "log.h"
#include "versions.h"

/* Asked for (-h): to standard output, success; a mistake: an error. */
static __dead void
usage(int asked)
{
	fprintf(asked ? stdout : stderr, "usage: %s [-dhnVv] [-f file]\n",
	    getprogname());
	exit(asked ? 0 : 1);
}

static __dead void
version(void)
{
	struct buildinfo	 bi;

	versions_proxy(&bi);
	buildinfo_print(stdout, "aibproxyd", &bi);
	exit(0);
}

int
main(int argc, char *argv[])
{
	struct child_opts	 co;
	const char		*conffile = AIB_CONFIG_FILE, *title = NULL;
	const char		*errstr;
	int			 ch, debug = 0, noaction = 0, verbose = 0;

	memset(&co, 0, sizeof(co));
	/* The GNU spellings packagers and scripts try first. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		version();
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		usage(1);
	while ((ch = getopt(argc, argv, "df:hI:JnP:r:u:Vv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'h':
			usage(1);
		case 'I':
			co.instance = strtonum(optarg, 0, AIB_WORKERS_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-I %s: %s", optarg, errstr);
			break;
		case 'J':
			/* A child's lines are JSON from the first (log.format). */
			log_setformat(LOG_FORMAT_JSON);
			break;
		case 'n':
			noaction = 1;
			break;
		case 'P':
			title = optarg;
			break;
		case 'r':
			co.root = optarg;
			break;
		case 'u':
			co.user = optarg;
			break;
		case 'V':
			version();
		case 'v':
			verbose++;
			break;
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);

	if (title == NULL)
		parent_main(conffile, debug, noaction, verbose);

	/* A child: started by the parent, never by hand. */
	co.debug = debug;
	co.verbose = verbose;
	if (co.user == NULL)
		errx(1, "-P needs -u");
	if (strcmp(title, "proxy") == 0)
		proxy_main(&co);
	if (strcmp(title, "resolver") == 0)
		resolver_main(&co);
	errx(1, "unknown process %s", title);
}
