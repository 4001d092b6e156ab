/*
 * Inside the configuration parser; nothing outside common/config*.c
 * includes this.  The parser is cut by job, each file using only the
 * ones listed before it:
 *
 *	config_yaml.c	errors, file:line of nodes, walking mappings and
 *			lists by key table, libyaml's syntax errors
 *	config_value.c	one value each: numbers, durations, booleans,
 *			words, paths and files, ports and port ranges,
 *			addresses, CIDR ranges, host patterns, user and
 *			provider names
 *	config_url.c	bridge.url and upstream.url
 *	config_check.c	defaults, checks across keys, the wire struct
 *	config_schema.c	which keys exist where, and which parser each
 *			value gets
 *	config.c	the public entry points (config.h)
 */
#ifndef AIB_CONFIG_INT_H
#define AIB_CONFIG_INT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"

#define CONFIG_ERRORS_MAX	20
#define CONFIG_KEYPATH_MAX	192	/* "listen[0].tls.cert" */

#define MS_SECOND		1000LL
#define MS_HOUR			(3600 * MS_SECOND)
#define MS_DAY			(24 * MS_HOUR)

struct cfg_ctx {
	const char		*name;
	yaml_document_t		*doc;
	struct aib_config	*conf;
	struct config_errors	*errs;
	struct config_error	*err[CONFIG_ERRORS_MAX];
	int			 errline[CONFIG_ERRORS_MAX];
	int			 nerr;
	int			 failed;
	/* Where the keys cfg_check() compares were set; 0: a default. */
	int			 user_line;
	int			 signer_user_line;
	int			 metrics_line;
};

struct cfg_key;

/* One value to parse: its node, its dotted key path, its line. */
struct cfg_item {
	yaml_node_t		*node;
	const char		*path;
	int			 line;
	const struct cfg_key	*key;	/* NULL for a list item */
};

typedef void	 cfg_parse_fn(struct cfg_ctx *, const struct cfg_item *,
		    void *);

/*
 * One key of a mapping.  A key whose value is itself a mapping names
 * that mapping's keys and no parser; its values are parsed with the
 * same argument.  ck_off is for the parsers shared by several keys
 * (files, timeouts): where in the argument the value goes.
 */
struct cfg_key {
	const char		*ck_name;
	int			 ck_required;
	cfg_parse_fn		*ck_parse;
	size_t			 ck_off;
	const struct cfg_key	*ck_keys;
	size_t			 ck_nkeys;
};
#define CFG_VALUE(name, req, fn)					\
	{ .ck_name = (name), .ck_required = (req), .ck_parse = (fn) }
#define CFG_FIELD(name, req, fn, type, field)				\
	{ .ck_name = (name), .ck_required = (req), .ck_parse = (fn),	\
	    .ck_off = offsetof(type, field) }
#define CFG_MAPPING(name, req, keys)					\
	{ .ck_name = (name), .ck_required = (req), .ck_keys = (keys),	\
	    .ck_nkeys = nitems(keys) }

/* config_yaml.c */
void		 cfg_error(struct cfg_ctx *, int, const char *,
		    const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));
void		 cfg_badvalue(struct cfg_ctx *, const struct cfg_item *,
		    const char *, const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));
void		 cfg_rawerror(struct config_errors *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
int		 cfg_nodeline(const yaml_node_t *);
int		 cfg_isempty(const yaml_node_t *);
const char	*cfg_scalar(struct cfg_ctx *, const struct cfg_item *);
int		 cfg_unset(const struct cfg_item *);
void		 cfg_map(struct cfg_ctx *, const struct cfg_item *,
		    const struct cfg_key *, size_t, void *);
int		 cfg_list(struct cfg_ctx *, const struct cfg_item *, int,
		    const char *, void (*)(struct cfg_ctx *,
		    const struct cfg_item *, int, void *), void *);
void		*cfg_calloc(struct cfg_ctx *, const struct cfg_item *, size_t);
void		 cfg_syntax(struct cfg_ctx *, const yaml_parser_t *,
		    const char *, size_t);
void		 cfg_wipe(yaml_parser_t *, yaml_document_t *);
void		 cfg_trailer(struct cfg_ctx *, yaml_parser_t *, const char *,
		    size_t);

/* config_value.c */
int		 cfg_number(struct cfg_ctx *, const struct cfg_item *,
		    long long, long long, long long *);
int		 cfg_duration(struct cfg_ctx *, const struct cfg_item *,
		    int64_t, int64_t, const char *, int64_t *);
int		 cfg_bool(struct cfg_ctx *, const struct cfg_item *, int *);
int		 cfg_word(struct cfg_ctx *, const struct cfg_item *,
		    const char *const *, size_t, const char *);
int		 cfg_abspath(struct cfg_ctx *, const struct cfg_item *, char *,
		    size_t);
void		 cfg_file(struct cfg_ctx *, const struct cfg_item *,
		    struct config_file *);
int		 cfg_port_parse(const char *, size_t);
const char	*cfg_port_range_parse(const char *, struct port_range *);
int		 cfg_address(struct cfg_ctx *, const struct cfg_item *, char *,
		    size_t, struct sockaddr_storage *, socklen_t *);
int		 cfg_sa_equal(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
const char	*cfg_cidr_parse(const char *, struct cidr_config *);
int		 cfg_user(struct cfg_ctx *, const struct cfg_item *, char *,
		    size_t);
int		 cfg_provider_name(const char *);
int		 cfg_workers_auto(void);

/* config_url.c: the parsers of bridge.url and upstream.url */
cfg_parse_fn	 cfg_bridge_url;
cfg_parse_fn	 cfg_upstream_url;

/* config_check.c */
struct aib_config *cfg_defaults(const char *);
void		 cfg_listen_taken(struct cfg_ctx *, int, const char *,
		    const char *, const struct sockaddr_storage *,
		    const struct listen_conf *);
void		 cfg_check_listen(struct cfg_ctx *, const struct cfg_item *,
		    const struct listen_conf *);
void		 cfg_check(struct cfg_ctx *);

/* config_schema.c */
void		 cfg_schema(struct cfg_ctx *, yaml_node_t *);
cfg_parse_fn	 cfg_parse_file;

/* config_listen.c: listen[] */
cfg_parse_fn	 cfg_parse_listen;

#endif /* AIB_CONFIG_INT_H */
