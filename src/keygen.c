/*
 * waha-keygen: make a CURVE key pair in czmq's zcert format, NAME (the
 * public certificate, to give to peers) and NAME_secret (mode 0600, to
 * keep), with an optional metadata name that ACL "name" rules match.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "waha.h"

static const char	*label;

static struct poptOption keygen_options[] = {
	{ "name", '\0', POPT_ARG_STRING, &label, 0,
	  "the certificate's metadata name (matched by ACL name rules)",
	  "LABEL" },
	{ "version", '\0', POPT_ARG_NONE, &cmdline.version, 0,
	  "print the version and exit", NULL },
	{ "help", 'h', POPT_ARG_NONE, &cmdline.help, 0,
	  "show this help and exit", NULL },
	POPT_TABLEEND
};

int
main(int argc, char **argv)
{
	struct curve_cert	 cert;
	poptContext		 ctx;
	const char		*base, *why;
	char			*cause = NULL;

	ctx = cmdline_parse("waha-keygen", "[--name LABEL] NAME", argc,
	    (const char **)argv, keygen_options);
	if ((base = poptGetArg(ctx)) == NULL)
		cmdline_usage(ctx, "no NAME: the files to write are NAME and "
		    "NAME_secret");
	if (poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument: %s", poptPeekArg(ctx));
	if (*base == '\0')
		cmdline_usage(ctx, "NAME is empty");
	if (label != NULL && (why = curve_name_check(label)) != NULL)
		cmdline_usage(ctx, "--name: %s", why);
	if (curve_cert_generate(&cert, label, &cause) != 0 ||
	    curve_cert_save(base, &cert, &cause) != 0) {
		fprintf(stderr, "waha-keygen: %s\n", cause);
		free(cause);
		curve_cert_clear(&cert);
		poptFreeContext(ctx);
		return (1);
	}
	printf("%s\n", cert.public_txt);
	curve_cert_clear(&cert);
	poptFreeContext(ctx);
	return (0);
}
