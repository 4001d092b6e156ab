/*
 * The libraries aibproxyd links on top of those of every binary
 * (buildinfo_init): asked at run time, except libtls, which has no
 * version call, so its API date from tls.h stands for it.
 */
#include <ev.h>
#include <jansson.h>
#include <tls.h>
#include <yaml.h>

#include "versions.h"

void
versions_proxy(struct buildinfo *bi)
{
	buildinfo_init(bi);
	buildinfo_add(bi, "libtls", "api %d", TLS_API);
	buildinfo_add(bi, "libev", "%d.%d", ev_version_major(),
	    ev_version_minor());
	buildinfo_add(bi, "libyaml", "%s", yaml_get_version_string());
	buildinfo_add(bi, "jansson", "%s", jansson_version_str());
}
