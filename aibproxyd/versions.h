/*
 * aibproxyd's build information (common/buildinfo.h): its version and
 * every library it runs with, for -V and the metrics page.
 */
#ifndef AIB_VERSIONS_H
#define AIB_VERSIONS_H

#include "buildinfo.h"

void	 versions_proxy(struct buildinfo *);

#endif /* AIB_VERSIONS_H */
