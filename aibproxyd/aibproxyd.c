/*
 * aibproxyd [-dnv] [-f file]: the parent.  The same binary, re-executed
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

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-f file]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct child_opts	 co;
	const char		*conffile = AIB_CONFIG_FILE, *title = NULL;
	const char		*errstr;
	int			 ch, debug = 0, noaction = 0, verbose = 0;

	memset(&co, 0, sizeof(co));
	while ((ch = getopt(argc, argv, "df:I:nP:r:u:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'I':
			co.instance = strtonum(optarg, 0, AIB_WORKERS_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-I %s: %s", optarg, errstr);
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
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

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
