package api_test

import (
	"net/url"
	"strings"
	"time"
)

// lrSignup is the model of a company's sign-up link.
type lrSignup struct {
	token  string
	window time.Time // the clock hour count is of
	count  int       // sign-ups that made a user in it
}

// signupAction makes, reads, uses (by the JSON route or the page),
// replaces or disables a company's sign-up link.
func (l *longRun) signupAction() {
	c, ok := pick(l, l.companies)
	if !ok || len(l.users) >= 60 {
		l.createCompany()
		return
	}
	if l.signups == nil {
		l.signups = map[string]*lrSignup{}
	}
	path := "/v1/companies/" + c.id + "/signup-link"
	link := l.signups[c.id]
	switch {
	case link == nil || l.chance(5):
		r := l.do("POST", path, l.writer(), map[string]any{}, 201)
		u := r.String("url")
		next := &lrSignup{token: u[strings.LastIndex(u, "/")+1:]}
		if link != nil {
			l.do("GET", "/v1/signup/"+link.token, "", nil, 404) // replaced: stops at once
		}
		l.signups[c.id], link = next, next
	}
	if r := l.do("GET", path, l.writer(), nil, 200); !strings.HasSuffix(r.String("url"), "/"+link.token) {
		l.fail("the sign-up link of %s shows %s, not its token", c.id, r.Body)
	}
	if r := l.do("GET", "/v1/signup/"+link.token, "", nil, 200); r.String("companyName") != c.name {
		l.fail("the sign-up link of %s names %s", c.name, r.Body)
	}
	if w := l.now().UTC().Truncate(time.Hour); !w.Equal(link.window) {
		link.window, link.count = w, 0
	}
	email := l.newEmail()
	if u, ok := pick(l, l.users); ok && l.chance(4) {
		email = u.email // already a user: the same answer, nothing made
	}
	status := 202
	if link.count >= 20 {
		status = 429
	}
	if l.chance(3) {
		p := "/portal/signup/" + url.PathEscape(link.token)
		f := l.formOf(p)
		f.values.Set("email", email)
		l.do("POST", p, "", f, status)
	} else {
		l.do("POST", "/v1/signup/"+link.token, "", map[string]any{"email": email}, status)
	}
	if status != 202 || l.userByEmail(email) != nil {
		return
	}
	link.count++
	items := l.do("GET", "/v1/users?q="+url.QueryEscape(email), l.reader(), nil, 200).JSON()["items"].([]any)
	if len(items) != 1 {
		l.fail("a sign-up of a new address made %d users", len(items))
		return
	}
	l.newUserModel(items[0].(map[string]any)["id"].(string), email, c.id, "", true, nil, true)
	l.mails++
}

func (l *longRun) userByEmail(email string) *lrUser {
	for _, u := range l.users {
		if strings.EqualFold(u.email, email) {
			return u
		}
	}
	return nil
}

// disableSignup disables a company's sign-up link (making one first when
// no company has one): it stops at once.
func (l *longRun) disableSignup() {
	var cid string
	for id := range l.signups {
		if cid == "" || id < cid { // the map's order is not the seed's
			cid = id
		}
	}
	if cid == "" {
		c, ok := pick(l, l.companies)
		if !ok {
			l.createCompany()
			return
		}
		r := l.do("POST", "/v1/companies/"+c.id+"/signup-link", l.writer(), map[string]any{}, 201)
		u := r.String("url")
		cid = c.id
		l.signups = map[string]*lrSignup{cid: {token: u[strings.LastIndex(u, "/")+1:]}}
	}
	path := "/v1/companies/" + cid + "/signup-link"
	l.do("DELETE", path, l.writer(), nil, 204)
	l.do("GET", path, l.writer(), nil, 404)
	l.do("POST", "/v1/signup/"+l.signups[cid].token, "", map[string]any{"email": l.newEmail()}, 404)
	delete(l.signups, cid)
}
