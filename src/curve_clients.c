/*
 * The authorized clients of a CURVE server (--clients DIR): the public
 * certificates of a directory and its subdirectories, as czmq's
 * zcertstore reads them (but *_secret and dot files), in a hash table
 * by Z85 public key, with each cert's metadata name.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static int
skip_entry(const char *name)
{
	size_t	 len = strlen(name);

	return (name[0] == '.' || (len >= 7 &&
	    strcmp(name + len - 7, "_secret") == 0));
}

/*
 * Read the public certificates of the directory dir (and below), but
 * *_secret files and dot files, into a table by public key.
 */
struct curve_clients *
curve_clients_load(const char *dir, char **cause)
{
	struct curve_clients	*cl = xcalloc(1, sizeof(*cl));

	if (curve_clients_add_dir(cl, dir, 0, cause) != 0) {
		curve_clients_free(cl);
		return (NULL);
	}
	return (cl);
}

/* Add the certs of dir, depth levels below the top, to cl. */
int
curve_clients_add_dir(struct curve_clients *cl, const char *dir, int depth,
    char **cause)
{
	struct dirent		*de;
	struct stat		 st;
	DIR			*d;
	char			*path;
	int			 rc = 0;

	if (depth > 8) {
		xasprintf(cause, "%s: directories nested too deep", dir);
		return (-1);
	}
	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (skip_entry(de->d_name))
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rc = curve_clients_add_dir(cl, path, depth + 1, cause);
		else
			rc = curve_clients_add_file(cl, path, cause);
		free(path);
	}
	closedir(d);
	return (rc);
}

/* Add the public certificate at path to cl. */
int
curve_clients_add_file(struct curve_clients *cl, const char *path,
    char **cause)
{
	struct curve_client	*c;
	struct curve_cert	 cert;

	if (curve_cert_load(path, 0, &cert, cause) != 0)
		return (-1);
	HASH_FIND_STR(cl->by_key, cert.public_txt, c);
	if (c != NULL) {
		xasprintf(cause, "%s: the same key as %s", path, c->file);
		curve_cert_clear(&cert);
		return (-1);
	}
	c = xcalloc(1, sizeof(*c));
	memcpy(c->key, cert.public_txt, sizeof(c->key));
	c->name = cert.name;
	c->file = xstrdup(path);
	HASH_ADD_STR(cl->by_key, key, c);
	cl->n++;
	return (0);
}

/* The client whose public key is z85 (40 characters), or NULL. */
const struct curve_client *
curve_clients_find(const struct curve_clients *cl, const char *z85)
{
	struct curve_client	*c;

	if (cl == NULL)
		return (NULL);
	HASH_FIND_STR(cl->by_key, z85, c);
	return (c);
}

/* Free a table of clients; NULL does nothing. */
void
curve_clients_free(struct curve_clients *cl)
{
	struct curve_client	*c, *tmp;

	if (cl == NULL)
		return;
	HASH_ITER(hh, cl->by_key, c, tmp) {
		HASH_DEL(cl->by_key, c);
		free(c->name);
		free(c->file);
		free(c);
	}
	free(cl);
}
