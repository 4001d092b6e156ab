/*
 * The version and the library versions (buildinfo.h).  Each library is
 * asked at run time where it can say, so -V names the shared objects
 * really loaded, not the headers the binary was built with.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buildinfo.h"
#include "sandbox.h"
#include "version.h"		/* generated: AIB_VERSION */

/* See buildinfo.h: nothing that would need escaping. */
static void
buildinfo_clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			*s = '_';
}

void
buildinfo_add(struct buildinfo *bi, const char *name, const char *fmt, ...)
{
	va_list	 ap;
	char	*v;

	if (bi->bi_nlibs >= BUILDINFO_LIBS_MAX)
		return;
	v = bi->bi_libs[bi->bi_nlibs].value;
	va_start(ap, fmt);
	/* A version too long for the table is cut, not dropped. */
	(void)vsnprintf(v, sizeof(bi->bi_libs[0].value), fmt, ap);
	va_end(ap);
	buildinfo_clean(v);
	bi->bi_libs[bi->bi_nlibs++].name = name;
}

void
buildinfo_init(struct buildinfo *bi)
{
	const char	*name;
	char		 v[64];

	memset(bi, 0, sizeof(*bi));
	strlcpy(bi->bi_version, AIB_VERSION, sizeof(bi->bi_version));
	buildinfo_clean(bi->bi_version);
	/* "OpenSSL 3.0.x <date>", or "LibreSSL 3.x" on OpenBSD. */
	buildinfo_add(bi, "openssl", "%s", OpenSSL_version(OPENSSL_VERSION));
	if ((name = sandbox_library(v, sizeof(v))) != NULL)
		buildinfo_add(bi, name, "%s", v);
}

void
buildinfo_print(FILE *fp, const char *prog, const struct buildinfo *bi)
{
	int	 i;

	fprintf(fp, "%s %s\n", prog, bi->bi_version);
	for (i = 0; i < bi->bi_nlibs; i++)
		fprintf(fp, "  %s %s\n", bi->bi_libs[i].name,
		    bi->bi_libs[i].value);
}
