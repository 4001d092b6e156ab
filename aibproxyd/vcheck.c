/*
 * One token check with the bridge (see vcheck.h).  The answer is small
 * (a user record), so unlike an intercepted response it is read whole,
 * up to VCHECK_ANSWER_MAX, and parsed with jansson.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bridge.h"
#include "http.h"
#include "log.h"
#include "session.h"
#include "vcheck.h"

#define VCHECK_ANSWER_MAX	(64 * 1024)
#define VCHECK_HEAD_MAX		(16 * 1024)

struct vcheck {
	struct proxy		*px;
	struct proxy_conf	*conf;		/* referenced while checking */
	struct bconn		*bc;
	struct endpoint		*ep;		/* bc's, once it is ours */
	struct buf		 out;		/* the request: holds the token */
	struct buf		 in;		/* the whole answer */
	struct http_head	 head;
	int			 have_head;
	struct http_body	 body;
	size_t			 fed;		/* body bytes framed */
	ev_timer		 timer;
	vcheck_cb		 cb;
	void			*arg;
};

static void	vcheck_io(struct ev_loop *, ev_io *, int);

static void
vcheck_free(struct vcheck *v, int reusable)
{
	size_t	 extra = 0;

	ev_timer_stop(v->px->loop, &v->timer);
	/* Bytes read past the answer: bridge_put() refuses the connection. */
	if (reusable)
		extra = buf_len(&v->in) - v->head.size - v->fed;
	if (v->bc != NULL)
		bridge_put(v->bc, reusable, extra);
	if (v->have_head)
		http_head_free(&v->head);
	buf_free(&v->out);
	buf_free(&v->in);
	proxy_conf_unref(v->conf);
	free(v);
}

void
vcheck_cancel(struct vcheck *v)
{
	if (v == NULL)
		return;
	/* A connection with an answer still coming cannot be reused. */
	vcheck_free(v, 0);
}

/* The end: free first, then tell, since the callback may start more. */
static void
vcheck_done(struct vcheck *v, enum auth_result r, const char *user,
    int reusable)
{
	vcheck_cb	 cb = v->cb;
	void		*arg = v->arg;
	char		 who[AUTH_USER_MAX];

	(void)strlcpy(who, user != NULL ? user : "", sizeof(who));
	vcheck_free(v, reusable);
	cb(arg, r, who);
}

int
vcheck_username(const char *json, size_t len, char *user, size_t ulen)
{
	json_t		*root, *name;
	json_error_t	 err;
	const char	*s;
	int		 rv = -1;

	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL)
		return (-1);
	if ((name = json_object_get(root, "username")) != NULL &&
	    (s = json_string_value(name)) != NULL && s[0] != '\0' &&
	    strlen(s) < ulen && strcspn(s, " \t\r\n\"") == strlen(s)) {
		(void)strlcpy(user, s, ulen);
		rv = 0;
	}
	json_decref(root);
	return (rv);
}

/* The whole answer is in: what does it say? */
static void
vcheck_verdict(struct vcheck *v)
{
	const uint8_t	*body = buf_rptr(&v->in) + v->head.size;
	char		 user[AUTH_USER_MAX];
	struct buf	 plain;
	int		 reusable, ok;

	reusable = !v->head.close && v->body.framing != HTTP_BODY_CLOSE;
	if (v->head.status == 401 || v->head.status == 403) {
		vcheck_done(v, AUTH_INVALID, NULL, reusable);
		return;
	}
	if (v->head.status != 200) {
		log_warnx("token check: the bridge answered %d",
		    v->head.status);
		vcheck_done(v, AUTH_UNAVAILABLE, NULL, reusable);
		return;
	}
	buf_init(&plain, VCHECK_ANSWER_MAX);
	if (v->body.framing == HTTP_BODY_CHUNKED)
		ok = http_chunked_decode(body, v->fed, &plain) == 0 &&
		    vcheck_username((const char *)buf_rptr(&plain),
		    buf_len(&plain), user, sizeof(user)) == 0;
	else
		ok = vcheck_username((const char *)body, v->fed, user,
		    sizeof(user)) == 0;
	buf_free(&plain);
	if (!ok) {
		log_warnx("token check: no username in the bridge's answer");
		vcheck_done(v, AUTH_UNAVAILABLE, NULL, reusable);
		return;
	}
	vcheck_done(v, AUTH_VALID, user, reusable);
}

