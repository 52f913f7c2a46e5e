// Command load is a bounded load run against the local stack (`make load`):
// it starts the stack in process on a loopback port, seeds a portal, sends a
// fixed number of mixed requests from a fixed number of workers, reports
// latency percentiles and statuses, and checks the table's invariants
// afterwards. It exits non-zero on any 5xx or broken invariant. Loopback
// only; it stops by itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clientele/clientele/infra/local/stack"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// Config is one load run.
type Config struct {
	Requests    int
	Concurrency int
	Seed        uint64
}

// Result is what a run measured.
type Result struct {
	Requests           int
	Elapsed            time.Duration
	P50, P90, P99, Max time.Duration
	ByStatus           map[int]int
	ByOp               map[string]int
	Problems           []string // broken invariants found afterwards
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	cfg := Config{}
	fs.IntVar(&cfg.Requests, "n", 5000, "requests in all")
	fs.IntVar(&cfg.Concurrency, "c", 32, "concurrent workers")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the request mix")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the run (stack and load) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	res.Print(out)
	if n := res.ServerErrors(); n > 0 {
		return fmt.Errorf("%d responses were 5xx", n)
	}
	if len(res.Problems) > 0 {
		return fmt.Errorf("the table is inconsistent after the run: %s", strings.Join(res.Problems, "; "))
	}
	return nil
}

// ServerErrors counts 5xx answers.
func (r Result) ServerErrors() int {
	n := 0
	for s, c := range r.ByStatus {
		if s >= 500 {
			n += c
		}
	}
	return n
}

// Print writes the report.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%d requests in %v (%.0f req/s)\n", r.Requests, r.Elapsed.Round(time.Millisecond), float64(r.Requests)/r.Elapsed.Seconds())
	fmt.Fprintf(w, "latency p50 %v  p90 %v  p99 %v  max %v\n", r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
	var statuses []int
	for s := range r.ByStatus {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	fmt.Fprint(w, "statuses:")
	for _, s := range statuses {
		fmt.Fprintf(w, " %d×%d", s, r.ByStatus[s])
	}
	fmt.Fprintln(w)
	var ops []string
	for op := range r.ByOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	fmt.Fprint(w, "mix:")
	for _, op := range ops {
		fmt.Fprintf(w, " %s×%d", op, r.ByOp[op])
	}
	fmt.Fprintln(w)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "consistency check: passed")
	} else {
		fmt.Fprintf(w, "consistency check: %d problems\n", len(r.Problems))
	}
}

// Run starts a stack, seeds it and runs the load.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Requests <= 0 || cfg.Concurrency <= 0 {
		return Result{}, fmt.Errorf("requests and concurrency must be positive")
	}
	st, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	srv := &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	c := &client{base: "http://" + l.Addr().String(), token: st.Token(stack.Portal, "owner", "load"),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency}}}
	w, err := seed(c)
	if err != nil {
		return Result{}, fmt.Errorf("seed: %w", err)
	}

	var next atomic.Int64
	lat := make([]time.Duration, cfg.Requests)
	status := make([]int, cfg.Requests)
	opOf := make([]string, cfg.Requests)
	start := time.Now()
	var wg sync.WaitGroup
	for worker := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(worker)))
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Requests {
					return
				}
				op := w.pick(rng)
				t0 := time.Now()
				status[i] = op.do(c, w, rng, i)
				lat[i], opOf[i] = time.Since(t0), op.name
			}
		}()
	}
	wg.Wait()
	res := Result{Requests: cfg.Requests, Elapsed: time.Since(start), ByStatus: map[int]int{}, ByOp: map[string]int{}}
	for i := range cfg.Requests {
		res.ByStatus[status[i]]++
		res.ByOp[opOf[i]]++
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
	res.Problems, err = st.CheckConsistency(ctx)
	return res, err
}

// client sends JSON requests with the owner's token.
type client struct {
	base, token string
	http        *http.Client
}

// call returns the status (0 for a transport error, counted as a failure)
// and the decoded body.
func (c *client) call(method, path string, body any, token ...string) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tok := c.token
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 599, nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// world is what the seed created, for the mix to pick ids from.
type world struct {
	companies, projects, users []string
	session                    string
	ops                        []op
	total                      int
}

type op struct {
	name   string
	weight int
	do     func(c *client, w *world, rng *rand.Rand, i int) int
}

func (w *world) pick(rng *rand.Rand) op {
	n := rng.IntN(w.total)
	for _, o := range w.ops {
		if n < o.weight {
			return o
		}
		n -= o.weight
	}
	return w.ops[len(w.ops)-1]
}

func any1(rng *rand.Rand, ids []string) string { return ids[rng.IntN(len(ids))] }

