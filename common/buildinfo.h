/*
 * What a binary is: its version (git describe at build time, or the
 * VERSION file of a release tarball; see etc/version.sh) and the
 * versions of the libraries it runs with, for -V and the metrics
 * page's build_info.  Every value is printable ASCII with no double
 * quote or backslash (others are replaced by '_'), so that it can go
 * between double quotes as it is, in a Prometheus label for one.
 */
#ifndef AIB_BUILDINFO_H
#define AIB_BUILDINFO_H

#include <stdio.h>

#define BUILDINFO_LIBS_MAX	8

struct buildinfo {
	char		 bi_version[80];
	int		 bi_nlibs;
	struct {
		const char	*name;		/* a label name: [a-z0-9_] */
		char		 value[80];
	}		 bi_libs[BUILDINFO_LIBS_MAX];
};

/* The version alone, and the libraries every binary has. */
void	 buildinfo_init(struct buildinfo *);
/* One more library; its version as printf(3) formats it. */
void	 buildinfo_add(struct buildinfo *, const char *, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));
/* "name version", then one "  library version" line per library. */
void	 buildinfo_print(FILE *, const char *, const struct buildinfo *);

#endif /* AIB_BUILDINFO_H */
