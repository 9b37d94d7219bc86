/*
 * h_token_io.h - reading token request bodies and list queries, and
 * writing TokenResponse objects and API-token JWTs (API.md 4, 5.1, 5.2).
 * Used by the token handlers only.
 */
#ifndef TC_H_TOKEN_IO_H
#define TC_H_TOKEN_IO_H

#include <stdint.h>
#include <json-c/json.h>

#include "store.h"

struct req;
struct app;

struct token_input {
	const char	*name;          /* NULL = absent (update: unchanged) */
	const char	*description;   /* valid when has_description */
	int		 has_description;
	uint64_t	 expires_in_days;       /* 0 = absent */
	struct json_object *scope;      /* owned, normalized; NULL = absent */
	struct json_object *tags;       /* owned; NULL = absent */
	const char	*team_id;       /* NULL = absent */
	int		 is_active;     /* -1 absent, 0, 1 */
	const char	*user_email;    /* NULL = absent */
};

#define TI_CREATE	0x1     /* the create rules: name required, defaults for
				 * scope, tags and is_active */
#define TI_PATH_TEAM	0x2     /* the team comes from the path: the body's
				 * team_id is not read, whatever it holds */
/*
 * Read r->json into in (strings borrow from r->json) under flags (TI_*;
 * 0: the update rules). Returns 0, or 422 with r->out naming the field.
 */
int	token_input_parse(struct req *r, struct token_input *in, int flags);
void	token_input_free(struct token_input *in);

struct list_query {
	int		include_inactive;
	uint32_t	limit;
	uint64_t	offset;
};

/* include_inactive, limit (1..1000, default def_limit), offset. 0 or 422. */
int	list_query_parse(struct req *r, struct list_query *q, uint32_t def_limit);

/* TokenListResponse {"tokens", "total", "limit", "offset"}: a new object. */
struct json_object *h_token_list_json(const struct token *v, size_t n,
	    uint64_t total, const struct list_query *q);

/* TokenResponse of t with every field present: a new object, caller owns. */
struct json_object *h_token_json(const struct token *t);

/* The API-token JWT of t for owner (API.md 4): malloc'd, caller wipes and frees; or NULL. */
char	*h_token_jwt(const struct app *a, const struct token *t, const struct user *owner);

#endif