// seed creates 10 companies, 10 projects (each with its company) and 50
// users, and a client session; then the mix is reads (70%) and writes.
func seed(c *client) (*world, error) {
	w := &world{}
	for i := range 10 {
		s, body := c.call("POST", "/v1/companies", map[string]any{"name": fmt.Sprintf("Load company %d", i)})
		if s != 201 {
			return nil, fmt.Errorf("create company: %d %v", s, body)
		}
		cid := body["id"].(string)
		w.companies = append(w.companies, cid)
		s, body = c.call("POST", "/v1/projects", map[string]any{"name": fmt.Sprintf("Load project %d", i), "billing": "staff_hours", "companyIds": []string{cid}})
		if s != 201 {
			return nil, fmt.Errorf("create project: %d %v", s, body)
		}
		w.projects = append(w.projects, body["id"].(string))
		var emails []string
		for j := range 5 {
			emails = append(emails, fmt.Sprintf("seed%d.%d@load.example", i, j))
		}
		s, body = c.call("POST", "/v1/users", map[string]any{"emails": emails, "companyId": cid, "projectIds": []string{w.projects[i]}})
		if s != 201 {
			return nil, fmt.Errorf("add users: %d %v", s, body)
		}
		for _, u := range body["created"].([]any) {
			w.users = append(w.users, u.(map[string]any)["id"].(string))
		}
	}
	w.ops = []op{
		{"GET portal", 5, func(c *client, w *world, _ *rand.Rand, _ int) int { s, _ := c.call("GET", "/v1/portal", nil); return s }},
		{"GET companies", 10, func(c *client, _ *world, _ *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/companies?limit=20", nil)
			return s
		}},
		{"GET company", 10, func(c *client, w *world, rng *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/companies/"+any1(rng, w.companies), nil)
			return s
		}},
		{"GET projects", 5, func(c *client, _ *world, _ *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/projects", nil)
			return s
		}},
		{"GET users", 10, func(c *client, _ *world, _ *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/users?limit=50", nil)
			return s
		}},
		{"GET users?q", 10, func(c *client, _ *world, _ *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/users?q=seed1", nil)
			return s
		}},
		{"GET user", 10, func(c *client, w *world, rng *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/users/"+any1(rng, w.users), nil)
			return s
		}},
		{"GET project users", 5, func(c *client, w *world, rng *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/projects/"+any1(rng, w.projects)+"/users", nil)
			return s
		}},
		{"GET history", 5, func(c *client, w *world, rng *rand.Rand, _ int) int {
			s, _ := c.call("GET", "/v1/users/"+any1(rng, w.users)+"/history", nil)
			return s
		}},
		{"POST company", 3, func(c *client, _ *world, _ *rand.Rand, i int) int {
			s, _ := c.call("POST", "/v1/companies", map[string]any{"name": fmt.Sprintf("Load new %d", i)})
			return s
		}},
		{"PATCH company", 5, func(c *client, w *world, rng *rand.Rand, i int) int {
			s, _ := c.call("PATCH", "/v1/companies/"+any1(rng, w.companies), map[string]any{"website": fmt.Sprintf("https://load%d.example", i)})
			return s
		}},
		{"POST user", 5, func(c *client, w *world, rng *rand.Rand, i int) int {
			k := rng.IntN(len(w.companies))
			s, _ := c.call("POST", "/v1/users", map[string]any{"emails": fmt.Sprintf("new%d@load.example", i), "companyId": w.companies[k], "projectIds": []string{w.projects[k]}})
			return s
		}},
		{"PATCH user", 8, func(c *client, w *world, rng *rand.Rand, i int) int {
			s, _ := c.call("PATCH", "/v1/users/"+any1(rng, w.users), map[string]any{"title": fmt.Sprintf("Title %d", i)})
			return s
		}},
		{"POST reinvite", 3, func(c *client, w *world, rng *rand.Rand, _ int) int {
			s, _ := c.call("POST", "/v1/users/"+any1(rng, w.users)+"/reinvite", nil)
			return s
		}},
		{"POST deactivate/activate", 3, func(c *client, w *world, rng *rand.Rand, _ int) int {
			u, action := any1(rng, w.users), "deactivate"
			if rng.IntN(2) == 0 {
				action = "activate"
			}
			s, _ := c.call("POST", "/v1/users/"+u+"/"+action, nil)
			return s
		}},
		{"POST login (wrong password)", 3, func(c *client, _ *world, rng *rand.Rand, _ int) int {
			s, _ := c.call("POST", "/v1/portal/login", map[string]any{"portalId": stack.Portal,
				"email": fmt.Sprintf("seed%d.%d@load.example", rng.IntN(10), rng.IntN(5)), "password": "not the password"}, "")
			return s
		}},
	}
	for _, o := range w.ops {
		w.total += o.weight
	}
	return w, nil
}