/* 1: the answer is complete; 0: more to come; -1: malformed. */
static int
vcheck_parse(struct vcheck *v, int eof)
{
	struct http_error	 err;
	const char		*why;
	ssize_t			 n;

	while (!v->have_head) {
		switch (http_parse_response((const char *)buf_rptr(&v->in),
		    buf_len(&v->in), VCHECK_HEAD_MAX, 0, 0, &v->head, &err)) {
		case HTTP_INCOMPLETE:
			return (eof ? -1 : 0);
		case HTTP_ERROR:
			log_warnx("token check: bad answer from the bridge: "
			    "%s", err.why);
			return (-1);
		case HTTP_COMPLETE:
			break;
		}
		if (v->head.status >= 200) {
			v->have_head = 1;
			http_body_init(&v->body, &v->head);
			break;
		}
		/* An interim answer: drop it and read the real one. */
		buf_consume(&v->in, v->head.size);
		http_head_free(&v->head);
	}
	if (!v->body.done) {
		n = http_body_feed(&v->body, buf_rptr(&v->in) + v->head.size +
		    v->fed, buf_len(&v->in) - v->head.size - v->fed, &why);
		if (n == -1)
			return (-1);
		v->fed += n;
	}
	if (eof && v->body.framing == HTTP_BODY_CLOSE)
		v->body.done = 1;
	if (v->body.done)
		return (1);
	return (eof ? -1 : 0);
}

static void
vcheck_step(struct vcheck *v)
{
	ssize_t	 n;
	int	 r, eof = 0;

	if (buf_len(&v->out) > 0) {
		if (endpoint_flush(v->ep, &v->out) == -1) {
			vcheck_done(v, AUTH_UNAVAILABLE, NULL, 0);
			return;
		}
		if (buf_len(&v->out) > 0) {
			endpoint_arm(v->px->loop, v->ep, 0, 1);
			return;
		}
		/* Sent: the token no longer needs to be in memory here. */
		buf_free(&v->out);
	}
	while ((n = endpoint_fill(v->ep, &v->in)) > 0)
		;
	if (n == -1 || (n == 0 && buf_len(&v->in) == 0)) {
		vcheck_done(v, AUTH_UNAVAILABLE, NULL, 0);
		return;
	}
	eof = n == 0;
	if ((r = vcheck_parse(v, eof)) == -1 || (r == 0 &&
	    v->in.len == v->in.cap)) {
		vcheck_done(v, AUTH_UNAVAILABLE, NULL, 0);
		return;
	}
	if (r == 1) {
		vcheck_verdict(v);
		return;
	}
	/*
	 * The reads above ran until the endpoint had nothing more, TLS
	 * records included: the socket's readiness is all to wait for.
	 */
	endpoint_arm(v->px->loop, v->ep, 1, 0);
}

static void
vcheck_io(struct ev_loop *loop, ev_io *w, int revents)
{
	vcheck_step(w->data);
}

static void
vcheck_attach(struct vcheck *v, struct bconn *bc)
{
	v->bc = bc;
	v->ep = bridge_endpoint(bc, vcheck_io, v);
	endpoint_arm(v->px->loop, v->ep, 0, 1);
}

static void
vcheck_bridge_cb(void *arg, struct bconn *bc, int status, const char *why)
{
	struct vcheck	*v = arg;

	v->bc = NULL;
	if (bc == NULL) {
		vcheck_done(v, AUTH_UNAVAILABLE, NULL, 0);
		return;
	}
	vcheck_attach(v, bc);
}

static void
vcheck_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vcheck	*v = w->data;

	log_warnx("token check: no answer from the bridge within "
	    "timeouts.connect");
	vcheck_done(v, AUTH_UNAVAILABLE, NULL, 0);
}

struct vcheck *
vcheck_start(struct proxy *px, struct proxy_conf *conf, const char *token,
    vcheck_cb cb, void *arg)
{
	const struct bridge_config	*bc = &conf->bridge;
	struct vcheck			*v;
	struct bconn			*got;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return (NULL);
	v->px = px;
	v->conf = conf;
	proxy_conf_ref(conf);
	v->cb = cb;
	v->arg = arg;
	buf_init(&v->out, AIB_PATH_MAX * 2 + strlen(token) + 256);
	buf_init(&v->in, VCHECK_ANSWER_MAX);
	if (buf_printf(&v->out, "GET %s%s HTTP/1.1\r\nHost: %s\r\n"
	    "Coder-Session-Token: %s\r\nAccept: application/json\r\n\r\n",
	    bc->bc_path, conf->auth.ac_path, bc->bc_hostport, token) == -1) {
		vcheck_free(v, 0);
		return (NULL);
	}
	ev_timer_init(&v->timer, vcheck_timeout,
	    session_ms(conf->gc.gc_timeout_connect), 0.);
	v->timer.data = v;
	ev_timer_start(px->loop, &v->timer);
	switch (bridge_get(px->bridges, vcheck_bridge_cb, v, &got)) {
	case 0:
		vcheck_attach(v, got);
		break;
	case 1:
		v->bc = got;
		break;
	default:
		vcheck_free(v, 0);
		return (NULL);
	}
	return (v);
}
