package crm

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves the accounts server (POST /oauth/v2/token) and the API
// (/crm/v2/...) on one base URL, as Zoho's accounts-server-url and
// api_domain.
func (c *CRM) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/v2/token", c.token)
	mux.HandleFunc("GET /crm/v2/{module}", c.api(c.list))
	mux.HandleFunc("GET /crm/v2/{module}/search", c.api(c.search))
	mux.HandleFunc("GET /crm/v2/{module}/{id}", c.api(c.get))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.calls[r.URL.Path]++
		fail := c.fail
		c.mu.Unlock()
		if fail != nil {
			if status, body, h, ok := fail(r); ok {
				for k, v := range h {
					w.Header()[k] = v
				}
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// zohoError writes Zoho's API error body.
func zohoError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"code": code, "details": map[string]any{}, "message": message, "status": "error"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// token is the refresh-token grant. Zoho answers refusals with HTTP 200 and
// an {"error": code} body; parameters may come in the query (as Zoho's
// examples) or a form body.
func (c *CRM) token(w http.ResponseWriter, r *http.Request) {
	l := Local()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exchanges++
	if c.down {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "service unavailable"})
		return
	}
	var refusal string
	switch {
	case r.FormValue("grant_type") != "refresh_token":
		refusal = "unsupported_grant_type"
	case r.FormValue("client_id") != l.ClientID, r.FormValue("client_secret") != l.ClientSecret:
		refusal = "invalid_client"
	case r.FormValue("refresh_token") != l.RefreshToken || c.revoked:
		refusal = "invalid_code"
	}
	if refusal != "" {
		writeJSON(w, http.StatusOK, map[string]string{"error": refusal})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "1000." + hex.EncodeToString(b)
	c.tokens[tok] = c.now().Add(TokenTTL)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"api_domain":   baseURL(r),
		"token_type":   "Bearer",
		"expires_in":   int(TokenTTL / time.Second),
	})
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// api guards an API route with the controls and Zoho's OAuth header check,
// then serves records of a known module.
func (c *CRM) api(serve func(http.ResponseWriter, *http.Request, []record)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		down, limited := c.down, c.rateLimit > 0
		if limited {
			c.rateLimit--
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
		exp, known := c.tokens[tok]
		valid := ok && known && c.now().Before(exp)
		c.mu.Unlock()
		switch {
		case down:
			zohoError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal Server Error")
		case limited:
			// Zoho's rate-limit headers; the reset is epoch milliseconds.
			w.Header().Set("X-RATELIMIT-LIMIT", "100")
			w.Header().Set("X-RATELIMIT-REMAINING", "0")
			w.Header().Set("X-RATELIMIT-RESET", strconv.FormatInt(c.now().Add(30*time.Second).UnixMilli(), 10))
			zohoError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "Too many requests")
		case !ok || tok == "":
			zohoError(w, http.StatusUnauthorized, "AUTHENTICATION_FAILURE", "Authentication failed")
		case !valid:
			zohoError(w, http.StatusUnauthorized, "INVALID_TOKEN", "invalid oauth token")
		default:
			recs, ok := c.records(r.PathValue("module"))
			if !ok {
				zohoError(w, http.StatusBadRequest, "INVALID_MODULE", "the module name given seems to be invalid")
				return
			}
			serve(w, r, recs)
		}
	}
}

// list is GET records: page and per_page (capped at MaxPerPage), optional
// fields, 204 when the page is empty.
func (c *CRM) list(w http.ResponseWriter, r *http.Request, recs []record) {
	page(w, r, recs)
}

// search supports word (case-insensitive substring of any field, at least
// two characters) and email (equal to Email), one per request as Zoho.
func (c *CRM) search(w http.ResponseWriter, r *http.Request, recs []record) {
	q := r.URL.Query()
	var match func(record) bool
	switch {
	case q.Has("criteria"), q.Has("phone"):
		zohoError(w, http.StatusBadRequest, "INVALID_QUERY", "the stand-in searches by word or email only")
		return
	case q.Has("email"):
		e := strings.ToLower(q.Get("email"))
		match = func(rec record) bool { s, _ := rec["Email"].(string); return strings.ToLower(s) == e }
	case len([]rune(strings.TrimSpace(q.Get("word")))) >= 2:
		word := strings.ToLower(strings.TrimSpace(q.Get("word")))
		match = func(rec record) bool { return strings.Contains(rec.text(), word) }
	default:
		zohoError(w, http.StatusBadRequest, "INVALID_QUERY", "invalid query formed")
		return
	}
	var found []record
	for _, rec := range recs {
		if match(rec) {
			found = append(found, rec)
		}
	}
	page(w, r, found)
}

// get is GET a record: 204 for an unknown id, INVALID_DATA for a malformed one.
func (c *CRM) get(w http.ResponseWriter, r *http.Request, recs []record) {
	id := r.PathValue("id")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		zohoError(w, http.StatusBadRequest, "INVALID_DATA", "the related id given seems to be invalid")
		return
	}
	for _, rec := range recs {
		if rec["id"] == id {
			writeJSON(w, http.StatusOK, map[string]any{"data": []record{rec.only(r.URL.Query().Get("fields"))}})
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func page(w http.ResponseWriter, r *http.Request, recs []record) {
	q := r.URL.Query()
	p, per := 1, 200
	var err error
	if q.Has("page") {
		if p, err = strconv.Atoi(q.Get("page")); err != nil || p < 1 {
			zohoError(w, http.StatusBadRequest, "INVALID_DATA", "invalid data for page")
			return
		}
	}
	if q.Has("per_page") {
		if per, err = strconv.Atoi(q.Get("per_page")); err != nil || per < 1 || per > 200 {
			zohoError(w, http.StatusBadRequest, "INVALID_DATA", "invalid data for per_page")
			return
		}
	}
	per = min(per, MaxPerPage)
	start := min((p-1)*per, len(recs))
	end := min(start+per, len(recs))
	if start == end {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	data := make([]record, 0, end-start)
	for _, rec := range recs[start:end] {
		data = append(data, rec.only(q.Get("fields")))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"info": map[string]any{"per_page": per, "count": len(data), "page": p, "more_records": end < len(recs)},
	})
}
