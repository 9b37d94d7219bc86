/*
 * h_usage.c - GET /tokens/{id}/usage?days=N (API.md 5.4): statistics of the
 * uses recorded by the enforcement point, from per-day aggregates.
 * Beyond the reference fields the answer has "daily": one row per day,
 * oldest first, for charts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "policy.h"
#include "util.h"

/* {"period_days", ..., "top_endpoints", "daily"} from st. */
static struct json_object *
stats_json(const struct usage_stats *st, unsigned days)
{
	struct json_object *o = json_object_new_object(), *top, *pair, *daily, *d;
	char date[TIME_LEN];
	double rate = st->total ? (double)st->allowed / (double)st->total : 0.0;
	double avg = st->total ? (double)st->sum_us / 1000.0 / (double)st->total : 0.0;
	size_t i;

	js_add_int(o, "period_days", days);
	js_add_int(o, "total_requests", (int64_t)st->total);
	js_add_int(o, "successful_requests", (int64_t)st->allowed);
	js_add_int(o, "blocked_requests", (int64_t)st->blocked);
	json_object_object_add(o, "success_rate", json_object_new_double(
	    round(rate * 10000.0) / 10000.0));
	json_object_object_add(o, "average_response_time_ms", json_object_new_double(
	    round(avg * 100.0) / 100.0));
	top = json_object_new_array();
	for (i = 0; i < st->ntop; i++) {
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_string(st->top[i].path));
		json_object_array_add(pair, json_object_new_int64((int64_t)st->top[i].n));
		json_object_array_add(top, pair);
	}
	json_object_object_add(o, "top_endpoints", top);
	daily = json_object_new_array();
	for (i = 0; i < st->ndays; i++) {
		d = json_object_new_object();
		util_time_fmt(st->days[i].day, date);
		date[10] = '\0';                /* YYYY-MM-DD */
		js_add_str(d, "date", date);
		js_add_int(d, "allowed", (int64_t)st->days[i].allowed);
		js_add_int(d, "blocked", (int64_t)st->days[i].blocked);
		json_object_array_add(daily, d);
	}
	json_object_object_add(o, "daily", daily);
	return o;
}

int
h_token_usage(struct req *r)
{
	struct usage_stats st;
	struct token t;
	struct who w;
	uint64_t days = 30;
	int bad = 0, rc;
	char *v = util_form_get(r->query, "days", &bad);

	rc = bad || (v != NULL && util_parse_uint(v, 1, 3650, &days) == -1);
	free(v);
	if (rc)
		return http_error(r, 422, "days: must be an integer from 1 to 3650");
	if (!util_is_uuid(r->params[0]))
		return http_error(r, 404, "Token not found");
	caller_who(r->caller, &w);
	if ((rc = store_token_get(r->app->st, r->params[0], &t)) == STORE_NOTFOUND ||
	    (rc == 0 && !policy_may_read_token(&w, &t))) {
		token_free(&t);
		return http_error(r, 404, "Token not found");
	}
	token_free(&t);
	if (rc != 0)
		return h_fail(r, rc);
	if ((rc = store_use_stats(r->app->st, r->params[0], util_now_ms(), (unsigned)days,
	    &st)) != 0)
		return h_fail(r, rc);
	r->out = stats_json(&st, (unsigned)days);
	free(st.days);
	return 200;
}
